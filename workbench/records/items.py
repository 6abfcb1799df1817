"""Items: the chips, boards and servers an exporter ships.

An item record::

    {"id": 1, "version": 1, "model": "H100 SXM5", "manufacturer": "NVIDIA",
     "description": "", "hs_code": "8473.30", "eccn": "3A090.a",
     "die_area_mm2": 814.0, "memory_bandwidth_gbps": 3350.0,
     "interconnect_gbps": 900.0, "datacenter": True, "uom": "EA", "notes": "",
     "performance": {"fp16": 989.4, "fp8": 1978.9, "int8": 1978.9}}

``performance`` holds DENSE throughput (TOPS, or TFLOPS for floating point)
per precision; the key names its bit length, which classification needs for
TPP = 2 × MacTOPS × bit length (rules issue). Sparse figures from marketing
sheets are twice the dense ones and must not be entered here.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.app import Change, Workbench
from workbench.errors import NotFound
from workbench.records.rows import check_version, write_row
from workbench.db.store import Store, utc_now
from workbench.records.values import Checker, blank, parse_bool, parse_number, text

PRECISION_BITS = {"fp64": 64, "fp32": 32, "tf32": 32, "fp16": 16, "bf16": 16,
                  "fp8": 8, "int8": 8, "int4": 4, "fp4": 4}
UOMS = ("EA", "SET", "KG", "$")
_ECCN = re.compile(r"^(EAR99|[0-9][A-E][0-9]{3}(\.[A-Za-z0-9]+)*)$", re.I)
_HS = re.compile(r"^[0-9]{4}(\.?[0-9]{2}){0,3}$")
_ROW_FIELDS = ("model", "manufacturer", "description", "hs_code", "eccn",
               "die_area_mm2", "memory_bandwidth_gbps", "interconnect_gbps",
               "datacenter", "uom", "notes")


def parse_eccn(value: Any) -> str:
    s = str(value).strip().replace(" ", "")
    if not _ECCN.match(s):
        raise ValueError(f"{value!r} is not an ECCN (e.g. 3A090.a, 4A090, EAR99)")
    if s.upper() == "EAR99":
        return "EAR99"
    head, _, tail = s.partition(".")
    return head.upper() + ("." + tail.lower() if tail else "")


def parse_hs(value: Any) -> str:
    s = str(value).strip().replace(" ", "")
    if not _HS.match(s):
        raise ValueError(f"{value!r} is not an HS code (e.g. 8473.30 or 847330)")
    return s


def get_item(store: Store, item_id: int) -> dict[str, Any]:
    row = store.one("select * from item where id = ?", (item_id,))
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    rec = {k: row[k] for k in ("id", "version", *_ROW_FIELDS)}
    rec["datacenter"] = None if row["datacenter"] is None else bool(row["datacenter"])
    rec["performance"] = {r["precision"]: r["tops"] for r in store.all(
        "select precision, tops from item_performance where item_id = ?"
        " order by bit_length desc, precision", (item_id,))}
    return rec


def find_item(store: Store, model: str, manufacturer: str | None = None) -> int | None:
    """Id of the item with this model (and manufacturer, when given)."""
    sql = "select id from item where model = ? collate nocase"
    params: list[Any] = [(model or "").strip()]
    if manufacturer:
        sql += " and manufacturer = ? collate nocase"
        params.append(manufacturer.strip())
    row = store.one(sql + " order by id limit 1", params)
    return None if row is None else row["id"]


def normalise_item(data: dict[str, Any]) -> dict[str, Any]:
    """Validate an item record; pure. Raises ValidationError."""
    c = Checker()
    rec: dict[str, Any] = {"id": data.get("id"), "version": data.get("version")}
    rec["model"] = c.field("model", text, data.get("model"), required=True, max_len=200)
    rec["manufacturer"] = c.field("manufacturer", text, data.get("manufacturer"), max_len=200) or ""
    rec["description"] = c.field("description", text, data.get("description"), max_len=2000) or ""
    rec["notes"] = c.field("notes", text, data.get("notes"), max_len=4000) or ""
    rec["hs_code"] = c.field("hs_code", parse_hs, data.get("hs_code")) or ""
    rec["eccn"] = c.field("eccn", parse_eccn, data.get("eccn")) or ""
    for f in ("die_area_mm2", "memory_bandwidth_gbps", "interconnect_gbps"):
        rec[f] = c.field(f, parse_number, data.get(f))
    if rec["die_area_mm2"] is not None and rec["die_area_mm2"] > 100_000:
        c.add("die_area_mm2", "more than 100,000 mm² is not a die")
    rec["datacenter"] = c.field("datacenter", parse_bool, data.get("datacenter"))
    uom = str(data.get("uom") or "EA").strip().upper()
    if uom not in UOMS:
        c.add("uom", f"must be one of {', '.join(UOMS)}")
    rec["uom"] = uom
    perf: dict[str, float] = {}
    for key, value in (data.get("performance") or {}).items():
        k = str(key).strip().lower()
        if k not in PRECISION_BITS:
            c.add(f"performance.{key}",
                  f"unknown precision; use one of {', '.join(PRECISION_BITS)}")
            continue
        if blank(value):
            continue
        v = c.field(f"performance.{k}", parse_number, value)
        if v is not None:
            perf[k] = v
    rec["performance"] = perf
    c.done()
    return rec


def save_item(wb: Workbench, data: dict[str, Any]) -> Change:
    """Create or update an item and its performance figures.

    Side effects: one transaction plus one audit event. Raises
    ValidationError (e.g. the same model twice) or ConflictError.
    """
    rec = normalise_item(data)
    store = wb.store
    now = utc_now()
    with wb.writing() as w:
        iid = rec["id"]
        before = get_item(store, iid) if iid is not None else None
        check_version(before, rec, f"item {before['model']}" if before else "")
        dup = store.one("select id from item where model = ? collate nocase and"
                        " manufacturer = ? collate nocase and id is not ?",
                        (rec["model"], rec["manufacturer"], iid))
        if dup is not None:
            c = Checker()
            c.add("model", f"{rec['manufacturer']} {rec['model']} exists already"
                           f" (item {dup['id']})")
            c.done()
        values = [rec[f] if f != "datacenter" else
                  (None if rec[f] is None else int(rec[f])) for f in _ROW_FIELDS]
        iid = write_row(w.conn, "item", _ROW_FIELDS, values, iid, now,
                        (("item_performance", "item_id"),))
        w.conn.executemany(
            "insert into item_performance (item_id, precision, bit_length, tops)"
            " values (?,?,?,?)",
            [(iid, k, PRECISION_BITS[k], v) for k, v in rec["performance"].items()])
        after = get_item(store, iid)
        action = "create" if before is None else "update"
        w.audit("item", iid, action, before, after)
    return Change("item", iid, action, after)
