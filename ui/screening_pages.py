"""The Lists and Screening pages: list snapshots, ad-hoc and batch screening,
hits and their decisions, possible fronts, and the "what changed" view.

Both pages follow the small interface the main window drives (``refresh()``,
``focus_search()``). GUI thread only. Every write and every long read (an
import, a download, screening all parties, building the match index, the
open-hits and fronts queries) goes through :class:`ui.ops.Ops` on its single
worker thread; the GUI thread only reads small, indexed things (a snapshot
list, one page of list entries) and runs the ad-hoc name check once the match
index is warm (about a millisecond, so it feels instant as Enter is pressed).

The domain rules live in :mod:`workbench.screening`; the widgets here only
show what it returns and pass the officer's choices back to it.
"""

from __future__ import annotations

import html
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import (QAbstractTableModel, QDate, QModelIndex, QPersistentModelIndex,
                            Qt, QTimer, Signal)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog,
                               QDialogButtonBox, QFileDialog, QFormLayout, QFrame,
                               QHBoxLayout, QHeaderView, QInputDialog, QLabel, QLineEdit,
                               QMessageBox, QPlainTextEdit, QPushButton, QSplitter,
                               QTableView, QTabWidget, QTextBrowser, QVBoxLayout, QWidget)

from workbench.records import parties as _parties
from workbench.records import shipments as _shipments
from workbench.clearance import holds
from workbench.app import Change, Workbench
from workbench.spreadsheets.exports import Sheet, write_sheets
from workbench.screening import batch, download, fronts, results, snapshots
from workbench.screening.lists import FORMATS
from workbench.screening.matcher import DEFAULT_THRESHOLD
from workbench.db.store import Store
from workbench.records.values import country_name

from ui.ops import Ops, OpCancelled, Task, error_text, show_error
from ui.table_model import KeyRole
from ui.widgets import CountryCombo, DateField

RowRole = Qt.ItemDataRole.UserRole + 2  # the whole row dict behind a table row

#: How a list code reads to an officer (tooltips and headings only).
LIST_LABELS = {
    "EL": "Entity List (BIS)", "DPL": "Denied Persons List (BIS)",
    "UVL": "Unverified List (BIS)", "MEU": "Military End-User List (BIS)",
    "SDN": "Specially Designated Nationals (OFAC)", "SSI": "Sectoral Sanctions (OFAC)",
    "FSE": "Foreign Sanctions Evaders (OFAC)", "PLC": "Palestinian Legislative Council (OFAC)",
    "CAP": "Correspondent Account or Payable-Through Account Sanctions (OFAC)",
    "CMIC": "Non-SDN Chinese Military-Industrial Complex (OFAC)",
    "NS-MBS": "Non-SDN Menu-Based Sanctions (OFAC)", "DTC": "ITAR Debarred (State)",
    "ISN": "Nonproliferation Sanctions (State)",
}
FORMAT_LABELS = {"csl_csv": "CSL CSV", "csl_json": "CSL JSON", "ofac_sdn": "OFAC SDN CSV",
                 "ofac_cons": "OFAC non-SDN CSV", "bis_dpl": "BIS DPL text",
                 "ofac_xml": "OFAC XML"}
STATUS_LABELS = {"open": "Open", "escalated": "Escalated", "cleared": "False positive",
                 "confirmed": "True match"}
FRONT_KINDS = {"address": "Shared address", "phone": "Shared phone", "website": "Shared domain",
               "email_domain": "Shared e-mail domain", "registration": "Shared registration",
               "ownership": "Owned by listed parties"}
ENTRY_PAGE = 200

_BANNER = {"ok": "background: #e6f4ea; border: 1px solid #9ccc9f; padding: 6px;",
           "warn": "background: #fff4ce; border: 1px solid #e0c97a; padding: 6px;",
           "bad": "background: #fde7e7; border: 1px solid #e8b4b0; padding: 6px; color: #8c1d18;"}


def _list_label(code: str) -> str:
    return LIST_LABELS.get(code, code)


def _ts(value: str | None) -> str:
    """A stored UTC timestamp as an officer reads it (minutes, 'UTC')."""
    return f"{value[:16].replace('T', ' ')} UTC" if value else ""


def _progress(task: Task) -> Callable[[int, int | None], None]:
    # The core reports an unknown total as None; the task wants an int.
    return lambda done, total: task.progress(done, total or 0)


