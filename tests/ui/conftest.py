"""Fixtures for the UI tests: a demo database per test (a copy of one made
once per session), a signed-in window."""

from __future__ import annotations

import pytest

from workbench.app import Workbench
from workbench.bootstrap import open_workbench
from workbench.demo import DEMO_PASSWORD


@pytest.fixture(autouse=True)
def no_modal_questions(monkeypatch):
    """A modal question would block an offscreen test forever: answer
    "Discard" and record what was asked."""
    from PySide6.QtWidgets import QMessageBox

    asked = []

    def question(parent, title, text, *a, **kw):
        asked.append(text)
        return QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo database, built once per session (per xdist worker): loading
    the demo costs seconds, copying it a few milliseconds."""
    path = tmp_path_factory.mktemp("demo-template") / "workbench.db"
    open_workbench(path, demo=True).close()
    return path


@pytest.fixture
def demo_wb(tmp_path, demo_template):
    """A fresh copy of the demo database in this test's temp folder, signed
    in as owner."""
    src = Workbench.open(demo_template)
    src.store.backup(tmp_path / "workbench.db")  # SQLite's online backup: a consistent copy
    src.close()
    wb = Workbench.open(tmp_path / "workbench.db")
    wb.login("owner", DEMO_PASSWORD)
    yield wb
    wb.close()


@pytest.fixture
def window(qtbot, demo_wb):
    """The main window on the demo database (1280×800, shown offscreen)."""
    from ui.main_window import MainWindow

    win = MainWindow(demo_wb)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.ops.shutdown()


@pytest.fixture
def wait_ops(qtbot):
    """``wait_ops(win)``: wait until the window's background operations end."""
    def wait(win, timeout=10_000):
        qtbot.waitUntil(lambda: win.ops.pending == 0, timeout=timeout)
    return wait
