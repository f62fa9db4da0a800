"""Write the quarterly board pack: HTML (self-contained, interactive charts) and PDF.

The same Jinja2 template renders both: the PDF variant has static SVG charts; the HTML variant
has the same SVG (so it reads offline and prints) plus the Vega-Lite specifications and the
bundled Vega JavaScript, which make the charts interactive when scripts run. Nothing in the
pack depends on the time it was made, so the same data gives the same pack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from saferboard.core.audience import EVERYONE, Audience
from saferboard.core.categories import Categories
from saferboard.core.config import Config
from saferboard.core.errors import InputError
from saferboard.core.text import finalize
from saferboard.measures import compare as compare_mod
from saferboard.measures import targets as targets_mod
from saferboard.measures.area_rates import METHOD as AREA_RATES_METHOD
from saferboard.measures.cohort import suppress_small_cohorts
from saferboard.measures.dashboard import dashboard, load_sources, source_for
from saferboard.measures.quality import SourceQuality, quality
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.trend import trend
from saferboard.present import FLAG_MARK, RAG_LETTER
from saferboard.report import charts
from saferboard.report.cohort import cohort_result
from saferboard.report.governance import governance_context
from saferboard.report.places import place_pages


@dataclass(frozen=True)
class PackResult:
    html: Path
    pdf: Path | None  # None when not asked for (the web's HTML and XLSX downloads)
    xlsx: Path | None
    pages: int  # of the PDF; 0 without one
    notes: tuple[str, ...]  # sections skipped or trimmed, and why
    seconds: dict[str, float] = field(default_factory=dict)  # where the time went


@dataclass
class _Timer:
    """Seconds spent per phase, for the benchmark's 'share in chart rendering'."""

    spent: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - start


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{value:,.0f}"


def _cell(value: object) -> str:
    """A table cell of the people pages: the measures round; thousands get separators."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("saferboard.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never "None"
        trim_blocks=True, lstrip_blocks=True, finalize=finalize,
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:+.1f}%"
    env.filters["month"] = lambda d: f"{d:%b %Y}"
    env.filters["cell"] = _cell
    env.globals.update(RAG_LETTER=RAG_LETTER, FLAG_MARK=FLAG_MARK)
    return env


def _css() -> str:
    return (resources.files("saferboard.report") / "templates" / "pack.css").read_text(
        encoding="utf-8")


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(spec)
    return svg[svg.index("<svg"):]  # drop the XML declaration: the SVG sits inside HTML


def _quality_notes(rows: tuple[SourceQuality, ...]) -> list[str]:
    notes = []
    for q in rows:
        name = f"{q.source} {q.kind} ({q.force})"
        if q.months_missing:
            notes.append(f"{name}: missing months {', '.join(q.months_missing[:12])}"
                         + (" and more" if len(q.months_missing) > 12 else "") + ".")
        if q.rows_without_lsoa:
            notes.append(f"{name}: {q.rows_without_lsoa:,} rows have no location (LSOA); "
                         "they count for the force but for no local authority.")
        if q.revised_months:
            notes.append(f"{name}: {q.revised_months} months were published in more than "
                         "one release; the newest release is used.")
        if q.unmapped:
            notes.append(f"{name}: labels with no category (counted in no category): "
                         + ", ".join(f"{k} ({v:,})" for k, v in q.unmapped.items()) + ".")
        if "2011" in q.lsoa_vintage and "2021" in q.lsoa_vintage:
            notes.append(f"{name}: LSOA codes of both 2011 and 2021 censuses occur (police.uk "
                         "moved to 2021 LSOAs during 2022-23); local authorities are taken "
                         "from LSOA names, which both share.")
    return notes


def _figure(chart_id: str, spec: dict[str, Any], timer: _Timer) -> dict[str, Any]:
    with timer("charts"):
        svg = _svg(spec)
    return {"id": chart_id, "spec": spec, "svg": svg, "alt": spec["description"]}


def _people(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config,
            sources: dict[str, MonthlyCounts], area: str, month: date, audience: Audience,
            include_unverified: bool) -> tuple[dict[str, Any], list[str]]:
    """The victims and offenders pages and the cost of crime (partner data, suppressed).
    Without audience.people: no victims and offenders pages, and the cost of crime without
    the offender cohort's part."""
    from saferboard.measures.costs import load_unit_costs
    from saferboard.measures.windows import shift
    from saferboard.report.cohort import cost_section, section_from
    from saferboard.report.people import PEOPLE_TABLES, people_section

    threshold = config.suppress_below
    notes: list[str] = []
    result, cohort = None, None
    if audience.people:
        people = people_section(con, month, threshold)
        notes += [f"Victims and offenders: {n}" for n in people.pop("notes")]
        result, cohort_notes = cohort_result(con, shift(month, 1) - timedelta(days=1))
        notes += cohort_notes
        if result is not None:
            cohort = section_from(suppress_small_cohorts(result, threshold))
    else:
        people = {"month": f"{month:%b %Y}", "threshold": threshold,
                  **dict.fromkeys(PEOPLE_TABLES)}
    costs, cost_notes = cost_section(sources, cats, load_unit_costs(), area, month,
                                     cohort=result, include_unverified=include_unverified)
    notes += cost_notes
    return {"people": people, "cohort": cohort, "costs": costs}, notes


