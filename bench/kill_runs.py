"""Crash safety under ``kill -9``: every long-running CLI operation, killed at
random moments while it works, leaves a database that passes ``workbench
check`` and an all-or-nothing result.

What it proves. For each operation below, a fresh copy of a prepared demo
database is made per run, the real CLI (``python -m workbench ...``) is started
in its own process group, and SIGKILL is sent to that group at a random moment
while the operation works. After every run:

* ``workbench check`` on the killed database exits 0 (integrity, foreign keys,
  audit chain, records bound to the trail);
* the operation's invariant holds:

  ======== ==============================================================
  import   ``import parties`` of a generated 20,000-row CSV: no new party
           and no new audit event, or all 20,000 parties with their 20,000
           ``party create`` events and the one ``import`` event.
  lists    ``lists import`` of the OFAC SDN 2021 set (8,976 entries): no new
           list snapshot, or the whole snapshot (all its entries and its
           audit event) AND a screening run with scope ``rescreen`` made
           after it.
  screen   ``screen --file`` of a few thousand names: no new screening run,
           or the whole run (all its hits, its audit event).
  rescreen ``rescreen`` of 20,014 parties: no new run, or the run with a
           per-party record for every party, all its hits and its event.
  packet   ``packet export``: no packet file at its destination whose
           SHA-256 is not in a recorded ``packet export`` audit event.
  backup   ``backup DEST``: DEST absent, or a complete copy that passes
           ``check``; an anchor beside it only with the backup, the live
           trail still holds it, and the trail records an anchor only when
           both files are in place (the source gains nothing else).
  ======== ==============================================================

  and, besides, every table's row count equals either the untouched copy's
  or the completed run's (nothing half-written anywhere else).

When the kill lands. Each operation is first run once uninterrupted (its
duration is printed). The CLI draws a progress bar when stderr is a
terminal, so stderr is a pseudo-terminal and the kill timer starts at the
first bar drawn: every kill that lands is after the work started (Python
start-up is not counted). Delays are random over the measured work time; a
run that finishes before its kill is a miss (it is still checked as a
complete run) and narrows the delays. Attempts go on until ``--kills`` kills
landed mid-operation, capped at ``--max-attempts`` (default 3 x kills).

Run it (10-20 minutes on a 2-core machine)::

    .venv/bin/python bench/kill_runs.py [--kills 20] [--only NAME[,NAME]]
        [--seed 1] [--keep]

It prints one line per attempt, then a table per operation: kills landed
mid-way, attempts, misses, errors, outcomes (nothing / complete / partial),
failures, the uninterrupted duration, and the first failure's details. Exit
status 1 when any invariant or check failed, 2 when an operation could not
be measured or did not get its kills, else 0.

It only uses the standard library and the CLI as a subprocess (it imports
nothing from ``workbench``). Scratch files go to a temporary folder under
/tmp, removed at the end unless ``--keep`` or a failure (then the first
failing run's folder of each operation is kept and its path printed).
The OFAC list files come from tests/data/lists, else ../shared/data beside
the repository; without them the list operation is skipped.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import hashlib
import json
import os
import pty
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
USER, PASSWORD = "olivia", "demo-password"
N_PARTIES = 20_000
N_NAMES = 3_000
DB = "w.db"  # every run's database has this name, so one key folder fits all
IGNORED_TABLES = {"_sqlite_migrations"}
BAR = re.compile(r"([^\r\n\x1b]*?)\s*\[([#\-]*)\]\s*(\d+)%")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CODE_ERROR = re.compile(r"\b(SyntaxError|IndentationError|ImportError|ModuleNotFoundError|"
                        r"NameError|AttributeError|TypeError)\b")


# -- running the CLI ---------------------------------------------------------------

def child_env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.update(WORKBENCH_USER=USER, WORKBENCH_PASSWORD=PASSWORD, COLUMNS="160",
               PYTHONUNBUFFERED="1",
               # the signing key is always encrypted: its passphrase as an
               # unattended run gives it, and never the machine's real keyring
               WORKBENCH_SIGNING_PASSPHRASE="kill-runs bench passphrase",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    xdg = scratch / "xdg"
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        (xdg / name).mkdir(parents=True, exist_ok=True)
        env[name] = str(xdg / name)  # the app's own folders stay untouched
    return env


def cli(env: dict[str, str], db: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the CLI to completion, output captured (not a terminal: no bar)."""
    return subprocess.run([PY, "-m", "workbench", "--db", str(db), *args], cwd=ROOT,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


@dataclass
class Child:
    """One CLI run with stderr on a pseudo-terminal (so it draws its progress
    bar) in its own process group. `origin` is when the first bar was drawn."""
    argv: list[str]
    env: dict[str, str]
    stdout_path: Path
    t_spawn: float = 0.0
    origin: float | None = None
    t_exit: float | None = None
    killed_at: float | None = None
    text: str = ""
    _tail: str = ""

    def start(self) -> None:
        master, slave = pty.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        except OSError:
            pass
        self._master = master
        self._out = open(self.stdout_path, "wb")
        self._bar = threading.Event()
        self._lock = threading.Lock()
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=slave, start_new_session=True)
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                break
            if not data:
                break
            now = time.monotonic()
            chunk = data.decode("utf-8", "replace")
            with self._lock:
                self.text += chunk
                if self.origin is None:
                    self._tail = (self._tail + chunk)[-600:]
                    if BAR.search(self._tail):
                        self.origin = now
                        self._bar.set()

    def wait_for_bar(self, limit: float) -> bool:
        """Until the first bar, the process's end, or `limit` seconds."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self._bar.wait(0.01):
                return True
            if self.proc.poll() is not None:
                return self._bar.is_set()
        return self._bar.is_set()

    def kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def finish(self, timeout: float) -> bool:
        """Wait for the end; False when it hung (then it is killed)."""
        hung = False
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            self.kill_group()
            self.proc.wait()
        self.t_exit = self.t_exit or time.monotonic()
        self.kill_group()  # anything it started, in its own group, goes too
        self._reader.join(5)
        try:
            os.close(self._master)
        except OSError:
            pass
        self._out.close()
        return not hung

    @property
    def rc(self) -> int | None:
        return self.proc.returncode

    @property
    def landed(self) -> bool:
        return self.killed_at is not None and self.rc == -signal.SIGKILL

    def stderr_text(self) -> str:
        return ANSI.sub("", self.text).replace("\r", "\n")

    def phase(self) -> str:
        """Where the progress bar was when the process ended."""
        raw = self.text
        bars = list(BAR.finditer(ANSI.sub("", raw)))
        if not bars:
            return "before the first bar"
        label, _b, pct = bars[-1].groups()
        label = label.strip() or "bar"
        if "\x1b[?25h" in raw[raw.rfind("%"):]:
            return f"{label}: bar closed"
        if pct == "100":
            return f"{label} 100%, bar open (later steps)"
        return f"{label} {pct}%"

    def stdout_text(self) -> str:
        try:
            return self.stdout_path.read_text("utf-8", "replace")
        except OSError:
            return ""


def run_child(env: dict[str, str], run_dir: Path, args: list[str], *, delay: float | None,
              from_bar: bool, timeout: float) -> tuple[Child, bool]:
    """Start the CLI on run_dir/w.db; with `delay`, SIGKILL its process group
    `delay` seconds after the first bar (or after the start if the operation
    draws none). Returns (child, finished without hanging)."""
    ch = Child([PY, "-m", "workbench", "--db", str(run_dir / DB), *args], env,
               run_dir / "stdout.txt")
    ch.start()
    try:
        if delay is not None:
            if from_bar:
                ch.wait_for_bar(timeout)
            origin = ch.origin or ch.t_spawn
            deadline = origin + delay
            while ch.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                time.sleep(min(0.002, left))
            if ch.proc.poll() is None:
                ch.killed_at = time.monotonic()
                ch.kill_group()
            else:
                ch.t_exit = time.monotonic()
        ok = ch.finish(timeout)
    except BaseException:
        ch.kill_group()
        raise
    return ch, ok


# -- database state -----------------------------------------------------------------

def connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=30)
    con.row_factory = sqlite3.Row
    return con


def db_state(path: Path) -> dict[str, Any]:
    con = connect(path)
    try:
        tables = [r[0] for r in con.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0]
                  for t in tables if t not in IGNORED_TABLES}
        head = con.execute("select seq, hash from audit_event order by seq desc limit 1").fetchone()

        def mx(table: str, col: str = "id") -> int:
            return con.execute(f'select coalesce(max({col}), 0) from "{table}"').fetchone()[0]
        return {"counts": counts, "head": tuple(head) if head else None,
                "seq": mx("audit_event", "seq"), "party": mx("party"),
                "run": mx("screening_run"), "snapshot": mx("list_snapshot")}
    finally:
        con.close()


def count_diff(now: dict[str, int], want: dict[str, int]) -> list[str]:
    return [f"{t}: {now.get(t)} rows, expected {want.get(t)}"
            for t in sorted(set(now) | set(want)) if now.get(t) != want.get(t)]


def one(con: sqlite3.Connection, sql: str, *params: Any) -> Any:
    return con.execute(sql, params).fetchone()[0]


# -- operations ----------------------------------------------------------------------

@dataclass
class Ref:
    base: dict[str, Any]
    full: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


Verdict = tuple[str, list[str], list[str]]  # state, problems, notes


@dataclass
class Op:
    name: str
    title: str
    base: str
    args: Callable[[Path], list[str]]
    judge: Callable[["Bench", Op, Path, Child, Ref], Verdict]
    prepare: Callable[[Path], None] | None = None
    needs: Callable[["Bench"], str | None] = lambda b: None  # a reason to skip, or None


def generic(state: str, now: dict[str, Any], ref: Ref) -> list[str]:
    """The untouched copy's row counts, or the completed run's."""
    if state == "nothing":
        d = count_diff(now["counts"], ref.base["counts"])
        if not d and now["head"] != ref.base["head"]:
            d = ["audit head moved"]
        return [f"nothing recorded, yet {x}" for x in d]
    if ref.full is not None and state in ("complete", "recorded"):
        return [f"completed, yet {x}" for x in count_diff(now["counts"], ref.full["counts"])]
    return []


def judge_import(b: Bench, op: Op, run_dir: Path, ch: Child, ref: Ref) -> Verdict:
    db = run_dir / DB
    now = db_state(db)
    con = connect(db)
    try:
        seq, pmax = ref.base["seq"], ref.base["party"]
        parties = one(con, "select count(*) from party where id > ?", pmax)
        creates = one(con, "select count(*) from audit_event where seq > ? and entity = 'party'"
                           " and action = 'create'", seq)
        imports = one(con, "select count(*) from audit_event where seq > ? and entity = 'import'",
                      seq)
    finally:
        con.close()
    if parties == creates == imports == 0:
        state, problems = "nothing", []
    elif parties == creates == N_PARTIES and imports == 1:
        state, problems = "complete", []
    else:
        state = "partial"
        problems = [f"{parties} of {N_PARTIES} new parties, {creates} party-create events, "
                    f"{imports} import events"]
    return state, problems + generic(state, now, ref), []


def judge_lists(b: Bench, op: Op, run_dir: Path, ch: Child, ref: Ref) -> Verdict:
    db = run_dir / DB
    now = db_state(db)
    con = connect(db)
    try:
        snaps = con.execute("select id, imported_at from list_snapshot where id > ? order by id",
                            (ref.base["snapshot"],)).fetchall()
        if not snaps:
            state, problems = "nothing", []
            stray = one(con, "select count(*) from screening_run where id > ?", ref.base["run"])
            if stray:
                problems.append(f"no new snapshot, yet {stray} new screening runs")
        else:
            problems = []
            if len(snaps) > 1:
                problems.append(f"{len(snaps)} new snapshots")
            sid, at = snaps[0]["id"], snaps[0]["imported_at"]
            entries = one(con, "select count(*) from list_entry where snapshot_id = ?", sid)
            want = ref.data.get("entries")
            if want is not None and entries != want:
                problems.append(f"snapshot {sid} has {entries} of {want} entries")
            if not one(con, "select count(*) from audit_event where seq > ? and"
                            " entity = 'list_snapshot' and entity_id = ?", ref.base["seq"], str(sid)):
                problems.append(f"snapshot {sid} without its audit event")
            rs = con.execute("select id, ts from screening_run where id > ? and scope = 'rescreen'"
                             " and ts >= ?", (ref.base["run"], at)).fetchall()
            if not rs:
                problems.append(f"snapshot {sid} committed without a 'rescreen' screening run "
                                f"after it (the re-screen is not in the import's transaction)")
                state = "partial"
            else:
                state = "complete" if not problems else "partial"
    finally:
        con.close()
    if not problems:
        problems = generic(state, now, ref)
    return state, problems, []


def _judge_run(b: Bench, run_dir: Path, ref: Ref, scope: str) -> Verdict:
    """A screening run all or nothing: the run, its per-party rows (for party
    screenings), its hits and its audit event together."""
    db = run_dir / DB
    now = db_state(db)
    con = connect(db)
    try:
        runs = con.execute("select * from screening_run where id > ? order by id",
                           (ref.base["run"],)).fetchall()
        problems: list[str] = []
        if not runs:
            state = "nothing"
            stray = one(con, "select count(*) from screening_hit where run_id > ?", ref.base["run"])
            if stray:
                problems.append(f"no run, yet {stray} hits of a later run")
        else:
            state = "complete"
            if len(runs) > 1:
                problems.append(f"{len(runs)} new screening runs")
            r = runs[0]
            if r["scope"] != scope:
                problems.append(f"run {r['id']} has scope {r['scope']!r}, expected {scope!r}")
            hits = one(con, "select count(*) from screening_hit where run_id = ?", r["id"])
            if hits != r["hits"]:
                problems.append(f"run {r['id']} says {r['hits']} hits, {hits} stored")
            want_hits = ref.data.get("hits")
            if want_hits is not None and hits != want_hits:
                problems.append(f"run {r['id']} has {hits} hits, the full run {want_hits}")
            if scope != "file":
                per = one(con, "select count(*) from screening_party_run where run_id = ?", r["id"])
                n = one(con, "select count(*) from party")
                if per != n or r["parties"] != n:
                    problems.append(f"run {r['id']}: {per} per-party rows, run says "
                                    f"{r['parties']} parties, {n} parties stored")
            elif ref.data.get("rows") is not None and r["parties"] != ref.data["rows"]:
                problems.append(f"run {r['id']} screened {r['parties']} of {ref.data['rows']} rows")
            if not one(con, "select count(*) from audit_event where seq > ? and"
                            " entity = 'screening_run' and entity_id = ?", ref.base["seq"],
                       str(r["id"])):
                problems.append(f"run {r['id']} without its audit event")
            if problems:
                state = "partial"
    finally:
        con.close()
    return state, problems + generic(state, now, ref), []


def judge_screen(b: Bench, op: Op, run_dir: Path, ch: Child, ref: Ref) -> Verdict:
    return _judge_run(b, run_dir, ref, "file")


def judge_rescreen(b: Bench, op: Op, run_dir: Path, ch: Child, ref: Ref) -> Verdict:
    return _judge_run(b, run_dir, ref, ref.data.get("scope", "all"))


PACKET_FILES = {"packet.pdf", "packet.xlsx", "packet.xlsx.sha256"}


def judge_packet(b: Bench, op: Op, run_dir: Path, ch: Child, ref: Ref) -> Verdict:
    db, out = run_dir / DB, run_dir / "out"
    now = db_state(db)
    con = connect(db)
    try:
        rows = con.execute("select after from audit_event where seq > ? and entity = 'packet'"
                           " and action = 'export'", (ref.base["seq"],)).fetchall()
    finally:
        con.close()
    recorded = {f["sha256"] for (a,) in rows for f in json.loads(a)["files"].values()}
    placed = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    problems = [f"{name} in place without its audit event (sha256 {d[:12]}… not recorded)"
                for name, d in sorted(placed.items())
                if not name.endswith(".sha256") and d not in recorded]
    if len(rows) > 1:
        problems.append(f"{len(rows)} export events")
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    notes = [f"leftover {h}" for h in hidden]
    odd = [h for h in hidden if not h.startswith(".packet-partial-")]
    if odd:
        problems.append(f"hidden leftovers not named as a partial packet: {odd}")
    if not rows:
        state = "nothing"
    elif set(placed) >= PACKET_FILES:
        state = "complete"
    else:
        state = "recorded"  # the event is in, the files were not all moved into place
    if not ch.landed and set(placed) != PACKET_FILES:
        problems.append(f"finished, yet the files in place are {sorted(placed)}")
    if problems:
        state = "partial" if state != "nothing" or placed else state
    return state, problems + generic(state, now, ref), notes


def judge_backup(b: Bench, op: Op, run_dir: Path, ch: Child, ref: Ref) -> Verdict:
    db = run_dir / DB
    dest = run_dir / "out" / "backup.db"
    anchor = Path(f"{dest}.anchor.json")
    now = db_state(db)
    # the source gains at most the anchor's record (one audit event)
    want = [ref.base["counts"]] + ([ref.full["counts"]] if ref.full else [])
    problems = [] if now["counts"] in want else [
        f"source changed: {x}" for x in count_diff(now["counts"], want[-1])]
    con = connect(db)
    try:
        recorded = con.execute("select after from audit_event where seq > ? and"
                               " entity = 'audit_anchor'", (ref.base["seq"],)).fetchall()
    finally:
        con.close()
    if recorded and not (dest.exists() and anchor.exists()):
        problems.append(f"the trail records the backup's anchor, yet "
                        f"{'the backup' if not dest.exists() else 'the anchor file'} is missing")
    notes = []
    leftovers = sorted(p.name for p in dest.parent.iterdir()
                       if p.name not in (dest.name, anchor.name)) if dest.parent.exists() else []
    for name in leftovers:
        if not (name.startswith(f".{dest.name}.partial-")
                or name.startswith(f".{anchor.name}.partial-")):
            problems.append(f"leftover {name} could be taken for a backup")
        else:
            notes.append(f"leftover {name}")
    if not dest.exists():
        state = "nothing"
        if anchor.exists():
            problems.append("an anchor without its backup")
        if not ch.landed:
            problems.append("finished, yet no backup")
    else:
        state = "complete"
        try:
            got = db_state(dest)
            problems += [f"backup incomplete: {x}" for x in count_diff(got["counts"],
                                                                      ref.base["counts"])]
            con = connect(dest)
            try:
                ic = one(con, "pragma integrity_check")
            finally:
                con.close()
            if ic != "ok":
                problems.append(f"backup integrity_check: {ic}")
        except sqlite3.DatabaseError as e:
            problems.append(f"backup unreadable: {e}")
        r = cli(b.env, dest, "check")
        if r.returncode != 0:
            problems.append(f"`check` of the backup exit {r.returncode}: "
                            f"{(r.stdout + r.stderr).strip()[-600:]}")
        if anchor.exists():
            state = "complete+anchor" + (" recorded" if recorded else "")
            r = cli(b.env, db, "check", "--against", str(anchor))
            if r.returncode != 0:
                problems.append(f"`check --against` the backup's anchor exit {r.returncode}: "
                                f"{(r.stdout + r.stderr).strip()[-600:]}")
        elif not ch.landed:
            problems.append("finished, yet no anchor beside the backup")
    if problems and state != "nothing":
        state = "partial"
    return state, problems, notes


# -- the bench -------------------------------------------------------------------------

def find_sdn() -> Path | None:
    for folder in (ROOT / "tests" / "data" / "lists" / "ofac_sdn_2021",
                   ROOT.parent / "shared" / "data" / "ofac_sdn_2021"):
        if (folder / "sdn.csv").is_file():
            return folder
    return None


@dataclass
class Stats:
    name: str
    title: str
    attempts: int = 0
    landed: int = 0
    missed: int = 0
    errors: int = 0
    failures: int = 0
    states: dict[str, int] = field(default_factory=dict)
    first_failure: str = ""
    first_error: str = ""
    full: float | None = None
    work: float | None = None
    timer: str = ""
    status: str = "ok"
    note: str = ""
    kept: str = ""
    seconds: float = 0.0


class SetupError(Exception):
    pass


class Bench:
    def __init__(self, scratch: Path, kills: int, max_attempts: int, seed: int, verbose: bool):
        self.scratch, self.kills, self.max_attempts = scratch, kills, max_attempts
        self.seed, self.verbose = seed, verbose
        self.env = child_env(scratch)
        self.bases: dict[str, Path] = {}
        self.keys: Path | None = None
        self.sdn = find_sdn()
        self.data = scratch / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, Path] = {}

    # ---- inputs
    def parties_csv(self) -> Path:
        if "parties" not in self._files:
            p = self.data / "parties.csv"
            with open(p, "w", encoding="utf-8", newline="") as fh:
                fh.write("legal_name,kind,country,city,street\n")
                for i in range(N_PARTIES):
                    fh.write(f"Kill Bench Party {i:05d} Ltd,company,SG,Singapore,"
                             f"{i} Harbour Road\n")
            self._files["parties"] = p
        return self._files["parties"]

    def sdn_folder(self) -> Path:
        if "sdn" not in self._files:
            assert self.sdn is not None
            dest = self.data / "ofac_sdn_2021"
            shutil.copytree(self.sdn, dest)
            self._files["sdn"] = dest
        return self._files["sdn"]

    def names_csv(self) -> Path:
        """A few thousand names: every third an SDN name (so there are hits),
        the others made up."""
        if "names" not in self._files:
            listed: list[str] = []
            if self.sdn is not None:
                with open(self.sdn / "sdn.csv", encoding="utf-8", errors="replace") as fh:
                    listed = [r[1] for r in csv.reader(fh) if len(r) > 2 and r[1].strip()
                              and r[1].strip() != "-0-"]
            rnd = random.Random(7)
            p = self.data / "names.csv"
            with open(p, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["id", "name", "country"])
                for i in range(N_NAMES):
                    if listed and i % 3 == 0:
                        name = listed[(i * 7) % len(listed)]
                    else:
                        name = (f"{rnd.choice(['Apex', 'Blue River', 'Golden Sun', 'Nordic'])} "
                                f"{rnd.choice(['Trading', 'Logistics', 'Electronics'])} {i} "
                                f"{rnd.choice(['Ltd', 'GmbH', 'Co., Ltd.', 'LLC'])}")
                    w.writerow([f"N{i:05d}", name, rnd.choice(["CN", "HK", "SG", "AE", "DE", ""])])
            self._files["names"] = p
        return self._files["names"]

    # ---- bases: demo databases, made once, copied per run
    def _must(self, r: subprocess.CompletedProcess, what: str) -> None:
        if r.returncode != 0:
            raise SetupError(f"{what} failed (exit {r.returncode}): "
                             f"{(r.stdout + r.stderr).strip()[-1500:]}")

    def _checkpoint(self, db: Path) -> None:
        con = sqlite3.connect(str(db))
        try:
            con.execute("pragma wal_checkpoint(truncate)")
        finally:
            con.close()

    def base(self, name: str) -> Path:
        if name in self.bases:
            return self.bases[name]
        folder = self.scratch / "bases" / name
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / DB
        t0 = time.monotonic()
        if name == "demo":
            self._must(cli(self.env, db, "init", "--demo"), "init --demo")
            # the signing key, made once (its creation is not what is tested)
            kp = self.scratch / "bases" / "keyprep"
            kp.mkdir(parents=True, exist_ok=True)
            shutil.copy(db, kp / DB)
            self._must(cli(self.env, kp / DB, "packet", "export", "--shipment", "SO-2026-0003",
                           "--pdf", str(kp / "p.pdf")), "packet export (making the key)")
            self.keys = kp / f"{DB}.keys"
            if not self.keys.is_dir():
                raise SetupError(f"no key folder {self.keys} after a packet export")
        else:
            src = {"parties": "demo", "lists": "demo", "big": "parties"}[name]
            shutil.copy(self.base(src), db)
            if name == "parties":
                self._must(cli(self.env, db, "import", "parties", str(self.parties_csv())),
                           "import of the 20,000 parties")
            elif self.sdn is not None:  # lists, big: + the SDN list (no re-screen)
                sdn = str(self.sdn_folder() / "sdn.csv")
                r = cli(self.env, db, "lists", "import", "--no-rescreen", sdn)
                if r.returncode == 2:  # no such option any more
                    r = cli(self.env, db, "lists", "import", sdn)
                self._must(r, "lists import of the SDN list")
        self._checkpoint(db)
        self._must(cli(self.env, db, "check"), f"check of the {name} base")
        print(f"  base {name}: {db.stat().st_size / 1e6:.1f} MB in {time.monotonic() - t0:.1f} s",
              flush=True)
        self.bases[name] = db
        return db

    def fresh(self, op: Op, tag: str) -> Path:
        run_dir = self.scratch / "runs" / f"{op.name}-{tag}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        src = self.base(op.base)
        shutil.copy(src, run_dir / DB)
        for suffix in ("-wal", "-shm"):
            if Path(f"{src}{suffix}").exists():
                shutil.copy(f"{src}{suffix}", run_dir / f"{DB}{suffix}")
        if self.keys is not None:
            shutil.copytree(self.keys, run_dir / f"{DB}.keys")
        (run_dir / "out").mkdir()
        if op.prepare:
            op.prepare(run_dir)
        return run_dir

    # ---- one run
    def judge(self, op: Op, run_dir: Path, ch: Child, ref: Ref, hung: bool) -> Verdict:
        problems: list[str] = []
        if hung:
            problems.append("the process hung (killed at the time limit)")
        if ch.killed_at is None and ch.rc not in (0, None) and not hung:
            problems.append(f"exit {ch.rc} without a kill: {ch.stderr_text().strip()[-800:]}")
        try:
            state, p, notes = op.judge(self, op, run_dir, ch, ref)
        except Exception as e:  # an unreadable database is a failure too
            state, p, notes = "unreadable", [f"{type(e).__name__}: {e}"], []
        problems += p
        r = cli(self.env, run_dir / DB, "check")
        if r.returncode != 0:
            problems.append(f"`workbench check` exit {r.returncode}: "
                            f"{(r.stdout + r.stderr).strip()[-1200:]}")
        return state, problems, notes

    def measure(self, op: Op, st: Stats) -> Ref | None:
        """The operation uninterrupted: its duration and the completed state.
        Retried (up to 3 times, 20 s apart) when it fails with what looks like
        code being edited (a syntax or import error)."""
        base = self.base(op.base)
        ref = Ref(base=db_state(base))
        for attempt in range(3):
            run_dir = self.fresh(op, "measure")
            ch, ok = run_child(self.env, run_dir, op.args(run_dir), delay=None, from_bar=False,
                               timeout=1800)
            if ok and ch.rc == 0:
                break
            err = ch.stderr_text().strip()[-1500:]
            if attempt < 2 and CODE_ERROR.search(err):
                print(f"  {op.name}: uninterrupted run failed with a code error; retrying in "
                      f"20 s: {err.splitlines()[-1] if err else ''}", flush=True)
                time.sleep(20)
                continue
            st.status = "ERROR"
            st.first_error = f"the uninterrupted run failed (exit {ch.rc}): {err}"
            return None
        st.full = (ch.t_exit or time.monotonic()) - ch.t_spawn
        st.timer = "first bar" if ch.origin else "process start"
        st.work = (ch.t_exit or time.monotonic()) - (ch.origin or ch.t_spawn)
        full = db_state(run_dir / DB)
        con = connect(run_dir / DB)
        try:
            if op.name == "lists":
                ref.data["entries"] = one(con, "select count(*) from list_entry where snapshot_id"
                                               " = (select max(id) from list_snapshot)")
            if op.name in ("screen", "rescreen"):
                r = con.execute("select scope, hits, parties from screening_run where id > ?"
                                " order by id limit 1", (ref.base["run"],)).fetchone()
                if r is not None:
                    ref.data.update(scope=r["scope"], hits=r["hits"])
                    if op.name == "screen":
                        ref.data["rows"] = r["parties"]
        finally:
            con.close()
        ref.full = full
        state, problems, _notes = self.judge(op, run_dir, ch, ref, False)
        if problems or not state.startswith("complete"):
            st.status = "ERROR"
            st.first_error = (f"the uninterrupted run did not complete cleanly (state {state}): "
                              + "; ".join(problems))
            return None
        shutil.rmtree(run_dir, ignore_errors=True)
        return ref

    def run_op(self, op: Op) -> Stats:
        st = Stats(op.name, op.title)
        t_op = time.monotonic()
        skip = op.needs(self)
        if skip:
            st.status, st.note = "SKIPPED", skip
            print(f"\n== {op.name}: skipped: {skip}", flush=True)
            return st
        print(f"\n== {op.name}: {op.title}", flush=True)
        try:
            ref = self.measure(op, st)
        except SetupError as e:
            st.status, st.first_error = "ERROR", f"setup: {e}"
            ref = None
        if ref is None:
            print(f"  {op.name}: {st.first_error}", flush=True)
            st.seconds = time.monotonic() - t_op
            return st
        assert st.work is not None and st.full is not None
        print(f"  uninterrupted: {st.full:.2f} s ({st.work:.2f} s of work from the {st.timer})",
              flush=True)
        rng = random.Random(f"{self.seed}-{op.name}")
        hi = max(st.work, 0.05)
        from_bar = st.timer == "first bar"
        timeout = max(180.0, 10 * st.full)
        while st.landed < self.kills and st.attempts < self.max_attempts:
            st.attempts += 1
            delay = rng.uniform(0.0, hi)
            run_dir = self.fresh(op, f"{st.attempts:03d}")
            ch, ok = run_child(self.env, run_dir, op.args(run_dir), delay=delay,
                               from_bar=from_bar, timeout=timeout)
            if ch.landed:
                st.landed += 1
                what = "landed"
            elif ch.rc == 0:
                st.missed += 1
                what = "missed (finished first)"
                ran = (ch.t_exit or time.monotonic()) - (ch.origin or ch.t_spawn)
                hi = max(0.05, min(hi * 0.9, ran * 0.9))  # shorter delays from now on
            else:
                st.errors += 1
                what = f"error (exit {ch.rc})"
                if not st.first_error:
                    st.first_error = f"attempt {st.attempts}: exit {ch.rc}: " \
                                     f"{ch.stderr_text().strip()[-1200:]}"
            state, problems, notes = self.judge(op, run_dir, ch, ref, not ok)
            st.states[state] = st.states.get(state, 0) + 1
            mark = "ok" if not problems else "FAIL: " + problems[0][:160]
            print(f"  {op.name} #{st.attempts:02d} delay {delay:6.3f} s  {what:<24} "
                  f"state={state:<16} phase={ch.phase():<34} {mark}"
                  + (f"  ({len(notes)} note(s): {notes[0]})" if notes and self.verbose else ""),
                  flush=True)
            if problems:
                st.failures += 1
                if not st.first_failure:
                    st.first_failure = (f"attempt {st.attempts}, delay {delay:.3f} s after the "
                                        f"{st.timer}, {what}, phase '{ch.phase()}', state {state}:"
                                        "\n      - " + "\n      - ".join(problems))
                    st.kept = str(run_dir)
                    continue  # keep the folder of the first failure
            shutil.rmtree(run_dir, ignore_errors=True)
        if st.failures:
            st.status = "FAIL"
        elif st.landed < self.kills:
            st.status = "TOO FEW KILLS"
        st.seconds = time.monotonic() - t_op
        return st


def ops(b: Bench) -> list[Op]:
    def needs_sdn(bench: Bench) -> str | None:
        if bench.sdn is None:
            return ("no OFAC SDN list files (tests/data/lists/ofac_sdn_2021 or "
                    "../shared/data/ofac_sdn_2021)")
        return None

    return [
        Op("import", f"import parties ({N_PARTIES:,} rows CSV)", "demo",
           lambda d: ["import", "parties", str(b.parties_csv())], judge_import),
        Op("lists", "lists import ofac_sdn_2021/sdn.csv (8,976 entries) + re-screen", "demo",
           lambda d: ["lists", "import", str(b.sdn_folder() / "sdn.csv")], judge_lists,
           needs=needs_sdn),
        Op("screen", f"screen --file ({N_NAMES:,} names, SDN + demo lists)", "lists",
           lambda d: ["screen", "--file", str(b.names_csv())], judge_screen),
        Op("rescreen", f"rescreen ({N_PARTIES:,} + 14 parties)", "parties",
           lambda d: ["rescreen"], judge_rescreen),
        Op("packet", "packet export --shipment SO-2026-0003 (PDF + XLSX)", "demo",
           lambda d: ["packet", "export", "--shipment", "SO-2026-0003",
                      "--pdf", str(d / "out" / "packet.pdf"),
                      "--xlsx", str(d / "out" / "packet.xlsx")], judge_packet),
        Op("backup", "backup DEST (20,014 parties + SDN list)", "big",
           lambda d: ["backup", str(d / "out" / "backup.db")], judge_backup),
    ]


def table(stats: list[Stats], kills: int) -> str:
    head = ["operation", "landed mid-way", "attempts", "missed", "errors", "failures",
            "outcomes", "uninterrupted", "status"]
    rows = []
    for s in stats:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s.states.items())) or "-"
        dur = (f"{s.full:.2f} s ({s.work:.2f} s work)" if s.full is not None else "-")
        rows.append([s.name, f"{s.landed}/{kills}", str(s.attempts), str(s.missed),
                     str(s.errors), str(s.failures), outcomes, dur, s.status])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20,
                    help="kills that must land mid-operation, per operation (default 20)")
    ap.add_argument("--max-attempts", type=int, default=None,
                    help="cap on attempts per operation (default 3 x kills)")
    ap.add_argument("--only", default="",
                    help="comma-separated operations: import,lists,screen,rescreen,packet,backup")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random kill delays")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--verbose", action="store_true", help="show leftover files per attempt")
    a = ap.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="kill_runs_", dir="/tmp"))
    bench = Bench(scratch, a.kills, a.max_attempts or 3 * a.kills, a.seed, a.verbose)
    all_ops = ops(bench)
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = set(names) - {o.name for o in all_ops}
    if unknown:
        ap.error(f"unknown operation(s) {sorted(unknown)}; "
                 f"choose from {', '.join(o.name for o in all_ops)}")
    chosen = [o for o in all_ops if not names or o.name in names]
    print(f"kill -9 crash-safety runs: {a.kills} kills mid-operation each, at most "
          f"{bench.max_attempts} attempts; scratch {scratch}; python {PY}", flush=True)
    t0 = time.monotonic()
    stats: list[Stats] = []
    try:
        for op in chosen:
            stats.append(bench.run_op(op))
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
    total = time.monotonic() - t0
    print(f"\nResults ({a.kills} kills wanted per operation; SIGKILL to the process group; "
          f"`workbench check` + invariant after every run)\n")
    print(table(stats, a.kills))
    for s in stats:
        if s.first_failure:
            print(f"\n{s.name}: first failure ({s.failures} in all): {s.first_failure}"
                  + (f"\n      run folder kept: {s.kept}" if s.kept else ""))
        if s.first_error:
            print(f"\n{s.name}: first error: {s.first_error}")
        if s.note:
            print(f"\n{s.name}: {s.note}")
    print(f"\ntotal time {total / 60:.1f} min ("
          + ", ".join(f"{s.name} {s.seconds / 60:.1f}" for s in stats) + ")")
    failed = any(s.failures for s in stats)
    incomplete = any(s.status in ("ERROR", "TOO FEW KILLS") for s in stats) or \
        len(stats) < len(chosen)
    if a.keep or failed:
        print(f"scratch kept: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failed else 2 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
