"""Rules packs, activations, classification decisions, party rules facts, is-
informed letters and determinations (all append-only).

Each function is one named migration; the names and their order are in
:data:`workbench.db.migrations.ORDER`. Never edit one that has shipped.
"""

from __future__ import annotations

from typing import Any

from workbench.db.schema.common import append_only


def rules_0001_packs_classifications_determinations(db: Any) -> None:
    db.execute("""create table rules_pack (
  id integer primary key,
  pack_id text not null,
  version text not null,
  sha256 text not null unique,
  as_of text not null,
  supersedes text,
  manifest text not null,
  files text not null,
  loaded_at text not null,
  loaded_by text not null
) strict""")
    db.execute("""create table rules_pack_activation (
  seq integer primary key,
  pack_row integer not null references rules_pack(id),
  activated_at text not null,
  activated_by text not null
) strict""")
    db.execute("""create table rules_classification (
  id integer primary key,
  item_id integer not null references item(id),
  item_version integer not null,
  pack_sha256 text not null,
  as_of_date text not null,
  computed text not null,
  proposed_eccn text,
  decision text not null check (decision in ('accepted','overridden')),
  eccn text,
  reason text not null default '',
  evidence text not null default '[]',
  decided_by text not null,
  decided_at text not null
) strict""")
    db.execute("create index rules_classification_item on rules_classification(item_id)")
    db.execute("""create table rules_determination (
  id integer primary key,
  shipment_id integer references shipment(id),
  shipment_version integer,
  eval_date text not null,
  pack_id text not null,
  pack_version text not null,
  pack_sha256 text not null,
  input text not null,
  input_sha256 text not null,
  result text not null,
  outcome text not null,
  exception text,
  evaluated_at text not null,
  evaluated_by text not null
) strict""")
    db.execute("create index rules_determination_shipment on rules_determination(shipment_id)")
    db.execute("""create table rules_party_tag (
  id integer primary key,
  party_id integer not null references party(id),
  tag text not null,
  present integer not null check (present in (0,1)),
  note text not null default '',
  recorded_by text not null,
  recorded_at text not null
) strict""")
    db.execute("create index rules_party_tag_party on rules_party_tag(party_id, tag)")
    db.execute("""create table rules_letter (
  id integer primary key,
  overlay_id text not null,
  active integer not null check (active in (0,1)),
  received_on text,
  reference text not null default '',
  note text not null default '',
  recorded_by text not null,
  recorded_at text not null
) strict""")
    for t in ("rules_pack", "rules_pack_activation", "rules_classification",
              "rules_determination", "rules_party_tag", "rules_letter"):
        append_only(db, t)
