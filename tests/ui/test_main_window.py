"""The main window on a demo database: pages, forms, validation, roles."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

from workbench.db import audit
from workbench.records import browse, parties
from workbench.demo import DEMO_PASSWORD
from modeltest import model_tester



def test_window_opens_on_every_page(window):
    from ui.main_window import NAV

    assert window.nav.count() == len(NAV) == 10
    for name, _ in NAV:
        page = window.show_page(name)
        assert window.stack.currentWidget() is page
    assert "owner" in window.user_label.text()
    assert "Administrator" in window.user_label.text()
    assert str(window.wb.store.path) in window.db_label.text()
    assert window.pages["parties"].model.rowCount() >= 12


def test_create_party_through_form(qtbot, window, wait_ops):
    page = window.show_page("parties")
    before = page.model.rowCount()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert page.form.record is None
    name = page.form.widget("legal_name")
    qtbot.keyClicks(name, "Shenzhen Test Robotics Co., Ltd.")
    hq = page.form.widget("hq_country")
    hq.lineEdit().setText("Hong Kong (HK)")
    names = page.form.table("names")
    names.add_row({"name": "深圳测试机器人有限公司"})
    addrs = page.form.table("addresses")
    addrs.add_row({"street": "1 Test Road", "city": "Shenzhen", "country": "CN"})
    qtbot.keyClick(name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    wait_ops(window)

    assert page.form.banner.isHidden(), page.form.banner.text()
    assert page.model.rowCount() == before + 1
    pid = page.form.record["id"]
    rec = parties.get_party(window.wb.store, pid)
    assert rec["hq_country"] == "HK"
    assert rec["names"][0]["name"] == "深圳测试机器人有限公司"
    assert rec["addresses"][0]["country"] == "CN"
    # the table shows it (selected) ...
    assert page.current_key() == pid
    # ... and the audit log has the event, with the record as 'after'
    # (the party is then screened again, which records its own event above it)
    wait_ops(window)
    log = window.show_page("audit")
    log.refresh()
    entities = [log.model.data(log.model.index(r, log.model.column_index("entity")))
                for r in range(3)]
    row = entities.index("party")
    assert entities[:row] in ([], ["screening_run"])
    assert log.model.data(log.model.index(row, log.model.column_index("entity_id"))) == str(pid)
    log.table.selectRow(row)
    assert "深圳测试机器人有限公司" in log.after.toPlainText()


def test_validation_error_inline_and_nothing_written(qtbot, window, wait_ops):
    page = window.show_page("parties")
    events = browse.count(window.wb.store, "audit")
    rows = page.model.rowCount()
    page.new_record()
    # no legal name; an address with a country that does not exist
    page.form.table("addresses").add_row({"city": "Nowhere", "country": "Atlantis"})
    page.form.widget("email_domain").setText("not a domain")
    page.save()
    wait_ops(window)

    lab = page.form._labels["legal_name"]
    assert lab.isVisible() and "Required" in lab.text()
    assert "domain" in page.form._labels["email_domain"].text()
    t = page.form.table("addresses")
    problem = t.row_problem(0)
    assert "Country" in problem and "Atlantis" in problem
    assert t.table.verticalHeaderItem(0).text() == "⚠ 1"  # marked beside the row
    assert t.error.isVisible() and "Row 1" in t.error.text() and "Atlantis" in t.error.text()
    assert page.form.banner.isVisible() and "Not saved" in page.form.banner.text()
    assert browse.count(window.wb.store, "audit") == events
    assert page.model.rowCount() == rows
    # fixing it clears the errors on the next save
    page.form.widget("legal_name").setText("Atlantis Trading")
    page.form.table("addresses").show_errors({}, [])
    t.cell(0, "country").set_value("GR")
    page.form.widget("email_domain").setText("atlantis.example")
    page.save()
    wait_ops(window)
    assert not page.form._labels["legal_name"].isVisible()
    assert page.model.rowCount() == rows + 1


def test_edit_shipment_and_other_forms_save(qtbot, window, wait_ops):
    for name in ("items", "shipments", "licences"):
        page = window.show_page(name)
        page.table.selectRow(0)
        assert page.form.record is not None
        page.save()  # unchanged record saves as a new version
        wait_ops(window)
        assert page.form.banner.isHidden(), (name, page.form.banner.text())
        assert page.form.record["version"] >= 2


def test_item_performance_error_lands_on_its_row(qtbot, window, wait_ops):
    page = window.show_page("items")
    page.new_record()
    page.form.widget("model").setText("Test Accelerator X")
    perf = page.form.table("performance")
    row = page.form.PRECISIONS.index("fp16")
    perf.table.item(row, 0).setText("lots")
    page.save()
    wait_ops(window)
    assert "not a number" in perf.row_problem(row)
    assert "FP16" in perf.error.text()


def test_auditor_cannot_save(qtbot, tmp_path, wait_ops):
    from ui.main_window import MainWindow
    from workbench.bootstrap import open_workbench

    wb = open_workbench(tmp_path / "a.db", demo=True)
    wb.login("audrey", DEMO_PASSWORD)
    win = MainWindow(wb)
    qtbot.addWidget(win)
    win.show()
    page = win.show_page("parties")
    assert page.read_only and page.ro_note.isVisible()
    assert not page.save_btn.isEnabled() and not page.new_btn.isEnabled()
    assert not win.save_action.isEnabled()
    assert page.form.widget("legal_name").isReadOnly()
    events = browse.count(wb.store, "audit")
    page.form.widget("legal_name").setText("Changed by an auditor")
    page.save()
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    wait_ops(win)
    assert browse.count(wb.store, "audit") == events
    win.ops.shutdown()
    wb.close()


def test_search_filters_in_sql(qtbot, window):
    page = window.show_page("parties")
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.search.hasFocus() or window.focusWidget() is page.search
    page.search.setText("珠江")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert "Pearl River" in page.model.data(page.model.index(0, page.model.column_index("legal_name")))
    page.search.clear()
    qtbot.waitUntil(lambda: page.model.rowCount() >= 12)


def test_dashboard_counts_and_opens_filtered_list(qtbot, window):
    dash = window.show_page("dashboard")
    drafts = browse.count(window.wb.store, "shipments", browse.Query(filters={"status": "draft"}))
    assert dash.tiles["status:draft"].number.text() == str(drafts)
    dash.tiles["status:draft"].click()
    page = window.pages["shipments"]
    assert window.stack.currentWidget() is page
    assert page.model.rowCount() == drafts
    page.clear_extra() if page.extra_label.isVisible() else page.filter_combo.set_value(None)
    page.filter_combo.set_value(None)
    assert page.model.rowCount() == browse.count(window.wb.store, "shipments")


def test_audit_verify_and_filters(qtbot, window, wait_ops):
    log = window.show_page("audit")
    log.verify()
    wait_ops(window)
    res = audit.verify(window.wb.store)
    assert "Chain OK" in log.verify_label.text()
    assert res.head in log.verify_label.text()
    assert f"{res.events:,} events" in log.verify_label.text()
    log.entity_combo.set_value("shipment")
    assert log.model.rowCount() == browse.count(
        window.wb.store, "audit", browse.Query(filters={"entity": "shipment"}))
    log.user_combo.set_value("nobody-at-all")
    log.from_check.setChecked(True)
    log.to_check.setChecked(True)
    assert log.model.rowCount() >= 0


def test_backup_runs_through_ops(qtbot, window, tmp_path, wait_ops):
    dest = tmp_path / "backup.db"
    window.backup_to(str(dest))
    wait_ops(window)
    assert dest.exists() and dest.stat().st_size > 0


def test_model_tester_on_every_table_model(qtbot, window):
    from ui.kit.models import BrowseModel

    for name in browse.VIEWS:
        model = BrowseModel(window.wb.store, name)
        tester = model_tester(model)
        model.sort(1, Qt.SortOrder.DescendingOrder)
        model.set_search("a")
        model.refresh()
        model.set_search("")
        for r in range(min(model.rowCount(), 5)):
            for c in range(model.columnCount()):
                model.data(model.index(r, c))
        del tester
    # and the models the pages actually use; a tester checks only while it
    # lives, so each is kept until the end of the test
    testers = []
    for page in window.pages.values():
        if hasattr(page, "model"):
            testers.append(model_tester(page.model))
            page.model.refresh()
    assert len(testers) >= 5
