"""Benchmark: import 100,000 party rows from CSV.

Generates a CSV of N parties (mixed scripts, addresses, USCCs, some owners),
imports it into a fresh database with :func:`workbench.spreadsheets.imports.import_file`
(check pass + one write transaction with one audit event per record), and, as
a baseline in the same run, loads the same rows with a plain
``csv.DictReader`` + ``executemany`` into a bare table (no validation, no
audit), so the overhead of doing it properly is visible.

Usage: .venv/bin/python bench/import_bench.py [--rows 100000] [--keep DIR]
Each measurement runs in a fresh child process and prints its time and peak
memory (ru_maxrss of that process); ``--trace`` adds a tracemalloc run (peak
of Python allocations; slow, so not timed).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.db import audit  # noqa: E402
from workbench.app import Workbench  # noqa: E402
from workbench.spreadsheets.imports import import_file  # noqa: E402

_COUNTRIES = ["CN", "HK", "MO", "SG", "MY", "AE", "DE", "US", "China", "Macau"]
_KINDS = ["company", "company", "company", "university", "research_lab", "person"]


def _uscc(n: int) -> str:
    """A valid China unified social credit code (check digit computed)."""
    from stdnum.cn import uscc

    body = f"91440300{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def make_csv(path: Path, rows: int) -> None:
    """Write `rows` synthetic parties; every 50th row is owned by the row
    before it (the owner appears earlier in the file)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Company", "Kind", "Other names", "Street", "City", "Postcode",
                    "Country", "HQ country", "USCC", "Website", "Phone", "Owner",
                    "Owner percent", "Notes"])
        for i in range(rows):
            owner = f"Bench Party {i - 1:06d} Co., Ltd." if i % 50 == 1 else ""
            w.writerow([
                f"Bench Party {i:06d} Co., Ltd.", _KINDS[i % len(_KINDS)],
                f"基准公司{i:06d}有限公司; BP{i:06d}", f"{i % 997} Keji Road",
                "Shenzhen", f"{518000 + i % 999}", _COUNTRIES[i % len(_COUNTRIES)],
                _COUNTRIES[(i + 3) % len(_COUNTRIES)],
                _uscc(i) if i % 3 == 0 else "", f"https://bp{i}.example.cn",
                f"+86 755 {i:08d}", owner, "60" if owner else "",
                "benchmark row"])


def run_import(csv_path: Path, db: Path) -> dict:
    wb = Workbench.open(db)
    t0 = time.perf_counter()
    report = import_file(wb, "parties", csv_path)
    secs = time.perf_counter() - t0
    ok = audit.verify(wb.store).ok
    events = wb.store.scalar("select count(*) from audit_event")
    wb.close()
    return {"seconds": secs, "created": report.created, "errors": len(report.errors),
            "audit_ok": ok, "events": events}


def run_baseline(csv_path: Path, db: Path) -> dict:
    t0 = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma synchronous = full")
    with open(csv_path, encoding="utf-8", newline="") as fh:
        r = csv.DictReader(fh)
        conn.execute(f"create table party ({', '.join(repr(f) for f in r.fieldnames)})")
        conn.execute("begin")
        conn.executemany(
            f"insert into party values ({', '.join('?' * len(r.fieldnames))})",
            (tuple(row.values()) for row in r))
        conn.execute("commit")
    conn.close()
    return {"seconds": time.perf_counter() - t0}


def _child(which: str, csv_path: str, db: str, trace: bool) -> None:
    """Run one measurement in this (fresh) process and print it as JSON:
    a fresh process makes ru_maxrss the peak of that job alone. tracemalloc
    slows Python several-fold, so it is a separate, optional run."""
    if trace:
        tracemalloc.start()
    res = (run_import if which == "import" else run_baseline)(Path(csv_path), Path(db))
    if trace:
        res["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def _measure(which: str, csv_path: Path, db: Path, trace: bool = False) -> dict:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    out = subprocess.run([sys.executable, __file__, "--child", which, str(csv_path),
                          str(db)] + (["--trace"] if trace else []),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--keep", help="folder to keep the CSV and databases in")
    ap.add_argument("--trace", action="store_true",
                    help="also measure Python allocations with tracemalloc (slow)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child, trace=args.trace)
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="import-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"parties_{args.rows}.csv"
    t0 = time.perf_counter()
    make_csv(csv_path, args.rows)
    print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) "
          f"in {time.perf_counter() - t0:.1f} s: {csv_path}")

    base = _measure("baseline", csv_path, folder / "baseline.db")
    print(f"baseline  csv.DictReader + executemany (no checks, no audit): "
          f"{base['seconds']:6.1f} s, peak RSS {base['max_rss_mb']:5.0f} MB")
    res = _measure("import", csv_path, folder / "workbench.db")
    print(f"workbench import_file (validate + audit, one transaction):  "
          f"{res['seconds']:6.1f} s, peak RSS {res['max_rss_mb']:5.0f} MB  "
          f"({res['created']:,} created, {res['errors']} errors, "
          f"{res['events']:,} audit events, chain ok={res['audit_ok']})")
    print(f"overhead: {res['seconds'] / max(base['seconds'], 1e-9):.0f}x the baseline; "
          f"{args.rows / res['seconds']:,.0f} rows/s")
    if args.trace:
        tr = _measure("import", csv_path, folder / "workbench-traced.db", trace=True)
        print(f"tracemalloc peak of Python allocations during the import: "
              f"{tr['traced_peak_mb']:.1f} MB (that run took {tr['seconds']:.0f} s "
              f"under tracing)")
    # Re-import of the same file: everything unchanged, nothing written.
    wb = Workbench.open(folder / "workbench.db")
    t0 = time.perf_counter()
    rep2 = import_file(wb, "parties", csv_path)
    print(f"re-import (all unchanged): {time.perf_counter() - t0:6.1f} s "
          f"({rep2.unchanged:,} unchanged)")
    wb.close()


if __name__ == "__main__":
    main()
