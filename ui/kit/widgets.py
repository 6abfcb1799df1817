"""Small input widgets the forms are made of: countries, record pickers,
error labels and editable child tables.

Every widget here only shows and collects values; none of them validates
beyond what typing needs — the core checks records and names bad fields.
All of them live on the GUI thread; record pickers read the store there
(one LIMIT query per keystroke pause).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import pycountry
from PySide6.QtCore import QDate, QModelIndex, QSignalBlocker, QTimer, Qt, Signal
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.db.store import Store
from workbench.records import browse
from workbench.records.values import country_name

ERROR_COLOR = "#b3261e"
ERROR_BG = QColor("#fde7e7")


# ----------------------------------------------------------------------------
# Labels
# ----------------------------------------------------------------------------
class ErrorLabel(QLabel):
    """A red message shown under a field; hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {ERROR_COLOR};")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def set_messages(self, messages: list[str]) -> None:
        text = "\n".join(m[:1].upper() + m[1:] for m in messages if m)
        self.setText(text)
        self.setVisible(bool(text))


# ----------------------------------------------------------------------------
# Choice widgets
# ----------------------------------------------------------------------------
class ChoiceCombo(QComboBox):
    """A fixed list of (value, label) choices; ``value()`` is the stored code."""

    def __init__(self, choices: list[tuple[Any, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for value, label in choices:
            self.addItem(label, value)

    def value(self) -> Any:
        return self.currentData()

    def set_value(self, value: Any) -> None:
        i = self.findData(value)
        if i < 0 and value not in (None, ""):
            # A stored value this build has no label for: keep it visible.
            self.addItem(str(value), value)
            i = self.count() - 1
        self.setCurrentIndex(max(i, 0))


def _country_choices() -> list[tuple[str, str]]:
    out = []
    for c in pycountry.countries:
        out.append((c.alpha_2, f"{country_name(c.alpha_2)} ({c.alpha_2})"))
    out.sort(key=lambda t: t[1])
    return out


_COUNTRIES: list[tuple[str, str]] | None = None


# Regions where the region of delivery decides the answer (15 CFR 746.6:
# Crimea and the so-called DNR/LNR; Zaporizhzhia and Kherson partly occupied).
DESTINATION_REGIONS = {"UA": [("UA-43", "Crimea"), ("UA-40", "Sevastopol"),
                              ("UA-14", "Donetsk region"), ("UA-09", "Luhansk region"),
                              ("UA-23", "Zaporizhzhia region"), ("UA-65", "Kherson region"),
                              ]}


class CountryCombo(QComboBox):
    """ISO 3166 countries, searchable by any part of the name or the code.

    ``value()`` is the alpha-2 code of a chosen country, or the typed text
    when it matches none (the core then says what is wrong with it).
    """

    def __init__(self, parent: QWidget | None = None, *, optional: bool = True,
                 regions: bool = False) -> None:
        super().__init__(parent)
        global _COUNTRIES
        if _COUNTRIES is None:
            _COUNTRIES = _country_choices()
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        if optional:
            self.addItem("", None)
        for code, label in _COUNTRIES:
            self.addItem(label, code)
            if regions and code in DESTINATION_REGIONS:
                for rcode, rlabel in DESTINATION_REGIONS[code]:
                    self.addItem(f"{label.rsplit(' (', 1)[0]}: {rlabel} ({rcode})", rcode)
        comp = self.completer()
        comp.setFilterMode(Qt.MatchFlag.MatchContains)
        comp.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.lineEdit().setPlaceholderText("Type a country or code")
        self.setMinimumContentsLength(18)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

    def value(self) -> str | None:
        text = self.currentText().strip()
        if not text:
            return None
        i = self.findText(text, Qt.MatchFlag.MatchFixedString)
        if i >= 0:
            return self.itemData(i)
        return text

    def set_value(self, code: str | None) -> None:
        if not code:
            self.setCurrentIndex(0 if self.itemData(0) is None else -1)
            self.setEditText("")
            return
        i = self.findData(code)
        if i >= 0:
            self.setCurrentIndex(i)
        else:
            self.setEditText(code)


class RecordPicker(QLineEdit):
    """Pick a party or an item by typing part of its name.

    Suggestions come from the core's list view search (``browse.page`` with
    a LIMIT), so this stays quick with 20,000 parties. ``value()`` is the
    chosen record's id, or None when the text names no record.
    """

    picked = Signal(object)

    def __init__(self, store: Store, view: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.view = view
        self._label_key = {"parties": "legal_name", "items": "model"}[view]
        self._id: int | None = None
        self._label = ""
        self._suggestions = QStandardItemModel(self)
        comp = QCompleter(self._suggestions, self)
        comp.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        comp.activated[QModelIndex].connect(self._on_activated)
        self.setCompleter(comp)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._suggest)
        self.textEdited.connect(self._on_edited)
        self.editingFinished.connect(self._resolve_typed)
        self.setPlaceholderText("Type to search "
                                + ("parties" if view == "parties" else "items"))

    def _on_edited(self, _text: str) -> None:
        self._id = None
        self._timer.start()

    def _rows(self, text: str, limit: int = 25) -> list[Any]:
        return browse.page(self.store, self.view, browse.Query(search=text), limit=limit)

    def _suggest(self) -> None:
        text = self.text().strip()
        self._suggestions.clear()
        if not text:
            return
        for r in self._rows(text):
            label = r[self._label_key]
            if self.view == "items" and r["manufacturer"]:
                label = f"{label} — {r['manufacturer']}"
            it = QStandardItem(label)
            it.setData(r["id"], Qt.ItemDataRole.UserRole)
            it.setData(r[self._label_key], Qt.ItemDataRole.UserRole + 1)
            self._suggestions.appendRow(it)
        self.completer().complete()

    def _on_activated(self, index: QModelIndex) -> None:
        rid = index.data(Qt.ItemDataRole.UserRole)
        label = index.data(Qt.ItemDataRole.UserRole + 1)
        if rid is not None:
            self._set(int(rid), label)
            self.picked.emit(self._id)

    def _resolve_typed(self) -> None:
        """Accept a typed name that matches exactly one record's name."""
        text = self.text().strip()
        if self._id is not None or not text:
            return
        exact = [r for r in self._rows(text, 50)
                 if str(r[self._label_key]).casefold() == text.casefold()]
        if len(exact) == 1:
            self._set(exact[0]["id"], exact[0][self._label_key])
            self.picked.emit(self._id)

    def _set(self, rid: int | None, label: str) -> None:
        self._id, self._label = rid, label or ""
        with QSignalBlocker(self):
            self.setText(self._label)
        self.setToolTip(f"{self._label} (#{rid})" if rid is not None else "")

    def value(self) -> int | None:
        if self._id is None:
            self._resolve_typed()
        return self._id

    def set_value(self, rid: int | None) -> None:
        if rid is None:
            self._set(None, "")
            return
        label = self._lookup_label(int(rid))
        self._set(int(rid), label)

    def _lookup_label(self, rid: int) -> str:
        from workbench.records import items, parties
        from workbench.errors import NotFound
        try:
            if self.view == "parties":
                return parties.get_party(self.store, rid)["legal_name"]
            return items.get_item(self.store, rid)["model"]
        except NotFound:
            return f"#{rid} (missing)"


class DateField(QDateEdit):
    """An ISO date (YYYY-MM-DD) with a calendar pop-up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDisplayFormat("yyyy-MM-dd")
        self.setCalendarPopup(True)
        self.setDate(QDate.currentDate())

    def value(self) -> str:
        return self.date().toString("yyyy-MM-dd")

    def set_value(self, iso: str | None) -> None:
        d = QDate.fromString(iso or "", "yyyy-MM-dd")
        self.setDate(d if d.isValid() else QDate.currentDate())


# ----------------------------------------------------------------------------
# Generic value access (forms map field names to any of these widgets)
# ----------------------------------------------------------------------------
def get_value(w: QWidget) -> Any:
    if isinstance(w, (ChoiceCombo, CountryCombo, RecordPicker, DateField)):
        return w.value()
    if isinstance(w, QPlainTextEdit):
        return w.toPlainText()
    if isinstance(w, QLineEdit):
        return w.text()
    if isinstance(w, QComboBox):
        return w.currentText()
    raise TypeError(type(w))


def set_value(w: QWidget, value: Any) -> None:
    if isinstance(w, (ChoiceCombo, CountryCombo, RecordPicker, DateField)):
        w.set_value(value)
    elif isinstance(w, QPlainTextEdit):
        w.setPlainText("" if value is None else str(value))
    elif isinstance(w, QLineEdit):
        w.setText("" if value is None else _fmt(value))
    elif isinstance(w, QComboBox):
        w.setCurrentText("" if value is None else str(value))
    else:
        raise TypeError(type(w))


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def changed_signal(w: QWidget) -> Any:
    """The signal a widget emits when the person edits it."""
    if isinstance(w, QPlainTextEdit):
        return w.textChanged
    if isinstance(w, RecordPicker):
        return w.textEdited
    if isinstance(w, QLineEdit):
        return w.textEdited
    if isinstance(w, QDateEdit):
        return w.dateChanged
    if isinstance(w, QComboBox):
        return w.currentTextChanged
    raise TypeError(type(w))


# ----------------------------------------------------------------------------
# Child tables (names, addresses, lines …)
# ----------------------------------------------------------------------------
@dataclass
class ChildColumn:
    """One column of a :class:`ChildTable`.

    ``make`` builds a cell widget (combo, picker, country); without it the
    cell is plain editable text. ``width`` is a starting width in pixels
    (0 = stretch).
    """

    key: str
    label: str
    width: int = 120
    make: Callable[[], QWidget] | None = None
    default: Any = None
    counts: bool = True  # False: a default-valued column (a combo) that alone does not make a row


_PATH = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")


def split_path(path: str) -> tuple[str, int, str] | None:
    """``addresses[0].country`` → ("addresses", 0, "country")."""
    m = _PATH.match(path)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


class ChildTable(QWidget):
    """An editable table of child rows with Add/Remove buttons and, when the
    core names a problem in a row, a "Problem" column beside that row.

    ``rows()`` returns the non-blank rows as dicts (and remembers which table
    row each came from, so an error for ``names[1]`` lands on the right row).
    """

    changed = Signal()

    def __init__(self, key: str, cols: list[ChildColumn], parent: QWidget | None = None,
                 *, add_label: str = "Add",
                 fixed_rows: list[tuple[str, str]] | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.cols = cols
        self._fixed = fixed_rows
        self._sent: list[int] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.table = QTableWidget(0, len(cols) + 1, self)
        self.table.setHorizontalHeaderLabels([c.label for c in cols] + ["Problem"])
        self.table.verticalHeader().setVisible(fixed_rows is not None)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        hh = self.table.horizontalHeader()
        for i, c in enumerate(cols):
            if c.width:
                hh.resizeSection(i, c.width)
            else:
                hh.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(len(cols), QHeaderView.ResizeMode.Stretch)
        self.table.setColumnHidden(len(cols), True)
        self.table.itemChanged.connect(lambda *_: self.changed.emit())
        lay.addWidget(self.table)
        if fixed_rows is None:
            bar = QHBoxLayout()
            self.add_btn = QPushButton(f"+ {add_label}")
            self.add_btn.clicked.connect(lambda: self.add_row({}, focus=True))
            self.remove_btn = QPushButton("− Remove selected")
            self.remove_btn.clicked.connect(self._remove_selected)
            bar.addWidget(self.add_btn)
            bar.addWidget(self.remove_btn)
            bar.addStretch(1)
            lay.addLayout(bar)
        else:
            for _ in fixed_rows:
                self.add_row({})
            self.table.setVerticalHeaderLabels([label for _, label in fixed_rows])
        self.error = ErrorLabel(self)
        lay.addWidget(self.error)
        self._fit_height()

    # -- rows --------------------------------------------------------------------
    def add_row(self, values: dict[str, Any], focus: bool = False) -> None:
        r = self.table.rowCount()
        with QSignalBlocker(self.table):
            self.table.insertRow(r)
            for c_i, c in enumerate(self.cols):
                v = values.get(c.key, c.default)
                if c.make is not None:
                    w = c.make()
                    set_value(w, v)
                    changed_signal(w).connect(lambda *_: self.changed.emit())
                    self.table.setCellWidget(r, c_i, w)
                else:
                    self.table.setItem(r, c_i, QTableWidgetItem("" if v is None else _fmt(v)))
            prob = QTableWidgetItem("")
            prob.setFlags(Qt.ItemFlag.ItemIsEnabled)
            prob.setForeground(QColor(ERROR_COLOR))
            self.table.setItem(r, len(self.cols), prob)
        self._fit_height()
        if focus:
            self.table.setCurrentCell(r, 0)
            w = self.table.cellWidget(r, 0)
            (w or self.table).setFocus()
            if w is None:
                self.table.editItem(self.table.item(r, 0))
            self.changed.emit()

    def _remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for r in rows:
            self.table.removeRow(r)
        self._fit_height()
        if rows:
            self.changed.emit()

    def cell(self, row: int, key: str) -> QWidget | QTableWidgetItem | None:
        c_i = [c.key for c in self.cols].index(key)
        return self.table.cellWidget(row, c_i) or self.table.item(row, c_i)

    def _cell_value(self, r: int, c_i: int) -> Any:
        w = self.table.cellWidget(r, c_i)
        if w is not None:
            return get_value(w)
        it = self.table.item(r, c_i)
        return it.text().strip() if it is not None else ""

    def commit_edits(self) -> None:
        """Commit a cell still being typed in (Ctrl+S pressed inside a cell):
        moving focus off the editor makes its delegate write the text back."""
        from PySide6.QtWidgets import QApplication
        fw = QApplication.focusWidget()
        if fw is not None and self.table.isAncestorOf(fw) and fw is not self.table \
                and self.table.indexWidget(self.table.currentIndex()) is not fw:
            self.table.setFocus()

    def rows(self) -> list[dict[str, Any]]:
        self.commit_edits()
        out, self._sent = [], []
        for r in range(self.table.rowCount()):
            vals = {c.key: self._cell_value(r, i) for i, c in enumerate(self.cols)}
            typed = [vals[c.key] for c in self.cols if c.counts]
            if self._fixed is None and all(v in (None, "") for v in typed):
                continue  # a blank row someone added and left: not data
            if self._fixed is not None:
                vals["_row"] = self._fixed[r][0]
            out.append(vals)
            self._sent.append(r)
        return out

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        if self._fixed is not None:
            by_key = {r.get("_row"): r for r in rows}
            for r, (key, _label) in enumerate(self._fixed):
                vals = by_key.get(key, {})
                for c_i, c in enumerate(self.cols):
                    v = vals.get(c.key)
                    with QSignalBlocker(self.table):
                        self.table.item(r, c_i).setText("" if v is None else _fmt(v))
            return
        with QSignalBlocker(self.table):
            self.table.setRowCount(0)
        for row in rows:
            self.add_row(row)
        self._fit_height()

    # -- errors ------------------------------------------------------------------
    def table_row_for(self, index: int) -> int:
        """Table row of the ``index``-th row sent to the core."""
        return self._sent[index] if 0 <= index < len(self._sent) else index

    def show_errors(self, row_errors: dict[int, list[tuple[str, str]]],
                    table_errors: list[str]) -> None:
        """Mark rows: ``row_errors`` maps table row → [(column key, message)].

        The row's header turns into "⚠ n" beside the row, the bad cells get a
        red frame and a tooltip, and the messages are listed under the table
        by row number (a form panel is too narrow for a message column).
        """
        self.clear_errors()
        labels = {c.key: c.label for c in self.cols}
        lines = []
        for r, errs in sorted(row_errors.items()):
            if r >= self.table.rowCount():
                table_errors = table_errors + [m for _, m in errs]
                continue
            text = "; ".join(f"{labels.get(k, k)}: {m}" for k, m in errs)
            self.table.item(r, len(self.cols)).setText(text)
            head = QTableWidgetItem(f"⚠ {r + 1}")
            head.setForeground(QColor(ERROR_COLOR))
            head.setToolTip(text)
            self.table.setVerticalHeaderItem(r, head)
            row_name = self._fixed[r][1] if self._fixed else f"Row {r + 1}"
            lines.append(f"{row_name} — {text}")
            for k, m in errs:
                if k in labels:
                    cell = self.cell(r, k)
                    if isinstance(cell, QTableWidgetItem):
                        cell.setBackground(ERROR_BG)
                        cell.setToolTip(m)
                    elif cell is not None:
                        cell.setStyleSheet(f"border: 1px solid {ERROR_COLOR};")
                        cell.setToolTip(m)
        if row_errors:
            self.table.verticalHeader().setVisible(True)
        self.error.set_messages(table_errors + lines)

    def row_problem(self, row: int) -> str:
        """The problem text shown for a table row ("" when none)."""
        return self.table.item(row, len(self.cols)).text()

    def clear_errors(self) -> None:
        with QSignalBlocker(self.table):
            for r in range(self.table.rowCount()):
                self.table.item(r, len(self.cols)).setText("")
                if self._fixed is None:
                    self.table.setVerticalHeaderItem(r, QTableWidgetItem(str(r + 1)))
                else:
                    self.table.setVerticalHeaderItem(r, QTableWidgetItem(self._fixed[r][1]))
                for c_i, c in enumerate(self.cols):
                    w = self.table.cellWidget(r, c_i)
                    if w is not None:
                        w.setStyleSheet("")
                    elif self.table.item(r, c_i) is not None:
                        self.table.item(r, c_i).setBackground(QColor(0, 0, 0, 0))
                        self.table.item(r, c_i).setToolTip("")
        self.table.verticalHeader().setVisible(self._fixed is not None)
        self.error.set_messages([])

    def _fit_height(self) -> None:
        # Show every row (child tables are short) instead of a scroll area
        # inside the form's scroll area.
        rows = max(self.table.rowCount(), 1)
        h = (self.table.horizontalHeader().height() + 4
             + rows * self.table.verticalHeader().defaultSectionSize())
        self.table.setFixedHeight(min(h, 360))
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
