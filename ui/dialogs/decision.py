"""The decision dialog for one screening hit (true match, false positive,
escalate) with the reason.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.screening import results

from ui.kit.screening_html import list_label
from ui.kit.views import esc
from ui.kit.widgets import DateField


class DecisionDialog(QDialog):
    """Ask for the reason (and, for a false positive, an optional expiry and
    the shipment scope) of a decision on one hit. No I/O: the page records
    it through ops after ``accepted``. OK stays disabled until a reason is
    typed (the core enforces the rule too)."""

    def __init__(self, hit: dict[str, Any], decision: str, shipment_ref: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hit, self.decision = hit, decision
        label = results.DECISION_LABELS[decision]
        self.setWindowTitle(f"{label}: {hit.get('legal_name') or hit.get('party', '')}")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        what = QLabel(f"<b>{esc(hit.get('legal_name') or hit.get('party', ''))}</b> against "
                      f"<b>{esc(hit.get('list_name'))}</b> ({esc(list_label(hit.get('list_code') or hit.get('source', '')))}, "
                      f"score {float(hit.get('score', 0)):.0f})")
        what.setWordWrap(True)
        lay.addWidget(what)
        hint = {"true_match": "This party is the listed one. Say how you know; shipments to it "
                              "stay blocked.",
                "false_positive": "This party is not the listed one. Say how you know (other "
                                  "address, registration number, …). The hit stays quiet "
                                  "until the party's names or the list entry change.",
                "escalate": "You cannot decide: say what a second reviewer should look at."
                }[decision]
        h = QLabel(hint)
        h.setStyleSheet("color: #444;")
        h.setWordWrap(True)
        lay.addWidget(h)
        form = QFormLayout()
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Reason (required; an auditor will read it)")
        self.reason.setFixedHeight(90)
        form.addRow("Reason", self.reason)
        self.expires = QCheckBox("Ask again after")
        self.expiry_date = DateField()
        self.expiry_date.setDate(QDate.currentDate().addYears(1))
        self.expiry_date.setEnabled(False)
        self.expires.toggled.connect(self.expiry_date.setEnabled)
        self.shipment_only = QCheckBox(f"Only for shipment {shipment_ref}" if shipment_ref
                                       else "Only for this shipment")
        if decision == "false_positive":
            row = QHBoxLayout()
            row.addWidget(self.expires)
            row.addWidget(self.expiry_date)
            row.addStretch(1)
            form.addRow("Expiry", row)
            if shipment_ref:
                form.addRow("", self.shipment_only)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(f"Record: {label}")
        self.ok.setEnabled(False)
        self.reason.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.reason.toPlainText().strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def values(self) -> dict[str, Any]:
        """What to pass to :func:`workbench.screening.results.decide`."""
        fp = self.decision == "false_positive"
        return {"reason": self.reason.toPlainText().strip(),
                "expires_on": (self.expiry_date.date().toString("yyyy-MM-dd")
                               if fp and self.expires.isChecked() else None),
                "shipment_only": fp and self.shipment_only.isChecked()
                and self.shipment_only.isVisibleTo(self)}
