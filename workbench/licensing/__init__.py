"""Licence ledger, shipment clearance and the "what needs attention" data.

- :mod:`.store` — drawdowns of licence lines by shipment lines, reversals,
  balances, the §750.11 shipping tolerance by the ECCN's unit, expiry and
  warnings (append-only tables);
- :mod:`.clearance` — the shipment status machine (the only way a status
  moves), the conditions for "cleared", holds, four-eyes overrides, and the
  hooks the screening and rules import paths call;
- :mod:`.dashboard` — :func:`attention` counts and small series;
- :mod:`.cli` — ``workbench licence …``, ``workbench shipment …``,
  ``workbench attention``.

Pure Python, no Qt. Submodules are imported on use (``from workbench.licensing
import clearance``) so that importing this package stays cheap and free of
import cycles with :mod:`workbench.records.shipments`.
"""

from __future__ import annotations

from workbench.errors import WorkbenchError


class LedgerRefused(WorkbenchError):
    """An action was refused; ``reasons`` holds every reason, in words an
    officer understands (the message joins them)."""

    def __init__(self, reasons: list[str] | str, *, prefix: str = ""):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        self.prefix = prefix
        text = "; ".join(self.reasons)
        super().__init__(f"{prefix}{text}" if prefix else text)


__all__ = ["LedgerRefused"]
