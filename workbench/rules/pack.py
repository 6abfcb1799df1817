"""Rules packs: immutable, hashed folders of YAML, validated and compiled.

A pack is a folder holding ``manifest.yaml`` (id, version, as_of, supersedes,
SHA-256 of every other file and of the whole pack) plus YAML documents whose
top-level keys are sections (sources, groups, aliases, sets, classification,
requirements, review_policies, exceptions, overlays, licences, golden_cases).
Sections from several files are merged; ids must be unique across them.

Loading refuses, naming the file, the path inside it and the reason:
- a file that is too big, not UTF-8, not YAML, uses anchors/aliases or nests
  too deep (hostile YAML: we parse with a SafeLoader subclass that rejects
  aliases outright and counts depth and nodes);
- a file not listed in the manifest, a listed file that is missing, or any
  SHA-256 that does not match;
- a document that fails the JSON Schema, a condition that does not compile,
  a reference to an unknown source, rule, group or set.

Pure (reads files only); thread-safe: a loaded :class:`Pack` is immutable.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from workbench.errors import WorkbenchError
from workbench.rules import schemas
from workbench.rules.expr import ExprError, Node, compile_expr

MAX_FILE_BYTES = 1_000_000
MAX_PACK_BYTES = 8_000_000
MAX_FILES = 100
MAX_YAML_DEPTH = 60
MAX_YAML_NODES = 300_000
BUILTIN_PACK_ID = "us-ear-advanced-computing"


class PackError(WorkbenchError):
    """A pack was refused. `file` and `where` point at the problem."""

    def __init__(self, file: str, where: str, reason: str):
        self.file, self.where, self.reason = file, where, reason
        loc = f"{file}" + (f" at {where}" if where else "")
        super().__init__(f"rules pack refused: {loc}: {reason}")


def resources_root() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, or at
    the root of a PyInstaller bundle (``sys._MEIPASS``)."""
    base = getattr(sys, "_MEIPASS", None)
    if base:
        return Path(base) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def builtin_pack_dir() -> Path:
    """Folder of the built-in US EAR advanced-computing pack."""
    return resources_root() / "rules" / BUILTIN_PACK_ID


