"""A list snapshot, its re-screen and its holds commit together (issue 13).

Killed between the two, the old code left a snapshot nothing was screened
against (7 of 14 kills). Here the re-screen is made to fail and to be
cancelled: nothing of the import may remain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.app import Workbench
from workbench.clearance import holds, status
from workbench.db import audit
from workbench.screening import results as screening
from workbench.screening.snapshots import IndexCache, current_snapshots, load_entries

DATA = Path(__file__).resolve().parents[1] / "data" / "lists" / "csl_samples"
CSL_2019 = DATA / "csl_2019_115rows.csv"


def _counts(wb: Workbench) -> tuple[int, int, int, int]:
    s = wb.store
    return (s.scalar("select count(*) from list_snapshot"),
            s.scalar("select count(*) from screening_run"),
            s.scalar("select count(*) from audit_event"),
            s.scalar("select count(*) from shipment where status = 'on_hold'"))


def test_a_failed_rescreen_keeps_no_snapshot(demo_officer_wb: Workbench,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    wb = demo_officer_wb
    before = _counts(wb)

    def broken(*_a, **_k):
        raise RuntimeError("disk full while re-screening")

    monkeypatch.setattr(screening, "rescreen_after_import", broken)
    with pytest.raises(RuntimeError):
        holds.import_list(wb, CSL_2019)
    assert _counts(wb) == before
    assert audit.verify(wb.store).ok


def test_a_cancelled_rescreen_keeps_no_snapshot(demo_officer_wb: Workbench) -> None:
    wb = demo_officer_wb
    before = _counts(wb)
    calls = {"n": 0}

    def cancel() -> bool:  # let the parse and the store through, cancel the re-screen
        calls["n"] += 1
        return wb.store.scalar("select count(*) from list_snapshot") > before[0]

    with pytest.raises(Exception) as e:
        holds.import_list(wb, CSL_2019, cancel=cancel)
    assert type(e.value).__name__ == "Cancelled"
    assert calls["n"] > 0
    assert _counts(wb) == before


def test_import_rescreens_and_holds_in_one_go(demo_officer_wb: Workbench) -> None:
    wb = demo_officer_wb
    change, rr = holds.import_list(wb, CSL_2019)
    assert rr is not None and rr["run_id"]
    run = wb.store.one("select scope, snapshots from screening_run where id = ?",
                       (rr["run_id"],))
    assert run["scope"] == "rescreen" and f'"snapshot_id": {change.id}' in run["snapshots"]


def test_without_rescreen_nothing_can_clear_or_ship(demo_officer_wb: Workbench) -> None:
    """--no-rescreen: every shipment waits for a re-screen, cleared ones too."""
    wb = demo_officer_wb
    cleared = [r["id"] for r in wb.store.all("select id from shipment where status = 'cleared'")]
    change, rr = holds.import_list(wb, CSL_2019, rescreen=False)
    assert rr is None
    for sid in cleared:
        why = [r["code"] for r in status.conditions(wb.store, sid)["reasons"]]
        assert "screening_stale" in why, (sid, why)


def test_the_index_cache_tells_a_reused_snapshot_id_apart(demo_officer_wb: Workbench,
                                                          tmp_path: Path) -> None:
    """A snapshot rolled back frees its id; the next import reuses it with
    other entries. The cached index must not be the rolled-back one's."""
    wb = demo_officer_wb
    idx_before, _ = IndexCache.get(wb.store)
    with pytest.raises(RuntimeError):
        with wb.writing():
            holds.import_list(wb, CSL_2019, rescreen=False)
            IndexCache.get(wb.store)  # cached with the uncommitted snapshot
            raise RuntimeError("rolled back")
    other = tmp_path / "other.csv"
    text = CSL_2019.read_text(encoding="utf-8").splitlines()
    other.write_text("\n".join(text[:20]) + "\n", encoding="utf-8")
    holds.import_list(wb, other, rescreen=False)
    idx, snaps = IndexCache.get(wb.store)
    assert [s["id"] for s in snaps] == [s["id"] for s in current_snapshots(wb.store)]
    fresh = type(idx).build(load_entries(wb.store, [s["id"] for s in snaps]))
    assert len(idx.entries) == len(fresh.entries)
    assert idx_before is not idx
