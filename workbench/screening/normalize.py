"""Name normalisation for screening, in every script.

A name becomes a tuple of :class:`Token` s: lower-case ASCII text plus a kind
(``name``, ``generic``, ``place``, ``legal``, ``stop``). Legal forms and
common abbreviations are *kept* as tokens with a low-weight kind, so the
matcher can weigh them down and the explanation can still show them.

Pipeline: NFKC (width folding), "SURNAME, Given" reordering, Chinese
segmentation (dictionary of legal forms, generic company words and places;
unknown runs become one pinyin token, syllables joined, so 华为 -> "huawei"
matches HUAWEI), diacritics stripped, anything else transliterated with
anyascii (Cyrillic, Greek, Arabic, ...), punctuation to spaces, dotted
abbreviations joined ("S.A." -> "sa"), multi-word legal forms collapsed
("limited liability company" -> "llc"), abbreviations expanded ("intl" ->
"international").

Everything here is pure and thread-safe (module tables are read-only).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import OSA

NAME, GENERIC, PLACE, LEGAL, STOP = "name", "generic", "place", "legal", "stop"
#: A single letter standing for a given name ("V. Putin"): it can align with a
#: full word of the same first letter but never counts as a distinctive match.
INITIAL = "initial"

# Canonical legal-form tokens. Variants map to one spelling so that
# "Co., Ltd." and "Company Limited" align token for token.
_LEGAL_VARIANTS: dict[str, str] = {
    "co": "co", "company": "co", "compania": "co", "companhia": "co", "cia": "co", "cie": "co",
    "ltd": "ltd", "limited": "ltd", "ltda": "ltd", "ltee": "ltd",
    "corp": "corp", "corporation": "corp", "corpn": "corp",
    "inc": "inc", "incorporated": "inc",
    "llc": "llc", "llp": "llp", "lp": "lp", "plc": "plc", "gmbh": "gmbh", "ag": "ag",
    "kg": "kg", "ohg": "ohg", "ug": "ug", "mbh": "mbh", "sa": "sa", "sas": "sas", "sarl": "sarl",
    "srl": "srl", "spa": "spa", "sl": "sl", "bv": "bv", "nv": "nv", "ab": "ab", "asa": "asa",
    "oy": "oy", "oyj": "oyj", "aps": "aps", "kft": "kft", "zrt": "zrt", "sro": "sro",
    "doo": "doo", "dd": "dd", "ead": "ead", "ood": "ood", "pte": "pte", "pty": "pty",
    "pvt": "pvt", "bhd": "bhd", "sdn": "sdn", "tbk": "tbk", "jsc": "jsc", "ojsc": "ojsc",
    "cjsc": "cjsc", "pjsc": "pjsc", "oao": "oao", "zao": "zao", "pao": "pao", "ooo": "ooo",
    "ao": "ao", "tov": "tov", "fzco": "fzco", "fze": "fze", "fzc": "fzc", "fzllc": "fzllc",
    "wll": "wll", "sae": "sae", "sal": "sal", "saog": "saog", "cv": "cv", "sapi": "sapi",
    "eirl": "eirl", "snc": "snc", "kk": "kk", "gk": "gk", "se": "se", "spzoo": "spzoo",
    "est": "est", "establishment": "est", "jv": "jv", "unitary": "unitary",
    "liability": "liability", "joint": "joint", "stock": "stock", "shares": "shares",
    "obshchestvo": "obshchestvo", "aktsionernoe": "aktsionernoe", "otkrytoe": "otkrytoe",
    "otkritoe": "otkrytoe", "zakritoe": "zakrytoe", "zakrytoe": "zakrytoe", "publichnoe": "publichnoe", "ogranichennoi": "ogranichennoi",
    "ogranichennoy": "ogranichennoi", "otvetstvennostyu": "otvetstvennostyu",
    "societe": "societe", "sociedad": "sociedad", "anonima": "anonima", "anonyme": "anonyme",
    "aktiengesellschaft": "ag", "kommanditgesellschaft": "kg", "aktiebolag": "ab",
    "aktieselskab": "as", "anpartsselskab": "aps", "osakeyhtio": "oy", "ano": "ano",
}
# Multi-word legal forms, longest first when matched.
# Keys use the canonical single-word forms ("company" -> "co", "limited" -> "ltd").
_LEGAL_PHRASES: dict[tuple[str, ...], str] = {
    ("ltd", "liability", "co"): "llc",
    ("ltd", "liability", "partnership"): "llp",
    ("open", "joint", "stock", "co"): "ojsc",
    ("closed", "joint", "stock", "co"): "cjsc",
    ("public", "joint", "stock", "co"): "pjsc",
    ("joint", "stock", "co"): "jsc",
    ("public", "ltd", "co"): "plc",
    ("obshchestvo", "s", "ogranichennoi", "otvetstvennostyu"): "ooo",
    ("obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"): "ooo",
    ("otkrytoe", "aktsionernoe", "obshchestvo"): "oao",
    ("zakrytoe", "aktsionernoe", "obshchestvo"): "zao",
    ("publichnoe", "aktsionernoe", "obshchestvo"): "pao",
    ("aktsionernoe", "obshchestvo"): "ao",
    ("sp", "z", "o", "o"): "spzoo",
    ("s", "de", "rl"): "srl",
    ("sa", "de", "cv"): "sa",
    ("private", "ltd"): "ltd",
    ("gesellschaft", "mit", "beschrankter", "haftung"): "gmbh",
    ("societatea", "cu", "raspundere", "limitata"): "srl",
    ("societa", "a", "responsabilita", "limitata"): "srl",
    ("spolka", "z", "ograniczona", "odpowiedzialnoscia"): "spzoo",
    ("societa", "per", "azioni"): "spa",
    ("societe", "anonyme"): "sa", ("sociedad", "anonima"): "sa", ("sociedade", "anonima"): "sa",
    ("societe", "a", "responsabilite", "limitee"): "sarl",
    ("besloten", "vennootschap"): "bv", ("naamloze", "vennootschap"): "nv",
    ("kabushiki", "kaisha"): "kk", ("godo", "kaisha"): "gk",
    ("ltd", "partnership"): "lp", ("public", "ltd"): "plc",
    ("avtonomnaya", "nekommercheskaya", "organizatsiya"): "ano",
    ("sdn", "bhd"): "bhd",
}
# Abbreviations and plurals folded to one spelling (kind decided afterwards).
_ABBREVIATIONS: dict[str, str] = {
    "intl": "international", "int": "international", "internat": "international",
    "tech": "technology", "techn": "technology", "technologies": "technology",
    "technol": "technology", "grp": "group", "mfg": "manufacturing", "manuf": "manufacturing",
    "mfr": "manufacturing", "industries": "industry", "inds": "industry", "ind": "industry",
    "svc": "service", "svcs": "service", "srvces": "service", "services": "service",
    "sys": "system", "systems": "system", "hldg": "holding", "hldgs": "holding",
    "holdings": "holding", "invest": "investment", "investments": "investment",
    "natl": "national", "univ": "university", "inst": "institute", "mgmt": "management",
    "trdg": "trading", "comm": "communication", "communications": "communication",
    "electronic": "electronics", "elec": "electronics", "eng": "engineering",
    "engg": "engineering", "dev": "development", "bros": "brothers", "enterprises": "enterprise",
    "products": "product", "solutions": "solution", "networks": "network",
    "sci": "science", "sciences": "science", "labs": "laboratory", "lab": "laboratory",
    "laboratories": "laboratory", "equip": "equipment", "ctr": "center", "centre": "center",
    "assn": "association", "dept": "department", "mohd": "mohammed", "muhd": "mohammed",
}
_GENERIC = frozenset("""
international technology group holding industry industrial trading trade manufacturing service
system development engineering investment electronics science research institute university
management communication information digital network import export general national
enterprise solution product equipment machinery materials energy logistics shipping bank center
branch office commercial business global resources partners capital finance financial
foundation association department academy laboratory telecom software consulting agency
import export supply supplies devices instruments automation intelligent scientific
""".split())
_STOP = frozenset("""
and of the for de del della di da das dos la le les el al von van der den des du y e et und
a an in on at to by with
mr mrs ms miss mme dr prof president praesident prasident monsieur madame sir herr frau
sheikh shaikh
""".split())
_COUNTRY_WORDS = frozenset("""
china chinese prc russia russian federation iran iranian islamic republic korea korean dprk
north south syria syrian cuba cuban venezuela venezuelan belarus belarusian myanmar burma
burmese hong kong macau taiwan singapore malaysia india indian pakistan turkey turkish
ukraine ukrainian uae emirates arab united states america american usa us uk britain british
germany german france french japan japanese italy italian spain spanish netherlands dutch
canada canadian mexico mexican brazil brazilian lebanon lebanese iraq iraqi yemen afghanistan
libya sudan somalia israel kazakhstan uzbekistan armenia georgia azerbaijan cyprus greece
europe european asia asian africa african middle east eastern western
beijing shanghai shenzhen hangzhou guangzhou tianjin chongqing chengdu wuhan nanjing xian
suzhou zhuhai hefei changsha jinan qingdao dalian shenyang wuxi xiamen fuzhou zhengzhou
dongguan ningbo shandong jiangsu zhejiang guangdong sichuan hubei hebei henan hunan anhui
fujian liaoning shaanxi yunnan guangxi jiangxi heilongjiang jilin shanxi
moscow petersburg tehran dubai minsk istanbul damascus caracas havana pyongyang kabul
""".split())

# Chinese: whole words that have a conventional English rendering in company
# names. Unknown runs between them become one pinyin token each.
_HAN_WORDS: dict[str, str] = {
    "股份有限公司": "co ltd", "有限责任公司": "co ltd", "有限公司": "co ltd", "分公司": "branch",
    "公司": "co", "集团": "group", "控股": "holding", "股份": "shares",
    "技术": "technology", "科技": "technology", "国际": "international", "电子": "electronics",
    "微电子": "microelectronics", "信息": "information", "产业": "industry", "工业": "industry",
    "实业": "industry", "半导体": "semiconductor", "制造": "manufacturing", "数字": "digital",
    "通信": "communication", "网络": "network", "研究所": "research institute",
    "研究院": "research institute", "大学": "university", "投资": "investment",
    "贸易": "trading", "进出口": "import export", "航空": "aviation", "航天": "aerospace",
    "软件": "software", "设备": "equipment", "仪器": "instruments", "物流": "logistics",
    "智能": "intelligent", "系统": "system", "光电": "optoelectronics", "机械": "machinery",
    "能源": "energy", "材料": "materials", "化工": "chemical", "发展": "development",
    "中心": "center", "银行": "bank", "工程": "engineering", "电气": "electric",
    "中国": "china", "北京": "beijing", "上海": "shanghai", "深圳": "shenzhen", "杭州": "hangzhou",
    "广州": "guangzhou", "天津": "tianjin", "重庆": "chongqing", "成都": "chengdu",
    "武汉": "wuhan", "南京": "nanjing", "西安": "xian", "苏州": "suzhou", "香港": "hong kong",
    "珠海": "zhuhai", "合肥": "hefei", "长沙": "changsha", "济南": "jinan", "青岛": "qingdao",
    "大连": "dalian", "沈阳": "shenyang", "无锡": "wuxi", "厦门": "xiamen", "福州": "fuzhou",
    "郑州": "zhengzhou", "东莞": "dongguan", "宁波": "ningbo", "山东": "shandong",
    "江苏": "jiangsu", "浙江": "zhejiang", "广东": "guangdong", "四川": "sichuan",
    "湖北": "hubei", "河北": "hebei", "河南": "henan",
}
_HAN_MAXLEN = max(len(w) for w in _HAN_WORDS)


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF) or (0x3400 <= o <= 0x4DBF) or (0x20000 <= o <= 0x2FFFF) \
        or (0xF900 <= o <= 0xFAFF)


@dataclass(frozen=True, slots=True)
class Token:
    """One normalised token: ``text`` (ASCII, canonical), ``kind`` and the
    ``original`` piece of the input it came from (for explanations)."""

    text: str
    kind: str
    original: str

    @property
    def distinctive(self) -> bool:
        return self.kind == NAME


def kind_of(text: str) -> str:
    """Classify one canonical token text. Pure."""
    if text in _LEGAL_VARIANTS.values() or text in _LEGAL_VARIANTS:
        return LEGAL
    if text in _STOP:
        return STOP
    if len(text) == 1 and text.isalpha():
        return INITIAL
    if text in _COUNTRY_WORDS:
        return PLACE
    if text in _GENERIC:
        return GENERIC
    return NAME


def _segment_han(run: str) -> list[str]:
    """Split a run of Han characters into dictionary words and unknown chunks;
    return their Latin renderings (an unknown chunk -> one joined pinyin word)."""
    out: list[str] = []
    i, unknown = 0, ""
    while i < len(run):
        for n in range(min(_HAN_MAXLEN, len(run) - i), 1, -1):
            w = run[i:i + n]
            if w in _HAN_WORDS:
                if unknown:
                    out.append(anyascii(unknown).lower())
                    unknown = ""
                out.append(_HAN_WORDS[w])
                i += n
                break
        else:
            unknown += run[i]
            i += 1
    if unknown:
        out.append(anyascii(unknown).lower())
    return out


def _latinise(text: str) -> str:
    """Fold width/case, drop diacritics, segment Chinese, transliterate the rest."""
    text = unicodedata.normalize("NFKC", text)
    pieces: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        if _is_han(text[i]):
            j = i
            while j < len(text) and _is_han(text[j]):
                j += 1
            pieces.append("".join(buf))
            buf = []
            pieces.append(" " + " ".join(_segment_han(text[i:j])) + " ")
            i = j
        else:
            buf.append(text[i])
            i += 1
    pieces.append("".join(buf))
    out = []
    for p in pieces:
        d = unicodedata.normalize("NFKD", p)
        d = "".join(c for c in d if not unicodedata.combining(c))
        out.append(anyascii(d) if not d.isascii() else d)
    return "".join(out).lower()


_COMMA_RE = re.compile(r"^\s*([^,]+?)\s*,\s*([^,]+?)\s*$")
_DOTTED_RE = re.compile(r"\b(?:[a-z]\.){2,}(?:[a-z]\b)?")
_APOS_RE = re.compile(r"['’`ʼ‘]")
_SPLIT_RE = re.compile(r"[^a-z0-9]+")


def reorder_surname_first(name: str) -> str:
    """"SMITH, John" -> "John SMITH" when both sides look like personal-name
    parts (no legal form after the comma, at most four words each). Pure."""
    m = _COMMA_RE.match(name)
    if not m:
        return name
    surname, given = m.group(1), m.group(2)
    words = _SPLIT_RE.split(_latinise(given))
    if any(w in _LEGAL_VARIANTS for w in words if w) or len(given.split()) > 4 \
            or len(surname.split()) > 4:
        return name
    return f"{given} {surname}"


_LONG_LEGAL = ("company", "limited", "corporation", "incorporated", "international",
               "technology", "technologies", "enterprises", "industries", "manufacturing",
               "aktiengesellschaft")


def _fix_legal_typo(w: str) -> str:
    """"COMPNY" -> "company": a typo in a legal form must not turn it into a
    heavy, unmatched name word."""
    if len(w) < 6 or w in _LEGAL_VARIANTS or w in _GENERIC or w in _ABBREVIATIONS:
        return w
    for lf in _LONG_LEGAL:
        if abs(len(lf) - len(w)) <= 1 and OSA.distance(w, lf, score_cutoff=1) <= 1:
            return lf
    return w


_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
         "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split())}
_ORD_SUFFIX_RE = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


def _numbers(words: list[str]) -> list[str]:
    """English number words and ordinals as digits ("Forty-Four" -> "44",
    "1st"/"First" -> "1"), so spelt-out and written numbers align. Pure."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        m = _ORD_SUFFIX_RE.match(w)
        if m:
            out.append(str(int(m.group(1))))
        elif w in _TENS:
            n = _TENS[w]
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if nxt in _UNITS and 0 < _UNITS[nxt] < 10:
                n += _UNITS[nxt]
                i += 1
            elif len(nxt) == 1 and nxt in "123456789":
                n += int(nxt)
                i += 1
            out.append(str(n))
        elif w in _UNITS:
            out.append(str(_UNITS[w]))
        elif w in _ORDINALS:
            out.append(str(_ORDINALS[w]))
        else:
            out.append(w)
        i += 1
    return out


