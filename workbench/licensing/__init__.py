"""The licence ledger (:mod:`.ledger`): drawdowns of licence lines by
shipment lines, append-only reversals, balances, the §750.11 shipping
tolerance by the ECCN's unit, expiry and warnings.

Pure Python, no Qt. Above rules (a line's ECCN comes from the accepted
classification) and records; clearance, packets and the CLI use it.
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
