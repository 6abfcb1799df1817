"""Two-stage, explainable name matching against list entries.

Stage 1 (candidates): an inverted index from normalised tokens to list names,
widened for typos with a one-edit deletion neighbourhood (SymSpell style: a
token and its single-character deletions share keys), for spacing with joined
adjacent token pairs ("hik vision" -> "hikvision"), and for acronyms.
Only distinctive tokens (not legal forms, stop words, places or generic
company words) open candidates: a hit needs one anyway.

Stage 2 (score): for each candidate name, tokens are aligned one to one
(exact, joined/split, or within one or two edits via rapidfuzz's OSA
distance). The score is the weighted share of matched tokens, where a token's
weight is IDF over all list names times a kind factor (legal forms, stop
words, places and generic words weigh little), unmatched query tokens count
fully against the score and unmatched list tokens only partly. Without a
matched distinctive token the score is capped below any threshold. Country
and address of the query adjust the score within fixed bounds.

Everything is pure: an index is immutable after :meth:`MatchIndex.build` and
may be shared by threads for concurrent :meth:`MatchIndex.screen` calls.
"""

from __future__ import annotations

import math
import re
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import OSA

from workbench.screening.contacts import ContactLookups
from workbench.screening.lists import (CancelFlag, Cancelled, ListEntry, ProgressFn,
                                      entry_from_json, entry_to_json, is_cancelled)
from workbench.screening.normalize import (GENERIC, INITIAL, LEGAL, NAME, PLACE, STOP, Token,
                                          PATRONYMIC_ENDS, canonical, is_patronymic,
                                          skeleton, tokenize)

#: Score (0-100) from which a candidate is reported as a hit. Chosen on the
#: evaluation set (bench/screening_quality.py): recall of planted variants
#: >= 98% with <= 0.5% of clean names hit.
DEFAULT_THRESHOLD = 80.0

KIND_FACTOR = {NAME: 1.0, GENERIC: 0.45, PLACE: 0.35, LEGAL: 0.12, STOP: 0.08, INITIAL: 0.3}
#: Credit for an initial aligned with a full name of the same first letter
#: ("V." ~ "Vladimir"), weighted like the full name. Never distinctive.
INITIAL_CREDIT = 0.75
#: Share of a query patronymic's weight that counts when the list name has
#: none ("Sergey Viktorovich Lavrov" vs "Sergey Lavrov"): lists often omit
#: it. A *different* patronymic on the list side still counts fully, and a
#: list patronymic missing from the query keeps the usual list penalty.
MISSING_PATRONYMIC_FACTOR = 0.25
#: Share of an unmatched list token's weight that counts against the score:
#: a query naming only part of a listed name ("Huawei") should still hit.
UNMATCHED_LIST_PENALTY = 0.5
#: Unmatched query tokens count fully: extra words mean a different party.
UNMATCHED_QUERY_PENALTY = 1.0
#: Score ceiling when no distinctive token matched (below any sane threshold).
NO_DISTINCTIVE_CAP = 50.0
ACRONYM_SCORE = 90.0
COUNTRY_BONUS, COUNTRY_PENALTY, ADDRESS_BONUS = 4.0, 6.0, 5.0
#: Candidates re-scored per query name.
CANDIDATES_PER_NAME = 30


@dataclass(frozen=True)
class TokenMatch:
    """One line of an explanation: a query token, the list token aligned with
    it (either may be empty when unmatched), how similar and how much it weighed."""

    query_token: str
    list_token: str
    similarity: float
    weight: float
    kind: str
    how: str  # exact | typo | spelling | joined | acronym | unmatched-query | unmatched-list

    def describe(self) -> str:
        if self.how == "unmatched-query":
            return f'"{self.query_token}" not in list name ({self.kind}, weight {self.weight:.1f})'
        if self.how == "unmatched-list":
            return f'list word "{self.list_token}" not in query ({self.kind}, weight {self.weight:.1f})'
        rel = {"exact": "=", "typo": "≈", "spelling": "≈ (spelling)", "joined": "= (spacing)",
               "acronym": "= acronym of", "initial": "= initial of"}[self.how]
        return (f'"{self.query_token}" {rel} "{self.list_token}" ({self.kind}, '
                f'similarity {self.similarity:.2f}, weight {self.weight:.1f})')


