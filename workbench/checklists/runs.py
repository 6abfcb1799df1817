"""Checklist runs: answers, red flags, sign-off, revisions and expiry.

A run is one template answered for one party or one shipment. Its life::

    in_progress ──signoff (no red flags)──────────────────────▶ completed
         │                                                          │
         └─signoff by the officer (red flags) ─▶ awaiting_approval   │
                      ▲        approver's signoff (four eyes) ──────▶┘
                      └──── reject / any answer changed ──┘
    completed ──revise──▶ new run (revision + 1, supersedes the old one)

A completed run is locked: SQLite triggers refuse any UPDATE or DELETE of
the run and any change to its answers or evidence links, so not even a bug
here can edit it. A later change is a new revision that copies the answers
and supersedes the old run once it is itself completed.

Sign-off re-checks the signer's password (verified with scrypt, never
stored); a red-flag answer needs a resolution note and the sign-off of an
approver who answered none of the run's questions.

Expiry: a completed party run lapses ``valid_for_months`` after completion
(template default, overridable per template with
:func:`set_validity_months`), or after the date answered in the template's
``expiry_from_question`` (the date an end-user statement was signed),
whichever is earlier. :func:`due_for_reverification` lists lapsed and
soon-lapsing parties.

Every write is one ``wb.writing()`` transaction with its audit event(s).
Threading: like the store — any thread, one transaction per call.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Iterable

from workbench.records import evidence as ev
from workbench import users
from workbench.app import Change, Workbench
from workbench.errors import (
    ConflictError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationError,
    WorkbenchError,
)
from workbench.db.store import Store, utc_now
from workbench.records.values import parse_date, text
from workbench.checklists.templates import (
    Template,
    TemplateError,
    builtin_templates,
    canonical,
    load_template_file,
    template_from_json,
)

STATUSES = ("in_progress", "awaiting_approval", "completed")
STATUS_LABELS = {"in_progress": "In progress", "awaiting_approval": "Waiting for approval",
                 "completed": "Completed", "superseded": "Superseded"}
APPROVER_ROLES = ("approver",)
_NA = {"n/a", "na", "not applicable", "not_applicable", "-", "none"}
_YES = {"yes", "y", "true", "1", "ja", "是"}
_NO = {"no", "n", "false", "0", "nein", "否"}
MAX_ANSWER = 4000


class RunLocked(WorkbenchError):
    """The run is completed (locked) or superseded; start a revision."""


# -- dates -------------------------------------------------------------------------

def add_months(d: _dt.date, months: int) -> _dt.date:
    """`d` plus whole months, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return _dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _as_date(v: str | _dt.date) -> _dt.date:
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    return _dt.date.fromisoformat(parse_date(v))


# -- templates -------------------------------------------------------------------------

def _custom_rows(store: Store) -> list[Any]:
    return store.all("select * from checklist_template where origin = 'custom' and id in"
                     " (select max(id) from checklist_template where origin = 'custom'"
                     " group by template_id) order by template_id")


def list_templates(store: Store) -> list[Template]:
    """Built-in templates plus the newest version of each custom one. Read-only."""
    out = list(builtin_templates())
    for r in _custom_rows(store):
        out.append(template_from_json(r["body"], "custom"))
    return out


def get_template(store: Store, template_id: str) -> Template:
    """The current template with this id. Raises NotFound."""
    for t in list_templates(store):
        if t.id == template_id:
            return t
    ids = ", ".join(t.id for t in list_templates(store))
    raise NotFound(f"no checklist template {template_id!r} (templates: {ids})")


def _template_row(w: Any, wb: Workbench, t: Template) -> int:
    row = w.conn.execute("select id from checklist_template where sha256 = ?",
                         (t.sha256,)).fetchone()
    if row is not None:
        return row[0]
    return w.conn.execute(
        "insert into checklist_template (template_id, version, sha256, origin, title, body,"
        " added_at, added_by) values (?,?,?,?,?,?,?,?)",
        (t.id, t.version, t.sha256, t.origin, t.title, canonical(t.doc), utc_now(),
         wb.user.username)).lastrowid


def add_template(wb: Workbench, source: str | os.PathLike[str] | Template) -> Change:
    """Add a custom template from a YAML file (or a loaded Template).

    Refuses (TemplateError naming file, line and reason) a bad or hostile
    file, an id that a built-in template uses, and a version that exists
    with other content. Side effects: one transaction, one row, one audit
    event.
    """
    wb.require("officer", "approver", "admin")
    t = source if isinstance(source, Template) else load_template_file(source, "custom")
    t = Template(t.doc, "custom", t.file, t.sha256)
    if any(b.id == t.id for b in builtin_templates()):
        raise TemplateError(t.file or t.id, None, f"id {t.id!r} is a built-in template; "
                                                  f"choose another id")
    with wb.writing() as w:
        same = w.conn.execute("select sha256 from checklist_template where template_id = ?"
                              " and version = ?", (t.id, t.version)).fetchone()
        if same is not None and same[0] != t.sha256:
            raise TemplateError(t.file or t.id, None,
                                f"{t.id} version {t.version} exists already with other "
                                f"content; raise the version")
        if same is not None:
            rid = w.conn.execute("select id from checklist_template where sha256 = ?",
                                 (t.sha256,)).fetchone()[0]
            return Change("checklist_template", rid, "unchanged", t.to_json())
        rid = _template_row(w, wb, t)
        w.audit("checklist_template", rid, "add", None,
                {"id": t.id, "version": t.version, "sha256": t.sha256, "file": t.file})
    return Change("checklist_template", rid, "add", t.to_json())


