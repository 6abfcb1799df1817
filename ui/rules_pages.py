"""Rules in the UI: the Rules page, the item classification panel and the
shipment determination panel.

- :class:`RulesPage` lists the loaded packs, the rules of the selected pack
  (with each rule's condition in words and its sources), the country groups
  with their dated membership, loads a new pack after showing its diff and
  impact, and runs what-if determinations.
- :class:`ClassificationPanel` (a tab beside the item form) shows TPP,
  performance density and the working, the proposed ECCN paragraph and the
  officer's decision; Accept / Override… go through the core.
- :class:`DeterminationPanel` (a tab beside the shipment form) determines the
  shipment on its date, saves the determination with the shipment and lists
  the saved ones.
- :class:`DeterminationView` renders one determination for a non-lawyer:
  the outcome in plain words first, then why, with every citation one click
  away (the click opens the rule's text and sources in place).

No business rule lives here: every decision is the core's
(:mod:`workbench.rules`); these widgets only format what it returns. All
store work (reads included: loading a stored pack re-verifies it) runs on
the :class:`ui.ops.Ops` worker; widgets are touched on the GUI thread only.
"""

from __future__ import annotations

import html
import re
from typing import Any, Callable

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt, QUrl, Signal)
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QPushButton,
                               QSplitter, QTableView, QTableWidgetItem, QTabWidget,
                               QTextBrowser, QVBoxLayout, QWidget)

from workbench.records import items as items_mod
from workbench.records import parties as parties_mod
from workbench.records import shipments as shipments_mod
from workbench.app import Change, Workbench
from workbench.clearance import holds
from workbench.errors import FieldError, ValidationError
from workbench.rules import determinations as rstore
from workbench.rules.engine import TxnError, determine
from workbench.rules.pack import Pack, PackError, builtin_pack, load_pack
from workbench.records.values import country_name

from ui.ops import Ops, error_text, show_error
from ui.widgets import (
    ChildTable,
    ChoiceCombo,
    Col,
    CountryCombo,
    DateField,
    ErrorLabel,
    RecordPicker,
    get_value,
)

# ----------------------------------------------------------------------------
# Plain words for what the core returns
# ----------------------------------------------------------------------------
# (headline, background, accent, what it means for the officer)
OUTCOMES: dict[str, tuple[str, str, str, str]] = {
    "license_required": (
        "Licence required", "#fde7e7", "#b3261e",
        "An export licence from BIS is needed before this can ship. Do not ship until the "
        "licence is granted and assigned to the shipment."),
    "license_exception": (
        "Licence exception {exc}", "#e8f0fe", "#1f4fb4",
        "No individual licence is needed: this can ship under License Exception {exc}, "
        "provided every obligation listed below is met first."),
    "no_license_required": (
        "No licence required", "#e6f4ea", "#1e6b34",
        "The rules in this pack do not require a licence for this shipment on this date. "
        "Screening and end-user checks still apply."),
    "prohibited": (
        "Prohibited", "#f6d5d5", "#7a1010",
        "This transaction must not go ahead: a party is on a list that forbids it. Stop "
        "and escalate."),
    "needs_review": (
        "Needs review", "#fff4ce", "#7a5a00",
        "The workbench could not decide. A person must resolve the points below before "
        "anything ships."),
}
POLICY_WORDS = {
    "presumption_of_approval": "presumption of approval (BIS expects to grant it)",
    "case_by_case": "case by case (BIS decides on the facts)",
    "presumption_of_denial": "presumption of denial (BIS expects to refuse it)",
    "policy_of_denial": "policy of denial (BIS will refuse it)",
    "see_entry": "as stated in the list entry",
}
SOURCE_TAGS = {"P": "primary text read", "S": "secondary source", "I": "inference",
               "?": "not verified"}
KIND_WORDS = {"requirement": "Requirement", "review_policy": "Review policy",
              "exception": "Licence exception", "overlay": "Overlay",
              "eccn_version": "ECCN text"}
EFFECT_WORDS = {"license_required": "a licence is required", "prohibited": "prohibited",
                "needs_review": "needs a person's review", "warning": "a warning",
                "no_license_exceptions": "no licence exception may be used",
                "suppress": "switches other rules off", "add_requirement": "adds a requirement",
                "license_exception": "licence exception used"}

# How references in pack conditions read (docs/txn-schema.md).
REF_WORDS = {
    "txn.date": "the shipment date", "txn.destination": "the destination",
    "txn.destination_entered": "the destination as entered",
    "txn.origin_country": "the country it leaves from", "txn.export_kind": "the kind of export",
    "txn.end_use": "the end use", "txn.end_use_flags": "the end-use flags",
    "txn.is_export": "it leaves the country", "txn.screened": "every party was screened",
    "txn.letters": "the is-informed letters received",
    "item.model": "the model name", "item.manufacturer": "the manufacturer",
    "item.item_type": "the item type", "item.datacenter": "designed/marketed for data centres",
    "item.die_area_mm2": "the die area (mm²)", "item.interconnect_gbps":
        "the chip-to-chip rate (GB/s)", "item.memory_bandwidth_gbps": "memory bandwidth (GB/s)",
    "item.hbm_bandwidth_density": "HBM bandwidth density", "item.eccn_claimed":
        "the ECCN entered", "item.quantity": "the quantity",
    "item.commercially_available_in_us_on": "the date it became commercially available in the US",
    "calc.tpp": "TPP", "calc.tpp_precision": "the precision giving TPP",
    "calc.pd": "performance density", "calc.eccn": "the ECCN", "calc.level":
        "the 3A090 level", "calc.advcomp": "it is an advanced-computing item",
    "calc.z_eccn": "the .z ECCN",
    "party.role": "the party's role", "party.name": "the party's name",
    "party.country": "the party's country", "party.hq_country": "the party's HQ country",
    "party.parent_hq_country": "the ultimate parent's HQ country",
    "party.kind": "the kind of party", "party.tags": "the party's recorded facts",
    "party.list_sources": "the lists the party is on",
    "party.listed_owner_pct": "the share owned by listed parties (%)",
    "party.listed_owner_sources": "the lists its owners are on",
    "hit.source": "the list", "hit.status": "the match status",
    "hit.license_requirement": "the entry's licence requirement",
    "hit.license_policy": "the entry's licence policy",
}
_REF = re.compile(r"^(txn|item|calc|party|hit)\.[a-z_][a-z0-9_]*$")
_CMP = {"eq": "is", "ne": "is not", "lt": "&lt;", "le": "≤", "gt": "&gt;", "ge": "≥"}
ROLE_WORDS = dict(shipments_mod.ROLE_LABELS)
LIST_WORDS = {"EL": "Entity List", "DPL": "Denied Persons List", "UVL": "Unverified List",
              "MEU": "Military End-User List", "SDN": "OFAC SDN List"}


def outcome_words(outcome: str | None, exception: str | None = None) -> str:
    """Short label of an outcome, e.g. "Licence exception NAC"."""
    if not outcome:
        return "—"
    head = OUTCOMES.get(outcome, (outcome.replace("_", " "),))[0]
    return head.format(exc=exception or "")


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _num(v: Any) -> str:
    if v is None:
        return "?"
    f = float(v)
    return f"{f:,.0f}" if f.is_integer() else f"{f:,.2f}".rstrip("0").rstrip(".")


def _operand(v: Any, pack: Pack | None) -> str:
    if isinstance(v, dict):
        return condition_html(v, pack)
    if isinstance(v, bool):
        return "<b>yes</b>" if v else "<b>no</b>"
    if v is None:
        return "<b>unknown</b>"
    if isinstance(v, list):
        return ", ".join(_operand(x, pack) for x in v) or "(none)"
    if isinstance(v, str) and _REF.match(v):
        return _e(REF_WORDS.get(v, v.split(".", 1)[1].replace("_", " ")))
    if isinstance(v, (int, float)):
        return f"<b>{_num(v)}</b>"
    return f"<b>{_e(v)}</b>"


def _group_words(name: str, pack: Pack | None) -> str:
    title = None
    if pack is not None:
        g = pack.groups.get(name) or pack.sets.get(name) or {}
        title = g.get("title")
    return f"<b>{_e(name)}</b>" + (f" ({_e(title)})" if title else "")


def _roles(roles: list[str] | None) -> str:
    if not roles:
        return "purchaser, consignees or end user"
    return ", ".join(ROLE_WORDS.get(r, r).lower() for r in roles)


