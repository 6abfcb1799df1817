"""The golden cases shipped inside the built-in pack (golden_cases.yaml).

They are the pack's own acceptance tests (rules-pack-sketch.md §12): a pack
whose golden cases fail must not be used. Expected values are written in the
pack by hand from regulations.md, never produced by the engine.
"""

from __future__ import annotations

import dataclasses

import pytest

from workbench.rules import golden
from workbench.rules.engine import determine
from workbench.rules.pack import builtin_pack, builtin_pack_dir, load_pack

from flows import edited_pack

PACK = builtin_pack()
CASES = PACK.golden_cases


def test_at_least_the_sketch_cases_are_shipped() -> None:
    ids = {c["id"].rstrip("abc") for c in CASES}
    assert {f"T{i}" for i in range(1, 20)} <= ids


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case(case: dict) -> None:
    assert golden.case_problems(PACK, case) == []
    if case.get("kind") != "drawdown":
        assert determine(PACK, case["txn"])["pack"] == PACK.ref


def test_a_changed_threshold_fails_the_cases_that_depend_on_it(tmp_path) -> None:
    """The issue's reproduction: Note 2's 4,800 TPP threshold typed as 48,000."""
    bad = load_pack(edited_pack(tmp_path / "pack", builtin_pack_dir()))
    failed = golden.failures(bad)
    assert len(failed) >= 4, failed
    assert all(f["problems"] for f in failed)
    text = golden.describe(failed)
    assert failed[0]["id"] in text and "expected" in text


def test_a_case_that_cannot_run_fails_instead_of_passing() -> None:
    case = {"id": "X1", "title": "broken", "txn": {"date": "not a date"},
            "expect": {"outcome": "no_license_required"}}
    [f] = golden.failures(dataclasses.replace(PACK, golden_cases=[case]))
    assert f["id"] == "X1" and f["problems"]
