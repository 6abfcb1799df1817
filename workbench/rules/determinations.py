"""Rules persistence: packs, classification decisions, determinations.

Everything here is append-only (SQLite triggers refuse UPDATE and DELETE):
a newer pack, a changed classification or a re-run determination is a new
row; the current one is the newest. Each write runs in one
``wb.writing()`` transaction with its audit event.

A loaded pack is stored whole (every file's text), so a determination made
with it can be replayed exactly even after the folder is gone.

Screening results come from the screening area; functions that build a
transaction from the store take ``hits_for(party_id) -> list[hit] | None``
(None = this party was not screened). Threading: like the store — call from
any thread, one transaction per call.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import sqlite3
from typing import Any, Callable

from workbench.records import items as items_mod
from workbench.records import parties as parties_mod
from workbench.records import shipments as shipments_mod
from workbench.records.shipments import OPEN_STATUSES
from workbench.app import Change, Workbench
from workbench.records.values import parse_date
from workbench.errors import NotFound, ValidationError, FieldError
from workbench.db.store import Store, utc_now
from workbench.rules.classify import classify
from workbench import users
from workbench.rules import golden
from workbench.rules.engine import canonical, determine
from workbench.rules.golden import GoldenCasesFailed
from workbench.rules.pack import Pack, builtin_pack, load_pack, load_pack_files
from workbench.screening import results as sr

HitsFor = Callable[[int], "list[dict[str, Any]] | None"]


# -- packs -----------------------------------------------------------------------

def _pack_from_row(row: Any) -> Pack:
    return _pack_from_files(row["files"], f"stored pack {row['pack_id']} {row['version']}")


@functools.lru_cache(maxsize=8)
def _pack_from_files(files_json: str, origin: str) -> Pack:
    # Parsing and verifying a pack's YAML costs ~0.25 s; a Pack is immutable,
    # so one parse per distinct stored text is enough (the key is the text
    # itself: an edited row is parsed and verified afresh).
    files = {p: t.encode("utf-8") for p, t in json.loads(files_json).items()}
    return load_pack_files(files, origin=origin)


def pack_by_sha(store: Store, sha256: str) -> Pack:
    """A pack stored in the database (verified again on load). Read-only.
    Falls back to the built-in pack when it has that hash."""
    row = store.one("select * from rules_pack where sha256 = ?", (sha256,))
    if row is not None:
        return _pack_from_row(row)
    b = builtin_pack()
    if b.sha256 == sha256:
        return b
    raise NotFound(f"no rules pack with SHA-256 {sha256[:16]}… is stored")


def active_pack(store: Store) -> Pack:
    """The pack in force: the most recently activated one, else the
    built-in pack. Read-only."""
    row = store.one("select p.* from rules_pack_activation a join rules_pack p"
                    " on p.id = a.pack_row order by a.seq desc limit 1")
    return _pack_from_row(row) if row is not None else builtin_pack()


def list_packs(store: Store) -> list[dict[str, Any]]:
    """Stored packs, newest load first, with whether each is active."""
    active = store.scalar("select pack_row from rules_pack_activation order by seq desc limit 1")
    return [{"row": r["id"], "id": r["pack_id"], "version": r["version"],
             "sha256": r["sha256"], "as_of": r["as_of"], "supersedes": r["supersedes"],
             "loaded_at": r["loaded_at"], "loaded_by": r["loaded_by"],
             "active": r["id"] == active}
            for r in store.all("select * from rules_pack order by id desc")]


def install_pack(wb: Workbench, source: str | Pack, *, approver: str, approver_password: str,
                 hits_for: HitsFor | None = None) -> Change:
    """Verify a pack folder (or a loaded Pack), store it and make it active.

    Two gates, both before anything is written: the pack's own golden cases
    must all pass (GoldenCasesFailed names each failing one), and a second
    person — `approver`, a different user with the approver role — confirms
    by re-entering their password (PermissionDenied / AuthenticationError).
    The audit event records the approver and the number of cases run.

    Side effects: one transaction inserting the pack (if that hash is new)
    and an activation row, with an audit event. Holds nothing: callers use
    :func:`workbench.clearance.holds.install_pack`, which runs this inside its
    own transaction and holds the open shipments the impact names. Raises
    PackError for a bad pack (nothing written). ``Change.extra`` carries the
    diff against the pack that was active before and the impact (None when
    the same pack is installed again). `hits_for` (default: the stored
    screening results) feeds the impact.
    """
    pack = source if isinstance(source, Pack) else load_pack(source)
    appr = users.second_person(wb.store, wb.user, approver, approver_password,
                               "activating a rules pack")
    bad = golden.failures(pack)
    if bad:
        raise GoldenCasesFailed(pack, bad)
    files = {p: b.decode("utf-8") for p, b in pack.files.items()}
    with wb.writing() as w:
        # read under the write lock: a pack activated meanwhile by another
        # process cannot make the diff, impact or audit "before" wrong
        before = active_pack(wb.store)
        # Impact inside the write transaction: a shipment saved meanwhile
        # cannot miss its hold. Same pack again changes nothing.
        imp = (None if before.sha256 == pack.sha256 else
               impact(wb.store, pack, before,
                      hits_for=hits_for or screening_hits_for(wb.store)))
        row = wb.store.one("select id from rules_pack where sha256 = ?", (pack.sha256,))
        if row is None:
            cur = w.conn.execute(
                "insert into rules_pack (pack_id, version, sha256, as_of, supersedes, manifest,"
                " files, loaded_at, loaded_by) values (?,?,?,?,?,?,?,?,?)",
                (pack.id, pack.version, pack.sha256, pack.manifest["as_of"],
                 pack.manifest.get("supersedes"), canonical(pack.manifest), canonical(files),
                 utc_now(), wb.user.username))
            rid = cur.lastrowid
        else:
            rid = row["id"]
        w.conn.execute("insert into rules_pack_activation (pack_row, activated_at,"
                       " activated_by) values (?,?,?)", (rid, utc_now(), wb.user.username))
        w.audit("rules_pack", rid, "activate", before.ref,
                {"pack": pack.ref, "approved_by": appr.username,
                 "golden_cases_passed": len(pack.golden_cases)})
    return Change("rules_pack", rid, "activate", pack.ref,
                  {"diff": diff_packs(before, pack), "impact": imp})


# -- classification ------------------------------------------------------------------

def item_txn_fields(store: Store, item: dict[str, Any]) -> dict[str, Any]:
    """An item record (items.get_item) in transaction-model form, with the
    officer's current classification decision applied as an override."""
    d = {"model": item["model"], "manufacturer": item.get("manufacturer") or None,
         "tops": dict(item.get("performance") or {}),
         "die_area_mm2": item.get("die_area_mm2"),
         "interconnect_gbps": item.get("interconnect_gbps"),
         "memory_bandwidth_gbps": item.get("memory_bandwidth_gbps"),
         "datacenter": item.get("datacenter"),
         "eccn": item.get("eccn") or None}
    cur = current_classification(store, item["id"])
    if cur is not None and cur["decision"] == "overridden":
        d["eccn_override"] = cur["eccn"]
    return d