@dataclass
class Hit:
    """One list entry that matched one of the query names.

    ``list_name`` is the list's name or alias that matched, ``matched_name``
    the query name that matched it, ``score`` the final 0-100 score (name
    score plus bounded ``adjustments``), ``tokens`` the token-by-token
    alignment and ``explanation`` one human sentence.
    """

    entry_id: str
    source: str
    list_name: str
    primary_name: str
    is_alias: bool
    matched_name: str
    query_index: int
    score: float
    name_score: float
    adjustments: dict[str, float]
    tokens: tuple[TokenMatch, ...]
    explanation: str
    content_hash: str = ""
    entry: ListEntry | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Record:
    entry_idx: int
    display: str
    tokens: tuple[Token, ...]
    is_alias: bool
    acronym_only: bool = False


_PAREN_RE = re.compile(r"\(([^()]*)\)")
_AKA_RE = re.compile(r"\[\s*(?:a\.?k\.?a\.?|f\.?k\.?a\.?|formerly)\s*:?\s*([^\]]+)\]", re.I)
_ACRONYM_LIKE = re.compile(r"^[A-Z0-9][A-Za-z0-9&.\- ]{1,15}$")


def _variants(name: str) -> list[tuple[str, bool]]:
    """Name strings to index for one published name: the name without
    bracketed parts, each ``[aka X]`` and each acronym-like ``(ABC)``.
    The bool says "acronym/short name taken from parentheses"."""
    out: list[tuple[str, bool]] = []
    for m in _AKA_RE.finditer(name):
        out.append((m.group(1).strip(), False))
    base = _AKA_RE.sub(" ", name)
    for m in _PAREN_RE.finditer(base):
        inner = m.group(1).strip()
        if _ACRONYM_LIKE.match(inner) and sum(c.isupper() for c in inner) >= 2:
            out.append((inner, True))
    stripped = re.sub(r"\s+", " ", _PAREN_RE.sub(" ", base)).strip(" ,;")
    out.insert(0, (stripped or name, False))
    if stripped != base.strip():
        out.insert(1, (base.strip(), False))
    return out


@lru_cache(maxsize=200_000)
def _canon(t: str) -> str:
    return canonical(t)


def _deletes(t: str) -> set[str]:
    return {t[:i] + t[i + 1:] for i in range(len(t))}


def _is_deletion_of(d: str, k: str) -> bool:
    """Whether `d` is `k` with one character left out. Pure."""
    if len(k) != len(d) + 1:
        return False
    i = 0
    while i < len(d) and d[i] == k[i]:
        i += 1
    return d[i:] == k[i + 1:]


def _crc(text: str) -> int:
    # a stable hash (Python's str hash changes per process) of a deletion
    return zlib.crc32(text.encode("utf-8"))


