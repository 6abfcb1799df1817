"""Shipments: what goes where, to whom, for what end use.

A shipment record::

    {"id": 3, "version": 2, "reference": "SO-2026-0042", "ship_date": "2026-03-02",
     "destination": "SG", "status": "draft", "end_use": "LLM training cluster",
     "notes": "",
     "lines": [{"item_id": 1, "quantity": 8, "unit_value": "25000.00",
                "unit_value_minor": 2500000, "currency": "USD"}],
     "parties": [{"role": "end_user", "party_id": 4}]}

Values are stored as integer minor units; ``unit_value`` is the same amount
in major units as text, for forms and exports.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from workbench.app import Change, Workbench
from workbench.errors import FieldError, NotFound, ValidationError
from workbench.records.rows import check_parties_exist, check_version, party_roles, write_row
from workbench.db.store import Store, utc_now
from workbench.records.values import (
    Checker,
    blank,
    format_money,
    parse_country,
    parse_destination,
    parse_currency,
    parse_date,
    parse_int,
    parse_money,
    text,
)

STATUSES = ("draft", "in_review", "cleared", "on_hold", "blocked", "shipped",
            "cancelled")
STATUS_LABELS = {"draft": "Draft", "in_review": "In review", "cleared": "Cleared",
                 "on_hold": "On hold", "blocked": "Blocked", "shipped": "Shipped",
                 "cancelled": "Cancelled"}
# Not yet shipped or cancelled: what a new list, pack, letter or fact can still
# put on hold, and what "open shipment" means everywhere.
OPEN_STATUSES = ("draft", "in_review", "on_hold", "blocked", "cleared")
ROLES = ("purchaser", "intermediate_consignee", "ultimate_consignee",
         "end_user", "forwarder")
ROLE_LABELS = {"purchaser": "Purchaser",
               "intermediate_consignee": "Intermediate consignee",
               "ultimate_consignee": "Ultimate consignee",
               "end_user": "End user", "forwarder": "Freight forwarder"}
_ROW_FIELDS = ("reference", "ship_date", "destination", "status", "end_use", "notes")


def get_shipment(store: Store, shipment_id: int) -> dict[str, Any]:
    row = store.one("select * from shipment where id = ?", (shipment_id,))
    if row is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    rec = {k: row[k] for k in ("id", "version", *_ROW_FIELDS)}
    rec["lines"] = [
        {"item_id": r["item_id"], "quantity": r["quantity"],
         "unit_value_minor": r["unit_value_minor"], "currency": r["currency"],
         "unit_value": format_money(r["unit_value_minor"], r["currency"]).replace(",", "")}
        for r in store.all("select * from shipment_line where shipment_id = ?"
                           " order by line_no", (shipment_id,))]
    rec["parties"] = [dict(r) for r in store.all(
        "select role, party_id from shipment_party where shipment_id = ?"
        " order by role, party_id", (shipment_id,))]
    return rec


def find_shipment(store: Store, reference: str) -> int | None:
    row = store.one("select id from shipment where reference = ? collate nocase",
                    ((reference or "").strip(),))
    return None if row is None else row["id"]


def normalise_shipment(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a shipment record; pure. Raises ValidationError."""
    c = Checker()
    rec: dict[str, Any] = {"id": data.get("id"), "version": data.get("version")}
    rec["reference"] = c.field("reference", text, data.get("reference"),
                               required=True, max_len=100)
    rec["ship_date"] = c.field("ship_date", parse_date, data.get("ship_date"),
                               required=True)
    rec["destination"] = c.field("destination", parse_destination,
                                 data.get("destination"), required=True)
    status = str(data.get("status") or "draft").strip().lower().replace(" ", "_")
    if status not in STATUSES:
        c.add("status", f"must be one of {', '.join(STATUSES)}")
    rec["status"] = status
    rec["end_use"] = c.field("end_use", text, data.get("end_use"), max_len=2000) or ""
    rec["notes"] = c.field("notes", text, data.get("notes"), max_len=4000) or ""
    lines = []
    for i, ln in enumerate(data.get("lines") or []):
        if blank(ln.get("item_id")):
            c.add(f"lines[{i}].item_id", "choose an item")
            continue
        cur = c.field(f"lines[{i}].currency", parse_currency,
                      ln.get("currency") or "USD", required=True)
        qty = c.field(f"lines[{i}].quantity", parse_int, ln.get("quantity"),
                      required=True, minimum=1)
        if "unit_value_minor" in ln and blank(ln.get("unit_value")):
            value = c.field(f"lines[{i}].unit_value", parse_int,
                            ln.get("unit_value_minor"), required=True, minimum=0)
        else:
            value = c.field(f"lines[{i}].unit_value", parse_money,
                            ln.get("unit_value"), required=True,
                            currency=cur or "USD")
        lines.append({"item_id": int(ln["item_id"]), "quantity": qty,
                      "unit_value_minor": value, "currency": cur})
    rec["lines"] = lines
    rec["parties"] = party_roles(c, data.get("parties"), ROLES)
    c.done()
    return rec


