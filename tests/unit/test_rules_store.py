"""Rules persistence: classification decisions, stored determinations, replay,
and policy change as data (a new pack's diff and impact)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from workbench.records import items, parties, shipments
from workbench.app import Workbench
from workbench.errors import AuthenticationError, PermissionDenied, ValidationError
from workbench.clearance import holds
from workbench.rules import determinations as rstore
from workbench.rules.golden import GoldenCasesFailed
from flows import edited_pack
from workbench.rules.pack import builtin_pack, load_pack

TEST_PACK = Path(__file__).parents[1] / "data" / "rules" / "us-ear-advanced-computing-2026.12.2-test"

CHIPS = {
    "A100": {"fp16": 312, "int8": 624}, "A800": {"fp16": 312, "int8": 624},
    "H100": {"fp16": 989.5, "fp8": 1979}, "H800": {"fp16": 989.5, "fp8": 1979},
}
SPECS = {"A100": (826, 600), "A800": (826, 400), "H100": (814, 900), "H800": (814, 400)}
EL_HIT = {"source": "EL", "entry_id": "EL-1", "name": "Dawning Information Industry",
          "license_requirement": "For all items subject to the EAR.",
          "license_policy": "Presumption of denial", "federal_register_notice": "84 FR 29371"}

APPROVAL = {"approver": "arthur", "approver_password": "password-456"}


@pytest.fixture()
def wb(tmp_db_path: Path) -> Workbench:
    w = Workbench.open(tmp_db_path)
    w.create_user("olivia", "password-123", "admin")
    w.login("olivia", "password-123")
    w.create_user("arthur", "password-456", "approver")
    yield w
    w.close()


def _world(wb: Workbench) -> dict[str, int]:
    ids: dict[str, int] = {}
    for m, perf in CHIPS.items():
        area, link = SPECS[m]
        ids[m] = items.save_item(wb, {"model": f"{m} SXM", "manufacturer": "NVIDIA",
                                      "die_area_mm2": area, "interconnect_gbps": link,
                                      "memory_bandwidth_gbps": 2039, "datacenter": True,
                                      "performance": perf}).id
    def party(key: str, name: str, kind: str, hq: str) -> None:
        ids[key] = parties.save_party(wb, {"legal_name": name, "kind": kind, "hq_country": hq,
                                           "addresses": [{"city": "X", "country": hq}]}).id
    party("csp", "Pearl River Cloud", "company", "CN")
    party("lab", "Beijing Institute of Intelligent Computing", "research_lab", "CN")
    party("gov", "Municipal Computing Bureau", "government", "CN")
    party("plain", "Shenzhen Trading Co", "company", "CN")
    party("el", "Dawning Information Industry", "company", "CN")
    party("hk", "Harbour Compute Systems", "company", "HK")
    party("mo", "Lotus Data Services", "company", "MO")
    party("de", "Rheinland Rechenzentrum GmbH", "company", "DE")
    # "non-governmental research lab": the kind alone does not say who owns a lab
    party("statelab", "Shanghai State Key Laboratory of Computing", "research_lab", "CN")
    party("unknownlab", "Hangzhou Computing Research Institute", "research_lab", "CN")
    for k in ("csp", "el", "hk", "mo"):
        holds.set_party_tag(wb, ids[k], "approved_csp", True, "approved in test")
    holds.set_party_tag(wb, ids["lab"], "non_governmental", True, "privately owned (test)")
    holds.set_party_tag(wb, ids["statelab"], "state_owned", True, "state laboratory (test)")
    return ids


SHIPMENTS = [
    # ref, date, destination, status, [models], end-user key, flips?
    ("S01-A800-CSP", "2026-09-01", "CN", "draft", ["A800"], "csp", True),
    ("S02-H800-LAB", "2026-09-01", "CN", "in_review", ["H800"], "lab", True),
    ("S03-A100-CSP", "2026-09-01", "CN", "draft", ["A100"], "csp", False),
    ("S04-H100-LAB", "2026-09-01", "CN", "draft", ["H100"], "lab", False),
    ("S05-A800-EL", "2026-09-01", "CN", "draft", ["A800"], "el", False),
    ("S06-H800-GOV", "2026-09-01", "CN", "draft", ["H800"], "gov", False),
    ("S07-A800-PLAIN", "2026-09-01", "CN", "draft", ["A800"], "plain", False),
    ("S08-A800-DE", "2026-09-01", "DE", "draft", ["A800"], "de", False),
    # planned before the exception took effect but still open: judged on today, so it flips
    ("S09-A800-EARLY", "2026-07-15", "CN", "draft", ["A800"], "csp", True),
    ("S10-A800-SHIPPED", "2026-09-01", "CN", "shipped", ["A800"], "csp", False),
    ("S11-H800-HK", "2026-09-01", "HK", "on_hold", ["H800"], "hk", True),
    ("S12-A800-MO", "2026-09-01", "MO", "draft", ["A800"], "mo", False),
    ("S13-MIXED", "2026-09-01", "CN", "draft", ["A800", "A100"], "csp", False),
    ("S14-A800-CANCELLED", "2026-09-01", "CN", "cancelled", ["A800"], "csp", False),
    ("S15-H800-STATELAB", "2026-09-01", "CN", "draft", ["H800"], "statelab", False),
    ("S16-A800-UNKNOWNLAB", "2026-09-01", "CN", "draft", ["A800"], "unknownlab", False),
]


def _shipments(wb: Workbench, ids: dict[str, int]) -> dict[str, int]:
    out = {}
    for ref, date, dest, status, models, eu, _ in SHIPMENTS:
        out[ref] = shipments.save_shipment(wb, {
            "reference": ref, "ship_date": date, "destination": dest, "status": status,
            "lines": [{"item_id": ids[m], "quantity": 8, "unit_value": "10000",
                       "currency": "USD"} for m in models],
            "parties": [{"role": "purchaser", "party_id": ids[eu]},
                        {"role": "end_user", "party_id": ids[eu]}]}).id
    return out


def _hits(ids: dict[str, int]):
    return lambda pid: [EL_HIT] if pid == ids["el"] else []


def test_policy_change_flips_exactly_the_expected_shipments(wb: Workbench) -> None:
    ids = _world(wb)
    sids = _shipments(wb, ids)
    hits = _hits(ids)
    saved = {ref: rstore.determine_shipment(wb, sids[ref], hits_for=hits)
             for ref in ("S01-A800-CSP", "S03-A100-CSP", "S10-A800-SHIPPED")}
    assert all(ch.record["outcome"] == "license_required" for ch in saved.values())

    new = load_pack(TEST_PACK)
    d = rstore.diff_packs(builtin_pack(), new)
    assert [x["id"] for x in d["added"]] == ["EXC.CNR.2026"]
    assert d["removed"] == [] and d["changed"] == [] and d["groups_changed"] == []
    assert d["sources_added"] == ["TEST-HYPOTHETICAL-2026-08"]

    imp = rstore.impact(wb.store, new, builtin_pack(), hits_for=hits)
    flipped = {s["reference"] for s in imp["shipments"]}
    assert flipped == {ref for ref, *_, flips in SHIPMENTS if flips}
    for s in imp["shipments"]:
        assert s["before"] == {"outcome": "license_required", "exception": None}
        assert s["after"] == {"outcome": "license_exception", "exception": "CNR"}
    changed_dets = {x["shipment_id"] for x in imp["determinations"]}
    assert changed_dets == {sids["S01-A800-CSP"], sids["S10-A800-SHIPPED"]}


def test_loading_the_pack_activates_it_and_is_audited(wb: Workbench) -> None:
    ch = holds.install_pack(wb, TEST_PACK, **APPROVAL)
    assert rstore.active_pack(wb.store).version == "2026.12.2"
    assert [x["id"] for x in ch.extra["diff"]["added"]] == ["EXC.CNR.2026"]
    ev = wb.store.one("select * from audit_event where entity = 'rules_pack' order by seq desc")
    assert ev["action"] == "activate"
    assert [p["version"] for p in rstore.list_packs(wb.store)] == ["2026.12.2"]


def test_test_pack_differs_from_builtin_only_by_the_new_rule() -> None:
    b, t = builtin_pack(), load_pack(TEST_PACK)
    assert set(t.files) - set(b.files) == {"cn_cloud_research_exception.yaml"}
    for path, data in b.files.items():
        if path != "manifest.yaml":
            assert t.files[path] == data, f"{path} drifted: re-copy and re-seal the test pack"


def test_determination_is_stored_audited_and_replayable(wb: Workbench) -> None:
    ids = _world(wb)
    sids = _shipments(wb, ids)
    ch = rstore.determine_shipment(wb, sids["S05-A800-EL"], hits_for=_hits(ids))
    r = ch.record
    assert r["outcome"] == "license_required"
    assert {x["rule_id"] for x in r["reasons"]} >= {"EAR.744.11.entity_list",
                                                    "EAR.742.6.a.6.dest"}
    assert r["pack"] == builtin_pack().ref
    assert r["review_policy"]["policy"] == "presumption_of_denial"
    rows = rstore.determinations(wb.store, sids["S05-A800-EL"])
    assert len(rows) == 1 and rows[0]["pack_sha256"] == builtin_pack().sha256
    # a newer pack in force does not change how the old determination replays
    holds.install_pack(wb, TEST_PACK, **APPROVAL)
    rep = rstore.replay(wb.store, ch.id)
    assert rep["same"], (rep["stored"]["outcome"], rep["replayed"]["outcome"])
    ev = wb.store.one("select * from audit_event where entity = 'shipment' and"
                      " action = 'determine'")
    assert ev is not None
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        wb.store.conn.execute("update rules_determination set outcome = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        wb.store.conn.execute("delete from rules_pack")


def test_unscreened_parties_need_review(wb: Workbench) -> None:
    ids = _world(wb)
    sids = _shipments(wb, ids)
    r = rstore.determine_shipment(wb, sids["S08-A800-DE"]).record
    assert r["outcome"] == "needs_review"
    assert "KYC.unscreened" in {x["rule_id"] for x in r["reasons"]}


def test_classification_accept_and_override(wb: Workbench) -> None:
    ids = _world(wb)
    info = rstore.classify_item(wb.store, ids["H100"], "2026-03-01")
    assert info["proposal"]["computed_eccn"] == "3A090.a.1"
    rstore.decide_classification(wb, ids["H100"], accept=True, date="2026-03-01")
    cur = rstore.current_classification(wb.store, ids["H100"])
    assert cur["decision"] == "accepted" and cur["eccn"] == "3A090.a.1"
    with pytest.raises(ValidationError, match="reason"):
        rstore.decide_classification(wb, ids["H100"], accept=False, eccn="4A090.a")
    rstore.decide_classification(wb, ids["H100"], accept=False, eccn="4a090.a",
                                 reason="sold only as part of an HGX board",
                                 evidence=[{"name": "datasheet.pdf", "sha256": "0" * 64}])
    cur = rstore.current_classification(wb.store, ids["H100"])
    assert cur["decision"] == "overridden" and cur["eccn"] == "4A090.a"
    assert cur["reason"] == "sold only as part of an HGX board"
    # the override is used by later determinations
    fields = rstore.item_txn_fields(wb.store, items.get_item(wb.store, ids["H100"]))
    assert fields["eccn_override"] == "4A090.a"
    events = wb.store.all("select action from audit_event where entity ="
                          " 'item_classification' order by seq")
    assert [e["action"] for e in events] == ["accept", "override"]


def test_party_tags_and_letters(wb: Workbench) -> None:
    ids = _world(wb)
    assert rstore.party_tags(wb.store, ids["csp"]) == ["approved_csp"]
    holds.set_party_tag(wb, ids["csp"], "approved_csp", False, "approval withdrawn")
    assert rstore.party_tags(wb.store, ids["csp"]) == []
    holds.record_letter(wb, "OVL.H20_IS_INFORMED", received_on="2025-04-09",
                         reference="BIS letter")
    assert rstore.active_letters(wb.store) == ["OVL.H20_IS_INFORMED"]


def test_loading_a_pack_holds_the_open_shipments_it_changes(wb: Workbench) -> None:
    """The hold happens inside clearance.holds.install_pack (the one CLI and
    Rules page use), in the pack's transaction;
    shipped shipments are never touched."""
    from workbench.clearance import status as clearance

    ids = _world(wb)
    sids = _shipments(wb, ids)
    ch = holds.install_pack(wb, TEST_PACK, hits_for=_hits(ids), **APPROVAL)
    imp = ch.extra["impact"]
    changed = {s["shipment_id"] for s in imp["shipments"]} | \
        {d["shipment_id"] for d in imp["determinations"] if d.get("shipment_id")}
    st = {sid: wb.store.scalar("select status from shipment where id = ?", (sid,))
          for sid in sids.values()}
    held = {h["shipment_id"] for h in ch.extra["held"]}
    assert held, "the test pack flips open A800 shipments: some must be held"
    assert held <= changed
    for sid in changed - held:
        assert st[sid] in ("shipped", "cancelled", "blocked", "on_hold")
    for sid in held:
        assert st[sid] == "on_hold"
        last = clearance.history(wb.store, sid)[-1]
        assert last["action"] == "auto_hold" and "Rules pack" in last["reason"]
    assert st[sids["S10-A800-SHIPPED"]] == "shipped"
    # the same pack again changes nothing and holds nothing
    again = holds.install_pack(wb, TEST_PACK, **APPROVAL)
    assert again.extra["held"] == [] and again.extra["impact"] is None


def _state(wb: Workbench) -> tuple[str, int, int]:
    return (rstore.active_pack(wb.store).sha256,
            wb.store.scalar("select count(*) from rules_pack_activation"),
            wb.store.scalar("select count(*) from audit_event"))


def test_a_pack_whose_golden_cases_fail_is_refused_naming_them(wb: Workbench,
                                                               tmp_path: Path) -> None:
    folder = edited_pack(tmp_path / "typo-pack")
    before = _state(wb)
    with pytest.raises(GoldenCasesFailed) as e:
        holds.install_pack(wb, folder, **APPROVAL)
    assert len(e.value.failures) >= 4
    msg = str(e.value)
    assert "golden cases fail" in msg and e.value.failures[0]["id"] in msg
    assert "expected" in msg
    assert _state(wb) == before  # nothing written


@pytest.mark.parametrize("approver,password,error,words", [
    ("olivia", "password-123", PermissionDenied, "different person"),
    ("arthur", "wrong-password", AuthenticationError, "wrong password"),
    ("nobody", "password-456", AuthenticationError, "unknown user"),
    ("ivan", "password-789", PermissionDenied, "approver role"),
    ("", "", AuthenticationError, "unknown user"),
])
def test_activation_needs_a_second_person(wb: Workbench, approver: str, password: str,
                                          error: type, words: str) -> None:
    wb.create_user("ivan", "password-789", "officer")
    before = _state(wb)
    with pytest.raises(error, match=words):
        holds.install_pack(wb, TEST_PACK, approver=approver, approver_password=password)
    assert _state(wb) == before  # nothing written


def test_a_deactivated_approver_cannot_approve(wb: Workbench) -> None:
    wb.set_user_active("arthur", False)
    with pytest.raises(AuthenticationError):
        holds.install_pack(wb, TEST_PACK, **APPROVAL)


def test_the_activation_event_names_the_approver_and_the_cases(wb: Workbench) -> None:
    holds.install_pack(wb, TEST_PACK, **APPROVAL)
    ev = wb.store.one("select * from audit_event where entity = 'rules_pack' and"
                      " action = 'activate'")
    after = json.loads(ev["after"])
    assert ev["user"] == "olivia"
    assert after["approved_by"] == "arthur"
    assert after["golden_cases_passed"] == len(load_pack(TEST_PACK).golden_cases) > 90
