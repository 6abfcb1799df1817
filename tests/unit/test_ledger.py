"""Licence ledger: tolerance by unit, overdraw, expiry, parties, reversal,
append-only rows, balances and warnings (regulations.md §7)."""

from __future__ import annotations

import sqlite3

import pytest

from workbench.db import audit
from workbench.records import licences, shipments
from workbench.app import Workbench
from workbench.errors import PermissionDenied
from workbench.licensing import LedgerRefused
from workbench.licensing import ledger as L
from workbench.users import authenticate

PW = "demo-password"


@pytest.fixture()
def wb(demo_officer_wb: Workbench) -> Workbench:
    return demo_officer_wb


def _party(wb: Workbench, ref: str, role: str) -> int:
    return wb.store.scalar("select sp.party_id from shipment_party sp join shipment s on"
                           " s.id = sp.shipment_id where s.reference = ? and sp.role = ?",
                           (ref, role))


def _item(wb: Workbench, model: str) -> int:
    return wb.store.scalar("select id from item where model = ?", (model,))


def _shipment(wb: Workbench, ref: str, lines: list[tuple[str, int, str]], *,
              date: str = "2026-09-01", party_of: str = "SO-2026-0004") -> int:
    """A shipment to the parties of D1190815 (ultimate consignee = end user)."""
    pid = _party(wb, party_of, "end_user")
    return shipments.save_shipment(wb, {
        "reference": ref, "ship_date": date, "destination": "MY",
        "lines": [{"item_id": _item(wb, m), "quantity": q, "unit_value": v, "currency": "USD"}
                  for m, q, v in lines],
        "parties": [{"role": "ultimate_consignee", "party_id": pid},
                    {"role": "end_user", "party_id": pid}]}).id


# -- pure tolerance rules ---------------------------------------------------------------

def test_unit_of_eccn() -> None:
    assert L.eccn_unit("3A090.a", 10) == "number"
    assert L.eccn_unit("4A090.a", 10) == "number"
    assert L.eccn_unit("5D002", 10) == "$ value"
    assert L.eccn_unit("3A090.a", None) == "$ value"  # licensed by value only


@pytest.mark.parametrize("used_q,used_v,q,v,ok", [
    (0, 0, 10, 100_000, True),          # exactly the licence
    (0, 0, 10, 110_000, True),          # value at the 10% tolerance cap
    (0, 0, 10, 110_001, False),         # value over the cap
    (0, 0, 11, 100_000, False),         # quantity is exact: no tolerance
    (9, 90_000, 1, 20_000, True),       # last unit, value within tolerance
    (10, 99_000, 1, 0, False),          # full quantity shipped: nothing more
])
def test_number_unit_tolerance(used_q, used_v, q, v, ok) -> None:
    why = L.check_fit(unit="number", licensed_qty=10, licensed_value=100_000, used_qty=used_q,
                      used_value=used_v, qty=q, value=v, tolerance_pct=10)
    assert (why is None) is ok, why
    if not ok:
        assert "750.11" in why or "750.7(f)" in why


@pytest.mark.parametrize("v,ok", [(100_000, True), (100_001, False)])
def test_dollar_value_unit_has_no_tolerance(v, ok) -> None:
    why = L.check_fit(unit="$ value", licensed_qty=None, licensed_value=100_000, used_qty=0,
                      used_value=0, qty=1, value=v, tolerance_pct=10)
    assert (why is None) is ok
    if not ok:
        assert "no shipping tolerance" in why and "750.11" in why


# -- drawing on the demo licences --------------------------------------------------------

def test_draw_balance_and_refused_second_draw(wb: Workbench) -> None:
    st = wb.store
    sid, lid = L.find_shipment_ref(st, "SO-2026-0004"), L.find_licence(st, "D1190815")
    head = audit.head(st)
    ch = L.draw(wb, sid, lid)
    made = ch.record["drawdowns"]
    assert [(d["shipment_line"], d["licence_line"], d["quantity"]) for d in made] == \
        [(1, 1, 32), (2, 2, 16)]
    assert audit.head(st) != head
    b = L.balance(st, lid)
    assert [ln["remaining_quantity"] for ln in b["lines"]] == [0, 0]
    assert b["lines"][0]["value_cap_minor"] == 99_000_000  # 900,000 + 10 %
    assert any("100% used" in w for w in b["warnings"])
    with pytest.raises(LedgerRefused) as ei:
        L.draw(wb, sid, lid)
    assert "already drawn" in str(ei.value) and "reverse that drawdown first" in str(ei.value)


def test_overdraw_refused_with_reason(wb: Workbench) -> None:
    st = wb.store
    lid = L.find_licence(st, "D1190815")
    sid = _shipment(wb, "BIG-1", [("H100 SXM5 80GB", 33, "20000.00")])
    with pytest.raises(LedgerRefused) as ei:
        L.draw(wb, sid, lid)
    assert "over the licensed 32" in str(ei.value) and "750.7(f)" in str(ei.value)
    assert L.drawdowns(st, licence_id=lid) == []
    # two shipments: the second one would overdraw
    a = _shipment(wb, "PART-1", [("H100 SXM5 80GB", 20, "20000.00")])
    b = _shipment(wb, "PART-2", [("H100 SXM5 80GB", 13, "20000.00")])
    L.draw(wb, a, lid)
    with pytest.raises(LedgerRefused, match="only 12 left"):
        L.draw(wb, b, lid)


