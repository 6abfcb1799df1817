"""Evidence: files attached to records, stored IN the database.

Each file is one append-only row holding its bytes (a BLOB), its SHA-256,
its size, the original file name and a MIME type found by sniffing the first
bytes (never by running or opening the file with another program). Triggers
refuse UPDATE and DELETE, so a stored file cannot be changed through SQL; and
every read re-hashes the bytes, so a change made behind SQLite's back (a hex
editor, another tool that dropped the triggers) is reported, never shown.

Viewing: :func:`export_for_viewing` writes a read-only copy to a fresh temp
folder; the name is sanitised and an executable-looking file gets a ``.bin``
suffix so a desktop "open" cannot run it.

Threading: like the store — call from any thread; writes are one transaction.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.app import Change, Workbench
from workbench.errors import NotFound, WorkbenchError
from workbench.db.store import Store, utc_now

MAX_EVIDENCE_BYTES = 25 * 1024 * 1024
MAX_NAME = 255
_UNSAFE_EXT = {".exe", ".com", ".bat", ".cmd", ".msi", ".ps1", ".vbs", ".js", ".jse",
               ".wsf", ".scr", ".pif", ".lnk", ".desktop", ".sh", ".bash", ".py", ".pyw",
               ".jar", ".app", ".appimage", ".run", ".bin", ".dll", ".so", ".hta", ".reg",
               ".command", ".deb", ".rpm", ".dmg", ".pkg"}
_EXECUTABLE_MIME = {"application/x-msdownload", "application/x-executable",
                    "application/x-mach-binary", "text/x-shellscript",
                    "application/java-archive"}


class EvidenceError(WorkbenchError):
    """A file was refused as evidence (too big, empty, unreadable)."""


class EvidenceTampered(WorkbenchError):
    """Stored bytes no longer match the SHA-256 recorded when they were added."""


# -- sniffing ---------------------------------------------------------------------

def sniff_mime(data: bytes) -> str:
    """MIME type from the leading bytes (magic numbers). Pure; never runs
    or parses the file beyond a ZIP's central directory."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist()[:5000])
        except (zipfile.BadZipFile, ValueError, OSError):
            return "application/zip"
        if "[Content_Types].xml" in names:
            if any(n.startswith("xl/") for n in names):
                return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            if any(n.startswith("word/") for n in names):
                return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            if any(n.startswith("ppt/") for n in names):
                return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        if "META-INF/MANIFEST.MF" in names:
            return "application/java-archive"
        return "application/zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"  # old .doc/.xls/.msg
    if head.startswith(b"MZ"):
        return "application/x-msdownload"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
                    b"\xce\xfa\xed\xfe"):
        return "application/x-mach-binary"
    if head.startswith(b"#!"):
        return "text/x-shellscript"
    sample = data[:8192]
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(sample) - 4:  # not just a character cut at the sample's end
            return "application/octet-stream"
        text = sample[:e.start].decode("utf-8")
    t = text.lstrip("\ufeff").lstrip()
    if t.startswith("<?xml"):
        return "application/xml"
    if t[:15].lower().startswith(("<!doctype html", "<html")):
        return "text/html"
    if re.match(r"^(Received|From|Return-Path|Message-ID|MIME-Version):", t):
        return "message/rfc822"
    return "text/plain"


def _clean_name(name: str) -> str:
    base = Path(str(name).replace("\\", "/")).name
    base = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip(" .")
    return (base or "evidence")[:MAX_NAME]


# -- writing ----------------------------------------------------------------------

def check_size(size: int, name: str, limit: int = MAX_EVIDENCE_BYTES) -> None:
    """Raise EvidenceError for an empty file or one over the limit. Pure."""
    if size == 0:
        raise EvidenceError(f"{name}: the file is empty; attach the document itself")
    if size > limit:
        raise EvidenceError(
            f"{name}: the file is {size / 1048576:,.1f} MiB; evidence files may be at most "
            f"{limit / 1048576:,.0f} MiB. Attach a smaller scan or split the document.")


def read_file_for_evidence(path: str | os.PathLike[str],
                           limit: int = MAX_EVIDENCE_BYTES) -> tuple[bytes, str]:
    """Read a file to attach: (bytes, original name). Side effects: reads at
    most `limit` + 1 bytes, so a huge file is refused without loading it."""
    p = Path(path)
    if p.is_symlink():
        # what is attached must be what the officer saw: a link can point at
        # any file (a system file, or one that changes after it was chosen)
        raise EvidenceError(f"{p}: is a link to {os.path.realpath(p)}; attach the file "
                            f"itself")
    if not p.is_file():
        raise EvidenceError(f"{p}: no such file")
    size = p.stat().st_size
    check_size(size, p.name, limit)
    with open(p, "rb") as fh:
        data = fh.read(limit + 1)
    check_size(len(data), p.name, limit)
    return data, p.name