def _run_template(store: Store, run: Any) -> Template:
    row = store.one("select origin, body from checklist_template where id = ?",
                    (run["template_row"],))
    return template_from_json(row["body"], row["origin"])


# -- settings: validity ----------------------------------------------------------------

def _validity_key(template_id: str) -> str:
    return f"checklist.valid_for_months.{template_id}"


def validity_months(store: Store, t: Template) -> int | None:
    """Months a completed run of `t` stays valid (None: never lapses)."""
    v = store.scalar("select value from meta where key = ?", (_validity_key(t.id),))
    if v is None:
        return t.doc.get("valid_for_months")
    return None if v == "never" else int(v)


def set_validity_months(wb: Workbench, template_id: str, months: int | None) -> Change:
    """Set how long a completed run of a template stays valid (None: never).

    Side effects: one transaction writing the setting and an audit event.
    Applies at once to every run's computed expiry.
    """
    wb.require("approver", "admin")
    t = get_template(wb.store, template_id)
    if months is not None and not 1 <= int(months) <= 120:
        raise ValidationError(FieldError("months", "between 1 and 120, or never"))
    before = validity_months(wb.store, t)
    with wb.writing() as w:
        w.conn.execute("insert into meta (key, value) values (?, ?) on conflict(key)"
                       " do update set value = excluded.value",
                       (_validity_key(t.id), "never" if months is None else str(int(months))))
        w.audit("checklist_template", t.id, "set_validity", {"months": before},
                {"months": months})
    return Change("checklist_template", t.id, "set_validity", {"months": months})


# -- targets and applicability -----------------------------------------------------------

def _party_label(store: Store, pid: int) -> str:
    return store.scalar("select legal_name from party where id = ?", (pid,)) or f"party {pid}"


def _completed_runs(store: Store, template_id: str, party_id: int) -> list[Any]:
    return store.all("select * from checklist_run where template_id = ? and party_id = ?"
                     " and status = 'completed' order by id desc", (template_id, party_id))


def valid_run(store: Store, template_id: str, party_id: int,
              on: str | _dt.date | None = None) -> dict[str, Any] | None:
    """The newest completed run of a template for a party still valid on
    `on` (default today), or None. Read-only."""
    day = _as_date(on or utc_now()[:10])
    for r in _completed_runs(store, template_id, party_id)[:1]:
        exp = expires_on(store, r["id"])
        if exp is None or _dt.date.fromisoformat(exp) > day:
            return {"id": r["id"], "completed_at": r["completed_at"], "expires_on": exp}
    return None


def _eccns_of_shipment(store: Store, shipment: dict[str, Any], date: str, pack: Any
                       ) -> list[tuple[str, str]]:
    from workbench.records import items as items_mod
    from workbench.rules.determinations import classify_item

    out = []
    for ln in shipment["lines"]:
        try:
            c = classify_item(store, ln["item_id"], date, pack)
            dec = c.get("decision")
            eccn = (dec or {}).get("eccn") if dec else None
            eccn = eccn or c["proposal"].get("eccn") or c.get("item_eccn") or ""
            model = c["model"]
        except WorkbenchError:
            it = items_mod.get_item(store, ln["item_id"])
            eccn, model = it.get("eccn") or "", it["model"]
        out.append((model, eccn))
    return out


class _Unknown(frozenset):
    """The members of a set the pack in force does not define: everything,
    so the checklist applies (fail closed) instead of never applying."""

    def __contains__(self, code: object) -> bool:
        return True


def _members(pack: Any, name: str, date: str) -> frozenset[str]:
    try:
        return pack.members(name, date)
    except KeyError:
        # a template naming a set this pack lacks: apply it, and the reason
        # says why, rather than silently skip a check
        return _Unknown()


