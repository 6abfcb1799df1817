"""The packet content model: every section of an audit packet as typed tables.

A packet is built once from the database (read-only) and then written twice,
to Excel and to PDF, from the same :class:`Packet` — so the two files cannot
disagree. Every section is a table (columns with a type, rows of typed
values); its *content hash* is SHA-256 over the canonical JSON of its
columns and rows in a form that survives a round trip through a workbook
(dates as ISO text, numbers as shortest repr, text with CR normalised), which
is what lets ``verify`` recompute it from the .xlsx.

Pure core: no Qt. Threading: build on any thread with its own store
connection (the store hands each thread one).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Sequence

from workbench import __version__
from workbench.db import audit
from workbench.errors import NotFound, WorkbenchError
from workbench.db.store import Store
from workbench.records.values import country_name, detect_script, money_to_major

MANIFEST_FORMAT = "ecw-packet-manifest/1"
COLUMN_TYPES = ("text", "int", "float", "money", "date", "datetime")
LEDGER_STUB = "licence ledger: not recorded in this version"
NAME_NOT_SET = "Exporter (name not set)"
# Characters XML 1.0 cannot hold (so no workbook can): replaced, never dropped.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_AUDIT_LIMIT = 5000  # audit rows per packet; more is summarised, not silently cut


class PacketError(WorkbenchError):
    """A packet cannot be built (unknown shipment, empty scope)."""


@dataclass
class Column:
    name: str
    type: str = "text"


@dataclass
class Section:
    """One table of the packet. ``note`` is shown above the table (PDF) and
    in the manifest; it is part of the hash."""

    id: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""

    def canonical(self) -> dict[str, Any]:
        """The hashed form: types and values as the workbook will give them back."""
        return {"id": self.id, "note": self.note,
                "columns": [[c.name, c.type] for c in self.columns],
                "rows": [canonical_row(self.columns, r) for r in self.rows]}

    def sha256(self) -> str:
        return sha256_json(self.canonical())


@dataclass
class Packet:
    packet_id: str
    scope: dict[str, Any]
    generated_at: str
    generated_by: str
    exporter: str
    chain_head: str
    chain_ok: bool
    sections: list[Section] = field(default_factory=list)
    evidence_files: list[dict[str, Any]] = field(default_factory=list)  # id, name, sha256, size

    def manifest(self) -> dict[str, Any]:
        """The manifest: identity, scope and every section's content hash."""
        return {
            "format": MANIFEST_FORMAT, "packet_id": self.packet_id, "scope": self.scope,
            "exporter": self.exporter, "generated_at": self.generated_at,
            "generated_by": self.generated_by, "app_version": __version__,
            "audit_chain_head": self.chain_head, "audit_chain_verified": self.chain_ok,
            "sections": [{"id": s.id, "title": s.title, "rows": len(s.rows), "note": s.note,
                          "columns": [[c.name, c.type] for c in s.columns],
                          "sha256": s.sha256()} for s in self.sections],
            "evidence": [{"id": e["id"], "name": e["name"], "size": e["size"],
                          "sha256": e["sha256"]} for e in self.evidence_files],
        }


def manifest_sha256(manifest: dict[str, Any]) -> str:
    """The hash printed on the cover and signed with the PDF."""
    return sha256_json(manifest)


def sha256_json(value: Any) -> str:
    return hashlib.sha256(audit.canonical_json(value).encode("utf-8")).hexdigest()


# -- canonical values --------------------------------------------------------------------------

def clean_text(s: str) -> str:
    """User text as a workbook can hold and give back unchanged: CR/CRLF → LF
    (XML parsers normalise CR away), XML-illegal controls → U+FFFD."""
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    return _ILLEGAL_XML.sub("\ufffd", s)


