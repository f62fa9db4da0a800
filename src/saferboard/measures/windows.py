"""Month windows: the recent quarter and rolling 12 months ending at a reference month, and
the same windows one year earlier (the board's conventions, seed 001 glossary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from saferboard.core.dates import from_index, month_index


def shift(month: date, months: int) -> date:
    """`month` moved by a whole number of months (negative: earlier)."""
    return from_index(month_index(month) + months)


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first` to `last` inclusive."""
    return [from_index(i) for i in range(month_index(first), month_index(last) + 1)]


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    @property
    def months(self) -> list[date]:
        return months_between(self.first, self.last)

    @property
    def length(self) -> int:
        return month_index(self.last) - month_index(self.first) + 1

    def year_earlier(self) -> Window:
        return Window(shift(self.first, -12), shift(self.last, -12))

    def label(self) -> str:
        return f"{self.first:%b %Y}-{self.last:%b %Y}"


def ending(ref: date, months: int) -> Window:
    """The `months` months ending at (and including) `ref`."""
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    return Window(shift(ref, -(months - 1)), ref)


def quarter(ref: date) -> Window:
    return ending(ref, 3)


def rolling12(ref: date) -> Window:
    return ending(ref, 12)


def latest_quarter_end(last: date) -> date:
    """The end of the latest complete calendar quarter at or before `last`."""
    return shift(last, -(last.month % 3))
