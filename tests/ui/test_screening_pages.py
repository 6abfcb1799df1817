"""The Lists and Screening pages (pytest-qt, offscreen, one demo database per test)."""

from __future__ import annotations

import csv
import http.server
import json
import socket
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.ui.file_dialogs import choose_in_file_dialog

from workbench.db import audit
from workbench.records import parties
from workbench.bootstrap import open_workbench
from workbench.screening import download, results

from modeltest import model_tester
from ui.kit.ops import Ops
from ui.pages.lists import EntryModel, ListsPage
from ui.pages.screening import ScreeningPage, rescreen_after_party_save
from ui.dialogs.what_changed import WhatChangedDialog

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"
CSL_2019 = DATA / "csl_samples" / "csl_2019_115rows.csv"
DAWNING = "Dawning Information Industry Co., Ltd."


# -- fixtures ------------------------------------------------------------------------

def _wb(tmp_path: Path, user: str = "olivia"):
    wb = open_workbench(tmp_path / "wb.db", demo=True)
    wb.login(user, "demo-password")
    return wb


@pytest.fixture
def wb(tmp_path: Path):
    w = _wb(tmp_path)
    yield w
    w.close()


@pytest.fixture
def ops(qtbot):
    o = Ops()
    yield o
    qtbot.waitUntil(lambda: o.pending == 0, timeout=20_000)
    o.shutdown()


@pytest.fixture
def idle(qtbot):
    """``idle(ops)``: wait until every queued background operation ended."""
    def wait(o: Ops, timeout: int = 20_000) -> None:
        qtbot.waitUntil(lambda: o.pending == 0, timeout=timeout)
    return wait


def _tester(model):
    return model_tester(model)  # parented to the model: checks while the model lives


class _Handler(http.server.BaseHTTPRequestHandler):
    body = CSL_2019.read_bytes()

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/consolidated.csv"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    return port


# -- Screening page --------------------------------------------------------------------

def test_adhoc_screen_shows_hikvision_hit(qtbot, wb, ops, idle) -> None:
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)  # the index is warmed in the background first
    assert page.prep_note.isHidden()
    page.name_edit.setText("HIK-VISION")
    qtbot.keyClick(page.name_edit, Qt.Key.Key_Return)
    idle(ops)
    rows = page.adhoc_model.rows
    assert rows and "Hikvision" in rows[0]["primary_name"]
    assert page.tabs.currentIndex() == page.TAB_ADHOC
    html = page.detail.toPlainText()
    assert "Hikvision" in html and "Presumption of denial" in html
    assert "SHA-256" in html  # provenance of the snapshot
    assert "1 possible match" in page.adhoc_label.text()
    # a clean name says what it was checked against
    page.name_edit.setText("Acme Widgets GmbH")
    page.screen_adhoc()
    idle(ops)
    assert page.adhoc_model.rowCount() == 0
    assert "No match" in page.adhoc_label.text()
    assert "entity_list_sample.csv" in page.adhoc_label.text()
    _tester(page.adhoc_model)


def test_adhoc_screen_in_chinese(qtbot, wb, ops, idle) -> None:
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)
    page.name_edit.setText("华为技术有限公司")
    page.screen_adhoc()
    idle(ops)
    assert [r["primary_name"] for r in page.adhoc_model.rows] == ["Huawei Technologies Co., Ltd."]


def test_false_positive_decision_clears_open_hit_and_is_audited(qtbot, wb, ops, idle) -> None:
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)
    names = [r["legal_name"] for r in page.open_model.rows]
    assert DAWNING in names
    _tester(page.open_model)
    page.open_table.selectRow(names.index(DAWNING))
    assert page.decide_btns["false_positive"].isEnabled()
    assert "Sugon" in page.detail.toPlainText()
    dlg = page.ask_decision("false_positive")
    assert dlg is not None and not dlg.ok.isEnabled()  # a reason is required
    assert not dlg.shipment_only.isVisibleTo(dlg)  # the demo hit came from "all parties"
    dlg.reason.setPlainText("Different company: our customer is the Tianjin subsidiary, "
                            "registration checked")
    dlg.expires.setChecked(True)
    assert dlg.ok.isEnabled()
    dlg.ok.click()
    idle(ops)
    assert DAWNING not in [r["legal_name"] for r in page.open_model.rows]
    assert "Recorded" in page.banner.text()
    ev = audit.events(wb.store, entity="hit_decision")
    assert ev, "the decision was not audited"
    after = ev[0]["after"]  # newest first
    after = json.loads(after) if isinstance(after, str) else after
    assert after["decision"] == "false_positive" and after["expires_on"]
    assert not [h for h in results.open_hits(wb.store) if h["legal_name"] == DAWNING]


