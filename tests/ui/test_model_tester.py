"""The model tester the UI tests use really checks: a model that breaks its
contract after the tester was made (and its reference dropped) aborts the
run, where a bare tester, garbage-collected at once, let it pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BROKEN = r"""
import sys
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester
from PySide6.QtWidgets import QApplication
sys.path.insert(0, sys.argv[2])
from modeltest import model_tester

class Broken(QAbstractTableModel):
    def __init__(self):
        super().__init__()
        self.rows = []
    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)
    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else 1
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        return self.rows[index.row()] if role == Qt.ItemDataRole.DisplayRole else None
    def add_two_announcing_one(self):
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.rows += ["a", "b"]
        self.endInsertRows()

app = QApplication([])
m = Broken()
if sys.argv[1] == "kept":
    model_tester(m)  # reference dropped: the model keeps it alive
else:
    QAbstractItemModelTester(m, QAbstractItemModelTester.FailureReportingMode.Fatal)
import gc; gc.collect()
m.add_two_announcing_one()
print("NOT CAUGHT")
"""


@pytest.mark.parametrize("how, caught", [("kept", True), ("bare", False)])
def test_a_broken_insert_is_caught_only_by_a_kept_tester(how: str, caught: bool) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", BROKEN, how, str(ROOT / "tests")],
                          capture_output=True, text=True, timeout=60, env=env)
    if caught:
        assert proc.returncode != 0 and "NOT CAUGHT" not in proc.stdout, proc.stdout
        assert "FAIL" in proc.stderr or "rowCount" in proc.stderr, proc.stderr
    else:  # documents why every tester is parented to its model
        assert proc.returncode == 0 and "NOT CAUGHT" in proc.stdout, proc.stderr
