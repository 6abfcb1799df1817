"""Benchmark: what `workbench check` costs once records are compared with the trail.

    .venv/bin/python bench/check_bench.py [--parties N] [--db PATH]

Builds a demo database plus N parties (default 20,000) imported through the
real import path (so each has its audit event, as in real use), then times,
in the same run:

- the baseline: SQLite's integrity and foreign-key checks and the audit-chain
  walk (what `check` did before records were bound to the trail);
- the binding checks of issue 13 (parties, items, licences, drawdowns, list
  snapshots, evidence), each and in total;

and prints peak memory. The shipments of a 100,000-shipment database do not
enter the binding checks (their status moves have their own events), so the
party count is what matters.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.bootstrap import open_workbench  # noqa: E402
from workbench.clearance import binding  # noqa: E402
from workbench.db import audit  # noqa: E402
from workbench.demo import DEMO_PASSWORD  # noqa: E402
from workbench.spreadsheets.imports import import_file  # noqa: E402


def _timed(label: str, fn) -> float:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    n = len(out) if isinstance(out, list) else ""
    print(f"  {label:<44} {dt:8.2f} s  {n if n != '' else ''}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parties", type=int, default=20_000)
    ap.add_argument("--db", type=Path)
    a = ap.parse_args()
    db = a.db or Path(tempfile.mkdtemp(prefix="ecw-check-bench-")) / "check.db"
    if not db.exists():
        wb = open_workbench(db, demo=True)
        wb.login("olivia", DEMO_PASSWORD)
        f = db.with_suffix(".csv")
        with f.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["Company", "Country", "Notes"])
            for i in range(a.parties):
                w.writerow([f"Bench Trading {i:06d} Ltd", ["CN", "SG", "MY", "DE"][i % 4],
                            "bench"])
        t0 = time.perf_counter()
        rep = import_file(wb, "parties", f)
        print(f"built {db} with {a.parties:,} imported parties in "
              f"{time.perf_counter() - t0:.1f} s ({rep.created:,} created)")
        wb.close()
    wb = open_workbench(db)
    st = wb.store
    print(f"{st.scalar('select count(*) from party'):,} parties, "
          f"{st.scalar('select count(*) from audit_event'):,} audit events")
    print("baseline (check before this change):")
    base = _timed("integrity + foreign keys", st.integrity_problems)
    base += _timed("audit chain walk", lambda: [audit.verify(st)])
    print("binding checks (added):")
    add = 0.0
    for name in ("record_problems", "drawdown_problems", "snapshot_problems",
                 "evidence_problems"):
        add += _timed(name, lambda n=name: getattr(binding, n)(st))
    print(f"check total {base + add:.2f} s = baseline {base:.2f} s + binding {add:.2f} s; "
          f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    wb.close()


if __name__ == "__main__":
    main()
