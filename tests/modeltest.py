"""Qt's model tester, kept alive for as long as the model it checks.

A QAbstractItemModelTester checks a model only while it exists; one made and
dropped on the same line is garbage-collected before the model changes, so a
broken model passes. Parenting the tester to the model hands its lifetime to
Qt: it checks every change the model makes until the model is gone.
Importable because pyproject puts tests/ on sys.path.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtTest import QAbstractItemModelTester


def model_tester(model: QAbstractItemModel) -> QAbstractItemModelTester:
    """A tester that aborts the run on the first broken model contract."""
    return QAbstractItemModelTester(
        model, QAbstractItemModelTester.FailureReportingMode.Fatal, model)
