"""Attention for the active rules pack's own dates: its ``review_by`` date
and the dated assumptions its outcomes rest on (issue 15)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from workbench.app import Workbench
from workbench.clearance import holds
from workbench.clearance.attention import attention
from workbench.rules.pack import builtin_pack_dir, seal_pack

TODAY = "2026-12-03"  # "today" in this project; the built-in pack is as of this date


def _in(days: int) -> str:
    return (dt.date.fromisoformat(TODAY) + dt.timedelta(days=days)).isoformat()


@pytest.fixture()
def wb(tmp_db_path: Path) -> Workbench:
    w = Workbench.open(tmp_db_path)
    w.create_user("olivia", "password-123", "admin")
    w.login("olivia", "password-123")
    w.create_user("arthur", "password-456", "approver")
    yield w
    w.close()


@pytest.fixture()
def install(wb: Workbench, tmp_path: Path) -> Callable[..., None]:
    """``install(edit)``: copy the built-in pack, let `edit(manifest)` change
    its manifest, seal it and make it the active pack."""
    def run(edit: Callable[[dict[str, Any]], None]) -> None:
        folder = tmp_path / "pack"
        shutil.copytree(builtin_pack_dir(), folder)
        mpath = folder / "manifest.yaml"
        m = yaml.safe_load(mpath.read_text(encoding="utf-8"))
        m["version"] = "2026.12.9"
        edit(m)
        mpath.write_text(yaml.safe_dump(m, sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
        seal_pack(folder)
        holds.install_pack(wb, folder, approver="arthur", approver_password="password-456")
    return run


def _review(wb: Workbench) -> dict[str, Any]:
    a = attention(wb.store, TODAY)
    json.dumps(a)  # the UI and --json need plain data
    return a["rules_pack_review"]


def _no_assumptions(m: dict[str, Any], review_by: str | None) -> None:
    m.pop("assumptions", None)
    if review_by is None:
        m.pop("review_by", None)
    else:
        m["review_by"] = review_by


def test_review_by_in_ten_days(wb: Workbench, install) -> None:
    install(lambda m: _no_assumptions(m, _in(10)))
    r = _review(wb)
    assert r["label"] == "Rules pack needs review"
    assert r["count"] == 1 and r["overdue"] == 0
    (item,) = r["detail"]
    assert item["kind"] == "review" and not item["overdue"]
    assert item["days"] == 10 and item["when"] == "in 10 days"
    assert item["date"] == _in(10)
    assert "2026.12.9" in item["text"] and _in(10) in item["text"]
    assert "in 10 days" in item["text"]
    assert r["pack"]["version"] == "2026.12.9"


def test_review_by_past_is_overdue(wb: Workbench, install) -> None:
    install(lambda m: _no_assumptions(m, _in(-5)))
    r = _review(wb)
    (item,) = r["detail"]
    assert item["overdue"] and r["overdue"] == 1
    assert item["when"] == "5 days ago"
    assert "was due for review" in item["text"] and "5 days ago" in item["text"]


def test_review_by_today_and_in_one_day(wb: Workbench, install) -> None:
    install(lambda m: _no_assumptions(m, TODAY))
    assert _review(wb)["detail"][0]["when"] == "today"
    assert not _review(wb)["detail"][0]["overdue"]
    r = attention(wb.store, _in(-1))["rules_pack_review"]
    assert r["detail"][0]["when"] == "in 1 day"


def test_review_by_sixty_days_ahead_gives_nothing(wb: Workbench, install) -> None:
    install(lambda m: _no_assumptions(m, _in(60)))
    r = _review(wb)
    assert r["count"] == 0 and r["ids"] == [] and r["detail"] == []
    # the window edge: 30 days ahead shows, 31 does not
    assert attention(wb.store, _in(30))["rules_pack_review"]["count"] == 1
    assert attention(wb.store, _in(29))["rules_pack_review"]["count"] == 0


def test_assumption_due_within_thirty_days_shows_its_check(wb: Workbench,
                                                          install) -> None:
    def edit(m: dict[str, Any]) -> None:
        m["review_by"] = _in(200)
        m["assumptions"] = [
            {"id": "ASSUME.soon", "title": "The stay holds until the new rule", "until": _in(12),
             "rules": ["OVL.AFFILIATES_RULE_STAY", "EAR.NOT_IN_PACK"],
             "check": "Read the Federal Register for the new rule."},
            {"id": "ASSUME.later", "title": "A later assumption", "until": _in(45),
             "rules": [], "check": "Nothing yet."}]
    install(edit)
    r = _review(wb)
    assert r["ids"] == ["ASSUME.soon"]
    (item,) = r["detail"]
    assert item["kind"] == "assumption" and item["when"] == "in 12 days"
    assert item["check"] == "Read the Federal Register for the new rule."
    assert item["title"] == "The stay holds until the new rule"
    assert item["rules"] == [
        {"id": "OVL.AFFILIATES_RULE_STAY", "title": "One-year suspension of the Affiliates Rule"},
        {"id": "EAR.NOT_IN_PACK", "title": None}]
    # the sentence the UI shows is words only: no ids
    assert "ASSUME" not in item["text"] and "_" not in item["text"]


def test_past_items_rank_before_upcoming_ones(wb: Workbench, install) -> None:
    def edit(m: dict[str, Any]) -> None:
        m["review_by"] = _in(3)
        m["assumptions"] = [
            {"id": "ASSUME.upcoming", "title": "Upcoming", "until": _in(1)},
            {"id": "ASSUME.long_past", "title": "Long past", "until": _in(-40)},
            {"id": "ASSUME.just_past", "title": "Just past", "until": _in(-2)}]
    install(edit)
    r = _review(wb)
    assert r["ids"] == ["ASSUME.long_past", "ASSUME.just_past", "ASSUME.upcoming", "review_by"]
    assert [i["overdue"] for i in r["detail"]] == [True, True, False, False]
    assert r["overdue"] == 2


def test_builtin_pack_today_shows_the_affiliates_stay_assumption(wb: Workbench) -> None:
    r = _review(wb)  # no pack installed: the built-in pack is in force
    assert r["pack"]["version"] == "2026.12.1"
    item = next(i for i in r["detail"] if i["id"] == "ASSUME.affiliates_stay_end")
    assert item["overdue"] and item["date"] == "2026-11-09"
    assert item["when"] == "24 days ago"
    assert "Federal Register" in item["check"]
    assert {x["title"] for x in item["rules"]} >= {"One-year suspension of the Affiliates Rule"}
    assert r["detail"][0] is item  # the overdue one comes first
    # review_by 2027-03-01 is 88 days away: no review item yet
    assert all(i["kind"] != "review" for i in r["detail"])


def test_pack_without_review_fields_gives_nothing(wb: Workbench, install) -> None:
    install(lambda m: _no_assumptions(m, None))
    r = _review(wb)
    assert r["count"] == 0 and r["detail"] == []
    assert r["pack"]["version"] == "2026.12.9"
