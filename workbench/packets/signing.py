"""The organisation's signing key and PDF signing (pyhanko, PAdES B-B).

The key is made locally the first time a packet is signed: RSA-3072 with a
self-signed certificate (there is no CA in an offline workbench; auditors are
given the certificate, ``workbench packet cert OUT.pem``, and compare its
fingerprint). Both live in the database's own key folder beside it,
``NAME.db.keys/`` (mode 0700): ``packet-signing-key.pem`` (0600) and
``packet-signing-cert.pem``; never shared between databases.

The key is always stored encrypted. Its passphrase comes from, in order:
``$WORKBENCH_SIGNING_PASSPHRASE``; what the person typed this session (the
app asks in a dialog, the CLI at the terminal; kept in ``Store.secrets``,
in memory only); the OS keyring via the ``keyring`` library, where the
machine has one (then a random passphrase is made and kept there, and
nobody has to type one). Without any of them the key is not made
(:class:`KeyLocked` says how to give one). A key left unencrypted by an
older version keeps signing, with a warning, and is encrypted as soon as a
passphrase is at hand.

The certificate a database signs with is recorded in its trail (each packet
export and anchor event carries its fingerprint), so a key folder swapped
for another database's is refused before it signs anything.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

PASSPHRASE_ENV = "WORKBENCH_SIGNING_PASSPHRASE"
KEY_FILE = "packet-signing-key.pem"
CERT_FILE = "packet-signing-cert.pem"
UNPROTECTED_WARNING = (
    "WARNING: the packet signing key is stored WITHOUT a passphrase (only file "
    f"permissions protect it); set ${PASSPHRASE_ENV} (or sign once from the app or a "
    "terminal and give one) to protect it")
KEYRING_SERVICE = "Export Compliance Workbench packet signing key"


class KeyLocked(WorkbenchError):
    """The signing key needs a passphrase nobody has given yet (or the one
    given is wrong). Front ends ask for one, :func:`remember` it and try
    again; `creating` says the key is about to be made (ask twice)."""

    def __init__(self, message: str, key_dir: Path, *, creating: bool, wrong: bool = False):
        super().__init__(message)
        self.key_dir, self.creating, self.wrong = key_dir, creating, wrong


@dataclass
class OrgKey:
    key_path: Path
    cert_path: Path
    created: bool = False
    warnings: list[str] = field(default_factory=list)
    passphrase: bytes | None = None

    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    def fingerprint(self) -> str:
        return cert_fingerprint(self.cert_pem())


def cert_fingerprint(pem_or_der: bytes) -> str:
    """SHA-256 fingerprint of a certificate (hex, colon-free)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    c = (x509.load_pem_x509_certificate(pem_or_der) if pem_or_der.lstrip().startswith(b"-----")
         else x509.load_der_x509_certificate(pem_or_der))
    return c.fingerprint(hashes.SHA256()).hex()


def key_dir_for(db_path: str | os.PathLike[str]) -> Path:
    """The database's own key folder, ``NAME.db.keys`` beside it (0700).

    One per database: two databases in one folder used to share the folder's
    key and certificate, so one company's packets were signed as the other
    (issue 13). A key left by an older version in the folder itself
    (``packet-signing-key.pem``) is moved into the first database's folder
    that needs it, so it keeps signing as before and is never shared.
    Side effects: may create the folder and move the legacy pair."""
    db = Path(db_path).resolve()
    d = db.with_name(db.name + ".keys")
    legacy_key, legacy_cert = db.parent / KEY_FILE, db.parent / CERT_FILE
    if not (d / KEY_FILE).exists() and legacy_key.exists() and legacy_cert.exists():
        d.mkdir(mode=0o700, exist_ok=True)
        os.replace(legacy_cert, d / CERT_FILE)
        os.replace(legacy_key, d / KEY_FILE)
    return d


def _keyring() -> Any:
    """The OS keyring, or None where the machine has none usable (a server,
    a container: keyring's fail or null backend)."""
    try:
        import keyring

        kr = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring setup is "no keyring"
        return None
    return kr if getattr(kr, "priority", 0) > 0 else None


