"""Evidence files, stored by SHA-256, and their links to records.

Each function is one named migration; the names and their order are in
:data:`workbench.db.migrations.ORDER`. Never edit one that has shipped.
"""

from __future__ import annotations

from typing import Any


def evidence_0001_files(db: Any) -> None:
    db.execute("""create table evidence (
  id integer primary key,
  sha256 text not null check (length(sha256) = 64),
  size integer not null check (size >= 0),
  name text not null,
  mime text not null,
  content blob not null,
  added_at text not null,
  added_by text not null
) strict""")
    db.execute("create index evidence_sha on evidence(sha256)")
    db.execute("""create table evidence_link (
  id integer primary key,
  evidence_id integer not null references evidence(id),
  entity text not null,
  entity_id text not null,
  linked_at text not null,
  linked_by text not null
) strict""")
    db.execute("create index evidence_link_entity on evidence_link(entity, entity_id)")
    for t in ("evidence", "evidence_link"):
        db.execute(f"create trigger {t}_no_update before update on {t} begin "
                   f"select raise(abort, '{t} is append-only: UPDATE refused'); end")
        db.execute(f"create trigger {t}_no_delete before delete on {t} begin "
                   f"select raise(abort, '{t} is append-only: DELETE refused'); end")
