"""Export licences: number, agency, dates, parties, lines, conditions.

A licence record::

    {"id": 1, "version": 1, "number": "D1234567", "agency": "BIS",
     "type": "BIS-748P", "issue_date": "2026-01-15", "expiry_date": "2030-01-14",
     "conditions": "...", "riders": "...", "notes": "",
     "parties": [{"role": "ultimate_consignee", "party_id": 4}],
     "lines": [{"eccn": "3A090.a", "description": "H100 SXM5 GPUs",
                "quantity": 64, "value": "1600000.00", "value_minor": 160000000,
                "currency": "USD"}]}

Drawdowns, balances and the shipping tolerance come with the clearance issue;
this module keeps what the licence document says.
"""

from __future__ import annotations

from typing import Any

from workbench.app import Change, Workbench
from workbench.errors import NotFound
from workbench.records.rows import check_parties_exist, check_version, party_roles, write_row
from workbench.records.items import parse_eccn
from workbench.db.store import Store, utc_now
from workbench.records.values import (
    Checker,
    blank,
    format_money,
    parse_currency,
    parse_date,
    parse_int,
    parse_money,
    text,
)

AGENCIES = ("BIS", "DDTC", "OFAC", "NRC", "DOE", "OTHER")
PARTY_ROLES = ("applicant", "purchaser", "intermediate_consignee",
               "ultimate_consignee", "end_user")
_ROW_FIELDS = ("number", "agency", "type", "issue_date", "expiry_date",
               "conditions", "riders", "notes")


def get_licence(store: Store, licence_id: int) -> dict[str, Any]:
    row = store.one("select * from licence where id = ?", (licence_id,))
    if row is None:
        raise NotFound(f"licence {licence_id} does not exist")
    rec = {k: row[k] for k in ("id", "version", *_ROW_FIELDS)}
    rec["parties"] = [dict(r) for r in store.all(
        "select role, party_id from licence_party where licence_id = ?"
        " order by role, party_id", (licence_id,))]
    rec["lines"] = [
        {"eccn": r["eccn"], "description": r["description"],
         "quantity": r["quantity"], "value_minor": r["value_minor"],
         "currency": r["currency"],
         "value": format_money(r["value_minor"], r["currency"]).replace(",", "")}
        for r in store.all("select * from licence_line where licence_id = ?"
                           " order by line_no", (licence_id,))]
    return rec


def normalise_licence(data: dict[str, Any]) -> dict[str, Any]:
    c = Checker()
    rec: dict[str, Any] = {"id": data.get("id"), "version": data.get("version")}
    rec["number"] = c.field("number", text, data.get("number"), required=True, max_len=60)
    agency = str(data.get("agency") or "BIS").strip().upper()
    if agency not in AGENCIES:
        c.add("agency", f"must be one of {', '.join(AGENCIES)}")
    rec["agency"] = agency
    rec["type"] = c.field("type", text, data.get("type"), max_len=100) or ""
    rec["issue_date"] = c.field("issue_date", parse_date, data.get("issue_date"), required=True)
    rec["expiry_date"] = c.field("expiry_date", parse_date, data.get("expiry_date"), required=True)
    if rec["issue_date"] and rec["expiry_date"] and rec["expiry_date"] < rec["issue_date"]:
        c.add("expiry_date", "expires before it was issued")
    for f in ("conditions", "riders", "notes"):
        rec[f] = c.field(f, text, data.get(f), max_len=20000) or ""
    rec["parties"] = party_roles(c, data.get("parties"), PARTY_ROLES)
    lines = []
    for i, ln in enumerate(data.get("lines") or []):
        cur = c.field(f"lines[{i}].currency", parse_currency,
                      ln.get("currency") or "USD", required=True)
        lines.append({
            "eccn": c.field(f"lines[{i}].eccn", parse_eccn, ln.get("eccn"), required=True),
            "description": c.field(f"lines[{i}].description", text,
                                   ln.get("description"), max_len=1000) or "",
            "quantity": c.field(f"lines[{i}].quantity", parse_int,
                                ln.get("quantity"), minimum=0),
            "value_minor": (c.field(f"lines[{i}].value", parse_money, ln.get("value"),
                                    required=True, currency=cur or "USD")
                            if not blank(ln.get("value")) or "value_minor" not in ln
                            else c.field(f"lines[{i}].value", parse_int,
                                         ln.get("value_minor"), minimum=0)),
            "currency": cur,
        })
    rec["lines"] = lines
    c.done()
    return rec


def save_licence(wb: Workbench, data: dict[str, Any]) -> Change:
    """Create or update a licence with its parties and lines.

    Side effects: one transaction plus one audit event.
    """
    rec = normalise_licence(data)
    store = wb.store
    now = utc_now()
    with wb.writing() as w:
        lid = rec["id"]
        before = get_licence(store, lid) if lid is not None else None
        check_version(before, rec, f"licence {before['number']}" if before else "")
        c = Checker()
        if store.one("select id from licence where number = ? collate nocase and"
                     " id is not ?", (rec["number"], lid)) is not None:
            c.add("number", f"licence {rec['number']} exists already")
        check_parties_exist(store, c, rec["parties"])
        c.done()
        lid = write_row(w.conn, "licence", _ROW_FIELDS, [rec[f] for f in _ROW_FIELDS],
                        lid, now, (("licence_party", "licence_id"),
                                   ("licence_line", "licence_id")))
        w.conn.executemany(
            "insert into licence_party (licence_id, role, party_id) values (?,?,?)",
            [(lid, p["role"], p["party_id"]) for p in rec["parties"]])
        w.conn.executemany(
            "insert into licence_line (licence_id, line_no, eccn, description,"
            " quantity, value_minor, currency) values (?,?,?,?,?,?,?)",
            [(lid, n + 1, ln["eccn"], ln["description"], ln["quantity"],
              ln["value_minor"], ln["currency"]) for n, ln in enumerate(rec["lines"])])
        after = get_licence(store, lid)
        action = "create" if before is None else "update"
        w.audit("licence", lid, action, before, after)
    return Change("licence", lid, action, after)