def remember(secrets: dict[str, str], key_dir: Path, passphrase: str) -> None:
    """Keep `passphrase` for the key in `key_dir` for this session
    (`secrets` is ``Store.secrets``). Memory only."""
    secrets[str(Path(key_dir).resolve())] = passphrase


def _given(key_dir: Path, secrets: dict[str, str] | None) -> tuple[bytes | None, str]:
    """(passphrase, where it came from) from the environment, the session
    or the keyring; (None, "") when none has one."""
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode("utf-8"), "env"
    got = (secrets or {}).get(str(key_dir.resolve()))
    if got:
        return got.encode("utf-8"), "session"
    kr = _keyring()
    if kr is not None:
        try:
            got = kr.get_password(KEYRING_SERVICE, str(key_dir.resolve()))
        except Exception:  # noqa: BLE001 - a locked or broken keyring is "no keyring"
            got = None
        if got:
            return got.encode("utf-8"), "keyring"
    return None, ""


def _keyring_new(key_dir: Path) -> bytes | None:
    """A random passphrase kept in the OS keyring for this key, or None."""
    kr = _keyring()
    if kr is None:
        return None
    pw = _secrets.token_urlsafe(32)
    try:
        kr.set_password(KEYRING_SERVICE, str(key_dir.resolve()), pw)
    except Exception:  # noqa: BLE001 - cannot keep it: ask a person instead
        return None
    return pw.encode("utf-8")


def _write_private(path: Path, data: bytes, *, exclusive: bool) -> None:
    """Write `data` to `path` 0600: O_EXCL for a new key (two processes
    making one at once: the loser fails instead of overwriting), else via a
    temporary file and rename (re-encrypting never leaves half a key)."""
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def recorded_fingerprint(store: Any) -> str | None:
    """The certificate fingerprint this database last signed with, as its
    trail recorded it (packet exports, anchors), or None. Read-only."""
    row = store.one(
        "select fp from (select seq, coalesce(json_extract(after, '$.certificate_sha256'),"
        " json_extract(after, '$.cert_sha256')) as fp from audit_event where entity in"
        " ('packet', 'audit_anchor')) where fp is not null order by seq desc limit 1")
    return None if row is None else str(row["fp"])


