"""The form for one checklist run: questions, answers, evidence, sign-off.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Change, Workbench
from workbench.checklists import runs as cs
from workbench.errors import ValidationError

from ui.kit.checklist_text import state_label
from ui.kit.ops import Ops, Task, error_text
from ui.kit.views import Banner, format_timestamp, heading_label, muted_label
from ui.kit.widgets import ERROR_COLOR
from ui.panels.checklist_evidence import EvidenceActions
from ui.panels.checklist_questions import QuestionRow
from ui.panels.checklist_signoff import SignOffActions


class RunForm(EvidenceActions, SignOffActions, QWidget):
    """One checklist run: its questions, evidence, sign-offs and actions.

    Side effects: reads the run on the GUI thread (``load``); every write
    goes through ``ops``. Accepts files dropped on it (attached to the
    question under the drop: :class:`EvidenceActions`); sign-off, send back
    and revise are :class:`SignOffActions`. Emits ``changed(Change)`` after a write and
    ``back`` when the person leaves (Esc or the back button).
    """

    changed = Signal(object)
    back = Signal()
    opened_file = Signal(str)  # the read-only viewing copy that was opened

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.run: dict[str, Any] | None = None
        self.rows: list[QuestionRow] = []
        self._current: QuestionRow | None = None
        self.busy = False
        self.setAcceptDrops(True)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        self.back_btn = QPushButton("← All checklists")
        self.back_btn.setToolTip("Back to the lists (Esc)")
        self.back_btn.clicked.connect(self.leave)
        top.addWidget(self.back_btn)
        self.title = heading_label("")
        self.title.setWordWrap(True)
        top.addWidget(self.title, 1)
        self.status_chip = QLabel()
        top.addWidget(self.status_chip)
        lay.addLayout(top)
        self.meta = QLabel()
        self.meta.setStyleSheet("color: #555;")
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.meta)
        self.banner = Banner()
        lay.addWidget(self.banner)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.body = QWidget()
        # a white sheet, like a paper form, so the questions stand apart
        self.body.setObjectName("sheet")
        self.body.setStyleSheet("#sheet { background: white; }")
        self.body.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.body_lay = QVBoxLayout(self.body)
        self.body_lay.setContentsMargins(4, 4, 4, 4)
        self.body_lay.setSpacing(2)
        self.scroll.setWidget(self.body)
        lay.addWidget(self.scroll, 1)

        self.signoffs = QLabel()
        self.signoffs.setWordWrap(True)
        self.signoffs.setTextFormat(Qt.TextFormat.RichText)
        self.signoffs.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.signoffs)

        bar = QHBoxLayout()
        self.hint = muted_label("Tab: next question · Y/N/A answers yes/no · Ctrl+S save · "
                           "Ctrl+E attach · drop files on a question")
        bar.addWidget(self.hint, 1)
        bar.addStretch(0)  # keeps the buttons their size when the hint is hidden
        self.save_btn = QPushButton("Save answers")
        self.save_btn.setToolTip("Save the changed answers (Ctrl+S)")
        self.save_btn.clicked.connect(lambda: self.save())
        self.sign_btn = QPushButton("Sign off…")
        self.sign_btn.clicked.connect(self.sign_off)
        self.reject_btn = QPushButton("Send back…")
        self.reject_btn.setToolTip("Return the run to the officer with a reason")
        self.reject_btn.clicked.connect(self.send_back)
        self.revise_btn = QPushButton("Revise")
        self.revise_btn.setToolTip("Start a new revision with these answers copied; this run "
                                   "stays locked and valid until the revision is completed")
        self.revise_btn.clicked.connect(self.revise)
        for b in (self.save_btn, self.reject_btn, self.revise_btn, self.sign_btn):
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            bar.addWidget(b)
        self.sign_btn.setDefault(False)
        lay.addLayout(bar)

        for seq, slot in (("Ctrl+S", lambda: self.save()), ("Ctrl+E", self.attach_current),
                          ("Esc", self.leave)):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    # -- state -----------------------------------------------------------------------
    @property
    def run_id(self) -> int | None:
        return self.run["id"] if self.run else None

    @property
    def read_only(self) -> bool:
        r = self.run
        return (r is None or not self.wb.user.can_write or r["status"] == "completed"
                or r["state"] == "superseded")

    def dirty(self) -> bool:
        return not self.read_only and any(r.dirty() for r in self.rows)

    def row(self, qid: str) -> QuestionRow:
        return next(r for r in self.rows if r.qid == qid)

    # -- loading ---------------------------------------------------------------------
    def load(self, run_id: int, *, keep_errors: dict[str, list[str]] | None = None,
             keep_values: dict[str, dict[str, str]] | None = None) -> None:
        """Read run ``run_id`` and show it (GUI thread; one run's rows)."""
        run = cs.get_run(self.wb.store, run_id)
        same = self.run is not None and self.run["id"] == run_id and \
            [q["id"] for q in self.run["questions"]] == [q["id"] for q in run["questions"]]
        self.run = run
        if not same:
            self._build_rows()
        for row, q in zip(self.rows, run["questions"]):
            row.load(q["answer"])
            if keep_values and row.qid in keep_values:
                # A row the save refused keeps what the person typed.
                v = keep_values[row.qid]
                row.answer.set_value(v["value"])
                row.note.setText(v["note"])
                row._on_edit(emit=False)
                row.resolution.setText(v["resolution"])
            if keep_errors and row.qid in keep_errors:
                row.show_error(keep_errors[row.qid])
        self._show_header()
        ro = self.read_only
        for row in self.rows:
            row.set_read_only(ro)
        self._enable()

    def _build_rows(self) -> None:
        while self.body_lay.count():
            it = self.body_lay.takeAt(0)
            if it.widget() is not None:
                it.widget().deleteLater()
        self.rows = []
        prev: QWidget | None = None
        for i, q in enumerate(self.run["questions"] if self.run else []):
            row = QuestionRow(i + 1, q)
            row.changed.connect(self._enable)
            row.attach.connect(self.attach_dialog)
            row.open_evidence.connect(self.open_evidence)
            for w in (row.answer, row.note, row.resolution):
                w.installEventFilter(self)
            self.body_lay.addWidget(row)
            self.rows.append(row)
            # Tab order: answer → resolution (when shown) → note → next answer.
            chain = [row.answer, row.resolution, row.note]
            for w in chain:
                if prev is not None:
                    QWidget.setTabOrder(prev, w)
                prev = w
        self.body_lay.addStretch(1)
        self._current = self.rows[0] if self.rows else None

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:
        if e.type() == QEvent.Type.FocusIn:
            for row in self.rows:
                if obj in (row.answer, row.note, row.resolution):
                    self._current = row
                    self.scroll.ensureWidgetVisible(obj, 20, 40)
                    break
        return super().eventFilter(obj, e)

    def _show_header(self) -> None:
        r = self.run
        assert r is not None
        t = r["template"]
        kind = "Party" if r["target"]["kind"] == "party" else "Shipment"
        self.title.setText(f"Run {r['id']} · {t['title']}")
        self.title.setToolTip(f"{t['id']} version {t['version']}, template SHA-256 {t['sha256']}")
        colours = {"in_progress": ("#fff4ce", "#7a5d00"), "awaiting_approval": ("#e8eefc", "#23418c"),
                   "completed": ("#e6f4ea", "#1e5e2e"), "superseded": ("#eeeeee", "#555")}
        bg, fg = colours.get(r["state"], ("#eee", "#333"))
        self.status_chip.setText(state_label(r["state"]))
        self.status_chip.setStyleSheet(f"background: {bg}; color: {fg}; padding: 3px 10px;"
                                       f" border-radius: 9px; font-weight: 600;")
        bits = [f"{kind}: <b>{r['target']['label']}</b>",
                f"{t['id']} v{t['version']}", f"revision {r['revision']}",
                f"started by {r['started_by']} {format_timestamp(r['started_at'])}"]
        if r["supersedes_id"]:
            bits.append(f"revises run {r['supersedes_id']}")
        if r["superseded_by"]:
            bits.append(f"superseded by run {r['superseded_by']}")
        if r["expires_on"]:
            bits.append(f"valid until {r['expires_on']}")
        answered = sum(1 for q in r["questions"] if q["answer"])
        bits.append(f"{answered} of {len(r['questions'])} answered")
        if r["red_flags"]:
            bits.append(f"<span style='color:{ERROR_COLOR}'>{len(r['red_flags'])} red "
                        f"flag{'s' if len(r['red_flags']) != 1 else ''}</span>")
        self.meta.setText(" · ".join(bits))
        if r["signoffs"]:
            names = {"submit": "Submitted for approval", "approve": "Approved",
                     "complete": "Signed and completed", "reject": "Sent back"}
            lines = []
            for s in r["signoffs"]:
                line = (f"<b>{names.get(s['kind'], s['kind'])}</b> by {s['username']} "
                        f"({s['role']}) at {format_timestamp(s['signed_at'])}, password re-entered")
                if s["red_flags"]:
                    num = {q["id"]: i + 1 for i, q in enumerate(r["questions"])}
                    line += "; red flags: " + ", ".join(
                        f"question {num.get(q, '?')} ({q})" for q in s["red_flags"])
                if s["note"]:
                    line += f" — “{s['note']}”"
                lines.append(line)
            self.signoffs.setText("<b>Sign-offs</b><br>" + "<br>".join(lines))
            self.signoffs.show()
        else:
            self.signoffs.hide()
        if not self.wb.user.can_write:
            self.banner.say(f"You are signed in as {self.wb.user.username}, an auditor: you can "
                            f"read this run and open its evidence, but not change or sign it.",
                            "warn")
        elif r["state"] == "superseded":
            self.banner.say(f"Run {r['superseded_by']} has replaced this run; it is kept "
                            f"read-only as it was signed.", "warn")
        elif r["status"] == "completed":
            self.banner.say("Completed and locked. To change an answer, start a revision "
                            "(“Revise”).", "ok")
        elif r["status"] == "awaiting_approval":
            by = r["submitted_by"] or "the officer"
            self.banner.say(f"Waiting for an approver: {by} signed it with "
                            f"{len(r['red_flags'])} red flag(s) resolved. Changing an answer "
                            f"sends it back to in progress.", "warn")
        else:
            self.banner.say("", "ok")

    def _enable(self) -> None:
        r = self.run
        can = self.wb.user.can_write and r is not None and not self.busy
        is_open = r is not None and r["status"] != "completed"
        approver = self.wb.user.role in cs.APPROVER_ROLES
        self.save_btn.setVisible(can and is_open)
        self.save_btn.setEnabled(can and is_open and self.dirty())
        self.sign_btn.setVisible(bool(can and is_open))
        waiting = r is not None and r["status"] == "awaiting_approval"
        self.sign_btn.setText("Approve…" if waiting and approver else "Sign off…")
        self.sign_btn.setToolTip("Sign with your password: completes the run, or sends red "
                                 "flags to an approver")
        self.reject_btn.setVisible(bool(can and waiting and approver))
        self.revise_btn.setVisible(bool(can and r is not None and r["status"] == "completed"
                                        and r["state"] != "superseded"))
        self.hint.setVisible(bool(can and is_open))

    # -- saving ----------------------------------------------------------------------
    def save(self, then: Callable[[], None] | None = None) -> bool:
        """Save the changed answers (Ctrl+S) through ops; returns False when
        there was nothing to do or something was refused before writing.

        A red-flag answer without a resolution note is refused inline (that
        row is not written; the others are), so it cannot slip past.
        """
        if self.read_only or self.busy or self.run is None:
            return False
        rid = self.run["id"]
        todo: list[tuple[str, dict[str, str]]] = []
        refused: dict[str, list[str]] = {}
        kept: dict[str, dict[str, str]] = {}
        for row in self.rows:
            row.show_error([])
            if not row.dirty():
                continue
            v = row.values()
            if not v["value"]:
                continue  # cleared: the core has no "unanswer"; leave as stored
            if row.is_red() and not v["resolution"]:
                refused[row.qid] = ["Red flag: write how it was resolved before it can be "
                                    "saved (who checked what, and the outcome)."]
                kept[row.qid] = v
                continue
            todo.append((row.qid, v))
        if not todo:
            self._after_save({"saved": [], "errors": {}}, refused, kept, None)
            return False
        wb = self.wb

        def work(_task: Task) -> dict[str, Any]:
            saved, errors = [], {}
            for qid, v in todo:
                try:
                    cs.answer(wb, rid, qid, v["value"], note=v["note"],
                              resolution=v["resolution"])
                    saved.append(qid)
                except ValidationError as e:
                    errors[qid] = [e2.message for e2 in e.errors]
            return {"saved": saved, "errors": errors}

        for qid, v in todo:
            kept[qid] = v
        self.busy = True
        self._enable()
        self.ops.run(work, success=lambda res: self._after_save(res, refused, kept, then),
                     failure=self._failed, parent=self)
        return True

    def _after_save(self, res: dict[str, Any], refused: dict[str, list[str]],
                    kept: dict[str, dict[str, str]], then: Callable[[], None] | None) -> None:
        self.busy = False
        errors = {**refused, **res["errors"]}
        keep = {q: v for q, v in kept.items() if q in errors}
        if self.run is not None:
            self.load(self.run["id"], keep_errors=errors, keep_values=keep)
        n = len(res["saved"])
        if errors:
            first = next(r for r in self.rows if r.qid in errors)
            target = first.resolution if first.resolution.isVisible() else first.answer
            target.setFocus()
            self.scroll.ensureWidgetVisible(first)
            self.banner.say(f"Saved {n} answer{'s' if n != 1 else ''}; "
                            f"{len(errors)} not saved — see the marked question"
                            f"{'s' if len(errors) != 1 else ''}.", "bad")
        elif n:
            self.banner.say(f"Saved {n} answer{'s' if n != 1 else ''}.", "ok")
        if n:
            self.changed.emit(Change("checklist_run", self.run_id, "answer", {}))
        if then is not None and not errors:
            then()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self._enable()
        self.banner.say(error_text(exc), "bad")

    def leave(self) -> None:
        if self.dirty():
            ans = QMessageBox.question(self, "Unsaved answers",
                                       "Some answers are not saved. Leave without saving?",
                                       QMessageBox.StandardButton.Discard
                                       | QMessageBox.StandardButton.Cancel,
                                       QMessageBox.StandardButton.Cancel)
            if ans != QMessageBox.StandardButton.Discard:
                return
        self.back.emit()
