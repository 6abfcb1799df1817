"""Licence ledger and clearance through the `workbench` command, end to end:
the whole flow on the demo data, refusals that say why, and two processes
drawing on one licence at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workbench.records import licences, shipments
from workbench.app import Workbench
from workbench.licensing import ledger as L

from flows import TEST_PACK, edited_pack, list_naming_johor, sign_checklists

from .test_cli import run

PW = "demo-password"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    p = tmp_path / "c.db"
    run(p, "init", "--demo", check=True)
    return p


def _open(db: Path) -> Workbench:
    wb = Workbench.open(db)
    wb.login("olivia", PW)
    return wb


def _licence_for(wb: Workbench, ref: str, number: str, qty: int, value: str) -> int:
    """A BIS licence naming the shipment's end user (the demo has none for CN)."""
    eu = wb.store.scalar("select sp.party_id from shipment_party sp join shipment s on"
                         " s.id = sp.shipment_id where s.reference = ? and sp.role = 'end_user'",
                         (ref,))
    return licences.save_licence(wb, {
        "number": number, "agency": "BIS", "issue_date": "2026-06-01",
        "expiry_date": "2030-05-31", "parties": [{"role": "end_user", "party_id": eu}],
        "lines": [{"eccn": "3A090.a", "description": "NVIDIA H800 SXM5 GPUs", "quantity": qty,
                   "value": value, "currency": "USD"}]}).id


def _sign_checklists(db: Path, ref: str, tmp_path: Path) -> None:
    """Answer every applicable checklist without red flags and sign it.

    Checklists have their own CLI and tests; here they are answered through
    the API so this test is about the gate, not the questionnaire."""
    wb = _open(db)
    try:
        sign_checklists(wb, wb.store.scalar("select id from shipment where reference = ?",
                                            (ref,)), tmp_path / "evidence.txt")
    finally:
        wb.close()


def test_whole_flow_on_demo_data(db: Path, tmp_path: Path) -> None:
    ref = "SO-2026-0009"  # CN, H800 × 16: licence required
    wb = _open(db)
    _licence_for(wb, ref, "D2000001", 16, "500000.00")
    wb.close()
    o = {"user": "olivia", "password": PW}

    st = run(db, "shipment", "status", ref, check=True).stdout
    assert "has no saved determination" in st and "is not signed" in st
    refused = run(db, "shipment", "clear", ref, **o)
    assert refused.returncode == 1
    assert f"{ref} cannot be cleared" in refused.stderr
    assert "  - Shipment SO-2026-0009 has no saved determination" in refused.stderr

    run(db, "screen", "--shipment", ref, **o, check=True)
    # decide every open hit (the demo's Dawning hit is a true match)
    for h in json.loads(run(db, "--json", "hits", check=True).stdout):
        run(db, "decide", str(h["id"]), "--as", "true_match", "--reason",
            "Alias of Sugon on the Entity List", **o, check=True)
    run(db, "determine", "--shipment", ref, "--save", **o, check=True)
    st = json.loads(run(db, "shipment", "status", ref, "--json", check=True).stdout)
    assert st["determination"]["outcome"] == "license_required" and st["determination"]["current"]
    assert any("no licence is drawn" in r["text"] for r in st["reasons"])

    drawn = json.loads(run(db, "licence", "draw", "--shipment", ref, "--licence", "D2000001",
                           "--json", **o, check=True).stdout)
    assert drawn["drawdowns"][0]["quantity"] == 16
    assert drawn["balance"]["lines"][0]["remaining_quantity"] == 0
    again = run(db, "licence", "draw", "--shipment", ref, "--licence", "D2000001", **o)
    assert again.returncode == 1 and "already drawn on licence D2000001" in again.stderr

    _sign_checklists(db, ref, tmp_path)
    assert run(db, "shipment", "clear", ref, **o, check=True).stdout.strip() == \
        f"{ref}: draft → cleared"
    assert "cleared → shipped" in run(db, "shipment", "ship", ref, **o, check=True).stdout
    st = json.loads(run(db, "--json", "shipment", "status", ref, check=True).stdout)
    assert st["status"] == "shipped" and [h["action"] for h in st["history"]] == ["clear", "ship"]
    bal = run(db, "licence", "balance", "D2000001", check=True).stdout
    assert "qty 16/16 used, 0 left" in bal and "100% used" in bal
    rev = run(db, "licence", "reverse", str(drawn["drawdowns"][0]["drawdown"]), "--reason",
              "mistake", **o)
    assert rev.returncode == 1 and "has shipped" in rev.stderr
    assert run(db, "audit", "verify").returncode == 0


