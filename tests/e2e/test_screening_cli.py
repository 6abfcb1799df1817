"""Screening from the command line, end to end on a temporary database."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from .test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"
PW = "demo-password"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    p = tmp_path / "s.db"
    run(p, "init", "--demo", check=True)
    return p


def test_screen_name_json_shape(db: Path) -> None:
    out = json.loads(run(db, "--json", "screen", "HIK-VISION", "--country", "CN",
                         check=True).stdout)
    assert out["snapshots"] and len(out["snapshots"][0]["sha256"]) == 64
    hit = out["results"][0]["hits"][0]
    assert out["results"][0]["query"] == "HIK-VISION"
    assert {"entry_id", "source", "list_name", "matched_name", "score",
            "explanation"} <= set(hit)
    assert hit["source"] == "EL" and hit["score"] >= 80
    assert hit["listing"]["federal_register_notice"]


def test_lists_import_show_rescreen_and_decide(db: Path) -> None:
    imp = json.loads(run(db, "--json", "lists", "import", str(DATA / "ofac_sdn_2021"),
                         user="olivia", password=PW, check=True).stdout)
    assert imp["format"] == "ofac_sdn" and imp["counts"] == {"SDN": 8976}
    again = run(db, "lists", "import", str(DATA / "ofac_sdn_2021" / "sdn.csv"),
                user="olivia", password=PW)
    assert again.returncode == 1 and "already imported" in again.stderr
    shown = json.loads(run(db, "--json", "lists", "show", check=True).stdout)
    assert {s["source"] for s in shown} == {"csl", "ofac_sdn"}
    hits = json.loads(run(db, "--json", "hits", check=True).stdout)
    dawning = next(h for h in hits if h["legal_name"].startswith("Dawning"))
    run(db, "decide", str(dawning["id"]), "--as", "true_match", "--reason",
        "Alias of Sugon on the Entity List", user="olivia", password=PW, check=True)
    assert not any(h["id"] == dawning["id"]
                   for h in json.loads(run(db, "--json", "hits", check=True).stdout))
    auditor = run(db, "decide", str(dawning["id"]), "--as", "false_positive", "--reason", "x",
                  user="audrey", password=PW)
    assert auditor.returncode == 1 and "auditor" in auditor.stderr
    res = run(db, "rescreen", user="olivia", password=PW, check=True)
    assert "Re-screened" in res.stdout
    fronts = json.loads(run(db, "--json", "fronts", check=True).stdout)
    assert {f["flags"][0]["kind"] for f in fronts} >= {"address", "ownership"}


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_screen_file_writes_results_in_input_order(db: Path, tmp_path: Path, ext: str) -> None:
    names = tmp_path / "names.csv"
    names.write_text("id,name,country,note\nA1,Huawei Technologies Co Ltd,CN,=1+1\n"
                     "A2,Harmless Bakery GmbH,DE,ok\nA3,YMTC,,\n", encoding="utf-8")
    out = tmp_path / f"result.{ext}"
    data = json.loads(run(db, "--json", "screen", "--file", str(names), "--out", str(out),
                          user="olivia", password=PW, check=True).stdout)
    assert [r["id"] for r in data["results"]] == ["A1", "A2", "A3"]
    assert data["results"][0]["hits"] and not data["results"][1]["hits"]
    assert data["results"][2]["hits"][0]["primary_name"].startswith("Yangtze Memory")
    if ext == "csv":
        with open(out, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows[0]["input: note"].startswith("'=")  # never a formula
    else:
        ws = openpyxl.load_workbook(out).active
        headers = [c.value for c in ws[1]]
        cell = ws.cell(row=2, column=headers.index("input: note") + 1)
        assert cell.value == "=1+1" and cell.data_type == "s"


def test_lists_import_ofac_xml_then_screen_a_hit(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ofac"
    folder.mkdir()
    shutil.copy(DATA / "ofac_xml" / "sdn_sample.xml", folder / "sdn.xml")
    imp = json.loads(run(db, "--json", "lists", "import", str(folder), user="olivia",
                         password=PW, check=True).stdout)
    assert imp["format"] == "ofac_xml" and imp["source"] == "ofac_sdn"
    assert imp["file"] == "sdn.xml" and imp["counts"] == {"SDN": 16}
    assert imp["publish_date"] == "2021-07-06" and "rescreen" in imp
    out = json.loads(run(db, "--json", "screen", "Havana International Bank Ltd",
                         check=True).stdout)
    hit = next(h for h in out["results"][0]["hits"] if h["entry_id"] == "SDN:906")
    assert hit["score"] >= 80 and hit["listing"]["programs"] == ["CUBA"]
    cons = run(db, "lists", "import", str(DATA / "ofac_xml" / "consolidated_sample.xml"),
               "--format", "ofac_xml", "--no-rescreen", user="olivia", password=PW, check=True)
    assert "(ofac_xml), 8 entries" in cons.stdout and "CMIC 4" in cons.stdout
    shown = json.loads(run(db, "--json", "lists", "show", check=True).stdout)
    assert {s["source"]: s["format"] for s in shown if s["source"].startswith("ofac")} == \
        {"ofac_sdn": "ofac_xml", "ofac_cons": "ofac_xml"}
    bomb = tmp_path / "sdn.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE sdnList [<!ENTITY a "aaaa">]>\n'
                    "<sdnList><sdnEntry><uid>1</uid><lastName>&a;</lastName></sdnEntry></sdnList>\n",
                    encoding="utf-8")
    bad = run(db, "lists", "import", str(bomb), user="olivia", password=PW)
    assert bad.returncode == 1 and "sdn.xml (line 2): contains a DOCTYPE declaration" in bad.stderr
    assert len(json.loads(run(db, "--json", "lists", "show", "--all", check=True).stdout)) \
        == len(shown)


def test_the_index_is_saved_at_import_and_a_later_command_loads_it(db: Path) -> None:
    """Issue 17: `lists import` builds and saves the index; `screen NAME` in a
    new process then loads it (it does not build), and `check` compares it
    with a fresh build. A damaged file is rebuilt without a word to the user."""
    saved = Path(f"{db}.screening-index")
    run(db, "lists", "import", str(DATA / "ofac_sdn_2021"), user="olivia", password=PW,
        check=True)
    assert saved.exists()
    stamp = saved.stat().st_mtime_ns
    out = json.loads(run(db, "--json", "screen", "BANCO NACIONAL DE CUBA", check=True).stdout)
    assert out["results"][0]["hits"]
    assert saved.stat().st_mtime_ns == stamp, "screen rebuilt an index it could load"
    chk = run(db, "check", check=True).stdout
    assert "screening index: ok, the same as a fresh build" in chk
    saved.write_bytes(saved.read_bytes()[:1000])  # truncated
    again = json.loads(run(db, "--json", "screen", "BANCO NACIONAL DE CUBA",
                           check=True).stdout)
    assert again["results"][0]["hits"] == out["results"][0]["hits"]
    assert saved.stat().st_size > 1000  # rebuilt and saved again
