"""The organisation's signing key and PDF signing (pyhanko, PAdES B-B).

The key is made locally the first time a packet is signed: RSA-3072 with a
self-signed certificate (there is no CA in an offline workbench; auditors are
given the certificate, ``workbench packet cert OUT.pem``, and compare its
fingerprint). Both live in the database's own key folder beside it,
``NAME.db.keys/`` (mode 0700): ``packet-signing-key.pem`` (0600) and
``packet-signing-cert.pem``; never shared between databases.

The key is encrypted with the passphrase in ``$WORKBENCH_SIGNING_PASSPHRASE``
when that is set; without it the key is stored unencrypted and every use
returns a warning that callers must show (file permissions are then its only
protection).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASSPHRASE_ENV = "WORKBENCH_SIGNING_PASSPHRASE"
KEY_FILE = "packet-signing-key.pem"
CERT_FILE = "packet-signing-cert.pem"
UNPROTECTED_WARNING = (
    "WARNING: the packet signing key is stored WITHOUT a passphrase (only file "
    f"permissions protect it); set ${PASSPHRASE_ENV} to protect it")


@dataclass
class OrgKey:
    key_path: Path
    cert_path: Path
    created: bool = False
    warnings: list[str] = field(default_factory=list)

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


def _passphrase() -> bytes | None:
    p = os.environ.get(PASSPHRASE_ENV)
    return p.encode("utf-8") if p else None


def ensure_key(directory: str | os.PathLike[str], organisation: str) -> OrgKey:
    """The organisation key in `directory`, made now if there is none.

    Side effects: may create the key (0600) and certificate files. Threading:
    two processes creating at once could race; the key is written with
    O_EXCL so the loser fails instead of overwriting the winner's key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    d = Path(directory)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    k = OrgKey(d / KEY_FILE, d / CERT_FILE)
    pw = _passphrase()
    if not k.key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        enc = (serialization.BestAvailableEncryption(pw) if pw
               else serialization.NoEncryption())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                enc)
        fd = os.open(k.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
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
        k.created = True
    elif not k.cert_path.exists():
        from workbench.errors import WorkbenchError

        raise WorkbenchError(
            f"{k.cert_path}: the organisation certificate is missing beside its key "
            f"{k.key_path}; restore it from a backup (auditors compare its fingerprint), "
            f"or move the key away to make a new key and certificate")
    else:
        # Tighten permissions someone loosened (a copy, a backup restore).
        if os.name == "posix" and (k.key_path.stat().st_mode & 0o077):
            os.chmod(k.key_path, 0o600)
    if b"ENCRYPTED" not in k.key_path.read_bytes()[:64]:
        k.warnings.append(UNPROTECTED_WARNING)
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
                                       key_passphrase=_passphrase())
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
