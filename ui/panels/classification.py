"""The Classification tab of an item: the computed ECCN with the TPP and
performance-density working, and the officer's acceptance or override.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from workbench.app import Change, Workbench
from workbench.errors import ValidationError
from workbench.rules import determinations as rstore
from workbench.rules.pack import Pack

from ui.dialogs.override_classification import ClassificationOverrideDialog
from ui.kit.ops import Ops, error_text, show_error
from ui.kit.rules_html import (
    UNVERIFIED_BADGE,
    condition_html,
    pack_sources,
    sources_html,
    validity_text,
)
from ui.kit.views import esc, open_web_link


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
        self.dialog: ClassificationOverrideDialog | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(open_web_link)
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
                self.view.setHtml(f"<p style='color:#b3261e'>{esc(error_text(exc))}</p>")

        self.ops.run(work, success=done, failure=failed, parent=self)

    def headline(self) -> str:
        """The proposal in a few words (also the tab's tooltip)."""
        if not self.info:
            return ""
        p = self.info["proposal"]
        if p["computed_eccn"]:
            return f"Proposed: {p['computed_eccn']}"
        if p["level"] == "none":
            fb = p.get("fallback")
            return ("Proposed: outside 3A090" + (f" ({fb['eccn']} to confirm)" if fb else ""))
        return "Proposed: undecided"

    def _render(self) -> None:
        info = self.info or {}
        p = info["proposal"]
        pack = self.pack
        out = [f"<h3>{esc(info.get('manufacturer') or '')} {esc(info['model'])}</h3>",
               f"<p style='color:#555'>As of {esc(info['date'])}, rules pack "
               f"{esc(info['pack']['id'])} {esc(info['pack']['version'])}. Computed from the "
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
            fb = p.get("fallback")
            other = (f" For the invoice, {fb['eccn']} is proposed; confirm it from the "
                     f"manufacturer's classification ({fb['why']})."
                     if fb else " Other ECCNs (e.g. 5A992, EAR99) are not assessed here.")
            out.append(self._box("Proposed: outside 3A090",
                                 f"By the formula this is not an advanced-computing chip "
                                 f"({why}).{other}", "#e6f4ea", "#1e6b34"))
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
        out += [f"<li>{esc(w)}</li>" for w in p["working"]]
        out.append("</ul>")
        if p.get("notes"):
            out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in p["notes"]) + "</ul>")
        # the rules that decided it
        if p.get("version") and pack is not None:
            r = pack.rule(p["version"])
            if r is not None:
                d = r.data
                badge = "" if r.verified else " " + UNVERIFIED_BADGE
                out.append(f"<h4>Decided by</h4><p><b>{esc(d.get('title'))}</b>{badge}<br>"
                           f"{esc(d.get('citation'))} · {esc(validity_text(d))}</p><ul>")
                for ex in d.get("exclusions") or []:
                    mark = "✔ " if p.get("excluded_by") == ex["id"] else ""
                    out.append(f"<li>{mark}<b>{esc(ex['id'])}</b> ({esc(ex.get('citation'))}) — "
                               f"outside 3A090 when {condition_html(ex['when'], pack)}</li>")
                for par in d.get("paragraphs") or []:
                    hit = eccn is not None and (eccn == par["id"] or
                                                eccn.endswith(par["id"][len("3A090"):]))
                    mark = "✔ " if hit else ""
                    out.append(f"<li>{mark}<b>{esc(par['id'])}</b> when "
                               f"{condition_html(par['when'], pack)}</li>")
                out.append("</ul><p><b>Sources</b></p>"
                           + sources_html(pack_sources(pack, d.get("sources") or [])))
                tpp = pack.classification.get("tpp") or {}
                if tpp.get("definition"):
                    out.append(f"<p style='color:#555'><b>TPP</b> ({esc(tpp.get('citation'))}): "
                               f"{esc(tpp['definition'])}</p>")
        # the officer's decision
        dec = info.get("decision")
        dout = ["<h4>Recorded classification</h4>"]
        if dec is None:
            dout.append("<p><b>None recorded yet.</b> Accept the proposal or override it "
                        "with a reason (buttons below).</p>")
        else:
            what = ("Accepted" if dec["decision"] == "accepted" else "Overridden to")
            dout.append(f"<p><b>{what} {esc(dec['eccn'] or 'outside 3A090')}</b> by "
                       f"{esc(dec['decided_by'])} on {esc(dec['decided_at'][:16].replace('T', ' '))}"
                       f" UTC" + (f"<br>Reason: {esc(dec['reason'])}" if dec.get("reason")
                                  else "")
                       + f"<br><span style='color:#777'>Proposal at the time: "
                         f"{esc(dec.get('proposed_eccn') or 'outside 3A090')}</span></p>")
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
                f'{esc(head)}</span><br>{esc(text)}</td></tr></table>')

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

    def open_override(self) -> ClassificationOverrideDialog | None:
        """Open the override dialog (non-blocking); returns it."""
        if self.item_id is None or not self.info:
            return None
        self.dialog = ClassificationOverrideDialog(self.info["proposal"]["computed_eccn"] or "outside 3A090",
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