def _evaluate(cond: dict[str, Any], ctx: dict[str, Any], t: Template) -> list[str] | None:
    """Reasons the condition holds, or None when it does not. Pure given ctx."""
    (k, v), = cond.items()
    party, ship, pack, date = ctx.get("party"), ctx.get("shipment"), ctx["pack"], ctx["date"]
    if k == "always":
        return ["applies to every target"]
    if k == "all":
        reasons: list[str] = []
        for c in v:
            r = _evaluate(c, ctx, t)
            if r is None:
                return None
            reasons += r
        return reasons
    if k == "any":
        for c in v:
            r = _evaluate(c, ctx, t)
            if r is not None:
                return r
        return None
    if k == "item_eccn_prefix":
        hits = [f"{m} is {e}" for m, e in ctx.get("eccns", [])
                if any(e.upper().startswith(p.upper()) for p in v)]
        return hits or None
    if k in ("destination_in", "destination_in_set"):
        dest = ctx.get("destination")
        if not dest:
            return None
        codes = set(v) if k == "destination_in" else _members(pack, v, date)
        return [f"destination {dest} is in {v if isinstance(v, str) else ', '.join(v)}"] \
            if dest in codes else None
    if party is None:
        return None
    if k == "new_customer":
        return None if valid_run(ctx["store"], t.id, party["id"], date) else \
            [f"{party['legal_name']} has no completed '{t.title}' valid on {date}"]
    if k == "has_owners":
        return [f"{party['legal_name']} has recorded owners or a parent"] \
            if party["owners"] or party["ultimate_parent_id"] else None
    if k == "party_hq_in_set":
        hq = pack.resolve_country(party.get("hq_country"), date)
        return [f"{party['legal_name']} is headquartered in {hq} ({v})"] \
            if hq and hq in _members(pack, v, date) else None
    if k == "parent_hq_in_set":
        if not party["ultimate_parent_id"]:
            return None
        hq = pack.resolve_country(ctx["store"].scalar(
            "select hq_country from party where id = ?", (party["ultimate_parent_id"],)), date)
        return [f"the ultimate parent of {party['legal_name']} is headquartered in {hq} ({v})"] \
            if hq and hq in _members(pack, v, date) else None
    if k == "party_role_in":
        roles = sorted(set(ctx.get("roles", [])) & set(v))
        return [f"{party['legal_name']} is {', '.join(roles)}"] if roles else None
    return None


def applicable(store: Store, *, party_id: int | None = None, shipment_id: int | None = None,
               date: str | None = None) -> list[dict[str, Any]]:
    """Which checklists this party or shipment needs, and why. Read-only.

    For a shipment: its shipment-scope templates, and the party-scope
    templates of each of its parties (with their roles); item ECCNs come from
    the rules area's classification (the officer's decision when there is
    one), the destination set from the active rules pack. Each entry:
    {template_id, title, scope, party_id | shipment_id, label, reasons,
    open_run, valid_run}.
    """
    from workbench.records import parties as parties_mod
    from workbench.records import shipments as shipments_mod
    from workbench.rules.determinations import active_pack

    if (party_id is None) == (shipment_id is None):
        raise ValueError("give a party or a shipment")
    pack = active_pack(store)
    out: list[dict[str, Any]] = []
    base: dict[str, Any] = {"store": store, "pack": pack}
    targets: list[tuple[dict[str, Any], list[str]]] = []
    if shipment_id is not None:
        s = shipments_mod.get_shipment(store, shipment_id)
        date = date or s["ship_date"]
        base.update(shipment=s, date=date, destination=pack.resolve_country(
            s["destination"], date), eccns=_eccns_of_shipment(store, s, date, pack))
        roles: dict[int, list[str]] = {}
        for sp in s["parties"]:
            roles.setdefault(sp["party_id"], []).append(sp["role"])
        targets = [(parties_mod.get_party(store, pid), r) for pid, r in roles.items()]
    else:
        date = date or utc_now()[:10]
        base.update(date=date)
        targets = [(parties_mod.get_party(store, party_id), [])]
    for t in list_templates(store):
        if t.scope == "shipment" and shipment_id is not None:
            r = _evaluate(t.doc["applies_when"], base, t)
            if r is not None:
                out.append(_applies(store, t, r, shipment_id=shipment_id,
                                    label=base["shipment"]["reference"]))
        elif t.scope == "party":
            for p, rl in targets:
                r = _evaluate(t.doc["applies_when"], {**base, "party": p, "roles": rl}, t)
                if r is not None:
                    out.append(_applies(store, t, r, party_id=p["id"], label=p["legal_name"],
                                        date=date))
    return out


def _applies(store: Store, t: Template, reasons: list[str], *, party_id: int | None = None,
             shipment_id: int | None = None, label: str = "", date: str | None = None
             ) -> dict[str, Any]:
    col, val = ("party_id", party_id) if party_id is not None else ("shipment_id", shipment_id)
    open_run = store.scalar(f"select id from checklist_run where template_id = ? and {col} = ?"
                            " and status <> 'completed' order by id desc limit 1", (t.id, val))
    done = None
    if party_id is not None:
        done = valid_run(store, t.id, party_id, date)
    else:
        done_id = store.scalar("select id from checklist_run where template_id = ? and"
                               " shipment_id = ? and status = 'completed' order by id desc"
                               " limit 1", (t.id, shipment_id))
        done = {"id": done_id} if done_id else None
    return {"template_id": t.id, "title": t.title, "scope": "party" if party_id else "shipment",
            col: val, "label": label, "reasons": reasons, "open_run": open_run,
            "valid_run": done["id"] if done else None}


