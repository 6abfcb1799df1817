"""Evidence files in the database: hashes checked on read, size limit,
sniffed types, read-only viewing copies, append-only rows (no Qt)."""

from __future__ import annotations

import os
import sqlite3
import stat
import zipfile
from pathlib import Path

import pytest

from workbench.records import evidence as ev
from workbench.app import Workbench
from workbench.errors import NotFound, PermissionDenied
from workbench.users import User


@pytest.fixture()
def wb(tmp_path):
    w = Workbench.open(tmp_path / "e.db")
    w.create_user("olivia", "password-123", "officer")
    w.login("olivia", "password-123")
    yield w
    w.close()


def test_store_and_read_back_with_hash(wb, tmp_path):
    p = tmp_path / "extract.pdf"
    data = b"%PDF-1.7\n" + os.urandom(5000)
    p.write_bytes(data)
    ch = ev.add_file(wb, p, link=("party", 7))
    info = ev.info(wb.store, ch.id)
    import hashlib
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["size"] == len(data) and info["name"] == "extract.pdf"
    assert info["mime"] == "application/pdf" and info["added_by"] == "olivia"
    assert ev.read_evidence(wb.store, ch.id) == data
    assert [e["id"] for e in ev.linked(wb.store, "party", 7)] == [ch.id]
    assert ev.verify_all(wb.store).ok
    ev_audit = wb.store.one("select after from audit_event where entity = 'evidence'")["after"]
    assert info["sha256"] in ev_audit and "content" not in ev_audit


def test_tampered_blob_detected_on_read(wb, tmp_path):
    # Tamper with the bytes behind SQLite's back (nothing dropped, no SQL):
    # find the stored file in the database file and flip one byte.
    marker = b"EVIDENCE-MARKER-" + os.urandom(16).hex().encode()
    data = b"Signed end-user statement\n" + marker + b"\n" + b"y" * 3000
    eid = ev.store_evidence(wb, data, "statement.txt").id
    path = wb.store.path
    wb.close()
    raw = bytearray(path.read_bytes())
    at = raw.index(marker)
    raw[at + 5] ^= 0x01
    path.write_bytes(bytes(raw))
    w2 = Workbench.open(path)
    try:
        with pytest.raises(ev.EvidenceTampered, match="altered since it was stored"):
            ev.read_evidence(w2.store, eid)
        with pytest.raises(ev.EvidenceTampered):
            ev.export_for_viewing(w2.store, eid, tmp_path / "view")
        assert not any((tmp_path / "view").glob("*")) if (tmp_path / "view").exists() else True
        res = ev.verify_all(w2.store)
        assert not res.ok and res.bad[0]["id"] == eid
    finally:
        w2.close()


def test_raw_sql_cannot_change_or_delete_evidence(wb):
    eid = ev.store_evidence(wb, b"original bytes", "a.txt", link=("party", 1)).id
    path = wb.store.path
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("update evidence set content = ? where id = ?", (b"forged", eid))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("delete from evidence where id = ?", (eid,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("delete from evidence_link")
    finally:
        conn.close()
    assert ev.read_evidence(wb.store, eid) == b"original bytes"


def test_size_limit_and_empty_file(wb, tmp_path):
    big = tmp_path / "scan.tif"
    with open(big, "wb") as fh:
        fh.truncate(ev.MAX_EVIDENCE_BYTES + 1)
    with pytest.raises(ev.EvidenceError, match=r"scan\.tif.*at most 25 MiB"):
        ev.add_file(wb, big)
    with pytest.raises(ev.EvidenceError, match="at most"):
        ev.store_evidence(wb, b"x" * 2048, "small.txt", limit=1024)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ev.EvidenceError, match="empty"):
        ev.add_file(wb, empty)
    with pytest.raises(ev.EvidenceError, match="no such file"):
        ev.add_file(wb, tmp_path / "missing.pdf")
    assert wb.store.scalar("select count(*) from evidence") == 0


def _zip(names: list[str]) -> bytes:
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in names:
            z.writestr(n, "x")
    return buf.getvalue()


@pytest.mark.parametrize("data, mime", [
    (b"%PDF-1.4 ...", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 20, "image/jpeg"),
    (b"GIF89a" + b"\0" * 10, "image/gif"),
    (_zip(["[Content_Types].xml", "xl/workbook.xml"]),
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (_zip(["[Content_Types].xml", "word/document.xml"]),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (_zip(["a.txt"]), "application/zip"),
    (b"MZ\x90\x00" + b"\0" * 60, "application/x-msdownload"),
    (b"\x7fELF\x02\x01" + b"\0" * 20, "application/x-executable"),
    (b"#!/bin/sh\nrm -rf /\n", "text/x-shellscript"),
    ("Statement of 客户 — plain text".encode(), "text/plain"),
    (b"Received: from mx\nFrom: a@b.example\n", "message/rfc822"),
    (b"\x00\x01\x02garbage", "application/octet-stream"),
])
def test_mime_by_sniffing_not_by_name(data, mime):
    assert ev.sniff_mime(data) == mime


def test_viewing_copy_read_only_and_never_executable(wb, tmp_path):
    eid = ev.store_evidence(wb, b"MZ\x90\x00" + b"\0" * 60, "invoice.pdf.exe").id
    p = ev.export_for_viewing(wb.store, eid, tmp_path / "v")
    assert p.name.endswith(".bin") and p.read_bytes().startswith(b"MZ")
    mode = stat.S_IMODE(p.stat().st_mode)
    assert mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) == 0
    assert mode & stat.S_IWUSR == 0
    sh = ev.store_evidence(wb, b"#!/bin/sh\necho\n", "../../etc/run.sh").id
    p2 = ev.export_for_viewing(wb.store, sh, tmp_path / "v")
    assert p2.parent == tmp_path / "v" and p2.name.endswith("run.sh.txt")
    pdf = ev.store_evidence(wb, b"%PDF-1.4 x", "ok.pdf").id
    p3 = ev.export_for_viewing(wb.store, pdf)
    assert p3.name == f"{pdf}-ok.pdf" and p3.parent.name.startswith("ecw-evidence-")
    assert ev.export_for_viewing(wb.store, pdf, p3.parent).read_bytes() == b"%PDF-1.4 x"


def test_auditor_cannot_add_and_missing_is_not_found(wb):
    aud = wb.as_user(User(99, "audrey", "auditor"))
    with pytest.raises(PermissionDenied):
        ev.store_evidence(aud, b"x", "x.txt")
    with pytest.raises(NotFound):
        ev.read_evidence(wb.store, 12345)
    with pytest.raises(NotFound):
        ev.link_evidence(wb, 12345, "party", 1)
