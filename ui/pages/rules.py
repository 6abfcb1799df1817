"""The Rules page: packs, rules, country groups, letters, and a what-if
determination for a transaction typed in.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench import users
from workbench.app import Change, Workbench
from workbench.clearance import holds
from workbench.records import (
    items as items_mod,
    parties as parties_mod,
    shipments as shipments_mod,
)
from workbench.records.values import country_name
from workbench.rules import determinations as rstore
from workbench.rules import golden
from workbench.rules.engine import TxnError, determine
from workbench.rules.pack import Pack, PackError, builtin_pack, load_pack
from workbench.rules.whatif import number, whatif_txn

from ui.dialogs.load_pack import LoadPackDialog
from ui.kit.models import RecordsModel
from ui.kit.ops import Ops, error_text, show_error
from ui.kit.rules_html import (
    KIND_WORDS,
    UNVERIFIED_BADGE,
    number_text,
    pack_sources,
    rule_html,
    sources_html,
    validity_text,
)
from ui.kit.views import esc, heading_label, hint_label, link_browser, plain_table, tell_held
from ui.kit.widgets import (
    ChildColumn,
    ChildTable,
    ChoiceCombo,
    CountryCombo,
    DateField,
    ErrorLabel,
    RecordPicker,
    get_value,
)
from ui.panels.determination import DeterminationView
from ui.kit.files import existing_directory


# ----------------------------------------------------------------------------
# The Rules page
# ----------------------------------------------------------------------------
def _pack_columns() -> list[tuple[str, str, Callable[[dict], Any] | None]]:
    return [("in_force", "", lambda r: "● in force" if r.get("active") else ""),
            ("id", "Pack", None), ("version", "Version", None), ("as_of", "As of", None),
            ("origin", "Loaded", lambda r: r.get("origin")),
            ("sha256", "SHA-256", None)]


def _rule_columns() -> list[tuple[str, str, Callable[[dict], Any] | None]]:
    return [("title", "Title", None), ("citation", "Citation", None),
            ("valid_from", "Valid from", lambda r: r.get("valid_from") or "—"),
            ("valid_to", "Valid to", lambda r: r.get("valid_to") or "open"),
            ("verified", "Verified", lambda r: "yes" if r["verified"] else "⚠ no"),
            ("kind", "Kind", lambda r: KIND_WORDS.get(r["kind"], r["kind"])),
            ("id", "Id", None)]


def _group_columns() -> list[tuple[str, str, Callable[[dict], Any] | None]]:
    return [("name", "Group", None), ("title", "Title", None),
            ("type", "Type", None), ("count", "Members", None)]


class WhatIfForm(QWidget):
    """Date, destination, items (from the item list or typed specs), parties
    and end use → a transaction for the engine. Collecting is pure; the
    page resolves stored items and screens parties on the worker."""

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = wb.store
        self.ops = ops
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        row = QHBoxLayout()
        self.date = DateField()
        self.date.setObjectName("whatif_date")
        self.destination = CountryCombo()
        self.destination.setObjectName("whatif_destination")
        self.export_kind = ChoiceCombo([("export", "Export from the US"),
                                        ("reexport", "Reexport"),
                                        ("transfer_in_country", "Transfer in-country"),
                                        ("export_from_abroad", "Export from abroad")])
        row.addWidget(QLabel("Date"))
        row.addWidget(self.date)
        row.addSpacing(12)
        row.addWidget(QLabel("Destination"))
        row.addWidget(self.destination, 1)
        row.addSpacing(12)
        row.addWidget(self.export_kind)
        top.addRow(row)
        self.end_use = QLineEdit()
        self.end_use.setObjectName("whatif_end_use")
        self.end_use.setPlaceholderText("e.g. LLM training in a commercial data centre")
        top.addRow("End use", self.end_use)
        lay.addLayout(top)
        lay.addWidget(QLabel("<b>Items</b> — pick one from the item list (its saved specs "
                             "fill in; change them to ask “what if”), or type a model and "
                             "its dense specs"))
        self.items = ChildTable("items", [
            ChildColumn("item", "Item (pick or type a model)", 0, make=self._make_picker),
            ChildColumn("fp16", "FP16 TFLOPS", 90), ChildColumn("fp8", "FP8 TFLOPS", 85),
            ChildColumn("int8", "INT8 TOPS", 80), ChildColumn("die", "Die mm²", 70),
            ChildColumn("link", "Chip-to-chip GB/s", 115),
            ChildColumn("dc", "Data centre", 95, counts=False,
                make=lambda: ChoiceCombo([("", "Unknown"), ("yes", "Yes"), ("no", "No")])),
            ChildColumn("qty", "Qty", 55),
        ], add_label="Add item")
        self.items.setObjectName("whatif_items")
        lay.addWidget(self.items)
        lay.addWidget(QLabel("<b>Parties</b> — named parties are screened against the loaded "
                             "list snapshots"))
        self.parties = ChildTable("parties", [
            ChildColumn("role", "Role", 160, counts=False,
                make=lambda: ChoiceCombo(list(shipments_mod.ROLE_LABELS.items()))),
            ChildColumn("name", "Name", 0),
            ChildColumn("country", "Country", 170, make=CountryCombo),
            ChildColumn("hq", "HQ country", 170, make=CountryCombo),
            ChildColumn("parent_hq", "Parent's HQ", 170, make=CountryCombo),
            ChildColumn("kind", "Kind", 120, counts=False,
                make=lambda: ChoiceCombo(list(parties_mod.KIND_LABELS.items()))),
        ], add_label="Add party")
        self.parties.setObjectName("whatif_parties")
        lay.addWidget(self.parties)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        self.items.add_row({})

    def _make_picker(self) -> RecordPicker:
        p = RecordPicker(self.store, "items")
        p.picked.connect(lambda iid, p=p: self.fill_from_item(p, iid))
        return p

    def fill_from_item(self, picker: RecordPicker, item_id: int | None) -> None:
        """Show a picked item's saved specs in its row (read on the worker)."""
        if item_id is None:
            return
        store = self.store

        def done(rec: dict[str, Any]) -> None:
            t = self.items
            for r in range(t.table.rowCount()):
                if t.cell(r, "item") is not picker:
                    continue
                perf = rec.get("performance") or {}
                vals = {"fp16": perf.get("fp16") or perf.get("bf16"), "fp8": perf.get("fp8"),
                        "int8": perf.get("int8"), "die": rec.get("die_area_mm2"),
                        "link": rec.get("interconnect_gbps")}
                for k, v in vals.items():
                    cell = t.cell(r, k)
                    if isinstance(cell, QTableWidgetItem):
                        cell.setText("" if v is None else number_text(v).replace(",", ""))
                dc = t.cell(r, "dc")
                if isinstance(dc, ChoiceCombo):
                    dc.set_value({True: "yes", False: "no"}.get(rec.get("datacenter"), ""))

        self.ops.run(lambda t: items_mod.get_item(store, item_id), success=done, parent=self)

    def collect(self) -> dict[str, Any]:
        """The typed transaction: ``{date, destination, items: [{item_id |
        model + specs, quantity}], parties, end_use}``. Pure; no checks (the
        engine's schema names any problem)."""
        items = []
        t = self.items
        t.commit_edits()
        for r in range(t.table.rowCount()):
            picker = t.cell(r, "item")
            iid = picker.value() if isinstance(picker, RecordPicker) else None
            model = picker.text().strip() if isinstance(picker, RecordPicker) else ""
            vals = {c.key: self._cell(t, r, c.key) for c in t.cols if c.key != "item"}
            if iid is None and not model and not any(vals[k] for k in
                                                     ("fp16", "fp8", "int8", "die", "link")):
                continue
            it: dict[str, Any] = {"item_id": iid, "model": model or f"line {r + 1}"}
            tops = {}
            for k in ("fp16", "fp8", "int8"):
                if vals[k]:
                    tops[k] = number(vals[k])
            it["tops"] = tops
            it["die_area_mm2"] = number(vals["die"]) if vals["die"] else None
            it["interconnect_gbps"] = number(vals["link"]) if vals["link"] else None
            it["datacenter"] = {"yes": True, "no": False}.get(vals["dc"] or "")
            it["quantity"] = number(vals["qty"]) if vals["qty"] else None
            items.append(it)
        parties = []
        p = self.parties
        for row in p.rows():
            if not (row.get("name") or row.get("country") or row.get("hq")):
                continue
            parties.append({"role": row["role"], "name": row.get("name") or None,
                            "country": row.get("country"), "hq_country": row.get("hq"),
                            "parent_hq_country": row.get("parent_hq"), "kind": row.get("kind")})
        return {"date": self.date.value(), "destination": self.destination.value() or "",
                "export_kind": self.export_kind.value(),
                "end_use": self.end_use.text().strip() or None,
                "items": items, "parties": parties}

    @staticmethod
    def _cell(t: ChildTable, r: int, key: str) -> Any:
        c = t.cell(r, key)
        if c is None:
            return ""
        if isinstance(c, QWidget):
            v = get_value(c)
            return "" if v is None else v
        return c.text().strip()