# -- runs ----------------------------------------------------------------------------------

def _run_row(store: Store, run_id: int) -> Any:
    row = store.one("select * from checklist_run where id = ?", (run_id,))
    if row is None:
        raise NotFound(f"checklist run {run_id} does not exist")
    return row


def start_run(wb: Workbench, template_id: str, *, party_id: int | None = None,
              shipment_id: int | None = None) -> Change:
    """Start answering a template for a party or a shipment.

    Refuses (ConflictError) when a run of this template for this target is
    still open. Side effects: one transaction storing the template as used
    (by hash, once) and the run, with an audit event.
    """
    if (party_id is None) == (shipment_id is None):
        raise ValidationError(FieldError("target", "choose a party or a shipment"))
    t = get_template(wb.store, template_id)
    store = wb.store
    if party_id is not None and store.one("select 1 from party where id = ?", (party_id,)) is None:
        raise NotFound(f"party {party_id} does not exist")
    if shipment_id is not None and store.one("select 1 from shipment where id = ?",
                                             (shipment_id,)) is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    now = utc_now()
    with wb.writing() as w:
        col, val = ("party_id", party_id) if party_id is not None else ("shipment_id", shipment_id)
        open_id = w.conn.execute(f"select id from checklist_run where template_id = ? and"
                                 f" {col} = ? and status <> 'completed'", (t.id, val)).fetchone()
        if open_id is not None:
            raise ConflictError(f"checklist run {open_id[0]} ({t.title}) is still open for this "
                                f"{col[:-3]}; finish it instead of starting another")
        trow = _template_row(w, wb, t)
        rid = w.conn.execute(
            "insert into checklist_run (template_row, template_id, party_id, shipment_id,"
            " status, started_at, started_by, updated_at) values (?,?,?,?,?,?,?,?)",
            (trow, t.id, party_id, shipment_id, "in_progress", now, wb.user.username,
             now)).lastrowid
        rec = {"template": t.id, "version": t.version, "sha256": t.sha256,
               "party_id": party_id, "shipment_id": shipment_id, "revision": 1}
        w.audit("checklist_run", rid, "start", None, rec)
    return Change("checklist_run", rid, "start", get_run(store, rid))


def superseded_by(store: Store, run_id: int) -> int | None:
    """The completed revision that replaced this run, if any."""
    return store.scalar("select id from checklist_run where supersedes_id = ? and"
                        " status = 'completed'", (run_id,))


def _check_open(store: Store, run: Any) -> None:
    if run["status"] == "completed":
        nxt = store.scalar("select id from checklist_run where supersedes_id = ?", (run["id"],))
        hint = (f"; revision {nxt} replaces it" if nxt else
                f"; start a revision (`workbench checklist revise {run['id']}`) to change it")
        raise RunLocked(f"checklist run {run['id']} is completed and locked{hint}")


def normalise_answer(q: dict[str, Any], value: Any) -> str:
    """The canonical text of an answer to question `q`. Raises ValueError
    with a message for the officer. Pure.

    yes_no takes yes/no/n-a in several spellings; choice takes the option
    text (any case) or its 1-based number, so a keyboard user can type 2.
    """
    raw = "" if value is None else str(value).strip()
    if not raw:
        raise ValueError("an answer is required")
    t = q["type"]
    if t == "yes_no":
        low = raw.lower()
        if low in _YES:
            return "yes"
        if low in _NO:
            return "no"
        if low in _NA:
            return "not_applicable"
        raise ValueError(f"{raw!r}: answer yes, no or n/a")
    if t == "date":
        return parse_date(raw)
    if t == "choice":
        opts = q["options"]
        if raw.isdigit() and 1 <= int(raw) <= len(opts):
            return opts[int(raw) - 1]
        for o in opts:
            if o.casefold() == raw.casefold():
                return o
        raise ValueError(f"{raw!r} is not one of: " +
                         "; ".join(f"{i + 1}. {o}" for i, o in enumerate(opts)))
    return text(raw, max_len=MAX_ANSWER)


def is_red_flag(q: dict[str, Any], value: str) -> bool:
    return value.casefold() in [a.casefold() for a in q.get("red_flag_answers") or []]


