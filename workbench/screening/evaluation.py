"""Deterministic evaluation set for the matcher (used by tests and bench/).

- Planted variants: real list names and aliases (OFAC SDN 2021, OFAC non-SDN
  2025 incl. the CMIC companies, CSL samples) perturbed in one way each:
  legal form dropped or swapped, word order changed, abbreviations, a one-letter
  typo (in a word of five letters or more), spacing/punctuation changed, and
  Cyrillic script for Russian names (simple Latin->Cyrillic letter mapping).
- Clean names: company and person names in many languages and scripts,
  generated from word lists written here, minus any that equal a listed name.

Pure functions; the only side effect is reading the list files given.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from pathlib import Path

from workbench.screening.lists import ListEntry, parse_file
from workbench.screening.matcher import MatchIndex
from workbench.screening.normalize import LEGAL, STOP, tokenize

LIST_FILES = (
    "ofac_sdn_2021/sdn.csv",
    "ofac_consolidated_2025/cons_prim.csv",
    "csl_samples/csl_2019_115rows.csv",
    "csl_samples/consolidated_2025_12rows.csv",
    "bis_dpl/dpl_2022.txt",
)


@dataclass(frozen=True)
class Case:
    query: str
    expected: str  # entry_id, "" for a clean name
    kind: str
    source_name: str = ""


def load_entries(data_dir: str | Path) -> list[ListEntry]:
    """All reference entries from the list data folder (reads files)."""
    d = Path(data_dir)
    out: list[ListEntry] = []
    for f in LIST_FILES:
        out.extend(parse_file(d / f).entries)
    return out


# -- planted variants ---------------------------------------------------------

_LEGAL_SWAPS = [
    (r"\bCO\.?,? LTD\.?", "Company Limited"), (r"\bCOMPANY LIMITED\b", "Co., Ltd."),
    (r"\bLIMITED\b", "Ltd"), (r"\bLTD\b\.?", "Limited"), (r"\bCORPORATION\b", "Corp."),
    (r"\bCORP\b\.?", "Corporation"), (r"\bINC\b\.?", "Incorporated"), (r"\bLLC\b", "Limited Liability Company"),
    (r"\bCOMPANY\b", "Co."), (r"\bCO\.", "Company"), (r"\bS\.A\.", "SA"), (r"\bGMBH\b", "AG"),
    (r"\bOOO\b", "LLC"), (r"\bJSC\b", "Joint Stock Company"), (r"\bOAO\b", "OJSC"),
]
_ABBREVS = [
    (r"\bINTERNATIONAL\b", "Intl"), (r"\bTECHNOLOGY\b", "Tech"), (r"\bTECHNOLOGIES\b", "Tech"),
    (r"\bMANUFACTURING\b", "Mfg"), (r"\bCOMPANY\b", "Co"), (r"\bCORPORATION\b", "Corp"),
    (r"\bGROUP\b", "Grp"), (r"\bINDUSTRIES\b", "Inds"), (r"\bHOLDINGS?\b", "Hldgs"),
    (r"\bSERVICES\b", "Svcs"), (r"\bENGINEERING\b", "Engg"), (r"\bLIMITED\b", "Ltd"),
]
_LAT2CYR = [
    ("shch", "щ"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"), ("zh", "ж"),
    ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"),
    ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("y", "й"), ("k", "к"), ("l", "л"),
    ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"),
    ("u", "у"), ("f", "ф"), ("c", "к"), ("w", "в"), ("x", "кс"), ("h", "х"), ("j", "дж"), ("q", "к"),
]


def to_cyrillic(text: str) -> str:
    """Naive Latin -> Cyrillic letter mapping (the way a Russian clerk might
    re-type a transliterated name). Pure."""
    out, s, i = [], text.lower(), 0
    while i < len(s):
        for lat, cyr in _LAT2CYR:
            if s.startswith(lat, i):
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(s[i])
            i += 1
    return "".join(out).upper()


def _typo(name: str, rng: random.Random) -> str | None:
    words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]{5,}", name)]
    if not words:
        return None
    a, b = rng.choice(words)
    w = list(name[a:b])
    i = rng.randrange(1, len(w) - 1)
    op = rng.choice(("sub", "del", "ins", "swap"))
    letters = "abcdefghijklmnopqrstuvwxyz"
    if op == "sub":
        w[i] = rng.choice([c for c in letters if c != w[i].lower()])
    elif op == "del":
        del w[i]
    elif op == "ins":
        w.insert(i, rng.choice(letters))
    else:
        w[i], w[i + 1 if i + 1 < len(w) else i - 1] = w[i + 1 if i + 1 < len(w) else i - 1], w[i]
    return name[:a] + "".join(w) + name[b:]


def _spacing(name: str, rng: random.Random) -> str | None:
    if "-" in name:
        return name.replace("-", rng.choice(["", " "]))
    long = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]{8,}", name)]
    words = name.split()
    if long and rng.random() < 0.5:
        a, b = rng.choice(long)
        cut = a + rng.randrange(3, b - a - 3)
        return name[:cut] + rng.choice([" ", "-"]) + name[cut:]
    if len(words) >= 2:
        i = rng.randrange(len(words) - 1)
        return " ".join(words[:i] + [words[i] + rng.choice(["", "-"]) + words[i + 1]] + words[i + 2:])
    return None


def _reorder(name: str, rng: random.Random) -> str | None:
    if "," in name:
        surname, _, given = name.partition(",")
        parts = given.split()
        if parts:
            return " ".join(parts + surname.split())
    words = name.split()
    if len(words) < 2:
        return None
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _sub_first(name: str, table: list[tuple[str, str]], rng: random.Random) -> str | None:
    opts = [(p, r) for p, r in table if re.search(p, name, re.I)]
    if not opts:
        return None
    p, r = rng.choice(opts)
    return re.sub(p, r, name, count=1, flags=re.I)


def _drop_legal(name: str) -> str | None:
    toks = tokenize(name)
    if not any(t.kind == LEGAL for t in toks) or all(t.kind in (LEGAL, STOP) for t in toks):
        return None
    name = re.sub(r"\b(?:(?:PUBLIC|OPEN|CLOSED|PRIVATE)\s+)?JOINT[- ]STOCK COMPANY\b|"
                  r"\bLIMITED LIABILITY COMPANY\b", " ", name, flags=re.I).strip()
    words = re.split(r"\s+", name)
    keep = [w for w in words if not all(t.kind == LEGAL for t in tokenize(w)) or not tokenize(w)]
    out = " ".join(keep).strip(" ,")
    return out if out and out != name else None


def _is_russian(e: ListEntry) -> bool:
    return any(a.country.lower() in ("russia", "ru") for a in e.addresses) or \
        any(p.startswith(("RUSSIA", "UKRAINE-EO13662")) for p in e.programs)


_ENGLISH = frozenset("""of the and company co corporation corp international group trading insurance
financial finance foreign public open closed joint stock limited ltd liability service services
regional federal bank project security plant design office central economic association
transport express holding holdings investment management development energy oil gas""".split())
_RU_FORMS_MAP = [
    (r"\b(?:LIMITED LIABILITY COMPANY|LLC|OOO)\b", "ООО"), (r"\b(?:OPEN JOINT[- ]STOCK COMPANY|OJSC|OAO)\b", "ОАО"),
    (r"\b(?:CLOSED JOINT[- ]STOCK COMPANY|CJSC|ZAO)\b", "ЗАО"),
    (r"\b(?:PUBLIC JOINT[- ]STOCK COMPANY|PJSC|PAO)\b", "ПАО"), (r"\b(?:JOINT[- ]STOCK COMPANY|JSC|AO)\b", "АО"),
]


def _cyrillic_variant(name: str, e: ListEntry) -> str | None:
    """Russian names re-typed in Cyrillic: legal forms become their Russian
    abbreviations; names containing English words are skipped (nobody writes
    "Bank of Foreign Trade" in Cyrillic letter by letter)."""
    if not _is_russian(e):
        return None
    base = name
    for pat, ru in _RU_FORMS_MAP:
        base = re.sub(pat, " " + ru + " ", base, flags=re.I)
    words = re.findall(r"[A-Za-z]+", base)
    if not words or any(w.lower() in _ENGLISH for w in words):
        return None
    out = re.sub(r"[A-Za-z]+", lambda m: to_cyrillic(m.group(0)), base)
    return re.sub(r"\s+", " ", out).strip()


def planted_variants(entries: list[ListEntry], per_kind: int = 200, seed: int = 7) -> list[Case]:
    """Perturbed real names, ``per_kind`` of each perturbation kind. Pure."""
    rng = random.Random(seed)
    names: list[tuple[str, ListEntry]] = []
    for e in entries:
        if e.type.lower() in ("vessel", "aircraft"):
            continue
        for n in [e.name] + e.alt_names:
            core = [t for t in tokenize(n) if t.kind not in (LEGAL, STOP)]
            # One-word names of three letters or fewer are codes, not names to perturb.
            if core and sum(len(t.text) for t in core) >= 4:
                names.append((n, e))
    rng.shuffle(names)
    # The companies the issue names must be in every kind that applies to them.
    cmic = [(n, e) for n, e in names if e.list_code == "CMIC"]
    pool = cmic + [x for x in names if x[1].list_code != "CMIC"]
    makers = {
        "legal_drop": lambda n: _drop_legal(n),
        "legal_swap": lambda n: _sub_first(n, _LEGAL_SWAPS, rng),
        "word_order": lambda n: _reorder(n, rng),
        "abbreviation": lambda n: _sub_first(n, _ABBREVS, rng),
        "typo": lambda n: _typo(n, rng),
        "spacing": lambda n: _spacing(n, rng),
        "cyrillic": None,
    }
    out: list[Case] = []
    for kind, make in makers.items():
        got = 0
        start = rng.randrange(len(pool)) if kind not in ("legal_swap", "abbreviation", "legal_drop") else 0
        order = pool[start:] + pool[:start]
        for n, e in order:
            if got >= per_kind:
                break
            q = _cyrillic_variant(n, e) if make is None else make(n)
            if not q or q == n:
                continue
            out.append(Case(q, e.entry_id, kind, n))
            got += 1
    return out


# -- clean names ----------------------------------------------------------------

_PEOPLE = {
    "en": (["James", "Olivia", "Henry", "Charlotte", "George", "Amelia", "Oliver", "Grace",
            "Thomas", "Emily", "William", "Hannah", "Jack", "Lucy", "Samuel", "Chloe"],
           ["Thompson", "Whitfield", "Harrington", "Bennett", "Caldwell", "Prescott", "Ashworth",
            "Pemberton", "Fairbanks", "Holloway", "Kensington", "Lockwood", "Merriweather", "Thornbury"]),
    "de": (["Lukas", "Anna", "Felix", "Lena", "Jonas", "Marie", "Maximilian", "Sophie", "Tobias",
            "Katharina", "Florian", "Johanna"],
           ["Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch",
            "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Zimmermann", "Krüger"]),
    "fr": (["Camille", "Louis", "Chloé", "Hugo", "Manon", "Théo", "Léa", "Mathis", "Inès",
            "Gabriel", "Élodie", "Antoine"],
           ["Lefèvre", "Moreau", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau",
            "Vincent", "Mercier", "Blanchard", "Chevalier", "Gauthier", "Perrin"]),
    "es": (["Alejandro", "Lucía", "Mateo", "Valentina", "Santiago", "Martina", "Diego",
            "Camila", "Sebastián", "Daniela", "Javier", "Paula"],
           ["García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro", "Ortega",
            "Delgado", "Castro", "Iglesias", "Domínguez", "Vázquez", "Serrano"]),
    "it": (["Giulia", "Lorenzo", "Francesca", "Matteo", "Chiara", "Alessandro", "Sara",
            "Davide", "Elena", "Riccardo"],
           ["Rossi", "Bianchi", "Colombo", "Ferrari", "Esposito", "Ricci", "Marino", "Greco",
            "Bruno", "Gallo", "Conti", "Mancini", "Barbieri", "Lombardi"]),
    "pl": (["Jakub", "Zuzanna", "Kacper", "Julia", "Szymon", "Maja", "Wojciech", "Agnieszka"],
           ["Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński",
            "Szymański", "Woźniak", "Dąbrowski", "Kozłowski"]),
    "ru": (["Дмитрий", "Анна", "Сергей", "Екатерина", "Алексей", "Ольга", "Андрей", "Наталья",
            "Михаил", "Татьяна", "Павел", "Ирина"],
           ["Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков", "Морозов",
            "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов", "Семёнов", "Голубев"]),
    "zh": (["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明"],
           ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱"]),
    "ja": (["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Yuto", "Sakura", "Kaito", "Mio"],
           ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
            "Kobayashi", "Kato", "Yoshida", "Yamada"]),
    "ko": (["Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-yoon", "Soo-ah", "Ye-jun", "Ji-woo"],
           ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"]),
    "ar": (["Omar", "Layla", "Khalid", "Noor", "Tariq", "Yasmin", "Faisal", "Rania", "Samir",
            "Hala", "Karim", "Dina"],
           ["Haddad", "Khoury", "Nassar", "Saleh", "Mansour", "Awad", "Hamdan", "Barakat",
            "Qasim", "Tamimi", "Jaber", "Sabbagh"]),
    "tr": (["Emre", "Elif", "Burak", "Zeynep", "Mert", "Ayşe", "Can", "Selin", "Oğuz", "Ebru"],
           ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk", "Arslan",
            "Doğan", "Kılıç", "Aslan"]),
    "hi": (["Aarav", "Priya", "Vivaan", "Ananya", "Arjun", "Diya", "Rohan", "Kavya", "Ishaan", "Meera"],
           ["Sharma", "Verma", "Iyer", "Nair", "Reddy", "Gupta", "Mehta", "Joshi", "Kulkarni",
            "Bhatt", "Chatterjee", "Pillai"]),
    "pt": (["João", "Beatriz", "Pedro", "Mariana", "Tiago", "Inês", "Rafael", "Carolina"],
           ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues",
            "Martins", "Sousa", "Gonçalves"]),
}
_COMPANY_WORDS = ["Blue Harbor", "Northwind", "Silverline", "Evergreen", "Brightpath", "Redwood",
                  "Clearwater", "Summit Ridge", "Oakfield", "Lakeshore", "Ironbridge",
                  "Maple Leaf", "Crescent Bay", "Westbrook", "Stonegate", "Highland",
                  "Riverside", "Greenfield", "Bluebell", "Falcon Crest", "Pinecrest",
                  "Starling", "Copperfield", "Windmill", "Harborview", "Sunflower",
                  "Aurora", "Polaris", "Zenith", "Vertex", "Nimbus", "Helios", "Orbital",
                  "Quantum Leap", "Nova Terra", "Arcadia", "Meridian", "Solaris", "Vantage"]
_SECTORS = ["Electronics", "Semiconductor", "Logistics", "Trading", "Software", "Instruments",
            "Precision Machinery", "Medical Devices", "Data Systems", "Optics", "Components",
            "Packaging", "Automation", "Networks", "Analytics", "Materials", "Robotics",
            "Cloud Services", "Consulting", "Engineering"]
_EN_FORMS = ["Ltd.", "Inc.", "LLC", "Co., Ltd.", "Corporation", "Limited", "Pte. Ltd.", "Pty Ltd", "PLC"]
_DE = (["Feinmechanik", "Elektrotechnik", "Maschinenbau", "Logistik", "Messtechnik",
        "Datentechnik", "Anlagenbau", "Handelsgesellschaft"], ["GmbH", "GmbH & Co. KG", "AG", "KG"])
_FR = (["Électronique", "Informatique", "Logistique", "Ingénierie", "Mécanique", "Conseil"],
       ["SARL", "S.A.", "SAS"])
_ES = (["Tecnologías", "Logística", "Ingeniería", "Distribuciones", "Comercial", "Electrónica"],
       ["S.A.", "S.L.", "S.A. de C.V.", "Ltda."])
_IT = (["Meccanica", "Elettronica", "Costruzioni", "Trasporti", "Impianti", "Sistemi"],
       ["S.r.l.", "S.p.A."])
_RU_BRANDS = ["Техносервис", "Промавтоматика", "Северсталь-Инжиниринг", "Энергомаш",
              "Электросвязь", "Спецмонтаж", "Волгатрейд", "Сибприбор", "Уралкомплект",
              "Медтехника", "Агропромснаб", "Стройресурс"]
_RU_FORMS = ["ООО", "АО", "ЗАО", "ПАО"]
_ZH_CITIES = ["深圳", "上海", "北京", "苏州", "杭州", "广州", "成都", "宁波"]
_ZH_BRANDS = ["嘉禾", "瑞丰", "恒通", "信达", "博远", "金桥", "天成", "宏图", "鑫源", "锦程",
              "华茂", "明辉", "安泰", "卓越", "万里", "新元"]
_ZH_INDUSTRY = ["电子", "科技", "贸易", "物流", "软件", "仪器", "机械", "光电"]
_ZH_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
_PINYIN_BRANDS = ["Jiahe", "Ruifeng", "Hengtong", "Xinda", "Boyuan", "Jinqiao", "Tiancheng",
                  "Hongtu", "Xinyuan", "Jincheng", "Huamao", "Minghui", "Antai", "Wanli"]
_PINYIN_CITIES = ["Shenzhen", "Shanghai", "Suzhou", "Ningbo", "Dongguan", "Xiamen", "Chengdu"]
_JA = (["Sakura", "Fuji", "Hikari", "Midori", "Asahi", "Kiyomizu", "Nagomi", "Hoshino",
        "Kawasemi", "Tsubasa"], ["Seiki", "Denki", "Shoji", "Kogyo", "Sangyo"],
       ["Kabushiki Kaisha", "Co., Ltd.", "K.K."])
_TR = (["Anadolu", "Marmara", "Ege", "Boğaziçi", "Kapadokya", "Toros", "Yıldız", "Karadeniz"],
       ["Elektronik", "Lojistik", "Makina", "Teknoloji", "Dış Ticaret"],
       ["A.Ş.", "Ltd. Şti."])


def clean_names(n: int = 2000, seed: int = 11) -> list[str]:
    """``n`` realistic unlisted names, half companies and half people. Pure."""
    rng = random.Random(seed)
    out: list[str] = []
    langs = sorted(_PEOPLE)

    def person() -> str:
        lang = rng.choice(langs)
        first, last = _PEOPLE[lang]
        if lang == "zh":
            if rng.random() < 0.5:
                return rng.choice(last) + rng.choice(first) + (rng.choice(first) if rng.random() < 0.5 else "")
            return f"{rng.choice(last)}{rng.choice(first)}"
        if lang == "ru":
            return f"{rng.choice(first)} {rng.choice(last)}"
        f, l = rng.choice(first), rng.choice(last)
        if rng.random() < 0.2:
            return f"{l.upper()}, {f}"
        if rng.random() < 0.25 and lang in ("en", "es", "pt", "ar", "hi"):
            return f"{f} {rng.choice(first)} {l}"
        return f"{f} {l}"

    def company() -> str:
        r = rng.random()
        if r < 0.25:
            return f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_SECTORS)} {rng.choice(_EN_FORMS)}"
        if r < 0.35:
            return f"{rng.choice(_PEOPLE['de'][1])} {rng.choice(_DE[0])} {rng.choice(_DE[1])}"
        if r < 0.42:
            return f"{rng.choice(_FR[0])} {rng.choice(_PEOPLE['fr'][1])} {rng.choice(_FR[1])}"
        if r < 0.49:
            return f"{rng.choice(_ES[0])} {rng.choice(_PEOPLE['es'][1])} {rng.choice(_ES[1])}"
        if r < 0.55:
            return f"{rng.choice(_PEOPLE['it'][1])} {rng.choice(_IT[0])} {rng.choice(_IT[1])}"
        if r < 0.63:
            return f"{rng.choice(_RU_FORMS)} «{rng.choice(_RU_BRANDS)}»"
        if r < 0.73:
            return f"{rng.choice(_ZH_CITIES)}{rng.choice(_ZH_BRANDS)}{rng.choice(_ZH_INDUSTRY)}{rng.choice(_ZH_FORMS)}"
        if r < 0.83:
            return (f"{rng.choice(_PINYIN_CITIES)} {rng.choice(_PINYIN_BRANDS)} "
                    f"{rng.choice(_SECTORS)} Co., Ltd.")
        if r < 0.91:
            return f"{rng.choice(_JA[0])} {rng.choice(_JA[1])} {rng.choice(_JA[2])}"
        return f"{rng.choice(_TR[0])} {rng.choice(_TR[1])} {rng.choice(_TR[2])}"

    seen: set[str] = set()
    while len(out) < n:
        s = company() if len(out) % 2 == 0 else person()
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def remove_listed(names: list[str], entries: list[ListEntry]) -> tuple[list[str], list[str]]:
    """Split ``names`` into (not listed, listed): listed means its token set
    equals that of a list name or alias, i.e. it really is on the list. Pure."""
    def keys(n: str) -> set[object]:
        core = [t.text for t in tokenize(n) if t.kind not in (LEGAL, STOP)]
        # Token set, and the joined form in both orders (Chinese names come as
        # one pinyin word from Han script but as two words on the lists).
        return {frozenset(core), "".join(core), "".join(reversed(core))}

    listed_keys: set[object] = set()
    for e in entries:
        for n in [e.name] + e.alt_names:
            listed_keys |= keys(n)
    keep, dropped = [], []
    for n in names:
        (dropped if keys(n) & listed_keys else keep).append(n)
    return keep, dropped


# -- measuring -------------------------------------------------------------------


@dataclass
class QualityReport:
    threshold: float
    recall: float
    found: int
    planted: int
    by_kind: dict[str, tuple[int, int]]
    clean_hit_rate: float
    clean_hits: int
    clean: int
    misses: list[Case]
    clean_hit_examples: list[tuple[str, str, float]]


def evaluate(index: MatchIndex, planted: list[Case], clean: list[str],
             threshold: float | None = None) -> QualityReport:
    """Recall on ``planted`` and share of ``clean`` names with any hit. Pure."""
    from workbench.screening.matcher import DEFAULT_THRESHOLD
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    by_kind: dict[str, list[int]] = {}
    misses = []
    found = 0
    for c in planted:
        ok = any(h.entry_id == c.expected for h in index.screen([c.query], threshold=thr))
        k = by_kind.setdefault(c.kind, [0, 0])
        k[1] += 1
        if ok:
            k[0] += 1
            found += 1
        else:
            misses.append(c)
    chits = []
    for n in clean:
        hs = index.screen([n], threshold=thr)
        if hs:
            chits.append((n, hs[0].list_name, hs[0].score))
    return QualityReport(thr, found / len(planted), found, len(planted),
                         {k: (v[0], v[1]) for k, v in by_kind.items()},
                         len(chits) / len(clean), len(chits), len(clean), misses, chits)


def name_bench(index: MatchIndex, cases_csv: str | Path, threshold: float | None = None) -> dict:
    """Precision/recall/F1 of :meth:`MatchIndex.score_names` on labelled name
    pairs (OpenSanctions name_bench ``cases.csv``), at ``threshold`` and at the
    best threshold. Reads the file; otherwise pure."""
    from workbench.screening.matcher import DEFAULT_THRESHOLD
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    rows = list(csv.DictReader(open(cases_csv, encoding="utf-8", newline="")))
    scored = [(index.score_names(r["name1"], r["name2"]), r["is_match"].strip().lower() == "true")
              for r in rows]

    def prf(t: float) -> tuple[float, float, float]:
        tp = sum(1 for s, y in scored if s >= t and y)
        fp = sum(1 for s, y in scored if s >= t and not y)
        fn = sum(1 for s, y in scored if s < t and y)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    at = prf(thr)
    best_t = max(range(30, 101), key=lambda t: prf(float(t))[2])
    best = prf(float(best_t))
    return {"pairs": len(scored), "threshold": thr, "precision": at[0], "recall": at[1],
            "f1": at[2], "best_threshold": float(best_t), "best_precision": best[0],
            "best_recall": best[1], "best_f1": best[2]}


def recorded_f1(frozen_csv: str | Path) -> float:
    """F1 of a recorded run (``predicted_match`` vs ``is_match``), e.g. logic-v2's."""
    tp = fp = fn = 0
    for r in csv.DictReader(open(frozen_csv, encoding="utf-8", newline="")):
        y = r["is_match"].strip().lower() == "true"
        p = r["predicted_match"].strip().lower() == "true"
        tp += y and p
        fp += p and not y
        fn += y and not p
    prec, rec = tp / (tp + fp), tp / (tp + fn)
    return 2 * prec * rec / (prec + rec)