def find_item_ref(store: Store, ref: str) -> int:
    """Item id from an id or a model name (case-insensitive). Raises NotFound."""
    ref = str(ref).strip()
    if ref.isdigit() and store.one("select 1 from item where id = ?", (int(ref),)):
        return int(ref)
    iid = items_mod.find_item(store, ref)
    if iid is None:
        row = store.one("select id from item where model like ? collate nocase"
                        " order by length(model) limit 1", (f"%{ref}%",))
        iid = None if row is None else row["id"]
    if iid is None:
        raise NotFound(f"no item with id or model {ref!r}")
    return iid


def classify_item(store: Store, item_id: int, date: str | None = None,
                  pack: Pack | None = None) -> dict[str, Any]:
    """Proposed classification of a stored item on `date` (default today),
    with the current decision if any. Read-only."""
    pack = pack or active_pack(store)
    item = items_mod.get_item(store, item_id)
    date = date or utc_now()[:10]
    fields = item_txn_fields(store, item)
    proposal = classify(pack, {**fields, "eccn_claimed": fields.get("eccn"),
                               "eccn_override": None, "item_type": "ic"}, date)
    cur = current_classification(store, item_id)
    return {"item_id": item_id, "model": item["model"], "manufacturer": item["manufacturer"],
            "date": date, "pack": pack.ref, "proposal": proposal, "decision": cur,
            "item_eccn": item.get("eccn") or None}


