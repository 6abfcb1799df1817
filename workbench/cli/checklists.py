"""`workbench checklist …`: templates, runs, answers, sign-off, expiry."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from workbench.cli.common import Ctx, party_by_ref, pass_ctx, shipment_by_ref
from workbench.errors import WorkbenchError


def _password(prompt: str) -> str:
    pw = os.environ.get("WORKBENCH_PASSWORD")
    if pw is not None:
        return pw
    if not sys.stdin.isatty():
        raise WorkbenchError("sign-off needs your password again: set $WORKBENCH_PASSWORD "
                             "or run from a terminal to be asked")
    return click.prompt(prompt, hide_input=True, err=True)


def _run_text(r: dict[str, Any]) -> str:
    lines = [f"Run {r['id']}: {r['template']['title']} ({r['template']['id']} "
             f"v{r['template']['version']}) for {r['target']['kind']} {r['target']['label']}",
             f"  status {r['state']}, revision {r['revision']}"
             + (f", supersedes {r['supersedes_id']}" if r["supersedes_id"] else "")
             + (f", superseded by {r['superseded_by']}" if r["superseded_by"] else "")
             + (f", expires {r['expires_on']}" if r["expires_on"] else "")]
    for q in r["questions"]:
        a = q["answer"]
        mark = "!" if a and a["red_flag"] else ("✓" if a else " ")
        val = a["value"] if a else "—"
        lines.append(f"  [{mark}] {q['id']}: {val}")
        if a and a["note"]:
            lines.append(f"        note: {a['note']}")
        if a and a["red_flag"]:
            lines.append(f"        resolution: {a['resolution'] or '(missing)'}")
        for e in (a or {}).get("evidence", []):
            lines.append(f"        evidence {e['id']}: {e['name']} ({e['mime']}, {e['size']:,} "
                         f"bytes, sha256 {e['sha256'][:16]}…)")
    for s in r["signoffs"]:
        lines.append(f"  signed: {s['kind']} by {s['username']} ({s['role']}) at {s['signed_at']}")
    if r["problems"]:
        lines.append("  before sign-off: " + "; ".join(r["problems"]))
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    """Add the `checklist` command group to the main `workbench` group.
    Each command imports the checklists module itself: every other command
    would pay a tenth of a second for it otherwise."""

    @cli.group("checklist")
    def checklist_group() -> None:
        """End-user verification checklists: templates, runs, red flags, sign-off."""

    @checklist_group.command("templates")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_ctx
    def templates_cmd(c: Ctx, as_json: bool) -> None:
        """List the checklist templates with their questions."""
        from workbench.checklists import runs as cs
        c.as_json = c.as_json or as_json
        ts = cs.list_templates(c.workbench().store)

        def text() -> str:
            out = []
            for t in ts:
                out.append(f"{t.id} v{t.version} [{t.scope}, {t.origin}] {t.title}")
                for q in t.questions:
                    flag = f" red flag: {', '.join(q['red_flag_answers'])}" \
                        if q["red_flag_answers"] else ""
                    ev = " evidence required" if q["evidence_required"] else ""
                    out.append(f"  {q['id']} ({q['type']}){flag}{ev}: {q['text']}")
                    out.append(f"      source: {q['source']}")
            return "\n".join(out)

        c.out([t.to_json() for t in ts], text)

    @checklist_group.command("add-template")
    @click.argument("path", type=click.Path(path_type=Path))
    @pass_ctx
    def add_template_cmd(c: Ctx, path: Path) -> None:
        """Add a custom template from a YAML file (refused with file, line, reason)."""
        from workbench.checklists import runs as cs
        ch = cs.add_template(c.signed_in(), path)
        c.out(ch.record, f"Template {ch.record['id']} v{ch.record['version']} "
                         f"{'added' if ch.action == 'add' else 'already present'}")

    @checklist_group.command("applicable")
    @click.option("--party", "party", metavar="ID|NAME")
    @click.option("--shipment", "shipment", metavar="REF")
    @pass_ctx
    def applicable_cmd(c: Ctx, party: str | None, shipment: str | None) -> None:
        """Which checklists a party or shipment needs, and why."""
        from workbench.checklists import runs as cs
        store = c.workbench().store
        if (party is None) == (shipment is None):
            raise click.UsageError("give --party or --shipment")
        res = cs.applicable(store, party_id=party_by_ref(store, party) if party else None,
                            shipment_id=shipment_by_ref(store, shipment) if shipment else None)

        def text() -> str:
            if not res:
                return "No checklist applies."
            return "\n".join(
                f"{a['template_id']} for {a['scope']} {a['label']}"
                + (f" (open run {a['open_run']})" if a["open_run"] else "")
                + (f" (done: run {a['valid_run']})" if a["valid_run"] else "")
                + "".join(f"\n    because {r}" for r in a["reasons"]) for a in res)

        c.out(res, text)

    @checklist_group.command("start")
    @click.option("--party", "party", metavar="ID|NAME")
    @click.option("--shipment", "shipment", metavar="REF")
    @click.option("--template", "template", required=True, metavar="ID")
    @pass_ctx
    def start_cmd(c: Ctx, party: str | None, shipment: str | None, template: str) -> None:
        """Start a checklist run for a party or a shipment."""
        from workbench.checklists import runs as cs
        if (party is None) == (shipment is None):
            raise click.UsageError("give --party or --shipment")
        wb = c.signed_in()
        ch = cs.start_run(wb, template, party_id=party_by_ref(wb.store, party) if party else None,
                          shipment_id=shipment_by_ref(wb.store, shipment) if shipment else None)
        c.out(ch.record, f"Run {ch.id} started: {ch.record['template']['title']} for "
                         f"{ch.record['target']['kind']} {ch.record['target']['label']}")

    @checklist_group.command("answer")
    @click.argument("run", type=int)
    @click.argument("qid")
    @click.argument("value")
    @click.option("--note", help="A note with the answer.")
    @click.option("--resolution", help="How a red flag was resolved (required for red flags).")
    @click.option("--evidence", "evidence", multiple=True, type=click.Path(path_type=Path),
                  help="A file to attach (repeatable); stored in the database with SHA-256.")
    @pass_ctx
    def answer_cmd(c: Ctx, run: int, qid: str, value: str, note: str | None,
                   resolution: str | None, evidence: tuple[Path, ...]) -> None:
        """Answer question QID of run RUN."""
        from workbench.checklists import runs as cs
        ch = cs.answer(c.signed_in(), run, qid, value, note=note, resolution=resolution,
                       evidence_files=evidence)
        red = " — RED FLAG: add --resolution and have an approver sign off" \
            if ch.extra["red_flag"] and not ch.record["resolution"] else \
            (" — red flag (resolved, needs an approver)" if ch.extra["red_flag"] else "")
        c.out({**ch.record, "red_flag": ch.extra["red_flag"]},
              f"Run {run}: {qid} = {ch.record['value']}{red}")

    @checklist_group.command("show")
    @click.argument("run", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_ctx
    def show_cmd(c: Ctx, run: int, as_json: bool) -> None:
        """Show a run with its answers, evidence and sign-offs."""
        from workbench.checklists import runs as cs
        c.as_json = c.as_json or as_json
        r = cs.get_run(c.workbench().store, run)
        c.out(r, lambda: _run_text(r))

    @checklist_group.command("runs")
    @click.option("--status", type=click.Choice(["open", "in_progress", "awaiting_approval",
                                                 "completed", "superseded"]))
    @pass_ctx
    def runs_cmd(c: Ctx, status: str | None) -> None:
        """List runs, newest first."""
        from workbench.checklists import runs as cs
        rows = cs.list_runs(c.workbench().store, status=status)
        c.out(rows, lambda: "\n".join(
            f"{r['id']:>5}  {r['state']:<18} {r['template_id']:<24} {r['target']}"
            + (f"  red flags {r['red_flags']}" if r["red_flags"] else "")
            for r in rows) or "No runs.")

    @checklist_group.command("signoff")
    @click.argument("run", type=int)
    @click.option("--note", default="", help="A note with the signature.")
    @pass_ctx
    def signoff_cmd(c: Ctx, run: int, note: str) -> None:
        """Sign a run; the password is asked again ($WORKBENCH_PASSWORD or a prompt)."""
        from workbench.checklists import runs as cs
        wb = c.signed_in()
        ch = cs.signoff(wb, run, _password(f"Password of {wb.user.username} to sign"), note)
        msg = {"submit": f"Run {run} has red flags and now waits for an approver",
               "approve": f"Run {run} approved and completed",
               "complete": f"Run {run} completed"}[ch.action]
        c.out(ch.record, msg)

    @checklist_group.command("reject")
    @click.argument("run", type=int)
    @click.option("--reason", required=True)
    @pass_ctx
    def reject_cmd(c: Ctx, run: int, reason: str) -> None:
        """Send a run waiting for approval back to the officer (approvers)."""
        from workbench.checklists import runs as cs
        wb = c.signed_in()
        ch = cs.reject(wb, run, _password(f"Password of {wb.user.username}"), reason)
        c.out(ch.record, f"Run {run} sent back: {reason}")

    @checklist_group.command("revise")
    @click.argument("run", type=int)
    @pass_ctx
    def revise_cmd(c: Ctx, run: int) -> None:
        """Start a new revision of a completed (locked) run."""
        from workbench.checklists import runs as cs
        ch = cs.revise_run(c.signed_in(), run)
        c.out(ch.record, f"Run {ch.id} is revision {ch.record['revision']} of run {run}")

    @checklist_group.command("export")
    @click.argument("run", type=int)
    @click.argument("file", type=click.Path(path_type=Path))
    @pass_ctx
    def export_cmd(c: Ctx, run: int, file: Path) -> None:
        """Export a run to FILE (.json, .csv or .xlsx)."""
        from workbench.checklists import runs as cs
        p = cs.export_run(c.workbench().store, run, file)
        c.out({"run": run, "file": str(p)}, f"Run {run} written to {p}")

    @checklist_group.command("due")
    @click.option("--today", metavar="YYYY-MM-DD", help="Date to check (default: today).")
    @click.option("--within", default=0, type=int, metavar="DAYS",
                  help="Also list checks lapsing within DAYS.")
    @pass_ctx
    def due_cmd(c: Ctx, today: str | None, within: int) -> None:
        """Parties due for re-verification (lapsed or lapsing checks)."""
        from workbench.checklists import runs as cs
        from workbench.db.store import utc_now

        rows = cs.due_for_reverification(c.workbench().store, today or utc_now()[:10],
                                         within_days=within)
        c.out(rows, lambda: "\n".join(
            f"{r['expires_on']}  {r['state']:<8} {r['legal_name']} — {r['title']} "
            f"(run {r['run_id']})" for r in rows) or "No party is due for re-verification.")

    @checklist_group.command("evidence")
    @click.argument("evidence_id", type=int)
    @click.option("--to", "folder", type=click.Path(path_type=Path),
                  help="Folder for the read-only copy (default: a new temp folder).")
    @pass_ctx
    def evidence_cmd(c: Ctx, evidence_id: int, folder: Path | None) -> None:
        """Check an evidence file's hash and write a read-only copy for viewing."""
        from workbench.records import evidence as ev

        p = ev.export_for_viewing(c.workbench().store, evidence_id, folder)
        c.out({"evidence": evidence_id, "file": str(p)}, str(p))
