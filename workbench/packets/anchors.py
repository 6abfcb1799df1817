"""Audit anchors: the trail's head kept outside the database.

The hash chain shows an edit, a removal or a reordering *inside* the trail,
but someone with the file and sqlite3 can cut its tail, or rewrite events
and re-hash everything after them, and the chain is whole again. What
catches that is a copy of the head kept elsewhere: an anchor file (sequence
number, head hash, time, signed with the organisation key), a packet (its
manifest carries the head) or a backup's anchor. ``check_against`` fails
when the database does not hold that head at that place.

An anchor is JSON::

    {"format": "workbench-audit-anchor/1", "database": "workbench.db",
     "organisation": "…", "seq": 812, "head": "…64 hex…", "made_at": "…Z",
     "made_by": "olivia", "signature": {"alg": "RSA-PKCS1v15-SHA256",
     "cert_sha256": "…", "cert_pem": "…", "value": "…base64…"}}

The signature covers the canonical JSON of every field but ``signature``.
Read-only towards the database; writing an anchor touches only its file.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.db import audit
from workbench.db.store import Store, utc_now
from workbench.errors import WorkbenchError

FORMAT = "workbench-audit-anchor/1"
MAX_ANCHOR_BYTES = 1_000_000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class AnchorError(WorkbenchError):
    """A file given as an anchor cannot be read as one (names the file)."""


@dataclass
class Claim:
    """What one outside copy says the trail held: `head` at `seq` (seq None
    for a packet, which records the head only)."""

    source: str
    kind: str  # anchor, packet PDF, packet workbook, backup anchor
    head: str
    seq: int | None = None
    made_at: str | None = None
    facts: list[str] = field(default_factory=list)


def _body_bytes(body: dict[str, Any]) -> bytes:
    return audit.canonical_json(body).encode("utf-8")


def make_anchor(store: Store, *, organisation: str, made_by: str) -> dict[str, Any]:
    """The unsigned anchor of the trail as it stands now. Read-only."""
    row = store.one("select seq, hash from audit_event order by seq desc limit 1")
    return {"format": FORMAT, "database": store.path.name, "organisation": organisation,
            "seq": 0 if row is None else int(row["seq"]),
            "head": audit.GENESIS if row is None else row["hash"],
            "made_at": utc_now(), "made_by": made_by}


def sign_anchor(body: dict[str, Any], key: Any) -> dict[str, Any]:
    """`body` with its signature by the organisation key (an unlocked
    OrgKey, see signing.ensure_key). Reads the key files."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    priv = serialization.load_pem_private_key(key.key_path.read_bytes(),
                                              password=key.passphrase)
    sig = priv.sign(_body_bytes(body), padding.PKCS1v15(), hashes.SHA256())
    return {**body, "signature": {"alg": "RSA-PKCS1v15-SHA256",
                                  "cert_sha256": key.fingerprint(),
                                  "cert_pem": key.cert_pem().decode("ascii"),
                                  "value": base64.b64encode(sig).decode("ascii")}}


def database_key(store: Store) -> Any:
    """This database's signing key (signing.ensure_key in its own key
    folder, unlocked with the session's secrets, refused if it is not the
    key the trail recorded). Raises KeyLocked when a passphrase is needed.
    Side effects: may create the key."""
    from workbench.packets.model import _exporter
    from workbench.packets.signing import ensure_key, key_dir_for, recorded_fingerprint

    return ensure_key(key_dir_for(store.path), _exporter(store), secrets=store.secrets,
                      expect=recorded_fingerprint(store))