def condition_html(cond: Any, pack: Pack | None = None) -> str:
    """A pack condition (the YAML form) in words, as nested HTML lists. Pure."""
    if not isinstance(cond, dict) or len(cond) != 1:
        return _operand(cond, pack)
    (op, arg), = cond.items()
    if op in ("all", "any"):
        head = "all of these hold:" if op == "all" else "any of these holds:"
        kids = "".join(f"<li>{condition_html(c, pack)}</li>" for c in arg)
        return f"{head}<ul>{kids}</ul>"
    if op == "not":
        return f"it is <b>not</b> so that {condition_html(arg, pack)}"
    if op == "lit":
        return _operand(arg, pack)
    if op in ("is_null", "known"):
        return f"{_operand(arg, pack)} is {'unknown' if op == 'is_null' else 'known'}"
    if op in ("any_party", "all_parties"):
        who = "some party" if op == "any_party" else "every party"
        return (f"{who} ({_e(_roles(arg.get('roles')))}) where "
                f"{condition_html(arg['where'], pack)}")
    if op == "any_hit":
        lists = ", ".join(arg.get("sources") or [])
        out = (f"a party ({_e(_roles(arg.get('roles')))}) matches the "
               f"<b>{_e(lists)}</b> list{'s' if len(arg.get('sources') or []) > 1 else ''}")
        if arg.get("where"):
            out += f", where {condition_html(arg['where'], pack)}"
        return out
    if not isinstance(arg, list) or len(arg) != 2:
        return _e(cond)
    a, b = arg
    if op in ("in_group", "not_in_group"):
        neg = " not" if op == "not_in_group" else ""
        return f"{_operand(a, pack)} is{neg} in {_group_words(b, pack)}"
    if op in ("in", "not_in"):
        neg = " not" if op == "not_in" else ""
        return f"{_operand(a, pack)} is{neg} one of {_operand(b, pack)}"
    if op == "word_in":
        return f"{_operand(a, pack)} contains one of the words {_operand(b, pack)}"
    if op == "contains":
        return f"{_operand(a, pack)} contains {_operand(b, pack)}"
    if op == "has":
        return f"{_operand(a, pack)} include {_operand(b, pack)}"
    if op in _CMP:
        return f"{_operand(a, pack)} {_CMP[op]} {_operand(b, pack)}"
    return _e(cond)


def sources_html(sources: list[dict[str, Any]]) -> str:
    """Sources as a list: title, citation, kind of source, link when known."""
    if not sources:
        return "<i>No source given.</i>"
    items = []
    for s in sources:
        link = (f' — <a href="{_e(s["url"])}">{_e(s["url"])}</a>' if s.get("url") else "")
        tag = SOURCE_TAGS.get(str(s.get("tag") or ""), "")
        items.append(f"<li><b>{_e(s.get('citation') or s.get('id'))}</b>"
                     f"{(': ' + _e(s['title'])) if s.get('title') else ''}"
                     f"{(' <i>(' + tag + ')</i>') if tag else ''}{link}</li>")
    return f"<ul>{''.join(items)}</ul>"


def _pack_sources(pack: Pack | None, ids: list[str]) -> list[dict[str, Any]]:
    if pack is None:
        return [{"id": i} for i in ids]
    return [pack.sources.get(i, {"id": i}) for i in ids]


def _validity(d: dict[str, Any]) -> str:
    f, t = d.get("valid_from"), d.get("valid_to")
    return f"in force {f or 'from the start'} to {t or 'today (no end date)'}"


UNVERIFIED_BADGE = ('<span style="background:#fff4ce; color:#7a5a00; font-weight:600;">'
                    '&nbsp;⚠ UNVERIFIED&nbsp;</span>')


def rule_html(pack: Pack | None, rule_id: str, data: dict[str, Any] | None = None,
              kind: str | None = None, *, heading: bool = True) -> str:
    """One rule in full: what it does, when it applies (in words), its
    dates, notes and sources. ``data`` defaults to the pack's rule. Pure."""
    if data is None and pack is not None:
        r = pack.rule(rule_id)
        if r is not None:
            data, kind = r.data, r.kind
    if data is None:
        return f"<p>Rule <b>{_e(rule_id)}</b> is not in this pack.</p>"
    verified = bool(data.get("verified", True))
    out = []
    if heading:
        out.append(f"<h3>{_e(data.get('title') or rule_id)}</h3>")
    out.append(f"<p><b>{_e(data.get('citation') or '')}</b><br>"
                f"<span style='color:#555'>{_e(KIND_WORDS.get(kind or '', kind or ''))} "
                f"<code>{_e(rule_id)}</code> · {_e(_validity(data))}</span>"
                + ("" if verified else f"<br>{UNVERIFIED_BADGE} the research behind this "
                   "rule is not verified; check it before relying on it") + "</p>")
    eff = data.get("effect")
    if eff:
        words = EFFECT_WORDS.get(eff, eff)
        if eff == "add_requirement":
            words += f" ({EFFECT_WORDS.get(data.get('requirement_effect'), '')})"
        out.append(f"<p><b>Effect:</b> {_e(words)}</p>")
    if data.get("message"):
        out.append(f"<p><b>Message:</b> {_e(data['message'])}</p>")
    if data.get("when") is not None:
        out.append(f"<p><b>Applies when</b> {condition_html(data['when'], pack)}</p>")
    if data.get("covers"):
        out.append(f"<p><b>Covers:</b> {_e(', '.join(data['covers']))}</p>")
    for key, label in (("eligible_items", "Items eligible when"),
                       ("eligible_when", "Transaction eligible when"),
                       ("blocked_if", "Cannot be used when")):
        if data.get(key) is not None:
            out.append(f"<p><b>{label}</b> {condition_html(data[key], pack)}</p>")
    if data.get("targets"):
        out.append(f"<p><b>Switches off:</b> {_e(', '.join(data['targets']))}</p>")
    if data.get("warning"):
        out.append(f"<p><b>Warning shown:</b> {_e(data['warning'])}</p>")
    if data.get("applies_to"):
        out.append(f"<p><b>Review policy for:</b> {_e(', '.join(data['applies_to']))}</p>")
    for j, case in enumerate(data.get("cases") or []):
        out.append(f"<p><b>Case {j + 1}:</b> "
                   f"{_e(POLICY_WORDS.get(case.get('policy'), case.get('policy')))} when "
                   f"{condition_html(case.get('when'), pack)}</p>")
    for par in data.get("paragraphs") or []:
        out.append(f"<p><b>{_e(par['id'])}</b> (level {_e(par.get('level'))}) when "
                   f"{condition_html(par['when'], pack)}</p>")
    for ex in data.get("exclusions") or []:
        out.append(f"<p><b>Exclusion {_e(ex['id'])}</b> ({_e(ex.get('citation'))}): "
                   f"{_e(ex.get('message') or '')} — when {condition_html(ex['when'], pack)}</p>")
    if data.get("obligations"):
        obs = "".join(f"<li>{_e(o.get('text'))}</li>" for o in data["obligations"])
        out.append(f"<p><b>Obligations:</b></p><ul>{obs}</ul>")
    if data.get("aes_code"):
        out.append(f"<p><b>AES code:</b> {_e(data['aes_code'])}</p>")
    if data.get("notes"):
        out.append(f"<p><b>Notes:</b> {_e(data['notes'])}</p>")
    out.append("<p><b>Sources</b></p>"
               + sources_html(_pack_sources(pack, data.get("sources") or [])))
    return "".join(out)


# ----------------------------------------------------------------------------
# A small read-only table model (packs, rules, groups, determinations)
# ----------------------------------------------------------------------------
class RecordsModel(QAbstractTableModel):
    """A read-only table over a list of dicts, columns given as
    (key, label, formatter). No I/O; GUI thread. ``Qt.UserRole`` on any
    cell returns the row's dict."""

    def __init__(self, columns: list[tuple[str, str, Callable[[dict], Any] | None]],
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict[str, Any]] = []
        self.tooltips: Callable[[dict, str], str | None] | None = None
        self.colors: Callable[[dict, str], Any] | None = None

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        row = self.rows[index.row()]
        key, _label, fmt = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            v = fmt(row) if fmt else row.get(key)
            return "" if v is None else str(v)
        if role == Qt.ItemDataRole.UserRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole and self.tooltips:
            return self.tooltips(row, key)
        if role == Qt.ItemDataRole.ForegroundRole and self.colors:
            return self.colors(row, key)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.columns):
            return self.columns[section][1]
        return None


def _table(model: Any, widths: list[int] | None = None) -> QTableView:
    v = QTableView()
    v.setModel(model)
    v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    v.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    v.setAlternatingRowColors(True)
    v.verticalHeader().setVisible(False)
    v.verticalHeader().setDefaultSectionSize(24)
    v.setWordWrap(False)
    hh = v.horizontalHeader()
    hh.setStretchLastSection(True)
    hh.setHighlightSections(False)
    for i, w in enumerate(widths or []):
        hh.resizeSection(i, w)
    return v


