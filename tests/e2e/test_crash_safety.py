"""Crash safety: a process killed with SIGKILL in the middle of an import, a
migration or a backup leaves the database exactly as it was (same rows, same
audit head, same schema), sound (integrity and foreign-key check, audit
verify), and never leaves a half-written backup where a backup is expected.

Each scenario runs a child process (this interpreter, using `workbench`
directly) once to completion to measure how long the work takes and to check
the complete result, then kills it at several seeded random moments inside
that window ("started" is printed just before the work begins).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.db import audit
from workbench.db.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_0001 = ROOT / "tests" / "data" / "fixtures" / "schema_0001.db"
SEEDS = (1, 2, 3, 4, 5)

CHILD = r'''
import os, sys, time
mode, db = sys.argv[1], sys.argv[2]
from workbench.db import audit, migrations as schema
from workbench.records import parties
from workbench.app import Workbench
from workbench.db.store import Store

def say(word):
    print(word, flush=True)

if mode == "import":
    from workbench.spreadsheets.imports import import_file
    wb = Workbench.open(db)
    say("started")
    report = import_file(wb, "parties", sys.argv[3])
    say(f"done {report!r}"[:300])
elif mode == "lists":
    from workbench.screening.snapshots import import_list
    wb = Workbench.open(db)
    say("started")
    change = import_list(wb, sys.argv[3])
    say(f"done {change.id}")
elif mode == "save":
    n = int(sys.argv[3])
    wb = Workbench.open(db)
    say("started")
    with wb.writing():
        for i in range(n):
            parties.save_party(wb, {
                "legal_name": f"Crash Test Party {i} Ltd", "kind": "company",
                "hq_country": "SG", "names": [f"CTP {i}"],
                "addresses": [{"street": f"{i} Harbour Road", "city": "Singapore",
                               "country": "SG"}]})
    say("done")
elif mode == "migrate":
    @schema.migrations(name="9900_crash_test_rebuild")
    def _rebuild(db):
        # A realistic slow migration: rebuild a big table and index it.
        db.execute("create table audit_copy as select * from audit_event")
        db.execute("create index audit_copy_user on audit_copy(user, ts)")
        db.execute("create index audit_copy_after on audit_copy(after)")
    say("started")
    s = Store(db)
    s.close()
    say("done")
elif mode == "backup":
    s = Store(db)
    say("started")
    s.backup(sys.argv[3])
    s.close()
    say("done")
'''


# -- helpers -----------------------------------------------------------------------

def _state(path: Path) -> dict:
    """What must not change: schema, row counts, migrations, audit head."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "select type, name, sql from sqlite_master order by type, name").fetchall()
        counts = {name: conn.execute(f'select count(*) from "{name}"').fetchone()[0]
                  for (kind, name, _) in schema if kind == "table"}
        migrations = [r[0] for r in conn.execute(
            "select name from _sqlite_migrations order by id")]
        head = conn.execute(
            "select hash from audit_event order by seq desc limit 1").fetchone()
        return {"schema": schema, "counts": counts, "migrations": migrations,
                "head": head[0] if head else audit.GENESIS}
    finally:
        conn.close()


def _check_sound(path: Path) -> None:
    """What `workbench check` checks: integrity, foreign keys, audit chain.
    Opened without migrating, so a pre-migration file stays as it is."""
    with Store(path, migrate=False) as s:
        assert s.integrity_problems() == [], s.integrity_problems()
        res = audit.verify(s)
        assert res.ok, res.problem


def _run_child(tmp: Path, args: list[str], kill_after: float | None,
               timeout: float = 60) -> tuple[str, float, bool]:
    """Run the child; kill it `kill_after` seconds after it says 'started'.
    Returns (stdout, seconds from 'started' to exit/kill, killed?)."""
    script = tmp / "child.py"
    if not script.exists():
        script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "started", line + proc.stderr.read()
        t0 = time.monotonic()
        killed = False
        if kill_after is not None:
            deadline = t0 + kill_after
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
        out, err = proc.communicate(timeout=timeout)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if killed:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 0, err[-3000:]
    return line + out, elapsed, killed


def _delays(seconds: float) -> list[float]:
    """Kill moments spread over the run: one per seed, each in its own slice
    of the first 80% (the machine may be busier during the measured run than
    during the kills), plus one early kill that lands mid-work for sure."""
    n = len(SEEDS)
    span = 0.8 * seconds
    return [0.02 * seconds] + [span * (i + random.Random(seed).random()) / n
                               for i, seed in enumerate(SEEDS)]


