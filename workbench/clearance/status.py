"""Shipment clearance: the only way a shipment's status moves.

Statuses (shipments.STATUSES): draft → in review → cleared / on hold /
blocked → shipped, or cancelled. Each move is a function here; it runs in one
``BEGIN IMMEDIATE`` transaction that re-reads the status, updates the
shipment's status column, appends a ``ledger_status_event`` row (append-only)
and an audit event. ``shipments.save_shipment`` refuses any other status
change (only draft ⇄ in review, which has no conditions, may be made by
editing the record; see ``records.shipments.check_save_status``).

"Cleared" requires (:func:`conditions`):

1. every party of the shipment screened against the current snapshot of
   every list source, with no open hit;
2. a current determination — saved, made with the pack in force, and its
   input identical to what the shipment gives today;
3. where the determination says a licence is required, drawdowns covering
   every line that needs it (quantity and value, on an unexpired licence);
   where a licence exception applies, every obligation of the exception
   recorded (e.g. the NAC authorization number), see
   :func:`record_obligation`;
4. the applicable checklists signed (:func:`checklist_gate`).

Each unmet condition is a reason ``{"code", "key", "text"}``; the text is for
the officer. An override clears despite unmet reasons with a reason and a
second person with the approver role who re-enters their password (four
eyes); no override can stand in for a determination (missing, stale or
prohibited) or for licence coverage (NOT_OVERRIDABLE). "Shipped" only from cleared,
and only when the conditions still hold (or were overridden).

New list snapshots, rules packs, letters and party facts put affected open
shipments on hold through :mod:`workbench.clearance.holds`, in the same
transaction as the change.
Threading: like the store — any thread, one transaction per write call.
"""

from __future__ import annotations

import json
from typing import Any

from workbench import users
from workbench.app import Change, Workbench
from workbench.errors import NotFound, PermissionDenied
from workbench.records.shipments import STATUS_LABELS
from workbench.db.store import Store, utc_now
from workbench.licensing import LedgerRefused
from workbench.checklists import applicable
from workbench.licensing import ledger
from workbench.rules import determinations as rstore
from workbench.rules.engine import determine, input_sha256
from workbench.screening.snapshots import current_snapshots

# action -> (statuses it may start from, status it ends in)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft", "on_hold"}), "in_review"),
    "clear": (frozenset({"draft", "in_review", "on_hold"}), "cleared"),
    "hold": (frozenset({"draft", "in_review", "cleared"}), "on_hold"),
    "auto_hold": (frozenset({"draft", "in_review", "cleared"}), "on_hold"),
    "block": (frozenset({"draft", "in_review", "on_hold", "cleared"}), "blocked"),
    "ship": (frozenset({"cleared"}), "shipped"),
    "cancel": (frozenset({"draft", "in_review", "on_hold", "blocked", "cleared"}), "cancelled"),
    "override": (frozenset({"draft", "in_review", "on_hold", "blocked"}), "cleared"),
}
# Consolidated Screening List source codes, as an officer names the lists.
LIST_NAMES = {"EL": "Entity List", "MEU": "Military End-User List", "UVL": "Unverified List",
              "DPL": "Denied Persons List", "SDN": "OFAC SDN List",
              "NS-MBS": "OFAC Non-SDN Menu-Based Sanctions List",
              "SSI": "OFAC Sectoral Sanctions List", "FSE": "OFAC Foreign Sanctions Evaders List",
              "PLC": "OFAC Palestinian Legislative Council List", "CAP": "OFAC CAPTA List",
              "CMIC": "OFAC NS-CMIC List", "ISN": "State Department Nonproliferation Sanctions",
              "DTC": "ITAR Debarred List"}
# What no override may bypass: the law's answer (prohibited; no or stale
# determination could hide one) and the licence itself. Overrides are for
# judgement calls: hits, reviews, checklists, obligations.
NOT_OVERRIDABLE = frozenset({"prohibited", "no_determination", "determination_stale",
                             "licence_missing", "licence_mismatch", "licence_expired",
                             "no_lists", "no_parties"})


