"""The Checklists page: runs in progress, waiting for approval, due for
re-verification and completed; the run form; starting a run; sign-off.

The page is a stack of two views: the run lists (tabs) and the run form
(full width, because a checklist has up to sixteen long questions). Enter or
a double-click opens a run; Esc goes back.

The run form is built for the keyboard: one tab stop for the answer (Y/N/A
or 1/2/3 on a yes/no question, the first letters on a choice) and one for
the note, so Tab moves question to question; a red-flag answer shows its
resolution field, which Tab then reaches; Ctrl+S saves; Ctrl+E attaches
evidence to the current question. Files dropped anywhere on the form are
attached to the question under the drop (or the current one).

Every write (answers, evidence, start, sign-off, send back, revise) and
every evidence read goes through :class:`ui.ops.Ops` on its worker thread;
the GUI thread only reads a run, the run lists and the due list (small,
indexed queries). The rules — what is a red flag, what sign-off needs, four
eyes, locking — live in :mod:`workbench.checklists.runs`; the widgets only
show what it returns and pass the officer's input back to it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import (QDesktopServices, QDragEnterEvent, QDropEvent, QKeyEvent,
                           QKeySequence, QShortcut)
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDialog,
                               QDialogButtonBox, QFileDialog, QFrame, QGridLayout,
                               QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QRadioButton,
                               QScrollArea, QStackedWidget, QTableView, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from workbench.records import browse
from workbench.records import evidence as ev
from workbench.app import Change, Workbench
from workbench.checklists import runs as cs
from workbench.errors import AuthenticationError, PermissionDenied, ValidationError
from workbench.db.store import Store

from ui.ops import Ops, Task, error_text
from ui.screening_pages import Banner, Col, RowsModel, _heading, _muted, _ts, make_view
from ui.widgets import ERROR_COLOR, ErrorLabel, RecordPicker

DUE_WITHIN_DAYS = 60
YES_NO_LABELS = {"yes": "Yes", "no": "No", "not_applicable": "Not applicable"}
RED_BG = "#fdecea"
RED_BORDER = "#e8b4b0"


def _kb(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:,.1f} KB"
    return f"{size / 1048576:,.1f} MB"


def _state_label(state: str) -> str:
    return cs.STATUS_LABELS.get(state, state)


# ----------------------------------------------------------------------------
# Table columns
# ----------------------------------------------------------------------------

def _target(r: dict[str, Any]) -> str:
    kind = "Party" if r.get("party_id") is not None else "Shipment"
    return f"{kind}: {r.get('target') or ''}"


def _started(r: dict[str, Any]) -> str:
    return f"{r['started_by']}, {_ts(r['started_at'])}"


RUN_COLUMNS = [
    Col("id", "Run", 50, numeric=True),
    Col("title", "Checklist", 250, stretch=True,
        tip=lambda r: f"{r.get('title')} ({r['template_id']}), revision {r['revision']}"),
    Col("target", "Party or shipment", 250, fmt=_target, stretch=True),
    Col("started", "Started", 210, fmt=_started),
    Col("red_flags", "Red flags", 72, numeric=True,
        fmt=lambda r: str(r["red_flags"]) if r["red_flags"] else "—"),
    Col("state", "Status", 150, fmt=lambda r: _state_label(r["state"])
        + (f" (expires {r['expires_on']})" if r.get("expires_on") else "")),
]
DUE_COLUMNS = [
    Col("legal_name", "Party", 280, stretch=True),
    Col("title", "Checklist", 260, stretch=True),
    Col("completed_at", "Completed", 150, fmt=lambda r: _ts(r["completed_at"])),
    Col("expires_on", "Expires on", 100),
    Col("state", "State", 90, fmt=lambda r: "Lapsed" if r["state"] == "expired" else "Lapses soon"),
    Col("open_run", "Open run", 80, numeric=True, fmt=lambda r: str(r["open_run"] or "—")),
]


# ----------------------------------------------------------------------------
# Answer widgets
# ----------------------------------------------------------------------------

class YesNoField(QWidget):
    """Yes / No / Not applicable as radio buttons with ONE tab stop.

    The radios take no focus (Tab would otherwise stop on each); while the
    field has focus, Y, N, A (or 1, 2, 3, or the arrow keys) choose. GUI
    thread only; emits ``changed`` when the person picks.
    """

    changed = Signal()
    KEYS = {Qt.Key.Key_Y: "yes", Qt.Key.Key_1: "yes", Qt.Key.Key_N: "no", Qt.Key.Key_2: "no",
            Qt.Key.Key_A: "not_applicable", Qt.Key.Key_3: "not_applicable"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setObjectName("yesno")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 1, 4, 1)
        lay.setSpacing(10)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, label in YES_NO_LABELS.items():
            b = QRadioButton(label)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setToolTip({"yes": "Y or 1", "no": "N or 2", "not_applicable": "A or 3"}[key])
            self.group.addButton(b)
            self.buttons[key] = b
            lay.addWidget(b)
            b.clicked.connect(self._clicked)
        lay.addStretch(1)
        self._focus_style(False)

    def _clicked(self) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.changed.emit()

    def _focus_style(self, on: bool) -> None:
        # The radios cannot show focus, so the field draws it.
        self.setStyleSheet("#yesno { border: 2px solid %s; border-radius: 4px; }"
                           % ("#3b6fd8" if on else "transparent"))

    def focusInEvent(self, e: Any) -> None:
        self._focus_style(True)
        super().focusInEvent(e)

    def focusOutEvent(self, e: Any) -> None:
        self._focus_style(False)
        super().focusOutEvent(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        key = Qt.Key(e.key())
        if key in self.KEYS and not e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.set_value(self.KEYS[key])
            self.changed.emit()
            return
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            order = list(YES_NO_LABELS)
            cur = self.value()
            i = order.index(cur) if cur in order else -1
            step = -1 if key in (Qt.Key.Key_Left, Qt.Key.Key_Up) else 1
            self.set_value(order[(i + step) % len(order)] if i >= 0 else order[0])
            self.changed.emit()
            return
        super().keyPressEvent(e)

    def value(self) -> str:
        for k, b in self.buttons.items():
            if b.isChecked():
                return k
        return ""

    def set_value(self, v: str | None) -> None:
        if v in self.buttons:
            self.buttons[v].setChecked(True)
        else:
            self.group.setExclusive(False)
            for b in self.buttons.values():
                b.setChecked(False)
            self.group.setExclusive(True)

    def setEnabled(self, on: bool) -> None:  # noqa: N802 - Qt name
        super().setEnabled(on)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus if on else Qt.FocusPolicy.NoFocus)


class ChoiceField(QComboBox):
    """The options of a choice question, with a blank "not answered" first.
    Typing the first letters picks (a plain combo's keyboard search)."""

    changed = Signal()

    def __init__(self, options: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItem("— choose —", "")
        for i, o in enumerate(options):
            self.addItem(o, o)
            self.setItemData(i + 1, f"{i + 1}. {o}", Qt.ItemDataRole.ToolTipRole)
        self.setMinimumContentsLength(22)
        self.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def value(self) -> str:
        return self.currentData() or ""

    def set_value(self, v: str | None) -> None:
        i = self.findData(v or "")
        self.setCurrentIndex(max(i, 0))


class TextField(QLineEdit):
    """A text or date answer (dates in any form the core reads, shown ISO)."""

    changed = Signal()

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.textEdited.connect(lambda _t: self.changed.emit())

    def value(self) -> str:
        return self.text().strip()

    def set_value(self, v: str | None) -> None:
        self.setText(v or "")


def answer_widget(q: dict[str, Any]) -> QWidget:
    """The answer widget for a question's type (each has value/set_value/changed)."""
    t = q["type"]
    if t == "yes_no":
        return YesNoField()
    if t == "choice":
        return ChoiceField(list(q.get("options") or []))
    if t == "date":
        return TextField("Date, e.g. 2026-03-31")
    return TextField("Answer")


# ----------------------------------------------------------------------------
# One question
# ----------------------------------------------------------------------------

class QuestionRow(QFrame):
    """One question of a run: text (help and source in the tooltip), the
    answer, a note, the resolution a red flag needs, and its evidence.

    Shows values only; ``pending()`` returns what the person changed. GUI
    thread only; emits ``changed`` on edits, ``attach`` and ``open_evidence``
    for the form to carry out through ops.
    """

    changed = Signal()
    attach = Signal(str)          # question id
    open_evidence = Signal(int)   # evidence id

    def __init__(self, number: int, q: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.q = q
        self.qid = q["id"]
        self.setObjectName("qrow")
        self._saved: dict[str, str] = {"value": "", "note": "", "resolution": ""}
        self._red = False
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        tip = (f"<p>{q.get('help') or ''}</p><p><i>Source: {q.get('source', '')}</i></p>"
               f"<p style='color:#666'>Question id: {self.qid}</p>")
        flags = ", ".join(YES_NO_LABELS.get(a, a) for a in q.get("red_flag_answers") or [])
        self.text = QLabel(f"<b>{number}.</b> {q['text']}"
                           + (" <span style='color:#8c1d18'>*</span>"
                              if q.get("evidence_required") else ""))
        self.text.setWordWrap(True)
        self.text.setToolTip(tip)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        grid.addWidget(self.text, 0, 0, 1, 3)
        src = f"Source: {q.get('source', '')}"
        if flags:
            src += f"  ·  red flag if {flags}"
        if q.get("evidence_required"):
            src += "  ·  * evidence required"
        self.source = QLabel(src)
        self.source.setStyleSheet("color: #666;")
        self.source.setWordWrap(True)
        self.source.setToolTip(tip)
        f = self.source.font()
        f.setPointSizeF(f.pointSizeF() * 0.9)
        self.source.setFont(f)
        grid.addWidget(self.source, 1, 0, 1, 3)

        self.answer = answer_widget(q)
        self.answer.setToolTip(tip)
        self.answer.setAccessibleName(q["text"])
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (optional)")
        self.note.setAccessibleName(f"Note: {q['text']}")
        self.resolution = QLineEdit()
        self.resolution.setPlaceholderText("Required: who checked what, and the outcome")
        self.resolution.setAccessibleName(f"Resolution: {q['text']}")
        self.resolution.setStyleSheet(f"border: 1px solid {ERROR_COLOR}; padding: 2px;"
                                      f" background: white;")
        # A label stays visible once the field is filled (a placeholder does not).
        self.res_w = QWidget()
        rl = QHBoxLayout(self.res_w)
        rl.setContentsMargins(0, 0, 0, 0)
        res_label = QLabel("Red flag — resolution:")
        res_label.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: 600;")
        res_label.setBuddy(self.resolution)
        rl.addWidget(res_label)
        rl.addWidget(self.resolution, 1)
        self.res_w.hide()
        grid.addWidget(self.answer, 2, 0)
        grid.addWidget(self.note, 2, 1)
        grid.addWidget(self.res_w, 3, 0, 1, 3)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        self.attach_btn = QPushButton("Attach…")
        # Not a tab stop, so Tab goes question to question; Ctrl+E attaches
        # to the current question from the keyboard.
        self.attach_btn.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.attach_btn.setToolTip("Attach evidence to this question (Ctrl+E), or drop files "
                                   "onto it")
        self.attach_btn.clicked.connect(lambda: self.attach.emit(self.qid))
        grid.addWidget(self.attach_btn, 2, 2)
        self.evidence_w = QWidget()
        self.evidence_box = QVBoxLayout(self.evidence_w)
        self.evidence_box.setContentsMargins(0, 0, 0, 0)
        self.evidence_box.setSpacing(0)
        grid.addWidget(self.evidence_w, 4, 0, 1, 3)
        self.error = ErrorLabel()
        grid.addWidget(self.error, 5, 0, 1, 3)

        self.answer.changed.connect(self._on_edit)
        self.note.textEdited.connect(lambda _t: self.changed.emit())
        self.resolution.textEdited.connect(self._on_resolution)
        self.evidence: list[dict[str, Any]] = []
        self._paint()

    # -- values ----------------------------------------------------------------------
    def load(self, a: dict[str, Any] | None) -> None:
        """Show a stored answer (None: not answered yet)."""
        a = a or {}
        self._saved = {"value": a.get("value") or "", "note": a.get("note") or "",
                       "resolution": a.get("resolution") or ""}
        self.answer.set_value(self._saved["value"])
        self.note.setText(self._saved["note"])
        self.resolution.setText(self._saved["resolution"])
        self.evidence = list(a.get("evidence") or [])
        self._show_evidence()
        self.error.set_messages([])
        self._on_edit(emit=False)

    def values(self) -> dict[str, str]:
        return {"value": self.answer.value(), "note": self.note.text().strip(),
                "resolution": self.resolution.text().strip() if self._red else
                self._saved["resolution"]}

    def dirty(self) -> bool:
        v = self.values()
        return bool(v["value"]) and v != self._saved or (
            not v["value"] and bool(self._saved["value"]))

    def is_red(self) -> bool:
        return self._red

    def set_read_only(self, ro: bool) -> None:
        if isinstance(self.answer, QLineEdit):
            # read-only rather than disabled: a locked answer stays legible
            self.answer.setReadOnly(ro)
            self.answer.setFocusPolicy(Qt.FocusPolicy.NoFocus if ro else
                                       Qt.FocusPolicy.StrongFocus)
        else:
            self.answer.setEnabled(not ro)
        self.note.setPlaceholderText("" if ro else "Note (optional)")
        for w in (self.note, self.resolution):
            w.setReadOnly(ro)
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus if ro else Qt.FocusPolicy.StrongFocus)
        self.attach_btn.setVisible(not ro)

    def editable(self) -> bool:
        """True when the answer can be changed here."""
        if isinstance(self.answer, QLineEdit):
            return not self.answer.isReadOnly()
        return self.answer.isEnabled()

    def show_error(self, messages: list[str]) -> None:
        self.error.set_messages(messages)
        self._paint()

    # -- look ------------------------------------------------------------------------
    def _on_edit(self, emit: bool = True) -> None:
        val = self.answer.value()
        try:
            # The core's own test of a red flag (pure), so the highlight and
            # the sign-off can never disagree.
            self._red = bool(val) and cs.is_red_flag(self.q, cs.normalise_answer(self.q, val))
        except ValueError:
            self._red = False
        self.res_w.setVisible(self._red)
        if not self._red and self.error.text().lower().startswith("red flag"):
            self.error.set_messages([])
        self._paint()
        if emit:
            self.changed.emit()

    def _on_resolution(self, text: str) -> None:
        if text.strip() and self.error.isVisible():
            self.error.set_messages([])
            self._paint()
        self.changed.emit()

    def _paint(self) -> None:
        if self._red:
            self.setStyleSheet(f"#qrow {{ background: {RED_BG}; border: 1px solid "
                               f"{RED_BORDER}; border-left: 4px solid {ERROR_COLOR}; "
                               f"border-radius: 3px; }}")
        elif self.error.isVisible() and self.error.text():
            self.setStyleSheet(f"#qrow {{ border: 1px solid {RED_BORDER}; "
                               f"border-left: 4px solid {ERROR_COLOR}; border-radius: 3px; }}")
        else:
            self.setStyleSheet("#qrow { border: none; border-bottom: 1px solid #e3e3e3; }")

    def _show_evidence(self) -> None:
        while self.evidence_box.count():
            it = self.evidence_box.takeAt(0)
            if it.widget() is not None:
                it.widget().deleteLater()
        for e in self.evidence:
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            lab = QLabel(f"Evidence: <b>{e['name']}</b>  ·  {_kb(e['size'])}  ·  "
                         f"<span style='font-family: monospace'>sha256 {e['sha256'][:12]}…</span>")
            lab.setToolTip(f"{e['name']}\n{e['mime']}, {e['size']:,} bytes\n"
                           f"SHA-256 {e['sha256']}\nadded by {e['added_by']} at "
                           f"{_ts(e['added_at'])}")
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            h.addWidget(lab)
            btn = QToolButton()
            btn.setText("Open")
            btn.setToolTip("Check the hash and open a read-only copy (never run)")
            btn.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            btn.clicked.connect(lambda _=False, i=e["id"]: self.open_evidence.emit(i))
            h.addWidget(btn)
            h.addStretch(1)
            self.evidence_box.addWidget(row)
        if not self.evidence and self.q.get("evidence_required"):
            self.evidence_box.addWidget(_muted("No evidence yet — attach or drop a file"))
        self.evidence_w.setVisible(self.evidence_box.count() > 0)

    def evidence_text(self) -> list[str]:
        """What the evidence list shows (tests and screen readers)."""
        out = []
        for i in range(self.evidence_box.count()):
            w = self.evidence_box.itemAt(i).widget()
            lab = w.findChild(QLabel) if w is not None and not isinstance(w, QLabel) else w
            if lab is not None:
                out.append(lab.text())
        return out


# ----------------------------------------------------------------------------
# The run form
# ----------------------------------------------------------------------------

class RunForm(QWidget):
    """One checklist run: its questions, evidence, sign-offs and actions.

    Side effects: reads the run on the GUI thread (``load``); every write
    goes through ``ops``. Accepts files dropped on it (attached to the
    question under the drop). Emits ``changed(Change)`` after a write and
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
        self.title = _heading("")
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
        self.hint = _muted("Tab: next question · Y/N/A answers yes/no · Ctrl+S save · "
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
        self.status_chip.setText(_state_label(r["state"]))
        self.status_chip.setStyleSheet(f"background: {bg}; color: {fg}; padding: 3px 10px;"
                                       f" border-radius: 9px; font-weight: 600;")
        bits = [f"{kind}: <b>{r['target']['label']}</b>",
                f"{t['id']} v{t['version']}", f"revision {r['revision']}",
                f"started by {r['started_by']} {_ts(r['started_at'])}"]
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
                        f"({s['role']}) at {_ts(s['signed_at'])}, password re-entered")
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

    # -- evidence --------------------------------------------------------------------
    def attach_current(self) -> None:
        if self._current is not None and not self.read_only:
            self.attach_dialog(self._current.qid)

    def attach_dialog(self, qid: str) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Attach evidence", str(Path.home()),
            "Documents and images (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.docx *.xlsx *.eml "
            "*.msg *.txt);;All files (*)")
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

    # -- signing ---------------------------------------------------------------------
    def _password(self, title: str, text: str) -> str | None:
        pw, ok = QInputDialog.getText(self, title, text, QLineEdit.EchoMode.Password)
        return pw if ok and pw else None

    def sign_off(self) -> None:
        """Ask for the password again and sign (saving pending answers first)."""
        if self.read_only or self.busy or self.run is None:
            return
        if self.dirty():
            self.save(then=self.sign_off)
            return
        r = self.run
        if r["problems"]:
            self._show_problems(r["problems"])
            return
        approving = r["status"] == "awaiting_approval" or (
            r["red_flags"] and self.wb.user.role in cs.APPROVER_ROLES)
        what = ("approve it and lock it" if approving else
                "send it to an approver (it has red flags)" if r["red_flags"] else
                "complete and lock it")
        pw = self._password("Sign off", f"Signing run {r['id']} as {self.wb.user.username} "
                                        f"will {what}.\n\nEnter your password again:")
        if pw is None:
            return
        wb, rid = self.wb, r["id"]
        self.busy = True
        self._enable()
        self.ops.run(lambda _t: cs.signoff(wb, rid, pw), success=self._signed,
                     failure=self._sign_failed, parent=self)

    def _signed(self, ch: Change) -> None:
        self.busy = False
        self.load(ch.id)
        words = {"submit": "Signed and sent to an approver: it waits for approval.",
                 "approve": "Approved: the run is completed and locked.",
                 "complete": "Signed: the run is completed and locked."}
        self.banner.say(words.get(ch.action, "Signed."), "ok")
        self.changed.emit(ch)

    def _sign_failed(self, exc: BaseException) -> None:
        self.busy = False
        self._enable()
        if isinstance(exc, AuthenticationError):
            self.banner.say("Wrong password — nothing was signed. Enter the password you "
                            "signed in with.", "bad")
        elif isinstance(exc, ValidationError):
            self._show_problems([str(e) for e in exc.errors])
        elif isinstance(exc, PermissionDenied):
            self.banner.say(f"Not signed: {exc}", "bad")
        else:
            self.banner.say(error_text(exc), "bad")

    def _show_problems(self, problems: list[str]) -> None:
        by_q: dict[str, list[str]] = {}
        for p in problems:
            qid, _, msg = p.partition(": ")
            if msg == "evidence required":
                msg += " — attach the document (Attach…, Ctrl+E) or drop the file here"
            by_q.setdefault(qid, []).append(msg)
        for row in self.rows:
            if row.qid in by_q:
                row.show_error(by_q[row.qid])
        first = next((r for r in self.rows if r.qid in by_q), None)
        if first is not None:
            first.answer.setFocus()
            self.scroll.ensureWidgetVisible(first)
        self.banner.say(f"Not ready to sign: {len(problems)} thing"
                        f"{'s' if len(problems) != 1 else ''} to do — see the marked questions.",
                        "bad")

    def send_back(self) -> None:
        """An approver returns a waiting run with a reason (password again)."""
        r = self.run
        if r is None or self.busy or r["status"] != "awaiting_approval":
            return
        reason, ok = QInputDialog.getMultiLineText(
            self, "Send back", f"Why does run {r['id']} go back to the officer?")
        if not ok or not reason.strip():
            return
        pw = self._password("Send back", "Enter your password again:")
        if pw is None:
            return
        wb, rid = self.wb, r["id"]
        self.busy = True
        self._enable()

        def done(ch: Change) -> None:
            self.busy = False
            self.load(rid)
            self.banner.say("Sent back to the officer with your reason.", "ok")
            self.changed.emit(ch)

        self.ops.run(lambda _t: cs.reject(wb, rid, pw, reason), success=done,
                     failure=self._sign_failed, parent=self)

    def revise(self) -> None:
        r = self.run
        if r is None or self.busy:
            return
        wb, rid = self.wb, r["id"]
        self.busy = True

        def done(ch: Change) -> None:
            self.busy = False
            self.load(ch.id)
            self.banner.say(f"Revision {ch.record['revision']} started from run {rid}; "
                            f"run {rid} stays valid until this one is completed.", "ok")
            self.changed.emit(ch)

        self.ops.run(lambda _t: cs.revise_run(wb, rid), success=done, failure=self._failed,
                     parent=self)

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


# ----------------------------------------------------------------------------
# Starting a run
# ----------------------------------------------------------------------------

class ShipmentPicker(RecordPicker):
    """Pick a shipment by typing part of its reference (the list view's
    search, with a LIMIT, like the party picker)."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(store, "parties", parent)
        self.view = "shipments"
        self._label_key = "reference"
        self.setPlaceholderText("Type to search shipments")

    def _lookup_label(self, rid: int) -> str:
        rows = browse.page(self.store, "shipments", browse.Query(search=str(rid)), limit=50)
        return next((r["reference"] for r in rows if r["id"] == rid), f"#{rid}")


class StartDialog(QDialog):
    """Choose a party or a shipment; the checklists that apply are listed
    with the core's reasons (read on the worker), the others after them.

    ``chosen()`` is (template_id, party_id, shipment_id, open_run). GUI
    thread; the applicability read runs through ``ops``.
    """

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None, *,
                 party_id: int | None = None, shipment_id: int | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.setWindowTitle("Start a checklist")
        self.resize(780, 520)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.party_rb = QRadioButton("&Party")
        self.ship_rb = QRadioButton("&Shipment")
        self.party_rb.setChecked(shipment_id is None)
        self.ship_rb.setChecked(shipment_id is not None)
        row.addWidget(self.party_rb)
        row.addWidget(self.ship_rb)
        self.party = RecordPicker(wb.store, "parties")
        self.shipment = ShipmentPicker(wb.store)
        row.addWidget(self.party, 1)
        row.addWidget(self.shipment, 1)
        lay.addLayout(row)
        self.note = _muted("Pick a party or a shipment; the checklists it needs are listed "
                           "with the reasons.")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        lay.addWidget(self.list, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_btn = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_btn.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.party.picked.connect(lambda pid: self.load(party_id=pid))
        self.shipment.picked.connect(lambda sid: self.load(shipment_id=sid))
        self.party_rb.toggled.connect(self._kind)
        self.list.currentItemChanged.connect(self._on_item)
        self._kind()
        if party_id is not None:
            self.party.set_value(party_id)
            self.load(party_id=party_id)
        elif shipment_id is not None:
            self.shipment.set_value(shipment_id)
            self.load(shipment_id=shipment_id)

    def _kind(self, *_a: Any) -> None:
        party = self.party_rb.isChecked()
        self.party.setVisible(party)
        self.shipment.setVisible(not party)
        (self.party if party else self.shipment).setFocus()

    def load(self, *, party_id: int | None = None, shipment_id: int | None = None) -> None:
        """List the templates for this target: suggested ones (with reasons) first."""
        if party_id is None and shipment_id is None:
            return
        store = self.wb.store
        self.note.setText("Looking up which checklists apply…")

        def work(_t: Task) -> tuple[list[dict[str, Any]], list[Any]]:
            return (cs.applicable(store, party_id=party_id, shipment_id=shipment_id),
                    cs.list_templates(store))

        self.ops.run(work, success=lambda res: self._show(res, party_id, shipment_id),
                     failure=lambda e: self.note.setText(error_text(e)), parent=self)

    def _show(self, res: tuple[list[dict[str, Any]], list[Any]], party_id: int | None,
              shipment_id: int | None) -> None:
        applies, templates = res
        self.list.clear()
        seen = set()
        for a in applies:
            tgt = a.get("party_id"), a.get("shipment_id")
            seen.add((a["template_id"], *tgt))
            state = (f"run {a['open_run']} is open — Enter opens it" if a["open_run"] else
                     f"run {a['valid_run']} is done and valid" if a["valid_run"] else
                     "not started")
            kind = "party" if a.get("party_id") is not None else "shipment"
            text = (f"★ {a['title']} — {kind} {a['label']}\n    {state}\n"
                    + "\n".join(f"    • because {r}" for r in a["reasons"]))
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, (a["template_id"], a.get("party_id"),
                                                  a.get("shipment_id"), a["open_run"]))
            self.list.addItem(it)
        scope = "party" if party_id is not None else "shipment"
        for t in templates:
            if t.scope != scope or (t.id, party_id, shipment_id) in seen:
                continue
            it = QListWidgetItem(f"{t.title} — not required by the rules for this {scope}")
            it.setForeground(Qt.GlobalColor.darkGray)
            it.setData(Qt.ItemDataRole.UserRole, (t.id, party_id, shipment_id, None))
            self.list.addItem(it)
        n = len(applies)
        self.note.setText(f"{n} checklist{'s' if n != 1 else ''} apply (★). Choose one and "
                          f"press Enter." if n else "No checklist is required by the rules; "
                          "you may still start one.")
        if self.list.count():
            self.list.setCurrentRow(0)
            self.list.setFocus()

    def _on_item(self, cur: QListWidgetItem | None, _prev: Any) -> None:
        self.start_btn.setEnabled(cur is not None)
        if cur is not None:
            self.start_btn.setText("Open" if cur.data(Qt.ItemDataRole.UserRole)[3] else "Start")

    def chosen(self) -> tuple[str, int | None, int | None, int | None] | None:
        it = self.list.currentItem()
        return None if it is None else tuple(it.data(Qt.ItemDataRole.UserRole))  # type: ignore


# ----------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------

class ChecklistsPage(QWidget):
    """Checklist runs by state, the due list, starting a run, the run form.

    Side effects: reads run lists and the due list on the GUI thread (small
    indexed queries); every write goes through ``ops`` (see
    :class:`RunForm`). Emits ``changed(object)`` after a write so the
    dashboard and audit log can refresh. GUI thread only.
    """

    changed = Signal(object)
    TABS = (("in_progress", "In progress"), ("awaiting_approval", "Waiting for approval"),
            ("due", "Due / expiring"), ("completed", "Completed"))

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.can_write = wb.user.can_write
        self.start_dialog: StartDialog | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)

        lists = QWidget()
        lay = QVBoxLayout(lists)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(_heading("Checklists"))
        top.addSpacing(12)
        self.summary = _muted()
        top.addWidget(self.summary, 1)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Filter runs by party, checklist, user  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(320)
        self.search.textChanged.connect(lambda _t: self._fill())
        self.search.returnPressed.connect(self.open_current)
        top.addWidget(self.search)
        self.start_btn = QPushButton("Start a checklist…")
        self.start_btn.setToolTip("Choose a party or shipment and the checklist it needs "
                                  "(Ctrl+N)")
        self.start_btn.clicked.connect(self.new_record)
        top.addWidget(self.start_btn)
        self.template_btn = QPushButton("Add a template…")
        self.template_btn.setToolTip("Add your own checklist from a YAML file (same format as "
                                     "the built-in ones in resources/checklists)")
        self.template_btn.clicked.connect(self.choose_template)
        top.addWidget(self.template_btn)
        lay.addLayout(top)
        self.banner = Banner()
        lay.addWidget(self.banner)
        if not self.can_write:
            self.template_btn.setEnabled(False)
            self.start_btn.setEnabled(False)
            self.start_btn.setToolTip("Starting a checklist needs an officer, approver or admin")
            self.banner.say(f"You are signed in as {wb.user.username}, an auditor: you can read "
                            f"every run, its evidence and sign-offs, but not change them.",
                            "warn")

        self.tabs = QTabWidget()
        self.models: dict[str, RowsModel] = {}
        self.tables: dict[str, QTableView] = {}
        self._rows: dict[str, list[dict[str, Any]]] = {}
        for key, label in self.TABS:
            cols = DUE_COLUMNS if key == "due" else RUN_COLUMNS
            m = RowsModel(cols, self, muted=(lambda r: r.get("state") == "superseded")
                          if key == "completed" else None)
            v = make_view(m, cols)
            v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            v.doubleClicked.connect(lambda _i, k=key: self.open_current(k))
            v.activated.connect(lambda _i, k=key: self.open_current(k))
            self.models[key], self.tables[key] = m, v
            w = QWidget()
            wl = QVBoxLayout(w)
            wl.setContentsMargins(4, 4, 4, 4)
            hint = _muted({"in_progress": "Runs being answered. Enter opens one.",
                           "awaiting_approval": "Signed by an officer with red flags; an "
                                                "approver who answered none of them approves "
                                                "or sends back.",
                           "due": f"Parties whose checks have lapsed or lapse within "
                                  f"{DUE_WITHIN_DAYS} days. Enter starts (or opens) the "
                                  f"re-verification.",
                           "completed": "Signed and locked runs, newest first. Open one to "
                                        "see its sign-offs or revise it."}[key])
            hint.setWordWrap(True)
            wl.addWidget(hint)
            wl.addWidget(v, 1)
            self.tabs.addTab(w, label)
        self.table = self.tables["in_progress"]  # main.py --row selects in this one
        lay.addWidget(self.tabs, 1)
        self.stack.addWidget(lists)

        self.form = RunForm(wb, ops)
        self.form.back.connect(self.show_lists)
        self.form.changed.connect(self._on_changed)
        self.stack.addWidget(self.form)

        sc = QShortcut(QKeySequence("Ctrl+N"), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(self.new_record)
        self.refresh()

    # -- lists -----------------------------------------------------------------------
    def choose_template(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a checklist template", str(Path.home()),
                                              "Checklist template (*.yaml *.yml);;All files (*)")
        if path:
            self.add_template_file(path)

    def add_template_file(self, path: str | Path) -> None:
        """Validate and store a custom template (worker thread); the banner
        says what was added, or the file, line and reason of a refusal."""
        wb = self.wb

        def done(ch: Change) -> None:
            t = ch.record or {}
            if ch.action == "unchanged":
                self.banner.say(f"{Path(path).name}: template {t.get('id')} version "
                                f"{t.get('version')} is already stored; nothing changed.", "ok")
            else:
                self.banner.say(f"Added checklist template “{t.get('title')}” ({t.get('id')} "
                                f"version {t.get('version')}, {len(t.get('questions') or [])} "
                                f"questions). It can be started from “Start a checklist…”.",
                                "ok")
                self.changed.emit(ch)

        self.ops.run(lambda _t: cs.add_template(wb, path), success=done,
                     failure=lambda e: self.banner.say(error_text(e), "bad"), parent=self)

    def show_tab(self, key: str) -> None:
        """Bring a list forward by its key (in_progress, awaiting_approval,
        due, completed), e.g. from a dashboard tile."""
        keys = [k for k, _label in self.TABS]
        if key in keys:
            self.show_lists()
            self.tabs.setCurrentIndex(keys.index(key))

    def refresh(self) -> None:
        """Re-read the run lists and the due list (GUI thread, small queries)."""
        store = self.wb.store
        titles = {t.id: t.title for t in cs.list_templates(store)}
        runs = cs.list_runs(store)
        for r in runs:
            r["title"] = titles.get(r["template_id"], r["template_id"])
        self._rows = {
            "in_progress": [r for r in runs if r["status"] == "in_progress"],
            "awaiting_approval": [r for r in runs if r["status"] == "awaiting_approval"],
            "completed": [r for r in runs if r["status"] == "completed"],
            "due": cs.due_for_reverification(store, _dt.date.today(),
                                             within_days=DUE_WITHIN_DAYS),
        }
        self._fill()

    def _fill(self) -> None:
        needle = self.search.text().strip().casefold()
        for key, label in self.TABS:
            rows = self._rows.get(key, [])
            if needle:
                rows = [r for r in rows if needle in " ".join(
                    str(r.get(k) or "") for k in ("target", "legal_name", "title",
                                                  "template_id", "started_by", "id")).casefold()]
            self.models[key].set_rows(rows)
            i = [k for k, _ in self.TABS].index(key)
            self.tabs.setTabText(i, f"{label} ({len(rows)})")
        waiting = len(self._rows.get("awaiting_approval", []))
        due = len(self._rows.get("due", []))
        bits = [f"{len(self._rows.get('in_progress', []))} in progress",
                f"{waiting} waiting for approval", f"{due} due for re-verification"]
        self.summary.setText(" · ".join(bits))
        if waiting and self.wb.user.role in cs.APPROVER_ROLES and self.tabs.currentIndex() == 0 \
                and not self._rows.get("in_progress"):
            self.tabs.setCurrentIndex(1)

    def current_key(self) -> str:
        return self.TABS[self.tabs.currentIndex()][0]

    def focus_search(self) -> None:
        self.show_lists()
        self.search.setFocus()
        self.search.selectAll()

    def open_current(self, key: str | None = None) -> None:
        key = key or self.current_key()
        v = self.tables[key]
        idx = v.currentIndex()
        if not idx.isValid() and self.models[key].rowCount():
            idx = self.models[key].index(0, 0)
        r = self.models[key].row(idx.row()) if idx.isValid() else None
        if r is None:
            return
        if key == "due":
            if r["open_run"]:
                self.open_run(r["open_run"])
            elif self.can_write:
                self.start(r["template_id"], party_id=r["party_id"])
            else:
                self.open_run(r["run_id"])
        else:
            self.open_run(r["id"])

    def show_lists(self) -> None:
        self.stack.setCurrentIndex(0)
        self.tables[self.current_key()].setFocus()

    def open_run(self, run_id: int) -> RunForm:
        """Show run ``run_id`` in the form, focus on its first open question."""
        self.form.load(run_id)
        self.stack.setCurrentWidget(self.form)
        first = next((r for r in self.form.rows if not r.values()["value"]),
                     self.form.rows[0] if self.form.rows else None)
        waiting = self.form.run is not None and self.form.run["status"] == "awaiting_approval"
        if first is not None and not self.form.read_only and not waiting:
            first.answer.setFocus()
        else:
            self.form.scroll.setFocus()
        return self.form

    # -- actions (the main window's Ctrl+N / Ctrl+S / Esc) ----------------------------
    def new_record(self) -> StartDialog | None:
        """Open the start dialog (non-blocking); on OK the run starts and opens."""
        if not self.can_write:
            return None
        dlg = StartDialog(self.wb, self.ops, self)
        dlg.accepted.connect(lambda: self._chosen(dlg))
        self.start_dialog = dlg
        dlg.open()
        return dlg

    def _chosen(self, dlg: StartDialog) -> None:
        c = dlg.chosen()
        if c is None:
            return
        tid, pid, sid, open_run = c
        if open_run:
            self.open_run(open_run)
        else:
            self.start(tid, party_id=pid, shipment_id=sid)

    def start(self, template_id: str, *, party_id: int | None = None,
              shipment_id: int | None = None) -> None:
        """Start a run on the worker and open it."""
        wb = self.wb
        self.ops.run(lambda _t: cs.start_run(wb, template_id, party_id=party_id,
                                             shipment_id=shipment_id),
                     success=self._started, failure=lambda e: self.banner.say(error_text(e),
                                                                               "bad"),
                     parent=self)

    def _started(self, ch: Change) -> None:
        self.refresh()
        self.open_run(ch.id)
        self.form.banner.say("Started: answer each question, then sign off.", "ok")
        self.changed.emit(ch)

    def save(self) -> None:
        if self.stack.currentWidget() is self.form:
            self.form.save()

    def cancel(self) -> None:
        if self.stack.currentWidget() is self.form:
            self.form.leave()

    def _on_changed(self, ch: Change) -> None:
        self.refresh()
        self.changed.emit(ch)
