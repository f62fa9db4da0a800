"""Vega-Lite chart specifications (built with Altair) for the pack and the web.

Accessible by construction: every chart has a title, axis titles with units, a description
(used as the SVG's aria-label and the figure's alt text) and the Okabe-Ito palette, which
stays distinguishable with the common colour-vision deficiencies and in greyscale (lines also
differ by dash, points by shape).
"""

from __future__ import annotations

from typing import Any

import altair as alt

from saferboard.measures.compare import Comparison
from saferboard.measures.targets import TargetStatus
from saferboard.measures.trend import Trend

# Okabe & Ito (2008), "Color Universal Design".
BLUE, VERMILLION, GREEN, ORANGE, SKY, GREY = (
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#999999")
WIDTH, HEIGHT = 560, 190
FONT = "DejaVu Sans"

Spec = dict[str, Any]
VERDICT = {"higher": "significantly higher than the peer average",
           "lower": "significantly lower than the peer average",
           "similar": "not significantly different from the peer average"}


def inline_data(spec: Spec, data: dict[str, list[dict[str, Any]]]) -> Spec:
    """`spec` with each named data source ({"name": n}, n a key of `data`) replaced by its
    values, in place. Charts are built around named data and given their rows only once
    Altair is done: Altair deep-copies a chart's data at every step (each layer, encode and
    property), which was much of the time of building a pack's charts and maps."""
    for key, value in spec.items():
        if key == "data" and isinstance(value, dict) and value.get("name") in data:
            spec[key] = {"values": data[value["name"]]}
        elif isinstance(value, dict):
            inline_data(value, data)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    inline_data(item, data)
    return spec


def _finish(chart: alt.TopLevelMixin, description: str,
            data: dict[str, list[dict[str, Any]]]) -> Spec:
    # No schema validation here: it was most of the time of building a chart, for specs
    # whose shape does not vary (tests/test_chart_specs.py validates each kind once). The
    # description and configuration go into the dict: each Altair .properties/.configure
    # step would deep-copy the whole layered chart.
    spec: Spec = chart.to_dict(validate=False)
    spec["description"] = description
    config = spec.setdefault("config", {})
    config["font"] = FONT
    config["view"] = {**config.get("view", {}), "stroke": None}
    config["axis"] = {"labelFontSize": 11, "titleFontSize": 11}
    config["title"] = {"fontSize": 13, "anchor": "start"}
    return inline_data(spec, data)


def trend_chart(t: Trend) -> Spec:
    """36 months with last year's line, the control limits and the exception months."""
    rows = [{"month": f"{p.month:%Y-%m-01}", "lower": p.lower, "upper": p.upper,
             "count": p.count, "year_earlier": p.year_earlier, "flag": p.flag}
            for p in t.points]
    base = alt.Chart(alt.Data(name="rows")).encode(x=alt.X("month:T", title="Month", axis=alt.Axis(
        format="%b %y", labelAngle=0, tickCount=12)))
    band = base.mark_area(color="#DDDDDD", opacity=0.7).encode(
        y=alt.Y("lower:Q", title=f"{t.category} (crimes per month)"), y2=alt.Y2("upper:Q"),
        tooltip=[alt.Tooltip("month:T", format="%b %Y"), alt.Tooltip("lower:Q"),
                 alt.Tooltip("upper:Q")])
    lines = base.transform_fold(
        ["count", "year_earlier"], as_=["series", "value"]).transform_calculate(
        label="datum.series == 'count' ? 'Last 36 months' : 'Same month a year earlier'"
    ).mark_line(point=False).encode(
        y=alt.Y("value:Q"),
        color=alt.Color("label:N", title=None, scale=alt.Scale(
            domain=["Last 36 months", "Same month a year earlier"], range=[BLUE, GREY]),
            legend=alt.Legend(orient="top")),
        strokeDash=alt.StrokeDash("label:N", scale=alt.Scale(
            domain=["Last 36 months", "Same month a year earlier"], range=[[1, 0], [5, 3]]),
            legend=None),
        tooltip=[alt.Tooltip("month:T", format="%b %Y"), alt.Tooltip("label:N"),
                 alt.Tooltip("value:Q")])
    flagged = base.transform_filter("datum.flag == 'high' || datum.flag == 'low'").mark_point(
        size=90, filled=True).encode(
        y=alt.Y("count:Q"),
        shape=alt.Shape("flag:N", title="Exception", scale=alt.Scale(
            domain=["high", "low"], range=["triangle-up", "triangle-down"]),
            legend=alt.Legend(orient="top")),
        color=alt.Color("flag:N", scale=alt.Scale(domain=["high", "low"],
                                                  range=[VERMILLION, GREEN]), legend=None),
        tooltip=[alt.Tooltip("month:T", format="%b %Y"), alt.Tooltip("count:Q"),
                 alt.Tooltip("flag:N")])
    # Months whose count lacks rows the mapping could not place: a hatched-grey column, no
    # point (a lower bound would read as a cliff).
    incomplete = base.transform_filter("datum.flag == 'incomplete data'").mark_rule(
        color=GREY, strokeDash=[2, 2], strokeWidth=6, opacity=0.5).encode(
        tooltip=[alt.Tooltip("month:T", format="%b %Y"), alt.Tooltip("flag:N")])
    gaps = [f"{p.month:%b %Y}" for p in t.points if p.flag == "incomplete data"]
    highs = [f"{p.month:%b %Y}" for p in t.points if p.flag == "high"]
    lows = [f"{p.month:%b %Y}" for p in t.points if p.flag == "low"]
    last = next((p for p in reversed(t.points) if p.count is not None), None)
    description = (
        f"Line chart of {t.category} per month in {t.area} over the last 36 months "
        f"({t.source} data), with the same months a year earlier and a grey band of control "
        f"limits. " + (f"Latest month {last.month:%b %Y}: {last.count}. " if last else "")
        + (f"Unusually high: {', '.join(highs)}. " if highs else "No unusually high month. ")
        + (f"Unusually low: {', '.join(lows)}." if lows else "No unusually low month.")
        + (f" Incomplete data (labels not in the mapping), not plotted: {', '.join(gaps)}."
           if gaps else ""))
    # Separate scales: the exception markers must not join the lines' legend.
    chart = alt.layer(band, incomplete, lines, flagged, resolve=alt.Resolve(
        scale=alt.ScaleResolveMap(color="independent", shape="independent")),
        title=f"{t.category}, {t.area}: monthly crimes", width=WIDTH, height=HEIGHT)
    return _finish(chart, description, {"rows": rows})


def peer_chart(c: Comparison, highlight: str) -> Spec:
    """Ranked dot plot: each peer's rate with its 95% interval, the pooled rate as a rule."""
    unit = "households" if c.rate_base == "households" else "residents"
    rows = [{"area": r.area, "rate": r.rate, "lower": r.lower, "upper": r.upper,
             "rank": r.rank, "verdict": r.verdict,
             "who": highlight if r.area.lower() == highlight.lower() else "Other peers"}
            for r in c.rows]
    data = alt.Data(name="rows")
    order = [r.area for r in c.rows]
    y = alt.Y("area:N", sort=order, title=None)
    x_title = f"Crimes per 1,000 {unit}, rolling 12 months (95% interval)"
    rules = alt.Chart(data).mark_rule(color=GREY).encode(
        y=y, x=alt.X("lower:Q", title=x_title), x2=alt.X2("upper:Q"))
    dots = alt.Chart(data).mark_point(filled=True, size=70).encode(
        y=y, x=alt.X("rate:Q"),
        color=alt.Color("who:N", title=None, scale=alt.Scale(
            domain=[highlight, "Other peers"], range=[VERMILLION, BLUE]),
            legend=alt.Legend(orient="top")),
        shape=alt.Shape("who:N", scale=alt.Scale(domain=[highlight, "Other peers"],
                                                 range=["diamond", "circle"]), legend=None),
        tooltip=[alt.Tooltip(f) for f in ("area:N", "rate:Q", "lower:Q", "upper:Q", "rank:Q",
                                          "verdict:N")])
    pooled = alt.Chart(alt.Data(name="pooled")).mark_rule(
        color=ORANGE, strokeDash=[4, 3]).encode(x=alt.X("pooled:Q"))
    mine = next((r for r in c.rows if r.area.lower() == highlight.lower()), None)
    description = (
        f"Dot plot of {c.category} rates per 1,000 {unit} for {len(c.rows)} areas of "
        f"{c.group}, lowest first, with 95% intervals; dashed line: the pooled rate "
        f"{c.pooled_rate}. " + (f"{mine.area} is ranked {mine.rank} of {len(c.rows)} at "
                                f"{mine.rate}: {VERDICT[mine.verdict]}." if mine else ""))
    chart = alt.layer(rules, dots, pooled, title=f"{c.category}: {c.group}, rate per 1,000 "
                      f"{unit}", width=WIDTH - 130, height=max(100, 10 * len(rows)))
    return _finish(chart, description, {"rows": rows, "pooled": [{"pooled": c.pooled_rate}]})


def target_chart(s: TargetStatus) -> Spec:
    """The straight-line trajectory and the actual rolling 12 months."""
    rows = []
    for p in s.points:
        rows.append({"month": f"{p.month:%Y-%m-01}", "series": "Trajectory",
                     "value": p.expected})
        if p.actual is not None:
            rows.append({"month": f"{p.month:%Y-%m-01}", "series": "Actual (rolling 12 months)",
                         "value": p.actual})
    domain = ["Trajectory", "Actual (rolling 12 months)"]
    chart = alt.Chart(alt.Data(name="rows")).mark_line().encode(
        x=alt.X("month:T", title="Month", axis=alt.Axis(format="%b %y")),
        y=alt.Y("value:Q", title=f"{s.target.category} (crimes, 12 months)",
                scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=domain,
                                                                range=[GREY, BLUE]),
                        legend=alt.Legend(orient="top")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=domain,
                                                              range=[[5, 3], [1, 0]]),
                                  legend=None),
        tooltip=[alt.Tooltip("month:T", format="%b %Y"), alt.Tooltip("series:N"),
                 alt.Tooltip("value:Q")],
    ).properties(title=f"{s.target.name} ({s.area})", width=WIDTH, height=200)
    description = (
        f"Line chart of the target for {s.target.category} in {s.area}: trajectory from "
        f"{s.target.baseline:g} to {s.target_value:g} by {s.target.end:%b %Y}; actual rolling "
        f"12 months {s.actual} in {s.month:%b %Y}; projected {s.projected_end}; status "
        f"{s.status}.")
    return _finish(chart, description, {"rows": rows})