def _browser() -> QTextBrowser:
    b = QTextBrowser()
    b.setOpenLinks(False)  # we route clicks: rule anchors in place, URLs to the browser
    b.anchorClicked.connect(_open_url)
    return b


def _open_url(url: QUrl) -> None:
    if url.scheme() in ("http", "https"):
        QDesktopServices.openUrl(url)


def _heading(text: str) -> QLabel:
    lab = QLabel(text)
    f = lab.font()
    f.setPointSizeF(f.pointSizeF() * 1.35)
    f.setBold(True)
    lab.setFont(f)
    return lab


def _hint(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setStyleSheet("color: palette(mid);")
    return lab


# ----------------------------------------------------------------------------
# One determination, readable
# ----------------------------------------------------------------------------
class DeterminationView(QTextBrowser):
    """Shows a determination result (the engine's dict) in plain words.

    Every citation is a link: clicking it opens the rule's text, condition
    and sources in place (click again to close); URLs open in the system
    browser. Pure display (no I/O); GUI thread.
    """

    ruleToggled = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.result: dict[str, Any] | None = None
        self.pack: Pack | None = None
        self.caption = ""
        self.expanded: set[str] = set()
        self.setPlaceholderText("No determination shown.")

    def show_result(self, result: dict[str, Any] | None, pack: Pack | None = None,
                    caption: str = "") -> None:
        """Display `result` (None clears). `pack` (the one that produced it)
        lets a citation show the rule's condition in words."""
        self.result, self.pack, self.caption = result, pack, caption
        self.expanded = set()
        self._render()

    def toggle_rule(self, rule_id: str) -> None:
        """Open or close the detail of a cited rule (what a click does)."""
        self.expanded ^= {rule_id}
        self._render(keep_scroll=True)
        self.ruleToggled.emit(rule_id)

    def _on_anchor(self, url: QUrl) -> None:
        s = url.toString()
        if s.startswith("rule:"):
            self.toggle_rule(s[5:])
        else:
            _open_url(url)

    def _render(self, keep_scroll: bool = False) -> None:
        pos = self.verticalScrollBar().value()
        self.setHtml(self._html() if self.result is not None else "")
        if keep_scroll:
            self.verticalScrollBar().setValue(pos)

    # -- pieces --------------------------------------------------------------
    def _cite(self, r: dict[str, Any]) -> str:
        rid = r.get("rule_id") or r.get("id") or ""
        tip = "; ".join(s.get("citation") or s.get("id", "") for s in r.get("sources") or [])
        arrow = "▾" if rid in self.expanded else "▸"
        return (f'<a href="rule:{_e(rid)}" title="Sources: {_e(tip)} — click for the rule '
                f'text">{_e(r.get("citation") or rid)} {arrow}</a>')

    def _detail(self, r: dict[str, Any]) -> str:
        rid = r.get("rule_id") or ""
        if rid not in self.expanded:
            return ""
        body = rule_html(self.pack, rid, heading=False) if (
            self.pack is not None and self.pack.rule(rid) is not None) else (
            f"<p>{_e(r.get('notes') or '')}</p><p><b>Sources</b></p>"
            + sources_html(r.get("sources") or []))
        return (f'<table width="100%" cellpadding="6" style="background:#f5f7fb; '
                f'border:1px solid #c9d3e6;"><tr><td>{body}</td></tr></table>')

    def _witness(self, r: dict[str, Any]) -> str:
        ws = r.get("witness") or []
        parts = []
        for w in ws:
            who = _e(w.get("party") or "a party")
            role = ROLE_WORDS.get(w.get("role") or "", w.get("role") or "")
            s = f"{who} ({_e(role.lower())})" if role else who
            if w.get("list"):
                # the hit may be confirmed or only possible: name it, don't judge it
                s += f" — <b>{_e(LIST_WORDS.get(w['list'], w['list']))}</b> entry"
                if w.get("list_name"):
                    s += f" “{_e(w['list_name'])}”"
            parts.append(s)
        return ("<br><span style='color:#444'>Because: " + "; ".join(parts) + "</span>") \
            if parts else ""

    def _html(self) -> str:
        r = self.result or {}
        outcome = r.get("outcome") or "needs_review"
        exc = r.get("exception")
        head, bg, fg, meaning = OUTCOMES.get(outcome, (outcome, "#eee", "#000", ""))
        head, meaning = head.format(exc=exc or ""), meaning.format(exc=exc or "")
        v = r.get("values") or {}
        dest = v.get("destination_entered") or ""
        out = []
        if self.caption:
            out.append(f"<p style='color:#555'>{_e(self.caption)}</p>")
        out.append(
            f'<table width="100%" cellpadding="10" style="background:{bg};'
            f' border:1px solid {fg};"><tr><td>'
            f'<span style="font-size:17pt; font-weight:700; color:{fg}">{_e(head)}</span><br>'
            f'{_e(meaning)}</td></tr></table>')
        facts = [f"Shipment date <b>{_e(r.get('date'))}</b>",
                 f"destination <b>{_e(country_name(dest) or dest)}</b> ({_e(dest)})"]
        out.append("<p>" + ", ".join(facts) + ".")
        if v.get("destination_note"):
            out.append(f"<br><i>{_e(v['destination_note'])}.</i>")
        out.append("</p>")
        if r.get("unverified"):
            out.append(f"<p>{UNVERIFIED_BADGE} This answer relies on rules whose research is "
                       f"not verified: <b>{_e(', '.join(r['unverified']))}</b>. Check them "
                       f"against the eCFR / Federal Register before relying on it.</p>")
        if r.get("review_needed"):
            items = "".join(f"<li>{_e(m)}</li>" for m in r["review_needed"])
            out.append(f"<h4>What a person must review</h4><ul>{items}</ul>")
        # items
        lines = {ln["line"]: ln for ln in r.get("lines") or []}
        rows = []
        for c in r.get("classification") or []:
            ln = lines.get(c["line"], {})
            eccn = c.get("eccn") or ("outside 3A090" if c.get("level") == "none"
                                     else "undecided")
            rows.append(
                f"<tr><td>{c['line']}</td><td>{_e(c.get('model'))}</td><td>{_e(eccn)}</td>"
                f"<td align='right'>{_num(c.get('tpp'))}</td>"
                f"<td align='right'>{_num(c.get('pd'))}</td>"
                f"<td>{_e(outcome_words(ln.get('outcome'), ln.get('exception')))}</td></tr>")
        if rows:
            out.append("<h4>Items</h4><table cellpadding='3' cellspacing='0' border='1' "
                       "style='border-color:#ccc; border-collapse:collapse'>"
                       "<tr style='background:#eef'><th>Line</th><th>Model</th><th>ECCN</th>"
                       "<th>TPP</th><th>PD</th><th>Outcome for this line</th></tr>"
                       + "".join(rows) + "</table>")
        # why
        if r.get("reasons"):
            out.append("<h4>Why — the rules that applied</h4><ul>")
            for x in r["reasons"]:
                badge = "" if x.get("verified", True) else " " + UNVERIFIED_BADGE
                extra = f"<br>{_e(x['message'])}" if x.get("message") else ""
                lns = x.get("lines") or []
                lin = f" <span style='color:#777'>(line{'s' if len(lns) > 1 else ''} " \
                      f"{', '.join(map(str, lns))})</span>" if lns else ""
                out.append(f"<li><b>{_e(x.get('title') or x['rule_id'])}</b>{badge}{lin}<br>"
                           f"{self._cite(x)}{extra}{self._witness(x)}{self._detail(x)}</li>")
            out.append("</ul>")
        elif outcome == "no_license_required":
            out.append("<p>No licence requirement in this pack applies to these items, this "
                       "destination and these parties on this date.</p>")
        for e in r.get("exceptions") or []:
            obs = "".join(f"<li>{_e(o.get('text'))}</li>" for o in e.get("obligations") or [])
            badge = "" if e.get("verified", True) else " " + UNVERIFIED_BADGE
            out.append(f"<h4>License Exception {_e(e['code'])}{badge}</h4>"
                       f"<p>{_e(e.get('title'))} — {self._cite(e)}"
                       + (f"<br>AES code: <b>{_e(e['aes_code'])}</b>" if e.get("aes_code")
                          else "") + "</p>"
                       + (f"<p><b>Before shipping you must:</b></p><ul>{obs}</ul>" if obs
                          else "") + self._detail(e))
        extra_obs = [o for o in r.get("obligations") or []
                     if not any(o.get("id") == x.get("id") for e in r.get("exceptions") or []
                                for x in e.get("obligations") or [])]
        if extra_obs:
            out.append("<h4>Obligations</h4><ul>" + "".join(
                f"<li>{_e(o.get('text'))}</li>" for o in extra_obs) + "</ul>")
        rp = r.get("review_policy")
        if rp:
            words = POLICY_WORDS.get(rp.get("policy"), rp.get("policy"))
            certs = "".join(f"<li>{_e(c)}</li>" for c in rp.get("certifications") or [])
            cite = rp.get("citation")
            out.append(f"<h4>If you apply for the licence</h4><p>BIS reviews it with "
                       f"<b>{_e(words)}</b>" + (f" — {_e(cite)}" if cite else "")
                       + (f"<br>List entry: “{_e(rp['text'])}”" if rp.get("text") else "")
                       + "</p>"
                       + (f"<p>The application must certify:</p><ul>{certs}</ul>" if certs
                          else ""))
        if r.get("warnings"):
            out.append("<h4>Warnings</h4><ul>" + "".join(
                f"<li>{_e(w)}</li>" for w in r["warnings"]) + "</ul>")
        if r.get("suppressed") or r.get("overlays"):
            out.append("<h4>Policy overlays applied</h4><ul>")
            for x in r.get("overlays") or []:
                tg = ", ".join(x.get("targets") or [])
                out.append(f"<li><b>{_e(x.get('title'))}</b>"
                           + (f" — switches off {_e(tg)}" if tg else "")
                           + f"<br>{self._cite(x)}{self._detail(x)}</li>")
            for x in r.get("suppressed") or []:
                out.append(f"<li>Not applied: <i>{_e(x.get('title'))}</i> "
                           f"({_e(x.get('citation'))}), switched off by "
                           f"{_e(x.get('suppressed_by'))}</li>")
            out.append("</ul>")
        considered = [c for c in r.get("exceptions_considered") or [] if not c.get("eligible")]
        if considered:
            out.append("<h4>Licence exceptions checked and not available</h4><ul>")
            seen = set()
            for c in considered:
                key = (c["exception"], c.get("why_not"))
                if key in seen:
                    continue
                seen.add(key)
                out.append(f"<li><b>{_e(c['exception'])}</b>: {_e(c.get('why_not'))}</li>")
            out.append("</ul>")
        parties = v.get("parties") or []
        if parties:
            rows = []
            for p in parties:
                lists = ", ".join(LIST_WORDS.get(x, x) for x in p.get("list_sources") or []) \
                    or "—"
                rows.append(f"<tr><td>{_e(ROLE_WORDS.get(p['role'], p['role']))}</td>"
                            f"<td>{_e(p.get('name'))}</td><td>{_e(p.get('country'))}</td>"
                            f"<td>{_e(p.get('hq_country'))}</td>"
                            f"<td>{_e(p.get('parent_hq_country'))}</td><td>{_e(lists)}</td></tr>")
            out.append("<h4>Parties as evaluated</h4><table cellpadding='3' cellspacing='0' "
                       "border='1' style='border-color:#ccc; border-collapse:collapse'>"
                       "<tr style='background:#eef'><th>Role</th><th>Name</th><th>Country</th>"
                       "<th>HQ</th><th>Parent HQ</th><th>Lists</th></tr>"
                       + "".join(rows) + "</table>")
            if not v.get("screened", True):
                out.append("<p><i>Some parties were not screened, so list-based rules could "
                           "not be decided for them.</i></p>")
        work = []
        for c in r.get("classification") or []:
            steps = "".join(f"<li>{_e(w)}</li>" for w in c.get("working") or [])
            work.append(f"<p><b>Line {c['line']} — {_e(c.get('model'))}</b></p><ul>{steps}</ul>")
        if work:
            out.append("<h4>Classification working</h4>" + "".join(work))
        p = r.get("pack") or {}
        out.append(f"<hr><p style='color:#555; font-size:9pt'>Rules pack <b>{_e(p.get('id'))} "
                   f"{_e(p.get('version'))}</b>, SHA-256 <code>{_e(p.get('sha256'))}</code><br>"
                   f"Evaluated {_e((r.get('evaluated_at') or 'now (not saved)')[:19])}"
                   f" · engine {_e(r.get('engine_version'))} · input SHA-256 "
                   f"<code>{_e((r.get('input_sha256') or '')[:16])}…</code><br>"
                   "Decision support only; not legal advice.</p>")
        return "".join(out)


# ----------------------------------------------------------------------------
# Classification panel (a tab beside the item form)
# ----------------------------------------------------------------------------
class OverrideDialog(QDialog):
    """Asks for the ECCN that replaces the proposal and the reason. The core
    checks both (``submitted`` hands them over; the panel closes the dialog
    on success or shows the core's field errors here)."""

    submitted = Signal(str, str)

    def __init__(self, proposal: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Override the classification")
        lay = QVBoxLayout(self)
        lay.addWidget(_hint(f"The workbench proposes <b>{_e(proposal)}</b>. Give the ECCN you "
                            "decide instead and why (for example: the manufacturer's "
                            "classification letter, or a datasheet figure the specs lack). "
                            "The override is recorded in the audit log with your name."))
        form = QFormLayout()
        self.eccn = QLineEdit()
        self.eccn.setObjectName("override_eccn")
        self.eccn.setPlaceholderText("e.g. 3A090.a, 5A992.z, EAR99")
        self.eccn_err = ErrorLabel()
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("override_reason")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.reason_err = ErrorLabel()
        for label, w, err in (("ECCN", self.eccn, self.eccn_err),
                              ("Reason", self.reason, self.reason_err)):
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.addWidget(w)
            bl.addWidget(err)
            form.addRow(label, box)
        lay.addLayout(form)
        self.other_err = ErrorLabel()
        lay.addWidget(self.other_err)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Record override",
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(460, 300)

    def _submit(self) -> None:
        self.show_errors([])
        self.ok.setEnabled(False)
        self.submitted.emit(self.eccn.text(), self.reason.toPlainText())

    def show_errors(self, errors: list[FieldError], other: str = "") -> None:
        self.ok.setEnabled(True)
        by = {"eccn": self.eccn_err, "reason": self.reason_err}
        for lab in by.values():
            lab.set_messages([])
        loose = [other] if other else []
        for e in errors:
            if e.field in by:
                by[e.field].set_messages([e.message])
            else:
                loose.append(f"{e.field}: {e.message}")
        self.other_err.set_messages(loose)


class ClassificationPanel(QWidget):
    """TPP, performance density and the working for the item shown in the
    form, the proposed ECCN paragraph with the rules that decided it, and
    the officer's current decision; Accept / Override… record a decision
    through :func:`workbench.rules.determinations.decide_classification` (audited).

    Reads and writes run on the Ops worker. The proposal is computed only
    while the panel is visible (so browsing items stays cheap).
    ``saved(Change)`` after a decision is recorded.
    """

    saved = Signal(object)
    computed = Signal()

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.item_id: int | None = None
        self.info: dict[str, Any] | None = None
        self.pack: Pack | None = None
        self._token = 0
        self._stale = True
        self.dialog: OverrideDialog | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(_open_url)
        self.view.setObjectName("classification_view")
        lay.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.accept_btn = QPushButton("Accept proposal")
        self.accept_btn.setToolTip("Record that you agree with the proposed classification "
                                   "(audited)")
        self.accept_btn.clicked.connect(self.accept)
        self.override_btn = QPushButton("Override…")
        self.override_btn.setToolTip("Record a different ECCN with your reason (audited)")
        self.override_btn.clicked.connect(self.open_override)
        row.addWidget(self.accept_btn)
        row.addWidget(self.override_btn)
        row.addStretch(1)
        self.status = QLabel()
        self.status.setStyleSheet("color: palette(mid);")
        row.addWidget(self.status)
        lay.addLayout(row)
        self._buttons(False)
        self.view.setHtml("<p style='color:#777'>Select a saved item to see its "
                          "classification.</p>")

    def _buttons(self, on: bool) -> None:
        can = on and self.wb.user.can_write
        self.accept_btn.setEnabled(can)
        self.override_btn.setEnabled(can)

    def set_record(self, rec: dict[str, Any] | None) -> None:
        """The form shows `rec` (None: a new item): recompute when visible."""
        self.item_id = rec["id"] if rec else None
        self.info = None
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the proposal for the current item (worker thread)."""
        self._stale = False
        self._token += 1
        token = self._token
        self._buttons(False)
        if self.item_id is None:
            self.view.setHtml("<p style='color:#777'>Save the item first: the classification "
                              "is computed from its saved specifications.</p>")
            return
        self.status.setText("Computing…")
        store, iid = self.wb.store, self.item_id

        def work(_task: Any) -> tuple[dict[str, Any], Pack]:
            pack = rstore.active_pack(store)
            return rstore.classify_item(store, iid, pack=pack), pack

        def done(res: tuple[dict[str, Any], Pack]) -> None:
            if token == self._token:
                self.info, self.pack = res
                self._render()
                self.computed.emit()

        def failed(exc: BaseException) -> None:
            if token == self._token:
                self.status.setText("")
                self.view.setHtml(f"<p style='color:#b3261e'>{_e(error_text(exc))}</p>")

        self.ops.run(work, success=done, failure=failed, parent=self)

    def headline(self) -> str:
        """The proposal in a few words (also the tab's tooltip)."""
        if not self.info:
            return ""
        p = self.info["proposal"]
        if p["computed_eccn"]:
            return f"Proposed: {p['computed_eccn']}"
        if p["level"] == "none":
            return "Proposed: outside 3A090"
        return "Proposed: undecided"

    def _render(self) -> None:
        info = self.info or {}
        p = info["proposal"]
        pack = self.pack
        out = [f"<h3>{_e(info.get('manufacturer') or '')} {_e(info['model'])}</h3>",
               f"<p style='color:#555'>As of {_e(info['date'])}, rules pack "
               f"{_e(info['pack']['id'])} {_e(info['pack']['version'])}. Computed from the "
               f"saved specifications.</p>"]
        eccn = p["computed_eccn"]
        if eccn:
            level = p["level"]
            meaning = {
                "a": "an advanced-computing chip at the highest level (.a): a licence is "
                     "needed for China, Macau and the other §742.6(a)(6) destinations, and "
                     "wherever a party is headquartered in D:5 or Macau",
                "b": "an advanced-computing chip at the lower level (.b)",
                "c": "high-bandwidth memory (3A090.c)",
            }.get(level or "", "an advanced-computing item")
            box = ("#fde7e7", "#b3261e")
            out.append(self._box(f"Proposed: {eccn}", f"By the formula this is {meaning}.",
                                 *box))
        elif p["level"] == "none":
            why = (f"excluded by {p['excluded_by']}" if p.get("excluded_by")
                   else "it meets none of the 3A090 paragraphs")
            out.append(self._box("Proposed: outside 3A090",
                                 f"By the formula this is not an advanced-computing chip "
                                 f"({why}). Other ECCNs (e.g. 5A992, EAR99) are not assessed "
                                 f"here.", "#e6f4ea", "#1e6b34"))
        else:
            out.append(self._box("Undecided",
                                 "The specifications are not enough to decide: missing "
                                 + (", ".join(p.get("missing") or []) or "data")
                                 + ". Complete the item's specs or override.",
                                 "#fff4ce", "#7a5a00"))
        if eccn and p["level"] == "a":
            out.append("<p><i>If the item is not designed or marketed for data centres, "
                       "licence exceptions NAC/ACA may be available for it; the "
                       "determination on the shipment checks that.</i></p>")
        decision_at = len(out)  # the decision goes right under the proposal
        out.append("<h4>Working</h4><ul style='font-family:monospace'>")
        out += [f"<li>{_e(w)}</li>" for w in p["working"]]
        out.append("</ul>")
        if p.get("notes"):
            out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in p["notes"]) + "</ul>")
        # the rules that decided it
        if p.get("version") and pack is not None:
            r = pack.rule(p["version"])
            if r is not None:
                d = r.data
                badge = "" if r.verified else " " + UNVERIFIED_BADGE
                out.append(f"<h4>Decided by</h4><p><b>{_e(d.get('title'))}</b>{badge}<br>"
                           f"{_e(d.get('citation'))} · {_e(_validity(d))}</p><ul>")
                for ex in d.get("exclusions") or []:
                    mark = "✔ " if p.get("excluded_by") == ex["id"] else ""
                    out.append(f"<li>{mark}<b>{_e(ex['id'])}</b> ({_e(ex.get('citation'))}) — "
                               f"outside 3A090 when {condition_html(ex['when'], pack)}</li>")
                for par in d.get("paragraphs") or []:
                    hit = eccn is not None and (eccn == par["id"] or
                                                eccn.endswith(par["id"][len("3A090"):]))
                    mark = "✔ " if hit else ""
                    out.append(f"<li>{mark}<b>{_e(par['id'])}</b> when "
                               f"{condition_html(par['when'], pack)}</li>")
                out.append("</ul><p><b>Sources</b></p>"
                           + sources_html(_pack_sources(pack, d.get("sources") or [])))
                tpp = pack.classification.get("tpp") or {}
                if tpp.get("definition"):
                    out.append(f"<p style='color:#555'><b>TPP</b> ({_e(tpp.get('citation'))}): "
                               f"{_e(tpp['definition'])}</p>")
        # the officer's decision
        dec = info.get("decision")
        dout = ["<h4>Recorded classification</h4>"]
        if dec is None:
            dout.append("<p><b>None recorded yet.</b> Accept the proposal or override it "
                        "with a reason (buttons below).</p>")
        else:
            what = ("Accepted" if dec["decision"] == "accepted" else "Overridden to")
            dout.append(f"<p><b>{what} {_e(dec['eccn'] or 'outside 3A090')}</b> by "
                       f"{_e(dec['decided_by'])} on {_e(dec['decided_at'][:16].replace('T', ' '))}"
                       f" UTC" + (f"<br>Reason: {_e(dec['reason'])}" if dec.get("reason")
                                  else "")
                       + f"<br><span style='color:#777'>Proposal at the time: "
                         f"{_e(dec.get('proposed_eccn') or 'outside 3A090')}</span></p>")
            if dec["decision"] == "accepted" and dec.get("proposed_eccn") != p["computed_eccn"]:
                dout.append("<p style='color:#b3261e'>The proposal has changed since it was "
                            "accepted (new specs or a new rules pack): review it again.</p>")
        out[decision_at:decision_at] = dout
        self.view.setHtml("".join(out))
        self.status.setText("")
        self._buttons(True)

    @staticmethod
    def _box(head: str, text: str, bg: str, fg: str) -> str:
        return (f'<table width="100%" cellpadding="8" style="background:{bg}; border:1px solid '
                f'{fg};"><tr><td><span style="font-size:15pt; font-weight:700; color:{fg}">'
                f'{_e(head)}</span><br>{_e(text)}</td></tr></table>')

    # -- decisions -------------------------------------------------------------
    def accept(self) -> None:
        """Record "accepted" for the current proposal (worker thread)."""
        if self.item_id is None:
            return
        wb, iid = self.wb, self.item_id
        self._buttons(False)
        self.ops.run(lambda t: rstore.decide_classification(wb, iid, accept=True),
                     success=self._decided, failure=self._accept_failed, parent=self)

    def _accept_failed(self, exc: BaseException) -> None:
        self._buttons(True)
        show_error(self, exc)

    def open_override(self) -> OverrideDialog | None:
        """Open the override dialog (non-blocking); returns it."""
        if self.item_id is None or not self.info:
            return None
        self.dialog = OverrideDialog(self.info["proposal"]["computed_eccn"] or "outside 3A090",
                                     self)
        self.dialog.submitted.connect(self.override)
        self.dialog.open()
        return self.dialog

    def override(self, eccn: str, reason: str) -> None:
        """Record an override; the core requires the ECCN and a reason."""
        if self.item_id is None:
            return
        wb, iid = self.wb, self.item_id
        self.ops.run(lambda t: rstore.decide_classification(wb, iid, accept=False, eccn=eccn,
                                                            reason=reason),
                     success=self._decided, failure=self._override_failed, parent=self)

    def _override_failed(self, exc: BaseException) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            if isinstance(exc, ValidationError):
                self.dialog.show_errors(exc.errors)
            else:
                self.dialog.show_errors([], error_text(exc))
        else:
            show_error(self, exc)

    def _decided(self, change: Change) -> None:
        if self.dialog is not None:
            self.dialog.accept()
            self.dialog = None
        self.saved.emit(change)
        self.refresh()


# ----------------------------------------------------------------------------
# Determination panel (a tab beside the shipment form)
# ----------------------------------------------------------------------------
def _det_columns() -> list[tuple[str, str, Callable[[dict], Any] | None]]:
    return [("id", "#", None),
            ("evaluated_at", "Saved (UTC)", lambda r: (r.get("evaluated_at") or "")[:16]
             .replace("T", " ")),
            ("eval_date", "For date", None),
            ("outcome", "Outcome", lambda r: outcome_words(r.get("outcome"), r.get("exception"))),
            ("pack_version", "Pack", lambda r: f"{r.get('pack_version')}"),
            ("evaluated_by", "By", None)]


class DeterminationPanel(QWidget):
    """Determine the shipment shown in the form on its date, save the
    determination with the shipment (audited) and browse the saved ones.

    "Determine" is a read (the pack in force, the stored shipment and its
    latest screening results); "Save" appends a determination row and an
    audit event. Both run on the Ops worker. ``saved(Change)`` after a save.
    """

    saved = Signal(object)
    determined = Signal()

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.shipment_id: int | None = None
        self.shipment_ref = ""
        self.result: dict[str, Any] | None = None
        self._token = 0
        self._stale = True
        self._edited = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        self.determine_btn = QPushButton("Determine")
        self.determine_btn.setToolTip("Decide the shipment as saved, on its date, with the "
                                      "rules pack in force (nothing is stored)")
        self.determine_btn.clicked.connect(self.run_determination)
        self.save_btn = QPushButton("Save determination")
        self.save_btn.setToolTip("Store the determination with the shipment (audited)")
        self.save_btn.clicked.connect(self.save_determination)
        row.addWidget(self.determine_btn)
        row.addWidget(self.save_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        lay.addWidget(self.note)
        split = QSplitter(Qt.Orientation.Vertical)
        self.view = DeterminationView()
        self.view.setObjectName("determination_view")
        split.addWidget(self.view)
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(0, 4, 0, 0)
        bl.addWidget(QLabel("<b>Saved determinations</b> (newest first; click one to show it)"))
        self.saved_model = RecordsModel(_det_columns(), self)
        self.saved_table = _table(self.saved_model, [32, 112, 80, 150, 70])
        self.saved_table.selectionModel().currentRowChanged.connect(self._on_saved_row)
        bl.addWidget(self.saved_table)
        split.addWidget(box)
        split.setSizes([520, 150])
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)
        self._enable()

    def _enable(self) -> None:
        has = self.shipment_id is not None
        self.determine_btn.setEnabled(has)
        self.save_btn.setEnabled(has and self.wb.user.can_write)

    def set_record(self, rec: dict[str, Any] | None) -> None:
        """The form shows `rec` (None: a new shipment)."""
        self.shipment_id = rec["id"] if rec else None
        self.shipment_ref = rec.get("reference", "") if rec else ""
        self.result = None
        self._edited = False
        self._stale = True
        self.view.show_result(None)
        self.saved_model.set_rows([])
        self._enable()
        if self.shipment_id is None:
            self.note.setText("Save the shipment first: a determination is made on the "
                              "saved shipment.")
        else:
            self.note.setText(f"Press Determine to decide {self.shipment_ref} on its date "
                              f"with the rules pack in force.")
        if self.isVisible():
            self.load_saved()

    def form_edited(self) -> None:
        """The form has unsaved edits: the determination ignores them."""
        if self.shipment_id is not None and not self._edited:
            self._edited = True
            self.note.setText("The form has unsaved changes; Determine uses the shipment as "
                              "saved. Save the shipment first to include them.")

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.load_saved()

    def load_saved(self, select_first: bool = True) -> None:
        """Read the saved determinations of this shipment (worker thread)."""
        self._stale = False
        if self.shipment_id is None:
            return
        store, sid, token = self.wb.store, self.shipment_id, self._token

        def done(rows: list[dict[str, Any]]) -> None:
            if token != self._token or sid != self.shipment_id:
                return
            self.saved_model.set_rows(rows)
            if rows and select_first and self.result is None:
                self.saved_table.selectRow(0)

        self.ops.run(lambda t: rstore.determinations(store, sid), success=done, parent=self)

    def _on_saved_row(self, current: QModelIndex, _prev: Any) -> None:
        row = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        if row is None:
            return
        store, sha = self.wb.store, row["pack_sha256"]

        def done(pack: Pack | None) -> None:
            self.view.show_result(row["result"], pack, caption=(
                f"Saved determination #{row['id']} by {row['evaluated_by']} on "
                f"{row['evaluated_at'][:16].replace('T', ' ')} UTC, for {row['eval_date']}."))

        def load(_t: Any) -> Pack | None:
            try:
                return rstore.pack_by_sha(store, sha)
            except Exception:  # noqa: BLE001 - the text still shows without the rule text
                return None

        self.ops.run(load, success=done, failure=lambda e: done(None), parent=self)

    def run_determination(self) -> None:
        """Decide the saved shipment now (nothing stored)."""
        if self.shipment_id is None:
            return
        self._token += 1
        token = self._token
        store, sid = self.wb.store, self.shipment_id
        self.determine_btn.setEnabled(False)

        def work(_t: Any) -> tuple[dict[str, Any], Pack]:
            pack = rstore.active_pack(store)
            txn = rstore.txn_from_shipment(store, sid, hits_for=rstore.screening_hits_for(store))
            return determine(pack, txn), pack

        def done(res: tuple[dict[str, Any], Pack]) -> None:
            self._enable()
            if token != self._token:
                return
            self.result, pack = res
            self.saved_table.clearSelection()
            self.view.show_result(self.result, pack, caption=(
                f"Determined now for {self.shipment_ref} on its date — not saved yet."))
            if not self._edited:
                self.note.setText("Not saved yet: press Save determination to keep it with "
                                  "the shipment (it goes into the audit log).")
            self.determined.emit()

        def failed(exc: BaseException) -> None:
            self._enable()
            show_error(self, exc)

        self.ops.run(work, success=done, failure=failed, parent=self,
                     progress="Determining the shipment…")

    def save_determination(self) -> None:
        """Decide the shipment again and store the result (audited)."""
        if self.shipment_id is None or not self.wb.user.can_write:
            return
        wb, sid = self.wb, self.shipment_id
        self.save_btn.setEnabled(False)
        self._token += 1
        token = self._token

        def work(_t: Any) -> tuple[Change, Pack]:
            pack = rstore.active_pack(wb.store)
            ch = rstore.determine_shipment(wb, sid, hits_for=rstore.screening_hits_for(wb.store),
                                           pack=pack)
            return ch, pack

        def done(res: tuple[Change, Pack]) -> None:
            self._enable()
            ch, pack = res
            if token == self._token:
                self.result = ch.record
                self.view.show_result(ch.record, pack, caption=(
                    f"Saved as determination #{ch.id} for {self.shipment_ref}."))
                if not self._edited:
                    self.note.setText(f"Saved as determination #{ch.id}; it is listed below "
                                      f"and in the audit log.")
                self.load_saved(select_first=False)
            self.saved.emit(ch)

        def failed(exc: BaseException) -> None:
            self._enable()
            show_error(self, exc)

        self.ops.run(work, success=done, failure=failed, parent=self,
                     progress="Saving the determination…")


class PartyTagsPanel(QWidget):
    """The facts about a party that the rules use (``party.tags``, e.g.
    approved_csp), each recorded with a note and the user; removing one is a
    new record. Reads and writes on the Ops worker; ``saved(Change)``."""

    saved = Signal(object)

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.party_id: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(_hint("Facts the rules packs test with party.tags — for example "
                            "approved_csp for a cloud provider approved under an exception. "
                            "Say how you know: an auditor reads the note."))
        self.current = QLabel()
        self.current.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.current)
        bar = QHBoxLayout()
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("tag, e.g. approved_csp")
        self.note = QLineEdit()
        self.note.setPlaceholderText("How you know (document, date)")
        self.add_btn = QPushButton("Record")
        self.add_btn.clicked.connect(lambda: self.record(True))
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.clicked.connect(lambda: self.record(False))
        for x in (self.tag, self.note):
            bar.addWidget(x, 1)
        bar.addWidget(self.add_btn)
        bar.addWidget(self.remove_btn)
        lay.addLayout(bar)
        self.error = ErrorLabel()
        lay.addWidget(self.error)
        self.model = RecordsModel([
            ("recorded_at", "Recorded (UTC)", lambda r: r["recorded_at"][:16].replace("T", " ")),
            ("tag", "Tag", None),
            ("present", "Action", lambda r: "recorded" if r["present"] else "removed"),
            ("note", "Note", None), ("recorded_by", "By", None)], self)
        self.table = _table(self.model, [130, 140, 80, 300, 80])
        lay.addWidget(self.table, 1)
        self._enable()

    def _enable(self) -> None:
        ok = self.party_id is not None and self.wb.user.can_write
        for w in (self.tag, self.note, self.add_btn, self.remove_btn):
            w.setEnabled(ok)

    def set_record(self, rec: dict[str, Any] | None) -> None:
        self.party_id = rec["id"] if rec else None
        self.error.set_messages([])
        self._enable()
        self.load()

    def load(self) -> None:
        if self.party_id is None:
            self.model.set_rows([])
            self.current.setText("<span style='color:gray'>Save the party first.</span>")
            return
        store, pid = self.wb.store, self.party_id

        def done(res: tuple[list[dict[str, Any]], list[str]]) -> None:
            if pid != self.party_id:
                return
            rows, now = res
            self.model.set_rows(list(reversed(rows)))
            self.current.setText("Tags now: <b>" + _e(", ".join(now) or "none") + "</b>")

        self.ops.run(lambda _t: (rstore.party_tag_records(store, pid),
                                 rstore.party_tags(store, pid)), success=done, parent=self)

    def record(self, present: bool) -> None:
        """Record (or remove) the typed tag with its note (worker, audited)."""
        if self.party_id is None:
            return
        wb, pid, tag, note = self.wb, self.party_id, self.tag.text(), self.note.text().strip()
        if present and not note:
            self.error.set_messages(["say how you know (the note), e.g. the approval letter"])
            return

        def done(ch: Change) -> None:
            self.tag.clear()
            self.note.clear()
            held = ch.extra.get("held") or []
            # the officer hears at once which shipments the fact put on hold
            self.error.set_messages([])
            self.current.setToolTip("")
            if held:
                self.error.set_messages([
                    "put on hold (outcome changed, determine again): "
                    + ", ".join(h["reference"] for h in held)])
            self.load()
            self.saved.emit(ch)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ValidationError):
                self.error.set_messages([f"{e.field}: {e.message}" for e in exc.errors])
            else:
                self.error.set_messages([str(exc)])

        self.ops.run(lambda _t: holds.set_party_tag(wb, pid, tag, present=present, note=note),
                     success=done, failure=failed, parent=self)