def answer(wb: Workbench, run_id: int, question_id: str, value: Any, *,
           note: str | None = None, resolution: str | None = None,
           evidence_files: Iterable[str | os.PathLike[str]] = (),
           evidence_ids: Iterable[int] = ()) -> Change:
    """Record (or change) one answer, with a note, a red-flag resolution and
    evidence files to attach.

    Raises RunLocked for a completed run, ValidationError for a bad value
    (nothing written), EvidenceError for a refused file. Changing an answer
    of a run waiting for approval sends it back to in progress (the officer's
    submission no longer covers it). Side effects: ONE transaction holding
    the answer, each evidence file and link, and their audit events.
    """
    store = wb.store
    run = _run_row(store, run_id)
    t = _run_template(store, run)
    q = t.question(question_id)
    if q is None:
        raise ValidationError(FieldError(
            "question", f"{question_id!r} is not a question of {t.id} "
                        f"({', '.join(x['id'] for x in t.questions)})"))
    try:
        val = normalise_answer(q, value)
    except ValueError as e:
        raise ValidationError(FieldError(question_id, str(e))) from None
    try:
        note_t = None if note is None else text(note, max_len=MAX_ANSWER)
        res_t = None if resolution is None else text(resolution, max_len=MAX_ANSWER)
    except ValueError as e:
        raise ValidationError(FieldError("note", str(e))) from None
    # Read files before the transaction: a refused file writes nothing and
    # the write lock is not held while a large file is read.
    files = [ev.read_file_for_evidence(p) for p in evidence_files]
    red = is_red_flag(q, val)
    now = utc_now()
    user = wb.user.username
    with wb.writing() as w:
        run = w.conn.execute("select * from checklist_run where id = ?", (run_id,)).fetchone()
        _check_open(store, run)
        before_row = w.conn.execute("select * from checklist_answer where run_id = ? and"
                                    " question_id = ?", (run_id, question_id)).fetchone()
        before = dict(before_row) if before_row else None
        new_note = note_t if note_t is not None else (before["note"] if before else "")
        if res_t is not None:
            new_res, resolved_by = res_t, (user if res_t else "")
        elif before and before["value"] == val:
            new_res, resolved_by = before["resolution"], before["resolved_by"]
        else:
            new_res, resolved_by = "", ""  # a new answer needs its own resolution
        if before is None:
            aid = w.conn.execute(
                "insert into checklist_answer (run_id, question_id, value, note, red_flag,"
                " resolution, answered_at, answered_by, resolved_by) values (?,?,?,?,?,?,?,?,?)",
                (run_id, question_id, val, new_note, int(red), new_res, now, user,
                 resolved_by)).lastrowid
        else:
            aid = before["id"]
            changed = before["value"] != val
            w.conn.execute(
                "update checklist_answer set value = ?, note = ?, red_flag = ?, resolution = ?,"
                " answered_at = ?, answered_by = ?, resolved_by = ? where id = ?",
                (val, new_note, int(red), new_res, now if changed else before["answered_at"],
                 user if changed else before["answered_by"], resolved_by, aid))
        for data, name in files:
            ev.store_evidence(wb, data, name, link=("checklist_answer", aid))
        for eid in evidence_ids:
            ev.link_evidence(wb, int(eid), "checklist_answer", aid)
        status = run["status"]
        if status == "awaiting_approval":
            status = "in_progress"
        w.conn.execute("update checklist_run set status = ?, updated_at = ? where id = ?",
                       (status, now, run_id))
        after = dict(w.conn.execute("select * from checklist_answer where id = ?",
                                    (aid,)).fetchone())
        w.audit("checklist_run", run_id, "answer", before, after)
    return Change("checklist_answer", aid, "create" if before is None else "update",
                  after, {"run_id": run_id, "red_flag": red})


def _answers(store: Store, run_id: int) -> dict[str, dict[str, Any]]:
    out = {}
    for r in store.all("select * from checklist_answer where run_id = ?", (run_id,)):
        a = dict(r)
        a["red_flag"] = bool(a["red_flag"])
        a["evidence"] = ev.linked(store, "checklist_answer", a["id"])
        out[a["question_id"]] = a
    return out


def problems(t: Template, answers: dict[str, dict[str, Any]]) -> list[str]:
    """What stands between a run and its sign-off (empty = ready). Pure."""
    out = []
    for q in t.questions:
        a = answers.get(q["id"])
        if a is None:
            if q.get("required", True):
                out.append(f"{q['id']}: not answered")
            continue
        if q.get("evidence_required") and a["value"] != "not_applicable" and not a["evidence"]:
            out.append(f"{q['id']}: evidence required")
        if a["red_flag"] and not a["resolution"].strip():
            out.append(f"{q['id']}: red flag ({a['value']}) needs a resolution note")
    return out


def expires_on(store: Store, run_id: int) -> str | None:
    """ISO date a completed run lapses on (None: open run or never lapses).
    Uses the current validity setting, so a policy change applies at once."""
    run = _run_row(store, run_id)
    if run["status"] != "completed" or not run["completed_at"]:
        return None
    t = _run_template(store, run)
    months = validity_months(store, t)
    if months is None:
        return None
    exp = add_months(_as_date(run["completed_at"][:10]), months)
    qid = t.doc.get("expiry_from_question")
    if qid:
        a = store.one("select value from checklist_answer where run_id = ? and question_id = ?",
                      (run_id, qid))
        if a is not None:
            try:
                exp = min(exp, add_months(_as_date(a["value"]), months))
            except ValueError:
                pass
    return exp.isoformat()


