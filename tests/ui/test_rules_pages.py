"""The Rules page, the item classification panel and the shipment
determination panel, on a demo database (offscreen)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path


from workbench.demo import DEMO_PASSWORD
from workbench.rules import determinations as rstore
from workbench.rules.pack import builtin_pack
from flows import edited_pack
from modeltest import model_tester

ROOT = Path(__file__).resolve().parents[2]
TEST_PACK = ROOT / "tests" / "data" / "rules" / "us-ear-advanced-computing-2026.12.2-test"


def _tester(model):
    return model_tester(model)


def _rules_page(qtbot, window, wait_ops):
    page = window.show_page("rules")
    wait_ops(window)
    qtbot.waitUntil(lambda: page.rule_model.rowCount() > 0, timeout=10_000)
    return page


def _events(wb, entity, action):
    return wb.store.all("select * from audit_event where entity = ? and action = ?"
                        " order by seq", (entity, action))


def test_rules_page_lists_builtin_pack_and_its_rules(qtbot, window, wait_ops):
    page = _rules_page(qtbot, window, wait_ops)
    testers = [_tester(m) for m in (page.pack_model, page.rule_model, page.rule_proxy,
                                    page.group_model)]
    b = builtin_pack()
    rows = page.pack_model.rows
    assert [(r["id"], r["version"], r["sha256"], r["active"]) for r in rows] == \
        [(b.id, b.version, b.sha256, True)]
    assert "in force" in page.pack_model.index(0, 0).data()
    assert b.version in page.summary.text()
    ids = [r["id"] for r in page.rule_model.rows]
    assert ids == [r.id for r in b.all_rules()]
    # a rule's detail: citation, its condition in words, sources with a link
    page.rule_search.setText("EAR.742.6.a.6.dest")
    assert page.rule_proxy.rowCount() >= 1
    page.show_rule("EAR.742.6.a.6.dest")
    text = page.rule_detail.toPlainText()
    assert "15 CFR 742.6(a)(6)" in text and "Applies when" in text
    assert "the destination is in ADVCOMP_DEST" in text
    assert "88 FR 73458" in text
    assert "govinfo.gov" in page.rule_detail.toHtml()
    # unverified rules are marked in the table
    col = [c[0] for c in page.rule_model.columns].index("verified")
    page.rule_search.clear()
    unverified = [i for i, r in enumerate(page.rule_model.rows) if not r["verified"]]
    assert unverified and "no" in page.rule_model.index(unverified[0], col).data()
    # kind filter
    page.kind_filter.set_value("exception")
    assert page.rule_proxy.rowCount() == len(b.exceptions)
    page.kind_filter.set_value(None)
    # country groups with dated membership
    page.group_date.set_value("2026-01-10")
    page.show_group("D:5")
    g = page.group_detail.toPlainText()
    assert "China (CN)" in g and "Cambodia (KH)" in g and "Dated membership" in g
    page.group_date.set_value("2026-03-01")
    page.show_group("D:5")
    assert "Cambodia (KH)" in page.group_detail.toPlainText().split("Dated membership")[1]
    assert "Cambodia (KH)" not in page.group_detail.toPlainText().split("Dated membership")[0]
    assert "Hong Kong is treated as China" in page.group_detail.toPlainText()
    del testers


def test_whatif_h100_to_china_needs_a_licence_with_citation(qtbot, window, wait_ops):
    page = _rules_page(qtbot, window, wait_ops)
    page.tabs.setCurrentIndex(2)
    f = page.whatif
    # no item: a plain message, nothing run
    page.run_whatif()
    assert "Add at least one item" in f.error.text()
    f.date.set_value("2026-09-01")
    f.destination.set_value("CN")
    picker = f.items.cell(0, "item")
    picker.set_value(rstore.find_item_ref(window.wb.store, "H100"))
    f.fill_from_item(picker, picker.value())
    wait_ops(window)
    assert f.items.cell(0, "fp16").text() == "989.5"
    f.items.cell(0, "qty").setText("8")
    # a second, typed line: a hypothetical chip given by its specs
    f.items.add_row({"fp16": "100", "die": "800", "dc": "yes"})
    f.items.cell(1, "item").setText("Hypothetical X1")
    f.parties.add_row({"role": "end_user", "name": "Beijing Test Lab", "country": "CN",
                       "hq": "CN", "kind": "research_lab"})
    with qtbot.waitSignal(page.whatif_done, timeout=10_000):
        page.run_whatif()
    r = page.whatif_result
    assert r["outcome"] == "license_required"
    assert [c["model"] for c in r["classification"]] == ["H100 SXM5 80GB", "Hypothetical X1"]
    assert r["classification"][0]["eccn"] == "3A090.a.1"
    assert r["classification"][1]["level"] == "none"
    assert r["input"]["items"][0]["quantity"] == 8
    v = page.whatif_view
    text = v.toPlainText()
    assert "Licence required" in text
    assert "15 CFR 742.6(a)(6)" in text
    assert 'href="rule:EAR.742.6.a.6.dest"' in v.toHtml()
    # one click on the citation opens the rule text and its sources in place
    assert "govinfo.gov" not in text
    v.toggle_rule("EAR.742.6.a.6.dest")
    text = v.toPlainText()
    assert "Applies when" in text and "88 FR 73458" in text and "govinfo.gov" in text
    v.toggle_rule("EAR.742.6.a.6.dest")
    assert "govinfo.gov" not in v.toPlainText()
    assert r["pack"]["sha256"][:16] in text or r["pack"]["sha256"] in v.toPlainText()


def test_whatif_bad_input_is_named(qtbot, window, wait_ops):
    page = _rules_page(qtbot, window, wait_ops)
    f = page.whatif
    f.items.cell(0, "item").setText("Typo chip")
    f.items.cell(0, "fp16").setText("lots")
    f.destination.set_value("CN")
    with qtbot.waitSignal(page.whatif_done, timeout=10_000):
        page.run_whatif()
    assert "cannot be decided" in f.error.text() and "tops" in f.error.text()


def test_item_panel_h20_outside_3a090_and_override_needs_reason(qtbot, window, wait_ops):
    wb = window.wb
    page = window.show_page("items")
    iid = rstore.find_item_ref(wb.store, "H20")
    page.table.selectRow(page.model.find_row(iid))
    panel = page.classification_panel
    with qtbot.waitSignal(panel.computed, timeout=10_000):
        page.tabs.setCurrentIndex(1)
    text = panel.view.toPlainText()
    assert "outside 3A090" in text
    assert "TPP = max over precisions = 2,368" in text
    assert "PD = TPP ÷ applicable die area" in text
    assert "ECCN 3A090 (88 FR 73458)" in text  # the rule that decided it
    assert "None recorded yet" in text
    assert panel.headline() == "Proposed: outside 3A090 (3A991 to confirm)"
    assert "For the invoice, 3A991 is proposed; confirm it" in text
    # override without a reason: refused by the core, shown in the dialog
    dlg = panel.open_override()
    dlg.eccn.setText("3A090.a")
    dlg.ok.click()
    wait_ops(window)
    assert dlg.isVisible()
    assert "reason" in dlg.reason_err.text().lower() and dlg.reason_err.isVisible()
    assert rstore.current_classification(wb.store, iid) is None
    assert not _events(wb, "item_classification", "override")
    # with a reason it is recorded and audited
    dlg.reason.setPlainText("Manufacturer letter 2026-05 classifies it 3A090.a")
    with qtbot.waitSignal(panel.computed, timeout=10_000):
        dlg.ok.click()
    assert not dlg.isVisible()
    cur = rstore.current_classification(wb.store, iid)
    assert cur["decision"] == "overridden" and cur["eccn"] == "3A090.a"
    assert len(_events(wb, "item_classification", "override")) == 1
    assert "Overridden to 3A090.a" in panel.view.toPlainText()
    assert "Manufacturer letter" in panel.view.toPlainText()
    # accepting the proposal is recorded too
    with qtbot.waitSignal(panel.computed, timeout=10_000):
        panel.accept_btn.click()
    assert rstore.current_classification(wb.store, iid)["decision"] == "accepted"
    assert len(_events(wb, "item_classification", "accept")) == 1
    assert "Accepted outside 3A090" in panel.view.toPlainText()


def test_shipment_panel_determines_saves_and_audits(qtbot, window, wait_ops):
    wb = window.wb
    page = window.show_page("shipments")
    sid = wb.store.scalar("select id from shipment where reference = 'SO-2026-0009'")
    page.table.selectRow(page.model.find_row(sid))
    panel = page.determination_panel
    page.tabs.setCurrentIndex(1)
    wait_ops(window)
    tester = _tester(panel.saved_model)
    assert panel.saved_model.rowCount() == 0
    with qtbot.waitSignal(panel.determined, timeout=10_000):
        panel.determine_btn.click()
    r = panel.result
    # planned for 2026-09-02, still a draft: judged on today, and it says so
    today = dt.date.today().isoformat()
    assert r["outcome"] == "license_required" and r["date"] == max("2026-09-02", today)
    text = panel.view.toPlainText()
    assert "Licence required" in text and "not saved yet" in text
    assert "the planned date 2026-09-02 having passed" in text
    assert "15 CFR 742.6(a)(6)" in text
    assert "Not applied" in text  # the AI Diffusion rule, switched off by its overlay
    assert r["pack"]["version"] in text
    assert not rstore.determinations(wb.store, sid)
    panel.save_btn.click()
    wait_ops(window)
    rows = rstore.determinations(wb.store, sid)
    assert len(rows) == 1 and rows[0]["outcome"] == "license_required"
    assert panel.saved_model.rowCount() == 1
    assert panel.saved_model.index(0, 3).data() == "Licence required"
    assert f"determination #{rows[0]['id']}" in panel.view.toPlainText()
    ev = _events(wb, "shipment", "determine")
    assert len(ev) == 1 and ev[0]["entity_id"] == str(sid)
    # the audit page was told (it refreshes on every save)
    log = window.pages["audit"]
    ent = log.model.column_index("entity")
    assert log.model.index(0, ent).data() == "shipment"
    del tester


def test_load_pack_shows_diff_and_impact_then_activates(qtbot, window, wait_ops):
    wb = window.wb
    sid = wb.store.scalar("select id from shipment where reference = 'SO-2026-0009'")
    saved = rstore.determine_shipment(wb, sid, hits_for=rstore.screening_hits_for(wb.store))
    page = _rules_page(qtbot, window, wait_ops)
    page.preview_pack(str(TEST_PACK))
    wait_ops(window)
    dlg = page.load_dialog
    assert dlg is not None and dlg.isVisible()
    text = dlg.text.toPlainText()
    assert "2026.12.2" in text
    assert "EXC.CNR.2026" in text and "New" in text
    assert "1 open shipment change outcome" in text
    assert "SO-2026-0009" in text and "Licence exception CNR" in text
    assert f"Determination #{saved.id}" in text
    assert rstore.active_pack(wb.store).version == builtin_pack().version
    assert "test cases pass" in text
    # the second person: the approver, typing their own password
    assert dlg.approver.currentText() == "arthur"
    dlg.password.setText(DEMO_PASSWORD)
    with qtbot.waitSignal(page.refreshed, timeout=10_000):
        dlg.activate_btn.click()
    wait_ops(window)
    assert rstore.active_pack(wb.store).version == "2026.12.2"
    assert "2026.12.2" in page.summary.text()
    active = [r for r in page.pack_model.rows if r["active"]]
    assert [r["version"] for r in active] == ["2026.12.2"]
    assert any(r["origin"].startswith("built in") for r in page.pack_model.rows)
    assert len(_events(wb, "rules_pack", "activate")) == 1


def test_refused_pack_names_the_file_and_loads_nothing(qtbot, window, wait_ops, tmp_path):
    bad = tmp_path / "bad-pack"
    shutil.copytree(TEST_PACK, bad)
    (bad / "exceptions.yaml").write_text("exceptions: []\n", encoding="utf-8")
    page = _rules_page(qtbot, window, wait_ops)
    page.preview_pack(str(bad))
    wait_ops(window)
    assert page.load_dialog is None
    box = page.refused_box
    assert "exceptions.yaml" in box.text() and "SHA-256 mismatch" in box.text()
    box.close()
    assert rstore.list_packs(window.wb.store) == []


def test_auditor_can_read_but_not_decide(qtbot, demo_wb, wait_ops):
    from ui.main_window import MainWindow

    demo_wb.login("audrey", DEMO_PASSWORD)
    win = MainWindow(demo_wb)
    qtbot.addWidget(win)
    win.show()
    try:
        page = win.show_page("items")
        page.tabs.setCurrentIndex(1)
        panel = page.classification_panel
        qtbot.waitUntil(lambda: panel.info is not None, timeout=10_000)
        assert not panel.accept_btn.isEnabled() and not panel.override_btn.isEnabled()
        ship = win.show_page("shipments")
        ship.tabs.setCurrentIndex(1)
        det = ship.determination_panel
        assert det.determine_btn.isEnabled() and not det.save_btn.isEnabled()
        rules = win.show_page("rules")
        assert not rules.load_btn.isEnabled()
        wait_ops(win)
    finally:
        win.ops.shutdown()


def test_is_informed_letter_recorded_on_the_rules_page(qtbot, window, wait_ops):
    from workbench.rules import determinations as rstore

    page = window.show_page("rules")
    wait_ops(window)
    page.tabs.setCurrentIndex(page.tabs.count() - 1)
    assert page.tabs.tabText(page.tabs.currentIndex()) == "Is-informed letters"
    ids = [page.letter_overlay.itemData(i) for i in range(page.letter_overlay.count())]
    assert "OVL.H20_IS_INFORMED" in ids
    page.letter_overlay.setCurrentIndex(ids.index("OVL.H20_IS_INFORMED"))
    page.letter_ref.setText("BIS letter of 2025-04-09")
    page.letter_receive_btn.click()
    wait_ops(window)
    assert rstore.active_letters(window.wb.store) == ["OVL.H20_IS_INFORMED"]
    assert "OVL.H20_IS_INFORMED" in page.letter_note.text()
    assert page.letter_model.rows[0]["reference"] == "BIS letter of 2025-04-09"
    assert "(in force)" in page.letter_overlay.currentText()
    page.letter_withdraw_btn.click()
    wait_ops(window)
    assert rstore.active_letters(window.wb.store) == []
    assert [r["active"] for r in page.letter_model.rows] == [0, 1]


def test_party_rule_facts_tab_records_and_removes_a_tag(qtbot, window, wait_ops):
    from workbench.rules import determinations as rstore

    page = window.show_page("parties")
    page.table.selectRow(0)
    wait_ops(window)
    panel = page.tags_panel
    page.tabs.setCurrentWidget(panel)
    pid = panel.party_id
    assert pid is not None
    before = rstore.party_tags(window.wb.store, pid)  # the demo may have recorded some
    panel.tag.setText("Approved_CSP")
    panel.record(True)  # no note: refused before any write
    assert "how you know" in panel.error.text()
    panel.note.setText("BIS approval letter 2026-08-01 on file")
    panel.add_btn.click()
    wait_ops(window)
    assert rstore.party_tags(window.wb.store, pid) == sorted([*before, "approved_csp"])
    assert "Approved cloud service provider" in panel.current.text()
    assert panel.model.rows[0]["tag"] == "approved_csp"
    panel.tag.setText("x" * 61)
    panel.note.setText("n")
    panel.add_btn.click()
    wait_ops(window)
    assert "Tag: 1 to 60 characters" in panel.error.text()
    panel.tag.setText("approved_csp")
    panel.remove_btn.click()
    wait_ops(window)
    assert rstore.party_tags(window.wb.store, pid) == before
    assert [r["present"] for r in panel.model.rows][:2] == [0, 1]
    # a common fact picked by name fills the tag the rules read
    i = panel.known.findText("Not governmental (privately owned)")
    panel.known.activated.emit(i)
    assert panel.tag.text() == "non_governmental" and panel.known.currentIndex() == 0
    panel.note.setText("Company registry extract 2026-11-02")
    panel.add_btn.click()
    wait_ops(window)
    assert "non_governmental" in rstore.party_tags(window.wb.store, pid)
    assert "Not governmental (privately owned)" in panel.current.text()


def test_activation_without_a_valid_approver_is_refused(qtbot, window, wait_ops):
    wb = window.wb
    page = _rules_page(qtbot, window, wait_ops)
    for who, pw, words in [("arthur", "wrong", "wrong password"),
                           ("owner", DEMO_PASSWORD, "different person")]:
        page.preview_pack(str(TEST_PACK))
        wait_ops(window)
        dlg = page.load_dialog
        dlg.approver.setCurrentText(who)
        dlg.password.setText(pw)
        dlg.activate_btn.click()
        wait_ops(window)
        qtbot.waitUntil(lambda: getattr(page, "refused_box", None) is not None, timeout=5000)
        assert words in page.refused_box.text()
        page.refused_box.close()
        page.refused_box = None
        assert rstore.active_pack(wb.store).version == builtin_pack().version
    assert _events(wb, "rules_pack", "activate") == []


def test_a_pack_whose_test_cases_fail_is_refused_before_approval(qtbot, window, wait_ops,
                                                                 tmp_path):
    bad = edited_pack(tmp_path / "typo-pack")
    page = _rules_page(qtbot, window, wait_ops)
    page.preview_pack(str(bad))
    wait_ops(window)
    assert page.load_dialog is None
    text = page.refused_box.text()
    assert "golden cases fail" in text and "nothing was loaded" in text
    page.refused_box.grab().save(str(tmp_path / "refused.png"))
    page.refused_box.close()
    assert rstore.active_pack(window.wb.store).version == builtin_pack().version
