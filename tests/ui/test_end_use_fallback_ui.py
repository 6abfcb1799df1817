"""The determination as the officer reads it: words found in the end use, the
ECCN proposed to confirm, and the rule's condition in words (terms_in)."""

from __future__ import annotations

from workbench.rules.engine import determine
from workbench.rules.pack import builtin_pack

from ui.kit.rules_html import condition_html
from ui.panels.determination import DeterminationView

PACK = builtin_pack()
L20 = {"model": "L20", "tops": {"fp16": 119.5, "fp8": 239, "int8": 239},
       "die_area_mm2": 609, "interconnect_gbps": 64, "memory_bandwidth_gbps": 864,
       "datacenter": True}


def _result(end_use: str) -> dict:
    return determine(PACK, {"date": "2026-11-20", "destination": "SG", "end_use": end_use,
                            "items": [L20],
                            "parties": [{"role": "end_user", "name": "Lion City Compute",
                                         "country": "SG", "hq_country": "SG",
                                         "list_hits": []}]})


def test_the_view_names_the_words_found_and_the_eccn_to_confirm(qtbot, tmp_path) -> None:
    view = DeterminationView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show_result(_result("Ballistic missile trajectory simulation"), PACK)
    text = view.toPlainText()
    assert "Words found in the end use: “ballistic”, “missile”." in text
    assert "Because: the end use mentions “ballistic”, “missile”" in text
    assert "outside 3A090 (3A991 to confirm)" in text
    # no codes for the words: neither the star nor the rule's raw condition
    assert "missile*" not in text and "terms_in" not in text
    assert view.grab().save(str(tmp_path / "determination.png"))


def test_a_terms_condition_reads_in_words() -> None:
    html = condition_html({"terms_in": ["txn.end_use", ["missile*", "nuclear"]]}, PACK)
    assert "mentions any of" in html and "terms_in" not in html
