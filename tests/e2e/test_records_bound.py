"""Issue 13: records edited behind the trail's back (the triggers dropped
with sqlite3) are found by `check`: a list entry deleted or edited, an
evidence file swapped with its stored hash "fixed"."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tests.e2e.test_cli import run
from workbench.app import Workbench
from workbench.records import evidence

PASSWORD = "demo-password"


def _sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    for (name,) in con.execute("select name from sqlite_master where type = 'trigger'"
                               ).fetchall():
        con.execute(f'drop trigger "{name}"')
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def test_check_is_clean_on_an_untouched_database(demo_db: Path) -> None:
    r = run(demo_db, "check")
    assert r.returncode == 0, r.stdout
    assert "evidence): ok, as the trail recorded them" in r.stdout


def test_a_licence_line_raised_is_found(demo_db: Path) -> None:
    _sql(demo_db, "update licence_line set quantity = 100000 where quantity = 128")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert "lines[0].quantity: 100000, the trail recorded 128" in r.stdout


def test_deleted_drawdowns_are_found(demo_db: Path) -> None:
    _sql(demo_db, "delete from ledger_drawdown")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert "(D1187342, SO-2026-0003): deleted from the ledger outside the workbench" \
        in r.stdout


def test_a_renamed_party_is_found(demo_db: Path) -> None:
    _sql(demo_db, "update party set legal_name = 'Harmless Trading Co' where legal_name like"
                  " 'Merlion AI Cloud (Johor)%'")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert "(Harmless Trading Co): legal_name: \"Harmless Trading Co\", the trail recorded " \
           "\"Merlion AI Cloud (Johor) Sdn. Bhd.\"" in r.stdout


def test_a_record_no_event_made_is_found(demo_db: Path) -> None:
    _sql(demo_db, "insert into item (model, manufacturer, description, hs_code, eccn, uom,"
                  " notes, version, created_at, updated_at) select 'Smuggled X1', manufacturer,"
                  " description, hs_code, eccn, uom, notes, 1, created_at, updated_at from item"
                  " limit 1")
    r = run(demo_db, "check")
    assert r.returncode == 1 and "(Smuggled X1): no event in the trail created it" in r.stdout


def test_a_deleted_list_entry_is_found(demo_db: Path) -> None:
    assert "Huawei" in run(demo_db, "screen", "Huawei Technologies Co., Ltd.").stdout
    # the entry gone, and the snapshot's own count "fixed" to match
    _sql(demo_db, "delete from list_entry where name like 'Huawei%'",
         "update list_snapshot set entry_count = (select count(*) from list_entry"
         " where snapshot_id = list_snapshot.id)")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert "DO NOT MATCH THE TRAIL" in r.stdout
    assert "entries were deleted or added outside the workbench" in r.stdout


def test_an_edited_list_entry_is_found_by_the_digest(demo_db: Path) -> None:
    _sql(demo_db, "update list_entry set name = 'Harmless Trading Co'"
                  " where name like 'Huawei%'")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert "its entries were edited after the import" in r.stdout


def test_a_swapped_evidence_file_is_found(demo_db: Path, tmp_path: Path) -> None:
    f = tmp_path / "end-user-statement.txt"
    f.write_text("Signed end-user statement, 2026-11-02\n", encoding="utf-8")
    wb = Workbench.open(demo_db)
    wb.login("olivia", PASSWORD)
    eid = evidence.add_file(wb, f).id
    wb.close()
    assert run(demo_db, "check").returncode == 0
    forged = b"A different statement\n"
    digest = hashlib.sha256(forged).hexdigest()
    _sql(demo_db, f"update evidence set content = x'{forged.hex()}', sha256 = '{digest}',"
                  f" size = {len(forged)} where id = {eid}")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert f"evidence {eid} (end-user-statement.txt): its recorded hash or size was " \
           f"changed after it was added" in r.stdout
    # the bytes alone swapped (hash left): found too
    _sql(demo_db, f"update evidence set sha256 = (select json_extract(after, '$.sha256')"
                  f" from audit_event where entity = 'evidence' and entity_id = '{eid}'),"
                  f" size = 38 where id = {eid}")
    r = run(demo_db, "check")
    assert r.returncode == 1 and "its bytes hash to" in r.stdout


def _held(db: Path) -> int:
    """SO-2026-0004 put on hold through the workbench (a recorded status move)."""
    from workbench.clearance import status
    from workbench.records.shipments import find_shipment

    wb = Workbench.open(db)
    wb.login("olivia", PASSWORD)
    sid = find_shipment(wb.store, "SO-2026-0004")
    status.hold(wb, sid, "waiting for the end-user statement")
    wb.close()
    return sid


def test_a_shipment_status_set_by_hand_is_found(demo_db: Path) -> None:
    sid = _held(demo_db)
    assert run(demo_db, "check").returncode == 0
    _sql(demo_db, f"update shipment set status = 'cleared' where id = {sid}")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert f"shipment {sid} (SO-2026-0004): status: \"cleared\", the trail recorded " \
           f"\"on_hold\"" in r.stdout


def test_a_shipment_line_raised_is_found(demo_db: Path) -> None:
    _sql(demo_db, "update shipment_line set quantity = quantity + 1000 where shipment_id ="
                  " (select id from shipment where reference = 'SO-2026-0002')")
    r = run(demo_db, "check")
    assert r.returncode == 1 and "(SO-2026-0002): lines[0].quantity:" in r.stdout


def test_a_status_move_deleted_or_rewritten_is_found(demo_db: Path) -> None:
    _held(demo_db)
    _sql(demo_db, "update ledger_status_event set reason = 'approved by the director',"
                  " approver = 'arthur'")
    r = run(demo_db, "check")
    assert r.returncode == 1 and "reads hold to on_hold approved by arthur" in r.stdout
    _sql(demo_db, "delete from ledger_status_event")
    r = run(demo_db, "check")
    assert "deleted from the shipment's history outside the workbench" in r.stdout
