"""Days, months and the clock, as every layer uses them: the one parser of a day (ISO or
DD/MM/YYYY, in a data file or an option) and of a month (YYYY-MM), month arithmetic by
index, and the current time in UTC (stored timestamps are naive UTC, whole seconds,
wherever they are written)."""

from __future__ import annotations

from datetime import UTC, date, datetime

DATE_FORMS = "YYYY-MM-DD or DD/MM/YYYY"
YEARS = (1900, 2100)  # a date in a data file outside these years is a typing slip


def parse_day(value: str) -> date:
    """ISO YYYY-MM-DD (a time after it is ignored) or DD/MM/YYYY (D/M/YYYY too), without
    strptime's cost (ingest parses millions); ValueError otherwise."""
    v = value.strip()
    if len(v) >= 10 and v[4] == "-" and v[7] == "-" and (len(v) == 10 or v[10] in " T"):
        parts = [v[:4], v[5:7], v[8:10]]
    else:
        day_month_year = v.split(" ", 1)[0].split("/")
        if len(day_month_year) != 3 or len(day_month_year[2]) != 4 \
                or not 1 <= len(day_month_year[0]) <= 2 or not 1 <= len(day_month_year[1]) <= 2:
            raise ValueError(value)
        parts = day_month_year[::-1]
    # int() would also take '+1', ' 1' and '1_0'
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(value)
    return date(int(parts[0]), int(parts[1]), int(parts[2]))


def parse_month(value: str) -> date:
    """'YYYY-MM' (ASCII digits, month 01-12) -> the first day of that month; ValueError
    otherwise."""
    v = value.strip()
    if len(v) == 7 and v[4] == "-" and v.isascii() and (v[:4] + v[5:]).isdigit() \
            and 1 <= int(v[5:]) <= 12:
        return date(int(v[:4]), int(v[5:]), 1)
    raise ValueError(value)


def data_day(value: object) -> date:
    """A day in a data file: a date from a workbook, or text as `parse_day` reads it, in
    YEARS. The ValueError says what is expected and never quotes the value (a cell may be a
    date of birth)."""
    if isinstance(value, datetime):
        d = value.date()
    elif isinstance(value, date):
        d = value
    else:
        try:
            d = parse_day(str(value))
        except ValueError:
            raise ValueError(f"not a date ({DATE_FORMS})") from None
    if not YEARS[0] <= d.year <= YEARS[1]:
        raise ValueError(f"the year is outside {YEARS[0]}-{YEARS[1]}")
    return d


def month_index(month: date) -> int:
    """Months since year 0: consecutive months have consecutive indices."""
    return month.year * 12 + month.month - 1


def from_index(index: int) -> date:
    """The first day of the month with this `month_index`."""
    return date(index // 12, index % 12 + 1, 1)


def utc_now(*, seconds: bool = True) -> datetime:
    """Now in UTC, naive (DuckDB TIMESTAMP columns hold no zone), to the second unless
    `seconds` is False (import batches keep microseconds: two in one second stay ordered)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=0) if seconds else now
