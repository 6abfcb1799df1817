"""What needs attention today: counts with the ids behind them, and two
small series (screenings per week, licence utilisation). Read-only; any
thread. A UI tile shows ``count`` and opens the list filtered by ``ids``.

The active rules pack's own dates are here too (``rules_pack_review``): its
``review_by`` date and the dated assumptions its outcomes rest on, once due
within 30 days or past, each with a sentence an officer can read.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from workbench.checklists import due_for_reverification, list_runs
from workbench.db.store import Store
from workbench.licensing import ledger
from workbench.rules.determinations import active_pack
from workbench.rules.pack import Pack
from workbench.screening.results import open_hits

PACK_REVIEW_DAYS = 30


def _tile(ids: list[Any], label: str, **extra: Any) -> dict[str, Any]:
    return {"label": label, "count": len(ids), "ids": ids, **extra}


def _when(days: int) -> str:
    """``in 10 days`` / ``today`` / ``3 days ago``."""
    if days == 0:
        return "today"
    n = abs(days)
    unit = "day" if n == 1 else "days"
    return f"in {n} {unit}" if days > 0 else f"{n} {unit} ago"


def pack_review_items(pack: Pack, day: str, within_days: int = PACK_REVIEW_DAYS
                      ) -> list[dict[str, Any]]:
    """What of `pack`'s own dates is due on `day`: its ``review_by`` date and
    each assumption whose ``until`` is within `within_days` or past. Pure.

    Each item: ``kind`` ("review" or "assumption"), ``id`` ("review_by" or
    the assumption's id), ``title``, ``date``, ``days`` (negative: past),
    ``overdue``, ``when`` ("in 10 days" / "3 days ago"), ``check``,
    ``rules`` [{id, title}] (title None for a rule the pack does not name)
    and ``text``: one sentence in words (no ids) for the UI. Most urgent
    first: the longest past, then the soonest due.
    """
    d0 = _dt.date.fromisoformat(day[:10])
    m = pack.manifest
    items: list[dict[str, Any]] = []

    def due(date: Any) -> int | None:
        if not date:
            return None
        days = (_dt.date.fromisoformat(str(date)[:10]) - d0).days
        return days if days <= within_days else None

    days = due(m.get("review_by"))
    if days is not None:
        when = _when(days)
        date = str(m["review_by"])[:10]
        text = (f"Version {pack.version} was due for review on {date} ({when})."
                if days < 0 else f"Review version {pack.version} by {date} ({when}).")
        items.append({"kind": "review", "id": "review_by",
                      "title": f"Review rules pack version {pack.version}",
                      "date": date, "days": days, "overdue": days < 0, "when": when,
                      "check": "Re-read the rules the pack encodes against the current"
                               " regulations and publish a newer pack.",
                      "rules": [], "text": text})
    for a in m.get("assumptions") or []:
        days = due(a.get("until"))
        if days is None:
            continue
        when = _when(days)
        date = str(a["until"])[:10]
        rules = []
        for rid in a.get("rules") or []:
            r = pack.rule(rid)
            rules.append({"id": rid, "title": r.data.get("title") if r else None})
        items.append({"kind": "assumption", "id": a["id"], "title": a["title"],
                      "date": date, "days": days, "overdue": days < 0, "when": when,
                      "check": a.get("check") or "", "rules": rules,
                      "text": f"Assumed until {date} ({when}): {a['title'].rstrip('.')}."})
    items.sort(key=lambda i: (i["days"], i["kind"] != "review"))
    return items


def attention(store: Store, today: str | _dt.date | None = None, *,
              expiry_days: int = ledger.EXPIRY_WARNING_DAYS,
              nearly_pct: float = ledger.NEARLY_USED_PCT, reverify_days: int = 30,
              pack_review_days: int = PACK_REVIEW_DAYS,
              weeks: int = 12) -> dict[str, Any]:
    """Counts (and ids) of what needs attention on `today` (default today).

    Keys: ``open_hits`` (hit ids), ``on_hold`` (shipment ids, with reasons),
    ``blocked``, ``in_review``, ``checklists_awaiting_approval`` (run ids),
    ``licences_expiring`` (within `expiry_days`, or expired, with open
    balance), ``licences_nearly_used`` (≥ `nearly_pct`), ``parties_due``
    (re-verification lapsed or lapsing within `reverify_days`),
    ``rules_pack_review`` (the active pack's review date and dated
    assumptions due within `pack_review_days` or past: ``ids`` are
    "review_by" and assumption ids, ``pack`` {id, version, title},
    ``detail`` as :func:`pack_review_items`), and ``series``:
    ``screenings_per_week`` [{week, runs}] for the last `weeks` ISO weeks and
    ``licence_utilisation`` [{licence, line, used_pct}]. Read-only.
    """
    day = (today.isoformat() if isinstance(today, _dt.date)
           else (today or ledger.today()))[:10]
    out: dict[str, Any] = {"today": day}
    hits = open_hits(store)
    out["open_hits"] = _tile([h["id"] for h in hits], "Open screening hits",
                             parties=sorted({h["party_id"] for h in hits}))
    for st, label in (("on_hold", "Shipments on hold"), ("blocked", "Shipments blocked"),
                      ("in_review", "Shipments in review")):
        rows = store.all("select s.id, (select e.reason from ledger_status_event e where"
                         " e.shipment_id = s.id order by e.id desc limit 1) as reason"
                         " from shipment s where s.status = ? order by s.ship_date, s.id", (st,))
        out[st] = _tile([r["id"] for r in rows], label,
                        reasons={r["id"]: r["reason"] or "" for r in rows})
    waiting = list_runs(store, status="awaiting_approval")
    out["checklists_awaiting_approval"] = _tile([r["id"] for r in waiting],
                                                "Checklists waiting for approval")
    due = due_for_reverification(store, day, within_days=reverify_days)
    out["parties_due"] = _tile(sorted({d["party_id"] for d in due}),
                               "Parties due for re-verification", detail=due)
    bals = ledger.balances(store, on=day, warn_days=expiry_days)
    expiring = [b for b in bals if b["days_to_expiry"] <= expiry_days
                and any((ln["remaining_quantity"] or 0) > 0 or ln["remaining_value_minor"] > 0
                        for ln in b["lines"])]
    out["licences_expiring"] = _tile([b["id"] for b in expiring], "Licences expiring",
                                     detail=[{"id": b["id"], "number": b["number"],
                                              "expiry_date": b["expiry_date"],
                                              "days_to_expiry": b["days_to_expiry"]}
                                             for b in expiring])
    nearly = [b for b in bals if b["used_pct"] >= nearly_pct]
    out["licences_nearly_used"] = _tile([b["id"] for b in nearly], "Licences nearly used up",
                                        detail=[{"id": b["id"], "number": b["number"],
                                                 "used_pct": b["used_pct"]} for b in nearly])
    pack = active_pack(store)
    due_items = pack_review_items(pack, day, pack_review_days)
    out["rules_pack_review"] = _tile([i["id"] for i in due_items], "Rules pack needs review",
                                     pack={"id": pack.id, "version": pack.version,
                                           "title": pack.manifest.get("title") or pack.id},
                                     overdue=sum(1 for i in due_items if i["overdue"]),
                                     detail=due_items)
    # screenings per ISO week (Monday start), oldest first, empty weeks as 0
    d0 = _dt.date.fromisoformat(day)
    monday = d0 - _dt.timedelta(days=d0.weekday())
    starts = [monday - _dt.timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    counts = {s.isoformat(): 0 for s in starts}
    for r in store.all("select substr(ts, 1, 10) as d, count(*) as n from screening_run"
                       " where ts >= ? group by d", (starts[0].isoformat(),)):
        dd = _dt.date.fromisoformat(r["d"])
        wk = (dd - _dt.timedelta(days=dd.weekday())).isoformat()
        if wk in counts:
            counts[wk] += r["n"]
    out["series"] = {
        "screenings_per_week": [{"week": k, "runs": v} for k, v in counts.items()],
        "licence_utilisation": [{"licence": b["number"], "line": ln["line_no"],
                                 "description": ln["description"], "used_pct": ln["used_pct"]}
                                for b in bals for ln in b["lines"]],
    }
    return out
