"""The dashboard's "Rules pack needs review" panel: the active pack's review
date and dated assumptions that are due, in words (issue 15)."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from PySide6.QtCore import Qt

from workbench.demo import DEMO_PASSWORD
from workbench.clearance import holds
from workbench.licensing import ledger
from workbench.rules.pack import builtin_pack_dir, seal_pack


@pytest.fixture(autouse=True)
def project_today(monkeypatch):
    """The dashboard reads attention() as of today: pin it to the project's
    today, when the built-in pack's Affiliates-stay assumption is past."""
    monkeypatch.setattr(ledger, "today", lambda: "2026-12-03")


def _shown_text(panel) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", w.text())
                    for w in (panel.heading, panel.pack_label, panel.body))


def test_dashboard_shows_the_rules_pack_needs_review(qtbot, window, wait_ops) -> None:
    dash = window.show_page("dashboard")
    wait_ops(window)
    panel = dash.pack_review
    qtbot.waitUntil(panel.isVisible)
    assert panel.heading.text() == "Rules pack needs review"
    assert "version 2026.12.1" in panel.pack_label.text()
    text = _shown_text(panel)
    assert "Assumption overdue." in text
    assert "Assumed until 2026-11-09 (24 days ago)" in text
    assert "Look in the Federal Register" in text
    assert "One-year suspension of the Affiliates Rule" in text  # rule titles, not ids
    assert "in 28 days" in text  # the IC-designer deadline, due soon, after the past one
    assert text.index("24 days ago") < text.index("in 28 days")
    # words only: no rule or assumption ids, no snake_case
    assert not re.search(r"\b(ASSUME|OVL|EAR)\.", text)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text)
    dash.grab().save("/tmp/dash.png")
    # clicking it opens the Rules page
    qtbot.mouseClick(panel, Qt.MouseButton.LeftButton)
    assert window.current_name() == "rules"


def test_panel_hides_for_a_pack_without_review_dates(qtbot, window, wait_ops,
                                                     tmp_path) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), folder)
    mpath = folder / "manifest.yaml"
    m = yaml.safe_load(mpath.read_text(encoding="utf-8"))
    m["version"] = "2026.12.9"
    m.pop("review_by", None)
    m.pop("assumptions", None)
    mpath.write_text(yaml.safe_dump(m, sort_keys=False, allow_unicode=True), encoding="utf-8")
    seal_pack(folder)
    dash = window.show_page("dashboard")
    wait_ops(window)
    assert dash.pack_review.isVisible()
    window.on_change(holds.install_pack(window.wb, folder, approver="arthur",
                                        approver_password=DEMO_PASSWORD))
    wait_ops(window)
    assert dash.attention["rules_pack_review"]["count"] == 0
    assert not dash.pack_review.isVisible()
