"""Licence drawdown check (15 CFR 750.7(f), 750.11), parameterised by the pack.

Pure arithmetic in integer minor units or whole dollars — the caller picks
the unit and uses it consistently. The licences area owns the ledger; this
only answers "may this shipment draw on this licence line?".
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any


def check_drawdown(*, licensed_qty: int, licensed_value: int, shipped_qty: int,
                   shipped_value: int, qty: int, value: int,
                   tolerance_pct: float = 10) -> dict[str, Any]:
    """Whether one more shipment fits the licence line. Pure.

    Returns {allowed, reason, remaining_qty, value_cap, value_after}. Rules:
    no shipment once the full licensed quantity has shipped; quantity is a
    hard cap; cumulative value may exceed the licensed value by at most the
    tolerance (exactly at the cap passes).
    """
    cap = Fraction(licensed_value) * (1 + Fraction(str(tolerance_pct)) / 100)
    out: dict[str, Any] = {"remaining_qty": licensed_qty - shipped_qty,
                           "value_cap": float(cap), "value_after": shipped_value + value}
    if shipped_qty >= licensed_qty:
        return {**out, "allowed": False,
                "reason": "the full licensed quantity has shipped (15 CFR 750.11(a))"}
    if shipped_qty + qty > licensed_qty:
        return {**out, "allowed": False,
                "reason": f"{shipped_qty + qty} units would exceed the licensed "
                          f"{licensed_qty} (15 CFR 750.7(f))"}
    if shipped_value + value > cap:
        return {**out, "allowed": False,
                "reason": f"cumulative value {shipped_value + value:,} would exceed the "
                          f"licensed value plus {tolerance_pct:g}% tolerance "
                          f"({float(cap):,.0f}) (15 CFR 750.11)"}
    return {**out, "allowed": True, "reason": "within quantity and value tolerance"}
