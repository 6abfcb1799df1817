"""Rules packs, item classification (TPP, performance density) and licence
determinations.

- :mod:`.pack` loads and verifies packs (hashes, JSON Schema, safe YAML);
- :mod:`.expr` is the packs' declarative condition language (no eval);
- :mod:`.classify` computes TPP/PD and proposes the ECCN paragraph;
- :mod:`.engine` decides a transaction (pure, replayable);
- :mod:`.determinations` persists packs, classifications, letters, party
  facts and determinations, builds transactions from shipments, diffs packs
  and measures their impact (the holds that follow are
  :mod:`workbench.clearance.holds`);
- :mod:`.whatif` builds a what-if transaction from typed values;
- ``workbench classify|determine|rules`` is :mod:`workbench.cli.rules`.

Pure Python, no Qt.
"""

from workbench.rules.engine import OUTCOMES, TxnError, determine
from workbench.rules.pack import Pack, PackError, builtin_pack, load_pack

__all__ = ["OUTCOMES", "Pack", "PackError", "TxnError", "builtin_pack", "determine",
           "load_pack"]