def anchor_now(store: Store, out: str | os.PathLike[str], *, made_by: str | None,
               at: Any = None) -> tuple[Path, dict[str, Any], list[str]]:
    """Make, sign (with the database's key, made if missing) and write an
    anchor of the trail as it stands (or of the event row `at`, seq and
    hash, read earlier): (file, anchor, key warnings to show).
    Side effects: writes `out`; may create the key."""
    from workbench.packets.model import _exporter

    org = _exporter(store)
    key = database_key(store)
    body = make_anchor(store, organisation=org, made_by=made_by)
    if at is not None:
        body.update(seq=int(at["seq"]), head=at["hash"])
    signed = sign_anchor(body, key)
    signed_by = {"cert_sha256": key.fingerprint(), "key_created": key.created}
    return write_anchor(signed, out), {**signed, **signed_by}, key.warnings


# The app writes one into the anchor folder when the last is older than this.
DAILY_S = 24 * 3600
ANCHOR_ENTITY = "audit_anchor"


def backup_with_anchor(wb: Any, dest: str | os.PathLike[str], *,
                       progress: Any = None) -> tuple[Path, Path, list[str]]:
    """Back up the database to `dest` (SQLite's online backup) with its
    anchor beside it, ``DEST.anchor.json``, recorded in the trail. The head
    is read before the copy starts, so both the copy and the live trail hold
    it even when someone writes meanwhile. Returns (backup, anchor, key
    warnings). Side effects: writes both files; one transaction."""
    database_key(wb.store)  # locked or foreign: say so before copying anything
    body_at = wb.store.one("select seq, hash from audit_event order by seq desc limit 1")
    copy = wb.store.backup(dest, progress=progress)
    path, _a, warnings = make_and_record(wb, f"{dest}.anchor.json", kind="backup",
                                         at=body_at)
    return copy, path, warnings


def make_and_record(wb: Any, out: str | os.PathLike[str], *, kind: str, at: Any = None
                    ) -> tuple[Path, dict[str, Any], list[str]]:
    """:func:`anchor_now` by the signed-in user, then record in the trail
    that it was made (file, event, head; `kind`: "by hand", "backup",
    "daily"), so the app can say when the last one was made and an auditor
    sees where copies went. An auditor (read-only) or nobody signed in still
    gets the file, unrecorded. Side effects: writes `out`, may create the
    key, one transaction for the record. Threading: any thread."""
    from workbench.errors import PermissionDenied

    user = wb.user
    path, a, warnings = anchor_now(wb.store, out, made_by=None if user.username == "system"
                                   else user.username, at=at)
    try:
        with wb.writing() as w:
            w.audit(ANCHOR_ENTITY, a["seq"], "anchor", None,
                    {"file": str(path), "seq": a["seq"], "head": a["head"],
                     "made_at": a["made_at"], "kind": kind, "cert_sha256": a["cert_sha256"],
                     "key_created": a["key_created"]})
    except PermissionDenied:  # SignInRequired is one too: an auditor's copy, unrecorded
        pass
    return path, a, warnings


def last_anchor(store: Store, kind: str | None = None) -> dict[str, Any] | None:
    """The newest recorded anchor (of `kind`, if given): file, seq, head,
    made_at, kind, and ``recorded_at``. Read-only."""
    for r in store.all(f"select ts, after from audit_event where entity = ? and action ="
                       f" 'anchor' order by seq desc", (ANCHOR_ENTITY,)):
        a = json.loads(r["after"] or "{}")
        if kind is None or a.get("kind") == kind:
            return {**a, "recorded_at": r["ts"]}
    return None


def anchor_folder(store: Store) -> Path | None:
    """The configured anchor folder, or None. Read-only."""
    from workbench import settings

    v = settings.get(store, settings.ANCHOR_FOLDER)
    return Path(v).expanduser() if v else None


def daily_due(store: Store, now: Any = None) -> bool:
    """True when an anchor folder is set and no daily anchor was made in the
    last 24 hours. Read-only."""
    import datetime as dt

    if anchor_folder(store) is None:
        return False
    last = last_anchor(store, "daily")
    if last is None:
        return True
    now = now or dt.datetime.now(dt.timezone.utc)
    made = dt.datetime.fromisoformat(str(last["made_at"]).replace("Z", "+00:00"))
    return (now - made).total_seconds() >= DAILY_S