def canonical_value(ctype: str, v: Any) -> Any:
    """One cell as hashed. Accepts what we write and what openpyxl reads back."""
    if v is None or v == "":
        return None
    if ctype in ("int", "float", "money"):
        if isinstance(v, str):
            try:
                v = Decimal(v)
            except ArithmeticError:  # text in a number column stays text
                return clean_text(v)
        f = float(v)
        return repr(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if ctype == "date":
        if isinstance(v, _dt.datetime):
            v = v.date()
        return v.isoformat() if isinstance(v, _dt.date) else str(v)[:10]
    if ctype == "datetime":
        if isinstance(v, _dt.datetime):
            return v.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
        return str(v)
    return clean_text(str(v))


def canonical_row(columns: Sequence[Column], row: Sequence[Any]) -> list[Any]:
    return [canonical_value(c.type, v) for c, v in zip(columns, row)]


def row_sha256(columns: Sequence[Column], row: Sequence[Any]) -> str:
    """Per-row hash (the workbook's last column), so verify can name the row."""
    return sha256_json(canonical_row(columns, row))


def _date(s: str | None) -> _dt.date | None:
    if not s:
        return None
    try:
        return _dt.date.fromisoformat(str(s)[:10])
    except ValueError:
        return None


def _ts(s: str | None) -> _dt.datetime | None:
    """Stored UTC timestamps ('...Z') as naive UTC datetimes to the second:
    a workbook keeps seconds exactly, not microseconds."""
    if not s:
        return None
    try:
        d = _dt.datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return d.replace(microsecond=0)


def _t(v: Any) -> str:
    return "" if v is None else clean_text(str(v))


def _money(minor: int | None, currency: str) -> Decimal | None:
    return None if minor is None else money_to_major(int(minor), currency)


def _cols(spec: str) -> list[Column]:
    """'Name:type, Other' → columns (type text unless given)."""
    out = []
    for part in spec.split(","):
        name, _, t = part.strip().partition(":")
        out.append(Column(name.strip(), t.strip() or "text"))
    return out


# -- gathering ---------------------------------------------------------------------------------

def _exporter(store: Store) -> str:
    """The exporter's name: the audited ``exporter_name`` setting (``workbench
    settings set exporter-name``, File → Settings), else $WORKBENCH_EXPORTER,
    else a visible placeholder. The stored setting wins so that a stray
    environment variable cannot rename the organisation on a packet."""
    import os

    from workbench import settings

    name = settings.get(store, settings.EXPORTER_NAME)
    return name or os.environ.get("WORKBENCH_EXPORTER", "").strip() or NAME_NOT_SET


def _ledger_api() -> Any:
    """The ledger's read function (the ledger is part of the core: a missing
    module is an error, not a packet without its ledger section)."""
    from workbench.licensing import ledger as lstore

    return lstore.drawdowns


def build_packet(store: Store, *, shipment_refs: Iterable[str] = (),
                 shipment_ids: Iterable[int] = (), party_id: int | None = None,
                 date_from: str | None = None, date_to: str | None = None,
                 generated_by: str = "system", scope_label: str | None = None,
                 exporter: str | None = None) -> Packet:
    """Gather every section of a packet for the shipments in scope.

    Scope: the given shipment references/ids, plus (if `party_id` or a date
    range is given) every shipment of that party / with a ship date in
    [date_from, date_to]. Read-only (one pass of SELECTs; verifies the audit
    chain, which streams the whole trail). Raises PacketError for an empty
    scope, NotFound for an unknown reference.
    """
    from workbench.records import shipments as shp

    ids: list[int] = []
    for ref in shipment_refs:
        sid = shp.find_shipment(store, ref)
        if sid is None:
            raise NotFound(f"shipment {ref} does not exist")
        ids.append(sid)
    ids.extend(int(i) for i in shipment_ids)
    if party_id is not None or date_from or date_to:
        sql = "select s.id from shipment s where 1=1"
        params: list[Any] = []
        if party_id is not None:
            sql += " and exists (select 1 from shipment_party p where p.shipment_id = s.id" \
                   " and p.party_id = ?)"
            params.append(party_id)
        if date_from:
            sql += " and s.ship_date >= ?"
            params.append(date_from)
        if date_to:
            sql += " and s.ship_date <= ?"
            params.append(date_to)
        ids.extend(r[0] for r in store.all(sql + " order by s.ship_date, s.id", params))
    ids = list(dict.fromkeys(ids))
    if not ids:
        if party_id is not None or date_from or date_to:
            what = " and ".join(x for x in (
                "of that party" if party_id is not None else "",
                f"with a ship date from {date_from or 'the first'} to {date_to or 'the last'}"
                if date_from or date_to else "") if x)
            raise PacketError(f"no shipment {what}: the packet would be empty")
        raise PacketError("no shipment in scope: give --shipment, --party or a date range")
    return _gather(store, ids, generated_by=generated_by, exporter=exporter, scope={
        "shipments": [], "party_id": party_id, "from": date_from, "to": date_to,
        "label": scope_label})


def _gather(store: Store, ship_ids: list[int], *, generated_by: str,
            scope: dict[str, Any], exporter: str | None = None) -> Packet:
    from workbench.records import items as items_mod, parties as parties_mod, shipments as shp
    from workbench.screening import results as sres

    ships = [shp.get_shipment(store, sid) for sid in ship_ids]
    scope["shipments"] = [s["reference"] for s in ships]
    if not scope.get("label"):
        scope["label"] = (f"shipment {ships[0]['reference']}" if len(ships) == 1
                          else f"{len(ships)} shipments")
    involved: set[tuple[str, str]] = set()
    party_ids: list[int] = []
    item_ids: list[int] = []
    for s in ships:
        involved.add(("shipment", str(s["id"])))
        for p in s["parties"]:
            party_ids.append(p["party_id"])
        for ln in s["lines"]:
            item_ids.append(ln["item_id"])
    party_ids = list(dict.fromkeys(party_ids))
    item_ids = list(dict.fromkeys(item_ids))
    party_cache = {pid: parties_mod.get_party(store, pid) for pid in party_ids}
    item_cache = {iid: items_mod.get_item(store, iid) for iid in item_ids}
    involved |= {("party", str(p)) for p in party_ids} | {("item", str(i)) for i in item_ids}
    # Decisions recorded against those records under their own entity names.
    involved |= {("item_classification", str(i)) for i in item_ids}
    involved |= {("party_rules_tag", str(p)) for p in party_ids}
    sections: list[Section] = []

    # Shipments and lines ------------------------------------------------------------------
    sections.append(Section("shipments", "Shipments", _cols(
        "Reference, Ship date:date, Destination, Destination name, Status, End use, Notes"),
        [[s["reference"], _date(s["ship_date"]), s["destination"],
          country_name(s["destination"]), s["status"], _t(s["end_use"]), _t(s["notes"])]
         for s in ships]))
    line_rows = []
    for s in ships:
        for n, ln in enumerate(s["lines"], 1):
            it = item_cache[ln["item_id"]]
            unit = _money(ln["unit_value_minor"], ln["currency"])
            total = _money(ln["unit_value_minor"] * ln["quantity"], ln["currency"])
            line_rows.append([s["reference"], n, _t(it.get("manufacturer")), _t(it.get("model")),
                              _t(it.get("eccn")), ln["quantity"], unit, total, ln["currency"]])
    sections.append(Section("lines", "Shipment lines", _cols(
        "Shipment, Line:int, Manufacturer, Model, ECCN (item record), Quantity:int,"
        " Unit value:money, Line value:money, Currency"), line_rows))

    # Parties with every name in its own script -------------------------------------------
    prow = []
    for s in ships:
        for p in s["parties"]:
            rec = party_cache[p["party_id"]]
            addr = "; ".join(", ".join(x for x in (a.get("street"), a.get("city"),
                                                  a.get("postcode"), a.get("country")) if x)
                             for a in rec.get("addresses", []))
            names = [(rec["legal_name"], "legal", detect_script(rec["legal_name"]))]
            names += [(n["name"], n.get("kind") or "", n.get("script") or
                       detect_script(n["name"])) for n in rec.get("names", [])]
            for name, kind, script in names:
                prow.append([s["reference"], p["role"], rec["id"], _t(name), kind, script,
                             rec.get("hq_country") or "", _t(addr)])
    sections.append(Section("parties", "Parties and their names", _cols(
        "Shipment, Role, Party id:int, Name, Name kind, Script, HQ country, Addresses"), prow))

    # Screening: runs with list provenance, then hits and decisions -----------------------
    lrows, hrows = [], []
    for pid in party_ids:
        rec = party_cache[pid]
        run = store.one("select r.* from screening_party_run pr join screening_run r"
                        " on r.id = pr.run_id where pr.party_id = ? order by r.id desc limit 1",
                        (pid,))
        if run is None:
            lrows.append([pid, _t(rec["legal_name"]), None, None, "NOT SCREENED", "", "",
                          None, "", None])
            continue
        involved.add(("screening_run", str(run["id"])))
        for snap in json.loads(run["snapshots"] or "[]"):
            lrows.append([pid, _t(rec["legal_name"]), run["id"], _ts(run["ts"]),
                          _t(snap.get("source")), _t(snap.get("file")),
                          _t(snap.get("sha256")), _date(snap.get("publish_date")),
                          _t(run["user"]), _ts(snap.get("imported_at"))])
        for h in sres.latest_hits(store, pid):
            dec = h.get("decision") or {}
            hrows.append([pid, _t(rec["legal_name"]), "hit", _t(h.get("list_code")),
                          _t(h.get("entry_id")), _t(h.get("primary_name")),
                          _t(h.get("matched_name")), h.get("score"),
                          _t(dec.get("decision") or "UNDECIDED"), _t(dec.get("reason")),
                          _t(dec.get("user")), _ts(dec.get("ts")), _t(h.get("explanation"))])
            for d in store.all("select id from hit_decision where hit_id = ?", (h["id"],)):
                involved.add(("hit_decision", str(d[0])))
        for f in sres.latest_fronts(store, pid):
            hrows.append([pid, _t(rec["legal_name"]), f"possible front ({f.get('kind')})",
                          "", _t(f.get("entry_id")), _t(f.get("list_name")), "", None,
                          "", "", "", None, _t(f.get("detail"))])
    sections.append(Section("screening", "Screening runs and list provenance", _cols(
        "Party id:int, Party, Run:int, Screened at (UTC):datetime, List source, List file,"
        " List SHA-256, List published:date, Screened by, List imported at (UTC):datetime"),
        lrows))
    sections.append(Section("hits", "Screening hits and decisions", _cols(
        "Party id:int, Party, Kind, List, Entry, Listed name, Matched name, Score:float,"
        " Decision, Reason, Decided by, Decided at (UTC):datetime, Explanation"), hrows,
        note="" if hrows else "No hits and no possible fronts in the latest screening."))

    # Classification working ---------------------------------------------------------------
    from workbench.rules import determinations as rstore

    crows = []
    for iid in item_ids:
        it = item_cache[iid]
        cur = rstore.current_classification(store, iid)
        if cur is None:
            crows.append([_t(it.get("model")), _t(it.get("manufacturer")), None, "", None,
                          "", "", "NOT CLASSIFIED", "", None, "", ""])
            continue
        c = cur["computed"]
        crows.append([_t(it.get("model")), _t(it.get("manufacturer")), c.get("tpp"),
                      _t(c.get("tpp_precision")), c.get("pd"),
                      _t(cur.get("eccn") or c.get("eccn") or "not 3A090"),
                      _t(c.get("citation")), cur["decision"], _t(cur.get("reason")),
                      _ts(cur.get("decided_at")), _t(cur.get("decided_by")),
                      _t("\n".join(c.get("working") or []))])
    sections.append(Section("classification", "Classification working (TPP, PD)", _cols(
        "Model, Manufacturer, TPP:float, TPP precision, PD:float, ECCN, Citation, Decision,"
        " Reason, Decided at (UTC):datetime, Decided by, Working"), crows))

    # Determination with citations and pack ------------------------------------------------
    drows = []
    for s in ships:
        dets = rstore.determinations(store, s["id"])
        if not dets:
            drows.append([s["reference"], None, None, "", "NOT DETERMINED", "", "", "", "",
                          "", "", "", ""])
            continue
        d = dets[0]  # the newest decides; older ones stay in the audit trail extract
        for r in d["result"].get("reasons") or [{}]:
            drows.append([s["reference"], d["id"], _ts(d["evaluated_at"]),
                          _t(d["evaluated_by"]), d["outcome"], _t(r.get("rule_id")),
                          _t(r.get("effect")), _t(r.get("message")), _t(r.get("citation")),
                          d["pack_id"], d["pack_version"], d["pack_sha256"],
                          d["input_sha256"]])
    sections.append(Section("determination", "Determination with citations", _cols(
        "Shipment, Determination:int, Evaluated at (UTC):datetime, Evaluated by, Outcome,"
        " Rule, Effect, Reason, Citation, Pack id, Pack version, Pack SHA-256, Input SHA-256"),
        drows))

    # Licence ledger -----------------------------------------------------------------------
    dd = _ledger_api()
    if dd is None:
        sections.append(Section("ledger", "Licence ledger", _cols("Note"), [[LEDGER_STUB]],
                                note=LEDGER_STUB))
    else:
        lrows2 = []
        for s in ships:
            for d in dd(store, shipment_id=s["id"], include_reversed=True):
                lrows2.append([s["reference"], d["id"], _t(d.get("licence_number")),
                               d.get("licence_line_no"), d.get("shipment_line_no"),
                               d.get("quantity"), _money(d.get("value_minor"), d["currency"]),
                               d["currency"], "reversed" if d.get("reversed_by") else "drawn",
                               _t(d.get("created_by")), _ts(d.get("created_at"))])
                involved.add(("licence", str(d["licence_id"])))
        sections.append(Section("ledger", "Licence ledger (drawdowns)", _cols(
            "Shipment, Drawdown:int, Licence, Licence line:int, Shipment line:int,"
            " Quantity:int, Value:money, Currency, State, By, At (UTC):datetime"), lrows2,
            note="" if lrows2 else "No licence drawdown recorded for these shipments."))

    # Checklists with sign-offs ------------------------------------------------------------
    from workbench.checklists import runs as cstore

    runs = []
    for s in ships:
        runs += cstore.list_runs(store, shipment_id=s["id"])
    for pid in party_ids:
        runs += cstore.list_runs(store, party_id=pid)
    arows, srows = [], []
    answer_ids: list[int] = []
    for r in {r["id"]: r for r in runs}.values():
        run = cstore.get_run(store, r["id"])
        involved.add(("checklist_run", str(run["id"])))
        for q in run["questions"]:
            a = q.get("answer") or {}
            if a.get("id"):
                answer_ids.append(a["id"])
            arows.append([run["id"], _t(run["template"]["title"]), run["template"]["version"],
                          _t(run["target"]["label"]), run["state"], _t(q.get("id")),
                          _t(q.get("text") or q.get("question") or ""), _t(a.get("value")),
                          "yes" if a.get("red_flag") else "", _t(a.get("note")),
                          _t(a.get("answered_by")), _ts(a.get("answered_at"))])
        for so in run["signoffs"]:
            srows.append([run["id"], _t(run["template"]["title"]), so["kind"],
                          _t(so["username"]), so["role"], _ts(so["signed_at"]),
                          "yes" if so["password_verified"] else "no",
                          ", ".join(so["red_flags"]), _t(so.get("note"))])
    sections.append(Section("checklists", "Checklist answers", _cols(
        "Run:int, Template, Version, Target, State, Question id, Question, Answer,"
        " Red flag, Note, Answered by, Answered at (UTC):datetime"), arows,
        note="" if arows else "No checklist run for these shipments or their parties."))
    sections.append(Section("signoffs", "Checklist sign-offs", _cols(
        "Run:int, Template, Kind, User, Role, Signed at (UTC):datetime, Password re-entered,"
        " Red flags acknowledged, Note"), srows,
        note="" if srows else "No sign-off recorded."))

    # Evidence index -----------------------------------------------------------------------
    links = [(e, i) for e, i in involved] + [("checklist_answer", str(a)) for a in answer_ids]
    ev: dict[int, dict[str, Any]] = {}
    ev_rows = []
    for ent, eid in links:
        for e in store.all(
                "select e.id, e.sha256, e.size, e.name, e.mime, e.added_at, e.added_by"
                " from evidence_link l join evidence e on e.id = l.evidence_id"
                " where l.entity = ? and l.entity_id = ? order by l.id", (ent, eid)):
            ev.setdefault(e["id"], dict(e))
            ev_rows.append([e["id"], _t(e["name"]), e["size"], e["sha256"], _t(e["mime"]),
                            f"{ent} {eid}", _ts(e["added_at"]), _t(e["added_by"])])
    for e in ev:
        involved.add(("evidence", str(e)))
    sections.append(Section("evidence", "Evidence index", _cols(
        "Evidence:int, File name, Size (bytes):int, SHA-256, Type, Linked to,"
        " Added at (UTC):datetime, Added by"), ev_rows,
        note=("Each file is attached inside the PDF under its evidence number."
              if ev_rows else "No evidence file linked to these records.")))

    # Audit-trail extract ------------------------------------------------------------------
    arow2 = []
    pairs = sorted(involved)
    total = 0
    for i in range(0, len(pairs), 200):
        chunk = pairs[i:i + 200]
        cond = " or ".join(["(entity = ? and entity_id = ?)"] * len(chunk))
        params = [x for p in chunk for x in p]
        total += store.scalar(f"select count(*) from audit_event where {cond}", params)
        for ev_row in store.all(f"select seq, ts, user, entity, entity_id, action, after,"
                                f" prev_hash, hash from audit_event where {cond}"
                                f" order by seq limit {_AUDIT_LIMIT}", params):
            after = ev_row["after"] or ""
            arow2.append([ev_row["seq"], _ts(ev_row["ts"]), _t(ev_row["user"]),
                          ev_row["entity"], ev_row["entity_id"], ev_row["action"],
                          _t(after[:400] + ("…" if len(after) > 400 else "")),
                          ev_row["prev_hash"], ev_row["hash"]])
    arow2.sort(key=lambda r: r[0])
    arow2 = arow2[:_AUDIT_LIMIT]
    chk = audit.verify(store)
    note = (f"Events about the records in this packet. Audit chain: {chk.events} events, "
            f"{'verified intact' if chk.ok else 'BROKEN: ' + str(chk.problem)}; "
            f"head {chk.head}.")
    if total > len(arow2):
        note += f" Showing the first {len(arow2)} of {total} events."
    sections.append(Section("audit", "Audit-trail extract", _cols(
        "Seq:int, At (UTC):datetime, User, Entity, Entity id, Action, After (truncated),"
        " Previous hash, Hash"), arow2, note=note))

    return Packet(
        packet_id=str(uuid.uuid4()), scope=scope,
        generated_at=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        .isoformat().replace("+00:00", "Z"),
        generated_by=generated_by, exporter=exporter or _exporter(store), chain_head=chk.head,
        chain_ok=chk.ok, sections=sections,
        evidence_files=[ev[k] for k in sorted(ev)])
