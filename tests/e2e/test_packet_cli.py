"""`workbench packet …` end to end: export, look at it as an auditor, verify,
tamper, verify again."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import openpyxl
import pytest

from .test_cli import run

PW = "demo-password"
NOPASS = {"WORKBENCH_SIGNING_PASSPHRASE": ""}


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    p = tmp_path / "p.db"
    run(p, "init", "--demo", check=True)
    return p


def export(db: Path, tmp_path: Path, ref: str = "SO-2026-0010",
           env: dict[str, str] | None = None) -> tuple[Path, Path, subprocess.CompletedProcess]:
    pdf, xlsx = tmp_path / "packet.pdf", tmp_path / "packet.xlsx"
    proc = run(db, "packet", "export", "--shipment", ref, "--pdf", str(pdf), "--xlsx",
               str(xlsx), user="olivia", password=PW, env=env, check=True)
    return pdf, xlsx, proc


def test_export_fonts_text_and_verify(db: Path, tmp_path: Path) -> None:
    pdf, xlsx, proc = export(db, tmp_path)
    assert "WITHOUT a passphrase" not in proc.stderr
    key = db.parent / f"{db.name}.keys" / "packet-signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED" in key.read_bytes()[:64]
    assert "manifest SHA-256" in proc.stdout
    if shutil.which("pdffonts"):
        out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
        assert out and all(line.split()[-5] == "yes" for line in out), out
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "曙光信息产业股份有限公司" in text
        assert "Audit-trail extract" in text and "Contents" in text
    ok = run(db, "packet", "verify", str(pdf))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "signature intact and valid, covering the entire file" in ok.stdout
    assert run(db, "packet", "verify", str(xlsx)).returncode == 0
    cert = tmp_path / "org.pem"
    got = json.loads(run(db, "--json", "packet", "cert", str(cert),
                         check=True).stdout)
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE") and not got["created"]
    assert run(db, "packet", "verify", str(pdf), "--cert", str(cert)).returncode == 0


def test_one_byte_change_in_pdf_fails_and_says_what(db: Path, tmp_path: Path) -> None:
    pdf, _, _ = export(db, tmp_path)
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    r = run(db, "packet", "verify", str(bad))
    assert r.returncode == 1
    assert "altered after signing" in r.stdout
    assert "rendered document itself" in r.stdout or "section" in r.stdout


def test_edited_cell_in_workbook_fails_naming_sheet_and_row(db: Path, tmp_path: Path) -> None:
    _, xlsx, _ = export(db, tmp_path)
    book = openpyxl.load_workbook(xlsx)
    assert isinstance(book["Shipments"]["B2"].value, dt.datetime)  # dates are dates
    book["Shipments"]["E2"] = "cleared"
    book.save(xlsx)  # same name: the .sha256 beside it is now stale too
    r = run(db, "packet", "verify", str(xlsx))
    assert r.returncode == 1
    assert "sheet 'Shipments' row 2 was altered" in r.stdout
    assert "changed after export" in r.stdout


def test_hostile_user_text_renders_as_text(db: Path, tmp_path: Path) -> None:
    from workbench.records import shipments
    from workbench.bootstrap import open_workbench

    wb = open_workbench(db)
    wb.login("olivia", PW)
    sid = shipments.find_shipment(wb.store, "SO-2026-0005")
    rec = shipments.get_shipment(wb.store, sid)
    rec.update(end_use="=cmd|' /C calc'!A0", notes="<b>not bold</b> <font size=40>x</font> "
               + "Z" * 400)
    shipments.save_shipment(wb, rec)
    wb.close()
    pdf, xlsx, _ = export(db, tmp_path, "SO-2026-0005")
    ws = openpyxl.load_workbook(xlsx)["Shipments"]
    assert ws["F2"].value == "=cmd|' /C calc'!A0" and ws["F2"].data_type == "s"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "<b>not bold</b>" in text and "=cmd|" in text
        assert "珠江云计算有限公司" in text
    assert run(db, "packet", "verify", str(pdf)).returncode == 0


def test_protected_key_and_scope_by_party(db: Path, tmp_path: Path) -> None:
    env = {"WORKBENCH_SIGNING_PASSPHRASE": "correct horse"}
    pdf = tmp_path / "party.pdf"
    proc = run(db, "--json", "packet", "export", "--party", "Dawning Information Industry "
               "Co., Ltd.", "--pdf", str(pdf), user="olivia", password=PW, env=env,
               check=True)
    assert "WITHOUT" not in proc.stderr
    assert "SO-2026-0010" in json.loads(proc.stdout)["shipments"]
    assert b"ENCRYPTED" in (db.parent / f"{db.name}.keys" / "packet-signing-key.pem").read_bytes()
    bad = run(db, "packet", "export", "--shipment", "SO-2026-0010", "--pdf",
              str(tmp_path / "x.pdf"), user="olivia", password=PW,
              env={"WORKBENCH_SIGNING_PASSPHRASE": "wrong"})
    assert bad.returncode != 0
    assert run(db, "packet", "export", "--shipment", "NOPE", "--pdf", str(pdf), user="olivia",
               password=PW, env=env).returncode != 0
