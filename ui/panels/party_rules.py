"""The Rule facts tab of a party: facts the rules packs test (e.g. an approved
cloud provider), recorded with a note; removal is a new record.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from workbench.app import Change, Workbench
from workbench.clearance import holds
from workbench.errors import ValidationError
from workbench.rules import determinations as rstore
from workbench.rules.engine import PARTY_FACTS

from ui.kit.models import RecordsModel
from ui.kit.ops import Ops
from ui.kit.views import esc, hint_label, plain_table
from ui.kit.widgets import ErrorLabel


class PartyTagsPanel(QWidget):
    """The facts about a party that the rules use (``party.tags``, e.g.
    approved_csp), each recorded with a note and the user; removing one is a
    new record. Reads and writes on the Ops worker; ``saved(Change)``."""

    saved = Signal(object)

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.party_id: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(hint_label("Facts the rules packs test with party.tags — for example "
                            "approved_csp for a cloud provider approved under an exception. "
                            "Say how you know: an auditor reads the note."))
        self.current = QLabel()
        self.current.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.current)
        # the facts the built-in rules read, by name, so nobody has to know the tag
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Fact:"))
        self.known = QComboBox()
        self.known.addItem("Choose a common fact…", None)
        for tag, words in PARTY_FACTS.items():
            self.known.addItem(words, tag)
        self.known.activated.connect(self._pick_known)
        pick.addWidget(self.known, 1)
        lay.addLayout(pick)
        bar = QHBoxLayout()
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("tag, e.g. approved_csp")
        self.note = QLineEdit()
        self.note.setPlaceholderText("How you know (document, date)")
        self.add_btn = QPushButton("Record")
        self.add_btn.clicked.connect(lambda: self.record(True))
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.clicked.connect(lambda: self.record(False))
        for x in (self.tag, self.note):
            bar.addWidget(x, 1)
        bar.addWidget(self.add_btn)
        bar.addWidget(self.remove_btn)
        lay.addLayout(bar)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        self.model = RecordsModel([
            ("recorded_at", "Recorded (UTC)", lambda r: r["recorded_at"][:16].replace("T", " ")),
            ("tag", "Fact", lambda r: PARTY_FACTS.get(r["tag"], r["tag"])),
            ("present", "Action", lambda r: "recorded" if r["present"] else "removed"),
            ("note", "Note", None), ("recorded_by", "By", None)], self)
        self.table = plain_table(self.model, [130, 140, 80, 300, 80])
        lay.addWidget(self.table, 1)
        self._enable()

    def _enable(self) -> None:
        ok = self.party_id is not None and self.wb.user.can_write
        for w in (self.known, self.tag, self.note, self.add_btn, self.remove_btn):
            w.setEnabled(ok)

    def _pick_known(self, index: int) -> None:
        tag = self.known.itemData(index)
        if tag:
            self.tag.setText(tag)
            self.note.setFocus()
        self.known.setCurrentIndex(0)

    def set_record(self, rec: dict[str, Any] | None) -> None:
        self.party_id = rec["id"] if rec else None
        self.error.set_messages([])
        self._enable()
        self.load()

    def load(self) -> None:
        if self.party_id is None:
            self.model.set_rows([])
            self.current.setText("<span style='color:gray'>Save the party first.</span>")
            return
        store, pid = self.wb.store, self.party_id

        def done(res: tuple[list[dict[str, Any]], list[str]]) -> None:
            if pid != self.party_id:
                return
            rows, now = res
            self.model.set_rows(list(reversed(rows)))
            self.current.setText("Facts now: <b>" + esc(", ".join(
                PARTY_FACTS.get(t, t) for t in now) or "none") + "</b>")

        self.ops.run(lambda _t: (rstore.party_tag_records(store, pid),
                                 rstore.party_tags(store, pid)), success=done, parent=self)

    def record(self, present: bool) -> None:
        """Record (or remove) the typed tag with its note (worker, audited)."""
        if self.party_id is None:
            return
        wb, pid, tag, note = self.wb, self.party_id, self.tag.text(), self.note.text().strip()
        if present and not note:
            self.error.set_messages(["say how you know (the note), e.g. the approval letter"])
            return

        def done(ch: Change) -> None:
            self.tag.clear()
            self.note.clear()
            held = ch.extra.get("held") or []
            # the officer hears at once which shipments the fact put on hold
            self.error.set_messages([])
            self.current.setToolTip("")
            if held:
                self.error.set_messages([
                    "put on hold (outcome changed, determine again): "
                    + ", ".join(h["reference"] for h in held)])
            self.load()
            self.saved.emit(ch)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.error.set_messages([f"{e.field}: {e.message}" for e in exc.errors])
            else:
                self.error.set_messages([str(exc)])

        self.ops.run(lambda _t: holds.set_party_tag(wb, pid, tag, present=present, note=note),
                     success=done, failure=failed, parent=self)