def current_classification(store: Store, item_id: int) -> dict[str, Any] | None:
    row = store.one("select * from rules_classification where item_id = ? order by id desc"
                    " limit 1", (item_id,))
    if row is None:
        return None
    d = dict(row)
    d["computed"] = json.loads(d["computed"])
    d["evidence"] = json.loads(d["evidence"])
    return d


def decide_classification(wb: Workbench, item_id: int, *, accept: bool,
                          eccn: str | None = None, reason: str = "",
                          evidence: list[dict[str, Any]] | None = None,
                          date: str | None = None) -> Change:
    """Record the officer's decision on an item's classification.

    Accept the proposal, or override it with another ECCN and a reason
    (required). `evidence` lists attachments (e.g. {"sha256", "name"} of a
    datasheet held by the evidence area). Side effects: one transaction, one
    append-only row and its audit event.
    """
    info = classify_item(wb.store, item_id, date)
    prop = info["proposal"]
    reason = (reason or "").strip()
    if not accept:
        if not eccn or not str(eccn).strip():
            raise ValidationError(FieldError("eccn", "name the ECCN that replaces the proposal"))
        try:
            eccn = items_mod.parse_eccn(eccn)
        except ValueError as e:
            raise ValidationError(FieldError("eccn", str(e))) from None
        if len(reason) < 5:
            raise ValidationError(FieldError("reason", "an override needs a reason"))
    item = items_mod.get_item(wb.store, item_id)
    final = prop["computed_eccn"] if accept else eccn
    with wb.writing() as w:
        cur = w.conn.execute(
            "insert into rules_classification (item_id, item_version, pack_sha256, as_of_date,"
            " computed, proposed_eccn, decision, eccn, reason, evidence, decided_by,"
            " decided_at) values (?,?,?,?,?,?,?,?,?,?,?,?)",
            (item_id, item["version"], info["pack"]["sha256"], info["date"], canonical(prop),
             prop["computed_eccn"], "accepted" if accept else "overridden", final, reason,
             canonical(evidence or []), wb.user.username, utc_now()))
        rid = cur.lastrowid
        after = {"item_id": item_id, "decision": "accepted" if accept else "overridden",
                 "proposed_eccn": prop["computed_eccn"], "eccn": final, "reason": reason,
                 "tpp": prop["tpp"], "pd": prop["pd"], "pack": info["pack"]}
        w.audit("item_classification", item_id, "accept" if accept else "override",
                None, after)
    return Change("item_classification", rid, "accept" if accept else "override", after)


# -- party facts the rules use -----------------------------------------------------------

def open_outcomes(store: Store, party_id: int | None = None
                   ) -> dict[int, tuple[str, str | None]]:
    """(outcome, exception) of every open shipment (of `party_id`) under the
    pack in force, the stored letters and tags and the latest screening, as
    the store reads now — inside a write transaction that includes its own
    uncommitted rows. Read-only."""
    pack = active_pack(store)
    hits = screening_hits_for(store)
    sql = (f"select s.id from shipment s where s.status in"
           f" ({','.join('?' * len(OPEN_STATUSES))})")
    params: tuple[Any, ...] = OPEN_STATUSES
    if party_id is not None:
        sql += " and exists (select 1 from shipment_party p where p.shipment_id = s.id" \
               " and p.party_id = ?)"
        params = (*OPEN_STATUSES, party_id)
    out = {}
    for r in store.all(sql, params):
        d = determine(pack, txn_from_shipment(store, r["id"], hits_for=hits))
        out[r["id"]] = (d["outcome"], d["exception"])
    return out


def changed_outcomes(store: Store, before: dict[int, tuple[str, str | None]], what: str,
                     party_id: int | None = None) -> dict[int, str]:
    """The open shipments whose outcome differs now from `before` (an
    :func:`open_outcomes` read earlier in the same transaction), each with a
    reason in words saying that `what` changed it. Read-only."""
    after = open_outcomes(store, party_id)

    def words(o: tuple[str, str | None]) -> str:
        return o[0].replace("_", " ") + (f" ({o[1]})" if o[1] else "")

    return {sid: f"{what}: the outcome changes from {words(before[sid])} to "
                 f"{words(o)} — determine again before clearing"
            for sid, o in after.items() if sid in before and before[sid] != o}