def test_refusals_say_why(db: Path) -> None:
    o = {"user": "olivia", "password": PW}
    r = run(db, "shipment", "ship", "SO-2026-0004", **o)
    assert r.returncode == 1 and "only a cleared shipment can be marked shipped" in r.stderr
    r = run(db, "shipment", "hold", "SO-2026-0004", **o)
    assert r.returncode == 1 and "a hold needs a reason" in r.stderr
    r = run(db, "licence", "draw", "--shipment", "SO-2026-0003", "--licence", "D1190815", **o)
    assert r.returncode == 1 and "is not named on licence D1190815" in r.stderr
    r = run(db, "licence", "draw", "--shipment", "SO-2026-0004", "--licence", "D1190815",
            "--json", **o, check=True)
    r = run(db, "licence", "reverse", "1", "--reason", "", **o)
    assert r.returncode == 1 and "needs a reason" in r.stderr
    r = run(db, "shipment", "override", "SO-2026-0010", "--reason", "urgent",
            "--approver", "arthur", **o)
    assert r.returncode == 1 and "WORKBENCH_APPROVER_PASSWORD" in r.stderr
    env = {"WORKBENCH_APPROVER_PASSWORD": PW}
    r = run(db, "shipment", "override", "SO-2026-0010", "--reason", "urgent",
            "--approver", "owner", env=env, **o)
    assert r.returncode == 1 and "approver role" in r.stderr
    r = run(db, "shipment", "override", "SO-2026-0010", "--reason", "urgent",
            "--approver", "arthur", env=env, **o)
    assert r.returncode == 1 and "has no saved determination" in r.stderr
    r = run(db, "shipment", "clear", "SO-2026-0004", user="audrey", password=PW)
    assert r.returncode == 1 and "auditor" in r.stderr
    r = run(db, "--json", "shipment", "clear", "SO-2026-0010", **o)
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["ok"] is False
    assert any("open hit on the Entity List" in x for x in out["reasons"])


def test_attention_json(db: Path) -> None:
    a = json.loads(run(db, "attention", "--json", check=True).stdout)
    assert a["open_hits"]["count"] == 1 and a["on_hold"]["count"] == 1
    assert {"screenings_per_week", "licence_utilisation"} <= set(a["series"])
    assert "Open screening hits: 1" in run(db, "attention", check=True).stdout


RACER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from workbench.app import Workbench
    from workbench.clearance import status as clearance
    from workbench.licensing import LedgerRefused, ledger as L

    db, lid, barrier, me, ids = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], \\
        json.loads(sys.argv[5])
    wb = Workbench.open(db)
    wb.login("olivia", "demo-password")
    (barrier / f"ready-{me}").touch()
    while not (barrier / "go").exists():
        time.sleep(0.001)
    won = []
    for sid in ids:
        try:
            L.draw(wb, sid, lid)
            won.append(sid)
        except LedgerRefused:
            continue
        try:
            clearance.clear(wb, sid)
        except LedgerRefused:
            pass
    print(json.dumps(won))
