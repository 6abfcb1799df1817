"""Parsing and checking the typed values master data is made of.

Each ``parse_*`` takes what a person typed or a spreadsheet held and returns
the stored form, or raises ``ValueError`` with a message an officer can act
on; :class:`Checker` collects those per field so a form can show them all at
once. Countries are ISO 3166 alpha-2 (pycountry), currencies ISO 4217, dates
ISO, money integer minor units.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

import pycountry

from workbench.errors import FieldError, ValidationError

# Names officers write that pycountry's lookup does not know.
_COUNTRY_ALIASES = {
    "MACAU": "MO", "MACAU SAR": "MO", "MACAO SAR": "MO", "HONG KONG SAR": "HK",
    "HONGKONG": "HK", "UAE": "AE", "U.A.E.": "AE", "USA": "US", "U.S.": "US",
    "U.S.A.": "US", "UNITED STATES OF AMERICA": "US", "UK": "GB",
    "GREAT BRITAIN": "GB", "TAIWAN": "TW", "SOUTH KOREA": "KR", "KOREA": "KR",
    "NORTH KOREA": "KP", "RUSSIA": "RU", "IRAN": "IR", "VIETNAM": "VN",
    "PRC": "CN", "P.R. CHINA": "CN", "MAINLAND CHINA": "CN", "中国": "CN",
    "中國": "CN", "香港": "HK", "澳门": "MO", "澳門": "MO",
}
# ISO 4217 minor units that are not 2 (pycountry does not carry them).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0,
                "PYG": 0, "XAF": 0, "XOF": 0, "BHD": 3, "KWD": 3, "OMR": 3,
                "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_country(value: Any) -> str:
    """ISO alpha-2 from a code (CN, CHN) or a name (China, Macau, UAE)."""
    text = str(value).strip()
    if not text:
        raise ValueError("a country is required")
    up = text.upper()
    if up in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[up]
    if len(up) == 2 and up.isalpha():
        c = pycountry.countries.get(alpha_2=up)
        if c is None and up != "XK":  # Kosovo has a user-assigned code in use
            raise ValueError(f"{text!r} is not an ISO 3166 country code")
        return up
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        raise ValueError(f"{text!r} is not a country name or code we recognise; use the "
                         f"two-letter ISO code (e.g. CN, HK, MO, SG)") from None


def parse_destination(value: Any) -> str:
    """A country (as :func:`parse_country`) or an ISO 3166-2 region of one
    (UA-43 for Crimea), for destinations where the region decides (15 CFR
    746.6)."""
    text = str(value or "").strip()
    up = text.upper()
    if len(up) > 3 and up[2] == "-" and up[:2].isalpha():
        if pycountry.subdivisions.get(code=up) is None:
            raise ValueError(f"{text!r} is not an ISO 3166-2 region code (e.g. UA-43 for Crimea)")
        return up
    return parse_country(value)


def country_name(code: str | None) -> str:
    if not code:
        return ""
    if "-" in code:
        sub = pycountry.subdivisions.get(code=code.upper())
        if sub is not None:
            return f"{country_name(code[:2])}: {sub.name}"
    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or (c.name if c else code)


def parse_currency(value: Any) -> str:
    text = str(value or "").strip().upper()
    if not text:
        raise ValueError("a currency is required (ISO 4217, e.g. USD)")
    if pycountry.currencies.get(alpha_3=text) is None:
        raise ValueError(f"{text!r} is not an ISO 4217 currency code")
    return text


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def parse_money(value: Any, currency: str) -> int:
    """Major units (``"1,234.50"``, 1234.5, Decimal) → integer minor units.

    Refuses more decimals than the currency has rather than rounding money.
    """
    if isinstance(value, bool):
        raise ValueError("an amount is required")
    if isinstance(value, (int, Decimal)):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    else:
        text = str(value or "").strip().replace(",", "").replace(" ", "")
        if not text:
            raise ValueError("an amount is required")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
    if not d.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    if d < 0:
        raise ValueError("an amount cannot be negative")
    scaled = d * (10 ** minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {currency} has more decimals than "
                         f"{currency} allows")
    if scaled > 10**15:
        raise ValueError(f"{value} is implausibly large")
    return int(scaled)


def format_money(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    e = minor_units(currency)
    return f"{Decimal(minor) / (10 ** e):,.{e}f}"


def money_to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor) / (10 ** minor_units(currency))


def parse_date(value: Any) -> str:
    """ISO date string from a date, a datetime or ``YYYY-MM-DD`` text."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    if not text:
        raise ValueError("a date is required (YYYY-MM-DD)")
    try:
        return _dt.date.fromisoformat(text[:10] if "T" in text else text).isoformat()
    except ValueError:
        raise ValueError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


