"""Country names and codes as published in list files -> ISO 3166 alpha-2. Pure."""

from __future__ import annotations

from functools import lru_cache

import pycountry

_EXTRA = {
    "russia": "RU", "iran": "IR", "north korea": "KP", "korea, north": "KP", "south korea": "KR",
    "korea, south": "KR", "syria": "SY", "venezuela": "VE", "burma": "MM", "bolivia": "BO",
    "tanzania": "TZ", "vietnam": "VN", "laos": "LA", "moldova": "MD", "taiwan": "TW",
    "uk": "GB", "united kingdom": "GB", "usa": "US", "uae": "AE", "czech republic": "CZ",
    "turkey": "TR", "kosovo": "XK", "west bank": "PS", "gaza": "PS", "palestinian": "PS",
    "macau": "MO", "hong kong": "HK", "china": "CN",
}


@lru_cache(maxsize=4096)
def country_code(value: str) -> str:
    """ISO alpha-2 code for a code or English country name; "" if unknown."""
    v = (value or "").strip()
    if not v:
        return ""
    low = v.lower()
    if low in _EXTRA:
        return _EXTRA[low]
    if len(v) == 2 and v.isalpha():
        return v.upper()
    try:
        c = pycountry.countries.lookup(v)
        return c.alpha_2
    except LookupError:
        pass
    for k, code in _EXTRA.items():
        if low.startswith(k):
            return code
    return ""
