"""Records checked against the audit events that created them.

The hash chain proves the trail; it proves nothing about the tables beside
it. Someone who drops the triggers can delete a list entry (Huawei) or swap
an evidence file and fix its stored hash, and every read still "works".
Each import and each evidence file was recorded in a chained event with its
hash and size, so `check` compares the rows with those events:

- every list snapshot: its file hash and entry count as imported, and (for
  snapshots imported since this check exists) the digest of every entry;
- every evidence file: the recorded SHA-256 and size, and its bytes re-hashed;
- every party, item, licence (with its lines) and shipment (lines, parties,
  and the status its latest move set): the record as the latest event that
  wrote it recorded it, field by field;
- every status move (clear, override with its approver, hold, ship): as
  recorded;
- every drawdown and reversal of the licence ledger: as recorded.

Read-only. Combined with an anchor (`audit verify --against`) an attacker
cannot rewrite the events to match either.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from workbench.db import audit
from workbench.db.store import Store
from workbench.packets import anchors
from workbench.records import items as items_mod, licences as licences_mod
from workbench.records import parties as parties_mod, shipments as shipments_mod
from workbench.screening.snapshots import IndexCache, stored_entries_digest


def _events(store: Store, entity: str, action: str) -> dict[str, dict[str, Any]]:
    out = {}
    for r in store.all("select entity_id, after from audit_event where entity = ? and"
                       " action = ? order by seq", (entity, action)):
        out.setdefault(r["entity_id"], json.loads(r["after"] or "{}"))
    return out


def snapshot_problems(store: Store) -> list[str]:
    """Where a list snapshot no longer is what was imported. Read-only."""
    events = _events(store, "list_snapshot", "import")
    problems = []
    for s in store.all("select id, file_name, sha256, entry_count from list_snapshot"
                       " order by id"):
        ev = events.get(str(s["id"]))
        label = f"list snapshot {s['id']} ({s['file_name']})"
        if ev is None:
            problems.append(f"{label}: no import event records it")
            continue
        if ev.get("sha256") != s["sha256"]:
            problems.append(f"{label}: file SHA-256 {s['sha256'][:16]}… differs from the "
                            f"imported {str(ev.get('sha256'))[:16]}…")
        digest, n = stored_entries_digest(store, s["id"])
        if n != ev.get("entries") or n != s["entry_count"]:
            problems.append(f"{label}: holds {n:,} entries; {ev.get('entries')} were "
                            f"imported — entries were deleted or added outside the workbench")
        elif ev.get("entries_sha256") and digest != ev["entries_sha256"]:
            problems.append(f"{label}: its entries were edited after the import (their "
                            f"digest no longer matches the import event)")
    return problems


def evidence_problems(store: Store) -> list[str]:
    """Where an evidence file no longer is what was added. Read-only."""
    events = _events(store, "evidence", "add")
    problems = []
    for r in store.conn.execute("select id, name, sha256, size, content from evidence"
                                " order by id"):
        label = f"evidence {r['id']} ({r['name']})"
        data = bytes(r["content"])
        got = hashlib.sha256(data).hexdigest()
        ev = events.get(str(r["id"]))
        if ev is None:
            problems.append(f"{label}: no event records adding it")
        elif (ev.get("sha256"), ev.get("size")) != (r["sha256"], r["size"]):
            problems.append(f"{label}: its recorded hash or size was changed after it was "
                            f"added (added as {str(ev.get('sha256'))[:16]}…, "
                            f"{ev.get('size')} bytes)")
        if got != r["sha256"] or len(data) != r["size"]:
            problems.append(f"{label}: its bytes hash to {got[:16]}…, not the stored "
                            f"{r['sha256'][:16]}…")
    return problems


# The records whose every create/update event carries the whole record as the
# getter returns it (checked so by the tests). A shipment's status moves have
# their own events after that; the replay applies them (``status`` only).
_RECORDS = {
    "party": ("party", "legal_name", parties_mod.get_party),
    "item": ("item", "model", items_mod.get_item),
    "licence": ("licence", "number", licences_mod.get_licence),
    "shipment": ("shipment", "reference", shipments_mod.get_shipment),
}


def _first_difference(recorded: Any, now: Any, path: str = "") -> str | None:
    if isinstance(recorded, dict) and isinstance(now, dict):
        for k in sorted(set(recorded) | set(now), key=str):
            d = _first_difference(recorded.get(k), now.get(k), f"{path}.{k}" if path else k)
            if d:
                return d
        return None
    if isinstance(recorded, list) and isinstance(now, list):
        if len(recorded) != len(now):
            return f"{path}: {len(now)} items, the trail recorded {len(recorded)}"
        for i, (a, b) in enumerate(zip(recorded, now)):
            d = _first_difference(a, b, f"{path}[{i}]")
            if d:
                return d
        return None
    if recorded != now:
        return f"{path}: {json.dumps(now, ensure_ascii=False, default=str)[:80]}, the trail " \
               f"recorded {json.dumps(recorded, ensure_ascii=False, default=str)[:80]}"
    return None


def record_problems(store: Store) -> list[str]:
    """Parties, items and licences (with their lines) compared with the
    latest event that wrote each: a field changed, a record deleted, or one
    that no event created. Read-only."""
    out = []
    for entity, (table, label_col, get) in _RECORDS.items():
        latest: dict[str, dict[str, Any]] = {}
        for r in store.all("select entity_id, action, after from audit_event where entity = ?"
                           " order by seq", (entity,)):
            if r["action"] in ("create", "update"):
                latest[r["entity_id"]] = json.loads(r["after"] or "null")
            elif entity == "shipment" and r["entity_id"] in latest:
                # a status move (clear, hold, ship …) records the status it set
                moved = json.loads(r["after"] or "null")
                if isinstance(moved, dict) and "status" in moved \
                        and isinstance(latest[r["entity_id"]], dict):
                    latest[r["entity_id"]] = {**latest[r["entity_id"]],
                                              "status": moved["status"]}
        ids = {str(r["id"]): r[label_col] for r in store.all(
            f"select id, {label_col} from {table}")}
        for eid, rec in latest.items():
            if eid not in ids:
                name = (rec or {}).get(label_col, "") if isinstance(rec, dict) else ""
                out.append(f"{entity} {eid} ({name}): deleted outside the workbench (the "
                           f"trail recorded it)")
                continue
            if not isinstance(rec, dict):
                continue
            d = _first_difference(rec, get(store, int(eid)))
            if d:
                out.append(f"{entity} {eid} ({ids[eid]}): {d}")
        for eid, name in ids.items():
            if eid not in latest:
                out.append(f"{entity} {eid} ({name}): no event in the trail created it")
    return out


def drawdown_problems(store: Store) -> list[str]:
    """Every drawdown and reversal the trail recorded is in the ledger with
    the recorded quantity and value, and nothing else is. Read-only."""
    out = []
    recorded: dict[int, dict[str, Any]] = {}
    for r in store.all("select action, after from audit_event where entity = 'licence'"
                       " and action in ('draw', 'reverse_draw') order by seq"):
        a = json.loads(r["after"])
        key = a["reversal"] if r["action"] == "reverse_draw" else a["drawdown"]
        recorded[int(key)] = a
    rows = {r["id"]: r for r in store.all("select id, quantity, value_minor from"
                                          " ledger_drawdown")}
    for did, a in recorded.items():
        row = rows.get(did)
        what = f"drawdown {did} ({a.get('licence')}, {a.get('shipment')})"
        if row is None:
            out.append(f"{what}: deleted from the ledger outside the workbench")
        elif (row["quantity"], row["value_minor"]) != (a.get("quantity"), a.get("value_minor")):
            out.append(f"{what}: quantity {row['quantity']} and value {row['value_minor']} "
                       f"differ from the recorded {a.get('quantity')} and "
                       f"{a.get('value_minor')}")
    for did in rows.keys() - recorded.keys():
        out.append(f"drawdown {did}: in the ledger, but no event in the trail made it")
    return out


def status_event_problems(store: Store) -> list[str]:
    """Every status move the trail recorded (clear, override, hold, ship …)
    is in the shipment's status history as recorded, and nothing else is:
    deleting an override's row would hide who approved it. Read-only."""
    out = []
    recorded: dict[int, tuple[str, dict[str, Any]]] = {}
    for r in store.all("select entity_id, action, after from audit_event where entity ="
                       " 'shipment' and action not in ('create', 'update') order by seq"):
        a = json.loads(r["after"] or "null")
        if isinstance(a, dict) and isinstance(a.get("event"), int) and "status" in a:
            recorded[a["event"]] = (r["entity_id"], {**a, "move": r["action"]})
    rows = {r["id"]: r for r in store.all("select id, shipment_id, action, to_status, reason,"
                                          " approver from ledger_status_event")}
    for eid, (sid, a) in recorded.items():
        row = rows.get(eid)
        what = f"status move {eid} ({a['move']} of shipment {sid})"
        if row is None:
            out.append(f"{what}: deleted from the shipment's history outside the workbench")
        elif (str(row["shipment_id"]), row["action"], row["to_status"], row["reason"] or "",
              row["approver"]) != (sid, a["move"], a["status"], a.get("reason") or "",
                                   a.get("approver")):
            out.append(f"{what}: reads {row['action']} to {row['to_status']}"
                       f"{' approved by ' + row['approver'] if row['approver'] else ''}, the "
                       f"trail recorded {a['move']} to {a['status']}"
                       f"{' approved by ' + a['approver'] if a.get('approver') else ''}")
    for eid in sorted(rows.keys() - recorded.keys()):
        out.append(f"status move {eid} (shipment {rows[eid]['shipment_id']}): in the history, "
                   f"but no event in the trail made it")
    return out


