"""Honest RAG (issue 14, item 4): only a clear change is a factor, and every verdict uses the
exact p-value or limit, never one rounded for display."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest
from scipy.stats import binomtest, poisson

from saferboard.core.config import load_config
from saferboard.measures.compare import compare
from saferboard.measures.dashboard import dashboard, glossary
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import months_between

EMPTY = MonthlyCounts("policeuk", (), (), (), np.zeros((0, 0, 0), np.int64), {},
                      np.zeros((0, 0), bool))


def table_of(totals: dict[str, tuple[int, ...]], leaf: str, first: date, n: int
             ) -> MonthlyCounts:
    """One leaf category; each area's months given (repeated to `n` months)."""
    months = tuple(months_between(first, date(first.year + (first.month - 1 + n - 1) // 12,
                                              (first.month - 1 + n - 1) % 12 + 1, 1)))
    arr = np.array([[list(v)] for v in totals.values()], dtype=np.int64)
    assert arr.shape == (len(totals), 1, n)
    return MonthlyCounts("mps", tuple(totals), (leaf,), months, arr,
                         {a: frozenset(months) for a in totals},
                         np.ones((len(totals), 1), dtype=bool))


def split(total: int, parts: int = 12) -> list[int]:
    return [total // parts] * (parts - 1) + [total - total // parts * (parts - 1)]


def test_funnel_boundary_is_not_higher(cats):
    """Barking and Dagenham's count lies exactly on the 95% funnel limit: the exact two-sided
    p is 0.051, so it is 'similar'. Its rate exceeds the limit rounded to 3 decimals, which
    is what used to make it 'higher'."""
    counts = {"Barnet": 2391, "Brent": 2300, "Sutton": 1100, "Barking and Dagenham": 1445}
    table = table_of({a: tuple(split(c)) for a, c in counts.items()}, "Criminal damage and arson",
                     date(2024, 1, 1), 12)
    result = compare(table, cats, "Criminal damage and arson", date(2024, 12, 1), "peers",
                     tuple(counts))
    bd = next(r for r in result.rows if r.area == "Barking and Dagenham")
    # Recomputed here from scipy directly: the pooled expectation and the exact p.
    n = {r.area: r.denominator for r in result.rows}
    mu = sum(counts.values()) / sum(n.values()) * n["Barking and Dagenham"]
    assert poisson.ppf(0.975, mu) == 1445  # on the limit
    p = 2 * poisson.sf(1444, mu)
    assert p == pytest.approx(0.0513, abs=5e-4)
    assert bd.p_value == pytest.approx(p, rel=1e-12)
    assert 1445 / n["Barking and Dagenham"] * 1000 > bd.funnel95[1]  # the rounded trap
    assert bd.verdict == "similar"


def test_verdicts_follow_exact_p(cats):
    counts = {"Barnet": 2400, "Brent": 2300, "Sutton": 1100, "Barking and Dagenham": 1700}
    table = table_of({a: tuple(split(c)) for a, c in counts.items()}, "Criminal damage and arson",
                     date(2024, 1, 1), 12)
    result = compare(table, cats, "Criminal damage and arson", date(2024, 12, 1), "peers",
                     tuple(counts))
    for r in result.rows:
        assert r.verdict == ("similar" if r.p_value >= 0.05 else
                             "higher" if r.count > r.expected else "lower"), r.area
    assert {r.verdict for r in result.rows} >= {"higher", "lower"}


def _board(cats, previous: int, current: int, **rag_rules):
    """Barnet theft of motor vehicle: 12 months of `previous`-ish, then `current`-ish."""
    months = split(previous) + split(current)
    table = table_of({"Barnet": tuple(months)}, "Theft of motor vehicle", date(2024, 1, 1), 24)
    cfg = load_config()
    cfg = dataclasses.replace(cfg, rag=dataclasses.replace(cfg.rag, rank_group="",
                                                           **rag_rules))
    return dashboard({"mps": table, "policeuk": EMPTY}, cats, cfg, "Barnet",
                     date(2025, 12, 1), ["Theft of motor vehicle"]).rows[0], cfg


def test_noise_is_no_clear_change(cats):
    """Barnet theft of motor vehicle +1.4%, p = 0.70 used to be a negative factor."""
    row, cfg = _board(cats, 2000, 2028)
    p = binomtest(2028, 4028, 0.5).pvalue
    assert row.p_value == pytest.approx(p, rel=1e-9) and 0.6 < p < 0.8
    assert row.rolling12_change_pct == 1.4
    assert not any("rolling 12" in f.text for f in row.factors)
    assert any(t.startswith("Rolling 12 months: no clear change (+1.4%") for t in
               row.no_clear_change)
    assert row.rag != "Red"
    assert "only when it is statistically significant" in glossary(cfg)["RAG"]


def test_significant_change_is_a_factor(cats):
    row, _ = _board(cats, 2000, 2300)
    assert binomtest(2300, 4300, 0.5).pvalue < 0.05
    assert ("Increase in rolling 12 months (+15.0%, significant)", -1) in [
        (f.text, f.sign) for f in row.factors]


def test_minimum_effect_is_configurable_and_shown(cats):
    # Not significant (+1.4%), and below a 5% minimum effect: still neutral.
    row, cfg = _board(cats, 2000, 2028, significant_changes_only=False,
                      change_threshold_pct=1.0)
    # +1.4% beyond a 1% minimum effect, with significance not required: a factor.
    assert any("+1.4%" in f.text and f.sign == -1 for f in row.factors)
    assert "minimum effect of 1%" in glossary(cfg)["RAG"]
    row, _ = _board(cats, 2000, 2028, significant_changes_only=False,
                    change_threshold_pct=5.0)
    assert not any("+1.4%" in f.text for f in row.factors)
    # A significant +15% within a 20% threshold is neutral too.
    row, _ = _board(cats, 2000, 2300, change_threshold_pct=20.0)
    assert not any("rolling 12" in f.text for f in row.factors)
