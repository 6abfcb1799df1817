"""The Lists page: restricted-party list snapshots, their entries, import and
download with what each import changed. GUI thread; store work on the ops worker.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QTimer,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Workbench
from workbench.clearance import holds
from workbench.db.store import Store
from workbench.records.values import country_name
from workbench.screening import download, snapshots
from workbench.screening.changes import what_changed
from workbench.screening.lists import FORMATS

from ui.dialogs.what_changed import WhatChangedDialog
from ui.kit.models import Column, KeyRole, RowRole, RowsModel
from ui.kit.ops import OpCancelled, Ops, Task, error_text, show_error
from ui.kit.screening_html import (
    FORMAT_LABELS,
    HIT_CSS,
    SOURCE_SHORT,
    counts_text,
    entry_html,
    hit_browser,
    list_label,
)
from ui.kit.files import open_file_name
from ui.kit.views import (
    Banner,
    format_timestamp,
    heading_label,
    make_view,
    muted_label,
    progress_callback,
)


ENTRY_PAGE = 200


count_entries = snapshots.count_entries


page_entries = snapshots.page_entries


entry_data = snapshots.entry_data


ENTRY_COLUMNS = [
    Column("name", "Name", 300, stretch=True),
    Column("alt_names", "Other names", 260, fmt=lambda r: "; ".join(r["alt_names"]), stretch=True),
    Column("list_code", "List", 50, tip=lambda r: list_label(r["list_code"])),
    Column("countries", "Countries", 76, fmt=lambda r: ", ".join(r["countries"]),
        tip=lambda r: ", ".join(f"{c} — {country_name(c)}" for c in r["countries"]) or None),
    Column("entry_id", "Entry ID", 110),
]


class EntryModel(QAbstractTableModel):
    """The entries of one snapshot, a page of ``ENTRY_PAGE`` rows at a time.

    Counts once per query and fetches a page only when a view shows one of
    its rows, so a 40,000-entry snapshot costs a count and a page. Search and
    sort are pushed into SQL. Side effects: SQL reads on the GUI thread.
    """

    MAX_PAGES = 16

    def __init__(self, store: Store, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.columns = ENTRY_COLUMNS
        self.snapshot_id: int | None = None
        self.search = ""
        self.sort_key, self.desc = "name", False
        self._count = 0
        self._pages: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self.pages_fetched = 0

    def set_query(self, snapshot_id: int | None, search: str | None = None) -> None:
        self.beginResetModel()
        self.snapshot_id = snapshot_id
        if search is not None:
            self.search = search
        self._pages.clear()
        self._count = (count_entries(self.store, snapshot_id, self.search)
                       if snapshot_id is not None else 0)
        self.endResetModel()

    def _page(self, p: int) -> list[dict[str, Any]]:
        rows = self._pages.get(p)
        if rows is None:
            assert self.snapshot_id is not None
            rows = page_entries(self.store, self.snapshot_id, self.search,
                                offset=p * ENTRY_PAGE, sort=self.sort_key, desc=self.desc)
            self.pages_fetched += 1
            self._pages[p] = rows
            while len(self._pages) > self.MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(p)
        return rows

    def row(self, i: int) -> dict[str, Any] | None:
        if not 0 <= i < self._count:
            return None
        rows = self._page(i // ENTRY_PAGE)
        j = i % ENTRY_PAGE
        return rows[j] if j < len(rows) else None  # the table may shrink under us

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.column() < len(self.columns):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                        KeyRole, RowRole):
            return None
        r = self.row(index.row())
        if r is None:
            return None
        if role == KeyRole:
            return r["id"]
        if role == RowRole:
            return r
        col = self.columns[index.column()]
        text = col.fmt(r) if col.fmt else str(r.get(col.key) or "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tip(r) if col.tip else (text if len(text) > 30 else None)
        return text

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.columns)):
            return self.columns[section].label
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self.sort_key = self.columns[column].key
        self.desc = order == Qt.SortOrder.DescendingOrder
        self.set_query(self.snapshot_id)


def _import_and_rescreen(wb: Workbench, task: Task, do_import: Callable[..., Any]
                         ) -> dict[str, Any]:
    """Import (or download and import) and re-screen every party against
    what changed, in one transaction (:func:`holds.import_list`): a cancel
    or a failure keeps nothing."""
    change, rescreen = do_import(progress=progress_callback(task), cancel=task.cancel)
    return what_changed(wb, change, rescreen, None)


SNAPSHOT_COLUMNS = [
    Column("id", "#", 34, numeric=True),
    Column("source", "Source", 190, fmt=lambda r: SOURCE_SHORT.get(r["source"], r["source"]),
        tip=lambda r: snapshots.SOURCE_LABELS.get(r["source"], r["source"])),
    Column("in_use", "In use", 80, fmt=lambda r: "current" if r.get("current") else "superseded",
        tip=lambda r: ("Used for screening (the newest snapshot of its source)"
                       if r.get("current") else
                       "Kept for the record; a newer snapshot of the same source is used")),
    Column("file_name", "File", 190, tip=lambda r: "\n".join(json.loads(r["files"]))),
    Column("format", "Format", 100, fmt=lambda r: FORMAT_LABELS.get(r["format"], r["format"])),
    Column("entry_count", "Entries", 66, numeric=True, fmt=lambda r: f"{r['entry_count']:,}",
        tip=lambda r: f"{r['name_count']:,} names and aliases"),
    Column("counts", "Per list", 150, fmt=counts_text,
        tip=lambda r: "\n".join(f"{list_label(k)}: {v:,}" for k, v in
                                sorted(json.loads(r["counts"]).items()))),
    Column("publish_date", "Published", 88, fmt=lambda r: r["publish_date"] or "—",
        tip=lambda r: None if r["publish_date"] else "The file does not state a publish date"),
    Column("imported_at", "Imported", 140, fmt=lambda r: format_timestamp(r["imported_at"])),
    Column("imported_by", "By", 70),
    Column("sha256", "SHA-256", 110, fmt=lambda r: r["sha256"][:12] + "…",
        tip=lambda r: f"SHA-256 {r['sha256']}"),
]


class ListsPage(QWidget):
    """Restricted-party list snapshots: import, download, browse entries.

    Side effects: reads ``list_snapshot`` and pages of ``list_entry`` on the
    GUI thread; imports, downloads and the re-screen after them run through
    ``ops`` (the worker thread) with a cancellable progress dialog, then the
    "What changed" dialog opens. Auditors browse; only writers import.
    Emits ``imported(dict)`` (the what-changed data) after a new snapshot.
    """

    imported = Signal(object)

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.busy = False
        self.what_changed: WhatChangedDialog | None = None
        self.offline_box: QMessageBox | None = None
        self.can_write = wb.user.can_write

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(heading_label("Restricted-party lists"))
        top.addStretch(1)
        top.addWidget(QLabel("Format:"))
        self.format_combo = QComboBox()
        self.format_combo.addItem("Detect from content", None)
        for f in FORMATS:
            self.format_combo.addItem(FORMAT_LABELS.get(f, f), f)
        self.format_combo.setToolTip("The file's format is detected from its content; "
                                     "choose one only if detection gets it wrong")
        top.addWidget(self.format_combo)
        self.import_btn = QPushButton("Import file…")
        self.import_btn.setToolTip("Import a list file you downloaded: the trade.gov CSL (CSV or "
                                   "JSON), OFAC sdn.csv or cons_prim.csv (their sibling files "
                                   "are read from the same folder) or sdn.xml / "
                                   "consolidated.xml, or the BIS DPL text file")
        self.import_btn.clicked.connect(self.import_file)
        self.download_btn = QPushButton("Download latest")
        self.download_btn.clicked.connect(self.download_latest)
        top.addWidget(self.import_btn)
        top.addWidget(self.download_btn)
        lay.addLayout(top)

        info = QHBoxLayout()
        self.url_label = muted_label()
        self.url_label.setWordWrap(True)
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        info.addWidget(self.url_label, 1)
        self.url_btn = QPushButton("Change address…")
        self.url_btn.setFlat(True)
        self.url_btn.setStyleSheet("color: #3b6fd8;")
        self.url_btn.clicked.connect(self.change_url)
        info.addWidget(self.url_btn)
        lay.addLayout(info)
        self.banner = Banner()
        lay.addWidget(self.banner)
        if not self.can_write:
            self.banner.say(f"You are signed in as {wb.user.username}, an auditor: you can browse "
                            f"every snapshot and entry, but importing lists needs an officer.",
                            "warn")
            for b in (self.import_btn, self.download_btn, self.format_combo):
                b.setEnabled(False)
                b.setToolTip("Importing lists needs an officer or admin")
            self.url_btn.hide()

        split = QSplitter(Qt.Orientation.Vertical)
        self.snap_model = RowsModel(SNAPSHOT_COLUMNS, self,
                                    muted=lambda r: not r.get("current"))
        self.snap_table = make_view(self.snap_model, SNAPSHOT_COLUMNS, sortable=False)
        self.snap_table.selectionModel().currentRowChanged.connect(self._on_snapshot)
        split.addWidget(self.snap_table)

        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 4, 0, 0)
        bar = QHBoxLayout()
        self.entries_title = QLabel()
        self.entries_title.setStyleSheet("font-weight: 600;")
        bar.addWidget(self.entries_title)
        bar.addSpacing(12)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search names, aliases, countries, entry ids…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda *_: self._search_timer.start())
        bar.addWidget(self.search, 1)
        self.entry_count = muted_label()
        bar.addWidget(self.entry_count)
        ll.addLayout(bar)
        inner = QSplitter(Qt.Orientation.Horizontal)
        self.entry_model = EntryModel(wb.store, self)
        self.entry_table = make_view(self.entry_model, ENTRY_COLUMNS)
        self.entry_table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.entry_table.selectionModel().currentRowChanged.connect(self._on_entry)
        self.entry_model.modelReset.connect(self._entries_reset)
        inner.addWidget(self.entry_table)
        self.entry_detail = hit_browser()
        inner.addWidget(self.entry_detail)
        # the list gets the larger share: names are long, the detail wraps
        inner.setStretchFactor(0, 3)
        inner.setStretchFactor(1, 2)
        inner.setSizes([660, 440])
        inner.setChildrenCollapsible(False)
        ll.addWidget(inner, 1)
        split.addWidget(lower)
        split.setSizes([190, 520])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)
        self.refresh()

    # -- reading ----------------------------------------------------------------------
    def refresh(self, select: int | None = None) -> None:
        """Re-read the snapshots (GUI thread; one small query) and keep or set
        the selection (``select`` is a snapshot id)."""
        cur = self.current_snapshot_id() if select is None else select
        rows = snapshots.list_snapshots(self.wb.store)
        current = {s["id"] for s in snapshots.current_snapshots(self.wb.store)}
        for r in rows:
            r["current"] = r["id"] in current
        self.snap_model.set_rows(rows)
        self._fit_snapshots()
        self.url_label.setText(f"Screening uses the newest snapshot of each source.  "
                               f"“Download latest” fetches {download.csl_url(self.wb.store)}")
        self.download_btn.setToolTip(f"Fetch the Consolidated Screening List from "
                                     f"{download.csl_url(self.wb.store)} and import it")
        if not rows:
            self.entries_title.setText("No list imported yet")
            self.entry_model.set_query(None)
            self.entry_detail.setHtml(
                HIT_CSS + "<h3>No restricted-party list has been imported</h3><p>Use "
                "<b>Download latest</b> to fetch the Consolidated Screening List from trade.gov, "
                "or <b>Import file…</b> for a file downloaded on another computer.</p>")
            return
        row = next((i for i, r in enumerate(rows) if r["id"] == cur), 0)
        self.snap_table.selectRow(row)
        if self.current_snapshot_id() != self.entry_model.snapshot_id:
            self._on_snapshot(self.snap_model.index(row, 0), QModelIndex())

    def _fit_snapshots(self) -> None:
        # Few snapshots, short values: fit the columns to what they hold
        # (capped) and the table to its rows, so the entries get the room.
        t = self.snap_table
        t.resizeColumnsToContents()
        for i, c in enumerate(SNAPSHOT_COLUMNS):
            t.horizontalHeader().resizeSection(
                i, max(min(t.horizontalHeader().sectionSize(i), 260), c.width // 2))
        rows = max(2, min(self.snap_model.rowCount(), 6))
        self.snap_table.setFixedHeight(t.horizontalHeader().height() + rows * 24 + 6
                                       + t.horizontalScrollBar().sizeHint().height())

    def current_snapshot_id(self) -> int | None:
        idx = self.snap_table.currentIndex()
        r = self.snap_model.row(idx.row()) if idx.isValid() else None
        return r["id"] if r else None

    def _on_snapshot(self, current: QModelIndex, _prev: Any) -> None:
        r = self.snap_model.row(current.row()) if current.isValid() else None
        if r is None:
            return
        self.entries_title.setText(f"Entries of snapshot #{r['id']} — {r['file_name']}")
        self.entry_model.set_query(r["id"])

    def _apply_search(self) -> None:
        self.entry_model.set_query(self.entry_model.snapshot_id, self.search.text())

    def _entries_reset(self) -> None:
        n = self.entry_model.rowCount()
        self.entry_count.setText(f"{n:,} {'entry' if n == 1 else 'entries'}")
        if n:
            self.entry_table.selectRow(0)
        else:
            self.entry_detail.setHtml(HIT_CSS + "<p class='muted'>No entry matches.</p>"
                                      if self.entry_model.snapshot_id else "")

    def _on_entry(self, current: QModelIndex, _prev: Any) -> None:
        key = current.data(KeyRole) if current.isValid() else None
        if key is None:
            return
        d = entry_data(self.wb.store, key)
        self.entry_detail.setHtml(entry_html(d) if d else "")

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # -- importing ----------------------------------------------------------------------
    def import_file(self) -> None:
        """Ask for a list file, then import it (see :meth:`import_path`)."""
        if not self.can_write or self.busy:
            return
        path = open_file_name(
            self, "Import a restricted-party list — for OFAC choose sdn.csv, cons_prim.csv, "
                  "sdn.xml or consolidated.xml",
            str(Path.home()),
            "List files (*.csv *.json *.xml *.txt);;All files (*)", store=self.wb.store)
        if path:
            self.import_path(path)

    def import_path(self, path: str | Path) -> None:
        """Import ``path`` and re-screen on the worker thread (cancellable)."""
        wb, fmt = self.wb, self.format_combo.currentData()
        self._start(f"Importing {Path(path).name} and re-screening every party…",
                    lambda task: _import_and_rescreen(
                        wb, task, lambda **kw: holds.import_list(wb, path, format=fmt, **kw)))

    def download_latest(self) -> None:
        """Download the CSL from its configured address, import, re-screen."""
        if not self.can_write or self.busy:
            return
        wb = self.wb
        self._start("Downloading the Consolidated Screening List…",
                    lambda task: _import_and_rescreen(
                        wb, task, lambda **kw: download.download_latest(
                            wb, importer=holds.import_list, **kw)))

    def _start(self, label: str, fn: Callable[[Task], dict[str, Any]]) -> None:
        self.busy = True
        self.import_btn.setEnabled(False)
        self.download_btn.setEnabled(False)
        self.banner.say(label, "warn")
        self.ops.run(fn, success=self._imported, failure=self._import_failed, parent=self,
                     progress=label)

    def _done(self) -> None:
        self.busy = False
        self.import_btn.setEnabled(self.can_write)
        self.download_btn.setEnabled(self.can_write)

    def _imported(self, data: dict[str, Any]) -> None:
        self._done()
        snap = data["snapshot"]
        self.banner.say(f"Imported snapshot #{snap['snapshot_id']} ({snap['file']}, "
                        f"{snap['entries']:,} entries). {len(data['new_hits'])} new or changed "
                        f"hits, {len(data['gone'])} gone, {len(data['shipments'])} open "
                        f"shipments affected.", "bad" if data.get("rescreen_error") else "ok")
        self.refresh(select=snap["snapshot_id"])
        self.what_changed = WhatChangedDialog(data, self)
        self.what_changed.open()
        self.imported.emit(data)

    def _import_failed(self, exc: BaseException) -> None:
        self._done()
        if isinstance(exc, snapshots.DuplicateSnapshot):
            self.banner.say(str(exc), "warn")
            self.refresh(select=exc.snapshot_id)
        elif isinstance(exc, download.OfflineError):
            self.banner.say(str(exc), "bad")
            self._offer_file_import(exc)
        elif isinstance(exc, OpCancelled) or type(exc).__name__ == "Cancelled":
            self.banner.say("Cancelled; no snapshot was kept.", "warn")
        else:
            self.banner.say(error_text(exc), "bad")
            show_error(self, exc)

    def _offer_file_import(self, exc: BaseException) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot download the list", str(exc),
                          QMessageBox.StandardButton.Close, self)
        box.setInformativeText("You can download the file on a computer that is online, "
                               "copy it here and import it.")
        imp = box.addButton("Import file…", QMessageBox.ButtonRole.AcceptRole)
        imp.clicked.connect(self.import_file)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.offline_box = box
        box.destroyed.connect(lambda *_: setattr(self, "offline_box", None))
        box.open()  # non-blocking: the worker's results keep arriving

    def change_url(self) -> None:
        """Change the "Download latest" address (audited, on the worker)."""
        if not self.can_write:
            return
        url, ok = QInputDialog.getText(self, "Download address",
                                       "Address of the Consolidated Screening List CSV:",
                                       text=download.csl_url(self.wb.store))
        if ok and url.strip():
            wb = self.wb
            self.ops.run(lambda task: download.set_csl_url(wb, url), parent=self,
                         success=lambda _: self.refresh())
