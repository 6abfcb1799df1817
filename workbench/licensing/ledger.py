"""The licence ledger: drawdowns of licence lines by shipment lines.

A drawdown takes one shipment line (its whole quantity and value) against one
licence line. It is never edited or deleted (SQLite triggers refuse it); it
is undone only by a *reversal* row that names it, with a reason and its own
audit event. A licence line's use is the sum of its drawdowns that have no
reversal.

Limits (shared/domain/regulations.md §7):

- quantity and value both cap shipments (15 CFR 750.7(f));
- the shipping tolerance (15 CFR 750.11) depends on the unit the CCL gives
  the ECCN: for a **"number"** unit the quantity is exact (nothing more ships
  once the full licensed quantity has shipped) and the cumulative value may
  exceed the licensed value by the tolerance (10 % unless the pack says
  otherwise); for a **"$ value"** unit the value is the only cap and there is
  no value tolerance;
- no drawdown for a ship date before the licence's issue date or after its
  expiry (15 CFR 750.7(g)), nor once the licence has expired.

Every check runs inside the same ``BEGIN IMMEDIATE`` transaction as the
insert, so two processes drawing on one licence are serialised by SQLite and
can never overdraw it; a trigger refuses an over-quantity insert as a second
line of defence. Threading: like the store — any thread, one transaction per
write call.
"""

from __future__ import annotations

import datetime as _dt
from fractions import Fraction
from typing import Any

from workbench.app import Change, Workbench
from workbench.db.store import Store, utc_now
from workbench.errors import NotFound
from workbench.licensing import LedgerRefused
from workbench.records.values import format_money
from workbench.rules.determinations import active_pack, classify_item

DEFAULT_TOLERANCE_PCT = 10
NEARLY_USED_PCT = 80
EXPIRY_WARNING_DAYS = 60
UNIT_NUMBER = "number"
UNIT_VALUE = "$ value"
# The CCL "Unit:" of the ECCNs this workbench meets most; others fall back to
# the product group (A/B equipment are counted, C/D/E by value).
UNIT_BY_ECCN = {"3A090": UNIT_NUMBER, "4A090": UNIT_NUMBER, "3A001": UNIT_NUMBER,
                "4A003": UNIT_NUMBER, "4A004": UNIT_NUMBER, "5A002": UNIT_NUMBER,
                "5A992": UNIT_NUMBER, "3A991": UNIT_NUMBER, "4A994": UNIT_NUMBER,
                "5D002": UNIT_VALUE, "5D992": UNIT_VALUE, "4D994": UNIT_VALUE,
                "3D001": UNIT_VALUE, "4D001": UNIT_VALUE}
CITE_TOLERANCE = "15 CFR 750.11 (regulations.md §7)"
CITE_LIMITS = "15 CFR 750.7(f) (regulations.md §7)"
CITE_VALIDITY = "15 CFR 750.7(g) (regulations.md §7)"
CITE_PARTIES = "15 CFR 750.7(a) (regulations.md §7)"


# -- pure rules ------------------------------------------------------------------------

def eccn_unit(eccn: str | None, licensed_quantity: int | None = None) -> str:
    """The CCL unit of an ECCN: "number" or "$ value". Pure.

    A licence line without a quantity is licensed by value only. Otherwise
    the known table, then the product group (A/B: number; C/D/E: $ value).
    """
    if licensed_quantity is None:
        return UNIT_VALUE
    e = (eccn or "").strip().upper()
    if e[:5] in UNIT_BY_ECCN:
        return UNIT_BY_ECCN[e[:5]]
    if len(e) >= 2 and e[1] in "AB":
        return UNIT_NUMBER
    return UNIT_VALUE if e else UNIT_NUMBER


def check_fit(*, unit: str, licensed_qty: int | None, licensed_value: int, used_qty: int,
              used_value: int, qty: int, value: int, tolerance_pct: float,
              currency: str = "USD") -> str | None:
    """Why this drawdown does not fit the licence line, or None when it does.
    Pure; integer minor units. See the module docstring for the rules."""
    money = lambda v: f"{format_money(v, currency)} {currency}"  # noqa: E731
    if unit == UNIT_NUMBER and licensed_qty is not None:
        if used_qty >= licensed_qty:
            return (f"the full licensed quantity ({licensed_qty}) has shipped already; "
                    f"nothing more may ship under this line ({CITE_TOLERANCE})")
        if used_qty + qty > licensed_qty:
            return (f"{qty} units would bring the total to {used_qty + qty}, over the "
                    f"licensed {licensed_qty} (only {licensed_qty - used_qty} left; the "
                    f"quantity has no tolerance, {CITE_LIMITS})")
        cap = Fraction(licensed_value) * (1 + Fraction(str(tolerance_pct)) / 100)
        if used_value + value > cap:
            return (f"the value would bring the total to {money(used_value + value)}, over "
                    f"the licensed {money(licensed_value)} plus the {tolerance_pct:g}% "
                    f"shipping tolerance ({money(int(cap))}) ({CITE_TOLERANCE})")
        return None
    if used_value + value > licensed_value:
        return (f"the value would bring the total to {money(used_value + value)}, over the "
                f"licensed {money(licensed_value)}; this ECCN is licensed by \"$ value\", "
                f"which has no shipping tolerance ({CITE_TOLERANCE})")
    return None