def set_party_tag(wb: Workbench, party_id: int, tag: str, present: bool = True,
                  note: str = "") -> Change:
    """Record (or withdraw) a rules fact about a party, e.g.
    ``approved_csp``. Side effects: one transaction: the append-only row,
    its audit event. Holds nothing: callers use
    :func:`workbench.clearance.holds.set_party_tag`, which also holds the
    party's open shipments whose outcome the fact changes.
    ``Change.extra``: ``what`` (the change in words)."""
    tag = tag.strip().lower()
    if not tag or len(tag) > 60:
        raise ValidationError(FieldError("tag", "1 to 60 characters"))
    parties_mod.get_party(wb.store, party_id)
    with wb.writing() as w:
        cur = w.conn.execute(
            "insert into rules_party_tag (party_id, tag, present, note, recorded_by,"
            " recorded_at) values (?,?,?,?,?,?)",
            (party_id, tag, int(present), note, wb.user.username, utc_now()))
        w.audit("party_rules_tag", party_id, "add" if present else "remove", None,
                {"tag": tag, "note": note})
    return Change("party_rules_tag", cur.lastrowid, "add" if present else "remove", None,
                  {"what": f"Party fact {tag} {'recorded' if present else 'removed'}"})


def party_tag_records(store: Store, party_id: int) -> list[dict[str, Any]]:
    """Every tag record of a party, oldest first. Read-only."""
    return [dict(r) for r in store.all("select * from rules_party_tag where party_id = ?"
                                       " order by id", (party_id,))]


def party_tags(store: Store, party_id: int) -> list[str]:
    rows = store.all("select tag, present from rules_party_tag where party_id = ?"
                     " order by id", (party_id,))
    state: dict[str, bool] = {}
    for r in rows:
        state[r["tag"]] = bool(r["present"])
    return sorted(t for t, on in state.items() if on)


def record_letter(wb: Workbench, overlay_id: str, *, active: bool = True,
                  received_on: str | None = None, reference: str = "",
                  note: str = "") -> Change:
    """Record that the exporter received (or no longer holds) a
    company-specific is-informed letter; the overlay with that id then
    applies to its determinations (saved determinations made before become
    out of date, so clearance asks for a new one). Refuses an id that is not
    a company-specific overlay of the pack in force, a bad date, an overlong
    reference. Side effects: one transaction: the letter row and its audit
    event. Holds nothing: callers use
    :func:`workbench.clearance.holds.record_letter`, which also holds the open
    shipments whose outcome the letter changes. ``Change.extra``: ``what``."""
    overlay_id = (overlay_id or "").strip()
    known = {o.id: o for o in active_pack(wb.store).overlays
             if o.data.get("company_specific")}
    if overlay_id not in known:
        raise ValidationError(FieldError(
            "overlay", f"{overlay_id!r} is not a company-specific (is-informed) overlay of the "
                       f"rules pack in force; known: {', '.join(sorted(known)) or 'none'}"))
    if received_on:
        try:
            received_on = parse_date(received_on)
        except ValueError as e:
            raise ValidationError(FieldError("received_on", str(e))) from None
    reference, note = (reference or "").strip(), (note or "").strip()
    if len(reference) > 200 or len(note) > 2000:
        raise ValidationError(FieldError("reference", "the reference is limited to 200 and "
                                                      "the note to 2,000 characters"))
    with wb.writing() as w:
        cur = w.conn.execute(
            "insert into rules_letter (overlay_id, active, received_on, reference, note,"
            " recorded_by, recorded_at) values (?,?,?,?,?,?,?)",
            (overlay_id, int(active), received_on, reference, note, wb.user.username,
             utc_now()))
        w.audit("rules_letter", overlay_id, "receive" if active else "withdraw", None,
                {"received_on": received_on, "reference": reference})
    return Change("rules_letter", cur.lastrowid, "receive" if active else "withdraw", None,
                  {"what": f"Is-informed letter {overlay_id} "
                           f"{'received' if active else 'withdrawn'}"})


def letters(store: Store) -> list[dict[str, Any]]:
    """Every letter record, oldest first (the latest per overlay counts).
    Read-only."""
    return [dict(r) for r in store.all("select * from rules_letter order by id")]


def active_letters(store: Store) -> list[str]:
    state: dict[str, bool] = {}
    for r in store.all("select overlay_id, active from rules_letter order by id"):
        state[r["overlay_id"]] = bool(r["active"])
    return sorted(k for k, v in state.items() if v)


# -- shipments -> transactions -> determinations ------------------------------------------

