"""The background-operation helper: worker thread, callbacks, cancel, errors."""

from __future__ import annotations

import threading
import time

from PySide6.QtWidgets import QMessageBox

from ui.kit.ops import OpCancelled, Ops
from workbench.errors import ConflictError


def test_runs_off_the_gui_thread_and_calls_back_on_it(qtbot):
    ops = Ops()
    seen = {}
    ops.run(lambda task: threading.current_thread().name,
            success=lambda r: seen.update(worker=r, cb=threading.current_thread().name))
    qtbot.waitUntil(lambda: ops.pending == 0)
    assert seen["worker"].startswith("store-op")
    assert seen["cb"] == threading.main_thread().name
    ops.shutdown()


def test_operations_are_serialised(qtbot):
    ops = Ops()
    order, active, overlap = [], [0], [False]

    def work(i):
        def fn(task):
            active[0] += 1
            overlap[0] |= active[0] > 1
            time.sleep(0.01)
            order.append(i)
            active[0] -= 1
        return fn

    for i in range(5):
        ops.run(work(i))
    qtbot.waitUntil(lambda: ops.pending == 0)
    assert order == [0, 1, 2, 3, 4] and not overlap[0]
    ops.shutdown()


def test_progress_dialog_cancel_stops_the_core(qtbot, monkeypatch):
    monkeypatch.setattr("ui.kit.ops.PROGRESS_DELAY_MS", 20)
    ops = Ops()
    failures = []

    def long(task):
        for i in range(1000):
            task.progress(i, 1000)
            time.sleep(0.005)
        return "finished"

    task = ops.run(long, failure=failures.append, progress="Working hard")
    qtbot.wait(100)
    task.request_cancel()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=5000)
    assert len(failures) == 1 and isinstance(failures[0], OpCancelled)
    ops.shutdown()


def test_core_error_shown_in_a_plain_box(qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "open", lambda self: shown.append(self.text()))
    ops = Ops()

    def fail(task):
        raise ConflictError("the record changed since you opened it")

    ops.run(fail)
    ops.run(lambda task: 1 / 0)
    qtbot.waitUntil(lambda: ops.pending == 0)
    assert shown[0] == "the record changed since you opened it"
    assert "ZeroDivisionError" in shown[1] and "Nothing was saved" in shown[1]
    ops.shutdown()
