"""One checklist question on screen: the answer widget for its type and the
row with evidence, red-flag resolution and notes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.checklists import runs as cs

from ui.kit.checklist_text import size_text
from ui.kit.views import format_timestamp, muted_label
from ui.kit.widgets import ERROR_COLOR, ErrorLabel


YES_NO_LABELS = {"yes": "Yes", "no": "No", "not_applicable": "Not applicable"}


RED_BG = "#fdecea"


RED_BORDER = "#e8b4b0"


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
            lab = QLabel(f"Evidence: <b>{e['name']}</b>  ·  {size_text(e['size'])}  ·  "
                         f"<span style='font-family: monospace'>sha256 {e['sha256'][:12]}…</span>")
            lab.setToolTip(f"{e['name']}\n{e['mime']}, {e['size']:,} bytes\n"
                           f"SHA-256 {e['sha256']}\nadded by {e['added_by']} at "
                           f"{format_timestamp(e['added_at'])}")
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
            self.evidence_box.addWidget(muted_label("No evidence yet — attach or drop a file"))
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
