"""The dashboard, formatted once: `IndicatorOut` is the JSON object of one category for
`saferboard dashboard --format json` and `/api/dashboard` alike (the API's `DashboardOut`
holds the same rows), and the table and CSV rows are flattened from it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from saferboard.measures.dashboard import Dashboard, Indicator
from saferboard.measures.periods import PeriodChange

RAG_LETTER: dict[str | None, str] = {"Green": "G", "Amber": "A", "Red": "R", None: "-"}
FLAG_MARK = {"high": "▲", "low": "▼", "normal": "•", "insufficient data": "?"}


class Out(BaseModel):
    """Base of the output models: frozen, and no field may be added by a typo."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RankOut(Out):
    rank: int | None  # 1 = lowest rate; null when the area has no rate or is not a member
    of: int
    without_data: list[str]
    # Peers counted from another source than the area's, and on what basis ("" for none).
    note: str = ""
    why_without_data: dict[str, str] = {}  # member -> why it has no rate


class ExceptionOut(Out):
    month: str
    flag: str
    count: int
    expected: float | None
    lower: float | None
    upper: float | None


class IndicatorOut(Out):
    """One category of the dashboard (keys fixed by the dashboard issue)."""

    category: str
    source: str | None
    area: str
    month: str
    quarter_volume: int | None
    quarter_previous: int | None
    quarter_change_pct: float | None
    quarter_p_value: float | None
    rolling12_volume: int | None
    rolling12_previous: int | None
    rolling12_change_pct: float | None
    rate_per_1000: float | None
    rate_base: str
    denominator_year: int | None
    ranks: dict[str, RankOut]
    exceptions: list[ExceptionOut]
    p_value: float | None
    significant: bool | None
    rag: str | None
    factors: list[str]
    positive_factors: list[str]
    negative_factors: list[str]
    note: str | None
    # False: a window holds rows whose labels could not be placed here, or months are
    # missing; the caveats say which, and the RAG is withheld (null).
    complete: bool
    caveats: list[str]
    no_clear_change: list[str]

    @classmethod
    def of(cls, row: Indicator) -> IndicatorOut:
        return cls(
            category=row.category, source=row.source, area=row.area,
            month=f"{row.month:%Y-%m}", quarter_volume=row.quarter_volume,
            quarter_previous=row.quarter_previous, quarter_change_pct=row.quarter_change_pct,
            quarter_p_value=_round(row.quarter_p_value), rolling12_volume=row.rolling12_volume,
            rolling12_previous=row.rolling12_previous,
            rolling12_change_pct=row.rolling12_change_pct, rate_per_1000=row.rate_per_1000,
            rate_base=row.rate_base, denominator_year=row.denominator_year,
            ranks={g: RankOut(rank=r.rank, of=r.of, without_data=list(r.without_data),
                              note=r.note, why_without_data=dict(r.reasons))
                   for g, r in row.ranks.items()},
            exceptions=[ExceptionOut(month=f"{e.month:%Y-%m}", flag=e.flag, count=e.count,
                                     expected=e.expected, lower=e.lower, upper=e.upper)
                        for e in row.exceptions],
            p_value=_round(row.p_value), significant=row.significant, rag=row.rag,
            factors=[f.text for f in row.factors],
            positive_factors=[f.text for f in row.factors if f.sign > 0],
            negative_factors=[f.text for f in row.factors if f.sign < 0],
            note=row.note, complete=row.complete, caveats=list(row.caveats),
            no_clear_change=list(row.no_clear_change))


class PeriodOut(Out):
    """One category's chosen period (month, quarter, rolling 12 months, financial year)
    against a year earlier; only `note` when it cannot be computed."""

    category: str
    period: str
    source: str | None = None
    first: str | None = None
    last: str | None = None
    volume: int | None = None
    year_earlier: int | None = None
    change_pct: float | None = None
    p_value: float | None = None
    significant: bool | None = None
    note: str | None = None

    @classmethod
    def of(cls, category: str, period: str, v: PeriodChange | str) -> PeriodOut:
        if isinstance(v, str):
            return cls(category=category, period=period, note=v)
        return cls(category=category, period=period, source=v.source,
                   first=f"{v.window.first:%Y-%m}", last=f"{v.window.last:%Y-%m}",
                   volume=v.volume, year_earlier=v.previous, change_pct=v.change_pct,
                   p_value=v.p_value, significant=v.significant)


