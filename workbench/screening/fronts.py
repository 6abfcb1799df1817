"""Fronts for listed companies: shared contact details and listed owners.

A party whose name matches nothing can still be a listed company's front:
it shares an address, a phone number, a website or e-mail domain, or a
registration number with a list entry; or it is owned 50% or more — directly
or through a chain, adding up what several listed owners hold — by parties
that are themselves listed (the Entity List "Affiliates" and OFAC 50% rules
work on aggregated ownership). Each flag says what was shared, with which
entry, or shows the ownership chain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.records import parties as _parties
from workbench.db.store import Store

from workbench.screening.contacts import digits, domain, norm_addr, regno
from workbench.screening.matcher import MatchIndex
from workbench.screening.snapshots import IndexCache

#: Aggregated ownership from which a party counts as owned by listed parties.
OWNERSHIP_THRESHOLD = 50.0


@dataclass
class FrontFlag:
    kind: str  # address | phone | website | email_domain | registration | ownership
    detail: str
    entry_id: str | None = None
    list_name: str | None = None
    chain: list[dict[str, Any]] = field(default_factory=list)
    percent: float | None = None
    #: each ownership path separately (``chain`` is all of them flattened)
    chains: list[list[dict[str, Any]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def listed_party_ids(store: Store) -> set[int]:
    """Parties whose latest screening has a hit that is confirmed or still
    undecided (a cautious reading: an open hit may be the listed company)."""
    rows = store.all("""
        select distinct h.party_id from screening_hit h
        where h.party_id is not null
          and h.run_id = (select max(run_id) from screening_party_run r where r.party_id = h.party_id)
          and h.status in ('open', 'escalated', 'confirmed')""")
    return {r[0] for r in rows}


def owned_by_listed(store: Store, party_id: int, listed: set[int]) -> tuple[float, list[list[dict[str, Any]]]]:
    """Aggregated share of `party_id` held by listed parties, and the chains.

    Indirect shares multiply along a chain (60% of 60% = 36%); shares reached
    through different chains add up. A chain stops at the first listed owner.
    """
    total = 0.0
    chains: list[list[dict[str, Any]]] = []
    for path in _parties.ownership_chains(store, party_id):
        owner, _ = path[-1]
        if owner not in listed or any(o in listed for o, _ in path[:-1]):
            continue
        share = 100.0
        for _, pct in path:
            share *= pct / 100.0
        total += share
        chains.append([{"party_id": o, "percent": p,
                        "name": store.scalar("select legal_name from party where id = ?", (o,))}
                       for o, p in path])
    return total, chains


def front_flags(store: Store, party_id: int, *, index: MatchIndex | None = None,
                listed: set[int] | None = None) -> list[FrontFlag]:
    """Every reason to suspect `party_id` fronts for a listed company. Read-only."""
    if index is None:
        index, _ = IndexCache.get(store)
    lk = index.contacts()
    rec = _parties.get_party(store, party_id)
    flags: list[FrontFlag] = []

    def add(kind: str, idxs: list[int], what: str) -> None:
        for i in idxs[:5]:
            e = index.entries[i]
            flags.append(FrontFlag(kind, f"{what} is also on the list entry {e.name} "
                                         f"({e.list_code})", e.entry_id, e.name))

    for a in rec["addresses"]:
        street = norm_addr(a["street"], "").split()
        if len(street) < 2 or len("".join(street)) < 8:
            continue  # a city or a one-word street says nothing
        toks = [*street, *norm_addr("", a["city"]).split()]
        found = frozenset.intersection(*(lk.address_tokens.get(t, frozenset()) for t in toks))
        if found:
            add("address", sorted(found), f"address '{a['street']}, {a['city']}'")
    if rec["phone"] and len(digits(rec["phone"])) >= 7:
        add("phone", lk.phone.get(digits(rec["phone"])[-9:], []), f"phone {rec['phone']}")
    for d in {domain(rec["website"]), domain(rec["email_domain"])} - {""}:
        add("website", lk.domain.get(d, []), f"domain {d}")
    for r in rec["registrations"]:
        add("registration", lk.regno.get(regno(r["value"]), []), f"registration {r['value']}")
    if listed is None:
        listed = listed_party_ids(store)
    share, chains = owned_by_listed(store, party_id, listed - {party_id})
    if share >= OWNERSHIP_THRESHOLD:
        text = "; ".join(" ← ".join(f"{c['name']} ({c['percent']:g}%)" for c in ch)
                         for ch in chains)
        flags.append(FrontFlag("ownership",
                               f"owned {share:.1f}% by listed parties (aggregated): {text}",
                               chain=[c for ch in chains for c in ch], percent=round(share, 2),
                               chains=chains))
    return flags


def all_front_flags(store: Store) -> dict[int, list[FrontFlag]]:
    """Front flags of every party that has any (read-only)."""
    index, _ = IndexCache.get(store)
    listed = listed_party_ids(store)
    out = {}
    for (pid,) in store.all("select id from party order by id"):
        f = front_flags(store, pid, index=index, listed=listed)
        if f:
            out[pid] = f
    return out