""")


def test_two_processes_never_overdraw(db: Path, tmp_path: Path) -> None:
    wb = _open(db)
    st = wb.store
    template = shipments.get_shipment(st, st.scalar(
        "select id from shipment where reference = 'SO-2026-0009'"))
    rounds, per_round, qty, licensed = 3, 24, 3, 32  # 10 draws fit, 24 × 2 tries
    plans = []
    for r in range(rounds):
        lid = _licence_for(wb, "SO-2026-0009", f"RACE-{r}", licensed, "3000000.00")
        ids = [shipments.save_shipment(wb, {
            **template, "id": None, "version": None, "reference": f"RACE-{r}-{i:02d}",
            "lines": [{**template["lines"][0], "quantity": qty}]}).id
            for i in range(per_round)]
        plans.append((lid, ids))
    wb.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for r, (lid, ids) in enumerate(plans):
        barrier = tmp_path / f"barrier-{r}"
        barrier.mkdir()
        procs = [subprocess.Popen([sys.executable, "-c", RACER, str(db), str(lid), str(barrier),
                                   me, json.dumps(ids)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
                 for me in ("a", "b")]
        deadline = time.monotonic() + 60
        while not all((barrier / f"ready-{m}").exists() for m in ("a", "b")):
            assert time.monotonic() < deadline, "racers did not start"
            time.sleep(0.01)
        (barrier / "go").touch()
        won = []
        for p in procs:
            out, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
            won.append(json.loads(out))
        wb = _open(db)
        try:
            line = L.balance(wb.store, lid)["lines"][0]
            total = wb.store.scalar(
                "select sum(quantity) from ledger_drawdown d where d.licence_id = ? and"
                " d.kind = 'draw' and not exists (select 1 from ledger_drawdown r"
                " where r.reverses = d.id)", (lid,))
        finally:
            wb.close()
        assert line["remaining_quantity"] >= 0 and total <= licensed
        assert total == (licensed // qty) * qty  # every unit that fits was drawn, once
        # no shipment won by both processes
        assert not set(won[0]) & set(won[1])
        assert len(won[0]) + len(won[1]) == licensed // qty


def test_new_list_snapshot_holds_through_the_cli(db: Path, tmp_path: Path) -> None:
    """`lists import` re-screens and, in the same transaction, puts the open
    shipments with a new hit on hold, and says so."""
    o = {"user": "olivia", "password": PW}
    r = run(db, "lists", "import", str(list_naming_johor(tmp_path)), **o, check=True)
    held = next(ln for ln in r.stdout.splitlines() if "put on hold:" in ln)
    assert "SO-2026-0004" in held
    st = json.loads(run(db, "--json", "shipment", "status", "SO-2026-0004", check=True).stdout)
    assert st["status"] == "on_hold"
    last = st["history"][-1]
    assert last["action"] == "auto_hold" and "Merlion AI Cloud (Johor)" in last["reason"]
    assert run(db, "audit", "verify").returncode == 0


def test_settings_name_the_exporter_on_packets(db: Path, tmp_path: Path) -> None:
    o = {"user": "olivia", "password": PW}
    assert "Northwind Compute Exports Ltd (demo)" in run(db, "settings", "show",
                                                        check=True).stdout
    r = run(db, "settings", "set", "exporter-name", "  ", **o)
    assert r.returncode == 1 and "cannot be empty" in r.stderr
    r = run(db, "settings", "set", "exporter-name", "Acme Chips Ltd", user="audrey", password=PW)
    assert r.returncode == 1 and "auditor" in r.stderr
    run(db, "settings", "set", "exporter-name", "Acme Chips Ltd", **o, check=True)
    x = tmp_path / "p.xlsx"
    r = run(db, "--json", "packet", "export", "--shipment", "SO-2026-0003", "--xlsx", str(x),
            **o, check=True)
    pid = json.loads(r.stdout)["packet_id"]
    log = run(db, "--json", "audit", "log", check=True).stdout
    events = json.loads(log)
    kinds = [(e["entity"], e["action"]) for e in events]
    assert ("setting", "update") in kinds and ("packet", "export") in kinds
    exp = next(e for e in events if e["entity"] == "packet")
    assert exp["entity_id"] == pid and exp["user"] == "olivia"
    import openpyxl

    wbk = openpyxl.load_workbook(x, read_only=True)
    cells = [c for row in wbk["Manifest"].iter_rows(values_only=True) for c in row if c]
    assert "Acme Chips Ltd" in cells


def test_is_informed_letter_makes_the_saved_determination_stale(db: Path) -> None:
    """SO-2026-0005: 200 H20 to a Chinese cloud. Without the letter the H20
    is outside 3A090; recording the letter changes the law for this exporter,
    so the saved determination no longer counts until made again."""
    o = {"user": "olivia", "password": PW}
    r = run(db, "--json", "determine", "--shipment", "SO-2026-0005", "--save", **o, check=True)
    before = json.loads(r.stdout)["outcome"]
    bad = run(db, "rules", "letter", "OVL.NOPE", **o)
    assert bad.returncode == 1 and "OVL.H20_IS_INFORMED" in bad.stderr
    bad = run(db, "rules", "letter", "OVL.H20_IS_INFORMED", "--received-on", "15/04/2025", **o)
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
    run(db, "shipment", "submit", "SO-2026-0005", **o, check=True)  # on hold → in review
    r = run(db, "--json", "rules", "letter", "OVL.H20_IS_INFORMED", "--received-on",
            "2025-04-15", "--reference", "BIS letter 2025-04-09", **o, check=True)
    out = json.loads(r.stdout)
    assert out["active_letters"] == ["OVL.H20_IS_INFORMED"]
    assert "SO-2026-0005" in out["changed"] and "SO-2026-0005" in out["held"]
    st = json.loads(run(db, "--json", "shipment", "status", "SO-2026-0005", check=True).stdout)
    assert st["status"] == "on_hold" and "OVL.H20_IS_INFORMED" in st["history"][-1]["reason"]
    st = json.loads(run(db, "--json", "shipment", "status", "SO-2026-0005", check=True).stdout)
    assert any("out of date" in x["text"] for x in st["reasons"]), st["reasons"]
    r = run(db, "--json", "determine", "--shipment", "SO-2026-0005", "--save", **o, check=True)
    after = json.loads(r.stdout)
    assert after["outcome"] == "license_required" != before
    assert "OVL.H20_IS_INFORMED" in {x["rule_id"] for x in after["reasons"]}
    listed = json.loads(run(db, "--json", "rules", "letters", check=True).stdout)
    assert listed["in_force"] == ["OVL.H20_IS_INFORMED"]
    run(db, "rules", "letter", "OVL.H20_IS_INFORMED", "--withdraw", **o, check=True)
    assert json.loads(run(db, "--json", "rules", "letters", check=True).stdout)["in_force"] == []
    r = run(db, "--json", "rules", "tag", "Pearl River Cloud Computing Co., Ltd.",
            "Approved_CSP", "--note", "BIS approval letter on file", **o, check=True)
    assert json.loads(r.stdout)["tags"] == ["approved_csp"]
    r = run(db, "rules", "tag", "No Such Party", "x", **o)
    assert r.returncode == 1 and "no party" in r.stderr
    log = json.loads(run(db, "--json", "audit", "log", "--limit", "10", check=True).stdout)
    assert {"rules_letter", "party_rules_tag"} <= {e["entity"] for e in log}


def test_rules_load_runs_the_golden_cases_and_needs_an_approver(db: Path,
                                                               tmp_path: Path) -> None:
    o = {"user": "olivia", "password": PW}
    active = lambda: json.loads(run(db, "--json", "rules", "show", check=True).stdout)  # noqa: E731
    before = active()
    bad = edited_pack(tmp_path / "typo-pack", seal=False)
    assert run(db, "rules", "seal", str(bad), check=True).returncode == 0
    # `rules test` reports the failing cases without loading
    t = run(db, "rules", "test", str(bad))
    assert t.returncode == 1 and "golden cases fail" in t.stdout, t.stdout
    assert run(db, "rules", "test", str(TEST_PACK), check=True).stdout.count("pass") == 1
    # a pack whose cases fail is refused, even with an approver
    r = run(db, "rules", "load", str(bad), "--approver", "arthur", **o,
            env={"WORKBENCH_APPROVER_PASSWORD": PW})
    assert r.returncode == 1 and "golden cases fail" in r.stderr, r.stderr
    # one officer alone cannot activate; a wrong password neither
    r = run(db, "rules", "load", str(TEST_PACK), **o)
    assert r.returncode != 0 and "--approver" in r.stderr
    r = run(db, "rules", "load", str(TEST_PACK), "--approver", "olivia", **o,
            env={"WORKBENCH_APPROVER_PASSWORD": PW})
    assert r.returncode == 1 and "different person" in r.stderr
    r = run(db, "rules", "load", str(TEST_PACK), "--approver", "arthur", **o,
            env={"WORKBENCH_APPROVER_PASSWORD": "wrong"})
    assert r.returncode == 1 and "wrong password" in r.stderr
    r = run(db, "rules", "load", str(TEST_PACK), "--approver", "arthur", **o)
    assert r.returncode == 1 and "WORKBENCH_APPROVER_PASSWORD" in r.stderr
    assert active() == before
    # with the second person it goes live, and the trail says who approved
    r = run(db, "rules", "load", str(TEST_PACK), "--approver", "arthur", **o,
            env={"WORKBENCH_APPROVER_PASSWORD": PW}, check=True)
    assert "approved by arthur" in r.stdout
    assert active() != before
    log = json.loads(run(db, "--json", "audit", "log", "--limit", "40", check=True).stdout)
    ev = [e for e in log if e["entity"] == "rules_pack" and e["action"] == "activate"]
    assert len(ev) == 1 and "arthur" in json.dumps(ev[0])
    assert run(db, "check", check=True).returncode == 0
