"""Override a classification with a reason (the officer's judgement,
recorded beside the computed one).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.errors import FieldError

from ui.kit.views import esc, hint_label
from ui.kit.widgets import ErrorLabel


# ----------------------------------------------------------------------------
# Classification panel (a tab beside the item form)
# ----------------------------------------------------------------------------
class ClassificationOverrideDialog(QDialog):
    """Asks for the ECCN that replaces the proposal and the reason. The core
    checks both (``submitted`` hands them over; the panel closes the dialog
    on success or shows the core's field errors here)."""

    submitted = Signal(str, str)

    def __init__(self, proposal: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Override the classification")
        lay = QVBoxLayout(self)
        lay.addWidget(hint_label(f"The workbench proposes <b>{esc(proposal)}</b>. Give the ECCN you "
                            "decide instead and why (for example: the manufacturer's "
                            "classification letter, or a datasheet figure the specs lack). "
                            "The override is recorded in the audit log with your name."))
        form = QFormLayout()
        self.eccn = QLineEdit()
        self.eccn.setObjectName("override_eccn")
        self.eccn.setPlaceholderText("e.g. 3A090.a, 5A992.z, EAR99")
        self.eccn_err = ErrorLabel()
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("override_reason")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.reason_err = ErrorLabel()
        for label, w, err in (("ECCN", self.eccn, self.eccn_err),
                              ("Reason", self.reason, self.reason_err)):
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.addWidget(w)
            bl.addWidget(err)
            form.addRow(label, box)
        lay.addLayout(form)
        self.other_err = ErrorLabel()
        lay.addWidget(self.other_err)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Record override",
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(460, 300)

    def _submit(self) -> None:
        self.show_errors([])
        self.ok.setEnabled(False)
        self.submitted.emit(self.eccn.text(), self.reason.toPlainText())

    def show_errors(self, errors: list[FieldError], other: str = "") -> None:
        self.ok.setEnabled(True)
        by = {"eccn": self.eccn_err, "reason": self.reason_err}
        for lab in by.values():
            lab.set_messages([])
        loose = [other] if other else []
        for e in errors:
            if e.field in by:
                by[e.field].set_messages([e.message])
            else:
                loose.append(f"{e.field}: {e.message}")
        self.other_err.set_messages(loose)
