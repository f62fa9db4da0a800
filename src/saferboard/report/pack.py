"""Write the quarterly board pack: HTML (self-contained, interactive charts) and PDF.

The same Jinja2 template renders both: the PDF variant has static SVG charts; the HTML variant
has the same SVG (so it reads offline and prints) plus the Vega-Lite specifications and the
bundled Vega JavaScript, which make the charts interactive when scripts run. Nothing in the
pack depends on the time it was made, so the same data gives the same pack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
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
from saferboard.measures.cases import BoardCases
from saferboard.measures.cohort import suppress_small_cohorts
from saferboard.measures.dashboard import (
    SOURCE_ORDER,
    Indicator,
    dashboard,
    load_sources,
    source_for,
)
from saferboard.measures.quality import SourceQuality, quality
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.trend import trend
from saferboard.measures.windows import rolling12
from saferboard.present import FLAG_MARK, RAG_LETTER
from saferboard.report import cache, charts, vega
from saferboard.report import cases as cases_report
from saferboard.report.cohort import cohort_result
from saferboard.report.governance import governance_context
from saferboard.report.places import place_pages

Progress = Callable[[int, int], None]  # (steps done, steps in all), as in measures


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


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """The pack's templates compiled, in the user's cache folder (report.cache: private,
    since they run as code): compiling them took 0.12 s of CPU of each build. Jinja checks
    each file against the template's source and against its own and Python's versions; the
    folder is named after this module's source, where the Environment's options are set, so
    a change to either compiles again, and the folders of other versions are removed once
    unused for cache.CACHE_DAYS. An optimisation only: any error reading or writing a file
    compiles as without it."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with suppress(OSError):
            super().load_bytecode(bucket)
            cache.used(Path(self._get_cache_filename(bucket)))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with suppress(OSError):
            super().dump_bytecode(bucket)


def _template_cache() -> _CompiledTemplates | None:
    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    path = cache.folder(f"pack-templates-{version}")
    if path is None:
        return None
    cache.prune(path, "pack-templates-*")
    return _CompiledTemplates(str(path))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("saferboard.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never "None"
        trim_blocks=True, lstrip_blocks=True, finalize=finalize,
        bytecode_cache=_template_cache(),
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:+.1f}%"
    env.filters["month"] = lambda d: f"{d:%b %Y}"
    env.filters["cell"] = _cell
    env.filters["svg_data_uri"] = _svg_data_uri
    env.globals.update(RAG_LETTER=RAG_LETTER, FLAG_MARK=FLAG_MARK)
    return env


def _css() -> str:
    return (resources.files("saferboard.report") / "templates" / "pack.css").read_text(
        encoding="utf-8")


def _quality_notes(rows: tuple[SourceQuality, ...]) -> list[str]:
    """The analyst's data-quality detail (the appendix): sources, raw labels, row counts
    and how to fix them, as `saferboard quality` lists them."""
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
        for u in q.unmapped_labels:
            notes.append(f"{name}: label '{u.label}' is not in the category mapping: "
                         f"{u.summary}.")
        if q.unmapped and not q.unmapped_labels:
            notes.append(f"{name}: labels with no category (counted in no category): "
                         + ", ".join(f"{k} ({v:,})" for k, v in q.unmapped.items()) + ".")
        if "2011" in q.lsoa_vintage and "2021" in q.lsoa_vintage:
            notes.append(f"{name}: LSOA codes of both 2011 and 2021 censuses occur (police.uk "
                         "moved to 2021 LSOAs during 2022-23); local authorities are taken "
                         "from LSOA names, which both share.")
    if any(q.unmapped for q in rows):
        notes.append("To place the labels above, add them to a --categories file ([mps] for "
                     "a label, [mps_major] for a group; no re-import is needed) and write the "
                     "pack again; `saferboard quality` lists them with their months.")
    return notes


# ------------------------------------------------------------ the board's words
# The "About this pack" page is read by board members: it says what is missing and what
# that means for the figures, without raw labels, file names or commands. Everything an
# analyst needs to fix it is in the appendix (and in `saferboard quality`).

_SOURCE_WORDS = {
    ("mps", "borough"): "Metropolitan Police borough figures",
    ("mps", "ward"): "Metropolitan Police ward figures",
    ("policeuk", "street"): "police.uk street-level crime records",
    ("policeuk", "outcomes"): "police.uk crime outcome records",
    ("policeuk", "stop-and-search"): "police.uk stop-and-search records",
}
_SMALL = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve")


