"""`workbench licence …`, `workbench shipment …`, `workbench attention`.

Refusals print one reason per line on stderr (or ``{"ok": false, "reasons"}``
with --json) and exit 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import click

from workbench.cli.common import Ctx, approver_password, pass_ctx
from workbench.records.values import format_money
from workbench.licensing import LedgerRefused


def _money(minor: int | None, cur: str) -> str:
    return "—" if minor is None else f"{format_money(minor, cur)} {cur}"


def _balance_text(b: dict[str, Any]) -> str:
    lines = [f"Licence {b['number']} ({b['agency']}), valid {b['issue_date']} to "
             f"{b['expiry_date']}" + (" — EXPIRED" if b["expired"] else
                                      f" ({b['days_to_expiry']} days left)")]
    for ln in b["lines"]:
        qty = ("" if ln["licensed_quantity"] is None else
               f"qty {ln['used_quantity']}/{ln['licensed_quantity']} used, "
               f"{ln['remaining_quantity']} left; ")
        lines.append(f"  line {ln['line_no']} {ln['eccn']} {ln['description']} [{ln['unit']}]: "
                     f"{qty}value {_money(ln['used_value_minor'], ln['currency'])} of "
                     f"{_money(ln['licensed_value_minor'], ln['currency'])} (cap "
                     f"{_money(ln['value_cap_minor'], ln['currency'])}, tolerance "
                     f"{ln['tolerance_pct']:g}%) — {ln['used_pct']:g}% used")
    for w in b["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    """Add the ledger and clearance commands to the main `workbench` group."""
    def as_json(c: Ctx, flag: bool) -> bool:
        return flag or c.as_json

    def run(c: Ctx, flag: bool, fn: Callable[[], Any]) -> Any:
        """Run a write; a refusal becomes its reasons and exit 1."""
        try:
            return fn()
        except LedgerRefused as e:
            if as_json(c, flag):
                click.echo(json.dumps({"ok": False, "reasons": e.reasons}, indent=2,
                                      ensure_ascii=False))
            else:
                if len(e.reasons) == 1:
                    click.echo(f"workbench: {e}", err=True)
                else:
                    click.echo(f"workbench: {(e.prefix or 'refused: ').rstrip()}", err=True)
                    for r in e.reasons:
                        click.echo(f"  - {r}", err=True)
            sys.exit(1)

    def out(c: Ctx, flag: bool, data: Any, text: str | Callable[[], str]) -> None:
        if as_json(c, flag):
            click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        else:
            click.echo(text() if callable(text) else text)

    json_opt = click.option("--json", "json_flag", is_flag=True, help="Machine-readable output.")

    # -- licence ---------------------------------------------------------------------------
    @cli.group("licence")
    def licence_group() -> None:
        """Licence ledger: balances, drawdowns and reversals (15 CFR 750.7, 750.11)."""

    @licence_group.command("balance")
    @click.argument("number", required=False)
    @json_opt
    @pass_ctx
    def licence_balance(c: Ctx, number: str | None, json_flag: bool) -> None:
        """Balance of one licence (or all): used, left, tolerance cap, warnings."""
        from workbench.licensing import ledger as L

        st = c.workbench().store
        data = [L.balance(st, L.find_licence(st, number))] if number else L.balances(st)
        out(c, json_flag, data if not number else data[0],
            lambda: "\n".join(_balance_text(b) for b in data) or "no licences")

    @licence_group.command("draw")
    @click.option("--shipment", "ref", required=True, help="Shipment reference.")
    @click.option("--licence", "number", required=True, help="Licence number.")
    @click.option("--line", "lines", type=int, multiple=True,
                  help="Only this shipment line (repeatable; default all lines).")
    @click.option("--licence-line", type=int, help="The licence line to draw on "
                  "(default: the line whose ECCN matches the item's).")
    @json_opt
    @pass_ctx
    def licence_draw(c: Ctx, ref: str, number: str, lines: tuple[int, ...],
                     licence_line: int | None, json_flag: bool) -> None:
        """Draw a licence down by a shipment's lines (whole lines)."""
        from workbench.licensing import ledger as L

        wb = c.signed_in()
        sid, lid = L.find_shipment_ref(wb.store, ref), L.find_licence(wb.store, number)
        ch = run(c, json_flag, lambda: L.draw(wb, sid, lid, shipment_lines=list(lines) or None,
                                              licence_line=licence_line))
        made = ch.record["drawdowns"]
        out(c, json_flag, {"ok": True, "drawdowns": made,
                           "balance": L.balance(wb.store, lid)},
            lambda: "\n".join(
                [f"Drawdown {d['drawdown']}: {ref} line {d['shipment_line']} → licence "
                 f"{d['licence']} line {d['licence_line']}: {d['quantity']} units, "
                 f"{_money(d['value_minor'], d['currency'])}" for d in made]
                + [_balance_text(L.balance(wb.store, lid))]))

    @licence_group.command("reverse")
    @click.argument("drawdown", type=int)
    @click.option("--reason", required=True, help="Why (an auditor will read it).")
    @json_opt
    @pass_ctx
    def licence_reverse(c: Ctx, drawdown: int, reason: str, json_flag: bool) -> None:
        """Reverse a drawdown with a new, audited reversal record."""
        from workbench.licensing import ledger as L

        wb = c.signed_in()
        ch = run(c, json_flag, lambda: L.reverse(wb, drawdown, reason))
        r = ch.record
        out(c, json_flag, {"ok": True, **r},
            f"Reversal {r['reversal']} of drawdown {drawdown}: {r['quantity']} units back on "
            f"licence {r['licence']} (shipment {r['shipment']})")

    # -- shipment --------------------------------------------------------------------------
    @cli.group("shipment")
    def shipment_group() -> None:
        """Shipment clearance: status, clear, hold, ship, cancel, override."""

    def _status_text(s: dict[str, Any]) -> str:
        lines = [f"{s['reference']}: {s['label']}"]
        det = s.get("determination")
        if det:
            lines.append(f"  determination {det['id']}: {det['outcome'].replace('_', ' ')}"
                         f"{' (' + det['exception'] + ')' if det['exception'] else ''}, pack "
                         f"{det['pack']['id']} {det['pack']['version']}, "
                         f"{'current' if det['current'] else 'OUT OF DATE'}")
        lines.append("  checks: " + ", ".join(f"{k} {v}" for k, v in s["checks"].items()))
        for d in s["drawdowns"]:
            lines.append(f"  drawdown {d['id']}: line {d['shipment_line_no']} on licence "
                         f"{d['licence_number']} line {d['licence_line_no']}, {d['quantity']} "
                         f"units, {_money(d['value_minor'], d['currency'])}")
        for o in s["obligations"]:
            lines.append(f"  obligation {o['obligation_id']}: {o['value']}")
        if s["ok"]:
            lines.append("  ready to clear: every condition is met"
                         if s["status"] not in ("cleared", "shipped", "cancelled")
                         else "  every condition is met")
        else:
            lines.append("  not clear:" if s["status"] != "cleared" else "  since clearance:")
            lines += [f"    - {r['text']}" for r in s["reasons"]]
        for h in s["history"][-5:]:
            lines.append(f"  {h['at'][:19]} {h['by_user']}: {h['action']} "
                         f"{h['from_status']} → {h['to_status']}"
                         f"{' — ' + h['reason'] if h['reason'] else ''}"
                         f"{' (approved by ' + h['approver'] + ')' if h['approver'] else ''}")
        return "\n".join(lines)

    @shipment_group.command("status")
    @click.argument("ref")
    @json_opt
    @pass_ctx
    def shipment_status(c: Ctx, ref: str, json_flag: bool) -> None:
        """Status and every clearance condition, with what is missing."""
        from workbench.clearance import status as C
        from workbench.licensing import ledger as L

        st = c.workbench().store
        s = C.status(st, L.find_shipment_ref(st, ref))
        out(c, json_flag, s, lambda: _status_text(s))

    def _move_cmd(name: str, needs_reason: bool, help_text: str) -> None:
        @shipment_group.command(name, help=help_text)
        @click.argument("ref")
        # No click `required`: the domain refusal says why a reason is needed.
        @click.option("--reason", default="",
                      help="Why" + (" (required)." if needs_reason else "."))
        @json_opt
        @pass_ctx
        def cmd(c: Ctx, ref: str, reason: str, json_flag: bool) -> None:
            from workbench.clearance import status as C
            from workbench.licensing import ledger as L

            wb = c.signed_in()
            sid = L.find_shipment_ref(wb.store, ref)
            fns: dict[str, Callable[[], Any]] = {
                "submit": lambda: C.submit(wb, sid, reason),
                "clear": lambda: C.clear(wb, sid),
                "hold": lambda: C.hold(wb, sid, reason),
                "block": lambda: C.block(wb, sid, reason),
                "ship": lambda: C.ship(wb, sid),
                "cancel": lambda: C.cancel(wb, sid, reason)}
            m = run(c, json_flag, fns[name]).record
            out(c, json_flag, {"ok": True, **m},
                f"{m['reference']}: {m['from'].replace('_', ' ')} → {m['to'].replace('_', ' ')}")

    _move_cmd("submit", False, "Send a draft (or a held shipment) for review.")
    _move_cmd("clear", False, "Clear a shipment when every condition is met (else say why).")
    _move_cmd("hold", True, "Put a shipment on hold, with a reason.")
    _move_cmd("block", True, "Block a shipment, with a reason.")
    _move_cmd("ship", False, "Mark a cleared shipment shipped.")
    _move_cmd("cancel", True, "Cancel a shipment (its drawdowns are reversed), with a reason.")

    @shipment_group.command("override")
    @click.argument("ref")
    @click.option("--reason", required=True, help="Why the unmet conditions are acceptable.")
    @click.option("--approver", required=True, help="A different user with the approver role.")
    @json_opt
    @pass_ctx
    def shipment_override(c: Ctx, ref: str, reason: str, approver: str,
                          json_flag: bool) -> None:
        """Clear despite unmet conditions: four eyes (the approver's password from
        $WORKBENCH_APPROVER_PASSWORD or a prompt)."""
        from workbench.clearance import status as C
        from workbench.licensing import ledger as L

        wb = c.signed_in()
        pw = approver_password(approver)
        sid = L.find_shipment_ref(wb.store, ref)
        m = run(c, json_flag, lambda: C.override(wb, sid, reason, approver, pw)).record
        out(c, json_flag, {"ok": True, **m}, lambda: "\n".join(
            [f"{m['reference']}: {m['from'].replace('_', ' ')} → cleared by override "
             f"(approved by {approver})"] + [f"  overridden: {r}" for r in m["overridden"]]))

    @shipment_group.command("obligation")
    @click.argument("ref")
    @click.argument("obligation_id")
    @click.option("--value", required=True, help="The reference showing it is met, "
                  "e.g. the NAC authorization number.")
    @click.option("--note", default="")
    @json_opt
    @pass_ctx
    def shipment_obligation(c: Ctx, ref: str, obligation_id: str, value: str, note: str,
                            json_flag: bool) -> None:
        """Record a licence-exception obligation as met (e.g. NAC.notify)."""
        from workbench.clearance import status as C
        from workbench.licensing import ledger as L

        wb = c.signed_in()
        sid = L.find_shipment_ref(wb.store, ref)
        ch = run(c, json_flag, lambda: C.record_obligation(wb, sid, obligation_id, value, note))
        out(c, json_flag, {"ok": True, **ch.record},
            f"{ref}: obligation {obligation_id} recorded ({value})")

    # -- attention -------------------------------------------------------------------------
    @cli.command("attention")
    @click.option("--today", help="As of this date (YYYY-MM-DD; default today).")
    @json_opt
    @pass_ctx
    def attention_cmd(c: Ctx, today: str | None, json_flag: bool) -> None:
        """What needs attention today: hits, holds, approvals, licences, re-verification,
        and the rules pack's review date and dated assumptions."""
        from workbench.clearance.attention import attention

        a = attention(c.workbench().store, today)

        def pack_review_lines(v: dict) -> list[str]:
            p = v["pack"]
            lines = [f"  {v['label']}: {v['count']}"
                     + (f" ({p['id']} {p['version']})" if v["count"] else "")]
            for i in v["detail"]:
                state = "OVERDUE" if i["overdue"] else "due"
                what = "review" if i["kind"] == "review" else f"assumption {i['id']}"
                lines.append(f"    - {state} {what}: {i['text']}")
                if i["check"]:
                    lines.append(f"      Check: {i['check']}")
                if i["rules"]:
                    lines.append("      Rules: " + "; ".join(
                        f"{r['id']} ({r['title']})" if r["title"] else r["id"]
                        for r in i["rules"]))
            return lines

        def text() -> str:
            lines = [f"Needs attention on {a['today']}:"]
            for k, v in a.items():
                if isinstance(v, dict) and "label" in v:
                    n = v["count"] if v["count"] is not None else v.get("state")
                    if k == "rules_pack_review":
                        lines += pack_review_lines(v)
                        continue
                    ids = f" ({', '.join(map(str, v['ids'][:10]))})" if v["ids"] else ""
                    lines.append(f"  {v['label']}: {n}{ids}")
            util = a["series"]["licence_utilisation"]
            if util:
                lines.append("  licence utilisation: " + ", ".join(
                    f"{u['licence']}/{u['line']} {u['used_pct']:g}%" for u in util))
            wk = a["series"]["screenings_per_week"]
            lines.append("  screenings per week: " + " ".join(str(w["runs"]) for w in wk))
            return "\n".join(lines)

        out(c, json_flag, a, text)
