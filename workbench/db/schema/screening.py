"""Restricted-party list snapshots and their entries (append-only), and
screening results: runs, hits, decisions.

Each function is one named migration; the names and their order are in
:data:`workbench.db.migrations.ORDER`. Never edit one that has shipped.
"""

from __future__ import annotations


def screening_0001_snapshots(db) -> None:
    for stmt in """
create table list_snapshot (
  id integer primary key,
  source text not null,
  format text not null,
  file_name text not null,
  sha256 text not null,
  files text not null,
  publish_date text,
  imported_at text not null,
  imported_by text not null,
  counts text not null,
  entry_count integer not null,
  name_count integer not null,
  previous_id integer references list_snapshot(id)
) strict;
create index list_snapshot_source on list_snapshot(source, id);
create index list_snapshot_sha on list_snapshot(sha256);
create table list_entry (
  id integer primary key,
  snapshot_id integer not null references list_snapshot(id),
  entry_id text not null,
  list_code text not null,
  agency text not null,
  name text not null,
  alt_names text not null,
  countries text not null,
  data text not null,
  content_hash text not null,
  unique (snapshot_id, entry_id)
) strict;
create index list_entry_entry on list_entry(entry_id);
create index list_entry_name on list_entry(snapshot_id, name collate nocase);
create trigger list_entry_no_update before update on list_entry
begin select raise(abort, 'list entries are immutable'); end;
create trigger list_entry_no_delete before delete on list_entry
begin select raise(abort, 'list entries are immutable'); end;
create trigger list_snapshot_no_delete before delete on list_snapshot
begin select raise(abort, 'list snapshots are immutable'); end
""".split(";\n"):
        if stmt.strip():
            db.execute(stmt)


def screening_0002_results(db) -> None:
    for stmt in """
create table screening_run (
  id integer primary key,
  ts text not null,
  user text not null,
  scope text not null,
  subject text not null default '',
  snapshots text not null,
  threshold real not null,
  parties integer not null default 0,
  hits integer not null default 0
) strict;
create table screening_hit (
  id integer primary key,
  run_id integer not null references screening_run(id),
  party_id integer references party(id),
  shipment_id integer references shipment(id),
  query text not null,
  entry_id text not null,
  snapshot_id integer not null references list_snapshot(id),
  list_code text not null,
  list_name text not null,
  primary_name text not null,
  matched_name text not null,
  score real not null,
  explanation text not null,
  detail text not null,
  entry_content_hash text not null,
  names_hash text not null,
  status text not null check (status in ('open','cleared','confirmed','escalated')),
  decision_id integer
) strict;
create index screening_hit_party on screening_hit(party_id, run_id);
create index screening_hit_run on screening_hit(run_id);
create table screening_party_run (
  run_id integer not null references screening_run(id),
  party_id integer not null references party(id),
  names_hash text not null,
  hits integer not null,
  fronts text not null default '[]',
  primary key (party_id, run_id)
) strict;
create table hit_decision (
  id integer primary key,
  hit_id integer not null references screening_hit(id),
  party_id integer references party(id),
  entry_id text not null,
  decision text not null check (decision in ('true_match','false_positive','escalate')),
  reason text not null,
  user text not null,
  ts text not null,
  names_hash text not null,
  entry_content_hash text not null,
  expires_on text,
  shipment_id integer references shipment(id)
) strict;
create index hit_decision_key on hit_decision(party_id, entry_id, id);
create trigger hit_decision_no_update before update on hit_decision
begin select raise(abort, 'decisions are append-only: record a new one'); end;
create trigger hit_decision_no_delete before delete on hit_decision
begin select raise(abort, 'decisions are append-only'); end
""".split(";\n"):
        if stmt.strip():
            db.execute(stmt)