# -- reading ---------------------------------------------------------------------------

def today() -> str:
    return _dt.date.today().isoformat()


def tolerance_pct(store: Store) -> float:
    """The shipping tolerance of the pack in force (10 % when the pack names
    none). Read-only. A pack that cannot be read raises: a draw is never
    checked against a tolerance nobody decided."""
    return float((active_pack(store).licences or {}).get("tolerance_pct",
                                                        DEFAULT_TOLERANCE_PCT))


def find_licence(store: Store, number: str) -> int:
    """Licence id by number (case-insensitive) or id. Raises NotFound."""
    ref = str(number).strip()
    row = store.one("select id from licence where number = ? collate nocase", (ref,))
    if row is None and ref.isdigit():
        row = store.one("select id from licence where id = ?", (int(ref),))
    if row is None:
        raise NotFound(f"there is no licence numbered {ref!r}")
    return row["id"]


def find_shipment_ref(store: Store, ref: str) -> int:
    """Shipment id by reference (case-insensitive) or id. Raises NotFound."""
    r = str(ref).strip()
    row = store.one("select id from shipment where reference = ? collate nocase", (r,))
    if row is None and r.isdigit():
        row = store.one("select id from shipment where id = ?", (int(r),))
    if row is None:
        raise NotFound(f"there is no shipment with reference {r!r}")
    return row["id"]


_ACTIVE = ("d.kind = 'draw' and not exists (select 1 from ledger_drawdown r"
           " where r.reverses = d.id)")


def drawdowns(store: Store, *, licence_id: int | None = None, shipment_id: int | None = None,
              include_reversed: bool = False) -> list[dict[str, Any]]:
    """Drawdowns (oldest first) with licence number and shipment reference,
    and ``reversed_by`` when reversed. Read-only."""
    sql = ("select d.*, l.number as licence_number, s.reference as shipment_reference,"
           " (select r.id from ledger_drawdown r where r.reverses = d.id) as reversed_by"
           " from ledger_drawdown d join licence l on l.id = d.licence_id"
           " join shipment s on s.id = d.shipment_id where d.kind = 'draw'")
    params: list[Any] = []
    if not include_reversed:
        sql += " and not exists (select 1 from ledger_drawdown r where r.reverses = d.id)"
    if licence_id is not None:
        sql += " and d.licence_id = ?"
        params.append(licence_id)
    if shipment_id is not None:
        sql += " and d.shipment_id = ?"
        params.append(shipment_id)
    return [dict(r) for r in store.all(sql + " order by d.id", params)]


