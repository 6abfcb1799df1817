"""Loading a rules pack: verify it, show what it would change, activate it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from workbench.records import shipments as shipments_mod
from workbench.rules.pack import Pack

from ui.kit.rules_html import KIND_WORDS, outcome_words, rule_html
from ui.kit.views import esc, link_browser


# ----------------------------------------------------------------------------
# Loading a pack: diff and impact before confirming
# ----------------------------------------------------------------------------
class LoadPackDialog(QDialog):
    """Shows what a new pack changes — rules added/removed/changed, groups,
    and which open shipments and saved determinations change outcome — and
    asks for the second person: an approver who types their own password.
    ``confirmed(Pack, approver, password)`` when they do; the page checks the
    password through the core. No I/O."""

    confirmed = Signal(object, str, str)

    def __init__(self, new: Pack, diff: dict[str, Any], impact: dict[str, Any],
                 already_active: bool, approvers: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.new = new
        self.setWindowTitle(f"Load rules pack {new.id} {new.version}")
        lay = QVBoxLayout(self)
        self.text = link_browser()
        self.text.setObjectName("pack_diff")
        self.text.setHtml(self._html(new, diff, impact, already_active))
        lay.addWidget(self.text, 1)
        note = QLabel("Putting a rules pack in force needs a second person: an approver "
                      "enters their own password here.")
        note.setWordWrap(True)
        lay.addWidget(note)
        form = QFormLayout()
        self.approver = QComboBox()
        self.approver.setEditable(True)
        self.approver.addItems(approvers or [])
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Approver", self.approver)
        form.addRow("Approver's password", self.password)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.activate_btn = self.buttons.addButton("Put this pack in force",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._confirm)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(820, 620)

    def _confirm(self) -> None:
        self.confirmed.emit(self.new, self.approver.currentText().strip(), self.password.text())
        self.accept()

    @staticmethod
    def _html(new: Pack, d: dict[str, Any], imp: dict[str, Any], already: bool) -> str:
        f, t = d["from"], d["to"]
        out = [f"<h3>{esc(t['id'])} {esc(t['version'])}</h3>",
               f"<p>{esc(new.manifest.get('title') or '')}<br>As of "
               f"<b>{esc(new.manifest.get('as_of'))}</b> · SHA-256 <code>{esc(t['sha256'])}</code>"
               f"<br>Checked: every file's SHA-256 matches the manifest, every rule is "
               f"valid and all {len(new.golden_cases)} of the pack's own test cases pass.</p>",
               f"<p>Compared with the pack in force now: <b>{esc(f['id'])} {esc(f['version'])}</b>"
               f".</p>"]
        if already:
            out.append("<p><b>This exact pack is already in force.</b></p>")
        if new.manifest.get("disclaimer"):
            out.append(f"<p><i>{esc(new.manifest['disclaimer'])}</i></p>")
        out.append("<h4>What changes in the rules</h4><ul>")
        n = 0
        for x in d["added"]:
            n += 1
            out.append(f"<li><span style='color:#1e6b34'><b>New</b></span> "
                       f"{esc(KIND_WORDS.get(x['kind'], x['kind']).lower())} "
                       f"<b>{esc(x.get('title') or x['id'])}</b> — {esc(x.get('citation'))} "
                       f"<code>{esc(x['id'])}</code>")
            out.append(f"<div style='margin-left:12px'>{rule_html(new, x['id'], heading=False)}"
                       f"</div></li>")
        for x in d["removed"]:
            n += 1
            out.append(f"<li><span style='color:#b3261e'><b>Removed</b></span> "
                       f"{esc(KIND_WORDS.get(x['kind'], x['kind']).lower())} "
                       f"<b>{esc(x.get('title') or x['id'])}</b> <code>{esc(x['id'])}</code></li>")
        for x in d["changed"]:
            n += 1
            r = new.rule(x["id"])
            title = r.data.get("title") if r else x["id"]
            out.append(f"<li><b>Changed</b> {esc(title)} <code>{esc(x['id'])}</code>: "
                       f"{esc(', '.join(x['fields']))}</li>")
        for g in d["groups_changed"]:
            n += 1
            out.append(f"<li><b>Changed</b> country group {esc(g)}</li>")
        for s in d["sets_changed"]:
            n += 1
            out.append(f"<li><b>Changed</b> destination set {esc(s)}</li>")
        if d.get("aliases_changed"):
            n += 1
            out.append("<li><b>Changed</b> country aliases (e.g. Hong Kong treated as China)</li>")
        if d.get("classification_changed"):
            n += 1
            out.append("<li><b>Changed</b> classification tests (TPP/3A090)</li>")
        for s in d.get("sources_added") or []:
            src = new.sources.get(s, {})
            out.append(f"<li>New source {esc(src.get('citation') or s)}"
                       f"{(': ' + esc(src['title'])) if src.get('title') else ''}</li>")
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
                out.append(f"<tr><td>{esc(s['reference'])}</td>"
                           f"<td>{esc(shipments_mod.STATUS_LABELS.get(s['status'], s['status']))}"
                           f"</td><td>{esc(s['date'])}</td>"
                           f"<td>{esc(outcome_words(**s['before']))}</td>"
                           f"<td><b>{esc(outcome_words(**s['after']))}</b></td>"
                           f"<td>{esc(', '.join(s.get('rules_now') or []))}</td></tr>")
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
                           f"{x['shipment_id']}, {esc(x['date'])}): "
                           f"{esc(outcome_words(x['before']['outcome'], x['before']['exception']))}"
                           f" → <b>{esc(outcome_words(**x['after']))}</b></li>")
            out.append("</ul>")
        else:
            out.append("<p>No saved determination would come out differently.</p>")
        return "".join(out)
