"""List file parsing: every format from the copied public data, and bad files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from workbench.screening.lists import Cancelled, ListFileError, parse_file

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"


def test_ofac_sdn_2021_counts_match_readme():
    r = parse_file(DATA / "ofac_sdn_2021" / "sdn.csv")
    assert r.format == "ofac_sdn"
    assert len(r.entries) == 8976
    assert sum(len(e.alt_names) for e in r.entries) == 11910
    assert r.name_count == 20886
    assert sum(len(e.addresses) for e in r.entries) == 13837
    types = {t: sum(1 for e in r.entries if e.type == t) for t in ("individual", "vessel", "aircraft")}
    assert types == {"individual": 4620, "vessel": 406, "aircraft": 277}
    assert len(r.files) == 4  # sdn + alt + add + comments all read and hashed
    e = next(e for e in r.entries if e.key == "306")
    assert e.entry_id == "SDN:306" and e.name == "BANCO NACIONAL DE CUBA"
    assert "NATIONAL BANK OF CUBA" in e.alt_names and e.programs == ["CUBA"]
    assert e.addresses[0].country == "Switzerland"
    assert len(e.content_hash) == 64


def test_ofac_comments_extend_remarks():
    r = parse_file(DATA / "ofac_sdn_2021" / "sdn.csv")
    e = next(e for e in r.entries if e.key == "28264")
    assert e.remarks.endswith("Linked To: LAZARUS GROUP.")


def test_ofac_consolidated_counts_and_lists():
    r = parse_file(DATA / "ofac_consolidated_2025" / "cons_prim.csv")
    assert r.format == "ofac_cons"
    assert len(r.entries) == 442
    assert sum(len(e.alt_names) for e in r.entries) == 1073
    assert sum(len(e.addresses) for e in r.entries) == 574
    assert r.counts["CMIC"] == 68
    assert r.counts["NS-PLC"] == 78  # 76 NS-PLC only + 2 SDGT/NS-PLC
    names = {e.name for e in r.entries if e.list_code == "CMIC"}
    assert {"HUAWEI TECHNOLOGIES CO., LTD.", "SEMICONDUCTOR MANUFACTURING INTERNATIONAL CORPORATION",
            "HANGZHOU HIKVISION DIGITAL TECHNOLOGY CO., LTD.", "INSPUR GROUP CO., LTD."} <= names


def test_csl_old_28_columns():
    r = parse_file(DATA / "csl_samples" / "csl_2019_115rows.csv")
    assert r.format == "csl_csv" and len(r.entries) == 115
    assert r.counts == {"DPL": 8, "ISN": 3, "SDN": 28, "EL": 22, "SSI": 26, "DTC": 10, "PLC": 13,
                        "UVL": 4, "CAP": 1}
    e = next(e for e in r.entries if e.name.startswith("3K Aviation"))
    assert e.alt_names == ["3K Havacilik ve Danismanlik SAN. TIC. LTD. ST."]
    assert e.license_requirement.startswith("For all items subject to the EAR")
    assert e.addresses[0].country == "TR"


def test_csl_current_29_columns():
    r = parse_file(DATA / "csl_samples" / "consolidated_2025_12rows.csv")
    assert r.format == "csl_csv"
    # README says 12 rows; the file holds 13 (SSI appears three times).
    assert len(r.entries) == 13
    assert {"EL", "MEU", "UVL", "DPL", "ISN", "SSI", "FSE", "PLC", "DTC", "SDN"} == set(r.counts)
    el = next(e for e in r.entries if e.list_code == "EL")
    assert el.key == el.raw["_id"] and el.agency == "Bureau of Industry and Security"
    assert "HSRI" in el.alt_names
    isn = next(e for e in r.entries if e.list_code == "ISN")
    assert isn.name == "Sinobright Import and Export Company"  # successor clause stripped


def test_bis_dpl():
    r = parse_file(DATA / "bis_dpl" / "dpl_2022.txt")
    assert r.format == "bis_dpl" and len(r.entries) == 581
    assert r.publish_date == "2022-09-02"  # the 3017 typo is ignored
    e = r.entries[0]
    assert e.addresses[0].city == "SEAGOVILLE" and e.federal_register_notice.startswith("68 F.R.")


def _json_fixture(tmp_path: Path) -> Path:
    doc = {"sources_used": [{"source": "Entity List (EL) - Bureau of Industry and Security",
                             "source_last_updated": "2025-06-20T00:00:00-04:00"}],
           "results": [{
               "id": "99ed1b052f", "source": "Entity List (EL) - Bureau of Industry and Security",
               "entity_number": None, "type": None, "programs": [],
               "name": "Semiconductor Manufacturing International Corporation (SMIC)",
               "addresses": [{"address": "18 Zhangjiang Road", "city": "Shanghai",
                              "state": None, "postal_code": "201203", "country": "CN"}],
               "federal_register_notice": "85 FR 83420", "start_date": "2020-12-22",
               "license_requirement": "For all items subject to the EAR.",
               "license_policy": "Presumption of denial", "alt_names": ["SMIC"],
               "ids": [{"type": "Registration ID", "number": "123", "country": "CN"}],
               "source_list_url": "https://www.bis.doc.gov/el"}]}
    p = tmp_path / "consolidated.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def test_csl_json(tmp_path):
    r = parse_file(_json_fixture(tmp_path))
    assert r.format == "csl_json" and r.publish_date == "2025-06-20"
    e = r.entries[0]
    assert e.entry_id == "EL:99ed1b052f" and e.addresses[0].city == "Shanghai"
    assert e.license_policy == "Presumption of denial" and e.ids[0]["number"] == "123"


def test_format_override_and_detection_by_content(tmp_path):
    src = (DATA / "csl_samples" / "csl_2019_115rows.csv").read_bytes()
    odd = tmp_path / "download(3).txt"
    odd.write_bytes(src)
    assert parse_file(odd).format == "csl_csv"
    with pytest.raises(ListFileError):
        parse_file(odd, format="bis_dpl")


def test_content_hash_changes_with_content():
    r = parse_file(DATA / "csl_samples" / "csl_2019_115rows.csv")
    e = r.entries[0]
    h = e.content_hash
    e.alt_names.append("X")
    assert e.compute_hash() != h


def test_progress_and_cancel():
    calls = []
    parse_file(DATA / "ofac_sdn_2021" / "sdn.csv", progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] == 8976
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        parse_file(DATA / "ofac_sdn_2021" / "sdn.csv", cancel=ev)


# -- bad files ---------------------------------------------------------------


def _err(path: Path, **kw) -> str:
    with pytest.raises(ListFileError) as ei:
        parse_file(path, **kw)
    return str(ei.value)


def test_png_is_not_a_list(tmp_path):
    p = tmp_path / "consolidated.csv"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert "consolidated.csv" in _err(p) and "PNG image" in _err(p)


def test_empty_file(tmp_path):
    p = tmp_path / "sdn.csv"
    p.write_bytes(b"")
    assert "empty" in _err(p)


def test_random_csv(tmp_path):
    p = tmp_path / "customers.csv"
    p.write_text("customer,amount\nACME,12\n", encoding="utf-8")
    msg = _err(p)
    assert "customers.csv (line 1)" in msg and "not a recognised list file" in msg


def test_wrong_columns(tmp_path):
    p = tmp_path / "csl.csv"
    p.write_text("source,name,addresses\nEntity List (EL),X,\n", encoding="utf-8")
    msg = _err(p)
    assert "wrong columns" in msg and "entity_number" in msg and "line 1" in msg


def test_row_with_wrong_column_count(tmp_path):
    lines = (DATA / "csl_samples" / "csl_2019_115rows.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = "Entity List (EL) - Bureau of Industry and Security,,,,Short Row"
    p = tmp_path / "csl.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    msg = _err(p)
    assert "wrong number of columns" in msg and "line 6" in msg


def test_truncated_csv_mid_quote(tmp_path):
    data = (DATA / "csl_samples" / "csl_2019_115rows.csv").read_bytes()
    cut = data.index(b'"3037 S. 69TH') + 8
    p = tmp_path / "consolidated.csv"
    p.write_bytes(data[:cut])
    msg = _err(p)
    assert "truncated" in msg and "row 1" in msg


def test_truncated_json(tmp_path):
    p = _json_fixture(tmp_path)
    text = p.read_text(encoding="utf-8")
    p.write_text(text[: len(text) // 2], encoding="utf-8")
    assert "truncated" in _err(p)


def test_not_utf8(tmp_path):
    p = tmp_path / "dpl.txt"
    src = (DATA / "bis_dpl" / "dpl_2022.txt").read_text(encoding="utf-8").splitlines()
    src[3] = src[3].replace("ABDIEL", "ABDIÉL")
    p.write_bytes("\n".join(src).encode("cp1252"))
    msg = _err(p)
    assert "not UTF-8" in msg and "line 4" in msg and "0xC9" in msg


def test_utf8_bom_accepted(tmp_path):
    p = tmp_path / "dpl.txt"
    p.write_bytes(b"\xef\xbb\xbf" + (DATA / "bis_dpl" / "dpl_2022.txt").read_bytes())
    assert len(parse_file(p).entries) == 581


def test_too_large(tmp_path):
    p = tmp_path / "sdn.csv"
    p.write_bytes(b"x" * 2000)
    msg = _err(p, max_bytes=1000)
    assert "too large" in msg and "sdn.csv" in msg


def test_alias_file_alone_is_explained(tmp_path):
    assert "alias file" in _err(DATA / "ofac_sdn_2021" / "alt.csv")


def test_truncated_ofac(tmp_path):
    data = (DATA / "ofac_consolidated_2025" / "cons_prim.csv").read_bytes()
    p = tmp_path / "cons_prim.csv"
    p.write_bytes(data[: len(data) // 3])
    msg = _err(p)
    assert "cons_prim.csv" in msg and ("truncated" in msg or "columns" in msg)
