"""The few scipy.stats functions the pack's measures call, as scipy.stats computes them.

Importing scipy.stats takes 0.5-0.9 s (it loads every distribution, optimize and linalg),
which every board pack build, CLI command and web worker that compares areas or maps
hotspots paid. scipy.stats evaluates these functions with scipy.special's functions after
checking their arguments; here are the same special functions with the same argument rules,
so the results are the same floats (tests/test_distributions.py compares them with
scipy.stats bit for bit, including the edges: zero counts, q of 0 or 1, invalid values).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaincinv, ndtr, pdtr, pdtrc, pdtrik

_NAN = float("nan")


def chi2_ppf(q: float, df: float) -> float:
    """scipy.stats.chi2.ppf(q, df): 2 * gammaincinv(df / 2, q) inside the support."""
    if not df > 0:  # scipy's argument check (nan fails it too)
        return _NAN
    if q == 0:
        return 0.0
    if q == 1:
        return math.inf
    if not 0 < q < 1:
        return _NAN
    return float(2 * gammaincinv(df / 2, q))


def poisson_cdf(k: float, mu: float) -> float:
    """scipy.stats.poisson.cdf(k, mu): pdtr(floor(k), mu), 0 below the support."""
    if not mu >= 0 or math.isnan(k):
        return _NAN
    if k == math.inf:
        return 1.0
    if k < 0:
        return 0.0
    return float(np.clip(pdtr(np.floor(k), mu), 0, 1))


def poisson_sf(k: float, mu: float) -> float:
    """scipy.stats.poisson.sf(k, mu): pdtrc(floor(k), mu), 1 below the support."""
    if not mu >= 0 or math.isnan(k):
        return _NAN
    if k < 0:
        return 1.0
    if k == math.inf:
        return 0.0
    return float(np.clip(pdtrc(np.floor(k), mu), 0, 1))


def poisson_ppf(q: float, mu: float) -> float:
    """scipy.stats.poisson.ppf(q, mu): the least k with cdf(k) >= q (-1 at q = 0)."""
    if not mu >= 0:
        return _NAN
    if q == 0:
        return -1.0
    if q == 1:
        return math.inf
    if not 0 < q < 1:
        return _NAN
    vals = np.ceil(pdtrik(q, mu))
    vals1 = np.maximum(vals - 1, 0)
    temp = pdtr(vals1, mu)
    return float(np.where(temp >= q, vals1, vals))


def norm_sf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """scipy.stats.norm.sf(x) of an array: ndtr(-x)."""
    out: NDArray[np.float64] = np.asarray(ndtr(-np.asarray(x, np.float64)), np.float64)
    return out


def false_discovery_control(ps: NDArray[np.float64]) -> NDArray[np.float64]:
    """scipy.stats.false_discovery_control(ps, method='bh') of a 1-d array: the
    Benjamini-Hochberg adjusted p-values, in the order given."""
    ps = np.asarray(ps)
    if not (np.issubdtype(ps.dtype, np.integer) or np.issubdtype(ps.dtype, np.floating)) \
            or not np.all(ps == np.clip(ps, 0.0, 1.0)):
        raise ValueError("`ps` must include only numbers between 0 and 1.")
    if ps.size <= 1:
        return ps
    m = ps.shape[-1]
    order = np.argsort(ps, axis=-1)
    ps = np.take_along_axis(ps, order, axis=-1)  # a copy
    ps = ps * (m / np.arange(1, m + 1, dtype=ps.dtype))
    np.minimum.accumulate(ps[..., ::-1], out=ps[..., ::-1], axis=-1)
    np.put_along_axis(ps, order, values=ps.copy(), axis=-1)
    out: NDArray[np.float64] = np.clip(ps, 0.0, 1.0)
    return out
