"""Records checked against the audit events that created them.

The hash chain proves the trail; it proves nothing about the tables beside
it. Someone who drops the triggers can delete a list entry (Huawei) or swap
an evidence file and fix its stored hash, and every read still "works".
Each import and each evidence file was recorded in a chained event with its
hash and size, so `check` compares the rows with those events:

- every list snapshot: its file hash and entry count as imported, and (for
  snapshots imported since this check exists) the digest of every entry;
- every evidence file: the recorded SHA-256 and size, and its bytes re-hashed.

Read-only. Combined with an anchor (`audit verify --against`) an attacker
cannot rewrite the events to match either.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from workbench.db.store import Store
from workbench.screening.snapshots import stored_entries_digest


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


def problems(store: Store) -> list[str]:
    """Every record found unlike its audit event (snapshots, evidence)."""
    return snapshot_problems(store) + evidence_problems(store)
