"""Opening the app's database the first time and every time after."""

from __future__ import annotations

import os
from typing import Callable

from workbench import users
from workbench.app import Workbench, default_db_path


def open_workbench(path: str | os.PathLike[str] | None = None, *, demo: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> Workbench:
    """Open (creating and migrating as needed) the database at `path`.

    With ``demo=True`` a database that has no users yet is filled with the
    demo exporter (users with password ``demo-password``). Side effects: may
    create the file and its folder, migrate it, and write demo data. The
    returned façade is signed in as nobody (the system identity) — callers
    log a person in before writing.
    """
    wb = Workbench.open(path or default_db_path())
    if demo and users.count(wb.store) == 0:
        from workbench.demo import load_demo

        load_demo(wb, progress=progress)
        wb.user = users.SYSTEM
    return wb


def needs_owner(wb: Workbench) -> bool:
    """True for a new, empty database: the first user becomes its owner (admin)."""
    return users.count(wb.store) == 0