def ensure_key(directory: str | os.PathLike[str], organisation: str, *,
               secrets: dict[str, str] | None = None, expect: str | None = None) -> OrgKey:
    """The organisation key in `directory`, unlocked, made now if there is
    none (encrypted; see the module docstring for the passphrase).

    `secrets`: the session's (``Store.secrets``); `expect`: the fingerprint
    the database's trail recorded — an existing key with another is refused.
    Raises KeyLocked when a passphrase is needed and none was given (or a
    wrong one), WorkbenchError for a key that is not this database's.
    Side effects: may create the key (0600) and certificate files, or
    encrypt a legacy unencrypted key in place. Threading: any thread.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    d = Path(directory)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    k = OrgKey(d / KEY_FILE, d / CERT_FILE)
    pw, _where = _given(d, secrets)
    if not k.key_path.exists():
        pw = pw or _keyring_new(d)
        if pw is None:
            raise KeyLocked(
                "the packet signing key is made now and must be protected by a passphrase: "
                f"choose one (the app asks; at a terminal you are asked; or set "
                f"${PASSPHRASE_ENV}). Keep it safe: without it no packet can be signed",
                d, creating=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(pw))
        _write_private(k.key_path, pem, exclusive=True)
        name = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} audit packets"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "Exporter"),
        ])
        now = _dt.datetime.now(_dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(minutes=5))
                .not_valid_after(now + _dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False,
                                             decipher_only=False), True)
                .sign(key, hashes.SHA256()))
        k.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        k.created, k.passphrase = True, pw
        return k
    if not k.cert_path.exists():
        raise WorkbenchError(
            f"{k.cert_path}: the organisation certificate is missing beside its key "
            f"{k.key_path}; restore it from a backup (auditors compare its fingerprint), "
            f"or move the key away to make a new key and certificate")
    if expect and k.fingerprint() != expect:
        raise WorkbenchError(
            f"{d}: this signing key (certificate {k.fingerprint()[:16]}…) is not the one this "
            f"database signs with (its trail records certificate {expect[:16]}…): a key "
            f"folder copied from another database? Restore this database's own "
            f"{d.name} folder from a backup; nothing was signed")
    # Tighten permissions someone loosened (a copy, a backup restore).
    if os.name == "posix" and (k.key_path.stat().st_mode & 0o077):
        os.chmod(k.key_path, 0o600)
    data = k.key_path.read_bytes()
    if b"ENCRYPTED" in data[:64]:
        if pw is None:
            raise KeyLocked(f"the packet signing key in {d} is protected by a passphrase: "
                            f"give it (the app asks; at a terminal you are asked; or set "
                            f"${PASSPHRASE_ENV})", d, creating=False)
        try:
            serialization.load_pem_private_key(data, password=pw)
        except (ValueError, TypeError):
            if secrets is not None:
                secrets.pop(str(d.resolve()), None)
            raise KeyLocked(f"the passphrase of the packet signing key in {d} is wrong",
                            d, creating=False, wrong=True) from None
        k.passphrase = pw
        return k
    # a key an older version left unencrypted: protect it once a passphrase is at hand
    pw = pw or _keyring_new(d)
    if pw is None:
        k.warnings.append(UNPROTECTED_WARNING)
        return k
    key = serialization.load_pem_private_key(data, password=None)
    _write_private(k.key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(pw)), exclusive=False)
    k.passphrase = pw
    k.warnings.append("note: the packet signing key was stored without a passphrase; it is "
                      "now encrypted with the passphrase given")
    return k


def attach_and_sign(pdf: bytes, out: str | os.PathLike[str], key: OrgKey, *,
                    attachments: list[tuple[str, bytes, str, str]],
                    reason: str, location: str = "") -> Path:
    """Embed files into `pdf`, sign it (PAdES B-B, SHA-256) and write `out`.

    `attachments`: (file name, bytes, MIME type, description). Side effects:
    writes `out` via a temporary file and rename. Threading: any thread.
    """
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for name, data, mime, desc in attachments:
        ef = embed.EmbeddedFileObject.from_file_data(
            w, data=data, mime_type=mime,
            params=embed.EmbeddedFileParams(embed_size=True, embed_checksum=True))
        embed.embed_file(w, embed.FileSpec(file_spec_string=name, file_name=name,
                                           embedded_data=ef, description=desc))
    signer = signers.SimpleSigner.load(str(key.key_path), str(key.cert_path),
                                       key_passphrase=key.passphrase)
    if signer is None:
        from workbench.errors import WorkbenchError

        raise WorkbenchError(f"cannot load the signing key {key.key_path}: wrong or missing "
                             f"passphrase (${PASSPHRASE_ENV})?")
    meta = signers.PdfSignatureMetadata(
        field_name="PacketSignature", md_algorithm="sha256", reason=reason,
        location=location or None, subfilter=fields.SigSeedSubFilter.PADES)
    buf = io.BytesIO()
    signers.sign_pdf(w, meta, signer=signer, output=buf)
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.partial-{os.getpid()}")
    try:
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def packet_attachments(packet: Any, manifest: dict[str, Any],
                       evidence_bytes: dict[int, bytes]) -> list[tuple[str, bytes, str, str]]:
    """manifest.json, packet.json (every section's canonical content) and
    the evidence files, named ``evidence-<id>-<name>``."""
    from workbench.db.audit import canonical_json

    out = [("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1,
                                        sort_keys=True).encode("utf-8"),
            "application/json", "Packet manifest: section content hashes"),
           ("packet.json", canonical_json({"sections": [s.canonical() for s in
                                                        packet.sections]}).encode("utf-8"),
            "application/json", "Section data in the form the manifest hashes")]
    for e in packet.evidence_files:
        data = evidence_bytes.get(e["id"])
        if data is None:
            continue
        if hashlib.sha256(data).hexdigest() != e["sha256"]:
            from workbench.errors import WorkbenchError

            raise WorkbenchError(f"evidence {e['id']} ({e['name']}) no longer matches its "
                                 f"recorded SHA-256; the packet is not written")
        out.append((f"evidence-{e['id']}-{e['name']}", data, e.get("mime") or
                    "application/octet-stream", f"Evidence {e['id']}, SHA-256 {e['sha256']}"))
    return out
