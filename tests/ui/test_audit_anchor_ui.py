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


def test_the_app_asks_for_the_key_passphrase_once(qtbot, window, wait_ops, tmp_path: Path,
                                                  monkeypatch) -> None:
    from ui.kit import key_unlock
    from workbench.packets import signing

    monkeypatch.delenv(signing.PASSPHRASE_ENV, raising=False)
    asked: list[bool] = []

    def ask(parent, locked):
        asked.append(locked.creating)
        return "a passphrase typed once"

    monkeypatch.setattr(key_unlock, "ask_passphrase", ask)
    page = window.show_page("audit")
    page.anchor_now(str(tmp_path / "one.json"))
    wait_ops(window)
    page.anchor_now(str(tmp_path / "two.json"))
    wait_ops(window)
    assert asked == [True]  # made once, with a new passphrase; not asked again
    assert (tmp_path / "one.json").exists() and (tmp_path / "two.json").exists()
    key = window.wb.store.path.with_name(window.wb.store.path.name + ".keys") / signing.KEY_FILE
    assert b"ENCRYPTED" in key.read_bytes()[:64]
    # a new session that cancels the question signs nothing, and says so
    window.wb.store.secrets.clear()
    monkeypatch.setattr(key_unlock, "ask_passphrase", lambda parent, locked: None)
    shown: list[str] = []
    monkeypatch.setattr(key_unlock, "show_error", lambda parent, e: shown.append(str(e)))
    page.anchor_now(str(tmp_path / "three.json"))
    wait_ops(window)
    assert not (tmp_path / "three.json").exists()
    assert shown and "passphrase was not given" in shown[0]


def test_the_passphrase_dialog_checks_a_new_passphrase(qtbot) -> None:
    from ui.kit.key_unlock import PassphraseDialog
    from workbench.packets.signing import KeyLocked

    dlg = PassphraseDialog(KeyLocked("x", Path("/tmp/k"), creating=True))
    qtbot.addWidget(dlg)
    dlg.first.setText("short")
    assert "at least 8" in dlg.problem()
    dlg.first.setText("long enough passphrase")
    dlg.second.setText("long enough passphrasf")
    assert dlg.problem() == "The two passphrases differ."
    dlg.second.setText("long enough passphrase")
    assert dlg.problem() == ""
