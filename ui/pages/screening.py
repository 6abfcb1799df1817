"""The Screening page: open hits and their decisions, screening a name or a
file, possible fronts, and re-screening a party after it is saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Change, Workbench
from workbench.clearance import holds
from workbench.records import parties as _parties, shipments as _shipments
from workbench.screening import batch, fronts, results, snapshots
from workbench.screening.matcher import DEFAULT_THRESHOLD
from workbench.spreadsheets.exports import Sheet, write_sheets

from ui.dialogs.decision import DecisionDialog
from ui.kit.models import Column, RowRole, RowsModel
from ui.kit.ops import OpCancelled, Ops, Task, error_text, show_error
from ui.kit.screening_html import (
    FRONT_KINDS,
    HIT_CSS,
    STATUS_LABELS,
    fronts_html,
    hit_browser,
    hit_html,
    list_label,
)
from ui.kit.views import (
    BANNER_STYLES,
    Banner,
    esc,
    heading_label,
    make_view,
    muted_label,
    progress_callback,
)
from ui.kit.widgets import CountryCombo
from ui.kit.files import open_file_name, save_file_name


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


OPEN_HIT_COLUMNS = [
    Column("legal_name", "Party", 210, stretch=True),
    Column("list_name", "Matched list name", 200, stretch=True,
        tip=lambda r: f"{r['list_name']} — listed as {r['primary_name']}"),
    Column("list_code", "List", 44, tip=lambda r: list_label(r["list_code"])),
    Column("score", "Score", 48, numeric=True),
    Column("status", "Status", 78, fmt=lambda r: STATUS_LABELS.get(r["status"], r["status"])),
    Column("entry_id", "Entry ID", 84, tip=lambda r: r["entry_id"]),
]


ADHOC_COLUMNS = [
    Column("list_name", "Matched list name", 230, stretch=True),
    Column("primary_name", "Listed as", 220, stretch=True),
    Column("source", "List", 44, tip=lambda r: list_label(r["source"])),
    Column("score", "Score", 48, numeric=True),
    Column("entry_id", "Entry ID", 84, tip=lambda r: r["entry_id"]),
]


FILE_COLUMNS = [
    Column("row", "Row", 40, numeric=True),
    Column("query", "Name", 200, stretch=True),
    Column("country", "Country", 58),
    Column("list_name", "Matched list name", 200, stretch=True,
        fmt=lambda r: r.get("list_name") or r.get("problem") or "no match"),
    Column("source", "List", 44, tip=lambda r: list_label(r.get("source") or "") or None),
    Column("score", "Score", 48, numeric=True),
]


FRONT_COLUMNS = [
    Column("party", "Party", 220, stretch=True),
    Column("kind", "Why", 178, fmt=lambda r: FRONT_KINDS.get(r["kind"], r["kind"])),
    Column("detail", "Detail", 300, stretch=True, tip=lambda r: r["detail"]),
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
        top.addWidget(heading_label("Screening"))
        top.addSpacing(12)
        self.lists_label = muted_label()
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
        self.prep_note = muted_label("Preparing lists…")
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
        self.detail = hit_browser()
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
        self.detail.setHtml(HIT_CSS + f"<p class='muted'>{text}</p>")
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
            self.detail.setHtml(HIT_CSS + f"<h3>Row {r['row']}: {esc(r['query'])}</h3>"
                                f"<p>{esc(r.get('problem') or 'No list entry matches this name at the threshold.')}</p>")

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
                    f"“{esc(name)}”. Checked against {esc(against)}.")
            tone = "warn"
        else:
            text = (f"<b>No match</b> for “{esc(name)}” at score {DEFAULT_THRESHOLD:.0f} or "
                    f"above. Checked against {esc(against)}.")
            tone = "ok"
        self.adhoc_label.setText(text)
        self.adhoc_label.setStyleSheet(BANNER_STYLES[tone])
        self.tabs.setTabText(self.TAB_ADHOC, f"Name check ({len(hits)})")
        self.tabs.setCurrentIndex(self.TAB_ADHOC)
        if hits:
            self.adhoc_table.selectRow(0)
            self._on_row(self.adhoc_table, self.adhoc_model.index(0, 0))
        else:
            self.detail.setHtml(HIT_CSS + f"<h3>{esc(name)}</h3><p>{text}</p>")

    # -- recorded screenings ------------------------------------------------------------
    def screen_all(self) -> None:
        """Screen every party on the worker (cancellable) and record the run."""
        if not self.can_write:
            return
        wb = self.wb
        self.all_btn.setEnabled(False)
        self.ops.run(lambda task: holds.rescreen_all(wb, progress=progress_callback(task),
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
                        f"fronts." + (" Put on hold: " + ", ".join(
                            h["reference"] for h in res["held"]) + "."
                            if res.get("held") else ""),
                        "warn" if open_n or front_n or res.get("held") else "ok")
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
        path = open_file_name(
            self, "Screen a file of names", str(Path.home()),
            "Names (*.csv *.xlsx);;All files (*)", store=self.wb.store)
        if path:
            self.screen_path(path)

    def screen_path(self, path: str | Path) -> None:
        """Screen a names file on the worker (recorded when you may write)."""
        wb = self.wb
        self.file_btn.setEnabled(False)
        self.ops.run(lambda task: batch.screen_file(wb, path, progress=progress_callback(task),
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
        path = save_file_name(
            self, "Save screening results", str(Path.home() / f"{stem}-screening.xlsx"),
            "Excel workbook (*.xlsx);;CSV (*.csv)", store=self.wb.store)
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
        self.ops.run(lambda task: write_sheets(path, sheets, progress=progress_callback(task),
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
