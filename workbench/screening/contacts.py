"""Contact details of list entries (addresses, phones, web and e-mail
domains, registration numbers), indexed for the fronts check.

Built once per match index from its entries (see
:meth:`workbench.screening.matcher.MatchIndex.contacts`) and saved with it
in the index file, so a fronts check does not parse every entry again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from workbench.screening.lists import ListEntry


def norm_addr(street: str, city: str) -> str:
    """Street and city as lower-case words without filler ("road", "no",
    "floor" …). Pure."""
    s = re.sub(r"[^0-9a-z]+", " ", f"{street} {city}".casefold())
    s = re.sub(r"\b(road|rd|street|st|avenue|ave|district|no|building|bldg|floor|fl|room|rm)\b",
               " ", s)
    return " ".join(s.split())


def digits(s: str) -> str:
    """Only the digits of `s`. Pure."""
    return re.sub(r"\D+", "", s or "")


def domain(s: str) -> str:
    """The host of a URL or e-mail address, without ``www.``. Pure."""
    s = (s or "").strip().casefold()
    s = re.sub(r"^[a-z]+://", "", s).split("/")[0].split("@")[-1]
    return s[4:] if s.startswith("www.") else s


def regno(value: str) -> str:
    """A registration number as capital letters and digits only. Pure."""
    return re.sub(r"[^0-9A-Z]", "", value.upper())


class ContactLookups:
    """Entry positions by address word, phone (last nine digits), domain and
    registration number. Immutable after construction; thread-safe to read."""

    def __init__(self, address_tokens: dict[str, frozenset[int]], phone: dict[str, list[int]],
                 domain: dict[str, list[int]], regno: dict[str, list[int]]):
        self.address_tokens = address_tokens
        self.phone = phone
        self.domain = domain
        self.regno = regno

    @classmethod
    def build(cls, entries: Sequence[ListEntry]) -> ContactLookups:
        """Index the contact details of `entries` (positions as in the sequence). Pure."""
        addr: dict[str, set[int]] = {}
        phone: dict[str, list[int]] = {}
        dom: dict[str, list[int]] = {}
        reg: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            for a in e.addresses:
                # list addresses split street/city/state unreliably, so they
                # are compared as bags of words
                for tok in norm_addr(f"{a.street} {a.state}", a.city).split():
                    addr.setdefault(tok, set()).add(i)
            for ident in e.ids:
                typ = str(ident.get("type", "")).casefold()
                num = str(ident.get("number", ""))
                if "website" in typ or "web site" in typ or "email" in typ or "e-mail" in typ:
                    dom.setdefault(domain(num), []).append(i)
                elif "phone" in typ or "fax" in typ:
                    if len(digits(num)) >= 7:
                        phone.setdefault(digits(num)[-9:], []).append(i)
                elif num:
                    key = regno(num)
                    if len(key) >= 6:
                        reg.setdefault(key, []).append(i)
        return cls({k: frozenset(v) for k, v in addr.items()}, phone, dom, reg)

    def to_payload(self) -> tuple[Any, ...]:
        """Plain containers for the index file (marshal-able). Pure."""
        return (self.address_tokens, self.phone, self.domain, self.regno)

    @classmethod
    def from_payload(cls, payload: tuple[Any, ...]) -> ContactLookups:
        """The inverse of :meth:`to_payload`. Pure."""
        addr, phone, dom, reg = payload
        return cls(addr, phone, dom, reg)
