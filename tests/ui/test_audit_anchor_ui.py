"""The Audit log page checks every record against the trail, says when the
last anchor was made, and the window writes the daily anchor (issue 13)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from workbench.packets import anchors


def _drop_triggers_and(db: Path, sql: str) -> None:
    con = sqlite3.connect(db)
    for (name,) in con.execute("select name from sqlite_master where type = 'trigger'"
                               ).fetchall():
        con.execute(f'drop trigger "{name}"')
    con.execute(sql)
    con.commit()
    con.close()


def test_check_records_is_green_then_names_an_edited_record(qtbot, window, wait_ops) -> None:
    page = window.show_page("audit")
    assert "No anchor of the audit trail has been made yet" in page.anchor_label.text()
    page.check_records()
    wait_ops(window)
    text = page.verify_label.text()
    assert text.startswith("✔ Records match the audit trail"), text
    assert "No anchor was found" in text
    _drop_triggers_and(window.wb.store.path, "update licence_line set quantity = 100000"
                                             " where quantity = 128")
    page.check_records()
    wait_ops(window)
    text = page.verify_label.text()
    assert text.startswith("✘ The records do not match the audit trail"), text
    assert "lines[0].quantity: 100000, the trail recorded 128" in text
    assert "snake" not in text and "{" not in text


def test_choosing_a_folder_anchors_into_it_and_says_so(qtbot, window, wait_ops,
                                                       tmp_path: Path) -> None:
    page = window.show_page("audit")
    folder = tmp_path / "anchors"
    folder.mkdir()
    page.set_folder(str(folder))
    wait_ops(window)
    files = list(folder.glob("*-anchor-*.json"))
    assert len(files) == 1, page.verify_label.text()
    assert f"Daily anchors go to {folder}" in page.anchor_label.text()
    assert "the daily anchor" in page.anchor_label.text()
    # not due again today; due tomorrow — the window's timer writes it
    window.anchor_if_due()
    wait_ops(window)
    assert len(list(folder.glob("*-anchor-*.json"))) == 1
    page.anchor_now()
    wait_ops(window)
    assert len(list(folder.glob("*-anchor-*.json"))) == 2
    assert anchors.last_anchor(window.wb.store)["kind"] == "by hand"
    page.check_records()
    wait_ops(window)
    assert "The trail holds all 2 anchors in the anchor folder" in page.verify_label.text()


def test_a_lost_anchor_folder_is_said_on_the_page(qtbot, window, wait_ops,
                                                  tmp_path: Path) -> None:
    page = window.show_page("audit")
    folder = tmp_path / "usb"
    folder.mkdir()
    page.set_folder(str(folder))
    wait_ops(window)
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    page.refresh_anchor()
    assert "cannot be found (is its disk connected?)" in page.anchor_label.text()
    from workbench.errors import WorkbenchError

    page.daily_failed(WorkbenchError("the disk is full"))
    assert "could not be written: the disk is full" in page.anchor_label.text()


def test_a_backup_from_the_app_carries_its_anchor(qtbot, window, wait_ops,
                                                  tmp_path: Path) -> None:
    dest = tmp_path / "backup.db"
    window.backup_to(str(dest))
    wait_ops(window)
    anchor = Path(f"{dest}.anchor.json")
    assert dest.exists() and anchor.exists()
    claim = anchors.read_claim(anchor)
    from workbench.db.store import Store

    copy = Store(dest)
    try:
        assert anchors.check_against(copy, [claim]) == []
    finally:
        copy.close()
    assert anchors.last_anchor(window.wb.store)["kind"] == "backup"