# Far above any real quantity or amount in minor units, far below SQLite's
# 2^63 (beyond which the driver raises OverflowError instead of a message).
MAX_WHOLE = 10**15


def parse_int(value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ValueError("a whole number is required")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) \
                or not value.is_integer():
            raise ValueError(f"{value} is not a whole number")
        n = int(value) if abs(value) <= MAX_WHOLE else MAX_WHOLE + 1
    else:
        text = str(value if value is not None else "").strip().replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{value!r} is not a whole number" if len(text) <= 40
                             else "is not a whole number")
        # thousands of digits: Python's int-from-text limit would raise first
        n = int(text) if len(text.lstrip("+-")) <= 18 else MAX_WHOLE + 1
    if abs(n) > MAX_WHOLE:
        raise ValueError(f"must be at most {MAX_WHOLE:,}")
    if minimum is not None and n < minimum:
        raise ValueError(f"must be at least {minimum}")
    return n


def parse_number(value: Any, *, minimum: float | None = 0.0) -> float:
    if isinstance(value, bool):
        raise ValueError("a number is required")
    if isinstance(value, (int, float)):
        n = float(value)
    else:
        text = str(value or "").strip().replace(",", "")
        try:
            n = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if n != n or n in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a number")
    if minimum is not None and n < minimum:
        raise ValueError(f"must be at least {minimum:g}")
    return n


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "unknown", "?"):
        return None
    if text in ("1", "y", "yes", "true", "x", "ja", "是"):
        return True
    if text in ("0", "n", "no", "false", "nein", "否"):
        return False
    raise ValueError(f"{value!r}: write yes, no or leave empty")


def text(value: Any, *, max_len: int = 2000) -> str:
    """Trimmed text, with control characters (other than newline/tab) refused."""
    if value is None:
        return ""
    s = str(value).strip()
    if len(s) > max_len:
        raise ValueError(f"too long ({len(s)} characters; at most {max_len})")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in s):
        raise ValueError("contains control characters")
    return s


_SCRIPT_PREFIXES = (("CJK", "Han"), ("HIRAGANA", "Japanese"),
                    ("KATAKANA", "Japanese"), ("HANGUL", "Hangul"),
                    ("CYRILLIC", "Cyrillic"), ("ARABIC", "Arabic"),
                    ("HEBREW", "Hebrew"), ("GREEK", "Greek"), ("THAI", "Thai"),
                    ("DEVANAGARI", "Devanagari"), ("LATIN", "Latin"))


def detect_script(s: str) -> str:
    """The dominant Unicode script of a name (Han, Cyrillic, Latin …)."""
    counts: dict[str, int] = {}
    for ch in s:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        for prefix, script in _SCRIPT_PREFIXES:
            if name.startswith(prefix):
                counts[script] = counts.get(script, 0) + 1
                break
        else:
            counts["Other"] = counts.get("Other", 0) + 1
    return max(counts, key=counts.get) if counts else ""


class Checker:
    """Collects field errors while a record is normalised.

    ``c.field("x", parse_country, value)`` returns the parsed value or None
    and remembers the message; ``c.done()`` raises them all together.
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def field(self, name: str, parse: Callable[..., Any], value: Any,
              *, required: bool = False, **kw: Any) -> Any:
        if blank(value):
            if required:
                self.errors.append(FieldError(name, "required"))
            return None
        try:
            return parse(value, **kw)
        except ValueError as e:
            self.errors.append(FieldError(name, str(e)))
            return None

    def add(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message))

    def done(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