# -- safe YAML ---------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (billion-laughs) and bounds depth and
    node count. Packs never need anchors, so refusing them costs nothing."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._count = 0

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # type: ignore[override]
        # PyYAML keeps the last of two equal keys; in a rules pack that would
        # silently drop a rule's condition or a date, so a repeat is an error
        seen: set[Any] = set()
        for k, _v in node.value:
            key = self.construct_object(k, deep=True)
            try:
                if key in seen:
                    raise yaml.YAMLError(f"line {k.start_mark.line + 1}: key {key!r} "
                                         f"appears twice")
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor refuses it below
                break
        return super().construct_mapping(node, deep)

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise yaml.YAMLError(f"line {ev.start_mark.line + 1}: YAML aliases "
                                 f"(*name) are not allowed in rules packs")
        ev = self.peek_event()
        if getattr(ev, "anchor", None):
            raise yaml.YAMLError(f"line {ev.start_mark.line + 1}: YAML anchors "
                                 f"(&name) are not allowed in rules packs")
        self._count += 1
        if self._count > MAX_YAML_NODES:
            raise yaml.YAMLError(f"more than {MAX_YAML_NODES} YAML nodes")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(f"line {ev.start_mark.line + 1}: nested deeper "
                                     f"than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _isoify(v: Any) -> Any:
    # YAML turns 2024-01-01 into a date; the pack model uses ISO strings so
    # comparisons and JSON output are uniform.
    if isinstance(v, _dt.datetime):
        return v.date().isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(_isoify(k)): _isoify(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_isoify(x) for x in v]
    return v


def safe_yaml(data: bytes, file: str) -> Any:
    """Parse bounded, alias-free YAML; raise PackError naming the file."""
    if len(data) > MAX_FILE_BYTES:
        raise PackError(file, "", f"file is {len(data):,} bytes; the limit is "
                                  f"{MAX_FILE_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PackError(file, f"byte {e.start}", "not UTF-8 text") from None
    try:
        # the reader refuses control characters (NUL, BEL) as it is built
        loader = _Loader(text)
    except yaml.YAMLError as e:
        raise PackError(file, "", f"not valid YAML ({e})") from None
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as e:
        raise PackError(file, "", f"not valid YAML ({e})") from None
    except RecursionError:
        raise PackError(file, "", "YAML nested too deeply") from None
    except (ValueError, OverflowError) as e:
        # PyYAML's own constructors: 2023-02-30, or an integer of thousands of
        # digits (Python's int-from-text limit)
        raise PackError(file, "", f"a value cannot be read ({e})") from None
    finally:
        loader.dispose()
    return _isoify(doc)


def _json_path(err: jsonschema.ValidationError) -> str:
    out = ""
    for p in err.absolute_path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top)"


def _schema_check(doc: Any, schema: dict, file: str) -> None:
    v = jsonschema.Draft202012Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        e = errors[0]
        # the deepest, most specific message helps the pack author most
        best = jsonschema.exceptions.best_match([e]) or e
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise PackError(file, _json_path(best), best.message + more)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_digest(file_hashes: dict[str, str]) -> str:
    """Whole-pack SHA-256 over the sorted (path, sha256) list; the manifest
    itself is not part of it (it carries the result)."""
    h = hashlib.sha256()
    for path in sorted(file_hashes):
        h.update(f"{path}\n{file_hashes[path]}\n".encode())
    return h.hexdigest()


# -- the compiled pack ---------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A requirement, exception, overlay or review policy, as loaded, with its
    compiled conditions (`conds`: name → AST)."""

    kind: str
    id: str
    data: dict[str, Any]
    conds: dict[str, Node] = field(default_factory=dict)

    def valid_on(self, date: str) -> bool:
        f, t = self.data.get("valid_from"), self.data.get("valid_to")
        return (f is None or f <= date) and (t is None or date <= t)

    @property
    def verified(self) -> bool:
        return bool(self.data.get("verified", True))


@dataclass
class Pack:
    """A validated, compiled pack. Treat as immutable once loaded."""

    manifest: dict[str, Any]
    files: dict[str, bytes]
    docs: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    aliases: list[dict[str, Any]]
    sets: dict[str, dict[str, Any]]
    classification: dict[str, Any]
    eccn_versions: list[Rule]
    requirements: list[Rule]
    review_policies: list[Rule]
    exceptions: list[Rule]
    overlays: list[Rule]
    licences: dict[str, Any]
    golden_cases: list[dict[str, Any]]
    _member_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.manifest["pack_id"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def sha256(self) -> str:
        return self.manifest["pack_sha256"]

    @property
    def ref(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}

    def all_rules(self) -> list[Rule]:
        return [*self.eccn_versions, *self.requirements, *self.review_policies,
                *self.exceptions, *self.overlays]

    def rule(self, rule_id: str) -> Rule | None:
        for r in self.all_rules():
            if r.id == rule_id:
                return r
        return None

    # -- country groups on a date ------------------------------------------
    def resolve_country(self, code: str | None, date: str) -> str | None:
        """Apply dated aliases (HK → CN from 2020-12-23); a region code
        (UA-43) resolves to its country. Pure."""
        if not code:
            return code
        code = code.upper().split("-")[0]
        for a in self.aliases:
            if a["code"] == code and (a.get("from") is None or a["from"] <= date) \
                    and (a.get("to") is None or date <= a["to"]):
                return a["maps_to"]
        return code

    def members(self, name: str, date: str) -> frozenset[str]:
        """Members of a group or derived set on `date` (cached)."""
        return _members(self, name, date)

    def group_member(self, name: str, code: str, date: str) -> bool:
        return code.upper() in self.members(name, date)


def _member_intervals(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [m if isinstance(m, dict) else {"code": m} for m in group["members"]]


def _members(pack: Pack, name: str, date: str) -> frozenset[str]:
    # Cached on the pack: membership on a date never changes for a given
    # (immutable) pack; concurrent fills compute the same value, so the
    # unlocked dict is safe under the GIL.
    key = (name, date)
    hit = pack._member_cache.get(key)
    if hit is not None:
        return hit
    if name in pack.groups:
        out = frozenset(m["code"] for m in _member_intervals(pack.groups[name])
                        if (m.get("from") is None or m["from"] <= date)
                        and (m.get("to") is None or date <= m["to"]))
    else:
        s = pack.sets[name]
        acc: set[str] = set()
        if not ((s.get("valid_from") and date < s["valid_from"]) or
                (s.get("valid_to") and date > s["valid_to"])):
            for n in s.get("union", []):
                acc |= _members(pack, n, date)
            for n in s.get("minus", []):
                acc -= _members(pack, n, date)
            acc |= set(s.get("plus", []))
        out = frozenset(acc)
    pack._member_cache[key] = out
    return out


# -- loading -----------------------------------------------------------------

_LIST_SECTIONS = ("sources", "aliases", "sets", "requirements", "review_policies",
                  "exceptions", "overlays", "golden_cases")


def read_pack_dir(folder: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every regular file of a pack folder as bytes, by relative path.

    Refuses symlinks, too many or too large files. Side effects: reads files.
    """
    root = Path(folder)
    if not root.is_dir():
        raise PackError(str(root), "", "not a folder")
    files: dict[str, bytes] = {}
    total = 0
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            raise PackError(rel, "", "symbolic links are not allowed in a pack")
        if p.is_dir() or rel.startswith(".") or "/." in rel or rel.endswith("~") \
                or "__pycache__" in rel:
            continue
        if len(files) >= MAX_FILES:
            raise PackError(str(root), "", f"more than {MAX_FILES} files")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PackError(rel, "", f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        total += size
        if total > MAX_PACK_BYTES:
            raise PackError(str(root), "", f"pack larger than {MAX_PACK_BYTES:,} bytes")
        files[rel] = p.read_bytes()
    return files


def load_pack(folder: str | os.PathLike[str]) -> Pack:
    """Read, verify and compile the pack in `folder`. Raises PackError."""
    return load_pack_files(read_pack_dir(folder), origin=str(folder))


def load_pack_files(files: dict[str, bytes], origin: str = "") -> Pack:
    """Verify and compile a pack given as {relative path: bytes}.

    Used for folders and for packs stored in the database (replay). Pure.
    """
    if "manifest.yaml" not in files:
        raise PackError(origin or "pack", "", "no manifest.yaml")
    manifest = safe_yaml(files["manifest.yaml"], "manifest.yaml")
    _schema_check(manifest, schemas.MANIFEST, "manifest.yaml")
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for path in files:
        if path != "manifest.yaml" and path not in listed:
            raise PackError(path, "", "file is not listed in manifest.yaml (a pack is "
                                      "immutable; re-seal it to add files)")
    for path, want in listed.items():
        if path not in files:
            raise PackError("manifest.yaml", f"files[{path}]", "listed file is missing")
        got = sha256_hex(files[path])
        if got != want:
            raise PackError(path, "", f"SHA-256 mismatch: manifest says {want[:16]}…, "
                                      f"file is {got[:16]}… (the file was changed)")
    digest = pack_digest(listed)
    if digest != manifest["pack_sha256"]:
        raise PackError("manifest.yaml", "pack_sha256",
                        f"whole-pack SHA-256 mismatch: manifest says "
                        f"{manifest['pack_sha256'][:16]}…, files give {digest[:16]}…")

    docs: dict[str, dict[str, Any]] = {}
    merged: dict[str, Any] = {k: [] for k in _LIST_SECTIONS}
    merged.update({"groups": {}, "classification": None, "licences": None})
    origin_of: dict[tuple[str, int], tuple[str, int]] = {}
    for path in sorted(listed):
        if not path.endswith(".yaml"):
            continue
        doc = safe_yaml(files[path], path)
        if doc is None:
            doc = {}
        _schema_check(doc, schemas.DOCUMENT, path)
        docs[path] = doc
        for sec in _LIST_SECTIONS:
            for i, entry in enumerate(doc.get(sec, [])):
                origin_of[(sec, len(merged[sec]))] = (path, i)
                merged[sec].append(entry)
        for name, g in doc.get("groups", {}).items():
            if name in merged["groups"]:
                raise PackError(path, f"groups.{name}", "group defined twice")
            merged["groups"][name] = g
        for sec in ("classification", "licences"):
            if sec in doc:
                if merged[sec] is not None:
                    raise PackError(path, sec, f"`{sec}` defined in more than one file")
                merged[sec] = doc[sec]
                origin_of[(sec, 0)] = (path, 0)
    return _compile(manifest, files, docs, merged, origin_of)


def _compile(manifest: dict, files: dict[str, bytes], docs: dict, m: dict,
             origin_of: dict) -> Pack:
    def where(sec: str, idx: int) -> tuple[str, str]:
        path, i = origin_of.get((sec, idx), ("?", idx))
        return path, f"{sec}[{i}]"

    sources = {}
    for idx, s in enumerate(m["sources"]):
        if s["id"] in sources:
            raise PackError(*where("sources", idx), f"source id {s['id']!r} used twice")
        sources[s["id"]] = s

    def check_sources(ids: list[str], file: str, path: str) -> None:
        for sid in ids or []:
            if sid not in sources:
                raise PackError(file, path + ".sources", f"unknown source {sid!r}")

    groups = m["groups"]
    for name, g in groups.items():
        check_sources(g.get("sources", []), "?", f"groups.{name}")
    sets: dict[str, dict] = {}
    for idx, s in enumerate(m["sets"]):
        f, p = where("sets", idx)
        if s["id"] in sets or s["id"] in groups:
            raise PackError(f, p, f"set id {s['id']!r} used twice")
        check_sources(s["sources"], f, p)
        for n in s.get("union", []) + s.get("minus", []):
            if n not in groups and n not in sets:
                raise PackError(f, p, f"{n!r} is not a group or an earlier set")
        sets[s["id"]] = s
    group_names = set(groups) | set(sets)

    if m["classification"] is None:
        raise PackError("pack", "classification", "no `classification` section in any file")
    cls_file = origin_of[("classification", 0)][0]
    cls = m["classification"]
    eccn_versions = []
    for i, v in enumerate(cls["eccn_versions"]):
        p = f"classification.eccn_versions[{i}]"
        check_sources(v["sources"], cls_file, p)
        conds = {}
        try:
            for j, par in enumerate(v["paragraphs"]):
                conds[f"paragraph:{par['id']}"] = compile_expr(
                    par["when"], f"{p}.paragraphs[{j}].when", scopes=("item", "calc", "txn"),
                    groups=group_names)
            for j, ex in enumerate(v.get("exclusions", [])):
                conds[f"exclusion:{ex['id']}"] = compile_expr(
                    ex["when"], f"{p}.exclusions[{j}].when", scopes=("item", "calc", "txn"),
                    groups=group_names)
        except ExprError as e:
            raise PackError(cls_file, e.path, e.message) from None
        eccn_versions.append(Rule("eccn_version", v["id"], v, conds))

    def build(sec: str, kind: str, cond_fields: dict[str, tuple[str, ...]]) -> list[Rule]:
        out = []
        for idx, d in enumerate(m[sec]):
            f, p = where(sec, idx)
            check_sources(d.get("sources", []), f, p)
            conds: dict[str, Node] = {}
            try:
                for key, scopes in cond_fields.items():
                    if key == "cases":
                        for j, c in enumerate(d.get("cases", [])):
                            conds[f"case:{j}"] = compile_expr(
                                c["when"], f"{p}.cases[{j}].when", scopes=scopes,
                                groups=group_names)
                    elif key in d:
                        conds[key] = compile_expr(d[key], f"{p}.{key}", scopes=scopes,
                                                  groups=group_names)
            except ExprError as e:
                raise PackError(f, e.path, e.message) from None
            out.append(Rule(kind, d["id"], d, conds))
        return out

    per_item = ("txn", "item", "calc")
    requirements = build("requirements", "requirement", {"when": per_item})
    policies = build("review_policies", "review_policy", {"cases": per_item})
    exceptions = build("exceptions", "exception", {"eligible_items": per_item,
                                                   "eligible_when": per_item,
                                                   "blocked_if": per_item})
    overlays = build("overlays", "overlay", {"when": per_item})

    seen: dict[str, str] = {}
    for r in [*eccn_versions, *requirements, *policies, *exceptions, *overlays]:
        if r.id in seen:
            raise PackError("pack", r.id, f"id {r.id!r} is used by a {seen[r.id]} and a "
                                          f"{r.kind}; ids must be unique")
        seen[r.id] = r.kind
        f, t = r.data.get("valid_from"), r.data.get("valid_to")
        if f and t and t < f:
            raise PackError("pack", r.id, f"valid_to {t} is before valid_from {f}")
    req_ids = {r.id for r in requirements} | {o.id for o in overlays}
    for r in [*exceptions, *policies]:
        for target in r.data.get("covers", []) + r.data.get("applies_to", []):
            if target not in req_ids:
                raise PackError("pack", r.id, f"refers to unknown requirement {target!r}")
    # An exception may not claim to cover a requirement whose regulation does
    # not allow it (NAC covering a Part 746 embargo would be a permissive bug
    # in the data, not a judgement call).
    reqs_by_id = {r.id: r for r in requirements}
    for e in exceptions:
        for target in e.data.get("covers", []):
            allowed = (reqs_by_id[target].data.get("permits_exceptions")
                       if target in reqs_by_id else None)
            if allowed is not None and e.data["code"] not in allowed:
                raise PackError("pack", e.id, f"covers {target}, which allows only "
                                              f"{', '.join(allowed) or 'no licence exception'}")
    for o in overlays:
        for target in o.data.get("targets", []):
            if target not in seen:
                raise PackError("pack", o.id, f"targets unknown rule {target!r}")
        if o.data["effect"] == "add_requirement" and ("when" not in o.data or
                                                     "requirement_effect" not in o.data):
            raise PackError("pack", o.id, "an add_requirement overlay needs `when` and "
                                          "`requirement_effect`")
    pack = Pack(
        manifest=manifest, files=dict(files), docs=docs, sources=sources, groups=groups,
        aliases=m["aliases"], sets=sets, classification=cls, eccn_versions=eccn_versions,
        requirements=requirements, review_policies=policies, exceptions=exceptions,
        overlays=overlays, licences=m["licences"] or {}, golden_cases=m["golden_cases"])
    for s in sets.values():
        for date, n in (s.get("expect_size") or {}).items():
            got = len(pack.members(s["id"], date))
            if got != n:
                raise PackError("pack", f"sets.{s['id']}.expect_size",
                                f"on {date} the set has {got} members, the pack "
                                f"expects {n}")
    return pack


def seal_pack(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Author tool: rewrite ``manifest.yaml`` with the hashes of the files
    now in `folder` (keeping its other fields). Side effect: writes the
    manifest. Never run on a published pack — publish a new version instead."""
    root = Path(folder)
    files = read_pack_dir(root)
    manifest = safe_yaml(files["manifest.yaml"], "manifest.yaml")
    hashes = {p: sha256_hex(b) for p, b in sorted(files.items()) if p != "manifest.yaml"}
    manifest["files"] = [{"path": p, "sha256": h} for p, h in hashes.items()]
    manifest["pack_sha256"] = pack_digest(hashes)
    (root / "manifest.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8")
    return manifest


_BUILTIN_CACHE: dict[str, Pack] = {}


def builtin_pack() -> Pack:
    """The built-in pack, loaded once per process (verified on first use)."""
    folder = builtin_pack_dir()
    key = str(folder)
    if key not in _BUILTIN_CACHE:
        _BUILTIN_CACHE[key] = load_pack(folder)
    return _BUILTIN_CACHE[key]
