"""What the schema modules share."""

from __future__ import annotations

from typing import Any


def append_only(db: Any, table: str) -> None:
    """Triggers that refuse UPDATE and DELETE on `table`: what an auditor
    relies on is never edited in place."""
    db.execute(f"create trigger {table}_no_update before update on {table} begin "
               f"select raise(abort, '{table} is append-only: UPDATE refused'); end")
    db.execute(f"create trigger {table}_no_delete before delete on {table} begin "
               f"select raise(abort, '{table} is append-only: DELETE refused'); end")


def exec_script(db: Any, sql: str) -> None:
    for stmt in sql.split(";\n"):
        if stmt.strip():
            db.execute(stmt)
