"""A what-if transaction from the values an officer typed: stored items
become their transaction fields, named parties are screened against the loaded
snapshots, the exporter's is-informed letters are added. Read-only; any thread.
"""

from __future__ import annotations

from typing import Any

from workbench.records import items as items_mod
from workbench.rules import determinations as rstore


def number(v: Any) -> Any:
    """A typed number as int or float; text that is no number stays text, so
    the engine's schema names the typo. Pure."""
    try:
        f = float(str(v).replace(",", ""))
        return int(f) if f.is_integer() else f
    except ValueError:
        return v


def whatif_txn(store: Any, typed: dict[str, Any]) -> dict[str, Any]:
    """Turn the what-if form's values into a txn.json transaction: stored
    items become their transaction fields (with the officer's classification
    override), named parties are screened against the loaded snapshots and
    the exporter's is-informed letters are added. Read-only (worker)."""
    items = []
    for it in typed["items"]:
        if it.get("item_id") is not None:
            rec = items_mod.get_item(store, it["item_id"])
            d = rstore.item_txn_fields(store, rec)
            # the row's cells win: the officer may ask "what if it were faster"
            d["tops"] = {**(d.get("tops") or {}), **(it.get("tops") or {})}
            for k in ("die_area_mm2", "interconnect_gbps", "datacenter"):
                if it.get(k) is not None:
                    d[k] = it[k]
        else:
            d = {k: it.get(k) for k in ("model", "tops", "die_area_mm2", "interconnect_gbps",
                                        "datacenter")}
        if it.get("quantity") is not None:
            d["quantity"] = it["quantity"]
        items.append({k: v for k, v in d.items() if v is not None or k == "datacenter"})
    txn: dict[str, Any] = {"date": typed["date"], "destination": typed["destination"],
                           "export_kind": typed.get("export_kind") or "export",
                           "items": items,
                           "parties": [{k: v for k, v in p.items() if v not in (None, "")}
                                       for p in typed["parties"]]}
    if typed.get("end_use"):
        txn["end_use"] = typed["end_use"]
    txn = rstore.screen_txn_parties(store, txn)
    letters = rstore.active_letters(store)
    if letters:
        txn["is_informed_letters"] = letters
    return txn