def _fresh_copy(src: Path, dest: Path) -> Path:
    for p in dest.parent.glob(dest.name + "*"):
        p.unlink()
    for p in dest.parent.glob("." + dest.name + "*"):
        p.unlink()
    shutil.copy(src, dest)
    return dest


def _build_db(path: Path, parties: int, events: int) -> None:
    """A sound workbench database with many parties and a long valid audit
    chain, written with fast SQL (not the per-record API)."""
    with Store(path) as s:
        with s.transaction() as conn:
            conn.execute(
                "with recursive n(i) as (select 1 union all select i + 1 from n"
                f" where i < {parties}) insert into party (id, legal_name, kind,"
                " hq_country, notes, created_at, updated_at) select i,"
                " 'Bulk Party ' || i || ' Trading Co., Ltd.', 'company', 'HK',"
                " printf('%.200c', 'x'), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'"
                " from n")
            conn.execute(
                "insert into party_address (party_id, street, city, country)"
                " select id, id || ' Nathan Road', 'Kowloon', 'HK' from party")
            _bulk_events(conn, events)
        assert audit.verify(s).ok


def _bulk_events(conn: sqlite3.Connection, n: int) -> None:
    head = conn.execute(
        "select seq, hash from audit_event order by seq desc limit 1").fetchone()
    seq, prev = (head[0], head[1]) if head else (0, audit.GENESIS)
    rows = []
    for _ in range(n):
        seq += 1
        ts = f"2026-01-01T00:00:00.{seq:06d}Z"
        after = audit.canonical_json({"legal_name": f"Bulk Party {seq}",
                                      "notes": "y" * 120})
        h = audit.event_hash(seq, ts, "bulk", "party", str(seq), "create",
                             None, after, prev)
        rows.append((seq, ts, "bulk", "party", str(seq), "create", None, after, prev, h))
        prev = h
    conn.executemany(
        "insert into audit_event (seq, ts, user, entity, entity_id, action,"
        " before, after, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?)", rows)


def _have_import() -> bool:
    try:
        from workbench.spreadsheets.imports import import_file  # noqa: F401
    except ImportError:
        return False
    return True


# -- (a) import ------------------------------------------------------------------

def test_crash_during_import_leaves_database_as_before(tmp_path):
    base = tmp_path / "base.db"
    _build_db(base, parties=2_000, events=2_000)
    before = _state(base)
    db = tmp_path / "wb.db"
    n = 20_000
    if _have_import():
        csv_path = tmp_path / "parties.csv"
        with open(csv_path, "w", encoding="utf-8", newline="") as fh:
            fh.write("legal_name,kind,country,city,street\n")
            for i in range(n):
                fh.write(f"Imported Party {i} Ltd,company,SG,Singapore,{i} Harbour Road\n")
        args = ["import", str(db), str(csv_path)]
    else:  # one transaction saving many parties through the domain API
        args = ["save", str(db), str(n)]

    # a complete run: everything is written, in one go
    _fresh_copy(base, db)
    out, full, killed = _run_child(tmp_path, args, None)
    after = _state(db)
    assert after["counts"]["party"] == before["counts"]["party"] + n, out
    assert after["head"] != before["head"]
    _check_sound(db)

    outcomes = []
    for delay in _delays(full):
        _fresh_copy(base, db)
        out, _, killed = _run_child(tmp_path, args, delay)
        now = _state(db)
        _check_sound(db)
        # nothing or everything (a kill after the commit keeps all of it)
        if now != before:
            assert now["counts"] == after["counts"], f"killed after {delay:.3f}s: partial import"
        outcomes.append((round(delay, 3), killed, "before" if now == before else "complete"))
    print(f"{args[0]} kills (delay, killed, state):", outcomes)
    assert any(o[2] == "before" for o in outcomes), "the kills missed the work"