def get_run(store: Store, run_id: int) -> dict[str, Any]:
    """Everything about a run: template, target, each question with its
    answer and evidence, red flags, problems, sign-offs, revision links and
    expiry. Read-only."""
    run = _run_row(store, run_id)
    t = _run_template(store, run)
    answers = _answers(store, run_id)
    if run["party_id"] is not None:
        target = {"kind": "party", "id": run["party_id"],
                  "label": _party_label(store, run["party_id"])}
    else:
        target = {"kind": "shipment", "id": run["shipment_id"],
                  "label": store.scalar("select reference from shipment where id = ?",
                                        (run["shipment_id"],))}
    sup = superseded_by(store, run_id)
    questions = []
    for q in t.questions:
        questions.append({**q, "answer": answers.get(q["id"])})
    return {
        "id": run["id"], "status": run["status"],
        "state": "superseded" if sup else run["status"],
        "template": {"id": t.id, "version": t.version, "title": t.title, "sha256": t.sha256,
                     "origin": t.origin, "sources": t.doc["sources"]},
        "target": target, "revision": run["revision"], "supersedes_id": run["supersedes_id"],
        "superseded_by": sup, "started_at": run["started_at"], "started_by": run["started_by"],
        "submitted_at": run["submitted_at"], "submitted_by": run["submitted_by"],
        "completed_at": run["completed_at"], "completed_by": run["completed_by"],
        "expires_on": expires_on(store, run_id),
        "questions": questions,
        "red_flags": [q for q, a in answers.items() if a["red_flag"]],
        "problems": problems(t, answers),
        "signoffs": [dict(r, red_flags=json.loads(r["red_flags"])) for r in store.all(
            "select id, kind, username, role, signed_at, password_verified, red_flags, note"
            " from checklist_signoff where run_id = ? order by id", (run_id,))],
    }


def list_runs(store: Store, *, status: str | None = None, party_id: int | None = None,
              shipment_id: int | None = None) -> list[dict[str, Any]]:
    """Runs, newest first, with target label and red-flag count. Read-only.
    `status` may also be "superseded" or "open" (in progress or waiting)."""
    sql = ("select r.*, (select count(*) from checklist_answer a where a.run_id = r.id"
           " and a.red_flag = 1) as red_flags, coalesce(p.legal_name, s.reference) as target,"
           " (select x.id from checklist_run x where x.supersedes_id = r.id and"
           " x.status = 'completed') as superseded_by"
           " from checklist_run r left join party p on p.id = r.party_id"
           " left join shipment s on s.id = r.shipment_id where 1=1")
    params: list[Any] = []
    if status == "open":
        sql += " and r.status <> 'completed'"
    elif status == "superseded":
        sql += " and exists (select 1 from checklist_run x where x.supersedes_id = r.id" \
               " and x.status = 'completed')"
    elif status:
        sql += " and r.status = ?"
        params.append(status)
    if party_id is not None:
        sql += " and r.party_id = ?"
        params.append(party_id)
    if shipment_id is not None:
        sql += " and r.shipment_id = ?"
        params.append(shipment_id)
    rows = [dict(r) for r in store.all(sql + " order by r.id desc", params)]
    for r in rows:
        r["state"] = "superseded" if r["superseded_by"] else r["status"]
        r["expires_on"] = expires_on(store, r["id"]) if r["status"] == "completed" else None
    return rows


def signoff(wb: Workbench, run_id: int, password: str, note: str = "") -> Change:
    """Sign a run with the re-entered password.

    - No red flags: any officer/approver/admin completes (locks) the run.
    - Red flags, signer not an approver: the run is submitted and waits for
      an approver (``awaiting_approval``).
    - Red flags, signer an approver who answered and resolved none of the
      run's answers (four eyes): approved and completed.

    The password is checked with scrypt and never stored; the sign-off row
    records user, role, time and that the password was verified. Raises
    AuthenticationError (wrong password), PermissionDenied (four eyes,
    auditor), RunLocked, or ValidationError listing what is missing. Side
    effects: one transaction with the sign-off row, the status change and
    the audit event.
    """
    store = wb.store
    if not wb.user.can_write:
        raise PermissionDenied(f"{wb.user.username} is an auditor (read-only) and cannot "
                               f"sign checklists")
    run = _run_row(store, run_id)
    _check_open(store, run)
    # The password is checked before anything else is revealed or written.
    users.authenticate(store, wb.user.username, password)
    t = _run_template(store, run)
    answers = _answers(store, run_id)
    missing = problems(t, answers)
    if missing:
        raise ValidationError([FieldError(m.split(":")[0], m.split(": ", 1)[1])
                               for m in missing])
    red = sorted(q for q, a in answers.items() if a["red_flag"])
    user, role = wb.user.username, wb.user.role
    if red and role in APPROVER_ROLES:
        own = sorted(q for q, a in answers.items()
                     if user.casefold() in (a["answered_by"].casefold(),
                                            a["resolved_by"].casefold()))
        if own:
            raise PermissionDenied(
                f"four eyes: {user} answered or resolved {', '.join(own)} in run {run_id} "
                f"and cannot approve it; another approver must sign")
        kind = "approve"
    elif red:
        if run["status"] == "awaiting_approval":
            raise PermissionDenied(f"run {run_id} has red flags ({', '.join(red)}) and waits "
                                   f"for an approver's sign-off")
        kind = "submit"
    else:
        kind = "complete"
    try:
        note_t = text(note, max_len=MAX_ANSWER)
    except ValueError as e:
        raise ValidationError(FieldError("note", str(e))) from None
    now = utc_now()
    with wb.writing() as w:
        cur = w.conn.execute("select status from checklist_run where id = ?", (run_id,)).fetchone()
        if cur["status"] != run["status"]:
            raise ConflictError(f"run {run_id} changed while you were signing; look again")
        sid = w.conn.execute(
            "insert into checklist_signoff (run_id, kind, username, role, signed_at,"
            " password_verified, red_flags, note) values (?,?,?,?,?,1,?,?)",
            (run_id, kind, user, role, now, json.dumps(red), note_t)).lastrowid
        if kind == "submit":
            w.conn.execute("update checklist_run set status = 'awaiting_approval',"
                           " submitted_at = ?, submitted_by = ?, updated_at = ? where id = ?",
                           (now, user, now, run_id))
        else:
            w.conn.execute("update checklist_run set status = 'completed', completed_at = ?,"
                           " completed_by = ?, updated_at = ? where id = ?",
                           (now, user, now, run_id))
        w.audit("checklist_run", run_id, kind, {"status": run["status"]},
                {"status": "awaiting_approval" if kind == "submit" else "completed",
                 "signoff": sid, "by": user, "role": role, "red_flags": red,
                 "password_verified": True, "note": note_t})
    return Change("checklist_run", run_id, kind, get_run(store, run_id))