def _count(n: int, noun: str) -> str:
    """'two months', '1,234 crimes': small numbers in words, as a reader says them."""
    number = _SMALL[n] if 0 <= n < len(_SMALL) else f"{n:,}"
    return f"{number} {noun}{'' if n == 1 else 's'}"


def _months_words(months: Sequence[date]) -> str:
    """'Mar 2024', 'Mar to Jun 2024', 'Mar 2023 to Feb 2024' for a run of months; months
    that are not one run are listed ('Mar 2024, Jun 2024 and Aug 2024')."""
    ordered = sorted(months)
    first, last = ordered[0], ordered[-1]
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    if span != len(ordered):  # not one run: a range would claim months that are present
        shown = [f"{m:%b %Y}" for m in ordered[:4]]
        more = len(ordered) - len(shown)
        if more:
            return ", ".join(shown) + f" and {_count(more, 'other month')}"
        return ", ".join(shown[:-1]) + f" and {shown[-1]}"
    if first == last:
        return f"{first:%b %Y}"
    if first.year == last.year:
        return f"{first:%b} to {last:%b %Y}"
    return f"{first:%b %Y} to {last:%b %Y}"


def _force_words(force: str) -> str:
    named = {"metropolitan": "Metropolitan Police", "city-of-london": "City of London Police"}
    return named.get(force, force.replace("-", " ").title() + " Police")


def _source_words(source: str, kind: str, force: str) -> str:
    """'police.uk street-level crime records for the City of London Police'; the MPS tables
    need no force ('Metropolitan Police borough figures')."""
    what = _SOURCE_WORDS.get((source, kind), f"{source} {kind} data")
    return what if source == "mps" else f"{what} for the {_force_words(force)}"


def _quality_words(rows: tuple[SourceQuality, ...]) -> list[str]:
    """The data-quality caveats in plain English (the about page)."""
    words = []
    for q in rows:
        what = _source_words(q.source, q.kind, q.force)
        if q.months_missing:
            missing = [date(int(m[:4]), int(m[5:7]), 1) for m in q.months_missing]
            words.append(f"The {what} are missing {_count(len(missing), 'month')} "
                         f"({_months_words(missing)}). Figures for periods that include them "
                         "are not shown, or are marked incomplete.")
        if q.rows_without_lsoa:
            words.append(f"{q.rows_without_lsoa:,} of the {what} have no recorded location: "
                         "they count in the force's totals but in no borough's.")
        if q.revised_months:
            words.append(f"The {_force_words(q.force)} revised "
                         f"{_count(q.revised_months, 'month')} of its figures in a later "
                         "release; the latest figures are used.")
        if q.unmapped:
            crimes = (sum(u.crimes for u in q.unmapped_labels) if q.unmapped_labels
                      else sum(q.unmapped.values()))
            words.append(f"{crimes:,} crimes in the {what} (all areas and months held) are "
                         f"recorded under {_count(len(q.unmapped), 'crime type')} this tool "
                         "does not yet recognise. Figures that may be missing them are marked "
                         "incomplete and carry no RAG rating.")
        if "2011" in q.lsoa_vintage and "2021" in q.lsoa_vintage:
            words.append(f"The {what} switched to the 2021 census neighbourhood areas "
                         "during 2022-23; both old and new areas are matched to their "
                         "borough, so borough figures are not affected.")
    return words