def key_problems(store: Store) -> list[str]:
    """The signing certificate beside the database is the one its trail
    last recorded signing with (a key folder swapped for another
    database's would sign as that company). A database copied without its
    key folder (an auditor's copy) has nothing to compare: not a problem.
    Read-only."""
    from workbench.packets.signing import CERT_FILE, cert_fingerprint, recorded_fingerprint

    cert = store.path.resolve().with_name(store.path.name + ".keys") / CERT_FILE
    want = recorded_fingerprint(store)
    if want is None or not cert.is_file():
        return []
    try:
        got = cert_fingerprint(cert.read_bytes())
    except (OSError, ValueError) as e:
        return [f"signing certificate {cert}: cannot be read ({e})"]
    if got != want:
        return [f"signing certificate {cert}: {got[:16]}…, but this database's trail last "
                f"signed with {want[:16]}… — the key folder was replaced outside the "
                f"workbench (another database's?)"]
    return []


def problems(store: Store) -> list[str]:
    """Every record found unlike its audit event."""
    return (record_problems(store) + status_event_problems(store) + drawdown_problems(store)
            + snapshot_problems(store) + evidence_problems(store) + key_problems(store))


@dataclass
class Report:
    """What :func:`full_check` found; ``ok`` only when every part is."""

    integrity: list[str]
    chain: audit.VerifyResult
    records: list[str]
    outside: list[str] = field(default_factory=list)   # copies that do not match
    copies: list[str] = field(default_factory=list)    # the copies checked, one line each
    unreadable: list[str] = field(default_factory=list)  # anchor-folder files not readable
    #: the saved screening index against a fresh build: what was found, and
    #: the problem when it differs (it could hide a hit)
    index: str = ""
    index_problem: str | None = None

    @property
    def ok(self) -> bool:
        return (not self.integrity and self.chain.ok and not self.records
                and not self.outside and not self.unreadable and not self.index_problem)