def _label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


# -- conditions -------------------------------------------------------------------------------

def _reason(code: str, key: str, text: str) -> dict[str, str]:
    return {"code": code, "key": f"{code}:{key}", "text": text}


def _hit_is_open(store: Store, h: Any, shipment_id: int, on: str) -> str | None:
    """None when decided; else "open" or "escalated". Mirrors the screening
    area's rules for when a decision still holds."""
    if h["status"] in ("cleared", "confirmed"):
        return None
    d = store.one("select * from hit_decision where party_id = ? and entry_id = ?"
                  " order by id desc limit 1", (h["party_id"], h["entry_id"]))
    if d is None:
        return h["status"] if h["status"] == "escalated" else "open"
    if d["decision"] == "true_match":
        return None
    if d["decision"] == "escalate":
        return "escalated"
    valid = (d["names_hash"] == h["names_hash"]
             and d["entry_content_hash"] == h["entry_content_hash"]
             and (d["expires_on"] is None or d["expires_on"] >= on)
             and (d["shipment_id"] is None or d["shipment_id"] == shipment_id))
    return None if valid else "open"


def screening_reasons(store: Store, shipment_id: int, ref: str,
                      on: str | None = None) -> list[dict[str, str]]:
    """Condition 1: parties screened against the current snapshots, no open
    hit. Read-only."""
    on = on or ledger.today()
    out: list[dict[str, str]] = []
    snaps = current_snapshots(store)
    if not snaps:
        return [_reason("no_lists", "all", "No restricted-party list is loaded — import one "
                                           "on the Lists page, then screen the parties")]
    parties = store.all("select distinct p.id, p.legal_name from shipment_party sp join party p"
                        " on p.id = sp.party_id where sp.shipment_id = ? order by p.id",
                        (shipment_id,))
    if not parties:
        out.append(_reason("no_parties", "all", f"Shipment {ref} names no parties — add the "
                                                 f"purchaser, consignees and end user"))
    for p in parties:
        name = p["legal_name"]
        run = store.one("select r.id, r.ts, r.snapshots from screening_party_run pr join"
                        " screening_run r on r.id = pr.run_id where pr.party_id = ?"
                        " order by pr.run_id desc limit 1", (p["id"],))
        if run is None:
            out.append(_reason("not_screened", str(p["id"]),
                               f"Party {name} has not been screened — screen shipment {ref} "
                               f"on the Screening page"))
            continue
        cited = {s.get("snapshot_id") for s in json.loads(run["snapshots"] or "[]")}
        stale = [s for s in snaps if s["id"] not in cited]
        if stale:
            lists = ", ".join(f"{s['source']} of {s['publish_date'] or s['imported_at'][:10]}"
                              for s in stale)
            out.append(_reason("screening_stale", str(p["id"]),
                               f"Party {name} was last screened on {run['ts'][:10]}, before the "
                               f"current list snapshot ({lists}) — screen shipment {ref} again "
                               f"on the Screening page"))
        for h in store.all("select * from screening_hit where party_id = ? and run_id = ?"
                           " order by score desc, id", (p["id"], run["id"])):
            state = _hit_is_open(store, h, shipment_id, on)
            if state:
                extra = " and is escalated, waiting for a decision" if state == "escalated" else ""
                out.append(_reason("open_hit", f"{p['id']}:{h['entry_id']}",
                                   f"Party {name} has an open hit on the "
                                   f"{LIST_NAMES.get(h['list_code'], h['list_code'])} "
                                   f"({h['primary_name']}, score {h['score']:g}){extra} — "
                                   f"decide it on the Screening page (hit {h['id']})"))
    return out