def build_context(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config,
                  area: str, month: date, timer: _Timer | None = None,
                  audience: Audience = EVERYONE, include_unverified: bool = False
                  ) -> dict[str, Any]:
    """Everything the template shows, computed from the measures, for `audience`: the pack
    holds only what its reader may see (every section of HTML, PDF and XLSX comes from
    this context)."""
    timer = timer or _Timer()
    with timer("measures"):
        sources = load_sources(con, cats)
        board = dashboard(sources, cats, config, area, month)
        dq = quality(con, cats)
    notes: list[str] = []
    pages: list[dict[str, Any]] = []
    group = config.region
    for row in board.rows:
        if row.source is None:
            notes.append(f"{row.category}: no page - {row.note}.")
            continue
        table = sources[row.source]
        with timer("measures"):
            t = trend(table, cats, board.area, row.category, month,
                      method=config.dashboard.exception_method)
        figures = [_figure(f"trend-{len(pages)}", charts.trend_chart(t), timer)]
        peer = None
        try:
            with timer("measures"):
                peer = compare_mod.compare(table, cats, row.category, month, group,
                                           config.peer_groups[group], rate_base=row.rate_base)
            figures.append(_figure(f"peer-{len(pages)}", charts.peer_chart(peer, board.area),
                                   timer))
        except InputError as e:
            notes.append(f"{row.category}: no peer comparison - {e}.")
        pages.append({"row": row, "trend": t, "peer": peer, "charts": figures})
    target_rows: list[dict[str, Any]] = []
    for tgt in config.targets:
        if (tgt.area or config.area).lower() != board.area.lower():
            continue
        try:
            table = source_for(sources, cats, board.area, tgt.category)
            status = targets_mod.target_status(table, cats, tgt, board.area, month)
        except InputError as e:
            notes.append(f"Target '{tgt.name}': not assessed - {e}.")
            continue
        target_rows.append({"status": status, "chart": _figure(
            f"target-{len(target_rows)}", charts.target_chart(status), timer)})
    if not target_rows:
        notes.append(f"Targets: none configured for {board.area} (add [[targets]] to the "
                     "partnership configuration).")
    with timer("measures"):
        place_list, place_notes = place_pages(con, cats, config, board.area, month)
    notes += place_notes
    places: list[dict[str, Any]] = [
        {"page": pl, "chart": _figure(f"place-{i}", pl.map_spec, timer)}
              for i, pl in enumerate(place_list)]
    with timer("measures"):
        people, people_notes = _people(con, cats, config, sources, board.area, month,
                                       audience, include_unverified)
    notes += people_notes
    with timer("measures"):  # value for money, funded projects, action plan (when in store)
        governance, governance_notes = governance_context(con, month, audience)
    notes += governance_notes
    coverage = [{"name": f"{q.source} {q.kind}", "force": q.force,
                 "first": q.first_month, "last": q.last_month, "rows": q.rows}
                for q in dq]
    glossary = dict(board.glossary)
    glossary["Peer comparison chart"] = compare_mod.METHOD
    glossary["Targets"] = targets_mod.METHOD
    if places:
        glossary["Hotspot map"] = places[0]["page"].method
        glossary["LSOA rates"] = AREA_RATES_METHOD
    groups = sorted({g for r in board.rows for g in r.ranks})
    return {
        "config": config, "board": board, "pages": pages, "targets": target_rows,
        "places": places, **people, "governance": governance,
        "coverage": coverage, "quality_notes": _quality_notes(dq), "notes": notes,
        "glossary": glossary, "groups": groups, "css": _css(),
        "audience_note": audience.describe(),
    }


def write_pack(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config, area: str,
               month: date, out_dir: Path, *, xlsx: bool = False, pdf: bool = True,
               audience: Audience = EVERYONE, include_unverified: bool = False
               ) -> PackResult:
    """Write out_dir/pack.html, out_dir/pack.pdf (unless not `pdf`: rendering it is most of
    the time) and pack.xlsx (with `xlsx`), holding only what `audience` may see."""
    import weasyprint

    timer = _Timer()
    context = build_context(con, cats, config, area, month, timer, audience,
                            include_unverified)
    env = _environment()
    template = env.get_template("pack.html.j2")
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out_dir / "pack.html", out_dir / "pack.pdf"

    def html_variant() -> str:
        import vl_convert as vlc

        specs = {c["id"]: c["spec"] for p in context["pages"] for c in p["charts"]}
        specs.update({t["chart"]["id"]: t["chart"]["spec"] for t in context["targets"]})
        specs.update({p["chart"]["id"]: p["chart"]["spec"] for p in context["places"]})
        # The package's stub marks the optional snippet argument as required.
        bundle = vlc.javascript_bundle()  # type: ignore[call-arg]
        return template.render(**context, interactive=True, vega_js=bundle,
                               specs_json=json.dumps(specs, sort_keys=True))

    with timer("html"):
        html_path.write_text(html_variant(), encoding="utf-8")
    pages = 0
    if pdf:
        with timer("pdf"):
            pdf_html = template.render(**context, interactive=False, vega_js="",
                                       specs_json="{}")
            document = weasyprint.HTML(string=pdf_html, base_url=str(out_dir)).render()
            document.write_pdf(pdf_path)
            pages = len(document.pages)
    xlsx_path = None
    if xlsx:
        from saferboard.report.xlsx import write_xlsx

        xlsx_path = out_dir / "pack.xlsx"
        with timer("xlsx"):
            write_xlsx(context, xlsx_path)
    return PackResult(html_path, pdf_path if pdf else None, xlsx_path, pages,
                      tuple(context["notes"]), timer.spent)
