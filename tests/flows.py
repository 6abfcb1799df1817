"""Steps the clearance tests share (unit, UI and CLI): signing every
applicable checklist through the API, and a list file that names the demo's
Johor subsidiary. Importable because pyproject puts tests/ on sys.path."""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path
from typing import Any

from workbench import checklists as CL
from workbench.demo import DEMO_LIST, DEMO_PASSWORD

JOHOR = "Merlion AI Cloud (Johor) Sdn. Bhd."


def sign_checklists(wb: Any, sid: int, evidence: Path, password: str = DEMO_PASSWORD) -> None:
    """Answer every applicable checklist of shipment `sid` without red flags
    and sign it as the signed-in user (the checklists have their own tests;
    here they only open the gate)."""
    evidence.write_text("registry extract, end-user statement\n")
    for a in CL.applicable(wb.store, shipment_id=sid):
        if a["valid_run"]:
            continue
        kw = {"shipment_id": sid} if a["scope"] == "shipment" else {"party_id": a["party_id"]}
        rid = a["open_run"] or CL.start_run(wb, a["template_id"], **kw).id
        for q in CL.get_run(wb.store, rid)["questions"]:
            red = [x.casefold() for x in q.get("red_flag_answers") or []]
            if q["type"] == "yes_no":
                v = "no" if "yes" in red else "yes"
            elif q["type"] == "choice":
                v = next(o for o in q["options"] if o.casefold() not in red)
            elif q["type"] == "date":
                v = _dt.date.today().isoformat()
            else:
                v = "Checked against the customer's documents"
            CL.answer(wb, rid, q["id"], v,
                      evidence_files=[evidence] if q.get("evidence_required") else [])
        CL.signoff(wb, rid, password)


def list_naming_johor(folder: Path) -> Path:
    """The demo Entity List sample plus one entry naming the Johor
    subsidiary (end user of SO-2026-0004): a new snapshot that must hold it."""
    rows = list(csv.reader(DEMO_LIST.open(encoding="utf-8")))
    new = list(rows[2])
    new[0] = "0" * 39 + "1"
    new[5] = JOHOR
    p = folder / "el.csv"
    with p.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([*rows, new])
    return p


TEST_PACK = Path(__file__).resolve().parent / "data" / "rules" / \
    "us-ear-advanced-computing-2026.12.2-test"
# Note 2 to 3A090's 4,800 TPP threshold mistyped as 48,000 (the issue's
# reproduction): the golden cases on consumer GPUs fail.
NOTE2_TYPO = ("{eq: [item.datacenter, false]}, {lt: [calc.tpp, 4800]}",
              "{eq: [item.datacenter, false]}, {lt: [calc.tpp, 48000]}")


def edited_pack(folder: Path, source: Path = TEST_PACK, path: str = "classification.yaml",
                change: tuple[str, str] = NOTE2_TYPO, seal: bool = True) -> Path:
    """A copy of the pack `source` in `folder` with `change` (old, new) made
    in `path`, sealed unless `seal` is False. Default: the Note 2 typo."""
    import shutil

    from workbench.rules.pack import seal_pack

    shutil.copytree(source, folder)
    f = folder / path
    text = f.read_text(encoding="utf-8")
    assert change[0] in text, f"{path} no longer holds {change[0]!r}"
    f.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    if seal:
        seal_pack(folder)
    return folder
