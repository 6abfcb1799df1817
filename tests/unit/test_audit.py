"""The hash-chained audit trail: tamper detection with the triggers dropped,
the triggers themselves, one event per master-data save, read-only roles."""

from __future__ import annotations

import json
import sqlite3

import pytest

from workbench.db import audit
from workbench.records import items, licences, parties, shipments
from workbench.app import Workbench
from workbench.errors import PermissionDenied, ValidationError
from workbench.db.store import Store
from workbench.users import User

OFFICER = User(2, "olivia", "officer", "Olivia Officer")
AUDITOR = User(3, "audrey", "auditor", "Audrey Auditor")


@pytest.fixture
def store(tmp_db_path):
    s = Store(tmp_db_path)
    yield s
    s.close()


@pytest.fixture
def chain(store):
    """A store with six audit events (parties created and edited)."""
    wb = Workbench(store, OFFICER)
    a = parties.save_party(wb, {"legal_name": "Alpha Ltd", "addresses": [{"country": "SG"}]})
    parties.save_party(wb, {"legal_name": "Beta GmbH", "addresses": [{"country": "DE"}]})
    parties.save_party(wb, {"legal_name": "Gamma Inc", "addresses": [{"country": "US"}]})
    rec = parties.get_party(store, a.id)
    rec["notes"] = "edited once"
    parties.save_party(wb, rec)
    parties.save_party(wb, {"legal_name": "Delta Sdn Bhd", "addresses": [{"country": "MY"}]})
    parties.save_party(wb, {"legal_name": "Epsilon FZE", "addresses": [{"country": "AE"}]})
    res = audit.verify(store)
    assert res.ok and res.events == 6
    return store


