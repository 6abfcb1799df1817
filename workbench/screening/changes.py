"""What a list import changed, gathered for the officer: entries added,
removed and changed, new and gone hits with their party, the shipments
affected and held. Read-only; any thread.
"""

from __future__ import annotations

from typing import Any

from workbench.app import Change, Workbench
from workbench.records import parties as _parties
from workbench.screening import snapshots


def what_changed(wb: Workbench, change: Change, rescreen: dict[str, Any] | None,
                 rescreen_error: str | None = None, limit: int = 500
                 ) -> dict[str, Any]:
    """Gather what the "What changed" dialog shows, on the worker thread:
    the snapshot, the entries added/removed/changed (names looked up), the
    new hits with their party, the hits gone and the shipments affected.
    `rescreen_error` is the message of a re-screen that failed after the
    import was kept. Read-only."""
    store = wb.store
    info = dict(change.record or {})
    diff = change.extra.get("diff")
    entries: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    totals = {"added": 0, "removed": 0, "changed": 0}
    if diff is not None:
        for kind in entries:
            ids = getattr(diff, kind)
            totals[kind] = len(ids)
            snap = info.get("previous_id") if kind == "removed" else info.get("snapshot_id")
            entries[kind] += snapshots.entries_by_id(store, snap, ids[:limit])
    else:
        totals["added"] = int(info.get("entries") or 0)
    names: dict[int, str] = {}

    def party_name(pid: int | None) -> str:
        if pid is None:
            return ""
        if pid not in names:
            try:
                names[pid] = _parties.get_party(store, pid)["legal_name"]
            except Exception:  # a party deleted since: still show its id
                names[pid] = f"party {pid}"
        return names[pid]

    new_hits, gone, shipments = [], [], []
    if rescreen is not None:
        for r in rescreen.get("results", []):
            for h in r["hits"]:
                new_hits.append({"id": h.get("hit_id"), "party": party_name(r["party_id"]),
                                 "party_id": r["party_id"], **h})
        gone = [{**g, "party": party_name(g["party_id"])} for g in rescreen.get("gone", [])]
        held = {h["shipment_id"]: h for h in rescreen.get("held", [])}
        # the rows were read before the holds: show the status they have now
        shipments = [{**s, "status": "on_hold", "held": held[s["id"]]["reason"]}
                     if s["id"] in held else {**s, "held": ""}
                     for s in rescreen.get("affected_shipments", [])]
    return {"snapshot": info, "first": diff is None, "entries": entries, "totals": totals,
            "new_hits": new_hits, "gone": gone, "shipments": shipments,
            "warnings": list(change.extra.get("warnings") or []),
            "rescreen_error": rescreen_error,
            "run_id": rescreen.get("run_id") if rescreen else None}