def reject(wb: Workbench, run_id: int, password: str, reason: str) -> Change:
    """An approver sends a run waiting for approval back to the officer.

    Side effects: one transaction (sign-off row of kind ``reject`` with the
    reason, status back to in progress, audit event). Password re-checked.
    """
    store = wb.store
    wb.require(*APPROVER_ROLES)
    run = _run_row(store, run_id)
    _check_open(store, run)
    users.authenticate(store, wb.user.username, password)
    if not (reason or "").strip():
        raise ValidationError(FieldError("reason", "say what must change"))
    if run["status"] != "awaiting_approval":
        raise ValidationError(FieldError("status", f"run {run_id} is not waiting for approval"))
    now = utc_now()
    with wb.writing() as w:
        w.conn.execute(
            "insert into checklist_signoff (run_id, kind, username, role, signed_at,"
            " password_verified, note) values (?,?,?,?,?,1,?)",
            (run_id, "reject", wb.user.username, wb.user.role, now, text(reason)))
        w.conn.execute("update checklist_run set status = 'in_progress', updated_at = ?"
                       " where id = ?", (now, run_id))
        w.audit("checklist_run", run_id, "reject", {"status": "awaiting_approval"},
                {"status": "in_progress", "reason": reason})
    return Change("checklist_run", run_id, "reject", get_run(store, run_id))


def revise_run(wb: Workbench, run_id: int) -> Change:
    """Start a new revision of a completed run, with its answers copied.

    The old run stays locked and valid until the revision is completed,
    which then supersedes it. Refuses an open run (just change it) and a run
    that already has a revision. Side effects: one transaction (new run,
    copied answers and evidence links, audit event).
    """
    store = wb.store
    old = _run_row(store, run_id)
    if old["status"] != "completed":
        raise ValidationError(FieldError("run", f"run {run_id} is still open; change it directly"))
    nxt = store.scalar("select id from checklist_run where supersedes_id = ?", (run_id,))
    if nxt:
        raise ConflictError(f"run {run_id} already has revision {nxt}; change that one")
    now = utc_now()
    with wb.writing() as w:
        rid = w.conn.execute(
            "insert into checklist_run (template_row, template_id, party_id, shipment_id,"
            " revision, supersedes_id, status, started_at, started_by, updated_at)"
            " values (?,?,?,?,?,?,?,?,?,?)",
            (old["template_row"], old["template_id"], old["party_id"], old["shipment_id"],
             old["revision"] + 1, run_id, "in_progress", now, wb.user.username, now)).lastrowid
        for a in w.conn.execute("select * from checklist_answer where run_id = ? order by id",
                                (run_id,)).fetchall():
            aid = w.conn.execute(
                "insert into checklist_answer (run_id, question_id, value, note, red_flag,"
                " resolution, answered_at, answered_by, resolved_by) values (?,?,?,?,?,?,?,?,?)",
                (rid, a["question_id"], a["value"], a["note"], a["red_flag"], a["resolution"],
                 a["answered_at"], a["answered_by"], a["resolved_by"])).lastrowid
            for e in ev.linked(store, "checklist_answer", a["id"]):
                ev.link_evidence(wb, e["id"], "checklist_answer", aid)
        w.audit("checklist_run", rid, "revise", None,
                {"supersedes": run_id, "revision": old["revision"] + 1})
    return Change("checklist_run", rid, "revise", get_run(store, rid), {"supersedes": run_id})