def balance(store: Store, licence_id: int, *, on: str | None = None,
            warn_days: int = EXPIRY_WARNING_DAYS,
            nearly_pct: float = NEARLY_USED_PCT) -> dict[str, Any]:
    """A licence with, per line, licensed / used / remaining quantity and
    value (with the tolerance cap), the unit, the share used, and warnings
    (nearly used up, expiring within `warn_days`, expired). Read-only."""
    lic = store.one("select * from licence where id = ?", (licence_id,))
    if lic is None:
        raise NotFound(f"licence {licence_id} does not exist")
    on = on or today()
    tol = tolerance_pct(store)
    lines = []
    warnings: list[str] = []
    for ln in store.all("select * from licence_line where licence_id = ? order by line_no",
                        (licence_id,)):
        used = store.one(f"select coalesce(sum(quantity),0) q, coalesce(sum(value_minor),0) v,"
                         f" count(*) n from ledger_drawdown d where {_ACTIVE}"
                         f" and licence_id = ? and licence_line_no = ?",
                         (licence_id, ln["line_no"]))
        unit = eccn_unit(ln["eccn"], ln["quantity"])
        cap = (int(Fraction(ln["value_minor"]) * (1 + Fraction(str(tol)) / 100))
               if unit == UNIT_NUMBER else ln["value_minor"])
        shares = [used["v"] / ln["value_minor"] * 100 if ln["value_minor"] else 0.0]
        if unit == UNIT_NUMBER and ln["quantity"]:
            shares.append(used["q"] / ln["quantity"] * 100)
        pct = round(max(shares), 1)
        d = {"line_no": ln["line_no"], "eccn": ln["eccn"], "description": ln["description"],
             "unit": unit, "currency": ln["currency"],
             "licensed_quantity": ln["quantity"], "used_quantity": used["q"],
             "remaining_quantity": (ln["quantity"] - used["q"])
             if ln["quantity"] is not None else None,
             "licensed_value_minor": ln["value_minor"], "used_value_minor": used["v"],
             "value_cap_minor": cap, "remaining_value_minor": cap - used["v"],
             "tolerance_pct": tol if unit == UNIT_NUMBER else 0.0,
             "drawdowns": used["n"], "used_pct": pct}
        lines.append(d)
        if pct >= nearly_pct:
            warnings.append(f"line {ln['line_no']} ({ln['description'] or ln['eccn']}) is "
                            f"{pct:g}% used")
    days_left = (_dt.date.fromisoformat(lic["expiry_date"]) - _dt.date.fromisoformat(on)).days
    if days_left < 0:
        warnings.append(f"expired on {lic['expiry_date']}")
    elif days_left <= warn_days:
        warnings.append(f"expires on {lic['expiry_date']} (in {days_left} days)")
    return {"id": lic["id"], "number": lic["number"], "agency": lic["agency"],
            "issue_date": lic["issue_date"], "expiry_date": lic["expiry_date"],
            "days_to_expiry": days_left, "expired": days_left < 0, "lines": lines,
            "used_pct": max([x["used_pct"] for x in lines], default=0.0),
            "warnings": warnings}


def balances(store: Store, *, on: str | None = None,
             warn_days: int = EXPIRY_WARNING_DAYS) -> list[dict[str, Any]]:
    """:func:`balance` of every licence, by number. Read-only."""
    return [balance(store, r["id"], on=on, warn_days=warn_days)
            for r in store.all("select id from licence order by number")]


# -- which licence line fits a shipment line ----------------------------------------------

def line_eccn(store: Store, item_id: int, date: str) -> str | None:
    """The ECCN of an item on `date`: the officer's classification decision,
    else the computed proposal, else the ECCN typed on the item. Read-only.
    A classification that fails raises (no silent fall-back to the typed
    ECCN, which could match a licence the item does not fit)."""
    info = classify_item(store, item_id, date)
    if info.get("decision") and info["decision"].get("eccn"):
        return info["decision"]["eccn"]
    comp = (info.get("proposal") or {}).get("computed_eccn")
    if comp:
        return comp
    return info.get("item_eccn")


def _eccn_matches(item_eccn: str | None, licence_eccn: str) -> bool:
    if not item_eccn:
        return False
    a, b = item_eccn.strip().upper(), licence_eccn.strip().upper()
    return a.startswith(b) or b.startswith(a)


def _pick_licence_line(store: Store, licence_id: int, number: str, sline: Any,
                       model: str, date: str) -> int:
    rows = store.all("select * from licence_line where licence_id = ? order by line_no",
                     (licence_id,))
    if not rows:
        raise LedgerRefused(f"licence {number} has no lines")
    eccn = line_eccn(store, sline["item_id"], date)
    cands = [r for r in rows if _eccn_matches(eccn, r["eccn"])]
    if not cands:
        have = ", ".join(sorted({r["eccn"] for r in rows}))
        raise LedgerRefused(f"shipment line {sline['line_no']} ({model}, ECCN "
                            f"{eccn or 'unknown'}) is not covered by licence {number}, "
                            f"which licenses {have}")
    if len(cands) > 1:
        token = model.split()[0].casefold() if model else ""
        named = [r for r in cands if token and token in (r["description"] or "").casefold()]
        if len(named) == 1:
            return named[0]["line_no"]
        raise LedgerRefused(f"licence {number} has {len(cands)} lines for {cands[0]['eccn']}; "
                            f"say which one covers shipment line {sline['line_no']} "
                            f"({model}) with --licence-line")
    return cands[0]["line_no"]


# -- writing ---------------------------------------------------------------------------

