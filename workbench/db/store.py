"""The SQLite store: open or create, migrate, transact, back up, check.

One `Store` is opened per process and passed to everything that needs the
database. It hands each thread its own connection (SQLite connections are not
meant to be shared across threads), so the UI can read on the main thread
while a background worker writes; WAL mode keeps readers and the writer out
of each other's way, and the busy timeout lets a second process (the CLI
beside the app) wait for the write lock instead of failing.

Every domain write goes through :meth:`Store.transaction`, which opens
``BEGIN IMMEDIATE`` (the write lock is taken up front, so the audit chain head
read inside the transaction cannot be raced by another process) and appends
audit events in that same transaction.
"""

from __future__ import annotations

import os

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from workbench.db import migrations
from workbench.errors import StoreError

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    """Current time as a UTC ISO-8601 string with microseconds and 'Z'."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (0600). SQLite gives
    the -wal and -shm the database file's mode, so they follow. The database
    holds password hashes and the whole compliance record: other local users
    have no business reading it. Only ever called before any connection to
    `path` exists in this process (closing this descriptor later would drop
    SQLite's locks)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class StoreBusy(StoreError):
    """Another process held the write lock for longer than a write waits."""


class Store:
    """An open workbench database file.

    Side effects: opening creates the file (and its folder) if missing, sets
    WAL, foreign keys and a busy timeout, and applies pending migrations —
    copying the file aside first when it already held data.

    Threading: safe to share across threads; each thread gets its own
    connection on first use. Transactions are per thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, migrate: bool = True,
                 create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"{self.path}: no such database file")
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a database file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if create and not self.path.exists():
            _create_private(self.path)
        self._local = threading.local()
        # how long a write waits for another process's write to finish
        self.write_wait_s = float(os.environ.get("WORKBENCH_WRITE_WAIT_S") or 120)
        self.busy_notice: Callable[[float], None] | None = None
        # secrets a front end unlocked for this session (the signing key's
        # passphrase, by key folder); kept in memory only, never written
        self.secrets: dict[str, str] = {}
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self.backup_before_migration: Path | None = None
        if migrate and self.path.exists():
            # Before our own connection switches the file to WAL: a refused
            # file is left byte-for-byte as it was.
            migrations.refuse_newer(self.path)
        conn = self.conn  # opens and validates the file
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as e:
            self.close()
            raise StoreError(f"{self.path}: not a workbench database ({e})") from e
        if migrate:
            try:
                migrations.migrate(self)
            except BaseException:
                self.close()  # no connection (and -wal/-shm) left behind
                raise

    # -- connections -------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open ({e})") from e
        conn.row_factory = sqlite3.Row
        # one attempt waits at most this long; _begin retries up to write_wait_s
        conn.execute(f"pragma busy_timeout = {self._wait_ms()}")
        conn.execute("pragma foreign_keys = on")
        try:
            mode = conn.execute("pragma journal_mode = wal").fetchone()[0]
        except sqlite3.DatabaseError as e:
            conn.close()
            raise StoreError(f"{self.path}: not a workbench database ({e})") from e
        if mode.lower() != "wal":  # e.g. a read-only medium: say so, go on
            self.journal_mode = mode
        # FULL: a committed record survives a power cut, which is the promise.
        conn.execute("pragma synchronous = full")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """A sqlite-utils view of this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            import sqlite_utils  # only migrations and a few helpers need it

            db = sqlite_utils.Database(self.conn)
            self._local.db = db
        return db

    def close(self) -> None:
        """Close every connection this store opened (all threads)."""
        with self._conns_lock:
            for c in self._conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------
    def all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- writing -----------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception.

        Nested use joins the outer transaction (so a domain function can call
        another), and only the outermost block commits.
        """
        conn = self.conn
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        self._begin(conn)
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            self._local.depth = 0
            conn.execute("rollback")
            raise
        self._local.depth = 0
        try:
            conn.execute("commit")
        except sqlite3.OperationalError as e:
            conn.execute("rollback")
            raise StoreBusy(f"{self.path}: the change could not be saved ({e}); nothing "
                            f"was changed, try again") from None

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, waiting for another writer (SQLite's busy timeout
        per attempt) up to ``write_wait_s`` in all; ``busy_notice(waited)``
        is told each time it is still waiting, so a front end can say
        "busy, waiting" instead of freezing. Raises StoreBusy in the end."""
        t0 = time.monotonic()
        # with someone to tell, a short first try, so they hear at once that it waits
        quick = self.busy_notice is not None
        if quick:
            conn.execute("pragma busy_timeout = 200")
        try:
            while True:
                try:
                    conn.execute("begin immediate")
                    return
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) and "busy" not in str(e):
                        raise
                    waited = time.monotonic() - t0
                    if self.busy_notice is not None:
                        self.busy_notice(waited)
                    if waited >= self.write_wait_s:
                        raise StoreBusy(
                            f"{self.path}: the database is busy — another program has "
                            f"been writing for {max(waited, 1):.0f} s (a large import?); "
                            f"nothing was changed, try again when it has finished") from None
                    if quick:
                        conn.execute(f"pragma busy_timeout = {self._wait_ms()}")
                        quick = False
        finally:
            if quick:  # the first try went through: back to the normal wait
                conn.execute(f"pragma busy_timeout = {self._wait_ms()}")

    def _wait_ms(self) -> int:
        """One attempt's wait: SQLite's busy timeout, at most write_wait_s."""
        return int(min(BUSY_TIMEOUT_MS, max(self.write_wait_s, 0.05) * 1000))

    # -- the database's own files ------------------------------------------
    OWN_SUFFIXES = ("", "-wal", "-shm", "-journal")

    def is_own_file(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` is this database or one of its -wal/-shm/-journal
        files (the same file by device and inode, or by resolved name when
        it does not exist yet). Never opens anything: stat only.

        Why it matters: closing ANY descriptor of the database file in this
        process drops every POSIX lock SQLite holds on it, after which
        another process believes it is alone, checkpoints and deletes the
        live -wal and -shm (sqlite.org/howtocorrupt.html §2.2). So nothing
        in the process may open these files except SQLite itself."""
        p = Path(path)
        try:
            st = os.stat(p)
        except OSError:
            st = None
        for suffix in self.OWN_SUFFIXES:
            own = Path(f"{self.path}{suffix}")
            if st is not None:
                try:
                    o = os.stat(own)
                except OSError:
                    continue
                if (o.st_dev, o.st_ino) == (st.st_dev, st.st_ino):
                    return True
            elif p.resolve() == own.resolve():
                return True
        return False

    def refuse_own_file(self, path: str | os.PathLike[str], what: str = "file") -> None:
        """Raise StoreError when `path` is one of this database's own files
        (see :meth:`is_own_file`); read-only."""
        if self.is_own_file(path):
            raise StoreError(f"{path}: that is the workbench's own database; it cannot be "
                             f"used as the {what}. Choose another file.")

    # -- maintenance -------------------------------------------------------

    def backup(self, dest: str | os.PathLike[str],
               progress: Callable[[int, int], None] | None = None) -> Path:
        """Copy the database to `dest` with SQLite's online backup.

        Side effects: writes `dest` atomically (a temp file beside it, then a
        rename), so a crash mid-backup leaves no half-written file and the
        source is never touched. Safe while other connections write.
        """
        dest = Path(dest)
        if self.is_own_file(dest):
            raise StoreError("the backup file cannot be the database itself")
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Leftovers of a backup killed mid-way never look like a backup (they
        # are hidden and named .partial); sweep them so they do not pile up.
        for stale in dest.parent.glob(f".{dest.name}.partial-*"):
            stale.unlink(missing_ok=True)
        tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        _create_private(tmp)  # a copy holds the password hashes too
        target = sqlite3.connect(str(tmp))
        try:
            def _cb(status: int, remaining: int, total: int) -> None:
                if progress:
                    progress(total - remaining, total)
            self.conn.backup(target, pages=256, progress=_cb)
            target.execute("pragma journal_mode = delete")
            target.close()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        except BaseException:
            target.close()
            tmp.unlink(missing_ok=True)
            raise
        return dest

    def copy_aside(self, label: str) -> Path:
        """Back up the file next to itself as ``NAME.LABEL-TIMESTAMP.bak``."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        dest = self.path.with_name(f"{self.path.name}.{label}-{stamp}.bak")
        return self.backup(dest)

    def integrity_problems(self) -> list[str]:
        """SQLite integrity check and foreign key check; empty when sound."""
        problems = [r[0] for r in self.conn.execute("pragma integrity_check")
                    if r[0] != "ok"]
        for r in self.conn.execute("pragma foreign_key_check"):
            problems.append(
                f"table {r[0]} row {r[1]} points to a missing row in {r[2]}")
        return problems


