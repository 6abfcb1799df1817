"""Starting a checklist run for a party or a shipment.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Workbench
from workbench.checklists import runs as cs
from workbench.db.store import Store
from workbench.records import browse

from ui.kit.ops import Ops, Task, error_text
from ui.kit.views import muted_label
from ui.kit.widgets import RecordPicker


class ShipmentPicker(RecordPicker):
    """Pick a shipment by typing part of its reference (the list view's
    search, with a LIMIT, like the party picker)."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(store, "parties", parent)
        self.view = "shipments"
        self._label_key = "reference"
        self.setPlaceholderText("Type to search shipments")

    def _lookup_label(self, rid: int) -> str:
        rows = browse.page(self.store, "shipments", browse.Query(search=str(rid)), limit=50)
        return next((r["reference"] for r in rows if r["id"] == rid), f"#{rid}")


class StartDialog(QDialog):
    """Choose a party or a shipment; the checklists that apply are listed
    with the core's reasons (read on the worker), the others after them.

    ``chosen()`` is (template_id, party_id, shipment_id, open_run). GUI
    thread; the applicability read runs through ``ops``.
    """

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None, *,
                 party_id: int | None = None, shipment_id: int | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.setWindowTitle("Start a checklist")
        self.resize(780, 520)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.party_rb = QRadioButton("&Party")
        self.ship_rb = QRadioButton("&Shipment")
        self.party_rb.setChecked(shipment_id is None)
        self.ship_rb.setChecked(shipment_id is not None)
        row.addWidget(self.party_rb)
        row.addWidget(self.ship_rb)
        self.party = RecordPicker(wb.store, "parties")
        self.shipment = ShipmentPicker(wb.store)
        row.addWidget(self.party, 1)
        row.addWidget(self.shipment, 1)
        lay.addLayout(row)
        self.note = muted_label("Pick a party or a shipment; the checklists it needs are listed "
                           "with the reasons.")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        lay.addWidget(self.list, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_btn = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_btn.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.party.picked.connect(lambda pid: self.load(party_id=pid))
        self.shipment.picked.connect(lambda sid: self.load(shipment_id=sid))
        self.party_rb.toggled.connect(self._kind)
        self.list.currentItemChanged.connect(self._on_item)
        self._kind()
        if party_id is not None:
            self.party.set_value(party_id)
            self.load(party_id=party_id)
        elif shipment_id is not None:
            self.shipment.set_value(shipment_id)
            self.load(shipment_id=shipment_id)

    def _kind(self, *_a: Any) -> None:
        party = self.party_rb.isChecked()
        self.party.setVisible(party)
        self.shipment.setVisible(not party)
        (self.party if party else self.shipment).setFocus()

    def load(self, *, party_id: int | None = None, shipment_id: int | None = None) -> None:
        """List the templates for this target: suggested ones (with reasons) first."""
        if party_id is None and shipment_id is None:
            return
        store = self.wb.store
        self.note.setText("Looking up which checklists apply…")

        def work(_t: Task) -> tuple[list[dict[str, Any]], list[Any]]:
            return (cs.applicable(store, party_id=party_id, shipment_id=shipment_id),
                    cs.list_templates(store))

        self.ops.run(work, success=lambda res: self._show(res, party_id, shipment_id),
                     failure=lambda e: self.note.setText(error_text(e)), parent=self)

    def _show(self, res: tuple[list[dict[str, Any]], list[Any]], party_id: int | None,
              shipment_id: int | None) -> None:
        applies, templates = res
        self.list.clear()
        seen = set()
        for a in applies:
            tgt = a.get("party_id"), a.get("shipment_id")
            seen.add((a["template_id"], *tgt))
            state = (f"run {a['open_run']} is open — Enter opens it" if a["open_run"] else
                     f"run {a['valid_run']} is done and valid" if a["valid_run"] else
                     "not started")
            kind = "party" if a.get("party_id") is not None else "shipment"
            text = (f"★ {a['title']} — {kind} {a['label']}\n    {state}\n"
                    + "\n".join(f"    • because {r}" for r in a["reasons"]))
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, (a["template_id"], a.get("party_id"),
                                                  a.get("shipment_id"), a["open_run"]))
            self.list.addItem(it)
        scope = "party" if party_id is not None else "shipment"
        for t in templates:
            if t.scope != scope or (t.id, party_id, shipment_id) in seen:
                continue
            it = QListWidgetItem(f"{t.title} — not required by the rules for this {scope}")
            it.setForeground(Qt.GlobalColor.darkGray)
            it.setData(Qt.ItemDataRole.UserRole, (t.id, party_id, shipment_id, None))
            self.list.addItem(it)
        n = len(applies)
        self.note.setText(f"{n} checklist{'s' if n != 1 else ''} apply (★). Choose one and "
                          f"press Enter." if n else "No checklist is required by the rules; "
                          "you may still start one.")
        if self.list.count():
            self.list.setCurrentRow(0)
            self.list.setFocus()

    def _on_item(self, cur: QListWidgetItem | None, _prev: Any) -> None:
        self.start_btn.setEnabled(cur is not None)
        if cur is not None:
            self.start_btn.setText("Open" if cur.data(Qt.ItemDataRole.UserRole)[3] else "Start")

    def chosen(self) -> tuple[str, int | None, int | None, int | None] | None:
        it = self.list.currentItem()
        return None if it is None else tuple(it.data(Qt.ItemDataRole.UserRole))  # type: ignore
