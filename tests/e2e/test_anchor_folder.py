"""Issue 13: anchors made automatically into a folder the user chose, recorded
in the trail, and checked by `check` without being named on the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.e2e.test_audit_anchors import _cut_tail, _tamper
from tests.e2e.test_cli import run
from workbench.app import Workbench
from workbench.packets import anchors

PASSWORD = "demo-password"


def _officer(db: Path) -> Workbench:
    wb = Workbench.open(db)
    wb.login("olivia", PASSWORD)
    return wb


def _set_folder(db: Path, folder: Path) -> None:
    run(db, "settings", "set", "anchor-folder", str(folder), user="olivia", password=PASSWORD,
        check=True)


def test_a_daily_anchor_is_written_recorded_and_checked(demo_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "usb-stick"
    folder.mkdir()
    wb = _officer(demo_db)
    assert anchors.anchor_daily(wb) is None  # no folder chosen: nothing due
    wb.close()
    _set_folder(demo_db, folder)
    wb = _officer(demo_db)
    assert anchors.daily_due(wb.store)
    path = anchors.anchor_daily(wb)
    assert path is not None and path.parent == folder and path.name.startswith("demo-anchor-")
    assert anchors.anchor_daily(wb) is None  # one a day
    last = anchors.last_anchor(wb.store)
    assert last["kind"] == "daily" and last["file"] == str(path)
    tomorrow = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=25)
    assert anchors.daily_due(wb.store, now=tomorrow)
    wb.close()
    r = run(demo_db, "check")
    assert r.returncode == 0, r.stdout
    assert "outside copies: ok (1 checked, the anchor folder's included)" in r.stdout
    # someone cuts the trail's tail and re-hashes: the folder's anchor catches it
    _tamper(demo_db, _cut_tail)
    assert run(demo_db, "audit", "verify").returncode == 0  # the chain alone is whole
    r = run(demo_db, "check")
    assert r.returncode == 1 and "the trail was cut after the anchor" in r.stdout


def test_an_edited_anchor_in_the_folder_fails_the_check(demo_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "anchors"
    folder.mkdir()
    _set_folder(demo_db, folder)
    wb = _officer(demo_db)
    path = anchors.anchor_daily(wb)
    wb.close()
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["seq"] -= 1
    path.write_text(json.dumps(doc), encoding="utf-8")
    # another database's anchor and an unrelated file are left alone
    (folder / "notes.json").write_text("{}", encoding="utf-8")
    other = dict(doc, database="other.db")
    (folder / "other-anchor.json").write_text(json.dumps(other), encoding="utf-8")
    r = run(demo_db, "check")
    assert r.returncode == 1
    assert f"{path}: the signature does not match the anchor's content" in r.stdout
    assert "other-anchor" not in r.stdout and "notes.json" not in r.stdout


def test_every_anchor_made_is_recorded(demo_db: Path, tmp_path: Path) -> None:
    r = run(demo_db, "audit", "anchor", str(tmp_path / "a.json"), user="olivia",
            password=PASSWORD, check=True)
    assert "Anchored event" in r.stdout
    run(demo_db, "backup", str(tmp_path / "copy.db"), user="olivia", password=PASSWORD,
        check=True)
    wb = Workbench.open(demo_db)
    kinds = [json.loads(e["after"])["kind"] for e in wb.store.all(
        "select after from audit_event where entity = 'audit_anchor' order by seq")]
    assert kinds == ["by hand", "backup"]
    assert anchors.last_anchor(wb.store)["file"] == str(tmp_path / "copy.db.anchor.json")
    wb.close()
    # an auditor's anchor is written but not recorded (read-only role)
    run(demo_db, "audit", "anchor", str(tmp_path / "b.json"), user="audrey",
        password=PASSWORD, check=True)
    assert (tmp_path / "b.json").exists()


def test_the_anchor_folder_must_exist(demo_db: Path, tmp_path: Path) -> None:
    r = run(demo_db, "settings", "set", "anchor-folder", str(tmp_path / "nowhere"),
            user="olivia", password=PASSWORD)
    assert r.returncode != 0 and "is not an existing folder" in r.stderr
    assert "Traceback" not in r.stderr
    wb = _officer(demo_db)
    wb.close()
    (tmp_path / "gone").mkdir()
    _set_folder(demo_db, tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    wb = _officer(demo_db)
    try:
        anchors.anchor_daily(wb)
    except Exception as e:  # noqa: BLE001 - the message is what is tested
        assert "the audit anchor folder does not exist" in str(e)
    else:
        raise AssertionError("a missing folder must be said")
    wb.close()
