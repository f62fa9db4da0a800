"""Properties of the dashboard's building blocks (Hypothesis), plus small hand-made cases:
window arithmetic, the change test's calibration, percentage change, RAG rules, exceptions."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard.core.config import RagRules
from saferboard.measures import exceptions as exc
from saferboard.measures.dashboard import Factor, rag
from saferboard.measures.significance import pct_change, poisson_change
from saferboard.measures.windows import (
    Window,
    ending,
    latest_quarter_end,
    month_index,
    months_between,
    quarter,
    rolling12,
    shift,
)

months = st.builds(date, st.integers(1800, 2300), st.integers(1, 12), st.just(1))
steps = st.integers(-2400, 2400)
counts = st.integers(0, 5000)


def next_month(m: date) -> date:
    return date(m.year + (m.month == 12), m.month % 12 + 1, 1)


def contiguous(ms: list[date]) -> bool:
    return all(next_month(a) == b for a, b in pairwise(ms))


# ---------------------------------------------------------------------------------------
# Windows

@given(months, steps, steps)
def test_shift_is_additive_and_invertible(m, a, b):
    assert shift(shift(m, a), -a) == m
    assert shift(shift(m, a), b) == shift(m, a + b)
    assert shift(m, a).day == 1
    assert month_index(shift(m, a)) - month_index(m) == a


@given(months, st.integers(-200, 200))
def test_shift_by_years_keeps_calendar_month(m, years):
    assert shift(m, 12 * years) == date(m.year + years, m.month, 1)


@given(months, st.integers(-60, 60))
def test_months_between(first, k):
    last = shift(first, k)
    ms = months_between(first, last)
    assert len(ms) == max(0, k + 1)
    assert contiguous(ms)
    if k >= 0:
        assert ms[0] == first and ms[-1] == last
        assert Window(first, last).months == ms and Window(first, last).length == k + 1


@given(months, st.integers(1, 48))
def test_ending(ref, n):
    w = ending(ref, n)
    assert w.last == ref and w.length == n and len(w.months) == n and contiguous(w.months)


@given(months)
def test_quarter_rolling12_and_year_earlier(ref):
    q, r = quarter(ref), rolling12(ref)
    assert (q.length, r.length) == (3, 12)
    assert q.last == r.last == ref
    assert set(q.months) <= set(r.months)
    for w in (q, r):
        y = w.year_earlier()
        # Exactly 12 months back, same calendar months, same length.
        assert y.first == date(w.first.year - 1, w.first.month, 1)
        assert y.last == date(w.last.year - 1, w.last.month, 1)
        assert [m.month for m in y.months] == [m.month for m in w.months]
        assert not set(y.months) & set(w.months)
    # Rolling 12 and the 12 before them: 24 contiguous months, nothing skipped or doubled.
    assert contiguous(r.year_earlier().months + r.months)


@given(months)
def test_latest_quarter_end(last):
    end = latest_quarter_end(last)
    assert end.month in (3, 6, 9, 12)
    assert end <= last and month_index(last) - month_index(end) < 3


def test_window_examples():
    ref = date(2025, 12, 1)
    assert quarter(ref) == Window(date(2025, 10, 1), ref)
    assert quarter(ref).year_earlier() == Window(date(2024, 10, 1), date(2024, 12, 1))
    assert rolling12(ref) == Window(date(2025, 1, 1), ref)
    assert rolling12(ref).year_earlier() == Window(date(2024, 1, 1), date(2024, 12, 1))
    assert quarter(date(2025, 2, 1)) == Window(date(2024, 12, 1), date(2025, 2, 1))
    assert shift(date(2025, 1, 1), -1) == date(2024, 12, 1)
    assert rolling12(ref).label() == "Jan 2025-Dec 2025"
    with pytest.raises(ValueError):
        ending(ref, 0)


# ---------------------------------------------------------------------------------------
# Significance

def exact_p(current: int, previous: int) -> float:
    """Two-sided exact conditional p by integer arithmetic: Binomial(n, 1/2) is symmetric and
    unimodal, so the 'as or less likely' set is {|j - n/2| >= |k - n/2|}."""
    n, m = current + previous, min(current, previous)
    if n == 0 or 2 * m == n:
        return 1.0
    coef, tail = 1, 0
    for j in range(m + 1):
        tail += coef
        coef = coef * (n - j) // (j + 1)
    return min(1.0, 2 * tail / 2**n)


@given(st.integers(0, 400), st.integers(0, 400))
def test_p_value_is_the_exact_conditional_test(a, b):
    t = poisson_change(a, b)
    assert t.p_value == pytest.approx(exact_p(a, b), rel=1e-7, abs=1e-300)
    assert poisson_change(b, a).p_value == pytest.approx(t.p_value, rel=1e-9)
    assert 0 <= t.p_value <= 1
    assert t.significant == (t.p_value < 0.05)
    if t.significant:
        assert t.direction == ("up" if a > b else "down")
    else:
        assert t.direction == "none"


@given(counts)
def test_equal_counts_and_zero_previous(n):
    assert poisson_change(n, n).p_value == pytest.approx(1.0)
    assert poisson_change(n, n).significant is False
    # From 0: P(all n in one window) twice over = 2 * 0.5^n.
    if n > 0:
        assert poisson_change(n, 0).p_value == pytest.approx(min(1.0, 2 * 0.5**n))


def test_significance_examples_and_bad_input():
    assert poisson_change(0, 0).p_value == 1.0
    assert poisson_change(10, 0).p_value == pytest.approx(2 / 1024)
    assert poisson_change(30, 10).p_value == pytest.approx(exact_p(30, 10))
    assert poisson_change(30, 10).significant and poisson_change(30, 10).direction == "up"
    assert not poisson_change(12, 10).significant
    for bad in ((-1, 3), (3, -1)):
        with pytest.raises(ValueError):
            poisson_change(*bad)
    with pytest.raises(ValueError):
        poisson_change(1, 1, alpha=0)


RATES = (2, 5, 10, 30, 100, 500)
PAIRS = 3000
LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5)


@pytest.fixture(scope="module")
def null_p_values() -> dict[int, np.ndarray]:
    """p-values of PAIRS pairs of independent Poisson(rate) counts per rate (H0 true)."""
    rng = np.random.default_rng(20251201)
    out = {}
    for rate in RATES:
        pairs = rng.poisson(rate, size=(PAIRS, 2))
        out[rate] = np.array([poisson_change(int(a), int(b)).p_value for a, b in pairs])
    return out


def sd_of_fraction(alpha: float) -> float:
    """Standard deviation of an observed fraction over PAIRS draws with probability alpha."""
    return math.sqrt(alpha * (1 - alpha) / PAIRS)


@pytest.mark.parametrize("rate", RATES)
def test_calibration_never_anticonservative(null_p_values, rate):
    """Under equal rates P(p <= a) <= a at every level a: the exact test is valid (and, being
    discrete, conservative). Observed fractions carry sampling noise of sd_of_fraction(a)
    (0.4 points at a = 0.05); 4 standard deviations of slack keep the check stable while a
    z-test-like anticonservative error (10 % rejections at 5 %) would fail it by far."""
    ps = null_p_values[rate]
    assert ((ps >= 0) & (ps <= 1)).all()
    for a in LEVELS:
        assert (ps <= a).mean() <= a + 4 * sd_of_fraction(a), (rate, a)


@pytest.mark.parametrize("rate", [r for r in RATES if r >= 30])
def test_calibration_roughly_uniform_for_moderate_counts(null_p_values, rate):
    """With 60+ crimes in the two windows the binomial is fine-grained, so p-values are near
    uniform: P(p <= a) is at least 70 % of a (less 4 sd of sampling noise) at each level, and
    P(p <= 0.5) is within 0.08 of 0.5 (observed ~0.43-0.47; discreteness keeps it a little
    below 0.5). A test that never rejected, or p-values piled near 1, would fail."""
    ps = null_p_values[rate]
    for a in LEVELS[1:]:
        assert (ps <= a).mean() >= 0.7 * a - 4 * sd_of_fraction(a), (rate, a)
    assert abs((ps <= 0.5).mean() - 0.5) <= 0.08
    # Deciles: no tenth of [0, 1) holds more than twice its share.
    hist, _ = np.histogram(ps[ps < 1], bins=10, range=(0, 1))
    assert hist.max() <= 2 * len(ps) / 10


def test_calibration_detects_a_real_change():
    """Power sanity: 150 vs 100 expected crimes (a 50 % rise) is usually significant. Normal
    approximation: z = 50 / sqrt(250) = 3.16, power ~0.88; 500 draws give sd 0.015, so the
    bound 0.8 only fails if the test has lost its power."""
    rng = np.random.default_rng(7)
    hits = [poisson_change(int(a), int(b)).significant
            for a, b in zip(rng.poisson(150, 500), rng.poisson(100, 500), strict=True)]
    assert np.mean(hits) > 0.8


# ---------------------------------------------------------------------------------------
# Percentage change

@given(counts, counts)
def test_pct_change(current, previous):
    got = pct_change(current, previous)
    if previous == 0:
        assert got is None
        return
    exact = Fraction(100 * (current - previous), previous)
    assert got is not None
    assert abs(Fraction(got) - exact) <= Fraction(1, 20) + Fraction(1, 10**9)
    assert round(got, 1) == got  # one decimal place
    if current == previous:
        assert got == 0.0
    if exact <= Fraction(-1, 20) or exact >= Fraction(1, 20):
        assert (got > 0) == (current > previous)


def test_pct_change_examples():
    assert pct_change(85, 100) == -15.0
    assert pct_change(1636, 1839) == -11.0
    assert pct_change(1, 3) == -66.7
    assert pct_change(3, 1) == 200.0
    assert pct_change(0, 5) == -100.0
    assert pct_change(5, 0) is None and pct_change(0, 0) is None


# ---------------------------------------------------------------------------------------
# RAG

signs = st.lists(st.sampled_from([1, -1]), max_size=12)


@given(signs, st.floats(0.05, 1.0))
def test_rag_rules(sign_list, red_share):
    rules = RagRules(red_share=red_share)
    factors = [Factor(f"factor {i}", s) for i, s in enumerate(sign_list)]
    neg, pos = sign_list.count(-1), sign_list.count(1)
    got = rag(factors, rules)
    if pos and not neg:
        assert got == "Green"
    elif neg and neg / (neg + pos) >= red_share:
        assert got == "Red"
    else:
        assert got == "Amber"
    # Order does not matter; one more positive factor never makes it worse.
    assert rag(list(reversed(factors)), rules) == got
    worse = {"Green": 0, "Amber": 1, "Red": 2}
    assert worse[rag([*factors, Factor("good", 1)], rules)] <= worse[got]


def test_rag_examples_with_shipped_share():
    r = RagRules()  # red_share 0.75
    f = [Factor("a", 1), Factor("b", 1)]
    assert rag(f, r) == "Green"
    assert rag([*f, Factor("c", -1)], r) == "Amber"
    assert rag([Factor("a", 1), *[Factor("n", -1)] * 3], r) == "Red"  # 3 of 4: nearly all
    assert rag([Factor("a", 1), *[Factor("n", -1)] * 2], r) == "Amber"  # 2 of 3: mixed
    assert rag([Factor("n", -1)], r) == "Red"
    assert rag([], r) == "Amber"  # nothing to say either way: neither Green nor Red


# ---------------------------------------------------------------------------------------
# Exceptions

METHODS = ("sd", "xmr", "seasonal-sd")
START = date(2020, 1, 1)


def history(values: list[int], start: date = START) -> list[tuple[date, int]]:
    return [(shift(start, i), v) for i, v in enumerate(values)]


@settings(max_examples=60)
@given(st.integers(0, 2000), st.sampled_from(METHODS))
def test_constant_series_flags_only_clear_outliers(level, method):
    h = history([level] * 24)
    month = shift(START, 24)
    assert exc.flag_month(month, level, h, method=method).flag == "normal"
    e = exc.flag_month(month, level + max(10, level), h, method=method)
    assert e.flag == "high" and e.expected == pytest.approx(level)
    if level >= 10:
        assert exc.flag_month(month, 0, h, method=method).flag == "low"
    # Last three months of a constant series with one outlier two months back: only it.
    series = history([level] * 26 + [level + max(10, 2 * level)] + [level] * 2)
    got = exc.last_months(series, 3, method=method)  # newest first
    assert [e.month for e in got] == [shift(START, 28), shift(START, 27), shift(START, 26)]
    assert [e.flag for e in got] == ["normal", "normal", "high"]


@settings(max_examples=60)
@given(st.integers(50, 2000), st.lists(st.integers(-3, 3), min_size=24, max_size=24),
       st.sampled_from(METHODS))
def test_noisy_series_flags_a_jump(level, noise, method):
    h = history([level + n for n in noise])
    month = shift(START, 24)
    e = exc.flag_month(month, level, h, method=method)
    assert e.flag == "normal" or not any(noise)  # the level itself is never an exception
    assert exc.flag_month(month, 2 * level, h, method=method).flag == "high"
    assert exc.flag_month(month, level // 3, h, method=method).flag == "low"
    assert e.lower is not None and e.upper is not None and 0 <= e.lower <= e.upper


@settings(max_examples=60)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=30),
       st.lists(st.integers(0, 500), min_size=12, max_size=24),
       st.integers(0, 500), st.sampled_from(METHODS))
def test_baseline_is_the_24_months_before(old, recent, count, method):
    """Months more than 24 before the tested one (e.g. before a gap) do not change the flag."""
    month = date(2030, 1, 1)
    recent_h = [(shift(month, -len(recent) + i), v) for i, v in enumerate(recent)]
    old_h = [(shift(month, -40 - len(old) + i), v) for i, v in enumerate(old)]
    assert exc.flag_month(month, count, old_h + recent_h, method=method) == exc.flag_month(
        month, count, recent_h, method=method)


def test_short_history_is_insufficient():
    h = history([5] * 11)
    e = exc.flag_month(shift(START, 11), 50, h, method="sd")
    assert e.flag == "insufficient data" and e.expected is None
    assert exc.flag_month(shift(START, 12), 50, history([5] * 12), method="sd").flag == "high"
    with pytest.raises(ValueError):
        exc.flag_month(shift(START, 12), 5, history([5] * 12), method="nonsense")


def test_xmr_hand_computed():
    # Alternating 10, 14: mean 12, moving range 4, limits 12 +/- 10.64 -> (1.36, 22.64).
    h = history([10, 14] * 12)
    month = shift(START, 24)
    e = exc.flag_month(month, 22, h, method="xmr")
    assert (e.flag, e.expected, e.lower, e.upper) == ("normal", 12.0, 1.4, 22.6)
    assert exc.flag_month(month, 23, h, method="xmr").flag == "high"
    assert exc.flag_month(month, 1, h, method="xmr").flag == "low"
    # sd: sample sd of 12 x 10 and 12 x 14 = 2 * sqrt(24/23); limits 12 +/- 6.13.
    sd = 2 * math.sqrt(24 / 23)
    e = exc.flag_month(month, 18, h, method="sd")
    assert e.flag == "normal" and e.upper == round(12 + 3 * sd, 1)
    assert exc.flag_month(month, 19, h, method="sd").flag == "high"
