"""Issue 13's tracebacks: each bad input now gets one line naming the file
and place, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.app import Workbench
from workbench.checklists.templates import TemplateError, load_template_bytes
from workbench.errors import ValidationError, WorkbenchError
from workbench.packets.signing import ensure_key
from workbench.records import evidence, shipments
from workbench.rules.engine import TxnError, validate_txn
from workbench.rules.pack import PackError, safe_yaml
from workbench.screening.lists import ListFileError, parse_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text, words", [
    (b"valid_from: 2023-02-30\n", "day is out of range"),
    (b"n: " + b"9" * 5000 + b"\n", "a value cannot be read"),
    (b"a: 1\nb: 2\na: 3\n", "line 3: key 'a' appears twice"),
    (b"rule:\n  when: {eq: [txn.destination, CN]}\n  when: {lit: true}\n", "appears twice"),
])
def test_a_pack_file_with_a_bad_value_is_one_line(text: bytes, words: str) -> None:
    with pytest.raises(PackError, match="requirements.yaml") as e:
        safe_yaml(text, "requirements.yaml")
    assert words in str(e.value) and "\n" not in str(e.value)


def _template(change: str) -> bytes:
    src = (ROOT / "resources/checklists/ownership-headquarters.yaml").read_text(encoding="utf-8")
    out = change(src)
    assert out != src
    return out.encode("utf-8")


@pytest.mark.parametrize("change, words", [
    (lambda s: s.replace("D5_OR_MACAU", "D5_OR_MACA", 1), "did you mean 'D5_OR_MACAU'?"),
    (lambda s: s + "\nextra: " + "9" * 5000 + "\n", "cannot be read"),
    (lambda s: s + "\nexpires: 2023-02-30\n", "day is out of range"),
])
def test_a_template_with_a_bad_value_is_refused_naming_the_place(change, words: str) -> None:
    with pytest.raises(TemplateError) as e:
        load_template_bytes(_template(change), "mine.yaml")
    assert words in str(e.value) and "mine.yaml" in str(e.value)


@pytest.mark.parametrize("date", ["2026-02-30", "2025-13-01", "2026-00-10"])
def test_a_transaction_date_not_in_the_calendar_is_refused(date: str) -> None:
    txn = {"date": date, "destination": "CN", "items": [{"model": "H100"}], "parties": []}
    with pytest.raises(TxnError, match="not a date in the calendar"):
        validate_txn(txn)


def test_a_release_date_not_in_the_calendar_is_refused() -> None:
    txn = {"date": "2026-03-01", "destination": "CN", "parties": [],
           "items": [{"model": "H200", "commercially_available_in_us_on": "2025-02-29"}]}
    with pytest.raises(TxnError, match=r"items\[0\]\.commercially_available_in_us_on"):
        validate_txn(txn)


@pytest.mark.parametrize("content, words", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (json.dumps({"results": [{"name": "X", "addresses": 5}]}), '"addresses" must be a list'),
    (json.dumps({"results": [{"name": "X", "ids": {"a": 1}}]}), '"ids" must be a list'),
])
def test_a_hostile_list_file_is_one_line(tmp_path: Path, content: str, words: str) -> None:
    f = tmp_path / "consolidated.json"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ListFileError) as e:
        parse_file(f)
    assert words in str(e.value) and "consolidated.json" in str(e.value)


def test_an_address_given_as_text_is_one_address_not_one_per_letter(tmp_path: Path) -> None:
    f = tmp_path / "consolidated.json"
    f.write_text(json.dumps({"results": [{"name": "Acme", "addresses": "1 Road, Shenzhen, CN",
                                          "ids": "USCC 914403"}]}), encoding="utf-8")
    entry = parse_file(f).entries[0]
    assert len(entry.addresses) == 1 and len(entry.ids) == 1


@pytest.mark.parametrize("quantity", [2**63, "9" * 30, 1e300, "9" * 6000, float("inf")])
def test_an_enormous_quantity_is_a_field_error(demo_officer_wb: Workbench, quantity) -> None:
    wb = demo_officer_wb
    iid = wb.store.scalar("select id from item order by id limit 1")
    n = wb.store.scalar("select count(*) from audit_event")
    with pytest.raises(ValidationError) as e:
        shipments.save_shipment(wb, {
            "reference": "Q-1", "ship_date": "2026-12-20", "destination": "SG",
            "status": "draft", "parties": [],
            "lines": [{"item_id": iid, "quantity": quantity, "unit_value": "1",
                       "currency": "USD"}]})
    assert e.value.errors[0].field == "lines[0].quantity"
    assert wb.store.scalar("select count(*) from audit_event") == n


def test_a_missing_certificate_beside_its_key_is_one_line(tmp_path: Path) -> None:
    k = ensure_key(tmp_path, "Acme Exports")
    k.cert_path.unlink()
    with pytest.raises(WorkbenchError, match="certificate is missing beside its key"):
        ensure_key(tmp_path, "Acme Exports")
    assert k.key_path.exists()  # nothing replaced: old packets keep their signer


def test_a_link_is_not_taken_as_evidence(demo_officer_wb: Workbench, tmp_path: Path) -> None:
    link = tmp_path / "statement.pdf"
    link.symlink_to("/etc/passwd")
    n = demo_officer_wb.store.scalar("select count(*) from evidence")
    with pytest.raises(evidence.EvidenceError, match="is a link to /etc/passwd"):
        evidence.add_file(demo_officer_wb, link)
    assert demo_officer_wb.store.scalar("select count(*) from evidence") == n
