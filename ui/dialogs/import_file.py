"""File → Import…: parties, items or shipments from the officer's own
spreadsheet, with every bad row listed and nothing written unless asked.

The dialog is thin: :func:`workbench.spreadsheets.imports.import_file` validates and
writes (one transaction), :func:`workbench.spreadsheets.exports.write_template` writes the
template; both run through the window's :class:`ui.kit.ops.Ops`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Workbench
from workbench.spreadsheets import exports, imports

from ui.kit.ops import Ops
from ui.kit.files import open_file_name, save_file_name

KIND_LABELS = {"parties": "Parties (customers, consignees, end users)",
               "items": "Items (chips, boards, servers)",
               "shipments": "Shipments (one row per shipment line)"}


class ImportDialog(QDialog):
    """Pick a kind and a file, import, read the report.

    Side effects: the import writes to the store (on the ops worker);
    ``on_imported(report)`` runs on the GUI thread after a write, so the
    window can refresh its lists.
    """

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None,
                 on_imported: Callable[[Any], None] | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops, self.on_imported = wb, ops, on_imported
        self.report: Any = None
        self.setWindowTitle("Import from a spreadsheet")
        self.resize(860, 560)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox()
        for k, label in KIND_LABELS.items():
            self.kind.addItem(label, k)
        form.addRow("&What", self.kind)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("A .csv or .xlsx file; columns are matched by their headers")
        browse = QPushButton("&Choose…")
        browse.clicked.connect(self.choose_file)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.good_only = QCheckBox("Import the good rows even if some rows are bad "
                                   "(the bad rows are listed and left out)")
        form.addRow("", self.good_only)
        lay.addLayout(form)
        help_ = QLabel("Nothing is written when any row is bad, unless you tick the box. "
                       "Existing records (same legal name, model or reference) are updated. "
                       "Formulas in a workbook are never evaluated.")
        help_.setWordWrap(True)
        help_.setStyleSheet("color: palette(mid);")
        lay.addWidget(help_)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary)
        self.errors = QTableWidget(0, 4)
        self.errors.setHorizontalHeaderLabels(["Row", "Column", "Value", "Problem"])
        self.errors.verticalHeader().setVisible(False)
        hh = self.errors.horizontalHeader()
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.errors.setColumnWidth(0, 60)
        self.errors.setColumnWidth(1, 140)
        self.errors.setColumnWidth(2, 180)
        self.errors.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay.addWidget(self.errors, 1)
        buttons = QDialogButtonBox()
        self.template_btn = buttons.addButton("Save &template…",
                                              QDialogButtonBox.ButtonRole.ActionRole)
        self.template_btn.clicked.connect(self.save_template)
        self.import_btn = buttons.addButton("&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_btn.clicked.connect(self.start_import)
        self.import_btn.setEnabled(wb.user.can_write)
        if not wb.user.can_write:
            self.import_btn.setToolTip("Auditors read; they do not import")
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        lay.addWidget(buttons)

    # -- actions -------------------------------------------------------------
    def choose_file(self) -> None:
        path = open_file_name(
            self, "Choose a spreadsheet", str(Path.home()),
            "Spreadsheets (*.csv *.xlsx *.txt);;All files (*)", store=self.wb.store)
        if path:
            self.path.setText(path)

    def save_template(self) -> None:
        kind = self.kind.currentData()
        dest = save_file_name(
            self, "Save an import template", str(Path.home() / f"{kind}-template.xlsx"),
            "Excel workbook (*.xlsx);;CSV (*.csv)", store=self.wb.store)
        if dest:
            self.ops.run(lambda task: exports.write_template(kind, dest),
                         success=lambda p: self.summary.setText(f"Template saved to {p}."),
                         parent=self)

    def start_import(self) -> None:
        path = self.path.text().strip()
        if not path:
            self.summary.setText("Choose a file first.")
            return
        kind, good_only = self.kind.currentData(), self.good_only.isChecked()
        self.import_btn.setEnabled(False)
        self.summary.setText(f"Importing {Path(path).name}…")
        self.ops.run(
            lambda task: imports.import_file(self.wb, kind, path, good_only=good_only,
                                             progress=task.progress, cancel=task.cancel),
            success=self._done, failure=self._failed, parent=self,
            progress=f"Importing {Path(path).name}…")

    # -- results -------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        from ui.kit.ops import error_text

        self.import_btn.setEnabled(True)
        self.summary.setText(f"<b>Not imported.</b> {error_text(exc)}")
        self.errors.setRowCount(0)

    def _done(self, report: Any) -> None:
        self.report = report
        self.import_btn.setEnabled(True)
        errs = report.errors
        self.summary.setText(report.summary())
        self.errors.setRowCount(len(errs))
        for i, e in enumerate(errs):
            for j, v in enumerate((e.row, e.column, "" if e.value is None else e.value,
                                   e.reason)):
                item = QTableWidgetItem(str(v))
                item.setToolTip(str(v))
                self.errors.setItem(i, j, item)
        if report.written and self.on_imported:
            self.on_imported(report)
