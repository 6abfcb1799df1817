"""Checking a received packet: ``workbench packet verify FILE``.

PDF: the signature (intact, cryptographically valid, covering the whole
file, by which certificate), then the attached manifest against the attached
section data and evidence files and against the hash printed in the document
metadata. XLSX: see :func:`.xlsx.verify_xlsx`. Every check says what it found;
``ok`` is False when anything was altered. Read-only; any thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.packets.model import manifest_sha256, sha256_json


@dataclass
class Report:
    file: str
    kind: str
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "ok": self.ok,
                "problems": self.problems, "facts": self.facts}


MAX_PACKET_BYTES = 500_000_000


def verify_file(path: str | os.PathLike[str], *,
                trusted_cert: bytes | None = None) -> Report:
    """Verify a packet PDF or workbook. `trusted_cert` (PEM): the
    organisation certificate the signer must match (else the signature's own
    certificate is reported by fingerprint for the auditor to compare)."""
    p = Path(path)
    if not p.is_file():
        raise WorkbenchError(f"{p}: " + ("no such file" if not p.exists() else
                                         "not a regular file (a device or a pipe?)"))
    if p.stat().st_size > MAX_PACKET_BYTES:
        raise WorkbenchError(f"{p}: {p.stat().st_size / 1e6:,.0f} MB is too large for a "
                             f"packet (limit {MAX_PACKET_BYTES / 1e6:,.0f} MB)")
    if p.suffix.lower() == ".xlsx":
        from workbench.packets.xlsx import verify_xlsx

        r = Report(str(p), "xlsx")
        r.problems = verify_xlsx(p)
        if r.ok:
            r.facts.append("workbook matches its .sha256 file, its manifest and every "
                           "section hash")
        return r
    return verify_pdf(p, trusted_cert=trusted_cert)


def _embedded_files(reader: Any) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except (KeyError, TypeError):
        return out
    for i in range(0, len(names), 2):
        spec = names[i + 1].get_object()
        try:
            out[str(names[i])] = spec["/EF"]["/F"].get_object().data
        except Exception as exc:  # a damaged stream is a finding, not a crash
            out[str(names[i])] = b""
            out[f"!{names[i]}"] = str(exc).encode()
    return out


def verify_pdf(path: str | os.PathLike[str], *, trusted_cert: bytes | None = None) -> Report:
    """See module doc. Read-only."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    p = Path(path)
    r = Report(str(p), "pdf")
    data = p.read_bytes()
    try:
        reader = PdfFileReader(__import__("io").BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:
        r.problems.append(f"the file cannot be read as a PDF (damaged or altered): {exc}")
        return r
    if not sigs:
        r.problems.append("the PDF carries no signature: it is not a signed packet, or the "
                          "signature was removed")
    for sig in sigs:
        try:
            signer = sig.signer_cert
            fp = hashlib.sha256(signer.dump()).hexdigest()
            subject = signer.subject.human_friendly
            roots = [signer]
            if trusted_cert is not None:
                from asn1crypto import pem, x509 as ax509

                der = pem.unarmor(trusted_cert)[2] if pem.detect(trusted_cert) else trusted_cert
                roots = [ax509.Certificate.load(der)]
            # pyhanko logs a traceback when a later revision makes a change it
            # calls suspicious; the report below says so in one line instead.
            log = logging.getLogger("pyhanko")
            level, log.level = log.level, logging.CRITICAL
            try:
                st = validate_pdf_signature(sig, ValidationContext(trust_roots=roots))
            finally:
                log.setLevel(level)
        except Exception as exc:
            r.problems.append(f"signature {sig.field_name}: cannot be checked: {exc}")
            continue
        r.facts.append(f"signed by {subject}, certificate SHA-256 fingerprint {fp}"
                       + (f", at {st.signer_reported_dt.isoformat()}"
                          if getattr(st, "signer_reported_dt", None) else ""))
        if not st.intact:
            ranges = list(sig.sig_object.get("/ByteRange", []))
            r.problems.append(
                f"signature {sig.field_name}: the signed bytes (ByteRange {ranges}) no longer "
                f"match the signed digest: the file was altered after signing")
        elif not st.valid:
            r.problems.append(f"signature {sig.field_name}: the signature value is invalid "
                              f"(the signature itself was altered)")
        cov = getattr(st.coverage, "name", str(st.coverage))
        if cov != "ENTIRE_FILE":
            r.problems.append(f"signature {sig.field_name}: covers {cov}, not the whole file: "
                              f"content was added after signing")
        if trusted_cert is not None and not st.trusted:
            r.problems.append(f"signature {sig.field_name}: signed by a certificate other "
                              f"than the organisation certificate given")
        if st.intact and st.valid and cov == "ENTIRE_FILE":
            r.facts.append("signature intact and valid, covering the entire file")

    broken = any("altered after signing" in p or "invalid" in p for p in r.problems)
    files = _embedded_files(reader)
    if "manifest.json" not in files:
        r.problems.append("manifest.json is not attached")
        return r
    for name in ("manifest.json", "packet.json"):
        if f"!{name}" in files:
            r.problems.append(f"the attached {name} is damaged and cannot be read: "
                              f"{files[f'!{name}'].decode(errors='replace')}")
            return r
    try:
        manifest = json.loads(files["manifest.json"])
        body = json.loads(files.get("packet.json") or b"{}")
    except ValueError as exc:
        r.problems.append(f"attached manifest.json or packet.json is not valid JSON: {exc}")
        return r
    n_sig_problems = len(r.problems)
    mh = manifest_sha256(manifest)
    try:
        kw = str(reader.trailer_view["/Info"].get_object().get("/Keywords", ""))
    except Exception:  # no document info: nothing to compare with
        kw = ""
    m = re.search(r"manifest-sha256=([0-9a-f]{64})", kw)
    if m and m.group(1) != mh:
        r.problems.append(f"manifest.json hashes to {mh}, but the document states manifest "
                          f"SHA-256 {m.group(1)}: the manifest was replaced")
    got = {s.get("id"): s for s in body.get("sections", [])}
    for sec in manifest.get("sections", []):
        s = got.get(sec["id"])
        if s is None:
            r.problems.append(f"section {sec['id']}: missing from packet.json")
        elif sha256_json(s) != sec["sha256"]:
            r.problems.append(f"section {sec['id']} ({sec.get('title')}): its data no longer "
                              f"matches the manifest hash")
    for e in manifest.get("evidence", []):
        name = f"evidence-{e['id']}-{e['name']}"
        blob = files.get(name)
        if blob is None:
            r.problems.append(f"evidence {e['id']} ({e['name']}) is not attached")
        elif hashlib.sha256(blob).hexdigest() != e["sha256"]:
            r.problems.append(f"evidence {e['id']} ({e['name']}): the attached file's SHA-256 "
                              f"is not the recorded {e['sha256']}")
    if broken and len(r.problems) == n_sig_problems:
        r.problems.append("the attached manifest, section data and evidence files still match "
                          "each other, so the change is in the rendered document itself (page "
                          "content, fonts or file structure), not in the recorded data")
    if r.ok:
        r.facts.append(f"manifest {mh} matches all {len(manifest.get('sections', []))} "
                       f"sections and {len(manifest.get('evidence', []))} evidence files")
    return r
