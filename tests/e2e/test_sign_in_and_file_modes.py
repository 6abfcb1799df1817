"""Issue 13: no change without a signed-in person; a wrong password is
refused; the database's own files are never taken as input; the database
and its backups are readable by their owner only."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from tests.e2e.test_cli import run
from workbench.app import Workbench
from workbench.errors import SignInRequired, StoreError
from workbench.records import evidence
from workbench.screening import snapshots
from workbench.spreadsheets import imports
from workbench import settings

PASSWORD = "demo-password"


def _trail(db: Path) -> tuple[int, int, list[str]]:
    con = sqlite3.connect(db)
    try:
        n = con.execute("select count(*) from audit_event").fetchone()[0]
        runs = con.execute("select count(*) from screening_run").fetchone()[0]
        system = [r[0] for r in con.execute(
            "select seq from audit_event where user = 'system'")]
    finally:
        con.close()
    return n, runs, system


def _names(tmp_path: Path) -> Path:
    f = tmp_path / "names.csv"
    f.write_text("name\nHuawei Technologies Co., Ltd.\nAcme Widgets GmbH\n", encoding="utf-8")
    return f


def test_screen_file_without_a_user_screens_but_records_nothing(demo_db: Path,
                                                                tmp_path: Path) -> None:
    before = _trail(demo_db)
    r = run(demo_db, "screen", "--file", str(_names(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert "2 screened" in r.stdout
    assert "Not recorded: sign in with --user" in r.stderr
    assert _trail(demo_db) == before


def test_a_wrong_password_is_refused_in_one_line(demo_db: Path, tmp_path: Path) -> None:
    before = _trail(demo_db)
    r = run(demo_db, "screen", "--file", str(_names(tmp_path)), user="olivia",
            password="not-her-password")
    assert r.returncode == 1
    assert r.stderr.strip() == "workbench: unknown user name or wrong password"
    assert _trail(demo_db) == before


def test_the_right_user_records_the_run_under_her_name(demo_db: Path, tmp_path: Path) -> None:
    n, runs, _ = _trail(demo_db)
    r = run(demo_db, "screen", "--file", str(_names(tmp_path)), user="olivia",
            password=PASSWORD)
    assert r.returncode == 0, r.stderr
    n2, runs2, system = _trail(demo_db)
    assert (n2 > n, runs2, system) == (True, runs + 1, [])
    con = sqlite3.connect(demo_db)
    assert con.execute("select user from audit_event order by seq desc limit 1"
                       ).fetchone()[0] == "olivia"
    con.close()


def test_the_core_refuses_any_change_by_nobody(demo_db: Path) -> None:
    wb = Workbench.open(demo_db)
    try:
        with pytest.raises(SignInRequired, match="sign in first"):
            settings.set_value(wb, settings.EXPORTER_NAME, "Nobody Ltd")
        with pytest.raises(SignInRequired):
            wb.create_user("mallory", "password-123", "admin")
    finally:
        wb.close()
    r = run(demo_db, "settings", "set", "exporter-name", "Nobody Ltd")
    assert r.returncode == 1 and "--user NAME" in r.stderr


def test_the_first_user_of_a_new_database_needs_nobody(tmp_path: Path) -> None:
    wb = Workbench.open(tmp_path / "new.db")
    try:
        wb.create_user("owner", "password-123", "admin")
        with pytest.raises(SignInRequired):
            wb.create_user("second", "password-123", "officer")
        wb.login("owner", "password-123")
        wb.create_user("second", "password-123", "officer")
    finally:
        wb.close()


def test_the_database_and_its_backup_are_private(tmp_path: Path) -> None:
    db = tmp_path / "private.db"
    run(db, "init", check=True)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    r = run(db, "backup", str(tmp_path / "copy.db"))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "copy.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_database_files_are_never_taken_as_input(demo_db: Path, suffix: str) -> None:
    wb = Workbench.open(demo_db)
    wb.login("olivia", PASSWORD)
    own = Path(f"{demo_db}{suffix}")
    try:
        assert own.exists()  # the app's connection keeps -wal and -shm
        n = wb.store.scalar("select count(*) from audit_event")
        for attempt in (lambda: evidence.add_file(wb, own),
                        lambda: snapshots.import_list(wb, own),
                        lambda: imports.import_file(wb, "parties", own)):
            with pytest.raises(StoreError, match="own database"):
                attempt()
        # a link to it is the same file
        link = demo_db.parent / "innocent.csv"
        link.symlink_to(own)
        with pytest.raises(StoreError, match="own database"):
            evidence.add_file(wb, link)
        assert wb.store.scalar("select count(*) from audit_event") == n
    finally:
        wb.close()
    r = run(demo_db, "import", "parties", str(demo_db), user="olivia", password=PASSWORD)
    assert r.returncode == 1 and "own database" in r.stderr


def _cert(db: Path, out: Path) -> str:
    r = run(db, "packet", "cert", str(out))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().rsplit(" ", 1)[-1]


def test_two_databases_in_one_folder_never_share_a_signing_key(tmp_path: Path) -> None:
    alpha, beta = tmp_path / "alpha.db", tmp_path / "beta.db"
    for db, name in ((alpha, "Alpha Trading"), (beta, "Beta Trading")):
        run(db, "init", "--demo", check=True)
        run(db, "settings", "set", "exporter-name", name, user="olivia", password=PASSWORD,
            check=True)
    fa, fb = _cert(alpha, tmp_path / "a.pem"), _cert(beta, tmp_path / "b.pem")
    assert fa != fb
    keys = tmp_path / "alpha.db.keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "packet-signing-key.pem").stat().st_mode) == 0o600
    assert not (tmp_path / "packet-signing-key.pem").exists()


def test_a_key_left_in_the_folder_by_an_older_version_goes_to_one_database(
        tmp_path: Path) -> None:
    from workbench.packets.signing import ensure_key

    legacy = ensure_key(tmp_path, "Alpha Trading")  # the old layout: the folder's key
    old = legacy.fingerprint()
    alpha, beta = tmp_path / "alpha.db", tmp_path / "beta.db"
    run(alpha, "init", check=True)
    run(beta, "init", check=True)
    assert _cert(alpha, tmp_path / "a.pem") == old  # alpha keeps signing as before
    assert not legacy.key_path.exists()
    assert _cert(beta, tmp_path / "b.pem") != old  # beta gets its own
