"""The four-eyes override of clearance: a reason and a second person's
password.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ui.kit.views import esc


class ClearanceOverrideDialog(QDialog):
    """Four eyes: a reason, and an approver who types their own password.
    No I/O; the panel checks the password through the clearance function."""

    def __init__(self, ref: str, unmet: list[str], approvers: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Override clearance of {ref}")
        lay = QVBoxLayout(self)
        text = QLabel(
            "<b>An override clears the shipment although these conditions are not met:</b><ul>"
            + "".join(f"<li>{esc(u)}</li>" for u in unmet) + "</ul>"
            "It needs a reason an auditor can read, and a second person with the approver "
            "role who enters their own password here.")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(text)
        form = QFormLayout()
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why shipping is right despite the conditions above")
        self.reason.setFixedHeight(70)
        self.approver = QComboBox()
        self.approver.setEditable(True)
        self.approver.addItems(approvers)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Reason", self.reason)
        form.addRow("Approver", self.approver)
        form.addRow("Approver's password", self.password)
        lay.addLayout(form)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                              | QDialogButtonBox.StandardButton.Cancel)
        bb.button(QDialogButtonBox.StandardButton.Ok).setText("Override")
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def values(self) -> tuple[str, str, str]:
        return (self.reason.toPlainText().strip(), self.approver.currentText().strip(),
                self.password.text())
