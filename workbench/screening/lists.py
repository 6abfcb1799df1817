"""Parsers for the US restricted-party list files officers download.

Supported formats (``ParsedList.format`` / the ``format=`` override):

- ``csl_csv``  trade.gov Consolidated Screening List CSV, current 29-column
  layout with ``_id`` and the older 28-column layout without it.
- ``csl_json`` the same list as JSON (``{"results": [...]}`` as the CSL API and
  the downloadable ``consolidated.json`` return it, or a bare list of results).
- ``ofac_sdn`` OFAC legacy SDN CSV set: ``sdn.csv`` plus ``alt.csv``,
  ``add.csv`` and ``sdn_comments.csv`` read from the same folder when present.
- ``ofac_cons`` OFAC non-SDN consolidated set: ``cons_prim.csv`` plus
  ``cons_alt.csv``, ``cons_add.csv`` and ``cons_comments.csv``.
- ``bis_dpl``  BIS Denied Persons List, tab-separated text with a header.
- ``ofac_xml`` OFAC's classic XML, ``sdn.xml`` or ``consolidated.xml`` (root
  ``sdnList``; not the "advanced" ``sdn_advanced.xml``).

Detection looks at content, not names: JSON vs XML root vs CSL header vs DPL
header vs the headerless OFAC layout. The one exception is SDN vs non-SDN:
both OFAC files share one layout and overlapping programs, so the ``cons_``
prefix of the file (OFAC's own naming; ``consolidated.xml`` for the XML)
picks the non-SDN list; pass ``format=`` to override for the CSV set.

XML is read with ``defusedxml`` (a declared dependency) on top of the
standard library's streaming ``iterparse``, and the prolog is checked first:
a DOCTYPE is refused before any parsing, because OFAC's files have none and a
DTD is how entity bombs ("billion laughs") and external entities get in.

Encoding decision: every publisher serves these files as UTF-8 today (the
shipped samples are UTF-8, OFAC's with CRLF and a trailing 0x1A byte). We
accept UTF-8 with or without BOM and refuse anything else with a message that
names the line, rather than guessing cp1252, because a wrong guess silently
corrupts names that screening then fails to match.

All functions are pure apart from reading the given files; they are safe to
call from a worker thread. Errors are :class:`ListFileError` (message names
the file, the line/row and the problem) or :class:`Cancelled`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.parsers.expat import errors as expat_errors

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from workbench.errors import WorkbenchError

#: Largest list file accepted (bytes). The full CSL JSON is tens of MB; a file
#: far beyond this is not a list and would only exhaust memory.
MAX_FILE_BYTES = 300 * 1024 * 1024

CSL_CSV = "csl_csv"
CSL_JSON = "csl_json"
OFAC_SDN = "ofac_sdn"
OFAC_CONS = "ofac_cons"
BIS_DPL = "bis_dpl"
OFAC_XML = "ofac_xml"
FORMATS = (CSL_CSV, CSL_JSON, OFAC_SDN, OFAC_CONS, BIS_DPL, OFAC_XML)

CSL_COLUMNS = (
    "_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
    "federal_register_notice", "start_date", "end_date", "standard_order",
    "license_requirement", "license_policy", "call_sign", "vessel_type", "gross_tonnage",
    "gross_registered_tonnage", "vessel_flag", "vessel_owner", "remarks", "source_list_url",
    "alt_names", "citizenships", "dates_of_birth", "nationalities", "places_of_birth",
    "source_information_url", "ids",
)
CSL_COLUMNS_OLD = CSL_COLUMNS[1:]
DPL_COLUMNS = (
    "Name", "Street_Address", "City", "State", "Country", "Postal_Code", "Effective_Date",
    "Expiration_Date", "Standard_Order", "Last_Update", "Action", "FR_Citation",
)
OFAC_PRIMARY = ("ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign",
                "Vess_type", "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks")
OFAC_ALT = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
OFAC_ADD = ("ent_num", "add_num", "address", "city_state_postal", "country", "add_remarks")
OFAC_COMMENTS = ("ent_num", "remarks_extension")

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an Excel workbook or a zipped download?)",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old Office document",
}

ProgressFn = Callable[[int, "int | None"], None]
CancelFlag = Any  # a callable returning bool, or an object with is_set() (threading.Event)


class ListFileError(WorkbenchError):
    """A list file cannot be read; nothing from it should be stored.

    The message names the file, where the problem is (line/row) and what it is.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, *, line: int | None = None,
                 row: int | None = None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.row = row
        where = ""
        if line is not None and row is not None:
            where = f" (line {line}, row {row})"
        elif line is not None:
            where = f" (line {line})"
        elif row is not None:
            where = f" (row {row})"
        super().__init__(f"{Path(self.path).name}{where}: {problem}")


class Cancelled(WorkbenchError):
    """The caller's cancel flag was raised; the work was abandoned, nothing returned."""


@dataclass(frozen=True)
class Address:
    """One address of a list entry; every part may be empty."""

    street: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""

    def text(self) -> str:
        return ", ".join(p for p in (self.street, self.city, self.state, self.postcode,
                                     self.country) if p)


