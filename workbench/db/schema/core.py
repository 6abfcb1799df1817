"""The core tables: meta, the audit chain, users, master data (parties, items,
shipments, licences) and the list views the UI pages through.

Each function is one named migration; the names and their order are in
:data:`workbench.db.migrations.ORDER`. Never edit one that has shipped.
"""

from __future__ import annotations

from workbench.db.schema.common import exec_script


def m0001_core(db) -> None:
    exec_script(db, """
create table meta (
  key text primary key,
  value text not null
) strict;
create table audit_event (
  seq integer primary key,
  ts text not null,
  user text not null,
  entity text not null,
  entity_id text not null,
  action text not null,
  before text,
  after text,
  prev_hash text not null,
  hash text not null unique
) strict;
create index audit_event_entity on audit_event(entity, entity_id);
create index audit_event_user on audit_event(user);
create index audit_event_ts on audit_event(ts);
create trigger audit_event_no_update before update on audit_event
begin select raise(abort, 'audit events are append-only: UPDATE refused'); end;
create trigger audit_event_no_delete before delete on audit_event
begin select raise(abort, 'audit events are append-only: DELETE refused'); end;
create table user (
  id integer primary key,
  username text not null unique collate nocase,
  display_name text not null default '',
  role text not null check (role in ('officer','approver','auditor','admin')),
  password_hash text not null,
  active integer not null default 1 check (active in (0,1)),
  created_at text not null
) strict
""")


def m0002_master_data(db) -> None:
    exec_script(db, """
create table party (
  id integer primary key,
  legal_name text not null,
  kind text not null check (kind in ('company','person','government','university','research_lab')),
  hq_country text,
  ultimate_parent_id integer references party(id),
  website text not null default '',
  email_domain text not null default '',
  phone text not null default '',
  notes text not null default '',
  version integer not null default 1,
  created_at text not null,
  updated_at text not null
) strict;
create index party_legal_name on party(legal_name collate nocase);
create index party_hq on party(hq_country);
create table party_name (
  id integer primary key,
  party_id integer not null references party(id) on delete cascade,
  name text not null,
  script text not null default '',
  kind text not null default 'alias' check (kind in ('local','alias','former','trade'))
) strict;
create index party_name_party on party_name(party_id);
create table party_address (
  id integer primary key,
  party_id integer not null references party(id) on delete cascade,
  street text not null default '',
  city text not null default '',
  postcode text not null default '',
  country text not null
) strict;
create index party_address_party on party_address(party_id);
create index party_address_country on party_address(country);
create table party_registration (
  id integer primary key,
  party_id integer not null references party(id) on delete cascade,
  scheme text not null,
  value text not null
) strict;
create index party_registration_party on party_registration(party_id);
create table ownership (
  owned_id integer not null references party(id) on delete cascade,
  owner_id integer not null references party(id),
  percent real not null check (percent > 0 and percent <= 100),
  primary key (owned_id, owner_id)
) strict;
create index ownership_owner on ownership(owner_id);

create table item (
  id integer primary key,
  model text not null,
  manufacturer text not null default '',
  description text not null default '',
  hs_code text not null default '',
  eccn text not null default '',
  die_area_mm2 real,
  memory_bandwidth_gbps real,
  interconnect_gbps real,
  datacenter integer check (datacenter in (0,1)),
  uom text not null default 'EA',
  notes text not null default '',
  version integer not null default 1,
  created_at text not null,
  updated_at text not null
) strict;
create unique index item_model on item(manufacturer collate nocase, model collate nocase);
create table item_performance (
  item_id integer not null references item(id) on delete cascade,
  precision text not null,
  bit_length integer not null,
  tops real not null check (tops >= 0),
  primary key (item_id, precision)
) strict;

create table shipment (
  id integer primary key,
  reference text not null unique collate nocase,
  ship_date text not null,
  destination text not null,
  status text not null check (status in ('draft','in_review','cleared','on_hold','blocked','shipped','cancelled')),
  end_use text not null default '',
  notes text not null default '',
  version integer not null default 1,
  created_at text not null,
  updated_at text not null
) strict;
create index shipment_date on shipment(ship_date);
create index shipment_status on shipment(status);
create index shipment_destination on shipment(destination);
create table shipment_line (
  id integer primary key,
  shipment_id integer not null references shipment(id) on delete cascade,
  line_no integer not null,
  item_id integer not null references item(id),
  quantity integer not null check (quantity > 0),
  unit_value_minor integer not null check (unit_value_minor >= 0),
  currency text not null,
  unique (shipment_id, line_no)
) strict;
create index shipment_line_item on shipment_line(item_id);
create table shipment_party (
  shipment_id integer not null references shipment(id) on delete cascade,
  role text not null check (role in ('purchaser','intermediate_consignee','ultimate_consignee','end_user','forwarder')),
  party_id integer not null references party(id),
  primary key (shipment_id, role, party_id)
) strict;
create index shipment_party_party on shipment_party(party_id);

create table licence (
  id integer primary key,
  number text not null unique collate nocase,
  agency text not null,
  type text not null default '',
  issue_date text not null,
  expiry_date text not null,
  conditions text not null default '',
  riders text not null default '',
  notes text not null default '',
  version integer not null default 1,
  created_at text not null,
  updated_at text not null
) strict;
create table licence_party (
  licence_id integer not null references licence(id) on delete cascade,
  role text not null,
  party_id integer not null references party(id),
  primary key (licence_id, role, party_id)
) strict;
create table licence_line (
  id integer primary key,
  licence_id integer not null references licence(id) on delete cascade,
  line_no integer not null,
  eccn text not null,
  description text not null default '',
  quantity integer check (quantity is null or quantity >= 0),
  value_minor integer not null check (value_minor >= 0),
  currency text not null,
  unique (licence_id, line_no)
) strict
""")