def store_evidence(wb: Workbench, data: bytes, name: str, *,
                   link: tuple[str, Any] | None = None,
                   limit: int = MAX_EVIDENCE_BYTES) -> Change:
    """Store `data` as evidence, optionally linked to (entity, entity_id).

    Side effects: one transaction (joins the caller's, if any) inserting the
    file row, the link and an audit event with the hash, size, name and type
    (never the bytes). Returns a Change whose record is :func:`info`.
    """
    name = _clean_name(name)
    check_size(len(data), name, limit)
    sha = hashlib.sha256(data).hexdigest()
    mime = sniff_mime(data)
    now = utc_now()
    with wb.writing() as w:
        eid = w.conn.execute(
            "insert into evidence (sha256, size, name, mime, content, added_at, added_by)"
            " values (?,?,?,?,?,?,?)",
            (sha, len(data), name, mime, data, now, wb.user.username)).lastrowid
        rec = {"id": eid, "sha256": sha, "size": len(data), "name": name, "mime": mime,
               "added_at": now, "added_by": wb.user.username}
        w.audit("evidence", eid, "add", None, rec)
        if link is not None:
            link_evidence(wb, eid, link[0], link[1])
    return Change("evidence", eid, "add", rec)


def add_file(wb: Workbench, path: str | os.PathLike[str], *,
             link: tuple[str, Any] | None = None,
             limit: int = MAX_EVIDENCE_BYTES) -> Change:
    """Read a file and store it as evidence (see :func:`store_evidence`)."""
    wb.store.refuse_own_file(path, "evidence")
    data, name = read_file_for_evidence(path, limit)
    return store_evidence(wb, data, name, link=link, limit=limit)


def link_evidence(wb: Workbench, evidence_id: int, entity: str, entity_id: Any) -> Change:
    """Attach stored evidence to a record. Side effects: one transaction
    (joins the caller's) with a link row and an audit event."""
    with wb.writing() as w:
        if w.conn.execute("select 1 from evidence where id = ?", (evidence_id,)).fetchone() is None:
            raise NotFound(f"evidence {evidence_id} does not exist")
        lid = w.conn.execute(
            "insert into evidence_link (evidence_id, entity, entity_id, linked_at, linked_by)"
            " values (?,?,?,?,?)",
            (evidence_id, entity, str(entity_id), utc_now(), wb.user.username)).lastrowid
        w.audit(entity, entity_id, "attach_evidence", None, {"evidence_id": evidence_id})
    return Change("evidence_link", lid, "create", {"evidence_id": evidence_id,
                                                   "entity": entity, "entity_id": str(entity_id)})


# -- reading ----------------------------------------------------------------------

def info(store: Store, evidence_id: int) -> dict[str, Any]:
    """Metadata of one evidence file (no bytes, no hash check). Read-only."""
    row = store.one("select id, sha256, size, name, mime, added_at, added_by from evidence"
                    " where id = ?", (evidence_id,))
    if row is None:
        raise NotFound(f"evidence {evidence_id} does not exist")
    return dict(row)


def linked(store: Store, entity: str, entity_id: Any) -> list[dict[str, Any]]:
    """Evidence linked to a record, oldest first (metadata only). Read-only."""
    return [dict(r) for r in store.all(
        "select e.id, e.sha256, e.size, e.name, e.mime, e.added_at, e.added_by"
        " from evidence_link l join evidence e on e.id = l.evidence_id"
        " where l.entity = ? and l.entity_id = ? order by l.id", (entity, str(entity_id)))]


def read_evidence(store: Store, evidence_id: int) -> bytes:
    """The stored bytes, after checking them against the recorded SHA-256
    and size. Raises EvidenceTampered on any mismatch. Read-only."""
    row = store.one("select sha256, size, name, content from evidence where id = ?",
                    (evidence_id,))
    if row is None:
        raise NotFound(f"evidence {evidence_id} does not exist")
    data = bytes(row["content"])
    got = hashlib.sha256(data).hexdigest()
    if got != row["sha256"] or len(data) != row["size"]:
        raise EvidenceTampered(
            f"evidence {evidence_id} ({row['name']}) has been altered since it was stored: "
            f"SHA-256 is {got[:16]}…, recorded {row['sha256'][:16]}… "
            f"({len(data):,} bytes, recorded {row['size']:,}). It will not be shown; "
            f"restore the database from a backup and report it.")
    return data


@dataclass
class Verification:
    checked: int
    bad: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.bad


def verify_all(store: Store) -> Verification:
    """Re-hash every stored file; list the ones that do not match. Read-only."""
    bad, n = [], 0
    for r in store.all("select id from evidence order by id"):
        n += 1
        try:
            read_evidence(store, r["id"])
        except EvidenceTampered as e:
            bad.append({"id": r["id"], "error": str(e)})
    return Verification(n, bad)


def safe_view_name(name: str, mime: str) -> str:
    """A file name a desktop can open without running anything. Pure."""
    name = _clean_name(name)
    if Path(name).suffix.lower() in _UNSAFE_EXT or mime in _EXECUTABLE_MIME:
        # A neutral suffix: text opens in an editor, anything else in nothing.
        name += ".txt" if mime.startswith("text/") else ".bin"
    return name


def export_for_viewing(store: Store, evidence_id: int,
                       folder: str | os.PathLike[str] | None = None) -> Path:
    """Write a verified, read-only copy for viewing; return its path.

    Side effects: creates a new private temp folder (or uses `folder`) and a
    file there with mode 0400 (never executable). Raises EvidenceTampered
    when the bytes do not match their hash — nothing is written then.
    """
    meta = info(store, evidence_id)
    data = read_evidence(store, evidence_id)
    base = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="ecw-evidence-"))
    base.mkdir(parents=True, exist_ok=True)
    dest = base / f"{evidence_id}-{safe_view_name(meta['name'], meta['mime'])}"
    if dest.exists():
        os.chmod(dest, stat.S_IRUSR | stat.S_IWUSR)
        dest.unlink()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(dest, stat.S_IRUSR)
    return dest
