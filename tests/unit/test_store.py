"""The SQLite store: open/create, pragmas on every connection, STRICT tables,
refusal of files that are not ours or come from a newer build, backup,
transactions, and migrations forward from a fixture of an earlier schema."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from workbench.db import audit, migrations as schema
from workbench.app import Workbench
from workbench.errors import NewerDatabaseError, StoreError
from workbench.db.store import BUSY_TIMEOUT_MS, Store
from workbench.users import User

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_0001 = ROOT / "tests" / "data" / "fixtures" / "schema_0001.db"
ADMIN = User(1, "owner", "admin", "Owner")


@pytest.fixture
def store(tmp_db_path):
    s = Store(tmp_db_path)
    yield s
    s.close()


def _dump(path: Path) -> list[str]:
    """Schema and rows of a database file. (A plain connection: a mode=ro
    one would leave -wal/-shm files beside a WAL database.)"""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "select type, name, sql from sqlite_master order by type, name").fetchall()
    finally:
        conn.close()


def _pragmas(conn: sqlite3.Connection) -> tuple:
    return (conn.execute("pragma journal_mode").fetchone()[0],
            conn.execute("pragma foreign_keys").fetchone()[0],
            conn.execute("pragma busy_timeout").fetchone()[0])


# -- open / create -------------------------------------------------------------

def test_store_creates_file_and_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "wb.db"
    with Store(path) as s:
        assert path.is_file()
        assert s.backup_before_migration is None  # a new file is not copied aside
        names = {r[0] for r in s.all("select name from sqlite_master")}
        assert {"audit_event", "user", "party", "shipment", "licence",
                "v_shipment_list"} <= names
        applied = [m.name for m in schema.migrations.applied(s.db)]
        assert applied == schema.known_names()
    # reopening finds nothing pending and makes no copy
    with Store(path) as s:
        assert s.backup_before_migration is None
    assert not list(tmp_path.rglob("*.bak"))


def test_store_create_false_refuses_missing_file(tmp_path):
    with pytest.raises(StoreError, match="no such database file"):
        Store(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_store_refuses_folder(tmp_path):
    with pytest.raises(StoreError, match="folder"):
        Store(tmp_path)


def test_store_pragmas_on_every_thread_connection(store):
    results = {}

    def probe(key):
        results[key] = _pragmas(store.conn)

    probe("main")
    threads = [threading.Thread(target=probe, args=(f"t{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for key, (mode, fk, busy) in results.items():
        assert mode == "wal", key
        assert fk == 1, key
        assert busy == BUSY_TIMEOUT_MS, key
    # each thread has its own connection
    conns = []
    t = threading.Thread(target=lambda: conns.append(store.conn))
    t.start()
    t.join()
    assert conns[0] is not store.conn


def test_store_foreign_keys_enforced(store):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        with store.transaction() as conn:
            conn.execute("insert into party_name (party_id, name) values (999, 'x')")


def test_store_strict_tables_refuse_wrong_type(store):
    with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INTEGER"):
        with store.transaction() as conn:
            conn.execute(
                "insert into shipment (reference, ship_date, destination, status,"
                " version, created_at, updated_at) values"
                " ('R1', '2026-01-01', 'SG', 'draft', 'not-a-number', 'x', 'x')")
    strict = store.all("select name from pragma_table_list where strict = 0"
                       " and schema = 'main' and type = 'table'"
                       " and name not like 'sqlite_%' and name != '_sqlite_migrations'")
    assert [r[0] for r in strict] == [], "every workbench table is STRICT"


@pytest.mark.parametrize("content", [
    pytest.param(b"legal_name,country\nAcme,CN\n" * 50, id="text"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, id="png"),
    pytest.param(None, id="truncated-sqlite"),
    pytest.param(b"SQLite format 3\x00", id="header-only"),
])
def test_store_not_a_database_is_a_clear_store_error(tmp_path, content):
    path = tmp_path / "bad.db"
    if content is None:
        with Store(tmp_path / "good.db") as s:
            s.conn.execute("pragma wal_checkpoint(truncate)")
        content = (tmp_path / "good.db").read_bytes()[:6000]
    path.write_bytes(content)
    with pytest.raises(StoreError) as ei:
        Store(path)
    msg = str(ei.value)
    assert str(path) in msg
    assert "not a workbench database" in msg
    assert path.read_bytes() == content, "a refused file is left alone"
    assert not list(tmp_path.glob("bad.db.*.bak"))


# -- newer version -------------------------------------------------------------

def _make_newer(path: Path, journal: str) -> None:
    with Store(path) as s:
        with s.transaction() as conn:
            conn.execute(
                "insert into _sqlite_migrations (migration_set, name, applied_at)"
                " values ('workbench', '9999_from_the_future', '2099-01-01')")
    conn = sqlite3.connect(path)
    conn.execute(f"pragma journal_mode = {journal}")
    conn.close()
    assert not Path(f"{path}-wal").exists()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_store_newer_database_refused_and_left_unchanged(tmp_path, journal):
    # "delete" is what a backup file (Store.backup) is written in.
    path = tmp_path / "newer.db"
    _make_newer(path, journal)
    before = path.read_bytes()
    with pytest.raises(NewerDatabaseError) as ei:
        Store(path)
    msg = str(ei.value)
    assert str(path) in msg and "newer version" in msg
    assert "9999_from_the_future" in msg
    assert path.read_bytes() == before, "the refused file changed"
    assert not list(tmp_path.glob("*.bak")), "no copy aside for a refused file"
    # the refusing Store closed its connection: no WAL/SHM left behind
    assert not Path(f"{path}-wal").exists()
    assert not Path(f"{path}-shm").exists()


# -- backup --------------------------------------------------------------------

def test_store_backup_opens_and_passes_integrity_check(store, tmp_path):
    wb = Workbench(store)
    wb.create_user("owner", "correct-horse", "admin")
    dest = tmp_path / "backups" / "copy.db"
    seen = []
    assert store.backup(dest, progress=lambda d, t: seen.append((d, t))) == dest
    assert seen and seen[-1][0] == seen[-1][1]
    conn = sqlite3.connect(dest)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"
    assert conn.execute("select username from user").fetchall() == [("owner",)]
    conn.close()
    assert not list(dest.parent.glob(".*partial*")), "temp file was left"
    with Store(dest) as copy:
        assert copy.integrity_problems() == []
        assert audit.verify(copy).ok
        assert audit.head(copy) == audit.head(store)


def test_store_backup_refuses_database_itself(store, tmp_db_path):
    before = _dump(tmp_db_path)
    with pytest.raises(StoreError, match="cannot be the database itself"):
        store.backup(tmp_db_path)
    # also through another spelling of the same path
    other = tmp_db_path.parent / "." / tmp_db_path.name
    with pytest.raises(StoreError):
        store.backup(other)
    assert _dump(tmp_db_path) == before
    assert store.integrity_problems() == []


def test_store_backup_overwrites_existing_destination(store, tmp_path):
    dest = tmp_path / "old.db"
    dest.write_bytes(b"an old file")
    store.backup(dest)
    conn = sqlite3.connect(dest)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()


# -- transactions --------------------------------------------------------------

def test_store_nested_transactions_roll_back_as_a_whole(store):
    wb = Workbench(store)
    with pytest.raises(RuntimeError, match="inner failure"):
        with store.transaction() as conn:
            conn.execute("insert into meta (key, value) values ('outer', '1')")
            with store.transaction() as inner:
                inner.execute("insert into meta (key, value) values ('inner', '1')")
            with wb.writing() as w:  # a domain write joining the outer one
                w.audit("meta", "x", "test")
            with store.transaction():
                raise RuntimeError("inner failure")
    assert not store.in_transaction
    assert store.scalar("select count(*) from meta") == 0
    assert store.scalar("select count(*) from audit_event") == 0
    # the store is usable afterwards and commits normally
    with store.transaction() as conn:
        with store.transaction() as inner:
            inner.execute("insert into meta (key, value) values ('k', 'v')")
    assert store.scalar("select value from meta where key = 'k'") == "v"


def test_store_inner_exception_caught_inside_still_commits_outer(store):
    with store.transaction() as conn:
        conn.execute("insert into meta (key, value) values ('a', '1')")
        try:
            with store.transaction() as inner:
                inner.execute("insert into meta (key, value) values ('b', '1')")
                raise ValueError("handled")
        except ValueError:
            pass
    # Nested blocks join the outer transaction (no savepoints): the inner
    # write is kept when the outer block commits.
    assert store.scalar("select count(*) from meta") == 2


def test_store_writes_from_second_connection_wait_for_lock(tmp_db_path):
    a = Store(tmp_db_path)
    b = Store(tmp_db_path)
    try:
        done = threading.Event()

        def writer_b():
            with b.transaction() as conn:
                conn.execute("insert into meta (key, value) values ('b', '1')")
            done.set()

        with a.transaction() as conn:
            conn.execute("insert into meta (key, value) values ('a', '1')")
            t = threading.Thread(target=writer_b)
            t.start()
            assert not done.wait(0.3), "second writer did not wait for the lock"
        t.join(5)
        assert done.is_set()
        assert a.scalar("select count(*) from meta") == 2
    finally:
        a.close()
        b.close()


# -- migrations forward from an earlier schema ------------------------------------

def test_store_fixture_is_at_schema_0001():
    conn = sqlite3.connect(f"file:{FIXTURE_0001}?mode=ro", uri=True)
    names = [r[0] for r in conn.execute("select name from _sqlite_migrations")]
    tables = {r[0] for r in conn.execute(
        "select name from sqlite_master where type = 'table'")}
    conn.close()
    assert names == ["0001_core"]
    assert "party" not in tables and "audit_event" in tables


def test_store_migrates_fixture_forward(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE_0001, path)
    original = path.read_bytes()
    original_dump = _dump(path)
    with Store(path) as s:
        bak = s.backup_before_migration
        assert bak is not None and bak.exists()
        assert bak.parent == tmp_path
        assert bak.name.startswith("old.db.before-migration-") and bak.name.endswith(".bak")
        assert list(tmp_path.glob("*.before-migration-*.bak")) == [bak]
        # The copy is made with SQLite's online backup, so a few header bytes
        # (change counter, journal mode) may differ; its content is the
        # original's exactly, and the file is self-contained.
        assert _dump(bak) == original_dump
        assert len(bak.read_bytes()) == len(original)

        applied = [m.name for m in schema.migrations.applied(s.db)]
        assert applied == schema.known_names()
        assert s.integrity_problems() == []

        old = audit.verify(s)
        assert old.ok and old.events == 4
        old_head = old.head
        wb = Workbench(s)
        wb.login("owner", "fixture-password")
        from workbench.records import parties
        ch = parties.save_party(wb, {"legal_name": "After Migration Ltd",
                                     "addresses": [{"country": "SG"}]})
        ev = s.one("select * from audit_event order by seq desc limit 1")
        assert ev["seq"] == 5 and ev["prev_hash"] == old_head
        assert ev["user"] == "owner" and ev["entity_id"] == str(ch.id)
        res = audit.verify(s)
        assert res.ok and res.events == 5
    # users from the old schema still log in after migrating
    with Store(path) as s:
        assert s.backup_before_migration is None
        Workbench(s).login("olivia", "fixture-password-2")


FAILING_MIGRATION = textwrap.dedent("""
    import sys
    from workbench.db import migrations as schema
    from workbench.errors import StoreError
    from workbench.db.store import Store

    @schema.migrations(name="9000_test_fails_half_way")
    def _bad(db):
        db.execute("create table half_done (x integer) strict")
        db.execute("insert into half_done values (1)")
        db.execute("update user set display_name = 'CHANGED'")
        raise RuntimeError("boom in the middle of a migration")

    try:
        Store(sys.argv[1])
    except StoreError as e:
        print("STOREERROR", e)
        sys.exit(3)
    print("NO ERROR")
