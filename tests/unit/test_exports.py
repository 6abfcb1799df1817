"""Exports (workbench.spreadsheets.exports): round trips, types, and that user text a
spreadsheet could execute is always stored as text. Each test has its own
database under tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess

import openpyxl
import pytest

from workbench.records import browse
from workbench import demo
from workbench.spreadsheets import exports
from workbench.app import Workbench
from workbench.spreadsheets.imports import import_file
from workbench.records.parties import find_party, get_party, save_party

EVIL = ["=1+1", "+2+3", "-4+5", "@SUM(1,2)", "=HYPERLINK(\"http://evil\",\"x\")"]


@pytest.fixture
def wb(tmp_path):
    w = Workbench.open(tmp_path / "wb.db")
    yield w
    w.close()


@pytest.fixture
def demo_wb(tmp_path):
    w = Workbench.open(tmp_path / "demo.db")
    demo.load_demo(w)
    yield w
    w.close()


def _evil_parties(wb):
    for i, name in enumerate(EVIL):
        save_party(wb, {"legal_name": name, "notes": EVIL[-1 - i], "phone": "+86 755 1",
                        "names": ["华为技术有限公司" if i == 0 else f"alias {i}"]})


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_round_trip_into_a_fresh_database(demo_wb, tmp_path, ext):
    fresh = Workbench.open(tmp_path / "fresh.db")
    for kind in ("parties", "items", "shipments"):
        n = exports.export_table(demo_wb, kind, tmp_path / f"{kind}.{ext}")
        assert n > 0
        rep = import_file(fresh, kind, tmp_path / f"{kind}.{ext}")
        assert rep.ok and rep.written, rep.errors
        exports.export_table(fresh, kind, tmp_path / f"{kind}-again.csv")
        exports.export_table(demo_wb, kind, tmp_path / f"{kind}-orig.csv")
        assert (tmp_path / f"{kind}-again.csv").read_bytes() == \
            (tmp_path / f"{kind}-orig.csv").read_bytes()
    # and back into the source: nothing changes
    for kind in ("parties", "items", "shipments"):
        rep = import_file(demo_wb, kind, tmp_path / f"{kind}.{ext}")
        assert rep.created == rep.updated == 0 and rep.unchanged > 0
    fresh.close()


def test_csv_is_utf8_with_bom_and_escapes_formula_text(wb, tmp_path):
    _evil_parties(wb)
    f = exports.export_table(wb, "parties", tmp_path / "p.csv")
    raw = (tmp_path / "p.csv").read_bytes()
    assert f == len(EVIL) and raw.startswith(b"\xef\xbb\xbf")
    with open(tmp_path / "p.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["legal_name"] for r in rows}
    assert names == {"'" + e for e in EVIL}
    assert {r["phone"] for r in rows} == {"'+86 755 1"}
    assert "华为技术有限公司" in {r["other_names"] for r in rows}
    # the import takes the escape off again
    fresh = Workbench.open(tmp_path / "fresh.db")
    rep = import_file(fresh, "parties", tmp_path / "p.csv")
    assert rep.created == len(EVIL)
    for e in EVIL:
        assert get_party(fresh.store, find_party(fresh.store, e))["phone"] == "+86 755 1"
    fresh.close()


def test_xlsx_types_header_filter_and_text_cells(wb, tmp_path):
    _evil_parties(wb)
    exports.export_table(wb, "parties", tmp_path / "p.xlsx")
    book = openpyxl.load_workbook(tmp_path / "p.xlsx")  # not read-only: styles too
    ws = book.active
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{len(EVIL) + 1}"
    assert ws["A1"].font.b
    assert ws.column_dimensions["A"].width >= 10
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if isinstance(c.value, str) and c.value[:1] in "=+-@":
                assert c.data_type == "s", (c.coordinate, c.value)
                assert c.quotePrefix
    assert {ws.cell(r, 1).value for r in range(2, ws.max_row + 1)} == set(EVIL)


def test_xlsx_numbers_and_dates_are_typed(demo_wb, tmp_path):
    exports.export_table(demo_wb, "shipments", tmp_path / "s.xlsx")
    exports.export_table(demo_wb, "items", tmp_path / "i.xlsx")
    s = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    head = [c.value for c in s[1]]
    r2 = {h: c for h, c in zip(head, s[2])}
    assert isinstance(r2["ship_date"].value, dt.datetime) and r2["ship_date"].is_date
    assert r2["quantity"].data_type == "n" and isinstance(r2["quantity"].value, int)
    assert r2["unit_value"].data_type == "n"
    i = openpyxl.load_workbook(tmp_path / "i.xlsx").active
    head = [c.value for c in i[1]]
    r2 = {h: c.value for h, c in zip(head, i[2])}
    assert isinstance(r2["die_area_mm2"], (int, float))
    assert isinstance(r2["datacenter"], bool)


def test_licences_and_audit_use_list_view_columns_and_query(demo_wb, tmp_path):
    n = exports.export_table(demo_wb, "licences", tmp_path / "l.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "l.xlsx").active
    assert [c.value for c in ws[1]] == [c.label for c in browse.VIEWS["licences"].columns]
    assert n == ws.max_row - 1 and n >= 1
    assert isinstance(ws["E2"].value, dt.datetime)  # issue date is a date
    total = exports.export_table(demo_wb, "audit", tmp_path / "a.csv")
    only = exports.export_table(demo_wb, "audit", tmp_path / "a2.csv",
                                browse.Query(filters={"entity": "item"}))
    assert 0 < only < total
    with open(tmp_path / "a2.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["Entity"] for r in rows} == {"item"}


def test_cancelled_export_leaves_no_file(demo_wb, tmp_path):
    target = tmp_path / "a.xlsx"
    with pytest.raises(exports.ExportCancelled):
        exports.write_sheets(target, [exports.Sheet("x", ["a"], ([i] for i in range(2000)))],
                             cancel=lambda: True)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_unknown_table_and_extension(wb, tmp_path):
    with pytest.raises(Exception, match="cannot export"):
        exports.export_table(wb, "secrets", tmp_path / "x.csv")
    with pytest.raises(Exception, match="csv or .xlsx"):
        exports.export_table(wb, "parties", tmp_path / "x.ods")


@pytest.mark.skipif(shutil.which("soffice") is None and shutil.which("libreoffice") is None,
                    reason="LibreOffice is not installed")
def test_libreoffice_shows_formula_text_as_text(wb, tmp_path):
    """The real check: a spreadsheet application opens our files and shows the
    text, not a computed value."""
    _evil_parties(wb)
    exports.export_table(wb, "parties", tmp_path / "p.xlsx")
    exports.export_table(wb, "parties", tmp_path / "p.csv")
    out = tmp_path / "out"
    out.mkdir()
    profile = (tmp_path / "lo-profile").as_uri()  # own profile: tests run in parallel
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1",
                    "--outdir", str(out), str(tmp_path / "p.xlsx")],
                   check=True, capture_output=True, timeout=180, env=env)
    with open(out / "p.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert {r[0] for r in rows[1:]} == set(EVIL)  # "=1+1", not "2"
    # the CSV, opened by LibreOffice and saved as xlsx: still text, no formula
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "xlsx", "--outdir", str(out), str(tmp_path / "p.csv")],
                   check=True, capture_output=True, timeout=180, env=env)
    ws = openpyxl.load_workbook(out / "p.xlsx").active
    values = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert all(isinstance(v, str) and v.startswith("'") for v in values), values
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, ws.max_row + 1))