def m0003_list_views(db) -> None:
    # Views the UI tables page through: one row per record, sortable and
    # searchable in SQL so a 100,000-row table never loads into Python.
    exec_script(db, """
create view v_party_list as
select p.id, p.legal_name, p.kind,
  (select country from party_address a where a.party_id = p.id order by a.id limit 1) as country,
  p.hq_country,
  (select group_concat(name, ' | ') from party_name n where n.party_id = p.id) as other_names,
  (select legal_name from party q where q.id = p.ultimate_parent_id) as parent,
  p.updated_at
from party p;
create view v_item_list as
select i.id, i.model, i.manufacturer, i.eccn, i.hs_code,
  (select group_concat(precision || ' ' || tops, ', ') from item_performance f where f.item_id = i.id) as performance,
  i.die_area_mm2, i.memory_bandwidth_gbps, i.interconnect_gbps, i.datacenter, i.updated_at
from item i;
create view v_shipment_list as
select s.id, s.reference, s.ship_date, s.destination, s.status,
  (select group_concat(p.legal_name, ' | ') from shipment_party sp join party p on p.id = sp.party_id
     where sp.shipment_id = s.id and sp.role = 'end_user') as end_user,
  (select count(*) from shipment_line l where l.shipment_id = s.id) as lines,
  (select sum(quantity) from shipment_line l where l.shipment_id = s.id) as units,
  s.end_use, s.updated_at
from shipment s;
create view v_licence_list as
select l.id, l.number, l.agency, l.type, l.issue_date, l.expiry_date,
  (select count(*) from licence_line x where x.licence_id = l.id) as lines,
  (select group_concat(p.legal_name, ' | ') from licence_party lp join party p on p.id = lp.party_id
     where lp.licence_id = l.id) as parties,
  l.updated_at
from licence l;
create view v_audit_list as
select seq, ts, user, entity, entity_id, action, hash from audit_event
""")
