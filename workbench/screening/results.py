"""Screening parties, shipments and names against the current snapshots;
stored results; decisions on hits; re-screening after a list change.

Every screening of stored parties is recorded (a run, with the provenance of
each snapshot it used, and its hits) so an auditor can see what was checked
against which list version. A hit gets a decision — true match, false
positive or escalate — with a reason and the user. A false positive keeps a
later screening quiet only while the party's names and the list entry's
content are unchanged, until its optional expiry date, and (when scoped) for
one shipment only.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import asdict
from typing import Any, Callable, Sequence

from workbench.records import parties as _parties
from workbench.records.shipments import OPEN_STATUSES
from workbench.app import Change, Workbench
from workbench.errors import FieldError, NotFound, ValidationError
from workbench.db.store import Store, utc_now

from workbench.screening.lists import ListEntry, is_cancelled, Cancelled
from workbench.screening.matcher import DEFAULT_THRESHOLD, Hit, MatchIndex
from workbench.screening.snapshots import (
    IndexCache,
    current_snapshots,
    diff_snapshots,
    load_entries,
    provenance,
)

DECISIONS = ("true_match", "false_positive", "escalate")
DECISION_LABELS = {"true_match": "True match", "false_positive": "False positive",
                   "escalate": "Escalate"}


def names_hash(names: Sequence[str]) -> str:
    """Identity of a party's set of names: a decision lapses when it changes."""
    key = "\n".join(sorted({n.strip().casefold() for n in names if n and n.strip()}))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def listing_meaning(e: ListEntry | None) -> dict[str, Any]:
    """What the listing means for the exporter, as the list publishes it."""
    if e is None:
        return {}
    out: dict[str, Any] = {"list": e.list_code, "agency": e.agency}
    if e.license_requirement:
        out["license_requirement"] = e.license_requirement
    if e.license_policy:
        out["license_policy"] = e.license_policy
    if e.federal_register_notice:
        out["federal_register_notice"] = e.federal_register_notice
    if e.programs:
        out["programs"] = e.programs
    if e.start_date:
        out["start_date"] = e.start_date
    if e.source_url:
        out["source_url"] = e.source_url
    return out