def draw(wb: Workbench, shipment_id: int, licence_id: int, *,
         shipment_lines: list[int] | None = None, licence_line: int | None = None,
         on: str | None = None) -> Change:
    """Draw a licence down by shipment lines (all lines, or `shipment_lines`).

    Each shipment line is drawn whole against one licence line (`licence_line`,
    else the line whose ECCN matches the item's, named in its description when
    several match). Refused — nothing written, every reason given — when the
    licence is not valid on the ship date or has expired by `on` (default
    today), a party is not named on the licence, a currency differs, a line is
    already covered, or a line does not fit (quantity, value and tolerance by
    unit). Side effects: ONE ``BEGIN IMMEDIATE`` transaction with every row
    and an audit event per drawdown, so concurrent draws are serialised.
    Requires a role that may write.
    """
    wb.require("officer", "approver", "admin")
    store = wb.store
    on = on or today()
    tol = tolerance_pct(store)
    made: list[dict[str, Any]] = []
    with wb.writing() as w:
        # Everything below is read inside the write lock: what we check is
        # what we write against, even with another process drawing.
        s = store.one("select * from shipment where id = ?", (shipment_id,))
        if s is None:
            raise NotFound(f"shipment {shipment_id} does not exist")
        lic = store.one("select * from licence where id = ?", (licence_id,))
        if lic is None:
            raise NotFound(f"licence {licence_id} does not exist")
        number, ref = lic["number"], s["reference"]
        reasons: list[str] = []
        if s["status"] in ("shipped", "cancelled"):
            raise LedgerRefused(f"shipment {ref} is {s['status']}; its licence drawdowns "
                                f"can no longer change")
        if s["ship_date"] < lic["issue_date"]:
            reasons.append(f"the ship date {s['ship_date']} is before licence {number} was "
                           f"issued ({lic['issue_date']}) ({CITE_VALIDITY})")
        if s["ship_date"] > lic["expiry_date"]:
            reasons.append(f"the ship date {s['ship_date']} is after licence {number} "
                           f"expires ({lic['expiry_date']}) ({CITE_VALIDITY})")
        if on > lic["expiry_date"]:
            reasons.append(f"licence {number} expired on {lic['expiry_date']} "
                           f"({CITE_VALIDITY})")
        lic_parties = {(r["role"], r["party_id"]) for r in store.all(
            "select role, party_id from licence_party where licence_id = ?", (licence_id,))}
        for sp in store.all("select sp.role, sp.party_id, p.legal_name from shipment_party sp"
                            " join party p on p.id = sp.party_id where sp.shipment_id = ? and"
                            " sp.role in ('ultimate_consignee','end_user')", (shipment_id,)):
            if (sp["role"], sp["party_id"]) not in lic_parties:
                reasons.append(f"{sp['legal_name']} ({sp['role'].replace('_', ' ')} of "
                               f"{ref}) is not named on licence {number} in that role "
                               f"({CITE_PARTIES})")
        slines = store.all("select l.*, i.model from shipment_line l join item i on"
                           " i.id = l.item_id where l.shipment_id = ? order by l.line_no",
                           (shipment_id,))
        if not slines:
            reasons.append(f"shipment {ref} has no lines to draw")
        if shipment_lines:
            have = {r["line_no"] for r in slines}
            for n in shipment_lines:
                if n not in have:
                    reasons.append(f"shipment {ref} has no line {n}")
            slines = [r for r in slines if r["line_no"] in set(shipment_lines)]
        if reasons:
            raise LedgerRefused(reasons, prefix=f"cannot draw {ref} on licence {number}: ")
        pending: dict[int, tuple[int, int]] = {}  # licence line -> (qty, value) this call
        plan = []
        for sl in slines:
            covered = store.one(f"select d.id, l.number from ledger_drawdown d join licence l"
                                f" on l.id = d.licence_id where {_ACTIVE} and d.shipment_id = ?"
                                f" and d.shipment_line_no = ?", (shipment_id, sl["line_no"]))
            if covered is not None:
                reasons.append(f"line {sl['line_no']} ({sl['model']}) is already drawn on "
                               f"licence {covered['number']} (drawdown {covered['id']}); "
                               f"reverse that drawdown first")
                continue
            try:
                lno = licence_line or _pick_licence_line(store, licence_id, number, sl,
                                                         sl["model"], s["ship_date"])
            except LedgerRefused as e:
                reasons.extend(e.reasons)
                continue
            ll = store.one("select * from licence_line where licence_id = ? and line_no = ?",
                           (licence_id, lno))
            if ll is None:
                reasons.append(f"licence {number} has no line {lno}")
                continue
            if ll["currency"] != sl["currency"]:
                reasons.append(f"line {sl['line_no']} is in {sl['currency']} but licence "
                               f"{number} line {lno} is in {ll['currency']}")
                continue
            value = sl["quantity"] * sl["unit_value_minor"]
            used = store.one(f"select coalesce(sum(quantity),0) q, coalesce(sum(value_minor),0)"
                             f" v from ledger_drawdown d where {_ACTIVE} and licence_id = ?"
                             f" and licence_line_no = ?", (licence_id, lno))
            pq, pv = pending.get(lno, (0, 0))
            unit = eccn_unit(ll["eccn"], ll["quantity"])
            why = check_fit(unit=unit, licensed_qty=ll["quantity"],
                            licensed_value=ll["value_minor"], used_qty=used["q"] + pq,
                            used_value=used["v"] + pv, qty=sl["quantity"], value=value,
                            tolerance_pct=tol, currency=ll["currency"])
            if why:
                reasons.append(f"line {sl['line_no']} ({sl['model']}) on licence {number} "
                               f"line {lno}: {why}")
                continue
            pending[lno] = (pq + sl["quantity"], pv + value)
            plan.append((sl, lno, value, unit, ll["currency"]))
        if reasons:
            raise LedgerRefused(reasons, prefix=f"cannot draw {ref} on licence {number}: ")
        now = utc_now()
        for sl, lno, value, unit, cur in plan:
            did = w.conn.execute(
                "insert into ledger_drawdown (kind, licence_id, licence_line_no, shipment_id,"
                " shipment_line_no, quantity, value_minor, currency, unit, tolerance_pct,"
                " created_by, created_at) values ('draw',?,?,?,?,?,?,?,?,?,?,?)",
                (licence_id, lno, shipment_id, sl["line_no"], sl["quantity"], value, cur,
                 unit, tol if unit == UNIT_NUMBER else 0.0, wb.user.username, now)).lastrowid
            rec = {"drawdown": did, "licence": number, "licence_line": lno, "shipment": ref,
                   "shipment_line": sl["line_no"], "quantity": sl["quantity"],
                   "value_minor": value, "currency": cur, "unit": unit}
            w.audit("licence", licence_id, "draw", None, rec)
            made.append(rec)
    return Change("licence", licence_id, "draw", {"drawdowns": made},
                  {"shipment_id": shipment_id})


