"""Holds: what a change elsewhere does to the shipments still open.

A new list snapshot, a new rules pack, an is-informed letter or a rules fact
about a party can turn a cleared shipment into one that must not ship. Each
of those writes is offered here, wrapping the area's own write in one
transaction (transactions nest) with the holds it causes, so there is no
moment in which a cleared shipment with a new hit, or a newly required
licence, could be shipped:

- :func:`import_list` — store a list file as a new snapshot, re-screen what
  it changed and hold what that affects, all in one transaction;
- :func:`rescreen_after_import` — re-screen what a new snapshot changed and
  hold the open shipments of parties with new or gone hits;
- :func:`install_pack` — activate a rules pack and hold the open shipments
  whose outcome it changes;
- :func:`record_letter`, :func:`set_party_tag` — record a letter or a party
  fact and hold the open shipments whose outcome it changes.

The CLI and the UI call these, never the area functions they wrap (a test
keeps it so). This module sits above rules, screening and licensing and
imports them; none of them imports it.

Threading: like the store — any thread, one transaction per call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from workbench.app import Change, Workbench
from workbench.clearance import status
from workbench.rules import determinations as rules
from workbench.rules.pack import Pack
from workbench.screening import results as screening
from workbench.screening import snapshots
from workbench.screening.lists import Cancelled


def hold_affected(wb: Workbench, reason: str, shipment_ids: Iterable[int],
                  reasons_by_id: dict[int, str] | None = None) -> dict[str, Any]:
    """Put each listed open shipment (draft, in review, cleared) on hold with
    `reason` (or its own entry in `reasons_by_id`); others are skipped.
    Side effects: ONE transaction with a status event and audit event per
    shipment held. Returns {"held": [...], "skipped": [...]}."""
    held, skipped = [], []
    ids = list(dict.fromkeys(int(i) for i in shipment_ids))
    if not ids:
        return {"held": held, "skipped": skipped}
    with wb.writing() as w:
        for sid in ids:
            st = wb.store.scalar("select status from shipment where id = ?", (sid,))
            why = (reasons_by_id or {}).get(sid, reason)
            if st not in status.ACTIONS["auto_hold"][0]:
                skipped.append({"shipment_id": sid, "status": st})
                continue
            held.append({**status.move(wb, w, sid, "auto_hold", reason=why), "reason": why})
    return {"held": held, "skipped": skipped}


def on_new_snapshot(wb: Workbench, rescreen_result: dict[str, Any]) -> dict[str, Any]:
    """Hold the open shipments a re-screen found affected.

    Called by :func:`rescreen_after_import` inside its transaction, with the
    re-screen's result (a second call holds nothing new). Side effects: see
    :func:`hold_affected`.
    """
    snaps = rescreen_result.get("snapshots") or []
    lists = ", ".join(f"{s.get('source')} of {s.get('publish_date') or ''}".strip()
                      for s in snaps) or "a new list snapshot"
    hits_by_party: dict[int, int] = {}
    for r in rescreen_result.get("results") or []:
        if r.get("hits"):
            hits_by_party[r["party_id"]] = len(r["hits"])
    gone = {g["party_id"] for g in rescreen_result.get("gone") or []}
    by_id = {}
    for s in rescreen_result.get("affected_shipments") or []:
        names = [r["legal_name"] for r in wb.store.all(
            "select distinct p.id, p.legal_name from shipment_party sp join party p on"
            " p.id = sp.party_id where sp.shipment_id = ?", (s["id"],))
            if r["id"] in hits_by_party or r["id"] in gone]
        by_id[s["id"]] = (f"New list snapshot ({lists}) changes the screening of "
                          f"{', '.join(names) or 'its parties'} — review the hits on the "
                          f"Screening page, then clear again")
    return hold_affected(wb, "new list snapshot", list(by_id), by_id)


def on_new_pack(wb: Workbench, impact: dict[str, Any]) -> dict[str, Any]:
    """Hold the open shipments whose outcome a new rules pack changes.

    Called by :func:`install_pack` inside its transaction with the impact
    (``rules.determinations.impact(store, new, old)``). Side effects: see
    :func:`hold_affected`.
    """
    to = impact.get("to") or {}
    pack = f"{to.get('id', 'a new rules pack')} {to.get('version', '')}".strip()

    def out(o: dict[str, Any]) -> str:
        return (o.get("outcome") or "?").replace("_", " ") + \
            (f" ({o['exception']})" if o.get("exception") else "")

    by_id: dict[int, str] = {}
    for s in impact.get("shipments") or []:
        by_id[s["shipment_id"]] = (f"Rules pack {pack} changes the outcome from "
                                   f"{out(s['before'])} to {out(s['after'])} — determine again "
                                   f"and review before clearing")
    for d in impact.get("determinations") or []:
        if d.get("shipment_id") is not None and d["shipment_id"] not in by_id:
            by_id[d["shipment_id"]] = (f"Rules pack {pack} would change the saved "
                                       f"determination from {out(d['before'])} to "
                                       f"{out(d['after'])} — determine again")
    return hold_affected(wb, f"rules pack {pack}", list(by_id), by_id)


def _hold_outcome_changes(wb: Workbench, change: Change,
                          before: dict[int, tuple[str, str | None]],
                          party_id: int | None = None) -> Change:
    """Hold the open shipments whose outcome differs from `before`, saying
    what `change` recorded; the caller holds the write transaction. Adds
    ``held`` and ``changed`` (shipment ids) to ``change.extra``."""
    what = change.extra.get("what", "A rules fact changed")
    reasons = rules.changed_outcomes(wb.store, before, what, party_id)
    held = hold_affected(wb, what, list(reasons), reasons)["held"] if reasons else []
    change.extra.update({"held": held, "changed": sorted(reasons)})
    return change


def import_list(wb: Workbench, path: str | Path, *, format: str | None = None,
                rescreen: bool = True,
                progress: Callable[[int, int | None], None] | None = None,
                cancel: Any = None) -> tuple[Change, dict[str, Any] | None]:
    """Import a list file as a new snapshot and re-screen every party against
    what it changed, holding the open shipments that affects.

    The file is parsed first, outside any transaction (seconds for a big
    file, and nobody waits for it); then ONE transaction stores the
    snapshot, the re-screen run and the holds. A kill, a cancel or a failed
    re-screen leaves no snapshot that nothing was screened against (issue
    13: 7 of 14 kills used to commit the snapshot alone). Other writers wait
    for the re-screen (seconds); the store's busy wait tells them.

    ``rescreen=False`` stores the snapshot alone: every shipment is then
    unclearable and unshippable until re-screened, because clearance asks
    for a screening against the current snapshots (``rescreen_all`` catches
    up and holds). Returns (the import's change, the re-screen's result with
    ``held``, or None). Raises what :func:`snapshots.import_list` raises.
    """
    wb.store.refuse_own_file(path, "list file")
    parsed = snapshots.parse_file(path, format=format, progress=progress, cancel=cancel)
    with wb.writing():
        change = snapshots.store_parsed(wb, parsed, cancel=cancel)
        result = (rescreen_after_import(wb, change.id, progress=progress, cancel=cancel)
                  if rescreen else None)
    # Build the index over the new snapshots now, after the commit (so no
    # writer waits for it), and save it: the next screening in any process
    # loads it instead of building it. A cancel here loses nothing: the
    # index is built at its first use instead.
    try:
        snapshots.IndexCache.get(wb.store, progress=progress, cancel=cancel)
    except Cancelled:
        pass
    return change, result


def rescreen_after_import(wb: Workbench, new_snapshot_id: int, **kw: Any) -> dict[str, Any]:
    """Re-screen every party against what a new snapshot changed
    (:func:`workbench.screening.results.rescreen_after_import`) and hold the
    open shipments it affects.

    Side effects: ONE transaction holding the recorded run and the holds with
    their status and audit events. Returns the re-screen's result plus
    ``held``. `kw` goes to the re-screen (progress, cancel).
    """
    with wb.writing():
        result = screening.rescreen_after_import(wb, new_snapshot_id, **kw)
        result["held"] = on_new_snapshot(wb, result)["held"]
    return result


def rescreen_all(wb: Workbench, **kw: Any) -> dict[str, Any]:
    """Re-screen every party (:func:`workbench.screening.results.screen_all`)
    and hold every cleared shipment whose screening no longer passes (a new
    hit, or a list imported without a re-screen that this one catches up).

    Side effects: ONE transaction: the run, its hits, the holds. Returns the
    run plus ``held``. `kw` goes to the screening (progress, cancel).
    """
    with wb.writing():
        result = screening.screen_all(wb, **kw)
        by_id = {}
        for s in wb.store.all("select id, reference from shipment where status = 'cleared'"):
            why = status.screening_reasons(wb.store, s["id"], s["reference"])
            if why:
                by_id[s["id"]] = (f"Re-screening every party: {why[0]['text']}"
                                  + (f" (and {len(why) - 1} more)" if len(why) > 1 else ""))
        result["held"] = hold_affected(wb, "re-screening", list(by_id), by_id)["held"]
    return result


def install_pack(wb: Workbench, source: str | Pack, *, approver: str, approver_password: str,
                 hits_for: rules.HitsFor | None = None) -> Change:
    """Verify, store and activate a rules pack
    (:func:`workbench.rules.determinations.install_pack`) and hold every open
    shipment whose outcome it changes.

    Side effects: ONE transaction: the pack, its activation and audit event,
    and the holds. Raises PackError for a bad pack or failing golden cases,
    PermissionDenied / AuthenticationError without a valid second person
    (nothing written).
    ``Change.extra``: ``diff``, ``impact`` and ``held``.
    """
    with wb.writing():
        change = rules.install_pack(wb, source, approver=approver,
                                     approver_password=approver_password, hits_for=hits_for)
        imp = change.extra.get("impact")
        change.extra["held"] = on_new_pack(wb, imp)["held"] if imp else []
    return change


def set_party_tag(wb: Workbench, party_id: int, tag: str, present: bool = True,
                  note: str = "") -> Change:
    """Record (or withdraw) a rules fact about a party
    (:func:`workbench.rules.determinations.set_party_tag`) and hold the
    party's open shipments whose outcome it changes.

    Side effects: ONE transaction: the fact, its audit event, the holds.
    ``Change.extra``: ``held``, ``changed``.
    """
    with wb.writing():
        before = rules.open_outcomes(wb.store, party_id)
        change = rules.set_party_tag(wb, party_id, tag, present, note)
        return _hold_outcome_changes(wb, change, before, party_id)


def record_letter(wb: Workbench, overlay_id: str, *, active: bool = True,
                  received_on: str | None = None, reference: str = "",
                  note: str = "") -> Change:
    """Record that the exporter received (or no longer holds) an
    is-informed letter (:func:`workbench.rules.determinations.record_letter`)
    and hold the open shipments whose outcome it changes.

    Side effects: ONE transaction: the letter, its audit event, the holds.
    ``Change.extra``: ``held``, ``changed``.
    """
    with wb.writing():
        before = rules.open_outcomes(wb.store)
        change = rules.record_letter(wb, overlay_id, active=active, received_on=received_on,
                                     reference=reference, note=note)
        return _hold_outcome_changes(wb, change, before)
