"""Benchmark: what `workbench check` costs once records are compared with the trail.

    .venv/bin/python bench/check_bench.py [--parties N] [--db PATH]
    .venv/bin/python bench/check_bench.py --shipments 100000 [--db PATH] [--rebuild]
        [--parties N] [--items N] [--batch N] [--moves N] [--by-entity] [--no-cli]

Without --shipments: builds a demo database plus N parties (default 20,000)
imported through the real import path (a fresh temporary database unless
--db names one that exists).

With --shipments N: builds, once (cached under /tmp/ecw-bench/, default
check_bench-N.db; --rebuild rebuilds it), a demo database plus N//5 parties
(with other names, addresses, parents and owners), 200 items and N shipments
(1–3 lines, 2–4 parties each; statuses draft, in review, on hold, blocked,
cancelled and — for past ship dates — shipped, as an imported history may
start), every one of them imported from generated CSV files with
:func:`workbench.spreadsheets.imports.import_file` (the shipments in files of
--batch shipments, one import each), then N//10 status moves (submit and hold)
through :mod:`workbench.clearance.status`. So every record has its audit
events exactly as in real use. The build runs in a child process; its time
and peak memory are printed, and kept next to the database
(``*.build.json``; a database without that file is an unfinished build and is
rebuilt).

Both modes then time, in the same run:

- the baseline: SQLite's integrity and foreign-key checks and the audit-chain
  walk (what `check` did before records were bound to the trail);
- each binding check of :mod:`workbench.clearance.binding` (every public
  ``*_problems`` function found there when the benchmark runs, so a check
  added later is timed too), and the total; with --by-entity,
  record_problems once more per record kind (parties, items, licences,
  shipments);
- peak memory of this process (ru_maxrss: the checks only, the build ran in
  its child);
- end to end, ``python -m workbench --db PATH check`` in a child process:
  wall time, exit code, its peak memory, its report (skip with --no-cli).

A problem reported by a binding check on a freshly built database is a
finding: the benchmark prints how many of each kind and the first ones (it
does not silence them) and exits 1.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import inspect
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.bootstrap import open_workbench  # noqa: E402
from workbench.clearance import binding  # noqa: E402
from workbench.db import audit  # noqa: E402
from workbench.demo import DEMO_PASSWORD  # noqa: E402
from workbench.spreadsheets.imports import import_file  # noqa: E402

CACHE = Path("/tmp/ecw-bench")
# the order `binding.problems` runs them in; any other *_problems found is added
_KNOWN = ("record_problems", "status_event_problems", "drawdown_problems",
          "snapshot_problems", "evidence_problems")
_COUNTRIES = ("CN", "HK", "SG", "MY", "DE", "AE")
_MAKERS = ("NVIDIA", "AMD", "Intel")


# -- building -------------------------------------------------------------------------

def _party_name(i: int) -> str:
    return f"Bench Party {i:06d} " + ("Co., Ltd.", "Pte. Ltd.", "GmbH")[i % 3]


def _write_parties(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["legal_name", "kind", "other_names", "street", "city", "postcode",
                    "country", "hq_country", "website", "parent", "owner",
                    "owner_percent", "notes"])
        for i in range(n):
            c = _COUNTRIES[i % len(_COUNTRIES)]
            parent = _party_name(i - 1) if i % 10 == 1 else ""
            owner = _party_name(i - 2) if i % 25 == 2 else ""
            w.writerow([
                _party_name(i), ("university", "research_lab", "company", "company",
                                 "company")[i % 5],
                "; ".join(x for x in (f"基准公司{i:06d}有限公司" if i % 2 == 0 else "",
                                      f"BP{i:06d} Trading" if i % 3 == 0 else "") if x),
                f"{i % 997} Harbour Road", f"City {i % 50}", f"{518000 + i % 999}", c, c,
                f"https://bp{i}.example.com", parent, owner, "60" if owner else "",
                "bench"])


def _item_key(i: int) -> tuple[str, str]:
    return f"BX-{i:04d}", _MAKERS[i % len(_MAKERS)]


def _write_items(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "manufacturer", "description", "hs_code", "eccn",
                    "die_area_mm2", "memory_bandwidth_gbps", "interconnect_gbps",
                    "datacenter", "fp16_tops", "int8_tops", "notes"])
        for i in range(n):
            model, maker = _item_key(i)
            w.writerow([model, maker, f"Accelerator model {i}", "8473.30",
                        "3A090.a" if i % 4 == 0 else "", 600 + i, 1000 + i * 10, 400,
                        "yes" if i % 2 else "no", 100 + i, 200 + 2 * i, "bench"])


_ROLES = ("purchaser", "end_user", "ultimate_consignee", "forwarder")
_STATUSES = ("draft", "draft", "draft", "in_review", "on_hold", "blocked", "cancelled",
             "shipped")


def _write_shipments(path: Path, first: int, last: int, n_parties: int, n_items: int
                     ) -> int:
    """Shipments first..last-1 (1–3 lines, 2–4 parties); returns the rows written."""
    start, rows = dt.date(2021, 1, 1), 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["reference", "ship_date", "destination", "status", "end_use", "notes",
                    "item", "item_manufacturer", "quantity", "unit_value", "currency",
                    *_ROLES])
        for i in range(first, last):
            status = _STATUSES[i % len(_STATUSES)]
            # shipped only with a ship date in the past; the rest up to 2027
            day = start + dt.timedelta(days=(i * 7) % (1400 if status == "shipped" else 2200))
            parties = [_party_name((i * (13 + 2 * k)) % n_parties) if k < 2 + i % 3 else ""
                       for k in range(len(_ROLES))]
            for k in range(1 + i % 3):
                model, maker = _item_key((i * (7 + k)) % n_items)
                head = k == 0
                w.writerow([f"SO-{i:07d}", day.isoformat() if head else "",
                            _COUNTRIES[i % len(_COUNTRIES)] if head else "",
                            status if head else "", f"End use {i % 97}" if head else "",
                            "bench" if head else "", model, maker, 1 + (i + k) % 50,
                            f"{1000 + (i * 37 + k) % 90000}.{i % 100:02d}", "USD",
                            *(parties if head else [""] * len(_ROLES))])
                rows += 1
    return rows


def _moves(wb, n: int) -> dict[str, int]:
    """`n` status moves through the clearance module: drafts submitted for
    review, in-review shipments put on hold (one transaction per 1,000)."""
    from workbench.clearance import status

    done = {"submit": 0, "hold": 0}
    ids = [r[0] for r in wb.store.all(
        "select id from shipment where status in ('draft', 'in_review') order by id")]
    todo = ids[::max(1, len(ids) // n)][:n] if n else []
    for k in range(0, len(todo), 1000):
        with wb.writing():
            for sid in todo[k:k + 1000]:
                if wb.store.scalar("select status from shipment where id = ?",
                                   (sid,)) == "draft":
                    status.submit(wb, sid)
                    done["submit"] += 1
                else:
                    status.hold(wb, sid, "bench: waiting for the end-user statement")
                    done["hold"] += 1
    return done


def build(db: Path, a: argparse.Namespace) -> dict:
    """Build the database at `db` (runs in the child process)."""
    t_all = time.perf_counter()
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    db.with_suffix(".build.json").unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ecw-check-bench-csv-"))
    phases: dict[str, float] = {}

    def phase(name: str, t0: float) -> None:
        phases[name] = round(time.perf_counter() - t0, 2)
        print(f"  {name:<40} {phases[name]:8.1f} s", flush=True)

    t0 = time.perf_counter()
    wb = open_workbench(db, demo=True)
    wb.login("olivia", DEMO_PASSWORD)
    phase("demo database", t0)

    def imp(kind: str, f: Path) -> None:
        rep = import_file(wb, kind, f)
        if not rep.ok or not rep.written:
            raise SystemExit(f"{f.name}: import failed: {rep.summary()} "
                             f"{[str(e) for e in rep.errors[:5]]}")

    t0 = time.perf_counter()
    f = work / "parties.csv"
    _write_parties(f, a.parties)
    imp("parties", f)
    phase(f"import {a.parties:,} parties", t0)
    moves: dict[str, int] = {}
    if a.shipments:
        t0 = time.perf_counter()
        f = work / "items.csv"
        _write_items(f, a.items)
        imp("items", f)
        phase(f"import {a.items:,} items", t0)
        t0 = time.perf_counter()
        rows = 0
        for first in range(0, a.shipments, a.batch):
            f = work / f"shipments-{first:07d}.csv"
            rows += _write_shipments(f, first, min(first + a.batch, a.shipments),
                                     a.parties, a.items)
            tb = time.perf_counter()
            imp("shipments", f)
            f.unlink()
            print(f"    shipments {first:,}–{min(first + a.batch, a.shipments) - 1:,}: "
                  f"{time.perf_counter() - tb:.1f} s", flush=True)
        phase(f"import {a.shipments:,} shipments ({rows:,} rows, "
              f"{-(-a.shipments // a.batch)} files)", t0)
        t0 = time.perf_counter()
        moves = _moves(wb, a.moves)
        phase(f"{sum(moves.values()):,} status moves", t0)
    t0 = time.perf_counter()
    wb.store.conn.execute("pragma wal_checkpoint(truncate)")
    wb.close()
    phase("checkpoint + close", t0)
    info = {"db": str(db), "parties_imported": a.parties,
            "items_imported": a.items if a.shipments else 0,
            "shipments_imported": a.shipments, "batch": a.batch, "moves": moves,
            "phases_s": phases, "build_s": round(time.perf_counter() - t_all, 1),
            "built_at": dt.datetime.now().isoformat(timespec="seconds"),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    db.with_suffix(".build.json").write_text(json.dumps(info, indent=1))
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return info


def _child(argv: list[str]) -> tuple[int, str, float, float]:
    """Run argv; (exit code, stdout+stderr, wall seconds, its peak memory MiB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         cwd=ROOT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out, wall, ru.ru_maxrss / 1024


# -- measuring ------------------------------------------------------------------------

def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, fn) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = fn()
    dt_ = time.perf_counter() - t0
    n = f"{len(out):>7,} problems" if isinstance(out, list) else ""
    print(f"  {label:<44} {dt_:8.2f} s  {n}", flush=True)
    return dt_, out if isinstance(out, list) else []