def latest_determination(store: Store, shipment_id: int, today: str | None = None
                         ) -> dict[str, Any] | None:
    """The newest saved determination of a shipment, with ``current`` (made
    with the pack in force and the shipment's input unchanged, and, when its
    evaluation date has since passed, still the pack's answer on the later
    of the planned date and `today`) and ``stale_because``. Read-only."""
    row = store.one("select * from rules_determination where shipment_id = ?"
                    " order by id desc limit 1", (shipment_id,))
    if row is None:
        return None
    d = dict(row)
    d["result"] = json.loads(d["result"])
    why: list[str] = []
    pack = rstore.active_pack(store)
    if d["pack_sha256"] != pack.sha256:
        why.append(f"it was made with rules pack {d['pack_id']} {d['pack_version']}; the pack "
                   f"in force is {pack.id} {pack.version}")
    else:
        hits = rstore.screening_hits_for(store)
        # rebuilt on the date it was evaluated on: only a change of the
        # shipment or its facts shows here, not the calendar moving on
        txn = rstore.txn_from_shipment(store, shipment_id, hits_for=hits, date=d["eval_date"])
        if input_sha256(txn) != d["input_sha256"]:
            why.append("the shipment, its parties, their screening results or the items' "
                       "classification changed since it was made")
        else:
            s = store.one("select ship_date, status from shipment where id = ?", (shipment_id,))
            now = rstore.effective_date(s["ship_date"], s["status"], today)
            if now != d["eval_date"]:
                again = determine(pack, {**txn, "date": now})
                old = d["result"]
                if (again["outcome"], again["exception"],
                        sorted(x["rule_id"] for x in again["reasons"])) != \
                        (old["outcome"], old["exception"],
                         sorted(x["rule_id"] for x in old["reasons"])):
                    why.append(f"it was evaluated on {d['eval_date']}; that date has passed "
                               f"and on {now} the pack answers "
                               f"{again['outcome'].replace('_', ' ')}"
                               + (f" ({again['exception']})" if again["exception"] else ""))
    d["current"] = not why
    d["stale_because"] = why
    return d


def determination_reasons(store: Store, shipment_id: int, ref: str, on: str | None = None
                          ) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
    """Condition 2: a current determination (as of `on`, default today) that
    allows shipping. Read-only. Returns the reasons and the determination
    (None when missing)."""
    d = latest_determination(store, shipment_id, today=on)
    hint = f"`workbench determine --shipment {ref} --save` or the shipment's Determination tab"
    if d is None:
        return [_reason("no_determination", "", f"Shipment {ref} has no saved determination — "
                                                f"determine it ({hint})")], None
    if not d["current"]:
        return [_reason("determination_stale", "",
                        f"The determination of {d['evaluated_at'][:10]} is out of date: "
                        f"{'; '.join(d['stale_because'])} — determine again ({hint})")], d
    r = d["result"]
    if d["outcome"] == "prohibited":
        rules = ", ".join(x["rule_id"] for x in r.get("reasons", [])) or "see the determination"
        return [_reason("prohibited", "", f"The determination says this export is prohibited "
                                          f"({rules}); it cannot be cleared")], d
    if d["outcome"] == "needs_review":
        what = "; ".join(r.get("review_needed") or []) or "see the determination"
        return [_reason("needs_review", "", f"The determination needs a person's review: "
                                            f"{what} — resolve it, then determine again")], d
    return [], d


def licence_reasons(store: Store, shipment_id: int, ref: str, det: dict[str, Any],
                    on: str | None = None) -> list[dict[str, str]]:
    """Condition 3a: drawdowns cover every line that needs a licence.
    Read-only."""
    on = on or ledger.today()
    if det["outcome"] != "license_required":
        return []
    need = {ln["line"] for ln in det["result"].get("lines", [])
            if ln.get("outcome") == "license_required"}
    out = []
    draws = ledger.drawdowns(store, shipment_id=shipment_id)
    for sl in store.all("select l.*, i.model from shipment_line l join item i on i.id = l.item_id"
                        " where l.shipment_id = ? order by l.line_no", (shipment_id,)):
        if need and sl["line_no"] not in need:
            continue
        mine = [d for d in draws if d["shipment_line_no"] == sl["line_no"]]
        value = sl["quantity"] * sl["unit_value_minor"]
        label = f"Line {sl['line_no']} ({sl['quantity']} × {sl['model']})"
        if not mine:
            out.append(_reason("licence_missing", str(sl["line_no"]),
                               f"{label} needs a licence and no licence is drawn for it — draw "
                               f"on a licence (`workbench licence draw --shipment {ref} "
                               f"--licence NUMBER`)"))
            continue
        q, v = sum(d["quantity"] for d in mine), sum(d["value_minor"] for d in mine)
        if q != sl["quantity"] or v != value:
            out.append(_reason("licence_mismatch", str(sl["line_no"]),
                               f"{label}: the drawdown covers {q} units, but the line now has "
                               f"{sl['quantity']} (or its value changed) — reverse the drawdown "
                               f"and draw again"))
        for d in mine:
            exp = store.scalar("select expiry_date from licence where id = ?", (d["licence_id"],))
            if exp < on:
                out.append(_reason("licence_expired", f"{sl['line_no']}:{d['licence_id']}",
                                   f"{label} is drawn on licence {d['licence_number']}, which "
                                   f"expired on {exp} ({ledger.CITE_VALIDITY})"))
    return out