def check_save_status(before: dict[str, Any] | None, status: str, ship_date: str | None,
                      on: str | None = None) -> None:
    """Whether editing a shipment record may set `status`. Pure.

    A new record may start as draft, in review, on hold, blocked or
    cancelled, or as shipped when its ship date has passed (a record of a
    past shipment, e.g. an imported history) — never as cleared. An existing
    record keeps its status, except draft ⇄ in review. Everything else goes
    through :mod:`workbench.clearance.status`. Raises ValidationError on the ``status`` field.
    """
    on = on or _dt.date.today().isoformat()
    if before is None:
        if status == "cleared":
            raise ValidationError(FieldError(
                "status", "a new shipment cannot start as Cleared; save it as a draft and "
                          "clear it once its checks are complete"))
        if status == "shipped" and (ship_date or "9999") > on:
            raise ValidationError(FieldError(
                "status", "only a past shipment (ship date today or earlier) can be recorded "
                          "as Shipped; save it as a draft and clear it"))
        return
    old = before["status"]
    if status == old or {old, status} == {"draft", "in_review"}:
        return
    raise ValidationError(FieldError(
        "status", f"the status is {STATUS_LABELS.get(old, old)}; a change to {STATUS_LABELS.get(status, status)} goes through "
                  f"clearance (Shipments page, or `workbench shipment clear|hold|ship|cancel`)"
                  f" — if you did not mean to change it, reopen the shipment: its status may "
                  f"have changed since you opened it"))


def save_shipment(wb: Workbench, data: dict[str, Any]) -> Change:
    """Create or update a shipment with its lines and parties.

    Side effects: one transaction plus one audit event. Raises
    ValidationError (duplicate reference, unknown item or party) or
    ConflictError.
    """
    rec = normalise_shipment(data)
    store = wb.store
    now = utc_now()
    with wb.writing() as w:
        sid = rec["id"]
        before = get_shipment(store, sid) if sid is not None else None
        check_version(before, rec, f"shipment {before['reference']}" if before else "")
        # Status moves belong to clearance (workbench.clearance.status): an
        # edit may only keep the status (or swap draft/in review); the check
        # runs inside this transaction so it sees the status as it is now.
        if before is not None and blank(data.get("status")):
            rec["status"] = before["status"]  # no status given: keep the current one
        check_save_status(before, rec["status"], rec["ship_date"])
        c = Checker()
        dup = store.one("select id from shipment where reference = ? collate nocase"
                        " and id is not ?", (rec["reference"], sid))
        if dup is not None:
            c.add("reference", f"shipment {rec['reference']} exists already")
        for i, ln in enumerate(rec["lines"]):
            if store.one("select 1 from item where id = ?", (ln["item_id"],)) is None:
                c.add(f"lines[{i}].item_id", f"item {ln['item_id']} does not exist")
        check_parties_exist(store, c, rec["parties"])
        c.done()
        sid = write_row(w.conn, "shipment", _ROW_FIELDS, [rec[f] for f in _ROW_FIELDS],
                        sid, now, (("shipment_line", "shipment_id"),
                                   ("shipment_party", "shipment_id")))
        w.conn.executemany(
            "insert into shipment_line (shipment_id, line_no, item_id, quantity,"
            " unit_value_minor, currency) values (?,?,?,?,?,?)",
            [(sid, n + 1, ln["item_id"], ln["quantity"], ln["unit_value_minor"],
              ln["currency"]) for n, ln in enumerate(rec["lines"])])
        w.conn.executemany(
            "insert into shipment_party (shipment_id, role, party_id) values (?,?,?)",
            [(sid, p["role"], p["party_id"]) for p in rec["parties"]])
        after = get_shipment(store, sid)
        action = "create" if before is None else "update"
        w.audit("shipment", sid, action, before, after)
    return Change("shipment", sid, action, after)
