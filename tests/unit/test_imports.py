"""Import of parties, items and shipments from CSV/XLSX (workbench.spreadsheets.imports).

Each test opens its own database under tmp_path (tests run in parallel).
Fixture files live in tests/data/import/ (make_fixtures.py writes them).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import openpyxl
import pytest

from workbench.db import audit
from workbench.spreadsheets import exports, imports
from workbench.app import Workbench
from workbench.errors import PermissionDenied
from workbench.spreadsheets.imports import Cancelled, HeaderError, import_file
from workbench.records.items import save_item
from workbench.records.parties import find_party, get_party, save_party
from workbench.spreadsheets.reading import TableError, open_table
from workbench.users import User

DATA = Path(__file__).resolve().parent.parent / "data" / "import"


@pytest.fixture
def wb(tmp_path):
    w = Workbench.open(tmp_path / "wb.db")
    yield w
    w.close()


def write_csv(path: Path, header: list[str], rows: list[list[str]],
              encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def party_count(wb) -> int:
    return wb.store.scalar("select count(*) from party")


def events(wb, entity=None) -> int:
    if entity:
        return wb.store.scalar("select count(*) from audit_event where entity = ?", (entity,))
    return wb.store.scalar("select count(*) from audit_event")


# -- the file as a whole ----------------------------------------------------

def test_wrong_headers_give_one_message_listing_expected_and_found(wb):
    with pytest.raises(HeaderError) as e:
        import_file(wb, "parties", DATA / "wrong_headers.csv")
    msg = str(e.value)
    assert "wrong_headers.csv" in msg
    assert "missing required column legal_name" in msg
    assert "Expected columns: legal_name (required), kind" in msg
    assert "Found: 'Firm', 'Land'" in msg
    assert party_count(wb) == 0 and events(wb) == 0


def test_two_headers_meaning_the_same_column_are_refused(wb, tmp_path):
    f = write_csv(tmp_path / "dup.csv", ["Company", "Legal Name"], [["A", "B"]])
    with pytest.raises(HeaderError, match="'Company' and 'Legal Name' both mean legal_name"):
        import_file(wb, "parties", f)


@pytest.mark.parametrize("name, words", [
    ("empty.csv", "is empty (0 bytes)"),
    ("header_only.csv", "has a header row but no data rows"),
    ("garbage.csv", "is a binary file, not a CSV or Excel table"),
    ("truncated.xlsx", "damaged or truncated"),
    ("not_a_workbook.xlsx", "is a zip archive, not an Excel (.xlsx) workbook"),
    ("picture.csv", "is a PNG image, not a CSV or Excel table"),
])
def test_files_that_are_not_tables_are_refused_naming_the_file(wb, name, words):
    with pytest.raises(TableError) as e:
        import_file(wb, "parties", DATA / name)
    assert name in str(e.value) and words in str(e.value)
    assert party_count(wb) == 0 and events(wb) == 0


def test_missing_file(wb, tmp_path):
    with pytest.raises(TableError, match="no such file"):
        import_file(wb, "parties", tmp_path / "nope.csv")


@pytest.mark.parametrize("name, encoding", [
    ("parties_utf8.csv", "utf-8"),
    ("parties_utf8_bom.csv", "utf-8-sig"),
    ("parties_utf16.csv", "utf-16"),
    ("parties_gb18030.csv", "gb18030"),
    ("parties_semicolon.csv", "utf-8"),
    ("parties_tab.txt", "utf-8"),
])
def test_encodings_and_delimiters_keep_chinese_names(wb, name, encoding):
    rep = import_file(wb, "parties", DATA / name)
    assert rep.ok and rep.written, rep.errors
    assert rep.encoding == encoding
    assert rep.created == 3
    pid = find_party(wb.store, "华为技术有限公司")
    assert pid is not None  # the BOM did not stick to the first header either
    p = get_party(wb.store, pid)
    assert p["addresses"][0]["country"] == "CN"
    assert [n["name"] for n in p["names"]] == ["Huawei Technologies"]
    macau = get_party(wb.store, find_party(wb.store, "Macau Compute Ltd."))
    assert macau["addresses"][0]["country"] == "MO"
    assert macau["names"][0] == {"name": "澳门计算有限公司", "kind": "local", "script": "Han"}


def test_windows_1252_falls_back_and_says_so(wb, tmp_path):
    f = tmp_path / "w.csv"
    f.write_bytes("Company,Country\r\nMüller Halbleiter GmbH,DE\r\n".encode("cp1252"))
    rep = import_file(wb, "parties", f)
    assert rep.encoding == "cp1252"
    assert find_party(wb.store, "Müller Halbleiter GmbH") is not None


def test_size_and_row_caps(wb, tmp_path):
    f = write_csv(tmp_path / "p.csv", ["legal_name"], [[f"P{i}"] for i in range(20)])
    with pytest.raises(TableError, match="more than 10 rows"):
        import_file(wb, "parties", f, max_rows=10)
    with pytest.raises(TableError, match="MB this workbench imports at once"):
        import_file(wb, "parties", f, max_bytes=50)
    assert party_count(wb) == 0


# -- formulas -----------------------------------------------------------------

def test_csv_cell_starting_with_equals_is_stored_verbatim(wb):
    rep = import_file(wb, "parties", DATA / "formula_text.csv")
    assert rep.ok and rep.created == 2
    assert find_party(wb.store, '=HYPERLINK("http://x","y")') is not None
    assert find_party(wb.store, "=1+1 Trading Co.") is not None


def test_xlsx_formula_is_reported_never_evaluated(wb):
    rep = import_file(wb, "parties", DATA / "formula.xlsx")
    assert not rep.written and party_count(wb) == 0
    assert [(e.row, e.column, e.reason) for e in rep.errors] == [
        (3, "Country", "holds a formula; type the value instead")]
    assert rep.errors[0].value == '="S"&"G"'
    assert rep.sheet == "Customers"


def test_xlsx_good_only_keeps_text_that_starts_with_equals(wb):
    rep = import_file(wb, "parties", DATA / "formula.xlsx", good_only=True)
    assert rep.written and rep.created == 2 and rep.skipped == 1
    p = get_party(wb.store, find_party(wb.store, "Typed Text Ltd."))
    assert p["notes"] == "=not a formula"
    assert find_party(wb.store, "Sum Corp") is None


# -- rows ---------------------------------------------------------------------

def test_bad_row_7_is_reported_as_row_7_with_the_users_column(wb):
    rep = import_file(wb, "parties", DATA / "parties_bad_row7.csv")
    got = {(e.row, e.column) for e in rep.errors}
    assert (7, "Country") in got and (7, "USCC") in got
    assert (8, "Owner percent") in got  # "abc" is not a number
    country = next(e for e in rep.errors if e.column == "Country")
    assert country.value == "Narnia" and "not a country" in country.reason
    assert "row 7, Country:" in str(country)
    # all or nothing: not one party, not one event
    assert not rep.written and party_count(wb) == 0 and events(wb) == 0
    assert rep.created == 0 and rep.skipped == rep.rows_read == 8


def test_good_only_imports_the_good_rows_and_reports_the_bad(wb):
    rep = import_file(wb, "parties", DATA / "parties_bad_row7.csv", good_only=True)
    assert rep.written and rep.created == 6
    assert rep.bad_rows == [7, 8]
    assert rep.skipped == 2
    assert party_count(wb) == 6
    assert find_party(wb.store, "Bad Party 7") is None
    last = wb.store.one("select * from audit_event order by seq desc limit 1")
    assert last["entity"] == "import"
    assert '"bad_rows":2' in last["after"] and '"created":6' in last["after"]


def test_item_number_error_in_row_7(wb, tmp_path):
    rows = [[f"M{i}", "ACME", "800", "100"] for i in range(2, 9)]
    rows[5][2] = "eight hundred"  # row 7 (header is row 1)
    f = write_csv(tmp_path / "items.csv", ["Model", "Manufacturer", "Die area", "FP16"], rows)
    rep = import_file(wb, "items", f)
    assert [(e.row, e.column, e.value) for e in rep.errors] == [(7, "Die area", "eight hundred")]
    assert wb.store.scalar("select count(*) from item") == 0


def test_duplicate_legal_name_in_the_file(wb, tmp_path):
    f = write_csv(tmp_path / "d.csv", ["legal_name"], [["Alpha"], ["Beta"], ["ALPHA"]])
    rep = import_file(wb, "parties", f)
    assert [(e.row, e.reason) for e in rep.errors] == [
        (4, "the same legal name as row 2; put each party on one row")]


def test_reimport_updates_not_duplicates(wb, tmp_path):
    header = ["legal_name", "country", "phone"]
    f = write_csv(tmp_path / "p.csv", header, [["Alpha Ltd", "SG", "1"], ["Beta Ltd", "HK", "2"]])
    assert import_file(wb, "parties", f).created == 2
    f = write_csv(tmp_path / "p.csv", header, [["alpha ltd", "SG", "111"], ["Beta Ltd", "HK", "2"]])
    rep = import_file(wb, "parties", f)
    assert (rep.created, rep.updated, rep.unchanged) == (0, 1, 1)
    assert party_count(wb) == 2
    alpha = get_party(wb.store, find_party(wb.store, "Alpha Ltd"))
    assert alpha["phone"] == "111" and alpha["version"] == 2
    ev = wb.store.one("select * from audit_event where entity = 'party' and action = 'update'")
    assert '"phone":"1"' in ev["before"] and '"phone":"111"' in ev["after"]


def test_update_keeps_columns_absent_from_the_file(wb, tmp_path):
    save_party(wb, {"legal_name": "Gamma Ltd", "notes": "keep me", "phone": "9",
                    "addresses": [{"city": "Singapore", "country": "SG"}]})
    f = write_csv(tmp_path / "p.csv", ["legal_name", "phone"], [["Gamma Ltd", "10"]])
    rep = import_file(wb, "parties", f)
    assert rep.updated == 1
    g = get_party(wb.store, find_party(wb.store, "Gamma Ltd"))
    assert (g["phone"], g["notes"], g["addresses"][0]["city"]) == ("10", "keep me", "Singapore")


def test_update_existing_off_skips_and_reports(wb, tmp_path):
    save_party(wb, {"legal_name": "Delta Ltd", "phone": "1"})
    f = write_csv(tmp_path / "p.csv", ["legal_name", "phone"], [["Delta Ltd", "2"], ["Eps Ltd", "3"]])
    rep = import_file(wb, "parties", f, update_existing=False)
    assert rep.ok and rep.created == 1 and rep.updated == 0 and rep.skipped == 1
    assert [(n.row, n.column) for n in rep.notices] == [(2, "legal_name")]
    assert get_party(wb.store, find_party(wb.store, "Delta Ltd"))["phone"] == "1"


def test_bulk_written_record_and_audit_equal_what_get_party_reads(wb, tmp_path):
    save_party(wb, {"legal_name": "Holding Co"})
    f = write_csv(tmp_path / "p.csv",
                  ["legal_name", "kind", "other_names", "street", "city", "postcode",
                   "country", "hq_country", "uscc", "email_domain", "parent", "owner",
                   "owner_percent"],
                  [["Sub Co", "Research lab", "子公司; Sub Alias", "1 Road", "Shenzhen",
                    "518000", "China", "HK", "91440300MA5F000007", "@Sub.CN",
                    "Holding Co", "Holding Co; Other Owner", "30; 20.5"],
                   ["Other Owner", "person", "", "", "", "", "", "", "", "", "", "", ""]])
    rep = import_file(wb, "parties", f)
    assert rep.ok and rep.created == 2, rep.errors
    pid = find_party(wb.store, "Sub Co")
    ev = wb.store.one("select after from audit_event where entity = 'party' and"
                      " entity_id = ?", (str(pid),))
    assert ev["after"] == audit.canonical_json(get_party(wb.store, pid))
    p = get_party(wb.store, pid)
    assert p["kind"] == "research_lab" and p["email_domain"] == "sub.cn"
    assert [o["percent"] for o in p["owners"]] == [30.0, 20.5]
    assert p["registrations"] == [{"scheme": "cn_uscc", "value": "91440300MA5F000007"}]
    # and an update through the bulk path
    f2 = write_csv(tmp_path / "p2.csv", ["legal_name", "owner", "owner_percent"],
                   [["Sub Co", "Holding Co", "51"]])
    rep = import_file(wb, "parties", f2)
    assert rep.updated == 1
    ev = wb.store.one("select before, after from audit_event where entity = 'party' and"
                      " entity_id = ? and action = 'update'", (str(pid),))
    assert ev["before"] == audit.canonical_json(p)
    assert ev["after"] == audit.canonical_json(get_party(wb.store, pid))
    assert audit.verify(wb.store).ok


# -- ownership ----------------------------------------------------------------

def test_owners_over_100_percent_are_refused(wb, tmp_path):
    f = write_csv(tmp_path / "o.csv", ["legal_name", "owner", "owner_percent"],
                  [["Owner A", "", ""], ["Owner B", "", ""],
                   ["Owned C", "Owner A; Owner B", "60; 50"],
                   ["Owned D", "Owner A", "120"]])
    rep = import_file(wb, "parties", f)
    assert [(e.row, e.column) for e in rep.errors] == [(4, "owner_percent"), (5, "owner_percent")]
    assert "more than 100%" in rep.errors[0].reason
    assert party_count(wb) == 0


def test_owner_further_down_the_file_and_parent(wb, tmp_path):
    f = write_csv(tmp_path / "o.csv", ["legal_name", "parent", "owner", "owner_percent"],
                  [["Child", "Group", "Group", "60"], ["Group", "", "", ""]])
    rep = import_file(wb, "parties", f)
    assert rep.ok and rep.created == 2, rep.errors
    child = get_party(wb.store, find_party(wb.store, "Child"))
    group = find_party(wb.store, "Group")
    assert child["ultimate_parent_id"] == group
    assert child["owners"] == [{"owner_id": group, "percent": 60.0}]


def test_unknown_owner_and_cycles_are_refused(wb, tmp_path):
    f = write_csv(tmp_path / "o.csv", ["legal_name", "owner", "owner_percent"],
                  [["A1", "Nobody Inc", "10"], ["B1", "C1", "50"], ["C1", "B1", "50"],
                   ["Self", "self", "10"]])
    rep = import_file(wb, "parties", f, good_only=True)
    reasons = {e.row: e.reason for e in rep.errors}
    assert "no party named 'Nobody Inc'" in reasons[2]
    assert "cycle" in reasons.get(3, "") or "cycle" in reasons.get(4, "")
    assert "cannot own itself" in reasons[5]
    # an existing chain: X owns Y in the database; the file makes Y own X
    save_party(wb, {"legal_name": "X corp"})
    save_party(wb, {"legal_name": "Y corp", "owners": [
        {"owner_id": find_party(wb.store, "X corp"), "percent": 100}]})
    f = write_csv(tmp_path / "o2.csv", ["legal_name", "owner", "owner_percent"],
                  [["X corp", "Y corp", "10"]])
    rep = import_file(wb, "parties", f)
    assert not rep.written and "ownership cycle is refused" in rep.errors[0].reason


def test_owner_in_a_bad_row_strands_the_owned_row_in_good_only(wb, tmp_path):
    f = write_csv(tmp_path / "o.csv", ["legal_name", "country", "owner", "owner_percent"],
                  [["Parent Bad", "Atlantis", "", ""], ["Kid", "SG", "Parent Bad", "50"]])
    rep = import_file(wb, "parties", f, good_only=True)
    assert rep.bad_rows == [2, 3]
    assert "row 2, which is not imported" in rep.errors[-1].reason
    assert party_count(wb) == 0


# -- shipments and items ------------------------------------------------------

def _items_and_parties(wb):
    save_item(wb, {"model": "H20", "manufacturer": "NVIDIA"})
    save_item(wb, {"model": "L20", "manufacturer": "NVIDIA"})
    save_party(wb, {"legal_name": "Cloud SG Pte Ltd"})


def test_shipment_rows_sharing_a_reference_form_one_shipment(wb, tmp_path):
    _items_and_parties(wb)
    f = write_csv(tmp_path / "s.csv",
                  ["Reference", "Date", "Destination", "Item", "Qty", "Unit price",
                   "End user"],
                  [["SO-1", "2026-03-02", "Singapore", "H20", "8", "12,000.00",
                    "Cloud SG Pte Ltd"],
                   ["SO-2", "2026-03-03", "MY", "L20", "1", "5000", ""],
                   ["SO-1", "", "", "L20", "2", "7000.5", ""]])
    rep = import_file(wb, "shipments", f)
    assert rep.ok and rep.created == 2, rep.errors
    from workbench.records.shipments import find_shipment, get_shipment
    s = get_shipment(wb.store, find_shipment(wb.store, "SO-1"))
    assert s["destination"] == "SG" and len(s["lines"]) == 2
    assert [ln["unit_value_minor"] for ln in s["lines"]] == [1200000, 700050]
    assert s["parties"][0]["role"] == "end_user"


def test_shipment_errors_point_at_the_line_row(wb, tmp_path):
    _items_and_parties(wb)
    f = write_csv(tmp_path / "s.csv",
                  ["reference", "ship_date", "destination", "item", "quantity",
                   "unit_value", "purchaser"],
                  [["SO-1", "2026-03-02", "SG", "H20", "8", "100", ""],
                   ["SO-1", "2026-03-09", "SG", "H999", "0", "100", "Ghost Ltd"],
                   ["SO-2", "next week", "SG", "H20", "1", "1", ""]])
    rep = import_file(wb, "shipments", f)
    got = {(e.row, e.column) for e in rep.errors}
    assert {(3, "ship_date"), (3, "item"), (3, "purchaser"), (3, "quantity"),
            (4, "ship_date")} <= got
    assert wb.store.scalar("select count(*) from shipment") == 0


def test_template_has_headers_example_and_help(tmp_path):
    for kind in imports.KINDS:
        x = exports.write_template(kind, tmp_path / f"{kind}.xlsx")
        wbk = openpyxl.load_workbook(x)
        assert wbk.sheetnames == [kind, "Help"]
        headers = [c.value for c in wbk[kind][1]]
        assert headers == [s.name for s in imports.COLUMNS[kind]]
        assert wbk["Help"].max_row == len(imports.COLUMNS[kind]) + 1
        c = exports.write_template(kind, tmp_path / f"{kind}.csv")
        with open(c, encoding="utf-8-sig", newline="") as fh:
            assert next(csv.reader(fh)) == headers


def test_party_template_imports(wb, tmp_path):
    t = exports.write_template("parties", tmp_path / "t.xlsx")
    rep = import_file(wb, "parties", t, good_only=True)
    # the example names a parent that does not exist: that is the only problem
    assert {e.column for e in rep.errors} <= {"parent", "owner"}


def test_docs_are_up_to_date():
    doc = Path(__file__).resolve().parents[2] / "docs" / "import-columns.md"
    assert doc.read_text(encoding="utf-8") == imports.columns_markdown(), (
        "docs/import-columns.md is stale: run python -m workbench.spreadsheets.imports --write-docs")


# -- transaction, audit, cancel, roles ------------------------------------------

def test_audit_events_one_per_record_plus_summary(wb):
    rep = import_file(wb, "parties", DATA / "parties_utf8.csv")
    assert events(wb, "party") == 3 and events(wb, "import") == 1
    ev = wb.store.one("select * from audit_event where entity = 'import'")
    assert ev["action"] == "import" and ev["entity_id"] == "parties"
    import json
    after = json.loads(ev["after"])
    assert after["sha256"] == rep.sha256 and len(rep.sha256) == 64
    assert after["file"] == "parties_utf8.csv" and after["created"] == 3
    assert audit.verify(wb.store).ok


def test_cancel_leaves_nothing(wb, tmp_path):
    f = write_csv(tmp_path / "p.csv", ["legal_name"], [[f"P{i}"] for i in range(3000)])
    calls = []

    def progress(done, total):
        calls.append((done, total))

    with pytest.raises(Cancelled):
        import_file(wb, "parties", f, progress=progress, cancel=lambda: len(calls) >= 4)
    assert party_count(wb) == 0 and events(wb) == 0
    assert not wb.store.conn.in_transaction


def test_inside_an_outer_transaction_a_refused_import_leaves_the_callers_work(wb, tmp_path):
    bad = write_csv(tmp_path / "b.csv", ["legal_name", "country"], [["Zed", "Nowhere"]])
    with wb.writing():
        save_party(wb, {"legal_name": "Outer"})
        rep = import_file(wb, "parties", bad)
        assert not rep.written
    assert find_party(wb.store, "Outer") is not None and party_count(wb) == 1


def test_auditor_cannot_import(wb):
    ro = wb.as_user(User(9, "audrey", "auditor"))
    with pytest.raises(PermissionDenied):
        import_file(ro, "parties", DATA / "parties_utf8.csv")


def test_progress_is_reported(wb, tmp_path):
    f = write_csv(tmp_path / "p.csv", ["legal_name"], [[f"P{i}"] for i in range(2000)])
    seen = []
    import_file(wb, "parties", f, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert all(t is None or d <= t for d, t in seen)


# -- volume -------------------------------------------------------------------

@pytest.mark.slow  # ~12 s on 2 cores; still part of the default run
def test_100k_rows(wb, tmp_path):
    f = tmp_path / "big.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Company", "Country", "City", "Other names", "Notes"])
        for i in range(100_000):
            w.writerow([f"Party {i:06d} Ltd", "CN" if i % 2 else "Hong Kong", "Shenzhen",
                        f"公司{i:06d}", "=SUM(A1:A9)" if i == 99_999 else ""])
    t0 = time.perf_counter()
    rep = import_file(wb, "parties", f)
    secs = time.perf_counter() - t0
    assert rep.ok and rep.created == 100_000
    assert party_count(wb) == 100_000 and events(wb) == 100_001
    assert get_party(wb.store, find_party(wb.store, "Party 099999 Ltd"))["notes"] == "=SUM(A1:A9)"
    assert secs < 120, f"100,000 rows took {secs:.0f} s"


def test_open_table_reports_source_rows_with_blank_lines(tmp_path):
    f = tmp_path / "b.csv"
    f.write_text("legal_name\nA\n\nB\n", encoding="utf-8")
    with open_table(f) as t:
        rows = [(r.number, r.values) for r in t.rows() if not r.is_blank()]
    assert rows == [(2, {"legal_name": "A"}), (4, {"legal_name": "B"})]


def test_unknown_kind(wb):
    with pytest.raises(ValueError):
        import_file(wb, "widgets", DATA / "parties_utf8.csv")

