"""Background operations: the one way the UI runs store work off the GUI thread.

Modelled on Anki's ``CollectionOp``/``TaskManager``: a single-worker executor
runs every store operation, so database writes are serialised and never run
on the GUI thread; the result (or the exception) travels back to the GUI
thread through a queued Qt signal, where the success or failure callback runs.

Long work gets a :class:`Task` whose ``progress(done, total)`` and
``cancel()`` callables are handed to the core; the core knows nothing of
dialogs. A progress dialog appears only when the work takes longer than
:data:`PROGRESS_DELAY_MS` (no flicker for quick saves), and its Cancel button
only sets a flag the core polls.

Rule for callers: the function given to :meth:`Ops.run` runs on the worker
thread and must not touch widgets; the callbacks run on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from workbench.errors import WorkbenchError

log = logging.getLogger(__name__)

PROGRESS_DELAY_MS = 400
POLL_MS = 100


class OpCancelled(WorkbenchError):
    """Raised inside an operation when the user pressed Cancel."""

    def __init__(self) -> None:
        super().__init__("cancelled; nothing was changed")


class Task:
    """What an operation sees of the UI: progress reporting and a cancel flag.

    Threading: ``progress``/``cancel`` are called on the worker thread; the
    GUI thread only reads ``done``/``total`` and sets the cancel flag, all
    plain attribute access (atomic under the GIL).
    """

    def __init__(self) -> None:
        self.done = 0
        self.total = 0
        self._cancel = threading.Event()

    def progress(self, done: int, total: int | None) -> None:
        """Record progress (``total`` None = unknown, shown as busy); raises
        :class:`OpCancelled` once Cancel was pressed, so core functions that
        only take a progress callback still stop."""
        self.done, self.total = int(done), int(total or 0)
        if self._cancel.is_set():
            raise OpCancelled()

    def cancel(self) -> bool:
        """True once the user asked to cancel (the core polls this)."""
        return self._cancel.is_set()

    def request_cancel(self) -> None:
        self._cancel.set()


@dataclass
class _Op:
    fn: Callable[[Task], Any]
    success: Callable[[Any], None] | None
    failure: Callable[[BaseException], None] | None
    parent: QWidget | None
    label: str | None
    task: Task = field(default_factory=Task)
    result: Any = None
    error: BaseException | None = None
    dialog: QProgressDialog | None = None
    timer: QTimer | None = None


class Ops(QObject):
    """The background-operation helper (one per main window / store).

    ``run(fn, success=..., failure=..., progress="Backing up…")`` queues
    ``fn(task)`` on the single worker thread. Signals:
    ``started``/``finished`` (GUI thread) let tests and the status bar know
    when nothing is pending.
    """

    finished = Signal()
    _completed = Signal(object)  # emitted from the worker; queued to the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-op")
        self._completed.connect(self._on_completed, Qt.ConnectionType.QueuedConnection)
        self.pending = 0

    # -- public --------------------------------------------------------------
    def run(self, fn: Callable[[Task], Any], *,
            success: Callable[[Any], None] | None = None,
            failure: Callable[[BaseException], None] | None = None,
            parent: QWidget | None = None,
            progress: str | None = None) -> Task:
        """Start ``fn(task)`` on the worker thread; returns the task.

        ``success(result)`` or ``failure(exc)`` run later on the GUI thread.
        Without ``failure`` the error is shown in a message box (see
        :func:`show_error`). With ``progress`` a cancellable progress dialog
        labelled so appears if the work outlasts PROGRESS_DELAY_MS.
        """
        op = _Op(fn, success, failure, parent, progress)
        self.pending += 1
        if progress is not None:
            op.timer = QTimer(self)
            op.timer.setSingleShot(True)
            op.timer.timeout.connect(lambda op=op: self._show_progress(op))
            op.timer.start(PROGRESS_DELAY_MS)
        self._executor.submit(self._work, op)
        return op.task

    def shutdown(self) -> None:
        """Wait for queued work to end (called when the window closes)."""
        self._executor.shutdown(wait=True)

    # -- worker thread ---------------------------------------------------------
    def _work(self, op: _Op) -> None:
        try:
            op.result = op.fn(op.task)
        except BaseException as e:  # noqa: BLE001 - delivered to the GUI thread
            op.error = e
            if not isinstance(e, WorkbenchError):
                log.error("background operation failed:\n%s",
                          "".join(traceback.format_exception(e)))
        self._completed.emit(op)

    # -- GUI thread ------------------------------------------------------------
    def _show_progress(self, op: _Op) -> None:
        if op.dialog is not None or op.timer is None:
            return
        dlg = QProgressDialog(op.label or "Working…", "Cancel", 0, 0, op.parent)
        dlg.setWindowTitle("Please wait")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(op.task.request_cancel)
        dlg.canceled.connect(lambda: dlg.setLabelText("Cancelling…"))
        op.dialog = dlg
        dlg.show()
        poll = QTimer(dlg)
        poll.timeout.connect(lambda: self._poll(op))
        poll.start(POLL_MS)

    @staticmethod
    def _poll(op: _Op) -> None:
        if op.dialog is not None and op.task.total:
            op.dialog.setMaximum(op.task.total)
            op.dialog.setValue(min(op.task.done, op.task.total))

    def _on_completed(self, op: _Op) -> None:
        if op.timer is not None:
            op.timer.stop()
            op.timer = None
        if op.dialog is not None:
            op.dialog.close()
            op.dialog.deleteLater()
            op.dialog = None
        self.pending -= 1
        try:
            if op.parent is not None and not shiboken6.isValid(op.parent):
                # the dialog or page that asked was closed meanwhile: the work
                # is done (and committed); there is nothing left to update
                if op.error is not None and not isinstance(op.error, OpCancelled):
                    log.warning("background operation failed after its window closed: %s",
                                error_text(op.error))
                return
            if op.error is None:
                if op.success is not None:
                    op.success(op.result)
            elif isinstance(op.error, OpCancelled):
                if op.failure is not None:
                    op.failure(op.error)
            elif op.failure is not None:
                op.failure(op.error)
            else:
                show_error(op.parent, op.error)
        finally:
            self.finished.emit()


def error_text(exc: BaseException) -> str:
    """The officer-facing text for an error from an operation."""
    if isinstance(exc, WorkbenchError):
        return str(exc)
    return (f"Something went wrong that the workbench did not expect "
            f"({type(exc).__name__}: {exc}). Nothing was saved. The details "
            f"are in the log.")


def show_error(parent: QWidget | None, exc: BaseException) -> QMessageBox:
    """Show ``exc`` in a plain, non-blocking message box (GUI thread).

    Non-blocking (``open()`` rather than ``exec()``) so a failure never stalls
    the event loop the worker's next result arrives through.
    """
    box = QMessageBox(QMessageBox.Icon.Warning, "Export Compliance Workbench",
                      error_text(exc), QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
