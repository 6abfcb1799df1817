"""The write pattern every master-data record shares.

A record is one row plus child rows that are replaced wholesale on update;
the version column catches two people editing the same record.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Sequence

from workbench.errors import ConflictError
from workbench.records.values import Checker, blank


def check_version(before: dict[str, Any] | None, rec: dict[str, Any], label: str) -> None:
    """Refuse a save made from a stale copy of the record."""
    if before and rec.get("version") is not None and int(rec["version"]) != before["version"]:
        raise ConflictError(
            f"{label} was changed by someone else since you opened it "
            f"(version {before['version']}, yours {rec['version']}); reopen it "
            f"and make your change again")


def write_row(conn: sqlite3.Connection, table: str, fields: Sequence[str],
              values: Sequence[Any], row_id: int | None, now: str,
              children: Sequence[tuple[str, str]] = ()) -> int:
    """Insert (row_id None) or update the main row; on update delete the
    child rows named by (table, foreign key column) so the caller can
    insert the new set. Returns the row id. Caller holds the transaction."""
    if row_id is None:
        return conn.execute(
            f"insert into {table} ({', '.join(fields)}, created_at, updated_at)"
            f" values ({', '.join('?' * len(fields))}, ?, ?)",
            (*values, now, now)).lastrowid
    conn.execute(
        f"update {table} set {', '.join(f + ' = ?' for f in fields)},"
        f" version = version + 1, updated_at = ? where id = ?",
        (*values, now, row_id))
    for child, col in children:
        conn.execute(f"delete from {child} where {col} = ?", (row_id,))
    return row_id


def party_roles(c: Checker, items: Any, roles: Sequence[str]) -> list[dict[str, Any]]:
    """Normalise ``[{"role", "party_id"}]`` rows (shipments, licences):
    known roles only, a party chosen, duplicates dropped."""
    out, seen = [], set()
    for i, p in enumerate(items or []):
        role = str(p.get("role") or "").strip().lower().replace(" ", "_")
        if role not in roles:
            c.add(f"parties[{i}].role", f"must be one of {', '.join(roles)}")
            continue
        if blank(p.get("party_id")):
            c.add(f"parties[{i}].party_id", "choose a party")
            continue
        key = (role, int(p["party_id"]))
        if key not in seen:
            seen.add(key)
            out.append({"role": role, "party_id": key[1]})
    return out


def check_parties_exist(store: Any, c: Checker, rows: Sequence[dict[str, Any]]) -> None:
    """Add an error for each row naming a party that is not in the store."""
    for i, p in enumerate(rows):
        if store.one("select 1 from party where id = ?", (p["party_id"],)) is None:
            c.add(f"parties[{i}].party_id", f"party {p['party_id']} does not exist")