def _heading(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setPointSizeF(f.pointSizeF() * 1.35)
    f.setBold(True)
    lab.setFont(f)
    return lab


def _muted(text: str = "") -> QLabel:
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
        self.setStyleSheet(_BANNER[tone])
        self.setVisible(bool(text))


# ----------------------------------------------------------------------------
# Table models
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Col:
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
    SQL-sorted model is :class:`EntryModel`). GUI thread only; no I/O.
    """

    def __init__(self, columns: Sequence[Col], parent: Any = None,
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

    def _text(self, col: Col, r: dict[str, Any]) -> str:
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


# -- list entries: paged SQL --------------------------------------------------
# Read-only queries for the entry browser. They belong beside the other
# read helpers in workbench.screening.snapshots (reported as a needed core
# change); kept here, small and parameterised, until they move.

count_entries = snapshots.count_entries
page_entries = snapshots.page_entries
entry_data = snapshots.entry_data


ENTRY_COLUMNS = [
    Col("name", "Name", 300, stretch=True),
    Col("alt_names", "Other names", 260, fmt=lambda r: "; ".join(r["alt_names"]), stretch=True),
    Col("list_code", "List", 50, tip=lambda r: _list_label(r["list_code"])),
    Col("countries", "Countries", 76, fmt=lambda r: ", ".join(r["countries"]),
        tip=lambda r: ", ".join(f"{c} — {country_name(c)}" for c in r["countries"]) or None),
    Col("entry_id", "Entry ID", 110),
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


def make_view(model: QAbstractTableModel, columns: Sequence[Col],
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


# ----------------------------------------------------------------------------
# HTML for the detail panes
# ----------------------------------------------------------------------------

_CSS = """
<style>
 body { font-size: 10pt; }
 h3 { margin: 2px 0 4px 0; }
 h4 { margin: 10px 0 3px 0; color: #3b4a66; }
 td, th { padding: 2px 6px; vertical-align: top; }
 th { text-align: left; background: #eef1f6; font-weight: 600; }
 .k { color: #555; white-space: nowrap; }
 .mono { font-family: monospace; font-size: 9pt; }
 .muted { color: #777; }
</style>
"""
_HOW = {"exact": ("=", "#1e7b34"), "joined": ("= (spacing)", "#1e7b34"),
        "acronym": ("acronym of", "#1e7b34"), "initial": ("initial of", "#9a6700"), "typo": ("≈ typo", "#9a6700"),
        "spelling": ("≈ spelling", "#9a6700"), "unmatched-query": ("not in list name", "#8c1d18"),
        "unmatched-list": ("not in our name", "#777")}


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _score_badge(score: float) -> str:
    bg = "#fde7e7" if score >= 95 else "#fff4ce"
    return (f"<span style='background:{bg}; border:1px solid #d9b0ac; padding:1px 6px;'>"
            f"<b>score {score:.0f}</b></span>")


def _kv_table(pairs: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td class='k'>{_e(k)}</td><td>{v}</td></tr>" for k, v in pairs if v)
    return f"<table cellspacing='0'>{rows}</table>" if rows else ""


def provenance_html(snap: dict[str, Any] | None) -> str:
    """Which snapshot a result was checked against (source, file, date, hash)."""
    if not snap:
        return "<p class='muted'>No snapshot recorded.</p>"
    return _kv_table([
        ("Snapshot", _e(f"#{snap.get('snapshot_id')} — "
                        f"{snapshots.SOURCE_LABELS.get(snap.get('source', ''), snap.get('source'))}")),
        ("File", _e(snap.get("file"))),
        ("Published", _e(snap.get("publish_date") or "not stated in the file")),
        ("Imported", _e(_ts(snap.get("imported_at")))),
        ("SHA-256", f"<span class='mono'>{_e(snap.get('sha256'))}</span>"),
    ])


def listing_html(listing: dict[str, Any]) -> str:
    """What the listing means for the exporter, as the list publishes it."""
    if not listing:
        return "<p class='muted'>The list gives no licence terms for this entry.</p>"
    url = listing.get("source_url")
    return _kv_table([
        ("List", _e(f"{_list_label(listing.get('list', ''))} — {listing.get('agency', '')}")),
        ("Licence requirement", _e(listing.get("license_requirement"))),
        ("Licence review policy", _e(listing.get("license_policy"))),
        ("Federal Register", _e(listing.get("federal_register_notice"))),
        ("Programs", _e("; ".join(listing.get("programs") or []))),
        ("Listed since", _e(listing.get("start_date"))),
        ("Source", f"<a href='{_e(url)}'>{_e(url)}</a>" if url else ""),
    ])


def hit_html(hit: dict[str, Any], *, subject: str | None = None,
             stored: dict[str, Any] | None = None) -> str:
    """A hit explained for an officer: who matched what, word by word, what
    the listing means and which snapshot it came from. ``stored`` is the
    screening_hit row (status, decision) when the hit was recorded."""
    alias = "alias" if hit.get("is_alias") else "name"
    parts = [_CSS]
    if subject:
        parts.append(f"<h3>{_e(subject)}</h3>")
    parts.append(
        f"<p>{_score_badge(float(hit.get('score', 0)))}&nbsp; our name "
        f"<b>“{_e(hit.get('matched_name'))}”</b> matches the listed {alias} "
        f"<b>“{_e(hit.get('list_name'))}”</b>"
        + (f" of <b>{_e(hit.get('primary_name'))}</b>"
           if hit.get("primary_name") != hit.get("list_name") else "")
        + f" on the {_e(_list_label(hit.get('source', '')))}.<br>"
        f"<span class='muted'>Entry {_e(hit.get('entry_id'))}</span></p>")
    if stored is not None:
        st = STATUS_LABELS.get(stored.get("status", ""), stored.get("status", ""))
        dec = stored.get("decision")
        line = f"Status: <b>{_e(st)}</b>"
        if dec:
            line += (f" — {_e(results.DECISION_LABELS.get(dec['decision'], dec['decision']))}"
                     f" by {_e(dec['user'])} on {_e(_ts(dec['ts']))}: “{_e(dec['reason'])}”")
        if stored.get("shipment_ref"):
            line += f"<br>Raised for shipment <b>{_e(stored['shipment_ref'])}</b>"
        parts.append(f"<p>{line}</p>")
    parts.append("<h4>Why it matched, word by word</h4>")
    rows = []
    for t in hit.get("tokens") or []:
        how, color = _HOW.get(t.get("how", ""), (t.get("how", ""), "#333"))
        matched = not str(t.get("how", "")).startswith("unmatched")
        sim = f"{float(t.get('similarity') or 0):.2f}" if matched else ""
        rows.append(
            f"<tr><td>{_e(t.get('query_token')) or '—'}</td>"
            f"<td style='color:{color}'>{_e(how)}</td>"
            f"<td>{_e(t.get('list_token')) or '—'}</td>"
            f"<td>{_e(t.get('kind'))}</td>"
            f"<td align='right'>{sim}</td>"
            f"<td align='right'>{float(t.get('weight', 0)):.1f}</td></tr>")
    if rows:
        parts.append("<table cellspacing='0'><tr><th>Our word</th><th>Match</th>"
                     "<th>List word</th><th>Kind</th><th>Similarity</th><th>Weight</th></tr>"
                     + "".join(rows) + "</table>")
    adj = hit.get("adjustments") or {}
    if adj:
        parts.append("<p>Adjustments: " + "; ".join(
            f"{_e(k)} matches ({v:+.0f})" for k, v in adj.items()) + "</p>")
    parts.append("<p class='muted'>Rare words weigh more than common words; legal forms "
                 "(Co., Ltd., 有限公司) and country words weigh little.</p>")
    parts.append("<h4>What the listing means</h4>")
    parts.append(listing_html(hit.get("listing") or {}))
    parts.append("<h4>Checked against</h4>")
    parts.append(provenance_html(hit.get("snapshot")))
    return "".join(parts)


def fronts_html(party: str, flags: list[dict[str, Any]]) -> str:
    """Why a party may front for a listed company: shared details or the
    ownership chain, one paragraph each."""
    parts = [_CSS, f"<h3>{_e(party)}</h3>",
             "<p>This party matched no list name, but it may act for a listed company:</p>"]
    for f in flags:
        parts.append(f"<h4>{_e(FRONT_KINDS.get(f['kind'], f['kind']))}</h4>")
        if f["kind"] == "ownership" and (f.get("chains") or f.get("chain")):
            parts.append(f"<p>Owned <b>{f.get('percent') or 0:.1f}%</b> by listed parties, "
                         f"adding up every chain of ownership:</p>")
            for chain in f.get("chains") or [f["chain"]]:
                share = 100.0
                lines = [f"<b>{_e(party)}</b>"]
                for depth, c in enumerate(chain, 1):
                    share *= float(c["percent"]) / 100.0
                    last = depth == len(chain)
                    lines.append("&nbsp;" * (4 * depth) + f"└ {c['percent']:g}% owned by "
                                 + (f"<b>{_e(c['name'])}</b> — a listed party (confirmed or undecided hit)" if last
                                    else _e(c["name"])))
                parts.append("<p>" + "<br>".join(lines)
                             + f"<br><span class='muted'>this chain: {share:.1f}%</span></p>")
        else:
            parts.append(f"<p>{_e(f['detail'])}</p>")
            if f.get("entry_id"):
                parts.append(f"<p class='muted'>Entry {_e(f['entry_id'])}</p>")
    parts.append("<p class='muted'>Check the relationship before you ship; record what you "
                 "found on the party.</p>")
    return "".join(parts)


def entry_html(d: dict[str, Any]) -> str:
    """Every field of a list entry, the structured ones first, then the row
    exactly as the list published it."""
    addrs = "<br>".join(_e(", ".join(x for x in (a.get("street"), a.get("city"),
                                                 a.get("state"), a.get("postcode"),
                                                 a.get("country")) if x))
                        for a in d.get("addresses") or [])
    ids = "<br>".join(_e(f"{i.get('type', '')}: {i.get('number', '')}"
                         + (f" ({i['country']})" if i.get("country") else ""))
                      for i in d.get("ids") or [])
    known = {"name", "alt_names", "list_code", "agency", "type", "addresses", "ids",
             "programs", "federal_register_notice", "license_requirement", "license_policy",
             "start_date", "remarks", "source_url", "key", "content_hash", "raw"}
    pairs = [
        ("Name", f"<b>{_e(d.get('name'))}</b>"),
        ("Other names", "<br>".join(_e(n) for n in d.get("alt_names") or [])),
        ("List", _e(f"{_list_label(d.get('list_code', ''))} — {d.get('agency', '')}")),
        ("Type", _e(d.get("type"))),
        ("Addresses", addrs), ("Identifiers", ids),
        ("Programs", _e("; ".join(d.get("programs") or []))),
        ("Federal Register", _e(d.get("federal_register_notice"))),
        ("Licence requirement", _e(d.get("license_requirement"))),
        ("Licence review policy", _e(d.get("license_policy"))),
        ("Listed since", _e(d.get("start_date"))),
        ("Remarks", _e(d.get("remarks"))),
        ("Source", _e(d.get("source_url"))),
        *[(k.replace("_", " ").capitalize(), _e(json.dumps(v, ensure_ascii=False)
                                                if not isinstance(v, str) else v))
          for k, v in sorted(d.items()) if k not in known and v not in (None, "", [], {})],
        ("Content hash", f"<span class='mono'>{_e(d.get('content_hash'))}</span>"),
    ]
    out = [_CSS, _kv_table(pairs)]
    raw = {k: v for k, v in (d.get("raw") or {}).items() if v not in (None, "", [], {})}
    if raw:
        out.append("<h4>As published</h4>")
        out.append(_kv_table([(k, _e(v if isinstance(v, str) else
                                     json.dumps(v, ensure_ascii=False)))
                              for k, v in raw.items()]))
    return "".join(out)


def _browser() -> QTextBrowser:
    tb = QTextBrowser()
    tb.setOpenExternalLinks(True)
    tb.setFrameShape(QFrame.Shape.StyledPanel)
    return tb


# ----------------------------------------------------------------------------
# Re-screening: after an import, after a party is saved
# ----------------------------------------------------------------------------

def what_changed(wb: Workbench, change: Change, rescreen: dict[str, Any] | None,
                 rescreen_error: BaseException | None = None, limit: int = 500
                 ) -> dict[str, Any]:
    """Gather what the "What changed" dialog shows, on the worker thread:
    the snapshot, the entries added/removed/changed (names looked up), the
    new hits with their party, the hits gone and the shipments affected.
    Read-only."""
    store = wb.store
    info = dict(change.record or {})
    diff = change.extra.get("diff")
    entries: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    totals = {"added": 0, "removed": 0, "changed": 0}
    if diff is not None:
        for kind in entries:
            ids = getattr(diff, kind)
            totals[kind] = len(ids)
            snap = info.get("previous_id") if kind == "removed" else info.get("snapshot_id")
            entries[kind] += snapshots.entries_by_id(store, snap, ids[:limit])
    else:
        totals["added"] = int(info.get("entries") or 0)
    names: dict[int, str] = {}

    def party_name(pid: int | None) -> str:
        if pid is None:
            return ""
        if pid not in names:
            try:
                names[pid] = _parties.get_party(store, pid)["legal_name"]
            except Exception:  # a party deleted since: still show its id
                names[pid] = f"party {pid}"
        return names[pid]

    new_hits, gone, shipments = [], [], []
    if rescreen is not None:
        for r in rescreen.get("results", []):
            for h in r["hits"]:
                new_hits.append({"id": h.get("hit_id"), "party": party_name(r["party_id"]),
                                 "party_id": r["party_id"], **h})
        gone = [{**g, "party": party_name(g["party_id"])} for g in rescreen.get("gone", [])]
        held = {h["shipment_id"]: h for h in rescreen.get("held", [])}
        # the rows were read before the holds: show the status they have now
        shipments = [{**s, "status": "on_hold", "held": held[s["id"]]["reason"]}
                     if s["id"] in held else {**s, "held": ""}
                     for s in rescreen.get("affected_shipments", [])]
    return {"snapshot": info, "first": diff is None, "entries": entries, "totals": totals,
            "new_hits": new_hits, "gone": gone, "shipments": shipments,
            "warnings": list(change.extra.get("warnings") or []),
            "rescreen_error": error_text(rescreen_error) if rescreen_error else None,
            "run_id": rescreen.get("run_id") if rescreen else None}


def _import_and_rescreen(wb: Workbench, task: Task, do_import: Callable[..., Change]
                         ) -> dict[str, Any]:
    """Import (or download and import), then re-screen every party against
    what changed. The import is committed before the re-screen starts, so a
    re-screen failure or cancel is reported beside a kept snapshot."""
    change = do_import(progress=_progress(task), cancel=task.cancel)
    rescreen, err = None, None
    try:
        rescreen = holds.rescreen_after_import(wb, change.id, progress=_progress(task),
                                               cancel=task.cancel)
    except Exception as e:  # noqa: BLE001 - shown beside the kept snapshot
        err = e
    return what_changed(wb, change, rescreen, err)


def rescreen_after_party_save(wb: Workbench, ops: Ops, party_id: int,
                              on_done: Callable[[dict[str, Any] | None], None] | None = None,
                              parent: QWidget | None = None) -> Task:
    """Re-screen one party after it was saved (names or addresses may have
    changed, so earlier false-positive decisions may lapse).

    Runs on the ops worker: nothing happens when no list snapshot exists yet
    (``on_done(None)``); otherwise one recorded screening run of scope
    ``party`` and ``on_done(result)`` on the GUI thread with
    :func:`workbench.screening.results.screen_parties`'s result plus
    ``open`` (hits of this party still needing a decision). Errors are shown
    in a message box over ``parent``.
    """
    def work(task: Task) -> dict[str, Any] | None:
        if not snapshots.current_snapshots(wb.store):
            return None
        name = _parties.get_party(wb.store, party_id)["legal_name"]
        res = results.screen_parties(wb, [party_id], scope="party", subject=name)
        res["open"] = sum(1 for r in res["results"] for h in r["hits"]
                          if h["status"] in ("open", "escalated"))
        return res

    return ops.run(work, success=on_done, parent=parent)


# ----------------------------------------------------------------------------
# The "What changed" dialog
# ----------------------------------------------------------------------------

HIT_COLUMNS = [
    Col("party", "Party", 230, stretch=True),
    Col("list_name", "Matched list name", 230, stretch=True),
    Col("source", "List", 50, tip=lambda r: _list_label(r.get("source", ""))),
    Col("score", "Score", 52, numeric=True),
    Col("status", "Status", 90, fmt=lambda r: STATUS_LABELS.get(r.get("status", ""), "")),
    Col("entry_id", "Entry ID", 140),
]


class WhatChangedDialog(QDialog):
    """What a new list snapshot changed: entries, hits and open shipments.

    Built from :func:`what_changed`'s dict; no I/O. Non-modal to the data:
    it only shows, the officer decides hits on the Screening page.
    """

    def __init__(self, data: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = data
        snap = data["snapshot"]
        self.setWindowTitle("What changed")
        self.resize(900, 620)
        lay = QVBoxLayout(self)
        src = snapshots.SOURCE_LABELS.get(snap.get("source", ""), snap.get("source", ""))
        head = _heading(f"New snapshot #{snap.get('snapshot_id')}: {src}")
        lay.addWidget(head)
        t = data["totals"]
        if data["first"]:
            what = (f"This is the first snapshot of this source: all {t['added']:,} "
                    f"entries are new.")
        else:
            what = (f"Compared with snapshot #{snap.get('previous_id')}: "
                    f"<b>{t['added']:,}</b> entries added, <b>{t['removed']:,}</b> removed, "
                    f"<b>{t['changed']:,}</b> changed.")
        counts = " · ".join(f"{k} {v:,}" for k, v in sorted((snap.get("counts") or {}).items()))
        self.summary = QLabel(
            f"{_e(snap.get('file'))} — {snap.get('entries', 0):,} entries ({_e(counts)}); "
            f"published {_e(snap.get('publish_date') or 'date not stated')}.<br>{what}<br>"
            f"Every party was re-screened against what changed: "
            f"<b>{len(data['new_hits'])}</b> new or changed hits, "
            f"<b>{len(data['gone'])}</b> hits gone, "
            f"<b>{len(data['shipments'])}</b> open shipments affected"
            + (f", <b>{sum(1 for x in data['shipments'] if x.get('held'))}</b> of them put on "
               f"hold until an officer reviews the hits and clears them again."
               if any(x.get("held") for x in data["shipments"]) else "."))
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setToolTip("\n".join(f"{_list_label(k)}: {v:,}" for k, v in
                                          sorted((snap.get("counts") or {}).items())))
        lay.addWidget(self.summary)
        if data.get("rescreen_error"):
            b = Banner()
            b.say(f"The snapshot was kept, but re-screening did not finish: "
                  f"{data['rescreen_error']} Use “Screen all parties” on the Screening page.",
                  "bad")
            lay.addWidget(b)
        if data.get("warnings"):
            b = Banner()
            b.say("Notes from reading the file: " + "; ".join(data["warnings"][:5]), "warn")
            lay.addWidget(b)

        self.tabs = QTabWidget()
        self.new_hits = RowsModel(HIT_COLUMNS, self)
        self.new_hits.set_rows(data["new_hits"])
        self.tabs.addTab(make_view(self.new_hits, HIT_COLUMNS),
                         f"New hits ({len(data['new_hits'])})")
        gone_cols = [Col("party", "Party", 260, stretch=True),
                     Col("list_name", "List name", 300, stretch=True),
                     Col("entry_id", "Entry ID", 200)]
        self.gone = RowsModel(gone_cols, self)
        self.gone.set_rows(data["gone"])
        self.tabs.addTab(make_view(self.gone, gone_cols), f"Hits gone ({len(data['gone'])})")
        ship_cols = [Col("reference", "Shipment", 160),
                     Col("status", "Status", 120,
                         fmt=lambda r: _shipments.STATUS_LABELS.get(r["status"], r["status"])),
                     Col("held", "Why it is on hold", 420, stretch=True)]
        self.shipments = RowsModel(ship_cols, self)
        self.shipments.set_rows(data["shipments"])
        self.tabs.addTab(make_view(self.shipments, ship_cols),
                         f"Open shipments affected ({len(data['shipments'])})")
        ent_cols = [Col("change", "Change", 80), Col("name", "Name", 380, stretch=True),
                    Col("list_code", "List", 56, tip=lambda r: _list_label(r["list_code"])),
                    Col("entry_id", "Entry ID", 200)]
        self.entries = RowsModel(ent_cols, self)
        # changed and removed first: they are few and they are what moves hits
        self.entries.set_rows([{**e, "change": k} for k in ("changed", "removed", "added")
                               for e in data["entries"][k]])
        shown = len(self.entries.rows)
        total = sum(t.values()) if not data["first"] else shown
        self.tabs.addTab(make_view(self.entries, ent_cols),
                         f"Entries ({total:,})" if shown == total
                         else f"Entries (first {shown:,} of {total:,})")
        # Open where the officer has work: hits first, else the entries.
        self.tabs.setCurrentIndex(0 if data["new_hits"] or data["gone"] or data["shipments"]
                                  else 3)
        lay.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)


# ----------------------------------------------------------------------------
# Lists page
# ----------------------------------------------------------------------------

def _counts_text(r: dict[str, Any]) -> str:
    counts = json.loads(r["counts"]) if isinstance(r["counts"], str) else r["counts"]
    return " · ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))


SOURCE_SHORT = {"csl": "Consolidated Screening List", "ofac_sdn": "OFAC SDN",
                "ofac_cons": "OFAC non-SDN", "bis_dpl": "BIS Denied Persons"}

SNAPSHOT_COLUMNS = [
    Col("id", "#", 34, numeric=True),
    Col("source", "Source", 190, fmt=lambda r: SOURCE_SHORT.get(r["source"], r["source"]),
        tip=lambda r: snapshots.SOURCE_LABELS.get(r["source"], r["source"])),
    Col("in_use", "In use", 80, fmt=lambda r: "current" if r.get("current") else "superseded",
        tip=lambda r: ("Used for screening (the newest snapshot of its source)"
                       if r.get("current") else
                       "Kept for the record; a newer snapshot of the same source is used")),
    Col("file_name", "File", 190, tip=lambda r: "\n".join(json.loads(r["files"]))),
    Col("format", "Format", 100, fmt=lambda r: FORMAT_LABELS.get(r["format"], r["format"])),
    Col("entry_count", "Entries", 66, numeric=True, fmt=lambda r: f"{r['entry_count']:,}",
        tip=lambda r: f"{r['name_count']:,} names and aliases"),
    Col("counts", "Per list", 150, fmt=_counts_text,
        tip=lambda r: "\n".join(f"{_list_label(k)}: {v:,}" for k, v in
                                sorted(json.loads(r["counts"]).items()))),
    Col("publish_date", "Published", 88, fmt=lambda r: r["publish_date"] or "—",
        tip=lambda r: None if r["publish_date"] else "The file does not state a publish date"),
    Col("imported_at", "Imported", 140, fmt=lambda r: _ts(r["imported_at"])),
    Col("imported_by", "By", 70),
    Col("sha256", "SHA-256", 110, fmt=lambda r: r["sha256"][:12] + "…",
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
        top.addWidget(_heading("Restricted-party lists"))
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
        self.url_label = _muted()
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
        self.entry_count = _muted()
        bar.addWidget(self.entry_count)
        ll.addLayout(bar)
        inner = QSplitter(Qt.Orientation.Horizontal)
        self.entry_model = EntryModel(wb.store, self)
        self.entry_table = make_view(self.entry_model, ENTRY_COLUMNS)
        self.entry_table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.entry_table.selectionModel().currentRowChanged.connect(self._on_entry)
        self.entry_model.modelReset.connect(self._entries_reset)
        inner.addWidget(self.entry_table)
        self.entry_detail = _browser()
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
                _CSS + "<h3>No restricted-party list has been imported</h3><p>Use "
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
            self.entry_detail.setHtml(_CSS + "<p class='muted'>No entry matches.</p>"
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
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a restricted-party list — for OFAC choose sdn.csv, cons_prim.csv, "
                  "sdn.xml or consolidated.xml",
            str(Path.home()),
            "List files (*.csv *.json *.xml *.txt);;All files (*)")
        if path:
            self.import_path(path)

    def import_path(self, path: str | Path) -> None:
        """Import ``path`` and re-screen on the worker thread (cancellable)."""
        wb, fmt = self.wb, self.format_combo.currentData()
        self._start(f"Importing {Path(path).name} and re-screening every party…",
                    lambda task: _import_and_rescreen(
                        wb, task, lambda **kw: snapshots.import_list(wb, path, format=fmt, **kw)))

    def download_latest(self) -> None:
        """Download the CSL from its configured address, import, re-screen."""
        if not self.can_write or self.busy:
            return
        wb = self.wb
        self._start("Downloading the Consolidated Screening List…",
                    lambda task: _import_and_rescreen(
                        wb, task, lambda **kw: download.download_latest(wb, **kw)))

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


# ----------------------------------------------------------------------------
# Screening page
# ----------------------------------------------------------------------------

class DecisionDialog(QDialog):
    """Ask for the reason (and, for a false positive, an optional expiry and
    the shipment scope) of a decision on one hit. No I/O: the page records
    it through ops after ``accepted``. OK stays disabled until a reason is
    typed (the core enforces the rule too)."""

    def __init__(self, hit: dict[str, Any], decision: str, shipment_ref: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hit, self.decision = hit, decision
        label = results.DECISION_LABELS[decision]
        self.setWindowTitle(f"{label}: {hit.get('legal_name') or hit.get('party', '')}")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        what = QLabel(f"<b>{_e(hit.get('legal_name') or hit.get('party', ''))}</b> against "
                      f"<b>{_e(hit.get('list_name'))}</b> ({_e(_list_label(hit.get('list_code') or hit.get('source', '')))}, "
                      f"score {float(hit.get('score', 0)):.0f})")
        what.setWordWrap(True)
        lay.addWidget(what)
        hint = {"true_match": "This party is the listed one. Say how you know; shipments to it "
                              "stay blocked.",
                "false_positive": "This party is not the listed one. Say how you know (other "
                                  "address, registration number, …). The hit stays quiet "
                                  "until the party's names or the list entry change.",
                "escalate": "You cannot decide: say what a second reviewer should look at."
                }[decision]
        h = QLabel(hint)
        h.setStyleSheet("color: #444;")
        h.setWordWrap(True)
        lay.addWidget(h)
        form = QFormLayout()
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Reason (required; an auditor will read it)")
        self.reason.setFixedHeight(90)
        form.addRow("Reason", self.reason)
        self.expires = QCheckBox("Ask again after")
        self.expiry_date = DateField()
        self.expiry_date.setDate(QDate.currentDate().addYears(1))
        self.expiry_date.setEnabled(False)
        self.expires.toggled.connect(self.expiry_date.setEnabled)
        self.shipment_only = QCheckBox(f"Only for shipment {shipment_ref}" if shipment_ref
                                       else "Only for this shipment")
        if decision == "false_positive":
            row = QHBoxLayout()
            row.addWidget(self.expires)
            row.addWidget(self.expiry_date)
            row.addStretch(1)
            form.addRow("Expiry", row)
            if shipment_ref:
                form.addRow("", self.shipment_only)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(f"Record: {label}")
        self.ok.setEnabled(False)
        self.reason.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.reason.toPlainText().strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def values(self) -> dict[str, Any]:
        """What to pass to :func:`workbench.screening.results.decide`."""
        fp = self.decision == "false_positive"
        return {"reason": self.reason.toPlainText().strip(),
                "expires_on": (self.expiry_date.date().toString("yyyy-MM-dd")
                               if fp and self.expires.isChecked() else None),
                "shipment_only": fp and self.shipment_only.isChecked()
                and self.shipment_only.isVisibleTo(self)}


OPEN_HIT_COLUMNS = [
    Col("legal_name", "Party", 210, stretch=True),
    Col("list_name", "Matched list name", 200, stretch=True,
        tip=lambda r: f"{r['list_name']} — listed as {r['primary_name']}"),
    Col("list_code", "List", 44, tip=lambda r: _list_label(r["list_code"])),
    Col("score", "Score", 48, numeric=True),
    Col("status", "Status", 78, fmt=lambda r: STATUS_LABELS.get(r["status"], r["status"])),
    Col("entry_id", "Entry ID", 84, tip=lambda r: r["entry_id"]),
]
ADHOC_COLUMNS = [
    Col("list_name", "Matched list name", 230, stretch=True),
    Col("primary_name", "Listed as", 220, stretch=True),
    Col("source", "List", 44, tip=lambda r: _list_label(r["source"])),
    Col("score", "Score", 48, numeric=True),
    Col("entry_id", "Entry ID", 84, tip=lambda r: r["entry_id"]),
]
FILE_COLUMNS = [
    Col("row", "Row", 40, numeric=True),
    Col("query", "Name", 200, stretch=True),
    Col("country", "Country", 58),
    Col("list_name", "Matched list name", 200, stretch=True,
        fmt=lambda r: r.get("list_name") or r.get("problem") or "no match"),
    Col("source", "List", 44, tip=lambda r: _list_label(r.get("source") or "") or None),
    Col("score", "Score", 48, numeric=True),
]
FRONT_COLUMNS = [
    Col("party", "Party", 220, stretch=True),
    Col("kind", "Why", 178, fmt=lambda r: FRONT_KINDS.get(r["kind"], r["kind"])),
    Col("detail", "Detail", 300, stretch=True, tip=lambda r: r["detail"]),
]


class ScreeningPage(QWidget):
    """Screen names, parties and files; decide hits; see possible fronts.

    Side effects: the ad-hoc check reads on the GUI thread once the match
    index is warm (it is built on the worker the first time, with a
    "Preparing lists…" note); screening all parties, a file, decisions and
    the open-hits/fronts queries run through ``ops``. Emits
    ``changed(object)`` after anything was recorded (a run or a decision) so
    the dashboard and audit log can refresh.
    """

    changed = Signal(object)

    TAB_OPEN, TAB_ADHOC, TAB_FILE = range(3)

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.can_write = wb.user.can_write
        self._warm_for: tuple[int, ...] | None = None  # snapshot ids the index is built for
        self._warming = False
        self.file_result: dict[str, Any] | None = None
        self.decision_dialog: DecisionDialog | None = None
        self.loading = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(_heading("Screening"))
        top.addSpacing(12)
        self.lists_label = _muted()
        self.lists_label.setWordWrap(True)
        top.addWidget(self.lists_label, 1)
        self.all_btn = QPushButton("Screen all parties")
        self.all_btn.setToolTip("Screen every party, every name and alias, against the "
                                "current lists and record the result (Ctrl+R)")
        self.all_btn.clicked.connect(self.screen_all)
        self.file_btn = QPushButton("Screen a file…")
        self.file_btn.setToolTip("Screen a CSV or Excel file of names (a 'name' column; "
                                 "'id' and 'country' optional)")
        self.file_btn.clicked.connect(self.screen_file)
        top.addWidget(self.all_btn)
        top.addWidget(self.file_btn)
        lay.addLayout(top)

        box = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("search")
        self.name_edit.setPlaceholderText("Check a name against the lists — type it and press "
                                          "Enter  (Ctrl+F)")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.returnPressed.connect(self.screen_adhoc)
        f = self.name_edit.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.name_edit.setFont(f)
        box.addWidget(self.name_edit, 3)
        self.country = CountryCombo()
        self.country.lineEdit().setPlaceholderText("Country (optional)")
        self.country.setToolTip("The country of the name, if known: a matching country adds "
                                "a little to the score")
        self.country.lineEdit().returnPressed.connect(self.screen_adhoc)
        box.addWidget(self.country, 1)
        self.screen_btn = QPushButton("Check name")
        self.screen_btn.clicked.connect(self.screen_adhoc)
        box.addWidget(self.screen_btn)
        lay.addLayout(box)
        self.prep_note = _muted("Preparing lists…")
        self.prep_note.hide()
        lay.addWidget(self.prep_note)
        self.banner = Banner()
        lay.addWidget(self.banner)
        if not self.can_write:
            self.banner.say(f"You are signed in as {wb.user.username}, an auditor: you can check "
                            f"names and read every hit and decision, but not record screenings "
                            f"or decisions.", "warn")
            self.all_btn.setEnabled(False)
            self.all_btn.setToolTip("Recording a screening needs an officer or admin")

        split = QSplitter(Qt.Orientation.Horizontal)
        self.tabs = QTabWidget()
        # Needs attention: the open hits and the possible fronts, one above
        # the other, because both are work for today.
        attention = self.attention = QSplitter(Qt.Orientation.Vertical)
        self.open_model = RowsModel(OPEN_HIT_COLUMNS, self)
        self.open_table = make_view(self.open_model, OPEN_HIT_COLUMNS)
        self.open_title = QLabel("Open hits")
        self.front_model = RowsModel(FRONT_COLUMNS, self)
        self.front_table = make_view(self.front_model, FRONT_COLUMNS)
        self.front_title = QLabel("Possible fronts")
        for title, table in ((self.open_title, self.open_table),
                             (self.front_title, self.front_table)):
            w = QWidget()
            wl = QVBoxLayout(w)
            wl.setContentsMargins(4, 4, 4, 0)
            title.setStyleSheet("font-weight: 600;")
            title.setWordWrap(True)
            wl.addWidget(title)
            wl.addWidget(table, 1)
            attention.addWidget(w)
        attention.setSizes([380, 240])
        attention.setChildrenCollapsible(False)
        self.tabs.addTab(attention, "Needs attention")
        # Ad-hoc
        adhoc = QWidget()
        al = QVBoxLayout(adhoc)
        al.setContentsMargins(4, 4, 4, 4)
        self.adhoc_label = QLabel("Type a name above and press Enter. Nothing is recorded.")
        self.adhoc_label.setWordWrap(True)
        al.addWidget(self.adhoc_label)
        self.adhoc_model = RowsModel(ADHOC_COLUMNS, self)
        self.adhoc_table = make_view(self.adhoc_model, ADHOC_COLUMNS)
        al.addWidget(self.adhoc_table, 1)
        self.tabs.addTab(adhoc, "Name check")
        # File
        filew = QWidget()
        fl = QVBoxLayout(filew)
        fl.setContentsMargins(4, 4, 4, 4)
        fbar = QHBoxLayout()
        self.file_label = QLabel("Screen a CSV or Excel file of names with “Screen a file…”.")
        self.file_label.setWordWrap(True)
        fbar.addWidget(self.file_label, 1)
        self.save_btn = QPushButton("Save results…")
        self.save_btn.setToolTip("Write these results with the snapshot hashes to CSV or Excel")
        self.save_btn.setEnabled(False)
        self.save_btn.clicked.connect(self.save_results)
        fbar.addWidget(self.save_btn)
        fl.addLayout(fbar)
        self.file_model = RowsModel(FILE_COLUMNS, self, muted=lambda r: not r.get("hit"))
        self.file_table = make_view(self.file_model, FILE_COLUMNS)
        fl.addWidget(self.file_table, 1)
        self.tabs.addTab(filew, "File results")
        split.addWidget(self.tabs)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.detail = _browser()
        rl.addWidget(self.detail, 1)
        dec = QHBoxLayout()
        self.decide_btns: dict[str, QPushButton] = {}
        for key, tip in (("true_match", "This party is the listed one"),
                         ("false_positive", "This party is not the listed one"),
                         ("escalate", "Ask a second reviewer")):
            b = QPushButton(results.DECISION_LABELS[key] + "…")
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, k=key: self.ask_decision(k))
            b.setEnabled(False)
            dec.addWidget(b)
            self.decide_btns[key] = b
        rl.addLayout(dec)
        split.addWidget(right)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setSizes([640, 480])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)

        for table in (self.open_table, self.adhoc_table, self.file_table, self.front_table):
            table.selectionModel().currentRowChanged.connect(
                lambda cur, _p, t=table: self._on_row(t, cur))
            # clicking the already-current row of the other table shows it again
            table.clicked.connect(lambda cur, t=table: self._on_row(t, cur))
        self.tabs.currentChanged.connect(self._on_tab)
        # Ctrl+R is the main window's "Screen all parties" action (one
        # shortcut, so it is never ambiguous)
        self.refresh()

    # -- state -------------------------------------------------------------------------
    def _snapshot_key(self) -> tuple[tuple[int, ...], list[dict[str, Any]]]:
        snaps = snapshots.current_snapshots(self.wb.store)
        return tuple(s["id"] for s in snaps), snaps

    def refresh(self) -> None:
        """Re-read what the lists and hits look like; warm the index if a new
        snapshot arrived (worker), reload open hits and fronts (worker)."""
        key, snaps = self._snapshot_key()
        if snaps:
            self.lists_label.setText("Checking against: " + "; ".join(
                f"{snapshots.SOURCE_LABELS.get(s['source'], s['source'])} #{s['id']} "
                f"({s['file_name']}, {s['entry_count']:,} entries, imported "
                f"{s['imported_at'][:10]})" for s in snaps))
        else:
            self.lists_label.setText("No list imported yet: import one on the Lists page.")
        if key != self._warm_for and snaps:
            self._warm(key)
        self.load_hits()

    def _warm(self, key: tuple[int, ...]) -> None:
        if self._warming:
            return
        self._warming = True
        self.prep_note.setText("Preparing lists… (the first check after a list import builds "
                               "the name index; later checks are instant)")
        self.prep_note.show()
        store = self.wb.store

        def done(_: Any) -> None:
            self._warming = False
            self._warm_for = key
            self.prep_note.hide()

        def failed(exc: BaseException) -> None:
            self._warming = False
            self.prep_note.hide()
            show_error(self, exc)

        self.ops.run(lambda task: snapshots.IndexCache.get(store), success=done,
                     failure=failed, parent=self)

    def load_hits(self) -> None:
        """Reload open hits and possible fronts on the worker (read-only)."""
        store = self.wb.store
        self.loading = True

        def work(task: Task) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            hits = results.open_hits(store)
            decisions: dict[int, Any] = {}
            for pid in {h["party_id"] for h in hits}:
                # an escalation recorded after the screening is only in the
                # decision table; latest_hits brings it along
                decisions.update({x["id"]: x["decision"]
                                  for x in results.latest_hits(store, pid)})
            for h in hits:
                h["hit"] = json.loads(h["detail"])
                h["decision"] = decisions.get(h["id"])
                if h["decision"] and h["decision"]["decision"] == "escalate":
                    h["status"] = "escalated"
                if h.get("shipment_id"):
                    try:
                        h["shipment_ref"] = _shipments.get_shipment(
                            store, h["shipment_id"])["reference"]
                    except Exception:  # noqa: BLE001 - a reference is a nicety
                        h["shipment_ref"] = f"#{h['shipment_id']}"
            rows = []
            if snapshots.current_snapshots(store):
                listed = fronts.listed_party_ids(store)
                for pid, flags in fronts.all_front_flags(store).items():
                    name = _parties.get_party(store, pid)["legal_name"]
                    all_flags = [f.as_dict() for f in flags]
                    for f in all_flags:
                        if f["kind"] == "ownership":
                            # FrontFlag.chain flattens the chains; ask for
                            # them one by one to draw each
                            f["chains"] = fronts.owned_by_listed(store, pid, listed - {pid})[1]
                    for f in all_flags:
                        rows.append({"id": pid, "party": name, "kind": f["kind"],
                                     "detail": f["detail"], "flags": all_flags})
            return hits, rows

        self.ops.run(work, success=self._hits_loaded, failure=self._load_failed, parent=self)

    def _hits_loaded(self, res: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        self.loading = False
        hits, front_rows = res
        keep = self._current_row(self.open_table)
        self.open_model.set_rows(hits)
        self.front_model.set_rows(front_rows)
        parties_n = len({r["id"] for r in front_rows})
        self.open_title.setText(
            f"Open hits ({len(hits)}) — each needs a decision: true match, false positive "
            f"or escalate" if hits else "Open hits (0) — every party's latest screening is "
                                        "clear or decided")
        self.front_title.setText(
            f"Possible fronts ({parties_n} {'party' if parties_n == 1 else 'parties'}) — "
            f"shared address, phone, domain or registration with a list entry, or owned "
            f"50% or more by listed parties" if front_rows else
            "Possible fronts (0) — no party shares contact details with a list entry or is "
            "owned by listed parties")
        self.tabs.setTabText(self.TAB_OPEN, f"Needs attention ({len(hits) + parties_n})")
        # give each table room for what it holds; the splitter stays movable
        a, b = max(len(hits), 2) + 2, max(len(front_rows), 2) + 2
        total = sum(self.attention.sizes()) or 600
        self.attention.setSizes([total * a // (a + b), total * b // (a + b)])
        if self.tabs.currentIndex() == self.TAB_OPEN:
            if hits:
                ids = [h["id"] for h in hits]
                self.open_table.selectRow(ids.index(keep["id"]) if keep and keep["id"] in ids
                                          else 0)
            elif front_rows:
                self.front_table.selectRow(0)
            else:
                self._show_empty()

    def _load_failed(self, exc: BaseException) -> None:
        self.loading = False
        show_error(self, exc)

    @staticmethod
    def _current_row(table: QTableView) -> dict[str, Any] | None:
        idx = table.currentIndex()
        return idx.data(RowRole) if idx.isValid() else None

    def _show_empty(self) -> None:
        tab = self.tabs.currentIndex()
        text = {self.TAB_OPEN: "No hit needs a decision and no party looks like a front. "
                               "Screen all parties after importing a new list.",
                self.TAB_ADHOC: "Type a name above and press Enter to check it. Nothing is "
                                "recorded.",
                self.TAB_FILE: "Screen a CSV or Excel file of names: it needs a <i>name</i> "
                               "column; <i>id</i> and <i>country</i> are optional, other "
                               "columns are carried through to the saved results.",
                }[tab]
        self.detail.setHtml(_CSS + f"<p class='muted'>{text}</p>")
        self._enable_decisions(None)

    def _tables_of(self, tab: int) -> tuple[QTableView, ...]:
        return ((self.open_table, self.front_table), (self.adhoc_table,),
                (self.file_table,))[tab]

    def _on_tab(self, i: int) -> None:
        for table in self._tables_of(i):
            cur = table.currentIndex()
            if cur.isValid():
                self._on_row(table, cur)
                return
        for table in self._tables_of(i):
            if table.model().rowCount():
                table.selectRow(0)
                return
        self._show_empty()

    def _on_row(self, table: QTableView, cur: QModelIndex) -> None:
        tables = self._tables_of(self.tabs.currentIndex())
        if table not in tables:
            return
        r = cur.data(RowRole) if cur.isValid() else None
        if r is None:
            if not any(t.currentIndex().isValid() for t in tables):
                self._show_empty()
            return
        for other in tables:
            if other is not table:
                # one selection per tab, so it is plain what the detail shows
                sm = other.selectionModel()
                sm.blockSignals(True)
                sm.clear()
                sm.blockSignals(False)
                other.viewport().update()
        if table is self.open_table:
            self.detail.setHtml(hit_html(r["hit"], subject=r["legal_name"], stored=r))
            self._enable_decisions(r)
            return
        self._enable_decisions(None)
        if table is self.front_table:
            self.detail.setHtml(fronts_html(r["party"], r["flags"]))
        elif table is self.adhoc_table:
            self.detail.setHtml(hit_html(r, subject=self._adhoc_query))
        elif r.get("hit"):
            self.detail.setHtml(hit_html(r["hit"], subject=f"Row {r['row']}: {r['query']}"))
        else:
            self.detail.setHtml(_CSS + f"<h3>Row {r['row']}: {_e(r['query'])}</h3>"
                                f"<p>{_e(r.get('problem') or 'No list entry matches this name at the threshold.')}</p>")

    def _enable_decisions(self, r: dict[str, Any] | None) -> None:
        for b in self.decide_btns.values():
            b.setEnabled(r is not None and self.can_write)
            if r is None:
                b.setToolTip("Select a hit under “Open hits” to decide it")

    def focus_search(self) -> None:
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    # -- ad hoc --------------------------------------------------------------------------
    _adhoc_query = ""

    def screen_adhoc(self) -> None:
        """Check the typed name. Instant on the GUI thread once the index is
        warm; otherwise queued on the worker behind the index build."""
        name = self.name_edit.text().strip()
        if not name:
            return
        country = self.country.value()
        key, snaps = self._snapshot_key()
        if not snaps:
            self._show_adhoc(name, {"snapshots": [], "hits": []})
            return
        store = self.wb.store
        if key == self._warm_for:
            # ~1 ms with a warm index: reading on the GUI thread is what
            # makes the answer appear as Enter is pressed.
            self._show_adhoc(name, results.screen_names(store, name, country=country))
            return
        self._warm(key)
        self.ops.run(lambda task: results.screen_names(store, name, country=country),
                     success=lambda res: self._show_adhoc(name, res), parent=self)

    def _show_adhoc(self, name: str, res: dict[str, Any]) -> None:
        self._adhoc_query = name
        hits = res["hits"]
        for h in hits:
            h["id"] = h["entry_id"]
        self.adhoc_model.set_rows(hits)
        against = "; ".join(f"{snapshots.SOURCE_LABELS.get(s['source'], s['source'])} "
                            f"#{s['snapshot_id']} ({s['file']}, SHA-256 {s['sha256'][:12]}…)"
                            for s in res["snapshots"])
        if not res["snapshots"]:
            text = "No list has been imported yet, so nothing could be checked."
            tone = "bad"
        elif hits:
            text = (f"<b>{len(hits)} possible match{'es' if len(hits) != 1 else ''}</b> for "
                    f"“{_e(name)}”. Checked against {_e(against)}.")
            tone = "warn"
        else:
            text = (f"<b>No match</b> for “{_e(name)}” at score {DEFAULT_THRESHOLD:.0f} or "
                    f"above. Checked against {_e(against)}.")
            tone = "ok"
        self.adhoc_label.setText(text)
        self.adhoc_label.setStyleSheet(_BANNER[tone])
        self.tabs.setTabText(self.TAB_ADHOC, f"Name check ({len(hits)})")
        self.tabs.setCurrentIndex(self.TAB_ADHOC)
        if hits:
            self.adhoc_table.selectRow(0)
            self._on_row(self.adhoc_table, self.adhoc_model.index(0, 0))
        else:
            self.detail.setHtml(_CSS + f"<h3>{_e(name)}</h3><p>{text}</p>")

    # -- recorded screenings ------------------------------------------------------------
    def screen_all(self) -> None:
        """Screen every party on the worker (cancellable) and record the run."""
        if not self.can_write:
            return
        wb = self.wb
        self.all_btn.setEnabled(False)
        self.ops.run(lambda task: results.screen_all(wb, progress=_progress(task),
                                                     cancel=task.cancel),
                     success=self._screened_all, failure=self._screen_failed, parent=self,
                     progress="Screening every party against the current lists…")

    def _screened_all(self, res: dict[str, Any]) -> None:
        self.all_btn.setEnabled(self.can_write)
        hits = [h for r in res["results"] for h in r["hits"]]
        open_n = sum(1 for h in hits if h["status"] in ("open", "escalated"))
        front_n = sum(1 for r in res["results"] if r.get("fronts"))
        self.banner.say(f"Screened {len(res['results']):,} parties (run {res['run_id']}): "
                        f"{len(hits)} hits, {open_n} need a decision; {front_n} possible "
                        f"fronts.", "warn" if open_n or front_n else "ok")
        self.tabs.setCurrentIndex(self.TAB_OPEN)
        self.load_hits()
        self.changed.emit(res)

    def _screen_failed(self, exc: BaseException) -> None:
        self.all_btn.setEnabled(self.can_write)
        if isinstance(exc, OpCancelled) or type(exc).__name__ == "Cancelled":
            self.banner.say("Screening cancelled; nothing was recorded.", "warn")
        else:
            self.banner.say(error_text(exc), "bad")

    def screen_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Screen a file of names", str(Path.home()),
            "Names (*.csv *.xlsx);;All files (*)")
        if path:
            self.screen_path(path)

    def screen_path(self, path: str | Path) -> None:
        """Screen a names file on the worker (recorded when you may write)."""
        wb = self.wb
        self.file_btn.setEnabled(False)
        self.ops.run(lambda task: batch.screen_file(wb, path, progress=_progress(task),
                                                    cancel=task.cancel),
                     success=self._file_screened, failure=self._file_failed, parent=self,
                     progress=f"Screening {Path(path).name}…")

    def _file_screened(self, out: dict[str, Any]) -> None:
        self.file_btn.setEnabled(True)
        self.banner.say("")  # an earlier failure no longer applies
        self.file_result = out
        rows = []
        for r in out["results"]:
            for h in r["hits"] or [None]:
                base = {"id": f"{r['row']}:{h['entry_id'] if h else ''}", "row": r["row"],
                        "query": r["query"], "country": r["country"], "problem": r["problem"]}
                if h:
                    base.update({"list_name": h["list_name"], "source": h["source"],
                                 "score": h["score"], "entry_id": h["entry_id"], "hit": h})
                rows.append(base)
        self.file_model.set_rows(rows)
        n_hit = sum(1 for r in out["results"] if r["hits"])
        self.file_label.setText(
            f"<b>{out['file']}</b>: {len(out['results']):,} names, <b>{n_hit}</b> with a "
            f"possible match" + (f" (recorded as run {out['run_id']})" if out.get("run_id")
                                 else " (not recorded: read-only user)"))
        self.save_btn.setEnabled(True)
        self.tabs.setTabText(self.TAB_FILE, f"File results ({n_hit})")
        self.tabs.setCurrentIndex(self.TAB_FILE)
        if rows:
            self.file_table.selectRow(0)
        if out.get("run_id"):
            self.changed.emit(out)

    def _file_failed(self, exc: BaseException) -> None:
        self.file_btn.setEnabled(True)
        self.banner.say(error_text(exc), "bad")

    def save_results(self) -> None:
        if self.file_result is None:
            return
        stem = Path(self.file_result["file"]).stem
        path, _ = QFileDialog.getSaveFileName(
            self, "Save screening results", str(Path.home() / f"{stem}-screening.xlsx"),
            "Excel workbook (*.xlsx);;CSV (*.csv)")
        if path:
            self.save_results_to(path)

    def save_results_to(self, path: str | Path) -> None:
        """Write the file results (one row per hit, input columns carried)."""
        out = self.file_result
        assert out is not None
        headers, rows = batch.result_rows(out)
        snaps = [[s["snapshot_id"], s["source"], s["file"], s["publish_date"],
                  s["imported_at"], s["sha256"]] for s in out["snapshots"]]
        sheets = [Sheet("Screening results", headers, rows),
                  Sheet("Snapshots", ["snapshot", "source", "file", "publish_date",
                                      "imported_at", "sha256"], snaps)]
        self.ops.run(lambda task: write_sheets(path, sheets, progress=_progress(task),
                                               total=len(rows), cancel=task.cancel),
                     success=lambda p: self.banner.say(f"Saved the results to {p}.", "ok"),
                     parent=self, progress="Saving the results…")

    # -- decisions --------------------------------------------------------------------------
    def ask_decision(self, decision: str) -> DecisionDialog | None:
        """Open the decision dialog for the selected open hit (non-blocking);
        on OK the decision is recorded through ops."""
        r = self._current_row(self.open_table)
        if r is None or not self.can_write:
            return None
        dlg = DecisionDialog(r, decision, r.get("shipment_ref"), self)
        dlg.accepted.connect(lambda: self._record_decision(r, decision, dlg.values()))
        self.decision_dialog = dlg
        dlg.open()
        return dlg

    def _record_decision(self, hit: dict[str, Any], decision: str, v: dict[str, Any]) -> None:
        wb = self.wb
        for b in self.decide_btns.values():
            b.setEnabled(False)
        self.ops.run(lambda task: results.decide(wb, hit["id"], decision, v["reason"],
                                                 expires_on=v["expires_on"],
                                                 shipment_only=v["shipment_only"]),
                     success=lambda ch: self._decided(hit, ch), failure=self._decide_failed,
                     parent=self)

    def _decided(self, hit: dict[str, Any], change: Change) -> None:
        label = results.DECISION_LABELS[change.record["decision"]]
        self.banner.say(f"Recorded “{label}” for {hit['legal_name']} against "
                        f"{hit['list_name']}.", "ok")
        self.load_hits()
        self.changed.emit(change)

    def _decide_failed(self, exc: BaseException) -> None:
        self._enable_decisions(self._current_row(self.open_table))
        show_error(self, exc)