def test_escalated_hit_stays_open_and_says_so(qtbot, wb, ops, idle) -> None:
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)
    page.open_table.selectRow(0)
    dlg = page.ask_decision("escalate")
    dlg.reason.setPlainText("Ask legal: same address as the listed entry")
    dlg.accept()
    idle(ops)
    row = next(r for r in page.open_model.rows if r["legal_name"] == DAWNING)
    assert row["status"] == "escalated"
    page.open_table.selectRow(page.open_model.rows.index(row))
    assert "Ask legal" in page.detail.toPlainText()


def test_possible_fronts_show_shared_address_and_ownership_chain(qtbot, wb, ops, idle) -> None:
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)
    kinds = {r["kind"] for r in page.front_model.rows}
    assert {"address", "ownership"} <= kinds
    _tester(page.front_model)
    own = next(i for i, r in enumerate(page.front_model.rows) if r["kind"] == "ownership")
    page.front_table.selectRow(own)
    text = page.detail.toPlainText()
    assert "55% owned by" in text and DAWNING in text
    assert not page.open_table.selectionModel().hasSelection()  # one selection per tab
    assert not page.decide_btns["true_match"].isEnabled()


def test_screen_all_refreshes_open_hits(qtbot, wb, ops, idle) -> None:
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)
    before = wb.store.scalar("select count(*) from screening_run")
    page.all_btn.click()
    idle(ops)
    assert wb.store.scalar("select count(*) from screening_run") == before + 1
    assert "Screened" in page.banner.text()
    assert DAWNING in [r["legal_name"] for r in page.open_model.rows]


def test_screen_a_file_and_save_results(qtbot, wb, ops, idle, tmp_path, monkeypatch) -> None:
    names = tmp_path / "names.csv"
    with open(names, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "country", "note"])
        w.writerow(["A1", "Hikvision", "CN", "carried"])
        w.writerow(["A2", "Acme Widgets GmbH", "DE", ""])
        w.writerow(["A3", "曙光信息产业股份有限公司", "CN", ""])
    choose_in_file_dialog(monkeypatch, str(names))
    page = ScreeningPage(wb, ops)
    qtbot.addWidget(page)
    idle(ops)
    page.file_btn.click()
    idle(ops)
    rows = page.file_model.rows
    assert [r["query"] for r in rows] == ["Hikvision", "Acme Widgets GmbH",
                                          "曙光信息产业股份有限公司"]
    assert rows[0]["hit"] and not rows[1].get("hit") and rows[2]["hit"]
    assert page.save_btn.isEnabled()
    _tester(page.file_model)
    for ext in ("xlsx", "csv"):
        out = tmp_path / f"results.{ext}"
        page.save_results_to(out)
        idle(ops)
        assert out.exists() and out.stat().st_size > 100
    text = (tmp_path / "results.csv").read_text(encoding="utf-8-sig")
    assert "Hikvision" in text and "carried" in text and "snapshot_sha256" in text


def test_auditor_can_check_names_but_not_record(qtbot, tmp_path, ops, idle) -> None:
    wb = _wb(tmp_path, "audrey")
    try:
        page = ScreeningPage(wb, ops)
        lists = ListsPage(wb, ops)
        qtbot.addWidget(page)
        qtbot.addWidget(lists)
        idle(ops)
        assert not page.all_btn.isEnabled()
        assert not lists.import_btn.isEnabled() and not lists.download_btn.isEnabled()
        page.open_table.selectRow(0)
        assert not page.decide_btns["false_positive"].isEnabled()
        assert page.ask_decision("false_positive") is None
        page.name_edit.setText("Hikvision")
        page.screen_adhoc()
        idle(ops)
        assert page.adhoc_model.rowCount() == 1
        assert lists.entry_model.rowCount() == 8  # auditors browse
    finally:
        wb.close()


def test_rescreen_after_party_save(qtbot, wb, ops, idle) -> None:
    pid = parties.find_party(wb.store, DAWNING)
    got = []
    rescreen_after_party_save(wb, ops, pid, got.append)
    idle(ops)
    assert got and got[0]["results"][0]["party_id"] == pid and got[0]["open"] == 1
    runs = wb.store.scalar("select count(*) from screening_run where scope = 'party'")
    assert runs == 1


def test_rescreen_after_party_save_without_lists_does_nothing(qtbot, tmp_path, ops, idle):
    wb = open_workbench(tmp_path / "empty.db")
    wb.create_user("owner", "long-enough-password", "admin")
    wb.login("owner", "long-enough-password")
    try:
        got = []
        rescreen_after_party_save(wb, ops, 1, got.append)
        idle(ops)
        assert got == [None]
        page = ScreeningPage(wb, ops)
        qtbot.addWidget(page)
        idle(ops)
        page.name_edit.setText("Hikvision")
        page.screen_adhoc()
        assert "No list has been imported" in page.adhoc_label.text()
        lists = ListsPage(wb, ops)
        qtbot.addWidget(lists)
        assert lists.snap_model.rowCount() == 0
        assert "No restricted-party list" in lists.entry_detail.toPlainText()
    finally:
        wb.close()


# -- Lists page ----------------------------------------------------------------------