def recorded_obligations(store: Store, shipment_id: int) -> dict[str, dict[str, Any]]:
    """The latest recorded value of each obligation of a shipment. Read-only."""
    out: dict[str, dict[str, Any]] = {}
    for r in store.all("select * from ledger_obligation where shipment_id = ? order by id",
                       (shipment_id,)):
        out[r["obligation_id"]] = dict(r)
    return out


def obligation_reasons(store: Store, shipment_id: int, ref: str,
                       det: dict[str, Any]) -> list[dict[str, str]]:
    """Condition 3b: every obligation of the licence exception recorded.
    Read-only."""
    if det["outcome"] != "license_exception":
        return []
    have = recorded_obligations(store, shipment_id)
    out = []
    for ob in det["result"].get("obligations") or []:
        rec = have.get(ob["id"])
        if rec is None or not rec["value"].strip():
            out.append(_reason("obligation", ob["id"],
                               f"Licence exception {det.get('exception') or ''} obligation "
                               f"{ob['id']} is not recorded: {ob.get('text', '')} — record it "
                               f"(`workbench shipment obligation {ref} {ob['id']} --value …`, "
                               f"e.g. the NAC authorization number)"))
    return out


def checklist_gate(store: Store, shipment_id: int) -> dict[str, Any]:
    """Condition 4: the applicable checklists, signed. Read-only.

    Returns {"state", "reasons": [...], "checklists": [...]}. The checklists
    area is part of the core: if it cannot be imported this module cannot
    either, so a missing area stops clearance instead of passing it.
    """
    ref = store.scalar("select reference from shipment where id = ?", (shipment_id,))
    items = applicable(store, shipment_id=shipment_id)
    reasons = []
    for a in items:
        if a.get("valid_run"):
            continue
        run = a.get("open_run")
        state = store.scalar("select status from checklist_run where id = ?", (run,)) if run else None
        if state == "awaiting_approval":
            tail = f" — run {run} waits for an approver's sign-off on the Checklists page"
        elif run:
            tail = f" — finish and sign run {run} on the Checklists page"
        else:
            who = (f"--shipment {ref}" if a["scope"] == "shipment"
                   else f"--party {a['party_id']}")
            tail = (f" — start it on the Checklists page (`workbench checklist start "
                    f"--template {a['template_id']} {who}`)")
        key = f"{a['template_id']}:{a.get('party_id') or a.get('shipment_id')}"
        reasons.append(_reason("checklist", key, f"Checklist '{a['title']}' for {a['label']} "
                                                 f"is not signed{tail}"))
    return {"state": "ok" if not reasons else "unmet", "reasons": reasons,
            "checklists": items}