class _LazySeq(Sequence):
    """A read-only sequence whose items are made from stored raw forms on
    first access: loading an index must not parse 30,000 entries when a
    query looks at ten. Concurrent first accesses may both convert; the
    results are equal, so that race is harmless."""

    def __init__(self, raw: Sequence[object], make: Callable[[object], object]):
        self._raw = raw
        self._make = make
        self._done: list[object | None] = [None] * len(raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        v = self._done[i]
        if v is None:
            v = self._done[i] = self._make(self._raw[i])
        return v

    def __iter__(self) -> Iterator[object]:
        for i in range(len(self._raw)):
            yield self[i]


_VOWELS_RE = re.compile(r"[aeiouy]+")


def _consonants(word: str) -> str:
    """Consonant skeleton of a transliteration-folded word ("muhammad",
    "mohammed" -> "mhmd"; "husayn", "hussein" -> "hsn"): vowels are what
    romanisations of Arabic, Persian and Chinese names disagree on most. Pure."""
    w = skeleton(word)
    return w[0] + _VOWELS_RE.sub("", w[1:])


@lru_cache(maxsize=500_000)
def _token_sim(a: str, b: str) -> tuple[float, str]:
    """(credit, how) for two token texts; (0, "") when they do not match."""
    if a == b:
        return 1.0, "exact"
    if (len(a) == 1) != (len(b) == 1) and a[0] == b[0] and a.isalpha() and b.isalpha():
        return INITIAL_CREDIT, "initial"  # the caller checks the kinds
    if len(a) >= 4 and len(b) >= 4 and skeleton(a) == skeleton(b):
        return 0.9, "spelling"
    n = max(len(a), len(b))
    # Short words differ by one letter all the time ("lina"/"lena"), so typo
    # tolerance starts at five letters and a second edit at ten.
    if n < 5 or min(len(a), len(b)) < 4 or a.isdigit() or b.isdigit():
        return 0.0, ""
    allowed = 2 if n >= 10 else 1
    d = OSA.distance(a, b, score_cutoff=allowed)
    if d > allowed:
        if min(len(a), len(b)) >= 5 and a[0] == b[0] and len(_consonants(a)) >= 3 \
                and _consonants(a) == _consonants(b):
            return 0.75, "spelling"
        return 0.0, ""
    if d == 1:
        return (0.9 if n >= 8 else 0.85), "typo"
    return 0.8, "typo"


def _acronym(tokens: Sequence[Token]) -> str:
    return "".join(t.text[0] for t in tokens if t.kind != STOP)


def _country_code(value: str) -> str:
    from workbench.screening._countries import country_code
    return country_code(value)


class MatchIndex:
    """Searchable index over the names and aliases of list entries.

    Build once per snapshot with :meth:`build`; for re-screening after a list
    change build a small index over just the changed entries with
    ``reference=full_index`` so IDF weights (and thus scores) stay identical.
    Immutable after build; screening is thread-safe.
    """

    def __init__(self) -> None:
        self.entries: Sequence[ListEntry] = []
        self.records: Sequence[_Record] = []
        self.postings: dict[str, list[int]] = {}
        # One-deletion neighbourhood of the index keys of four letters or
        # more, as sorted 64-bit numbers (crc32 of the deletion << 32 | the
        # key's position in ``_vocab``): a tenth of the memory of a dict of
        # strings, and it loads from the index file without being rebuilt.
        self._vocab: list[str] = []
        self._dels: array = array("Q")
        self.acronyms: dict[str, list[int]] = {}
        self.df: dict[str, int] = {}
        self.n_docs: int = 0
        self._entry_countries: list[set[str]] = []
        self._entry_addr_tokens: list[set[str]] = []
        self._idf: dict[str, float] = {}
        self._contacts: ContactLookups | None = None
        self._expand_memo: dict[str, list[str]] = {}

    # -- building ----------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[ListEntry], progress: ProgressFn | None = None,
              cancel: CancelFlag | None = None, reference: MatchIndex | None = None) -> MatchIndex:
        """Index every name and alias of ``entries``.

        ``reference`` reuses another index's token statistics (for an index of
        changed entries only). ``progress(done, total)`` is called per 2,000
        entries, ``cancel`` polled as often (raises :class:`Cancelled`).
        Pure; safe to run in a worker thread.
        """
        self = cls()
        self.entries = list(entries)
        total = len(self.entries)
        for ei, e in enumerate(self.entries):
            if ei % 2000 == 0:
                if is_cancelled(cancel):
                    raise Cancelled("index build cancelled")
                if progress:
                    progress(ei, total)
            names = [(e.name, False)] + [(a, True) for a in e.alt_names]
            seen: set[tuple[str, ...]] = set()
            for raw, is_alias in names:
                for text, acro in _variants(raw):
                    toks = tokenize(text)
                    key = tuple(t.text for t in toks)
                    if not toks or key in seen:
                        continue
                    seen.add(key)
                    self.records.append(_Record(ei, raw, toks, is_alias or acro, acro))
            self._entry_countries.append({c for c in (_country_code(a.country) for a in e.addresses) if c})
            addr_toks: set[str] = set()
            for a in e.addresses:
                for t in tokenize(f"{a.street} {a.city} {a.postcode}"):
                    if t.kind != STOP and len(t.text) > 2:
                        addr_toks.add(t.text)
            self._entry_addr_tokens.append(addr_toks)
        df: dict[str, int] = {}
        for ri, r in enumerate(self.records):
            texts = {t.text for t in r.tokens}
            for tx in texts:
                df[tx] = df.get(tx, 0) + 1
            keys = {t.text for t in r.tokens if t.kind in (NAME, GENERIC)}
            allt = [t.text for t in r.tokens]
            keys.update(a + b for a, b in zip(allt, allt[1:]))
            keys.update([skeleton(t.text) for t in r.tokens if t.kind == NAME and len(t.text) >= 4])
            for k in keys:
                self.postings.setdefault(k, []).append(ri)
            core = [t for t in r.tokens if t.kind not in (LEGAL, STOP)]
            if r.acronym_only:
                pass
            elif len(core) >= 2:
                for acr in {_acronym(core), _acronym([t for t in r.tokens if t.kind != STOP])}:
                    if len(acr) >= 3:
                        self.acronyms.setdefault(acr, []).append(ri)
        if reference is not None:
            self.df, self.n_docs = reference.df, reference.n_docs
        else:
            self.df, self.n_docs = df, len(self.records)
        self._vocab = sorted(k for k in self.postings if len(k) >= 4)
        self._dels = array("Q", sorted((_crc(d) << 32) | i for i, k in enumerate(self._vocab)
                                       for d in _deletes(k)))
        if progress:
            progress(total, total)
        return self

    def contacts(self) -> ContactLookups:
        """Contact details of the entries, indexed for the fronts check (made
        on first use, or loaded with the index). Thread-safe."""
        if self._contacts is None:
            self._contacts = ContactLookups.build(self.entries)
        return self._contacts

    # -- the index file ------------------------------------------------------

    def to_payload(self) -> dict[str, object]:
        """Everything the index holds, as plain containers that
        :mod:`marshal` writes (see :mod:`workbench.screening.index_file`).
        Sets become frozensets, records and entries their raw forms. Pure,
        apart from making :meth:`contacts` if it was not made yet."""
        return {
            "entries": [entry_to_json(e) for e in self.entries],
            "records": [(r.entry_idx, r.display, tuple((t.text, t.kind, t.original)
                                                       for t in r.tokens),
                         r.is_alias, r.acronym_only) for r in self.records],
            "postings": self.postings,
            "vocab": self._vocab,
            "dels": self._dels.tobytes(),
            "acronyms": self.acronyms,
            "df": self.df,
            "n_docs": self.n_docs,
            "countries": [frozenset(c) for c in self._entry_countries],
            "addr_tokens": [frozenset(a) for a in self._entry_addr_tokens],
            "contacts": self.contacts().to_payload(),
        }

    @classmethod
    def from_payload(cls, p: dict[str, object]) -> MatchIndex:
        """An index from :meth:`to_payload`'s containers; entries and
        records are made lazily on first access. Raises KeyError, TypeError
        or ValueError on a payload of the wrong shape. Pure."""
        self = cls()
        entries = p["entries"]
        records = p["records"]
        if not isinstance(entries, list) or not isinstance(records, list):
            raise TypeError("entries and records must be lists")
        self.entries = _LazySeq(entries, entry_from_json)  # type: ignore[assignment]
        self.records = _LazySeq(records, lambda raw: _Record(  # type: ignore[assignment]
            raw[0], raw[1], tuple(Token(*t) for t in raw[2]), raw[3], raw[4]))
        self.postings = p["postings"]  # type: ignore[assignment]
        self._vocab = p["vocab"]  # type: ignore[assignment]
        dels = array("Q")
        dels.frombytes(p["dels"])  # type: ignore[arg-type]
        self._dels = dels
        self.acronyms = p["acronyms"]  # type: ignore[assignment]
        self.df = p["df"]  # type: ignore[assignment]
        self.n_docs = int(p["n_docs"])  # type: ignore[arg-type]
        self._entry_countries = p["countries"]  # type: ignore[assignment]
        self._entry_addr_tokens = p["addr_tokens"]  # type: ignore[assignment]
        self._contacts = ContactLookups.from_payload(p["contacts"])  # type: ignore[arg-type]
        for name, want in (("postings", dict), ("vocab", list), ("acronyms", dict),
                           ("df", dict), ("countries", list), ("addr_tokens", list)):
            if not isinstance(p[name], want):
                raise TypeError(f"{name} must be a {want.__name__}")
        if not (len(self._entry_countries) == len(self._entry_addr_tokens) == len(entries)):
            raise ValueError("per-entry tables disagree in length")
        return self

    # -- weights -------------------------------------------------------------

    def idf(self, text: str) -> float:
        # memoised: screening asks for the same few thousand words again and
        # again; the dict only grows with distinct words seen
        v = self._idf.get(text)
        if v is None:
            v = self._idf[text] = math.log((self.n_docs + 1) / (self.df.get(text, 0) + 1)) + 1.0
        return v

    def weight(self, tok: Token) -> float:
        return KIND_FACTOR[tok.kind] * self.idf(tok.text)

    # -- stage 1 -------------------------------------------------------------

    def _deleted_to(self, d: str) -> list[str]:
        """Index keys that become `d` when one character is left out."""
        h = _crc(d)
        dels, vocab = self._dels, self._vocab
        i = bisect_left(dels, h << 32)
        out = []
        while i < len(dels) and dels[i] >> 32 == h:
            k = vocab[dels[i] & 0xFFFFFFFF]
            if _is_deletion_of(d, k):  # a crc32 collision otherwise
                out.append(k)
            i += 1
        return out

    def _expand(self, key: str) -> list[str]:
        """Index keys within one edit of ``key`` (itself included). Memoised
        per index: a batch asks for the same words ("trading", "wang") again
        and again, and each costs a dozen lookups."""
        memo = self._expand_memo
        got = memo.get(key)
        if got is not None:
            return got
        if len(memo) >= 200_000:
            memo.clear()  # bounded; a race here only loses memoised work
        got = memo[key] = self._expand_uncached(key)
        return got

    def _expand_uncached(self, key: str) -> list[str]:
        found = [key] if key in self.postings else []
        if len(key) >= 4:
            found.extend(self._deleted_to(key))               # query lost a letter
            for d in sorted(_deletes(key)):  # sorted: the same order in every process
                if d in self.postings and len(d) >= 4:
                    found.append(d)                            # query gained a letter
                found.extend(self._deleted_to(d))              # substitution / transposition
        return list(dict.fromkeys(found))

    def _candidates(self, toks: tuple[Token, ...]) -> list[int]:
        acc: dict[int, float] = {}
        dist = [t.text for t in toks if t.kind not in (LEGAL, STOP)]
        keys = [t.text for t in toks if t.kind == NAME]
        keys += [skeleton(t.text) for t in toks if t.kind == NAME and len(t.text) >= 4]
        allt = [t.text for t in toks]
        keys += [a + b for a, b in zip(allt, allt[1:])]
        if not any(t.kind == NAME for t in toks):
            generic = [t.text for t in toks if t.kind == GENERIC and t.text in self.postings]
            if generic:
                # Only generic words ("China Telecom"): names holding all of them.
                common = set(self.postings[generic[0]])
                for g in generic[1:]:
                    common &= set(self.postings[g])
                for ri in common:
                    acc[ri] = acc.get(ri, 0.0) + sum(self.idf(g) for g in generic)
        for key in dict.fromkeys(keys):
            for k in self._expand(key):
                w = self.idf(k)
                # .get: a saved index is checked by digest, not for
                # consistency; a forged one must not crash (check finds it)
                for ri in self.postings.get(k, ()):
                    acc[ri] = acc.get(ri, 0.0) + w
        if len(dist) == 1 and dist[0] in self.acronyms:
            for ri in self.acronyms[dist[0]]:
                acc[ri] = acc.get(ri, 0.0) + 100.0
        if len(acc) <= CANDIDATES_PER_NAME:
            return list(acc)
        return sorted(acc, key=acc.__getitem__, reverse=True)[:CANDIDATES_PER_NAME]

    # -- stage 2 -------------------------------------------------------------

    def score_tokens(self, q: tuple[Token, ...], l: tuple[Token, ...],
                     explain: bool = True) -> tuple[float, list[TokenMatch]]:
        """Score (0-100) and alignment of query tokens ``q`` against list
        tokens ``l`` (the alignment empty unless ``explain``: most candidates
        fall below the threshold, and making their explanations was a third
        of a batch's time). Pure."""
        ql, ll = list(q), list(l)
        lset = {t.text for t in ll}
        qset = {t.text for t in ql}
        joined: list[TokenMatch] = []
        # Spacing: two adjacent tokens on one side equal one token on the other.
        for side, other_set in ((ql, lset), (ll, qset)):
            i = 0
            while i < len(side) - 1:
                a, b = side[i], side[i + 1]
                cat = a.text + b.text
                cat = _canon(cat)
                if cat in other_set and a.text not in other_set and b.text not in other_set:
                    side[i:i + 2] = [Token(cat, NAME if NAME in (a.kind, b.kind) else a.kind,
                                           f"{a.original} {b.original}")]
                i += 1
        pairs: list[tuple[float, int, int, str]] = []
        org: bool | None = None  # company name? (computed only when needed)
        for i, a in enumerate(ql):
            for j, b in enumerate(ll):
                c, how = _token_sim(a.text, b.text)
                if c > 0:
                    if how == "exact" and " " in a.original + b.original:
                        how = "joined"
                    elif how == "initial":
                        # Only an initial against a name word, and only in
                        # personal names: in "C&I Semiconductor Co" the letters
                        # are an abbreviation, not initials.
                        if NAME not in (a.kind, b.kind) or INITIAL not in (a.kind, b.kind):
                            continue
                        if org is None:
                            org = any(t.kind == LEGAL for t in ql) or any(t.kind == LEGAL for t in ll)
                        if org:
                            continue
                    pairs.append((c, i, j, how))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        used_q: set[int] = set()
        used_l: set[int] = set()
        num = den = 0.0
        distinctive = False
        typo_distinctive = 0
        out: list[TokenMatch] = []
        for c, i, j, how in pairs:
            if i in used_q or j in used_l:
                continue
            used_q.add(i)
            used_l.add(j)
            b = ll[j]
            w = self.weight(b)
            if how == "initial":
                # weighed like the full name it abbreviates, on whichever side
                w = max(w, self.weight(ql[i]))
            num += c * w
            den += w
            if how == "initial":
                pass
            elif b.kind in (NAME, GENERIC):
                # A lone short word matched only by a typo is too weak to carry a hit.
                if how not in ("typo", "spelling") or len(b.text) >= 7:
                    distinctive = True
                else:
                    typo_distinctive += 1
            if explain:
                out.append(TokenMatch(ql[i].original, b.original, c, w, b.kind, how))
        uq = [a for i, a in enumerate(ql) if i not in used_q]
        ul = [b for j, b in enumerate(ll) if j not in used_l]
        q_ini = q_pat = l_ini = l_pat = False
        for a in uq:
            if len(a.text) == 1:
                q_ini = q_ini or a.kind == INITIAL
            elif a.text.endswith(PATRONYMIC_ENDS):
                q_pat = True
        for b in ul:
            if len(b.text) == 1:
                l_ini = l_ini or b.kind == INITIAL
            elif b.text.endswith(PATRONYMIC_ENDS):
                l_pat = True
        # Different unmatched initials on both sides ("William G." / "William W.")
        # point to different people: they weigh like full names then.
        ini_conflict = 1.0 / KIND_FACTOR[INITIAL] if q_ini and l_ini else 1.0
        # A query patronymic with none on the list side is usually just omitted there.
        pat_missing = q_pat and not l_pat
        for a in uq:
            w = self.weight(a)
            if pat_missing and is_patronymic(a.text):
                w *= MISSING_PATRONYMIC_FACTOR
            elif ini_conflict != 1.0 and a.kind == INITIAL:
                w *= ini_conflict
            den += UNMATCHED_QUERY_PENALTY * w
            if explain:
                out.append(TokenMatch(a.original, "", 0.0, w, a.kind, "unmatched-query"))
        for b in ul:
            w = self.weight(b)
            if ini_conflict != 1.0 and b.kind == INITIAL:
                w *= ini_conflict
            den += UNMATCHED_LIST_PENALTY * w
            if explain:
                out.append(TokenMatch("", b.original, 0.0, w, b.kind, "unmatched-list"))
        score = 100.0 * num / den if den else 0.0
        if not distinctive and typo_distinctive < 2:
            score = min(score, NO_DISTINCTIVE_CAP)
        return score, joined + out

    def score_names(self, query: str, list_name: str) -> float:
        """Name score (0-100) of two strings with this index's weights. Pure."""
        qt, lt = tokenize(query), tokenize(list_name)
        best = self.score_tokens(qt, lt)[0]
        core = [t for t in qt if t.kind not in (LEGAL, STOP)]
        lcore = [t for t in lt if t.kind not in (LEGAL, STOP)]
        # Same rule as screen(): acronyms of three letters or more only.
        if len(core) == 1 and len(core[0].text) >= 3 and len(lcore) >= 2 \
                and core[0].text in (_acronym(lcore), _acronym([t for t in lt if t.kind != STOP])):
            best = max(best, ACRONYM_SCORE)
        return best

    # -- screening ----------------------------------------------------------

    def screen(self, names: Sequence[str] | str, country: str | None = None,
               address: str | None = None, threshold: float | None = None) -> list[Hit]:
        """Screen one party (all its names) and return hits, best first.

        ``country`` (ISO code or name) and ``address`` adjust scores within
        bounds. Pure and thread-safe; about a millisecond per name.
        """
        if isinstance(names, str):
            names = [names]
        thr = DEFAULT_THRESHOLD if threshold is None else threshold
        qcc = _country_code(country) if country else ""
        addr_toks = {t.text for t in tokenize(address) if t.kind != STOP and len(t.text) > 2} if address else set()
        best: dict[int, tuple[float, float, dict[str, float], int, _Record, list[TokenMatch]]] = {}
        for qi, name in enumerate(names):
            if not name or not name.strip():
                continue
            qt = tokenize(name)
            if not qt:
                continue
            qcore = [t for t in qt if t.kind not in (LEGAL, STOP)]
            for ri in self._candidates(qt):
                r = self.records[ri]
                toks: list[TokenMatch] | None = None  # explained only if it passes
                if r.acronym_only:
                    if len(qcore) == 1 and len(r.tokens) == 1 and qcore[0].text == r.tokens[0].text:
                        s, toks = ACRONYM_SCORE + 5, [TokenMatch(qcore[0].original, r.display, 1.0, 0.0, NAME, "exact")]
                    else:
                        s = min(self.score_tokens(qt, r.tokens, explain=False)[0], ACRONYM_SCORE)
                else:
                    s = self.score_tokens(qt, r.tokens, explain=False)[0]
                    if len(qcore) == 1 and len(qcore[0].text) >= 3 and ri in self.acronyms.get(qcore[0].text, ()):
                        if ACRONYM_SCORE > s:
                            s = ACRONYM_SCORE
                            toks = [TokenMatch(qcore[0].original, r.display, 1.0, 0.0, NAME, "acronym")]
                if s < thr - ADDRESS_BONUS - COUNTRY_BONUS:
                    continue
                if toks is None:
                    toks = self.score_tokens(qt, r.tokens)[1]
                adj: dict[str, float] = {}
                ei = r.entry_idx
                if qcc and self._entry_countries[ei]:
                    adj["country"] = COUNTRY_BONUS if qcc in self._entry_countries[ei] else -COUNTRY_PENALTY
                if addr_toks and self._entry_addr_tokens[ei]:
                    overlap = len(addr_toks & self._entry_addr_tokens[ei]) / len(addr_toks)
                    if overlap >= 0.5:
                        adj["address"] = ADDRESS_BONUS * min(1.0, overlap)
                final = max(0.0, min(100.0, s + sum(adj.values())))
                prev = best.get(ei)
                if prev is None or final > prev[0]:
                    best[ei] = (final, s, adj, qi, r, toks)
        hits = []
        for ei, (final, s, adj, qi, r, toks) in best.items():
            if final < thr:
                continue
            e = self.entries[ei]
            hits.append(Hit(
                entry_id=e.entry_id, source=e.list_code, list_name=r.display, primary_name=e.name,
                is_alias=r.is_alias, matched_name=names[qi], query_index=qi,
                score=round(final, 1), name_score=round(s, 1), adjustments=adj,
                tokens=tuple(toks), explanation=_sentence(names[qi], r, e, final, s, adj, toks),
                content_hash=e.content_hash, entry=e))
        hits.sort(key=lambda h: (-h.score, h.entry_id))
        return hits

    def screen_many(self, parties: Sequence[tuple[Sequence[str], str | None]],
                    threshold: float | None = None, progress: ProgressFn | None = None,
                    cancel: CancelFlag | None = None) -> list[list[Hit]]:
        """Screen many parties ``[(names, country), ...]``; results in input order.

        Polls ``cancel`` and reports ``progress`` every 500 parties. Pure.
        """
        out = []
        total = len(parties)
        for i, (names, cc) in enumerate(parties):
            if i % 500 == 0:
                if is_cancelled(cancel):
                    raise Cancelled("screening cancelled")
                if progress:
                    progress(i, total)
            out.append(self.screen(names, country=cc, threshold=threshold))
        if progress:
            progress(total, total)
        return out


def _sentence(query: str, r: _Record, e: ListEntry, final: float, s: float,
              adj: dict[str, float], toks: Sequence[TokenMatch]) -> str:
    which = f'alias "{r.display}"' if r.is_alias else f'name "{r.display}"'
    matched = [t for t in toks if t.how not in ("unmatched-query", "unmatched-list")]
    parts = [t.describe() for t in matched]
    extra_q = [t.query_token for t in toks if t.how == "unmatched-query"]
    extra_l = [t.list_token for t in toks if t.how == "unmatched-list"]
    text = (f'"{query}" matches {which} of {e.name} ({e.entry_id}) with score {final:.0f}'
            f': {"; ".join(parts) if parts else "no word aligned"}.')
    if extra_q:
        text += f' Query words not on the list: {", ".join(extra_q)}.'
    if extra_l:
        text += f' List words not in the query: {", ".join(extra_l)}.'
    for k, v in adj.items():
        text += f" {k.capitalize()} {'matches' if v > 0 else 'differs'} ({v:+.0f})."
    return text
