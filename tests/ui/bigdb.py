"""Build a large database fast with direct SQL (tests and benchmarks only)."""

from __future__ import annotations

from pathlib import Path

from workbench.bootstrap import open_workbench


def make_big_db(path: Path, shipments: int = 100_000, parties: int = 20_000):
    """A demo database plus `parties` parties and `shipments` shipments
    (one line and one end user each), inserted with recursive CTEs.

    Returns the open Workbench (signed in as nobody)."""
    wb = open_workbench(path, demo=True)
    now = "2026-01-01T00:00:00.000000Z"
    with wb.store.transaction() as c:
        c.execute(f"""
            insert into party (legal_name, kind, hq_country, created_at, updated_at)
            with recursive n(i) as (select 1 union all select i + 1 from n where i < {parties})
            select 'Bulk Party ' || printf('%06d', i), 'company',
                   case i % 4 when 0 then 'CN' when 1 then 'SG' when 2 then 'MY' else 'DE' end,
                   '{now}', '{now}' from n""")
        c.execute(f"""
            insert into shipment (reference, ship_date, destination, status, end_use,
                                  created_at, updated_at)
            with recursive n(i) as (select 1 union all select i + 1 from n where i < {shipments})
            select 'BULK-' || printf('%07d', i),
                   date('2020-01-01', '+' || (i % 2500) || ' days'),
                   case i % 3 when 0 then 'CN' when 1 then 'SG' else 'MY' end,
                   case i % 5 when 0 then 'draft' when 1 then 'shipped' when 2 then 'cleared'
                        when 3 then 'in_review' else 'on_hold' end,
                   'Bulk end use ' || i, '{now}', '{now}' from n""")
        item = c.execute("select min(id) from item").fetchone()[0]
        party = c.execute("select min(id) from party where legal_name like 'Bulk%'").fetchone()[0]
        c.execute(f"""
            insert into shipment_line (shipment_id, line_no, item_id, quantity,
                                       unit_value_minor, currency)
            select id, 1, {item}, 1 + id % 50, 100000, 'USD' from shipment
            where reference like 'BULK-%'""")
        c.execute(f"""
            insert into shipment_party (shipment_id, role, party_id)
            select id, 'end_user', {party} + id % {parties} from shipment
            where reference like 'BULK-%'""")
    return wb
