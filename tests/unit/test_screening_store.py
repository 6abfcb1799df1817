"""List snapshots in the store, recorded screenings, decisions, re-screening."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from workbench.db import audit
from workbench.records import parties, shipments
from workbench.bootstrap import open_workbench
from workbench.errors import ValidationError
from workbench.clearance import holds
from workbench.screening import results as R
from workbench.screening import snapshots as S
from workbench.screening.lists import Cancelled, ListFileError

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"
CSL_2019 = DATA / "csl_samples" / "csl_2019_115rows.csv"


@pytest.fixture()
def wb(tmp_path: Path):
    w = open_workbench(tmp_path / "wb.db", demo=True)
    w.login("olivia", "demo-password")
    yield w
    w.close()


def _snap_count(wb) -> int:
    return wb.store.scalar("select count(*) from list_snapshot")


def test_snapshot_keeps_provenance_and_is_audited(wb) -> None:
    ch = S.import_list(wb, CSL_2019)
    snap = wb.store.one("select * from list_snapshot where id = ?", (ch.id,))
    assert snap["format"] == "csl_csv" and snap["entry_count"] == 115
    assert json.loads(snap["counts"])["EL"] == 22
    assert len(snap["sha256"]) == 64 and snap["imported_by"] == "olivia"
    row = wb.store.one("select data, content_hash from list_entry where snapshot_id = ? limit 1",
                       (ch.id,))
    e = S.entry_from_json(row["data"])
    assert e.content_hash == row["content_hash"] == e.compute_hash()
    ev = audit.events(wb.store, entity="list_snapshot", entity_id=ch.id)[0]
    assert json.loads(ev["after"])["sha256"] == snap["sha256"]
    with pytest.raises(S.DuplicateSnapshot, match="already imported as snapshot"):
        S.import_list(wb, CSL_2019)
    with pytest.raises(Exception, match="immutable"):
        wb.store.conn.execute("delete from list_entry")


def test_bad_or_cancelled_import_leaves_no_snapshot(wb, tmp_path: Path) -> None:
    before = _snap_count(wb)
    cut = tmp_path / "cut.csv"
    data = CSL_2019.read_bytes()
    cut.write_bytes(data[: len(data) // 2] + b'"unterminated')
    with pytest.raises(ListFileError):
        S.import_list(wb, cut)
    with pytest.raises(Cancelled):
        S.import_list(wb, CSL_2019, cancel=lambda: True)
    png = tmp_path / "list.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(ListFileError):
        S.import_list(wb, png)
    assert _snap_count(wb) == before
    assert audit.verify(wb.store).ok


def _csl_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        return list(r.fieldnames or []), list(r)


def _write(path: Path, headers: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=headers)
        w.writeheader()
        w.writerows(rows)
    return path


def test_diff_and_rescreen_after_a_list_change(wb, tmp_path: Path) -> None:
    headers, rows = _csl_rows(CSL_2019)
    steady = parties.save_party(wb, {"legal_name": rows[5]["name"], "kind": "company"}).id
    leaving = parties.save_party(wb, {"legal_name": rows[0]["name"], "kind": "company"}).id
    first = S.import_list(wb, _write(tmp_path / "v1.csv", headers, rows))
    R.screen_all(wb)
    steady_entry = R.latest_hits(wb.store, steady)[0]["entry_id"]
    # v2: remove one entry, change one, add one that names a demo party
    removed = rows[0]
    changed = dict(rows[1], remarks=rows[1]["remarks"] + " (amended)")
    added = dict(rows[2], name="Merlion AI Cloud Pte. Ltd.", alt_names="",
                 entity_number="999999", addresses="1 Fusionopolis Way, Singapore, SG")
    v2 = _write(tmp_path / "v2.csv", headers, [changed, *rows[2:], added])
    second = S.import_list(wb, v2)
    diff = S.diff_snapshots(wb.store, first.id, second.id)
    assert len(diff.removed) == 1 and len(diff.changed) == 1 and len(diff.added) == 1
    rr = holds.rescreen_after_import(wb, second.id)
    new = {h["list_name"] for h in rr["new_hits"]}
    assert "Merlion AI Cloud Pte. Ltd." in new
    assert rr["changed_entries"] == 2 and rr["removed_entries"] == 1
    assert [g["party_id"] for g in rr["gone"]] == [leaving]
    refs = {s["reference"] for s in rr["affected_shipments"]}
    assert {"SO-2026-0003", "SO-2026-0004"} <= refs  # open shipments of that party
    assert "SO-2026-0012" not in refs  # cancelled shipments are not "affected"
    # hits on unchanged entries were carried into the re-screen run
    latest = R.latest_hits(wb.store, steady)
    assert latest[0]["entry_id"] == steady_entry
    assert latest[0]["run_id"] == rr["run_id"]


def test_false_positive_is_remembered_until_names_or_entry_change(wb) -> None:
    pid = parties.find_party(wb.store, "Dawning Information Industry Co., Ltd.")
    hit = R.latest_hits(wb.store, pid)[0]
    with pytest.raises(ValidationError, match="reason"):
        R.decide(wb, hit["id"], "false_positive", "  ")
    R.decide(wb, hit["id"], "false_positive", "Different legal entity; registry checked")
    assert all(h["party_id"] != pid for h in R.open_hits(wb.store))
    again = R.screen_parties(wb, [pid])
    assert again["results"][0]["hits"][0]["status"] == "cleared"
    # editing the party's names makes the decision lapse
    rec = parties.get_party(wb.store, pid)
    rec["names"].append({"name": "Dawning Info"})
    parties.save_party(wb, rec)
    relapsed = R.screen_parties(wb, [pid])
    assert relapsed["results"][0]["hits"][0]["status"] == "open"


def test_expired_and_shipment_scoped_false_positives(wb) -> None:
    pid = parties.find_party(wb.store, "Dawning Information Industry Co., Ltd.")
    sid = shipments.find_shipment(wb.store, "SO-2026-0010")
    res = R.screen_shipment(wb, sid)
    hit = next(h for r in res["results"] for h in r["hits"])
    R.decide(wb, hit["hit_id"], "false_positive", "Checked for this order", shipment_only=True)
    same = R.screen_shipment(wb, sid)
    assert next(h for r in same["results"] for h in r["hits"])["status"] == "cleared"
    other = R.screen_parties(wb, [pid])  # not for that shipment: raised again
    assert other["results"][0]["hits"][0]["status"] == "open"
    hit2 = other["results"][0]["hits"][0]
    R.decide(wb, hit2["hit_id"], "false_positive", "Checked", expires_on="2000-01-01")
    lapsed = R.screen_parties(wb, [pid])
    assert lapsed["results"][0]["hits"][0]["status"] == "open"


def test_true_match_and_decisions_are_append_only(wb) -> None:
    pid = parties.find_party(wb.store, "Dawning Information Industry Co., Ltd.")
    hit = R.latest_hits(wb.store, pid)[0]
    ch = R.decide(wb, hit["id"], "true_match", "Same company: alias of Sugon on the Entity List")
    assert R.screen_parties(wb, [pid])["results"][0]["hits"][0]["status"] == "confirmed"
    with pytest.raises(Exception, match="append-only"):
        wb.store.conn.execute("update hit_decision set decision = 'false_positive' where id = ?",
                              (ch.id,))
    ev = audit.events(wb.store, entity="hit_decision")[0]
    assert ev["user"] == "olivia" and "Sugon" in ev["after"]


def test_screen_file_keeps_order_and_columns(wb, tmp_path: Path) -> None:
    from workbench.screening.batch import result_rows, screen_file

    f = tmp_path / "names.csv"
    f.write_text("id,name,country,account\n7,Hikvision,CN,A-1\n8,Acme Widgets GmbH,DE,A-2\n"
                 "9,华为技术有限公司,,A-3\n", encoding="utf-8")
    out = screen_file(wb, f)
    assert [r["id"] for r in out["results"]] == ["7", "8", "9"]
    assert out["results"][0]["hits"] and not out["results"][1]["hits"]
    assert out["results"][2]["hits"][0]["primary_name"] == "Huawei Technologies Co., Ltd."
    assert out["results"][0]["columns"]["account"] == "A-1"
    assert wb.store.scalar("select count(*) from screening_run where scope = 'file'") == 1
    headers, rows = result_rows(out)
    assert "input: account" in headers and len(rows) >= 3
    bad = tmp_path / "nonames.csv"
    bad.write_text("company\nX\n", encoding="utf-8")
    with pytest.raises(Exception, match="name"):
        screen_file(wb, bad)


def test_no_snapshot_gives_a_clear_message(tmp_path: Path) -> None:
    w = open_workbench(tmp_path / "empty.db")
    w.create_user("boss", "owner-password", "admin")
    w.login("boss", "owner-password")
    from workbench.records.parties import save_party

    pid = save_party(w, {"legal_name": "Acme", "kind": "company"}).id
    with pytest.raises(ValidationError, match="no list snapshot"):
        R.screen_parties(w, [pid])
    w.close()


def test_fronts_shared_address_and_aggregated_ownership(wb) -> None:
    from workbench.screening.fronts import all_front_flags

    listed = parties.find_party(wb.store, "Dawning Information Industry Co., Ltd.")
    mid = parties.save_party(wb, {"legal_name": "Middle Holding Ltd", "kind": "company",
                                  "owners": [{"owner_id": listed, "percent": 100}]}).id
    # 30% directly + 100% × 30% through Middle Holding = 60% aggregated
    target = parties.save_party(wb, {"legal_name": "Quiet Trading Ltd", "kind": "company",
                                     "owners": [{"owner_id": listed, "percent": 30},
                                                {"owner_id": mid, "percent": 30}]}).id
    # 60% of 60% = 36%: below the 50% line
    half = parties.save_party(wb, {"legal_name": "Partial Holding Ltd", "kind": "company",
                                   "owners": [{"owner_id": listed, "percent": 60}]}).id
    below = parties.save_party(wb, {"legal_name": "Far Away Ltd", "kind": "company",
                                    "owners": [{"owner_id": half, "percent": 60}]}).id
    R.screen_all(wb)
    flags = all_front_flags(wb.store)
    own = [f for f in flags.get(target, []) if f.kind == "ownership"]
    assert own and own[0].percent == pytest.approx(60.0)
    assert "Middle Holding Ltd" in own[0].detail and "Dawning" in own[0].detail
    assert not [f for f in flags.get(below, []) if f.kind == "ownership"]
    bantian = parties.find_party(wb.store, "Shenzhen Bantian Components Trading Co., Ltd.")
    addr = [f for f in flags[bantian] if f.kind == "address"]
    assert addr and addr[0].list_name == "Huawei Technologies Co., Ltd."
    assert R.latest_fronts(wb.store, target)[0]["kind"] == "ownership"
