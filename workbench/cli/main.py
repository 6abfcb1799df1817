"""The `workbench` command: everything the app does, from a terminal or script.

Conventions: ``--db PATH`` everywhere (default: the app's database);
``--json`` for machine-readable output; errors are one line on stderr and a
non-zero exit (1 for a refusal or failed check, 2 for a usage error); long
jobs draw a progress bar only when stderr is a terminal, so piped output stays
clean. Commands that change records sign in: ``--user`` / ``$WORKBENCH_USER``
and ``$WORKBENCH_PASSWORD`` (or a hidden prompt).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from workbench import __version__, users
from workbench.db import audit
from workbench.cli import checklists, clearance, packets, rules, screening
from workbench.cli.common import Ctx, pass_ctx, progress_bar
from workbench.errors import SignInRequired, WorkbenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", metavar="PATH", envvar="WORKBENCH_DB",
              help="Database file (default: the app's database in your data folder).")
@click.option("--user", "user", metavar="NAME",
              help="User to sign in as for commands that change records "
                   "(or $WORKBENCH_USER; password from $WORKBENCH_PASSWORD or a prompt).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.version_option(__version__, prog_name="workbench")
@click.pass_context
def cli(ctx: click.Context, db: str | None, user: str | None, as_json: bool) -> None:
    """Export Compliance Workbench: records, screening and audit for exporters
    of AI chips."""
    ctx.obj = Ctx(db, user, as_json)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.option("--demo", is_flag=True, help="Fill a new database with the demo exporter.")
@click.option("--owner", metavar="NAME",
              help="Create the owner (admin) account; password from "
                   "$WORKBENCH_PASSWORD or a prompt.")
@pass_ctx
def init(c: Ctx, demo: bool, owner: str | None) -> None:
    """Create (or migrate) the database; optionally with demo data or an owner."""
    from workbench.bootstrap import open_workbench

    existed = c.db_path.exists()
    cb, finish = progress_bar("Demo data")
    wb = open_workbench(c.db_path, demo=demo, progress=cb)
    finish()
    c._wb = wb
    if owner:
        if users.count(wb.store):
            raise WorkbenchError("this database has users already; add more with "
                                 "`workbench users add`")
        password = os.environ.get("WORKBENCH_PASSWORD") or click.prompt(
            f"Password for {owner}", hide_input=True, confirmation_prompt=True, err=True)
        wb.create_user(owner, password, "admin", "Owner")
    info = {"db": str(c.db_path), "created": not existed, "users": users.count(wb.store),
            "demo": demo}
    c.out(info, f"{'Created' if not existed else 'Opened'} {c.db_path} "
                f"({info['users']} users{', demo data' if demo else ''})")


@cli.command("import")
@click.argument("kind", type=click.Choice(["parties", "items", "shipments"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--good-only", is_flag=True,
              help="Import the good rows even when some rows are bad (bad ones are reported).")
@click.option("--no-update", is_flag=True,
              help="Report rows for records that exist already instead of updating them.")
@pass_ctx
def import_cmd(c: Ctx, kind: str, file: Path, good_only: bool, no_update: bool) -> None:
    """Import parties, items or shipments from a CSV or XLSX file.

    Columns are matched by header name (see `workbench template KIND FILE`).
    Nothing is written when any row is bad, unless --good-only.
    """
    from workbench.spreadsheets.imports import import_file

    wb = c.signed_in()
    cb, finish = progress_bar(f"Importing {file.name}")
    try:
        report = import_file(wb, kind, file, good_only=good_only,
                             update_existing=not no_update, progress=cb)
    finally:
        finish()
    data = report.as_dict() if hasattr(report, "as_dict") else vars(report)

    def text() -> str:
        lines = [f"{file}: {data.get('created', 0)} created, {data.get('updated', 0)} "
                 f"updated, {len(report.errors)} bad rows"]
        for e in report.errors[:50]:
            lines.append(f"  row {e.row}, column {e.column}: {e.reason}")
        if len(report.errors) > 50:
            lines.append(f"  … and {len(report.errors) - 50} more (use --json for all)")
        if report.errors and not good_only:
            lines.append("Nothing was imported. Fix the rows above, or use --good-only.")
        return "\n".join(lines)

    c.out(data, text)
    if report.errors and not good_only:
        sys.exit(1)


@cli.command("template")
@click.argument("kind", type=click.Choice(["parties", "items", "shipments"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def template_cmd(kind: str, file: Path) -> None:
    """Write an import template (CSV or XLSX, by the file's extension)."""
    from workbench.spreadsheets.exports import write_template

    write_template(kind, file)
    click.echo(f"Wrote {file}")


@cli.command("export")
@click.argument("table", type=click.Choice(["parties", "items", "shipments", "licences", "audit"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--search", default="", help="Only rows matching this text.")
@pass_ctx
def export_cmd(c: Ctx, table: str, file: Path, search: str) -> None:
    """Export a table to CSV or XLSX (by the file's extension)."""
    from workbench.records.browse import Query
    from workbench.spreadsheets.exports import export_table

    n = export_table(c.workbench(), table, file, Query(search=search))
    c.out({"table": table, "file": str(file), "rows": n}, f"Wrote {n} rows to {file}")


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def backup(c: Ctx, dest: Path) -> None:
    """Copy the database to DEST with SQLite's online backup (safe while in use)."""
    from workbench.packets import anchors

    wb = c.signed_in_if_named()
    cb, finish = progress_bar("Backup")
    try:
        # the copy's anchor, kept with it: later, the live trail must still hold it
        c.unlocking(lambda: anchors.database_key(wb.store))  # asked before the copy
        dest, anchor, warnings = anchors.backup_with_anchor(wb, dest, progress=cb)
    finally:
        finish()
    for w in warnings:
        click.echo(w, err=True)
    c.out({"backup": str(dest), "bytes": dest.stat().st_size, "anchor": str(anchor)},
          f"Backed up {c.db_path} to {dest} ({dest.stat().st_size:,} bytes); audit anchor "
          f"{anchor}")


def _write_anchor(wb: Any, out: Path, kind: str) -> tuple[Path, dict[str, Any], list[str]]:
    """:func:`workbench.packets.anchors.make_and_record` by whoever is signed in."""
    from workbench.packets import anchors

    return anchors.make_and_record(wb, out, kind=kind)


def _against(store: Any, files: tuple[Path, ...]) -> tuple[list[str], list[str]]:
    """(problems, facts) of the trail compared with outside copies."""
    from workbench.clearance import binding

    r = binding.full_check(store, files) if files else None
    return (r.outside, r.copies) if r else ([], [])


_AGAINST = click.option(
    "--against", "against", multiple=True, type=click.Path(path_type=Path),
    help="An audit anchor, packet PDF or packet workbook made earlier (repeatable): the "
         "trail must still hold its head.")


@cli.command()
@_AGAINST
@pass_ctx
def check(c: Ctx, against: tuple[Path, ...]) -> None:
    """Integrity check, foreign key check and audit-chain verification."""
    from workbench.clearance import binding

    wb = c.workbench()
    rep = binding.full_check(wb.store, against, anchor_folder=True)
    problems, result, unbound, outside = rep.integrity, rep.chain, rep.records, rep.outside
    ok = rep.ok
    data = {"ok": ok, "integrity": problems or ["ok"], "audit": result.as_dict(),
            "against": outside + rep.unreadable, "copies": rep.copies,
            "records": unbound or ["ok"],
            "screening_index": {"ok": rep.index_problem is None, "found": rep.index}}

    def text() -> str:
        lines = [f"database: {'ok' if not problems else 'PROBLEMS'}"]
        lines += [f"  {p}" for p in problems[:20]]
        lines.append(f"audit trail: {'ok' if result.ok else 'BROKEN'}, "
                     f"{result.events} events verified, head {result.head[:16]}…")
        if not result.ok:
            lines.append(f"  {result.problem}")
        lines.append("records (parties, items, licences, shipments and their status moves, "
                     "drawdowns, list snapshots, "
                     "evidence): " + ("ok, as the trail recorded them" if not unbound
                                      else "DO NOT MATCH THE TRAIL"))
        lines += [f"  {p}" for p in unbound[:20]]
        lines.append(f"screening index: {'ok, ' if rep.index_problem is None else ''}"
                     f"{rep.index}")
        if rep.copies or rep.unreadable:
            lines.append(f"outside copies: "
                         f"{'ok' if not outside + rep.unreadable else 'DO NOT MATCH'} "
                         f"({len(rep.copies)} checked, the anchor folder's included)")
            lines += [f"  {p}" for p in outside + rep.unreadable]
        return "\n".join(lines)

    c.out(data, text)
    if not ok:
        sys.exit(1)


@cli.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@_AGAINST
@pass_ctx
def audit_verify(c: Ctx, against: tuple[Path, ...]) -> None:
    """Walk the hash chain; name the first edited, removed or reordered event.

    The chain alone cannot show a cut tail or a trail rewritten and re-hashed;
    --against compares it with anchors, packets or backup anchors made before."""
    store = c.workbench().store
    result = audit.verify(store)
    outside, facts = _against(store, against) if against else ([], [])

    def text() -> str:
        lines = [f"ok: {result.events} events, head {result.head}" if result.ok
                 else f"BROKEN at event {result.event_seq}: {result.problem}"]
        if against and not outside:
            lines.append(f"the trail holds {len(against)} outside "
                         f"cop{'y' if len(against) == 1 else 'ies'}:")
            lines += [f"  {f}" for f in facts]
        elif outside:
            lines.append("DOES NOT MATCH what was recorded outside the database:")
            lines += [f"  {p}" for p in outside]
        return "\n".join(lines)

    c.out({**result.as_dict(), "against": outside, "copies": facts}, text)
    if not result.ok or outside:
        sys.exit(1)


@audit_group.command("anchor")
@click.argument("out", type=click.Path(path_type=Path))
@pass_ctx
def audit_anchor(c: Ctx, out: Path) -> None:
    """Write a signed anchor of the trail (sequence number, head hash, time) to
    OUT. Keep it away from the database (another disk, a mail to yourself):
    `audit verify --against OUT` later proves the trail still holds it."""
    wb = c.signed_in_if_named()
    if c.db_path.resolve().parent == out.resolve().parent:
        click.echo("note: the anchor is beside the database; a copy elsewhere is what "
                   "protects against someone who can change both", err=True)
    path, a, warnings = c.unlocking(lambda: _write_anchor(wb, out, "by hand"))
    for w in warnings:
        click.echo(w, err=True)
    c.out({"anchor": str(path), "seq": a["seq"], "head": a["head"], "made_at": a["made_at"]},
          f"Anchored event {a['seq']} (head {a['head'][:16]}…) at {a['made_at']} in {path}")


@audit_group.command("log")
@click.option("--entity", help="party, item, shipment, licence, user, import …")
@click.option("--id", "entity_id", help="Only this record.")
@click.option("--limit", default=50, show_default=True)
@pass_ctx
def audit_log(c: Ctx, entity: str | None, entity_id: str | None, limit: int) -> None:
    """The newest events, newest first."""
    rows = [dict(r) for r in audit.events(c.workbench().store, entity=entity,
                                         entity_id=entity_id, limit=limit)]
    c.out(rows, lambda: "\n".join(
        f"{r['seq']:>6}  {r['ts'][:19]}  {r['user']:<12} {r['action']:<10} "
        f"{r['entity']} {r['entity_id']}" for r in rows) or "no events")


@cli.group("users")
def users_group() -> None:
    """Local users and roles (officer, approver, auditor, admin)."""


@users_group.command("list")
@pass_ctx
def users_list(c: Ctx) -> None:
    rows = users.list_users(c.workbench().store)
    c.out(rows, lambda: "\n".join(
        f"{r['username']:<16} {r['role']:<9} {'active' if r['active'] else 'inactive':<8} "
        f"{r['display_name']}" for r in rows) or "no users")


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), required=True)
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--new-password-env", default="WORKBENCH_NEW_PASSWORD", show_default=True,
              help="Environment variable holding the new user's password "
                   "(else a prompt).")
@pass_ctx
def users_add(c: Ctx, username: str, role: str, display_name: str,
              new_password_env: str) -> None:
    """Add a user (admins only; the first user of an empty database needs no sign-in)."""
    wb = c.workbench()
    if users.count(wb.store):
        wb = c.signed_in()
    password = os.environ.get(new_password_env) or click.prompt(
        f"Password for {username}", hide_input=True, confirmation_prompt=True, err=True)
    u = wb.create_user(username, password, role, display_name)
    c.out({"id": u.id, "username": u.username, "role": u.role},
          f"Added {u.username} ({u.role})")


@users_group.command("passwd")
@click.argument("username")
@click.option("--new-password-env", default="WORKBENCH_NEW_PASSWORD", show_default=True)
@pass_ctx
def users_passwd(c: Ctx, username: str, new_password_env: str) -> None:
    """Change a password (your own, or anyone's as admin)."""
    wb = c.signed_in()
    password = os.environ.get(new_password_env) or click.prompt(
        f"New password for {username}", hide_input=True, confirmation_prompt=True, err=True)
    wb.set_password(username, password)
    c.out({"username": username}, f"Password changed for {username}")


@users_group.command("deactivate")
@click.argument("username")
@pass_ctx
def users_deactivate(c: Ctx, username: str) -> None:
    """Stop a user from signing in (their history stays)."""
    c.signed_in().set_user_active(username, False)
    c.out({"username": username, "active": False}, f"{username} can no longer sign in")


@cli.group("settings")
def settings_group() -> None:
    """Organisation settings (the exporter's name on audit packets)."""


@settings_group.command("show")
@pass_ctx
def settings_show(c: Ctx) -> None:
    from workbench import settings

    rows = settings.all_settings(c.workbench().store)
    c.out(rows, lambda: "\n".join(f"{k.replace('_', '-'):<16} {v['value'] or '(not set)'}"
                                  for k, v in rows.items()))


@settings_group.command("set")
@click.argument("name", type=click.Choice(["exporter-name", "anchor-folder"]))
@click.argument("value")
@pass_ctx
def settings_set(c: Ctx, name: str, value: str) -> None:
    """Change a setting (audited)."""
    from workbench import settings

    key = name.replace("-", "_")
    stored = settings.set_value(c.signed_in(), key, value)
    c.out({key: stored}, f"{name} is now {stored!r}")




# Each area adds its commands to the group.
for _area in (screening, rules, checklists, clearance, packets):
    _area.register(cli)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning known errors into one line + exit 1."""
    try:
        cli.main(args=argv, prog_name="workbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("workbench: aborted", err=True)
        return 1
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except SignInRequired as e:
        click.echo(f"workbench: {e}; name yourself with --user NAME (or $WORKBENCH_USER)",
                   err=True)
        return 1
    except WorkbenchError as e:
        click.echo(f"workbench: {e}", err=True)
        return 1
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except KeyboardInterrupt:
        click.echo("workbench: interrupted; nothing half-written was kept", err=True)
        return 130
    return 0



if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