""")


def test_store_failed_migration_leaves_file_as_before(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE_0001, path)
    before_dump = _dump(path)
    before_schema = _schema(path)
    proc = subprocess.run([sys.executable, "-c", FAILING_MIGRATION, str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "migration failed, nothing was changed" in proc.stdout
    assert "boom in the middle of a migration" in proc.stdout
    assert str(path) in proc.stdout
    assert _schema(path) == before_schema
    assert _dump(path) == before_dump
    # still an 0001 database that a good build migrates normally
    with Store(path) as s:
        assert audit.verify(s).ok
        assert [m.name for m in schema.migrations.applied(s.db)] == schema.known_names()


def test_store_failed_migration_in_process(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE_0001, path)
    before_dump = _dump(path)

    def bad(db):
        db.execute("create table half_done (x integer) strict")
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setattr(schema.migrations, "_migrations", [
        *schema.migrations._migrations,
        schema.migrations._Migration("9001_test_fails", bad)])
    with pytest.raises(StoreError, match="migration failed.*disk on fire"):
        Store(path)
    assert _dump(path) == before_dump
    assert not Path(f"{path}-wal").exists(), "the refusing Store left its connection open"


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path) -> None:
    import sqlite3

    from workbench.errors import StoreError
    from workbench.db.store import Store

    p = tmp_path / "other.db"
    c = sqlite3.connect(p)
    c.execute("create table notes (x)")
    c.execute("insert into notes values ('keep me')")
    c.commit()
    c.close()
    before = p.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        Store(p)
    assert p.read_bytes() == before


def test_backup_sweeps_leftovers_of_a_killed_backup(tmp_path) -> None:
    from workbench.db.store import Store

    s = Store(tmp_path / "wb.db")
    dest = tmp_path / "copy.db"
    stale = tmp_path / ".copy.db.partial-99999"
    stale.write_bytes(b"half a backup")
    s.backup(dest)
    assert dest.exists() and not stale.exists()
    s.close()