def hit_json(h: Hit, snap_of: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON shape of one hit (CLI, exports, stored detail)."""
    d = {"entry_id": h.entry_id, "source": h.source, "list_name": h.list_name,
         "primary_name": h.primary_name, "is_alias": h.is_alias,
         "matched_name": h.matched_name, "score": h.score, "name_score": h.name_score,
         "adjustments": h.adjustments, "explanation": h.explanation,
         "tokens": [asdict(t) | {"text": t.describe()} for t in h.tokens],
         "listing": listing_meaning(h.entry), "content_hash": h.content_hash}
    if snap_of is not None and h.entry_id in snap_of:
        d["snapshot"] = snap_of[h.entry_id]
    return d


def _snapshot_by_entry(store: Store, snaps: list[dict[str, Any]], hits: list[Hit]
                       ) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    ids = [s["id"] for s in snaps]
    if not hits or not ids:
        return out
    by_id = {s["id"]: s for s in snaps}
    marks = ",".join("?" * len(ids))
    for h in hits:
        row = store.one(f"select snapshot_id from list_entry where entry_id = ? and"
                        f" snapshot_id in ({marks}) order by snapshot_id desc limit 1",
                        (h.entry_id, *ids))
        if row is not None:
            out[h.entry_id] = provenance(by_id[row[0]])
    return out


def screen_names(store: Store, names: Sequence[str] | str, *, country: str | None = None,
                 threshold: float | None = None) -> dict[str, Any]:
    """Ad-hoc screening of one name (or a party's names) without storing.

    Read-only; builds or reuses the cached index of the current snapshots.
    Returns ``{"snapshots": [...], "hits": [...]}``.
    """
    idx, snaps = IndexCache.get(store)
    hits = idx.screen(names, country=country, threshold=threshold)
    snap_of = _snapshot_by_entry(store, snaps, hits)
    return {"snapshots": [provenance(s) for s in snaps],
            "hits": [hit_json(h, snap_of) for h in hits]}


def _party_query(store: Store, party_id: int) -> tuple[list[str], str | None, str, str]:
    rec = _parties.get_party(store, party_id)
    names = _parties.all_names(rec)
    country = rec["hq_country"] or (rec["addresses"][0]["country"] if rec["addresses"] else None)
    address = " ".join(f"{a['street']} {a['city']}" for a in rec["addresses"])
    return names, country, address, names_hash(names)


def _latest_decision(store: Store, party_id: int, entry_id: str) -> Any:
    return store.one("select * from hit_decision where party_id = ? and entry_id = ?"
                     " order by id desc limit 1", (party_id, entry_id))


def _status_for(store: Store, party_id: int, h: Hit, nh: str, shipment_id: int | None,
                today: str) -> tuple[str, int | None]:
    d = _latest_decision(store, party_id, h.entry_id)
    if d is None:
        return "open", None
    if d["decision"] == "true_match":
        return "confirmed", d["id"]
    if d["decision"] == "escalate":
        return "escalated", d["id"]
    still_valid = (d["names_hash"] == nh and d["entry_content_hash"] == h.content_hash
                   and (d["expires_on"] is None or d["expires_on"] >= today)
                   and (d["shipment_id"] is None or d["shipment_id"] == shipment_id))
    return ("cleared", d["id"]) if still_valid else ("open", None)


def _record_run(wb: Workbench, scope: str, subject: str, snaps: list[dict[str, Any]],
                thr: float) -> int:
    return wb.store.conn.execute(
        "insert into screening_run (ts, user, scope, subject, snapshots, threshold)"
        " values (?,?,?,?,?,?)",
        (utc_now(), wb.user.username, scope, subject,
         json.dumps([provenance(s) for s in snaps]), thr)).lastrowid


def _store_party_hits(wb: Workbench, run_id: int, party_id: int, shipment_id: int | None,
                      names: list[str], nh: str, hits: list[Hit],
                      snap_of: dict[str, dict[str, Any]], carry_forward: bool = False,
                      fronts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    today = _dt.date.today().isoformat()
    out = []
    for h in hits:
        status, did = _status_for(wb.store, party_id, h, nh, shipment_id, today)
        detail = hit_json(h, snap_of)
        hid = wb.store.conn.execute(
            "insert into screening_hit (run_id, party_id, shipment_id, query, entry_id,"
            " snapshot_id, list_code, list_name, primary_name, matched_name, score,"
            " explanation, detail, entry_content_hash, names_hash, status, decision_id)"
            " values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, party_id, shipment_id, json.dumps(names, ensure_ascii=False),
             h.entry_id, snap_of.get(h.entry_id, {}).get("snapshot_id", 0) or None,
             h.source, h.list_name, h.primary_name, h.matched_name, h.score,
             h.explanation, json.dumps(detail, ensure_ascii=False),
             h.content_hash, nh, status, did)).lastrowid
        out.append({"hit_id": hid, "status": status, **detail})
    carried = 0
    if carry_forward:
        # A re-screen matched only the changed entries: the party's earlier
        # hits on unchanged entries still stand, so they move into this run
        # and the latest run stays the complete picture.
        prev = wb.store.scalar("select max(run_id) from screening_party_run where party_id = ?",
                               (party_id,))
        if prev is not None:
            carried = wb.store.conn.execute(
                "insert into screening_hit (run_id, party_id, shipment_id, query, entry_id,"
                " snapshot_id, list_code, list_name, primary_name, matched_name, score,"
                " explanation, detail, entry_content_hash, names_hash, status, decision_id)"
                " select ?, party_id, shipment_id, query, entry_id, snapshot_id, list_code,"
                " list_name, primary_name, matched_name, score, explanation, detail,"
                " entry_content_hash, names_hash, status, decision_id from screening_hit"
                " where run_id = ? and party_id = ? and names_hash = ?"
                " and entry_id not in (select entry_id from temp._rescreen_touched)",
                (run_id, prev, party_id, nh)).rowcount
    wb.store.conn.execute(
        "insert into screening_party_run (run_id, party_id, names_hash, hits, fronts)"
        " values (?,?,?,?,?)",
        (run_id, party_id, nh, len(hits) + max(carried, 0),
         json.dumps(fronts or [], ensure_ascii=False)))
    return out


def screen_parties(wb: Workbench, party_ids: Sequence[int], *, scope: str = "parties",
                   subject: str = "", shipment_id: int | None = None,
                   threshold: float | None = None,
                   progress: Callable[[int, int | None], None] | None = None,
                   cancel: Any = None, index: MatchIndex | None = None,
                   snaps: list[dict[str, Any]] | None = None,
                   carry_forward_except: Sequence[str] | None = None,
                   fronts_index: MatchIndex | None = None) -> dict[str, Any]:
    """Screen stored parties and record the run and its hits.

    Side effects: one transaction (run, hits, per-party record, one audit
    event). Known false positives are stored as ``cleared`` with the
    decision that cleared them. Returns ``{"run_id", "snapshots", "results":
    [{"party_id", "names", "hits": [...]}]}`` in the order given.
    """
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    if index is None:
        index, snaps = IndexCache.get(wb.store)
    assert snaps is not None
    if not snaps:
        raise ValidationError(FieldError(
            "lists", "no list snapshot has been imported yet; import a list file first "
                     "(Lists page, or `workbench lists import FILE`)"))
    from workbench.screening.fronts import front_flags, listed_party_ids

    full_index = fronts_index or IndexCache.get(wb.store)[0]
    results = []
    n_fronts = 0
    with wb.writing() as w:
        run_id = _record_run(wb, scope, subject, snaps, thr)
        carry = carry_forward_except is not None
        if carry:
            w.conn.execute("create temp table if not exists _rescreen_touched"
                           " (entry_id text primary key)")
            w.conn.execute("delete from temp._rescreen_touched")
            w.conn.executemany("insert or ignore into temp._rescreen_touched values (?)",
                               [(e,) for e in carry_forward_except or ()])
        total_hits = 0
        for i, pid in enumerate(party_ids):
            if i % 200 == 0:
                if is_cancelled(cancel):
                    raise Cancelled("screening cancelled; nothing was recorded")
                if progress:
                    progress(i, len(party_ids))
            names, country, address, nh = _party_query(wb.store, pid)
            hits = index.screen(names, country=country, address=address, threshold=thr)
            snap_of = _snapshot_by_entry(wb.store, snaps, hits)
            stored = _store_party_hits(wb, run_id, pid, shipment_id, names, nh, hits, snap_of,
                                       carry_forward=carry)
            total_hits += len(stored)
            results.append({"party_id": pid, "names": names, "hits": stored, "fronts": []})
        # Fronts after all hits are in: a party owned by another party of this
        # same run is judged on that owner's fresh result.
        listed = listed_party_ids(wb.store)
        for r in results:
            flags = [f.as_dict() for f in front_flags(wb.store, r["party_id"], index=full_index,
                                                      listed=listed)]
            if flags:
                n_fronts += 1
                r["fronts"] = flags
                w.conn.execute("update screening_party_run set fronts = ? where run_id = ?"
                               " and party_id = ?",
                               (json.dumps(flags, ensure_ascii=False), run_id, r["party_id"]))
        w.conn.execute("update screening_run set parties = ?, hits = ? where id = ?",
                       (len(party_ids), total_hits, run_id))
        w.audit("screening_run", run_id, "screen", None,
                {"scope": scope, "subject": subject, "parties": len(party_ids),
                 "hits": total_hits, "possible_fronts": n_fronts, "snapshots": [provenance(s) for s in snaps],
                 "threshold": thr})
    if progress:
        progress(len(party_ids), len(party_ids))
    return {"run_id": run_id, "snapshots": [provenance(s) for s in snaps],
            "results": results}


def screen_shipment(wb: Workbench, shipment_id: int, **kw: Any) -> dict[str, Any]:
    """Screen every party of a shipment (all roles); see :func:`screen_parties`."""
    row = wb.store.one("select reference from shipment where id = ?", (shipment_id,))
    if row is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    pids = [r[0] for r in wb.store.all(
        "select distinct party_id from shipment_party where shipment_id = ? order by party_id",
        (shipment_id,))]
    return screen_parties(wb, pids, scope="shipment", subject=row["reference"],
                          shipment_id=shipment_id, **kw)


def screen_all(wb: Workbench, **kw: Any) -> dict[str, Any]:
    pids = [r[0] for r in wb.store.all("select id from party order by id")]
    return screen_parties(wb, pids, scope="all", subject="all parties", **kw)


def decide(wb: Workbench, hit_id: int, decision: str, reason: str, *,
           expires_on: str | None = None, shipment_only: bool = False) -> Change:
    """Record a decision on a hit (append-only, audited).

    ``shipment_only`` limits a false positive to the shipment the hit was
    raised for. Side effects: one transaction; the hit's status follows.
    """
    c = []
    if decision not in DECISIONS:
        c.append(FieldError("decision", f"must be one of {', '.join(DECISIONS)}"))
    if not (reason or "").strip():
        c.append(FieldError("reason", "say why; an auditor will read it"))
    if expires_on:
        try:
            expires_on = _dt.date.fromisoformat(expires_on).isoformat()
        except ValueError:
            c.append(FieldError("expires_on", "write the date as YYYY-MM-DD"))
    if c:
        raise ValidationError(c)
    hit = wb.store.one("select * from screening_hit where id = ?", (hit_id,))
    if hit is None:
        raise NotFound(f"hit {hit_id} does not exist")
    if shipment_only and hit["shipment_id"] is None:
        raise ValidationError(FieldError("shipment_only",
                                         "this hit was not raised for a shipment"))
    with wb.writing() as w:
        did = w.conn.execute(
            "insert into hit_decision (hit_id, party_id, entry_id, decision, reason, user,"
            " ts, names_hash, entry_content_hash, expires_on, shipment_id)"
            " values (?,?,?,?,?,?,?,?,?,?,?)",
            (hit_id, hit["party_id"], hit["entry_id"], decision, reason.strip(),
             wb.user.username, utc_now(), hit["names_hash"], hit["entry_content_hash"],
             expires_on, hit["shipment_id"] if shipment_only else None)).lastrowid
        after = {"hit_id": hit_id, "party_id": hit["party_id"], "entry_id": hit["entry_id"],
                 "decision": decision, "reason": reason.strip(), "expires_on": expires_on,
                 "shipment_only": shipment_only}
        w.audit("hit_decision", did, "decide", None, after)
    return Change("hit_decision", did, "decide", after)


def latest_hits(store: Store, party_id: int) -> list[dict[str, Any]]:
    """Hits of the party's most recent screening, with any later decision."""
    run = store.one("select max(run_id) from screening_party_run where party_id = ?",
                    (party_id,))
    if run is None or run[0] is None:
        return []
    rows = store.all("select * from screening_hit where party_id = ? and run_id = ?"
                     " order by score desc", (party_id, run[0]))
    out = []
    for r in rows:
        d = dict(r)
        dec = store.one("select decision, reason, user, ts from hit_decision where hit_id = ?"
                        " order by id desc limit 1", (r["id"],))
        d["decision"] = dict(dec) if dec else None
        out.append(d)
    return out


def latest_fronts(store: Store, party_id: int) -> list[dict[str, Any]]:
    """Front flags recorded by the party's latest screening (read-only)."""
    row = store.one("select fronts from screening_party_run where party_id = ?"
                    " order by run_id desc limit 1", (party_id,))
    return json.loads(row[0]) if row else []


def attention_counts(store: Store) -> dict[str, int]:
    """Dashboard numbers: open hits, parties flagged as possible fronts (by
    their latest screening), and parties never screened. Read-only."""
    latest = ("select party_id, max(run_id) as run_id from screening_party_run"
              " group by party_id")
    fronts = store.scalar(
        f"select count(*) from screening_party_run r join ({latest}) l"
        f" on l.party_id = r.party_id and l.run_id = r.run_id where r.fronts != '[]'") or 0
    never = store.scalar("select count(*) from party p where not exists (select 1 from"
                         " screening_party_run r where r.party_id = p.id)") or 0
    return {"open_hits": len(open_hits(store)), "possible_fronts": fronts,
            "never_screened": never}


def open_hits(store: Store) -> list[dict[str, Any]]:
    """Hits from each party's latest screening that still need a decision
    (open or escalated, and not decided since). Read-only."""
    rows = store.all("""
        select h.*, p.legal_name from screening_hit h
        join party p on p.id = h.party_id
        where h.run_id = (select max(run_id) from screening_party_run r where r.party_id = h.party_id)
          and h.status in ('open', 'escalated')
          and not exists (select 1 from hit_decision d where d.hit_id = h.id
                          and d.decision != 'escalate')
        order by h.score desc, h.id""")
    return [dict(r) for r in rows]


def rescreen_after_import(wb: Workbench, new_snapshot_id: int, **kw: Any) -> dict[str, Any]:
    """Re-screen every party against what a new snapshot changed.

    Only entries added or changed since the previous snapshot of the same
    source are matched (an index over them, with the full index's word
    statistics so scores are identical); hits on removed entries are
    reported as gone. Side effects: one transaction holding the recorded
    run (scope 'rescreen'). Holds nothing: callers use
    :func:`workbench.clearance.holds.rescreen_after_import`, which runs this
    inside its own transaction and holds the open shipments it affects.
    Returns the run plus ``new_hits``, ``gone`` and ``affected_shipments``
    (the open shipments of parties with new or gone hits).
    """
    store = wb.store
    snap = store.one("select * from list_snapshot where id = ?", (new_snapshot_id,))
    if snap is None:
        raise NotFound(f"snapshot {new_snapshot_id} does not exist")
    # A warm index from before the import scores the changed entries with
    # the same word statistics; rebuilding the whole index first would cost
    # seconds for nothing. Without one (a fresh process) build it.
    full = IndexCache.peek(store)
    snaps = current_snapshots(store)
    if full is None:
        full, snaps = IndexCache.get(store)
    if snap["previous_id"] is None:
        diff_added = [r[0] for r in store.all(
            "select entry_id from list_entry where snapshot_id = ?", (new_snapshot_id,))]
        removed: list[str] = []
    else:
        d = diff_snapshots(store, snap["previous_id"], new_snapshot_id)
        diff_added, removed = d.touched, d.removed
    small = MatchIndex.build(load_entries(store, [new_snapshot_id], diff_added), reference=full)
    # Hits on removed entries, read before the re-screen records new runs
    # (which no longer carry them).
    gone = []
    if removed:
        marks = ",".join("?" * len(removed))
        gone = [dict(r) for r in store.all(
            f"select h.id as hit_id, h.party_id, h.entry_id, h.list_name from screening_hit h"
            f" where h.entry_id in ({marks}) and h.run_id = (select max(run_id) from"
            f" screening_party_run r where r.party_id = h.party_id)", removed)]
    pids = [r[0] for r in store.all("select id from party order by id")]
    with wb.writing():
        result = screen_parties(wb, pids, scope="rescreen",
                                subject=f"snapshot {new_snapshot_id} ({len(diff_added)} new "
                                        f"or changed, {len(removed)} removed)",
                                index=small, snaps=snaps, fronts_index=full,
                                carry_forward_except=[*diff_added, *removed], **kw)
        hit_parties = {r["party_id"] for r in result["results"] if r["hits"]} | \
            {g["party_id"] for g in gone}
        affected = []
        if hit_parties:
            marks = ",".join("?" * len(hit_parties))
            affected = [dict(r) for r in store.all(
                f"select distinct s.id, s.reference, s.status from shipment s join"
                f" shipment_party sp on sp.shipment_id = s.id where sp.party_id in ({marks})"
                f" and s.status in ({','.join('?' * len(OPEN_STATUSES))}) order by s.ship_date",
                [*hit_parties, *OPEN_STATUSES])]
        result.update({"new_hits": [h for r in result["results"] for h in r["hits"]],
                       "gone": gone, "affected_shipments": affected,
                       "changed_entries": len(diff_added), "removed_entries": len(removed)})
    return result
