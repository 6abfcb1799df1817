"""The Audit log page: the hash-chained events, searchable, with verify.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from PySide6.QtCore import QDate, QTimer, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench import users
from workbench.app import Workbench
from workbench.db import audit

from ui.kit.models import BrowseModel, KeyRole
from ui.kit.ops import Ops, show_error
from ui.kit.views import heading_label, make_table
from ui.kit.widgets import ChoiceCombo, DateField


# ----------------------------------------------------------------------------
class AuditPage(QWidget):
    """The audit trail: filter by user, entity and dates; see before/after;
    verify the hash chain (through ops, on the worker thread)."""

    ENTITIES = ("party", "item", "shipment", "licence", "user")

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.model = BrowseModel(wb.store, "audit", parent=self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(heading_label("Audit log"))
        top.addSpacing(12)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search user, entity, id, action…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda *_: self._timer.start())
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self._apply)
        top.addWidget(self.search, 1)
        self.user_combo = ChoiceCombo([(None, "Any user")])
        self.entity_combo = ChoiceCombo([(None, "Any entity")])
        self.from_check, self.from_date = QCheckBox("From"), DateField()
        self.to_check, self.to_date = QCheckBox("to"), DateField()
        self.from_date.setDate(QDate.currentDate().addMonths(-1))
        for w in (self.user_combo, self.entity_combo):
            w.currentIndexChanged.connect(lambda *_: self._apply())
            top.addWidget(w)
        for chk, de in ((self.from_check, self.from_date), (self.to_check, self.to_date)):
            chk.toggled.connect(lambda *_: self._apply())
            de.dateChanged.connect(lambda *_: self._apply())
            chk.setToolTip("Limit to events on or after / on or before this date (UTC)")
            top.addWidget(chk)
            top.addWidget(de)
        self.verify_btn = QPushButton("Verify chain")
        self.verify_btn.setToolTip("Recompute every event's hash and check the chain links")
        self.verify_btn.clicked.connect(self.verify)
        top.addWidget(self.verify_btn)
        lay.addLayout(top)
        self.verify_label = QLabel()
        self.verify_label.setWordWrap(True)
        self.verify_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verify_label.hide()
        lay.addWidget(self.verify_label)

        split = QSplitter(Qt.Orientation.Vertical)
        self.table = make_table(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        split.addWidget(self.table)
        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 4, 0, 0)
        self.detail_title = QLabel("Select an event to see the record before and after it.")
        self.detail_title.setStyleSheet("font-weight: 600;")
        dl.addWidget(self.detail_title)
        panes = QSplitter(Qt.Orientation.Horizontal)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.before, self.after = QPlainTextEdit(), QPlainTextEdit()
        for title, pane in (("Before", self.before), ("After", self.after)):
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.addWidget(QLabel(title))
            pane.setReadOnly(True)
            pane.setFont(mono)
            pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
            bl.addWidget(pane)
            panes.addWidget(box)
        dl.addWidget(panes, 1)
        split.addWidget(detail)
        split.setSizes([430, 300])
        lay.addWidget(split, 1)
        self.count_label = QLabel()
        self.model.modelReset.connect(self._update_count)
        self.refresh_users()
        self._update_count()
        if self.model.rowCount():
            self.table.selectRow(0)

    def refresh_users(self) -> None:
        """Fill the user and entity filters from the store (keeps the choice)."""
        cur = self.entity_combo.value()
        self.entity_combo.blockSignals(True)
        self.entity_combo.clear()
        self.entity_combo.addItem("Any entity", None)
        for e in sorted({*self.ENTITIES, *audit.entities(self.wb.store)}):
            self.entity_combo.addItem(e.replace("_", " ").capitalize(), e)
        self.entity_combo.set_value(cur)
        self.entity_combo.blockSignals(False)
        cur = self.user_combo.value()
        self.user_combo.blockSignals(True)
        self.user_combo.clear()
        self.user_combo.addItem("Any user", None)
        for u in ["system", *[u["username"] for u in users.list_users(self.wb.store)]]:
            self.user_combo.addItem(u, u)
        self.user_combo.set_value(cur)
        self.user_combo.blockSignals(False)

    def _update_count(self) -> None:
        n = self.model.rowCount()
        self.table.setToolTip(f"{n:,} events")

    def _apply(self) -> None:
        filters = {k: v for k, v in (("user", self.user_combo.value()),
                                     ("entity", self.entity_combo.value())) if v}
        q = dataclasses.replace(
            self.model.query, search=self.search.text(), filters=filters, date_column="ts",
            date_from=self.from_date.value() if self.from_check.isChecked() else None,
            date_to=self.to_date.value() if self.to_check.isChecked() else None)
        self.model.set_query(q)
        self._show(None)

    def refresh(self) -> None:
        self.model.refresh()
        self.refresh_users()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_current(self, current: Any, _prev: Any) -> None:
        self._show(current.data(KeyRole) if current.isValid() else None)

    def _show(self, seq: int | None) -> None:
        ev = audit.get_event(self.wb.store, seq) if seq is not None else None
        if ev is None:
            self.detail_title.setText("Select an event to see the record before and after it.")
            self.before.clear()
            self.after.clear()
            return
        self.detail_title.setText(
            f"Event {ev['seq']}: {ev['user']} — {ev['action']} {ev['entity']} "
            f"{ev['entity_id']} at {ev['ts'][:19].replace('T', ' ')} UTC    "
            f"hash {ev['hash'][:16]}…  (previous {ev['prev_hash'][:16]}…)")
        for pane, raw in ((self.before, ev["before"]), (self.after, ev["after"])):
            pane.setPlainText(_pretty(raw))

    def verify(self) -> None:
        """Walk the chain on the worker thread; show OK or the first break."""
        self.verify_btn.setEnabled(False)
        self.verify_label.setText("Verifying the audit chain…")
        self.verify_label.setStyleSheet("")
        self.verify_label.show()
        store = self.wb.store
        self.ops.run(lambda task: audit.verify(store), success=self._verified,
                     failure=self._verify_failed, parent=self, progress="Verifying the audit chain…")

    def _verified(self, res: audit.VerifyResult) -> None:
        self.verify_btn.setEnabled(True)
        if res.ok:
            self.verify_label.setText(
                f"✔ Chain OK: {res.events:,} events, each hash checked. Head hash {res.head}")
            self.verify_label.setStyleSheet("background: #e6f4ea; border: 1px solid #9ccc9f;"
                                            " padding: 6px;")
        else:
            self.verify_label.setText(
                f"✘ Chain broken at event {res.event_seq}: {res.problem}. "
                f"{res.events:,} events before it are intact.")
            self.verify_label.setStyleSheet("background: #fde7e7; border: 1px solid #e8b4b0;"
                                            " padding: 6px; color: #b3261e;")

    def _verify_failed(self, exc: BaseException) -> None:
        self.verify_btn.setEnabled(True)
        self.verify_label.hide()
        show_error(self, exc)


def _pretty(raw: str | None) -> str:
    if raw is None:
        return "(nothing)"
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return raw
