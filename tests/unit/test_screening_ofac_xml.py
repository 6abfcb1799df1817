"""OFAC's classic XML (sdn.xml, consolidated.xml): mapping, agreement with the
CSV set, detection, and refusal of damaged or hostile files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from workbench.db import audit
from workbench.bootstrap import open_workbench
from workbench.screening import lists as L
from workbench.screening import snapshots as S
from workbench.screening.lists import Address, Cancelled, ListFileError, parse_file

DATA = Path(__file__).resolve().parents[1] / "data" / "lists"
SDN_XML = DATA / "ofac_xml" / "sdn_sample.xml"
CONS_XML = DATA / "ofac_xml" / "consolidated_sample.xml"
NS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML"


def _err(path: Path, **kw) -> str:
    with pytest.raises(ListFileError) as ei:
        parse_file(path, **kw)
    return str(ei.value)


def _doc(entries: str, *, count: int = 1, date: str = "08/26/2026", prolog: str = "") -> str:
    return (f'<?xml version="1.0" standalone="yes"?>\n{prolog}<sdnList xmlns="{NS}">\n'
            f"  <publshInformation><Publish_Date>{date}</Publish_Date>"
            f"<Record_Count>{count}</Record_Count></publshInformation>\n{entries}</sdnList>\n")


ONE = ("  <sdnEntry><uid>7</uid><lastName>EXAMPLE TRADING LLC</lastName><sdnType>Entity</sdnType>"
       "<programList><program>IRAN</program></programList></sdnEntry>\n")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- the samples ---------------------------------------------------------------


def test_sdn_sample_counts_and_mapping():
    r = parse_file(SDN_XML)
    assert r.format == "ofac_xml" and r.ofac_list == "sdn" and not r.warnings
    assert r.publish_date == "2021-07-06"
    assert r.counts == {"SDN": 16} and len(r.entries) == 16
    assert r.files == {str(SDN_XML): r.sha256}
    types = {t: sum(1 for e in r.entries if e.type == t)
             for t in ("individual", "entity", "vessel", "aircraft")}
    assert types == {"individual": 6, "entity": 7, "vessel": 2, "aircraft": 1}
    by = {e.key: e for e in r.entries}

    bnc = by["306"]
    assert bnc.entry_id == "SDN:306" and bnc.name == "BANCO NACIONAL DE CUBA"
    assert bnc.agency == "Treasury Department (OFAC)" and bnc.programs == ["CUBA"]
    # the weak a.k.a. stays out of the screened names, as in the CSV set, but is kept
    assert bnc.alt_names == ["NATIONAL BANK OF CUBA"]
    assert {"uid": "219", "type": "a.k.a.", "category": "weak",
            "lastName": "BNC"} in bnc.raw["akaList"]
    assert bnc.addresses[0] == Address(street="Zweierstrasse 35", city="Zurich",
                                       postcode="CH-8022", country="Switzerland")
    assert bnc.addresses[2].street == "Dai-Ichi Bldg. 6th Floor, 10-2 Nihombashi, 2-chome, Chuo-ku"
    assert bnc.countries == ["Japan", "Panama", "Spain", "Switzerland"]

    abbas = by["2674"]
    assert abbas.name == "ABBAS, Abu" and abbas.type == "individual"
    assert abbas.alt_names == ["ZAYDAN, Muhammad"]
    assert abbas.raw["title"].startswith("Director of PALESTINE LIBERATION FRONT")
    assert abbas.raw["dateOfBirthList"] == [{"uid": "1000", "dateOfBirth": "10 Dec 1948",
                                             "mainEntry": "true"}]

    havin = by["906"]
    assert {"type": "Company Number", "number": "01074897", "country": "United Kingdom"} in havin.ids
    assert {"type": "Website", "number": "www.hib.uk.com"} in havin.ids

    li = by["28264"]
    assert li.programs == ["DPRK3", "CYBER2"] and li.alt_names == []
    assert [a["lastName"] for a in li.raw["akaList"]] == ["blackjack1987", "khaleesi"]
    assert li.addresses == [Address(city="Anshan", state="Liaoning", country="China")]
    assert li.raw["nationalityList"][0]["country"] == "China"
    assert sum(1 for i in li.ids if i["type"] == "Digital Currency Address - XBT") == 12
    assert li.remarks == "Linked To: LAZARUS GROUP."

    hermann = by["4234"]
    assert hermann.type == "vessel" and hermann.raw["vesselInfo"]["callSign"] == "CL2685"
    assert by["4243"].raw["vesselInfo"]["vesselOwner"] == "Sand & Swan Navigation Co. Ltd."
    assert by["15431"].type == "aircraft"
    assert len(bnc.content_hash) == 64 and bnc.content_hash == bnc.compute_hash()


def test_consolidated_sample_uses_the_program_based_list_codes():
    r = parse_file(CONS_XML)
    assert r.format == "ofac_xml" and r.ofac_list == "cons"
    assert r.publish_date == "2025-12-18"
    assert r.counts == {"CMIC": 4, "NS-PLC": 1, "SSI": 1, "561": 1, "NS-MBS": 1}
    by = {e.key: e for e in r.entries}
    assert by["30947"].entry_id == "CMIC:30947"
    assert by["30947"].name == "HUAWEI TECHNOLOGIES CO., LTD."
    assert "SMIC" not in by["30951"].alt_names  # weak
    assert by["15268"].alt_names == ["KARAMAY URBAN CREDIT COOPERATIVES",
                                     "KARAMAY CITY COMMERCIAL BANK CO LTD."]
    assert by["9639"].name == "HANIYA, Ismail Abdul Salah"


@pytest.mark.parametrize("xml_path, csv_path", [
    (SDN_XML, DATA / "ofac_sdn_2021" / "sdn.csv"),
    (CONS_XML, DATA / "ofac_consolidated_2025" / "cons_prim.csv"),
])
def test_xml_and_csv_set_agree_for_the_same_uids(xml_path: Path, csv_path: Path):
    csv_entries = {e.key: e for e in parse_file(csv_path).entries}
    for x in parse_file(xml_path).entries:
        c = csv_entries[x.key]
        assert (x.entry_id, x.name, x.type, x.programs, x.countries) == \
               (c.entry_id, c.name, c.type, c.programs, c.countries), x.key
        assert sorted(x.alt_names) == sorted(c.alt_names), x.key
        assert [a.street for a in x.addresses] == [a.street for a in c.addresses], x.key


def test_progress_and_cancel():
    calls: list[tuple[int, int | None]] = []
    parse_file(SDN_XML, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (16, 16)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        parse_file(SDN_XML, cancel=ev)


# -- detection -----------------------------------------------------------------


def test_detected_from_content_whatever_the_name(tmp_path):
    odd = tmp_path / "download(3).txt"
    odd.write_bytes(SDN_XML.read_bytes())
    r = parse_file(odd)
    assert r.format == "ofac_xml" and r.counts == {"SDN": 16} and r.ofac_list == "sdn"
    assert "neither sdn.xml nor consolidated.xml" in r.warnings[0]
    cons = tmp_path / "CONSOLIDATED.XML"
    cons.write_bytes(CONS_XML.read_bytes())
    assert parse_file(cons).ofac_list == "cons"


def test_format_override_on_a_file_that_is_no_xml():
    msg = _err(DATA / "ofac_sdn_2021" / "sdn.csv", format="ofac_xml")
    assert "sdn.csv" in msg and "not an OFAC XML list" in msg


def test_prefixed_namespace_bom_non_latin_and_a_wrong_encoding_declaration(tmp_path):
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            '<s:sdnList xmlns:s="http://tempuri.org/sdnList.xsd"><s:publshInformation>'
            "<s:Publish_Date>01/02/2026</s:Publish_Date></s:publshInformation>"
            "<s:sdnEntry><s:uid>9</s:uid><s:firstName>Jiadong</s:firstName><s:lastName>LI</s:lastName>"
            "<s:sdnType>Individual</s:sdnType><s:programList><s:program>CYBER2</s:program>"
            "</s:programList><s:akaList><s:aka><s:uid>1</s:uid><s:type>a.k.a.</s:type>"
            "<s:category>strong</s:category><s:lastName>李家东</s:lastName></s:aka>"
            "<s:aka><s:uid>2</s:uid><s:type>a.k.a.</s:type><s:lastName>ЛИ Цзядун</s:lastName>"
            "</s:aka></s:akaList></s:sdnEntry></s:sdnList>")
    p = tmp_path / "sdn.xml"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    r = parse_file(p)
    e = r.entries[0]
    # the file was checked as UTF-8; the declaration does not get to re-decode it
    assert e.name == "LI, Jiadong" and e.alt_names == ["李家东", "ЛИ Цзядун"]
    assert r.publish_date == "2026-01-02"


# -- bad files -----------------------------------------------------------------


def test_truncated_download(tmp_path):
    data = SDN_XML.read_bytes()
    cut = data[: data.index(b"<lastName>BANK TEJARAT") + 14]
    p = tmp_path / "sdn.xml"
    p.write_bytes(cut)
    msg = _err(p)
    last_line = cut.count(b"\n") + 1
    assert msg.startswith(f"sdn.xml (line {last_line}): the XML is truncated")


def test_truncated_between_entries(tmp_path):
    data = SDN_XML.read_bytes()
    p = tmp_path / "sdn.xml"
    p.write_bytes(data[: data.rindex(b"</sdnEntry>") + len(b"</sdnEntry>")])
    assert "truncated" in _err(p)


def test_malformed_xml_names_the_line(tmp_path):
    lines = SDN_XML.read_text(encoding="utf-8").split("\n")
    n = next(i for i, ln in enumerate(lines) if "<lastName>HERMANN" in ln)
    lines[n] = lines[n].replace("</lastName>", "</lastname>")
    p = tmp_path / "sdn.xml"
    p.write_text("\n".join(lines), encoding="utf-8")
    msg = _err(p)
    assert msg.startswith(f"sdn.xml (line {n + 1}): malformed XML: mismatched tag")


def test_bare_ampersand_is_malformed(tmp_path):
    p = _write(tmp_path, "sdn.xml", _doc(ONE.replace("EXAMPLE TRADING", "A & B")))
    msg = _err(p)
    assert msg.startswith("sdn.xml (line 4): malformed XML: not well-formed (invalid token)")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE sdnList [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<sdnList><sdnEntry><uid>1</uid><lastName>&lol9;</lastName></sdnEntry></sdnList>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!-- looks harmless -->
<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sdnList><sdnEntry><uid>1</uid><lastName>&xxe;</lastName></sdnEntry></sdnList>
"""


