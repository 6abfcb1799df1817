"""Benchmark: audit packets.

1. One shipment's packet (signed PDF with attachments + workbook + .sha256)
   on a demo database with a classification, a determination and a checklist
   run: target < 2 s (the organisation key is made beforehand, once, as in
   real use; key generation is reported separately).
2. A year: 1,000 shipments over 2026 (mixed parties, 1-3 lines each), one
   packet for --from 2026-01-01 --to 2026-12-31: target < 60 s, peak RSS
   printed (ru_maxrss of a fresh child process, so setup does not count).

Usage: .venv/bin/python bench/packet_bench.py [--shipments 1000] [--skip-year]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_one(db: Path) -> None:
    from workbench.records import shipments
    from workbench.bootstrap import open_workbench
    from workbench.checklists import runs as cstore
    from workbench.rules import determinations as rstore

    wb = open_workbench(db, demo=True)
    wb.login("olivia", "demo-password")
    sid = shipments.find_shipment(wb.store, "SO-2026-0010")
    rstore.decide_classification(wb, 6, accept=True)
    rstore.determine_shipment(wb, sid)
    cstore.start_run(wb, "ai-chip-diversion", shipment_id=sid)
    wb.close()


def setup_year(db: Path, n: int) -> None:
    from workbench.records import shipments
    from workbench.bootstrap import open_workbench

    wb = open_workbench(db, demo=True)
    wb.login("olivia", "demo-password")
    rnd = random.Random(7)
    party_ids = [r[0] for r in wb.store.all("select id from party")]
    item_ids = [r[0] for r in wb.store.all("select id from item")]
    for i in range(n):
        day = 1 + (i * 365) // n
        date = time.strftime("%Y-%m-%d", time.strptime(f"2026 {day}", "%Y %j"))
        pid = rnd.choice(party_ids)
        shipments.save_shipment(wb, {
            "reference": f"BY-2026-{i:05d}", "ship_date": date,
            "destination": rnd.choice(["SG", "DE", "JP", "AE", "MY"]),
            "end_use": f"Bench shipment {i}",
            "lines": [{"item_id": rnd.choice(item_ids), "quantity": rnd.randint(1, 50),
                       "unit_value": f"{rnd.randint(500, 30000)}.00", "currency": "USD"}
                      for _ in range(rnd.randint(1, 3))],
            "parties": [{"role": "end_user", "party_id": pid},
                        {"role": "purchaser", "party_id": pid}]})
    wb.close()


def child(db: str, out: str, scope: str) -> None:
    """Run one export in this (fresh) process and print JSON timings."""
    from workbench.app import Workbench
    from workbench.packets import export_packet
    from workbench.packets.model import build_packet
    from workbench.packets.signing import ensure_key, key_dir_for

    wb = Workbench.open(db)
    wb.login("olivia", "demo-password")
    t = time.perf_counter()
    ensure_key(key_dir_for(db), "Bench exporter")
    keygen = time.perf_counter() - t
    kw = json.loads(scope)
    t = time.perf_counter()
    p = build_packet(wb.store, **kw)
    gather = time.perf_counter() - t
    rows = sum(len(s.rows) for s in p.sections)
    t = time.perf_counter()
    res = export_packet(wb, pdf=f"{out}.pdf", xlsx=f"{out}.xlsx", **kw)
    total = time.perf_counter() - t
    print(json.dumps({"keygen_s": round(keygen, 2), "gather_s": round(gather, 3),
                      "export_s": round(total, 2), "rows": rows,
                      "shipments": len(res.packet.scope["shipments"]),
                      "pdf_bytes": Path(f"{out}.pdf").stat().st_size,
                      "xlsx_bytes": Path(f"{out}.xlsx").stat().st_size,
                      "peak_rss_mb": round(_rss_mb(), 1)}))


def run_child(db: Path, out: Path, scope: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(db), str(out),
                           json.dumps(scope)], capture_output=True, text=True, timeout=900,
                          env={"PATH": "/usr/bin:/bin", "WORKBENCH_SIGNING_PASSPHRASE": ""})
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shipments", type=int, default=1000)
    ap.add_argument("--skip-year", action="store_true")
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "one.db"
        setup_one(db)
        run_child(db, Path(d) / "warm", {"shipment_refs": ["SO-2026-0010"]})  # makes the key
        r = run_child(db, Path(d) / "one", {"shipment_refs": ["SO-2026-0010"]})
        print(f"one shipment: export {r['export_s']} s (gather {r['gather_s']} s, "
              f"{r['rows']} rows; target < 2 s) PDF {r['pdf_bytes']:,} B, "
              f"XLSX {r['xlsx_bytes']:,} B, peak RSS {r['peak_rss_mb']} MB")
        if a.skip_year:
            return
        ydb = Path(d) / "year.db"
        t = time.perf_counter()
        setup_year(ydb, a.shipments)
        print(f"setup: {a.shipments} shipments in {time.perf_counter() - t:.1f} s")
        r = run_child(ydb, Path(d) / "year", {"date_from": "2026-01-01",
                                              "date_to": "2026-12-31"})
        print(f"year: {r['shipments']} shipments, {r['rows']:,} rows: export {r['export_s']} s "
              f"(gather {r['gather_s']} s; target < 60 s) PDF {r['pdf_bytes']:,} B, "
              f"XLSX {r['xlsx_bytes']:,} B, peak RSS {r['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
