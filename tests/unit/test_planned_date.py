"""An open shipment is judged on the later of its planned date and today
(issue 15): a planned date in the past does not freeze the rules in force.

The tightening pack below is the test pack plus one hypothetical
requirement in force from a given day (a prohibition for Singapore, so the
outcome must change whatever it was).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from workbench.app import Workbench
from workbench.clearance import holds, status
from workbench.licensing import ledger as L
from workbench.rules import determinations as rstore
from workbench.rules.pack import seal_pack

PW = "demo-password"
TEST_PACK = Path(__file__).parents[1] / "data" / "rules" / \
    "us-ear-advanced-computing-2026.12.2-test"
APPROVAL = {"approver": "arthur", "approver_password": PW}
RULE = "EAR.TEST.sg_tightened"


@pytest.fixture()
def wb(demo_officer_wb: Workbench) -> Workbench:
    return demo_officer_wb


def _tightening_pack(tmp_path: Path, from_date: str) -> Path:
    folder = tmp_path / f"tight-{from_date}"
    shutil.copytree(TEST_PACK, folder)
    with open(folder / "cn_cloud_research_exception.yaml", "a", encoding="utf-8") as f:
        f.write(f"""
requirements:
  - id: {RULE}
    title: "Hypothetical: exports to Singapore prohibited from {from_date}"
    citation: "Test fixture"
    sources: [TEST-HYPOTHETICAL-2026-08]
    valid_from: {from_date}
    valid_to: null
    effect: prohibited
    reason: "Hypothetical tightening (test)"
    when: {{eq: [txn.destination, SG]}}
""")
    m = folder / "manifest.yaml"
    m.write_text(m.read_text(encoding="utf-8").replace("version: 2026.12.2",
                                                       "version: 2026.12.3"), encoding="utf-8")
    seal_pack(folder)
    return folder


def test_effective_date_is_the_later_of_planned_and_today() -> None:
    assert rstore.effective_date("2026-06-01", "in_review", "2026-12-03") == "2026-12-03"
    assert rstore.effective_date("2027-01-10", "draft", "2026-12-03") == "2027-01-10"
    assert rstore.effective_date("2026-06-01", "shipped", "2026-12-03") == "2026-06-01"
    assert "planned date 2026-06-01 having passed" in rstore.date_basis("2026-06-01",
                                                                         "2026-12-03")


def test_a_pack_tightening_from_today_flips_and_holds_a_past_planned_shipment(
        wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0003")  # to SG, planned 2026-06-01, in review
    s = st.one("select ship_date, status from shipment where id = ?", (sid,))
    today = dt.date.today().isoformat()
    assert s["ship_date"] < today and s["status"] == "in_review"
    ch = rstore.determine_shipment(wb, sid, hits_for=rstore.screening_hits_for(st))
    assert ch.record["date"] == today and "having passed" in ch.extra["date_basis"]
    assert ch.record["outcome"] != "prohibited"
    new = holds.install_pack(wb, _tightening_pack(tmp_path, today), **APPROVAL)
    flipped = {x["reference"]: x for x in new.extra["impact"]["shipments"]}
    assert flipped["SO-2026-0003"]["after"]["outcome"] == "prohibited"
    assert "SO-2026-0003" in {h["reference"] for h in new.extra["held"]}
    assert st.scalar("select status from shipment where id = ?", (sid,)) == "on_hold"
    d = status.latest_determination(st, sid)
    assert not d["current"]
    # a shipment already shipped keeps its own date: not flipped
    shipped = L.find_shipment_ref(st, "SO-2026-0001")
    assert shipped not in {x["shipment_id"] for x in new.extra["impact"]["shipments"]}


def test_a_saved_determination_goes_stale_when_its_date_passes_under_a_change(
        wb: Workbench, tmp_path: Path) -> None:
    st = wb.store
    sid = L.find_shipment_ref(st, "SO-2026-0003")
    today = dt.date.today()
    planned = (today + dt.timedelta(days=5)).isoformat()
    tightens = (today + dt.timedelta(days=8)).isoformat()
    holds.install_pack(wb, _tightening_pack(tmp_path, tightens), **APPROVAL)
    from workbench.records import shipments
    rec = shipments.get_shipment(st, sid)
    shipments.save_shipment(wb, {**rec, "ship_date": planned})
    ch = rstore.determine_shipment(wb, sid, hits_for=rstore.screening_hits_for(st))
    assert ch.record["date"] == planned and ch.record["outcome"] != "prohibited"
    # while the planned date is ahead, or passed with no change in the rules: current
    assert status.latest_determination(st, sid, today=today.isoformat())["current"]
    assert status.latest_determination(st, sid, today=(today + dt.timedelta(days=7))
                                       .isoformat())["current"]
    # the planned date passed and on the new date the pack answers differently
    later = (today + dt.timedelta(days=9)).isoformat()
    d = status.latest_determination(st, sid, today=later)
    assert not d["current"]
    assert any(f"evaluated on {planned}" in w and "prohibited" in w
               for w in d["stale_because"]), d["stale_because"]