def _raw(store: Store) -> sqlite3.Connection:
    """A raw connection with the append-only triggers dropped (the attacker)."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.execute("drop trigger audit_event_no_update")
    conn.execute("drop trigger audit_event_no_delete")
    return conn


COLS = ("ts", "user", "entity", "entity_id", "action", "before", "after",
        "prev_hash", "hash")


def test_audit_verify_ok_and_head(chain):
    res = audit.verify(chain)
    assert res.ok and res.problem is None and res.event_seq is None
    assert res.head == audit.head(chain)
    assert res.as_dict()["events"] == 6
    first = chain.one("select * from audit_event where seq = 1")
    assert first["prev_hash"] == audit.GENESIS


def test_audit_empty_chain_verifies(store):
    res = audit.verify(store)
    assert res.ok and res.events == 0 and res.head == audit.GENESIS


def test_audit_tamper_edit_after_names_event(chain):
    conn = _raw(chain)
    after = json.loads(conn.execute("select after from audit_event where seq = 3").fetchone()[0])
    after["legal_name"] = "Somebody Else Ltd"
    conn.execute("update audit_event set after = ? where seq = 3",
                 (audit.canonical_json(after),))
    conn.close()
    res = audit.verify(chain)
    assert not res.ok
    assert res.event_seq == 3
    assert "event 3 was edited" in res.problem
    assert res.events == 2


def test_audit_tamper_edit_last_event_detected(chain):
    conn = _raw(chain)
    conn.execute("update audit_event set user = 'mallory' where seq = 6")
    conn.close()
    res = audit.verify(chain)
    assert not res.ok and res.event_seq == 6 and "edited" in res.problem


def test_audit_tamper_delete_middle_names_missing(chain):
    conn = _raw(chain)
    conn.execute("delete from audit_event where seq = 4")
    conn.close()
    res = audit.verify(chain)
    assert not res.ok
    assert res.event_seq == 4
    assert "event 4 is missing" in res.problem and "removed" in res.problem


def test_audit_tamper_delete_first_event(chain):
    conn = _raw(chain)
    conn.execute("delete from audit_event where seq = 1")
    conn.close()
    res = audit.verify(chain)
    assert not res.ok and res.event_seq == 1 and "missing" in res.problem


def test_audit_tamper_delete_then_renumber(chain):
    """Removing an event and renumbering the rest (so seq has no gap) still
    breaks the chain at the event after the removed one."""
    conn = _raw(chain)
    conn.execute("delete from audit_event where seq = 3")
    for seq in (4, 5, 6):
        conn.execute("update audit_event set seq = ? where seq = ?", (seq - 1, seq))
    conn.close()
    res = audit.verify(chain)
    assert not res.ok and res.event_seq == 3
    assert "does not follow" in res.problem


def test_audit_tamper_swap_two_events(chain):
    conn = _raw(chain)
    rows = {r[0]: r[1:] for r in conn.execute(
        f"select seq, {', '.join(COLS)} from audit_event where seq in (2, 3)")}
    sets = ", ".join(f"{c} = ?" for c in COLS)
    conn.execute(f"update audit_event set hash = 'x' || seq where seq in (2, 3)")
    conn.execute(f"update audit_event set {sets} where seq = 2", rows[3])
    conn.execute(f"update audit_event set {sets} where seq = 3", rows[2])
    conn.close()
    res = audit.verify(chain)
    assert not res.ok and res.event_seq == 2
    assert "does not follow event 1" in res.problem
    assert "reordered" in res.problem


def test_audit_tamper_change_hash(chain):
    conn = _raw(chain)
    conn.execute("update audit_event set hash = ? where seq = 2", ("f" * 64,))
    conn.close()
    res = audit.verify(chain)
    assert not res.ok and res.event_seq == 2 and "edited" in res.problem


def test_audit_tamper_rehashed_edit_breaks_next_event(chain):
    """An attacker who recomputes the edited event's hash is caught by the
    next event's prev_hash; only the head can be rewritten consistently,
    which is why packets carry the head hash."""
    conn = _raw(chain)
    r = conn.execute(f"select seq, {', '.join(COLS)} from audit_event where seq = 2").fetchone()
    seq, ts, user, entity, eid, action, before, after, prev, _ = r
    user = "mallory"
    h = audit.event_hash(seq, ts, user, entity, eid, action, before, after, prev)
    conn.execute("update audit_event set user = ?, hash = ? where seq = 2", (user, h))
    conn.close()
    res = audit.verify(chain)
    assert not res.ok and res.event_seq == 3 and "does not follow event 2" in res.problem


def test_audit_triggers_refuse_update_and_delete(chain):
    head = audit.head(chain)
    with pytest.raises(sqlite3.DatabaseError, match="append-only: UPDATE refused"):
        with chain.transaction() as conn:
            conn.execute("update audit_event set user = 'x' where seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE refused"):
        with chain.transaction() as conn:
            conn.execute("delete from audit_event where seq = 6")
    # also from a raw connection outside the app
    raw = sqlite3.connect(chain.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("delete from audit_event")
    raw.close()
    assert audit.verify(chain).ok and audit.head(chain) == head


def test_audit_append_outside_transaction_refused(store):
    with pytest.raises(RuntimeError, match="outside a transaction"):
        audit.append(store, user="x", entity="e", entity_id=1, action="a")


def _events(store):
    return store.all("select * from audit_event order by seq")


def test_audit_every_master_data_save_appends_one_event(store):
    wb = Workbench(store, OFFICER)
    n0 = len(_events(store))

    def last():
        ev = _events(store)
        return ev, ev[-1]

    p = parties.save_party(wb, {"legal_name": "Owner Holdings Ltd",
                                "addresses": [{"country": "HK"}]})
    ev, e = last()
    assert len(ev) == n0 + 1
    assert (e["user"], e["entity"], e["entity_id"], e["action"]) == (
        "olivia", "party", str(p.id), "create")
    assert e["before"] is None
    assert json.loads(e["after"])["legal_name"] == "Owner Holdings Ltd"

    rec = parties.get_party(store, p.id)
    rec["phone"] = "+852 1234 5678"
    parties.save_party(wb, rec)
    ev, e = last()
    assert len(ev) == n0 + 2 and e["action"] == "update"
    assert json.loads(e["before"])["phone"] == ""
    assert json.loads(e["after"])["phone"] == "+852 1234 5678"
    assert json.loads(e["after"])["version"] == 2

    it = items.save_item(wb, {"model": "H20", "manufacturer": "NVIDIA",
                              "performance": {"fp16": 148}})
    ev, e = last()
    assert len(ev) == n0 + 3 and (e["entity"], e["action"]) == ("item", "create")
    assert json.loads(e["after"])["performance"] == {"fp16": 148.0}

    sh = shipments.save_shipment(wb, {
        "reference": "SO-1", "ship_date": "2026-05-01", "destination": "HK",
        "lines": [{"item_id": it.id, "quantity": 2, "unit_value": "100.50"}],
        "parties": [{"role": "end_user", "party_id": p.id}]})
    ev, e = last()
    assert len(ev) == n0 + 4 and (e["entity"], e["entity_id"]) == ("shipment", str(sh.id))
    assert json.loads(e["after"])["lines"][0]["unit_value_minor"] == 10050

    licences.save_licence(wb, {
        "number": "D000001", "issue_date": "2026-01-01", "expiry_date": "2027-01-01",
        "lines": [{"eccn": "3A090.a", "quantity": 10, "value": "1000"}]})
    ev, e = last()
    assert len(ev) == n0 + 5 and e["entity"] == "licence"
    assert all(x["user"] == "olivia" for x in ev[n0:])
    assert audit.verify(store).ok


def test_audit_failed_save_appends_nothing(store):
    wb = Workbench(store, OFFICER)
    head = audit.head(store)
    with pytest.raises(ValidationError):
        parties.save_party(wb, {"legal_name": "", "addresses": [{"country": "Narnia"}]})
    with pytest.raises(ValidationError):  # fails inside the transaction
        shipments.save_shipment(wb, {"reference": "X", "ship_date": "2026-01-01",
                                     "destination": "SG",
                                     "parties": [{"role": "end_user", "party_id": 999}]})
    assert audit.head(store) == head
    assert store.scalar("select count(*) from shipment") == 0


def test_audit_auditor_cannot_write(store):
    Workbench(store).create_user("owner", "long-enough-pw", "admin")
    wb = Workbench(store, OFFICER)
    p = parties.save_party(wb, {"legal_name": "Readable Ltd"})
    n = store.scalar("select count(*) from audit_event")
    ro = Workbench(store, AUDITOR)
    with pytest.raises(PermissionDenied, match="auditor"):
        parties.save_party(ro, {"legal_name": "Sneaky Ltd"})
    rec = parties.get_party(store, p.id)
    rec["notes"] = "changed by an auditor"
    with pytest.raises(PermissionDenied):
        parties.save_party(ro, rec)
    with pytest.raises(PermissionDenied):
        items.save_item(ro, {"model": "X1"})
    with pytest.raises(PermissionDenied):
        with ro.writing():
            pass
    with pytest.raises(PermissionDenied):
        ro.create_user("eve", "long-enough-pw", "admin")
    assert store.scalar("select count(*) from audit_event") == n
    assert store.scalar("select count(*) from party") == 1
    assert store.scalar("select count(*) from user") == 1
    assert parties.get_party(store, p.id)["notes"] == ""
    assert not store.in_transaction
    # reading is fine
    assert audit.verify(ro.store).ok