@pytest.mark.parametrize("text, line", [(BILLION_LAUGHS, 2), (EXTERNAL_ENTITY, 3)])
def test_doctype_is_refused_before_parsing(tmp_path, text: str, line: int):
    p = _write(tmp_path, "sdn.xml", text)
    for kw in ({}, {"format": "ofac_xml"}):
        msg = _err(p, **kw)
        assert msg.startswith(f"sdn.xml (line {line}): contains a DOCTYPE declaration")
        assert "billion laughs" in msg


def test_defusedxml_is_the_second_lock(tmp_path, monkeypatch):
    # with the prolog check switched off, the parser itself still refuses the DTD
    monkeypatch.setattr(L, "_xml_root", lambda path, text: "sdnList")
    msg = _err(_write(tmp_path, "sdn.xml", BILLION_LAUGHS), format="ofac_xml")
    assert msg.startswith("sdn.xml (line 2): contains a DOCTYPE declaration")


@pytest.mark.parametrize("text, expected", [
    ('<?xml version="1.0"?><CONSOLIDATED_LIST dateGenerated="2026-01-01"/>',
     "is XML but not an OFAC list: its root element is <CONSOLIDATED_LIST>"),
    (f'<Sanctions xmlns="{NS}"><ReferenceValueSets/></Sanctions>',
     "is OFAC's advanced XML (sdn_advanced.xml), which is not supported"),
    ("<!DOCTYPE html><html><body>503 Service Unavailable</body></html>",
     "is a web page (HTML)"),
])
def test_wrong_root(tmp_path, text: str, expected: str):
    msg = _err(_write(tmp_path, "sdn.xml", text))
    assert msg.startswith("sdn.xml") and expected in msg