class DashboardOut(Out):
    area: str
    month: str
    quarter: str
    rolling12: str
    rows: list[IndicatorOut]
    period: list[PeriodOut]
    glossary: dict[str, str]

    @classmethod
    def of(cls, board: Dashboard, period: str, periods: dict[str, PeriodChange | str]
           ) -> DashboardOut:
        return cls(area=board.area, month=f"{board.month:%Y-%m}",
                   quarter=board.quarter.label(), rolling12=board.rolling12.label(),
                   rows=[IndicatorOut.of(r) for r in board.rows],
                   period=[PeriodOut.of(name, period, v) for name, v in periods.items()],
                   glossary=board.glossary)


def indicator_json(row: Indicator) -> dict[str, Any]:
    """The dashboard JSON object of one category (`IndicatorOut`)."""
    return IndicatorOut.of(row).model_dump(mode="json")


def period_csv(period: str, periods: dict[str, PeriodChange | str]) -> list[dict[str, Any]]:
    """The chosen period's rows for CSV: the API's `period` objects, one column per key."""
    return [PeriodOut.of(name, period, v).model_dump(mode="json")
            for name, v in periods.items()]


def _round(p: float | None) -> float | None:
    return None if p is None else float(f"{p:.4g}")  # 4 significant figures, tiny p kept


def _sig(row: Indicator) -> str:
    if row.significant is None or row.p_value is None:
        return "-"
    p = "p<0.001" if row.p_value < 0.001 else f"p={row.p_value:.3f}"
    return f"{'yes' if row.significant else 'no'} ({p})"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def indicator_flat(row: Indicator, groups: list[str]) -> dict[str, Any]:
    """One row for a table or CSV: a column per figure, ranks as 'rank/of'."""
    out: dict[str, Any] = {
        "category": row.category,
        "source": row.source or "no data",
        "rag": row.rag or "-",
        "quarter": row.quarter_volume,
        "quarter_change": _pct(row.quarter_change_pct) if row.source else "-",
        "rolling12": row.rolling12_volume,
        "rolling12_change": _pct(row.rolling12_change_pct) if row.source else "-",
        "significant": _sig(row),
        "rate_per_1000": row.rate_per_1000,
        "rate_base": row.rate_base,
    }
    for g in groups:
        r = row.ranks.get(g)
        out[f"rank: {g}"] = f"{r.rank}/{r.of}" if r and r.rank is not None else "-"
    out["exceptions"] = " ".join(
        f"{e.month:%b}{FLAG_MARK[e.flag]}" for e in row.exceptions) or "-"
    out["factors"] = "; ".join(("+ " if f.sign > 0 else "- ") + f.text for f in row.factors) \
        or (row.note or "-")
    return out


def indicator_csv(row: Indicator, groups: list[str]) -> dict[str, Any]:
    """One flat row of numbers for CSV and Excel: no formatting, ranks as two columns."""
    j = indicator_json(row)
    out = {k: j[k] for k in (
        "category", "source", "area", "month", "quarter_volume", "quarter_previous",
        "quarter_change_pct", "quarter_p_value", "rolling12_volume", "rolling12_previous",
        "rolling12_change_pct", "p_value", "significant", "rate_per_1000", "rate_base",
        "denominator_year")}
    for g in groups:
        r = row.ranks.get(g)
        out[f"{g} rank"] = r.rank if r else None
        out[f"{g} of"] = r.of if r else None
    out["exceptions"] = "; ".join(f"{e.month:%Y-%m} {e.flag}" for e in row.exceptions)
    out["rag"] = row.rag
    out["positive_factors"] = "; ".join(j["positive_factors"])
    out["negative_factors"] = "; ".join(j["negative_factors"])
    out["note"] = row.note
    out["complete"] = row.complete
    out["caveats"] = " ".join(row.caveats)
    out["no_clear_change"] = "; ".join(row.no_clear_change)
    return out


def dashboard_csv(d: Dashboard) -> list[dict[str, Any]]:
    groups = sorted({g for r in d.rows for g in r.ranks})
    return [indicator_csv(r, groups) for r in d.rows]


def dashboard_table(d: Dashboard) -> list[dict[str, Any]]:
    groups = sorted({g for r in d.rows for g in r.ranks})
    return [indicator_flat(r, groups) for r in d.rows]
