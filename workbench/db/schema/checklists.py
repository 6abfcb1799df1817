"""Checklist templates, runs, answers and sign-offs.

Each function is one named migration; the names and their order are in
:data:`workbench.db.migrations.ORDER`. Never edit one that has shipped.
"""

from __future__ import annotations

from typing import Any


def checklists_0001_templates_runs_answers_signoffs(db: Any) -> None:
    db.execute("""create table checklist_template (
  id integer primary key,
  template_id text not null,
  version text not null,
  sha256 text not null unique,
  origin text not null check (origin in ('builtin','custom')),
  title text not null,
  body text not null,
  added_at text not null,
  added_by text not null
) strict""")
    db.execute("create index checklist_template_tid on checklist_template(template_id)")
    db.execute("""create table checklist_run (
  id integer primary key,
  template_row integer not null references checklist_template(id),
  template_id text not null,
  party_id integer references party(id),
  shipment_id integer references shipment(id),
  revision integer not null default 1 check (revision >= 1),
  supersedes_id integer unique references checklist_run(id),
  status text not null check (status in ('in_progress','awaiting_approval','completed')),
  started_at text not null,
  started_by text not null,
  submitted_at text,
  submitted_by text,
  completed_at text,
  completed_by text,
  updated_at text not null,
  check ((party_id is null) <> (shipment_id is null))
) strict""")
    db.execute("create index checklist_run_party on checklist_run(party_id, template_id)")
    db.execute("create index checklist_run_shipment on checklist_run(shipment_id, template_id)")
    db.execute("create index checklist_run_status on checklist_run(status)")
    db.execute("""create table checklist_answer (
  id integer primary key,
  run_id integer not null references checklist_run(id),
  question_id text not null,
  value text not null,
  note text not null default '',
  red_flag integer not null default 0 check (red_flag in (0,1)),
  resolution text not null default '',
  answered_at text not null,
  answered_by text not null,
  resolved_by text not null default '',
  unique (run_id, question_id)
) strict""")
    db.execute("""create table checklist_signoff (
  id integer primary key,
  run_id integer not null references checklist_run(id),
  kind text not null check (kind in ('submit','approve','complete','reject')),
  username text not null,
  role text not null,
  signed_at text not null,
  password_verified integer not null check (password_verified = 1),
  red_flags text not null default '[]',
  note text not null default ''
) strict""")
    db.execute("create index checklist_signoff_run on checklist_signoff(run_id)")
    locked = "'checklist run is completed and locked: {} refused; start a revision'"
    db.execute("create trigger checklist_run_locked before update on checklist_run"
               " when old.status = 'completed' begin select raise(abort, "
               f"{locked.format('UPDATE')}); end")
    for t in ("checklist_run", "checklist_template", "checklist_signoff"):
        db.execute(f"create trigger {t}_no_delete before delete on {t} begin "
                   f"select raise(abort, '{t} rows are never deleted'); end")
    for t in ("checklist_template", "checklist_signoff"):
        db.execute(f"create trigger {t}_no_update before update on {t} begin "
                   f"select raise(abort, '{t} is append-only: UPDATE refused'); end")
    run_done = "(select status from checklist_run where id = {}.run_id) = 'completed'"
    for op, row in (("insert", "new"), ("update", "old"), ("delete", "old")):
        db.execute(f"create trigger checklist_answer_locked_{op} before {op} on checklist_answer"
                   f" when {run_done.format(row)} begin select raise(abort, "
                   f"{locked.format(op.upper())}); end")
    db.execute("create trigger checklist_answer_locked_move before update on checklist_answer"
               " when (select status from checklist_run where id = new.run_id) = 'completed'"
               f" begin select raise(abort, {locked.format('UPDATE')}); end")
    db.execute("create trigger checklist_evidence_locked before insert on evidence_link"
               " when new.entity = 'checklist_answer' and (select r.status from"
               " checklist_answer a join checklist_run r on r.id = a.run_id"
               " where a.id = cast(new.entity_id as integer)) = 'completed'"
               f" begin select raise(abort, {locked.format('attaching evidence')}); end")
