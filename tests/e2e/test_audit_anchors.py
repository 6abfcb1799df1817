"""Issue 13: the trail's head kept outside the database catches what the
chain alone cannot — a cut tail, events rewritten and re-hashed, a forged
event inserted and re-hashed — given an anchor (or a packet, or a backup's
anchor) made before."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_cli import run
from workbench.db.audit import GENESIS, event_hash

PASSWORD = "demo-password"


def _anchor(db: Path, out: Path) -> dict:
    r = run(db, "audit", "anchor", str(out))
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def _write_more(db: Path) -> None:
    for name in ("Alpha Exports", "Beta Exports", "Gamma Exports"):
        run(db, "settings", "set", "exporter-name", name, user="olivia", password=PASSWORD,
            check=True)


def _tamper(db: Path, edit) -> None:
    """With sqlite3, as an attacker would: drop the triggers, change the
    events with `edit(rows)`, then re-hash the whole chain so that the
    chain verifies again."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    for (name,) in con.execute("select name from sqlite_master where type = 'trigger'"
                               " and tbl_name = 'audit_event'").fetchall():
        con.execute(f'drop trigger "{name}"')
    rows = [dict(r) for r in con.execute("select * from audit_event order by seq")]
    rows = edit(rows)
    con.execute("delete from audit_event")
    prev = GENESIS
    for i, r in enumerate(rows, 1):
        r["seq"], r["prev_hash"] = i, prev
        r["hash"] = event_hash(i, r["ts"], r["user"], r["entity"], r["entity_id"], r["action"],
                               r["before"], r["after"], prev)
        prev = r["hash"]
        con.execute("insert into audit_event (seq, ts, user, entity, entity_id, action,"
                    " before, after, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?)",
                    tuple(r[k] for k in ("seq", "ts", "user", "entity", "entity_id",
                                         "action", "before", "after", "prev_hash", "hash")))
    con.commit()
    con.close()


def _cut_tail(rows):
    return rows[:-3]


def _edit_and_rehash(rows):
    # the drawdown of 64 H100 on D1187342 becomes 6: the licence looks unused
    target = next(r for r in rows if r["entity"] == "licence" and r["action"] == "draw")
    assert '"quantity":64' in target["after"]
    target["after"] = target["after"].replace('"quantity":64', '"quantity":6', 1)
    return rows


def _insert_forged(rows):
    forged = dict(rows[5], entity="user", action="create", entity_id="99",
                  after='{"username":"mallory","role":"admin"}')
    return rows[:6] + [forged] + rows[6:]


@pytest.mark.parametrize("attack, words", [
    (_cut_tail, "the trail was cut after the anchor"),
    (_edit_and_rehash, "were rewritten"),
    (_insert_forged, "were rewritten"),
])
def test_each_chain_attack_passes_verify_but_not_the_anchor(demo_db: Path, tmp_path: Path,
                                                            attack, words: str) -> None:
    _write_more(demo_db)
    anchor = tmp_path / "anchor.json"
    a = _anchor(demo_db, anchor)
    assert a["seq"] > 40 and a["made_by"] is None  # nobody signed in: read-only
    r = run(demo_db, "audit", "verify", "--against", str(anchor))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "holds 1 outside copy" in r.stdout
    _tamper(demo_db, attack)
    # the chain alone is whole again: that is the attack
    r = run(demo_db, "audit", "verify")
    assert r.returncode == 0 and r.stdout.startswith("ok")
    r = run(demo_db, "audit", "verify", "--against", str(anchor))
    assert r.returncode == 1
    assert words in r.stdout
    r = run(demo_db, "check", "--against", str(anchor))
    assert r.returncode == 1 and words in r.stdout


def test_a_packet_made_before_is_an_anchor_too(demo_db: Path, tmp_path: Path) -> None:
    pdf, xlsx = tmp_path / "packet.pdf", tmp_path / "packet.xlsx"
    r = run(demo_db, "packet", "export", "--shipment", "SO-2026-0003", "--pdf", str(pdf),
            "--xlsx", str(xlsx), user="olivia", password=PASSWORD)
    assert r.returncode == 0, r.stderr
    r = run(demo_db, "audit", "verify", "--against", str(pdf), "--against", str(xlsx))
    assert r.returncode == 0, r.stdout + r.stderr
    _tamper(demo_db, _edit_and_rehash)
    r = run(demo_db, "audit", "verify", "--against", str(pdf), "--against", str(xlsx))
    assert r.returncode == 1
    assert "packet PDF's audit chain head" in r.stdout
    assert "packet workbook's audit chain head" in r.stdout


def test_a_backup_carries_its_anchor(demo_db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "copy.db"
    r = run(demo_db, "backup", str(dest))
    assert r.returncode == 0, r.stderr
    anchor = Path(f"{dest}.anchor.json")
    assert anchor.exists() and "anchor" in r.stdout
    assert run(dest, "audit", "verify", "--against", str(anchor)).returncode == 0
    _tamper(demo_db, _cut_tail)
    assert run(demo_db, "audit", "verify", "--against", str(anchor)).returncode == 1


@pytest.mark.parametrize("content, words", [
    (b"not json at all", "not JSON"),
    (b'{"format": "something-else"}', "format is not"),
    (b"[" * 100_000, "not JSON"),
    (json.dumps({"format": "workbench-audit-anchor/1", "seq": 10**40,
                 "head": "0" * 64}).encode(), "seq must be"),
    (json.dumps({"format": "workbench-audit-anchor/1", "seq": 3,
                 "head": "zz"}).encode(), "head must be"),
    (json.dumps({"format": "workbench-audit-anchor/1", "seq": 3,
                 "head": "a" * 64}).encode(), "not signed"),
])
def test_a_bad_anchor_is_one_line_naming_the_file(demo_db: Path, tmp_path: Path,
                                                  content: bytes, words: str) -> None:
    f = tmp_path / "bad.json"
    f.write_bytes(content)
    r = run(demo_db, "audit", "verify", "--against", str(f))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and str(f) in r.stderr and words in r.stderr
    assert "Traceback" not in r.stderr


def test_an_edited_anchor_is_refused(demo_db: Path, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.json"
    a = _anchor(demo_db, anchor)
    a["seq"] -= 1  # to pass against a cut trail
    anchor.write_text(json.dumps(a), encoding="utf-8")
    r = run(demo_db, "audit", "verify", "--against", str(anchor))
    assert r.returncode == 1 and "the file was edited" in r.stderr
