"""File → Settings: the organisation settings (the exporter's name printed
on audit packets). Saving runs on the :class:`Ops` worker and is audited."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workbench import settings
from workbench.app import Workbench
from workbench.errors import ValidationError

from ui.kit.ops import Ops
from ui.kit.widgets import ErrorLabel


class SettingsDialog(QDialog):
    """One field per setting; errors shown beside the field, nothing saved
    until every value is accepted."""

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.setWindowTitle("Settings")
        self.resize(520, 160)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.exporter = QLineEdit(settings.get(wb.store, settings.EXPORTER_NAME))
        self.exporter.setPlaceholderText("Legal name of your company, as on export documents")
        self.exporter.setReadOnly(not wb.user.can_write)
        form.addRow("Exporter name", self.exporter)
        self.error = ErrorLabel()
        form.addRow("", self.error)
        lay.addLayout(form)
        note = QLabel("Printed on the cover of every audit packet. Changes are recorded in the "
                      "audit log.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        lay.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(wb.user.can_write)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def save(self) -> None:
        """Store the values (worker thread); close when accepted."""
        wb, value = self.wb, self.exporter.text()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.error.set_messages([e.message for e in exc.errors])
            else:
                self.error.set_messages([str(exc)])

        self.ops.run(lambda _t: settings.set_value(wb, settings.EXPORTER_NAME, value),
                     success=lambda _v: self.accept(), failure=failed, parent=self)
