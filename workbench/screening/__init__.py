"""Restricted-party screening engine: list parsing, name normalisation, matching.

Pure Python, no Qt and no database: the store imports these functions and
persists what they return. Everything here is safe to call from any thread as
long as each call owns its arguments (no module-level mutable state).
"""

from workbench.screening.lists import (
    Address,
    Cancelled,
    ListEntry,
    ListFileError,
    ParsedList,
    parse_file,
)
from workbench.screening.matcher import DEFAULT_THRESHOLD, Hit, MatchIndex, TokenMatch

__all__ = [
    "Address",
    "Cancelled",
    "DEFAULT_THRESHOLD",
    "Hit",
    "ListEntry",
    "ListFileError",
    "MatchIndex",
    "ParsedList",
    "TokenMatch",
    "parse_file",
]