def anchor_file_name(store: Store) -> str:
    """``NAME-anchor-YYYYMMDDTHHMMSSZ-eventN.json`` for the trail as it
    stands: sorts by time, says which database and how far. Read-only."""
    seq = store.scalar("select coalesce(max(seq), 0) from audit_event")
    stamp = utc_now()[:19].replace("-", "").replace(":", "")
    return f"{store.path.stem}-anchor-{stamp}Z-event{seq}.json"


def anchor_daily(wb: Any, *, force: bool = False) -> Path | None:
    """Write the day's anchor into the anchor folder when it is due (or
    `force`): ``NAME-anchor-YYYYMMDDTHHMMSSZ-eventN.json``. Returns its
    path, or None when nothing was due. Raises WorkbenchError naming the
    folder when it cannot be written. Side effects: see make_and_record."""
    folder = anchor_folder(wb.store)
    if folder is None or not (force or daily_due(wb.store)):
        return None
    if not folder.is_dir():
        raise WorkbenchError(f"{folder}: the audit anchor folder does not exist (is the disk "
                             f"connected?); choose another on the Audit log page")
    out = folder / anchor_file_name(wb.store)
    try:
        return make_and_record(wb, out, kind="daily")[0]
    except OSError as e:
        raise WorkbenchError(f"{folder}: cannot write the audit anchor there "
                             f"({e.strerror or e})") from None


def folder_claims(store: Store, folder: Path | None = None, *, newest: int = 60
                  ) -> tuple[list[Claim], list[str]]:
    """The anchors of this database in the anchor folder (the newest
    `newest`), as claims to check, and one line per file that could not be
    read as one (a damaged or edited anchor is a finding, not noise).
    Anchors of other databases are skipped. Read-only."""
    folder = folder or anchor_folder(store)
    if folder is None or not folder.is_dir():
        return [], []
    files = sorted((p for p in folder.glob("*anchor*.json") if p.is_file()),
                   key=lambda p: p.stat().st_mtime, reverse=True)[:newest]
    claims, bad = [], []
    for p in files:
        try:
            doc = json.loads(p.read_bytes()[:MAX_ANCHOR_BYTES])
        except (OSError, ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict) and doc.get("format") == FORMAT \
                and doc.get("database") not in (None, store.path.name):
            continue
        try:
            claims.append(read_claim(p))
        except AnchorError as e:
            bad.append(str(e))
    return claims, bad