def _indicator_words(row: Indicator, sources: dict[str, MonthlyCounts], cats: Categories
                     ) -> list[str]:
    """What is missing from one dashboard indicator, and what it means for its figures."""
    if row.complete and row.source is not None:
        return []
    r12 = rolling12(row.month)
    needed = [*r12.year_earlier().months, *r12.months]
    table = sources.get(row.source) if row.source else next(
        (sources[s] for s in SOURCE_ORDER if sources[s].has_area(row.area)
         and sources[s].has_category(row.area, row.category, cats)), None)
    if table is None:
        return [f"{row.category} is not shown: none of the data sources holds it for "
                f"{row.area}."]
    name = table.areas[table.area_index(row.area)] if table.has_area(row.area) else row.area
    covered = table.covered.get(name, frozenset())
    missing = [m for m in needed if m not in covered]
    if row.source is None:
        if not missing or len(missing) == len(needed):
            return [f"{row.category} is not shown: the data do not cover the 24 months to "
                    f"{row.month:%b %Y} that its comparisons need."]
        return [f"{row.category} figures are missing {_count(len(missing), 'month')} "
                f"({_months_words(missing)}), so its figures and the comparison with a year "
                "earlier are not shown."]
    words = []
    # Partial history: the parts whose months are missing are not computed (None).
    absent = [what for what, gone in (
        ("the latest quarter's comparison with a year earlier", row.quarter_volume is None),
        ("the 12-month figure, its rate and ranks", row.rolling12_volume is None),
        ("the comparison of the latest 12 months with the 12 before", row.p_value is None
         and row.rolling12_volume is not None)) if gone]
    rating = ("and it carries no RAG rating" if row.rag is None else
              "and its RAG rating rests on the other measures only")
    if missing and absent:
        words.append(f"{row.category} figures are missing {_count(len(missing), 'month')} "
                     f"({_months_words(missing)}), so {' and '.join(absent)} "
                     f"{'is' if len(absent) == 1 else 'are'} not shown, {rating}.")
    elif missing:  # allow_partial: every window summed over the months present
        words.append(f"{row.category} figures are missing {_count(len(missing), 'month')} "
                     f"({_months_words(missing)}). The figures shown use the months "
                     "available, so they are likely to be too low, and carry no RAG rating.")
    gaps = table.gaps(name, row.category, cats, needed[0], needed[-1])
    if gaps:
        crimes = sum(g.crimes for g in gaps)
        words.append(f"{row.category}: {crimes:,} crimes in the two years to "
                     f"{row.month:%b %Y} are recorded under crime types this tool does not "
                     "yet recognise, so some may be missing from this figure. It may be too "
                     "low and carries no RAG rating.")
    if not words and row.caveats:  # a caveat of a kind not worded here is never dropped
        words.append(f"{row.category} figures are incomplete (the appendix says why), so "
                     "they carry no RAG rating." if row.rag is None else
                     f"{row.category} figures are incomplete (the appendix says why).")
    return words


_COMMAND = re.compile(r"\s*\((?:saferboard|--)[^)]*\)")


_NO_POINTS = re.compile(r"Places, (.+?): no page - no police\.uk street crimes with "
                       "coordinates")


def _sections_words(notes: Sequence[str], area: str) -> list[str]:
    """The left-out or trimmed sections in plain English, one sentence each, with the
    hotspot maps that have nothing to map in one."""
    unmapped = [m[1] for n in notes if (m := _NO_POINTS.match(n))]
    words = [_section_words(n, area) for n in notes if not _NO_POINTS.match(n)]
    if unmapped:
        kinds = (unmapped[0] if len(unmapped) == 1 else
                 ", ".join(unmapped[:-1]) + f" and {unmapped[-1]}")
        words.append(f"There is no hotspot map for {kinds}: police.uk holds no such crimes "
                     f"with a location in {area} for the period.")
    return words


def _section_words(note: str, area: str) -> str:
    """A left-out or trimmed section in plain English, from the analyst's note (these come
    from the section builders; the detail and the commands stay in the appendix)."""
    if m := re.match(r"Places: police\.uk street data for .+? ends (.+?); the hotspot pages "
                     r"cover (.+?), not", note):
        return (f"The hotspot maps cover {m[2]}, the latest police.uk street data for "
                f"{area}, so they are older than the rest of the pack.")
    if m := re.match(r"Places, (.+?): no page", note):
        return f"There is no hotspot map for {m[1]} (the appendix says why)."
    if note.startswith("Places: no police.uk street crimes"):
        return f"There are no hotspot maps: no police.uk street crimes for {area} are held."
    if m := re.match(r"(.+?): no peer comparison", note):
        return f"{m[1]}: the comparison with peer areas could not be made for this period."
    if m := re.match(r"Target '(.+?)': not assessed", note):
        return f"The target '{m[1]}' could not be assessed with the data available."
    if note.startswith("Targets: none configured"):
        return f"No targets are set for {area}."
    if note == cases_report.OMITTED_NOTE:
        return cases_report.OMITTED_WORDS
    if m := re.match(r"Value for money: (model|appraisal) '(.+?)' not shown", note):
        return f"Value for money: the {m[1]} '{m[2]}' could not be read and is not shown."
    if m := re.match(r"(Victims and offenders: )?(.+?): no '.+?' incidents", note):
        name = m[2] if m[2][1:2].isupper() else m[2][:1].lower() + m[2][1:]  # keep 'ASB'
        return (f"Victims and offenders: {name} is not shown: the partner data for it have "
                "not been loaded.")
    if note.startswith("MARAC: no referrals") or "Victims and offenders: MARAC" in note:
        return "Victims and offenders: MARAC is not shown: no referral data have been loaded."
    if m := re.match(r"(Offender cohort|Cost of crime): ", note):
        return f"{m[1]} is not shown: it could not be produced from the data held."
    # Others are already plain sentences; commands (in brackets) and detail after " - "
    # belong to the appendix.
    text = _COMMAND.sub("", note).split(" - ")[0].rstrip(". ")
    return text + "."


