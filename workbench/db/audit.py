"""The hash-chained, append-only audit trail.

Every domain write appends one event in its own transaction: who, when (UTC),
which entity, what action, the record before and after (canonical JSON), the
previous event's hash and its own hash. Triggers refuse UPDATE and DELETE on
the table; the chain makes an edit that bypasses them (someone dropping the
triggers with a SQLite shell) visible to :func:`verify`.

The hash is SHA-256 over a canonical JSON form (sorted keys, no whitespace,
UTF-8) of every stored field except the hash itself, including the event's
sequence number, so that a removed or reordered event breaks the chain at
the first place it happened.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from workbench.db.store import Store, utc_now

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """The one JSON form hashes are computed over (sorted keys, compact)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def event_hash(seq: int, ts: str, user: str, entity: str, entity_id: str,
               action: str, before: str | None, after: str | None,
               prev_hash: str) -> str:
    body = canonical_json({
        "seq": seq, "ts": ts, "user": user, "entity": entity,
        "entity_id": entity_id, "action": action, "before": before,
        "after": after, "prev_hash": prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(store: Store, *, user: str, entity: str, entity_id: Any,
           action: str, before: Any = None, after: Any = None) -> int:
    """Append one event; must run inside ``store.transaction()``.

    Side effects: inserts into ``audit_event``. Returns the event's seq.
    Threading: the caller's transaction (BEGIN IMMEDIATE) holds the write
    lock, so reading the head and inserting cannot interleave with another
    writer.
    """
    conn = store.conn
    if not conn.in_transaction:
        raise RuntimeError("audit.append outside a transaction")
    head = conn.execute(
        "select seq, hash from audit_event order by seq desc limit 1").fetchone()
    seq = 1 if head is None else head["seq"] + 1
    prev = GENESIS if head is None else head["hash"]
    ts = utc_now()
    b = None if before is None else canonical_json(before)
    a = None if after is None else canonical_json(after)
    eid = "" if entity_id is None else str(entity_id)
    h = event_hash(seq, ts, user, entity, eid, action, b, a, prev)
    conn.execute(
        "insert into audit_event (seq, ts, user, entity, entity_id, action,"
        " before, after, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?)",
        (seq, ts, user, entity, eid, action, b, a, prev, h))
    return seq


@dataclass
class VerifyResult:
    ok: bool
    events: int
    head: str
    problem: str | None = None
    event_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head": self.head,
                "problem": self.problem, "event_seq": self.event_seq}


def verify(store: Store) -> VerifyResult:
    """Walk the chain from the first event and stop at the first break.

    Names the first event that was edited (its hash no longer matches its
    content), removed (a gap in the sequence, or the next event's previous
    hash points at something that is not there) or reordered.
    Read-only; streams the table, so memory stays flat for long chains.
    """
    prev = GENESIS
    expected = 1
    count = 0
    cur = store.conn.execute(
        "select seq, ts, user, entity, entity_id, action, before, after,"
        " prev_hash, hash from audit_event order by rowid")
    for r in cur:
        seq = r["seq"]
        if seq != expected:
            if seq > expected:
                what = (f"event {expected} is missing (removed); the chain "
                        f"jumps to event {seq}")
                return VerifyResult(False, count, prev, what, expected)
            return VerifyResult(False, count, prev,
                                f"event {seq} is out of order (reordered)", seq)
        if r["prev_hash"] != prev:
            return VerifyResult(
                False, count, prev,
                f"event {seq} does not follow event {seq - 1}: an event before "
                f"it was removed, replaced or reordered", seq)
        h = event_hash(seq, r["ts"], r["user"], r["entity"], r["entity_id"],
                       r["action"], r["before"], r["after"], r["prev_hash"])
        if h != r["hash"]:
            return VerifyResult(False, count, prev,
                                f"event {seq} was edited: its content no longer "
                                f"matches its hash", seq)
        prev = r["hash"]
        expected += 1
        count += 1
    return VerifyResult(True, count, prev)


def head(store: Store) -> str:
    """The newest event's hash (GENESIS for an empty trail)."""
    row = store.one("select hash from audit_event order by seq desc limit 1")
    return GENESIS if row is None else row["hash"]


def events(store: Store, *, entity: str | None = None,
           entity_id: Any = None, limit: int = 200) -> list[sqlite3.Row]:
    """Newest first, optionally for one entity (read-only)."""
    where, params = [], []
    if entity:
        where.append("entity = ?")
        params.append(entity)
    if entity_id is not None:
        where.append("entity_id = ?")
        params.append(str(entity_id))
    sql = "select * from audit_event"
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by seq desc limit ?"
    params.append(limit)
    return store.all(sql, params)


def get_event(store: Store, seq: int) -> dict[str, Any] | None:
    """One event by its sequence number, as a dict (read-only)."""
    row = store.one("select * from audit_event where seq = ?", (seq,))
    return None if row is None else dict(row)


def entities(store: Store) -> list[str]:
    """The entity names that occur in the trail, sorted (read-only)."""
    return [r[0] for r in store.all("select distinct entity from audit_event order by entity")]