def effective_date(ship_date: str, status: str, today: str | None = None) -> str:
    """The legal date an open shipment is judged on: the later of its planned
    date and today, because goods still to leave leave under today's rules at
    the earliest. A shipped or cancelled shipment keeps its own date. Pure
    (`today` defaults to the local calendar date)."""
    if status not in OPEN_STATUSES:
        return ship_date
    today = today or _dt.date.today().isoformat()
    return max(ship_date, today)


def date_basis(ship_date: str, eval_date: str) -> str:
    """Which date a determination was evaluated on, in words."""
    if eval_date == ship_date:
        return f"evaluated on the planned date {ship_date}"
    return (f"evaluated on {eval_date} (today), the planned date {ship_date} having "
            f"passed")


def txn_from_shipment(store: Store, shipment_id: int, *, hits_for: HitsFor | None = None,
                      date: str | None = None, today: str | None = None) -> dict[str, Any]:
    """The transaction model of a stored shipment (txn.json shape). Read-only.

    Its date is `date` when given, else :func:`effective_date` (the later of
    the planned date and `today` for an open shipment).

    Party country = first address; parent HQ = the ultimate parent's HQ;
    owners with their hits feed the Affiliates Rule; `hits_for` supplies
    screening hits (a party with None is marked unscreened).
    """
    s = shipments_mod.get_shipment(store, shipment_id)
    txn: dict[str, Any] = {"date": date or effective_date(s["ship_date"], s["status"], today),
                           "destination": s["destination"],
                           "origin_country": "US", "export_kind": "export",
                           "end_use": s["end_use"] or None, "reference": s["reference"],
                           "is_informed_letters": active_letters(store), "items": [],
                           "parties": []}
    for ln in s["lines"]:
        it = items_mod.get_item(store, ln["item_id"])
        txn["items"].append({**item_txn_fields(store, it), "quantity": ln["quantity"]})

    def hits(pid: int) -> list[dict[str, Any]] | None:
        return None if hits_for is None else hits_for(pid)

    for sp in s["parties"]:
        p = parties_mod.get_party(store, sp["party_id"])
        parent_hq = None
        if p["ultimate_parent_id"]:
            parent_hq = store.scalar("select hq_country from party where id = ?",
                                     (p["ultimate_parent_id"],))
        owners = []
        for o in p["owners"]:
            oh = hits(o["owner_id"])
            owners.append({"name": store.scalar("select legal_name from party where id = ?",
                                                (o["owner_id"],)),
                           "percent": o["percent"], "list_hits": oh or []})
        rec: dict[str, Any] = {
            "role": sp["role"], "name": p["legal_name"],
            "country": p["addresses"][0]["country"] if p["addresses"] else p["hq_country"],
            "hq_country": p["hq_country"], "parent_hq_country": parent_hq,
            "kind": p["kind"], "tags": party_tags(store, p["id"]), "owners": owners,
        }
        h = hits(p["id"])
        if h is not None:
            rec["list_hits"] = h
        txn["parties"].append(rec)
    return txn


def determine_shipment(wb: Workbench, shipment_id: int, *, hits_for: HitsFor | None = None,
                       pack: Pack | None = None) -> Change:
    """Decide a stored shipment with the pack in force and store the result.

    Side effects: one transaction appending a determination row (input,
    pack id/version/hash, result) and an audit event. Returns the result in
    ``Change.record``.
    """
    pack = pack or active_pack(wb.store)
    s = shipments_mod.get_shipment(wb.store, shipment_id)
    txn = txn_from_shipment(wb.store, shipment_id, hits_for=hits_for)
    now = utc_now()
    result = determine(pack, txn, evaluated_at=now)
    with wb.writing() as w:
        if wb.store.one("select 1 from rules_pack where sha256 = ?", (pack.sha256,)) is None:
            # keep the pack itself, so this determination can always be replayed
            _store_pack_only(wb, pack)
        cur = w.conn.execute(
            "insert into rules_determination (shipment_id, shipment_version, eval_date,"
            " pack_id, pack_version, pack_sha256, input, input_sha256, result, outcome,"
            " exception, evaluated_at, evaluated_by) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (shipment_id, s["version"], txn["date"], pack.id, pack.version, pack.sha256,
             canonical(txn), result["input_sha256"], canonical(result), result["outcome"],
             result["exception"], now, wb.user.username))
        did = cur.lastrowid
        w.audit("shipment", shipment_id, "determine", None,
                {"determination": did, "outcome": result["outcome"],
                 "exception": result["exception"], "pack": pack.ref,
                 "rules": [r["rule_id"] for r in result["reasons"]],
                 "date_basis": date_basis(s["ship_date"], txn["date"])})
    return Change("determination", did, "create", result,
                  {"shipment_id": shipment_id,
                   "date_basis": date_basis(s["ship_date"], txn["date"])})


