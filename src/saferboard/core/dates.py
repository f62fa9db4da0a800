"""Days, months and the clock, as every layer uses them: the one parser of a day in a data
file (ISO or DD/MM/YYYY), month arithmetic by index, and the current time in UTC (stored
timestamps are naive UTC, whole seconds, wherever they are written)."""

from __future__ import annotations

from datetime import UTC, date, datetime

DATE_FORMS = "YYYY-MM-DD or DD/MM/YYYY"


def parse_day(value: str) -> date:
    """ISO YYYY-MM-DD (a time after it is ignored) or DD/MM/YYYY, without strptime's cost
    (ingest parses millions); ValueError otherwise."""
    v = value.strip()
    if len(v) >= 10 and v[4] == "-" and v[7] == "-" and (len(v) == 10 or v[10] in " T"):
        return date(int(v[:4]), int(v[5:7]), int(v[8:10]))
    parts = v.split(" ", 1)[0].split("/")
    if len(parts) == 3 and len(parts[2]) == 4:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    raise ValueError(value)


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
