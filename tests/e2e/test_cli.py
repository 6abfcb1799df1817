"""The `workbench` command end to end, as a script or an officer runs it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


ENV_KEYS = ("WORKBENCH_USER", "WORKBENCH_PASSWORD", "WORKBENCH_DB", "WORKBENCH_NEW_PASSWORD")


def run(db: Path, *args: str, user: str | None = None, password: str | None = None,
        env: dict[str, str] | None = None, check: bool = False) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    if password is not None:
        e["WORKBENCH_PASSWORD"] = password
    e.update(env or {})
    argv = [sys.executable, "-m", "workbench", "--db", str(db)]
    if user:
        argv += ["--user", user]
    proc = subprocess.run([*argv, *args], capture_output=True, text=True, env=e,
                          stdin=subprocess.DEVNULL, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}): {proc.stderr}")
    return proc


def test_init_demo_then_check_and_verify(demo_db: Path) -> None:
    out = run(demo_db, "check", check=True)
    assert "database: ok" in out.stdout and "audit trail: ok" in out.stdout
    data = json.loads(run(demo_db, "--json", "audit", "verify", check=True).stdout)
    assert data["ok"] is True and data["events"] > 30
    users = json.loads(run(demo_db, "--json", "users", "list", check=True).stdout)
    assert {u["role"] for u in users} == {"admin", "officer", "approver", "auditor"}
    # piped output: no progress bar escape sequences leak into stdout or stderr
    assert "\r" not in out.stdout and "\x1b" not in out.stderr


def test_missing_database_is_one_clear_line(tmp_path: Path) -> None:
    proc = run(tmp_path / "none.db", "check")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "no database here" in proc.stderr
    assert not (tmp_path / "none.db").exists()


def test_tampered_audit_trail_fails_verify_and_check(demo_db: Path) -> None:
    conn = sqlite3.connect(demo_db)
    conn.execute("drop trigger audit_event_no_update")
    conn.execute("update audit_event set user = 'mallory' where seq = 5")
    conn.commit()
    conn.close()
    proc = run(demo_db, "audit", "verify")
    assert proc.returncode == 1 and "event 5" in proc.stdout and "edited" in proc.stdout
    assert run(demo_db, "check").returncode == 1


def test_backup_is_a_sound_copy(demo_db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "copy.db"
    run(demo_db, "backup", str(dest), check=True)
    out = run(dest, "--json", "check", check=True)
    assert json.loads(out.stdout)["ok"] is True
    assert run(demo_db, "backup", str(demo_db)).returncode == 1


def test_writes_need_a_signed_in_user_with_the_right_role(demo_db: Path) -> None:
    env = {"WORKBENCH_NEW_PASSWORD": "a-long-password"}
    no_user = run(demo_db, "users", "add", "zoe", "--role", "officer", env=env)
    assert no_user.returncode == 1 and "--user" in no_user.stderr
    wrong = run(demo_db, "users", "add", "zoe", "--role", "officer", user="owner",
                password="nope", env=env)
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr
    auditor = run(demo_db, "users", "add", "zoe", "--role", "officer", user="audrey",
                  password="demo-password", env=env)
    assert auditor.returncode == 1 and "admin" in auditor.stderr
    ok = run(demo_db, "users", "add", "zoe", "--role", "officer", user="owner",
             password="demo-password", env=env, check=True)
    assert "Added zoe" in ok.stdout
    log = json.loads(run(demo_db, "--json", "audit", "log", "--entity", "user",
                         "--limit", "1", check=True).stdout)
    assert log[0]["user"] == "owner" and json.loads(log[0]["after"])["username"] == "zoe"
    assert "password" not in log[0]["after"]


def test_init_with_owner_then_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    out = run(db, "init", "--owner", "boss", password="owner-password", check=True)
    assert "1 users" in out.stdout
    again = run(db, "init", "--owner", "boss2", password="owner-password")
    assert again.returncode == 1 and "has users already" in again.stderr
    bad = run(db, "export", "nonsense", str(tmp_path / "x.csv"))
    assert bad.returncode == 2


def test_newer_database_refused_and_untouched(demo_db: Path) -> None:
    conn = sqlite3.connect(demo_db)
    conn.execute("insert into _sqlite_migrations (migration_set, name, applied_at)"
                 " values ('workbench', '9999_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()
    before = demo_db.read_bytes()
    proc = run(demo_db, "check")
    assert proc.returncode == 1 and "newer version" in proc.stderr
    assert demo_db.read_bytes() == before
