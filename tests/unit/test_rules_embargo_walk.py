"""No embargoed destination ever gets "no licence required" (issue 15).

Walks every item of the demo and of the pack's golden cases, as typed and as
an officer might have classified it (EAR99, 3A991, 5A992), against every
Country Group E:1/E:2 country, Russia, Belarus and the Part 746 regions of
Ukraine, on the dates the rules changed, with several party set-ups and export
kinds. The answer must be a licence, a prohibition or a review, never NLR and
never a licence exception: none of the exceptions this pack encodes is one
Part 746 still allows. The expected set is written from 15 CFR part 746, not
from the engine.
"""

from __future__ import annotations

from typing import Any

import pytest

from workbench import demo
from workbench.rules.engine import canonical, determine
from workbench.rules.pack import builtin_pack

PACK = builtin_pack()
TODAY = "2026-12-03"
DATES = ["2022-10-07", "2023-06-01", "2023-11-17", "2024-04-04", "2025-01-16",
         "2025-05-15", "2025-09-29", "2026-11-10", TODAY]
ALLOWED = {"license_required", "prohibited", "needs_review"}
# Destinations as an officer could type them: country, or country + region.
REGIONS = [("UA", "UA-43"), ("UA", "UA-40"), ("UA", "UA-14"), ("UA", "UA-09"),
           ("UA-43", None), ("UA-40", None), ("UA", None)]


def _countries() -> list[str]:
    found: set[str] = {"RU", "BY"}
    for d in DATES:
        found |= PACK.members("E:1", d) | PACK.members("E:2", d)
        found |= PACK.members("EMBARGOED_746", d)
    return sorted(found)


def _demo_item(it: dict[str, Any]) -> dict[str, Any]:
    return {"model": it["model"], "manufacturer": it.get("manufacturer"),
            "tops": dict(it.get("performance") or {}), "die_area_mm2": it.get("die_area_mm2"),
            "interconnect_gbps": it.get("interconnect_gbps"),
            "memory_bandwidth_gbps": it.get("memory_bandwidth_gbps"),
            "datacenter": it.get("datacenter"), "eccn": it.get("eccn")}


def _items() -> list[dict[str, Any]]:
    base = [_demo_item(it) for it in demo.ITEMS]
    for case in PACK.golden_cases:
        base.extend((case.get("txn") or {}).get("items") or [])
    base.append({"model": "Unknown accelerator card"})
    out, seen = [], set()
    for it in base:
        for override in (None, "EAR99", "3A991", "5A992.c"):
            v = {k: x for k, x in it.items() if x is not None and k != "quantity"}
            if override:
                v["eccn_override"] = override
            key = canonical(v)
            if key not in seen:
                seen.add(key)
                out.append(v)
    return out


def _parties(dest: str) -> list[list[dict[str, Any]]]:
    local = dest.split("-")[0]
    clean: list[dict[str, Any]] = []
    return [
        [{"role": "end_user", "name": "Local Computing LLC", "country": local,
          "hq_country": local, "list_hits": clean}],
        [{"role": "end_user", "name": "State Research Institute", "country": local,
          "hq_country": local, "kind": "government", "tags": ["research_lab"],
          "list_hits": clean}],
        [{"role": "purchaser", "name": "Trading GmbH", "country": "DE", "hq_country": "DE",
          "list_hits": clean},
         {"role": "end_user", "name": "Cloud Services Ltd", "country": local,
          "hq_country": "SG", "parent_hq_country": "US", "tags": ["approved_csp"],
          "list_hits": clean}],
        [{"role": "end_user", "name": "Unscreened Buyer", "country": local}],
        # the set-up every exception of the Affiliates Rule era could want: a
        # 60%-listed-owned allied joint venture, a non-governmental lab
        [{"role": "end_user", "name": "Allied Research JV", "country": local,
          "hq_country": local, "kind": "research_lab",
          "tags": ["allied_joint_venture", "non_governmental"], "list_hits": clean,
          "owners": [{"name": "Listed Parent", "percent": 60,
                      "list_hits": [{"source": "EL", "entry_id": "EL-WALK"}]}]}],
    ]


def _destinations() -> list[tuple[str, str | None]]:
    return [(c, None) for c in _countries()] + REGIONS


def _txns(dest: str, region: str | None, date: str):
    kinds = [("export", "US"), ("reexport", "SG"), ("transfer_in_country", dest.split("-")[0])]
    # every party set-up on a plain export; the other kinds with the first
    combos = [(kinds[0], p) for p in _parties(dest)] + [(k, _parties(dest)[0]) for k in kinds[1:]]
    for (kind, origin), parties in combos:
        t: dict[str, Any] = {"date": date, "destination": dest, "origin_country": origin,
                             "export_kind": kind, "parties": parties}
        if region:
            t["destination_region"] = region
        yield t


def test_the_walk_covers_every_e1_e2_country_and_region() -> None:
    countries = set(_countries())
    assert {"CU", "IR", "KP", "SY", "RU", "BY"} <= countries
    assert {r for _, r in REGIONS if r} == {"UA-43", "UA-40", "UA-14", "UA-09"}
    assert len(_items()) > 40


@pytest.mark.parametrize("dest,region", _destinations(),
                         ids=[f"{d}{'/' + r if r else ''}" for d, r in _destinations()])
def test_no_embargoed_destination_is_ever_nlr_or_excepted(dest: str, region: str | None
                                                          ) -> None:
    items = _items()
    bad: list[str] = []
    runs = 0
    for date in DATES:
        for base in _txns(dest, region, date):
            # all items on one shipment and each item alone: an exception is
            # judged per line, and one line must not hide another's answer
            for lines in [items] + [[it] for it in items]:
                r = determine(PACK, {**base, "items": [{**it, "quantity": 1} for it in lines]})
                runs += 1
                problems = []
                if r["outcome"] not in ALLOWED:
                    problems.append(r["outcome"])
                if r["exception"] or r["exceptions"]:
                    problems.append(f"exception {r['exception'] or r['exceptions']}")
                for ln in r["lines"]:
                    if ln["outcome"] not in ALLOWED or ln.get("exception"):
                        problems.append(f"line {ln['model']}: {ln['outcome']} {ln.get('exception')}")
                if problems:
                    bad.append(f"{date} {base['export_kind']} {len(lines)} item(s) "
                               f"{lines[0].get('model')}: {problems[:3]}")
    assert runs > 1000
    assert not bad, f"{len(bad)} permissive answers, e.g. " + "; ".join(bad[:5])


@pytest.mark.parametrize("dest", ["CU", "IR", "KP", "SY", "RU", "BY"])
def test_each_embargo_names_its_part_746_section(dest: str) -> None:
    rule = {"CU": "EAR.746.2.cuba", "IR": "EAR.746.7.iran", "KP": "EAR.746.4.north_korea",
            "SY": "EAR.746.9.syria", "RU": "EAR.746.8.russia", "BY": "EAR.746.8.belarus"}[dest]
    for it in _items():
        r = determine(PACK, {"date": TODAY, "destination": dest,
                             "items": [{**it, "quantity": 1}],
                             "parties": _parties(dest)[0]})
        assert rule in {x["rule_id"] for x in r["reasons"]}, (it["model"], r["reasons"])
        assert (r["review_policy"] or {}).get("policy") in {"policy_of_denial",
                                                           "presumption_of_denial"}
