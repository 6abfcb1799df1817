"""The Checklists page: runs by state, what is due for re-verification, custom
templates, and the run form.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Change, Workbench
from workbench.checklists import runs as cs

from ui.dialogs.start_checklist import StartDialog
from ui.kit.checklist_text import started_text, state_label, target_text
from ui.kit.models import Column, RowsModel
from ui.kit.ops import Ops, error_text
from ui.kit.views import Banner, format_timestamp, heading_label, make_view, muted_label
from ui.panels.checklist_run import RunForm
from ui.kit.files import open_file_name


DUE_WITHIN_DAYS = 60


RUN_COLUMNS = [
    Column("id", "Run", 50, numeric=True),
    Column("title", "Checklist", 250, stretch=True,
        tip=lambda r: f"{r.get('title')} ({r['template_id']}), revision {r['revision']}"),
    Column("target", "Party or shipment", 250, fmt=target_text, stretch=True),
    Column("started", "Started", 210, fmt=started_text),
    Column("red_flags", "Red flags", 72, numeric=True,
        fmt=lambda r: str(r["red_flags"]) if r["red_flags"] else "—"),
    Column("state", "Status", 150, fmt=lambda r: state_label(r["state"])
        + (f" (expires {r['expires_on']})" if r.get("expires_on") else "")),
]


DUE_COLUMNS = [
    Column("legal_name", "Party", 280, stretch=True),
    Column("title", "Checklist", 260, stretch=True),
    Column("completed_at", "Completed", 150, fmt=lambda r: format_timestamp(r["completed_at"])),
    Column("expires_on", "Expires on", 100),
    Column("state", "State", 90, fmt=lambda r: "Lapsed" if r["state"] == "expired" else "Lapses soon"),
    Column("open_run", "Open run", 80, numeric=True, fmt=lambda r: str(r["open_run"] or "—")),
]


class ChecklistsPage(QWidget):
    """Checklist runs by state, the due list, starting a run, the run form.

    Side effects: reads run lists and the due list on the GUI thread (small
    indexed queries); every write goes through ``ops`` (see
    :class:`RunForm`). Emits ``changed(object)`` after a write so the
    dashboard and audit log can refresh. GUI thread only.
    """

    changed = Signal(object)
    TABS = (("in_progress", "In progress"), ("awaiting_approval", "Waiting for approval"),
            ("due", "Due / expiring"), ("completed", "Completed"))

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.can_write = wb.user.can_write
        self.start_dialog: StartDialog | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)

        lists = QWidget()
        lay = QVBoxLayout(lists)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(heading_label("Checklists"))
        top.addSpacing(12)
        self.summary = muted_label()
        top.addWidget(self.summary, 1)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Filter runs by party, checklist, user  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(320)
        self.search.textChanged.connect(lambda _t: self._fill())
        self.search.returnPressed.connect(self.open_current)
        top.addWidget(self.search)
        self.start_btn = QPushButton("Start a checklist…")
        self.start_btn.setToolTip("Choose a party or shipment and the checklist it needs "
                                  "(Ctrl+N)")
        self.start_btn.clicked.connect(self.new_record)
        top.addWidget(self.start_btn)
        self.template_btn = QPushButton("Add a template…")
        self.template_btn.setToolTip("Add your own checklist from a YAML file (same format as "
                                     "the built-in ones in resources/checklists)")
        self.template_btn.clicked.connect(self.choose_template)
        top.addWidget(self.template_btn)
        lay.addLayout(top)
        self.banner = Banner()
        lay.addWidget(self.banner)
        if not self.can_write:
            self.template_btn.setEnabled(False)
            self.start_btn.setEnabled(False)
            self.start_btn.setToolTip("Starting a checklist needs an officer, approver or admin")
            self.banner.say(f"You are signed in as {wb.user.username}, an auditor: you can read "
                            f"every run, its evidence and sign-offs, but not change them.",
                            "warn")

        self.tabs = QTabWidget()
        self.models: dict[str, RowsModel] = {}
        self.tables: dict[str, QTableView] = {}
        self._rows: dict[str, list[dict[str, Any]]] = {}
        for key, label in self.TABS:
            cols = DUE_COLUMNS if key == "due" else RUN_COLUMNS
            m = RowsModel(cols, self, muted=(lambda r: r.get("state") == "superseded")
                          if key == "completed" else None)
            v = make_view(m, cols)
            v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            v.doubleClicked.connect(lambda _i, k=key: self.open_current(k))
            v.activated.connect(lambda _i, k=key: self.open_current(k))
            self.models[key], self.tables[key] = m, v
            w = QWidget()
            wl = QVBoxLayout(w)
            wl.setContentsMargins(4, 4, 4, 4)
            hint = muted_label({"in_progress": "Runs being answered. Enter opens one.",
                           "awaiting_approval": "Signed by an officer with red flags; an "
                                                "approver who answered none of them approves "
                                                "or sends back.",
                           "due": f"Parties whose checks have lapsed or lapse within "
                                  f"{DUE_WITHIN_DAYS} days. Enter starts (or opens) the "
                                  f"re-verification.",
                           "completed": "Signed and locked runs, newest first. Open one to "
                                        "see its sign-offs or revise it."}[key])
            hint.setWordWrap(True)
            wl.addWidget(hint)
            wl.addWidget(v, 1)
            self.tabs.addTab(w, label)
        self.table = self.tables["in_progress"]  # main.py --row selects in this one
        lay.addWidget(self.tabs, 1)
        self.stack.addWidget(lists)

        self.form = RunForm(wb, ops)
        self.form.back.connect(self.show_lists)
        self.form.changed.connect(self._on_changed)
        self.stack.addWidget(self.form)

        sc = QShortcut(QKeySequence("Ctrl+N"), self)
        sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(self.new_record)
        self.refresh()

    # -- lists -----------------------------------------------------------------------
    def choose_template(self) -> None:
        path = open_file_name(self, "Add a checklist template", str(Path.home()),
                              "Checklist template (*.yaml *.yml);;All files (*)",
                              store=self.wb.store)
        if path:
            self.add_template_file(path)

    def add_template_file(self, path: str | Path) -> None:
        """Validate and store a custom template (worker thread); the banner
        says what was added, or the file, line and reason of a refusal."""
        wb = self.wb

        def done(ch: Change) -> None:
            t = ch.record or {}
            if ch.action == "unchanged":
                self.banner.say(f"{Path(path).name}: template {t.get('id')} version "
                                f"{t.get('version')} is already stored; nothing changed.", "ok")
            else:
                self.banner.say(f"Added checklist template “{t.get('title')}” ({t.get('id')} "
                                f"version {t.get('version')}, {len(t.get('questions') or [])} "
                                f"questions). It can be started from “Start a checklist…”.",
                                "ok")
                self.changed.emit(ch)

        self.ops.run(lambda _t: cs.add_template(wb, path), success=done,
                     failure=lambda e: self.banner.say(error_text(e), "bad"), parent=self)

    def show_tab(self, key: str) -> None:
        """Bring a list forward by its key (in_progress, awaiting_approval,
        due, completed), e.g. from a dashboard tile."""
        keys = [k for k, _label in self.TABS]
        if key in keys:
            self.show_lists()
            self.tabs.setCurrentIndex(keys.index(key))

    def refresh(self) -> None:
        """Re-read the run lists and the due list (GUI thread, small queries)."""
        store = self.wb.store
        titles = {t.id: t.title for t in cs.list_templates(store)}
        runs = cs.list_runs(store)
        for r in runs:
            r["title"] = titles.get(r["template_id"], r["template_id"])
        self._rows = {
            "in_progress": [r for r in runs if r["status"] == "in_progress"],
            "awaiting_approval": [r for r in runs if r["status"] == "awaiting_approval"],
            "completed": [r for r in runs if r["status"] == "completed"],
            "due": cs.due_for_reverification(store, _dt.date.today(),
                                             within_days=DUE_WITHIN_DAYS),
        }
        self._fill()

    def _fill(self) -> None:
        needle = self.search.text().strip().casefold()
        for key, label in self.TABS:
            rows = self._rows.get(key, [])
            if needle:
                rows = [r for r in rows if needle in " ".join(
                    str(r.get(k) or "") for k in ("target", "legal_name", "title",
                                                  "template_id", "started_by", "id")).casefold()]
            self.models[key].set_rows(rows)
            i = [k for k, _ in self.TABS].index(key)
            self.tabs.setTabText(i, f"{label} ({len(rows)})")
        waiting = len(self._rows.get("awaiting_approval", []))
        due = len(self._rows.get("due", []))
        bits = [f"{len(self._rows.get('in_progress', []))} in progress",
                f"{waiting} waiting for approval", f"{due} due for re-verification"]
        self.summary.setText(" · ".join(bits))
        if waiting and self.wb.user.role in cs.APPROVER_ROLES and self.tabs.currentIndex() == 0 \
                and not self._rows.get("in_progress"):
            self.tabs.setCurrentIndex(1)

    def current_key(self) -> str:
        return self.TABS[self.tabs.currentIndex()][0]

    def focus_search(self) -> None:
        self.show_lists()
        self.search.setFocus()
        self.search.selectAll()

    def open_current(self, key: str | None = None) -> None:
        key = key or self.current_key()
        v = self.tables[key]
        idx = v.currentIndex()
        if not idx.isValid() and self.models[key].rowCount():
            idx = self.models[key].index(0, 0)
        r = self.models[key].row(idx.row()) if idx.isValid() else None
        if r is None:
            return
        if key == "due":
            if r["open_run"]:
                self.open_run(r["open_run"])
            elif self.can_write:
                self.start(r["template_id"], party_id=r["party_id"])
            else:
                self.open_run(r["run_id"])
        else:
            self.open_run(r["id"])

    def show_lists(self) -> None:
        self.stack.setCurrentIndex(0)
        self.tables[self.current_key()].setFocus()

    def open_run(self, run_id: int) -> RunForm:
        """Show run ``run_id`` in the form, focus on its first open question."""
        self.form.load(run_id)
        self.stack.setCurrentWidget(self.form)
        first = next((r for r in self.form.rows if not r.values()["value"]),
                     self.form.rows[0] if self.form.rows else None)
        waiting = self.form.run is not None and self.form.run["status"] == "awaiting_approval"
        if first is not None and not self.form.read_only and not waiting:
            first.answer.setFocus()
        else:
            self.form.scroll.setFocus()
        return self.form

    # -- actions (the main window's Ctrl+N / Ctrl+S / Esc) ----------------------------
    def new_record(self) -> StartDialog | None:
        """Open the start dialog (non-blocking); on OK the run starts and opens."""
        if not self.can_write:
            return None
        dlg = StartDialog(self.wb, self.ops, self)
        dlg.accepted.connect(lambda: self._chosen(dlg))
        self.start_dialog = dlg
        dlg.open()
        return dlg

    def _chosen(self, dlg: StartDialog) -> None:
        c = dlg.chosen()
        if c is None:
            return
        tid, pid, sid, open_run = c
        if open_run:
            self.open_run(open_run)
        else:
            self.start(tid, party_id=pid, shipment_id=sid)

    def start(self, template_id: str, *, party_id: int | None = None,
              shipment_id: int | None = None) -> None:
        """Start a run on the worker and open it."""
        wb = self.wb
        self.ops.run(lambda _t: cs.start_run(wb, template_id, party_id=party_id,
                                             shipment_id=shipment_id),
                     success=self._started, failure=lambda e: self.banner.say(error_text(e),
                                                                               "bad"),
                     parent=self)

    def _started(self, ch: Change) -> None:
        self.refresh()
        self.open_run(ch.id)
        self.form.banner.say("Started: answer each question, then sign off.", "ok")
        self.changed.emit(ch)

    def save(self) -> None:
        if self.stack.currentWidget() is self.form:
            self.form.save()

    def cancel(self) -> None:
        if self.stack.currentWidget() is self.form:
            self.form.leave()

    def _on_changed(self, ch: Change) -> None:
        self.refresh()
        self.changed.emit(ch)
