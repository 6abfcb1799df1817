"""Benchmark: open a big database and show the first page of every table.

    .venv/bin/python bench/open_bench.py [--db PATH] [--rebuild] [--plans]

Builds (once, cached; default /tmp/ecw-bench/open_bench.db) a database with
100,000 shipments (1–3 lines, 2–4 parties each), 20,000 parties (names,
addresses) and 200 items with fast direct SQL, then measures:

- opening the Store (with the migrations check),
- count + first page (200 rows) of each list view via workbench.records.browse,
- the first page sorted by another column, and a search matching few rows,
- a baseline: ``select * from shipment`` / the whole shipment view fetched
  into Python, to show what paging saves,
- peak memory (ru_maxrss).

--plans prints EXPLAIN QUERY PLAN for every query slower than 200 ms.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.db import audit
from workbench.records import browse  # noqa: E402
from workbench.db.store import Store  # noqa: E402

N_SHIPMENTS = 100_000
N_PARTIES = 20_000
N_ITEMS = 200
SLOW_MS = 200.0


def build(path: Path) -> None:
    """Fill a fresh workbench database with recursive CTEs (seconds)."""
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    t0 = time.perf_counter()
    with Store(path) as s:
        with s.transaction() as c:
            ts = "'2026-01-01T00:00:00.000000Z'"
            c.execute(f"""
with recursive n(i) as (select 1 union all select i + 1 from n where i < {N_PARTIES})
insert into party (id, legal_name, kind, hq_country, website, notes, created_at, updated_at)
select i,
  (case i % 5 when 0 then 'Shenzhen ' when 1 then 'Pearl River ' when 2 then 'Merlion '
     when 3 then 'Tanjung ' else 'Rheinland ' end) || 'Party ' || i ||
  (case i % 3 when 0 then ' Co., Ltd.' when 1 then ' Pte. Ltd.' else ' GmbH' end),
  (case i % 7 when 0 then 'university' when 1 then 'research_lab' else 'company' end),
  (case i % 6 when 0 then 'CN' when 1 then 'HK' when 2 then 'SG' when 3 then 'MY'
     when 4 then 'DE' else 'AE' end),
  'party' || i || '.example', 'bench', {ts}, {ts} from n""")
            c.execute("""
insert into party_name (party_id, name, script, kind)
select id, '测试公司' || id || '有限公司', 'Han', 'local' from party where id % 2 = 0""")
            c.execute("""
insert into party_name (party_id, name, script, kind)
select id, 'P' || id || ' Trading', 'Latin', 'alias' from party where id % 3 = 0""")
            c.execute("""
insert into party_address (party_id, street, city, postcode, country)
select id, id || ' Harbour Road', 'City ' || (id % 50), printf('%06d', id), hq_country
from party""")
            c.execute("update party set ultimate_parent_id = id - 1 where id % 10 = 1 and id > 1")
            c.execute(f"""
with recursive n(i) as (select 1 union all select i + 1 from n where i < {N_ITEMS})
insert into item (id, model, manufacturer, description, hs_code, eccn, die_area_mm2,
  memory_bandwidth_gbps, interconnect_gbps, datacenter, created_at, updated_at)
select i, 'GPU-' || i, (case i % 3 when 0 then 'NVIDIA' when 1 then 'AMD' else 'Intel' end),
  'Accelerator model ' || i, '8473.30', (case i % 4 when 0 then '3A090.a' else '' end),
  600 + i, 1000 + i * 10, 400, i % 2, {ts}, {ts} from n""")
            c.execute("""
insert into item_performance (item_id, precision, bit_length, tops)
select id, 'fp16', 16, 100 + id from item union all
select id, 'int8', 8, 200 + id * 2 from item""")
            c.execute(f"""
with recursive n(i) as (select 1 union all select i + 1 from n where i < {N_SHIPMENTS})
insert into shipment (id, reference, ship_date, destination, status, end_use, notes,
  created_at, updated_at)
select i, printf('SO-%07d', i), date('2020-01-01', '+' || (i % 2400) || ' days'),
  (case i % 6 when 0 then 'CN' when 1 then 'HK' when 2 then 'SG' when 3 then 'MY'
     when 4 then 'DE' else 'AE' end),
  (case i % 7 when 0 then 'draft' when 1 then 'in_review' when 2 then 'cleared'
     when 3 then 'on_hold' when 4 then 'blocked' when 5 then 'shipped' else 'cancelled' end),
  'End use ' || (i % 97), '', {ts}, {ts} from n""")
            for k in range(3):  # 1–3 lines
                c.execute(f"""
insert into shipment_line (shipment_id, line_no, item_id, quantity, unit_value_minor, currency)
select id, {k + 1}, 1 + (id * {7 + k}) % {N_ITEMS}, 1 + id % 50, 100000 + id, 'USD'
from shipment where {k} < 1 + id % 3""")
            roles = ("purchaser", "end_user", "ultimate_consignee", "forwarder")
            for k, role in enumerate(roles):  # 2–4 parties
                c.execute(f"""
insert into shipment_party (shipment_id, role, party_id)
select id, '{role}', 1 + (id * {13 + 2 * k}) % {N_PARTIES}
from shipment where {k} < 2 + id % 3""")
            c.execute("""
insert into licence (id, number, agency, type, issue_date, expiry_date, created_at, updated_at)
select id, printf('D%07d', id), 'BIS', 'BIS-748P', '2026-01-01', date('2027-01-01', '+' || id || ' days'),
  created_at, updated_at from party where id <= 50""")
            c.execute("""
insert into licence_line (licence_id, line_no, eccn, description, quantity, value_minor, currency)
select id, 1, '3A090.a', 'GPUs', 100, 1000000, 'USD' from licence""")
            c.execute("""
