"""measures.distributions against scipy.stats itself: the same floats, bit for bit, on the
values the measures pass (counts, expected counts, tail probabilities) and at the edges."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from saferboard.measures import distributions as d

COUNTS = [-3, -1, 0, 1, 2, 3, 5, 9, 17, 40, 99, 250, 1_000, 12_345, 250_000]
MEANS = [0.0, 1e-9, 0.01, 0.5, 1.0, 2.5, 7.3, 19.99, 40.0, 123.4, 999.5, 12_000.2,
         249_876.5, -1.0, math.nan]
QS = [0.0, 1e-12, 0.0005, 0.001, 0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975, 0.999, 0.9995,
      1 - 1e-12, 1.0, -0.1, 1.1, math.nan]


def same(a: float, b: object) -> bool:
    return float(a).hex() == float(b).hex()  # type: ignore[arg-type]


@pytest.mark.parametrize("q,df", list(itertools.product(QS, [*COUNTS, 2.5, 0.0, math.nan])))
def test_chi2_ppf_is_scipys(q: float, df: float) -> None:
    assert same(d.chi2_ppf(q, df), stats.chi2.ppf(q, df))


@pytest.mark.parametrize("k,mu", list(itertools.product(
    [*COUNTS, 2.5, math.inf, -math.inf, math.nan], MEANS)))
def test_poisson_cdf_and_sf_are_scipys(k: float, mu: float) -> None:
    assert same(d.poisson_cdf(k, mu), stats.poisson.cdf(k, mu))
    assert same(d.poisson_sf(k, mu), stats.poisson.sf(k, mu))


@pytest.mark.parametrize("q,mu", list(itertools.product(QS, MEANS)))
def test_poisson_ppf_is_scipys(q: float, mu: float) -> None:
    assert same(d.poisson_ppf(q, mu), stats.poisson.ppf(q, mu))


def test_norm_sf_is_scipys() -> None:
    x = np.concatenate([np.linspace(-40, 40, 4001), [0.0, -0.0, math.inf, -math.inf, math.nan],
                        np.random.default_rng(7).normal(0, 3, 2000)])
    assert d.norm_sf(x).tobytes() == np.asarray(stats.norm.sf(x), np.float64).tobytes()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 257, 5000])
def test_false_discovery_control_is_scipys(n: int) -> None:
    rng = np.random.default_rng(n)
    for ps in (rng.uniform(0, 1, n), rng.uniform(0, 1e-3, n),
               np.round(rng.uniform(0, 1, n), 2),  # many ties
               np.where(rng.uniform(0, 1, n) < 0.3, 1.0, rng.beta(0.3, 4, n))):
        ours = d.false_discovery_control(ps)
        theirs = np.asarray(stats.false_discovery_control(ps, method="bh"), np.float64)
        assert ours.tobytes() == theirs.tobytes()


def test_false_discovery_control_refuses_what_scipy_refuses() -> None:
    for bad in ([0.1, 1.5], [0.2, -0.01], [0.3, math.nan]):
        with pytest.raises(ValueError, match="between 0 and 1"):
            stats.false_discovery_control(np.array(bad))
        with pytest.raises(ValueError, match="between 0 and 1"):
            d.false_discovery_control(np.array(bad))