#: "FridrichBuchenberg" -> "Fridrich Buchenberg"; needs three lower-case letters
#: before the capital so "McDonald", "MacArthur" and "LeBron" stay whole.
_CAMEL_RE = re.compile(r"(?<=[a-z]{3})(?=[A-Z][a-z]{2})")


@lru_cache(maxsize=200_000)
def tokenize(name: str) -> tuple[Token, ...]:
    """Normalise one name into tokens (cached; pure and thread-safe)."""
    text = _latinise(reorder_surname_first(_CAMEL_RE.sub(" ", name)))
    text = text.replace("&", " and ").replace("+", " and ")
    text = _APOS_RE.sub("", text)
    text = _DOTTED_RE.sub(lambda m: m.group(0).replace(".", "") + " ", text)
    words = _numbers([_fix_legal_typo(w) for w in _SPLIT_RE.split(text) if w])
    words = [_LEGAL_VARIANTS.get(w, w) for w in words]
    tokens: list[Token] = []
    i = 0
    while i < len(words):
        for n in (4, 3, 2):
            key = tuple(words[i:i + n])
            if len(key) == n and key in _LEGAL_PHRASES:
                tokens.append(Token(_LEGAL_PHRASES[key], LEGAL, " ".join(key)))
                i += n
                break
        else:
            w = words[i]
            canon = _LEGAL_VARIANTS.get(w) or _ABBREVIATIONS.get(w, w)
            # Plural folding keeps "Technologies" == "Technology"-style pairs aligned
            # without a stemmer; only for generic vocabulary where it is safe.
            if canon not in _LEGAL_VARIANTS.values() and canon.endswith("s") \
                    and canon[:-1] in _GENERIC:
                canon = canon[:-1]
            tokens.append(Token(canon, kind_of(canon), w))
            i += 1
    return tuple(tokens)