@dataclass
class ListEntry:
    """One listed party as published, with every raw field kept in ``raw``.

    ``entry_id`` (``"<list code>:<key>"``) is the stable identity used to diff
    snapshots; ``content_hash`` (SHA-256 of a canonical JSON of all fields)
    changes whenever anything published about the entry changes.
    """

    list_code: str
    agency: str
    key: str
    type: str
    name: str
    alt_names: list[str] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    ids: list[dict[str, str]] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    federal_register_notice: str = ""
    license_requirement: str = ""
    license_policy: str = ""
    start_date: str = ""
    remarks: str = ""
    source_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.content_hash:
            self.content_hash = self.compute_hash()

    @property
    def entry_id(self) -> str:
        return f"{self.list_code}:{self.key}"

    @property
    def countries(self) -> list[str]:
        """Countries named in the addresses (as published: ISO code or name)."""
        return sorted({a.country for a in self.addresses if a.country})

    def compute_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of every field except the hash itself."""
        # The same JSON as json.dumps(asdict(self)) gives, without asdict's deep
        # copy of ``raw``: an OFAC XML entry's raw is nested lists of dicts, and
        # copying them doubled the import time of a full sdn.xml.
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "content_hash"}
        d["addresses"] = [asdict(a) for a in self.addresses]
        blob = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def entry_to_json(e: ListEntry) -> str:
    """The stored form of an entry (canonical JSON of every field). Pure."""
    return json.dumps(asdict(e), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_from_json(text: str) -> ListEntry:
    """An entry back from :func:`entry_to_json`'s text. Pure."""
    d = json.loads(text)
    d["addresses"] = [Address(**a) for a in d.get("addresses", [])]
    return ListEntry(**d)


@dataclass
class ParsedList:
    """The result of reading one list file (plus its OFAC siblings)."""

    path: str
    format: str
    entries: list[ListEntry]
    sha256: str
    size: int
    publish_date: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # every file read -> its SHA-256
    warnings: list[str] = field(default_factory=list)
    #: OFAC XML only: which list the file holds, "sdn" or "cons" (non-SDN);
    #: one layout carries both, so the snapshot source depends on it.
    ofac_list: str | None = None

    @property
    def name_count(self) -> int:
        """Primary names plus alternate names."""
        return sum(1 + len(e.alt_names) for e in self.entries)


# ---------------------------------------------------------------------------
# helpers


def is_cancelled(cancel: CancelFlag | None) -> bool:
    """True if ``cancel`` (callable, Event-like or bool) says stop. Pure."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    if callable(cancel):
        return bool(cancel())
    return bool(cancel)


class _Ticker:
    """Reports progress every ``every`` items and checks the cancel flag."""

    def __init__(self, progress: ProgressFn | None, cancel: CancelFlag | None,
                 total: int | None, every: int = 2000):
        self.progress, self.cancel, self.total, self.every = progress, cancel, total, every
        self.done = 0

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.done % self.every == 0:
            if is_cancelled(self.cancel):
                raise Cancelled("list import cancelled")
            if self.progress:
                self.progress(self.done, self.total)

    def finish(self) -> None:
        if is_cancelled(self.cancel):
            raise Cancelled("list import cancelled")
        if self.progress:
            self.progress(self.done, self.done)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ListFileError(path, "file not found") from None
    except OSError as e:
        raise ListFileError(path, f"cannot be read: {e.strerror or e}") from None
    if path.is_dir():
        raise ListFileError(path, "is a folder, not a list file")
    if not path.is_file():
        # /dev/zero, a pipe: no size to check, and it would never end
        raise ListFileError(path, "is not a regular file (a device or a pipe?)")
    if size > max_bytes:
        raise ListFileError(
            path, f"is too large to be a list file ({size / 1e6:,.1f} MB; the limit is "
                  f"{max_bytes / 1e6:,.0f} MB). Check that this is the right file.")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # bounded even if the file grows meanwhile
    except OSError as e:
        raise ListFileError(path, f"cannot be read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise ListFileError(path, f"is too large to be a list file (over "
                                  f"{max_bytes / 1e6:,.0f} MB)")
    return data


def _decode(path: Path, data: bytes) -> str:
    if not data.strip(b" \t\r\n\x1a"):
        raise ListFileError(path, "is empty: it contains no list entries")
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise ListFileError(path, f"is not a list file: it is {what}")
    if b"\x00" in data[:8192]:
        raise ListFileError(path, "is not a list file: it contains binary data (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ListFileError(
            path,
            f"is not UTF-8 text: byte 0x{data[e.start]:02X} at column {col} cannot be decoded. "
            "The official lists are published as UTF-8; re-download the file, or re-save it "
            "as UTF-8 if it was edited in a spreadsheet.", line=line) from None
    # OFAC ends its legacy files with a DOS end-of-file byte.
    return text.rstrip("\x1a")


def _split_multi(value: str) -> list[str]:
    """Split a CSL multi-valued cell ("a; b; and c")."""
    out = []
    for part in value.split(";"):
        part = part.strip()
        if part.lower().startswith("and "):
            part = part[4:].strip()
        if part:
            out.append(part)
    return out


_CSL_CODE_RE = re.compile(r"\((?P<code>[A-Z0-9-]{2,10})\)")
_SUCCESSOR_RE = re.compile(r";?\s*and any successor,? sub-?unit,? or subsidiary thereof\.?\s*$", re.I)


def _csl_source(source: str) -> tuple[str, str]:
    source = source.strip()
    m = _CSL_CODE_RE.search(source)
    agency = source.rsplit(" - ", 1)[1].strip() if " - " in source else ""
    if not m:
        return source or "CSL", agency
    return m.group("code"), agency


def _clean_name(name: str) -> str:
    return _SUCCESSOR_RE.sub("", name).strip()


def _csl_address(text: str) -> Address:
    """CSL CSV addresses are "street, city, state, postcode, country" with the
    empty parts dropped, so only the trailing ISO country code is certain."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return Address()
    country = ""
    if re.fullmatch(r"[A-Z]{2}", parts[-1]):
        country = parts.pop()
    postcode = ""
    if len(parts) >= 2 and re.search(r"\d", parts[-1]) and len(parts[-1]) <= 10:
        postcode = parts.pop()
    city = parts.pop() if len(parts) >= 2 else ""
    return Address(street=", ".join(parts), city=city, postcode=postcode, country=country)


