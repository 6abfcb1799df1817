"""Audit packets: one shipment (or party, or period) as a signed PDF and an
Excel workbook with the same content and a manifest of content hashes.

Pure core (no Qt): :mod:`.model` gathers the sections, :mod:`.xlsx` and
:mod:`.pdf` write them, :mod:`.signing` holds the organisation key and signs,
:mod:`.verify` checks a received packet.
"""

from workbench.packets.model import LEDGER_STUB, Packet, PacketError, Section, build_packet  # noqa: F401
from workbench.packets.export import ExportResult, export_packet  # noqa: F401,E402
from workbench.packets.verify import Report, verify_file  # noqa: F401,E402
