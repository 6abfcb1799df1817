"""Checklist words the checklist screens share: states, targets, sizes.
"""

from __future__ import annotations

from typing import Any

from workbench.checklists import runs as cs

from ui.kit.views import format_timestamp


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:,.1f} KB"
    return f"{size / 1048576:,.1f} MB"


def state_label(state: str) -> str:
    return cs.STATUS_LABELS.get(state, state)


def target_text(r: dict[str, Any]) -> str:
    kind = "Party" if r.get("party_id") is not None else "Shipment"
    return f"{kind}: {r.get('target') or ''}"


def started_text(r: dict[str, Any]) -> str:
    return f"{r['started_by']}, {format_timestamp(r['started_at'])}"
