"""Importing parties, items and shipments from the CSV/XLSX files exporters keep.

Columns are matched by header name (case, spaces and punctuation ignored, with
synonyms); :data:`COLUMNS` is the single description of them, from which the
template (:func:`write_template`) and ``docs/import-columns.md``
(:func:`columns_markdown`) are generated so they cannot drift.

How an import runs (:func:`import_file`):

1. **Check** (no writes): every row is read, merged with the existing record
   when there is one, and validated with the core's ``normalise_*`` function;
   names of parents, owners, items and parties are resolved; ownership and
   parent cycles are looked for. Every problem becomes a :class:`RowError`
   naming the row as the user sees it (header = row 1) and the user's column.
2. **Write**, only when no row is bad or ``good_only`` was asked for: ONE
   transaction holds every record, each record's audit event (before and
   after), and one summary event ``import`` naming the file, its SHA-256, the
   kind and the counts. A cancel, a crash or a kill leaves nothing behind.

Parties and items are streamed twice from the file (once to check, once to
write), so memory stays flat for 100,000 rows; shipments are grouped by
reference (rows sharing a reference form one shipment, wherever they are in
the file), so a shipments file is held in memory while it is checked.

Updating: a record that exists already (same party legal name; same item
model + manufacturer; same shipment reference) is updated when
``update_existing`` (the default), else skipped and reported. On update, a
column present in the file sets its field (an empty cell clears it); a column
absent from the file leaves the field as it was. A record the file would not
change is counted as ``unchanged`` and not written (no audit noise).
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import audit, items as _items, parties as _parties, shipments as _ships
from .app import Workbench
from .errors import FieldError, PermissionDenied, ValidationError, WorkbenchError
from .store import utc_now
from .tables import Row, Table, TableError, normalise_header, open_table, sha256_file
from .values import blank, detect_script

KINDS = ("parties", "items", "shipments")
ProgressFn = Callable[[int, "int | None"], None]
CancelFn = Callable[[], bool]


class Cancelled(WorkbenchError):
    """The user cancelled a long job; nothing was written."""


class HeaderError(TableError):
    """The header row does not name the columns this import needs."""


@dataclass(frozen=True)
class ColumnSpec:
    """One import/export column.

    ``type`` says how exports write it and how it is documented: text, list
    (";"-separated), number, int, money, date, bool.
    """

    name: str
    required: bool
    help: str
    example: str
    synonyms: tuple[str, ...] = ()
    type: str = "text"


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` as the user sees it in their spreadsheet (header =
    row 1), ``column`` the user's header (or ours when the column is missing),
    ``value`` what the cell held, ``reason`` what to do about it."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        v = f" (value {self.value!r})" if self.value not in ("", None) else ""
        return f"row {self.row}, {self.column}: {self.reason}{v}"


@dataclass
class ImportReport:
    """What an import did. ``created``/``updated``/``unchanged`` count records
    (a shipment of three rows is one); ``rows_read`` and ``skipped`` count
    data rows. ``written`` is False when nothing was written (bad rows
    without ``good_only``). ``notices`` list rows skipped for a reason that is
    not an error (record exists and ``update_existing`` is off; another line
    of the same shipment is bad)."""

    kind: str
    path: str
    sha256: str = ""
    format: str = ""
    encoding: str | None = None
    sheet: str | None = None
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    notices: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    written: bool = False
    good_only: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    def summary(self) -> str:
        """One paragraph for the CLI or a dialog."""
        name = Path(self.path).name
        head = (f"{name}: {self.rows_read:,} rows read; {self.created:,} created, "
                f"{self.updated:,} updated, {self.unchanged:,} unchanged, "
                f"{self.skipped:,} rows skipped")
        if self.errors and not self.written:
            head += (f". {len(self.bad_rows):,} rows have errors, so NOTHING was "
                     f"imported; fix them or import only the good rows")
        elif self.errors:
            head += f". {len(self.bad_rows):,} bad rows were left out"
        if self.ignored_columns:
            head += f". Columns not used: {', '.join(self.ignored_columns)}"
        return head + "."

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "sha256": self.sha256,
                "format": self.format, "encoding": self.encoding, "sheet": self.sheet,
                "rows_read": self.rows_read, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "written": self.written,
                "good_only": self.good_only, "ignored_columns": self.ignored_columns,
                "errors": [e.__dict__ for e in self.errors],
                "notices": [e.__dict__ for e in self.notices],
                "seconds": round(self.seconds, 3)}


# --------------------------------------------------------------------------
# The columns
# --------------------------------------------------------------------------

_PRECISION_HELP = {
    "fp64": "FP64", "fp32": "FP32", "tf32": "TF32", "fp16": "FP16", "bf16": "BF16",
    "fp8": "FP8", "int8": "INT8", "int4": "INT4", "fp4": "FP4"}
_PRECISION_EXAMPLE = {"fp64": "34", "fp16": "989.5", "bf16": "989.5", "fp8": "1979",
                      "int8": "1979"}

COLUMNS: dict[str, list[ColumnSpec]] = {
    "parties": [
        ColumnSpec("legal_name", True, "Registered legal name, as on the contract.",
                   "Shenzhen Example Technology Co., Ltd.",
                   ("name", "company", "company name", "customer", "customer name",
                    "party", "party name", "legal name", "公司名称", "名称", "客户名称")),
        ColumnSpec("kind", False, "company, person, government, university or "
                   "research_lab (empty: company).", "company",
                   ("type", "party type", "entity type", "类型")),
        ColumnSpec("other_names", False, "Names in other scripts, aliases, former "
                   "and trade names, separated by ';' (any script).",
                   "深圳示例科技有限公司; Example Tech",
                   ("aliases", "alias", "aka", "other names", "local name",
                    "chinese name", "中文名称", "别名"), "list"),
        ColumnSpec("street", False, "Street address.", "1 Keji Road",
                   ("address", "street address", "address line 1", "地址")),
        ColumnSpec("city", False, "City.", "Shenzhen", ("town", "城市")),
        ColumnSpec("postcode", False, "Postal code.", "518057",
                   ("zip", "zip code", "postal code", "post code", "邮编")),
        ColumnSpec("country", False, "Country of the address: ISO code (CN, HK, MO) "
                   "or a name (China, Macau). Required when street, city or postcode "
                   "is given.", "CN", ("country code", "address country", "国家", "国家/地区")),
        ColumnSpec("hq_country", False, "Headquarters country (code or name).", "CN",
                   ("hq", "headquarters", "headquarters country", "hq country")),
        ColumnSpec("uscc", False, "China unified social credit code (18 characters, "
                   "checked).", "91440300MA5FXXXX0X",
                   ("unified social credit code", "social credit code", "credit code",
                    "统一社会信用代码")),
        ColumnSpec("website", False, "Web site.", "https://example.cn", ("web", "url")),
        ColumnSpec("email_domain", False, "E-mail domain (example.com).", "example.cn",
                   ("email", "domain", "e-mail domain")),
        ColumnSpec("phone", False, "Telephone.", "+86 755 0000 0000",
                   ("telephone", "tel", "phone number", "电话")),
        ColumnSpec("parent", False, "Ultimate parent: the legal name of a party that "
                   "exists already or is in this file.", "Example Holdings Ltd.",
                   ("ultimate parent", "parent company", "母公司")),
        ColumnSpec("owner", False, "Owners: legal names of other parties (existing or "
                   "in this file), separated by ';'.", "Example Holdings Ltd.",
                   ("owners", "owned by", "shareholder", "shareholders", "股东"), "list"),
        ColumnSpec("owner_percent", False, "Percent owned by each owner, in the same "
                   "order, separated by ';'. Owners may not add up to more than 100.",
                   "60", ("ownership", "owner %", "ownership percent", "percent owned",
                          "shareholding", "持股比例"), "list"),
        ColumnSpec("notes", False, "Free text.", "", ("note", "comments", "comment",
                                                       "remarks", "备注")),
    ],
    "items": [
        ColumnSpec("model", True, "Model name as the manufacturer writes it.",
                   "H100 SXM5 80GB", ("item", "product", "part", "part number",
                                      "model name", "型号")),
        ColumnSpec("manufacturer", False, "Manufacturer (model + manufacturer identify "
                   "an item).", "NVIDIA", ("make", "vendor", "brand", "制造商", "厂商")),
        ColumnSpec("description", False, "Description.", "Data-centre GPU",
                   ("desc", "product description", "描述")),
        ColumnSpec("hs_code", False, "HS tariff code (8473.30 or 847330).", "8473.30",
                   ("hs", "hts", "tariff code", "hs code", "海关编码")),
        ColumnSpec("eccn", False, "ECCN when known (3A090.a, 4A090, EAR99).", "3A090.a",
                   ("export control classification number", "classification")),
        ColumnSpec("die_area_mm2", False, "Die area in mm².", "814",
                   ("die area", "die size", "die area mm2"), "number"),
        ColumnSpec("memory_bandwidth_gbps", False, "Memory bandwidth in GB/s.", "3350",
                   ("memory bandwidth", "memory bandwidth gb/s", "bandwidth"), "number"),
        ColumnSpec("interconnect_gbps", False, "Chip-to-chip (e.g. NVLink) bandwidth in "
                   "GB/s.", "900", ("interconnect", "nvlink", "chip to chip bandwidth",
                                    "interconnect bandwidth"), "number"),
        ColumnSpec("datacenter", False, "Designed or marketed for data centres: yes, "
                   "no, or empty for unknown.", "yes",
                   ("data center", "data centre", "datacentre", "for data centres"),
                   "bool"),
        ColumnSpec("uom", False, "Unit of measure: EA, SET, KG or $ (empty: EA).", "EA",
                   ("unit", "unit of measure", "units")),
        *[ColumnSpec(f"{p}_tops", False, f"Dense {_PRECISION_HELP[p]} throughput in "
                     f"{'TFLOPS' if p.startswith(('fp', 'tf', 'bf')) else 'TOPS'} (not "
                     f"the sparse figure).", _PRECISION_EXAMPLE.get(p, ""),
                     (p, f"{p} tops", f"{p} tflops", f"{p}_tflops"), "number")
          for p in _items.PRECISION_BITS],
        ColumnSpec("notes", False, "Free text.", "", ("note", "comments", "remarks")),
    ],
    "shipments": [
        ColumnSpec("reference", True, "Shipment or order reference; rows with the same "
                   "reference are the lines of one shipment.", "SO-2026-0042",
                   ("ref", "order", "order number", "order no", "shipment",
                    "shipment reference", "订单号")),
        ColumnSpec("ship_date", True, "Shipping date, YYYY-MM-DD (or an Excel date).",
                   "2026-03-02", ("date", "shipping date", "ship date", "发货日期"),
                   "date"),
        ColumnSpec("destination", True, "Destination country (code or name).", "SG",
                   ("country", "destination country", "ship to country", "目的国")),
        ColumnSpec("status", False, "draft, in_review, cleared, on_hold, blocked, "
                   "shipped or cancelled (empty: draft).", "draft", ("state",)),
        ColumnSpec("end_use", False, "Stated end use.", "LLM training cluster",
                   ("end use", "purpose", "用途")),
        ColumnSpec("notes", False, "Free text.", "", ("note", "comments", "remarks")),
        ColumnSpec("item", False, "Item model of this line (an item that exists "
                   "already).", "H100 SXM5 80GB", ("model", "item model", "product",
                                                    "part number", "型号")),
        ColumnSpec("item_manufacturer", False, "Manufacturer of the item, when two items "
                   "share a model name.", "NVIDIA", ("manufacturer", "make")),
        ColumnSpec("quantity", False, "Quantity of this line (whole number, at least 1).",
                   "8", ("qty", "units", "数量"), "int"),
        ColumnSpec("unit_value", False, "Value of one unit in the line's currency "
                   "(25000.00).", "25000.00", ("unit price", "price", "value", "单价"),
                   "money"),
        ColumnSpec("currency", False, "ISO 4217 currency (empty: USD).", "USD",
                   ("ccy", "币种")),
        *[ColumnSpec(role, False, f"{_ships.ROLE_LABELS[role]}: legal name(s) of "
                     f"existing parties, separated by ';'.", ex, syn, "list")
          for role, ex, syn in (
              ("purchaser", "Example Cloud Pte. Ltd.", ("buyer", "customer", "sold to")),
              ("intermediate_consignee", "", ("intermediate", "intermediate consignee")),
              ("ultimate_consignee", "Example Cloud Pte. Ltd.",
               ("consignee", "ultimate consignee", "ship to")),
              ("end_user", "Example Cloud Pte. Ltd.", ("end user", "最终用户")),
              ("forwarder", "", ("freight forwarder", "forwarding agent")))],
    ],
}


def _lookup(kind: str) -> dict[str, str]:
    """normalised header → column name, for one kind (names win over synonyms)."""
    table: dict[str, str] = {}
    for spec in COLUMNS[kind]:
        for syn in spec.synonyms:
            table.setdefault(normalise_header(syn), spec.name)
    for spec in COLUMNS[kind]:
        table[normalise_header(spec.name)] = spec.name
    return table


_LOOKUPS = {k: _lookup(k) for k in KINDS}


def match_headers(kind: str, headers: list[str], file_name: str = "the file"
                  ) -> tuple[dict[str, str], list[str]]:
    """Map the file's headers to our columns.

    Returns ({file header: column name}, [headers not used]). Raises
    HeaderError with one message listing what was expected and what was found
    when a required column is missing or two headers mean the same column.
    Pure.
    """
    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(KINDS)}")
    lookup = _LOOKUPS[kind]
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    seen: dict[str, str] = {}
    dupes: list[str] = []
    for h in headers:
        if not h:
            continue
        col = lookup.get(normalise_header(h))
        if col is None:
            ignored.append(h)
            continue
        if col in seen:
            dupes.append(f"{seen[col]!r} and {h!r} both mean {col}")
            continue
        seen[col] = h
        mapping[h] = col
    missing = [s.name for s in COLUMNS[kind] if s.required and s.name not in seen]
    if missing or dupes:
        expected = ", ".join(s.name + (" (required)" if s.required else "")
                             for s in COLUMNS[kind])
        found = ", ".join(repr(h) for h in headers if h) or "nothing"
        what = []
        if missing:
            what.append(f"missing required column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)}")
        if dupes:
            what.append("; ".join(dupes))
        raise HeaderError(
            f"{file_name}: the header row does not fit a {kind} import: "
            f"{'; '.join(what)}. Expected columns: {expected}. Found: {found}. "
            f"See docs/import-columns.md or download the template.")
    return mapping, ignored


# --------------------------------------------------------------------------
# Cell helpers
# --------------------------------------------------------------------------

def _text(v: Any) -> str:
    """A cell as text: Excel numbers that are whole print without '.0'."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time(0) else v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v).strip()


