"""Record forms for parties, items, shipments and licences.

A form turns a record dict (as ``get_party`` & co. return it) into widgets
and back, and puts the core's field errors beside the widgets they name
(``addresses[0].country`` lands on the first address row). It holds no
business rule: whatever a person types is handed to the core, which decides.
GUI thread only; the record pickers read the store for suggestions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from workbench.app import Workbench
from workbench.errors import FieldError
from workbench.records import (
    items as items_mod,
    licences as licences_mod,
    parties as parties_mod,
    shipments as shipments_mod,
)

from ui.kit.widgets import (
    ChildColumn,
    ChildTable,
    ChoiceCombo,
    CountryCombo,
    DateField,
    ErrorLabel,
    RecordPicker,
    changed_signal,
    get_value,
    set_value,
    split_path,
)

ERROR_BORDER = "border: 1px solid #b3261e;"


def _text(max_height: int = 60) -> QPlainTextEdit:
    w = QPlainTextEdit()
    w.setTabChangesFocus(True)  # Tab moves on, as in every other field
    w.setFixedHeight(max_height)
    return w


class RecordForm(QWidget):
    """Base of the four master-data forms.

    Signals: ``changed`` when the person edits anything (the page tracks
    unsaved changes); ``error_at(widget)`` after errors are shown, naming the
    first widget with a problem so the page can scroll to it.
    """

    entity = ""
    noun = "record"
    title_key = "id"
    changed = Signal()
    error_at = Signal(QWidget)
    loaded = Signal(object)  # the record just shown (None: a new one)

    def __init__(self, wb: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb = wb
        self.store = wb.store
        self.record: dict[str, Any] | None = None
        self._widgets: dict[str, QWidget] = {}
        self._labels: dict[str, ErrorLabel] = {}
        self._tables: dict[str, ChildTable] = {}
        self._load_maps: dict[str, Callable[[Any], Any]] = {}
        self._dump_maps: dict[str, Callable[[Any], Any]] = {}
        self._loading = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 12, 4)
        self.banner = ErrorLabel(self)
        self.banner.setStyleSheet("color: #b3261e; background: #fde7e7;"
                                  " border: 1px solid #e8b4b0; padding: 6px;")
        self._layout.addWidget(self.banner)
        self.build()
        self._layout.addStretch(1)

    # -- building ----------------------------------------------------------------
    def build(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def section(self, title: str) -> QFormLayout:
        head = QLabel(title)
        head.setStyleSheet("font-weight: 600; margin-top: 8px;")
        self._layout.addWidget(head)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setVerticalSpacing(4)
        self._layout.addLayout(form)
        return form

    def field(self, form: QFormLayout, key: str, label: str, widget: QWidget, *,
              hint: str = "", load: Callable[[Any], Any] | None = None,
              dump: Callable[[Any], Any] | None = None) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(widget)
        if hint:
            h = QLabel(hint)
            h.setStyleSheet("color: palette(mid); font-size: 11px;")
            h.setWordWrap(True)
            lay.addWidget(h)
        err = ErrorLabel()
        lay.addWidget(err)
        form.addRow(label, box)
        widget.setObjectName(f"field_{key}")
        self._widgets[key] = widget
        self._labels[key] = err
        if load:
            self._load_maps[key] = load
        if dump:
            self._dump_maps[key] = dump
        changed_signal(widget).connect(self._on_changed)
        return widget

    def child_table(self, key: str, title: str, table: ChildTable, hint: str = "") -> ChildTable:
        head = QLabel(title)
        head.setStyleSheet("font-weight: 600; margin-top: 8px;")
        self._layout.addWidget(head)
        if hint:
            h = QLabel(hint)
            h.setWordWrap(True)
            h.setStyleSheet("color: palette(mid); font-size: 11px;")
            self._layout.addWidget(h)
        table.setObjectName(f"table_{key}")
        self._layout.addWidget(table)
        self._tables[key] = table
        table.changed.connect(self._on_changed)
        return table

    def _on_changed(self, *_: Any) -> None:
        if not self._loading:
            self.changed.emit()

    # -- record <-> widgets ------------------------------------------------------
    def defaults(self) -> dict[str, Any]:
        """Values a new record starts with."""
        return {}

    def table_rows(self, key: str, rec: dict[str, Any]) -> list[dict[str, Any]]:
        return list(rec.get(key) or [])

    def load(self, rec: dict[str, Any] | None) -> None:
        """Show ``rec`` (None: a new, empty record). Clears errors."""
        self._loading = True
        try:
            self.record = rec
            src = rec if rec is not None else self.defaults()
            for key, w in self._widgets.items():
                v = src.get(key)
                set_value(w, self._load_maps[key](v) if key in self._load_maps else v)
            for key, t in self._tables.items():
                t.set_rows(self.table_rows(key, src))
            self.clear_errors()
        finally:
            self._loading = False
        self.loaded.emit(rec)

    def collect(self) -> dict[str, Any]:
        """The record as typed, for the core to validate and save."""
        data: dict[str, Any] = {}
        if self.record is not None:
            data["id"] = self.record["id"]
            data["version"] = self.record["version"]
        for key, w in self._widgets.items():
            v = get_value(w)
            data[key] = self._dump_maps[key](v) if key in self._dump_maps else v
        for key, t in self._tables.items():
            data[key] = t.rows()
        return data

    def title(self) -> str:
        if self.record is None:
            return f"New {self.noun}"
        return f"{self.noun.capitalize()}: {self.record.get(self.title_key)}"

    # -- errors ------------------------------------------------------------------
    def clear_errors(self) -> None:
        self.banner.set_messages([])
        for key, lab in self._labels.items():
            lab.set_messages([])
            self._widgets[key].setStyleSheet("")
        for t in self._tables.values():
            t.clear_errors()

    def route(self, path: str) -> tuple[str, int | None, str] | None:
        """Where a field path goes: (table key, row, column) or (field, None, "")."""
        p = split_path(path)
        if p and p[0] in self._tables:
            return p
        if path in self._tables:
            return (path, None, "")
        if path in self._widgets:
            return (path, None, "")
        return None

    def show_errors(self, errors: list[FieldError]) -> None:
        """Put each message beside the field (or table row) it names."""
        self.clear_errors()
        fields: dict[str, list[str]] = defaultdict(list)
        rows: dict[str, dict[int, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
        table_level: dict[str, list[str]] = defaultdict(list)
        loose: list[str] = []
        for e in errors:
            r = self.route(e.field)
            if r is None:
                loose.append(f"{e.field}: {e.message}")
            elif r[1] is not None:
                t = self._tables[r[0]]
                rows[r[0]][t.table_row_for(r[1])].append((r[2], e.message))
            elif r[0] in self._tables:
                table_level[r[0]].append(e.message)
            else:
                fields[r[0]].append(e.message)
        first: QWidget | None = None
        for key in self._widgets:  # in form order, so "first" is the top one
            if key in fields:
                self._labels[key].set_messages(fields[key])
                self._widgets[key].setStyleSheet(ERROR_BORDER)
                first = first or self._widgets[key]
        for key, t in self._tables.items():
            if key in rows or key in table_level:
                t.show_errors(dict(rows.get(key, {})), table_level.get(key, []))
                first = first or t
        n = len(errors)
        summary = (f"Not saved: {n} problem{'s' if n != 1 else ''} to fix"
                   + (" (marked in red below)." if n > len(loose) else "."))
        self.banner.set_messages([summary, *loose])
        self.error_at.emit(first or self.banner)

    def widget(self, key: str) -> QWidget:
        return self._widgets[key]

    def table(self, key: str) -> ChildTable:
        return self._tables[key]

    def set_read_only(self, ro: bool) -> None:
        for w in self._widgets.values():
            if isinstance(w, (QLineEdit, QPlainTextEdit)):
                w.setReadOnly(ro)
            else:
                w.setEnabled(not ro)
        for t in self._tables.values():
            t.setEnabled(not ro)


# ----------------------------------------------------------------------------
def _choices(labels: dict[str, str]) -> Callable[[], ChoiceCombo]:
    return lambda: ChoiceCombo(list(labels.items()))


class PartyForm(RecordForm):
    """Legal name, kind, countries, other names, addresses, ids, owners."""

    entity, noun, title_key = "party", "party", "legal_name"

    def build(self) -> None:
        f = self.section("Party")
        self.field(f, "legal_name", "Legal name", QLineEdit())
        self.field(f, "kind", "Kind", ChoiceCombo(list(parties_mod.KIND_LABELS.items())))
        self.field(f, "hq_country", "HQ country", CountryCombo())
        self.field(f, "ultimate_parent_id", "Ultimate parent",
                   RecordPicker(self.store, "parties"))
        self.child_table("names", "Other names and aliases", ChildTable("names", [
            ChildColumn("name", "Name", 0),
            ChildColumn("kind", "Kind", 110, counts=False, make=_choices(
                {"": "Auto", **{k: k.capitalize() for k in parties_mod.NAME_KINDS}})),
        ], add_label="Add name"), hint="Names in other scripts (华为技术有限公司, ООО …) are "
                                      "screened like the legal name. Kind “Auto”: local for "
                                      "non-Latin scripts, alias otherwise.")
        self.child_table("addresses", "Addresses", ChildTable("addresses", [
            ChildColumn("street", "Street", 0), ChildColumn("city", "City", 95),
            ChildColumn("postcode", "Postcode", 70),
            ChildColumn("country", "Country", 150, make=CountryCombo),
        ], add_label="Add address"))
        self.child_table("registrations", "Registration ids", ChildTable("registrations", [
            ChildColumn("scheme", "Scheme", 230, counts=False,
                make=_choices(parties_mod.REGISTRATION_SCHEMES)),
            ChildColumn("value", "Value", 0),
        ], add_label="Add id"))
        self.child_table("owners", "Owners", ChildTable("owners", [
            ChildColumn("owner_id", "Owner (party)", 0,
                make=lambda: RecordPicker(self.store, "parties")),
            ChildColumn("percent", "Percent", 80),
        ], add_label="Add owner"), hint="Who owns this party, directly. Indirect ownership is "
                                        "worked out through the owners' own owners.")
        f = self.section("Contact")
        self.field(f, "website", "Website", QLineEdit())
        self.field(f, "email_domain", "E-mail domain", QLineEdit())
        self.field(f, "phone", "Phone", QLineEdit())
        self.field(f, "notes", "Notes", _text(70))

    def defaults(self) -> dict[str, Any]:
        return {"kind": "company"}

    def table_rows(self, key: str, rec: dict[str, Any]) -> list[dict[str, Any]]:
        rows = list(rec.get(key) or [])
        if key == "names":
            return [{"name": n["name"], "kind": n.get("kind") or ""} for n in rows]
        return rows

    def collect(self) -> dict[str, Any]:
        data = super().collect()
        for n in data["names"]:
            n["kind"] = n["kind"] or None
        return data


def _dc_load(v: Any) -> str:
    return {True: "yes", False: "no"}.get(v, "unknown")


class ItemForm(RecordForm):
    """Model, manufacturer, codes and the specs classification needs."""

    entity, noun, title_key = "item", "item", "model"
    PRECISIONS = list(items_mod.PRECISION_BITS)

    def build(self) -> None:
        f = self.section("Item")
        self.field(f, "model", "Model", QLineEdit())
        self.field(f, "manufacturer", "Manufacturer", QLineEdit())
        self.field(f, "description", "Description", _text(50))
        self.field(f, "hs_code", "HS code", QLineEdit(), hint="e.g. 8473.30")
        self.field(f, "eccn", "ECCN", QLineEdit(),
                   hint="When known (3A090.a, 4A090.a, EAR99); leave empty otherwise.")
        self.field(f, "uom", "Unit", ChoiceCombo([(u, u) for u in items_mod.UOMS]))
        f = self.section("Specifications")
        self.field(f, "die_area_mm2", "Die area (mm²)", QLineEdit())
        self.field(f, "memory_bandwidth_gbps", "Memory bandwidth (GB/s)", QLineEdit())
        self.field(f, "interconnect_gbps", "Chip-to-chip (GB/s)", QLineEdit())
        self.field(f, "datacenter", "Designed/marketed for data centres",
                   ChoiceCombo([("unknown", "Unknown"), ("yes", "Yes"), ("no", "No")]),
                   load=_dc_load)
        self.child_table("performance", "Dense throughput by precision", ChildTable(
            "performance", [ChildColumn("tops", "TOPS / TFLOPS (dense)", 0)],
            fixed_rows=[(p, f"{p.upper()} ({b}-bit)")
                        for p, b in items_mod.PRECISION_BITS.items()]),
            hint="Dense figures only: marketing sheets often quote sparse "
                 "throughput, which is twice the dense one.")
        f = self.section("Notes")
        self.field(f, "notes", "Notes", _text(60))

    def defaults(self) -> dict[str, Any]:
        return {"uom": "EA", "datacenter": None}

    def table_rows(self, key: str, rec: dict[str, Any]) -> list[dict[str, Any]]:
        perf = rec.get("performance") or {}
        return [{"_row": p, "tops": v} for p, v in perf.items()]

    def collect(self) -> dict[str, Any]:
        data = super().collect()
        data["performance"] = {r["_row"]: r["tops"] for r in data["performance"]
                               if r["tops"] not in (None, "")}
        return data

    def route(self, path: str) -> tuple[str, int | None, str] | None:
        if path.startswith("performance."):
            prec = path.split(".", 1)[1]
            if prec in self.PRECISIONS:
                return ("performance", self.PRECISIONS.index(prec), "tops")
            return ("performance", None, "")
        return super().route(path)


class ShipmentForm(RecordForm):
    """Reference, date, destination, status, end use, lines, parties."""

    entity, noun, title_key = "shipment", "shipment", "reference"

    def build(self) -> None:
        f = self.section("Shipment")
        self.field(f, "reference", "Reference", QLineEdit())
        self.field(f, "ship_date", "Date", DateField())
        self.field(f, "destination", "Destination", CountryCombo(regions=True))
        self.field(f, "status", "Status", ChoiceCombo(list(shipments_mod.STATUS_LABELS.items())))
        self.field(f, "end_use", "End use", _text(50))
        self.child_table("lines", "Lines", ChildTable("lines", [
            ChildColumn("item_id", "Item", 0, make=lambda: RecordPicker(self.store, "items")),
            ChildColumn("quantity", "Quantity", 75),
            ChildColumn("unit_value", "Unit value", 100),
            ChildColumn("currency", "Currency", 70, default="USD", counts=False),
        ], add_label="Add line"))
        self.child_table("parties", "Parties by role", ChildTable("parties", [
            ChildColumn("role", "Role", 190, counts=False, make=_choices(shipments_mod.ROLE_LABELS)),
            ChildColumn("party_id", "Party", 0, make=lambda: RecordPicker(self.store, "parties")),
        ], add_label="Add party"))
        f = self.section("Notes")
        self.field(f, "notes", "Notes", _text(60))

    def defaults(self) -> dict[str, Any]:
        return {"status": "draft"}


_LICENCE_ROLE_LABELS = {r: r.replace("_", " ").capitalize() for r in licences_mod.PARTY_ROLES}


class LicenceForm(RecordForm):
    """What the licence document says: number, agency, dates, parties, lines."""

    entity, noun, title_key = "licence", "licence", "number"

    def build(self) -> None:
        f = self.section("Licence")
        self.field(f, "number", "Number", QLineEdit())
        self.field(f, "agency", "Agency", ChoiceCombo([(a, a) for a in licences_mod.AGENCIES]))
        self.field(f, "type", "Type", QLineEdit(), hint="e.g. BIS-748P (approved)")
        self.field(f, "issue_date", "Issued", DateField())
        self.field(f, "expiry_date", "Expires", DateField())
        self.child_table("lines", "Lines", ChildTable("lines", [
            ChildColumn("eccn", "ECCN", 85), ChildColumn("description", "Description", 0),
            ChildColumn("quantity", "Quantity", 75), ChildColumn("value", "Value", 110),
            ChildColumn("currency", "Currency", 70, default="USD", counts=False),
        ], add_label="Add line"))
        self.child_table("parties", "Parties", ChildTable("parties", [
            ChildColumn("role", "Role", 170, counts=False, make=_choices(_LICENCE_ROLE_LABELS)),
            ChildColumn("party_id", "Party", 0, make=lambda: RecordPicker(self.store, "parties")),
        ], add_label="Add party"))
        f = self.section("Conditions")
        self.field(f, "conditions", "Conditions", _text(80))
        self.field(f, "riders", "Riders", _text(60))
        self.field(f, "notes", "Notes", _text(50))

    def defaults(self) -> dict[str, Any]:
        return {"agency": "BIS"}
