"""Financial-year quarters as board papers use them: "2016-Q4" is quarter 4 of 2016/17
(January-March 2017). Q1 = April-June, Q2 = July-September, Q3 = October-December,
Q4 = January-March of the next calendar year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from saferboard.core.errors import InputError

_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.IGNORECASE)
_FY_QUARTER = re.compile(r"(\d{4})\s*[/-]\s*(\d{2})\s*Q([1-4])", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int  # first calendar year of the financial year (2016 for 2016/17)
    q: int  # 1-4

    def __str__(self) -> str:
        return f"{self.year}-Q{self.q}"

    @property
    def financial_year(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d}"

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
    if m and (int(m[1]) + 1) % 100 == int(m[2]):
        return Quarter(int(m[1]), int(m[3]))
    raise ValueError(f"expected a financial-year quarter like 2016-Q4 (= 2016/17 Q4, Jan-Mar "
                     f"2017), got {text!r}")


def quarter_of(day: date) -> Quarter:
    """The financial-year quarter a date falls in."""
    fy = day.year if day.month >= 4 else day.year - 1
    return Quarter(fy, (day.month - 4) % 12 // 3 + 1)


def year_label(start_year: int) -> str:
    """The one spelling of a financial year in what saferboard writes: 2016 -> '2016/17'."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def financial_year(text: str) -> str:
    """'2015/16', '2015-16', '2015-2016' or '2015/2016' -> '2015/16'."""
    m = re.fullmatch(r"\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*", str(text))
    if not m:
        raise InputError(f"expected a financial year YYYY/YY, got {text!r}",
                         param="price_year")
    start, end = int(m[1]), int(m[2][-2:])
    if (start + 1) % 100 != end:
        raise InputError(f"{text!r} is not a financial year (the second year must follow the "
                         "first)", param="price_year")
    return year_label(start)
