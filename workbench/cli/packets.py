"""`workbench packet …`: export a signed audit packet, verify one, export
the organisation certificate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workbench.cli.common import Ctx, party_by_ref, pass_ctx, progress_bar
from workbench.errors import WorkbenchError


def register(cli: click.Group) -> None:
    """Add the `packet` command group to the main `workbench` group."""
    @cli.group("packet")
    def packet_group() -> None:
        """Audit packets (signed PDF + Excel workbook) and checking them."""

    @packet_group.command("export")
    @click.option("--shipment", "shipments", multiple=True, metavar="REF",
                  help="Shipment reference (repeatable).")
    @click.option("--party", metavar="ID|NAME", help="Every shipment of this party.")
    @click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Ship date from.")
    @click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Ship date to.")
    @click.option("--pdf", "pdf", type=click.Path(dir_okay=False), help="Signed PDF to write.")
    @click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False),
                  help="Workbook to write (plus X.xlsx.sha256).")
    @click.option("--exporter", metavar="NAME",
                  help="Exporter name on the cover (default $WORKBENCH_EXPORTER).")
    @pass_ctx
    def export_cmd(c: Ctx, shipments: tuple[str, ...], party: str | None,
                   date_from: str | None, date_to: str | None, pdf: str | None,
                   xlsx: str | None, exporter: str | None) -> None:
        """Write the audit packet of shipments (by reference, party or ship-date
        range) as a signed PDF and/or an Excel workbook."""
        from workbench.records.values import parse_date

        from workbench.packets.export import export_packet

        if not pdf and not xlsx:
            raise WorkbenchError("say where to write the packet: --pdf FILE and/or --xlsx FILE")
        wb = c.signed_in()
        pid = None
        if party:
            pid = party_by_ref(wb.store, party)
        cb, finish = progress_bar("Writing the packet")
        try:
            res = c.unlocking(lambda: export_packet(
                wb, pdf=pdf, xlsx=xlsx, shipment_refs=shipments, party_id=pid,
                date_from=parse_date(date_from) if date_from else None,
                date_to=parse_date(date_to) if date_to else None, exporter=exporter,
                progress=cb))
        finally:
            finish()
        for w in res.warnings:
            click.echo(w, err=True)
        p = res.packet
        data = {"packet_id": p.packet_id, "shipments": p.scope["shipments"],
                "manifest_sha256": res.manifest_sha256, "audit_chain_head": p.chain_head,
                "pdf": str(res.pdf) if res.pdf else None,
                "xlsx": str(res.xlsx) if res.xlsx else None,
                "signing_key_created": res.key_created,
                "certificate_sha256": res.cert_fingerprint or None}

        def text() -> str:
            out = [f"Packet {p.packet_id}: {len(p.scope['shipments'])} shipment(s) "
                   f"({', '.join(p.scope['shipments'][:10])}"
                   f"{', …' if len(p.scope['shipments']) > 10 else ''})",
                   f"  manifest SHA-256 {res.manifest_sha256}",
                   f"  audit chain head {p.chain_head}"]
            if res.pdf:
                out.append(f"  PDF  {res.pdf} (signed; certificate SHA-256 "
                           f"{res.cert_fingerprint})")
            if res.key_created:
                out.append("  a new organisation signing key was made; give auditors its "
                           "certificate: workbench packet cert OUT.pem")
            if res.xlsx:
                out.append(f"  XLSX {res.xlsx} (+ {res.xlsx.name}.sha256)")
            return "\n".join(out)

        c.out(data, text)

    @packet_group.command("verify")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--cert", "cert", type=click.Path(exists=True, dir_okay=False),
                  help="Organisation certificate (PEM) the PDF must be signed with.")
    @pass_ctx
    def verify_cmd(c: Ctx, file: str, cert: str | None) -> None:
        """Check a packet PDF (signature, attached manifest, sections, evidence)
        or workbook (.sha256 file, manifest, every sheet); exit 1 when altered."""
        from workbench.packets.verify import verify_file

        r = verify_file(file, trusted_cert=Path(cert).read_bytes() if cert else None)

        def text() -> str:
            out = [f"{file}: {'OK' if r.ok else 'ALTERED OR INVALID'}"]
            out += [f"  ✓ {f}" for f in r.facts]
            out += [f"  ✗ {p}" for p in r.problems]
            return "\n".join(out)

        c.out(r.as_dict(), text)
        if not r.ok:
            sys.exit(1)

    @packet_group.command("cert")
    @click.argument("out", type=click.Path(dir_okay=False))
    @pass_ctx
    def cert_cmd(c: Ctx, out: str) -> None:
        """Write the organisation's packet-signing certificate (PEM) for
        auditors; makes the key first if there is none."""
        from workbench.packets.anchors import database_key

        wb = c.workbench()
        key = c.unlocking(lambda: database_key(wb.store))
        for w in key.warnings:
            click.echo(w, err=True)
        Path(out).write_bytes(key.cert_pem())
        c.out({"cert": out, "sha256": key.fingerprint(), "created": key.created},
              f"{out}: organisation certificate, SHA-256 fingerprint {key.fingerprint()}")
