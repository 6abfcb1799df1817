"""The rules packs' expression language: structured YAML, parsed into an AST.

Packs never hold code. A condition is a tree of one-key mappings whose key is
an operator from a fixed whitelist, e.g.::

    {all: [{in_group: [txn.destination, ADVCOMP_DEST]}, {ge: [calc.tpp, 4800]}]}

Operands are literals (numbers, booleans, null, strings, lists of literals) or
*references*: strings of the form ``txn.x``, ``item.x``, ``calc.x``,
``party.x`` or ``hit.x`` naming a field of the documented transaction model
(docs/txn-schema.md). ``{lit: "txn.x"}`` forces a literal string.

Evaluation uses three-valued (Kleene) logic: a comparison with a missing
value is UNKNOWN, not false, so a rule that cannot be decided becomes a
"needs review" with the missing fields named, instead of silently passing.

Nothing here evaluates Python: :func:`compile_expr` walks the YAML data,
checks every operator and reference against whitelists and builds small
node objects; evaluation is a plain recursive walk over those nodes.
Pure and thread-safe (compiled nodes are immutable after construction).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

MAX_DEPTH = 40
MAX_NODES = 2000


class _Unknown:
    """The third truth value (and the value of a missing field)."""

    _inst: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # guard: never let UNKNOWN be used as a bool
        raise TypeError("UNKNOWN has no boolean value; test `is UNKNOWN`")


UNKNOWN = _Unknown()

# The fields a pack may reference, per scope. Anything else is refused at
# load time, so a typo in a pack is a validation error, not a silent "false".
FIELDS: dict[str, frozenset[str]] = {
    "txn": frozenset({
        "date", "destination", "destination_entered", "destination_region", "origin_country",
        "export_kind", "end_use", "end_use_flags", "is_export", "screened",
        "letters"}),
    "item": frozenset({
        "model", "manufacturer", "item_type", "datacenter", "die_area_mm2",
        "interconnect_gbps", "memory_bandwidth_gbps", "hbm_bandwidth_density",
        "eccn_claimed", "quantity", "commercially_available_in_us_on"}),
    "calc": frozenset({
        "tpp", "tpp_precision", "pd", "eccn", "level", "advcomp", "z_eccn"}),
    "party": frozenset({
        "role", "name", "country", "hq_country", "parent_hq_country", "kind",
        "tags", "governmental", "list_sources", "listed_owner_pct",
        "listed_owner_sources"}),
    "hit": frozenset({
        "source", "entry_id", "name", "license_requirement", "license_policy",
        "federal_register_notice", "status"}),
}
_REF = re.compile(r"^(txn|item|calc|party|hit)\.([a-z_][a-z0-9_]*)$")
PARTY_ROLES = ("purchaser", "intermediate_consignee", "ultimate_consignee",
               "end_user", "forwarder")


class ExprError(ValueError):
    """A condition in a pack is not well formed. `path` is where, inside the
    YAML document (e.g. ``requirements[3].when.all[1]``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


# -- evaluation context ----------------------------------------------------

@dataclass
class Env:
    """What an expression can see while it is evaluated.

    `group_member(name, code, date)` answers country-group membership on the
    evaluation date (the pack supplies it). `missing` collects references that
    had no value; `witness` collects the party/hit that made a quantifier
    true, for the determination's trace.
    """

    txn: dict[str, Any]
    parties: list[dict[str, Any]]
    group_member: Callable[[str, str, str], bool]
    item: dict[str, Any] | None = None
    calc: dict[str, Any] | None = None
    party: dict[str, Any] | None = None
    hit: dict[str, Any] | None = None
    missing: set[str] = field(default_factory=set)
    witness: list[dict[str, Any]] = field(default_factory=list)

    def bind(self, **kw: Any) -> "Env":
        e = Env(self.txn, self.parties, self.group_member, self.item, self.calc,
                self.party, self.hit, self.missing, self.witness)
        for k, v in kw.items():
            setattr(e, k, v)
        return e


# -- nodes ----------------------------------------------------------------

class Node:
    refs: frozenset[str] = frozenset()

    def eval(self, env: Env) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Lit(Node):
    value: Any

    def eval(self, env: Env) -> Any:
        return self.value


@dataclass(frozen=True)
class Ref(Node):
    scope: str
    name: str

    @property
    def text(self) -> str:
        return f"{self.scope}.{self.name}"

    def eval(self, env: Env) -> Any:
        src = getattr(env, self.scope)
        v = None if src is None else src.get(self.name)
        if v is None:
            env.missing.add(self.text)
            return UNKNOWN
        return v


def _k_and(values: Iterable[Any]) -> Any:
    unknown = False
    for v in values:
        if v is UNKNOWN:
            unknown = True
        elif not v:
            return False
    return UNKNOWN if unknown else True


def _k_or(values: Iterable[Any]) -> Any:
    unknown = False
    for v in values:
        if v is UNKNOWN:
            unknown = True
        elif v:
            return True
    return UNKNOWN if unknown else False


@dataclass(frozen=True)
class All(Node):
    args: tuple[Node, ...]

    def eval(self, env: Env) -> Any:
        return _k_and(a.eval(env) for a in self.args)


@dataclass(frozen=True)
class AnyOf(Node):
    args: tuple[Node, ...]

    def eval(self, env: Env) -> Any:
        return _k_or(a.eval(env) for a in self.args)


@dataclass(frozen=True)
class Not(Node):
    arg: Node

    def eval(self, env: Env) -> Any:
        v = self.arg.eval(env)
        return UNKNOWN if v is UNKNOWN else not v


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Cmp(Node):
    op: str
    a: Node
    b: Node

    def eval(self, env: Env) -> Any:
        x, y = self.a.eval(env), self.b.eval(env)
        if x is UNKNOWN or y is UNKNOWN:
            return UNKNOWN
        if isinstance(x, str) and isinstance(y, str):
            if self.op in ("eq", "ne"):
                return _CMP[self.op](x.casefold(), y.casefold())
            return _CMP[self.op](x, y)  # ISO dates compare as text
        if _num(x) and _num(y) or self.op in ("eq", "ne"):
            return _CMP[self.op](x, y)
        # e.g. a number against a string: the data is wrong, not "false"
        return UNKNOWN


@dataclass(frozen=True)
class In(Node):
    a: Node
    b: Node
    negate: bool = False

    def eval(self, env: Env) -> Any:
        x, seq = self.a.eval(env), self.b.eval(env)
        if x is UNKNOWN or seq is UNKNOWN:
            return UNKNOWN
        if not isinstance(seq, (list, tuple, set, frozenset)):
            return UNKNOWN
        norm = {s.casefold() if isinstance(s, str) else s for s in seq}
        r = (x.casefold() if isinstance(x, str) else x) in norm
        return not r if self.negate else r


@dataclass(frozen=True)
class InGroup(Node):
    a: Node
    group: str
    negate: bool = False

    def eval(self, env: Env) -> Any:
        x = self.a.eval(env)
        if x is UNKNOWN:
            return UNKNOWN
        r = env.group_member(self.group, str(x).upper(), env.txn["date"])
        return not r if self.negate else r


@dataclass(frozen=True)
class Contains(Node):
    a: Node
    b: Node

    def eval(self, env: Env) -> Any:
        x, y = self.a.eval(env), self.b.eval(env)
        if x is UNKNOWN or y is UNKNOWN:
            return UNKNOWN
        return str(y).casefold() in str(x).casefold()


@dataclass(frozen=True)
class Has(Node):
    a: Node
    b: Node

    def eval(self, env: Env) -> Any:
        seq, y = self.a.eval(env), self.b.eval(env)
        if seq is UNKNOWN or y is UNKNOWN:
            return UNKNOWN
        if not isinstance(seq, (list, tuple, set, frozenset)):
            return UNKNOWN
        return str(y).casefold() in {str(s).casefold() for s in seq}


_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class WordIn(Node):
    """True when any word of a text (split on non-alphanumerics) is one of a
    list, ignoring case: ``word_in: [item.model, [A800, H800]]`` matches
    "H800 SXM5 80GB" but not "H100"."""

    a: Node
    words: frozenset[str]

    def eval(self, env: Env) -> Any:
        x = self.a.eval(env)
        if x is UNKNOWN:
            return UNKNOWN
        return any(w.casefold() in self.words for w in _WORD.findall(str(x)))


def _term_pattern(term: str) -> re.Pattern[str]:
    """A term as a regex over casefolded text: words in order separated by
    any non-alphanumerics ("advanced node" matches "advanced-node"), a final
    ``*`` for any ending ("weapon*"); a term with non-ASCII letters (军用,
    导弹) matches as a substring, since those scripts have no word breaks."""
    t = unicodedata.normalize("NFKC", term).casefold().strip()
    if not t.isascii():
        return re.compile(re.escape(t))
    tail = r"[a-z0-9]*" if t.endswith("*") else ""
    words = _WORD.findall(t.rstrip("*"))
    return re.compile(r"(?<![a-z0-9])" + r"[^a-z0-9]+".join(map(re.escape, words))
                      + tail + r"(?![a-z0-9])")


@dataclass(frozen=True)
class TermsIn(Node):
    """True when a free text contains any of a list of terms (phrases, ``*``
    endings, CJK substrings); the terms found go to the witness, so the
    answer can say which words matched. An empty or absent text has nothing
    in it: False, not unknown — scanning words is a red-flag check added to
    the recorded facts, not a fact that must be present."""

    a: Node
    terms: tuple[tuple[str, re.Pattern[str]], ...]

    def eval(self, env: Env) -> Any:
        saved = set(env.missing)
        x = self.a.eval(env)
        env.missing.clear()
        env.missing.update(saved)
        if x is UNKNOWN or x is None:
            return False
        text = unicodedata.normalize("NFKC", str(x)).casefold()
        # in the order they appear in the text, as a reader would list them
        at = {label: m.start() for label, rx in self.terms if (m := rx.search(text))}
        found = sorted(at, key=at.__getitem__)
        if found:
            env.witness.append({"terms": found})
        return bool(found)


@dataclass(frozen=True)
class IsNull(Node):
    a: Node
    negate: bool = False

    def eval(self, env: Env) -> Any:
        # A test for absence is decided, so the absent field is not "missing".
        saved = set(env.missing)
        r = self.a.eval(env) is UNKNOWN
        env.missing.clear()
        env.missing.update(saved)
        return not r if self.negate else r


@dataclass(frozen=True)
class Parties(Node):
    """any_party / all_parties: quantify over the transaction's parties in
    the given roles, binding ``party``. all_parties is false when no party
    has those roles (a rule relying on "every end user is X" must not pass
    because there is no end user)."""

    mode: str
    roles: frozenset[str]
    where: Node

    def eval(self, env: Env) -> Any:
        ps = [p for p in env.parties if p.get("role") in self.roles]
        if self.mode == "all" and not ps:
            return False
        results = []
        for p in ps:
            v = self.where.eval(env.bind(party=p))
            if v is True and self.mode == "any":
                env.witness.append({"party": p.get("name"), "role": p.get("role")})
                return True
            results.append(v)
        return _k_or(results) if self.mode == "any" else _k_and(results)


@dataclass(frozen=True)
class Hits(Node):
    """any_hit: some party in the roles has a list hit from one of the
    sources for which `where` holds; binds ``party`` and ``hit``."""

    sources: frozenset[str]
    roles: frozenset[str]
    where: Node | None

    def eval(self, env: Env) -> Any:
        results = []
        for p in env.parties:
            if p.get("role") not in self.roles:
                continue
            for h in p.get("list_hits") or []:
                if str(h.get("source", "")).upper() not in self.sources:
                    continue
                v = True if self.where is None else self.where.eval(env.bind(party=p, hit=h))
                if v is True:
                    env.witness.append({"party": p.get("name"), "role": p.get("role"),
                                        "list": h.get("source"), "entry_id": h.get("entry_id"),
                                        "list_name": h.get("name"),
                                        "license_requirement": h.get("license_requirement"),
                                        "license_policy": h.get("license_policy"),
                                        "federal_register_notice":
                                            h.get("federal_register_notice")})
                    return True
                results.append(v)
        return _k_or(results)


# -- compiler -------------------------------------------------------------

_BINARY = {"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "has",
           "in_group", "not_in_group", "word_in", "terms_in"}
OPERATORS = frozenset(_BINARY | {"all", "any", "not", "lit", "is_null", "known",
                                 "any_party", "all_parties", "any_hit"})


class _Compiler:
    def __init__(self, groups: set[str]):
        self.groups = groups
        self.nodes = 0

    def operand(self, v: Any, path: str, scopes: set[str], depth: int) -> Node:
        if isinstance(v, dict):
            return self.node(v, path, scopes, depth)
        if isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, (dict, list)):
                    raise ExprError(f"{path}[{i}]", "a list operand holds plain values only")
            return Lit(tuple(v))
        if isinstance(v, str):
            m = _REF.match(v)
            if m:
                scope, name = m.groups()
                if scope not in scopes:
                    raise ExprError(path, f"{v!r}: `{scope}.` is not available here "
                                          f"(only {', '.join(sorted(scopes))})")
                if name not in FIELDS[scope]:
                    raise ExprError(path, f"{v!r}: unknown field; {scope}. has "
                                          f"{', '.join(sorted(FIELDS[scope]))}")
                return Ref(scope, name)
            if re.match(r"^(txn|item|calc|party|hit)\.", v):
                raise ExprError(path, f"{v!r} is not a valid reference")
        if v is None or isinstance(v, (str, int, float, bool)):
            return Lit(v)
        raise ExprError(path, f"unsupported value {v!r}")

    def node(self, d: Any, path: str, scopes: set[str], depth: int) -> Node:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise ExprError(path, f"condition nested deeper than {MAX_DEPTH} levels")
        if self.nodes > MAX_NODES:
            raise ExprError(path, f"condition has more than {MAX_NODES} parts")
        if not isinstance(d, dict) or len(d) != 1:
            raise ExprError(path, "a condition is a mapping with exactly one operator, "
                                  "e.g. {ge: [calc.tpp, 4800]}")
        (op, arg), = d.items()
        p = f"{path}.{op}"
        if op not in OPERATORS:
            raise ExprError(path, f"unknown operator {op!r}; allowed: "
                                  f"{', '.join(sorted(OPERATORS))}")
        if op in ("all", "any"):
            if not isinstance(arg, list) or not arg:
                raise ExprError(p, f"`{op}` takes a non-empty list of conditions")
            kids = tuple(self.node(a, f"{p}[{i}]", scopes, depth + 1) for i, a in enumerate(arg))
            return All(kids) if op == "all" else AnyOf(kids)
        if op == "not":
            return Not(self.node(arg, p, scopes, depth + 1))
        if op == "lit":
            if isinstance(arg, (dict, list)):
                raise ExprError(p, "`lit` takes a plain value")
            return Lit(arg)
        if op in ("is_null", "known"):
            return IsNull(self.operand(arg, p, scopes, depth + 1), negate=(op == "known"))
        if op in ("any_party", "all_parties"):
            if not isinstance(arg, dict) or set(arg) - {"roles", "where"} or "where" not in arg:
                raise ExprError(p, f"`{op}` takes {{roles: [...], where: condition}}")
            roles = self._roles(arg.get("roles"), f"{p}.roles")
            where = self.node(arg["where"], f"{p}.where", scopes | {"party"}, depth + 1)
            return Parties("any" if op == "any_party" else "all", roles, where)
        if op == "any_hit":
            if not isinstance(arg, dict) or set(arg) - {"sources", "roles", "where"}:
                raise ExprError(p, "`any_hit` takes {sources: [...], roles: [...], where: ...}")
            srcs = arg.get("sources")
            if not isinstance(srcs, list) or not srcs or not all(isinstance(s, str) for s in srcs):
                raise ExprError(f"{p}.sources", "a non-empty list of list codes (EL, DPL, …)")
            roles = self._roles(arg.get("roles"), f"{p}.roles")
            where = None
            if "where" in arg:
                where = self.node(arg["where"], f"{p}.where", scopes | {"party", "hit"},
                                  depth + 1)
            return Hits(frozenset(s.upper() for s in srcs), roles, where)
        # binary operators
        if not isinstance(arg, list) or len(arg) != 2:
            raise ExprError(p, f"`{op}` takes a list of two operands")
        if op in ("in_group", "not_in_group"):
            name = arg[1]
            if not isinstance(name, str) or name not in self.groups:
                raise ExprError(f"{p}[1]", f"{name!r} is not a country group or set "
                                           f"defined in this pack")
            return InGroup(self.operand(arg[0], f"{p}[0]", scopes, depth + 1), name,
                           negate=(op == "not_in_group"))
        if op == "word_in":
            words = arg[1]
            if not isinstance(words, list) or not all(isinstance(w, (str, int)) for w in words):
                raise ExprError(f"{p}[1]", "`word_in` takes a list of words")
            return WordIn(self.operand(arg[0], f"{p}[0]", scopes, depth + 1),
                          frozenset(str(w).casefold() for w in words))
        if op == "terms_in":
            terms = arg[1]
            if not isinstance(terms, list) or not terms or not all(
                    isinstance(w, str) and w.strip().rstrip("*").strip() for w in terms):
                raise ExprError(f"{p}[1]", "`terms_in` takes a non-empty list of words or "
                                           "phrases")
            return TermsIn(self.operand(arg[0], f"{p}[0]", scopes, depth + 1),
                           tuple((w.strip(), _term_pattern(w)) for w in terms))
        a = self.operand(arg[0], f"{p}[0]", scopes, depth + 1)
        b = self.operand(arg[1], f"{p}[1]", scopes, depth + 1)
        if op in ("in", "not_in"):
            return In(a, b, negate=(op == "not_in"))
        if op == "contains":
            return Contains(a, b)
        if op == "has":
            return Has(a, b)
        return Cmp(op, a, b)

    @staticmethod
    def _roles(roles: Any, path: str) -> frozenset[str]:
        if roles is None:
            return frozenset(PARTY_ROLES) - {"forwarder"}
        if not isinstance(roles, list) or not roles:
            raise ExprError(path, "a non-empty list of roles")
        bad = [r for r in roles if r not in PARTY_ROLES]
        if bad:
            raise ExprError(path, f"unknown role(s) {bad}; roles are {', '.join(PARTY_ROLES)}")
        return frozenset(roles)


def compile_expr(data: Any, path: str, *, scopes: Iterable[str],
                 groups: Iterable[str]) -> Node:
    """Parse one condition from pack data into an AST.

    `scopes` are the reference prefixes allowed at the top (e.g. txn, item,
    calc for a per-item rule); `groups` the country-group and set names the
    pack defines. Raises ExprError naming the path. Pure.
    """
    return _Compiler(set(groups)).node(data, path, set(scopes), 0)


def evaluate(node: Node, env: Env) -> Any:
    """Evaluate a compiled condition: True, False or UNKNOWN. Pure apart from
    filling ``env.missing`` and ``env.witness``."""
    v = node.eval(env)
    if v is UNKNOWN or isinstance(v, bool):
        return v
    return UNKNOWN if v is None else bool(v)
