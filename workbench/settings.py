"""Named organisation settings kept in the store (the exporter's name on
audit packets). Each change is one transaction with an audit event, so an
auditor can see who renamed the exporter and when.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from workbench.app import Workbench
from workbench.errors import FieldError, ValidationError
from workbench.db.store import Store

EXPORTER_NAME = "exporter_name"
# Zero-width (non-)joiners shape real Persian and Indic names; every other
# format character (bidi overrides, invisible separators) is refused, since
# it can make a name on a packet read differently from what is stored.
JOINERS = frozenset("\u200c\u200d")
# A folder away from the database (another disk, a synced folder) where the
# app writes a signed audit anchor every day (workbench.packets.anchors).
ANCHOR_FOLDER = "anchor_folder"
# setting -> (label, longest accepted value)
SETTINGS: dict[str, tuple[str, int]] = {EXPORTER_NAME: ("Exporter name", 200),
                                        ANCHOR_FOLDER: ("Audit anchor folder", 1000)}
# settings that hold a path: spaces are kept as typed
_PATHS = frozenset({ANCHOR_FOLDER})


def get(store: Store, key: str) -> str:
    """The stored value of `key`, or "" when not set. Read-only."""
    if key not in SETTINGS:
        raise KeyError(key)
    row = store.one("select value from meta where key = ?", (key,))
    return str(row[0]) if row else ""


def all_settings(store: Store) -> dict[str, dict[str, Any]]:
    """Every known setting with its label and value. Read-only."""
    return {k: {"label": lab, "value": get(store, k)} for k, (lab, _n) in SETTINGS.items()}


def set_value(wb: Workbench, key: str, value: str) -> str:
    """Store `value` for `key` (trimmed; control characters refused).

    Side effects: one transaction updating ``meta`` with its audit event
    (before and after). Raises ValidationError naming the setting for an
    empty, too long or control-character value. Returns the stored value.
    """
    if key not in SETTINGS:
        raise ValidationError(FieldError(key, f"there is no setting called {key!r} (known: "
                                              f"{', '.join(SETTINGS)})"))
    label, longest = SETTINGS[key]
    value = (value or "").strip() if key in _PATHS else " ".join((value or "").split())
    if not value:
        raise ValidationError(FieldError(key, f"{label} cannot be empty"))
    if len(value) > longest:
        raise ValidationError(FieldError(key, f"{label} is {len(value)} characters long; at "
                                              f"most {longest} are accepted"))
    if any(unicodedata.category(ch) == "Cc" or
           (unicodedata.category(ch) == "Cf" and ch not in JOINERS) for ch in value):
        raise ValidationError(FieldError(key, f"{label} contains a control character"))
    if key == ANCHOR_FOLDER:
        import os

        folder = os.path.expanduser(value)
        if not os.path.isabs(folder) or not os.path.isdir(folder):
            raise ValidationError(FieldError(key, f"{label}: {value} is not an existing "
                                                  f"folder (give its full path)"))
        if not os.access(folder, os.W_OK):
            raise ValidationError(FieldError(key, f"{label}: {value} cannot be written to"))
    with wb.writing() as w:
        before = get(wb.store, key)
        if before == value:
            return value
        w.conn.execute("insert into meta (key, value) values (?, ?) on conflict(key)"
                       " do update set value = excluded.value", (key, value))
        w.audit("setting", key, "update", {"value": before or None}, {"value": value})
    return value