def conditions(store: Store, shipment_id: int, *, on: str | None = None) -> dict[str, Any]:
    """Every clearance condition of a shipment and the reasons it is not
    met. Read-only. Returns {"shipment_id", "reference", "status", "ok",
    "reasons", "checks": {screening, determination, licence, checklists},
    "determination"}."""
    s = store.one("select * from shipment where id = ?", (shipment_id,))
    if s is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    ref = s["reference"]
    reasons: list[dict[str, str]] = []
    checks: dict[str, str] = {}
    scr = screening_reasons(store, shipment_id, ref, on)
    checks["screening"] = "ok" if not scr else "unmet"
    det_r, det = determination_reasons(store, shipment_id, ref, on)
    checks["determination"] = "ok" if not det_r else "unmet"
    lic_r: list[dict[str, str]] = []
    if det is not None and det["current"]:
        lic_r = licence_reasons(store, shipment_id, ref, det, on) + \
            obligation_reasons(store, shipment_id, ref, det)
        checks["licence"] = ("not needed" if det["outcome"] not in
                             ("license_required", "license_exception")
                             else "ok" if not lic_r else "unmet")
    else:
        checks["licence"] = "unknown until the determination is current"
    cl = checklist_gate(store, shipment_id)
    checks["checklists"] = cl["state"]
    reasons = scr + det_r + lic_r + cl["reasons"]
    return {"shipment_id": shipment_id, "reference": ref, "status": s["status"],
            "ok": not reasons, "reasons": reasons, "checks": checks,
            "determination": None if det is None else {
                "id": det["id"], "outcome": det["outcome"], "exception": det["exception"],
                "pack": {"id": det["pack_id"], "version": det["pack_version"]},
                "evaluated_at": det["evaluated_at"], "current": det["current"]}}


def history(store: Store, shipment_id: int) -> list[dict[str, Any]]:
    """Status events of a shipment, oldest first. Read-only."""
    out = []
    for r in store.all("select * from ledger_status_event where shipment_id = ? order by id",
                       (shipment_id,)):
        d = dict(r)
        d["unmet"] = json.loads(d["unmet"])
        out.append(d)
    return out


def status(store: Store, shipment_id: int, *, on: str | None = None) -> dict[str, Any]:
    """Status, conditions, drawdowns, recorded obligations and history of a
    shipment, for the status command and a future UI. Read-only."""
    c = conditions(store, shipment_id, on=on)
    c["label"] = _label(c["status"])
    c["drawdowns"] = ledger.drawdowns(store, shipment_id=shipment_id)
    c["obligations"] = list(recorded_obligations(store, shipment_id).values())
    c["history"] = history(store, shipment_id)
    return c


# -- moves ----------------------------------------------------------------------------------

def _check_from(store: Store, shipment_id: int, action: str) -> Any:
    """The shipment row, or LedgerRefused when `action` cannot start from its
    status (checked first, so the officer hears "it is blocked" before a list
    of conditions)."""
    allowed = ACTIONS[action][0]
    s = store.one("select id, reference, status from shipment where id = ?", (shipment_id,))
    if s is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    if s["status"] not in allowed:
        raise LedgerRefused(f"shipment {s['reference']} is {_label(s['status'])}; it cannot be "
                            f"{_PAST[action]} from there (allowed from: "
                            f"{', '.join(_label(x) for x in sorted(allowed))})")
    return s


def move(wb: Workbench, w: Any, shipment_id: int, action: str, *, reason: str = "",
         unmet: list[dict[str, str]] | None = None, approver: str | None = None
         ) -> dict[str, Any]:
    """One status move (an action of :data:`ACTIONS`); the caller holds the
    write transaction `w` (this module's actions and
    :mod:`workbench.clearance.holds`). Re-reads the status, checks the move,
    writes status, event row and audit event."""
    allowed, to = ACTIONS[action]
    s = _check_from(wb.store, shipment_id, action)
    frm = s["status"]
    # The status column is written here and only here; the record's version
    # is not bumped, so an open edit form and a saved determination (which
    # pins the version) are not invalidated by a status move.
    w.conn.execute("update shipment set status = ? where id = ?", (to, shipment_id))
    eid = w.conn.execute(
        "insert into ledger_status_event (shipment_id, action, from_status, to_status, reason,"
        " unmet, approver, by_user, at) values (?,?,?,?,?,?,?,?,?)",
        (shipment_id, action, frm, to, reason, json.dumps(unmet or [], ensure_ascii=False),
         approver, wb.user.username, utc_now())).lastrowid
    rec = {"status": to, "action": action, "reason": reason, "event": eid}
    if unmet:
        rec["unmet"] = [u["text"] for u in unmet]
    if approver:
        rec["approver"] = approver
    w.audit("shipment", shipment_id, action, {"status": frm}, rec)
    return {"shipment_id": shipment_id, "reference": s["reference"], "from": frm, "to": to,
            "event": eid}


