"""A pack's golden cases: its own acceptance tests (rules-pack-sketch.md §12).

The expected values are written in the pack by hand from the regulation, so
a pack whose cases fail says something its author did not mean. Loading
refuses such a pack (:func:`workbench.rules.determinations.install_pack`);
`workbench rules test FOLDER` runs them without loading. Pure: no store.
"""

from __future__ import annotations

from typing import Any

from workbench.rules.drawdown import check_drawdown
from workbench.rules.engine import determine
from workbench.rules.pack import Pack, PackError


def _check_drawdown_case(pack: Pack, case: dict[str, Any]) -> list[str]:
    t, e = case["txn"], case["expect"]
    r = check_drawdown(licensed_qty=t["licence"]["quantity"],
                       licensed_value=t["licence"]["value"],
                       shipped_qty=t["shipped"]["quantity"], shipped_value=t["shipped"]["value"],
                       qty=t["shipment"]["quantity"], value=t["shipment"]["value"],
                       tolerance_pct=pack.licences["tolerance_pct"])
    out = []
    if r["allowed"] is not e["allowed"]:
        out.append(f"drawdown allowed {r['allowed']}, expected {e['allowed']}")
    if "reason_contains" in e and e["reason_contains"] not in r["reason"]:
        out.append(f"reason lacks {e['reason_contains']!r}")
    return out


EXPECT_KEYS = frozenset({
    "outcome", "exception", "eccn", "excluded_by", "policy", "fired", "suppressed",
    "not_fired", "warnings_contain", "fallback_eccn", "review_contains", "aes_code",
    "obligations", "certifications_contain"})


def case_problems(pack: Pack, case: dict[str, Any]) -> list[str]:
    """What differs between a golden case's expectation and the engine's
    answer with `pack` (empty when the case passes). Pure."""
    if case.get("kind") == "drawdown":
        return _check_drawdown_case(pack, case)
    e = case["expect"]
    out: list[str] = []
    # an expectation the checker does not know would pass unchecked
    if unknown := sorted(set(e) - EXPECT_KEYS):
        out.append(f"unknown expectation {', '.join(unknown)} (known: "
                   f"{', '.join(sorted(EXPECT_KEYS))})")
    r = determine(pack, case["txn"])

    def differs(what: str, got: Any, want: Any) -> None:
        if got != want:
            out.append(f"{what} is {got!r}, expected {want!r}")

    differs("outcome", r["outcome"], e["outcome"])
    differs("exception", r["exception"], e.get("exception"))
    cls = r["classification"][0] if r["classification"] else {}
    if "eccn" in e:
        differs("ECCN", cls.get("eccn"), e["eccn"])
    if "excluded_by" in e:
        differs("excluded by", cls.get("excluded_by"), e["excluded_by"])
    if "policy" in e:
        differs("review policy", (r["review_policy"] or {}).get("policy"), e["policy"])
    fired = {x["rule_id"] for x in r["reasons"]}
    suppressed = {x["rule_id"] for x in r["suppressed"]}
    if missing := sorted(set(e.get("fired", [])) - fired):
        out.append(f"did not fire {', '.join(missing)}")
    if missing := sorted(set(e.get("suppressed", [])) - suppressed):
        out.append(f"did not suppress {', '.join(missing)}")
    if extra := sorted(set(e.get("not_fired", [])) & fired):
        out.append(f"fired {', '.join(extra)}, which it must not")
    if "warnings_contain" in e and not any(e["warnings_contain"] in w for w in r["warnings"]):
        out.append(f"no warning containing {e['warnings_contain']!r}")
    if "fallback_eccn" in e:
        differs("ECCN to confirm", (cls.get("fallback") or {}).get("eccn"), e["fallback_eccn"])
    if "review_contains" in e and not any(e["review_contains"] in w
                                          for w in r["review_needed"]):
        out.append(f"no review reason containing {e['review_contains']!r}")
    if "aes_code" in e:
        got = r["exceptions"][0]["aes_code"] if r["exceptions"] else None
        differs("AES code", got, e["aes_code"])
    if "obligations" in e and (m := sorted(set(e["obligations"])
                                           - {o["id"] for o in r["obligations"]})):
        out.append(f"missing obligations {', '.join(m)}")
    if "certifications_contain" in e and not any(
            e["certifications_contain"] in c
            for c in (r["review_policy"] or {}).get("certifications", [])):
        out.append(f"no certification containing {e['certifications_contain']!r}")
    return out


def failures(pack: Pack) -> list[dict[str, Any]]:
    """Every failing golden case of `pack`: ``{id, title, problems}``, in the
    pack's order. A case that makes the engine raise fails with the error.
    Pure; takes about a second for a few hundred cases."""
    bad = []
    for case in pack.golden_cases:
        try:
            problems = case_problems(pack, case)
        except Exception as exc:  # a case the engine cannot run is a failing case
            problems = [f"could not be evaluated: {exc}"]
        if problems:
            bad.append({"id": case["id"], "title": case.get("title", ""), "problems": problems})
    return bad


def describe(bad: list[dict[str, Any]], limit: int = 10) -> str:
    """One line per failing case (at most `limit`, then a count)."""
    lines = [f"{b['id']} ({b['title']}): {'; '.join(b['problems'])}" for b in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"... and {len(bad) - limit} more")
    return "\n".join(lines)


class GoldenCasesFailed(PackError):
    """A pack was refused because some of its own golden cases fail;
    `failures` holds them (see :func:`failures`)."""

    def __init__(self, pack: Pack, bad: list[dict[str, Any]]):
        self.failures = bad
        super().__init__("golden_cases", "", f"{pack.id} {pack.version}: {len(bad)} of its "
                         f"{len(pack.golden_cases)} golden cases fail, so it cannot be "
                         f"activated:\n{describe(bad)}")
