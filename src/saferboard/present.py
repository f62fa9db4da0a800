"""Turning typed results into plain rows: the one shape the CLI's JSON/CSV, the web API and
the board pack all print, so a figure reads the same everywhere.

A module of its own layer, between measures and the three entry points: may import measures
and core; report, web and cli import it."""

from __future__ import annotations

from typing import Any

from saferboard.measures.dashboard import Dashboard, Indicator

RAG_LETTER: dict[str | None, str] = {"Green": "G", "Amber": "A", "Red": "R", None: "-"}
FLAG_MARK = {"high": "▲", "low": "▼", "normal": "•", "insufficient data": "?"}


def indicator_json(row: Indicator) -> dict[str, Any]:
    """The dashboard JSON object of one category (keys fixed by the dashboard issue)."""
    return {
        "category": row.category,
        "source": row.source,
        "area": row.area,
        "month": f"{row.month:%Y-%m}",
        "quarter_volume": row.quarter_volume,
        "quarter_previous": row.quarter_previous,
        "quarter_change_pct": row.quarter_change_pct,
        "quarter_p_value": _round(row.quarter_p_value),
        "rolling12_volume": row.rolling12_volume,
        "rolling12_previous": row.rolling12_previous,
        "rolling12_change_pct": row.rolling12_change_pct,
        "rate_per_1000": row.rate_per_1000,
        "rate_base": row.rate_base,
        "denominator_year": row.denominator_year,
        "ranks": {g: {"rank": r.rank, "of": r.of, "without_data": list(r.without_data)}
                  for g, r in row.ranks.items()},
        "exceptions": [{"month": f"{e.month:%Y-%m}", "flag": e.flag, "count": e.count,
                        "expected": e.expected, "lower": e.lower, "upper": e.upper}
                       for e in row.exceptions],
        "p_value": _round(row.p_value),
        "significant": row.significant,
        "rag": row.rag,
        "factors": [f.text for f in row.factors],
        "positive_factors": [f.text for f in row.factors if f.sign > 0],
        "negative_factors": [f.text for f in row.factors if f.sign < 0],
        "note": row.note,
        "complete": row.complete,
        "caveats": list(row.caveats),
        "no_clear_change": list(row.no_clear_change),
    }


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
    return out


def dashboard_csv(d: Dashboard) -> list[dict[str, Any]]:
    groups = sorted({g for r in d.rows for g in r.ranks})
    return [indicator_csv(r, groups) for r in d.rows]


def dashboard_table(d: Dashboard) -> list[dict[str, Any]]:
    groups = sorted({g for r in d.rows for g in r.ranks})
    return [indicator_flat(r, groups) for r in d.rows]
