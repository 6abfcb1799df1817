"""Screening quality on the deterministic evaluation set and on name_bench.

    python bench/screening_quality.py [--data DIR] [--threshold T] [--sweep]

Prints recall of planted variants (per perturbation kind), the share of clean
names with any hit, and precision/recall/F1 on OpenSanctions' name_bench pairs
beside logic-v2's recorded run. Reads tests/data by default (no /work/shared needed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.screening import DEFAULT_THRESHOLD, MatchIndex  # noqa: E402
from workbench.screening.evaluation import (clean_names, evaluate, load_entries,  # noqa: E402
                                            name_bench, planted_variants, recorded_f1,
                                            remove_listed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "tests" / "data" / "lists"))
    ap.add_argument("--bench", default=str(ROOT / "tests" / "data" / "name_bench"))
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--sweep", action="store_true", help="also print 60..95")
    ap.add_argument("--show", type=int, default=10, help="misses / clean hits to print")
    a = ap.parse_args()

    entries = load_entries(a.data)
    t = time.perf_counter()
    index = MatchIndex.build(entries)
    print(f"index: {len(entries)} entries, {len(index.records)} indexed names "
          f"(built in {time.perf_counter() - t:.2f}s)")
    planted = planted_variants(entries)
    clean, dropped = remove_listed(clean_names(), entries)
    print(f"evaluation set: {len(planted)} planted variants, {len(clean)} clean names "
          f"({len(dropped)} generated names dropped because they are listed: {dropped})")
    for thr in ([60.0, 65.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0] if a.sweep else [a.threshold]):
        r = evaluate(index, planted, clean, thr)
        mark = "  <- default" if thr == DEFAULT_THRESHOLD else ""
        print(f"threshold {thr:5.1f}: recall {r.recall:.2%} ({r.found}/{r.planted}), clean names hit "
              f"{r.clean_hit_rate:.2%} ({r.clean_hits}/{r.clean}){mark}")
    r = evaluate(index, planted, clean, a.threshold)
    for kind, (f, n) in r.by_kind.items():
        print(f"  {kind:13s} {f}/{n} = {f / n:.1%}")
    print(f"targets: recall >= 98% -> {'OK' if r.recall >= 0.98 else 'MISSED'}; "
          f"clean hits <= 0.5% -> {'OK' if r.clean_hit_rate <= 0.005 else 'MISSED'}")
    for c in r.misses[: a.show]:
        print(f"  miss [{c.kind}] {c.query!r} <- {c.source_name!r}")
    for q, ln, s in r.clean_hit_examples[: a.show]:
        print(f"  clean hit {q!r} -> {ln!r} ({s})")

    cases = Path(a.bench) / "cases.csv"
    nb = name_bench(index, cases, a.threshold)
    lv2 = recorded_f1(Path(a.bench) / "logicv2-frozen.csv")
    print(f"name_bench ({nb['pairs']} labelled pairs, MIT, OpenSanctions nomenklatura):")
    print(f"  ours at default threshold {nb['threshold']:.0f}: P {nb['precision']:.3f} R {nb['recall']:.3f} "
          f"F1 {nb['f1']:.3f}")
    print(f"  ours at best threshold {nb['best_threshold']:.0f}: P {nb['best_precision']:.3f} "
          f"R {nb['best_recall']:.3f} F1 {nb['best_f1']:.3f}")
    print(f"  logic-v2 recorded run (logicv2-frozen.csv): F1 {lv2:.3f}; published best 0.80 (0.803 at 0.71)")


if __name__ == "__main__":
    main()