_SKELETON_RULES = (("shch", "sh"), ("ks", "x"), ("kh", "h"), ("ph", "f"), ("q", "k"),
                   ("c", "k"), ("w", "v"), ("y", "i"), ("j", "i"), ("ou", "u"), ("ee", "i"))


@lru_cache(maxsize=200_000)
def skeleton(word: str) -> str:
    """Spelling-insensitive key for transliteration variants ("alexey",
    "aleksei" -> "alexei"): common Latin spellings of the same sound folded,
    doubled letters collapsed. Pure."""
    w = word
    for a, b in _SKELETON_RULES:
        w = w.replace(a, b)
    if w.startswith("ie"):  # "Yevgeniy"/"Evgeny", "Yelena"/"Elena"
        w = w[1:]
    return re.sub(r"(.)\1+", r"\1", w)


PATRONYMIC_ENDS = ("ovich", "evich", "ovych", "evych", "ovna", "evna", "ivna", "ichna")


def is_patronymic(word: str) -> bool:
    """Russian/Ukrainian patronymic ("viktorovich", "ivanovna"). Pure."""
    return len(word) >= 7 and word.endswith(PATRONYMIC_ENDS)


def canonical(word: str) -> str:
    """Canonical spelling of one lower-case ASCII word ("limited" -> "ltd"). Pure."""
    return _LEGAL_VARIANTS.get(word) or _ABBREVIATIONS.get(word, word)


def normalize(name: str) -> str:
    """The normalised name as one space-separated string (all tokens kept). Pure."""
    return " ".join(t.text for t in tokenize(name))


def core(name: str) -> str:
    """Normalised name without legal-form and stop tokens, spaces removed —
    the form under which "HIK-VISION", "Hik Vision" and "Hikvision" are equal. Pure."""
    return "".join(t.text for t in tokenize(name) if t.kind not in (LEGAL, STOP))
