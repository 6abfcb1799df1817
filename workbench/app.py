"""The `Workbench` façade: one open store plus the signed-in user.

It is created once (by main.py, the CLI or a test) and passed to every domain
function. It holds no other state, so two façades on the same file — the app
and a CLI run — behave like two users of one database.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import platformdirs

from workbench import APP_NAME, users
from workbench.db import audit
from workbench.errors import PermissionDenied, SignInRequired, ValidationError
from workbench.db.store import Store
from workbench.users import SYSTEM, User


def default_db_path() -> Path:
    """Where the app keeps its database unless told otherwise.

    ``$WORKBENCH_DB`` wins; else the per-user data folder (platformdirs), e.g.
    ``~/.local/share/export-compliance-workbench/workbench.db`` on Linux.
    """
    env = os.environ.get("WORKBENCH_DB")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "workbench.db"


@dataclass
class Change:
    """What a domain write changed, so a UI refreshes only what cares."""

    entity: str
    id: Any
    action: str
    record: dict | None = None
    extra: dict = field(default_factory=dict)


class Writer:
    """Handed out by :meth:`Workbench.writing`; appends audit events to the
    open transaction on behalf of the signed-in user."""

    def __init__(self, wb: "Workbench"):
        self.wb = wb
        self.conn = wb.store.conn

    def audit(self, entity: str, entity_id: Any, action: str,
              before: Any = None, after: Any = None) -> int:
        return audit.append(self.wb.store, user=self.wb.user.username,
                            entity=entity, entity_id=entity_id, action=action,
                            before=before, after=after)


class Workbench:
    """Façade over one store for one signed-in user.

    Threading: usable from any thread (the store gives each thread its own
    connection); the UI funnels writes through one background worker.
    """

    def __init__(self, store: Store, user: User | None = None):
        self.store = store
        self.user = user or SYSTEM

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None,
             user: User | None = None) -> "Workbench":
        return cls(Store(path or default_db_path()), user)

    def close(self) -> None:
        self.store.close()

    def as_user(self, user: User) -> "Workbench":
        return Workbench(self.store, user)

    def login(self, username: str, password: str) -> User:
        """Check the password and make that user the signed-in one."""
        self.user = users.authenticate(self.store, username, password)
        return self.user

    def require(self, *roles: str) -> None:
        if self.user.role not in roles:
            raise PermissionDenied(
                f"{self.user.username} ({self.user.role}) may not do this; "
                f"it needs the role {' or '.join(roles)}")

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """One domain transaction with its audit events; all or nothing.

        Side effects: BEGIN IMMEDIATE on this thread's connection; commits on
        success, rolls back on any exception. Refuses read-only roles.
        """
        if not self.user.can_write:
            raise PermissionDenied(
                f"{self.user.username} is an auditor (read-only) and cannot "
                f"change records")
        if self.user is SYSTEM and users.count(self.store):
            # the system identity sets a database up; once people exist, every
            # change is someone's (issue 13: a run recorded as "system")
            raise SignInRequired("sign in first: this changes records, and every change "
                                   "is recorded under the name of the person who made it")
        with self.store.transaction():
            yield Writer(self)

    # -- user administration ------------------------------------------------
    def create_user(self, username: str, password: str, role: str,
                    display_name: str = "") -> User:
        """Add a local user (admins only, or anyone while there are none).

        Side effects: one transaction inserting the user and its audit event
        (the password hash is never written to the audit trail).
        """
        users.validate_new_user(username, password, role)
        first = users.count(self.store) == 0
        if not first:
            self.require("admin")
        username = username.strip()
        if users.get(self.store, username):
            raise ValidationError(users.FieldError(
                "username", f"a user named {username!r} exists already"))
        pw = users.hash_password(password)
        actor = self if not first else Workbench(
            self.store, User(0, username, role, display_name))
        with actor.writing() as w:
            cur = w.conn.execute(
                "insert into user (username, display_name, role, password_hash,"
                " created_at) values (?,?,?,?,?)",
                (username, display_name, role, pw, audit.utc_now()))
            uid = cur.lastrowid
            w.audit("user", uid, "create", None,
                    {"username": username, "role": role,
                     "display_name": display_name})
        return User(uid, username, role, display_name)

    def set_password(self, username: str, password: str) -> None:
        """Change a password: the user themself, or an admin."""
        if self.user.username != username:
            self.require("admin")
        target = users.get(self.store, username)
        if target is None:
            raise ValidationError(users.FieldError("username", "no such user"))
        if len(password) < users.MIN_PASSWORD:
            raise ValidationError(users.FieldError(
                "password", f"at least {users.MIN_PASSWORD} characters, please"))
        with self.store.transaction():
            self.store.conn.execute(
                "update user set password_hash = ? where id = ?",
                (users.hash_password(password), target.id))
            audit.append(self.store, user=self.user.username, entity="user",
                         entity_id=target.id, action="set_password")

    def set_user_active(self, username: str, active: bool) -> None:
        self.require("admin")
        target = users.get(self.store, username)
        if target is None:
            raise ValidationError(users.FieldError("username", "no such user"))
        with self.writing() as w:
            w.conn.execute("update user set active = ? where id = ?",
                           (1 if active else 0, target.id))
            w.audit("user", target.id, "activate" if active else "deactivate")
