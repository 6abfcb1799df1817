"""The golden cases shipped inside the built-in pack (golden_cases.yaml).

They are the pack's own acceptance tests (rules-pack-sketch.md §12): a pack
whose golden cases fail must not be used. Expected values are written in the
pack by hand from regulations.md, never produced by the engine.
"""

from __future__ import annotations

import pytest

from workbench.rules.drawdown import check_drawdown
from workbench.rules.engine import determine
from workbench.rules.pack import builtin_pack

PACK = builtin_pack()
CASES = PACK.golden_cases


def test_at_least_the_sketch_cases_are_shipped() -> None:
    ids = {c["id"].rstrip("abc") for c in CASES}
    assert {f"T{i}" for i in range(1, 20)} <= ids


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case(case: dict) -> None:
    e = case["expect"]
    if case.get("kind") == "drawdown":
        t = case["txn"]
        r = check_drawdown(licensed_qty=t["licence"]["quantity"],
                           licensed_value=t["licence"]["value"],
                           shipped_qty=t["shipped"]["quantity"],
                           shipped_value=t["shipped"]["value"],
                           qty=t["shipment"]["quantity"], value=t["shipment"]["value"],
                           tolerance_pct=PACK.licences["tolerance_pct"])
        assert r["allowed"] is e["allowed"], r
        if "reason_contains" in e:
            assert e["reason_contains"] in r["reason"]
        return
    r = determine(PACK, case["txn"])
    assert r["outcome"] == e["outcome"], (r["outcome"], r["reasons"], r["review_needed"])
    assert r["exception"] == e.get("exception")
    if "eccn" in e:
        assert r["classification"][0]["eccn"] == e["eccn"]
    if "excluded_by" in e:
        assert r["classification"][0]["excluded_by"] == e["excluded_by"]
    if "policy" in e:
        assert (r["review_policy"] or {}).get("policy") == e["policy"], r["review_policy"]
    fired = {x["rule_id"] for x in r["reasons"]}
    suppressed = {x["rule_id"] for x in r["suppressed"]}
    assert set(e.get("fired", [])) <= fired, fired
    assert set(e.get("suppressed", [])) <= suppressed, suppressed
    assert not set(e.get("not_fired", [])) & fired
    if "warnings_contain" in e:
        assert any(e["warnings_contain"] in w for w in r["warnings"]), r["warnings"]
    if "aes_code" in e:
        assert r["exceptions"][0]["aes_code"] == e["aes_code"]
    if "obligations" in e:
        assert set(e["obligations"]) <= {o["id"] for o in r["obligations"]}
    if "certifications_contain" in e:
        assert any(e["certifications_contain"] in c
                   for c in r["review_policy"]["certifications"])
    assert r["pack"] == PACK.ref