def test_empty_files(tmp_path):
    assert "empty" in _err(_write(tmp_path, "sdn.xml", ""))
    assert "without entries" in _err(_write(tmp_path, "sdn.xml", _doc("", count=0)))
    assert "without entries" in _err(_write(tmp_path, "sdn.xml", f'<sdnList xmlns="{NS}"/>'))


def test_missing_uid_and_missing_name(tmp_path):
    second = ONE.replace("<uid>7</uid>", "")
    msg = _err(_write(tmp_path, "sdn.xml", _doc(ONE + second, count=2)))
    assert msg == "sdn.xml (line 5): sdnEntry number 2 has no uid"
    msg = _err(_write(tmp_path, "sdn.xml", _doc(ONE.replace("<uid>7<", "<uid>7a<"))))
    assert "has uid '7a', which is not a number" in msg
    msg = _err(_write(tmp_path, "sdn.xml", _doc(ONE.replace("EXAMPLE TRADING LLC", " "))))
    assert msg == "sdn.xml (line 4): sdnEntry uid 7 has no name (lastName is empty)"


def test_count_and_date_problems_are_warnings(tmp_path):
    r = parse_file(_write(tmp_path, "sdn.xml", _doc(ONE, count=2, date="2026-08-26")))
    assert len(r.entries) == 1 and r.publish_date is None
    assert any("Record_Count says 2 entries but the file holds 1" in w for w in r.warnings)
    assert any("'2026-08-26' is not MM/DD/YYYY" in w for w in r.warnings)