_PAST = {"submit": "submitted for review", "clear": "cleared", "hold": "put on hold",
         "auto_hold": "put on hold", "block": "blocked", "ship": "marked shipped",
         "cancel": "cancelled", "override": "cleared by override"}


def _writer_roles(wb: Workbench) -> None:
    wb.require("officer", "approver", "admin")


def _need_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise LedgerRefused(f"{what} needs a reason (an auditor will read it)")
    return reason


def submit(wb: Workbench, shipment_id: int, reason: str = "") -> Change:
    """Draft (or on hold) → in review. Side effects: one transaction."""
    _writer_roles(wb)
    with wb.writing() as w:
        m = move(wb, w, shipment_id, "submit", reason=(reason or "").strip())
    return Change("shipment", shipment_id, "submit", m)


def clear(wb: Workbench, shipment_id: int, *, on: str | None = None) -> Change:
    """Clear a shipment when every condition holds; else refuse with every
    reason (LedgerRefused.reasons). The conditions are evaluated inside the
    write transaction, so a concurrent reversal or new snapshot cannot slip
    between check and write. Side effects: one transaction."""
    _writer_roles(wb)
    with wb.writing() as w:
        _check_from(wb.store, shipment_id, "clear")
        c = conditions(wb.store, shipment_id, on=on)
        if not c["ok"]:
            raise LedgerRefused([r["text"] for r in c["reasons"]],
                                prefix=f"{c['reference']} cannot be cleared: ")
        m = move(wb, w, shipment_id, "clear")
    return Change("shipment", shipment_id, "clear", m)


def hold(wb: Workbench, shipment_id: int, reason: str) -> Change:
    """Put a shipment on hold by hand (reason required). One transaction."""
    _writer_roles(wb)
    reason = _need_reason(reason, "a hold")
    with wb.writing() as w:
        m = move(wb, w, shipment_id, "hold", reason=reason)
    return Change("shipment", shipment_id, "hold", m)


def block(wb: Workbench, shipment_id: int, reason: str) -> Change:
    """Block a shipment (reason required); only an approved override or a
    cancellation moves it on. One transaction."""
    _writer_roles(wb)
    reason = _need_reason(reason, "blocking a shipment")
    with wb.writing() as w:
        m = move(wb, w, shipment_id, "block", reason=reason)
    return Change("shipment", shipment_id, "block", m)


def cancel(wb: Workbench, shipment_id: int, reason: str) -> Change:
    """Cancel a shipment that has not shipped (reason required). Its active
    drawdowns are reversed in the same transaction, giving the licence its
    balance back. One transaction."""
    _writer_roles(wb)
    reason = _need_reason(reason, "a cancellation")
    with wb.writing() as w:
        m = move(wb, w, shipment_id, "cancel", reason=reason)
        for d in ledger.drawdowns(wb.store, shipment_id=shipment_id):
            ledger.reverse(wb, d["id"], f"shipment cancelled: {reason}")
    return Change("shipment", shipment_id, "cancel", m)


def _last_clearance(store: Store, shipment_id: int) -> Any:
    return store.one("select * from ledger_status_event where shipment_id = ? and to_status ="
                     " 'cleared' order by id desc limit 1", (shipment_id,))


