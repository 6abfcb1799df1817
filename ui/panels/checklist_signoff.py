"""Sign-off on a checklist run form: sign (the password again), send back
to the officer, start a revision.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit

from workbench.app import Change
from workbench.checklists import runs as cs
from workbench.errors import AuthenticationError, PermissionDenied, ValidationError

from ui.kit.ops import error_text



class SignOffActions:
    """The sign-off half of :class:`ui.panels.checklist_run.RunForm` (a mixin
    over the form's state, like :class:`ui.panels.checklist_evidence.EvidenceActions`).
    Every write goes through ``ops``; GUI thread."""

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

