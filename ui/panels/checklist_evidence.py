"""Evidence on a checklist run form: attach files to a question (dialog,
Ctrl+E, or dropped on the question), open the read-only viewing copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent

from workbench.app import Change
from workbench.checklists import runs as cs
from workbench.records import evidence as ev

from ui.kit.files import open_file_names
from ui.kit.ops import error_text
from ui.panels.checklist_questions import QuestionRow


class EvidenceActions:
    """The evidence half of :class:`ui.panels.checklist_run.RunForm` (a mixin:
    it uses the form's ``wb``, ``ops``, ``run``, ``rows``, ``row()``,
    ``banner``, ``busy``, ``read_only``, ``load()`` and signals). Every write
    goes through ``ops``; GUI thread."""

    def attach_current(self) -> None:
        if self._current is not None and not self.read_only:
            self.attach_dialog(self._current.qid)

    def attach_dialog(self, qid: str) -> None:
        paths = open_file_names(
            self, "Attach evidence", str(Path.home()),
            "Documents and images (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.docx *.xlsx *.eml "
            "*.msg *.txt);;All files (*)", store=self.wb.store)
        if paths:
            self.attach_files(qid, paths)

    def attach_files(self, qid: str, paths: list[str]) -> bool:
        """Store files as evidence of question ``qid`` (one transaction with
        the answer; the question must have an answer, given or typed)."""
        if self.read_only or self.busy or self.run is None:
            return False
        row = self.row(qid)
        v = row.values()
        if not v["value"]:
            row.show_error(["Answer this question first, then attach its evidence."])
            row.answer.setFocus()
            return False
        if row.is_red() and not v["resolution"]:
            row.show_error(["Red flag: write how it was resolved, then attach the evidence."])
            row.resolution.setFocus()
            return False
        wb, rid = self.wb, self.run["id"]
        self.busy = True
        self._enable()
        self.banner.say(f"Attaching {len(paths)} file{'s' if len(paths) != 1 else ''}…", "ok")

        def done(_ch: Change) -> None:
            self.busy = False
            others = {r.qid: r.values() for r in self.rows if r.dirty() and r.qid != qid}
            self.load(rid, keep_values=others)
            self.banner.say(f"Attached {', '.join(Path(p).name for p in paths)} to "
                            f"question {self.rows.index(self.row(qid)) + 1}; stored with its "
                            f"SHA-256.", "ok")
            self.changed.emit(_ch)

        def failed(exc: BaseException) -> None:
            self.busy = False
            self._enable()
            row.show_error([error_text(exc)])
            self.banner.say("The evidence was not attached.", "bad")

        self.ops.run(lambda _t: cs.answer(wb, rid, qid, v["value"], note=v["note"],
                                          resolution=v["resolution"], evidence_files=paths),
                     success=done, failure=failed, parent=self)
        return True

    def open_evidence(self, evidence_id: int) -> None:
        """Write the hash-checked, read-only viewing copy on the worker and
        hand it to the desktop (a viewer opens it; nothing is executed)."""
        store = self.wb.store

        def opened(path: Path) -> None:
            self.opened_file.emit(str(path))
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        self.ops.run(lambda _t: ev.export_for_viewing(store, evidence_id), success=opened,
                     failure=lambda e: self.banner.say(error_text(e), "bad"), parent=self)

    def _row_at(self, pos: Any) -> QuestionRow | None:
        w = self.childAt(pos)
        while w is not None and not isinstance(w, QuestionRow):
            w = w.parentWidget()
        return w

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if not self.read_only and e.mimeData().hasUrls() and \
                any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()
        else:
            e.ignore()

    def dragMoveEvent(self, e: Any) -> None:
        if not self.read_only and e.mimeData().hasUrls():
            e.acceptProposedAction()
        else:
            e.ignore()

    def dropEvent(self, e: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if self.read_only or not paths:
            e.ignore()
            return
        row = self._row_at(e.position().toPoint()) or self._current
        if row is None:
            e.ignore()
            return
        e.acceptProposedAction()
        self.attach_files(row.qid, paths)

