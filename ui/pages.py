"""The pages of the main window: master-data lists with their forms, the
dashboard, the audit log, and the pages later issues fill.

Every page has the same small interface the main window drives:
``refresh()`` (re-read after a write), and optionally ``focus_search()``,
``new_record()``, ``save()``, ``cancel()``. GUI thread only; reads go
through :mod:`workbench.records.browse` on the GUI thread, writes through
:class:`ui.ops.Ops`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, Callable

from PySide6.QtCore import QDate, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFrame,
                               QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPlainTextEdit, QPushButton,
                               QScrollArea, QSplitter, QTableView, QTabWidget, QVBoxLayout,
                               QWidget)

from workbench.db import audit
from workbench.records import browse
from workbench import users
from workbench.screening import results as screening_results
from workbench.app import Change, Workbench
from workbench.errors import ValidationError
from workbench.clearance.attention import attention
from workbench.licensing.ledger import NEARLY_USED_PCT
from workbench.records.shipments import STATUS_LABELS, STATUSES

from ui.charts import BarChart
from ui.forms import RecordForm
from ui.ops import Ops, show_error
from ui.table_model import BrowseModel, KeyRole
from ui.widgets import ChoiceCombo, DateField

READ_ONLY_NOTE = ("You are signed in as {user}, an auditor: this workbench is read-only for you. You can "
                  "look at every record but not change it.")

# Starting column widths (pixels) by column key; unlisted columns fit their header.
COLUMN_WIDTHS = {
    "id": 48, "seq": 56, "legal_name": 250, "kind": 110, "country": 64, "hq_country": 48,
    "other_names": 190, "parent": 170, "updated_at": 140, "model": 150,
    "manufacturer": 95, "eccn": 70, "hs_code": 70, "performance": 220,
    "die_area_mm2": 70, "memory_bandwidth_gbps": 95, "interconnect_gbps": 120,
    "datacenter": 85, "reference": 120, "ship_date": 88, "destination": 84,
    "status": 80, "end_user": 220, "lines": 48, "units": 60, "end_use": 240,
    "number": 95, "agency": 60, "type": 160, "issue_date": 88, "expiry_date": 88,
    "parties": 260, "ts": 150, "user": 80, "entity_id": 50,
    "action": 80, "hash": 150, "entity": 110,
}


def make_table(model: BrowseModel, parent: QWidget | None = None) -> QTableView:
    """A table view set up for a lazy model: rows, single selection, SQL sort."""
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.verticalHeader().setVisible(False)
    # Fixed row height: the view never asks every row for its size hint,
    # which is what keeps 100,000 rows cheap.
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(24)
    hh = view.horizontalHeader()
    hh.setHighlightSections(False)
    hh.setStretchLastSection(True)
    for i, c in enumerate(model.columns):
        hh.resizeSection(i, COLUMN_WIDTHS.get(c.key, 100))
    q = model.query
    sort = q.sort or model.view.default_sort
    desc = model.view.default_desc if q.desc is None else q.desc
    # Set the indicator first: enabling sorting sorts by it at once.
    hh.setSortIndicator(model.column_index(sort),
                        Qt.SortOrder.DescendingOrder if desc else Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(True)
    return view


def _heading(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setPointSizeF(f.pointSizeF() * 1.35)
    f.setBold(True)
    lab.setFont(f)
    return lab


# ----------------------------------------------------------------------------
class MasterPage(QWidget):
    """Search box + lazy table + the record's form beside it.

    ``saved(Change)`` is emitted after a successful write so other pages (the
    audit log, the dashboard) refresh — the UI's one reaction point, like
    Anki's ``operation_did_execute``.
    """

    saved = Signal(object)

    def __init__(self, wb: Workbench, ops: Ops, *, view: str, title: str, plural: str,
                 form: RecordForm, get: Callable[[Any, int], dict], save: Callable,
                 filter_key: str | None = None,
                 filter_choices: list[tuple[Any, str]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops, self.form = wb, ops, form
        self._get, self._save = get, save
        self.plural = plural
        self.filter_key = filter_key
        self.saving = False
        self.dirty = False
        self._extra: dict[str, Any] = {}  # a filter set from the dashboard
        self.model = BrowseModel(wb.store, view, parent=self)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(_heading(title))
        top.addSpacing(12)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(f"Search {plural}…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._apply_query)
        self.search.textChanged.connect(lambda *_: self._search_timer.start())
        top.addWidget(self.search, 1)
        self.filter_combo: ChoiceCombo | None = None
        if filter_key and filter_choices:
            self.filter_combo = ChoiceCombo([(None, f"Any {filter_key}"), *filter_choices])
            self.filter_combo.currentIndexChanged.connect(lambda *_: self._apply_query())
            top.addWidget(self.filter_combo)
        self.extra_label = QPushButton()
        self.extra_label.setToolTip("Clear this filter")
        self.extra_label.setStyleSheet("QPushButton { background: #e8f0fe; border: 1px solid "
                                       "#a8c0ec; border-radius: 9px; padding: 2px 8px; }")
        self.extra_label.clicked.connect(self.clear_extra)
        self.extra_label.hide()
        top.addWidget(self.extra_label)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(mid);")
        top.addWidget(self.count_label)
        self.new_btn = QPushButton(f"New {form.noun}")
        self.new_btn.setToolTip(f"Create a new {form.noun} (Ctrl+N)")
        self.new_btn.clicked.connect(self.new_record)
        top.addWidget(self.new_btn)
        lay.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = make_table(self.model)
        self.table.setColumnHidden(self.model.column_index("id"), True)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.model.modelReset.connect(self._update_count)
        split.addWidget(self.table)

        panel = QWidget()
        pl = QVBoxLayout(panel)
        pl.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.form_title = QLabel()
        self.form_title.setStyleSheet("font-weight: 600; font-size: 14px;")
        self.form_title.setWordWrap(True)
        head.addWidget(self.form_title, 1)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Discard unsaved changes (Esc)")
        self.cancel_btn.clicked.connect(self.cancel)
        self.save_btn = QPushButton("Save")
        self.save_btn.setToolTip("Save this record (Ctrl+S)")
        self.save_btn.setDefault(True)
        self.save_btn.clicked.connect(self.save)
        head.addWidget(self.cancel_btn)
        head.addWidget(self.save_btn)
        pl.addLayout(head)
        self.ro_note = QLabel(READ_ONLY_NOTE.format(
            user=wb.user.username, role=users.ROLE_LABELS.get(wb.user.role, wb.user.role)))
        self.ro_note.setWordWrap(True)
        self.ro_note.setStyleSheet("background: #fff4ce; border: 1px solid #e0c97a; padding: 6px;")
        pl.addWidget(self.ro_note)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(form)
        pl.addWidget(self.scroll, 1)
        self._panel_layout = pl
        self.tabs: QTabWidget | None = None
        split.addWidget(panel)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setSizes([640, 480])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)

        form.changed.connect(self._on_form_changed)
        form.error_at.connect(lambda w: self.scroll.ensureWidgetVisible(w, 20, 40))
        self.read_only = not wb.user.can_write
        self.ro_note.setVisible(self.read_only)
        self.form.set_read_only(self.read_only)
        self.save_btn.setEnabled(not self.read_only)
        self.new_btn.setEnabled(not self.read_only)
        self._update_count()
        self.form.load(None)
        self._update_title()
        if self.model.rowCount():
            self.table.selectRow(0)

    def add_tab(self, title: str, widget: QWidget) -> None:
        """Put `widget` in a tab beside the form (e.g. the item's
        classification); the form's own tab comes first."""
        if self.tabs is None:
            self.tabs = QTabWidget()
            self.tabs.setDocumentMode(True)
            i = self._panel_layout.indexOf(self.scroll)
            self._panel_layout.removeWidget(self.scroll)
            self.tabs.addTab(self.scroll, self.form.noun.capitalize())
            self._panel_layout.insertWidget(i, self.tabs, 1)
            # errors are shown in the form: bring its tab forward
            self.form.error_at.connect(lambda *_: self.tabs.setCurrentIndex(0))
        self.tabs.addTab(widget, title)

    def attach_panel(self, title: str, panel: QWidget, name: str) -> QWidget:
        """Put `panel` in a tab beside the form, following the record the
        form shows (``panel.set_record``) and announcing its writes through
        this page's ``saved``, like a form save; kept as ``self.<name>``."""
        self.add_tab(title, panel)
        self.form.loaded.connect(panel.set_record)
        panel.saved.connect(self.saved)
        panel.set_record(self.form.record)
        setattr(self, name, panel)
        return panel

    # -- queries -------------------------------------------------------------------
    def _apply_query(self) -> None:
        filters = dict(self._extra.get("filters", {}))
        if self.filter_combo is not None and self.filter_combo.value() is not None:
            filters[self.filter_key] = self.filter_combo.value()
        q = dataclasses.replace(
            self.model.query, search=self.search.text(), filters=filters,
            date_column=self._extra.get("date_column"),
            date_from=self._extra.get("date_from"), date_to=self._extra.get("date_to"),
            ids=self._extra.get("ids"))
        self.model.set_query(q)

    def show_filtered(self, label: str, **extra: Any) -> None:
        """Show only what the dashboard asked for (a removable filter chip)."""
        if self.filter_combo is not None and self.filter_key in extra.get("filters", {}):
            self.filter_combo.set_value(extra["filters"].pop(self.filter_key))
        self._extra = extra
        self.extra_label.setText(f"{label}  ✕")
        self.extra_label.setVisible(bool(extra.get("filters") or extra.get("date_column")
                                         or extra.get("ids") is not None))
        self._apply_query()

    def clear_extra(self) -> None:
        self._extra = {}
        self.extra_label.hide()
        self._apply_query()

    def _update_count(self) -> None:
        n = self.model.rowCount()
        self.count_label.setText(f"{n:,} {self.plural if n != 1 else self.form.noun}")

    def refresh(self) -> None:
        key = self.current_key()
        self.model.refresh()
        self._reselect(key)

    def current_key(self) -> Any:
        idx = self.table.currentIndex()
        return idx.data(KeyRole) if idx.isValid() else None

    def _reselect(self, key: Any) -> None:
        if key is None:
            return
        row = self.model.find_row(key)
        if row is not None:
            sm = self.table.selectionModel()
            sm.blockSignals(True)
            self.table.selectRow(row)
            sm.blockSignals(False)
            self.table.scrollTo(self.model.index(row, 0))

    # -- form ------------------------------------------------------------------------
    def _on_form_changed(self) -> None:
        self.dirty = True
        self._update_title()

    def _update_title(self) -> None:
        self.form_title.setText(self.form.title() + ("  •  unsaved" if self.dirty else ""))

    def _confirm_discard(self) -> bool:
        if not self.dirty or self.read_only:
            return True
        ans = QMessageBox.question(
            self, "Unsaved changes",
            f"{self.form.title()} has changes that are not saved. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return ans == QMessageBox.StandardButton.Discard

    def _on_current(self, current: Any, previous: Any) -> None:
        key = current.data(KeyRole) if current.isValid() else None
        if key is None:
            return
        if self.form.record is not None and self.form.record.get("id") == key and not self.dirty:
            return
        if not self._confirm_discard():
            sm = self.table.selectionModel()
            sm.blockSignals(True)
            sm.setCurrentIndex(previous, QItemSelectionModel.SelectionFlag.ClearAndSelect
                               | QItemSelectionModel.SelectionFlag.Rows)
            sm.blockSignals(False)
            return
        self.open_record(key)

    def open_record(self, key: int) -> None:
        """Load one record into the form (a read on the GUI thread)."""
        self.form.load(self._get(self.wb.store, key))
        self.dirty = False
        self._update_title()

    def new_record(self) -> None:
        if self.read_only or not self._confirm_discard():
            return
        self.table.clearSelection()
        self.form.load(None)
        self.dirty = False
        self._update_title()
        first = next(iter(self.form._widgets.values()))
        first.setFocus()

    def cancel(self) -> None:
        """Esc: drop unsaved edits and show the record as stored."""
        rec = self.form.record
        self.form.load(self._get(self.wb.store, rec["id"]) if rec else None)
        self.dirty = False
        self._update_title()

    def reload_current(self) -> None:
        """Something other than the form changed the shown record (e.g. a
        clearance move): re-read the list, and the form unless it has edits."""
        self.model.refresh()
        rec = self.form.record
        if rec is not None and not self.dirty:
            self.form.load(self._get(self.wb.store, rec["id"]))
            self._update_title()
        self._reselect(rec["id"] if rec else None)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def save(self) -> None:
        """Ctrl+S: hand the form's record to the core on the worker thread."""
        if self.read_only or self.saving:
            return
        data = self.form.collect()
        self.saving = True
        self.save_btn.setEnabled(False)
        self.save_btn.setText("Saving…")
        wb, save = self.wb, self._save
        self.ops.run(lambda task: save(wb, data), success=self._on_saved,
                     failure=self._on_failed, parent=self)

    def _done_saving(self) -> None:
        self.saving = False
        self.save_btn.setEnabled(not self.read_only)
        self.save_btn.setText("Save")

    def _on_saved(self, change: Change) -> None:
        self._done_saving()
        self.form.load(change.record)
        self.dirty = False
        self._update_title()
        self.model.refresh()
        self._reselect(change.id)
        self.saved.emit(change)

    def _on_failed(self, exc: BaseException) -> None:
        self._done_saving()
        if isinstance(exc, ValidationError):
            self.form.show_errors(exc.errors)
        else:
            show_error(self, exc)


# ----------------------------------------------------------------------------
class PlaceholderPage(QWidget):
    """A page a later issue fills; says plainly what will be there."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 16, 24, 16)
        lay.addWidget(_heading(title))
        body = QLabel(text)
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.RichText)
        body.setMaximumWidth(760)
        body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(body)
        note = QLabel("Not available in this version yet.")
        note.setStyleSheet("color: palette(mid); font-style: italic;")
        lay.addWidget(note)
        lay.addStretch(1)

    def refresh(self) -> None:
        pass


# ----------------------------------------------------------------------------
class _Tile(QFrame):
    """A big number with a caption; clicking it opens the filtered list."""

    def __init__(self, caption: str, on_click: Callable[[], None] | None,
                 tone: str = "") -> None:
        super().__init__()
        self.caption = caption
        self._on_click = on_click
        colors = {"warn": "#fff4ce", "bad": "#fde7e7", "good": "#e6f4ea"}
        bg = colors.get(tone, "white")
        self.setObjectName("tile")
        self.setStyleSheet(
            f"QFrame#tile {{ border: 1px solid #c9c9c9; border-radius: 6px; background: {bg}; }}"
            "QFrame#tile:hover { border-color: #3b6fd8; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 8, 14, 8)
        lay.setSpacing(0)
        self.number = QLabel("0")
        f = self.number.font()
        f.setPointSizeF(f.pointSizeF() * 1.9)
        f.setBold(True)
        self.number.setFont(f)
        self.label = QLabel(caption)
        for w in (self.number, self.label):
            w.setStyleSheet("background: transparent; border: none;")
            lay.addWidget(w)
        self.setMinimumSize(118, 70)
        if on_click:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._on_click and self.rect().contains(event.position().toPoint()):
            self._on_click()

    def click(self) -> None:
        if self._on_click:
            self._on_click()

    def set_count(self, n: int) -> None:
        self.number.setText(f"{n:,}")


class DashboardPage(QWidget):
    """What needs attention today, shipments by status, two small charts and
    the record counts; each number opens the list it counts.

    Reads: a handful of ``browse.count`` queries on the GUI thread (indexed,
    quick even with 100,000 shipments), and
    :func:`workbench.clearance.attention.attention` (balances, re-verification
    dates, the charts' series) on the :class:`Ops` worker when one is given.
    """

    EXPIRY_DAYS = 90

    def __init__(self, wb: Workbench, open_list: Callable[..., None],
                 ops: Ops | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb = wb
        self.ops = ops
        self.open_list = open_list
        self.attention: dict[str, Any] | None = None
        self._stale = True
        self._ids: dict[str, list[int]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(24, 12, 24, 12)
        head = QHBoxLayout()
        head.addWidget(_heading("Dashboard"))
        self.today_label = QLabel()
        self.today_label.setStyleSheet("color: palette(mid);")
        head.addSpacing(12)
        head.addWidget(self.today_label, 1)
        lay.addLayout(head)

        self.tiles: dict[str, _Tile] = {}
        to_screening = lambda: self.open_list("screening", "")  # noqa: E731
        lay.addWidget(self._section("Needs attention today"))
        row = QHBoxLayout()
        self.tiles["open_hits"] = _Tile("hits to decide", to_screening, "bad")
        self.tiles["on_hold"] = _Tile("shipments on hold", lambda: self.open_list(
            "shipments", "Status: On hold", filters={"status": "on_hold"}), "warn")
        self.tiles["checklists_awaiting_approval"] = _Tile(
            "checklists to approve",
            lambda: self.open_list("checklists", "", tab="awaiting_approval"), "warn")
        self.tiles["expiring"] = _Tile(f"licences expire in {self.EXPIRY_DAYS} days",
                                       self._open_expiring, "warn")
        self.tiles["licences_nearly_used"] = _Tile("licences nearly used",
                                                   self._open_nearly_used, "warn")
        self.tiles["parties_due"] = _Tile("parties to re-verify",
                                          lambda: self.open_list("checklists", "", tab="due"),
                                          "warn")
        tips = {"open_hits": "Screening hits no officer has decided yet (Screening page)",
                "on_hold": "Shipments on hold, by hand or because a new list or rules pack "
                           "affects them",
                "checklists_awaiting_approval": "Checklist runs with red flags that wait for "
                                                "an approver's sign-off",
                "expiring": f"Licences whose expiry date falls in the next {self.EXPIRY_DAYS} "
                            f"days",
                "licences_nearly_used": "Licences with a line at or above "
                                        f"{NEARLY_USED_PCT:g}% of its quantity or value",
                "parties_due": "Parties whose end-user checks have lapsed or lapse within "
                               "30 days"}
        for k in ("open_hits", "on_hold", "checklists_awaiting_approval", "expiring",
                  "licences_nearly_used", "parties_due"):
            self.tiles[k].setToolTip(tips[k])
            row.addWidget(self.tiles[k])
        row.addStretch(1)
        lay.addLayout(row)

        lay.addWidget(self._section("Shipments by status"))
        grid = QGridLayout()
        tones = {"on_hold": "warn", "blocked": "bad", "in_review": "warn", "cleared": "good"}
        for i, st in enumerate(STATUSES):
            t = _Tile(STATUS_LABELS[st], lambda st=st: self.open_list(
                "shipments", f"Status: {STATUS_LABELS[st]}", filters={"status": st}),
                tones.get(st, ""))
            t.setToolTip(f"Show the {STATUS_LABELS[st].lower()} shipments")
            self.tiles[f"status:{st}"] = t
            grid.addWidget(t, 0, i)
        lay.addLayout(grid)

        charts = QHBoxLayout()
        self.screenings_chart = BarChart("Screening runs per week (last 12 weeks)",
                                         empty_text="no screening yet")
        self.utilisation_chart = BarChart("Licence utilisation (share of each line used)",
                                          horizontal=True, unit="%", maximum=100,
                                          warn_at=80, bad_at=95,
                                          empty_text="no licence lines")
        for c in (self.screenings_chart, self.utilisation_chart):
            c.setMinimumHeight(170)
            charts.addWidget(c, 1)
        lay.addSpacing(10)
        lay.addLayout(charts)

        lay.addWidget(self._section("Screening, licences and records"))
        row = QHBoxLayout()
        self.tiles["possible_fronts"] = _Tile("parties may be fronts", to_screening, "warn")
        self.tiles["never_screened"] = _Tile("parties never screened", to_screening, "warn")
        self.tiles["expired"] = _Tile("licences have expired", self._open_expired)
        self.tiles["licences"] = _Tile("licences in all", lambda: self.open_list("licences", ""))
        self.tiles["parties"] = _Tile("parties", lambda: self.open_list("parties", ""))
        self.tiles["items"] = _Tile("items", lambda: self.open_list("items", ""))
        self.tiles["audit"] = _Tile("audit events", lambda: self.open_list("audit", ""))
        for k in ("possible_fronts", "never_screened", "expired", "licences", "parties",
                  "items", "audit"):
            row.addWidget(self.tiles[k])
        row.addStretch(1)
        lay.addLayout(row)
        hint = QLabel("Click a number to open the list it counts.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid); margin-top: 8px;")
        lay.addWidget(hint)
        lay.addStretch(1)
        self.refresh()

    @staticmethod
    def _section(text: str) -> QLabel:
        lab = QLabel(text)
        lab.setStyleSheet("font-weight: 600; margin-top: 10px;")
        return lab

    def _range(self) -> tuple[str, str]:
        today = dt.date.today()
        return today.isoformat(), (today + dt.timedelta(days=self.EXPIRY_DAYS)).isoformat()

    def _open_expiring(self) -> None:
        a, b = self._range()
        self.open_list("licences", f"Expiring {a} – {b}", date_column="expiry_date",
                       date_from=a, date_to=b)

    def _open_expired(self) -> None:
        y = (dt.date.today() - dt.timedelta(days=1)).isoformat()
        self.open_list("licences", f"Expired (before {dt.date.today().isoformat()})",
                       date_column="expiry_date", date_from="0000-01-01", date_to=y)

    def _open_nearly_used(self) -> None:
        self.open_list("licences", "Nearly used up",
                       ids=tuple(self._ids.get("licences_nearly_used", [])))

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Re-read the counts (GUI thread) and the attention data (worker).

        While the page is hidden it only marks itself stale and reads when
        shown: every write elsewhere asks for a refresh, and attention()
        costs ~0.4 s on 100,000 shipments that would queue before the
        officer's own work on the one worker thread."""
        if not self.isVisible() and self.attention is not None:
            self._stale = True
            return
        self._stale = False
        s = self.wb.store
        a, b = self._range()
        self.today_label.setText(f"Today is {dt.date.today():%A, %d %B %Y}.")
        for st in STATUSES:
            n = browse.count(s, "shipments", browse.Query(filters={"status": st}))
            self.tiles[f"status:{st}"].set_count(n)
            if st == "on_hold":  # the same count, shown again under "needs attention"
                self.tiles["on_hold"].set_count(n)
        self.tiles["expiring"].set_count(browse.count(s, "licences", browse.Query(
            date_column="expiry_date", date_from=a, date_to=b)))
        y = (dt.date.today() - dt.timedelta(days=1)).isoformat()
        self.tiles["expired"].set_count(browse.count(s, "licences", browse.Query(
            date_column="expiry_date", date_from="0000-01-01", date_to=y)))
        for k in ("licences", "parties", "items", "audit"):
            self.tiles[k].set_count(browse.count(s, k))
        for k, n in screening_results.attention_counts(s).items():
            self.tiles[k].set_count(n)
        if self.ops is None:
            self._show_attention(attention(s))
        else:
            self.ops.run(lambda _t: attention(s), success=self._show_attention, parent=self)

    def _show_attention(self, att: dict[str, Any]) -> None:
        self.attention = att
        for k in ("checklists_awaiting_approval", "licences_nearly_used", "parties_due"):
            tile = att[k]
            self._ids[k] = list(tile["ids"])
            self.tiles[k].set_count(tile["count"])
        self.tiles["licences_nearly_used"].setToolTip("\n".join(
            f"{d['number']}: {d['used_pct']:.0f}% used"
            for d in att["licences_nearly_used"].get("detail", [])) or "none")
        ser = att["series"]
        self.screenings_chart.set_data([
            (dt.date.fromisoformat(w["week"]).strftime("%d %b"), w["runs"])
            for w in ser["screenings_per_week"]])
        self.utilisation_chart.set_data([
            (f"{u['licence']} line {u['line']}", u["used_pct"])
            for u in sorted(ser["licence_utilisation"], key=lambda u: -u["used_pct"])])


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
        top.addWidget(_heading("Audit log"))
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