def reverse(wb: Workbench, drawdown_id: int, reason: str) -> Change:
    """Reverse a drawdown with a new reversal row (the original stays).

    Refused without a reason, for a drawdown already reversed, or once its
    shipment has shipped. Side effects: one transaction, one row, one audit
    event. Requires a role that may write.
    """
    wb.require("officer", "approver", "admin")
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise LedgerRefused("a reversal needs a reason (an auditor will read it)")
    store = wb.store
    with wb.writing() as w:
        d = store.one("select d.*, l.number, s.reference, s.status from ledger_drawdown d"
                      " join licence l on l.id = d.licence_id join shipment s on"
                      " s.id = d.shipment_id where d.id = ?", (drawdown_id,))
        if d is None or d["kind"] != "draw":
            raise NotFound(f"there is no drawdown {drawdown_id}")
        prev = store.scalar("select id from ledger_drawdown where reverses = ?", (drawdown_id,))
        if prev is not None:
            raise LedgerRefused(f"drawdown {drawdown_id} was reversed already (reversal {prev})")
        if d["status"] == "shipped":
            raise LedgerRefused(f"shipment {d['reference']} has shipped; its drawdown on "
                                f"licence {d['number']} stands")
        rid = w.conn.execute(
            "insert into ledger_drawdown (kind, reverses, licence_id, licence_line_no,"
            " shipment_id, shipment_line_no, quantity, value_minor, currency, unit,"
            " tolerance_pct, reason, created_by, created_at) values"
            " ('reversal',?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (drawdown_id, d["licence_id"], d["licence_line_no"], d["shipment_id"],
             d["shipment_line_no"], d["quantity"], d["value_minor"], d["currency"], d["unit"],
             d["tolerance_pct"], reason, wb.user.username, utc_now())).lastrowid
        rec = {"reversal": rid, "drawdown": drawdown_id, "licence": d["number"],
               "shipment": d["reference"], "quantity": d["quantity"],
               "value_minor": d["value_minor"], "reason": reason}
        w.audit("licence", d["licence_id"], "reverse_draw", None, rec)
    return Change("licence", d["licence_id"], "reverse_draw", rec)
