"""The app and `workbench` commands on one database at the same time.

Issue 13's data loss: once the app's file dialog had listed the database's
folder, Qt had opened and closed the database file to guess its type, which
drops the app's POSIX locks; the next command then deleted the app's live
-wal and -shm and the app's later writes were lost. These tests list the
folder in the app's dialog, write from both sides, and check that every
write survives and the audit chain verifies.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QFileSystemModel

from workbench import settings
from workbench.demo import DEMO_PASSWORD

from ui.kit import files

ROOT = Path(__file__).resolve().parents[2]


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, WORKBENCH_USER="arthur", WORKBENCH_PASSWORD=DEMO_PASSWORD)
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), *args],
                          env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)


def _deleted_db_files(db: Path) -> list[str]:
    """This process's descriptors on the database's files that point at a
    deleted file: the symptom of lost locks."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(db)) and target.endswith("(deleted)"):
            out.append(target)
    return out


def _list_folder(qtbot, dlg: QFileDialog) -> None:
    """Show the dialog on the folder until its listing (and the background
    icon and type lookups) have run, then close it."""
    dlg.show()
    model = dlg.findChild(QFileSystemModel)
    assert model is not None
    qtbot.waitUntil(lambda: model.rowCount(model.index(dlg.directory().absolutePath())) > 0,
                    timeout=10_000)
    qtbot.wait(1500)  # the file-info gatherer thread fetches icons and types
    dlg.close()


def _writes_survive(qtbot, wb, dlg: QFileDialog) -> tuple[list[str], list[str]]:
    db = wb.store.path
    settings.set_value(wb, settings.EXPORTER_NAME, "App before the dialog")
    _list_folder(qtbot, dlg)
    r = _cli(db, "settings", "set", "exporter-name", "CLI after the dialog")
    assert r.returncode == 0, r.stderr
    deleted = _deleted_db_files(db)
    settings.set_value(wb, settings.EXPORTER_NAME, "App after the CLI")
    r = _cli(db, "settings", "set", "exporter-name", "CLI last")
    assert r.returncode == 0, r.stderr
    wb.close()
    con = sqlite3.connect(db)
    try:
        values = [row[0] for row in con.execute(
            "select json_extract(after, '$.value') from audit_event"
            " where entity = 'setting' order by seq")]
    finally:
        con.close()
    return deleted, values


def test_app_and_cli_writes_all_survive_after_a_file_dialog(qtbot, demo_wb) -> None:
    dlg = files._dialog(None, "Choose a spreadsheet", str(demo_wb.store.path.parent),
                        "All files (*)", QFileDialog.FileMode.ExistingFile)
    deleted, values = _writes_survive(qtbot, demo_wb, dlg)
    assert deleted == []
    assert values[-4:] == ["App before the dialog", "CLI after the dialog",
                           "App after the CLI", "CLI last"]
    r = _cli(demo_wb.store.path, "audit", "verify")
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stdout + r.stderr
    assert re.search(r"ok: \d+ events", r.stdout)


def test_qt_default_dialog_is_the_hazard_the_kit_avoids(qtbot, demo_wb) -> None:
    """The control: Qt's own icon provider reads the database file. If this
    Qt no longer does, there is nothing to show (skip), but the kit's test
    above still guards the app."""
    dlg = QFileDialog(None, "Plain", str(demo_wb.store.path.parent), "All files (*)")
    dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    deleted, values = _writes_survive(qtbot, demo_wb, dlg)
    if not deleted:
        pytest.skip("this Qt's file dialog did not open the database file")
    assert any(p.endswith("-wal (deleted)") for p in deleted)


def test_no_file_dialog_outside_the_kit() -> None:
    """Every dialog of the app goes through ui/kit/files.py."""
    offenders = []
    for p in (ROOT / "ui").rglob("*.py"):
        if p.name == "files.py" and p.parent.name == "kit":
            continue
        text = p.read_text(encoding="utf-8")
        if re.search(r"QFileDialog|getOpenFileName|getSaveFileName|getExistingDirectory",
                     text):
            offenders.append(str(p.relative_to(ROOT)))
    assert offenders == []


def test_the_database_itself_cannot_be_chosen(qtbot, demo_wb, monkeypatch) -> None:
    from tests.ui.file_dialogs import choose_in_file_dialog

    from PySide6.QtWidgets import QMessageBox

    warned = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda parent, title, text, *a: warned.append(text)))
    db = demo_wb.store.path
    for own in (db, Path(f"{db}-wal")):
        choose_in_file_dialog(monkeypatch, str(own))
        assert files.open_file_name(None, "Attach", str(db.parent), store=demo_wb.store) == ""
        assert files.save_file_name(None, "Save", str(db.parent), store=demo_wb.store) == ""
    assert len(warned) == 4 and "own database file" in warned[0]
    other = db.parent / "names.csv"
    other.write_text("name\nAcme\n", encoding="utf-8")
    choose_in_file_dialog(monkeypatch, str(other))
    assert files.open_file_name(None, "Attach", str(db.parent),
                                store=demo_wb.store) == str(other)