def write_anchor(anchor: dict[str, Any], out: str | os.PathLike[str]) -> Path:
    """Write `anchor` to `out` atomically (temp file, fsync, rename), 0600."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(anchor, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    return out


def _anchor_claim(path: Path, data: bytes, trusted_cert: bytes | None) -> Claim:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from workbench.packets.signing import cert_fingerprint

    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise AnchorError(f"{path}: not an audit anchor (not JSON: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise AnchorError(f"{path}: not an audit anchor (format is not {FORMAT})")
    seq, head, sig = doc.get("seq"), doc.get("head"), doc.get("signature")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or seq > 2**62:
        raise AnchorError(f"{path}: seq must be a whole number ≥ 0")
    if not isinstance(head, str) or not _HEX64.match(head):
        raise AnchorError(f"{path}: head must be 64 hexadecimal characters")
    if not isinstance(sig, dict) or not isinstance(sig.get("value"), str) \
            or not isinstance(sig.get("cert_pem"), str):
        raise AnchorError(f"{path}: the anchor is not signed")
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        pem = sig["cert_pem"].encode("ascii")
        cert = x509.load_pem_x509_certificate(pem)
        cert.public_key().verify(base64.b64decode(sig["value"], validate=True),
                                 _body_bytes(body), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise AnchorError(f"{path}: the signature does not match the anchor's content "
                          f"(the file was edited)") from None
    except (ValueError, TypeError, UnicodeEncodeError) as e:
        raise AnchorError(f"{path}: the signature cannot be read ({e})") from None
    fp = cert_fingerprint(pem)
    facts = [f"signed by certificate {fp[:16]}…"]
    if trusted_cert is not None and cert_fingerprint(trusted_cert) != fp:
        raise AnchorError(f"{path}: signed by certificate {fp[:16]}…, not by the "
                          f"organisation's certificate {cert_fingerprint(trusted_cert)[:16]}…")
    return Claim(str(path), "anchor", head, seq, doc.get("made_at"), facts)


def _pdf_claim(path: Path) -> Claim:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
        keywords = str(reader.trailer_view["/Info"].get_object().get("/Keywords", ""))
    except Exception as e:  # a damaged PDF is "not a packet", in one line
        raise AnchorError(f"{path}: cannot be read as a packet PDF ({e})") from None
    m = re.search(r"audit-chain-head=([0-9a-f]{64})", keywords)
    if not m:
        raise AnchorError(f"{path}: a PDF, but not a workbench packet (no audit chain head)")
    return Claim(str(path), "packet PDF", m.group(1))


def _xlsx_claim(path: Path) -> Claim:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            # the manifest sheet holds it (written last); look no further than
            # the first rows of each sheet, so a huge workbook costs nothing
            head = next((str(r[1]) for ws in wb.worksheets
                         for r in ws.iter_rows(max_row=60, max_col=2, values_only=True)
                         if r and r[0] == "Audit chain head" and r[1]), None)
        finally:
            wb.close()
    except Exception as e:  # any unreadable workbook is "not a packet", one line
        raise AnchorError(f"{path}: cannot be read as a packet workbook ({e})") from None
    if head is None or not _HEX64.match(head):
        raise AnchorError(f"{path}: a workbook, but not a workbench packet "
                          f"(no audit chain head in its manifest)")
    return Claim(str(path), "packet workbook", head)


def read_claim(path: str | os.PathLike[str], *, trusted_cert: bytes | None = None) -> Claim:
    """What an anchor file, a packet PDF or a packet workbook says the trail
    held. Raises AnchorError naming the file. Read-only."""
    p = Path(path)
    if not p.is_file():
        raise AnchorError(f"{p}: no such file")
    if p.suffix.lower() == ".pdf":
        return _pdf_claim(p)
    if p.suffix.lower() == ".xlsx":
        return _xlsx_claim(p)
    if p.stat().st_size > MAX_ANCHOR_BYTES:
        raise AnchorError(f"{p}: too large for an audit anchor")
    return _anchor_claim(p, p.read_bytes(), trusted_cert)


def check_against(store: Store, claims: list[Claim]) -> list[str]:
    """Problems, one line each, where the database does not hold what a
    claim says: a missing event (the trail was cut), another hash at that
    place (events were rewritten), a packet's head found nowhere. Empty when
    every claim holds. Read-only."""
    problems = []
    last = store.one("select seq from audit_event order by seq desc limit 1")
    count = 0 if last is None else int(last["seq"])
    for c in claims:
        if c.seq is not None:
            if c.seq == 0:
                continue
            row = store.one("select hash from audit_event where seq = ?", (c.seq,))
            if row is None:
                problems.append(f"{c.source}: the anchor records event {c.seq} (made "
                                f"{c.made_at}), but the database has only {count} events: "
                                f"the trail was cut after the anchor")
            elif row["hash"] != c.head:
                problems.append(f"{c.source}: event {c.seq} in the database is not the one "
                                f"anchored (hash {row['hash'][:16]}…, anchored "
                                f"{c.head[:16]}…): events up to {c.seq} were rewritten")
        elif store.one("select 1 from audit_event where hash = ?", (c.head,)) is None \
                and c.head != audit.GENESIS:
            problems.append(f"{c.source}: the {c.kind}'s audit chain head {c.head[:16]}… is "
                            f"not in the database: the trail was cut or rewritten since "
                            f"the packet was made (or the packet comes from another "
                            f"database)")
    return problems
