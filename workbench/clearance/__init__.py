"""Clearance: the gate a shipment passes before it ships.

- :mod:`.status` — the status machine (the only way a status moves), the
  conditions for "cleared" and four-eyes overrides;
- :mod:`.holds` — what a new list snapshot, rules pack, letter or party fact
  puts on hold, in the same transaction as the change;
- :mod:`.attention` — what needs attention today (the dashboard's data).

The top layer of the core: it may use checklists, packets, rules, screening,
licensing and records; none of them imports it.
"""
