"""Checklist templates, applicability, runs, red flags, sign-off, locking,
revisions and expiry (no Qt)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from workbench import checklists as cl
from workbench.bootstrap import open_workbench
from workbench.checklists import runs as cs
from workbench.checklists.templates import (MAX_TEMPLATE_BYTES, TemplateError,
                                            load_template_bytes, template_schema)
from workbench.errors import (AuthenticationError, ConflictError, PermissionDenied,
                              ValidationError)
from workbench.records.parties import find_party
from workbench.records.shipments import find_shipment
from workbench.users import get as get_user

PW = "demo-password"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_template_db(tmp_path_factory):
    # The demo load takes about a second; copy it per test instead of rebuilding.
    p = tmp_path_factory.mktemp("cl") / "base.db"
    wb = open_workbench(p, demo=True)
    wb.close()
    return p


@pytest.fixture()
def wb(demo_template_db, tmp_path):
    p = tmp_path / "wb.db"
    src = sqlite3.connect(demo_template_db)
    dst = sqlite3.connect(p)
    src.backup(dst)
    src.close()
    dst.close()
    w = open_workbench(p)
    yield w
    w.close()


def as_user(wb, name):
    return wb.as_user(get_user(wb.store, name))


MINIMAL = (Path(__file__).parents[1] / "data" / "checklists" / "custom-check.yaml").read_bytes()


def answer_all(wb, run_id, red: bool = False, evidence: Path | None = None):
    """Answer every question with a harmless value (or a red flag for the
    first yes_no question that has one)."""
    r = cl.get_run(wb.store, run_id)
    flagged = False
    for q in r["questions"]:
        if q["type"] == "yes_no":
            bad = q["red_flag_answers"][0] if q["red_flag_answers"] else None
            good = "yes" if bad != "yes" else "no"
            val = bad if (red and bad and not flagged) else good
            flagged = flagged or val == bad
        elif q["type"] == "choice":
            val = next(o for o in q["options"] if o not in q["red_flag_answers"])
        elif q["type"] == "date":
            val = "2026-05-01"
        else:
            val = "checked with the registry"
        files = [evidence] if q["evidence_required"] and evidence else []
        cl.answer(wb, run_id, q["id"], val, evidence_files=files)


@pytest.fixture()
def doc_file(tmp_path):
    p = tmp_path / "registry.pdf"
    p.write_bytes(b"%PDF-1.4\n% registry extract\n" + b"x" * 100)
    return p


# -- templates ------------------------------------------------------------------------------

def test_builtin_templates_validate_and_cite():
    ts = {t.id: t for t in cl.builtin_templates()}
    assert set(ts) == {"kyc-red-flags", "ai-chip-diversion", "end-user-statement",
                       "ownership-headquarters"}
    for t in ts.values():
        assert t.doc["sources"] and len(t.sha256) == 64
        for q in t.questions:
            assert q["source"].strip() and q["type"] in ("yes_no", "text", "date", "choice")
            for a in q["red_flag_answers"]:
                assert a in (("yes", "no", "not_applicable") if q["type"] == "yes_no"
                             else q.get("options", []))
    assert ts["ai-chip-diversion"].scope == "shipment"
    assert ts["end-user-statement"].doc["expiry_from_question"] == "signed_on"
    assert template_schema()["$schema"].endswith("2020-12/schema")


def test_yes_no_stay_text_not_booleans():
    t = load_template_bytes(MINIMAL.replace(b'["no"]', b"[no]"), "m.yaml")
    assert t.questions[0]["red_flag_answers"] == ["no"]


@pytest.mark.parametrize("body, line, words", [
    (MINIMAL.replace(b"type: yes_no", b"type: slider"), 10, "slider"),
    (MINIMAL.replace(b'version: "1"\n', b""), 1, "version"),
    (MINIMAL.replace(b'    source: "internal policy 4.2"\n', b""), 8, "source"),
    (MINIMAL.replace(b'red_flag_answers: ["no"]', b'red_flag_answers: ["maybe"]'), 11, "maybe"),
    (MINIMAL.replace(b"title: A custom check", b"title: [1, 2]"), 3, "title"),
    (MINIMAL + b"  - id: q1\n    text: again\n    type: text\n    source: s\n", 13, "twice"),
    (MINIMAL.replace(b"scope: party", b"scope: party\nscope: shipment"), 5, "twice"),
    (MINIMAL.replace(b"applies_when: {always: true}", b"applies_when: {eval: 'os.system()'}"),
     5, "eval"),
    (MINIMAL.replace(b"    type: yes_no", b"    type: choice"), 8, "options"),
    (b"id: x\n  bad: [\n", 2, "YAML"),
])
def test_bad_template_refused_with_file_line_reason(body, line, words):
    with pytest.raises(TemplateError) as e:
        load_template_bytes(body, "custom.yaml")
    assert e.value.file == "custom.yaml"
    assert e.value.line == line, str(e.value)
    assert words.lower() in str(e.value).lower()
    assert f"custom.yaml, line {line}" in str(e.value)


@pytest.mark.parametrize("body, words", [
    (b"a: &x [1, 2]\nb: *x\n", "anchors"),
    (b"- " * 40 + b"x\n", "nested deeper"),
    (b"q: [" + b"1, " * 30000 + b"1]\n", "YAML nodes"),
    (b"x: " + b"a" * (MAX_TEMPLATE_BYTES + 10), "limit"),
    (b"x: !!python/object/apply:os.system ['echo hi']\n", "python/object"),
    (b"\xff\xfe not utf-8", "UTF-8"),
    (b"", "empty"),
    (b"- just\n- a list\n", "mapping"),
    (b"id: 5\nversion: {a: 1}\ntitle: 3\nscope: world\napplies_when: 1\nsources: x\n"
     b"questions: 7\n", "is not"),
])
def test_hostile_template_refused(body, words):
    with pytest.raises(TemplateError) as e:
        load_template_bytes(body, "evil.yaml")
    assert words.lower() in str(e.value).lower(), str(e.value)
    assert "evil.yaml" in str(e.value)


def test_billion_laughs_refused_quickly():
    body = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % ((chr(98 + i).encode(),) * 2
                                                               + (chr(97 + i).encode(),) * 9)
        for i in range(9))
    with pytest.raises(TemplateError, match="anchors"):
        load_template_bytes(body, "lol.yaml")


def test_custom_template_added_listed_and_versioned(wb, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_bytes(MINIMAL)
    officer = as_user(wb, "olivia")
    ch = cl.add_template(officer, p)
    assert ch.action == "add"
    assert "custom-check" in [t.id for t in cl.list_templates(wb.store)]
    assert cl.add_template(officer, p).action == "unchanged"
    p.write_bytes(MINIMAL.replace(b"Is it fine?", b"Is it really fine?"))
    with pytest.raises(TemplateError, match="raise the version"):
        cl.add_template(officer, p)
    p.write_bytes(MINIMAL.replace(b"id: custom-check", b"id: kyc-red-flags"))
    with pytest.raises(TemplateError, match="built-in"):
        cl.add_template(officer, p)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(MINIMAL.replace(b"type: yes_no", b"type: 7"))
    with pytest.raises(TemplateError) as e:
        cl.add_template(officer, bad)
    assert str(bad) in str(e.value) and "line 10" in str(e.value)
    with pytest.raises(PermissionDenied):
        cl.add_template(as_user(wb, "audrey"), p)


# -- applicability ------------------------------------------------------------------------

def test_ai_chip_diligence_applies_by_classification_and_destination(wb):
    s4 = find_shipment(wb.store, "SO-2026-0004")          # H100 to MY
    res = cl.applicable(wb.store, shipment_id=s4)
    ai = [a for a in res if a["template_id"] == "ai-chip-diversion"]
    assert ai and any("3A090" in r for r in ai[0]["reasons"])
    s5 = find_shipment(wb.store, "SO-2026-0005")          # H20 (not 3A090) to China
    ai5 = [a for a in cl.applicable(wb.store, shipment_id=s5)
           if a["template_id"] == "ai-chip-diversion"]
    assert ai5 and ai5[0]["reasons"] == ["destination CN is in ADVCOMP_DEST"]
    # H20 to Germany: neither classification nor destination brings it
    from workbench.records import items, shipments
    h20 = items.find_item(wb.store, "H20")
    de = find_party(wb.store, "Rheinland Rechenzentrum GmbH")
    sid = shipments.save_shipment(as_user(wb, "olivia"), {
        "reference": "T-1", "ship_date": "2026-08-01", "destination": "DE",
        "lines": [{"item_id": h20, "quantity": 2, "unit_value": "100", "currency": "USD"}],
        "parties": [{"role": "end_user", "party_id": de}]}).id
    kinds = {a["template_id"] for a in cl.applicable(wb.store, shipment_id=sid)}
    assert "ai-chip-diversion" not in kinds and "end-user-statement" not in kinds
    assert "kyc-red-flags" in kinds


def test_kyc_for_every_new_customer_until_completed(wb):
    pid = find_party(wb.store, "Rheinland Rechenzentrum GmbH")
    kinds = [a["template_id"] for a in cl.applicable(wb.store, party_id=pid)]
    assert "kyc-red-flags" in kinds
    officer = as_user(wb, "olivia")
    run = cl.start_run(officer, "kyc-red-flags", party_id=pid).id
    answer_all(officer, run, evidence=None)
    r = cl.get_run(wb.store, run)
    assert any("evidence required" in p for p in r["problems"])
    with pytest.raises(ValidationError, match="evidence"):
        cl.signoff(officer, run, PW)


# -- runs: red flags, four eyes, passwords ------------------------------------------------

def test_clean_run_completes_and_locks(wb, doc_file):
    officer = as_user(wb, "olivia")
    pid = find_party(wb.store, "Rheinland Rechenzentrum GmbH")
    run = cl.start_run(officer, "kyc-red-flags", party_id=pid).id
    with pytest.raises(ConflictError, match="still open"):
        cl.start_run(officer, "kyc-red-flags", party_id=pid)
    answer_all(officer, run, evidence=doc_file)
    ch = cl.signoff(officer, run, PW)
    assert ch.action == "complete"
    r = cl.get_run(wb.store, run)
    assert r["status"] == "completed" and r["signoffs"][0]["password_verified"] == 1
    assert r["signoffs"][0]["username"] == "olivia" and r["signoffs"][0]["signed_at"]
    assert "kyc-red-flags" not in [a["template_id"] for a in cl.applicable(wb.store, party_id=pid)]
    # the password is never stored: not in any checklist table nor in the audit trail
    dump = "\n".join(wb.store.conn.iterdump())
    assert PW not in dump


def test_red_flag_needs_resolution_and_approver(wb, doc_file):
    officer, approver = as_user(wb, "olivia"), as_user(wb, "arthur")
    pid = find_party(wb.store, "Tanjung Digital Trading Sdn. Bhd.")
    run = cl.start_run(officer, "kyc-red-flags", party_id=pid).id
    answer_all(officer, run, red=True, evidence=doc_file)
    r = cl.get_run(wb.store, run)
    assert r["red_flags"] and any("resolution" in p for p in r["problems"])
    with pytest.raises(ValidationError, match="resolution"):
        cl.signoff(officer, run, PW)
    q = r["red_flags"][0]
    cl.answer(officer, run, q, r["questions"][[x["id"] for x in r["questions"]].index(q)]
              ["answer"]["value"], resolution="Registry extract obtained; verified by call")
    ch = cl.signoff(officer, run, PW)
    assert ch.action == "submit" and cl.get_run(wb.store, run)["status"] == "awaiting_approval"
    with pytest.raises(PermissionDenied, match="approver"):
        cl.signoff(officer, run, PW)
    ch = cl.signoff(approver, run, PW, note="Resolution accepted")
    assert ch.action == "approve"
    r = cl.get_run(wb.store, run)
    assert r["status"] == "completed" and [s["kind"] for s in r["signoffs"]] == ["submit", "approve"]
    assert r["signoffs"][1]["username"] == "arthur" and r["signoffs"][1]["red_flags"] == [q]


def test_approver_cannot_sign_off_own_answers(wb, doc_file):
    approver = as_user(wb, "arthur")
    pid = find_party(wb.store, "Falcon Logistics FZE")
    run = cl.start_run(approver, "kyc-red-flags", party_id=pid).id
    answer_all(approver, run, red=True, evidence=doc_file)
    q = cl.get_run(wb.store, run)["red_flags"][0]
    cl.answer(as_user(wb, "olivia"), run, q,
              next(x for x in cl.get_run(wb.store, run)["questions"] if x["id"] == q)
              ["answer"]["value"], resolution="explained")
    with pytest.raises(PermissionDenied, match="four eyes"):
        cl.signoff(approver, run, PW)
    assert cl.get_run(wb.store, run)["status"] == "in_progress"


def test_wrong_password_at_signoff_refused(wb, doc_file):
    officer = as_user(wb, "olivia")
    pid = find_party(wb.store, "Rheinland Rechenzentrum GmbH")
    run = cl.start_run(officer, "kyc-red-flags", party_id=pid).id
    answer_all(officer, run, evidence=doc_file)
    with pytest.raises(AuthenticationError):
        cl.signoff(officer, run, "not-the-password")
    r = cl.get_run(wb.store, run)
    assert r["status"] == "in_progress" and not r["signoffs"]
    with pytest.raises(PermissionDenied):
        cl.signoff(as_user(wb, "audrey"), run, PW)


def test_reject_sends_back_and_answer_change_withdraws_submission(wb, doc_file):
    officer, approver = as_user(wb, "olivia"), as_user(wb, "arthur")
    pid = find_party(wb.store, "Tanjung Digital Trading Sdn. Bhd.")
    run = cl.start_run(officer, "kyc-red-flags", party_id=pid).id
    answer_all(officer, run, red=True, evidence=doc_file)
    q = cl.get_run(wb.store, run)["red_flags"][0]
    val = next(x for x in cl.get_run(wb.store, run)["questions"] if x["id"] == q)["answer"]["value"]
    cl.answer(officer, run, q, val, resolution="called them")
    cl.signoff(officer, run, PW)
    cl.reject(approver, run, PW, "Ask for the registry extract")
    assert cl.get_run(wb.store, run)["status"] == "in_progress"
    cl.signoff(officer, run, PW)
    cl.answer(officer, run, "inquiry_summary", "more detail")
    assert cl.get_run(wb.store, run)["status"] == "in_progress"


def test_answer_values_are_validated(wb):
    officer = as_user(wb, "olivia")
    run = cl.start_run(officer, "end-user-statement",
                       party_id=find_party(wb.store, "Merlion AI Cloud Pte. Ltd.")).id
    with pytest.raises(ValidationError, match="yes, no or n/a"):
        cl.answer(officer, run, "statement_received", "perhaps")
    with pytest.raises(ValidationError, match="date"):
        cl.answer(officer, run, "signed_on", "last Tuesday")
    with pytest.raises(ValidationError, match="not a question"):
        cl.answer(officer, run, "nope", "yes")
    assert cl.answer(officer, run, "statement_form", "2").record["value"] == "letterhead statement"
    assert cl.answer(officer, run, "statement_received", "N/A").record["value"] == "not_applicable"
    with pytest.raises(PermissionDenied):
        cl.answer(as_user(wb, "audrey"), run, "signatory", "Jane Tan, CEO")


# -- locking and revisions --------------------------------------------------------------------

def _completed_kyc(wb, doc_file, party="Rheinland Rechenzentrum GmbH"):
    officer = as_user(wb, "olivia")
    pid = find_party(wb.store, party)
    run = cl.start_run(officer, "kyc-red-flags", party_id=pid).id
    answer_all(officer, run, evidence=doc_file)
    cl.signoff(officer, run, PW)
    return officer, pid, run


def test_locked_run_cannot_change(wb, doc_file):
    officer, pid, run = _completed_kyc(wb, doc_file)
    with pytest.raises(cl.RunLocked, match="locked"):
        cl.answer(officer, run, "inquiry_summary", "changed my mind")
    with pytest.raises(cl.RunLocked):
        cl.signoff(officer, run, PW)
    # Not even SQL gets past the triggers.
    conn = wb.store.conn
    for sql in ("update checklist_run set status = 'in_progress' where id = ?",
                "update checklist_answer set value = 'no' where run_id = ?",
                "delete from checklist_answer where run_id = ?",
                "delete from checklist_run where id = ?",
                "delete from checklist_signoff where run_id = ?"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql, (run,))
    with pytest.raises(sqlite3.DatabaseError, match="locked"):
        conn.execute("insert into checklist_answer (run_id, question_id, value, answered_at,"
                     " answered_by) values (?, 'extra', 'x', 'now', 'me')", (run,))
    aid = conn.execute("select id from checklist_answer where run_id = ? limit 1", (run,)).fetchone()[0]
    with pytest.raises(sqlite3.DatabaseError, match="locked"):
        conn.execute("insert into evidence_link (evidence_id, entity, entity_id, linked_at,"
                     " linked_by) values (1, 'checklist_answer', ?, 'now', 'me')", (str(aid),))


def test_revision_supersedes_locked_run(wb, doc_file):
    officer, pid, run = _completed_kyc(wb, doc_file)
    rev = cl.revise_run(officer, run)
    new = rev.id
    r = cl.get_run(wb.store, new)
    assert r["revision"] == 2 and r["supersedes_id"] == run and r["status"] == "in_progress"
    old_answers = {q["id"]: q["answer"]["value"] for q in cl.get_run(wb.store, run)["questions"]}
    assert {q["id"]: q["answer"]["value"] for q in r["questions"]} == old_answers
    assert r["questions"][0]["answer"]["evidence"]  # evidence links copied
    # until the revision is completed, the old run is the valid one
    assert cl.get_run(wb.store, run)["superseded_by"] is None
    with pytest.raises(ConflictError, match="already has revision"):
        cl.revise_run(officer, run)
    cl.answer(officer, new, "inquiry_summary", "re-checked after a change of address")
    cl.signoff(officer, new, PW)
    old = cl.get_run(wb.store, run)
    assert old["superseded_by"] == new and old["state"] == "superseded"
    assert old["status"] == "completed"  # the old record itself is untouched
    assert [x["id"] for x in cl.list_runs(wb.store, status="superseded")] == [run]
    with pytest.raises(cl.RunLocked, match=f"revision {new}"):
        cl.answer(officer, run, "inquiry_summary", "x")


# -- expiry -------------------------------------------------------------------------------------

def test_expiry_and_due_for_reverification(wb, doc_file):
    officer, pid, run = _completed_kyc(wb, doc_file)
    done = dt.date.fromisoformat(cl.get_run(wb.store, run)["completed_at"][:10])
    exp = cs.add_months(done, 12)
    assert cl.get_run(wb.store, run)["expires_on"] == exp.isoformat()
    assert cl.due_for_reverification(wb.store, done) == []
    soon = cl.due_for_reverification(wb.store, exp - dt.timedelta(days=10), within_days=30)
    assert [(d["party_id"], d["state"]) for d in soon] == [(pid, "expiring")]
    due = cl.due_for_reverification(wb.store, exp)
    assert [(d["party_id"], d["template_id"], d["state"]) for d in due] == \
        [(pid, "kyc-red-flags", "expired")]
    # lapsed: KYC applies again
    assert "kyc-red-flags" in [a["template_id"] for a in
                               cl.applicable(wb.store, party_id=pid, date=exp.isoformat())]
    # the period is configurable and applies at once
    cl.set_validity_months(as_user(wb, "arthur"), "kyc-red-flags", 6)
    assert cl.due_for_reverification(wb.store, cs.add_months(done, 6))[0]["run_id"] == run
    with pytest.raises(PermissionDenied):
        cl.set_validity_months(officer, "kyc-red-flags", 3)
    cl.set_validity_months(as_user(wb, "arthur"), "kyc-red-flags", None)
    assert cl.due_for_reverification(wb.store, exp + dt.timedelta(days=999)) == []


def test_end_user_statement_lapses_from_signature_date(wb, doc_file):
    officer = as_user(wb, "olivia")
    pid = find_party(wb.store, "Merlion AI Cloud Pte. Ltd.")
    run = cl.start_run(officer, "end-user-statement", party_id=pid).id
    answer_all(officer, run, evidence=doc_file)
    cl.answer(officer, run, "signed_on", "2025-03-15")
    cl.signoff(officer, run, PW)
    assert cl.get_run(wb.store, run)["expires_on"] == "2026-03-15"
    assert cl.due_for_reverification(wb.store, "2026-03-15")[0]["party_id"] == pid


def test_add_months_clamps():
    assert cs.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert cs.add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert cs.add_months(dt.date(2026, 11, 5), 14) == dt.date(2028, 1, 5)


# -- audit and export -----------------------------------------------------------------------------

def test_every_write_audited_and_chain_verifies(wb, doc_file, tmp_path):
    from workbench.db import audit

    officer, pid, run = _completed_kyc(wb, doc_file)
    n = wb.store.scalar("select count(*) from audit_event where entity = 'checklist_run'"
                        " and entity_id = ?", (str(run),))
    q = len(cl.get_run(wb.store, run)["questions"])
    assert n == 1 + q + 1  # start, each answer, sign-off
    assert wb.store.scalar("select count(*) from audit_event where entity = 'evidence'") >= 1
    assert audit.verify(wb.store).ok
    for ext in ("json", "csv", "xlsx"):
        p = cl.export_run(wb.store, run, tmp_path / f"run.{ext}")
        assert p.stat().st_size > 100
    data = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert data["id"] == run and data["signoffs"][0]["kind"] == "complete"
    assert "identity_verified" in (tmp_path / "run.csv").read_text(encoding="utf-8-sig")
