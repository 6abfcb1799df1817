"""Clearance, the dashboard's attention tiles, packet export and settings,
driven through the window on the demo database (pytest-qt, offscreen)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from workbench import settings
from workbench.records import shipments
from workbench.demo import DEMO_PASSWORD, EXPORTER
from workbench.clearance import status as C
from workbench.licensing import ledger as L

from flows import list_naming_johor, sign_checklists
from ui.dialogs.override_clearance import ClearanceOverrideDialog
from ui.main_window import MainWindow
from ui.pages.lists import ListsPage

PW = DEMO_PASSWORD


def open_shipment(window, wait_ops, ref: str):
    page = window.show_page("shipments")
    sid = L.find_shipment_ref(window.wb.store, ref)
    page.table.selectRow(page.model.find_row(sid))
    panel = page.clearance_panel
    page.tabs.setCurrentWidget(panel)
    wait_ops(window)
    assert panel.shipment_id == sid and panel.state is not None
    return page, panel, sid


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_clear_and_ship_through_the_window(qtbot, window, wait_ops, tmp_path) -> None:
    wb = window.wb
    _p, held, _s = open_shipment(window, wait_ops, "SO-2026-0005")  # saved as on hold
    assert "no clearance move since" in held.why_label.text()
    page, panel, sid = open_shipment(window, wait_ops, "SO-2026-0004")
    assert panel.state["status"] == "draft" and not panel.state["ok"]
    assert not panel.why_label.isVisible()
    assert "has no saved determination" in panel.reasons.text()
    assert "no override can replace this" in panel.reasons.text()
    assert not panel.buttons["ship"].isEnabled()
    # Clear before the checks are done: refused with every reason, nothing moves
    click(qtbot, panel.buttons["clear"])
    wait_ops(window)
    assert "cannot be cleared" in panel.banner.text()
    assert "has no saved determination" in panel.banner.text()
    assert shipments.get_shipment(wb.store, sid)["status"] == "draft"
    # the determination through its tab, checklists signed
    det = page.determination_panel
    page.tabs.setCurrentWidget(det)
    det.save_determination()
    wait_ops(window)
    sign_checklists(wb, sid, tmp_path / "evidence.txt")
    page.tabs.setCurrentWidget(panel)
    click(qtbot, panel.refresh_btn)
    wait_ops(window)
    assert panel.state["ok"], panel.state["reasons"]
    assert "Every condition is met" in panel.reasons.text()
    click(qtbot, panel.buttons["clear"])
    wait_ops(window)
    assert panel.state["status"] == "cleared"
    assert "is cleared" in panel.banner.text()
    # the list and the form show the new status (the form is re-read)
    assert page.form.record["status"] == "cleared"
    row = page.model.find_row(sid)
    col = page.model.column_index("status")
    assert page.model.index(row, col).data() == "Cleared"
    click(qtbot, panel.buttons["ship"])
    wait_ops(window)
    assert panel.state["status"] == "shipped"
    assert "record is closed" in panel.reasons.text()
    assert not any(b.isEnabled() for k, b in panel.buttons.items() if k != "packet")
    assert [h["action"] for h in panel.history_model.rows] == ["ship", "clear"]
    dash = window.pages["dashboard"]
    assert dash._stale  # hidden pages read later, not on every write
    window.show_page("dashboard")
    wait_ops(window)
    acts = [r["action"] for r in wb.store.all(
        "select action from audit_event where entity = 'shipment' and entity_id = ?"
        " order by seq", (str(sid),))]
    assert acts[-2:] == ["clear", "ship"]
    assert window.pages["dashboard"].tiles["status:shipped"].number.text() == "3"


def test_override_needs_a_second_person_with_the_approver_role(qtbot, window, wait_ops):
    from workbench.rules import determinations as rstore

    wb = window.wb
    sid = L.find_shipment_ref(wb.store, "SO-2026-0004")
    rstore.determine_shipment(wb, sid, hits_for=rstore.screening_hits_for(wb.store))
    page, panel, _ = open_shipment(window, wait_ops, "SO-2026-0004")
    assert {r["code"] for r in panel.state["reasons"]} == {"checklist"}
    panel.do_override("customer is urgent", "arthur", "wrong password")
    wait_ops(window)
    assert "password" in panel.banner.text().lower()
    panel.do_override("customer is urgent", "olivia", PW)
    wait_ops(window)
    assert "approver role" in panel.banner.text()
    panel.do_override("", "arthur", PW)
    wait_ops(window)
    assert "needs a reason" in panel.banner.text()
    assert shipments.get_shipment(wb.store, sid)["status"] == "draft"
    panel.do_override("Checklists signed on paper at the customer's site", "arthur", PW)
    wait_ops(window)
    assert panel.state["status"] == "cleared"
    assert "approved by arthur" in panel.banner.text()
    last = panel.history_model.rows[0]
    assert last["action"] == "override" and last["approver"] == "arthur"
    assert any("Checklist" in u["text"] for u in last["unmet"])
    # the dialog collects the same three values
    dlg = ClearanceOverrideDialog("SO-1", ["reason one"], ["arthur"], window)
    dlg.reason.setPlainText("  because  ")
    dlg.password.setText("pw")
    assert dlg.values() == ("because", "arthur", "pw")
    dlg.deleteLater()


def test_hold_block_cancel_need_reasons_and_draw_a_licence(qtbot, window, wait_ops):
    wb = window.wb
    page, panel, sid = open_shipment(window, wait_ops, "SO-2026-0004")
    panel.do_move("hold", "  ")
    wait_ops(window)
    assert "a hold needs a reason" in panel.banner.text()
    panel.do_move("hold", "waiting for the end-user statement")
    wait_ops(window)
    assert panel.state["status"] == "on_hold"
    assert "hold by owner" in panel.why_label.text()
    assert "waiting for the end-user statement" in panel.why_label.text()
    panel.do_draw(L.find_licence(wb.store, "D1190815"))
    wait_ops(window)
    assert "drawn down by 2 line(s)" in panel.banner.text()
    assert len(panel.draw_model.rows) == 2
    assert {r["licence_number"] for r in panel.draw_model.rows} == {"D1190815"}
    # a second draw of the same lines is refused, with the reason
    panel.do_draw(L.find_licence(wb.store, "D1190815"))
    wait_ops(window)
    assert "already" in panel.banner.text()
    # the dashboard: D1190815 is now fully used; its tile opens exactly that licence
    dash = window.show_page("dashboard")
    wait_ops(window)
    assert dash.tiles["on_hold"].number.text() == "2"
    assert dash.tiles["licences_nearly_used"].number.text() == "1"
    util = dict(dash.utilisation_chart.data)
    assert util["D1190815 line 1"] == 100 and util["D1187342 line 1"] == 50
    dash.tiles["licences_nearly_used"].click()
    lic = window.pages["licences"]
    assert window.current_name() == "licences" and lic.model.rowCount() == 1
    assert lic.extra_label.isVisible()
    lic.clear_extra()
    assert lic.model.rowCount() == 2
    # cancelling gives the balance back
    page, panel, sid = open_shipment(window, wait_ops, "SO-2026-0004")
    panel.do_move("cancel", "customer withdrew the order")
    wait_ops(window)
    assert panel.state["status"] == "cancelled"
    assert panel.draw_model.rows == []
    assert L.balance(wb.store, L.find_licence(wb.store, "D1190815"))["used_pct"] == 0


def test_auditor_sees_clearance_but_cannot_move_it(qtbot, demo_wb, wait_ops) -> None:
    demo_wb.login("audrey", PW)
    win = MainWindow(demo_wb)
    qtbot.addWidget(win)
    win.show()
    try:
        page, panel, _sid = open_shipment(win, wait_ops, "SO-2026-0003")
        assert [k for k, b in panel.buttons.items() if b.isEnabled()] == ["packet"]
        assert panel.draw_model.rows and panel.draw_model.rows[0]["licence_number"] == "D1187342"
    finally:
        win.ops.shutdown()


def test_dashboard_tiles_open_their_lists(qtbot, window, wait_ops) -> None:
    dash = window.pages["dashboard"]
    wait_ops(window)
    assert dash.attention is not None
    assert dash.tiles["checklists_awaiting_approval"].number.text() == "0"
    weeks = dash.screenings_chart.data
    assert len(weeks) == 12 and weeks[-1][1] >= 1  # the demo screened everything today
    dash.tiles["checklists_awaiting_approval"].click()
    cl = window.pages["checklists"]
    assert window.current_name() == "checklists" and cl.tabs.currentIndex() == 1
    window.show_page("dashboard")
    dash.tiles["parties_due"].click()
    assert cl.tabs.currentIndex() == 2
    window.show_page("dashboard")
    dash.tiles["on_hold"].click()
    ships = window.pages["shipments"]
    assert ships.model.rowCount() == 1  # SO-2026-0005 is on hold in the demo
    img = dash.grab()
    assert not img.isNull() and img.width() > 600


def _status_shown(page, sid: int) -> str:
    m = page.model
    return m.index(m.find_row(sid), m.column_index("status")).data()


def test_new_snapshot_through_the_lists_page_holds_the_shipment(qtbot, window, wait_ops,
                                                                tmp_path) -> None:
    wb = window.wb
    sid = L.find_shipment_ref(wb.store, "SO-2026-0004")
    ships = window.show_page("shipments")
    assert _status_shown(ships, sid) == "Draft"  # the table has read its rows
    lists = window.show_page("lists")
    assert isinstance(lists, ListsPage)
    lists.import_path(list_naming_johor(tmp_path))
    wait_ops(window, 30_000)
    dlg = lists.what_changed
    held = {s["reference"]: s for s in dlg.data["shipments"] if s["held"]}
    assert "SO-2026-0004" in held and held["SO-2026-0004"]["status"] == "on_hold"
    assert "Merlion AI Cloud (Johor)" in held["SO-2026-0004"]["held"]
    assert "put on hold" in dlg.summary.text()
    assert C.history(wb.store, sid)[-1]["action"] == "auto_hold"
    dlg.close()
    # The import's change reached the Shipments page through the window's one
    # route: its table no longer shows the status from before the import.
    wait_ops(window)
    assert _status_shown(window.show_page("shipments"), sid) == "On hold"


def test_packet_export_from_the_window_previews_and_is_audited(qtbot, window, wait_ops,
                                                               tmp_path) -> None:
    wb = window.wb
    page, panel, sid = open_shipment(window, wait_ops, "SO-2026-0003")
    opened = []
    orig = window.export_packet
    window.export_packet = lambda ids, ref: opened.append(orig(ids, ref)) or opened[-1]
    panel.export_packet = lambda s, r: window.export_packet([s], r)
    click(qtbot, panel.buttons["packet"])
    dlg = opened[0]
    assert dlg.rb_shipment.isChecked() and "SO-2026-0003" in dlg.name.text()
    assert EXPORTER in dlg.exporter_note.text()
    # a folder that does not exist: said, nothing written
    dlg.folder.setText(str(tmp_path / "nope"))
    dlg.export()
    assert "does not exist" in dlg.banner.text() and dlg.result is None
    assert not (tmp_path / "nope").exists()
    out = tmp_path / "out"
    out.mkdir()
    dlg.folder.setText(str(out))
    dlg.export()
    wait_ops(window, 60_000)
    res = dlg.result
    assert res is not None and res.pdf.exists() and res.xlsx.exists()
    assert dlg.doc.pageCount() >= 3 and "written and signed" in dlg.banner.text()
    assert res.packet.exporter == EXPORTER
    ev = wb.store.one("select * from audit_event where entity = 'packet' order by seq desc")
    after = json.loads(ev["after"])
    assert ev["action"] == "export" and ev["entity_id"] == res.packet.packet_id
    assert after["scope"]["shipments"] == ["SO-2026-0003"]
    assert after["files"]["pdf"]["file"] == res.pdf.name and len(after["files"]["pdf"]["sha256"]) == 64
    assert after["manifest_sha256"] == res.manifest_sha256
    # the same export again never replaces the first packet (its audit event
    # names that file's SHA-256): the second one gets a suffix
    dlg.export()
    wait_ops(window, 60_000)
    assert dlg.result.pdf.name == res.pdf.stem + "-2.pdf" and res.pdf.exists()
    # a date range that ends before it starts
    dlg.rb_dates.setChecked(True)
    dlg.date_from.setDate(dlg.date_to.date().addDays(1))
    dlg.export()
    assert "ends" in dlg.banner.text()
    # a range with no shipment says so in the officer's words
    from PySide6.QtCore import QDate

    dlg.date_from.setDate(QDate(1999, 1, 1))
    dlg.date_to.setDate(QDate(1999, 12, 31))
    dlg.export()
    wait_ops(window)
    assert "no shipment with a ship date from 1999-01-01 to 1999-12-31" in dlg.banner.text()
    dlg.close()


def test_closing_the_packet_dialog_waits_for_the_export(qtbot, window, wait_ops, tmp_path):
    sid = L.find_shipment_ref(window.wb.store, "SO-2026-0003")
    dlg = window.export_packet([sid], "SO-2026-0003")
    dlg.folder.setText(str(tmp_path))
    dlg.export()
    assert dlg.busy and not dlg.close_btn.isEnabled()
    dlg.reject()  # Esc while exporting: ignored
    assert dlg.isVisible()
    wait_ops(window, 60_000)
    assert dlg.result is not None and dlg.close_btn.isEnabled()
    dlg.reject()
    assert not dlg.isVisible()


def test_failed_packet_keeps_no_file_and_no_event(qtbot, window, wait_ops, tmp_path,
                                                  monkeypatch):
    """The disk fills up while the workbook is written, after the signed PDF:
    neither file is kept, no export is recorded, and the officer reads why."""
    from workbench.packets import xlsx

    def full(_packet, path, _manifest):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(xlsx, "write_xlsx", full)
    wb = window.wb
    sid = L.find_shipment_ref(wb.store, "SO-2026-0003")
    dlg = window.export_packet([sid], "SO-2026-0003")
    out = tmp_path / "out"
    out.mkdir()
    dlg.folder.setText(str(out))
    dlg.name.setText("p")
    dlg.export()
    wait_ops(window, 60_000)
    assert dlg.result is None
    assert wb.store.scalar("select count(*) from audit_event where entity = 'packet'") == 0
    assert list(out.iterdir()) == []
    assert "No space left on device" in dlg.banner.text()
    assert "nothing was kept" in dlg.banner.text()
    dlg.close()


def test_settings_dialog_names_the_exporter(qtbot, window, wait_ops) -> None:
    dlg = window.open_settings()
    assert dlg.exporter.text() == EXPORTER
    dlg.exporter.setText("   ")
    dlg.save()
    wait_ops(window)
    assert dlg.error.isVisible() and "cannot be empty" in dlg.error.text()
    assert settings.get(window.wb.store, settings.EXPORTER_NAME) == EXPORTER
    dlg.exporter.setText("Acme Chips Ltd")
    dlg.save()
    wait_ops(window)
    assert settings.get(window.wb.store, settings.EXPORTER_NAME) == "Acme Chips Ltd"
    import shiboken6

    assert not shiboken6.isValid(dlg) or not dlg.isVisible()  # closed (and deleted)
    ev = window.wb.store.one("select * from audit_event order by seq desc limit 1")
    assert (ev["entity"], ev["entity_id"], ev["action"]) == ("setting", "exporter_name",
                                                             "update")
    assert json.loads(ev["after"]) == {"value": "Acme Chips Ltd"}


def test_unsaved_form_edits_hold_back_status_moves(qtbot, window, wait_ops) -> None:
    """A move while the form has edits would be undone by saving the form's
    stale status: the moves wait until the edits are saved or dropped."""
    wb = window.wb
    page, panel, sid = open_shipment(window, wait_ops, "SO-2026-0004")
    assert panel.buttons["submit"].isEnabled()
    page.form._widgets["end_use"].setPlainText("Data-centre expansion in Johor, phase 2")
    assert page.dirty
    assert not any(b.isEnabled() for k, b in panel.buttons.items() if k != "packet")
    assert "unsaved edits" in panel.banner.text()
    panel.do_submit()  # even a direct call does nothing
    wait_ops(window)
    assert shipments.get_shipment(wb.store, sid)["status"] == "draft"
    page.save()
    wait_ops(window)
    assert not page.dirty and panel.buttons["submit"].isEnabled()
    assert "unsaved edits" not in panel.banner.text()
    click(qtbot, panel.buttons["submit"])
    wait_ops(window)
    assert panel.state["status"] == "in_review" and page.form.record["status"] == "in_review"
    # the form was re-read, so saving it again keeps the new status
    page.form._widgets["end_use"].setPlainText("Data-centre expansion in Johor, phase 3")
    page.save()
    wait_ops(window)
    assert shipments.get_shipment(wb.store, sid)["status"] == "in_review"


def test_message_names_the_shipment_that_moved(qtbot, window, wait_ops) -> None:
    page, panel, sid = open_shipment(window, wait_ops, "SO-2026-0004")
    panel.do_move("hold", "customer asked to wait")
    # select another shipment before the hold finishes
    other = L.find_shipment_ref(window.wb.store, "SO-2026-0003")
    page.table.selectRow(page.model.find_row(other))
    wait_ops(window)
    assert panel.shipment_id == other
    assert "SO-2026-0004" not in panel.banner.text()
    assert C.status(window.wb.store, sid)["status"] == "on_hold"
    assert C.status(window.wb.store, other)["status"] == "in_review"
