"""Paged, sorted, filtered reads over the list views (what tables show).

Sorting, searching and filtering happen in SQL with LIMIT/OFFSET so a table
of 100,000 shipments costs one page of rows, not the whole table. Column
names are whitelisted here; nothing a user types reaches SQL except as a
bound parameter.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from workbench.db.store import Store


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | real | date | bool


@dataclass(frozen=True)
class ListView:
    name: str
    view: str
    columns: tuple[Column, ...]
    search: tuple[str, ...]
    default_sort: str
    default_desc: bool = False
    key: str = "id"
    filters: tuple[str, ...] = field(default_factory=tuple)

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


VIEWS: dict[str, ListView] = {v.name: v for v in (
    ListView("parties", "v_party_list", (
        Column("id", "Id", "int"), Column("legal_name", "Legal name"),
        Column("kind", "Kind"), Column("country", "Country"),
        Column("hq_country", "HQ"), Column("other_names", "Other names"),
        Column("parent", "Ultimate parent"), Column("updated_at", "Updated")),
        ("legal_name", "other_names", "country", "hq_country"), "legal_name",
        filters=("kind", "country", "hq_country")),
    ListView("items", "v_item_list", (
        Column("id", "Id", "int"), Column("model", "Model"),
        Column("manufacturer", "Manufacturer"), Column("eccn", "ECCN"),
        Column("hs_code", "HS code"), Column("performance", "Dense TOPS by precision"),
        Column("die_area_mm2", "Die mm²", "real"),
        Column("memory_bandwidth_gbps", "Memory GB/s", "real"),
        Column("interconnect_gbps", "Chip-to-chip GB/s", "real"),
        Column("datacenter", "Data centre", "bool"), Column("updated_at", "Updated")),
        ("model", "manufacturer", "eccn", "hs_code"), "model",
        filters=("eccn", "manufacturer")),
    ListView("shipments", "v_shipment_list", (
        Column("id", "Id", "int"), Column("reference", "Reference"),
        Column("ship_date", "Date", "date"), Column("destination", "Destination"),
        Column("status", "Status"), Column("end_user", "End user"),
        Column("lines", "Lines", "int"), Column("units", "Units", "int"),
        Column("end_use", "End use"), Column("updated_at", "Updated")),
        ("reference", "destination", "status", "end_use"), "ship_date", True,
        filters=("status", "destination")),
    ListView("licences", "v_licence_list", (
        Column("id", "Id", "int"), Column("number", "Number"),
        Column("agency", "Agency"), Column("type", "Type"),
        Column("issue_date", "Issued", "date"), Column("expiry_date", "Expires", "date"),
        Column("lines", "Lines", "int"), Column("parties", "Parties"),
        Column("updated_at", "Updated")),
        ("number", "agency", "type", "parties"), "expiry_date",
        filters=("agency",)),
    ListView("audit", "v_audit_list", (
        Column("seq", "#", "int"), Column("ts", "When (UTC)"),
        Column("user", "User"), Column("entity", "Entity"),
        Column("entity_id", "Id"), Column("action", "Action"),
        Column("hash", "Hash")),
        ("user", "entity", "entity_id", "action"), "seq", True, key="seq",
        filters=("user", "entity", "action")),
)}


@dataclass
class Query:
    """What a table asks for: free-text search, exact filters, a date range
    (on the view's date column), sort column and direction."""

    search: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    date_column: str | None = None
    sort: str | None = None
    desc: bool | None = None
    ids: tuple[int, ...] | None = None  # only these keys (a dashboard tile's rows)


def _where(v: ListView, q: Query) -> tuple[str, list[Any]]:
    clauses, params = [], []
    terms = (q.search or "").split()
    for term in terms[:8]:
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(" + " or ".join(f"{c} like ? escape '\\'" for c in v.search) + ")")
        params.extend([like] * len(v.search))
    for k, val in (q.filters or {}).items():
        if val in (None, ""):
            continue
        if k not in v.filters:
            raise ValueError(f"{v.name} cannot be filtered by {k!r}")
        clauses.append(f"{k} = ?")
        params.append(val)
    if q.ids is not None:
        # bound parameters through json_each: any number of ids, no SQL text built from them
        clauses.append(f"{v.key} in (select value from json_each(?))")
        params.append(json.dumps([int(i) for i in q.ids]))
    if q.date_column and (q.date_from or q.date_to):
        v.column(q.date_column)  # whitelist
        if q.date_from:
            clauses.append(f"{q.date_column} >= ?")
            params.append(q.date_from)
        if q.date_to:
            # inclusive of the whole 'to' day for timestamps
            clauses.append(f"substr({q.date_column}, 1, 10) <= ?")
            params.append(q.date_to)
    return (" where " + " and ".join(clauses)) if clauses else "", params


def count(store: Store, name: str, q: Query | None = None) -> int:
    """Rows matching the query (read-only)."""
    v = VIEWS[name]
    where, params = _where(v, q or Query())
    return store.scalar(f"select count(*) from {v.view}{where}", params) or 0


def page(store: Store, name: str, q: Query | None = None, *, offset: int = 0,
         limit: int = 200) -> list[sqlite3.Row]:
    """One page of rows, sorted in SQL (read-only)."""
    v = VIEWS[name]
    q = q or Query()
    sort = q.sort or v.default_sort
    v.column(sort)  # raises KeyError for a column that is not shown
    desc = v.default_desc if q.desc is None else q.desc
    where, params = _where(v, q)
    cols = ", ".join(c.key for c in v.columns)
    sql = (f"select {cols} from {v.view}{where} order by {sort} "
           f"{'desc' if desc else 'asc'}, {v.key} {'desc' if desc else 'asc'}"
           f" limit ? offset ?")
    return store.all(sql, [*params, int(limit), int(offset)])
