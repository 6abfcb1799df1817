"""Restricted-party screening: list parsing, name normalisation and matching
(:mod:`.lists`, :mod:`.normalize`, :mod:`.matcher`: pure, no database), and
what is stored of them: snapshots, results and decisions, fronts, batch
files, what an import changed (:mod:`.snapshots`, :mod:`.results`,
:mod:`.fronts`, :mod:`.batch`, :mod:`.changes`).

Pure Python, no Qt. The pure modules are safe from any thread as long as
each call owns its arguments; the stored ones follow the store's rules.
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