def _store_pack_only(wb: Workbench, pack: Pack) -> None:
    files = {p: b.decode("utf-8") for p, b in pack.files.items()}
    with wb.writing() as w:
        cur = w.conn.execute(
            "insert into rules_pack (pack_id, version, sha256, as_of, supersedes, manifest,"
            " files, loaded_at, loaded_by) values (?,?,?,?,?,?,?,?,?)",
            (pack.id, pack.version, pack.sha256, pack.manifest["as_of"],
             pack.manifest.get("supersedes"), canonical(pack.manifest), canonical(files),
             utc_now(), wb.user.username))
        w.audit("rules_pack", cur.lastrowid, "store", None, pack.ref)


def determinations(store: Store, shipment_id: int | None = None) -> list[dict[str, Any]]:
    """Stored determinations (newest first), optionally of one shipment."""
    sql = "select * from rules_determination"
    params: tuple = ()
    if shipment_id is not None:
        sql += " where shipment_id = ?"
        params = (shipment_id,)
    out = []
    for r in store.all(sql + " order by id desc", params):
        d = dict(r)
        d["input"] = json.loads(d["input"])
        d["result"] = json.loads(d["result"])
        out.append(d)
    return out


def replay(store: Store, determination_id: int) -> dict[str, Any]:
    """Re-run a stored determination with its own pack and input. Read-only.

    Returns {same, stored, replayed}: `same` is True when the outcome and
    every reason, value and classification match (only evaluated_at may
    differ).
    """
    row = store.one("select * from rules_determination where id = ?", (determination_id,))
    if row is None:
        raise NotFound(f"determination {determination_id} does not exist")
    pack = pack_by_sha(store, row["pack_sha256"])
    stored = json.loads(row["result"])
    again = determine(pack, json.loads(row["input"]), evaluated_at=stored.get("evaluated_at"))
    return {"same": canonical(again) == canonical(stored), "stored": stored,
            "replayed": again}


# -- policy change: diff and impact ------------------------------------------------------------

def diff_packs(old: Pack, new: Pack) -> dict[str, Any]:
    """What changed between two packs: rules, groups, sets, sources. Pure."""
    def rules(p: Pack) -> dict[str, dict]:
        return {r.id: {"kind": r.kind, **r.data} for r in p.all_rules()}

    a, b = rules(old), rules(new)
    out: dict[str, Any] = {
        "from": old.ref, "to": new.ref,
        "added": [{"id": k, "kind": b[k]["kind"], "title": b[k].get("title"),
                   "citation": b[k].get("citation")} for k in sorted(set(b) - set(a))],
        "removed": [{"id": k, "kind": a[k]["kind"], "title": a[k].get("title")}
                    for k in sorted(set(a) - set(b))],
        "changed": [],
        "groups_changed": sorted(g for g in set(old.groups) | set(new.groups)
                                 if canonical(old.groups.get(g)) != canonical(new.groups.get(g))),
        "sets_changed": sorted(s for s in set(old.sets) | set(new.sets)
                               if canonical(old.sets.get(s)) != canonical(new.sets.get(s))),
        "sources_added": sorted(set(new.sources) - set(old.sources)),
        "aliases_changed": canonical(old.aliases) != canonical(new.aliases),
        "classification_changed": canonical(old.classification) != canonical(new.classification),
    }
    for k in sorted(set(a) & set(b)):
        if canonical(a[k]) != canonical(b[k]):
            fields = sorted(f for f in set(a[k]) | set(b[k]) if canonical(a[k].get(f)) !=
                            canonical(b[k].get(f)))
            out["changed"].append({"id": k, "kind": b[k]["kind"], "fields": fields})
    return out


