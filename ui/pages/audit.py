"""The Audit log page: the hash-chained events, searchable; verify the
chain, check every record against it, and keep anchors of it outside the
database (the last one made said at the top).
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

from workbench import settings, users
from workbench.app import Workbench
from workbench.clearance import binding
from workbench.db import audit
from workbench.packets import anchors
from workbench.packets.signing import KeyLocked

from ui.kit.models import BrowseModel, KeyRole
from ui.kit.files import existing_directory, save_file_name
from ui.kit.key_unlock import run_unlocked
from ui.kit.ops import Ops, error_text, show_error
from ui.kit.views import format_timestamp, heading_label, make_table
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
        self.check_btn = QPushButton("Check records")
        self.check_btn.setToolTip(
            "Compare every party, item, licence, shipment, drawdown, list snapshot and "
            "evidence file with what the audit trail recorded, and the trail with the "
            "anchors kept in the anchor folder")
        self.check_btn.clicked.connect(self.check_records)
        top.addWidget(self.check_btn)
        lay.addLayout(top)
        arow = QHBoxLayout()
        self.anchor_label = QLabel()
        self.anchor_label.setWordWrap(True)
        self.anchor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        arow.addWidget(self.anchor_label, 1)
        self.anchor_btn = QPushButton("Anchor now")
        self.anchor_btn.setToolTip("Write a signed copy of the trail's newest event (its "
                                   "number and hash) to a file outside the database")
        self.anchor_btn.clicked.connect(self.anchor_now)
        self.folder_btn = QPushButton("Anchor folder…")
        self.folder_btn.setToolTip("A folder on another disk or a synced drive: the app "
                                   "writes an anchor there every day")
        self.folder_btn.clicked.connect(self.choose_folder)
        self.folder_btn.setEnabled(wb.user.can_write)
        arow.addWidget(self.anchor_btn)
        arow.addWidget(self.folder_btn)
        lay.addLayout(arow)
        self.anchor_problem = ""
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
        self.refresh_anchor()
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
        self.refresh_anchor()

    # -- anchors ----------------------------------------------------------------------
    def refresh_anchor(self) -> None:
        """Say when the last anchor was made and where the daily ones go."""
        store = self.wb.store
        last = anchors.last_anchor(store)
        folder = anchors.anchor_folder(store)
        if last is None:
            text = ("No anchor of the audit trail has been made yet. An anchor is a signed "
                    "copy of the trail's newest event kept outside the database; with it, "
                    "a trail cut short or rewritten is found.")
        else:
            text = (f"Last anchor: {format_timestamp(last['made_at'])} "
                    f"({_KIND_WORDS.get(last.get('kind'), 'made')}, up to event "
                    f"{last['seq']:,}), written to {last['file']}.")
        if folder is None:
            text += " Choose an anchor folder and the app writes one there every day."
        elif not folder.is_dir():
            text += f" The anchor folder {folder} cannot be found (is its disk connected?)."
        else:
            text += f" Daily anchors go to {folder}."
        if self.anchor_problem:
            text += f" The last daily anchor could not be written: {self.anchor_problem}"
        self.anchor_label.setText(text)
        warn = last is None or folder is None or not folder.is_dir() or self.anchor_problem
        self.anchor_label.setStyleSheet("color: #8a5a00;" if warn else "color: palette(mid);")

    def anchor_now(self, path: str | None = None) -> None:
        """Write an anchor: into the anchor folder when one is set, else to a
        file the user chooses (or `path`). Worker thread."""
        wb = self.wb
        folder = anchors.anchor_folder(wb.store)
        if path is None and folder is not None and folder.is_dir():
            path = str(folder / anchors.anchor_file_name(wb.store))
        if path is None:
            path = save_file_name(self, "Save an audit anchor",
                                  str(anchors.anchor_file_name(wb.store)),
                                  "Audit anchor (*.json)", store=wb.store)
            if not path:
                return
        run_unlocked(self.ops, self, wb.store,
                     lambda task: anchors.make_and_record(wb, path, kind="by hand"),
                     success=self._anchored)

    def _anchored(self, res: tuple[Any, dict[str, Any], list[str]]) -> None:
        path, a, warnings = res
        self.refresh()
        self._say(f"✔ Anchored event {a['seq']:,} in {path}. Keep it away from this "
                  f"computer's disk: later, “Check records” proves the trail still holds it."
                  + "".join(f" {w}" for w in warnings), ok=True)

    def choose_folder(self) -> None:
        """Ask for the anchor folder, store it (audited) and anchor into it."""
        folder = existing_directory(self, "Choose the audit anchor folder",
                                    str(anchors.anchor_folder(self.wb.store) or ""))
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder: str) -> None:
        wb = self.wb

        def work(task: Any) -> Any:
            settings.set_value(wb, settings.ANCHOR_FOLDER, folder)
            return anchors.anchor_daily(wb, force=True)

        run_unlocked(self.ops, self, wb.store, work, success=lambda p: (self.refresh(), self._say(
            f"✔ Daily anchors now go to {folder}; the first is {p}.", ok=True)))

    def daily_failed(self, exc: BaseException) -> None:
        """Called by the window when the daily anchor could not be written."""
        self.anchor_problem = (
            "it waits for the signing key's passphrase — press Anchor now to give it."
            if isinstance(exc, KeyLocked) else error_text(exc))
        self.refresh_anchor()

    def daily_written(self, _path: Any) -> None:
        self.anchor_problem = ""
        self.refresh_anchor()

    # -- the records check ------------------------------------------------------------
    def check_records(self) -> None:
        """Run the full check (what `workbench check` does) on the worker."""
        self.check_btn.setEnabled(False)
        self._say("Checking every record against the audit trail…", ok=None)
        store = self.wb.store
        self.ops.run(lambda task: binding.full_check(store, anchor_folder=True),
                     success=self._checked, failure=self._check_failed, parent=self,
                     progress="Checking every record against the audit trail…")

    def _checked(self, rep: binding.Report) -> None:
        self.check_btn.setEnabled(True)
        if rep.ok:
            copies = (f" The trail holds all {len(rep.copies)} anchors in the anchor folder."
                      if rep.copies else " No anchor was found to compare the trail with.")
            self._say(f"✔ Records match the audit trail: {rep.chain.events:,} events, each "
                      f"hash checked; every party, item, licence, shipment, drawdown, list "
                      f"snapshot and evidence file is as the trail recorded it.{copies}",
                      ok=True)
            return
        found = [*rep.integrity,
                 *([f"The chain is broken at event {rep.chain.event_seq}: "
                    f"{rep.chain.problem}"] if not rep.chain.ok else []),
                 *rep.outside, *rep.unreadable, *rep.records,
                 *(["The saved screening index did not match the imported lists (changed "
                    "outside the workbench or damaged); it was replaced by a fresh one."]
                   if rep.index_problem else [])]
        more = f" … and {len(found) - 12} more" if len(found) > 12 else ""
        self._say("✘ The records do not match the audit trail — changed outside the "
                  "workbench:\n• " + "\n• ".join(found[:12]) + more, ok=False)

    def _check_failed(self, exc: BaseException) -> None:
        self.check_btn.setEnabled(True)
        self.verify_label.hide()
        show_error(self, exc)

    def _say(self, text: str, *, ok: bool | None) -> None:
        self.verify_label.setText(text)
        self.verify_label.setStyleSheet(
            "" if ok is None else
            "background: #e6f4ea; border: 1px solid #9ccc9f; padding: 6px;" if ok else
            "background: #fde7e7; border: 1px solid #e8b4b0; padding: 6px; color: #b3261e;")
        self.verify_label.show()

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


_KIND_WORDS = {"daily": "the daily anchor", "backup": "with a backup", "by hand": "by hand"}


def _pretty(raw: str | None) -> str:
    if raw is None:
        return "(nothing)"
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return raw
