"""Audit packets: content model, workbook, PDF and verification (pure core)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from workbench.records import evidence, shipments
from workbench.bootstrap import open_workbench
from workbench.checklists import runs as cstore
from workbench.packets import build_packet
from workbench.packets.model import Section, canonical_value, _cols
from workbench.packets.xlsx import verify_xlsx, write_xlsx

DANGEROUS = "=cmd|' /C calc'!A0"
MARKUP = "<b>not bold</b> & <i>no</i> " + "x" * 300


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    """Demo database with a classification, determination, checklist run,
    evidence and hostile user text on SO-2026-0010."""
    from workbench.rules import determinations as rstore

    path = tmp_path_factory.mktemp("pk") / "demo.db"
    w = open_workbench(path, demo=True)
    w.login("olivia", "demo-password")
    sid = shipments.find_shipment(w.store, "SO-2026-0010")
    rec = shipments.get_shipment(w.store, sid)
    rec.update(end_use=DANGEROUS, notes=MARKUP)
    shipments.save_shipment(w, rec)
    rstore.decide_classification(w, 6, accept=True)
    rstore.determine_shipment(w, sid)
    cstore.start_run(w, "ai-chip-diversion", shipment_id=sid)
    evidence.store_evidence(w, b"%PDF-1.4 end-user statement\n", "EUS signed.pdf",
                            link=("shipment", sid))
    yield w
    w.close()


def test_sections_and_manifest(wb):
    p = build_packet(wb.store, shipment_refs=["SO-2026-0010"], generated_by="olivia")
    ids = [s.id for s in p.sections]
    for want in ("shipments", "lines", "parties", "screening", "hits", "classification",
                 "determination", "ledger", "checklists", "signoffs", "evidence", "audit"):
        assert want in ids
    sec = {s.id: s for s in p.sections}
    names = [r[3] for r in sec["parties"].rows]
    assert "曙光信息产业股份有限公司" in names
    assert any(r[5] == "Han" for r in sec["parties"].rows)
    # provenance: list file and its SHA-256
    assert sec["screening"].rows[0][5] == "entity_list_sample.csv"
    assert len(sec["screening"].rows[0][6]) == 64
    assert sec["hits"].rows and sec["hits"].rows[0][3] == "EL"
    assert sec["classification"].rows[0][2] == pytest.approx(1912.0)
    det = sec["determination"].rows[0]
    assert det[9] == "us-ear-advanced-computing" and det[10] and len(det[11]) == 64
    assert sec["evidence"].rows[0][1] == "EUS signed.pdf"
    assert any(r[3] == "item_classification" for r in sec["audit"].rows)
    assert sec["lines"].rows[0][6] == __import__("decimal").Decimal("6500.00")
    m = p.manifest()
    assert m["audit_chain_head"] == p.chain_head and len(p.chain_head) == 64
    assert {s["id"]: s["sha256"] for s in m["sections"]}["parties"] == sec["parties"].sha256()
    assert m["evidence"][0]["name"] == "EUS signed.pdf"


def test_scope_by_party_and_dates(wb):
    from workbench.records.parties import find_party

    pid = find_party(wb.store, "Dawning Information Industry Co., Ltd.")
    p = build_packet(wb.store, party_id=pid)
    assert "SO-2026-0010" in p.scope["shipments"]
    p = build_packet(wb.store, date_from="2026-01-01", date_to="2026-12-31")
    assert len(p.scope["shipments"]) > 1


def test_canonical_values_survive_workbook_types():
    assert canonical_value("date", dt.date(2026, 9, 15)) == canonical_value(
        "date", dt.datetime(2026, 9, 15))
    assert canonical_value("money", __import__("decimal").Decimal("6500.00")) == \
        canonical_value("money", 6500)
    assert canonical_value("text", "a\r\nb") == "a\nb"
    assert canonical_value("int", "n/a") == "n/a"
    s = Section("x", "X", _cols("A, B:int"), [["a", 1]])
    assert len(s.sha256()) == 64


def test_xlsx_types_safety_and_verify(wb, tmp_path):
    import openpyxl

    p = build_packet(wb.store, shipment_refs=["SO-2026-0010"], generated_by="olivia")
    out = write_xlsx(p, tmp_path / "p.xlsx")
    assert (tmp_path / "p.xlsx.sha256").read_text().split()[1] == "p.xlsx"
    assert verify_xlsx(out) == []
    book = openpyxl.load_workbook(out)
    ws = book["Shipments"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert isinstance(ws["B2"].value, dt.datetime)          # a date, not text
    assert ws["F2"].value == DANGEROUS and ws["F2"].data_type == "s"
    assert ws["F2"].quotePrefix
    lines = book["Shipment lines"]
    assert lines["G2"].value == 6500 and lines["I2"].value == "USD"
    assert "Manifest" in book.sheetnames
    # edit one cell: verify names the sheet and row
    ws["E2"] = "shipped"
    book.save(tmp_path / "q.xlsx")
    shutil.copy(tmp_path / "p.xlsx.sha256", tmp_path / "q.xlsx.sha256")
    problems = verify_xlsx(tmp_path / "q.xlsx")
    assert any("sheet 'Shipments' row 2 was altered" in x for x in problems)
    assert any("SHA-256" in x and "changed after export" in x for x in problems)


def test_rich_text_escapes_markup_and_picks_fonts_by_script():
    from workbench.packets.pdf import FONT_CJK, rich, visual_order

    out = rich("<b>x</b> & 曙光 Рассвет")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; " in out and "<b>" not in out
    assert f'<font name="{FONT_CJK}">曙光</font>' in out
    assert "Рассвет" in out  # DejaVu (the default font) covers Cyrillic
    assert visual_order("ABC شركة الفجر") == "ABC رجفلا ةكرش"
    assert len(rich("y" * 5000)) < 1700  # long cells are cut with a pointer to the workbook


def test_pdf_renders_every_script_with_embedded_fonts(wb, tmp_path):
    import subprocess

    from workbench.records import parties
    from workbench.packets.pdf import build_pdf

    if not shutil.which("pdftotext") or not shutil.which("pdffonts"):
        pytest.skip("poppler-utils not installed")
    pid = parties.find_party(wb.store, "Dawning Information Industry Co., Ltd.")
    rec = parties.get_party(wb.store, pid)
    names = {n["name"] for n in rec["names"]}
    for extra in ("Рассвет Информационные Технологии ООО", "شركة الفجر للمعلومات"):
        if extra not in names:
            rec["names"].append({"name": extra, "kind": "alias"})
    parties.save_party(wb, rec)
    p = build_packet(wb.store, shipment_refs=["SO-2026-0010"], generated_by="olivia")
    out = tmp_path / "p.pdf"
    out.write_bytes(build_pdf(p))
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "曙光信息产业股份有限公司" in text
    assert "Рассвет Информационные Технологии ООО" in text
    assert "الفجر" in text
    assert "<b>not bold</b>" in text  # user markup shown, not obeyed
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert len(fonts) >= 3 and all(" yes yes yes " in f for f in fonts), fonts
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert "Audit packet" in info and p.packet_id in info


def test_signed_pdf_attaches_evidence_and_catches_later_changes(wb, tmp_path, monkeypatch):
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    from workbench.packets import export_packet, verify_file
    from workbench.packets.verify import _embedded_files

    from workbench.packets.signing import KeyLocked, remember

    monkeypatch.delenv("WORKBENCH_SIGNING_PASSPHRASE", raising=False)
    with pytest.raises(KeyLocked) as locked:  # never made unprotected
        export_packet(wb, pdf=tmp_path / "p.pdf", key_dir=tmp_path / "keys",
                      shipment_refs=["SO-2026-0010"])
    assert locked.value.creating and not (tmp_path / "keys" / "packet-signing-key.pem").exists()
    remember(wb.store.secrets, locked.value.key_dir, "typed once this session")
    res = export_packet(wb, pdf=tmp_path / "p.pdf", key_dir=tmp_path / "keys",
                        shipment_refs=["SO-2026-0010"])
    assert res.key_created and not res.warnings
    monkeypatch.setenv("WORKBENCH_SIGNING_PASSPHRASE", "for the other keys below")
    r = verify_file(res.pdf)
    assert r.ok, r.problems
    files = _embedded_files(PdfFileReader(io.BytesIO(res.pdf.read_bytes())))
    ev_id = res.packet.evidence_files[0]["id"]
    assert files[f"evidence-{ev_id}-EUS signed.pdf"] == b"%PDF-1.4 end-user statement\n"
    assert {"manifest.json", "packet.json"} <= set(files)
    # an incremental update after signing: the signature no longer covers the file
    w = IncrementalPdfFileWriter(io.BytesIO(res.pdf.read_bytes()))
    w.root["/Lang"] = generic.pdf_string("de")
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    bad = tmp_path / "later.pdf"
    bad.write_bytes(out.getvalue())
    r = verify_file(bad)
    assert not r.ok and any("not the whole file" in p for p in r.problems)
    # a certificate other than the organisation's
    other = export_packet(wb, pdf=tmp_path / "o.pdf", key_dir=tmp_path / "other",
                          shipment_refs=["SO-2026-0010"])
    r = verify_file(other.pdf, trusted_cert=(tmp_path / "keys" /
                                            "packet-signing-cert.pem").read_bytes())
    assert any("other than the organisation certificate" in p for p in r.problems)


def test_empty_scope_says_which_scope(wb):
    from workbench.packets import PacketError

    with pytest.raises(PacketError, match="no shipment with a ship date from 1999-01-01 to "
                                          "1999-12-31"):
        build_packet(wb.store, date_from="1999-01-01", date_to="1999-12-31")
    with pytest.raises(PacketError, match="give --shipment"):
        build_packet(wb.store)


def test_first_signed_packet_needs_the_exporter_name(tmp_path, monkeypatch):
    """The first signed export makes the certificate, which keeps the name:
    a placeholder there is refused, nothing written, nothing recorded."""
    from workbench import settings
    from workbench.packets import PacketError, export_packet

    monkeypatch.delenv("WORKBENCH_EXPORTER", raising=False)
    w = open_workbench(tmp_path / "n.db", demo=True)
    try:
        w.login("olivia", "demo-password")
        w.store.conn.execute("delete from meta where key = ?", (settings.EXPORTER_NAME,))
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(PacketError, match="set the exporter's name first"):
            export_packet(w, pdf=out / "p.pdf", xlsx=out / "p.xlsx", key_dir=tmp_path / "k",
                          shipment_refs=["SO-2026-0003"])
        assert list(out.iterdir()) == [] and not (tmp_path / "k").exists()
        assert w.store.scalar("select count(*) from audit_event where entity = 'packet'") == 0
        # a workbook alone carries no certificate: allowed
        res = export_packet(w, xlsx=out / "p.xlsx", shipment_refs=["SO-2026-0003"])
        assert res.packet.exporter == "Exporter (name not set)" and res.xlsx.exists()
    finally:
        w.close()


def test_cancel_between_stages_keeps_nothing(wb, tmp_path):
    """A cancel (the progress callback raising) after the PDF was signed
    removes it again and records no export."""
    from workbench.packets import export_packet

    class Stop(Exception):
        pass

    seen = []

    def progress(step, total):
        seen.append((step, total))
        if step == 3:
            raise Stop()

    out = tmp_path / "out"
    out.mkdir()
    n = wb.store.scalar("select count(*) from audit_event where entity = 'packet'")
    with pytest.raises(Stop):
        export_packet(wb, pdf=out / "p.pdf", xlsx=out / "p.xlsx", key_dir=tmp_path / "k",
                      shipment_refs=["SO-2026-0010"], progress=progress)
    assert seen == [(0, 5), (1, 5), (2, 5), (3, 5)]
    assert list(out.iterdir()) == []
    assert wb.store.scalar("select count(*) from audit_event where entity = 'packet'") == n