def _svg_data_uri(svg: str) -> str:
    """The SVG as an <img> source for the PDF's HTML (see the template's figure macro)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _vega_javascript() -> str:
    """Vega, Vega-Lite and vega-embed as one script (for the HTML's interactive charts).
    vl-convert takes about 2 s to bundle them in each new process, so the bundle is kept in
    the user's cache folder (report.cache: private, since it runs in the pack's HTML), one
    file per vl-convert version (the version fixes the bundle); other versions' bundles
    go once unused for cache.CACHE_DAYS. The cache is an optimisation only: any error
    reading or writing it falls back to bundling."""
    import vl_convert as vlc

    base = cache.folder()
    path = None if base is None else base / f"vl-convert-{vega.vl_convert_version()}-bundle.js"
    if path is not None:
        cache.prune(path, "vl-convert-*")  # other versions' bundles and partial files
        try:
            bundle = path.read_text(encoding="utf-8")
            cache.used(path)
            return bundle
        except (OSError, UnicodeDecodeError):
            pass
    # The package's stub marks the optional snippet argument as required.
    bundle = vlc.javascript_bundle()  # type: ignore[call-arg]
    if path is not None:
        cache.write_whole(path, bundle)
    return bundle


@dataclass
class _Figures:
    """The pack's charts and maps: each spec goes to the converter (a child process) as it
    is made; `fill` sets every figure's SVG once all are made."""

    converter: vega.Converter
    made: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, chart_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        self.converter.submit(spec)
        self.made.append({"id": chart_id, "spec": spec, "svg": "", "alt": spec["description"]})
        return self.made[-1]

    def fill(self) -> None:
        for figure, svg in zip(self.made, self.converter.finish(), strict=True):
            figure["svg"] = svg


def _people(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config,
            sources: dict[str, MonthlyCounts], area: str, month: date, audience: Audience,
            include_unverified: bool) -> tuple[dict[str, Any], list[str]]:
    """The victims and offenders pages and the cost of crime (partner data, suppressed).
    Without audience.people: no victims and offenders pages, and the cost of crime without
    the offender cohort's part."""
    from saferboard.core.crime_costs import load_unit_costs
    from saferboard.measures.costs import cost_report
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
    units = load_unit_costs()
    costs, cost_notes = cost_section(sources, cats, units, area, month,
                                     cohort=result, include_unverified=include_unverified)
    notes += cost_notes
    cost_caveats: tuple[str, ...] = ()
    if costs is not None:  # the section's own notes do not carry the report's caveats
        cost_caveats = cost_report(sources, cats, units, area, month,
                                   include_unverified=include_unverified).caveats
    return {"people": people, "cohort": cohort, "costs": costs,
            "cost_caveats": cost_caveats}, notes


def build_context(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config,
                  area: str, month: date, timer: _Timer | None = None,
                  audience: Audience = EVERYONE, include_unverified: bool = False,
                  allow_partial: bool = False, progress: Progress | None = None,
                  cases: BoardCases | None = None,
                  sources: dict[str, MonthlyCounts] | None = None) -> dict[str, Any]:
    """Everything the template shows, computed from the measures, for `audience`: the pack
    holds only what its reader may see (every section of HTML, PDF and XLSX comes from
    this context). `allow_partial` as for the dashboard. `progress(done, total)` after each
    step (the dashboard, each category page, targets, places, people, governance). `cases`:
    the case register's aggregates for the ASB cases page (None: no page, and the about
    page says so). `sources`: load_sources(con, cats) when the caller has already read it
    (to find the month), so the store is not read twice; None reads it here."""
    timer = timer or _Timer()
    # Converts the charts while the measures run; a chart drawn before (another audience's
    # pack, the same pack again) comes from the user's cache (see vega.Converter).
    with vega.Converter(cache.folder()) as converter:
        figures = _Figures(converter)
        context = _context(con, cats, config, area, month, timer, audience,
                           include_unverified, allow_partial, progress, cases, sources,
                           figures)
        with timer("charts"):  # waiting for the SVGs the converter has not yet finished
            figures.fill()
    return context