def tell_held(parent: QWidget, what: str, held: list[dict[str, Any]]) -> QMessageBox | None:
    """Say at once (non-modal) which open shipments a rules change put on
    hold, with the reason each carries; None when it held none. The officer
    must hear it now, not find it later on the dashboard."""
    if not held:
        return None
    box = QMessageBox(
        QMessageBox.Icon.Information, "Shipments put on hold",
        f"{what} changes the outcome of {len(held)} open shipment(s); they are on hold until "
        f"determined again and cleared:\n\n"
        + "\n".join(f"{h['reference']}: {h['reason']}" for h in held[:20])
        + ("\n…" if len(held) > 20 else ""), QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def attach_rules_panels(items_page: Any, shipments_page: Any, ops: Ops,
                        parties_page: Any = None) -> None:
    """Add the Classification tab to the items page and the Determination tab
    to the shipments page (both are :class:`ui.pages.MasterPage`). The
    panels follow the record the form shows; their writes are announced
    through the page's ``saved`` signal, like a form save."""
    items_page.attach_panel("Classification", ClassificationPanel(items_page.wb, ops),
                            "classification_panel")
    det = shipments_page.attach_panel("Determination", DeterminationPanel(shipments_page.wb, ops),
                                      "determination_panel")
    shipments_page.form.changed.connect(det.form_edited)
    if parties_page is not None:
        parties_page.attach_panel("Rule facts", PartyTagsPanel(parties_page.wb, ops),
                                  "tags_panel")


# ----------------------------------------------------------------------------
# Loading a pack: diff and impact before confirming
# ----------------------------------------------------------------------------
class LoadPackDialog(QDialog):
    """Shows what a new pack changes — rules added/removed/changed, groups,
    and which open shipments and saved determinations change outcome — and
    asks the officer to confirm. ``confirmed(Pack)`` when they do. No I/O."""

    confirmed = Signal(object)

    def __init__(self, new: Pack, diff: dict[str, Any], impact: dict[str, Any],
                 already_active: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.new = new
        self.setWindowTitle(f"Load rules pack {new.id} {new.version}")
        lay = QVBoxLayout(self)
        self.text = _browser()
        self.text.setObjectName("pack_diff")
        self.text.setHtml(self._html(new, diff, impact, already_active))
        lay.addWidget(self.text, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.activate_btn = self.buttons.addButton("Put this pack in force",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._confirm)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(820, 620)

    def _confirm(self) -> None:
        self.confirmed.emit(self.new)
        self.accept()

    @staticmethod
    def _html(new: Pack, d: dict[str, Any], imp: dict[str, Any], already: bool) -> str:
        f, t = d["from"], d["to"]
        out = [f"<h3>{_e(t['id'])} {_e(t['version'])}</h3>",
               f"<p>{_e(new.manifest.get('title') or '')}<br>As of "
               f"<b>{_e(new.manifest.get('as_of'))}</b> · SHA-256 <code>{_e(t['sha256'])}</code>"
               f"<br>Checked: every file's SHA-256 matches the manifest and every rule is "
               f"valid.</p>",
               f"<p>Compared with the pack in force now: <b>{_e(f['id'])} {_e(f['version'])}</b>"
               f".</p>"]
        if already:
            out.append("<p><b>This exact pack is already in force.</b></p>")
        if new.manifest.get("disclaimer"):
            out.append(f"<p><i>{_e(new.manifest['disclaimer'])}</i></p>")
        out.append("<h4>What changes in the rules</h4><ul>")
        n = 0
        for x in d["added"]:
            n += 1
            out.append(f"<li><span style='color:#1e6b34'><b>New</b></span> "
                       f"{_e(KIND_WORDS.get(x['kind'], x['kind']).lower())} "
                       f"<b>{_e(x.get('title') or x['id'])}</b> — {_e(x.get('citation'))} "
                       f"<code>{_e(x['id'])}</code>")
            out.append(f"<div style='margin-left:12px'>{rule_html(new, x['id'], heading=False)}"
                       f"</div></li>")
        for x in d["removed"]:
            n += 1
            out.append(f"<li><span style='color:#b3261e'><b>Removed</b></span> "
                       f"{_e(KIND_WORDS.get(x['kind'], x['kind']).lower())} "
                       f"<b>{_e(x.get('title') or x['id'])}</b> <code>{_e(x['id'])}</code></li>")
        for x in d["changed"]:
            n += 1
            r = new.rule(x["id"])
            title = r.data.get("title") if r else x["id"]
            out.append(f"<li><b>Changed</b> {_e(title)} <code>{_e(x['id'])}</code>: "
                       f"{_e(', '.join(x['fields']))}</li>")
        for g in d["groups_changed"]:
            n += 1
            out.append(f"<li><b>Changed</b> country group {_e(g)}</li>")
        for s in d["sets_changed"]:
            n += 1
            out.append(f"<li><b>Changed</b> destination set {_e(s)}</li>")
        if d.get("aliases_changed"):
            n += 1
            out.append("<li><b>Changed</b> country aliases (e.g. Hong Kong treated as China)</li>")
        if d.get("classification_changed"):
            n += 1
            out.append("<li><b>Changed</b> classification tests (TPP/3A090)</li>")
        for s in d.get("sources_added") or []:
            src = new.sources.get(s, {})
            out.append(f"<li>New source {_e(src.get('citation') or s)}"
                       f"{(': ' + _e(src['title'])) if src.get('title') else ''}</li>")
        if n == 0:
            out.append("<li>No rule changes.</li>")
        out.append("</ul><h4>What changes for your shipments</h4>")
        ships = imp.get("shipments") or []
        if ships:
            out.append(f"<p><b>{len(ships)} open shipment{'s' if len(ships) != 1 else ''} "
                       f"change outcome:</b></p><table cellpadding='3' cellspacing='0' "
                       f"border='1' style='border-collapse:collapse; border-color:#ccc'>"
                       f"<tr style='background:#eef'><th>Shipment</th><th>Status</th>"
                       f"<th>Date</th><th>Now</th><th>With the new pack</th>"
                       f"<th>New rules</th></tr>")
            for s in ships:
                out.append(f"<tr><td>{_e(s['reference'])}</td>"
                           f"<td>{_e(shipments_mod.STATUS_LABELS.get(s['status'], s['status']))}"
                           f"</td><td>{_e(s['date'])}</td>"
                           f"<td>{_e(outcome_words(**s['before']))}</td>"
                           f"<td><b>{_e(outcome_words(**s['after']))}</b></td>"
                           f"<td>{_e(', '.join(s.get('rules_now') or []))}</td></tr>")
            out.append("</table>")
        else:
            out.append("<p>No open shipment changes outcome.</p>")
        dets = imp.get("determinations") or []
        if dets:
            out.append(f"<p><b>{len(dets)} saved determination{'s' if len(dets) != 1 else ''} "
                       f"would come out differently</b> (they stay as saved; determine those "
                       f"shipments again):</p><ul>")
            for x in dets:
                out.append(f"<li>Determination #{x['determination_id']} (shipment "
                           f"{x['shipment_id']}, {_e(x['date'])}): "
                           f"{_e(outcome_words(x['before']['outcome'], x['before']['exception']))}"
                           f" → <b>{_e(outcome_words(**x['after']))}</b></li>")
            out.append("</ul>")
        else:
            out.append("<p>No saved determination would come out differently.</p>")
        return "".join(out)


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
            Col("item", "Item (pick or type a model)", 0, make=self._make_picker),
            Col("fp16", "FP16 TFLOPS", 90), Col("fp8", "FP8 TFLOPS", 85),
            Col("int8", "INT8 TOPS", 80), Col("die", "Die mm²", 70),
            Col("link", "Chip-to-chip GB/s", 115),
            Col("dc", "Data centre", 95, counts=False,
                make=lambda: ChoiceCombo([("", "Unknown"), ("yes", "Yes"), ("no", "No")])),
            Col("qty", "Qty", 55),
        ], add_label="Add item")
        self.items.setObjectName("whatif_items")
        lay.addWidget(self.items)
        lay.addWidget(QLabel("<b>Parties</b> — named parties are screened against the loaded "
                             "list snapshots"))
        self.parties = ChildTable("parties", [
            Col("role", "Role", 160, counts=False,
                make=lambda: ChoiceCombo(list(shipments_mod.ROLE_LABELS.items()))),
            Col("name", "Name", 0),
            Col("country", "Country", 170, make=CountryCombo),
            Col("hq", "HQ country", 170, make=CountryCombo),
            Col("parent_hq", "Parent's HQ", 170, make=CountryCombo),
            Col("kind", "Kind", 120, counts=False,
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
                        cell.setText("" if v is None else _num(v).replace(",", ""))
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
                    tops[k] = _number(vals[k])
            it["tops"] = tops
            it["die_area_mm2"] = _number(vals["die"]) if vals["die"] else None
            it["interconnect_gbps"] = _number(vals["link"]) if vals["link"] else None
            it["datacenter"] = {"yes": True, "no": False}.get(vals["dc"] or "")
            it["quantity"] = _number(vals["qty"]) if vals["qty"] else None
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


def _number(v: Any) -> Any:
    # A what-if may hold a typo; keep the text so the engine's schema names it.
    try:
        f = float(str(v).replace(",", ""))
        return int(f) if f.is_integer() else f
    except ValueError:
        return v


def whatif_txn(store: Any, typed: dict[str, Any]) -> dict[str, Any]:
    """Turn the what-if form's values into a txn.json transaction: stored
    items become their transaction fields (with the officer's classification
    override), named parties are screened against the loaded snapshots and
    the exporter's is-informed letters are added. Read-only (worker)."""
    items = []
    for it in typed["items"]:
        if it.get("item_id") is not None:
            rec = items_mod.get_item(store, it["item_id"])
            d = rstore.item_txn_fields(store, rec)
            # the row's cells win: the officer may ask "what if it were faster"
            d["tops"] = {**(d.get("tops") or {}), **(it.get("tops") or {})}
            for k in ("die_area_mm2", "interconnect_gbps", "datacenter"):
                if it.get(k) is not None:
                    d[k] = it[k]
        else:
            d = {k: it.get(k) for k in ("model", "tops", "die_area_mm2", "interconnect_gbps",
                                        "datacenter")}
        if it.get("quantity") is not None:
            d["quantity"] = it["quantity"]
        items.append({k: v for k, v in d.items() if v is not None or k == "datacenter"})
    txn: dict[str, Any] = {"date": typed["date"], "destination": typed["destination"],
                           "export_kind": typed.get("export_kind") or "export",
                           "items": items,
                           "parties": [{k: v for k, v in p.items() if v not in (None, "")}
                                       for p in typed["parties"]]}
    if typed.get("end_use"):
        txn["end_use"] = typed["end_use"]
    txn = rstore.screen_txn_parties(store, txn)
    letters = rstore.active_letters(store)
    if letters:
        txn["is_informed_letters"] = letters
    return txn


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
        top.addWidget(_heading("Rules"))
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
        self.pack_table = _table(self.pack_model, [90, 230, 90, 90, 210])
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
        self.rule_table = _table(self.rule_proxy, [230, 160, 88, 88, 62, 105])
        self.rule_table.setSortingEnabled(True)
        self.rule_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.rule_table.selectionModel().currentRowChanged.connect(self._on_rule_row)
        split.addWidget(self.rule_table)
        self.rule_detail = _browser()
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
        lay.addWidget(_hint(
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
        self.letter_table = _table(self.letter_model, [130, 80, 200, 90, 220, 80])
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
            self.letter_note.setText(f"Letters in force: <b>{_e(', '.join(now) or 'none')}</b>")

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
            self.letter_note.setText(f"<span style='color:#8c1d18'>{_e(str(exc))}</span>")

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
        bar.addWidget(_hint("Groups change over time (Supp. No. 1 to Part 740): pick a date "
                            "to see who was a member that day."), 1)
        lay.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.group_model = RecordsModel(_group_columns(), self)
        self.group_table = _table(self.group_model, [150, 240, 85])
        self.group_table.selectionModel().currentRowChanged.connect(self._on_group_row)
        split.addWidget(self.group_table)
        self.group_detail = _browser()
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
        self.summary.setText(f"In force: <b>{_e(active.id)} {_e(active.version)}</b> "
                             f"(as of {_e(active.manifest['as_of'])})")
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
        out.append(f"<h3>{_e(name)} — {_e(d.get('title') or '')}</h3>")
        if s is not None:
            parts = []
            if s.get("union"):
                parts.append("members of " + ", ".join(s["union"]))
            if s.get("minus"):
                parts.append("except members of " + ", ".join(s["minus"]))
            if s.get("plus"):
                parts.append("plus " + ", ".join(s["plus"]))
            out.append(f"<p>A derived set: {_e('; '.join(parts))}"
                       + (f" ({_e(_validity(s))})" if s.get("valid_from") or s.get("valid_to")
                          else "") + ".</p>")
        if d.get("notes"):
            out.append(f"<p><i>{_e(d['notes'])}</i></p>")
        out.append(f"<p><b>{len(now)} members on {_e(date)}:</b> "
                   + ", ".join(f"{_e(country_name(c) or c)} ({_e(c)})" for c in now)
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
                    out.append(f"<tr><td>{_e(country_name(m['code']) or m['code'])} "
                               f"({_e(m['code'])})</td><td>{_e(m.get('from') or 'always')}</td>"
                               f"<td>{_e(m.get('to') or 'now')}</td><td>{badge}"
                               f"{_e(m.get('notes') or '')} {_e(src)}</td></tr>")
                out.append("</table>")
        aliases = [a for a in pack.aliases]
        if aliases:
            out.append("<h4>Country aliases in this pack</h4><ul>")
            for a in aliases:
                out.append(f"<li>{_e(country_name(a['code']) or a['code'])} is treated as "
                           f"{_e(country_name(a['maps_to']) or a['maps_to'])} from "
                           f"{_e(a.get('from') or 'the start')}"
                           + (f" to {_e(a['to'])}" if a.get("to") else "") + "</li>")
            out.append("</ul>")
        out.append("<p><b>Sources</b></p>"
                   + sources_html(_pack_sources(pack, d.get("sources") or [])))
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
        folder = QFileDialog.getExistingDirectory(self, "Choose a rules pack folder")
        if folder:
            self.preview_pack(folder)

    def preview_pack(self, folder: str) -> None:
        """Check the pack in `folder`, then show its diff against the pack in
        force and its impact (worker thread) in a dialog to confirm."""
        store = self.wb.store

        def work(task: Any) -> tuple[Pack, dict[str, Any], dict[str, Any], bool]:
            new = load_pack(folder)
            old = rstore.active_pack(store)
            d = rstore.diff_packs(old, new)
            imp = rstore.impact(store, new, old, hits_for=rstore.screening_hits_for(store))
            return new, d, imp, old.sha256 == new.sha256

        self.ops.run(work, success=self._show_preview, failure=self._preview_failed,
                     parent=self, progress="Checking the rules pack and its impact…")

    def _show_preview(self, res: tuple[Pack, dict[str, Any], dict[str, Any], bool]) -> None:
        new, d, imp, already = res
        self.load_dialog = LoadPackDialog(new, d, imp, already, self)
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

    def activate_pack(self, pack: Pack) -> None:
        """Store `pack` and put it in force (audited; worker thread)."""
        wb = self.wb
        self.ops.run(lambda t: holds.install_pack(wb, pack), success=self._activated,
                     parent=self, progress="Putting the pack in force…")

    def _activated(self, change: Change) -> None:
        self.packs.clear()
        self.refresh()
        self.held_box = tell_held(self, "The new pack", change.extra.get("held") or [])
        self.saved.emit(change)
