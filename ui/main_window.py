"""The main window: navigation on the left, pages on the right, a status bar.

Keyboard first: Ctrl+F search, Ctrl+N new, Ctrl+S save, Esc cancel — the
actions live in the Edit menu (so they show their shortcuts) and dispatch to
the current page. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

import workbench
from workbench import users
from workbench.app import Change, Workbench
from workbench.packets import anchors
from workbench.records import items, licences, parties, shipments
from workbench.records.shipments import STATUS_LABELS

from ui.dialogs.import_file import ImportDialog
from ui.dialogs.settings import SettingsDialog
from ui.kit.forms import ItemForm, LicenceForm, PartyForm, ShipmentForm
from ui.kit.ops import Ops
from ui.pages.audit import AuditPage
from ui.pages.checklists import ChecklistsPage
from ui.pages.dashboard import DashboardPage
from ui.pages.lists import ListsPage
from ui.pages.master import MasterPage, PlaceholderPage
from ui.pages.rules import RulesPage
from ui.pages.screening import ScreeningPage, rescreen_after_party_save
from ui.panels.attach import attach_clearance_panel, attach_rules_panels
from ui.kit.files import save_file_name
from ui.kit.key_unlock import run_unlocked

ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "workbench.svg"

PLACEHOLDERS: dict[str, tuple[str, str]] = {}

# Which pages show what a write of each kind changes. The dashboard and the
# audit log follow every write. Shipments follow anything that can hold one.
CONCERNS: dict[str, frozenset[str]] = {
    "party": frozenset({"parties", "shipments", "licences", "screening"}),
    "party_rules_tag": frozenset({"parties", "shipments", "rules"}),
    "item": frozenset({"items", "shipments", "licences"}),
    "item_classification": frozenset({"items", "shipments"}),
    "shipment": frozenset({"shipments", "licences"}),
    "shipment_obligation": frozenset({"shipments"}),
    "determination": frozenset({"shipments"}),
    "licence": frozenset({"licences", "shipments"}),
    "list_snapshot": frozenset({"lists", "screening", "shipments"}),
    "hit_decision": frozenset({"screening", "shipments"}),
    "screening": frozenset({"screening", "shipments"}),
    "rules_pack": frozenset({"rules", "shipments", "items"}),
    "rules_letter": frozenset({"rules", "shipments"}),
    "checklist_run": frozenset({"checklists", "shipments"}),
    "checklist_answer": frozenset({"checklists", "shipments"}),
    "checklist_template": frozenset({"checklists", "shipments"}),
    "evidence": frozenset({"checklists"}),
    "evidence_link": frozenset({"checklists"}),
    "import": frozenset({"parties", "items", "shipments", "licences"}),
}
ALWAYS = frozenset({"dashboard", "audit"})


def change_kind(what: Any) -> str:
    """The kind of write a page announced: a :class:`Change`'s entity, or
    for the dict results of long jobs what they are (a list import's
    what-changed data, a screening run, a spreadsheet import report)."""
    if isinstance(what, Change):
        return what.entity
    if isinstance(what, dict):
        if "snapshot" in what and "entries" in what:
            return "list_snapshot"
        if "run_id" in what or "results" in what:
            return "screening"
    if hasattr(what, "created") and hasattr(what, "updated"):
        return "import"
    return ""


def held_shipments(what: Any) -> list[int]:
    """Ids of the shipments a write put on hold (rules packs, letters, facts,
    list imports), so the Shipments list shows On hold at once."""
    if isinstance(what, Change):
        return [h["shipment_id"] for h in what.extra.get("held") or []]
    if isinstance(what, dict):
        return [s["id"] for s in what.get("shipments") or [] if s.get("held")] + \
            [h["shipment_id"] for h in what.get("held") or []]
    return []


def pages_concerned(what: Any) -> frozenset[str]:
    """The pages to refresh after `what` was written. Pure."""
    pages = ALWAYS | CONCERNS.get(change_kind(what), frozenset())
    if held_shipments(what):
        pages |= {"shipments"}
    return pages

NAV = [("dashboard", "Dashboard"), ("parties", "Parties"), ("items", "Items"),
       ("shipments", "Shipments"), ("licences", "Licences"), ("lists", "Lists"),
       ("screening", "Screening"), ("rules", "Rules"), ("checklists", "Checklists"),
       ("audit", "Audit log")]


class MainWindow(QMainWindow):
    """The workbench window for one signed-in user on one store.

    Side effects: reads the store on the GUI thread to show pages; writes
    only through its :class:`Ops` (one worker thread). Closing it waits for
    queued work, then closes the store.
    """

    def __init__(self, wb: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb = wb
        self.ops = Ops(self)
        self.setWindowTitle("Export Compliance Workbench")
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.resize(1280, 800)

        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setIconSize(QSize(16, 16))
        self.nav.setFixedWidth(150)
        self.nav.setStyleSheet("QListWidget { border: none; background: palette(window);"
                               " font-size: 13px; outline: 0; }"
                               "QListWidget::item { padding: 7px 10px; }"
                               "QListWidget::item:selected { background: #dbe6fb;"
                               " color: black; border-left: 3px solid #3b6fd8; }")
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        self._build_pages()
        for i, (name, label) in enumerate(NAV):
            it = QListWidgetItem(label)
            it.setData(Qt.ItemDataRole.UserRole, name)
            if name in PLACEHOLDERS:
                it.setForeground(Qt.GlobalColor.darkGray)
                it.setToolTip("Coming in a later version")
            self.nav.addItem(it)
            self.stack.addWidget(self.pages[name])
            if i < 9:
                it.setToolTip(f"{label} (Alt+{i + 1})")
        self.nav.currentRowChanged.connect(self._on_nav)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._build_menus()
        self._build_status()
        self.nav.setCurrentRow(0)
        # the daily audit anchor: soon after start, then checked every hour
        self.anchor_timer = QTimer(self, interval=3_600_000)
        self.anchor_timer.timeout.connect(self.anchor_if_due)
        self.anchor_timer.start()
        QTimer.singleShot(3_000, self, self.anchor_if_due)

    # -- building --------------------------------------------------------------------
    def _build_pages(self) -> None:
        wb, ops = self.wb, self.ops
        self.pages["dashboard"] = DashboardPage(wb, self.open_list, ops)
        self.pages["parties"] = MasterPage(
            wb, ops, view="parties", title="Parties", plural="parties", form=PartyForm(wb),
            get=parties.get_party, save=parties.save_party, filter_key="kind",
            filter_choices=list(parties.KIND_LABELS.items()))
        self.pages["items"] = MasterPage(
            wb, ops, view="items", title="Items", plural="items", form=ItemForm(wb),
            get=items.get_item, save=items.save_item)
        self.pages["shipments"] = MasterPage(
            wb, ops, view="shipments", title="Shipments", plural="shipments",
            form=ShipmentForm(wb), get=shipments.get_shipment, save=shipments.save_shipment,
            filter_key="status", filter_choices=list(STATUS_LABELS.items()))
        self.pages["licences"] = MasterPage(
            wb, ops, view="licences", title="Licences", plural="licences",
            form=LicenceForm(wb), get=licences.get_licence, save=licences.save_licence)
        for name, (title, text) in PLACEHOLDERS.items():
            self.pages[name] = PlaceholderPage(title, text)
        self.pages["lists"] = ListsPage(wb, ops)
        self.pages["screening"] = ScreeningPage(wb, ops)
        self.pages["lists"].imported.connect(self.on_change)
        self.pages["screening"].changed.connect(self.on_change)
        self.pages["rules"] = RulesPage(wb, ops)
        self.pages["rules"].saved.connect(self.on_change)
        attach_rules_panels(self.pages["items"], self.pages["shipments"], ops,
                            parties_page=self.pages["parties"])
        attach_clearance_panel(self.pages["shipments"], ops,
                               export_packet=lambda sid, ref: self.export_packet([sid], ref))
        self.pages["checklists"] = ChecklistsPage(wb, ops)
        self.pages["checklists"].changed.connect(self.on_change)
        self.pages["audit"] = AuditPage(wb, ops)
        for p in self.pages.values():
            if isinstance(p, MasterPage):
                p.saved.connect(self.on_change)

    def _action(self, text: str, shortcut: Any, slot: Any, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self.import_action = self._action("&Import from a spreadsheet…", "Ctrl+I",
                                          self.import_file,
                                          "Parties, items or shipments from CSV or XLSX")
        m.addAction(self.import_action)
        self.backup_action = self._action("&Backup…", None, self.backup,
                                          "Copy the database to a file of your choice")
        m.addAction(self.backup_action)
        self.packet_action = self._action("&Export audit packet…", "Ctrl+E",
                                          lambda: self.export_packet([], ""),
                                          "Signed PDF and Excel workbook for an auditor")
        m.addAction(self.packet_action)
        self.settings_action = self._action("Se&ttings…", None, self.open_settings,
                                            "The exporter's name on audit packets")
        m.addAction(self.settings_action)
        m.addSeparator()
        m.addAction(self._action("&Quit", QKeySequence.StandardKey.Quit, self.close))
        m = mb.addMenu("&Edit")
        self.find_action = self._action("&Find", QKeySequence.StandardKey.Find,
                                        lambda: self._dispatch("focus_search"),
                                        "Search the current list")
        self.new_action = self._action("&New record", QKeySequence.StandardKey.New,
                                       lambda: self._dispatch("new_record"))
        self.save_action = self._action("&Save", QKeySequence.StandardKey.Save,
                                        lambda: self._dispatch("save"))
        self.cancel_action = self._action("&Cancel changes", Qt.Key.Key_Escape,
                                          lambda: self._dispatch("cancel"))
        self.screen_action = self._action("Sc&reen all parties", "Ctrl+R", self.screen_now,
                                          "Screen every party against the current lists")
        for a in (self.find_action, self.new_action, self.save_action, self.cancel_action,
                  self.screen_action):
            m.addAction(a)
        m = mb.addMenu("&Go")
        for i, (name, label) in enumerate(NAV[:9]):
            m.addAction(self._action(label, f"Alt+{i + 1}",
                                     lambda _=False, n=name: self.show_page(n)))
        m.addAction(self._action(NAV[9][1], "Alt+0", lambda: self.show_page("audit")))
        m = mb.addMenu("&Help")
        m.addAction(self._action("&About", None, self.about))

    def _build_status(self) -> None:
        sb = self.statusBar()
        u = self.wb.user
        self.user_label = QLabel(
            f"Signed in: <b>{u.display_name or u.username}</b> ({u.username}) — "
            f"{users.ROLE_LABELS.get(u.role, u.role)}")
        self.db_label = QLabel(f"Database: {self.wb.store.path}")
        self.db_label.setToolTip(str(self.wb.store.path))
        self.db_label.setStyleSheet("color: palette(mid);")
        sb.addPermanentWidget(self.db_label, 1)
        sb.addPermanentWidget(self.user_label)

    # -- navigation ------------------------------------------------------------------
    def current_name(self) -> str:
        it = self.nav.currentItem()
        return it.data(Qt.ItemDataRole.UserRole) if it else "dashboard"

    def show_page(self, name: str) -> QWidget:
        """Switch to a page by name (dashboard, parties, …, audit)."""
        for i, (n, _) in enumerate(NAV):
            if n == name:
                self.nav.setCurrentRow(i)
        return self.pages[name]

    def _on_nav(self, row: int) -> None:
        name = NAV[row][0]
        page = self.pages[name]
        self.stack.setCurrentWidget(page)
        is_master = isinstance(page, MasterPage)
        ro = is_master and page.read_only
        self.new_action.setEnabled(is_master and not ro)
        self.save_action.setEnabled(is_master and not ro)
        self.cancel_action.setEnabled(is_master)
        self.find_action.setEnabled(hasattr(page, "focus_search"))

    def open_list(self, name: str, label: str, **extra: Any) -> None:
        """Open a list page, filtered as the dashboard asks (empty: no filter)."""
        page = self.show_page(name)
        if isinstance(page, MasterPage):
            if extra:
                page.show_filtered(label, **extra)
            else:
                page.clear_extra()
        elif "tab" in extra and hasattr(page, "show_tab"):
            page.show_tab(extra["tab"])

    def _dispatch(self, method: str) -> None:
        page = self.stack.currentWidget()
        fn = getattr(page, method, None)
        if fn is not None:
            fn()

    def on_change(self, what: Any) -> None:
        """The one route of every write's result (a Change, or the dict
        result of a list import, a screening run or a spreadsheet import) to
        the pages it concerns (:func:`pages_concerned`), so no page shows a
        stale state. Pages re-read cheaply (counts and one page each), like
        Anki's operation_did_execute. GUI thread."""
        for name in sorted(pages_concerned(what)):
            page = self.pages[name]
            if name == "shipments" and isinstance(page, MasterPage):
                page.reload_current()  # the list, and the open record unless edited
            else:
                page.refresh()
        if isinstance(what, Change):
            self.statusBar().showMessage(
                f"Saved {what.entity.replace('_', ' ')} ({what.action}).", 5000)
            if what.entity == "party":
                # an edited party is screened again at once (names or addresses
                # may have changed); nothing happens before a list is imported
                rescreen_after_party_save(self.wb, self.ops, what.id, parent=self,
                                          on_done=lambda r: r and self.on_change(r))

    def screen_now(self) -> None:
        """Ctrl+R: screen every party against the current list snapshots."""
        page = self.show_page("screening")
        page.screen_all()

    def import_file(self) -> None:
        ImportDialog(self.wb, self.ops, self, on_imported=self.on_change).exec()

    # -- menu actions ---------------------------------------------------------------
    def backup(self) -> None:
        dest = save_file_name(
            self, "Back up the database", str(Path.home() / "workbench-backup.db"),
            "Workbench database (*.db);;All files (*)", store=self.wb.store)
        if dest:
            self.backup_to(dest)

    def backup_to(self, dest: str) -> None:
        """Copy the store to ``dest`` on the worker thread (cancellable), with
        the copy's audit anchor beside it (``DEST.anchor.json``, recorded)."""
        wb = self.wb

        def work(task: Any) -> tuple[Any, Path]:
            return anchors.backup_with_anchor(wb, dest, progress=task.progress)[:2]

        def done(res: tuple[Any, Path]) -> None:
            self.statusBar().showMessage(f"Backed up to {res[0]}, with its audit anchor "
                                         f"{res[1].name}", 8000)
            self.on_change(None)

        run_unlocked(self.ops, self, wb.store, work, success=done,
                     progress="Backing up the database…")

    def anchor_if_due(self) -> None:
        """Write the daily audit anchor into the anchor folder when one is
        due (worker thread); a failure is said on the Audit log page."""
        if not anchors.daily_due(self.wb.store):
            return
        wb, page = self.wb, self.pages["audit"]
        self.ops.run(lambda task: anchors.anchor_daily(wb), success=page.daily_written,
                     failure=page.daily_failed, parent=self)

    def export_packet(self, shipment_ids: list[int], label: str) -> Any:
        """Open the packet dialog (these shipments, or choose a party or dates)."""
        from ui.dialogs.packet import PacketDialog  # QtPdf loads on first use, not at start-up

        dlg = PacketDialog(self.wb, self.ops, shipment_ids=shipment_ids, label=label,
                           parent=self)
        dlg.exported.connect(self.on_change)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.packet_dialog = dlg
        dlg.open()
        return dlg

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.wb, self.ops, self)
        dlg.accepted.connect(lambda: self.on_change(None))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.settings_dialog = dlg
        dlg.open()
        return dlg

    def about(self) -> None:
        QMessageBox.about(
            self, "About Export Compliance Workbench",
            f"<b>Export Compliance Workbench</b> {workbench.__version__}<br>"
            "Offline screening, licence determination and audit trail for exporters "
            f"of advanced chips.<br><br>Database: {self.wb.store.path}")

    def closeEvent(self, event: QCloseEvent) -> None:
        dirty = [p for p in self.pages.values() if isinstance(p, MasterPage) and p.dirty]
        if dirty:
            ans = QMessageBox.question(
                self, "Unsaved changes", "Some forms have changes that are not saved. "
                "Quit anyway?", QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if ans != QMessageBox.StandardButton.Discard:
                event.ignore()
                return
        self.ops.shutdown()
        event.accept()
