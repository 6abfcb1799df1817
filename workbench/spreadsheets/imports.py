"""Importing parties, items and shipments from the CSV/XLSX files exporters keep.

Columns are matched by header name (case, spaces and punctuation ignored, with
synonyms); :data:`COLUMNS` is the single description of them, from which the
template (:func:`workbench.spreadsheets.exports.write_template`) and ``docs/import-columns.md``
(:func:`columns_markdown`) are generated so they cannot drift.

How an import runs (:func:`import_file`): ONE transaction (BEGIN IMMEDIATE,
and a savepoint inside it) holds everything. Every row is read once, merged
with the existing record when there is one, and validated with the core's
``normalise_*`` function; names of parents, owners, items and parties are
resolved, and ownership/parent cycles refused as ``parties.save_party`` would.
Each problem becomes a :class:`RowError` naming the row as the user sees it
(header = row 1) and the user's column. A good row is written at once with its
audit event (before and after); after the first bad row, unless
``good_only``, rows are only checked. At the end, when any row was bad and
``good_only`` is off, the savepoint is rolled back: nothing was written.
Otherwise one summary event ``import`` (file name, SHA-256, kind, counts) is
appended and the transaction commits. A cancel, a crash or a kill leaves
nothing behind (SQLite rolls back the open transaction).

Parties and items stream (memory stays flat for 100,000 rows: only names seen
so far, for duplicate and reference checks, are kept); parties are written
with a bulk path that does the same writes and audit events as
``save_party`` without its extra reads. Shipments are grouped by reference
(rows sharing a reference form one shipment, wherever they are in the file),
so a shipments file is held in memory while it is checked.

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

from workbench.db import audit
from workbench.records import items as _items, parties as _parties, shipments as _ships
from workbench.app import Workbench
from workbench.errors import FieldError, PermissionDenied, ValidationError, WorkbenchError
from workbench.db.store import utc_now
from workbench.spreadsheets.reading import (
    Row,
    TableError,
    normalise_header,
    open_table,
    sha256_file,
)
from workbench.records.values import blank

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
                   "checked).", "91440300MA5F000007",
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
                # A refused cell (a formula …) is reported once, by the
                # reader; validation sees it as empty, not as its text.
                self.values[col] = None if h in row.bad else v
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
    """Throttled progress in data rows: total is the reader's estimate (None
    when unknown) until the end, when done == total."""

    def __init__(self, fn: ProgressFn | None, estimate: int | None):
        self.fn = fn
        self.total = estimate
        self.done = 0

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.fn is not None and self.done % 500 == 0:
            total = None if self.total is None else max(self.total, self.done)
            self.fn(self.done, total)

    def finish(self) -> None:
        if self.fn is not None:
            self.fn(self.done, self.done)


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
        # Keep the kind (former, trade …) of names the party had already;
        # normalise_party picks local/alias by script for new ones.
        old_kinds = {n["name"].casefold(): n["kind"] for n in (before or {}).get("names", [])}
        data["names"] = [{"name": n, "kind": old_kinds.get(n.casefold())}
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
        refs["parent_ph"] = data["ultimate_parent_id"]
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
    refs["shown"] = {n.casefold(): n for n in [*refs["owners"], refs["parent"] or ""] if n}
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
    for f in _parties.ROW_FIELDS:
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


_write_party = _parties.write_party


class _PartyImport:
    """Check and write a parties file in one pass inside the transaction.

    Each good row is written as soon as it is checked (so the file is read
    once and no record is held); after the first bad row, unless
    ``good_only``, rows are only checked, since the savepoint will be rolled
    back anyway. A row naming a parent or owner further down the file waits
    in ``deferred`` until that party exists.
    """

    def __init__(self, wb: Workbench, w, report: ImportReport, mapping: dict[str, str],
                 update_existing: bool, good_only: bool):
        self.wb = wb
        self.w = w
        self.conn = w.conn
        self.report = report
        self.mapping = mapping
        self.header_of = {c: h for h, c in mapping.items()}
        self.update_existing = update_existing
        self.good_only = good_only
        self.bad: set[int] = set()
        self.skip: set[int] = set()
        self.file_rows: dict[str, int] = {}  # casefolded legal name → first row
        self.bad_keys: dict[str, int] = {}  # names of bad rows → row
        self.created: dict[str, int] = {}  # names created by this import → id
        self.deferred: list[tuple[int, str, dict[str, Any], dict[str, Any],
                                  dict[str, Any] | None]] = []
        self.unchecked_refs: list[tuple[int, str, str]] = []  # (row, column, name)
        self.now = utc_now()

    @property
    def writing(self) -> bool:
        return self.good_only or not self.report.errors

    def _fail(self, rn: int, key: str, errs: list[RowError]) -> None:
        self.bad.add(rn)
        if key:
            self.bad_keys.setdefault(key, rn)
        self.report.errors.extend(errs)

    def check_row(self, row: Row) -> None:
        rep = self.report
        errs = _row_cell_errors(row, self.mapping)
        c = _Cells(row, self.mapping)
        name = _text(c.get("legal_name"))
        key = name.casefold()
        if key and key in self.file_rows:
            errs.append(c.error("legal_name", f"the same legal name as row "
                                f"{self.file_rows[key]}; put each party on one row"))
            key = ""  # the first row owns the name
        elif key:
            self.file_rows[key] = row.number
        pid = _existing_party(self.conn, name) if key else None
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
        rec = None
        try:
            rec = _parties.normalise_party(data)
        except ValidationError as e:
            errs.extend(_map_validation(
                c, e, lambda p: _party_field_column(p, refs), _party_rewrite))
        if refs["parent"] and refs["parent"].casefold() == name.casefold():
            errs.append(c.error("parent", "a party cannot be its own parent"))
        for o in refs["owners"]:
            if o.casefold() == name.casefold():
                errs.append(c.error("owner", "a party cannot own itself", o))
        if errs:
            self._fail(row.number, key, errs)
            return
        if not self.writing:
            # Nothing will be written; still say when a name points nowhere.
            for col, names in (("parent", [refs["parent"]] if refs["parent"] else []),
                               ("owner", refs["owners"])):
                for n in names:
                    self.unchecked_refs.append((row.number, col, n))
            return
        ids = self._resolve(refs, rn=row.number)
        if ids is None:
            self.deferred.append((row.number, key, rec, refs, before))
            return
        if isinstance(ids, RowError):
            self._fail(row.number, key, [ids])
            return
        self._write(row.number, key, rec, refs, before, ids)

    def _resolve(self, refs: dict[str, Any], final: bool = False,
                 rn: int = 0) -> dict[int, int] | RowError | None:
        """placeholder → id; None while a name may still come later in the
        file; a RowError when it never will."""
        out: dict[int, int] = {}
        for k, ph in refs["placeholders"].items():
            shown = refs["shown"].get(k, k)
            real = self.created.get(k)
            if real is None:
                real = _parties.find_party(self.wb.store, shown)
            if real is None:
                col = "parent" if ph == refs.get("parent_ph") else "owner"
                if k in self.bad_keys:
                    return RowError(rn, self.header_of.get(col, col), shown,
                                    f"{shown!r} is on row {self.bad_keys[k]}, which is "
                                    f"not imported")
                if final:
                    return RowError(rn, self.header_of.get(col, col), shown,
                                    f"no party named {shown!r} exists or is in this file")
                return None
            out[ph] = real
        return out

    def _write(self, rn: int, key: str, rec: dict[str, Any], refs: dict[str, Any],
               before: dict[str, Any] | None, ids: dict[int, int]) -> None:
        rep = self.report
        pid = before["id"] if before is not None else None
        rec = dict(rec)
        if rec.get("ultimate_parent_id") is not None and rec["ultimate_parent_id"] < 0:
            rec["ultimate_parent_id"] = ids[rec["ultimate_parent_id"]]
        rec["owners"] = [{**o, "owner_id": ids.get(o["owner_id"], o["owner_id"])}
                         for o in rec["owners"]]
        problem = self._link_problem(pid, rec)
        if problem is not None:
            col, value, reason = problem
            self._fail(rn, key, [RowError(rn, self.header_of.get(col, col), value, reason)])
            return
        if before is not None:
            if _same_record(before, _party_after(pid, before["version"], rec)):
                rep.unchanged += 1
                return
        pid = _write_party(self.conn, rec, pid, self.now)
        after = _party_after(pid, 1 if before is None else before["version"] + 1, rec)
        self.w.audit("party", pid, "create" if before is None else "update", before, after)
        if before is None:
            rep.created += 1
            if key:
                self.created[key] = pid
        else:
            rep.updated += 1

    def _link_problem(self, pid: int | None, rec: dict[str, Any]
                      ) -> tuple[str, str, str] | None:
        """What ``parties._check_links`` refuses, on ids: the same owner twice
        (two names of one party), owning oneself, and cycles through the
        database as it stands (rows written so far included)."""
        ids = [o["owner_id"] for o in rec["owners"]]
        if len(set(ids)) != len(ids):
            return ("owner", "", "two of these names are the same party")
        if pid is None:
            return None  # nothing can be below a party that does not exist yet
        if pid in ids:
            return ("owner", "", "a party cannot own itself")
        if ids:
            below = {r[0] for r in self.conn.execute("""
                with recursive down(id) as (
                  select owned_id from ownership where owner_id = ?
                  union select o.owned_id from ownership o join down d on o.owner_id = d.id)
                select id from down""", (pid,))}
            for o in ids:
                if o in below:
                    name = self.conn.execute("select legal_name from party where id = ?",
                                             (o,)).fetchone()[0]
                    return ("owner", name, f"{name} is owned (directly or through "
                            f"others) by this party; an ownership cycle is refused")
        parent = rec["ultimate_parent_id"]
        if parent is not None:
            chain = [r[0] for r in self.conn.execute("""
                with recursive up(id, depth) as (
                  select ultimate_parent_id, 1 from party where id = ?
                  union all select p.ultimate_parent_id, depth + 1 from party p
                    join up on p.id = up.id where up.depth < 100)
                select id from up where id is not null""", (parent,))]
            if parent == pid or pid in chain:
                return ("parent", "", "that parent is already below this party; a "
                        "cycle is refused")
        return None

    def end(self) -> None:
        """Write the rows that waited for a party further down the file, and
        report names that point nowhere."""
        rep = self.report
        if not self.writing:
            for rn, _, _, refs, _ in self.deferred:
                for k, n in refs["shown"].items():
                    col = ("parent" if refs["parent"] and k == refs["parent"].casefold()
                           else "owner")
                    self.unchecked_refs.append((rn, col, n))
            self.deferred = []
        for rn, col, name in self.unchecked_refs:
            k = name.casefold()
            if k not in self.file_rows and _parties.find_party(self.wb.store, name) is None:
                rep.errors.append(RowError(rn, self.header_of.get(col, col), name,
                                           f"no party named {name!r} exists or is in "
                                           f"this file"))
                self.bad.add(rn)
        pending = self.deferred
        while pending:
            waiting = {key for _, key, _, _, _ in pending}
            left = []
            for item in pending:
                rn, key, rec, refs, before = item
                ids = self._resolve(refs, rn=rn)
                if ids is None and not (set(refs["placeholders"]) & waiting):
                    ids = self._resolve(refs, final=True, rn=rn)
                if ids is None:
                    left.append(item)
                elif isinstance(ids, RowError):
                    self._fail(rn, key, [ids])
                else:
                    self._write(rn, key, rec, refs, before, ids)
            if len(left) == len(pending):
                for rn, key, _, _, _ in left:
                    self._fail(rn, key, [RowError(
                        rn, self.header_of.get("owner", "owner"), "",
                        "its owners or parent wait on each other (a cycle); a "
                        "cycle is refused")])
                break
            pending = left
        self.deferred = []

    def skipped_rows(self) -> int:
        return len(self.bad | self.skip)


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
    """Items, one pass: each good row is written (through ``save_item``,
    which joins the transaction) as soon as it is checked."""

    def __init__(self, wb: Workbench, w, report: ImportReport, mapping: dict[str, str],
                 update_existing: bool, good_only: bool):
        self.wb = wb
        self.w = w
        self.conn = w.conn
        self.report = report
        self.mapping = mapping
        self.update_existing = update_existing
        self.good_only = good_only
        self.bad: set[int] = set()
        self.skip: set[int] = set()
        self.seen: dict[tuple[str, str], int] = {}

    @property
    def writing(self) -> bool:
        return self.good_only or not self.report.errors

    def check_row(self, row: Row) -> None:
        rep = self.report
        errs = _row_cell_errors(row, self.mapping)
        c = _Cells(row, self.mapping)
        model, maker = _text(c.get("model")), _text(c.get("manufacturer"))
        key = (model.casefold(), maker.casefold())
        if model and key in self.seen:
            errs.append(c.error("model", f"the same model and manufacturer as row "
                                f"{self.seen[key]}"))
        elif model:
            self.seen[key] = row.number
        iid = _existing_item(self.conn, model, maker) if model else None
        if iid is not None and not self.update_existing:
            self.skip.add(row.number)
            rep.notices.append(c.error(
                "model", "exists already; not updated (updating existing records "
                "was turned off)"))
            if not errs:
                return
        before = _items.get_item(self.wb.store, iid) if iid is not None else None
        data = _item_data(c, before)
        if iid is not None:
            data["id"] = iid
        rec = None
        try:
            rec = _items.normalise_item(data)
        except ValidationError as e:
            errs.extend(_map_validation(c, e, _item_column))
        if errs:
            self.bad.add(row.number)
            rep.errors.extend(errs)
            return
        if not self.writing:
            return
        if before is not None and rec is not None:
            if _same_record(before, {**rec, "id": iid, "version": before["version"]}):
                rep.unchanged += 1
                return
        # save_item joins this transaction (writing() nests) and appends the
        # item's audit event; items are few, so its extra reads cost nothing
        # worth a bulk path.
        _items.save_item(self.wb, data)
        if before is None:
            rep.created += 1
        else:
            rep.updated += 1

    def end(self) -> None:
        pass

    def skipped_rows(self) -> int:
        return len(self.bad | self.skip)


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
    from workbench.records.values import parse_country, parse_date

    try:
        if col == "ship_date":
            return parse_date(v)
        if col == "destination":
            return parse_country(v)
    except ValueError:
        pass
    return _text(v).casefold()


class _ShipmentImport:
    """Shipments: rows are grouped by reference while the file is read (the
    lines of one shipment may be anywhere in the file), then each shipment is
    checked as a whole and written through ``save_shipment``."""

    def __init__(self, wb: Workbench, w, report: ImportReport, mapping: dict[str, str],
                 update_existing: bool, good_only: bool):
        self.wb = wb
        self.w = w
        self.good_only = good_only
        self.conn = w.conn
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
                        if not self.good_only:
                            continue
                        rep.notices.append(RowError(
                            rn, first.header_of.get("reference", "reference"),
                            g.reference, f"not imported: row {bad} of the same "
                                         f"shipment is bad"))
                continue
            self.ready.append((g, data, before))
        # The file is held by the groups now; nothing else is needed from it.

    def skipped_rows(self) -> int:
        return len(self.bad | self.skip)

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

    def end(self) -> None:
        self.check_links()
        if self.report.errors and not self.good_only:
            return
        rep = self.report
        for g, data, before in self.ready:
            sid = before["id"] if before is not None else None
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
    SHA-256, kind, counts). A cancel (``cancel()`` returning True →
    :class:`Cancelled`), an error or a crash leaves nothing behind. Called
    inside an outer ``wb.writing()`` it joins that transaction (its own work
    sits in a savepoint, so a refused import leaves the caller's work alone).

    Raises TableError/HeaderError for a file that cannot be read as a table of
    this kind (the message names the file), PermissionDenied for a read-only
    user, Cancelled. ``progress(done, total)`` is called on this thread every
    few hundred rows (total is an estimate, None when unknown).

    Threading: runs on the calling thread and holds the database write lock
    for the whole import (readers are not blocked: WAL); run it on a
    background worker in the UI.
    """
    wb.store.refuse_own_file(path, "file to import")
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

    with open_table(p, **kw) as table:
        report.format, report.encoding, report.sheet = (table.format, table.encoding,
                                                        table.sheet)
        mapping, ignored = match_headers(kind, table.headers, p.name)
        report.ignored_columns = ignored
        report.sha256 = sha256_file(p)
        prog = _Progress(progress, table.estimated_rows)
        with wb.writing() as w:
            conn = w.conn
            # A savepoint, so "nothing when a row is bad" also holds when the
            # caller's transaction is the outer one.
            conn.execute("savepoint wb_import")
            try:
                imp = _IMPORTERS[kind](wb, w, report, mapping, update_existing, good_only)
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
                imp.end()
                _check_cancel(cancel)
                report.errors.sort(key=lambda e: e.row)
                report.notices.sort(key=lambda e: e.row)
                if report.errors and not good_only:
                    conn.execute("rollback to wb_import")
                    report.created = report.updated = report.unchanged = 0
                    report.skipped = report.rows_read
                else:
                    if sha256_file(p) != report.sha256:
                        raise WorkbenchError(f"{p.name} changed while it was being "
                                             f"imported; nothing was imported")
                    report.skipped = imp.skipped_rows()
                    w.audit("import", kind, "import", None, {
                        "file": p.name, "path": str(p.resolve()), "sha256": report.sha256,
                        "kind": kind, "format": report.format,
                        "encoding": report.encoding, "sheet": report.sheet,
                        "rows_read": report.rows_read, "created": report.created,
                        "updated": report.updated, "unchanged": report.unchanged,
                        "skipped_rows": report.skipped,
                        "bad_rows": len(report.bad_rows), "good_only": good_only,
                        "update_existing": update_existing})
                    report.written = True
                conn.execute("release wb_import")
            except BaseException:
                conn.execute("rollback to wb_import")
                conn.execute("release wb_import")
                report.created = report.updated = report.unchanged = 0
                report.written = False
                raise
    prog.finish()
    report.seconds = time.perf_counter() - t0
    return report


# --------------------------------------------------------------------------
# Template and documentation
# --------------------------------------------------------------------------

def columns_markdown() -> str:
    """The text of ``docs/import-columns.md``, generated from :data:`COLUMNS`."""
    out = ["# Import columns", "",
           "<!-- Generated by workbench.spreadsheets.imports.columns_markdown(); do not edit by hand."
           " Regenerate with: python -m workbench.spreadsheets.imports --write-docs -->", "",
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
    p = Path(path) if path else Path(__file__).resolve().parents[2] / "docs" / "import-columns.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(columns_markdown(), encoding="utf-8")
    return p


def iter_column_names(kind: str) -> Iterable[str]:
    return (s.name for s in COLUMNS[kind])


if __name__ == "__main__":  # pragma: no cover
    import sys

    if "--write-docs" in sys.argv:
        print(write_columns_doc())