def ship(wb: Workbench, shipment_id: int, *, on: str | None = None) -> Change:
    """Cleared → shipped, when the conditions still hold; unmet reasons are
    accepted only when the clearance was an override that named each of
    them. Side effects: one transaction."""
    _writer_roles(wb)
    with wb.writing() as w:
        s = wb.store.one("select reference, status from shipment where id = ?", (shipment_id,))
        if s is None:
            raise NotFound(f"shipment {shipment_id} does not exist")
        if s["status"] != "cleared":
            raise LedgerRefused(f"shipment {s['reference']} is {_label(s['status'])}; only a "
                                f"cleared shipment can be marked shipped — clear it first")
        c = conditions(wb.store, shipment_id, on=on)
        if not c["ok"]:
            last = _last_clearance(wb.store, shipment_id)
            covered = set()
            if last is not None and last["action"] == "override":
                covered = {u["key"] for u in json.loads(last["unmet"])}
            new = [r for r in c["reasons"] if r["key"] not in covered]
            if new:
                raise LedgerRefused([r["text"] for r in new],
                                    prefix=f"{s['reference']} changed since it was cleared and "
                                           f"cannot ship: ")
        m = move(wb, w, shipment_id, "ship")
    return Change("shipment", shipment_id, "ship", m)


def override(wb: Workbench, shipment_id: int, reason: str, approver: str,
             approver_password: str, *, on: str | None = None) -> Change:
    """Clear despite unmet conditions: four eyes.

    The signed-in officer asks; `approver` — a different, active user with
    the approver role — confirms by re-entering their password (checked with
    ``users.authenticate``, never stored). The unmet reasons are recorded with
    the override. Refused for reasons in NOT_OVERRIDABLE (determination
    missing, stale or prohibited; licence coverage), when nothing is unmet,
    or from shipped/cancelled/cleared. Side effects: one transaction.
    """
    _writer_roles(wb)
    reason = _need_reason(reason, "an override")
    appr = users.second_person(wb.store, wb.user, approver, approver_password, "an override")
    with wb.writing() as w:
        _check_from(wb.store, shipment_id, "override")
        c = conditions(wb.store, shipment_id, on=on)
        hard = [r["text"] for r in c["reasons"] if r["code"] in NOT_OVERRIDABLE]
        if hard:
            raise LedgerRefused(hard, prefix=f"{c['reference']}: an override cannot stand in "
                                             f"for these: ")
        if c["ok"] and c["status"] != "blocked":
            raise LedgerRefused(f"{c['reference']} meets every condition; clear it normally "
                                f"(no override needed)")
        m = move(wb, w, shipment_id, "override", reason=reason, unmet=c["reasons"],
                  approver=appr.username)
    m["overridden"] = [r["text"] for r in c["reasons"]]
    return Change("shipment", shipment_id, "override", m)


def record_obligation(wb: Workbench, shipment_id: int, obligation_id: str, value: str,
                      note: str = "") -> Change:
    """Record that an obligation of a licence exception is met (e.g.
    ``NAC.notify`` with the NAC authorization number). A correction is a new
    row; the latest counts. Side effects: one transaction, one row, one audit
    event."""
    _writer_roles(wb)
    obligation_id = (obligation_id or "").strip()
    value = (value or "").strip()
    if not obligation_id:
        raise LedgerRefused("name the obligation (e.g. NAC.notify)")
    if not value:
        raise LedgerRefused(f"obligation {obligation_id} needs a value: the reference that "
                            f"shows it was met (e.g. the NAC authorization number)")
    with wb.writing() as w:
        s = wb.store.one("select reference, status from shipment where id = ?", (shipment_id,))
        if s is None:
            raise NotFound(f"shipment {shipment_id} does not exist")
        if s["status"] in ("shipped", "cancelled"):
            raise LedgerRefused(f"shipment {s['reference']} is {_label(s['status'])}")
        oid = w.conn.execute(
            "insert into ledger_obligation (shipment_id, obligation_id, value, note,"
            " recorded_by, recorded_at) values (?,?,?,?,?,?)",
            (shipment_id, obligation_id, value, note.strip(), wb.user.username,
             utc_now())).lastrowid
        rec = {"obligation": obligation_id, "value": value, "note": note.strip()}
        w.audit("shipment", shipment_id, "record_obligation", None, rec)
    return Change("shipment_obligation", oid, "create", rec, {"shipment_id": shipment_id})
