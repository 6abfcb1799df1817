"""The Clearance tab of a shipment: its status, each condition with every
reason it is not met, the moves (submit, clear, hold, block, cancel, ship,
four-eyes override), licence draws and obligations, and the history.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench import users
from workbench.app import Change, Workbench
from workbench.clearance import status as C
from workbench.licensing import ledger as L
from workbench.records.shipments import STATUS_LABELS
from workbench.records.values import format_money

from ui.dialogs.override_clearance import ClearanceOverrideDialog
from ui.kit.models import Column, RowsModel
from ui.kit.ops import Ops, show_error
from ui.kit.views import Banner, esc, format_timestamp, make_view


_TONE = {"cleared": ("#e6f4ea", "#1e6b34"), "shipped": ("#e6f4ea", "#1e6b34"),
         "on_hold": ("#fff4ce", "#7a5b00"), "in_review": ("#fff4ce", "#7a5b00"),
         "blocked": ("#fde7e7", "#8c1d18"), "cancelled": ("#eeeeee", "#555555"),
         "draft": ("#eef2fb", "#2b4c8c")}


DIRTY_NOTE = ("The shipment has unsaved edits: save or cancel them (Ctrl+S / Esc) before "
              "changing its status or drawing a licence.")


CHECKS = [("screening", "Screening"), ("determination", "Determination"),
          ("licence", "Licence or exception"), ("checklists", "Checklists")]


def _reason_html(text: str) -> str:
    """A reason as the core words it, with its `workbench …` commands set
    in small grey type: the same text serves the CLI and the app."""
    return re.sub(r"`([^`]+)`", r"<span style='color:gray; font-size:small'>\1</span>",
                  esc(text))


def _money(minor: int | None, cur: str) -> str:
    return "" if minor is None else f"{format_money(minor, cur)} {cur}"


class ClearancePanel(QWidget):
    """Status, conditions, drawdowns and history of the shipment the form
    shows, and the buttons that move its status. See the module docstring."""

    saved = Signal(object)
    loaded = Signal(object)  # the status dict, after each read (tests wait on it)

    def __init__(self, wb: Workbench, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.shipment_id: int | None = None
        self.ref = ""
        self.state: dict[str, Any] | None = None
        self.obligations: list[dict[str, Any]] = []
        self._token = 0
        self._stale = True
        self.export_packet: Callable[[int, str], None] | None = None  # set by the window
        # True while the form beside it has unsaved edits: a move then would be
        # undone by saving the form's stale status, so moves wait for the save
        self.form_dirty: Callable[[], bool] = lambda: False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.status_label = QLabel()
        self.status_label.setObjectName("clearance_status")
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.status_label, 1)
        top.addStretch(1)
        self.refresh_btn = QPushButton("Check again")
        self.refresh_btn.setToolTip("Read the conditions again (nothing is stored)")
        self.refresh_btn.clicked.connect(self.load)
        top.addWidget(self.refresh_btn)
        lay.addLayout(top)
        self.why_label = QLabel()
        self.why_label.setObjectName("clearance_why")
        self.why_label.setWordWrap(True)
        self.why_label.setTextFormat(Qt.TextFormat.RichText)
        self.why_label.setStyleSheet("color: palette(mid);")
        self.why_label.hide()
        lay.addWidget(self.why_label)

        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        self.check_labels: dict[str, QLabel] = {}
        for i, (k, label) in enumerate(CHECKS):
            cap = QLabel(label)
            cap.setStyleSheet("color: palette(mid);")
            val = QLabel()
            val.setTextFormat(Qt.TextFormat.RichText)
            grid.addWidget(cap, 0, i)
            grid.addWidget(val, 1, i)
            self.check_labels[k] = val
        lay.addLayout(grid)
        self.reasons = QLabel()
        self.reasons.setObjectName("clearance_reasons")
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(Qt.TextFormat.RichText)
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.reasons)
        self.banner = Banner()
        lay.addWidget(self.banner)

        self.buttons: dict[str, QPushButton] = {}
        rows = [[("submit", "Submit for review", self.ask_submit,
                  "Draft → in review (no conditions)"),
                 ("clear", "Clear", self.do_clear, "Cleared when every condition holds"),
                 ("ship", "Mark shipped", self.do_ship,
                  "Cleared → shipped, checking the conditions once more"),
                 ("override", "Override (four eyes)…", self.ask_override,
                  "Clear despite unmet conditions, with a reason and an approver's password")],
                [("draw", "Draw licence…", self.ask_draw,
                  "Draw a licence down by this shipment's lines"),
                 ("obligation", "Record obligation…", self.ask_obligation,
                  "Record what a licence exception requires (e.g. the NAC number)"),
                 ("hold", "Hold…", lambda: self.ask_reason("hold"), "Put on hold, with a reason"),
                 ("block", "Block…", lambda: self.ask_reason("block"), "Block, with a reason"),
                 ("cancel", "Cancel shipment…", lambda: self.ask_reason("cancel"),
                  "Cancel (drawdowns are reversed), with a reason"),
                 ("packet", "Export audit packet…", self._export,
                  "Signed PDF and Excel workbook of this shipment for an auditor")]]
        for row in rows:
            h = QHBoxLayout()
            for key, text, slot, tip in row:
                b = QPushButton(text)
                b.setToolTip(tip)
                b.clicked.connect(slot)
                self.buttons[key] = b
                h.addWidget(b)
            h.addStretch(1)
            lay.addLayout(h)

        split = QTabWidget()
        self.draw_model = RowsModel([
            Column("licence_number", "Licence", 110), Column("licence_line_no", "Line", 44,
                                                       numeric=True),
            Column("shipment_line_no", "Shipment line", 90, numeric=True),
            Column("quantity", "Quantity", 70, numeric=True),
            Column("value_minor", "Value", 120, numeric=True,
                fmt=lambda r: _money(r.get("value_minor"), r.get("currency") or "")),
            Column("created_at", "Drawn at", 140, fmt=lambda r: format_timestamp(r.get("created_at"))),
            Column("created_by", "By", 80)], self)
        self.history_model = RowsModel([
            Column("at", "When", 140, fmt=lambda r: format_timestamp(r.get("at"))),
            Column("action", "Action", 90, fmt=lambda r: r["action"].replace("_", " ")),
            Column("to_status", "Status", 150, fmt=lambda r: (
                f"{STATUS_LABELS.get(r['from_status'], r['from_status'])} → "
                f"{STATUS_LABELS.get(r['to_status'], r['to_status'])}")),
            Column("by_user", "By", 80), Column("approver", "Approver", 80),
            Column("reason", "Reason", 400, stretch=True,
                tip=lambda r: r.get("reason") or None)], self)
        self.history_view = make_view(self.history_model, self.history_model.columns, False)
        self.draw_view = make_view(self.draw_model, self.draw_model.columns, False)
        split.addTab(self.history_view, "Status history")
        split.addTab(self.draw_view, "Licence drawdowns")
        holder = QSplitter(Qt.Orientation.Vertical)
        holder.addWidget(split)
        lay.addWidget(holder, 1)
        self._enable()

    # -- reading -----------------------------------------------------------------------
    def set_record(self, rec: dict[str, Any] | None) -> None:
        """The form shows `rec` (None: a new shipment)."""
        same = rec is not None and rec.get("id") == self.shipment_id
        self.shipment_id = rec["id"] if rec else None
        self.ref = rec.get("reference", "") if rec else ""
        self._token += 1
        if not same:  # the same shipment re-read after a move keeps its message
            self.state = None
            self.banner.say("")
            self._show(None)
        self._stale = True
        if self.isVisible():
            self.load()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.load()

    def load(self) -> None:
        """Read status, conditions, drawdowns, history (worker thread)."""
        self._stale = False
        if self.shipment_id is None:
            return
        store, sid, token = self.wb.store, self.shipment_id, self._token

        def work(_t: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            st = C.status(store, sid)
            det = C.latest_determination(store, sid)
            obl = list((det or {}).get("result", {}).get("obligations") or []) \
                if det and det.get("outcome") == "license_exception" else []
            return st, obl

        def done(res: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
            if token != self._token:
                return
            self.state, self.obligations = res
            self._show(self.state)
            self.loaded.emit(self.state)

        self.ops.run(work, success=done, parent=self)

    def _show(self, s: dict[str, Any] | None) -> None:
        if s is None:
            self.status_label.setText(
                "<span style='color:gray'>Save the shipment first: clearance works on the "
                "saved shipment.</span>" if self.shipment_id is None else "Reading…")
            for v in self.check_labels.values():
                v.setText("")
            self.reasons.setText("")
            self.why_label.hide()
            self.draw_model.set_rows([])
            self.history_model.set_rows([])
            self._enable()
            return
        bg, fg = _TONE.get(s["status"], ("#eeeeee", "#333333"))
        hist = s.get("history") or []
        if hist:
            last = hist[-1]
            why = (f"{esc(last['action'].replace('_', ' '))} by {esc(last['by_user'])}"
                   + (f", approved by {esc(last['approver'])}" if last.get("approver") else "")
                   + f", {esc(format_timestamp(last['at']))}"
                   + (f": {esc(last['reason'])}" if last.get("reason") else ""))
        elif s["status"] != "draft":
            # e.g. imported history or a record typed in with its status
            why = "Status recorded when the shipment was saved; no clearance move since."
        else:
            why = ""
        self.status_label.setText(
            f"<span style='font-size:15px'>{esc(s['reference'])}</span> &nbsp; "
            f"<span style='background:{bg}; color:{fg}; padding:2px 8px; font-weight:600'>"
            f"&nbsp;{esc(s['label'])}&nbsp;</span>")
        self.why_label.setText(f"Last move: {why}" if hist else why)
        self.why_label.setVisible(bool(why))
        for k, _label in CHECKS:
            v = s["checks"].get(k, "")
            good = v in ("ok", "not needed")
            colour = "#1e6b34" if good else ("#8c1d18" if v == "unmet" else "#7a5b00")
            mark = "✓" if good else ("✗" if v == "unmet" else "…")
            self.check_labels[k].setText(f"<span style='color:{colour}'><b>{mark}</b> "
                                         f"{esc(v)}</span>")
        if s["status"] in ("shipped", "cancelled"):
            self.reasons.setText(f"This shipment is {esc(s['label'].lower())}; its record is "
                                 f"closed.")
        elif s["ok"]:
            self.reasons.setText("<b style='color:#1e6b34'>Every condition is met</b> — it can "
                                 "be cleared." if s["status"] != "cleared" else
                                 "<b style='color:#1e6b34'>Every condition still holds.</b>")
        else:
            items = "".join(
                f"<li>{_reason_html(r['text'])}"
                + (" <i>(no override can replace this)</i>" if r["code"] in C.NOT_OVERRIDABLE
                   else "") + "</li>" for r in s["reasons"])
            self.reasons.setText(f"<b>Not clear yet — {len(s['reasons'])} condition(s) "
                                 f"unmet:</b><ul style='margin-top:2px'>{items}</ul>")
        self.draw_model.set_rows(s.get("drawdowns") or [])
        self.history_model.set_rows(list(reversed(s.get("history") or [])))
        self._enable()

    def form_edited(self) -> None:
        """The form has unsaved edits: say why the moves are disabled."""
        if self.shipment_id is not None and self.form_dirty():
            self.banner.say(DIRTY_NOTE, "warn")
        self._enable()

    def _enable(self) -> None:
        s = self.state
        dirty = self.form_dirty()
        if not dirty and self.banner.text().startswith(DIRTY_NOTE[:30]):
            self.banner.say("")  # the edits were saved or dropped
        can = self.wb.user.can_write and s is not None and not dirty
        st = s["status"] if s else None
        for key, b in self.buttons.items():
            if key == "packet":
                b.setEnabled(self.shipment_id is not None)
                continue
            if key in ("draw", "obligation"):
                ok = can and st not in ("shipped", "cancelled")
                if key == "obligation":
                    ok = ok and bool(self.obligations)
            else:
                ok = can and st in C.ACTIONS[key][0]
            b.setEnabled(bool(ok))
        self.refresh_btn.setEnabled(self.shipment_id is not None)

    # -- writing -----------------------------------------------------------------------
    def _write(self, fn: Callable[[], Change], progress: str,
               ok: Callable[[Change], str]) -> None:
        """Run one clearance write on the worker. The message is built when
        the write was asked for (the officer may select another shipment
        before it ends); ``saved`` makes the page re-read the record, which
        reloads this panel."""
        if self.shipment_id is None or self.form_dirty():
            return
        sid = self.shipment_id
        for b in self.buttons.values():
            b.setEnabled(False)

        def done(ch: Change) -> None:
            if sid == self.shipment_id:
                self.banner.say(ok(ch), "ok")
            self.saved.emit(ch)

        def failed(exc: BaseException) -> None:
            if sid != self.shipment_id:
                show_error(self, exc)
                return
            reasons = getattr(exc, "reasons", None)
            if reasons and len(reasons) > 1:
                self.banner.say(f"{getattr(exc, 'prefix', '') or 'Refused: '}"
                                + "".join(f"\n• {r}" for r in reasons), "bad")
            else:
                self.banner.say(str(exc) if isinstance(exc, Exception) else repr(exc), "bad")
            self._enable()
            if not isinstance(exc, Exception) or type(exc).__module__.startswith("builtins"):
                show_error(self, exc)

        self.ops.run(lambda _t: fn(), success=done, failure=failed, parent=self,
                     progress=progress)

    def do_submit(self, reason: str = "") -> None:
        sid, wb, ref = self.shipment_id, self.wb, self.ref
        self._write(lambda: C.submit(wb, sid, reason), "Submitting…",
                    lambda ch: f"{ref} is in review.")

    def ask_submit(self) -> None:
        self.do_submit()

    def do_clear(self) -> None:
        sid, wb, ref = self.shipment_id, self.wb, self.ref
        self._write(lambda: C.clear(wb, sid), "Checking every condition…",
                    lambda ch: f"{ref} is cleared. Mark it shipped when it leaves.")

    def do_ship(self) -> None:
        sid, wb, ref = self.shipment_id, self.wb, self.ref
        self._write(lambda: C.ship(wb, sid), "Checking the conditions once more…",
                    lambda ch: f"{ref} is marked shipped; its record is closed.")

    def do_move(self, action: str, reason: str) -> None:
        """Hold, block or cancel with `reason` (worker thread)."""
        sid, wb, ref = self.shipment_id, self.wb, self.ref
        fn = {"hold": C.hold, "block": C.block, "cancel": C.cancel}[action]
        self._write(lambda: fn(wb, sid, reason), "Saving…",
                    lambda ch: f"{ref} is now {STATUS_LABELS[ch.record['to']].lower()}.")

    def ask_reason(self, action: str) -> None:
        what = {"hold": "Put on hold", "block": "Block", "cancel": "Cancel"}[action]
        text, ok = QInputDialog.getText(self, f"{what} {self.ref}",
                                        f"{what} {self.ref} — the reason (an auditor will "
                                        f"read it):")
        if ok:
            self.do_move(action, text)

    def do_override(self, reason: str, approver: str, password: str) -> None:
        sid, wb, ref = self.shipment_id, self.wb, self.ref
        self._write(lambda: C.override(wb, sid, reason, approver, password),
                    "Checking the approver…",
                    lambda ch: f"{ref} cleared by override, approved by "
                               f"{ch.record.get('approver', approver)}.")

    def ask_override(self) -> None:
        if self.state is None:
            return
        approvers = users.possible_approvers(self.wb.store, self.wb.user)
        dlg = ClearanceOverrideDialog(self.ref, [r["text"] for r in self.state["reasons"]] or
                             ["(none — a blocked shipment needs an override to move on)"],
                             approvers, self)
        accepted = dlg.exec() == QDialog.DialogCode.Accepted
        values = dlg.values()
        dlg.password.clear()  # the approver's password lives no longer than needed
        dlg.deleteLater()
        if accepted:
            self.do_override(*values)

    def do_draw(self, licence_id: int) -> None:
        sid, wb, ref = self.shipment_id, self.wb, self.ref

        def ok(ch: Change) -> str:
            made = ch.record.get("drawdowns") or []
            lic = made[0]["licence"] if made else ""
            return f"Licence {lic} drawn down by {len(made)} line(s) of {ref}."

        self._write(lambda: L.draw(wb, sid, licence_id), "Drawing the licence down…", ok)

    def ask_draw(self) -> None:
        bals = [b for b in L.balances(self.wb.store)]
        if not bals:
            self.banner.say("There is no licence to draw from; add it on the Licences page.",
                            "warn")
            return
        labels = [f"{b['number']} — expires {b['expiry_date']}, {b['used_pct']:.0f}% used"
                  for b in bals]
        choice, ok = QInputDialog.getItem(self, f"Draw a licence for {self.ref}",
                                          "Licence (every line of the shipment is drawn):",
                                          labels, 0, False)
        if ok:
            self.do_draw(bals[labels.index(choice)]["id"])

    def do_obligation(self, obligation_id: str, value: str) -> None:
        sid, wb = self.shipment_id, self.wb
        self._write(lambda: C.record_obligation(wb, sid, obligation_id, value),
                    "Recording…", lambda ch: f"Obligation {obligation_id} recorded.")

    def ask_obligation(self) -> None:
        if not self.obligations:
            return
        labels = [f"{o['id']} — {o.get('text', '')}"[:160] for o in self.obligations]
        choice, ok = QInputDialog.getItem(self, "Record an obligation",
                                          "Which obligation of the licence exception:",
                                          labels, 0, False)
        if not ok:
            return
        ob = self.obligations[labels.index(choice)]
        value, ok = QInputDialog.getText(self, f"Record {ob['id']}",
                                         f"{ob.get('text', '')}\n\nThe reference that shows it "
                                         f"was met (e.g. the NAC authorization number):")
        if ok:
            self.do_obligation(ob["id"], value)

    def _export(self) -> None:
        if self.export_packet is not None and self.shipment_id is not None:
            self.export_packet(self.shipment_id, self.ref)
