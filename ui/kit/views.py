"""Views and small widgets every page uses: tables over the models, headings,
hints, banners, rich-text browsers, and the message that says which shipments a
change put on hold. GUI thread only.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QUrl, Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableView,
    QTextBrowser,
    QWidget,
)

from ui.kit.models import BrowseModel, Column
from ui.kit.ops import Task


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


def heading_label(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setPointSizeF(f.pointSizeF() * 1.35)
    f.setBold(True)
    lab.setFont(f)
    return lab


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


BANNER_STYLES = {"ok": "background: #e6f4ea; border: 1px solid #9ccc9f; padding: 6px;",
           "warn": "background: #fff4ce; border: 1px solid #e0c97a; padding: 6px;",
           "bad": "background: #fde7e7; border: 1px solid #e8b4b0; padding: 6px; color: #8c1d18;"}


def format_timestamp(value: str | None) -> str:
    """A stored UTC timestamp as an officer reads it (minutes, 'UTC')."""
    return f"{value[:16].replace('T', ' ')} UTC" if value else ""


def progress_callback(task: Task) -> Callable[[int, int | None], None]:
    # The core reports an unknown total as None; the task wants an int.
    return lambda done, total: task.progress(done, total or 0)


def muted_label(text: str = "") -> QLabel:
    lab = QLabel(text)
    lab.setStyleSheet("color: palette(mid);")
    return lab


class Banner(QLabel):
    """A one-line outcome message above a page's tables (hidden when empty)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def say(self, text: str, tone: str = "ok") -> None:
        self.setText(text)
        self.setStyleSheet(BANNER_STYLES[tone])
        self.setVisible(bool(text))


def make_view(model: QAbstractTableModel, columns: Sequence[Column],
              sortable: bool = True) -> QTableView:
    """A read-only row-selecting table with the columns' starting widths."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(24)
    hh = view.horizontalHeader()
    hh.setHighlightSections(False)
    # Name columns share the width left over, so a narrow window elides
    # names instead of hiding the score and status behind a scroll bar.
    any_stretch = any(c.stretch for c in columns)
    hh.setStretchLastSection(not any_stretch)
    for i, c in enumerate(columns):
        hh.resizeSection(i, c.width)
        if c.stretch:
            hh.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
    if sortable:
        # No arrow until the officer sorts: the rows come in the core's
        # order (hits by score), which an arrow on column 0 would misstate.
        hh.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        hh.setSortIndicatorShown(True)
        hh.setSectionsClickable(True)
        hh.sortIndicatorChanged.connect(model.sort)
    return view


def plain_table(model: Any, widths: list[int] | None = None) -> QTableView:
    v = QTableView()
    v.setModel(model)
    v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    v.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    v.setAlternatingRowColors(True)
    v.verticalHeader().setVisible(False)
    v.verticalHeader().setDefaultSectionSize(24)
    v.setWordWrap(False)
    hh = v.horizontalHeader()
    hh.setStretchLastSection(True)
    hh.setHighlightSections(False)
    for i, w in enumerate(widths or []):
        hh.resizeSection(i, w)
    return v


def link_browser() -> QTextBrowser:
    b = QTextBrowser()
    b.setOpenLinks(False)  # we route clicks: rule anchors in place, URLs to the browser
    b.anchorClicked.connect(open_web_link)
    return b


def open_web_link(url: QUrl) -> None:
    if url.scheme() in ("http", "https"):
        QDesktopServices.openUrl(url)


def hint_label(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setStyleSheet("color: palette(mid);")
    return lab


def tell_held(parent: QWidget, what: str, held: list[dict[str, Any]]) -> QMessageBox | None:
    """Say at once (non-modal) which open shipments a rules change put on
    hold, with the reason each carries; None when it held none. The officer
    must hear it now, not find it later on the dashboard."""
    if not held:
        return None
    box = QMessageBox(
        QMessageBox.Icon.Information, "Shipments put on hold",
        f"{what} changes the outcome of {len(held)} open shipment(s); they are on hold until "
        f"determined again and cleared:\n\n"
        + "\n".join(f"{h['reference']}: {h['reason']}" for h in held[:20])
        + ("\n…" if len(held) > 20 else ""), QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
