"""Quality targets on the deterministic evaluation set (see bench/screening_quality.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.screening import MatchIndex
from workbench.screening.evaluation import (clean_names, evaluate, load_entries, planted_variants,
                                            remove_listed)

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"


@pytest.fixture(scope="module")
def report():
    entries = load_entries(DATA)
    index = MatchIndex.build(entries)
    planted = planted_variants(entries)
    clean, _ = remove_listed(clean_names(), entries)
    return evaluate(index, planted, clean)


def test_eval_set_is_big_enough(report):
    assert report.planted >= 1000 and report.clean >= 1900
    assert set(report.by_kind) == {"legal_drop", "legal_swap", "word_order", "abbreviation",
                                   "typo", "spacing", "cyrillic"}


def test_recall_at_least_98_percent(report):
    assert report.recall >= 0.98, [(c.query, c.source_name) for c in report.misses[:20]]


def test_clean_hit_rate_at_most_half_a_percent(report):
    assert report.clean_hit_rate <= 0.005, report.clean_hit_examples[:20]


def test_every_perturbation_kind_mostly_found(report):
    for kind, (found, total) in report.by_kind.items():
        assert found / total >= 0.95, kind
