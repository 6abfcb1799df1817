"""Matcher behaviour on the real list data copied into tests/data/lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.screening import DEFAULT_THRESHOLD, MatchIndex
from workbench.screening.evaluation import load_entries
from workbench.screening.normalize import tokenize

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    return MatchIndex.build(load_entries(DATA))


def _ids(hits):
    return [h.entry_id for h in hits]


def test_hikvision_spellings(index):
    for q in ("HIK-VISION", "Hik Vision", "Hikvision", "hikvison"):
        assert "CMIC:30946" in _ids(index.screen([q])), q


def test_chinese_huawei(index):
    hits = index.screen(["华为技术有限公司"])
    assert hits and hits[0].entry_id == "CMIC:30947"
    assert hits[0].list_name == "HUAWEI TECHNOLOGIES CO., LTD." and hits[0].score >= 95


def test_smic_acronym(index):
    hits = index.screen(["SMIC"])
    assert hits and hits[0].entry_id == "CMIC:30951"
    assert any(t.how == "acronym" for t in hits[0].tokens)


def test_parenthesised_short_name_is_an_alias(index):
    hits = index.screen(["AASPT"])
    assert hits and hits[0].source == "MEU"


def test_cyrillic_russian(index):
    hits = index.screen(["ПРИГОЖИН, ЕВГЕНИЙ ВИКТОРОВИЧ"])
    assert any("PRIGOZHIN" in h.primary_name for h in hits)


def test_legal_form_swap_and_abbreviation(index):
    assert "CMIC:30951" in _ids(index.screen(["Semiconductor Mfg. Int'l Co., Ltd."]))
    assert "CMIC:30949" in _ids(index.screen(["Inspur Group Company Limited"]))


def test_explanation_present_and_names_alias(index):
    h = index.screen(["Mr X", "Hik Vision"])[0]
    assert h.matched_name == "Hik Vision" and h.query_index == 1
    assert h.is_alias and h.list_name == "HIKVISION"
    assert "Hik Vision" in h.explanation and "HIKVISION" in h.explanation
    assert h.tokens[0].how == "joined"


def test_legal_forms_alone_never_hit(index):
    assert index.screen(["Co., Ltd."]) == []
    assert index.screen(["China Limited Company"]) == []
    assert index.screen(["Emma Daniels"]) == []


def test_country_is_a_bounded_adjustment(index):
    base = index.screen(["Huawei Technologies"], threshold=0)[0]
    same = index.screen(["Huawei Technologies"], country="CN", threshold=0)[0]
    other = index.screen(["Huawei Technologies"], country="DE", threshold=0)[0]
    assert base.entry_id == same.entry_id
    assert abs(same.score - base.score) <= 10 and abs(other.score - base.score) <= 10


def test_threshold_is_respected(index):
    hits = index.screen(["Huawei"], threshold=0)
    assert all(h.score >= 0 for h in hits)
    assert all(h.score >= DEFAULT_THRESHOLD for h in index.screen(["Huawei"]))


def test_incremental_index_gives_same_scores(index):
    changed = [e for e in index.entries if e.list_code == "CMIC"]
    small = MatchIndex.build(changed, reference=index)
    a = index.screen(["Hangzhou Hikvision Digital Tech"])
    b = small.screen(["Hangzhou Hikvision Digital Tech"])
    assert a[0].entry_id == b[0].entry_id and a[0].score == b[0].score


def test_initials_and_missing_patronymic(index):
    full = index.score_names("Vladimir Putin", "Vladimir Putin")
    init = index.score_names("V. Putin", "Vladimir Putin")
    assert 80 <= init < full
    assert index.score_names("A. Putin", "Vladimir Putin") < 80  # a different initial
    assert index.score_names("V. Ivanov", "Vladimir Putin") <= 50  # an initial is never enough
    assert index.score_names("Sergey Viktorovich Lavrov", "Sergey Lavrov") >= 80
    assert index.score_names("Sergey Viktorovich Lavrov", "Sergey Ivanovich Lavrov") < 80
    _, toks = index.score_tokens(tokenize("V. Putin"), tokenize("Vladimir Putin"))
    assert any(t.how == "initial" and "initial of" in t.describe() for t in toks)


def test_vowel_only_transliteration_variants(index):
    _, toks = index.score_tokens(tokenize("Saddam Husayn"), tokenize("Saddam Hussein"))
    assert any(t.how == "spelling" for t in toks)
    assert index.score_names("Frost, William G.", "William W Frost") < 80  # different initials


def test_letters_in_company_names_are_not_initials(index):
    _, toks = index.score_tokens(tokenize("Clearwater Semiconductor Co., Ltd."),
                                 tokenize("C&I SEMICONDUCTOR CO LTD"))
    assert not any(t.how == "initial" for t in toks)
