"""Monthly exceptions: is a month unusually high or low against its own recent history?

Default method ("sd"): the baseline is the 24 months before the month tested; the limits are
the baseline mean +/- 3 standard deviations. Two alternatives are kept for comparison:

- "xmr": Wheeler's individuals chart, mean +/- 2.66 x the average moving range. Its limits
  assume month-to-month independence; crime series trend and are autocorrelated, so on the
  London borough data it flags 6% of months against 1.6% for "sd", with no better detection
  of real jumps at the same alarm rate.
- "seasonal-sd": each baseline month is divided by its calendar month's seasonal index
  (mean of that calendar month over the two baseline years / baseline mean, shrunk halfway to
  1 since two values per month are few), limits as for "sd" on the adjusted series, centred on
  the last 12 months' adjusted level, then scaled back by the tested month's index.

scripts/evaluate_exceptions.py measures all three on the real MPS series (docs/methods.md):
seasonal adjustment did not reduce false alarms there, so the default is "sd".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

BASELINE_MONTHS = 24
# Fewer baseline months than this (a gap in the data, incomplete months left out, the start
# of the series): no exception test ("insufficient data"); the mean and SD of under a year
# would flag ordinary seasonal months.
MIN_BASELINE = 12
WIDTH = 3.0  # standard deviations
XMR_FACTOR = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two

METHODS = ("sd", "xmr", "seasonal-sd")
DESCRIPTIONS = {
    "sd": "mean +/- 3 standard deviations of the 24 months before it",
    "xmr": "an individuals (XmR) chart of the 24 months before it: mean +/- 2.66 x the "
           "average moving range",
    "seasonal-sd": "mean +/- 3 standard deviations of the 24 months before it after "
                   "seasonal adjustment (calendar-month indices shrunk halfway to 1)",
}


@dataclass(frozen=True)
class MonthException:
    """One month's count checked against control limits from the months before it: an
    exception when `flag` is 'high' or 'low'."""

    month: date
    count: int
    flag: str  # 'high' | 'low' | 'normal' | 'insufficient data'
    expected: float | None  # centre line, on the month's own scale
    lower: float | None
    upper: float | None
    baseline_months: int = 0  # months of the 24 before it that the limits were built from


def limits(months: Sequence[date], values: Sequence[float], month: date, method: str
           ) -> tuple[float, float, float]:
    """(centre, lower, upper) for `month` from the baseline `values` (oldest first)."""
    if method == "xmr":
        centre = statistics.fmean(values)
        mr_bar = statistics.fmean(abs(b - a) for a, b in pairwise(values))
        return centre, centre - XMR_FACTOR * mr_bar, centre + XMR_FACTOR * mr_bar
    if method == "sd":
        centre = statistics.fmean(values)
        sd = statistics.stdev(values)
        return centre, centre - WIDTH * sd, centre + WIDTH * sd
    if method == "seasonal-sd":
        index = _seasonal_index(months, values)
        adjusted = [v / index[m.month] for m, v in zip(months, values, strict=True)]
        level = statistics.fmean(adjusted[-12:])
        sd = statistics.stdev(adjusted)
        f = index[month.month]
        return level * f, (level - WIDTH * sd) * f, (level + WIDTH * sd) * f
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def _seasonal_index(months: Sequence[date], values: Sequence[float]) -> dict[int, float]:
    overall = statistics.fmean(values)
    by_cal: dict[int, list[float]] = {}
    for m, v in zip(months, values, strict=True):
        by_cal.setdefault(m.month, []).append(v)
    if overall <= 0:
        return dict.fromkeys(range(1, 13), 1.0)
    return {c: 0.5 * statistics.fmean(by_cal[c]) / overall + 0.5 if c in by_cal else 1.0
            for c in range(1, 13)}


def flag_month(
    month: date, count: int, history: Sequence[tuple[date, int]], *, method: str = "sd"
) -> MonthException:
    """Flag `count` in `month` against `history` (the months before it, oldest first)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    # The 24 calendar months before `month`: after a gap in the data, older months must not
    # stand in for the missing ones (they would be compared across the gap).
    baseline = [(m, v) for m, v in history
                if 0 < (month.year - m.year) * 12 + month.month - m.month <= BASELINE_MONTHS]
    if len(baseline) < MIN_BASELINE:
        return MonthException(month, count, "insufficient data", None, None, None, len(baseline))
    centre, lower, upper = limits([m for m, _ in baseline], [float(v) for _, v in baseline],
                                  month, method)
    lower = max(0.0, lower)
    # The verdict uses the exact limits; only the reported limits are rounded.
    flag = "high" if count > upper else "low" if count < lower else "normal"
    return MonthException(month, count, flag, round(centre, 1), round(lower, 1), round(upper, 1),
                      len(baseline))


def last_months(series: Sequence[tuple[date, int]], n: int = 3, *, method: str = "sd"
                ) -> list[MonthException]:
    """Flags for the last `n` months of `series` (oldest first), newest first as in the seed."""
    out = []
    for i in range(max(0, len(series) - n), len(series)):
        month, count = series[i]
        out.append(flag_month(month, count, series[:i], method=method))
    return list(reversed(out))
