"""The licence ledger (drawdowns and reversals), the shipment status events and
recorded licence-exception obligations (all append-only).

Each function is one named migration; the names and their order are in
:data:`workbench.db.migrations.ORDER`. Never edit one that has shipped.
"""

from __future__ import annotations

from typing import Any

from workbench.db.schema.common import append_only


def ledger_0001_drawdowns_status_obligations(db: Any) -> None:
    # Drawdowns name licence and shipment lines by number, not row id:
    # save_licence/save_shipment rewrite their child rows on every edit.
    db.execute("""create table ledger_drawdown (
  id integer primary key,
  kind text not null check (kind in ('draw','reversal')),
  reverses integer references ledger_drawdown(id),
  licence_id integer not null references licence(id),
  licence_line_no integer not null,
  shipment_id integer not null references shipment(id),
  shipment_line_no integer not null,
  quantity integer not null check (quantity >= 0),
  value_minor integer not null check (value_minor >= 0),
  currency text not null,
  unit text not null,
  tolerance_pct real not null,
  reason text not null default '',
  created_by text not null,
  created_at text not null,
  check ((kind = 'reversal') = (reverses is not null))
) strict""")
    db.execute("create unique index ledger_drawdown_reversed_once on"
               " ledger_drawdown(reverses) where reverses is not null")
    db.execute("create index ledger_drawdown_licence on ledger_drawdown(licence_id,"
               " licence_line_no)")
    db.execute("create index ledger_drawdown_shipment on ledger_drawdown(shipment_id)")
    # Second line of defence behind the checks in draw(): the licensed
    # quantity ("number" units) can never be exceeded, whatever the caller.
    db.execute("""create trigger ledger_drawdown_quantity_cap before insert on ledger_drawdown
when new.kind = 'draw' and new.unit = 'number' and (select quantity from licence_line
  where licence_id = new.licence_id and line_no = new.licence_line_no) is not null
  and new.quantity + coalesce((select sum(d.quantity) from ledger_drawdown d
    where d.kind = 'draw' and d.licence_id = new.licence_id
      and d.licence_line_no = new.licence_line_no
      and not exists (select 1 from ledger_drawdown r where r.reverses = d.id)), 0)
  > (select quantity from licence_line where licence_id = new.licence_id
     and line_no = new.licence_line_no)
begin select raise(abort, 'licence line quantity exceeded: drawdown refused'); end""")
    db.execute("""create table ledger_status_event (
  id integer primary key,
  shipment_id integer not null references shipment(id),
  action text not null,
  from_status text not null,
  to_status text not null,
  reason text not null default '',
  unmet text not null default '[]',
  approver text,
  by_user text not null,
  at text not null
) strict""")
    db.execute("create index ledger_status_event_shipment on ledger_status_event(shipment_id)")
    db.execute("""create table ledger_obligation (
  id integer primary key,
  shipment_id integer not null references shipment(id),
  obligation_id text not null,
  value text not null,
  note text not null default '',
  recorded_by text not null,
  recorded_at text not null
) strict""")
    db.execute("create index ledger_obligation_shipment on ledger_obligation(shipment_id)")
    for t in ("ledger_drawdown", "ledger_status_event", "ledger_obligation"):
        append_only(db, t)
