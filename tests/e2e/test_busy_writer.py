"""Issue 13: a write that meets another process's long write waits (and
says so), then either goes through or stops with one line — never a
`database is locked` traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.db.store import Store, StoreBusy

ROOT = Path(__file__).resolve().parents[2]

HOLDER = r'''
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("begin immediate")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("rollback")
'''


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "holding"
    return p


def _set_name(db: Path, name: str, wait: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, WORKBENCH_USER="olivia", WORKBENCH_PASSWORD="demo-password",
               WORKBENCH_WRITE_WAIT_S=str(wait))
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "settings",
                           "set", "exporter-name", name], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_a_writer_gives_up_in_one_line_when_the_other_write_goes_on(demo_db: Path) -> None:
    holder = _hold(demo_db, 6)
    try:
        r = _set_name(demo_db, "Waiting Exports", 1)
    finally:
        holder.wait(timeout=30)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("busy: another program is writing")
    assert lines[-1].startswith("workbench: ") and "the database is busy" in lines[-1]
    assert "nothing was changed" in lines[-1] and "Traceback" not in r.stderr


def test_a_writer_waits_and_goes_through_when_the_other_write_ends(demo_db: Path) -> None:
    holder = _hold(demo_db, 2)
    try:
        t0 = time.monotonic()
        r = _set_name(demo_db, "Patient Exports", 30)
    finally:
        holder.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 >= 1.5
    assert "busy: another program is writing" in r.stderr
    assert "Patient Exports" in r.stdout


def test_the_core_tells_its_caller_while_it_waits(demo_db: Path) -> None:
    holder = _hold(demo_db, 3)
    s = Store(demo_db)
    try:
        s.write_wait_s = 0.5
        s.close()  # the wait applies to connections opened after it is set
        told: list[float] = []
        s.busy_notice = told.append
        with pytest.raises(StoreBusy, match="nothing was changed"):
            with s.transaction() as conn:
                conn.execute("select 1")
        assert told
    finally:
        s.close()
        holder.wait(timeout=30)
