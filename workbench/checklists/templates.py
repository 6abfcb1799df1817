"""Checklist templates: YAML files validated by a JSON Schema.

A template is one YAML document (see ``resources/checklists/*.yaml`` and
``resources/checklists/template.schema.json``)::

    id: kyc-red-flags            # stable id, lower case
    version: "2026.1"            # a new version is a new template row
    title: Know your customer and red flags
    scope: party                 # party | shipment
    applies_when: {new_customer: true}
    valid_for_months: 12         # a completed run lapses after this (null: never)
    sources: [{id: EAR-732-SUPP3, citation: "15 CFR Part 732, Supp. No. 3"}]
    questions:
      - id: reluctant_end_use
        text: Is the buyer reluctant to say what the item will be used for?
        help: ...
        type: yes_no            # yes_no | text | date | choice
        red_flag_answers: ["yes"]
        evidence_required: false
        source: "BIS Red Flag Indicators no. 2"

Loading is hostile-input safe: the file size, node count and nesting depth
are bounded, YAML anchors/aliases and Python tags are refused, duplicate
keys are refused, and every refusal names the file, the line (from the YAML
node marks) and the reason. ``yes``/``no``/``on``/``off`` stay text (YAML 1.2
booleans only), because answers such as ``"no"`` are data here, not flags.

Pure (reads files only); thread-safe.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from workbench.errors import WorkbenchError
from workbench.rules.pack import resources_root

MAX_TEMPLATE_BYTES = 256_000
MAX_YAML_NODES = 20_000
MAX_YAML_DEPTH = 16
ANSWER_TYPES = ("yes_no", "text", "date", "choice")
YES_NO = ("yes", "no", "not_applicable")
CONDITIONS = ("always", "new_customer", "item_eccn_prefix", "destination_in",
              "destination_in_set", "party_hq_in_set", "parent_hq_in_set", "has_owners",
              "party_role_in", "any", "all")


class TemplateError(WorkbenchError):
    """A template was refused; ``file``, ``line`` (1-based or None) and
    ``reason`` say where and why."""

    def __init__(self, file: str, line: int | None, reason: str):
        self.file, self.line, self.reason = file, line, reason
        where = f"{file}, line {line}" if line else file
        super().__init__(f"checklist template refused: {where}: {reason}")


def templates_dir() -> Path:
    """Folder of the built-in templates (``resources/checklists``)."""
    return resources_root() / "checklists"


def schema_path() -> Path:
    return templates_dir() / "template.schema.json"


@functools.lru_cache(maxsize=1)
def template_schema() -> dict[str, Any]:
    """The JSON Schema every template must satisfy (read once)."""
    return json.loads(schema_path().read_text(encoding="utf-8"))


# -- safe YAML with line numbers -------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases, with bounded depth and node count,
    and YAML 1.2 booleans (only true/false)."""

    yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        ev = self.peek_event()
        line = ev.start_mark.line + 1
        if isinstance(ev, yaml.AliasEvent):
            raise TemplateError("", line, "YAML aliases (*name) are not allowed in templates")
        if getattr(ev, "anchor", None):
            raise TemplateError("", line, "YAML anchors (&name) are not allowed in templates")
        self._count += 1
        if self._count > MAX_YAML_NODES:
            raise TemplateError("", line, f"more than {MAX_YAML_NODES:,} YAML nodes")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise TemplateError("", line, f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))

Lines = dict[tuple, int]


def _plain(v: Any) -> Any:
    # Dates become ISO text so JSON Schema and JSON output see one type.
    if isinstance(v, _dt.datetime):
        return v.date().isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return v


def _build(node: yaml.Node, loader: _Loader, path: tuple, lines: Lines) -> Any:
    """Python value of `node`, recording each path's line in `lines`."""
    lines[path] = node.start_mark.line + 1
    want = {yaml.MappingNode: "map", yaml.SequenceNode: "seq"}.get(type(node))
    if want and node.tag != f"tag:yaml.org,2002:{want}":
        # Scalars with foreign tags are refused by SafeLoader's constructor;
        # collections must be checked here or a tag would be silently dropped.
        raise TemplateError("", node.start_mark.line + 1, f"YAML tag {node.tag} is not allowed")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise TemplateError("", k.start_mark.line + 1, "mapping keys must be plain text")
            key = str(_plain(loader.construct_object(k, deep=True)))
            if key in out:
                raise TemplateError("", k.start_mark.line + 1, f"key {key!r} appears twice")
            out[key] = _build(v, loader, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, loader, (*path, i), lines) for i, v in enumerate(node.value)]
    return _plain(loader.construct_object(node, deep=True))


