"""`workbench checklist …` end to end on a temporary demo database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from .test_cli import run

PW = "demo-password"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    p = tmp_path / "c.db"
    run(p, "init", "--demo", check=True)
    return p


def test_templates_json_and_text(db: Path) -> None:
    out = json.loads(run(db, "checklist", "templates", "--json", check=True).stdout)
    ids = {t["id"] for t in out}
    assert ids == {"kyc-red-flags", "ai-chip-diversion", "end-user-statement",
                   "ownership-headquarters"}
    q = out[0]["questions"][0]
    assert {"id", "text", "help", "type", "red_flag_answers", "evidence_required",
            "source"} <= set(q)
    text = run(db, "checklist", "templates", check=True).stdout
    assert "source: BIS Red Flag Indicators no. 2" in text


def test_run_with_red_flag_from_start_to_approval_and_export(db: Path, tmp_path: Path) -> None:
    app = json.loads(run(db, "--json", "checklist", "applicable", "--shipment", "SO-2026-0004",
                         check=True).stdout)
    assert {"ai-chip-diversion", "kyc-red-flags"} <= {a["template_id"] for a in app}
    started = json.loads(run(db, "--json", "checklist", "start", "--party",
                             "Tanjung Digital Trading Sdn. Bhd.", "--template", "kyc-red-flags",
                             user="olivia", password=PW, check=True).stdout)
    rid = str(started["id"])
    doc = tmp_path / "registry extract.pdf"
    doc.write_bytes(b"%PDF-1.4\n% SSM registry extract\n")
    tpl = next(t for t in json.loads(run(db, "checklist", "templates", "--json",
                                         check=True).stdout) if t["id"] == "kyc-red-flags")
    for q in tpl["questions"]:
        args = ["checklist", "answer", rid, q["id"]]
        if q["id"] == "business_history":
            args += ["3", "--resolution", "Company founded 2025; directors verified by call"]
        elif q["type"] == "yes_no":
            args += ["no" if q["red_flag_answers"] == ["yes"] else "yes"]
        elif q["type"] == "text":
            args += ["asked for end-user details", "--note", "by e-mail"]
        if q["evidence_required"]:
            args += ["--evidence", str(doc)]
        res = run(db, *args, user="olivia", password=PW, check=True)
        if q["id"] == "business_history":
            assert "red flag" in res.stdout
    # the officer signs: with a red flag that submits the run to an approver
    sub = run(db, "checklist", "signoff", rid, user="olivia", password=PW, check=True)
    assert "waits for an approver" in sub.stdout
    # the approver's login works but the re-entered password must also be right:
    # here both come from $WORKBENCH_PASSWORD, so a wrong one fails at sign-in
    wrong = run(db, "checklist", "signoff", rid, user="arthur", password="wrong-password")
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr
    ok = run(db, "checklist", "signoff", rid, user="arthur", password=PW, check=True)
    assert "approved and completed" in ok.stdout
    shown = json.loads(run(db, "checklist", "show", rid, "--json", check=True).stdout)
    assert shown["status"] == "completed" and shown["red_flags"] == ["business_history"]
    assert [s["username"] for s in shown["signoffs"]] == ["olivia", "arthur"]
    ev = next(q for q in shown["questions"] if q["id"] == "identity_verified")["answer"]["evidence"]
    assert ev[0]["name"] == "registry extract.pdf" and ev[0]["mime"] == "application/pdf"
    assert "[!] business_history: little or none" in run(db, "checklist", "show", rid,
                                                         check=True).stdout
    # locked
    locked = run(db, "checklist", "answer", rid, "inquiry_summary", "x", user="olivia",
                 password=PW)
    assert locked.returncode == 1 and "locked" in locked.stderr
    # export in three formats
    run(db, "checklist", "export", rid, str(tmp_path / "r.json"), check=True)
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["id"] == int(rid)
    run(db, "checklist", "export", rid, str(tmp_path / "r.csv"), check=True)
    rows = list(csv.reader((tmp_path / "r.csv").open(encoding="utf-8-sig")))
    assert rows[0][:4] == ["run", "template", "target", "question"] and len(rows) == 17
    run(db, "checklist", "export", rid, str(tmp_path / "r.xlsx"), check=True)
    wbk = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wbk.sheetnames == ["Answers", "Run", "Sign-offs", "Evidence"]
    # viewing copy of the evidence
    view = run(db, "checklist", "evidence", str(ev[0]["id"]), "--to", str(tmp_path / "v"),
               check=True).stdout.strip()
    assert Path(view).read_bytes().startswith(b"%PDF")
    # revision
    rev = json.loads(run(db, "--json", "checklist", "revise", rid, user="olivia", password=PW,
                         check=True).stdout)
    assert rev["supersedes_id"] == int(rid) and rev["revision"] == 2
    # due: nothing now, the party after 12 months
    assert "No party is due" in run(db, "checklist", "due", check=True).stdout
    due = json.loads(run(db, "--json", "checklist", "due", "--today", "2099-01-01",
                         check=True).stdout)
    assert [d["legal_name"] for d in due] == ["Tanjung Digital Trading Sdn. Bhd."]


def test_refusals_are_one_clear_line(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: mine\nversion: 1\ntitle: t\nscope: party\napplies_when: {always: true}\n"
                   "sources: [{id: a, citation: b}]\nquestions:\n  - id: q\n    text: t\n"
                   "    type: maybe\n    source: s\n", encoding="utf-8")
    res = run(db, "checklist", "add-template", str(bad), user="olivia", password=PW)
    assert res.returncode == 1 and f"{bad}, line 10" in res.stderr
    assert res.stderr.count("\n") == 1
    start = run(db, "checklist", "start", "--shipment", "SO-2026-0004", "--template",
                "ai-chip-diversion", user="olivia", password=PW, check=True)
    rid = start.stdout.split()[1]
    big = tmp_path / "huge.pdf"
    with open(big, "wb") as fh:
        fh.truncate(26 * 1024 * 1024)
    res = run(db, "checklist", "answer", rid, "delivery_address_kind", "1", "--evidence",
              str(big), user="olivia", password=PW)
    assert res.returncode == 1 and "at most 25 MiB" in res.stderr
    shown = json.loads(run(db, "--json", "checklist", "show", rid, check=True).stdout)
    assert all(q["answer"] is None for q in shown["questions"])  # nothing half-written
    res = run(db, "checklist", "signoff", rid, user="audrey", password=PW)
    assert res.returncode == 1 and "auditor" in res.stderr
    assert run(db, "checklist", "show", "999").returncode == 1