def _split(v: Any) -> list[str]:
    """A ';'-separated list (the full-width '；' Chinese keyboards type too)."""
    s = _text(v).replace("；", ";")
    return [p.strip() for p in s.split(";") if p.strip()]


class _Cells:
    """One row's values by OUR column names, remembering the user's header."""

    __slots__ = ("row", "values", "header_of")

    def __init__(self, row: Row, mapping: dict[str, str]):
        self.row = row.number
        self.values: dict[str, Any] = {}
        self.header_of = {}
        for h, v in row.values.items():
            col = mapping.get(h)
            if col is not None:
                self.values[col] = v
        self.header_of = {c: h for h, c in mapping.items()}

    def get(self, col: str) -> Any:
        v = self.values.get(col)
        if isinstance(v, str):
            v = v.strip()
        return v

    def has(self, col: str) -> bool:
        return col in self.header_of

    def error(self, col: str, reason: str, value: Any = None) -> RowError:
        v = self.values.get(col) if value is None else value
        return RowError(self.row, self.header_of.get(col, col), _text(v), reason)


def _row_cell_errors(row: Row, mapping: dict[str, str]) -> list[RowError]:
    """Cells the table reader could not take (formulas, error cells …)."""
    return [RowError(row.number, h, _text(row.values.get(h)), reason)
            for h, reason in row.bad.items()]