insert into licence_party (licence_id, role, party_id)
select id, 'end_user', id * 3 from licence""")
            # an audit chain as long as the records (one event per record)
            rows, prev = [], audit.GENESIS
            seq = 0
            for entity, n in (("party", N_PARTIES), ("item", N_ITEMS),
                              ("shipment", N_SHIPMENTS)):
                for i in range(1, n + 1):
                    seq += 1
                    t = f"2026-01-01T00:00:{seq // 1000000:02d}.{seq % 1000000:06d}Z"
                    after = audit.canonical_json({"id": i, "bench": True})
                    h = audit.event_hash(seq, t, "bench", entity, str(i), "create",
                                         None, after, prev)
                    rows.append((seq, t, "bench", entity, str(i), "create", None,
                                 after, prev, h))
                    prev = h
            c.executemany(
                "insert into audit_event (seq, ts, user, entity, entity_id, action,"
                " before, after, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?)", rows)
        s.conn.execute("analyze")
        s.conn.execute("pragma wal_checkpoint(truncate)")
    print(f"built {path} in {time.perf_counter() - t0:.1f} s "
          f"({path.stat().st_size / 1e6:.0f} MB)")


def ms(f, *a, **kw):
    t0 = time.perf_counter()
    r = f(*a, **kw)
    return (time.perf_counter() - t0) * 1000, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/ecw-bench/open_bench.db")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--plans", action="store_true",
                    help="EXPLAIN QUERY PLAN for queries slower than 200 ms")
    args = ap.parse_args()
    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.rebuild or not path.exists():
        build(path)
    else:
        print(f"using cached {path} ({path.stat().st_size / 1e6:.0f} MB; --rebuild to rebuild)")

    t, store = ms(Store, path)
    print(f"\nopen Store (migrations check)           {t:8.1f} ms")
    slow: list[tuple[str, str, list]] = []

    def measure(label: str, name: str, q: browse.Query | None = None) -> None:
        tc, n = ms(browse.count, store, name, q)
        tp, rows = ms(browse.page, store, name, q, offset=0, limit=200)
        flag = "  <-- slow" if tc + tp > SLOW_MS else ""
        print(f"{label:40s} count {tc:8.1f} ms  page {tp:8.1f} ms"
              f"  ({n} rows, {len(rows)} shown){flag}")
        if tc + tp > SLOW_MS:
            v = browse.VIEWS[name]
            where, params = browse._where(v, q or browse.Query())
            slow.append((label, f"select count(*) from {v.view}{where}", params))
            qq = q or browse.Query()
            sort = qq.sort or v.default_sort
            desc = v.default_desc if qq.desc is None else qq.desc
            d = "desc" if desc else "asc"
            slow.append((label, f"select * from {v.view}{where} order by {sort} {d},"
                         f" {v.key} {d} limit 200", params))

    print("\nfirst page (200 rows) of each view, default sort:")
    for name in ("parties", "items", "shipments", "licences", "audit"):
        measure(f"  {name}", name)
    print("\nfirst page sorted by another column:")
    other = {"parties": "country", "items": "manufacturer", "shipments": "reference",
             "licences": "number", "audit": "user"}
    for name, col in other.items():
        measure(f"  {name} by {col}", name, browse.Query(sort=col))
    measure("  shipments by end_user (subquery col)", "shipments",
            browse.Query(sort="end_user"))
    measure("  parties by legal_name desc", "parties",
            browse.Query(sort="legal_name", desc=True))
    print("\nsearch matching few rows:")
    measure("  shipments 'SO-0004242'", "shipments", browse.Query(search="SO-0004242"))
    measure("  parties 'Party 1234 '", "parties", browse.Query(search="Party 12345"))
    measure("  parties (other name) '测试公司1234'", "parties",
            browse.Query(search="测试公司1234有限公司"))
    measure("  audit filter entity=item", "audit", browse.Query(filters={"entity": "item"}))
    measure("  shipments filter status=on_hold", "shipments",
            browse.Query(filters={"status": "on_hold"}))

    print("\nbaseline (no paging): everything into Python")
    t, rows = ms(store.all, "select * from shipment")
    print(f"  select * from shipment                {t:8.1f} ms  ({len(rows)} rows)")
    del rows
    t, rows = ms(store.all, "select * from v_shipment_list")
    print(f"  select * from v_shipment_list         {t:8.1f} ms  ({len(rows)} rows)")
    del rows
    t, rows = ms(store.all, "select * from v_party_list")
    print(f"  select * from v_party_list            {t:8.1f} ms  ({len(rows)} rows)")
    del rows

    # the dashboard's "needs attention today" read (runs on the worker thread
    # in the app; here timed alone) against the counts the tiles had before
    from workbench.clearance.attention import attention

    t, att = ms(attention, store)
    print(f"\ndashboard attention() (hits, holds, checklists, balances, series) {t:8.1f} ms"
          f"  ({len(att['series']['licence_utilisation'])} licence lines)")
    t, _n = ms(browse.count, store, "shipments", browse.Query(filters={"status": "on_hold"}))
    print(f"  baseline: one status count                          {t:8.1f} ms")

    t, res = ms(audit.verify, store)
    print(f"\naudit verify ({res.events} events)          {t:8.1f} ms  ok={res.ok}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss)                  {peak:8.1f} MB")

    if slow:
        print(f"\nslower than {SLOW_MS:.0f} ms:")
        for label, sql, params in slow:
            print(f"  {label.strip()}: {sql}")
            if args.plans:
                for r in store.all("explain query plan " + sql, params):
                    print(f"      {r[3]}")
    store.close()


if __name__ == "__main__":
    main()