def test_value_tolerance_through_draw(wb: Workbench) -> None:
    st = wb.store
    lid = L.find_licence(st, "D1190815")
    over = _shipment(wb, "VAL-OVER", [("H100 SXM5 80GB", 32, "30937.51")])
    with pytest.raises(LedgerRefused, match="10% shipping tolerance"):
        L.draw(wb, over, lid)
    at_cap = _shipment(wb, "VAL-CAP", [("H100 SXM5 80GB", 32, "30937.50")])
    L.draw(wb, at_cap, lid)  # exactly licensed value + 10 %
    assert L.balance(st, lid)["lines"][0]["remaining_value_minor"] == 0


def test_expiry_and_issue_date(wb: Workbench) -> None:
    st = wb.store
    lid = L.find_licence(st, "D1190815")  # 2026-05-18 .. 2027-05-17
    early = _shipment(wb, "EARLY", [("H100 SXM5 80GB", 1, "20000.00")], date="2026-05-01")
    late = _shipment(wb, "LATE", [("H100 SXM5 80GB", 1, "20000.00")], date="2027-06-01")
    ok = _shipment(wb, "OK", [("H100 SXM5 80GB", 1, "20000.00")], date="2026-12-01")
    with pytest.raises(LedgerRefused, match="before licence D1190815 was issued"):
        L.draw(wb, early, lid)
    with pytest.raises(LedgerRefused, match="after licence D1190815 expires"):
        L.draw(wb, late, lid)
    with pytest.raises(LedgerRefused, match="expired on 2027-05-17"):
        L.draw(wb, ok, lid, on="2027-05-18")
    L.draw(wb, ok, lid, on="2027-05-17")  # the last day still counts
    b = L.balance(st, lid, on="2027-04-01", warn_days=60)
    assert any("expires on 2027-05-17" in w for w in b["warnings"])


def test_party_not_on_licence_and_wrong_eccn(wb: Workbench) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0004")
    with pytest.raises(LedgerRefused) as ei:
        L.draw(wb, sid, L.find_licence(st, "D1187342"))
    assert "is not named on licence D1187342" in str(ei.value)
    h20 = _shipment(wb, "H20-1", [("H20", 5, "10000.00")])
    with pytest.raises(LedgerRefused, match="is not covered by licence D1190815"):
        L.draw(wb, h20, L.find_licence(st, "D1190815"))


def test_reversal_is_a_new_audited_record(wb: Workbench) -> None:
    st = wb.store
    sid, lid = L.find_shipment_ref(st, "SO-2026-0004"), L.find_licence(st, "D1190815")
    made = L.draw(wb, sid, lid, shipment_lines=[1]).record["drawdowns"]
    did = made[0]["drawdown"]
    with pytest.raises(LedgerRefused, match="needs a reason"):
        L.reverse(wb, did, "")
    L.reverse(wb, did, "wrong licence chosen")
    assert L.balance(st, lid)["lines"][0]["used_quantity"] == 0
    assert [d["reversed_by"] is not None for d in
            L.drawdowns(st, licence_id=lid, include_reversed=True)] == [True]
    with pytest.raises(LedgerRefused, match="reversed already"):
        L.reverse(wb, did, "again")
    ev = [e for e in audit.events(st, entity="licence", entity_id=str(lid), limit=10)]
    assert {e["action"] for e in ev} >= {"draw", "reverse_draw"}
    # the rows themselves cannot be edited or deleted
    for sql in ("update ledger_drawdown set quantity = 0", "delete from ledger_drawdown"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            st.conn.execute(sql)
    # and a direct over-quantity insert is refused by the trigger
    with pytest.raises(sqlite3.DatabaseError, match="quantity exceeded"):
        st.conn.execute(
            "insert into ledger_drawdown (kind, licence_id, licence_line_no, shipment_id,"
            " shipment_line_no, quantity, value_minor, currency, unit, tolerance_pct,"
            " created_by, created_at) values ('draw', ?, 1, ?, 1, 33, 1, 'USD', 'number', 10,"
            " 'x', 'now')", (lid, sid))


def test_auditor_cannot_draw(wb: Workbench) -> None:
    st = wb.store
    aud = wb.as_user(authenticate(st, "audrey", PW))
    with pytest.raises(PermissionDenied):
        L.draw(aud, L.find_shipment_ref(st, "SO-2026-0004"), L.find_licence(st, "D1190815"))


def test_licence_edit_keeps_drawdowns_by_line_number(wb: Workbench) -> None:
    st = wb.store
    sid, lid = L.find_shipment_ref(st, "SO-2026-0004"), L.find_licence(st, "D1190815")
    L.draw(wb, sid, lid)
    rec = licences.get_licence(st, lid)
    licences.save_licence(wb, {**rec, "notes": "edited"})  # rewrites licence_line rows
    assert L.balance(st, lid)["lines"][0]["used_quantity"] == 32
