"""Reading the spreadsheets officers already keep: CSV and XLSX, row by row.

:func:`open_table` looks at a file's bytes (never trusting its extension),
decides what it is, and hands back a :class:`Table` whose rows stream one at a
time, so a 200 MB file costs one row of memory, not the whole file.

What it guarantees, because every file may be wrong, huge, truncated or
hostile (DESIGN.md, "Bad input"):

- A problem with the file as a whole (empty, binary, a PNG, a zip that is not
  an Excel workbook, a truncated workbook, too big, text in an encoding we
  cannot read) raises :class:`TableError` with a message naming the file.
- CSV encodings: UTF-8 (with or without BOM), UTF-16 and UTF-32 (with BOM, or
  UTF-16 without BOM when the NUL pattern shows it), GB18030 (what Chinese
  Excel saves as "CSV"), and Windows-1252 as a last resort for Western Excel;
  the encoding used is reported so a wrong guess is visible. The delimiter
  (comma, semicolon or tab) is sniffed with :class:`csv.Sniffer`.
- XLSX is read with openpyxl in read-only mode (defusedxml refuses XML bombs
  and external entities). Formulas are NEVER evaluated: a cell holding a
  formula comes back as a bad cell, not a value. Error cells (#DIV/0!) too.
- A CSV cell that starts with "=" is text and is kept verbatim: CSV has no
  formulas, only spreadsheets that guess. The one exception is the escape our
  own export writes (a ``'`` before = + - @ tab or CR, the OWASP advice
  against CSV injection), which is removed again so export → import round
  trips.

Row numbers are the ones the user sees in their spreadsheet: the header is
row 1, the first data row is row 2, and blank rows still count.

Threading: a Table is used by one thread; it holds an open file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import WorkbenchError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_ROWS = 1_000_000
# A workbook is a zip; its XML may expand a lot. Refuse zips whose declared
# uncompressed size is out of proportion (a zip bomb) before parsing any XML.
_MAX_XLSX_EXPANSION = 10
_SAMPLE = 64 * 1024
# Characters a spreadsheet may read as the start of a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# csv's default field limit (128 KiB per cell) is left alone (it is process
# wide): a bigger cell is "a whole file in one cell", reported as a bad row.


class TableError(WorkbenchError):
    """The file as a whole cannot be read as a table; the message names it."""


@dataclass
class Row:
    """One data row: ``number`` as the user sees it (header = 1), ``values``
    keyed by the header text as written in the file, ``bad`` the cells that
    could not be taken as values (header → reason)."""

    number: int
    values: dict[str, Any]
    bad: dict[str, str] = field(default_factory=dict)

    def is_blank(self) -> bool:
        return not self.bad and all(
            v is None or (isinstance(v, str) and not v.strip())
            for v in self.values.values())


def _magic_kind(head: bytes) -> str | None:
    """Name what a file is from its first bytes, when it is not text."""
    signatures = (
        (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"),
        (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"), (b"SQLite format 3\x00", "an SQLite database"),
        (b"\x7fELF", "a program (ELF)"), (b"MZ", "a Windows program"),
        (b"BZh", "a bzip2 archive"),
    )
    for sig, kind in signatures:
        if head.startswith(sig):
            return kind
    return None


def _looks_binary(text: str) -> bool:
    """Control characters other than tab/CR/LF/FF in decoded text mean the
    bytes were never a table, whatever decoded them."""
    if not text:
        return False
    bad = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\r\n\f")
    return bad > 0 and bad * 100 > len(text) or "\x00" in text


def _gb_pairs_plausible(sample: bytes) -> bool:
    """True when the non-ASCII bytes look like GB2312/GBK Chinese text rather
    than Western Windows-1252 text: in Chinese text almost every high byte is
    part of a pair whose both bytes are >= 0xA1 (the GB2312 area); in
    Windows-1252 text an accented letter (0xC0–0xFF) is followed by ASCII."""
    pairs = good = 0
    i, n = 0, len(sample)
    while i < n:
        b = sample[i]
        if b < 0x80:
            i += 1
            continue
        if i + 1 < n and 0x30 <= sample[i + 1] <= 0x39:  # GB18030 4-byte form
            pairs += 1
            good += 1
            i += 4
            continue
        pairs += 1
        if b >= 0xA1 and i + 1 < n and sample[i + 1] >= 0xA1:
            good += 1
        i += 2
    return pairs == 0 or good * 10 >= pairs * 8


def detect_encoding(path: Path, head: bytes) -> str:
    """The codec to read a CSV with; raises TableError for binary files.

    ``head`` is the file's first bytes (a sample). Pure apart from reading
    nothing more: the whole-file check happens while rows are read.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF32_LE) or head.startswith(codecs.BOM_UTF32_BE):
        return "utf-32"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if b"\x00" in head:
        # UTF-16 without a BOM: ASCII text shows a NUL in every other byte.
        even = head[0::2].count(0)
        odd = head[1::2].count(0)
        half = len(head) // 2 or 1
        if odd * 10 >= half * 7 and even * 10 < half:
            return "utf-16-le"
        if even * 10 >= half * 7 and odd * 10 < half:
            return "utf-16-be"
        raise TableError(f"{path.name}: is a binary file, not a CSV or Excel table")
    for enc in ("utf-8", "gb18030"):
        try:
            # final=False: the sample may end inside a multi-byte character.
            codecs.getincrementaldecoder(enc)("strict").decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if enc == "gb18030" and not _gb_pairs_plausible(head):
            continue
        return enc
    try:
        text = head.decode("cp1252")
    except UnicodeDecodeError:
        raise TableError(
            f"{path.name}: is not readable text (not UTF-8, UTF-16, GB18030 or "
            f"Windows-1252). If it is a table, save it again as "
            f"\"CSV UTF-8\" or as .xlsx") from None
    if _looks_binary(text):
        raise TableError(f"{path.name}: is a binary file, not a CSV or Excel table")
    return "cp1252"


