"""Checks of values typed into the web (query strings and forms) that the measures would
otherwise meet unchecked: months and quarters far outside any data (year 1 or 9999 crash
date arithmetic; a quarter locked in 2040 would be a trap for the future), and numbers in
other scripts' digits (Python's float() reads Arabic-Indic "٣" as 3).

Each raises InputError (400) naming the parameter, what it got and what is allowed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from saferboard.core.dates import parse_month
from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter, parse_quarter

FIRST_YEAR = 2000  # before the earliest police.uk (2010) and MPS (2008) data any partnership holds
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def last_year(today: date | None = None) -> int:
    """The latest year a month or quarter may be in: next year (plans run ahead)."""
    return (today or datetime.now(UTC).date()).year + 1


def month(text: str, name: str = "month", today: date | None = None) -> date:
    """The first day of a YYYY-MM month between January 2000 and December of next year."""
    try:
        first = parse_month(text)
    except ValueError:
        raise InputError(f"{name} should be YYYY-MM in ASCII digits, got {text!r}",
                         param=name) from None
    if not FIRST_YEAR <= first.year <= last_year(today):
        raise InputError(f"{name} should be between {FIRST_YEAR}-01 and "
                         f"{last_year(today)}-12, got {text!r}", param=name)
    return first


def quarter(text: str, name: str = "quarter", today: date | None = None) -> Quarter:
    """A financial-year quarter ('2016-Q4') of a year from 2000 to next year."""
    if not text.isascii():
        raise InputError(f"{name} should be like 2016-Q4 in ASCII digits, got {text!r}",
                         param=name)
    try:
        q = parse_quarter(text)
    except ValueError as e:
        raise InputError(str(e), param=name) from None
    if not FIRST_YEAR <= q.year <= last_year(today):
        raise InputError(f"{name} should be between {FIRST_YEAR}-Q1 and "
                         f"{last_year(today)}-Q4, got {text!r}", param=name)
    return q


def number(text: str, name: str) -> float | None:
    """A form number: ASCII digits with an optional sign, decimals, thousands commas and
    leading £ (None when empty). No exponents, infinities or NaN."""
    value = text.strip().replace(",", "").lstrip("£")
    if not value:
        return None
    if not value.isascii() or not _NUMBER.fullmatch(value):
        raise InputError(f"{name} should be a number in ASCII digits (e.g. 1250.50), got "
                         f"{text.strip()[:40]!r}", param=name)
    return float(value)