def impact(store: Store, new: Pack, old: Pack | None = None, *,
           hits_for: HitsFor | None = None,
           statuses: tuple[str, ...] = OPEN_STATUSES) -> dict[str, Any]:
    """Which open shipments and saved determinations would change outcome
    under `new` (compared with `old`, default the pack in force). Read-only.

    Open shipments are evaluated on their ship date with both packs; each
    shipment's latest saved determination is replayed on its stored input
    with `new`. Only outcome or exception changes are reported.
    """
    old = old or active_pack(store)
    marks = ",".join("?" * len(statuses))
    shipments_out = []
    for r in store.all(f"select id, reference, status from shipment where status in ({marks})"
                       f" order by ship_date, id", statuses):
        txn = txn_from_shipment(store, r["id"], hits_for=hits_for)
        a, b = determine(old, txn), determine(new, txn)
        if (a["outcome"], a["exception"]) != (b["outcome"], b["exception"]):
            shipments_out.append({
                "shipment_id": r["id"], "reference": r["reference"], "status": r["status"],
                "date": txn["date"], "before": {"outcome": a["outcome"], "exception": a["exception"]},
                "after": {"outcome": b["outcome"], "exception": b["exception"]},
                "rules_now": sorted({x["rule_id"] for x in b["reasons"]} -
                                    {x["rule_id"] for x in a["reasons"]})})
    saved_out = []
    for r in store.all("select d.* from rules_determination d where d.id = (select max(id)"
                       " from rules_determination e where e.shipment_id is d.shipment_id)"
                       " order by d.id"):
        txn = json.loads(r["input"])
        b = determine(new, txn)
        if (r["outcome"], r["exception"]) != (b["outcome"], b["exception"]):
            saved_out.append({
                "determination_id": r["id"], "shipment_id": r["shipment_id"],
                "date": r["eval_date"],
                "before": {"outcome": r["outcome"], "exception": r["exception"],
                           "pack": {"id": r["pack_id"], "version": r["pack_version"]}},
                "after": {"outcome": b["outcome"], "exception": b["exception"]}})
    return {"from": old.ref, "to": new.ref, "shipments": shipments_out,
            "determinations": saved_out}


# -- screening adapter -------------------------------------------------------------------------

def screening_hits_for(store: Store) -> HitsFor:
    """A `hits_for` backed by the screening area's latest results. Read-only.

    A party never screened gives None (the determination then needs review);
    hits decided false-positive (or cleared) are dropped; true matches are
    "confirmed"; undecided ones are "possible" (review, not a licence).
    """
    def f(party_id: int) -> list[dict[str, Any]] | None:
        run = store.scalar("select max(run_id) from screening_party_run where party_id = ?",
                           (party_id,))
        if run is None:
            return None
        out = []
        for h in sr.latest_hits(store, party_id):
            dec = (h.get("decision") or {}).get("decision")
            if dec == "false_positive" or (dec is None and h["status"] == "cleared"):
                continue
            confirmed = dec == "true_match" or h["status"] == "confirmed"
            listing = json.loads(h["detail"]).get("listing", {}) if h.get("detail") else {}
            out.append({"source": h["list_code"], "entry_id": h["entry_id"],
                        "name": h["primary_name"],
                        "license_requirement": listing.get("license_requirement"),
                        "license_policy": listing.get("license_policy"),
                        "federal_register_notice": listing.get("federal_register_notice"),
                        "status": "confirmed" if confirmed else "possible"})
        return out
    return f


def screen_txn_parties(store: Store, txn: dict[str, Any]) -> dict[str, Any]:
    """Screen the named parties of a what-if transaction that carry no
    ``list_hits`` against the loaded list snapshots. Read-only; returns a new
    txn. Matches are "possible" (nobody has decided them). When no snapshot is
    loaded the parties stay unscreened."""
    out = json.loads(json.dumps(txn))
    for p in out.get("parties") or []:
        if "list_hits" in p or not p.get("name"):
            continue
        try:
            res = sr.screen_names(store, [p["name"]], country=p.get("country"))
        except (sqlite3.OperationalError, LookupError, ValueError):
            return out
        if not res.get("snapshots"):
            return out
        p["list_hits"] = [{"source": h["source"], "entry_id": h["entry_id"],
                           "name": h.get("primary_name"),
                           "license_requirement": h.get("listing", {}).get("license_requirement"),
                           "license_policy": h.get("listing", {}).get("license_policy"),
                           "federal_register_notice":
                               h.get("listing", {}).get("federal_register_notice"),
                           "status": "possible"} for h in res.get("hits", [])]
    return out
