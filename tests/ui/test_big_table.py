"""The lazy table stays lazy: 100,000 shipments, only a few pages read."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from modeltest import model_tester
from bigdb import make_big_db
from ui.kit.models import PAGE_SIZE, BrowseModel
from workbench.records import browse
from workbench.demo import DEMO_PASSWORD


@pytest.fixture
def big_wb(tmp_path):
    wb = make_big_db(tmp_path / "big.db", shipments=100_000, parties=20_000)
    wb.login("owner", DEMO_PASSWORD)
    yield wb
    wb.close()


def test_scroll_100k_shipments_fetches_few_pages(qtbot, big_wb):
    from ui.main_window import MainWindow

    t0 = time.perf_counter()
    win = MainWindow(big_wb)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    page = win.show_page("shipments")
    qtbot.waitExposed(win)
    opened = time.perf_counter() - t0
    model = page.model
    assert model.rowCount() == browse.count(big_wb.store, "shipments")
    assert browse.count(big_wb.store, "shipments", browse.Query(search="BULK-")) == 100_000
    first = model.pages_fetched
    page.table.scrollToBottom()
    qtbot.wait(50)
    last = model.index(model.rowCount() - 1, model.column_index("reference"))
    assert model.data(last)  # the last row is really there
    page.table.selectRow(model.rowCount() - 1)
    assert page.form.record is not None
    assert model.pages_fetched - first <= 3, model.pages_fetched
    assert model.pages_fetched <= 5
    # sorting in SQL re-reads one page, not the table
    fetched = model.pages_fetched
    model.sort(model.column_index("reference"), Qt.SortOrder.AscendingOrder)
    page.table.scrollToTop()
    qtbot.wait(10)
    assert model.data(model.index(0, model.column_index("reference"))).startswith("BULK-0000001")
    assert model.pages_fetched - fetched <= 2  # one page re-read (plus the one scrolled to)
    print(f"opened the 100,000-shipment page in {opened:.2f} s")  # speed: bench/open_bench.py
    win.ops.shutdown()


def test_model_tester_on_big_parties(qtbot, big_wb):
    model = BrowseModel(big_wb.store, "parties")
    tester = model_tester(model)
    assert model.rowCount() == browse.count(big_wb.store, "parties") >= 20_000
    model.data(model.index(model.rowCount() - 1, 1))
    model.set_search("Bulk Party 01999")
    assert model.rowCount() == 11
    assert model.pages_fetched <= 2 + (model.rowCount() // PAGE_SIZE) + 2
    del tester  # it checked every change above
