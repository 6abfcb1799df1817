"""What the commands of every area share: the lazily opened façade of one
invocation (:class:`Ctx`), signing in, output, a progress bar, and finding a
party or shipment by what the officer types.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from workbench.app import Workbench, default_db_path
from workbench.errors import NotFound, WorkbenchError


def _busy_notice() -> Callable[[float], None]:
    """Say once, on stderr, that a write is waiting for another program."""
    said = []

    def notice(waited: float) -> None:
        if not said:
            said.append(True)
            click.echo("busy: another program is writing to the database; waiting "
                       "(Ctrl+C to give up)…", err=True)
    return notice


class Ctx:
    """Lazily opened façade shared by the subcommands of one invocation."""

    def __init__(self, db: str | None, user: str | None, as_json: bool):
        self.db_path = Path(db) if db else default_db_path()
        self.username = user
        self.as_json = as_json
        self._wb: Workbench | None = None

    def workbench(self, *, must_exist: bool = True) -> Workbench:
        if self._wb is None:
            if must_exist and not self.db_path.exists():
                raise WorkbenchError(
                    f"{self.db_path}: no database here; create one with "
                    f"`workbench --db {self.db_path} init` (add --demo for demo data)")
            self._wb = Workbench.open(self.db_path)
            self._wb.store.busy_notice = _busy_notice()
        return self._wb

    def signed_in(self) -> Workbench:
        """The façade with a user signed in (for commands that write)."""
        wb = self.workbench()
        name = self.username or os.environ.get("WORKBENCH_USER")
        if not name:
            raise WorkbenchError("this command changes records: name the user with "
                                 "--user NAME or $WORKBENCH_USER")
        password = os.environ.get("WORKBENCH_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise WorkbenchError("no password: set $WORKBENCH_PASSWORD or run "
                                     "from a terminal to be asked")
            password = click.prompt(f"Password for {name}", hide_input=True,
                                    err=True)
        wb.login(name, password)
        return wb

    def signed_in_if_named(self) -> Workbench:
        """Signed in when a user is named (a wrong password is refused), else
        not: for commands anyone may run that record who ran them."""
        if self.username or os.environ.get("WORKBENCH_USER"):
            return self.signed_in()
        return self.workbench()

    def unlocking(self, fn: Callable[[], Any]) -> Any:
        """`fn()`; when the signing key needs its passphrase and this runs at
        a terminal, ask (twice for a new key), keep it for this command and
        try again. Elsewhere the one-line KeyLocked error stands."""
        from workbench.packets.signing import KeyLocked, remember

        for _attempt in range(3):
            try:
                return fn()
            except KeyLocked as e:
                if not sys.stdin.isatty():
                    raise
                click.echo(str(e), err=True)
                pw = click.prompt("Passphrase for the new signing key" if e.creating else
                                  "Signing key passphrase", hide_input=True, err=True,
                                  confirmation_prompt=e.creating)
                remember(self.workbench().store.secrets, e.key_dir, pw)
        return fn()

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()

    def out(self, data: Any, text: str | Callable[[], str]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        else:
            click.echo(text() if callable(text) else text)


def progress_bar(label: str) -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """A progress callback drawing a bar on a terminal, silent when piped."""
    if not sys.stderr.isatty():
        return (lambda done, total: None), (lambda: None)
    state: dict[str, Any] = {}

    def cb(done: int, total: int | None) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=total or 0, label=label, file=sys.stderr)
            bar.__enter__()
            state["bar"], state["pos"] = bar, 0
        if total and bar.length != total:
            bar.length = total
        bar.update(done - state["pos"])
        state["pos"] = done

    def finish() -> None:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)

    return cb, finish


pass_ctx = click.make_pass_decorator(Ctx)


def party_by_ref(store: Any, ref: str) -> int:
    """A party by id or by name (as `workbench` commands take it). Read-only;
    NotFound names what was typed."""
    if ref.strip().isdigit() and store.one("select 1 from party where id = ?", (int(ref),)):
        return int(ref)
    from workbench.records.parties import find_party  # here: every command pays for module imports

    pid = find_party(store, ref)
    if pid is None:
        raise NotFound(f"no party with id or name {ref!r}")
    return pid


def shipment_by_ref(store: Any, ref: str) -> int:
    """A shipment by reference or id. Read-only; NotFound names what was
    typed."""
    from workbench.records.shipments import find_shipment

    sid = find_shipment(store, ref)
    if sid is None and ref.strip().isdigit() and store.one(
            "select 1 from shipment where id = ?", (int(ref),)):
        sid = int(ref)
    if sid is None:
        raise NotFound(f"no shipment with reference {ref!r}")
    return sid


def approver_password(approver: str) -> str:
    """The second person's password for a four-eyes command: from
    $WORKBENCH_APPROVER_PASSWORD, else asked on the terminal (never echoed).
    Raises WorkbenchError when neither is possible (e.g. in a script)."""
    pw = os.environ.get("WORKBENCH_APPROVER_PASSWORD")
    if pw is None:
        if not sys.stdin.isatty():
            raise WorkbenchError("no approver password: set $WORKBENCH_APPROVER_PASSWORD "
                                 "or run from a terminal to be asked")
        pw = click.prompt(f"Password for {approver} (approver)", hide_input=True, err=True)
    return pw