def _check_cancel(cancel: CancelFn | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("import cancelled; nothing was imported")


class _Progress:
    """Throttled progress: done counts rows checked plus rows written, total
    is twice the (estimated, then exact) row count."""

    def __init__(self, fn: ProgressFn | None, estimate: int | None):
        self.fn = fn
        self.total = None if estimate is None else 2 * estimate
        self.done = 0

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.fn is not None and self.done % 500 == 0:
            total = self.total if self.total is None else max(self.total, self.done)
            self.fn(self.done, total)

    def exact(self, rows: int) -> None:
        self.total = 2 * rows
        self.done = rows
        if self.fn is not None:
            self.fn(self.done, self.total)

    def finish(self) -> None:
        if self.fn is not None:
            self.fn(self.done, max(self.done, self.total or 0))


class _Abort(Exception):
    """Internal: roll the write transaction back (errors found while writing)."""


# --------------------------------------------------------------------------
# Parties
# --------------------------------------------------------------------------

_PARTY_SIMPLE = ("legal_name", "kind", "hq_country", "website", "email_domain",
                 "phone", "notes")
_ADDRESS_COLS = ("street", "city", "postcode", "country")


def _placeholder_ids(names: list[str], table: dict[str, int]) -> list[int]:
    """Stand-in negative ids for names not resolved yet, so the pure
    ``normalise_party`` can check percentages and duplicates."""
    out = []
    for n in names:
        k = n.casefold()
        if k not in table:
            table[k] = -(len(table) + 1)
        out.append(table[k])
    return out


def _party_data(c: _Cells, before: dict[str, Any] | None,
                errors: list[RowError]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record to validate (existing one merged with the present columns)
    and what the row refers to by name: {"parent": name|None, "owners": [...],
    "uscc_index": i}. Pure."""
    data: dict[str, Any] = {}
    if before is not None:
        data = {k: v for k, v in before.items()}
        data["version"] = None  # an import is not an edit of an opened copy
    for f in _PARTY_SIMPLE:
        if c.has(f) or before is None:
            data[f] = _text(c.get(f))
    if data.get("kind") == "":
        data["kind"] = None
    refs: dict[str, Any] = {"parent": None, "owners": [], "uscc_index": None,
                            "parent_set": c.has("parent"), "owners_set": c.has("owner")}
    if c.has("other_names") or before is None:
        old_kinds = {n["name"].casefold(): n["kind"] for n in (before or {}).get("names", [])}
        data["names"] = [{"name": n, "kind": old_kinds.get(n.casefold())
                          or ("alias" if detect_script(n) in ("Latin", "") else "local")}
                         for n in _split(c.get("other_names"))]
    if any(c.has(a) for a in _ADDRESS_COLS) or before is None:
        old = (before or {}).get("addresses") or []
        first = dict(old[0]) if old else {"street": "", "city": "", "postcode": "",
                                          "country": None}
        for a in _ADDRESS_COLS:
            if c.has(a):
                first[a] = _text(c.get(a))
        rest = [dict(a) for a in old[1:]]
        if any(not blank(first.get(a)) for a in _ADDRESS_COLS):
            data["addresses"] = [first, *rest]
        else:
            data["addresses"] = rest
    if c.has("uscc") or before is None:
        regs = [dict(r) for r in (before or {}).get("registrations", [])]
        value = _text(c.get("uscc"))
        idx = next((i for i, r in enumerate(regs) if r["scheme"] == "cn_uscc"), None)
        if idx is not None:
            regs = [r for i, r in enumerate(regs) if r["scheme"] != "cn_uscc" or i == idx]
            if value:
                regs[idx] = {"scheme": "cn_uscc", "value": value}
            else:
                del regs[idx]
                idx = None
        elif value:
            regs.append({"scheme": "cn_uscc", "value": value})
            idx = len(regs) - 1
        refs["uscc_index"] = idx
        data["registrations"] = regs
    placeholders: dict[str, int] = {}
    if c.has("parent"):
        name = _text(c.get("parent"))
        refs["parent"] = name or None
        data["ultimate_parent_id"] = (_placeholder_ids([name], placeholders)[0]
                                      if name else None)
    elif before is None:
        data["ultimate_parent_id"] = None
    if c.has("owner") or c.has("owner_percent"):
        names = _split(c.get("owner"))
        pcts = _split(c.get("owner_percent"))
        if c.has("owner_percent") and not c.has("owner") and before is not None:
            errors.append(c.error("owner_percent", "give the owner column too"))
        if len(pcts) != len(names):
            if names and not pcts:
                errors.append(c.error("owner_percent",
                                      "required: the percent each owner holds"))
            elif pcts and not names:
                errors.append(c.error("owner", "required when owner_percent is given"))
            else:
                errors.append(c.error("owner_percent",
                                      f"{len(names)} owners but {len(pcts)} percentages"))
            pcts = (pcts + [""] * len(names))[:len(names)]
        refs["owners"] = names
        refs["owners_set"] = True
        ids = _placeholder_ids(names, placeholders)
        data["owners"] = [{"owner_id": i, "percent": p} for i, p in zip(ids, pcts)]
    elif before is None:
        data["owners"] = []
    refs["placeholders"] = placeholders
    return data, refs


def _party_field_column(path: str, refs: dict[str, Any]) -> str:
    if path.startswith("names["):
        return "other_names"
    if path.startswith("addresses["):
        return path.rsplit(".", 1)[-1]
    if path.startswith("registrations["):
        return "uscc"
    if path.startswith("owners[") and path.endswith("owner_id"):
        return "owner"
    if path.startswith("owners"):
        return "owner_percent"
    if path == "ultimate_parent_id":
        return "parent"
    return path


def _map_validation(c: _Cells, e: ValidationError, to_column: Callable[[str], str],
                    rewrite: Callable[[str, str], str] | None = None) -> list[RowError]:
    out: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    for fe in e.errors:
        col = to_column(fe.field)
        msg = rewrite(col, fe.message) if rewrite else fe.message
        if (col, msg) in seen:
            continue
        seen.add((col, msg))
        out.append(c.error(col, msg))
    return out


def _party_rewrite(col: str, msg: str) -> str:
    if col == "country" and msg == "required":
        return "required when street, city or postcode is given"
    if col == "owner" and "choose the owning party" in msg:
        return "the owner's name is required"
    return msg


def _existing_party(conn, name: str) -> int | None:
    if not name:
        return None
    r = conn.execute("select id from party where legal_name = ? collate nocase"
                     " order by id limit 1", (name,)).fetchone()
    return None if r is None else r[0]


def _party_after(pid: int, version: int, rec: dict[str, Any]) -> dict[str, Any]:
    """The record exactly as ``parties.get_party`` would read it back, built
    from what was written (saves five reads per record; a test checks the two
    agree)."""
    after = {"id": pid, "version": version}
    for f in _parties._ROW_FIELDS:
        after[f] = rec[f]
    after["names"] = [dict(n) for n in rec["names"]]
    after["addresses"] = [dict(a) for a in rec["addresses"]]
    after["registrations"] = [dict(r) for r in rec["registrations"]]
    after["owners"] = sorted(({"owner_id": o["owner_id"], "percent": float(o["percent"])}
                              for o in rec["owners"]),
                             key=lambda o: (-o["percent"], o["owner_id"]))
    return after


def _same_record(before: dict[str, Any], after: dict[str, Any]) -> bool:
    strip = lambda d: {k: v for k, v in d.items() if k != "version"}  # noqa: E731
    return audit.canonical_json(strip(before)) == audit.canonical_json(strip(after))


def _write_party(conn, rec: dict[str, Any], pid: int | None, now: str) -> int:
    """The same writes as ``parties.save_party`` without its extra reads.
    Caller holds the transaction and appends the audit event."""
    fields = _parties._ROW_FIELDS
    if pid is None:
        pid = conn.execute(
            f"insert into party ({', '.join(fields)}, created_at, updated_at)"
            f" values ({', '.join('?' * len(fields))}, ?, ?)",
            (*[rec[f] for f in fields], now, now)).lastrowid
    else:
        conn.execute(
            f"update party set {', '.join(f + ' = ?' for f in fields)},"
            f" version = version + 1, updated_at = ? where id = ?",
            (*[rec[f] for f in fields], now, pid))
        for child, col in (("party_name", "party_id"), ("party_address", "party_id"),
                           ("party_registration", "party_id"), ("ownership", "owned_id")):
            conn.execute(f"delete from {child} where {col} = ?", (pid,))
    if rec["names"]:
        conn.executemany(
            "insert into party_name (party_id, name, kind, script) values (?,?,?,?)",
            [(pid, n["name"], n["kind"], n["script"]) for n in rec["names"]])
    if rec["addresses"]:
        conn.executemany(
            "insert into party_address (party_id, street, city, postcode, country)"
            " values (?,?,?,?,?)",
            [(pid, a["street"], a["city"], a["postcode"], a["country"])
             for a in rec["addresses"]])
    if rec["registrations"]:
        conn.executemany(
            "insert into party_registration (party_id, scheme, value) values (?,?,?)",
            [(pid, r["scheme"], r["value"]) for r in rec["registrations"]])
    if rec["owners"]:
        conn.executemany(
            "insert into ownership (owned_id, owner_id, percent) values (?,?,?)",
            [(pid, o["owner_id"], o["percent"]) for o in rec["owners"]])
    return pid


def _find_cycles(edges: dict[Any, set[Any]]) -> set[Any]:
    """Nodes that lie on a cycle (Tarjan's strongly connected components,
    iterative so a long ownership chain cannot overflow the stack)."""
    index: dict[Any, int] = {}
    low: dict[Any, int] = {}
    on: set[Any] = set()
    stack: list[Any] = []
    out: set[Any] = set()
    counter = 0
    for root in list(edges):
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(edges.get(nxt, ()))))
                    advanced = True
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    n = stack.pop()
                    on.discard(n)
                    comp.append(n)
                    if n == node:
                        break
                if len(comp) > 1 or node in edges.get(node, ()):
                    out.update(comp)
    return out


class _PartyImport:
    """Check then write a parties file (see the module docstring)."""

    def __init__(self, wb: Workbench, report: ImportReport, mapping: dict[str, str],
                 update_existing: bool):
        self.wb = wb
        self.conn = wb.store.conn
        self.report = report
        self.mapping = mapping
        self.update_existing = update_existing
        self.bad: set[int] = set()
        self.skip: set[int] = set()
        # casefolded legal name → row, for good and bad rows of the file
        self.file_rows: dict[str, int] = {}
        self.existing: dict[int, int] = {}  # row → existing party id
        self.row_key: dict[int, str] = {}  # row → casefolded legal name
        # rows that name a parent or owners: row → (key, [(column, name)])
        self.refs: dict[int, tuple[str, list[tuple[str, str]], bool, bool]] = {}

    # -- check ------------------------------------------------------------
    def check_row(self, row: Row) -> None:
        rep = self.report
        errs = _row_cell_errors(row, self.mapping)
        c = _Cells(row, self.mapping)
        name = _text(c.get("legal_name"))
        key = name.casefold()
        pid = _existing_party(self.conn, name)
        if key and key in self.file_rows:
            errs.append(c.error("legal_name", f"the same legal name as row "
                                f"{self.file_rows[key]}; put each party on one row"))
        elif key:
            self.file_rows[key] = row.number
            self.row_key[row.number] = key
        if pid is not None and not self.update_existing:
            self.skip.add(row.number)
            rep.notices.append(c.error("legal_name", "exists already; not updated "
                                       "(updating existing records was turned off)"))
            if not errs:
                return
        before = _parties.get_party(self.wb.store, pid) if pid is not None else None
        data, refs = _party_data(c, before, errs)
        if pid is not None:
            data["id"] = pid
            self.existing[row.number] = pid
        try:
            _parties.normalise_party(data)
        except ValidationError as e:
            errs.extend(_map_validation(
                c, e, lambda p: _party_field_column(p, refs), _party_rewrite))
        named = []
        if refs["parent"]:
            if refs["parent"].casefold() == key:
                errs.append(c.error("parent", "a party cannot be its own parent"))
            named.append(("parent", refs["parent"]))
        for o in refs["owners"]:
            if o.casefold() == key:
                errs.append(c.error("owner", "a party cannot own itself", o))
            named.append(("owner", o))
        if named or (pid is not None and (refs["parent_set"] or refs["owners_set"])):
            self.refs[row.number] = (key, named, refs["parent_set"], refs["owners_set"])
        if errs:
            self.bad.add(row.number)
            rep.errors.extend(errs)

    def check_links(self) -> None:
        """Resolve parent/owner names and look for cycles, over the file and
        the database together. Rows that point at a bad row are bad too when
        only good rows are imported (else they would dangle)."""
        if not self.refs:
            return
        rep = self.report
        good_keys = {k for k, r in self.file_rows.items() if r not in self.bad}
        db_cache: dict[str, int | None] = {}

        def db_id(name: str) -> int | None:
            k = name.casefold()
            if k not in db_cache:
                db_cache[k] = _parties.find_party(self.wb.store, name)
            return db_cache[k]

        # Resolve names; repeat because a row made bad can strand others.
        changed = True
        while changed:
            changed = False
            for rn, (key, named, _, _) in self.refs.items():
                if rn in self.bad or rn in self.skip:
                    continue
                for col, name in named:
                    k = name.casefold()
                    if k in good_keys or db_id(name) is not None:
                        continue
                    if k in self.file_rows:
                        reason = (f"{name!r} is on row {self.file_rows[k]}, which is not "
                                  f"imported")
                    else:
                        reason = (f"no party named {name!r} exists or is in this file")
                    rep.errors.append(RowError(rn, self._header(col), name, reason))
                    self.bad.add(rn)
                    good_keys.discard(key)
                    changed = True
                    break

        # Cycles: a graph over the file's parties (by name) and the database's
        # (by id); the file's edges replace the database's for its parties.
        id_key = {pid: self.row_key.get(rn) for rn, pid in self.existing.items()}
        node = lambda pid: id_key.get(pid) or ("id", pid)  # noqa: E731
        for kind, sql in (("owner", "select owned_id, owner_id from ownership"),
                          ("parent", "select id, ultimate_parent_id from party"
                                     " where ultimate_parent_id is not null")):
            edges: dict[Any, set[Any]] = {}
            replaced = {key for rn, (key, _, pset, oset) in self.refs.items()
                        if (oset if kind == "owner" else pset)
                        and rn not in self.bad and rn not in self.skip}
            for a, b in self.conn.execute(sql):
                na = node(a)
                if na in replaced:
                    continue
                edges.setdefault(na, set()).add(node(b))
            for rn, (key, named, _, _) in self.refs.items():
                if rn in self.bad or rn in self.skip:
                    continue
                for col, name in named:
                    if col != kind:
                        continue
                    k = name.casefold()
                    target = k if k in self.file_rows else node(db_id(name))
                    edges.setdefault(key, set()).add(target)
            on_cycle = _find_cycles(edges)
            if not on_cycle:
                continue
            what = "ownership" if kind == "owner" else "parent"
            for rn, (key, named, _, _) in self.refs.items():
                if key in on_cycle and rn not in self.bad and any(
                        col == kind for col, _ in named):
                    name = next(n for col, n in named if col == kind)
                    rep.errors.append(RowError(
                        rn, self._header(kind), name,
                        f"this {what} makes a cycle (a party would own or be the "
                        f"parent of itself through others); a cycle is refused"))
                    self.bad.add(rn)

    def _header(self, col: str) -> str:
        for h, c in self.mapping.items():
            if c == col:
                return h
        return col

    # -- write ------------------------------------------------------------
    def write(self, table: Table, w, progress: _Progress, cancel: CancelFn | None) -> None:
        """Second pass over the file inside the transaction."""
        store = self.wb.store
        conn = w.conn
        rep = self.report
        now = utc_now()
        created: dict[str, int] = {}  # casefolded legal name → id, this import
        deferred: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = []

        def resolve(refs: dict[str, Any]) -> dict[int, int] | None:
            """placeholder id → real id, or None while one is not created yet."""
            out = {}
            for name, ph in refs["placeholders"].items():
                real = created.get(name)
                if real is None:
                    real = _parties.find_party(store, name)
                if real is None:
                    return None
                out[ph] = real
            return out

        def finish(data: dict[str, Any], refs: dict[str, Any],
                   before: dict[str, Any] | None, ids: dict[int, int]) -> None:
            d = dict(data)
            if refs["placeholders"]:
                if d.get("ultimate_parent_id") is not None and d["ultimate_parent_id"] < 0:
                    d["ultimate_parent_id"] = ids[d["ultimate_parent_id"]]
                d["owners"] = [{**o, "owner_id": ids.get(o["owner_id"], o["owner_id"])}
                               for o in d.get("owners") or []]
            rec = _parties.normalise_party(d)
            pid = before["id"] if before is not None else None
            if before is not None:
                candidate = _party_after(pid, before["version"], rec)
                if _same_record(before, candidate):
                    rep.unchanged += 1
                    return
            pid = _write_party(conn, rec, pid, now)
            after = _party_after(pid, 1 if before is None else before["version"] + 1, rec)
            w.audit("party", pid, "create" if before is None else "update", before, after)
            if before is None:
                rep.created += 1
                created[rec["legal_name"].casefold()] = pid
            else:
                rep.updated += 1

        for row in table.rows():
            if row.number % 256 == 0:
                _check_cancel(cancel)
            if row.is_blank():
                continue
            progress.step()
            if row.number in self.bad or row.number in self.skip:
                continue
            c = _Cells(row, self.mapping)
            name = _text(c.get("legal_name"))
            pid = _existing_party(conn, name)
            if (pid is not None) != (row.number in self.existing):
                raise _Abort(f"row {row.number}: {name!r} was created or removed by "
                             f"someone else while the file was checked; import again")
            before = _parties.get_party(store, pid) if pid is not None else None
            errs: list[RowError] = []
            data, refs = _party_data(c, before, errs)
            if pid is not None:
                data["id"] = pid
            ids = resolve(refs) if refs["placeholders"] else {}
            if ids is None:
                deferred.append((row.number, data, refs, before))
                continue
            finish(data, refs, before, ids)
        # Rows naming a party further down the file: written once it exists.
        while deferred:
            left = []
            for item in deferred:
                rn, data, refs, before = item
                ids = resolve(refs)
                if ids is None:
                    left.append(item)
                else:
                    finish(data, refs, before, ids)
            if len(left) == len(deferred):
                raise _Abort(f"row {left[0][0]}: a parent or owner could not be found "
                             f"while writing")
            deferred = left
        self._verify_no_cycles(conn)

    def _verify_no_cycles(self, conn) -> None:
        """Belt and braces: the database itself has no ownership cycle through
        a party this import linked (the check above works on names)."""
        if not self.refs:
            return
        row = conn.execute("""
            with recursive down(start, id, depth) as (
              select owner_id, owned_id, 1 from ownership
              union all select d.start, o.owned_id, d.depth + 1 from ownership o
                join down d on o.owner_id = d.id where d.depth < 64)
            select start from down where start = id limit 1""").fetchone()
        if row is not None:
            raise _Abort("the import would create an ownership cycle; nothing was "
                         "imported")


# --------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------

_ITEM_SIMPLE = ("model", "manufacturer", "description", "hs_code", "eccn",
                "die_area_mm2", "memory_bandwidth_gbps", "interconnect_gbps",
                "datacenter", "uom", "notes")
_ITEM_TEXT = {"model", "manufacturer", "description", "hs_code", "eccn", "uom", "notes"}


def _existing_item(conn, model: str, manufacturer: str) -> int | None:
    if not model:
        return None
    r = conn.execute("select id from item where model = ? collate nocase and"
                     " manufacturer = ? collate nocase", (model, manufacturer)).fetchone()
    return None if r is None else r[0]


def _item_data(c: _Cells, before: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = dict(before) if before is not None else {}
    data["version"] = None
    for f in _ITEM_SIMPLE:
        if c.has(f) or before is None:
            v = c.get(f)
            data[f] = _text(v) if f in _ITEM_TEXT else (None if blank(v) else v)
    perf = dict((before or {}).get("performance") or {})
    for p in _items.PRECISION_BITS:
        col = f"{p}_tops"
        if c.has(col):
            v = c.get(col)
            if blank(v):
                perf.pop(p, None)
            else:
                perf[p] = v
    data["performance"] = perf
    return data


def _item_column(path: str) -> str:
    if path.startswith("performance."):
        return path.split(".", 1)[1] + "_tops"
    return path


class _ItemImport:
    def __init__(self, wb: Workbench, report: ImportReport, mapping: dict[str, str],
                 update_existing: bool):
        self.wb = wb
        self.conn = wb.store.conn
        self.report = report
        self.mapping = mapping
        self.update_existing = update_existing
        self.bad: set[int] = set()
        self.skip: set[int] = set()
        self.seen: dict[tuple[str, str], int] = {}
        self.existing: dict[int, int] = {}

    def check_row(self, row: Row) -> None:
        errs = _row_cell_errors(row, self.mapping)
        c = _Cells(row, self.mapping)
        model, maker = _text(c.get("model")), _text(c.get("manufacturer"))
        key = (model.casefold(), maker.casefold())
        if model and key in self.seen:
            errs.append(c.error("model", f"the same model and manufacturer as row "
                                f"{self.seen[key]}"))
        elif model:
            self.seen[key] = row.number
        iid = _existing_item(self.conn, model, maker)
        if iid is not None and not self.update_existing:
            self.skip.add(row.number)
            self.report.notices.append(c.error(
                "model", "exists already; not updated (updating existing records "
                "was turned off)"))
            if not errs:
                return
        before = _items.get_item(self.wb.store, iid) if iid is not None else None
        if iid is not None:
            self.existing[row.number] = iid
        try:
            _items.normalise_item(_item_data(c, before))
        except ValidationError as e:
            errs.extend(_map_validation(c, e, _item_column))
        if errs:
            self.bad.add(row.number)
            self.report.errors.extend(errs)

    def check_links(self) -> None:
        pass

    def write(self, table: Table, w, progress: _Progress, cancel: CancelFn | None) -> None:
        rep = self.report
        for row in table.rows():
            if row.number % 256 == 0:
                _check_cancel(cancel)
            if row.is_blank():
                continue
            progress.step()
            if row.number in self.bad or row.number in self.skip:
                continue
            c = _Cells(row, self.mapping)
            iid = _existing_item(w.conn, _text(c.get("model")), _text(c.get("manufacturer")))
            if (iid is not None) != (row.number in self.existing):
                raise _Abort(f"row {row.number}: the item was created by someone else "
                             f"while the file was checked; import again")
            before = _items.get_item(self.wb.store, iid) if iid is not None else None
            data = _item_data(c, before)
            if before is not None:
                rec = _items.normalise_item(data)
                cand = {**rec, "id": iid, "version": before["version"]}
                if _same_record(before, cand):
                    rep.unchanged += 1
                    continue
            # save_item joins this transaction (writing() nests) and appends
            # the item's own audit event; items are few, so its extra reads
            # cost nothing worth a bulk path.
            _items.save_item(self.wb, data)
            if before is None:
                rep.created += 1
            else:
                rep.updated += 1


# --------------------------------------------------------------------------
# Shipments
# --------------------------------------------------------------------------

_SHIP_HEADER = ("ship_date", "destination", "status", "end_use", "notes")
_LINE_COLS = ("item", "item_manufacturer", "quantity", "unit_value", "currency")


@dataclass
class _Group:
    reference: str
    first_row: int
    rows: list[int] = field(default_factory=list)
    header: dict[str, tuple[Any, int]] = field(default_factory=dict)
    lines: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    parties: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    cells: dict[int, _Cells] = field(default_factory=dict)


def _comparable(col: str, v: Any) -> Any:
    from .values import parse_country, parse_date

    try:
        if col == "ship_date":
            return parse_date(v)
        if col == "destination":
            return parse_country(v)
    except ValueError:
        pass
    return _text(v).casefold()


class _ShipmentImport:
    def __init__(self, wb: Workbench, report: ImportReport, mapping: dict[str, str],
                 update_existing: bool):
        self.wb = wb
        self.conn = wb.store.conn
        self.report = report
        self.mapping = mapping
        self.update_existing = update_existing
        self.bad: set[int] = set()
        self.skip: set[int] = set()
        self.groups: dict[str, _Group] = {}
        self.row_errors: list[RowError] = []
        self._items: dict[tuple[str, str], tuple[int | None, str | None]] = {}
        self._parties: dict[str, int | None] = {}
        self.ready: list[tuple[_Group, dict[str, Any], dict[str, Any] | None]] = []

    def check_row(self, row: Row) -> None:
        errs = _row_cell_errors(row, self.mapping)
        c = _Cells(row, self.mapping)
        ref = _text(c.get("reference"))
        if not ref:
            errs.append(c.error("reference", "required"))
            self.bad.add(row.number)
            self.report.errors.extend(errs)
            return
        g = self.groups.get(ref.casefold())
        if g is None:
            g = self.groups[ref.casefold()] = _Group(ref, row.number)
        g.rows.append(row.number)
        g.cells[row.number] = c
        for col in _SHIP_HEADER:
            if not c.has(col) or blank(c.get(col)):
                continue
            v = c.get(col)
            if col in g.header:
                first, at = g.header[col]
                if _comparable(col, first) != _comparable(col, v):
                    errs.append(c.error(col, f"differs from row {at} ({_text(first)}) "
                                        f"of the same shipment {ref}"))
            else:
                g.header[col] = (v, row.number)
        for role in _ships.ROLES:
            if c.has(role):
                lst = g.parties.setdefault(role, [])
                for name in _split(c.get(role)):
                    if name.casefold() not in {n.casefold() for n, _ in lst}:
                        lst.append((name, row.number))
                    if self._party(name) is None:
                        errs.append(c.error(role, f"no party named {name!r}; import or "
                                            f"create the party first", name))
        if any(not blank(c.get(col)) for col in ("item", "quantity", "unit_value")):
            line: dict[str, Any] = {"quantity": c.get("quantity"),
                                    "unit_value": c.get("unit_value"),
                                    "currency": _text(c.get("currency")) or "USD"}
            model = _text(c.get("item"))
            if not model:
                errs.append(c.error("item", "required: the item model of this line"))
            else:
                iid, problem = self._item(model, _text(c.get("item_manufacturer")))
                if problem:
                    errs.append(c.error("item", problem, model))
                line["item_id"] = iid if iid is not None else 0
            g.lines.append((row.number, line))
        if errs:
            self.bad.add(row.number)
            self.report.errors.extend(errs)

    def _item(self, model: str, maker: str) -> tuple[int | None, str | None]:
        key = (model.casefold(), maker.casefold())
        if key not in self._items:
            sql = "select id from item where model = ? collate nocase"
            params: list[Any] = [model]
            if maker:
                sql += " and manufacturer = ? collate nocase"
                params.append(maker)
            found = [r[0] for r in self.conn.execute(sql, params).fetchall()]
            if not found:
                self._items[key] = (None, f"no item with model {model!r}"
                                    + (f" by {maker}" if maker else "")
                                    + "; import or create the item first")
            elif len(found) > 1:
                self._items[key] = (None, f"several items have the model {model!r}; "
                                    f"add an item_manufacturer column to say which")
            else:
                self._items[key] = (found[0], None)
        return self._items[key]

    def _party(self, name: str) -> int | None:
        k = name.casefold()
        if k not in self._parties:
            self._parties[k] = _parties.find_party(self.wb.store, name)
        return self._parties[k]

    def _data(self, g: _Group, before: dict[str, Any] | None) -> dict[str, Any]:
        data: dict[str, Any] = dict(before) if before is not None else {}
        data["version"] = None
        data["reference"] = g.reference if before is None else before["reference"]
        for col in _SHIP_HEADER:
            if col in g.header:
                data[col] = g.header[col][0]
            elif before is None or any(c.has(col) for c in g.cells.values()):
                data[col] = None
        any_line_cols = any(c.has(col) for c in g.cells.values() for col in _LINE_COLS)
        if before is None or any_line_cols:
            data["lines"] = [dict(ln) for _, ln in g.lines]
        else:
            data["lines"] = [{k: ln[k] for k in ("item_id", "quantity",
                                                   "unit_value_minor", "currency")}
                             for ln in before["lines"]]
        parties = []
        roles_in_file = {r for r in _ships.ROLES
                         if any(c.has(r) for c in g.cells.values())}
        for p in (before or {}).get("parties", []):
            if p["role"] not in roles_in_file:
                parties.append(dict(p))
        for role in _ships.ROLES:
            for name, _ in g.parties.get(role, []):
                pid = self._party(name)
                if pid is not None:
                    parties.append({"role": role, "party_id": pid})
        data["parties"] = parties
        return data

    def check_links(self) -> None:
        """Validate each shipment as a whole once all its rows are read."""
        rep = self.report
        for g in self.groups.values():
            sid = _ships.find_shipment(self.wb.store, g.reference)
            first = g.cells[g.first_row]
            if sid is not None and not self.update_existing:
                for rn in g.rows:
                    self.skip.add(rn)
                rep.notices.append(first.error("reference", "exists already; not "
                                               "updated (updating existing records "
                                               "was turned off)", g.reference))
                continue
            before = _ships.get_shipment(self.wb.store, sid) if sid is not None else None
            data = self._data(g, before)
            if sid is not None:
                data["id"] = sid
            try:
                _ships.normalise_shipment(data)
            except ValidationError as e:
                for fe in e.errors:
                    rep.errors.append(self._map(g, fe))
                    self.bad.add(self._map(g, fe).row)
            if any(rn in self.bad for rn in g.rows):
                bad = min(rn for rn in g.rows if rn in self.bad)
                for rn in g.rows:
                    if rn not in self.bad:
                        self.skip.add(rn)
                        rep.notices.append(RowError(
                            rn, first.header_of.get("reference", "reference"),
                            g.reference, f"not imported: row {bad} of the same "
                                         f"shipment is bad"))
                continue
            self.ready.append((g, data, before))
        # The file is held by the groups now; nothing else is needed from it.

    def _map(self, g: _Group, fe: FieldError) -> RowError:
        path = fe.field
        if path.startswith("lines["):
            i = int(path[6:path.index("]")])
            rn = g.lines[i][0] if i < len(g.lines) else g.first_row
            col = path.rsplit(".", 1)[-1]
            col = {"item_id": "item"}.get(col, col)
            return g.cells[rn].error(col, fe.message)
        if path.startswith("parties["):
            return g.cells[g.first_row].error("reference", fe.message, g.reference)
        col = path
        rn = g.header.get(col, (None, g.first_row))[1]
        return g.cells[rn].error(col, fe.message)

    def write(self, table: Table | None, w, progress: _Progress,
              cancel: CancelFn | None) -> None:
        rep = self.report
        for n, (g, data, before) in enumerate(self.ready):
            if n % 64 == 0:
                _check_cancel(cancel)
            progress.step(len(g.rows))
            sid = _ships.find_shipment(self.wb.store, g.reference)
            if (sid is None) != (before is None):
                raise _Abort(f"shipment {g.reference} was created by someone else while "
                             f"the file was checked; import again")
            if before is not None:
                rec = _ships.normalise_shipment(data)
                cand = {**rec, "id": sid, "version": before["version"]}
                cand["lines"] = [{**ln, "unit_value": _ships.format_money(
                    ln["unit_value_minor"], ln["currency"]).replace(",", "")}
                    for ln in rec["lines"]]
                cand["parties"] = sorted(rec["parties"],
                                         key=lambda p: (p["role"], p["party_id"]))
                if _same_record(before, cand):
                    rep.unchanged += 1
                    continue
            _ships.save_shipment(self.wb, data)
            if before is None:
                rep.created += 1
            else:
                rep.updated += 1


# --------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------

_IMPORTERS = {"parties": _PartyImport, "items": _ItemImport,
              "shipments": _ShipmentImport}


def import_file(wb: Workbench, kind: str, path: str | os.PathLike[str], *,
                good_only: bool = False, update_existing: bool = True,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                sheet: str | None = None, max_bytes: int | None = None,
                max_rows: int | None = None) -> ImportReport:
    """Import parties, items or shipments from a CSV or XLSX file.

    Every bad row is reported in ``report.errors``. When any row is bad and
    ``good_only`` is False, NOTHING is written (``report.written`` False).
    Otherwise the good rows are written in ONE transaction together with one
    audit event per record and a summary ``import`` event (file name,
    SHA-256, kind, counts); a cancel (``cancel()`` returning True →
    :class:`Cancelled`), an error or a crash rolls all of it back.

    Raises TableError/HeaderError for a file that cannot be read as a table of
    this kind (message names the file), PermissionDenied for a read-only user,
    Cancelled. ``progress(done, total)`` is called from this thread every few
    hundred rows (total may be None while unknown).

    Threading: runs on the calling thread and holds the write lock only
    during the write pass; run it on a background worker in the UI.
    """
    if kind not in _IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(KINDS)}")
    if not wb.user.can_write:
        raise PermissionDenied(f"{wb.user.username} is an auditor (read-only) and "
                               f"cannot import")
    t0 = time.perf_counter()
    p = Path(path)
    kw: dict[str, Any] = {"sheet": sheet}
    if max_bytes is not None:
        kw["max_bytes"] = max_bytes
    if max_rows is not None:
        kw["max_rows"] = max_rows
    report = ImportReport(kind=kind, path=str(p), good_only=good_only)

    # Pass 1: check every row, write nothing.
    with open_table(p, **kw) as table:
        report.format, report.encoding, report.sheet = (table.format, table.encoding,
                                                        table.sheet)
        mapping, ignored = match_headers(kind, table.headers, p.name)
        report.ignored_columns = ignored
        report.sha256 = sha256_file(p)
        imp = _IMPORTERS[kind](wb, report, mapping, update_existing)
        prog = _Progress(progress, table.estimated_rows)
        for row in table.rows():
            if row.number % 256 == 0:
                _check_cancel(cancel)
            if row.is_blank():
                continue
            report.rows_read += 1
            prog.step()
            imp.check_row(row)
    if report.rows_read == 0:
        raise TableError(f"{p.name}: has a header row but no data rows")
    imp.check_links()
    prog.exact(report.rows_read)
    report.errors.sort(key=lambda e: e.row)
    report.notices.sort(key=lambda e: e.row)

    if report.errors and not good_only:
        report.skipped = report.rows_read
        report.seconds = time.perf_counter() - t0
        return report

    # Pass 2: write the good rows, all in one transaction.
    try:
        with wb.writing() as w:
            if kind == "shipments":
                imp.write(None, w, prog, cancel)
            else:
                with open_table(p, **kw) as table:
                    imp.write(table, w, prog, cancel)
            _check_cancel(cancel)
            if sha256_file(p) != report.sha256:
                raise _Abort(f"{p.name} changed while it was being imported; "
                             f"nothing was imported")
            skipped_rows = len(imp.bad | imp.skip)
            report.skipped = skipped_rows
            w.audit("import", kind, "import", None, {
                "file": p.name, "path": str(p.resolve()), "sha256": report.sha256,
                "kind": kind, "format": report.format, "encoding": report.encoding,
                "sheet": report.sheet, "rows_read": report.rows_read,
                "created": report.created, "updated": report.updated,
                "unchanged": report.unchanged, "skipped_rows": skipped_rows,
                "bad_rows": len(report.bad_rows), "good_only": good_only,
                "update_existing": update_existing})
    except _Abort as e:
        raise WorkbenchError(str(e)) from None
    except Cancelled:
        report.created = report.updated = report.unchanged = 0
        raise
    report.written = True
    prog.finish()
    report.seconds = time.perf_counter() - t0
    return report


# --------------------------------------------------------------------------
# Template and documentation
# --------------------------------------------------------------------------

def write_template(kind: str, path: str | os.PathLike[str]) -> Path:
    """Write an import template: the headers and one example row; for .xlsx a
    second sheet "Help" explains each column. CSV or XLSX by extension.

    Side effects: writes ``path`` (atomically: a temp file, then a rename).
    """
    from . import exports

    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(KINDS)}")
    specs = COLUMNS[kind]
    headers = [s.name for s in specs]
    example = [s.example for s in specs]
    help_rows = [["column", "required", "what to write", "example", "also accepted as"],
                 *[[s.name, "yes" if s.required else "", s.help, s.example,
                    ", ".join(s.synonyms)] for s in specs]]
    sheets = [(kind, headers, [example])]
    if Path(path).suffix.lower() == ".xlsx":
        sheets.append(("Help", help_rows[0], help_rows[1:]))
    return exports.write_sheets(path, sheets)


def columns_markdown() -> str:
    """The text of ``docs/import-columns.md``, generated from :data:`COLUMNS`."""
    out = ["# Import columns", "",
           "<!-- Generated by workbench.imports.columns_markdown(); do not edit by hand."
           " Regenerate with: python -m workbench.imports --write-docs -->", "",
           "Parties, items and shipments can be imported from CSV (UTF-8, UTF-16, "
           "GB18030; comma, semicolon or tab) or Excel .xlsx (first sheet). The first "
           "row holds the headers; they are matched by name, ignoring case, spaces "
           "and punctuation, and the synonyms listed below are accepted too. Columns "
           "not listed are ignored (and named in the report). Row numbers in error "
           "messages are the spreadsheet's (header = row 1).", "",
           "- Every bad row is reported (row, column, reason). Nothing is imported "
           "when any row is bad, unless you choose to import only the good rows.",
           "- Formulas in .xlsx files are never evaluated: a formula cell is an "
           "error; type the value instead. In CSV, text starting with `=` is kept "
           "as text.",
           "- A record that exists already (party: same legal name; item: same "
           "model and manufacturer; shipment: same reference) is updated: columns in "
           "the file set their field (an empty cell clears it), columns not in the "
           "file keep the stored value.",
           "- Lists (other names, owners, parties of a role) are separated by `;`.",
           "- An export (`workbench export`) writes the same columns, so an export "
           "can be imported again.", ""]
    titles = {"parties": "Parties", "items": "Items",
              "shipments": "Shipments (one row per shipment line; rows with the same "
                           "reference form one shipment)"}
    for kind in KINDS:
        out += [f"## {titles[kind]}", "",
                "| column | required | what to write | example | also accepted as |",
                "|---|---|---|---|---|"]
        for s in COLUMNS[kind]:
            cells = [f"`{s.name}`", "yes" if s.required else "", s.help,
                     s.example, ", ".join(s.synonyms)]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def write_columns_doc(path: str | os.PathLike[str] | None = None) -> Path:
    """Regenerate ``docs/import-columns.md`` (side effect: writes the file)."""
    p = Path(path) if path else Path(__file__).resolve().parent.parent / "docs" / "import-columns.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(columns_markdown(), encoding="utf-8")
    return p


def iter_column_names(kind: str) -> Iterable[str]:
    return (s.name for s in COLUMNS[kind])


if __name__ == "__main__":  # pragma: no cover
    import sys

    if "--write-docs" in sys.argv:
        print(write_columns_doc())