def binding_checks() -> list[str]:
    """Every public ``*_problems`` check of binding.py, in `problems` order."""
    found = [n for n, f in inspect.getmembers(binding, inspect.isfunction)
             if n.endswith("_problems") and not n.startswith("_")
             and f.__module__ == binding.__name__]
    return [n for n in _KNOWN if n in found] + sorted(set(found) - set(_KNOWN))


def _kinds(problems: list[str]) -> list[tuple[int, str]]:
    """Problems grouped by their text with numbers and names blanked."""
    groups: dict[str, int] = {}
    for p in problems:
        k = re.sub(r"\([^)]*\)", "(…)", p, count=1)
        k = re.sub(r"\d+", "#", k)[:140]
        groups[k] = groups.get(k, 0) + 1
    return sorted(((n, k) for k, n in groups.items()), reverse=True)


def measure(db: Path, a: argparse.Namespace) -> int:
    wb = open_workbench(db)
    st = wb.store
    counts = {t: st.scalar(f"select count(*) from {t}") for t in (
        "party", "item", "licence", "shipment", "shipment_line", "shipment_party",
        "ledger_status_event", "ledger_drawdown", "list_snapshot", "evidence",
        "audit_event")}
    print(", ".join(f"{n:,} {t}" for t, n in counts.items()))
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    print(f"database {db}: {size / 1e6:,.0f} MB")
    print("baseline (check before records were bound to the trail):")
    base = _timed("integrity + foreign keys", st.integrity_problems)[0]
    t0 = time.perf_counter()
    chain = audit.verify(st)
    dt_ = time.perf_counter() - t0
    base += dt_
    print(f"  {'audit chain walk':<44} {dt_:8.2f} s  ok={chain.ok}, {chain.events:,} events")
    print(f"  (peak memory so far {_rss():.0f} MiB)")
    names = binding_checks()
    print(f"binding checks ({', '.join(names)}):")
    add, found = 0.0, {}
    for name in names:
        secs, out = _timed(name, lambda n=name: getattr(binding, n)(st))
        add += secs
        found[name] = out
    print(f"check total {base + add:.2f} s = baseline {base:.2f} s + binding {add:.2f} s; "
          f"peak memory (this process, ru_maxrss) "
          f"{_rss():.0f} MiB")
    records = getattr(binding, "_RECORDS", None)
    if a.by_entity and isinstance(records, dict) and "record_problems" in names:
        print("record_problems again, one record kind at a time:")
        try:
            for k, v in list(records.items()):
                binding._RECORDS = {k: v}
                _timed(f"  {k} ({counts.get(k, '?'):,} records)" if k in counts
                       else f"  {k}", lambda: binding.record_problems(st))
        finally:
            binding._RECORDS = records
    wb.close()

    if not a.no_cli:
        argv = [str(ROOT / ".venv/bin/python"), "-m", "workbench", "--db", str(db), "check"]
        rc, out, wall, rss = _child(argv)
        print(f"end to end: {' '.join(argv[1:])}\n  {wall:.2f} s wall, exit {rc}, "
              f"peak memory {rss:.0f} MiB; it printed:")
        lines = out.rstrip().splitlines()
        print("\n".join(f"    {ln}" for ln in lines[:30])
              + (f"\n    … {len(lines) - 30} more lines" if len(lines) > 30 else ""))

    bad = {n: p for n, p in found.items() if p}
    if bad or not chain.ok:
        print("FINDING: the benchmark database does not pass the check:")
        if not chain.ok:
            print(f"  audit chain: {chain.problem}")
        for name, probs in bad.items():
            print(f"  {name}: {len(probs):,} problems, by kind:")
            for n, k in _kinds(probs)[:15]:
                print(f"    {n:>7,} × {k}")
            print("    first ones:")
            for p in probs[:5]:
                print(f"      {p}")
        return 1
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shipments", type=int, default=0,
                    help="build (cached) a database with this many imported shipments")
    ap.add_argument("--parties", type=int,
                    help="parties to import (default 20,000; with --shipments N: N//5)")
    ap.add_argument("--items", type=int, default=200, help="items (with --shipments)")
    ap.add_argument("--batch", type=int, default=10_000,
                    help="shipments per imported file (with --shipments)")
    ap.add_argument("--moves", type=int,
                    help="status moves after the import (default N//10, with --shipments)")
    ap.add_argument("--db", type=Path)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--by-entity", action="store_true",
                    help="time record_problems once more per record kind")
    ap.add_argument("--no-cli", action="store_true",
                    help="skip the end-to-end `python -m workbench check` run")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.parties is None:
        a.parties = a.shipments // 5 if a.shipments else 20_000
    if a.moves is None:
        a.moves = a.shipments // 10
    if a.shipments:
        db = a.db or CACHE / f"check_bench-{a.shipments}.db"
        stale = a.rebuild or not db.exists() or not db.with_suffix(".build.json").exists()
    else:
        db = a.db or Path(tempfile.mkdtemp(prefix="ecw-check-bench-")) / "check.db"
        stale = a.rebuild or not db.exists()
    db = db.resolve()
    if a.build_only:
        build(db, a)
        return
    if stale:
        print(f"building {db} (child process):", flush=True)
        argv = [sys.executable, __file__, "--build-only", "--db", str(db),
                "--shipments", str(a.shipments), "--parties", str(a.parties),
                "--items", str(a.items), "--batch", str(a.batch), "--moves", str(a.moves)]
        t0 = time.perf_counter()
        p = subprocess.run(argv, cwd=ROOT)
        if p.returncode:
            raise SystemExit(f"build failed (exit {p.returncode})")
        print(f"built in {time.perf_counter() - t0:.1f} s")
    info = db.with_suffix(".build.json")
    if info.exists():
        b = json.loads(info.read_text())
        print(f"{'built' if stale else 'cached (--rebuild to rebuild)'}: {b['built_at']}, "
              f"build {b['build_s']} s, build peak memory {b['max_rss_mb']} MiB; "
              f"phases {b['phases_s']}; moves {b['moves']}")
    sys.exit(measure(db, a))


if __name__ == "__main__":
    main()
