"""Financial years and their quarters as board papers use them.

A financial year is written one way in everything saferboard writes, as the seeds write it:
"2016/17" (April 2016 to March 2017); "2016-17", "2016/2017" and "2016-2017" are accepted on
input (`fy_start`). A quarter is "2016-Q4": quarter 4 of 2016/17 (January-March 2017).
Q1 = April-June, Q2 = July-September, Q3 = October-December, Q4 = January-March of the next
calendar year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from saferboard.core.errors import InputError

_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.IGNORECASE | re.ASCII)
_FY_QUARTER = re.compile(r"(\d{4}\s*[/-]\s*(?:\d{2}|\d{4}))\s*Q([1-4])",
                         re.IGNORECASE | re.ASCII)
_FY = re.compile(r"(\d{4})\s*[-/]\s*(\d{2}|\d{4})", re.ASCII)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int  # first calendar year of the financial year (2016 for 2016/17)
    q: int  # 1-4

    def __str__(self) -> str:
        return f"{self.year}-Q{self.q}"

    @property
    def financial_year(self) -> str:
        return year_label(self.year)

    @property
    def start(self) -> date:
        month = 4 + 3 * (self.q - 1)
        return date(self.year + (month > 12), (month - 1) % 12 + 1, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + (self.q == 4), self.q % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.q == 1), (self.q - 2) % 4 + 1)


def parse_quarter(text: str) -> Quarter:
    """'2016-Q4' (or '2016/17 Q4'); raises ValueError saying what is expected."""
    value = text.strip()
    m = _QUARTER.fullmatch(value)
    if m:
        return Quarter(int(m[1]), int(m[2]))
    m = _FY_QUARTER.fullmatch(value)
    if m:
        try:
            return Quarter(fy_start(m[1]), int(m[2]))
        except ValueError:
            pass
    raise ValueError(f"expected a financial-year quarter like 2016-Q4 (= 2016/17 Q4, Jan-Mar "
                     f"2017), got {text!r}")


def quarter_of(day: date) -> Quarter:
    """The financial-year quarter a date falls in."""
    fy = day.year if day.month >= 4 else day.year - 1
    return Quarter(fy, (day.month - 4) % 12 // 3 + 1)


def year_label(start_year: int) -> str:
    """The one spelling of a financial year in what saferboard writes: 2016 -> '2016/17'."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def fy_start(text: str) -> int:
    """The first calendar year of a financial year written '2016/17', '2016-17', '2016/2017'
    or '2016-2017'; ValueError saying what is expected otherwise."""
    m = _FY.fullmatch(str(text).strip())
    if not m:
        raise ValueError(f"expected a financial year like 2016/17, got {text!r}")
    start, end = int(m[1]), int(m[2])
    if end != (start + 1 if len(m[2]) == 4 else (start + 1) % 100):
        raise ValueError(f"{text!r} is not a financial year: the second year must follow the "
                         f"first, as in {year_label(start)}")
    return start


def financial_year(text: str, *, param: str = "price_year") -> str:
    """A financial year given as the parameter `param`, in the one spelling: '2015-16',
    '2015-2016' or '2015/2016' -> '2015/16'."""
    try:
        return year_label(fy_start(text))
    except ValueError as e:
        raise InputError(str(e), param=param) from None