def parse_yaml(data: bytes, file: str) -> tuple[Any, Lines]:
    """Parse one bounded, alias-free YAML document; return (value, lines).

    Raises TemplateError naming `file` and the line. Pure.
    """
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateError(file, None, f"file is {len(data):,} bytes; the limit is "
                                        f"{MAX_TEMPLATE_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TemplateError(file, None, f"not UTF-8 text (byte {e.start})") from None
    try:
        # the reader refuses control characters (NUL, BEL) as it is built
        loader = _Loader(text)
    except yaml.YAMLError as e:
        raise TemplateError(file, None, f"not valid YAML ({e})") from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise TemplateError(file, None, "the file is empty")
        lines: Lines = {}
        doc = _build(node, loader, (), lines)
    except TemplateError as e:
        raise TemplateError(file, e.line, e.reason) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        reason = " ".join(x for x in (e.context, e.problem) if x) or "not valid YAML"
        raise TemplateError(file, mark.line + 1 if mark else None,
                            f"not valid YAML ({reason})") from None
    except yaml.YAMLError as e:
        raise TemplateError(file, None, f"not valid YAML ({e})") from None
    except RecursionError:
        raise TemplateError(file, None, "YAML nested too deeply") from None
    except (ValueError, OverflowError) as e:
        # PyYAML's own constructors: 2023-02-30, or an integer of thousands of
        # digits (Python's int-from-text limit)
        raise TemplateError(file, None, f"a value cannot be read ({e})") from None
    finally:
        loader.dispose()
    return doc, lines


def _line_for(lines: Lines, path: tuple) -> int | None:
    # The deepest recorded prefix of the path: a missing key reports its parent.
    p = tuple(path)
    while p not in lines and p:
        p = p[:-1]
    return lines.get(p)


def _fmt_path(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# -- the template model -----------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A validated template. ``doc`` is the normalised document; ``sha256``
    hashes its canonical JSON (what a run records)."""

    doc: dict[str, Any]
    origin: str = "builtin"
    file: str = ""
    sha256: str = field(default="")

    @property
    def id(self) -> str:
        return self.doc["id"]

    @property
    def version(self) -> str:
        return self.doc["version"]

    @property
    def title(self) -> str:
        return self.doc["title"]

    @property
    def scope(self) -> str:
        return self.doc["scope"]

    @property
    def questions(self) -> list[dict[str, Any]]:
        return self.doc["questions"]

    def question(self, qid: str) -> dict[str, Any] | None:
        return next((q for q in self.questions if q["id"] == qid), None)

    def to_json(self) -> dict[str, Any]:
        return {**copy.deepcopy(self.doc), "sha256": self.sha256, "origin": self.origin}


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _normalise(doc: dict[str, Any]) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["version"] = str(d["version"])
    d.setdefault("description", "")
    d.setdefault("valid_for_months", None)
    d.setdefault("expiry_from_question", None)
    for q in d["questions"]:
        q.setdefault("help", "")
        q.setdefault("required", True)
        q.setdefault("evidence_required", False)
        q.setdefault("red_flag_answers", [])
        if q["type"] == "yes_no":
            q["red_flag_answers"] = [str(a).lower() for a in q["red_flag_answers"]]
    return d


def _semantic_check(doc: dict[str, Any], file: str, lines: Lines) -> None:
    seen: dict[str, int] = {}
    for i, q in enumerate(doc["questions"]):
        where = ("questions", i)
        if q["id"] in seen:
            raise TemplateError(file, _line_for(lines, (*where, "id")),
                                f"question id {q['id']!r} is used twice")
        seen[q["id"]] = i
        t = q["type"]
        opts = q.get("options")
        if t == "choice" and not opts:
            raise TemplateError(file, _line_for(lines, where),
                                f"question {q['id']}: a choice question needs options")
        if t != "choice" and opts:
            raise TemplateError(file, _line_for(lines, (*where, "options")),
                                f"question {q['id']}: only choice questions have options")
        if t == "choice" and len(set(o.casefold() for o in opts)) != len(opts):
            raise TemplateError(file, _line_for(lines, (*where, "options")),
                                f"question {q['id']}: options repeat")
        allowed = YES_NO if t == "yes_no" else (opts or []) if t == "choice" else []
        for j, a in enumerate(q.get("red_flag_answers") or []):
            if str(a).lower() not in [x.lower() for x in allowed]:
                reason = (f"question {q['id']}: red flag answer {a!r} is not one of "
                          f"{', '.join(allowed)}" if allowed else
                          f"question {q['id']}: {t} answers cannot be red flags")
                raise TemplateError(file, _line_for(lines, (*where, "red_flag_answers", j)),
                                    reason)
    eq = doc.get("expiry_from_question")
    if eq is not None:
        q = next((q for q in doc["questions"] if q["id"] == eq), None)
        if q is None or q["type"] != "date":
            raise TemplateError(file, _line_for(lines, ("expiry_from_question",)),
                                f"expiry_from_question {eq!r} must name a date question")
    _check_condition(doc["applies_when"], file, lines, ("applies_when",), 0)


def _check_condition(cond: Any, file: str, lines: Lines, path: tuple, depth: int) -> None:
    # The schema checks shapes; this checks that a condition names exactly
    # one test, recursively (any/all nest).
    if len(cond) != 1:
        raise TemplateError(file, _line_for(lines, path),
                            f"a condition has exactly one of: {', '.join(CONDITIONS)}")
    (k, v), = cond.items()
    if k in ("any", "all"):
        for i, c in enumerate(v):
            _check_condition(c, file, lines, (*path, k, i), depth + 1)
    if k.endswith("_in_set") and isinstance(v, str):
        # a misspelt set would silently never apply (D5_OR_MACA): refuse a name
        # the built-in rules pack does not define, suggesting the nearest one
        import difflib

        from workbench.rules.pack import builtin_pack

        b = builtin_pack()
        names = sorted({*b.groups, *b.sets})
        if v not in names:
            near = difflib.get_close_matches(v, names, n=1)
            raise TemplateError(file, _line_for(lines, (*path, k)),
                                f"{k}: {v!r} is not a country group or set of the rules "
                                f"pack" + (f"; did you mean {near[0]!r}?" if near else
                                           f" (known: {', '.join(names)})"))


def validate_document(doc: Any, lines: Lines, file: str, origin: str = "custom") -> Template:
    """Check a parsed document against the schema and the cross-field rules.

    Raises TemplateError with the line of the offending node. Pure.
    """
    if not isinstance(doc, dict):
        raise TemplateError(file, _line_for(lines, ()),
                            "a template is a mapping (id, version, title, questions …)")
    validator = jsonschema.Draft202012Validator(template_schema())
    errors = sorted(validator.iter_errors(doc),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        e = jsonschema.exceptions.best_match(errors) or errors[0]
        path = tuple(e.absolute_path)
        msg = e.message
        if len(msg) > 300:
            msg = msg[:300] + "…"
        at = f"{_fmt_path(path)}: " if path else ""
        raise TemplateError(file, _line_for(lines, path), f"{at}{msg}")
    _semantic_check(doc, file, lines)
    d = _normalise(doc)
    sha = hashlib.sha256(canonical(d).encode("utf-8")).hexdigest()
    return Template(d, origin, file, sha)


def load_template_bytes(data: bytes, file: str, origin: str = "custom") -> Template:
    """Parse and validate a template from bytes. Raises TemplateError. Pure."""
    doc, lines = parse_yaml(data, file)
    return validate_document(doc, lines, file, origin)


def load_template_file(path: str | Path, origin: str = "custom") -> Template:
    """Read and validate one template file. Side effects: reads the file
    (at most MAX_TEMPLATE_BYTES + 1 bytes, so a huge file is not slurped)."""
    p = Path(path)
    if not p.is_file():
        raise TemplateError(str(p), None, "no such file")
    with open(p, "rb") as fh:
        data = fh.read(MAX_TEMPLATE_BYTES + 1)
    return load_template_bytes(data, str(p), origin)


def template_from_json(body: str, origin: str = "custom") -> Template:
    """A template stored by a run (its canonical JSON). Pure."""
    d = json.loads(body)
    return Template(d, origin, "", hashlib.sha256(canonical(d).encode("utf-8")).hexdigest())


@functools.lru_cache(maxsize=1)
def builtin_templates() -> tuple[Template, ...]:
    """The templates shipped in resources/checklists (read once, cached).

    Raises TemplateError if a shipped file is broken (a test guards this).
    """
    out = [load_template_file(p, "builtin")
           for p in sorted(templates_dir().glob("*.yaml"))]
    return tuple(out)
