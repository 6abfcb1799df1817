"""Named, append-only schema migrations.

Rules: never edit or reorder a migration that has shipped; add a new one at
the end. All pending migrations run in ONE transaction, so a crash or a kill
mid-way leaves the file exactly as it was; before that, a file that already
held data is copied aside (``NAME.before-migration-….bak``). A file that has
a migration this build does not know was written by a newer workbench and is
refused rather than guessed at.

The schema of every area lives in :mod:`workbench.db.schema` (one module
per area) and :data:`ORDER` lists every migration once, in the order a new
database gets them. The order is fixed here, not by which module happened to
be imported first, and a test pins it.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Callable

from workbench.db.schema import checklists, core, evidence, ledger, rules, screening
from workbench.errors import NewerDatabaseError, StoreError

if TYPE_CHECKING:  # the store imports this module to migrate on open
    from workbench.db.store import Store

MIGRATION_SET = "workbench"

# Every migration, once, in the order a new database gets them. Append only:
# a database records the names it has, so a shipped name is never renamed,
# edited or moved.
ORDER: list[tuple[str, Callable[[Any], None]]] = [
    ("0001_core", core.m0001_core),
    ("0002_master_data", core.m0002_master_data),
    ("0003_list_views", core.m0003_list_views),
    ("screening_0001_snapshots", screening.screening_0001_snapshots),
    ("screening_0002_results", screening.screening_0002_results),
    ("rules_0001_packs_classifications_determinations", rules.rules_0001_packs_classifications_determinations),
    ("evidence_0001_files", evidence.evidence_0001_files),
    ("checklists_0001_templates_runs_answers_signoffs", checklists.checklists_0001_templates_runs_answers_signoffs),
    ("ledger_0001_drawdowns_status_obligations", ledger.ledger_0001_drawdowns_status_obligations),
]

def __getattr__(name: str) -> Any:
    # ``migrations`` (sqlite-utils' Migrations, and ``migration``, its
    # decorator alias for tests that add failing ones) is made on first use:
    # importing sqlite-utils costs a command a tenth of a second, and an
    # up-to-date database never needs it (see :func:`migrate`).
    if name in ("migrations", "migration"):
        from sqlite_utils.migrations import Migrations

        m = Migrations(MIGRATION_SET)
        for n, fn in ORDER:
            m(name=n)(fn)
        globals().update(migrations=m, migration=m)
        return m
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def known_names() -> list[str]:
    """Names of the migrations this build knows, in the order they apply."""
    m = globals().get("migrations")
    return [x.name for x in m._migrations] if m is not None else [n for n, _ in ORDER]


def _applied_names(conn: sqlite3.Connection) -> list[str] | None:
    """Names recorded as applied, or None when the file has no record yet."""
    try:
        return [r[0] for r in conn.execute(
            "select name from _sqlite_migrations where migration_set = ? order by rowid",
            (MIGRATION_SET,))]
    except sqlite3.OperationalError:
        return None


def _newer_error(path, unknown: list[str]) -> NewerDatabaseError:
    return NewerDatabaseError(
        f"{path} was written by a newer version of the workbench "
        f"(it has schema changes this version does not know: "
        f"{', '.join(unknown)}). Open it with that version or newer; "
        f"nothing was changed.")


def refuse_newer(path) -> None:
    """Raise NewerDatabaseError when the file at `path` has migrations this
    build does not know, StoreError when it is another program's database. Reads with a plain connection (no journal-mode
    switch), so a refused file is not modified. Other problems are left to
    the normal open."""
    known = known_names()
    conn = sqlite3.connect(str(path))
    try:
        tables = {r[0] for r in conn.execute(
            "select name from sqlite_master where type = 'table'"
            " and name not like 'sqlite_%'")}
        if tables and "_sqlite_migrations" not in tables:
            # Someone else's SQLite file: adding our tables to it would mix
            # two applications' data, so refuse before touching it.
            raise StoreError(
                f"{path} is an SQLite database of another program (it has tables "
                f"such as {', '.join(sorted(tables)[:3])}); the workbench will not "
                f"write into it. Choose another file.")
        rows = conn.execute(
            "select name from _sqlite_migrations where migration_set = ?"
            " order by rowid", (MIGRATION_SET,)).fetchall() if tables else []
    except sqlite3.Error:
        return  # empty, locked or damaged: Store's open reports it
    finally:
        conn.close()
    unknown = [r[0] for r in rows if r[0] not in known]
    if unknown:
        raise _newer_error(path, unknown)


def migrate(store: Store) -> list[str]:
    """Apply pending migrations; return their names.

    Side effects: may copy the file aside first, then writes the schema in a
    single transaction. Raises NewerDatabaseError for a file from a newer
    build, StoreError when a migration fails (nothing is changed then).
    """
    known = known_names()
    recorded = _applied_names(store.conn)
    if recorded is not None:
        unknown = [n for n in recorded if n not in known]
        if unknown:
            raise _newer_error(store.path, unknown)
        if set(known) <= set(recorded):
            return []  # up to date: the common case, without sqlite-utils
    db = store.db
    ms = __getattr__("migrations") if "migrations" not in globals() else globals()["migrations"]
    applied = [m.name for m in ms.applied(db)]
    unknown = [n for n in applied if n not in known]
    if unknown:
        raise _newer_error(store.path, unknown)
    pending = [m.name for m in ms.pending(db)]
    if not pending:
        return []
    has_data = bool(applied)
    if has_data:
        store.backup_before_migration = store.copy_aside("before-migration")
    try:
        with store.transaction():
            ms.apply(db)
    except NewerDatabaseError:
        raise
    except Exception as e:
        raise StoreError(f"{store.path}: migration failed, nothing was changed "
                         f"({type(e).__name__}: {e})") from e
    return pending