def _csl_ids(text: str) -> list[dict[str, str]]:
    out = []
    for part in _split_multi(text):
        bits = [b.strip() for b in part.split(",")]
        d = {"text": part}
        if len(bits) >= 2:
            d["type"], d["number"] = bits[0], bits[1]
            if len(bits) >= 3:
                d["country"] = ", ".join(bits[2:])
        out.append(d)
    return out


def _hash_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------
# detection


def detect_format(path: str | os.PathLike[str], text: str) -> str:
    """Guess the list format of ``text`` (the decoded content of ``path``).

    Pure. Raises :class:`ListFileError` when the content is no known list.
    """
    p = Path(path)
    head = text.lstrip()
    if head[:1] in "{[":
        return CSL_JSON
    if head[:1] == "<":
        _check_ofac_root(p, _xml_root(p, text))
        return OFAC_XML
    first = text.split("\n", 1)[0].rstrip("\r")
    if "\t" in first:
        cols = [c.strip().strip('"').strip().lower() for c in first.split("\t")]
        if "name" in cols and "street_address" in cols:
            return BIS_DPL
    try:
        row = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        row = []
    lowered = [c.strip().lower() for c in row]
    if "name" in lowered and "source" in lowered:
        return CSL_CSV
    if row and row[0].strip().isdigit():
        if len(row) == len(OFAC_PRIMARY):
            return OFAC_CONS if p.name.lower().startswith("cons_") else OFAC_SDN
        if len(row) == len(OFAC_ALT):
            raise ListFileError(p, "is an OFAC alias file (alt.csv); import the primary file "
                                   "(sdn.csv or cons_prim.csv) from the same folder instead")
        if len(row) == len(OFAC_ADD):
            raise ListFileError(p, "is an OFAC address file (add.csv); import the primary file "
                                   "(sdn.csv or cons_prim.csv) from the same folder instead")
    snippet = first[:80] + ("…" if len(first) > 80 else "")
    raise ListFileError(
        p, f"is not a recognised list file (CSL CSV/JSON, OFAC sdn.csv/cons_prim.csv, OFAC "
           f"sdn.xml/consolidated.xml or BIS DPL text); its first line reads {snippet!r}", line=1)


# ---------------------------------------------------------------------------
# CSL CSV / JSON


def _entry_from_csl(rec: dict[str, Any], *, row_addresses: list[Address],
                    ids: list[dict[str, str]], alt_names: list[str], programs: list[str]) -> ListEntry:
    code, agency = _csl_source(str(rec.get("source") or ""))
    name = _clean_name(str(rec.get("name") or ""))
    key = str(rec.get("_id") or rec.get("id") or "").strip() or str(rec.get("entity_number") or "").strip()
    if not key:
        key = _hash_key(code, name, ";".join(a.text() for a in row_addresses))
    return ListEntry(
        list_code=code, agency=agency, key=key, type=str(rec.get("type") or ""), name=name,
        alt_names=alt_names, addresses=row_addresses, ids=ids, programs=programs,
        federal_register_notice=str(rec.get("federal_register_notice") or ""),
        license_requirement=str(rec.get("license_requirement") or ""),
        license_policy=str(rec.get("license_policy") or ""),
        start_date=str(rec.get("start_date") or ""),
        remarks=str(rec.get("remarks") or ""),
        source_url=str(rec.get("source_list_url") or rec.get("source_information_url") or ""),
        raw=rec,
    )


