"""Exporting a packet: build once, write the workbook and the signed PDF."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from workbench.packets.model import (
    NAME_NOT_SET,
    Packet,
    PacketError,
    build_packet,
    manifest_sha256,
)


@dataclass
class ExportResult:
    packet: Packet
    manifest_sha256: str
    pdf: Path | None = None
    xlsx: Path | None = None
    key_created: bool = False
    cert_fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)


def export_packet(wb: Any, *, pdf: str | os.PathLike[str] | None = None,
                  xlsx: str | os.PathLike[str] | None = None,
                  key_dir: str | os.PathLike[str] | None = None,
                  progress: Callable[[int, int | None], None] | None = None,
                  **scope: Any) -> ExportResult:
    """Build the packet for `scope` (see :func:`build_packet`) and write it.

    Side effects: reads the database (evidence bytes are re-checked against
    their SHA-256); writes the PDF (signed, with attachments) and/or the
    workbook with its .sha256 — all of them or, on any failure, none
    (PacketError names the place for a file-system error); on first use
    creates the organisation key next to the database (see :mod:`.signing`);
    appends one audit event recording the export (:func:`record_export`).
    `progress(step, 5)` is called before each stage (gather, lay out the PDF,
    sign, workbook, record); a callback that raises (a cancel) stops the
    export and nothing is kept.
    Threading: any thread.
    """
    from workbench.records import evidence as ev
    from workbench.packets.signing import KEY_FILE, key_dir_for

    def step(n: int) -> None:
        if progress is not None:
            progress(n, 5)

    step(0)
    packet = build_packet(wb.store, generated_by=wb.user.username, **scope)
    manifest = packet.manifest()
    res = ExportResult(packet, manifest_sha256(manifest))
    kdir = Path(key_dir or key_dir_for(wb.store.path))
    if pdf and packet.exporter == NAME_NOT_SET and not (kdir / KEY_FILE).exists():
        # the first export makes the signing certificate, which carries the
        # name for good: a placeholder there would follow every packet
        raise PacketError("set the exporter's name first (File → Settings, or `workbench "
                          "settings set exporter-name NAME`): the signing certificate made "
                          "with the first signed packet carries it")
    # Files are made in a hidden staging folder beside each destination, the
    # audit event is committed, and only then are the files moved into place:
    # a kill before the commit leaves no packet outside the trail (only a
    # hidden ".packet-partial-…" folder, swept by the next export); a kill
    # after it leaves a recorded export whose files are missing, never the
    # reverse.
    stages: dict[Path, Path] = {}

    def staged(dest: str | os.PathLike[str]) -> Path:
        d = Path(dest)
        folder = d.parent.resolve()
        if folder not in stages:
            folder.mkdir(parents=True, exist_ok=True)
            _sweep_stale_stages(folder)
            stages[folder] = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-",
                                                   dir=folder))
        return stages[folder] / d.name

    moves: list[tuple[Path, Path]] = []
    try:
        step(1)
        if pdf:
            from workbench.packets.pdf import build_pdf
            from workbench.packets.signing import (
                attach_and_sign,
                ensure_key,
                packet_attachments,
                recorded_fingerprint,
            )

            key = ensure_key(kdir, packet.exporter, secrets=wb.store.secrets,
                             expect=recorded_fingerprint(wb.store))
            res.key_created, res.cert_fingerprint = key.created, key.fingerprint()
            res.warnings += key.warnings
            blobs = {e["id"]: ev.read_evidence(wb.store, e["id"])
                     for e in packet.evidence_files}
            doc = build_pdf(packet, manifest)
            step(2)
            res.pdf = attach_and_sign(
                doc, staged(pdf), key,
                attachments=packet_attachments(packet, manifest, blobs),
                reason=f"Audit packet {packet.packet_id}, manifest SHA-256 "
                       f"{res.manifest_sha256}")
            moves.append((res.pdf, Path(pdf)))
        step(3)
        if xlsx:
            from workbench.packets.xlsx import write_xlsx

            res.xlsx = write_xlsx(packet, staged(xlsx), manifest)
            side = res.xlsx.with_name(res.xlsx.name + ".sha256")
            moves += [(res.xlsx, Path(xlsx)), (side, Path(f"{xlsx}.sha256"))]
        step(4)
        record_export(wb, res)
    except BaseException as e:
        # all or nothing: a packet missing its PDF or workbook is not sent by
        # mistake, and every packet that exists has its audit event
        for folder in stages.values():
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, OSError):
            where = e.filename or pdf or xlsx
            raise PacketError(f"cannot write the packet to {where}: "
                              f"{e.strerror or e}; nothing was kept") from e
        raise
    try:
        for src, dest in moves:
            os.replace(src, dest)
    except OSError as e:
        raise PacketError(f"the export is recorded, but its files could not be moved into "
                          f"place ({e.strerror or e}); they are in "
                          f"{', '.join(map(str, stages.values()))}") from e
    for folder in stages.values():
        shutil.rmtree(folder, ignore_errors=True)
    res.pdf = Path(pdf) if pdf else None
    res.xlsx = Path(xlsx) if xlsx else None
    return res


STAGE_PREFIX = ".packet-partial-"


def _sweep_stale_stages(folder: Path) -> None:
    """Remove staging folders of exports killed mid-way (their process is
    gone); a live export's folder is left alone."""
    for d in folder.glob(f"{STAGE_PREFIX}*"):
        pid = d.name[len(STAGE_PREFIX):].split("-", 1)[0]
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except (ValueError, ProcessLookupError):
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            continue  # someone else's live process


def record_export(wb: Any, res: ExportResult) -> int:
    """Append an audit event saying who exported which packet, for which
    shipments, with the manifest hash and each file's SHA-256 (§762: what left
    the building and when).

    Any role, auditors included: it changes no record, so it does not go
    through ``Workbench.writing`` (which refuses read-only roles). Side
    effects: one transaction with one audit event. Returns its sequence
    number.
    """
    from workbench.db import audit
    from workbench.packets.xlsx import file_sha256

    p = res.packet
    files = {kind: {"file": path.name, "sha256": file_sha256(path)}
             for kind, path in (("pdf", res.pdf), ("xlsx", res.xlsx)) if path}
    after = {"packet_id": p.packet_id, "scope": p.scope, "manifest_sha256": res.manifest_sha256,
             "audit_chain_head": p.chain_head, "files": files,
             "certificate_sha256": res.cert_fingerprint or None,
             "key_created": bool(res.key_created)}
    with wb.store.transaction():
        return audit.append(wb.store, user=wb.user.username, entity="packet",
                            entity_id=p.packet_id, action="export", before=None, after=after)