def test_crash_during_list_import_leaves_no_partial_snapshot(tmp_path):
    """A restricted-party list snapshot (OFAC SDN 2021: 8,976 entries, about
    22,000 names) killed mid-import: no snapshot, or the whole snapshot."""
    sdn = ROOT / "tests" / "data" / "lists" / "ofac_sdn_2021" / "sdn.csv"
    base = tmp_path / "base.db"
    _build_db(base, parties=200, events=200)
    before = _state(base)
    db = tmp_path / "wb.db"
    args = ["lists", str(db), str(sdn)]
    _fresh_copy(base, db)
    out, full, _ = _run_child(tmp_path, args, None)
    after = _state(db)
    assert after["counts"]["list_snapshot"] == 1 and after["counts"]["list_entry"] == 8976
    outcomes = []
    for delay in _delays(full):
        _fresh_copy(base, db)
        _, _, killed = _run_child(tmp_path, args, delay)
        now = _state(db)
        _check_sound(db)
        # nothing or everything; a kill after the commit keeps the whole snapshot,
        # whose audit head differs from the measured run's (its own timestamp)
        if now != before:
            assert {**now, "head": None} == {**after, "head": None}, \
                f"killed after {delay:.3f}s: partial snapshot"
        outcomes.append((round(delay, 3), killed, "before" if now == before else "complete"))
    print("list import kills (delay, killed, state):", outcomes)
    assert any(o[2] == "before" for o in outcomes), "the kills missed the work"


# -- (b) migration ---------------------------------------------------------------

@pytest.fixture(scope="module")
def big_0001(tmp_path_factory) -> Path:
    """The schema_0001 fixture with a long audit chain (~40 MB)."""
    path = tmp_path_factory.mktemp("fixture") / "big_0001.db"
    shutil.copy(FIXTURE_0001, path)
    with Store(path, migrate=False) as s:
        with s.transaction() as conn:
            _bulk_events(conn, 80_000)
        assert audit.verify(s).ok
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode = delete")
    conn.close()
    return path


def test_crash_during_migration_leaves_database_as_before(tmp_path, big_0001):
    before = _state(big_0001)
    assert before["migrations"] == ["0001_core"]
    db = tmp_path / "wb.db"
    args = ["migrate", str(db)]

    _fresh_copy(big_0001, db)
    out, full, _ = _run_child(tmp_path, args, None)
    done = _state(db)
    assert "9900_crash_test_rebuild" in done["migrations"]
    assert done["counts"]["audit_copy"] == before["counts"]["audit_event"]
    assert done["head"] == before["head"]

    outcomes = []
    for delay in _delays(full):
        _fresh_copy(big_0001, db)
        out, _, killed = _run_child(tmp_path, args, delay)
        now = _state(db)
        with Store(db, migrate=False) as s:
            assert s.integrity_problems() == []
        # exactly as before, or completely migrated (a kill after the commit)
        assert now in (before, done), f"killed after {delay:.3f}s: schema or rows changed"
        if now == before:
            _check_sound(db)
            # this build (without the test migration) still migrates it normally
            with Store(db) as s:
                assert audit.verify(s).ok
                assert audit.head(s) == before["head"]
        # a copy aside is either complete or absent; the temp file of an
        # interrupted copy is hidden and never named like a backup
        for bak in tmp_path.glob("*.before-migration-*.bak"):
            assert _state(bak) == before, f"{bak.name} is not a full copy"
        partials = [p.name for p in tmp_path.glob(".*partial*")]
        for p in partials:
            assert not p.endswith(".bak")
        outcomes.append((round(delay, 3), killed, "before" if now == before else "complete",
                         len(partials)))
    print("migration kills (delay, killed, state, leftover partial files):", outcomes)
    assert any(o[2] == "before" for o in outcomes), "the kills missed the work"


# -- (c) backup ------------------------------------------------------------------

def test_crash_during_backup_leaves_no_half_written_file(tmp_path):
    db = tmp_path / "big.db"
    _build_db(db, parties=60_000, events=60_000)
    before = _state(db)
    dest = tmp_path / "out" / "backup.db"
    args = ["backup", str(db), str(dest)]

    out, full, _ = _run_child(tmp_path, args, None)
    assert dest.exists() and _state(dest)["counts"] == before["counts"]
    full = max(full, 0.05)

    outcomes = []
    for delay in _delays(full):
        shutil.rmtree(dest.parent, ignore_errors=True)
        out, _, killed = _run_child(tmp_path, args, delay)
        assert _state(db) == before
        _check_sound(db)
        if dest.exists():
            # only ever the complete file
            conn = sqlite3.connect(dest)
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            conn.close()
            assert _state(dest) == before
        else:
            assert killed
        leftovers = sorted(p.name for p in dest.parent.iterdir()
                           if p.name != dest.name) if dest.parent.exists() else []
        for name in leftovers:
            # a temp file of the interrupted backup: hidden, marked partial
            assert name.startswith(".backup.db.partial-"), name
        outcomes.append((round(delay, 3), killed, dest.exists(), leftovers))
    print("backup kills (delay, killed, dest exists, leftovers):", outcomes)
    assert any(not o[2] for o in outcomes), "the kills missed the backup"
