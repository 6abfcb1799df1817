"""Sign-in dialogs: log in, or create the owner account on a new database.

Both run on the GUI thread and call the core directly: a login is one scrypt
check (~50 ms), too short to be worth a worker round trip.
"""

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

from workbench.app import Workbench
from workbench.errors import ValidationError, WorkbenchError

from ui.kit.widgets import ErrorLabel


class LoginDialog(QDialog):
    """Ask for user name and password; on OK the façade is signed in.

    Side effects: ``wb.login`` (sets ``wb.user``) when accepted.
    """

    def __init__(self, wb: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb = wb
        self.setWindowTitle("Sign in — Export Compliance Workbench")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Database: {wb.store.path}"))
        form = QFormLayout()
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        lay.addLayout(form)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.setMinimumWidth(420)

    def try_login(self) -> None:
        try:
            self.wb.login(self.username.text().strip(), self.password.text())
        except WorkbenchError as e:
            self.error.set_messages([str(e)])
            self.password.selectAll()
            self.password.setFocus()
            return
        self.accept()


class OwnerDialog(QDialog):
    """First run on an empty database: create the owner (administrator).

    Side effects: ``wb.create_user`` (one audited transaction) and
    ``wb.login`` when accepted.
    """

    def __init__(self, wb: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb = wb
        self.setWindowTitle("Create the owner account")
        lay = QVBoxLayout(self)
        intro = QLabel("This database has no users yet. The first account is the "
                       "owner: an administrator who can add the other users.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.username = QLineEdit()
        self.display = QLineEdit()
        self.password = QLineEdit()
        self.repeat = QLineEdit()
        for w in (self.password, self.repeat):
            w.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("User name", self.username)
        form.addRow("Full name", self.display)
        form.addRow("Password", self.password)
        form.addRow("Repeat password", self.repeat)
        lay.addLayout(form)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create and sign in")
        buttons.accepted.connect(self.try_create)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.setMinimumWidth(440)

    def try_create(self) -> None:
        if self.password.text() != self.repeat.text():
            self.error.set_messages(["the two passwords differ"])
            return
        try:
            self.wb.create_user(self.username.text().strip(), self.password.text(),
                                "admin", self.display.text().strip())
            self.wb.login(self.username.text().strip(), self.password.text())
        except ValidationError as e:
            self.error.set_messages([f"{f.field.replace('_', ' ')}: {f.message}"
                                     for f in e.errors])
            return
        except WorkbenchError as e:
            self.error.set_messages([str(e)])
            return
        self.accept()