def test_lists_page_browses_and_searches_entries(qtbot, wb, ops, idle) -> None:
    page = ListsPage(wb, ops)
    qtbot.addWidget(page)
    assert page.snap_model.rowCount() == 1
    _tester(page.snap_model)
    _tester(page.entry_model)
    assert page.entry_model.rowCount() == 8
    page.search.setText("华为")
    page._apply_search()
    assert page.entry_model.rowCount() == 1
    assert "Huawei Technologies" in page.entry_detail.toPlainText()
    assert "84 FR 22961" in page.entry_detail.toPlainText()
    page.search.setText("hikvision CN")  # every word must match
    page._apply_search()
    assert page.entry_model.rowCount() == 1
    page.search.setText("100%_nothing")  # LIKE wildcards are literal
    page._apply_search()
    assert page.entry_model.rowCount() == 0


def test_entry_model_pages_and_sorts_in_sql(qtbot, wb, ops, idle) -> None:
    from workbench.screening import snapshots

    sid = snapshots.import_list(wb, CSL_2019).id
    m = EntryModel(wb.store)
    _tester(m)
    m.set_query(sid)
    # a count and at most the first page (the live model tester reads a few rows)
    assert m.rowCount() == 115 and m.pages_fetched <= 1
    first = m.index(0, 0).data()
    m.sort(0, Qt.SortOrder.DescendingOrder)
    assert m.index(0, 0).data() != first
    assert m.pages_fetched >= 1


def test_import_through_page_shows_what_changed(qtbot, wb, ops, idle, monkeypatch) -> None:
    choose_in_file_dialog(monkeypatch, str(CSL_2019))
    page = ListsPage(wb, ops)
    qtbot.addWidget(page)
    seen = []
    page.imported.connect(seen.append)
    page.import_btn.click()
    assert not page.import_btn.isEnabled()  # no second import while one runs
    idle(ops)
    dlg = page.what_changed
    assert isinstance(dlg, WhatChangedDialog) and dlg.isVisible()
    assert seen and seen[0] is dlg.data
    assert dlg.data["totals"] == {"added": 115, "removed": 8, "changed": 0}
    assert "115" in dlg.summary.text() and "8</b> removed" in dlg.summary.text()
    for m in (dlg.new_hits, dlg.gone, dlg.shipments, dlg.entries):
        _tester(m)
    assert dlg.entries.rowCount() == 123
    assert page.snap_model.rowCount() == 2
    assert page.current_snapshot_id() == dlg.data["snapshot"]["snapshot_id"]
    assert page.entry_model.rowCount() == 115
    assert page.import_btn.isEnabled()
    dlg.close()
    # the same file again is noticed, and nothing new is written
    page.import_btn.click()
    idle(ops)
    assert "already imported" in page.banner.text()
    assert page.snap_model.rowCount() == 2


def test_what_changed_lists_the_hit_on_a_removed_entry(qtbot, wb, ops, idle) -> None:
    page = ListsPage(wb, ops)
    qtbot.addWidget(page)
    page.import_path(CSL_2019)
    idle(ops)
    assert DAWNING in [g["party"] for g in page.what_changed.data["gone"]]


def test_bad_file_says_so_and_keeps_nothing(qtbot, wb, ops, idle, tmp_path, monkeypatch):
    from ui.pages import lists as lists_page

    shown = []
    monkeypatch.setattr(lists_page, "show_error", lambda parent, exc: shown.append(exc))
    bad = tmp_path / "notalist.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    page = ListsPage(wb, ops)
    qtbot.addWidget(page)
    page.import_path(bad)
    idle(ops)
    assert "notalist.csv" in page.banner.text() and shown
    assert page.snap_model.rowCount() == 1 and page.what_changed is None


def test_download_latest_from_local_server(qtbot, wb, ops, idle, server) -> None:
    download.set_csl_url(wb, f"{server}/consolidated.csv")
    page = ListsPage(wb, ops)
    qtbot.addWidget(page)
    assert server in page.url_label.text()
    page.download_btn.click()
    idle(ops)
    dlg = page.what_changed
    assert dlg is not None and dlg.data["snapshot"]["file"] == "consolidated.csv"
    assert dlg.data["snapshot"]["entries"] == 115
    assert page.snap_model.rowCount() == 2 and page.offline_box is None


def test_download_offline_offers_file_import(qtbot, wb, ops, idle, monkeypatch) -> None:
    download.set_csl_url(wb, f"http://127.0.0.1:{_closed_port()}/consolidated.csv")
    asked = choose_in_file_dialog(monkeypatch, None)
    page = ListsPage(wb, ops)
    qtbot.addWidget(page)
    page.download_btn.click()
    idle(ops)
    box = page.offline_box
    assert box is not None and box.isVisible()
    assert "offline" in box.text() and "import the file" in box.text()
    assert page.snap_model.rowCount() == 1 and page.what_changed is None
    imp = next(b for b in box.buttons() if b.text() == "Import file…")
    imp.click()
    assert asked, "the offline message should lead to the file import"
