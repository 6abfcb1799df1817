"""Start the Export Compliance Workbench.

    python main.py [--db PATH] [--screenshot FILE.png] [--page NAME] [--row N]
                   [--tab NAME] [--packet REF]

Opens (creating and filling with demo data on first run) the database, asks
for a login — or for the owner account on an empty database — and shows the
main window. ``--screenshot`` renders the window offscreen signed in as the
demo user ``owner``, saves it as a PNG and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="main.py", description=__doc__.split("\n")[0])
    p.add_argument("--db", help="database file (default: the app's file in your data folder)")
    p.add_argument("--screenshot", metavar="FILE.png",
                   help="render the main window offscreen (demo login), save it, exit")
    p.add_argument("--page", default="dashboard",
                   help="page to show: dashboard, parties, items, shipments, licences, "
                        "lists, screening, rules, checklists, audit")
    p.add_argument("--row", type=int, default=None,
                   help="with --screenshot: select this row of the page's table "
                        "(-1: a new, empty form)")
    p.add_argument("--user", default="owner", help="with --screenshot: demo user to sign in")
    p.add_argument("--tab", default=None,
                   help="with --screenshot: the tab beside the form to show (e.g. Clearance)")
    p.add_argument("--packet", metavar="REF", default=None,
                   help="with --screenshot: export the audit packet of shipment REF next to "
                        "the PNG and grab the preview dialog instead of the window")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(sys.argv[1:] if argv is None else argv)
    # Qt warns in the C locale and mis-decodes file names; UTF-8 is safe everywhere.
    if os.environ.get("LANG", "C") in ("", "C", "POSIX"):
        os.environ["LANG"] = "C.UTF-8"
    if not args.screenshot:
        for opt in ("row", "tab", "packet"):
            if getattr(args, opt) is not None:
                print(f"error: --{opt} works only with --screenshot", file=sys.stderr)
                return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    from workbench.app import default_db_path
    from workbench.bootstrap import needs_owner, open_workbench
    from workbench.errors import WorkbenchError

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Export Compliance Workbench")
    app.setOrganizationName("export-compliance-workbench")
    from ui.main_window import MainWindow
    from ui.kit.style import apply_style

    apply_style(app)
    path = args.db or default_db_path()
    try:
        wb = open_workbench(path, demo=True)
    except WorkbenchError as e:
        if args.screenshot:
            print(f"error: {e}", file=sys.stderr)
            return 2
        QMessageBox.critical(None, "Export Compliance Workbench", str(e))
        return 2

    if args.screenshot:
        from workbench.demo import DEMO_PASSWORD
        try:
            wb.login(args.user, DEMO_PASSWORD)
        except WorkbenchError as e:
            print(f"error: cannot sign in as demo user {args.user!r}: {e}", file=sys.stderr)
            return 2
        return _screenshot(app, wb, args)

    from ui.dialogs.login import LoginDialog, OwnerDialog

    dlg = OwnerDialog(wb) if needs_owner(wb) else LoginDialog(wb)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        wb.close()
        return 0
    win = MainWindow(wb)
    win.show()
    rc = app.exec()
    wb.close()
    return rc


def _screenshot(app, wb, args) -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    from ui.main_window import NAV, MainWindow

    names = [n for n, _ in NAV]
    if args.page not in names:
        print(f"error: no page {args.page!r}; pages: {', '.join(names)}", file=sys.stderr)
        return 2
    win = MainWindow(wb)
    win.resize(1280, 800)
    win.show()
    page = win.show_page(args.page)
    if args.row is not None and hasattr(page, "table"):
        if args.row < 0 and hasattr(page, "new_record"):
            page.new_record()
        else:
            page.table.selectRow(args.row)
    tabs = getattr(page, "tabs", None)
    if args.tab and tabs is None:
        print(f"error: the {args.page} page has no tabs", file=sys.stderr)
        return 2
    if args.tab and tabs is not None:
        titles = [tabs.tabText(i) for i in range(tabs.count())]
        if args.tab not in titles:
            print(f"error: no tab {args.tab!r}; tabs: {', '.join(titles)}", file=sys.stderr)
            return 2
        tabs.setCurrentIndex(titles.index(args.tab))

    def settle(ms: int = 300) -> None:
        # let layouts settle, background reads finish and pending paints run
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        while win.ops.pending:
            QTimer.singleShot(50, loop.quit)
            loop.exec()

    ours = _no_waiting_on_dialogs(app)
    settle()
    target = win
    if args.packet:
        from pathlib import Path

        from workbench.records.shipments import find_shipment

        sid = find_shipment(wb.store, args.packet)
        if sid is None:
            print(f"error: no shipment {args.packet!r}", file=sys.stderr)
            return 2
        dlg = win.export_packet([sid], args.packet)
        ours.add(dlg)  # the dialog being photographed is answered by this run
        dlg.folder.setText(str(Path(args.screenshot).resolve().parent))
        dlg.export()
        settle()
        if dlg.result is None:
            print(f"error: packet not exported: {dlg.banner.text()}", file=sys.stderr)
            return 1
        settle(500)  # the preview renders its pages asynchronously
        target = dlg
    ok = target.grab().save(args.screenshot, "PNG")
    win.ops.shutdown()
    wb.close()
    if not ok:
        print(f"error: could not write {args.screenshot}", file=sys.stderr)
        return 1
    print(args.screenshot)
    return 0


def _no_waiting_on_dialogs(app) -> set:
    """A screenshot run has nobody to answer a dialog (a passphrase, an
    error box): one that opens is named on stderr and closed, so the run ends
    with an error instead of hanging a build forever.

    Returns the set of widgets the run drives itself (add the dialog being
    photographed to it); those are left open. Side effect: a 1 s timer on
    ``app``, on the GUI thread."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDialog, QLabel, QProgressDialog

    def close_modal() -> None:
        modal = app.activeModalWidget()
        if modal is None or isinstance(modal, QProgressDialog) or modal in ours:
            return  # progress waits on the work, not on a person
        words = " ".join(w.text() for w in modal.findChildren(QLabel) if w.text())
        print(f"error: a dialog asked for an answer nobody can give here: "
              f"{modal.windowTitle()}: {words}", file=sys.stderr)
        if isinstance(modal, QDialog):
            modal.reject()
        else:
            modal.close()

    ours: set = set()
    timer = QTimer(app)
    timer.timeout.connect(close_modal)
    timer.start(1000)
    return ours


if __name__ == "__main__":
    sys.exit(main())
