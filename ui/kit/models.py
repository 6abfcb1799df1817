"""A lazy table model over one of the core's list views (:mod:`workbench.records.browse`).

The model knows the row count (one ``count(*)``) and fetches rows a page at a
time, by row index, only when a view asks for a row it does not hold — a
window cache in the spirit of Anki's browser model. Scrolling to the end of
100,000 shipments therefore costs the count plus the last page or two, never
the whole table. Sorting and searching are pushed into SQL (``sort()`` and
:meth:`BrowseModel.set_query` re-query); there is no proxy model.

Threading: reads run on the GUI thread (the store gives it its own
connection; one LIMIT page is quick). Writes never happen here.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from workbench.db.store import Store
from workbench.records import browse
from workbench.records.parties import KIND_LABELS
from workbench.records.shipments import STATUS_LABELS
from workbench.records.values import country_name

PAGE_SIZE = 200
MAX_PAGES = 16  # pages kept in memory; older ones are dropped (LRU)
KeyRole = Qt.ItemDataRole.UserRole  # the record id (or audit seq) of a row
RawRole = Qt.ItemDataRole.UserRole + 1  # the unformatted value of a cell

_COUNTRY_COLUMNS = {"country", "hq_country", "destination"}


def _display(key: str, kind: str, value: Any) -> str:
    """How a cell reads to an officer (labels, not codes; short timestamps)."""
    if value is None:
        return ""
    if kind == "bool":
        return "Yes" if value else "No"
    if key == "status":
        return STATUS_LABELS.get(value, value)
    if key == "kind":
        return KIND_LABELS.get(value, value)
    if key == "updated_at" or key == "ts":
        return str(value)[:19].replace("T", " ")
    if kind == "real":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if kind == "int":
        return f"{value:,}" if key not in ("id", "seq") else str(value)
    return str(value)


class BrowseModel(QAbstractTableModel):
    """Rows of ``browse.VIEWS[name]`` for the current :class:`browse.Query`.

    Side effects: SQL reads on the calling (GUI) thread when rows are first
    shown. ``pages_fetched`` counts page queries (tests use it to prove the
    model never reads the whole table).
    """

    def __init__(self, store: Store, name: str, query: browse.Query | None = None,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.view = browse.VIEWS[name]
        self.name = name
        self.columns = self.view.columns
        self._query = query or browse.Query()
        self._count = 0
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self.pages_fetched = 0
        self._count = browse.count(self.store, self.name, self._query)

    # -- queries ---------------------------------------------------------------
    @property
    def query(self) -> browse.Query:
        return self._query

    def set_query(self, query: browse.Query) -> None:
        """Replace the search/filter/sort and re-query (resets the model)."""
        self._query = query
        self.refresh()

    def set_search(self, text: str) -> None:
        self.set_query(dataclasses.replace(self._query, search=text))

    def refresh(self) -> None:
        """Drop cached rows and re-count; views re-read what they show."""
        self.beginResetModel()
        self._pages.clear()
        self._count = browse.count(self.store, self.name, self._query)
        self.endResetModel()

    def column_index(self, key: str) -> int:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        raise KeyError(key)

    def row_key(self, row: int) -> Any:
        """The id (or seq) of a row, or None when out of range."""
        r = self._row(row)
        return None if r is None else r[self.view.key]

    def find_row(self, key: Any, limit_pages: int = 5) -> int | None:
        """Row number of the record ``key`` among the first pages, if there."""
        for p in range(min(limit_pages, (self._count + PAGE_SIZE - 1) // PAGE_SIZE)):
            rows = self._page(p)
            for i, r in enumerate(rows):
                if r[self.view.key] == key:
                    return p * PAGE_SIZE + i
        return None

    # -- paging ----------------------------------------------------------------
    def _page(self, p: int) -> list[Any]:
        rows = self._pages.get(p)
        if rows is None:
            rows = browse.page(self.store, self.name, self._query,
                               offset=p * PAGE_SIZE, limit=PAGE_SIZE)
            self.pages_fetched += 1
            self._pages[p] = rows
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(p)
        return rows

    def _row(self, row: int) -> Any:
        if not 0 <= row < self._count:
            return None
        rows = self._page(row // PAGE_SIZE)
        i = row % PAGE_SIZE
        # The table can shrink between count and page (another writer); a
        # missing row reads as blank rather than raising inside paint.
        return rows[i] if i < len(rows) else None

    # -- QAbstractTableModel -----------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.column() < len(self.columns):
            return None
        col = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                    KeyRole, RawRole):
            r = self._row(index.row())
            if r is None:
                return None
            if role == KeyRole:
                return r[self.view.key]
            value = r[col.key]
            if role == RawRole:
                return value
            if role == Qt.ItemDataRole.ToolTipRole:
                if col.key in _COUNTRY_COLUMNS and value:
                    return f"{value} — {country_name(value)}"
                if col.key == "hash":
                    return value
                text = _display(col.key, col.kind, value)
                return text if len(text) > 30 else None
            return _display(col.key, col.kind, value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col.kind in ("int", "real"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].label
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Sort by {self.columns[section].label.lower()}"
        elif orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in SQL by that column (re-queries; no rows are sorted in Python)."""
        if not 0 <= column < len(self.columns):
            return
        self.set_query(dataclasses.replace(
            self._query, sort=self.columns[column].key,
            desc=order == Qt.SortOrder.DescendingOrder))