def normalise_header(h: Any) -> str:
    """The form headers are compared in: case, spaces, underscores, hyphens
    and punctuation do not matter ("Legal Name" = "legal_name" = "LEGALNAME")."""
    s = unicodedata.normalize("NFKC", "" if h is None else str(h)).casefold()
    return re.sub(r"[\W_]+", "", s)


class Table:
    """An open table: ``headers`` as written in the file, ``rows()`` streams
    :class:`Row` objects. Use as a context manager (it holds the file open).

    Attributes: ``path``, ``format`` ("csv" or "xlsx"), ``encoding`` and
    ``delimiter`` (CSV), ``sheet`` (XLSX), ``estimated_rows`` (data rows, an
    estimate for progress bars; None when unknown).
    """

    path: Path
    format: str
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    estimated_rows: int | None = None

    def rows(self) -> Iterator[Row]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        pass

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clean_headers(path: Path, raw: list[Any], where: str) -> list[str]:
    headers = ["" if h is None else str(h).strip() for h in raw]
    while headers and not headers[-1]:
        headers.pop()  # trailing empty columns that Excel likes to keep
    if not any(headers):
        raise TableError(f"{path.name}: {where} is empty; the first row must "
                         f"hold the column headers")
    return headers


def _unescape_csv(value: str) -> str:
    """Undo the CSV-injection escape our export writes (``'=…`` → ``=…``)."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


class CsvTable(Table):
    format = "csv"

    def __init__(self, path: Path, head: bytes, size: int, max_rows: int):
        self.path = path
        self.max_rows = max_rows
        self.encoding = detect_encoding(path, head)
        self._fh = open(path, "r", encoding=self.encoding, errors="strict", newline="")
        try:
            sample = self._fh.read(_SAMPLE)
        except UnicodeDecodeError:
            self._fh.close()
            raise TableError(f"{path.name}: is not valid {self.encoding} text near "
                             f"the start; save it again as \"CSV UTF-8\"") from None
        if _looks_binary(sample):
            self._fh.close()
            raise TableError(f"{path.name}: is a binary file, not a CSV or Excel table")
        if not sample.strip():
            self._fh.close()
            raise TableError(f"{path.name}: is empty (no header row, no data)")
        self.delimiter = self._sniff(sample)
        self._fh.seek(0)
        self._reader = csv.reader(self._fh, delimiter=self.delimiter)
        try:
            first = next(self._reader)
        except (csv.Error, UnicodeDecodeError) as e:
            self._fh.close()
            raise TableError(f"{path.name}: the header row cannot be read ({e})") from None
        if first and first[0].startswith("\ufeff"):
            first[0] = first[0][1:]  # a BOM inside UTF-16/32 text
        self.headers = _clean_headers(path, first, "the header row")
        # Progress estimate: lines in the file (quoted newlines make it an
        # over-estimate, which is harmless for a progress bar).
        self.estimated_rows = self._estimate_rows(size)

    def _estimate_rows(self, size: int) -> int | None:
        nl = b"\n" if self.encoding not in ("utf-16", "utf-16-le", "utf-16-be", "utf-32") else None
        if nl is None:
            return None
        n = 0
        with open(self.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                n += chunk.count(nl)
        return max(n - 1, 0) + 1

    def _sniff(self, sample: str) -> str:
        # Only whole lines: a cut-off quoted field confuses the sniffer.
        cut = sample.rfind("\n")
        text = sample[:cut] if cut > 0 else sample
        try:
            d = csv.Sniffer().sniff(text, delimiters=",;\t").delimiter
        except csv.Error:
            d = None
        first = text.split("\n", 1)[0]
        if d is None or first.count(d) == 0:
            # The sniffer gives up on short or irregular files; the header line
            # rarely holds a delimiter inside a name, so count there instead.
            counts = {c: first.count(c) for c in (",", ";", "\t")}
            best = max(counts, key=counts.get)
            d = best if counts[best] else ","
        return d

    def rows(self) -> Iterator[Row]:
        headers = self.headers
        width = len(headers)
        number = 1
        try:
            for cells in self._reader:
                number += 1
                if number - 1 > self.max_rows:
                    raise TableError(
                        f"{self.path.name}: more than {self.max_rows:,} rows; "
                        f"split the file or raise the limit")
                values: dict[str, Any] = {}
                bad: dict[str, str] = {}
                for i, v in enumerate(cells):
                    if i < width and headers[i]:
                        values[headers[i]] = _unescape_csv(v)
                    elif v.strip():
                        bad[f"column {i + 1}"] = "a value in a column without a header"
                yield Row(number, values, bad)
        except UnicodeDecodeError:
            raise TableError(
                f"{self.path.name}: row {number + 1} is not valid {self.encoding} "
                f"text; the file mixes encodings or is damaged. Save it again as "
                f"\"CSV UTF-8\"") from None
        except csv.Error as e:
            raise TableError(f"{self.path.name}: row {number + 1} cannot be read "
                             f"as CSV ({e})") from None

    def close(self) -> None:
        self._fh.close()


class XlsxTable(Table):
    format = "xlsx"

    def __init__(self, path: Path, size: int, max_bytes: int, max_rows: int,
                 sheet: str | None):
        import openpyxl  # heavy; only when an Excel file is read

        self.path = path
        self.max_rows = max_rows
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                expanded = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise TableError(f"{path.name}: is a damaged or truncated Excel/zip "
                             f"file ({e})") from None
        if "[Content_Types].xml" not in names or not any(
                n.startswith("xl/") for n in names):
            raise TableError(f"{path.name}: is a zip archive, not an Excel (.xlsx) "
                             f"workbook")
        if expanded > max(max_bytes, size) * _MAX_XLSX_EXPANSION:
            raise TableError(f"{path.name}: unpacks to {expanded:,} bytes, more than "
                             f"this workbench reads (limit "
                             f"{max_bytes * _MAX_XLSX_EXPANSION:,})")
        try:
            # read_only streams rows; data_only=False so formulas are SEEN
            # (and refused) rather than replaced by a cached value that the
            # file's author controls and nobody checked.
            self._wb = openpyxl.load_workbook(path, read_only=True, data_only=False,
                                              keep_links=False)
        except Exception as e:  # openpyxl raises many types for bad files
            raise TableError(f"{path.name}: cannot be opened as an Excel workbook "
                             f"({type(e).__name__}: {e})") from None
        try:
            if sheet is not None:
                if sheet not in self._wb.sheetnames:
                    raise TableError(f"{path.name}: has no sheet named {sheet!r} "
                                     f"(it has {', '.join(self._wb.sheetnames)})")
                self._ws = self._wb[sheet]
            else:
                self._ws = self._wb.worksheets[0]
            self.sheet = self._ws.title
            if not hasattr(self._ws, "iter_rows"):
                raise TableError(f"{path.name}: the sheet {self.sheet!r} is a chart, "
                                 f"not a table")
            self._iter = self._ws.iter_rows()
            try:
                first = next(self._iter)
            except StopIteration:
                raise TableError(f"{path.name}: is empty (sheet {self.sheet!r} has "
                                 f"no header row, no data)") from None
            heads = []
            for c in first:
                v = getattr(c, "value", None)
                if getattr(c, "data_type", None) == "f":
                    raise TableError(f"{path.name}: a header holds a formula ({v}); "
                                     f"headers must be typed text")
                heads.append(v)
            self.headers = _clean_headers(path, heads, f"sheet {self.sheet!r}")
            mr = self._ws.max_row
            self.estimated_rows = (mr - 1) if isinstance(mr, int) and mr > 1 else None
        except TableError:
            self.close()
            raise
        except Exception as e:
            self.close()
            raise TableError(f"{path.name}: is damaged or truncated "
                             f"({type(e).__name__}: {e})") from None

    def rows(self) -> Iterator[Row]:
        headers = self.headers
        width = len(headers)
        number = 1
        try:
            for cells in self._iter:
                number += 1
                if number - 1 > self.max_rows:
                    raise TableError(
                        f"{self.path.name}: more than {self.max_rows:,} rows; "
                        f"split the file or raise the limit")
                values: dict[str, Any] = {}
                bad: dict[str, str] = {}
                for i, c in enumerate(cells):
                    v = getattr(c, "value", None)
                    if v is None:
                        continue
                    name = headers[i] if i < width and headers[i] else None
                    label = name or f"column {i + 1}"
                    dt = getattr(c, "data_type", None)
                    if dt == "f" or (dt is None and isinstance(v, str) and v.startswith("=")):
                        bad[label] = "holds a formula; type the value instead"
                        values[label] = str(v)
                        continue
                    if dt == "e":
                        bad[label] = f"holds the spreadsheet error {v}"
                        values[label] = str(v)
                        continue
                    if isinstance(v, _dt.time) or isinstance(v, _dt.timedelta):
                        v = str(v)
                    if name is None:
                        if not (isinstance(v, str) and not v.strip()):
                            bad[label] = "a value in a column without a header"
                        continue
                    values[name] = v
                yield Row(number, values, bad)
        except TableError:
            raise
        except Exception as e:
            raise TableError(f"{self.path.name}: is damaged or truncated after row "
                             f"{number} ({type(e).__name__}: {e})") from None

    def close(self) -> None:
        wb = getattr(self, "_wb", None)
        if wb is not None:
            try:
                wb.close()
            except Exception:
                pass


def open_table(path: str | os.PathLike[str], *, sheet: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES,
               max_rows: int = DEFAULT_MAX_ROWS) -> Table:
    """Open a CSV or XLSX file as a :class:`Table` (what it is is decided by
    its content, not its extension).

    Side effects: opens the file (close the Table, or use ``with``); reads a
    sample, and for CSV counts lines once for the progress estimate. Raises
    TableError for a missing, empty, too big, binary or damaged file, naming
    it. ``sheet`` picks an XLSX sheet by name (default: the first).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise TableError(f"{p}: no such file") from None
    except OSError as e:
        raise TableError(f"{p}: cannot be read ({e.strerror})") from None
    if p.is_dir():
        raise TableError(f"{p.name}: is a folder, not a file")
    if size == 0:
        raise TableError(f"{p.name}: is empty (0 bytes)")
    if size > max_bytes:
        raise TableError(f"{p.name}: is {size / 1e6:,.0f} MB, more than the "
                         f"{max_bytes / 1e6:,.0f} MB this workbench imports at once; "
                         f"split the file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(_SAMPLE)
    except OSError as e:
        raise TableError(f"{p.name}: cannot be read ({e.strerror})") from None
    kind = _magic_kind(head)
    if kind == "zip":
        return XlsxTable(p, size, max_bytes, max_rows, sheet)
    if kind == "xls":
        raise TableError(f"{p.name}: is an old Excel 97–2003 (.xls) file; open it "
                         f"in Excel or LibreOffice and save it as .xlsx or CSV")
    if kind is not None:
        raise TableError(f"{p.name}: is {kind}, not a CSV or Excel table")
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        # Named like Excel but not a zip: truncated at the very start, or
        # something else renamed.
        if _looks_binary(head.decode("latin-1")):
            raise TableError(f"{p.name}: is not an Excel workbook (damaged, or "
                             f"another kind of file renamed to .xlsx)")
    return CsvTable(p, head, size, max_rows)


def read_rows(path: str | os.PathLike[str], **kw: Any) -> tuple[list[str], list[Row]]:
    """Convenience for small files and tests: headers and every row in a list.

    Side effects: reads the whole file into memory; use :func:`open_table`
    for big files.
    """
    with open_table(path, **kw) as t:
        return t.headers, list(t.rows())


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks (flat memory)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["Table", "Row", "TableError", "open_table", "read_rows", "sha256_file",
           "normalise_header", "detect_encoding", "FORMULA_TRIGGERS",
           "DEFAULT_MAX_BYTES", "DEFAULT_MAX_ROWS"]