def due_for_reverification(store: Store, today: str | _dt.date, *,
                           within_days: int = 0) -> list[dict[str, Any]]:
    """Parties whose latest completed party check has lapsed by `today` or
    lapses within `within_days`. Read-only.

    Each entry: {party_id, legal_name, template_id, title, run_id,
    completed_at, expires_on, state: "expired" | "expiring", open_run}.
    Sorted by expiry date.
    """
    day = _as_date(today)
    horizon = day + _dt.timedelta(days=max(0, int(within_days)))
    rows = store.all(
        "select r.id, r.party_id, r.template_id, r.completed_at, p.legal_name from checklist_run r"
        " join party p on p.id = r.party_id where r.id in (select max(id) from checklist_run"
        " where status = 'completed' and party_id is not null group by party_id, template_id)")
    out = []
    for r in rows:
        exp = expires_on(store, r["id"])
        if exp is None:
            continue
        e = _dt.date.fromisoformat(exp)
        if e > horizon:
            continue
        title = store.scalar("select t.title from checklist_template t join checklist_run r"
                             " on r.template_row = t.id where r.id = ?", (r["id"],))
        open_run = store.scalar("select id from checklist_run where party_id = ? and"
                                " template_id = ? and status <> 'completed' order by id desc"
                                " limit 1", (r["party_id"], r["template_id"]))
        out.append({"party_id": r["party_id"], "legal_name": r["legal_name"],
                    "template_id": r["template_id"], "title": title, "run_id": r["id"],
                    "completed_at": r["completed_at"], "expires_on": exp,
                    "state": "expired" if e <= day else "expiring", "open_run": open_run})
    out.sort(key=lambda x: (x["expires_on"], x["legal_name"]))
    return out


# -- export --------------------------------------------------------------------------------

def run_sheets(run: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """A run as sheets for :func:`workbench.spreadsheets.exports.write_sheets` (answers
    first, so a CSV export holds them). Pure."""
    tgt = f"{run['target']['kind']} {run['target']['label']}"
    answers = []
    for q in run["questions"]:
        a = q["answer"] or {}
        answers.append([run["id"], run["template"]["id"], tgt, q["id"], q["text"],
                        a.get("value"), "yes" if a.get("red_flag") else "no",
                        a.get("resolution"), a.get("note"), a.get("answered_by"),
                        a.get("answered_at"),
                        "; ".join(f"{e['name']} sha256:{e['sha256']}" for e in a.get("evidence", [])),
                        q["source"]])
    info = [[k, v] for k, v in (
        ("run", run["id"]), ("template", run["template"]["id"]),
        ("template version", run["template"]["version"]),
        ("template sha256", run["template"]["sha256"]), ("target", tgt),
        ("revision", run["revision"]), ("supersedes", run["supersedes_id"]),
        ("superseded by", run["superseded_by"]), ("status", run["state"]),
        ("started", f"{run['started_at']} by {run['started_by']}"),
        ("completed", f"{run['completed_at']} by {run['completed_by']}"
         if run["completed_at"] else None),
        ("expires on", run["expires_on"]), ("red flags", ", ".join(run["red_flags"])),
        ("problems", "; ".join(run["problems"])))]
    signs = [[s["kind"], s["username"], s["role"], s["signed_at"],
              "yes" if s["password_verified"] else "no", ", ".join(s["red_flags"]), s["note"]]
             for s in run["signoffs"]]
    evid = [[q["id"], e["id"], e["name"], e["mime"], e["size"], e["sha256"], e["added_by"],
             e["added_at"]] for q in run["questions"] for e in ((q["answer"] or {}).get("evidence") or [])]
    return [
        ("Answers", ["run", "template", "target", "question", "text", "answer", "red flag",
                     "resolution", "note", "answered by", "answered at", "evidence", "source"],
         answers),
        ("Run", ["field", "value"], info),
        ("Sign-offs", ["kind", "user", "role", "signed at", "password verified", "red flags",
                       "note"], signs),
        ("Evidence", ["question", "evidence id", "name", "type", "bytes", "sha256",
                      "added by", "added at"], evid),
    ]


def export_run(store: Store, run_id: int, path: str | os.PathLike[str]) -> Path:
    """Write a run to .json, .csv (answers) or .xlsx (all sheets).

    Side effects: writes `path` atomically (temp file + rename). Read-only
    on the database.
    """
    from workbench.spreadsheets.exports import write_sheets

    p = Path(path)
    run = get_run(store, run_id)
    if p.suffix.lower() == ".json":
        tmp = p.with_name(f".{p.name}.partial-{os.getpid()}")
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_text(json.dumps(run, indent=2, ensure_ascii=False, default=str),
                           encoding="utf-8")
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)
        return p
    if p.suffix.lower() not in (".csv", ".xlsx"):
        raise WorkbenchError(f"{p.name}: export a run to .json, .csv or .xlsx")
    return write_sheets(p, run_sheets(run))
