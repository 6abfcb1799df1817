"""The master-data list pages (parties, items, shipments, licences): a lazily
paged table, a search, filters, the record form and the panels that follow the
selected record. GUI thread; writes through the ops worker.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from PySide6.QtCore import QItemSelectionModel, QTimer, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench import users
from workbench.app import Change, Workbench
from workbench.errors import ValidationError

from ui.kit.forms import RecordForm
from ui.kit.models import BrowseModel, KeyRole
from ui.kit.ops import Ops, show_error
from ui.kit.views import heading_label, make_table
from ui.kit.widgets import ChoiceCombo


READ_ONLY_NOTE = ("You are signed in as {user}, an auditor: this workbench is read-only for you. You can "
                  "look at every record but not change it.")


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
        top.addWidget(heading_label(title))
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
        lay.addWidget(heading_label(title))
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
