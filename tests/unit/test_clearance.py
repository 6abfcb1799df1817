"""Clearance: the status machine, every condition and its reason in words,
four-eyes overrides, automatic holds, and the dashboard counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.records import licences, shipments
from workbench.app import Workbench
from workbench.errors import AuthenticationError, PermissionDenied, ValidationError
from workbench.licensing import LedgerRefused
from workbench.clearance import holds as H
from workbench.clearance import status as C
from workbench.licensing import ledger as L
from workbench.clearance.attention import attention
from workbench.rules import determinations as rstore
from workbench.screening import results as sr
from workbench.screening import snapshots
from workbench.users import authenticate

from flows import list_naming_johor, sign_checklists

PW = "demo-password"


@pytest.fixture()
def wb(demo_officer_wb: Workbench) -> Workbench:
    return demo_officer_wb


def determine(wb: Workbench, sid: int) -> dict:
    return rstore.determine_shipment(wb, sid,
                                     hits_for=rstore.screening_hits_for(wb.store)).record


def texts(wb: Workbench, sid: int) -> list[str]:
    return [r["text"] for r in C.conditions(wb.store, sid)["reasons"]]


def ready(wb: Workbench, ref: str, tmp_path: Path) -> int:
    sid = L.find_shipment_ref(wb.store, ref)
    sr.screen_shipment(wb, sid)
    determine(wb, sid)
    sign_checklists(wb, sid, tmp_path / "evidence.txt")
    return sid


# -- save_shipment guard -------------------------------------------------------------------

def test_save_shipment_refuses_status_moves(wb: Workbench) -> None:
    st = wb.store
    base = {"reference": "NEW-1", "ship_date": "2026-12-01", "destination": "DE"}
    with pytest.raises(ValidationError) as ei:
        shipments.save_shipment(wb, {**base, "status": "cleared"})
    assert "cannot start as Cleared" in ei.value.for_field("status")[0]
    with pytest.raises(ValidationError, match="only a past shipment"):
        shipments.save_shipment(wb, {**base, "ship_date": "2999-01-01", "status": "shipped"})
    sid = shipments.save_shipment(wb, base).id
    rec = shipments.get_shipment(st, sid)
    rec = shipments.save_shipment(wb, {**rec, "status": "in_review"}).record  # allowed
    for bad in ("cleared", "shipped", "on_hold", "cancelled"):
        with pytest.raises(ValidationError) as ei:
            shipments.save_shipment(wb, {**rec, "status": bad})
        assert "goes through clearance" in str(ei.value)
    C.hold(wb, sid, "waiting for the customer")
    rec = shipments.get_shipment(st, sid)
    del rec["status"]  # an edit that says nothing about status keeps it
    assert shipments.save_shipment(wb, {**rec, "notes": "x"}).record["status"] == "on_hold"


# -- the conditions, one by one --------------------------------------------------------------

def test_every_unmet_condition_is_a_reason_in_words(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0010")  # Dawning: on the Entity List sample
    reasons = texts(wb, sid)
    assert any(r.startswith("Party Dawning Information Industry Co., Ltd. has an open hit on "
                            "the Entity List") and "score 100" in r
               and "decide it on the Screening page" in r for r in reasons)
    assert any("has no saved determination" in r for r in reasons)
    assert any(r.startswith("Checklist ") and "is not signed" in r for r in reasons)
    with pytest.raises(LedgerRefused) as ei:
        C.clear(wb, sid)
    assert ei.value.reasons == reasons
    assert shipments.get_shipment(st, sid)["status"] == "draft"


def test_flow_without_licence_clear_and_ship(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = ready(wb, "SO-2026-0004", tmp_path)  # MY: no licence required today
    c = C.conditions(st, sid)
    assert c["ok"], c["reasons"]
    assert c["checks"] == {"screening": "ok", "determination": "ok", "licence": "not needed",
                           "checklists": "ok"}
    with pytest.raises(LedgerRefused, match="only a cleared shipment can be marked shipped"):
        C.ship(wb, sid)
    C.clear(wb, sid)
    C.ship(wb, sid)
    assert shipments.get_shipment(st, sid)["status"] == "shipped"
    assert [h["action"] for h in C.history(st, sid)] == ["clear", "ship"]
    with pytest.raises(LedgerRefused, match="Shipped"):
        C.cancel(wb, sid, "too late")


def test_stale_determination_and_stale_screening(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = ready(wb, "SO-2026-0004", tmp_path)
    rec = shipments.get_shipment(st, sid)
    rec["lines"][0]["quantity"] = 30
    shipments.save_shipment(wb, rec)
    assert any("is out of date" in r and "determine again" in r for r in texts(wb, sid))
    determine(wb, sid)
    assert texts(wb, sid) == []
    # a new list snapshot that names the Johor subsidiary
    snap = snapshots.import_list(wb, list_naming_johor(tmp_path)).id
    assert any("before the current list snapshot" in r and "screen shipment SO-2026-0004 "
               "again" in r for r in texts(wb, sid))
    rr = H.rescreen_after_import(wb, snap)  # holds what it affects, in its transaction
    assert "SO-2026-0004" in [h["reference"] for h in rr["held"]]
    assert H.on_new_snapshot(wb, rr)["held"] == []  # already on hold: nothing twice
    s = C.status(st, sid)
    assert s["status"] == "on_hold"
    assert "New list snapshot" in s["history"][-1]["reason"] and \
        "Merlion AI Cloud (Johor) Sdn. Bhd." in s["history"][-1]["reason"]
    assert any("has an open hit on the Entity List" in r for r in texts(wb, sid))


def test_licence_required_needs_coverage(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0009")  # CN, H800: licence required
    eu = st.scalar("select party_id from shipment_party where shipment_id = ? and"
                   " role = 'end_user'", (sid,))
    lid = licences.save_licence(wb, {
        "number": "D2000001", "agency": "BIS", "issue_date": "2026-06-01",
        "expiry_date": "2030-05-31", "parties": [{"role": "end_user", "party_id": eu}],
        "lines": [{"eccn": "3A090.a", "description": "NVIDIA H800 GPUs", "quantity": 16,
                   "value": "500000.00", "currency": "USD"}]}).id
    ready(wb, "SO-2026-0009", tmp_path)
    assert C.conditions(st, sid)["determination"]["outcome"] == "license_required"
    assert any("needs a licence and no licence is drawn for it" in r for r in texts(wb, sid))
    # an override cannot stand in for the licence
    with pytest.raises(LedgerRefused, match="an override cannot stand in"):
        C.override(wb, sid, "customer is urgent", "arthur", PW)
    d = L.draw(wb, sid, lid).record["drawdowns"][0]["drawdown"]
    assert texts(wb, sid) == []
    C.clear(wb, sid)
    L.reverse(wb, d, "wrong line")  # after clearing …
    with pytest.raises(LedgerRefused, match="changed since it was cleared") as ei:
        C.ship(wb, sid)  # … shipping re-checks and says why
    assert any("no licence is drawn" in r for r in ei.value.reasons)
    L.draw(wb, sid, lid)
    C.ship(wb, sid)
    with pytest.raises(LedgerRefused, match="has shipped"):
        L.reverse(wb, L.drawdowns(st, shipment_id=sid)[0]["id"], "too late")


def test_licence_exception_obligations(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = ready(wb, "SO-2026-0007", tmp_path)  # Macau: License Exception NAC
    c = C.conditions(st, sid)
    assert c["determination"]["outcome"] == "license_exception"
    obs = [r for r in c["reasons"] if r["code"] == "obligation"]
    assert any("NAC.notify" in r["text"] and "NAC authorization number" in r["text"]
               for r in obs)
    with pytest.raises(LedgerRefused, match="needs a value"):
        C.record_obligation(wb, sid, "NAC.notify", " ")
    det = C.latest_determination(st, sid)
    for ob in det["result"]["obligations"]:
        C.record_obligation(wb, sid, ob["id"], "A123456" if ob["id"] == "NAC.notify" else "done")
    assert C.conditions(st, sid)["ok"], texts(wb, sid)


# -- moves, overrides, holds -------------------------------------------------------------------

def test_moves_need_reasons_and_roles(wb: Workbench) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0004")
    with pytest.raises(LedgerRefused, match="needs a reason"):
        C.hold(wb, sid, "")
    with pytest.raises(LedgerRefused, match="needs a reason"):
        C.cancel(wb, sid, "")
    aud = wb.as_user(authenticate(st, "audrey", PW))
    with pytest.raises(PermissionDenied):
        C.clear(aud, sid)
    C.submit(wb, sid)
    C.block(wb, sid, "customer refused the end-use statement")
    with pytest.raises(LedgerRefused, match="Blocked; it cannot be cleared from there"):
        C.clear(wb, sid)
    L.draw(wb, sid, L.find_licence(st, "D1190815"))
    C.cancel(wb, sid, "order withdrawn")
    assert L.drawdowns(st, shipment_id=sid) == []  # cancelling gave the licence back
    assert L.balance(st, L.find_licence(st, "D1190815"))["lines"][0]["used_quantity"] == 0


def test_override_is_four_eyes(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0004")
    sr.screen_shipment(wb, sid)
    determine(wb, sid)  # checklists still unsigned
    with pytest.raises(PermissionDenied, match="four eyes"):
        C.override(wb.as_user(authenticate(st, "arthur", PW)), sid, "urgent", "arthur", PW)
    with pytest.raises(PermissionDenied, match="approver role"):
        C.override(wb, sid, "urgent customer order", "owner", PW)
    with pytest.raises(AuthenticationError):
        C.override(wb, sid, "urgent customer order", "arthur", "wrong")
    with pytest.raises(LedgerRefused, match="needs a reason"):
        C.override(wb, sid, "", "arthur", PW)
    m = C.override(wb, sid, "checklists done on paper, scanned tomorrow", "arthur", PW).record
    assert m["to"] == "cleared" and all("Checklist" in r for r in m["overridden"])
    ev = C.history(st, sid)[-1]
    assert ev["action"] == "override" and ev["approver"] == "arthur" and ev["by_user"] == "olivia"
    C.ship(wb, sid)  # the unmet reasons were those overridden


def test_override_does_not_cover_new_reasons(wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0004")
    sr.screen_shipment(wb, sid)
    determine(wb, sid)
    C.override(wb, sid, "checklists done on paper", "arthur", PW)
    rec = shipments.get_shipment(st, sid)
    rec["lines"][0]["quantity"] = 31
    shipments.save_shipment(wb, rec)
    with pytest.raises(LedgerRefused, match="is out of date"):
        C.ship(wb, sid)


def test_new_pack_holds_affected_shipments(wb: Workbench) -> None:
    st = wb.store
    a, b = (L.find_shipment_ref(st, r) for r in ("SO-2026-0004", "SO-2026-0001"))
    impact = {"from": {"id": "p", "version": "1"}, "to": {"id": "p", "version": "2"},
              "shipments": [{"shipment_id": a, "before": {"outcome": "no_license_required"},
                             "after": {"outcome": "license_required"}},
                            {"shipment_id": b, "before": {"outcome": "no_license_required"},
                             "after": {"outcome": "license_required"}}],
              "determinations": []}
    res = H.on_new_pack(wb, impact)
    assert [h["shipment_id"] for h in res["held"]] == [a]
    assert res["skipped"] == [{"shipment_id": b, "status": "shipped"}]
    ev = C.history(st, a)[-1]
    assert ev["action"] == "auto_hold" and "Rules pack p 2 changes the outcome from no " \
        "license required to license required" in ev["reason"]
    assert H.hold_affected(wb, "x", []) == {"held": [], "skipped": []}


def test_attention_counts(wb: Workbench) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0004")
    lid = L.find_licence(st, "D1190815")
    L.draw(wb, sid, lid)
    a = attention(st, "2027-04-01")
    assert a["open_hits"]["count"] == 1
    assert a["on_hold"]["ids"] == [L.find_shipment_ref(st, "SO-2026-0005")]
    assert lid in a["licences_nearly_used"]["ids"]
    assert lid in a["licences_expiring"]["ids"]  # 2027-05-17, within 60 days
    assert a["checklists_awaiting_approval"]["count"] == 0
    assert a["parties_due"]["count"] == 0
    assert len(a["series"]["screenings_per_week"]) == 12
    assert {"licence": "D1190815", "line": 1, "description": "NVIDIA H100 SXM5 GPUs",
            "used_pct": 100.0} in a["series"]["licence_utilisation"]
    json.dumps(a)  # the UI and --json need plain data


def test_a_failed_hold_rolls_back_the_rescreen(wb: Workbench, tmp_path: Path,
                                               monkeypatch) -> None:
    """Re-screen and hold commit together: if holding fails, the run that
    found the hit is not kept either (so the next import finds it again)."""
    st = wb.store
    snap = snapshots.import_list(wb, list_naming_johor(tmp_path)).id
    runs = st.scalar("select count(*) from screening_run")

    def broken(*_a, **_k):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(H, "hold_affected", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        H.rescreen_after_import(wb, snap)
    assert st.scalar("select count(*) from screening_run") == runs
    sid = L.find_shipment_ref(st, "SO-2026-0004")
    assert shipments.get_shipment(st, sid)["status"] == "draft"
    monkeypatch.undo()
    assert "SO-2026-0004" in [h["reference"] for h in H.rescreen_after_import(wb, snap)["held"]]


def test_a_failed_hold_rolls_back_the_pack_activation(wb: Workbench, monkeypatch) -> None:
    from workbench.rules.pack import load_pack

    test_pack = Path(__file__).parents[1] / "data" / "rules" / \
        "us-ear-advanced-computing-2026.12.2-test"
    before = rstore.active_pack(wb.store).sha256
    acts = wb.store.scalar("select count(*) from rules_pack_activation")

    def broken(*_a, **_k):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(H, "on_new_pack", broken)
    # any impact at all reaches the hold; force one so the failure is exercised
    monkeypatch.setattr(rstore, "impact", lambda *a, **k: {"shipments": [{"shipment_id": 1}]})
    with pytest.raises(RuntimeError, match="disk gone"):
        H.install_pack(wb, load_pack(test_pack), approver="arthur", approver_password=PW)
    assert rstore.active_pack(wb.store).sha256 == before
    assert wb.store.scalar("select count(*) from rules_pack_activation") == acts


def test_party_fact_that_changes_an_outcome_holds_the_shipment(wb: Workbench) -> None:
    """Under the hypothetical CNR pack, tagging the Chinese end user of an
    H800 shipment approved_csp turns "licence required" into the exception:
    the shipment is held (determine again), in the tag's own transaction."""
    from workbench.records import parties

    st = wb.store
    H.install_pack(wb, Path(__file__).parents[1] / "data" / "rules" /
                   "us-ear-advanced-computing-2026.12.2-test",
                   approver="arthur", approver_password=PW)
    sid = L.find_shipment_ref(st, "SO-2026-0009")
    eu = st.scalar("select party_id from shipment_party where shipment_id = ? and"
                   " role = 'end_user'", (sid,))
    rec = parties.get_party(st, eu)
    parties.save_party(wb, {**rec, "kind": "company"})  # no longer a research lab
    if C.status(st, sid)["status"] == "on_hold":
        C.submit(wb, sid, "reviewing under the new pack")
    ch = H.set_party_tag(wb, eu, "approved_csp", note="approval letter on file")
    assert ch.extra["changed"] == [sid]
    assert [h["shipment_id"] for h in ch.extra["held"]] == [sid]
    last = C.history(st, sid)[-1]
    assert last["action"] == "auto_hold" and "Party fact approved_csp recorded" in last["reason"]
    assert "license required to license exception (CNR)" in last["reason"]
    # a fact that changes nothing holds nothing
    assert H.set_party_tag(wb, eu, "has_website", note="x").extra["held"] == []


def test_a_list_imported_without_a_rescreen_is_caught_by_the_next_rescreen(
        wb: Workbench, tmp_path: Path) -> None:
    """Issue 13: `lists import --no-rescreen` left a cleared shipment with a
    new hit "Cleared", and a later re-screen did not hold it."""
    st = wb.store
    sid = ready(wb, "SO-2026-0004", tmp_path)
    C.clear(wb, sid)
    snapshots.import_list(wb, list_naming_johor(tmp_path))  # no re-screen, no holds
    assert C.status(st, sid)["status"] == "cleared"
    res = H.rescreen_all(wb)
    assert [h["reference"] for h in res["held"]] == ["SO-2026-0004"]
    s = C.status(st, sid)
    assert s["status"] == "on_hold"
    assert s["history"][-1]["reason"].startswith("Re-screening every party: Party Merlion")
    assert H.rescreen_all(wb)["held"] == []  # held once
    with pytest.raises(LedgerRefused, match="has an open hit"):
        C.clear(wb, sid)
