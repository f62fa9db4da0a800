"""Peer comparison, formatted once: `PeerRowOut` is a row of `saferboard compare` (table,
CSV, JSON), of the peers CSV download and of `/api/categories/{category}/peers`. A member
without a rate keeps its row (every figure null, the reason under vs_peer_average)."""

from __future__ import annotations

from typing import Any

from saferboard.measures.compare import Comparison, PeerRate
from saferboard.present.dashboard import Out


class PeerRowOut(Out):
    rank: int | None  # 1 = lowest rate
    area: str
    source: str | None
    count: int | None  # rolling 12 months
    denominator: int | None
    denominator_year: int | None
    rate_per_1000: float | None
    ci95_lower: float | None  # exact Poisson 95% interval of the rate
    ci95_upper: float | None
    expected: float | None  # count expected at the pooled peer rate
    p_value: float | None
    funnel95_lower: float | None
    funnel95_upper: float | None
    funnel998_lower: float | None
    funnel998_upper: float | None
    vs_peer_average: str  # higher | lower | similar | "not ranked: <why>"
    highlight: bool  # the area the comparison is for

    @classmethod
    def of(cls, r: PeerRate, area: str) -> PeerRowOut:
        return cls(rank=r.rank, area=r.area, source=r.source, count=r.count,
                   denominator=r.denominator, denominator_year=r.denominator_year,
                   rate_per_1000=r.rate, ci95_lower=r.lower, ci95_upper=r.upper,
                   expected=r.expected, p_value=round(r.p_value, 6),
                   funnel95_lower=r.funnel95[0], funnel95_upper=r.funnel95[1],
                   funnel998_lower=r.funnel998[0], funnel998_upper=r.funnel998[1],
                   vs_peer_average=r.verdict, highlight=r.area.lower() == area.lower())

    @classmethod
    def unranked(cls, name: str, why: str, area: str) -> PeerRowOut:
        return cls(rank=None, area=name, source=None, count=None, denominator=None,
                   denominator_year=None, rate_per_1000=None, ci95_lower=None,
                   ci95_upper=None, expected=None, p_value=None, funnel95_lower=None,
                   funnel95_upper=None, funnel998_lower=None, funnel998_upper=None,
                   vs_peer_average=f"not ranked: {why}", highlight=name.lower() == area.lower())


def peer_models(c: Comparison, area: str, *, unranked: bool = True) -> list[PeerRowOut]:
    """The ranked members, lowest rate first, then (with `unranked`) every member without a
    rate, with the reason."""
    rows = [PeerRowOut.of(r, area) for r in c.rows]
    if unranked:
        rows += [PeerRowOut.unranked(name, why, area) for name, why in c.reasons]
    return rows


def peer_rows(c: Comparison, area: str, *, unranked: bool = True) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in peer_models(c, area, unranked=unranked)]


class ComparisonOut(Out):
    """`/api/categories/{category}/peers`: the comparison's terms and its rows."""

    category: str
    group: str
    month: str
    rate_base: str
    pooled_rate: float
    method: str
    caveats: list[str]
    cross_source: str
    without_data: list[str]
    rows: list[PeerRowOut]

    @classmethod
    def of(cls, c: Comparison, area: str) -> ComparisonOut:
        return cls(category=c.category, group=c.group, month=f"{c.month:%Y-%m}",
                   rate_base=c.rate_base, pooled_rate=c.pooled_rate, method=c.method,
                   caveats=list(c.caveats), cross_source=c.cross_source,
                   without_data=list(c.without_data), rows=peer_models(c, area))
