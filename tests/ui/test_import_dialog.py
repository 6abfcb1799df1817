"""File → Import: the dialog reports bad rows and writes nothing, or imports."""

from __future__ import annotations

from pathlib import Path

from tests.ui.file_dialogs import choose_in_file_dialog
from ui.dialogs.import_file import ImportDialog
from ui.kit.ops import Ops
from workbench.db import audit


def _dialog(qtbot, demo_wb):
    ops = Ops()
    seen = []
    dlg = ImportDialog(demo_wb, ops, on_imported=seen.append)
    qtbot.addWidget(dlg)
    return dlg, ops, seen


def test_bad_rows_are_listed_and_nothing_written(qtbot, demo_wb, tmp_path: Path) -> None:
    f = tmp_path / "parties.csv"
    f.write_text("legal_name,country,kind\nGood Co Ltd,SG,company\nBad Co,Atlantis,company\n",
                 encoding="utf-8")
    dlg, ops, seen = _dialog(qtbot, demo_wb)
    before = demo_wb.store.scalar("select count(*) from party")
    dlg.path.setText(str(f))
    dlg.start_import()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=10_000)
    assert "NOTHING was imported" in dlg.summary.text()
    assert dlg.errors.rowCount() == 1
    assert dlg.errors.item(0, 0).text() == "3" and "Atlantis" in dlg.errors.item(0, 2).text()
    assert demo_wb.store.scalar("select count(*) from party") == before and not seen
    dlg.good_only.setChecked(True)
    dlg.start_import()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=10_000)
    assert demo_wb.store.scalar("select count(*) from party") == before + 1
    assert seen and seen[0].created == 1
    assert audit.verify(demo_wb.store).ok
    dlg.grab().save(str(tmp_path / "import.png"))
    ops.shutdown()


def test_template_and_auditor(qtbot, demo_wb, tmp_path: Path, monkeypatch) -> None:
    dest = tmp_path / "items-template.xlsx"
    choose_in_file_dialog(monkeypatch, str(dest))
    dlg, ops, _ = _dialog(qtbot, demo_wb)
    dlg.kind.setCurrentIndex(1)
    dlg.save_template()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=10_000)
    assert dest.exists() and dest.stat().st_size > 1000
    ops.shutdown()
    demo_wb.login("audrey", "demo-password")
    ro, ops2, _ = _dialog(qtbot, demo_wb)
    assert not ro.import_btn.isEnabled()
    ops2.shutdown()