class RulesPage(QWidget):
    """Packs, rules with citations, country groups, loading a new pack (diff
    and impact first) and what-if determinations.

    Reads run on the Ops worker when the page is first shown and after a
    pack is put in force; a loaded :class:`Pack` is immutable, so rendering
    it on the GUI thread needs no store. ``saved(Change)`` after a pack is
    put in force.
    """

    saved = Signal(object)
    refreshed = Signal()
    whatif_done = Signal()

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.packs: dict[str, Pack] = {}  # sha256 → pack
        self.pack: Pack | None = None  # the pack selected in the list
        self.active_sha: str | None = None
        self.load_dialog: LoadPackDialog | None = None
        self.whatif_result: dict[str, Any] | None = None
        self._loaded = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        top.addWidget(heading_label("Rules"))
        top.addSpacing(12)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.summary, 1)
        self.load_btn = QPushButton("Load pack…")
        self.load_btn.setToolTip("Choose a rules pack folder: it is checked, and you see what "
                                 "it changes before you put it in force")
        self.load_btn.clicked.connect(self.choose_pack_folder)
        self.load_btn.setEnabled(wb.user.can_write)
        top.addWidget(self.load_btn)
        lay.addLayout(top)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        lay.addWidget(self.tabs, 1)
        self._build_rules_tab()
        self._build_groups_tab()
        self._build_whatif_tab()
        self._build_letters_tab()

    # -- building ------------------------------------------------------------
    def _build_rules_tab(self) -> None:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addWidget(QLabel("<b>Loaded packs</b> — select one to read its rules; the one "
                             "marked ● decides determinations"))
        self.pack_model = RecordsModel(_pack_columns(), self)
        self.pack_model.colors = lambda r, k: QColor("#1e6b34") if k == "in_force" else None
        self.pack_table = plain_table(self.pack_model, [90, 230, 90, 90, 210])
        self.pack_table.setFixedHeight(24 * 3 + 28)
        self.pack_table.selectionModel().currentRowChanged.connect(self._on_pack_row)
        lay.addWidget(self.pack_table)
        self.disclaimer = QLabel()
        self.disclaimer.setWordWrap(True)
        self.disclaimer.setStyleSheet("color: palette(mid); font-style: italic;")
        lay.addWidget(self.disclaimer)
        bar = QHBoxLayout()
        self.rule_search = QLineEdit()
        self.rule_search.setObjectName("search")
        self.rule_search.setClearButtonEnabled(True)
        self.rule_search.setPlaceholderText("Search rules by id, title or citation…  (Ctrl+F)")
        bar.addWidget(self.rule_search, 1)
        self.kind_filter = ChoiceCombo([(None, "All kinds"), *KIND_WORDS.items()])
        bar.addWidget(self.kind_filter)
        self.rule_count = QLabel()
        self.rule_count.setStyleSheet("color: palette(mid);")
        bar.addWidget(self.rule_count)
        lay.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.rule_model = RecordsModel(_rule_columns(), self)
        self.rule_model.colors = lambda r, k: (QColor("#8a6100")
                                               if k == "verified" and not r["verified"] else None)
        self.rule_model.tooltips = lambda r, k: r.get("title")
        self.rule_proxy = QSortFilterProxyModel(self)
        self.rule_proxy.setSourceModel(self.rule_model)
        self.rule_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.rule_proxy.setFilterKeyColumn(-1)
        self.rule_search.textChanged.connect(self._filter_rules)
        self.kind_filter.currentIndexChanged.connect(lambda *_: self._filter_rules())
        self.rule_table = plain_table(self.rule_proxy, [230, 160, 88, 88, 62, 105])
        self.rule_table.setSortingEnabled(True)
        self.rule_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.rule_table.selectionModel().currentRowChanged.connect(self._on_rule_row)
        split.addWidget(self.rule_table)
        self.rule_detail = link_browser()
        self.rule_detail.setObjectName("rule_detail")
        split.addWidget(self.rule_detail)
        split.setSizes([700, 420])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)
        self.tabs.addTab(w, "Packs and rules")

    def _build_letters_tab(self) -> None:
        """Is-informed letters: the company-specific overlays of the pack in
        force, whether each is in force for this exporter, and the record."""
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addWidget(hint_label(
            "BIS can inform one exporter by letter that a licence is needed (e.g. NVIDIA's "
            "H20 letter of April 2025). Record a letter your company received: its overlay "
            "then applies to your determinations, and determinations saved before it are out "
            "of date until made again."))
        bar = QHBoxLayout()
        self.letter_overlay = QComboBox()
        self.letter_overlay.setMinimumWidth(260)
        self.letter_date = DateField()
        self.letter_ref = QLineEdit()
        self.letter_ref.setPlaceholderText("Reference on the letter")
        self.letter_ref.setMinimumWidth(260)
        self.letter_receive_btn = QPushButton("Record letter")
        self.letter_receive_btn.clicked.connect(lambda: self.record_letter(True))
        self.letter_withdraw_btn = QPushButton("Withdraw")
        self.letter_withdraw_btn.setToolTip("The letter no longer applies (e.g. rescinded)")
        self.letter_withdraw_btn.clicked.connect(lambda: self.record_letter(False))
        for x in (QLabel("Overlay"), self.letter_overlay, QLabel("received"), self.letter_date,
                  self.letter_ref, self.letter_receive_btn, self.letter_withdraw_btn):
            bar.addWidget(x)
        bar.addStretch(1)
        for b in (self.letter_receive_btn, self.letter_withdraw_btn):
            b.setEnabled(self.wb.user.can_write)
        lay.addLayout(bar)
        self.letter_note = QLabel()
        self.letter_note.setWordWrap(True)
        lay.addWidget(self.letter_note)
        self.letter_model = RecordsModel([
            ("recorded_at", "Recorded (UTC)", lambda r: r["recorded_at"][:16].replace("T", " ")),
            ("action", "Action", lambda r: "received" if r["active"] else "withdrawn"),
            ("overlay_id", "Overlay", None), ("received_on", "Letter date", None),
            ("reference", "Reference", None), ("recorded_by", "By", None)], self)
        self.letter_table = plain_table(self.letter_model, [130, 80, 200, 90, 220, 80])
        lay.addWidget(self.letter_table, 1)
        self.tabs.addTab(w, "Is-informed letters")

    def load_letters(self) -> None:
        """Read the letter record (worker thread) and fill the tab."""
        store = self.wb.store

        def work(_t: Any) -> tuple[list[dict[str, Any]], list[str], Pack]:
            return rstore.letters(store), rstore.active_letters(store), rstore.active_pack(store)

        def done(res: tuple[list[dict[str, Any]], list[str], Pack]) -> None:
            rows, now, pack = res
            self.letter_model.set_rows(list(reversed(rows)))
            keep = self.letter_overlay.currentData()
            self.letter_overlay.clear()
            for o in pack.overlays:
                if o.data.get("company_specific"):
                    mark = " (in force)" if o.id in now else ""
                    self.letter_overlay.addItem(f"{o.id}{mark}", o.id)
                    self.letter_overlay.setItemData(self.letter_overlay.count() - 1,
                                                    o.data.get("title", ""),
                                                    Qt.ItemDataRole.ToolTipRole)
            i = self.letter_overlay.findData(keep)
            self.letter_overlay.setCurrentIndex(max(i, 0))
            self.letter_note.setText(f"Letters in force: <b>{esc(', '.join(now) or 'none')}</b>")

        self.ops.run(work, success=done, parent=self)

    def record_letter(self, received: bool) -> None:
        """Record (or withdraw) the chosen letter (worker thread, audited)."""
        wb, oid = self.wb, self.letter_overlay.currentData()
        if not oid:
            return
        day, ref = self.letter_date.date().toString("yyyy-MM-dd"), self.letter_ref.text()

        def done(ch: Change) -> None:
            self.letter_ref.clear()
            self.load_letters()
            self.held_box = tell_held(self, "The letter", ch.extra.get("held") or [])
            self.saved.emit(ch)

        def failed(exc: BaseException) -> None:
            self.letter_note.setText(f"<span style='color:#8c1d18'>{esc(str(exc))}</span>")

        self.ops.run(lambda _t: holds.record_letter(wb, oid, active=received,
                                                     received_on=day if received else None,
                                                     reference=ref),
                     success=done, failure=failed, parent=self)

    def _build_groups_tab(self) -> None:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 6, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Membership on"))
        self.group_date = DateField()
        self.group_date.dateChanged.connect(lambda *_: self._fill_groups())
        bar.addWidget(self.group_date)
        bar.addWidget(hint_label("Groups change over time (Supp. No. 1 to Part 740): pick a date "
                            "to see who was a member that day."), 1)
        lay.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.group_model = RecordsModel(_group_columns(), self)
        self.group_table = plain_table(self.group_model, [150, 240, 85])
        self.group_table.selectionModel().currentRowChanged.connect(self._on_group_row)
        split.addWidget(self.group_table)
        self.group_detail = link_browser()
        self.group_detail.setObjectName("group_detail")
        split.addWidget(self.group_detail)
        split.setSizes([520, 600])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)
        self.tabs.addTab(w, "Country groups")

    def _build_whatif_tab(self) -> None:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 6, 0, 0)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        self.whatif = WhatIfForm(self.wb, self.ops)
        tl.addWidget(self.whatif)
        row = QHBoxLayout()
        self.whatif_btn = QPushButton("Determine")
        self.whatif_btn.setToolTip("Decide this hypothetical transaction (nothing is stored)")
        self.whatif_btn.setDefault(True)
        self.whatif_btn.clicked.connect(self.run_whatif)
        row.addWidget(self.whatif_btn)
        self.whatif_pack = QLabel()
        self.whatif_pack.setStyleSheet("color: palette(mid);")
        row.addWidget(self.whatif_pack, 1)
        tl.addLayout(row)
        split.addWidget(top)
        self.whatif_view = DeterminationView()
        self.whatif_view.setObjectName("whatif_view")
        split.addWidget(self.whatif_view)
        split.setSizes([330, 420])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)
        self.tabs.addTab(w, "What-if")

    # -- page interface --------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._loaded:
            self.refresh()

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.rule_search.setFocus()
        self.rule_search.selectAll()

    def refresh(self) -> None:
        """Re-read the stored packs and the pack in force (worker thread)."""
        self._loaded = True
        store = self.wb.store

        def work(_t: Any) -> tuple[list[dict[str, Any]], Pack, Pack]:
            stored = rstore.list_packs(store)
            return stored, rstore.active_pack(store), builtin_pack()

        self.ops.run(work, success=self._refreshed, parent=self)
        self.load_letters()

    def _refreshed(self, res: tuple[list[dict[str, Any]], Pack, Pack]) -> None:
        stored, active, builtin = res
        self.active_sha = active.sha256
        self.packs[active.sha256] = active
        self.packs[builtin.sha256] = builtin
        rows = []
        for p in stored:
            when = f"{p['loaded_at'][:16].replace('T', ' ')} by {p['loaded_by']}"
            rows.append({**p, "origin": ("built in, stored " + when
                                         if p["sha256"] == builtin.sha256 else when),
                         "active": p["sha256"] == active.sha256})
        if builtin.sha256 not in {p["sha256"] for p in stored}:
            rows.append({"id": builtin.id, "version": builtin.version,
                         "as_of": builtin.manifest["as_of"], "sha256": builtin.sha256,
                         "origin": "built in", "active": builtin.sha256 == active.sha256})
        self.pack_model.set_rows(rows)
        self.summary.setText(f"In force: <b>{esc(active.id)} {esc(active.version)}</b> "
                             f"(as of {esc(active.manifest['as_of'])})")
        idx = next((i for i, r in enumerate(rows) if r["active"]), 0)
        self.pack_table.selectRow(idx)
        self.refreshed.emit()

    def _on_pack_row(self, current: QModelIndex, _prev: Any) -> None:
        row = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        if row is None:
            return
        sha = row["sha256"]
        if sha in self.packs:
            self.show_pack(self.packs[sha])
            return
        store = self.wb.store

        def done(pack: Pack) -> None:
            self.packs[sha] = pack
            self.show_pack(pack)

        self.ops.run(lambda t: rstore.pack_by_sha(store, sha), success=done, parent=self)

    def show_pack(self, pack: Pack) -> None:
        """Show `pack`'s rules and groups; what-ifs use it. GUI thread, no I/O."""
        self.pack = pack
        in_force = pack.sha256 == self.active_sha
        self.disclaimer.setText(
            f"{pack.manifest.get('title') or pack.id} — "
            f"{pack.manifest.get('disclaimer') or ''}")
        self._filter_rules()
        self.rule_detail.setHtml("<p style='color:#777'>Select a rule to read it: what it "
                                 "does, when it applies and where it comes from.</p>")
        if self.rule_proxy.rowCount():
            self.rule_table.selectRow(0)
        self._fill_groups()
        self.whatif_pack.setText(
            f"Uses {pack.id} {pack.version}"
            + (" (the pack in force)" if in_force else " — NOT the pack in force; select the "
               "pack marked ● above to use it"))

    def _filter_rules(self) -> None:
        kind = self.kind_filter.value()
        text = self.rule_search.text()
        # one regular expression over every column, plus the kind column
        self.rule_proxy.setFilterFixedString(text)
        if kind:
            # narrow by kind in the source model: cheap (a pack has < 100 rules)
            rows = [r for r in self._all_rules() if r["kind"] == kind]
        else:
            rows = self._all_rules()
        if rows != self.rule_model.rows:
            self.rule_model.set_rows(rows)
        n = self.rule_proxy.rowCount()
        self.rule_count.setText(f"{n} rule{'s' if n != 1 else ''}")

    def _all_rules(self) -> list[dict[str, Any]]:
        if self.pack is None:
            return []
        return [{"id": r.id, "kind": r.kind, "title": r.data.get("title"),
                 "citation": r.data.get("citation"), "valid_from": r.data.get("valid_from"),
                 "valid_to": r.data.get("valid_to"), "verified": r.verified}
                for r in self.pack.all_rules()]

    def _on_rule_row(self, current: QModelIndex, _prev: Any) -> None:
        row = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        if row is not None and self.pack is not None:
            self.show_rule(row["id"])

    def show_rule(self, rule_id: str) -> None:
        """Show one rule of the selected pack in full."""
        self.rule_detail.setHtml(rule_html(self.pack, rule_id))

    # -- country groups ----------------------------------------------------------
    def _fill_groups(self) -> None:
        pack = self.pack
        if pack is None:
            return
        date = self.group_date.value()
        cur = self.group_table.currentIndex()
        keep = cur.data(Qt.ItemDataRole.UserRole)["name"] if cur.isValid() else None
        rows = []
        for name, g in pack.groups.items():
            rows.append({"name": name, "title": g.get("title"), "type": "group",
                         "count": len(pack.members(name, date))})
        for name, s in pack.sets.items():
            rows.append({"name": name, "title": s.get("title"), "type": "derived set",
                         "count": len(pack.members(name, date))})
        self.group_model.set_rows(rows)
        names = [r["name"] for r in rows]
        self.group_table.selectRow(names.index(keep) if keep in names else 0)

    def _on_group_row(self, current: QModelIndex, _prev: Any) -> None:
        row = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        if row is not None:
            self.show_group(row["name"])

    def show_group(self, name: str) -> None:
        """Membership of a group or derived set: dated entries and who is a
        member on the chosen date."""
        pack = self.pack
        if pack is None:
            return
        date = self.group_date.value()
        now = sorted(pack.members(name, date))
        out = []
        g = pack.groups.get(name)
        s = pack.sets.get(name)
        d = g or s or {}
        out.append(f"<h3>{esc(name)} — {esc(d.get('title') or '')}</h3>")
        if s is not None:
            parts = []
            if s.get("union"):
                parts.append("members of " + ", ".join(s["union"]))
            if s.get("minus"):
                parts.append("except members of " + ", ".join(s["minus"]))
            if s.get("plus"):
                parts.append("plus " + ", ".join(s["plus"]))
            out.append(f"<p>A derived set: {esc('; '.join(parts))}"
                       + (f" ({esc(validity_text(s))})" if s.get("valid_from") or s.get("valid_to")
                          else "") + ".</p>")
        if d.get("notes"):
            out.append(f"<p><i>{esc(d['notes'])}</i></p>")
        out.append(f"<p><b>{len(now)} members on {esc(date)}:</b> "
                   + ", ".join(f"{esc(country_name(c) or c)} ({esc(c)})" for c in now)
                   + "</p>")
        if g is not None:
            dated = [m for m in g["members"] if isinstance(m, dict)]
            if dated:
                out.append("<h4>Dated membership</h4><table cellpadding='3' cellspacing='0' "
                           "border='1' style='border-collapse:collapse; border-color:#ccc'>"
                           "<tr style='background:#eef'><th>Country</th><th>Member from</th>"
                           "<th>Until</th><th>Note and source</th></tr>")
                for m in dated:
                    badge = "" if m.get("verified", True) else UNVERIFIED_BADGE + " "
                    src = ", ".join(m.get("sources") or [])
                    out.append(f"<tr><td>{esc(country_name(m['code']) or m['code'])} "
                               f"({esc(m['code'])})</td><td>{esc(m.get('from') or 'always')}</td>"
                               f"<td>{esc(m.get('to') or 'now')}</td><td>{badge}"
                               f"{esc(m.get('notes') or '')} {esc(src)}</td></tr>")
                out.append("</table>")
        aliases = [a for a in pack.aliases]
        if aliases:
            out.append("<h4>Country aliases in this pack</h4><ul>")
            for a in aliases:
                out.append(f"<li>{esc(country_name(a['code']) or a['code'])} is treated as "
                           f"{esc(country_name(a['maps_to']) or a['maps_to'])} from "
                           f"{esc(a.get('from') or 'the start')}"
                           + (f" to {esc(a['to'])}" if a.get("to") else "") + "</li>")
            out.append("</ul>")
        out.append("<p><b>Sources</b></p>"
                   + sources_html(pack_sources(pack, d.get("sources") or [])))
        self.group_detail.setHtml("".join(out))

    # -- what-if -------------------------------------------------------------------
    def run_whatif(self) -> None:
        """Determine the what-if form's transaction with the selected pack."""
        pack = self.pack
        if pack is None:
            return
        typed = self.whatif.collect()
        self.whatif.error.set_messages([])
        if not typed["items"]:
            self.whatif.error.set_messages(["Add at least one item: pick one from the list "
                                            "or type a model and its specs."])
            return
        store = self.wb.store
        self.whatif_btn.setEnabled(False)

        def work(_t: Any) -> dict[str, Any]:
            return determine(pack, whatif_txn(store, typed))

        def done(result: dict[str, Any]) -> None:
            self.whatif_btn.setEnabled(True)
            self.whatif_result = result
            self.whatif_view.show_result(result, pack, caption=(
                f"What-if with {pack.id} {pack.version} — nothing is stored."))
            self.whatif_done.emit()

        def failed(exc: BaseException) -> None:
            self.whatif_btn.setEnabled(True)
            msg = (f"The what-if cannot be decided: {exc.where} — {exc.reason}"
                   if isinstance(exc, TxnError) else error_text(exc))
            self.whatif.error.set_messages([msg])
            self.whatif_view.show_result(None)
            self.whatif_done.emit()

        self.ops.run(work, success=done, failure=failed, parent=self,
                     progress="Determining…")

    # -- loading a pack ------------------------------------------------------------
    def choose_pack_folder(self) -> None:
        folder = existing_directory(self, "Choose a rules pack folder")
        if folder:
            self.preview_pack(folder)

    def preview_pack(self, folder: str) -> None:
        """Check the pack in `folder`, then show its diff against the pack in
        force and its impact (worker thread) in a dialog to confirm."""
        store = self.wb.store

        def work(task: Any) -> tuple[Pack, dict[str, Any], dict[str, Any], bool]:
            new = load_pack(folder)
            # the pack's own test cases first: a pack that fails them is
            # refused here, before anyone is asked to approve it
            bad = golden.failures(new)
            if bad:
                raise golden.GoldenCasesFailed(new, bad)
            old = rstore.active_pack(store)
            d = rstore.diff_packs(old, new)
            imp = rstore.impact(store, new, old, hits_for=rstore.screening_hits_for(store))
            return new, d, imp, old.sha256 == new.sha256

        self.ops.run(work, success=self._show_preview, failure=self._preview_failed,
                     parent=self, progress="Checking the rules pack and its impact…")

    def _show_preview(self, res: tuple[Pack, dict[str, Any], dict[str, Any], bool]) -> None:
        new, d, imp, already = res
        approvers = users.possible_approvers(self.wb.store, self.wb.user)
        self.load_dialog = LoadPackDialog(new, d, imp, already, approvers, self)
        self.load_dialog.confirmed.connect(self.activate_pack)
        self.load_dialog.open()

    def _preview_failed(self, exc: BaseException) -> None:
        if isinstance(exc, PackError):
            box = QMessageBox(QMessageBox.Icon.Warning, "Rules pack refused",
                              f"The pack was refused; nothing was loaded.\n\nFile: {exc.file}"
                              + (f"\nWhere: {exc.where}" if exc.where else "")
                              + f"\nProblem: {exc.reason}",
                              QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.refused_box = box
        else:
            show_error(self, exc)

    def activate_pack(self, pack: Pack, approver: str, password: str) -> None:
        """Store `pack` and put it in force once `approver` confirms
        (audited; worker thread). A refusal is shown; nothing changes."""
        wb = self.wb
        self.ops.run(lambda t: holds.install_pack(wb, pack, approver=approver,
                                                  approver_password=password),
                     success=self._activated, failure=self._activation_failed,
                     parent=self, progress="Putting the pack in force…")

    def _activation_failed(self, exc: BaseException) -> None:
        self.refused_box = show_error(self, exc)

    def _activated(self, change: Change) -> None:
        self.packs.clear()
        self.refresh()
        self.held_box = tell_held(self, "The new pack", change.extra.get("held") or [])
        self.saved.emit(change)