def _parse_csl_csv(path: Path, text: str, tick: _Ticker) -> tuple[list[ListEntry], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise ListFileError(path, f"the header row is malformed ({e})", line=1) from None
    header = [h.strip() for h in header]
    if tuple(header) == CSL_COLUMNS or tuple(header) == CSL_COLUMNS_OLD:
        pass
    else:
        missing = [c for c in CSL_COLUMNS_OLD if c not in header]
        extra = [c for c in header if c not in CSL_COLUMNS]
        if missing:
            raise ListFileError(
                path, f"wrong columns for a Consolidated Screening List CSV: missing "
                      f"{', '.join(missing)}" + (f"; unexpected {', '.join(extra)}" if extra else "")
                      + f" (found {len(header)} columns, expected 28 or 29)", line=1)
    entries: list[ListEntry] = []
    rowno = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problem = str(e)
            if "end of data" in problem or "EOF" in problem:
                problem = "the file is truncated: a quoted field is not closed (the download " \
                          "was probably cut off)"
            raise ListFileError(path, problem, line=reader.line_num, row=rowno + 1) from None
        rowno += 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise ListFileError(path, f"wrong number of columns: {len(row)} instead of "
                                      f"{len(header)} (truncated or damaged row)",
                                line=reader.line_num, row=rowno)
        rec = dict(zip(header, row))
        if not rec.get("name", "").strip():
            raise ListFileError(path, "the name column is empty", line=reader.line_num, row=rowno)
        entries.append(_entry_from_csl(
            rec,
            row_addresses=[_csl_address(a) for a in _split_multi(rec.get("addresses", ""))],
            ids=_csl_ids(rec.get("ids", "")),
            alt_names=[_clean_name(a) for a in _split_multi(rec.get("alt_names", ""))],
            programs=_split_multi(rec.get("programs", "")),
        ))
        tick.tick()
    return entries, []


def _parse_csl_json(path: Path, text: str, tick: _Ticker) -> tuple[list[ListEntry], str | None]:
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ListFileError(path, "is JSON nested too deeply to be a screening list") from None
    except json.JSONDecodeError as e:
        # An error at the very end of the text means the document stopped early.
        # strict JSON forbids raw newlines in strings, so an unclosed string
        # can only mean the text stopped early.
        truncated = e.pos >= len(text.rstrip()) - 1 or e.msg.startswith("Unterminated string")
        problem = ("the JSON is truncated (the download was probably cut off)" if truncated
                   else f"is not valid JSON: {e.msg} at column {e.colno}")
        raise ListFileError(path, problem, line=e.lineno) from None
    except ValueError as e:  # e.g. a number of thousands of digits
        raise ListFileError(path, f"is not valid JSON for a list ({e})") from None
    publish = None
    if isinstance(doc, dict):
        results = doc.get("results")
        if not isinstance(results, list):
            raise ListFileError(path, 'is JSON but not a screening list: no "results" array')
        dates = [str(s.get("source_last_updated") or s.get("last_imported") or "")[:10]
                 for s in doc.get("sources_used") or [] if isinstance(s, dict)]
        dates = [d for d in dates if d]
        publish = max(dates) if dates else None
    elif isinstance(doc, list):
        results = doc
    else:
        raise ListFileError(path, "is JSON but not a screening list")
    entries = []
    for i, rec in enumerate(results, start=1):
        if not isinstance(rec, dict) or not str(rec.get("name") or "").strip():
            raise ListFileError(path, "result is not a list entry (no name)", row=i)
        for key in ("addresses", "ids", "alt_names", "programs"):
            if not isinstance(rec.get(key), (list, str, type(None))):
                raise ListFileError(path, f'"{key}" must be a list or a text, not '
                                          f'{type(rec.get(key)).__name__}', row=i)
        addrs = []
        raw_addrs = rec.get("addresses")
        for a in ([raw_addrs] if isinstance(raw_addrs, str) else raw_addrs or []):
            if isinstance(a, dict):
                addrs.append(Address(street=str(a.get("address") or ""), city=str(a.get("city") or ""),
                                     state=str(a.get("state") or a.get("state_or_province") or ""),
                                     postcode=str(a.get("postal_code") or ""),
                                     country=str(a.get("country") or "")))
            elif isinstance(a, str):
                addrs.append(_csl_address(a))
        ids = []
        raw_ids = rec.get("ids")
        for d in ([raw_ids] if isinstance(raw_ids, str) else raw_ids or []):
            if isinstance(d, dict):
                ids.append({k: str(v) for k, v in d.items() if v not in (None, "")})
            else:
                ids.append({"text": str(d)})
        alts = rec.get("alt_names") or []
        alts = _split_multi(alts) if isinstance(alts, str) else [str(a) for a in alts]
        progs = rec.get("programs") or []
        progs = _split_multi(progs) if isinstance(progs, str) else [str(p) for p in progs]
        entries.append(_entry_from_csl(rec, row_addresses=addrs, ids=ids,
                                       alt_names=[_clean_name(a) for a in alts if a.strip()],
                                       programs=progs))
        tick.tick()
    return entries, publish


# ---------------------------------------------------------------------------
# OFAC legacy CSV


def _ofac_val(v: str) -> str:
    v = v.strip()
    return "" if v == "-0-" else v


def _ofac_rows(path: Path, text: str, ncols: int, tick: _Ticker | None) -> Iterable[tuple[int, int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rowno = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            problem = str(e)
            if "end of data" in problem:
                problem = "the file is truncated: a quoted field is not closed"
            raise ListFileError(path, problem, line=reader.line_num, row=rowno + 1) from None
        rowno += 1
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != ncols:
            raise ListFileError(path, f"wrong number of columns: {len(row)} instead of {ncols} "
                                      "for this OFAC file", line=reader.line_num, row=rowno)
        if not row[0].strip().isdigit():
            raise ListFileError(path, f"the entry number {row[0]!r} is not a number",
                                line=reader.line_num, row=rowno)
        if tick:
            tick.tick()
        yield reader.line_num, rowno, [_ofac_val(c) for c in row]


_CONS_PROGRAM_LIST = (
    ("NS-PLC", "NS-PLC"), ("CMIC", "CMIC"), ("UKRAINE-EO13662", "SSI"), ("FSE", "FSE"),
    ("561", "561"),
)


def _cons_list_code(programs: list[str]) -> str:
    """Which non-SDN list an OFAC consolidated row belongs to, from its programs:
    the legacy CSV has no list column, and each of these lists is defined by its
    program tag."""
    for needle, code in _CONS_PROGRAM_LIST:
        if any(needle in p for p in programs):
            return code
    return "NS-MBS"


def _parse_ofac(path: Path, text: str, tick: _Ticker, cons: bool) -> tuple[list[ListEntry], dict[str, str], list[str]]:
    prefix = "cons_" if cons else ""
    siblings = {
        "alt": path.with_name(f"{prefix}alt.csv"),
        "add": path.with_name(f"{prefix}add.csv"),
        "comments": path.with_name("cons_comments.csv" if cons else "sdn_comments.csv"),
    }
    files: dict[str, str] = {}
    warnings: list[str] = []
    sib_text: dict[str, str] = {}
    for kind, sp in siblings.items():
        if sp.exists():
            data = _read_bytes(sp, MAX_FILE_BYTES)
            files[str(sp)] = hashlib.sha256(data).hexdigest()
            sib_text[kind] = _decode(sp, data)
        else:
            warnings.append(f"{sp.name} not found beside {path.name}: "
                            f"{'aliases' if kind == 'alt' else 'addresses' if kind == 'add' else 'remark overflow'} not loaded")
    comments: dict[str, str] = {}
    if "comments" in sib_text:
        for _, _, r in _ofac_rows(siblings["comments"], sib_text["comments"], 2, None):
            comments[r[0]] = comments.get(r[0], "") + r[1]
    alts: dict[str, list[tuple[str, str, str]]] = {}
    if "alt" in sib_text:
        for _, _, r in _ofac_rows(siblings["alt"], sib_text["alt"], 5, None):
            alts.setdefault(r[0], []).append((r[3], r[2], r[4]))
    adds: dict[str, list[Address]] = {}
    if "add" in sib_text:
        for _, _, r in _ofac_rows(siblings["add"], sib_text["add"], 6, None):
            adds.setdefault(r[0], []).append(Address(street=r[2], city=r[3], country=r[4]))
    entries = []
    for _line, _rowno, r in _ofac_rows(path, text, len(OFAC_PRIMARY), tick):
        raw: dict[str, Any] = dict(zip(OFAC_PRIMARY, r))
        ent = r[0]
        remarks = r[11] + comments.get(ent, "")
        raw["Remarks"] = remarks
        programs = [p.strip() for p in re.split(r"\]\s*\[", r[3].strip("[] ")) if p.strip()]
        alias_rows = alts.get(ent, [])
        raw["aliases"] = [{"name": a, "type": t, "remarks": rm} for a, t, rm in alias_rows]
        code = _cons_list_code(programs) if cons else "SDN"
        entries.append(ListEntry(
            list_code=code, agency="Treasury Department (OFAC)", key=ent,
            type=r[2] or "entity", name=r[1],
            alt_names=[a for a, _, _ in alias_rows if a],
            addresses=adds.get(ent, []), programs=programs, remarks=remarks,
            source_url="https://sanctionslist.ofac.treas.gov/", raw=raw,
        ))
    return entries, files, warnings


# ---------------------------------------------------------------------------
# OFAC XML (sdn.xml, consolidated.xml)

_XML_NAME_RE = re.compile(r"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?")
_XML_SPACE_RE = re.compile(r"\s*")
_DTD_REFUSED = ("contains a DOCTYPE declaration, which is refused: OFAC's lists have none, and a "
                "DTD can define entities that expand without limit (\"billion laughs\") or read "
                "other files. Re-download the list from OFAC.")
# expat's errors for input that stops in the middle of the document
_XML_TRUNCATED = {expat_errors.codes[m] for m in (
    expat_errors.XML_ERROR_NO_ELEMENTS, expat_errors.XML_ERROR_UNCLOSED_TOKEN,
    expat_errors.XML_ERROR_PARTIAL_CHAR, expat_errors.XML_ERROR_UNCLOSED_CDATA_SECTION)}


def _xml_root(path: Path, text: str) -> str:
    """Local name (namespace prefix dropped) of the root element of ``text``,
    read from the prolog only; "" when the text does not start with an element.

    Pure. Raises :class:`ListFileError` for a DOCTYPE (or any other ``<!``
    declaration) in the prolog: that is the only place one can stand, so
    refusing it here keeps entity declarations away from any parser.
    """
    pos = 0
    while True:
        pos = _XML_SPACE_RE.match(text, pos).end()  # type: ignore[union-attr]  # \s* always matches
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            if end < 0:
                return ""
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                return ""
            pos = end + 3
        elif text.startswith("<!", pos):
            line = text.count("\n", 0, pos) + 1
            if re.match(r"<!DOCTYPE\s+html\b", text[pos:pos + 30], re.I):
                raise ListFileError(path, "is a web page (HTML), not a list file: the download "
                                          "probably returned an error page", line=line)
            raise ListFileError(path, _DTD_REFUSED, line=line)
        elif text.startswith("<", pos):
            m = _XML_NAME_RE.match(text, pos + 1)
            return m.group(0).rsplit(":", 1)[-1] if m else ""
        else:
            return ""


def _check_ofac_root(path: Path, root: str) -> None:
    """Raise :class:`ListFileError` unless ``root`` is OFAC's ``sdnList``. Pure."""
    if root == "sdnList":
        return
    if not root:
        raise ListFileError(path, "is not an OFAC XML list: it does not start with an XML "
                                  "element", line=1)
    if root.lower() == "html":
        raise ListFileError(path, "is a web page (HTML), not a list file: the download probably "
                                  "returned an error page")
    if root == "Sanctions":
        raise ListFileError(path, "is OFAC's advanced XML (sdn_advanced.xml), which is not "
                                  "supported; download sdn.xml or consolidated.xml (or the CSV "
                                  "files) instead")
    raise ListFileError(path, f"is XML but not an OFAC list: its root element is <{root}>, "
                              "not <sdnList> as in OFAC's sdn.xml and consolidated.xml")


class _TextChunks:
    """A read()-able view of decoded text for iterparse. Feeding str rather than
    bytes makes expat read the UTF-8 that :func:`_decode` already checked,
    whatever encoding the XML declaration claims."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def read(self, size: int = -1) -> str:
        end = len(self.text) if size < 0 else self.pos + size
        chunk = self.text[self.pos:end]
        self.pos += len(chunk)
        return chunk


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_value(el: ET.Element) -> Any:
    """An element as plain data: text for a leaf, a list for OFAC's ``…List``
    containers, else a dict of its children (empty values dropped)."""
    kids = list(el)
    if not kids:
        return (el.text or "").strip()
    if _local(el.tag).endswith("List"):
        return [_xml_value(k) for k in kids]
    out: dict[str, Any] = {}
    for k in kids:
        v = _xml_value(k)
        if v not in ("", [], {}):
            out[_local(k.tag)] = v
    return out


def _items(raw: dict[str, Any], key: str) -> list[Any]:
    """The items of an OFAC ``…List`` container in ``raw`` ([] when absent or
    oddly shaped, e.g. bare text where a list belongs)."""
    v = raw.get(key)
    return v if isinstance(v, list) else []


def _ofac_xml_name(last: str, first: str) -> str:
    """"LAST, First" as OFAC's CSV spells a person's name, so both formats give
    the same name for a uid; entities only have a last name."""
    return f"{last}, {first}" if last and first else last or first


def _ofac_xml_list(path: Path) -> tuple[bool, str | None]:
    """Whether an OFAC XML file holds the non-SDN consolidated list, from its
    name (the content cannot tell: one layout, overlapping programs), and a
    warning when the name does not say. Pure."""
    name = path.name.lower()
    if name.startswith("cons"):
        return True, None
    if name.startswith("sdn"):
        return False, None
    return False, (f"{path.name}: the file name says neither sdn.xml nor consolidated.xml; it was "
                   "read as the SDN list. If it is OFAC's non-SDN consolidated list, rename it "
                   "consolidated.xml and import it again.")


def _entry_line(text: str, n: int) -> int | None:
    """Line of the ``n``-th (1-based) sdnEntry start tag. Only for error
    messages: iterparse reports elements in batches, without positions."""
    for i, m in enumerate(re.finditer(r"<(?:[\w.\-]+:)?sdnEntry[\s>]", text), start=1):
        if i == n:
            return text.count("\n", 0, m.start()) + 1
    return None


def _ofac_xml_entry(path: Path, text: str, el: ET.Element, n: int, cons: bool) -> ListEntry:
    """One ``sdnEntry`` as a ListEntry, mapped as the CSV set maps the same
    entry: key = uid (the CSV's ent_num), "LAST, First" names, strong aliases
    as alternate names. Weak aliases are kept in ``raw`` only: the CSV has
    them only as remarks text, and OFAC itself does not screen them."""
    raw: dict[str, Any] = {}
    for child in el:
        v = _xml_value(child)
        if v not in ("", [], {}):
            raw[_local(child.tag)] = v
    uid = raw.get("uid", "")
    if not isinstance(uid, str) or not uid.isdigit():
        problem = (f"sdnEntry number {n} has no uid" if not uid
                   else f"sdnEntry number {n} has uid {uid!r}, which is not a number")
        raise ListFileError(path, problem, line=_entry_line(text, n))
    name = _ofac_xml_name(str(raw.get("lastName", "")), str(raw.get("firstName", "")))
    if not name:
        raise ListFileError(path, f"sdnEntry uid {uid} has no name (lastName is empty)",
                            line=_entry_line(text, n))
    programs = [p for p in _items(raw, "programList") if isinstance(p, str)]
    akas = [a for a in _items(raw, "akaList") if isinstance(a, dict)]
    alt_names = [_ofac_xml_name(a.get("lastName", ""), a.get("firstName", "")) for a in akas
                 if a.get("category", "").lower() != "weak"]
    addresses = [Address(street=", ".join(a.get(k, "") for k in ("address1", "address2", "address3")
                                          if a.get(k)),
                         city=a.get("city", ""), state=a.get("stateOrProvince", ""),
                         postcode=a.get("postalCode", ""), country=a.get("country", ""))
                 for a in _items(raw, "addressList") if isinstance(a, dict)]
    keys = {"idType": "type", "idNumber": "number", "idCountry": "country",
            "issueDate": "issue_date", "expirationDate": "expiration_date"}
    ids = [{keys[k]: v for k, v in d.items() if k in keys}
           for d in _items(raw, "idList") if isinstance(d, dict)]
    return ListEntry(
        list_code=_cons_list_code(programs) if cons else "SDN",
        agency="Treasury Department (OFAC)", key=uid,
        type=str(raw.get("sdnType", "")).lower() or "entity", name=name,
        alt_names=[a for a in alt_names if a], addresses=addresses, ids=[d for d in ids if d],
        programs=programs, remarks=str(raw.get("remarks", "")),
        source_url="https://sanctionslist.ofac.treas.gov/", raw=raw,
    )


def _ofac_xml_publish(path: Path, el: ET.Element, warnings: list[str]
                      ) -> tuple[str | None, int | None]:
    """Publish date (ISO) and record count from ``publshInformation`` (OFAC's
    spelling); an unreadable date is a warning, not a refusal."""
    info = _xml_value(el)
    info = info if isinstance(info, dict) else {}
    published = str(info.get("Publish_Date", ""))
    try:
        iso: str | None = datetime.strptime(published, "%m/%d/%Y").date().isoformat()
    except ValueError:
        iso = None
        warnings.append(f"{path.name}: the publish date {published!r} is not MM/DD/YYYY; "
                        "the snapshot has no publish date")
    count = str(info.get("Record_Count", ""))
    return iso, int(count) if count.isdigit() else None


def _xml_error(path: Path, e: ET.ParseError) -> ListFileError:
    line, col = e.position
    if e.code in _XML_TRUNCATED:
        return ListFileError(path, "the XML is truncated: the file ends before its elements are "
                                   "closed (the download was probably cut off)", line=line)
    return ListFileError(path, f"malformed XML: {expat_errors.messages[e.code]} at column "
                               f"{col + 1}", line=line)


def _ofac_xml_events(path: Path, text: str) -> tuple[Any, Iterator[tuple[str, ET.Element]]]:
    """The defused parser and its (start|end, element) stream over ``text``."""
    _check_ofac_root(path, _xml_root(path, text))
    parser = DET.XMLParser(target=ET.TreeBuilder(), forbid_dtd=True)
    return parser, DET.iterparse(_TextChunks(text), events=("start", "end"), parser=parser)


def _parse_ofac_xml(path: Path, text: str, tick: _Ticker
                    ) -> tuple[list[ListEntry], str | None, list[str], bool]:
    """Entries, publish date, warnings and whether it is the non-SDN list, from
    the text of an sdn.xml or consolidated.xml. Pure; streams through the
    document, dropping each entry's elements once it is read."""
    cons, warning = _ofac_xml_list(path)
    warnings = [warning] if warning else []
    parser, events = _ofac_xml_events(path, text)
    entries: list[ListEntry] = []
    publish, expected = None, None
    root: ET.Element | None = None
    ignored: set[str] = set()
    depth = 0
    try:
        for event, el in events:
            if event == "start":
                depth += 1
                if root is None:
                    root = el
                continue
            depth -= 1
            if depth != 1:
                continue
            tag = _local(el.tag)
            if tag == "sdnEntry":
                entries.append(_ofac_xml_entry(path, text, el, len(entries) + 1, cons))
                tick.tick()
            elif tag == "publshInformation":
                publish, expected = _ofac_xml_publish(path, el, warnings)
            else:
                ignored.add(tag)
            if root is not None:
                root.clear()  # an entry is done with: keep memory flat on a 100 MB file
    except ET.ParseError as e:
        raise _xml_error(path, e) from None
    except DefusedXmlException:
        # _xml_root refuses a DOCTYPE first; this is the second lock on the door
        raise ListFileError(path, _DTD_REFUSED, line=parser.parser.CurrentLineNumber) from None
    if not entries:
        raise ListFileError(path, "is an OFAC XML list without entries (no sdnEntry elements)")
    if expected is not None and expected != len(entries):
        warnings.append(f"{path.name}: Record_Count says {expected:,} entries but the file holds "
                        f"{len(entries):,}")
    if ignored:
        warnings.append(f"{path.name}: unknown elements ignored: {', '.join(sorted(ignored))}")
    return entries, publish, warnings, cons


# ---------------------------------------------------------------------------
# BIS Denied Persons List


def _parse_dpl(path: Path, text: str, tick: _Ticker) -> tuple[list[ListEntry], str | None]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as e:
        raise ListFileError(path, f"the header row is malformed ({e})", line=1) from None
    missing = [c for c in DPL_COLUMNS if c not in header]
    if missing:
        raise ListFileError(path, f"wrong columns for a Denied Persons List: missing "
                                  f"{', '.join(missing)}", line=1)
    entries = []
    latest = ""
    today = date.today().isoformat()
    rowno = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problem = str(e)
            if "end of data" in problem:
                problem = "the file is truncated: a quoted field is not closed"
            raise ListFileError(path, problem, line=reader.line_num, row=rowno + 1) from None
        rowno += 1
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ListFileError(path, f"wrong number of columns: {len(row)} instead of "
                                      f"{len(header)}", line=reader.line_num, row=rowno)
        rec = {k: v.strip() for k, v in zip(header, row)}
        if not rec["Name"]:
            raise ListFileError(path, "the Name column is empty", line=reader.line_num, row=rowno)
        upd = rec.get("Last_Update", "")
        # The published file has at least one typo'd future year (3017); ignore those.
        if upd and upd <= today and upd > latest:
            latest = upd
        addr = Address(street=rec["Street_Address"], city=rec["City"], state=rec["State"],
                       postcode=rec["Postal_Code"], country=rec["Country"])
        entries.append(ListEntry(
            list_code="DPL", agency="Bureau of Industry and Security",
            key=_hash_key(rec["Name"], rec["Street_Address"], rec["City"], rec["Effective_Date"]),
            type="", name=rec["Name"], addresses=[addr],
            federal_register_notice=rec.get("FR_Citation", ""),
            start_date=rec.get("Effective_Date", ""),
            remarks=rec.get("Action", ""),
            source_url="https://www.bis.doc.gov/index.php/policy-guidance/lists-of-parties-of-concern/denied-persons-list",
            raw=rec,
        ))
        tick.tick()
    return entries, latest or None


# ---------------------------------------------------------------------------
# public entry point


def parse_file(path: str | os.PathLike[str], format: str | None = None,
               progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
               *, max_bytes: int = MAX_FILE_BYTES) -> ParsedList:
    """Read one list file (and, for OFAC, its sibling files) into entries.

    ``format`` overrides detection (one of :data:`FORMATS`). ``progress(done,
    total)`` is called every few thousand rows (total is an estimate from the
    line count); ``cancel`` (callable or ``threading.Event``) is polled as often
    and raises :class:`Cancelled`. Side effects: reads files only. Thread-safe.
    Raises :class:`ListFileError` for a missing, huge, binary, non-UTF-8,
    truncated, wrongly shaped or unknown file.
    """
    p = Path(path)
    data = _read_bytes(p, max_bytes)
    sha = hashlib.sha256(data).hexdigest()
    text = _decode(p, data)
    if format is None:
        fmt = detect_format(p, text)
    elif format in FORMATS:
        fmt = format
    else:
        raise ValueError(f"unknown list format {format!r}; expected one of {', '.join(FORMATS)}")
    # An XML entry spans many lines; count its closing tags (with or without
    # a namespace prefix) for the progress estimate instead.
    total = text.count("sdnEntry>") // 2 if fmt == OFAC_XML else text.count("\n")
    tick = _Ticker(progress, cancel, total or None)
    publish: str | None = None
    files = {str(p): sha}
    warnings: list[str] = []
    ofac_list: str | None = None
    if fmt == CSL_CSV:
        entries, warnings = _parse_csl_csv(p, text, tick)
    elif fmt == CSL_JSON:
        entries, publish = _parse_csl_json(p, text, tick)
    elif fmt in (OFAC_SDN, OFAC_CONS):
        entries, extra, warnings = _parse_ofac(p, text, tick, cons=fmt == OFAC_CONS)
        files.update(extra)
    elif fmt == OFAC_XML:
        entries, publish, warnings, cons = _parse_ofac_xml(p, text, tick)
        ofac_list = "cons" if cons else "sdn"
    else:
        entries, publish = _parse_dpl(p, text, tick)
    tick.finish()
    if not entries:
        raise ListFileError(p, "contains a header but no list entries")
    return ParsedList(path=str(p), format=fmt, entries=entries, sha256=sha, size=len(data),
                      publish_date=publish, counts=dict(Counter(e.list_code for e in entries)),
                      files=files, warnings=warnings, ofac_list=ofac_list)
