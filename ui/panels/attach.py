"""Attaching the record-following panels to the master-data pages.
"""

from __future__ import annotations

from typing import Any, Callable

from ui.kit.ops import Ops
from ui.panels.classification import ClassificationPanel
from ui.panels.clearance import ClearancePanel
from ui.panels.determination import DeterminationPanel
from ui.panels.party_rules import PartyTagsPanel


def attach_clearance_panel(shipments_page: Any, ops: Ops,
                           export_packet: Callable[[int, str], None] | None = None
                           ) -> ClearancePanel:
    """Add the Clearance tab to the Shipments page (a :class:`ui.pages.master.MasterPage`)."""
    panel = ClearancePanel(shipments_page.wb, ops)
    panel.export_packet = export_packet
    panel.form_dirty = lambda: shipments_page.dirty
    shipments_page.attach_panel("Clearance", panel, "clearance_panel")
    panel.saved.connect(lambda _ch: shipments_page.reload_current())
    shipments_page.form.changed.connect(panel.form_edited)
    return panel


def attach_rules_panels(items_page: Any, shipments_page: Any, ops: Ops,
                        parties_page: Any = None) -> None:
    """Add the Classification tab to the items page and the Determination tab
    to the shipments page (both are :class:`ui.pages.master.MasterPage`). The
    panels follow the record the form shows; their writes are announced
    through the page's ``saved`` signal, like a form save."""
    items_page.attach_panel("Classification", ClassificationPanel(items_page.wb, ops),
                            "classification_panel")
    det = shipments_page.attach_panel("Determination", DeterminationPanel(shipments_page.wb, ops),
                                      "determination_panel")
    shipments_page.form.changed.connect(det.form_edited)
    if parties_page is not None:
        parties_page.attach_panel("Rule facts", PartyTagsPanel(parties_page.wb, ops),
                                  "tags_panel")
