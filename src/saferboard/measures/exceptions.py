"""Monthly exceptions: is a month unusually high or low against its own recent history?

Method (documented in the glossary): an individuals (XmR) control chart, Wheeler's choice for
counts whose spread is not Poisson. The baseline is the 24 months before the month tested;
limits are baseline mean +/- 2.66 x average moving range (the 3-sigma equivalent). Crime
counts are over-dispersed and trend, so limits taken from the data beat Poisson's sqrt(mean).

Seasonal variant: each baseline month is first divided by its calendar month's seasonal
factor (mean of that calendar month over the baseline / baseline mean, shrunk halfway to 1
because 24 months give only two values per calendar month), and the tested month likewise, so
a November that is always high is not flagged for being November.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

BASELINE_MONTHS = 24
MIN_BASELINE = 12
XMR_FACTOR = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two

METHODS = ("xmr", "seasonal-xmr")


@dataclass(frozen=True)
class Exception_:
    month: date
    count: int
    flag: str  # 'high' | 'low' | 'normal' | 'insufficient data'
    expected: float | None  # the centre line (seasonally adjusted back to the month's scale)
    lower: float | None
    upper: float | None


def _xmr_limits(values: Sequence[float]) -> tuple[float, float, float]:
    mean = sum(values) / len(values)
    moving = [abs(b - a) for a, b in pairwise(values)]
    mr_bar = sum(moving) / len(moving) if moving else 0.0
    return mean, mean - XMR_FACTOR * mr_bar, mean + XMR_FACTOR * mr_bar


def _seasonal_factors(months: Sequence[date], values: Sequence[float]) -> dict[int, float]:
    overall = sum(values) / len(values)
    by_cal: dict[int, list[float]] = {}
    for m, v in zip(months, values, strict=True):
        by_cal.setdefault(m.month, []).append(v)
    if overall == 0:
        return {c: 1.0 for c in range(1, 13)}
    raw = {c: (sum(v) / len(v)) / overall for c, v in by_cal.items()}
    factors = {c: 0.5 * f + 0.5 for c, f in raw.items()}  # shrink halfway to 1
    return {c: factors.get(c, 1.0) or 1.0 for c in range(1, 13)}


def flag_month(
    month: date, count: int, history: Sequence[tuple[date, int]], *, method: str = "xmr"
) -> Exception_:
    """Flag `count` in `month` against `history` (the months before it, oldest first)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    baseline = list(history)[-BASELINE_MONTHS:]
    if len(baseline) < MIN_BASELINE:
        return Exception_(month, count, "insufficient data", None, None, None)
    months = [m for m, _ in baseline]
    values = [float(v) for _, v in baseline]
    factor = 1.0
    if method == "seasonal-xmr":
        factors = _seasonal_factors(months, values)
        values = [v / factors[m.month] for m, v in zip(months, values, strict=True)]
        factor = factors[month.month]
    centre, lower, upper = _xmr_limits(values)
    lower, upper = max(0.0, lower) * factor, upper * factor
    centre *= factor
    flag = "high" if count > upper else "low" if count < lower else "normal"
    return Exception_(month, count, flag, round(centre, 1), round(lower, 1), round(upper, 1))


def last_months(series: Sequence[tuple[date, int]], n: int = 3, *, method: str = "xmr"
                ) -> list[Exception_]:
    """Flags for the last `n` months of `series` (oldest first), newest first as in the seed."""
    out = []
    for i in range(len(series) - n, len(series)):
        if i < 0:
            continue
        month, count = series[i]
        out.append(flag_month(month, count, series[:i], method=method))
    return list(reversed(out))