def _context(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config, area: str,
             month: date, timer: _Timer, audience: Audience, include_unverified: bool,
             allow_partial: bool, progress: Progress | None, cases: BoardCases | None,
             sources: dict[str, MonthlyCounts] | None, figure: _Figures) -> dict[str, Any]:
    """build_context's work; each figure's SVG is filled in afterwards."""
    steps = _Steps(progress, _context_steps(config))
    with timer("measures"):
        sources = load_sources(con, cats) if sources is None else sources
        board = dashboard(sources, cats, config, area, month, allow_partial=allow_partial)
        dq = quality(con, cats)
    steps.advance()
    notes: list[str] = []  # the analyst's notes (appendix, and the CLI's stderr)
    about: list[str] = []  # the same in plain English for the board (about this pack)
    pages: list[dict[str, Any]] = []
    no_page: set[str] = set()
    group = config.region
    row_words: dict[str, list[str]] = {}  # beside each figure: the board's words
    for row in board.rows:
        row_words[row.category] = _indicator_words(row, sources, cats)
        about += row_words[row.category]
        if row.source is None:
            no_page.add(f"{row.category}: no page - {row.note}.")
            notes.append(f"{row.category}: no page - {row.note}.")
            steps.advance()
            continue
        table = sources[row.source]
        with timer("measures"):
            t = trend(table, cats, board.area, row.category, month,
                      method=config.dashboard.exception_method)
        figures = [figure(f"trend-{len(pages)}", charts.trend_chart(t))]
        peer = None
        try:
            with timer("measures"):
                peer = compare_mod.compare(table, cats, row.category, month, group,
                                           config.peer_groups[group], rate_base=row.rate_base,
                                           others=list(sources.values()))
            figures.append(figure(f"peer-{len(pages)}", charts.peer_chart(peer, board.area)))
        except InputError as e:
            notes.append(f"{row.category}: no peer comparison - {e}.")
        pages.append({"row": row, "trend": t, "peer": peer, "charts": figures})
        steps.advance()
    target_rows: list[dict[str, Any]] = []
    target_caveats: list[str] = []
    for tgt in config.targets:
        if (tgt.area or config.area).lower() != board.area.lower():
            continue
        try:
            table = source_for(sources, cats, board.area, tgt.category)
            status = targets_mod.target_status(table, cats, tgt, board.area, month)
        except InputError as e:
            notes.append(f"Target '{tgt.name}': not assessed - {e}.")
            continue
        target_caveats += [f"Target '{tgt.name}': {c}" for c in status.caveats]
        if not status.complete:
            about.append(f"The target '{tgt.name}': some crimes in its latest 12 months are "
                         "recorded under crime types this tool does not yet recognise, so "
                         "the actual figure may be too low and no status is given.")
        target_rows.append({"status": status, "chart": figure(
            f"target-{len(target_rows)}", charts.target_chart(status))})
    if not target_rows:
        notes.append(f"Targets: none configured for {board.area} (add [[targets]] to the "
                     "partnership configuration).")
    steps.advance()
    with timer("measures"):
        place_list, place_notes = place_pages(con, cats, config, board.area, month)
    notes += place_notes
    places: list[dict[str, Any]] = [
        {"page": pl, "chart": figure(f"place-{i}", pl.map_spec)}
              for i, pl in enumerate(place_list)]
    steps.advance()
    with timer("measures"):
        people, people_notes = _people(con, cats, config, sources, board.area, month,
                                       audience, include_unverified)
    notes += people_notes
    cost_caveats = list(people.pop("cost_caveats"))
    if cost_caveats:
        about.append("Cost of crime: some crimes are recorded under crime types this tool "
                     "does not yet recognise, so they are costed at an average rate or not "
                     "at all, and the totals may be wrong.")
    steps.advance()
    with timer("measures"):  # value for money, funded projects, action plan (when in store)
        governance, governance_notes = governance_context(con, month, audience)
    notes += governance_notes
    steps.advance()
    if cases is None:
        notes.append(cases_report.OMITTED_NOTE)
    # A category without a page is already in the board's words (_indicator_words).
    about += _sections_words([n for n in notes if n not in no_page], board.area)
    coverage = [{"name": _SOURCE_WORDS.get((q.source, q.kind), f"{q.source} {q.kind}"),
                 "force": _force_words(q.force),
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
        "cases": None if cases is None else cases_report.cases_section(cases),
        "coverage": coverage, "glossary": glossary, "groups": groups, "css": _css(),
        "row_words": row_words,
        "audience_note": audience.describe(),
        # About this pack: the board's words (no labels, files or commands).
        "quality_notes": _quality_words(dq), "notes": list(dict.fromkeys(about)),
        # Appendix: data notes for analysts (as `saferboard quality` and the CLI say them).
        "appendix": {
            "quality": _quality_notes(dq),
            "indicators": [f"{r.category}: {c}" for r in board.rows for c in r.caveats],
            "targets": target_caveats,
            "costs": cost_caveats,
            "sections": notes,
        },
    }


def _context_steps(config: Config) -> int:
    """Steps of build_context: the dashboard, a page per category, targets, places, people,
    governance."""
    return 1 + len(config.dashboard.categories) + 4


@dataclass
class _Steps:
    """Calls `progress(done, total)` as steps finish (nothing when it is None)."""

    progress: Progress | None
    total: int
    done: int = 0

    def advance(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def write_pack(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config, area: str,
               month: date, out_dir: Path, *, xlsx: bool = False, pdf: bool = True,
               audience: Audience = EVERYONE, include_unverified: bool = False,
               allow_partial: bool = False, progress: Progress | None = None,
               cases: BoardCases | None = None,
               sources: dict[str, MonthlyCounts] | None = None) -> PackResult:
    """Write out_dir/pack.html, out_dir/pack.pdf (unless not `pdf`: rendering it is most of
    the time) and pack.xlsx (with `xlsx`), holding only what `audience` may see.
    `allow_partial`: dashboard indicators whose windows miss a month are computed from the
    months present (marked incomplete, no RAG). `progress(done, total)` after each step.
    `sources` as for build_context."""
    timer = _Timer()
    context_steps = _context_steps(config)
    total = context_steps + 1 + int(pdf) + int(xlsx)  # + HTML, PDF, XLSX
    steps = _Steps(progress, total, done=context_steps)  # the context's steps come first
    context = build_context(
        con, cats, config, area, month, timer, audience, include_unverified, allow_partial,
        None if progress is None else lambda done, _steps: progress(done, total), cases,
        sources)
    env = _environment()
    template = env.get_template("pack.html.j2")
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out_dir / "pack.html", out_dir / "pack.pdf"

    def html_variant() -> str:
        specs = {c["id"]: c["spec"] for p in context["pages"] for c in p["charts"]}
        specs.update({t["chart"]["id"]: t["chart"]["spec"] for t in context["targets"]})
        specs.update({p["chart"]["id"]: p["chart"]["spec"] for p in context["places"]})
        return template.render(**context, interactive=True, vega_js=_vega_javascript(),
                               specs_json=json.dumps(specs, sort_keys=True))

    with timer("html"):
        html_path.write_text(html_variant(), encoding="utf-8")
    steps.advance()
    pages = 0
    if pdf:
        import weasyprint  # about 1 s to import: only when a PDF is asked for

        with timer("pdf"):
            pdf_html = template.render(**context, interactive=False, vega_js="",
                                       specs_json="{}")
            document = weasyprint.HTML(string=pdf_html, base_url=str(out_dir)).render()
            document.write_pdf(pdf_path)
            pages = len(document.pages)
        steps.advance()
    xlsx_path = None
    if xlsx:
        from saferboard.report.xlsx import write_xlsx

        xlsx_path = out_dir / "pack.xlsx"
        with timer("xlsx"):
            write_xlsx(context, xlsx_path)
        steps.advance()
    return PackResult(html_path, pdf_path if pdf else None, xlsx_path, pages,
                      tuple(context["appendix"]["sections"]), timer.spent)