# -- in the store ----------------------------------------------------------------


@pytest.fixture()
def wb(tmp_path: Path):
    w = open_workbench(tmp_path / "wb.db", demo=True)
    w.login("olivia", "demo-password")
    yield w
    w.close()


def test_xml_feeds_the_same_source_as_the_csv_set(wb) -> None:
    csv_snap = S.import_list(wb, DATA / "ofac_sdn_2021" / "sdn.csv")
    xml_snap = S.import_list(wb, SDN_XML)
    assert xml_snap.record["source"] == "ofac_sdn"
    assert xml_snap.record["previous_id"] == csv_snap.id  # sdn.xml supersedes sdn.csv
    assert xml_snap.record["publish_date"] == "2021-07-06"
    assert xml_snap.record["diff"]["removed"] == 8976 - 16
    cons = S.import_list(wb, CONS_XML)
    assert cons.record["source"] == "ofac_cons" and cons.record["counts"]["CMIC"] == 4
    current = {s["source"]: s for s in S.current_snapshots(wb.store)}
    assert current["ofac_sdn"]["format"] == current["ofac_cons"]["format"] == "ofac_xml"
    row = wb.store.one("select data from list_entry where snapshot_id = ? and entry_id = ?",
                       (xml_snap.id, "SDN:306"))
    e = S.entry_from_json(row["data"])
    assert e.alt_names == ["NATIONAL BANK OF CUBA"] and e.content_hash == e.compute_hash()
    assert json.loads(row["data"])["raw"]["akaList"][0]["category"] == "weak"


def test_bad_xml_leaves_no_snapshot(wb, tmp_path: Path) -> None:
    before = wb.store.scalar("select count(*) from list_snapshot")
    data = SDN_XML.read_bytes()
    cut = tmp_path / "sdn.xml"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ListFileError, match="truncated"):
        S.import_list(wb, cut)
    with pytest.raises(ListFileError, match="DOCTYPE"):
        S.import_list(wb, _write(tmp_path, "bomb.xml", BILLION_LAUGHS))
    assert wb.store.scalar("select count(*) from list_snapshot") == before
    assert audit.verify(wb.store).ok


def test_content_hash_is_the_canonical_json_of_all_fields():
    # compute_hash skips asdict's deep copy; the hash must stay what it was, or
    # every stored snapshot would diff as "changed" against the next import
    import hashlib
    from dataclasses import asdict

    for path in (SDN_XML, DATA / "bis_dpl" / "dpl_2022.txt"):
        e = parse_file(path).entries[1]
        d = asdict(e)
        d.pop("content_hash")
        blob = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert e.content_hash == hashlib.sha256(blob.encode("utf-8")).hexdigest()
