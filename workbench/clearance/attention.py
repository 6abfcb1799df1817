"""What needs attention today: counts with the ids behind them, and two
small series (screenings per week, licence utilisation). Read-only; any
thread. A UI tile shows ``count`` and opens the list filtered by ``ids``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from workbench.checklists import due_for_reverification, list_runs
from workbench.db.store import Store
from workbench.licensing import ledger
from workbench.screening.results import open_hits


def _tile(ids: list[Any], label: str, **extra: Any) -> dict[str, Any]:
    return {"label": label, "count": len(ids), "ids": ids, **extra}


def attention(store: Store, today: str | _dt.date | None = None, *,
              expiry_days: int = ledger.EXPIRY_WARNING_DAYS,
              nearly_pct: float = ledger.NEARLY_USED_PCT, reverify_days: int = 30,
              weeks: int = 12) -> dict[str, Any]:
    """Counts (and ids) of what needs attention on `today` (default today).

    Keys: ``open_hits`` (hit ids), ``on_hold`` (shipment ids, with reasons),
    ``blocked``, ``in_review``, ``checklists_awaiting_approval`` (run ids),
    ``licences_expiring`` (within `expiry_days`, or expired, with open
    balance), ``licences_nearly_used`` (≥ `nearly_pct`), ``parties_due``
    (re-verification lapsed or lapsing within `reverify_days`), and ``series``:
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
