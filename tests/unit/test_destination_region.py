"""A shipment's destination can name the region where the region decides
(15 CFR 746.6: Crimea, the so-called DNR/LNR), so a shipment to Ukraine is
not stuck in "needs review" for want of a field (issue 15)."""

from __future__ import annotations


import pytest

from workbench.app import Workbench
from workbench.errors import ValidationError
from workbench.licensing import ledger as L
from workbench.records import shipments
from workbench.records.values import country_name, parse_destination
from workbench.rules import determinations as rstore



@pytest.fixture()
def wb(demo_officer_wb: Workbench) -> Workbench:
    return demo_officer_wb


def test_parse_destination_accepts_countries_and_real_regions_only() -> None:
    assert parse_destination("ua-43") == "UA-43"
    assert parse_destination("Germany") == "DE"
    for bad in ("UA-99", "XX-1", "ZZ"):
        with pytest.raises(ValueError, match="not an ISO 3166"):
            parse_destination(bad)
    assert country_name("UA-43").startswith("Ukraine: ")


@pytest.mark.parametrize("dest,outcome,rule", [
    ("UA-43", "license_required", "EAR.746.6.crimea"),
    ("UA-14", "license_required", "EAR.746.6.covered_regions"),
    ("UA", "needs_review", "EAR.746.6.ukraine_region_unknown"),
    ("UA-30", None, None),  # Kyiv: none of the Part 746 rules
])
def test_a_stored_shipment_to_a_region_is_decided_by_the_region(
        wb: Workbench, dest: str, outcome: str | None, rule: str | None) -> None:
    sid = L.find_shipment_ref(wb.store, "SO-2026-0003")
    shipments.save_shipment(wb, {**shipments.get_shipment(wb.store, sid), "destination": dest})
    assert shipments.get_shipment(wb.store, sid)["destination"] == dest
    r = rstore.determine_shipment(wb, sid, hits_for=rstore.screening_hits_for(wb.store)).record
    fired = {x["rule_id"] for x in r["reasons"]}
    if rule:
        assert r["outcome"] == outcome and rule in fired, (r["outcome"], fired)
    else:
        assert not {f for f in fired if f.startswith("EAR.746.")}


def test_a_bad_region_is_refused_naming_the_field(wb: Workbench) -> None:
    sid = L.find_shipment_ref(wb.store, "SO-2026-0003")
    rec = shipments.get_shipment(wb.store, sid)
    with pytest.raises(ValidationError) as e:
        shipments.save_shipment(wb, {**rec, "destination": "UA-99"})
    assert any(x.field == "destination" for x in e.value.errors)
    assert shipments.get_shipment(wb.store, sid)["destination"] == rec["destination"]
