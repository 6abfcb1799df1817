"""Screening through the store, as the app and CLI do it.

Measures, on real list data (OFAC SDN 2021 + non-SDN 2025 + CSL samples,
about 30,000 names and aliases) and 10,000 stored parties:
  - importing the SDN snapshot into the store (parse + one transaction);
  - building the match index from the stored snapshots (cold start);
  - one ad-hoc screen with a warm index (target < 50 ms);
  - a recorded screening of all 10,000 parties;
  - re-screening after a 1% change of the list (target < 2 s), against the
    baseline of screening all parties again in full.

Run: .venv/bin/python bench/screening_store_bench.py [--parties N]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.bootstrap import open_workbench  # noqa: E402
from workbench.clearance import holds  # noqa: E402
from workbench.screening import results as R  # noqa: E402
from workbench.screening import snapshots as S  # noqa: E402
from workbench.screening.evaluation import clean_names  # noqa: E402

DATA = ROOT / "tests" / "data" / "lists"


def t(label: str, fn, *a, **kw):
    start = time.perf_counter()
    out = fn(*a, **kw)
    dt = time.perf_counter() - start
    print(f"{label:<58} {dt * 1000:10.1f} ms")
    return out, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parties", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wb-screen-bench-"))
    try:
        wb = open_workbench(tmp / "bench.db", demo=True)
        wb.login("olivia", "demo-password")
        # parties: clean names plus some listed names, written in one go
        names = clean_names(args.parties, seed=3)
        rng = random.Random(5)
        with open(DATA / "ofac_sdn_2021" / "sdn.csv", encoding="utf-8") as fh:
            listed = [r[1] for r in csv.reader(fh) if len(r) > 2 and r[2] == "-0- "][:500]
        for i in rng.sample(range(len(names)), min(len(listed), len(names) // 20)):
            names[i] = listed[i % len(listed)]
        with wb.writing() as w:
            w.conn.executemany(
                "insert into party (legal_name, kind, created_at, updated_at)"
                " values (?, 'company', '2026-01-01', '2026-01-01')", [(n,) for n in names])
        # list snapshots
        snap, _ = t("import SDN 2021 snapshot (sdn+alt+add, into the store)",
                    S.import_list, wb, DATA / "ofac_sdn_2021" / "sdn.csv")
        t("import non-SDN consolidated 2025 snapshot", S.import_list, wb,
          DATA / "ofac_consolidated_2025" / "cons_prim.csv")
        S.IndexCache._cache.clear()
        (idx, snaps), _ = t("build match index from stored snapshots (cold)", S.IndexCache.get,
                            wb.store)
        print(f"{'  names and aliases indexed':<58} {len(idx.records):10d}")
        t("ad-hoc screen, warm index ('Rosneft Oil Company')", R.screen_names, wb.store,
          "Rosneft Oil Company", country="RU")
        lat = []
        for q in ["Huawei", "HIK-VISION", "Banco Nacional de Cuba", "Acme Widgets GmbH",
                  "Ivan Petrov", "Shenzhen Bright Star Trading Co Ltd"] * 5:
            s = time.perf_counter()
            R.screen_names(wb.store, q)
            lat.append((time.perf_counter() - s) * 1000)
        lat.sort()
        print(f"{'ad-hoc screen median / max over 30 queries':<58} {lat[15]:7.1f} / {lat[-1]:.1f} ms")
        full, full_dt = t(f"screen all {args.parties:,} parties, recorded (baseline)",
                          R.screen_all, wb)
        # a 1% change: rewrite the SDN file with 1% of rows altered, re-import
        src = DATA / "ofac_sdn_2021"
        changed = tmp / "sdn_v2"
        changed.mkdir()
        for f in src.iterdir():
            if f.suffix == ".csv":
                shutil.copy(f, changed / f.name)
        rows = list(csv.reader(open(src / "sdn.csv", encoding="utf-8", newline="")))
        rows = [r for r in rows if len(r) > 2]
        for r in rng.sample(rows, len(rows) // 100):
            r[11] = (r[11] if r[11] != "-0- " else "") + " amended"
        with open(changed / "sdn.csv", "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(rows)
        snap2, _ = t("import the changed SDN snapshot (1% of entries changed)",
                     S.import_list, wb, changed / "sdn.csv")
        print(f"{'  diff':<58} {snap2.record['diff']}")
        _, dt = t(f"re-screen {args.parties:,} parties against what changed",
                  holds.rescreen_after_import, wb, snap2.id)
        print(f"{'  speed-up over a full re-screen':<58} {full_dt / dt:10.1f} x")
        print(f"{'peak memory (ru_maxrss)':<58} "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:10.0f} MB")
        wb.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
