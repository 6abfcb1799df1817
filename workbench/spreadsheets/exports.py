"""Exporting master tables, licences and the audit log to CSV or XLSX.

Parties, items and shipments are written in the SAME columns the import reads
(:data:`workbench.spreadsheets.imports.COLUMNS`), so an export can be imported again;
licences and the audit log in their list-view columns (:data:`browse.VIEWS`).

Safety: user text is never written where a spreadsheet would execute it.
XLSX cells holding text are always typed as strings (``t="inlineStr"``), and
text that begins with = + - @ tab or CR also carries the quotePrefix style so
editing the cell keeps it text. CSV has no types, so such text is prefixed
with a single quote ``'`` (the OWASP advice against CSV injection); the
import removes that quote again.

CSV is UTF-8 with a BOM (so Excel shows Chinese names correctly) with CRLF
line ends. XLSX has a frozen, bold header row, an autofilter, column widths
from the content, and real types: numbers as numbers, dates as dates,
yes/no as booleans.

Files are written to a temporary name beside the target and renamed into
place, so a cancel or a crash never leaves half a file under the real name.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from workbench.records import browse
from workbench.app import Workbench
from workbench.errors import WorkbenchError
from workbench.db.store import Store
from workbench.spreadsheets.reading import FORMULA_TRIGGERS
from workbench.records.values import format_money
from workbench.spreadsheets.imports import COLUMNS, KINDS

EXPORTABLE = ("parties", "items", "shipments", "licences", "audit")
ProgressFn = Callable[[int, "int | None"], None]
CancelFn = Callable[[], bool]
_WIDTH_SAMPLE = 200
_CHUNK = 500
# Characters XML 1.0 (and so XLSX) cannot hold; replaced, never dropped silently.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ExportCancelled(WorkbenchError):
    """The user cancelled an export; no file was written."""


@dataclass
class Sheet:
    """One sheet to write: title, header texts, rows of typed values
    (str, int, float, Decimal, date, datetime, bool, None)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]


def is_dangerous(text: str) -> bool:
    """Would a spreadsheet take this text as the start of a formula?"""
    return bool(text) and text[0] in FORMULA_TRIGGERS