def full_check(store: Store, against: Iterable[str | Path] = (), *,
               anchor_folder: bool = False) -> Report:
    """Everything `workbench check` and the Audit log page's "Check records"
    prove: SQLite's integrity and foreign keys, the hash chain, every record
    against its events (:func:`problems`), and the trail against outside
    copies — the files in `against` and, with `anchor_folder`, this
    database's anchors in the configured anchor folder — and the saved
    screening index against a fresh build. Raises AnchorError for a file
    in `against` that is not an anchor or packet. Read-only on the
    database; replaces a saved screening index that is not the fresh build.
    Seconds on a big database (run it off the GUI thread)."""
    claims = [anchors.read_claim(f) for f in against]
    unreadable: list[str] = []
    if anchor_folder:
        more, unreadable = anchors.folder_claims(store)
        claims += more
    copies = [f"{cl.source}: {cl.kind}, event {cl.seq if cl.seq is not None else '?'} "
              f"head {cl.head[:16]}…" + (f" ({'; '.join(cl.facts)})" if cl.facts else "")
              for cl in claims]
    index, index_problem = IndexCache.verify_saved(store)
    return Report(store.integrity_problems(), audit.verify(store), problems(store),
                  anchors.check_against(store, claims), copies, unreadable, index,
                  index_problem)
