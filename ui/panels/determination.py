"""The Determination tab of a shipment: the licence determination in words,
saved determinations and the officer's override.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QModelIndex, QUrl, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Change, Workbench
from workbench.records.values import country_name
from workbench.rules import determinations as rstore
from workbench.rules.engine import determine
from workbench.rules.pack import Pack

from ui.kit.models import RecordsModel
from ui.kit.ops import Ops, show_error
from ui.kit.rules_html import (
    LIST_WORDS,
    OUTCOMES,
    POLICY_WORDS,
    ROLE_WORDS,
    UNVERIFIED_BADGE,
    number_text,
    outcome_words,
    rule_html,
    sources_html,
)
from ui.kit.views import esc, open_web_link, plain_table


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
            open_web_link(url)

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
        return (f'<a href="rule:{esc(rid)}" title="Sources: {esc(tip)} — click for the rule '
                f'text">{esc(r.get("citation") or rid)} {arrow}</a>')

    def _detail(self, r: dict[str, Any]) -> str:
        rid = r.get("rule_id") or ""
        if rid not in self.expanded:
            return ""
        body = rule_html(self.pack, rid, heading=False) if (
            self.pack is not None and self.pack.rule(rid) is not None) else (
            f"<p>{esc(r.get('notes') or '')}</p><p><b>Sources</b></p>"
            + sources_html(r.get("sources") or []))
        return (f'<table width="100%" cellpadding="6" style="background:#f5f7fb; '
                f'border:1px solid #c9d3e6;"><tr><td>{body}</td></tr></table>')

    def _witness(self, r: dict[str, Any]) -> str:
        ws = r.get("witness") or []
        parts = []
        for w in ws:
            if w.get("terms"):
                parts.append("the end use mentions " + ", ".join(
                    f"“{esc(t.rstrip('*'))}”" for t in w["terms"]))
                continue
            who = esc(w.get("party") or "a party")
            role = ROLE_WORDS.get(w.get("role") or "", w.get("role") or "")
            s = f"{who} ({esc(role.lower())})" if role else who
            if w.get("list"):
                # the hit may be confirmed or only possible: name it, don't judge it
                s += f" — <b>{esc(LIST_WORDS.get(w['list'], w['list']))}</b> entry"
                if w.get("list_name"):
                    s += f" “{esc(w['list_name'])}”"
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
            out.append(f"<p style='color:#555'>{esc(self.caption)}</p>")
        out.append(
            f'<table width="100%" cellpadding="10" style="background:{bg};'
            f' border:1px solid {fg};"><tr><td>'
            f'<span style="font-size:17pt; font-weight:700; color:{fg}">{esc(head)}</span><br>'
            f'{esc(meaning)}</td></tr></table>')
        facts = [f"Rules as of <b>{esc(r.get('date'))}</b>",
                 f"destination <b>{esc(country_name(dest) or dest)}</b> ({esc(dest)})"]
        out.append("<p>" + ", ".join(facts) + ".")
        if v.get("destination_note"):
            out.append(f"<br><i>{esc(v['destination_note'])}.</i>")
        out.append("</p>")
        if r.get("unverified"):
            out.append(f"<p>{UNVERIFIED_BADGE} This answer relies on rules whose research is "
                       f"not verified: <b>{esc(', '.join(r['unverified']))}</b>. Check them "
                       f"against the eCFR / Federal Register before relying on it.</p>")
        if r.get("review_needed"):
            items = "".join(f"<li>{esc(m)}</li>" for m in r["review_needed"])
            out.append(f"<h4>What a person must review</h4><ul>{items}</ul>")
        # items
        lines = {ln["line"]: ln for ln in r.get("lines") or []}
        rows = []
        for c in r.get("classification") or []:
            ln = lines.get(c["line"], {})
            eccn = c.get("eccn") or ("outside 3A090" if c.get("level") == "none"
                                     else "undecided")
            if c.get("fallback"):
                eccn += f" ({c['fallback']['eccn']} to confirm)"
            rows.append(
                f"<tr><td>{c['line']}</td><td>{esc(c.get('model'))}</td><td>{esc(eccn)}</td>"
                f"<td align='right'>{number_text(c.get('tpp'))}</td>"
                f"<td align='right'>{number_text(c.get('pd'))}</td>"
                f"<td>{esc(outcome_words(ln.get('outcome'), ln.get('exception')))}</td></tr>")
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
                extra = f"<br>{esc(x['message'])}" if x.get("message") else ""
                lns = x.get("lines") or []
                lin = f" <span style='color:#777'>(line{'s' if len(lns) > 1 else ''} " \
                      f"{', '.join(map(str, lns))})</span>" if lns else ""
                out.append(f"<li><b>{esc(x.get('title') or x['rule_id'])}</b>{badge}{lin}<br>"
                           f"{self._cite(x)}{extra}{self._witness(x)}{self._detail(x)}</li>")
            out.append("</ul>")
        elif outcome == "no_license_required":
            out.append("<p>No licence requirement in this pack applies to these items, this "
                       "destination and these parties on this date.</p>")
        for e in r.get("exceptions") or []:
            obs = "".join(f"<li>{esc(o.get('text'))}</li>" for o in e.get("obligations") or [])
            badge = "" if e.get("verified", True) else " " + UNVERIFIED_BADGE
            out.append(f"<h4>License Exception {esc(e['code'])}{badge}</h4>"
                       f"<p>{esc(e.get('title'))} — {self._cite(e)}"
                       + (f"<br>AES code: <b>{esc(e['aes_code'])}</b>" if e.get("aes_code")
                          else "") + "</p>"
                       + (f"<p><b>Before shipping you must:</b></p><ul>{obs}</ul>" if obs
                          else "") + self._detail(e))
        extra_obs = [o for o in r.get("obligations") or []
                     if not any(o.get("id") == x.get("id") for e in r.get("exceptions") or []
                                for x in e.get("obligations") or [])]
        if extra_obs:
            out.append("<h4>Obligations</h4><ul>" + "".join(
                f"<li>{esc(o.get('text'))}</li>" for o in extra_obs) + "</ul>")
        rp = r.get("review_policy")
        if rp:
            words = POLICY_WORDS.get(rp.get("policy"), rp.get("policy"))
            certs = "".join(f"<li>{esc(c)}</li>" for c in rp.get("certifications") or [])
            cite = rp.get("citation")
            out.append(f"<h4>If you apply for the licence</h4><p>BIS reviews it with "
                       f"<b>{esc(words)}</b>" + (f" — {esc(cite)}" if cite else "")
                       + (f"<br>List entry: “{esc(rp['text'])}”" if rp.get("text") else "")
                       + "</p>"
                       + (f"<p>The application must certify:</p><ul>{certs}</ul>" if certs
                          else ""))
        if r.get("warnings"):
            out.append("<h4>Warnings</h4><ul>" + "".join(
                f"<li>{esc(w)}</li>" for w in r["warnings"]) + "</ul>")
        if r.get("suppressed") or r.get("overlays"):
            out.append("<h4>Policy overlays applied</h4><ul>")
            for x in r.get("overlays") or []:
                tg = ", ".join(x.get("targets") or [])
                out.append(f"<li><b>{esc(x.get('title'))}</b>"
                           + (f" — switches off {esc(tg)}" if tg else "")
                           + f"<br>{self._cite(x)}{self._detail(x)}</li>")
            for x in r.get("suppressed") or []:
                out.append(f"<li>Not applied: <i>{esc(x.get('title'))}</i> "
                           f"({esc(x.get('citation'))}), switched off by "
                           f"{esc(x.get('suppressed_by'))}</li>")
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
                out.append(f"<li><b>{esc(c['exception'])}</b>: {esc(c.get('why_not'))}</li>")
            out.append("</ul>")
        parties = v.get("parties") or []
        if parties:
            rows = []
            for p in parties:
                lists = ", ".join(LIST_WORDS.get(x, x) for x in p.get("list_sources") or []) \
                    or "—"
                rows.append(f"<tr><td>{esc(ROLE_WORDS.get(p['role'], p['role']))}</td>"
                            f"<td>{esc(p.get('name'))}</td><td>{esc(p.get('country'))}</td>"
                            f"<td>{esc(p.get('hq_country'))}</td>"
                            f"<td>{esc(p.get('parent_hq_country'))}</td><td>{esc(lists)}</td></tr>")
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
            steps = "".join(f"<li>{esc(w)}</li>" for w in c.get("working") or [])
            work.append(f"<p><b>Line {c['line']} — {esc(c.get('model'))}</b></p><ul>{steps}</ul>")
        if work:
            out.append("<h4>Classification working</h4>" + "".join(work))
        p = r.get("pack") or {}
        out.append(f"<hr><p style='color:#555; font-size:9pt'>Rules pack <b>{esc(p.get('id'))} "
                   f"{esc(p.get('version'))}</b>, SHA-256 <code>{esc(p.get('sha256'))}</code><br>"
                   f"Evaluated {esc((r.get('evaluated_at') or 'now (not saved)')[:19])}"
                   f" · engine {esc(r.get('engine_version'))} · input SHA-256 "
                   f"<code>{esc((r.get('input_sha256') or '')[:16])}…</code><br>"
                   "Decision support only; not legal advice.</p>")
        return "".join(out)


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
        self.saved_table = plain_table(self.saved_model, [32, 112, 80, 150, 70])
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

        def work(_t: Any) -> tuple[dict[str, Any], Pack, str]:
            pack = rstore.active_pack(store)
            txn = rstore.txn_from_shipment(store, sid, hits_for=rstore.screening_hits_for(store))
            planned = store.scalar("select ship_date from shipment where id = ?", (sid,))
            return determine(pack, txn), pack, rstore.date_basis(planned, txn["date"])

        def done(res: tuple[dict[str, Any], Pack, str]) -> None:
            self._enable()
            if token != self._token:
                return
            self.result, pack, basis = res
            self.saved_table.clearSelection()
            self.view.show_result(self.result, pack, caption=(
                f"Determined now for {self.shipment_ref}, {basis} — not saved yet."))
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