def csv_cell(value: Any) -> str:
    """A typed value as CSV text; dangerous text gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    s = str(value)
    return "'" + s if is_dangerous(s) else s


def _tmp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def _check(cancel: CancelFn | None) -> None:
    if cancel is not None and cancel():
        raise ExportCancelled("export cancelled; no file was written")


def _write_csv(path: Path, sheet: Sheet, progress: ProgressFn | None,
               total: int | None, cancel: CancelFn | None) -> int:
    n = 0
    # utf-8-sig: the BOM is how Excel knows the file is UTF-8 (else it reads
    # Chinese names as mojibake in the local code page).
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow([csv_cell(h) for h in sheet.headers])
        for row in sheet.rows:
            w.writerow([csv_cell(v) for v in row])
            n += 1
            if n % _CHUNK == 0:
                _check(cancel)
                if progress:
                    progress(n, total)
        fh.flush()
        os.fsync(fh.fileno())
    return n


def _display_len(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, float):
        s = csv_cell(v)
    elif isinstance(v, _dt.datetime):
        s = "2026-01-01 00:00:00"
    elif isinstance(v, _dt.date):
        s = "2026-01-01"
    else:
        s = str(v)
    # CJK characters are about twice as wide as Latin ones.
    return max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)
                for line in s.split("\n")), default=0)


def _xlsx_sheet(wb, sheet: Sheet, progress: ProgressFn | None, total: int | None,
                cancel: CancelFn | None) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    title = re.sub(r"[\[\]\*\?/\\:]", " ", sheet.title)[:31] or "Sheet"
    ws = wb.create_sheet(title)
    headers = list(sheet.headers)
    ncols = max(len(headers), 1)
    rows = iter(sheet.rows)
    # Widths must be set before the first row is streamed: look ahead a little.
    head: list[Sequence[Any]] = []
    for row in rows:
        head.append(row)
        if len(head) >= _WIDTH_SAMPLE:
            break
    for i, h in enumerate(headers):
        longest = max([_display_len(h)] + [_display_len(r[i]) for r in head if i < len(r)])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(max(longest + 2, 8), 60)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(v: Any, header: bool = False) -> Any:
        if isinstance(v, str):
            c = WriteOnlyCell(ws, value=_ILLEGAL_XML.sub("\ufffd", v))
            # Whatever openpyxl guessed (a leading '=' makes it a formula),
            # user text is text: force the string type.
            c.data_type = "s"
            if is_dangerous(v):
                c.quotePrefix = True
            if header:
                c.font = bold
            return c
        if isinstance(v, _dt.datetime):
            c = WriteOnlyCell(ws, value=v)
            c.number_format = "yyyy-mm-dd hh:mm:ss"
            return c
        if isinstance(v, _dt.date):
            c = WriteOnlyCell(ws, value=v)
            c.number_format = "yyyy-mm-dd"
            return c
        if isinstance(v, Decimal):
            c = WriteOnlyCell(ws, value=v)
            exp = v.as_tuple().exponent
            places = -exp if isinstance(exp, int) and exp < 0 else 0
            c.number_format = "#,##0" + ("." + "0" * places if places else "")
            return c
        return v  # int, float, bool, None: openpyxl types them itself

    ws.append([cell(h, True) for h in headers])
    n = 0

    def all_rows() -> Iterator[Sequence[Any]]:
        yield from head
        yield from rows

    for row in all_rows():
        ws.append([cell(v) for v in row])
        n += 1
        if n % _CHUNK == 0:
            _check(cancel)
            if progress:
                progress(n, total)
    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{n + 1}"
    return n


def write_sheets(path: str | os.PathLike[str], sheets: Sequence[Sheet | tuple], *,
                 progress: ProgressFn | None = None, total: int | None = None,
                 cancel: CancelFn | None = None) -> Path:
    """Write sheets to CSV (first sheet only) or XLSX, chosen by extension.

    Side effects: writes ``path`` atomically (temp file + rename); on cancel
    (ExportCancelled) or error the target is untouched. Returns the path.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in (".csv", ".xlsx"):
        raise WorkbenchError(f"{p.name}: export to .csv or .xlsx")
    sheets = [s if isinstance(s, Sheet) else Sheet(*s) for s in sheets]
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_for(p)
    try:
        if ext == ".csv":
            _write_csv(tmp, sheets[0], progress, total, cancel)
        else:
            import openpyxl

            wb = openpyxl.Workbook(write_only=True)
            try:
                for s in sheets:
                    _xlsx_sheet(wb, s, progress, total, cancel)
            except BaseException:
                # Finish the streamed sheets' temp files so nothing dangles.
                for ws in wb.worksheets:
                    try:
                        ws.close()
                    except Exception:
                        pass
                raise
            wb.save(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


# --------------------------------------------------------------------------
# What each table exports
# --------------------------------------------------------------------------

def write_template(kind: str, path: str | os.PathLike[str]) -> Path:
    """Write an import template: the headers and one example row; for .xlsx a
    second sheet "Help" explains each column. CSV or XLSX by extension.

    Side effects: writes ``path`` (atomically: a temp file, then a rename).
    """
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
    return write_sheets(path, sheets)


def _ids(store: Store, name: str, query: browse.Query | None) -> list[int]:
    """Record ids in list-view order, filtered like the table on screen."""
    v = browse.VIEWS[name]
    q = query or browse.Query()
    sort = q.sort or v.default_sort
    v.column(sort)  # whitelist
    desc = v.default_desc if q.desc is None else q.desc
    where, params = browse._where(v, q)  # same filter the table shows
    d = "desc" if desc else "asc"
    return [r[0] for r in store.conn.execute(
        f"select {v.key} from {v.view}{where} order by {sort} {d}, {v.key} {d}", params)]


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _in(ids: list[int]) -> str:
    return "(" + ",".join("?" * len(ids)) + ")"


def _pct(v: float) -> str:
    return f"{v:g}"


def _party_rows(store: Store, ids: list[int]) -> Iterator[list[Any]]:
    conn = store.conn
    for chunk in _chunks(ids):
        ph = _in(chunk)
        rows = {r["id"]: r for r in conn.execute(
            f"select p.*, q.legal_name as parent_name from party p left join party q"
            f" on q.id = p.ultimate_parent_id where p.id in {ph}", chunk)}
        names: dict[int, list[str]] = {}
        for r in conn.execute(f"select party_id, name from party_name where party_id in"
                              f" {ph} order by id", chunk):
            names.setdefault(r[0], []).append(r[1])
        addr: dict[int, Any] = {}
        for r in conn.execute(f"select * from party_address where party_id in {ph}"
                              f" order by id", chunk):
            addr.setdefault(r["party_id"], r)
        uscc: dict[int, str] = {}
        for r in conn.execute(f"select party_id, value from party_registration where"
                              f" scheme = 'cn_uscc' and party_id in {ph} order by id", chunk):
            uscc.setdefault(r[0], r[1])
        owners: dict[int, list[tuple[str, float]]] = {}
        for r in conn.execute(f"select o.owned_id, p.legal_name, o.percent from ownership o"
                              f" join party p on p.id = o.owner_id where o.owned_id in {ph}"
                              f" order by o.percent desc, o.owner_id", chunk):
            owners.setdefault(r[0], []).append((r[1], r[2]))
        for pid in chunk:
            r = rows[pid]
            a = addr.get(pid)
            own = owners.get(pid, [])
            yield [r["legal_name"], r["kind"], "; ".join(names.get(pid, [])),
                   a["street"] if a else "", a["city"] if a else "",
                   a["postcode"] if a else "", a["country"] if a else "",
                   r["hq_country"] or "", uscc.get(pid, ""), r["website"],
                   r["email_domain"], r["phone"], r["parent_name"] or "",
                   "; ".join(n for n, _ in own), "; ".join(_pct(p) for _, p in own),
                   r["notes"]]


def _item_rows(store: Store, ids: list[int]) -> Iterator[list[Any]]:
    from workbench.records.items import PRECISION_BITS

    conn = store.conn
    for chunk in _chunks(ids):
        ph = _in(chunk)
        rows = {r["id"]: r for r in conn.execute(f"select * from item where id in {ph}",
                                                 chunk)}
        perf: dict[int, dict[str, float]] = {}
        for r in conn.execute(f"select item_id, precision, tops from item_performance"
                              f" where item_id in {ph}", chunk):
            perf.setdefault(r[0], {})[r[1]] = r[2]
        for iid in chunk:
            r = rows[iid]
            p = perf.get(iid, {})
            dc = None if r["datacenter"] is None else bool(r["datacenter"])
            yield [r["model"], r["manufacturer"], r["description"], r["hs_code"],
                   r["eccn"], r["die_area_mm2"], r["memory_bandwidth_gbps"],
                   r["interconnect_gbps"], dc, r["uom"],
                   *[p.get(k) for k in PRECISION_BITS], r["notes"]]


def _shipment_rows(store: Store, ids: list[int]) -> Iterator[list[Any]]:
    from workbench.records.shipments import ROLES
    conn = store.conn
    for chunk in _chunks(ids):
        ph = _in(chunk)
        rows = {r["id"]: r for r in conn.execute(
            f"select * from shipment where id in {ph}", chunk)}
        lines: dict[int, list[Any]] = {}
        for r in conn.execute(
                f"select l.*, i.model, i.manufacturer from shipment_line l join item i"
                f" on i.id = l.item_id where l.shipment_id in {ph} order by l.line_no",
                chunk):
            lines.setdefault(r["shipment_id"], []).append(r)
        parties: dict[int, dict[str, list[str]]] = {}
        for r in conn.execute(
                f"select sp.shipment_id, sp.role, p.legal_name from shipment_party sp"
                f" join party p on p.id = sp.party_id where sp.shipment_id in {ph}"
                f" order by sp.role, sp.party_id", chunk):
            parties.setdefault(r[0], {}).setdefault(r[1], []).append(r[2])
        for sid in chunk:
            s = rows[sid]
            roles = parties.get(sid, {})
            head = [s["reference"], _dt.date.fromisoformat(s["ship_date"]),
                    s["destination"], s["status"], s["end_use"], s["notes"]]
            tail = ["; ".join(roles.get(r, [])) for r in ROLES]
            for ln in lines.get(sid) or [None]:
                if ln is None:
                    yield [*head, "", "", None, None, "", *tail]
                else:
                    # Decimal with the currency's decimals (25000.00), exact.
                    value = Decimal(format_money(ln["unit_value_minor"],
                                                 ln["currency"]).replace(",", ""))
                    yield [*head, ln["model"], ln["manufacturer"], ln["quantity"],
                           value, ln["currency"], *tail]


def _view_rows(store: Store, name: str, query: browse.Query | None
               ) -> tuple[list[str], Iterator[list[Any]], int]:
    v = browse.VIEWS[name]
    q = query or browse.Query()
    sort = q.sort or v.default_sort
    v.column(sort)
    desc = v.default_desc if q.desc is None else q.desc
    where, params = browse._where(v, q)
    d = "desc" if desc else "asc"
    cols = ", ".join(c.key for c in v.columns)
    total = store.scalar(f"select count(*) from {v.view}{where}", params) or 0
    cur = store.conn.execute(
        f"select {cols} from {v.view}{where} order by {sort} {d}, {v.key} {d}", params)

    def typed(col: browse.Column, val: Any) -> Any:
        if val is None:
            return None
        if col.kind == "date":
            try:
                return _dt.date.fromisoformat(str(val)[:10])
            except ValueError:
                return str(val)
        if col.kind == "bool":
            return bool(val)
        if col.kind in ("int", "real"):
            return val
        return str(val)

    def gen() -> Iterator[list[Any]]:
        for r in cur:
            yield [typed(c, r[i]) for i, c in enumerate(v.columns)]

    return [c.label for c in v.columns], gen(), total


def export_table(wb_or_store: Workbench | Store, name: str,
                 path: str | os.PathLike[str], query: browse.Query | None = None, *,
                 progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> int:
    """Export one table to CSV or XLSX (by the file's extension); returns the
    number of data rows written.

    ``name``: parties, items, shipments (import columns; shipments one row
    per line), licences or audit (list-view columns). ``query`` filters and
    sorts like the table on screen (search, filters, sort).

    Side effects: reads the store; writes ``path`` atomically. Raises
    ExportCancelled when ``cancel()`` returns True (no file written).
    Threading: reads on the calling thread's connection; run it on a
    background worker for big tables.
    """
    store = wb_or_store.store if isinstance(wb_or_store, Workbench) else wb_or_store
    if name not in EXPORTABLE:
        raise WorkbenchError(f"cannot export {name!r}; choose one of "
                             f"{', '.join(EXPORTABLE)}")
    if name in ("parties", "items", "shipments"):
        ids = _ids(store, name, query)
        headers = [s.name for s in COLUMNS[name]]
        gen = {"parties": _party_rows, "items": _item_rows,
               "shipments": _shipment_rows}[name](store, ids)
        total: int | None = len(ids)
    else:
        headers, gen, total = _view_rows(store, name, query)
    counter = {"n": 0}

    def counted() -> Iterator[Sequence[Any]]:
        for row in gen:
            counter["n"] += 1
            yield row

    write_sheets(path, [Sheet(name, headers, counted())], progress=progress,
                 total=total, cancel=cancel)
    if progress:
        progress(counter["n"], counter["n"])
    return counter["n"]


__all__ = ["export_table", "write_sheets", "Sheet", "csv_cell", "is_dangerous",
           "ExportCancelled", "EXPORTABLE"]