# ----------------------------------------------------------------------------
# Models over rows the caller already holds (screening, rules, checklists)
# ----------------------------------------------------------------------------

RowRole = Qt.ItemDataRole.UserRole + 2  # the whole row dict behind a table row


@dataclass(frozen=True)
class Column:
    """One column of a :class:`RowsModel`: the dict key, the header, a
    starting width, right alignment for numbers, and optional formatters."""

    key: str
    label: str
    width: int = 100
    numeric: bool = False
    fmt: Callable[[dict[str, Any]], str] | None = None
    tip: Callable[[dict[str, Any]], str | None] | None = None
    stretch: bool = False  # shares the width left over (names, details)


class RowsModel(QAbstractTableModel):
    """A small in-memory table of dict rows (snapshots, hits, fronts, results).

    Holds whatever the last ``set_rows`` gave it; sorting happens in Python,
    which is fine for the few thousand rows these tables hold (the paged,
    SQL-sorted models are :class:`BrowseModel` and the Lists page's EntryModel). GUI thread only; no I/O.
    """

    def __init__(self, columns: Sequence[Column], parent: Any = None,
                 muted: Callable[[dict[str, Any]], bool] | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = []
        self._muted = muted  # rows shown grey (e.g. a name with no match)

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row(self, i: int) -> dict[str, Any] | None:
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def _text(self, col: Column, r: dict[str, Any]) -> str:
        if col.fmt is not None:
            return col.fmt(r)
        v = r.get(col.key)
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.0f}" if v.is_integer() else f"{v:.1f}"
        return str(v)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows) \
                or not 0 <= index.column() < len(self.columns):
            return None
        col, r = self.columns[index.column()], self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(col, r)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col.tip is not None:
                return col.tip(r)
            text = self._text(col, r)
            return text if len(text) > 24 else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = Qt.AlignmentFlag.AlignRight if col.numeric else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor("#8a8a8a") if self._muted is not None and self._muted(r) else None
        if role == KeyRole:
            return r.get("id")
        if role == RowRole:
            return r
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].label
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        col = self.columns[column]

        def key(r: dict[str, Any]) -> tuple[bool, Any]:
            v = r.get(col.key) if col.fmt is None or col.numeric else col.fmt(r)
            if isinstance(v, str):
                v = v.casefold()
            return (v is None, v if v is not None else 0)

        self.layoutAboutToBeChanged.emit()
        self.rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


# ----------------------------------------------------------------------------
# A small read-only table model (packs, rules, groups, determinations)
# ----------------------------------------------------------------------------
class RecordsModel(QAbstractTableModel):
    """A read-only table over a list of dicts, columns given as
    (key, label, formatter). No I/O; GUI thread. ``Qt.UserRole`` on any
    cell returns the row's dict."""

    def __init__(self, columns: list[tuple[str, str, Callable[[dict], Any] | None]],
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict[str, Any]] = []
        self.tooltips: Callable[[dict, str], str | None] | None = None
        self.colors: Callable[[dict, str], Any] | None = None

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        row = self.rows[index.row()]
        key, _label, fmt = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            v = fmt(row) if fmt else row.get(key)
            return "" if v is None else str(v)
        if role == Qt.ItemDataRole.UserRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole and self.tooltips:
            return self.tooltips(row, key)
        if role == Qt.ItemDataRole.ForegroundRole and self.colors:
            return self.colors(row, key)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.columns):
            return self.columns[section][1]
        return None
