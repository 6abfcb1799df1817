"""The signing key's passphrase, asked once per session.

Signing (packets, audit anchors, backups' anchors) runs on the worker; when
the key needs a passphrase nobody has given yet, the work fails with
``KeyLocked``. :func:`run_unlocked` then asks on the GUI thread (twice for a
new key), keeps the answer in ``Store.secrets`` (memory only) and runs the
work again. GUI thread only.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.db.store import Store
from workbench.packets.signing import KeyLocked, remember

from ui.kit.ops import Ops, show_error

MIN_LENGTH = 8


class PassphraseDialog(QDialog):
    """One password field, or two (with a match check) for a new key."""

    def __init__(self, locked: KeyLocked, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.creating = locked.creating
        self.setWindowTitle("Signing key passphrase")
        lay = QVBoxLayout(self)
        if locked.creating:
            intro = ("This database's signing key is made now; it signs audit packets and "
                     "audit anchors. Choose a passphrase to protect it. Keep it safe: "
                     "without it no packet can be signed. You are asked once per session.")
        elif locked.wrong:
            intro = "That passphrase is not the signing key's. Try again."
        else:
            intro = ("The signing key is protected by a passphrase. Give it to sign; you are "
                     "asked once per session.")
        text = QLabel(intro)
        text.setWordWrap(True)
        lay.addWidget(text)
        form = QFormLayout()
        self.first, self.second = QLineEdit(), QLineEdit()
        for f in (self.first, self.second):
            f.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Passphrase", self.first)
        if locked.creating:
            form.addRow("Again", self.second)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e;")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(460, 0)

    def problem(self) -> str:
        """Why the typed passphrase cannot be taken ("" when it can)."""
        p = self.first.text()
        if not p:
            return "Type the passphrase."
        if self.creating and len(p) < MIN_LENGTH:
            return f"Use at least {MIN_LENGTH} characters."
        if self.creating and p != self.second.text():
            return "The two passphrases differ."
        return ""

    def _accept(self) -> None:
        why = self.problem()
        if why:
            self.error.setText(why)
            self.error.show()
            return
        self.accept()


def ask_passphrase(parent: QWidget | None, locked: KeyLocked) -> str | None:
    """Ask for the passphrase (modal); None when cancelled."""
    dlg = PassphraseDialog(locked, parent)
    return dlg.first.text() if dlg.exec() == QDialog.DialogCode.Accepted else None


def run_unlocked(ops: Ops, parent: QWidget | None, store: Store, fn: Callable[[Any], Any], *,
                 success: Callable[[Any], None] | None = None,
                 failure: Callable[[BaseException], None] | None = None,
                 progress: str | None = None) -> None:
    """``ops.run(fn)``; when the signing key is locked, ask for its
    passphrase and run `fn` again. Cancelling the question is a failure
    ("not signed")."""

    def failed(exc: BaseException) -> None:
        if isinstance(exc, KeyLocked):
            pw = ask_passphrase(parent, exc)
            if pw:
                remember(store.secrets, exc.key_dir, pw)
                run_unlocked(ops, parent, store, fn, success=success, failure=failure,
                             progress=progress)
                return
            exc = KeyLocked("not signed: the signing key's passphrase was not given",
                            exc.key_dir, creating=exc.creating)
        (failure or (lambda e: show_error(parent, e)))(exc)

    ops.run(fn, success=success, failure=failed, parent=parent, progress=progress)
