"""Issue 15's last pieces: the free-text end use scanned for Part 744 terms,
the research-lab exception's governmental check, the Affiliates Rule's
TGL 7 and 30-49% red flag, 4A090 labels and the ECCN proposed to confirm.

The answers are checked through the engine with real packs (the built-in
one and the test pack that adds the hypothetical research-lab exception)
and through a stored shipment, as an officer would meet them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.flows import TEST_PACK
from workbench.app import Workbench
from workbench.clearance import holds
from workbench.records import items, parties, shipments
from workbench.rules import determinations as rstore
from workbench.rules.classify import classify
from workbench.rules.engine import determine
from workbench.rules.expr import Env, ExprError, compile_expr, evaluate
from workbench.rules.golden import case_problems
from workbench.rules.pack import builtin_pack, load_pack

PACK = builtin_pack()
CNR_PACK = load_pack(TEST_PACK)
L20 = {"model": "L20", "tops": {"fp16": 119.5, "fp8": 239, "int8": 239},
       "die_area_mm2": 609, "interconnect_gbps": 64, "memory_bandwidth_gbps": 864,
       "datacenter": True}
H100 = {"model": "H100 SXM", "tops": {"fp16": 989.5, "fp8": 1979, "int8": 1979},
        "die_area_mm2": 814, "interconnect_gbps": 900, "memory_bandwidth_gbps": 3350,
        "datacenter": True}
H800 = {"model": "H800 SXM", "tops": {"fp16": 989.5, "fp8": 1979}, "die_area_mm2": 814,
        "interconnect_gbps": 400, "memory_bandwidth_gbps": 2039, "datacenter": True}
EL = [{"source": "EL", "entry_id": "EL-T", "license_policy": "Presumption of denial"}]


def _txn(end_use: str | None = None, *, dest: str = "SG", date: str = "2026-11-20",
         item: dict | None = None, party: dict | None = None) -> dict[str, Any]:
    p = party or {"role": "end_user", "name": "Lion City Compute", "country": dest,
                  "hq_country": dest, "list_hits": []}
    return {"date": date, "destination": dest, "end_use": end_use,
            "items": [dict(item or L20)], "parties": [p]}


def _terms(text: Any, terms: list[str]) -> tuple[Any, list[dict]]:
    node = compile_expr({"terms_in": ["txn.end_use", terms]}, "t", scopes={"txn"}, groups=())
    env = Env(txn={"end_use": text}, parties=[], group_member=lambda *a: False)
    return evaluate(node, env), env.witness


# -- the terms_in condition -------------------------------------------------------------

@pytest.mark.parametrize("text, terms, found", [
    ("Missile guidance simulation", ["missile*"], ["missile*"]),
    ("missiles", ["missile*"], ["missile*"]),
    ("for an Advanced-Node fab", ["advanced node*"], ["advanced node*"]),
    ("advanced  nodes", ["advanced node*"], ["advanced node*"]),
    ("textile fabric design", ["fab"], []),
    ("prefabricated housing", ["fab"], []),
    ("Artificial intelligence research", ["military intelligence", "nuclear"], []),
    ("军用仿真计算", ["军用"], ["军用"]),
    ("ＮＵＣＬＥＡＲ plant", ["nuclear"], ["nuclear"]),  # full-width letters (NFKC)
    ("nuclear and missile", ["missile*", "nuclear"], ["nuclear", "missile*"]),  # text order
])
def test_terms_in_matches_words_phrases_endings_and_cjk(text: str, terms: list[str],
                                                         found: list[str]) -> None:
    r, witness = _terms(text, terms)
    assert r is bool(found)
    assert (witness[0]["terms"] if witness else []) == found


@pytest.mark.parametrize("text", [None, "", "   "])
def test_an_empty_end_use_has_nothing_to_scan(text: Any) -> None:
    assert _terms(text, ["military"]) == (False, [])


@pytest.mark.parametrize("terms", [[], ["*"], [" "], "military", [["nested"]], [3]])
def test_a_bad_term_list_is_refused_at_load(terms: Any) -> None:
    with pytest.raises(ExprError, match="terms_in"):
        compile_expr({"terms_in": ["txn.end_use", terms]}, "t", scopes={"txn"}, groups=())


# -- the end use in the pack --------------------------------------------------------------

@pytest.mark.parametrize("end_use, rule, word", [
    ("Expansion of the national supercomputing centre", "EAR.744.23.end_use_text",
     "supercomput"),
    ("Yield analytics for an advanced-node wafer fab", "EAR.744.23.end_use_text",
     "advanced node"),
    ("Training for the Army research office", "EAR.744.WMD_MILITARY.end_use_text", "army"),
    ("Weapons effects modelling", "EAR.744.WMD_MILITARY.end_use_text", "weapon"),
    ("Nuclear reactor simulation", "EAR.744.WMD_MILITARY.end_use_text", "nuclear"),
    ("无人机导航训练", "EAR.744.WMD_MILITARY.end_use_text", "无人机"),
])
def test_an_end_use_naming_a_part_744_use_needs_review_with_the_words(
        end_use: str, rule: str, word: str) -> None:
    r = determine(PACK, _txn(end_use))
    assert r["outcome"] == "needs_review"
    assert rule in {x["rule_id"] for x in r["reasons"]}
    assert any(f"“{word}”" in m for m in r["review_needed"]), r["review_needed"]


def test_an_end_use_term_stops_a_licence_exception_too() -> None:
    # a consumer GPU over 4800 TPP goes to China under NAC; a word in the end use stops it
    rtx = {"model": "RTX 4090", "tops": {"fp16": 330.3, "fp8": 660.6}, "die_area_mm2": 609,
           "interconnect_gbps": 64, "datacenter": False}
    base = determine(PACK, _txn(None, dest="CN", item=rtx))
    assert base["outcome"] == "license_exception"
    r = determine(PACK, _txn("gaming cafe and missile telemetry", dest="CN", item=rtx))
    # the licence the item needs stands, the exception does not, and the officer is told
    assert r["outcome"] == "license_required" and r["exception"] is None
    assert any(m.startswith("NAC may apply, but") and "“missile”" in m
               for m in r["review_needed"])


def test_a_plain_end_use_is_not_flagged() -> None:
    r = determine(PACK, _txn("Large language model inference for e-commerce search"))
    assert r["outcome"] == "no_license_required"


# -- the research-lab exception's "non-governmental" --------------------------------------

def _lab(tags: list[str], kind: str = "research_lab") -> dict[str, Any]:
    return {"role": "end_user", "name": "Beijing Computing Institute", "country": "CN",
            "hq_country": "CN", "kind": kind, "tags": tags, "list_hits": []}


def test_a_non_governmental_lab_gets_the_research_lab_exception() -> None:
    r = determine(CNR_PACK, _txn(None, dest="CN", item=H800, party=_lab(["non_governmental"])))
    assert (r["outcome"], r["exception"]) == ("license_exception", "CNR")


@pytest.mark.parametrize("tags, kind", [
    (["state_owned"], "research_lab"),              # a state lab tagged research lab
    (["government_end_user"], "research_lab"),
    (["non_governmental", "state_owned"], "research_lab"),  # contradicting facts: governmental
    (["non_governmental"], "government"),
])
def test_a_governmental_lab_does_not_get_it(tags: list[str], kind: str) -> None:
    r = determine(CNR_PACK, _txn(None, dest="CN", item=H800, party=_lab(tags, kind)))
    assert r["outcome"] == "license_required" and r["exception"] is None
    why = [c for c in r["exceptions_considered"] if c["exception"] == "CNR"][0]["why_not"]
    assert why == "destination/parties not eligible"


def test_a_lab_of_unknown_ownership_does_not_get_it_and_is_told_why() -> None:
    r = determine(CNR_PACK, _txn(None, dest="CN", item=H800, party=_lab([])))
    assert r["outcome"] == "license_required" and r["exception"] is None
    why = [c for c in r["exceptions_considered"] if c["exception"] == "CNR"][0]["why_not"]
    assert "party.governmental" in why


# -- the Affiliates Rule: TGL 7 and the 30% red flag --------------------------------------

def _owned(pct: float, country: str = "DE", tags: list[str] | None = None) -> dict:
    return {"role": "end_user", "name": "Owned Co", "country": country, "hq_country": country,
            "tags": tags or [], "list_hits": [],
            "owners": [{"name": "Listed Parent", "percent": pct, "list_hits": EL}]}


def test_tgl7_authorises_an_affiliate_in_an_allied_country_in_its_window() -> None:
    r = determine(PACK, _txn(None, dest="DE", date="2025-10-15", party=_owned(60)))
    assert (r["outcome"], r["exception"]) == ("license_exception", "TGL7")
    # unverified: the officer is told so
    assert "EXC.TGL7.AFFILIATES" in r["unverified"]


@pytest.mark.parametrize("date", ["2025-09-28", "2025-11-29", "2026-11-20"])
def test_tgl7_does_not_apply_outside_its_window(date: str) -> None:
    r = determine(PACK, _txn(None, dest="DE", date=date, party=_owned(60)))
    assert r["exception"] != "TGL7"


@pytest.mark.parametrize("dest, party", [
    ("MY", _owned(60, "MY")),                          # not allied, not a joint venture
    ("DE", _owned(60, "MY")),                          # allied destination, party elsewhere
    ("IR", _owned(60, "IR", ["allied_joint_venture"])),  # embargoed: never
    ("RU", _owned(60, "RU", ["allied_joint_venture"])),
])
def test_tgl7_is_refused_where_it_does_not_reach(dest: str, party: dict) -> None:
    r = determine(PACK, _txn(None, dest=dest, date="2025-10-15", party=party))
    assert r["exception"] is None
    assert r["outcome"] in ("license_required", "prohibited", "needs_review")


@pytest.mark.parametrize("pct, date, outcome", [
    (30, "2025-10-15", "needs_review"), (49.9, "2026-11-20", "needs_review"),
    (29.9, "2026-11-20", "no_license_required"), (40, "2026-03-01", "no_license_required"),
])
def test_the_significant_minority_red_flag(pct: float, date: str, outcome: str) -> None:
    r = determine(PACK, _txn(None, dest="MY", date=date, party=_owned(pct, "MY")))
    assert r["outcome"] == outcome
    fired = {x["rule_id"] for x in r["reasons"]}
    assert ("EAR.744.11.affiliates_minority" in fired) is (outcome == "needs_review")
    if date == "2026-03-01":  # the stay: suppressed, with the warning
        assert "EAR.744.11.affiliates_minority" in {x["rule_id"] for x in r["suppressed"]}
        assert any("suspended" in w for w in r["warnings"])


# -- 4A090 labels and the ECCN to confirm -------------------------------------------------

@pytest.mark.parametrize("item, date, eccn", [
    ({**H100, "item_type": "computer"}, "2026-11-20", "4A090.a"),
    ({**H100, "item_type": "computer"}, "2023-06-01", "4A090.a"),  # the 2022 text
    # TPP 3200, PD 4.0: a 3A090.b.1 chip inside
    ({"model": "B-level server", "item_type": "computer", "tops": {"fp16": 200},
      "die_area_mm2": 800, "datacenter": True}, "2026-11-20", "4A090.b"),
])
def test_a_computer_gets_a_4a090_paragraph_that_exists(item: dict, date: str, eccn: str
                                                       ) -> None:
    c = classify(PACK, item, date)
    assert c["eccn"] == eccn and c["level"] == eccn[-1]
    chip = classify(PACK, {**item, "item_type": "ic"}, date)
    assert chip["eccn"].startswith("3A090." + eccn[-1])


@pytest.mark.parametrize("item_type, proposal", [
    ("ic", "3A991"), ("hbm", "3A991"), ("board", "4A994"), ("computer", "4A994"),
])
def test_an_item_outside_3a090_gets_an_eccn_to_confirm(item_type: str, proposal: str) -> None:
    r = determine(PACK, _txn(None, item={**L20, "item_type": item_type,
                                         "hbm_bandwidth_density": 1.5}))
    c = r["classification"][0]
    assert c["eccn"] is None and c["level"] == "none"
    assert c["fallback"]["eccn"] == proposal and c["fallback"]["confirm"] is True
    # never fed to the rules: the line's ECCN stays empty
    assert r["values"]["lines"][0]["eccn"] is None and r["lines"][0]["eccn"] is None


@pytest.mark.parametrize("extra", [{"eccn": "5A992.c"}, {"eccn_override": "EAR99"}])
def test_no_proposal_over_an_eccn_the_officer_gave(extra: dict) -> None:
    c = determine(PACK, _txn(None, item={**L20, **extra}))["classification"][0]
    assert c["fallback"] is None


def test_no_proposal_for_a_3a090_item_or_an_undecided_one() -> None:
    assert determine(PACK, _txn(None, item=H100))["classification"][0]["fallback"] is None
    undecided = {"model": "Mystery", "tops": {"fp16": 200}, "die_area_mm2": None,
                 "datacenter": None}
    c = determine(PACK, _txn(None, dest="CN", item=undecided))["classification"][0]
    assert c["level"] is None and c["fallback"] is None


# -- golden cases: an expectation nobody checks is refused --------------------------------

def test_an_unknown_expectation_key_fails_the_case() -> None:
    case = {"id": "X", "title": "typo", "txn": _txn(None),
            "expect": {"outcome": "no_license_required", "fired_rules": ["EAR.744.23"]}}
    problems = case_problems(PACK, case)
    assert problems and "unknown expectation fired_rules" in problems[0]


def test_a_wrong_fallback_expectation_fails() -> None:
    case = {"id": "X", "title": "wrong", "txn": _txn(None),
            "expect": {"outcome": "no_license_required", "fallback_eccn": "EAR99"}}
    assert case_problems(PACK, case) == ["ECCN to confirm is '3A991', expected 'EAR99'"]


# -- through the store, as the officer meets it -------------------------------------------

def _stored_shipment(wb: Workbench, ref: str, item: dict, party: dict, *, dest: str,
                     end_use: str, tags: tuple[str, ...] = ()) -> tuple[int, int]:
    """(shipment id, party id) of a draft shipment of `item` to `party`
    (purchaser and end user), saved through the records API."""
    iid = items.save_item(wb, {"manufacturer": "NVIDIA", "datacenter": True, **item}).id
    city = party.pop("city")
    pid = parties.save_party(wb, {**party, "hq_country": dest,
                                  "addresses": [{"city": city, "country": dest}]}).id
    for tag in tags:
        holds.set_party_tag(wb, pid, tag, True, "registry extract 2026-11-02")
    sid = shipments.save_shipment(wb, {
        "reference": ref, "ship_date": "2026-12-20", "destination": dest, "status": "draft",
        "end_use": end_use,
        "lines": [{"item_id": iid, "quantity": 4, "unit_value": "9000", "currency": "USD"}],
        "parties": [{"role": "purchaser", "party_id": pid},
                    {"role": "end_user", "party_id": pid}]}).id
    return sid, pid


def test_a_stored_shipment_with_a_military_end_use_needs_review(
        demo_officer_wb: Workbench) -> None:
    wb = demo_officer_wb
    sid, _pid = _stored_shipment(
        wb, "SO-TEST-END-USE",
        {"model": "L20 PCIe", "die_area_mm2": 609, "interconnect_gbps": 64,
         "memory_bandwidth_gbps": 864, "performance": {"fp16": 119.5, "fp8": 239}},
        {"legal_name": "Lion City Simulation Pte Ltd", "kind": "company", "city": "Singapore"},
        dest="SG", end_use="Ballistic missile trajectory simulation")
    ch = rstore.determine_shipment(wb, sid, hits_for=lambda _p: [])
    assert ch.record["outcome"] == "needs_review"
    assert any("“ballistic”" in m and "“missile”" in m for m in ch.record["review_needed"])


def test_recording_a_lab_as_state_owned_takes_its_exception_away(
        demo_officer_wb: Workbench) -> None:
    wb = demo_officer_wb
    rstore.install_pack(wb, TEST_PACK, approver="arthur", approver_password="demo-password",
                        hits_for=lambda _p: [])
    sid, pid = _stored_shipment(
        wb, "SO-TEST-LAB",
        {"model": "H800 SXM", "die_area_mm2": 814, "interconnect_gbps": 400,
         "memory_bandwidth_gbps": 2039, "performance": {"fp16": 989.5, "fp8": 1979}},
        {"legal_name": "Beijing Open Computing Lab", "kind": "research_lab", "city": "Beijing"},
        dest="CN", end_use="Language model research", tags=("non_governmental",))
    first = rstore.determine_shipment(wb, sid, hits_for=lambda _p: [])
    assert (first.record["outcome"], first.record["exception"]) == ("license_exception", "CNR")
    holds.set_party_tag(wb, pid, "state_owned", True, "found: owned by the municipality")
    again = rstore.determine_shipment(wb, sid, hits_for=lambda _p: [])
    assert again.record["outcome"] == "license_required"
