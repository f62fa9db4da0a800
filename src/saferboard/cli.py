"""The `saferboard` command: a thin Typer layer that parses, calls one function, renders.

Errors become one line on stderr and a non-zero exit here, and only here (--debug shows the
traceback).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import asdict
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from saferboard import __version__, categories, store
from saferboard.errors import SaferboardError
from saferboard.sources.fetch import DEFAULT_BASE_URL
from saferboard.sources.ingest import FileReport, IngestReport, ingest

if TYPE_CHECKING:  # only annotations: importing them costs ~0.7 s (scipy.stats, altair)
    from saferboard.config import Config
    from saferboard.measures.dashboard import Dashboard
    from saferboard.measures.hotspots import HotspotResult, Hotspots
    from saferboard.measures.series import MonthlyCounts
    from saferboard.report.pack import PackResult

app = typer.Typer(
    help="saferboard: crime and partner data to board-ready analysis for Community Safety "
    "Partnerships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output is not squeezed to 80 columns: analysts paste it into emails and notes.
out = Console() if sys.stdout.isatty() else Console(width=200)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB store (default: $SAFERBOARD_DB, else ./saferboard.duckdb)"),
]
CategoriesOption = Annotated[
    Path | None,
    typer.Option("--categories", help="Category mapping to lay over the shipped one "
                 "(default: $SAFERBOARD_CATEGORIES)"),
]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Partnership configuration TOML (default: "
                 "$SAFERBOARD_CONFIG, else the shipped Barnet configuration)"),
]


def parse_month(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not m or not 1 <= int(m[2]) <= 12:
        raise typer.BadParameter(f"expected YYYY-MM, got {value!r}", param_hint=option)
    return date(int(m[1]), int(m[2]), 1)


def _plain(value: Any) -> Any:
    """Months are stored as first-of-month dates and shown as YYYY-MM."""
    if isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def emit(rows: list[dict[str, Any]], fmt: Format, title: str | None = None,
         columns: list[str] | None = None) -> None:
    """Print rows as a Rich table, CSV or JSON (CSV keeps its header even with no rows)."""
    rows = [_plain(r) for r in rows]
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    columns = columns or (list(rows[0]) if rows else [])
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if r[c] is None else r[c] for c in columns] for r in rows])
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title, show_lines=False)
    for c in columns:
        numeric = rows and isinstance(rows[0][c], int | float) and not isinstance(rows[0][c], bool)
        table.add_column(c, justify="right" if numeric else "left")
    for r in rows:
        table.add_row(*(_cell(r[c]) for c in columns))
    if not rows:
        out.print("(no rows)")
    else:
        out.print(table)


def _progress(files_total: int) -> tuple[Progress, Any]:
    progress = Progress(
        TextColumn("[bold]importing"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.description}"), TimeRemainingColumn(), console=err,
        transient=True, disable=not err.is_terminal,
    )
    task = progress.add_task("", total=files_total)
    return progress, task


def run_ingest(db: Path | None, paths: list[Path], mapping: Path | None) -> IngestReport:
    from saferboard.sources.files import discover

    cats = categories.load(mapping)
    found = discover(list(paths))
    db_path = store.resolve_db_path(db)
    existed = db_path.exists()
    try:
        con = store.connect(db_path)
        try:
            progress, task = _progress(len(found.files))
            with progress:
                report = ingest(
                    con, paths, cats, files=found.files,
                    progress=lambda f: progress.update(task, advance=1, description=f.name),
                )
        finally:
            con.close()
    except BaseException:
        if not existed:  # leave no empty store behind: the database is as it was (absent)
            for p in (db_path, db_path.with_name(db_path.name + ".wal")):
                p.unlink(missing_ok=True)
        raise
    return IngestReport(report.files, tuple(found.ignored))


def print_ingest_report(report: IngestReport) -> None:
    rows = [_file_row(f) for f in report.files]
    emit(rows, Format.table, title="Imported batches")
    loaded = [f for f in report.files if not f.status.startswith("skipped")]
    skipped = len(report.files) - len(loaded)
    no_area = sum(f.rows_without_area for f in loaded)
    out.print(f"{report.rows_loaded:,} rows loaded from {len(loaded)} file(s); "
              f"{skipped} identical file(s) skipped.")
    if no_area:
        out.print(f"{no_area:,} police.uk rows have no LSOA: they count for their force but "
                  "for no local authority.")
    for f in loaded:
        if f.revised_months:
            out.print(f"{f.path}: newer release; revises {f.revised_months} month(s) "
                      "already loaded from older releases.")
        if f.superseded_months:
            out.print(f"{f.path}: {f.superseded_months} month(s) are superseded by a newer "
                      "release already loaded (the newer one is used).")
        if f.wards_not_in_lookup:
            out.print(f"{f.path}: {f.wards_not_in_lookup} row(s) have ward codes not in the "
                      "ONS lookup; the file's borough name is used for them.")
    unmapped: dict[str, int] = {}
    for f in loaded:
        for label, n in f.unmapped.items():
            unmapped[label] = unmapped.get(label, 0) + n
    for label, n in sorted(unmapped.items()):
        err.print(f"warning: label {label!r} ({n:,} rows) maps to no category; it is stored "
                  "and shown as unmapped. Add it to a --categories file.")
    for path in report.ignored:
        err.print(f"note: ignored {path} (not a .csv, .csv.gz or .zip file)")


def _file_row(f: FileReport) -> dict[str, Any]:
    months = (f"{f.first_month:%Y-%m}" if f.first_month == f.last_month
              else f"{f.first_month:%Y-%m}..{f.last_month:%Y-%m}")
    name = f.path.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    return {"file": name, "source": f.source, "kind": f.kind, "force": f.force,
            "months": months, "rows": f.rows, "no LSOA": f.rows_without_area,
            "status": f.status}


@app.command("ingest")
def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="police.uk CSVs (plain or .gz), folders "
                                                "(searched recursively), monthly archive "
                                                "zips, or MPS borough/ward tables")],
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Import police.uk and MPS files; each file is a batch, the whole command is atomic."""
    report = run_ingest(db, paths, mapping)
    print_ingest_report(report)


def run_fetch(db: Path | None, force: str, start: date, end: date, base_url: str,
              cache: Path | None, mapping: Path | None) -> IngestReport:
    from rich.filesize import decimal
    from rich.progress import TaskID

    from saferboard.sources.fetch import FetchProgress, fetch
    from saferboard.sources.files import SourceFile

    cats = categories.load(mapping)
    db_path = store.resolve_db_path(db)
    existed = db_path.exists()
    # One bar per archive (bytes), then one for the import (files): a single live display.
    bar = Progress(
        TextColumn("[bold]{task.fields[stage]}"), BarColumn(),
        TextColumn("{task.fields[amount]}"), TextColumn("{task.description}"),
        TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def downloaded(url: str, done: int, total: int | None) -> None:
        if url not in tasks:
            tasks[url] = bar.add_task(url.rsplit("/", 1)[-1], stage="downloading", amount="")
        amount = decimal(done) + (f"/{decimal(total)}" if total else "")
        bar.update(tasks[url], completed=done, total=total, amount=amount)

    def imported(f: SourceFile, done: int, total: int) -> None:
        if "" not in tasks:
            tasks[""] = bar.add_task("", stage="importing", amount="", total=total)
        bar.update(tasks[""], completed=done, description=f.name, amount=f"{done}/{total}")

    try:
        con = store.connect(db_path)
        try:
            with bar:
                return fetch(con, cats, force, start, end, base_url, cache,
                             FetchProgress(downloaded, imported))
        finally:
            con.close()
    except BaseException:
        if not existed:  # as for ingest: a failed fetch leaves no empty store behind
            for p in (db_path, db_path.with_name(db_path.name + ".wal")):
                p.unlink(missing_ok=True)
        raise


@app.command("fetch")
def fetch_cmd(
    force: Annotated[str, typer.Option(
        "--force", help="police.uk force slug, e.g. metropolitan or city-of-london")],
    from_: Annotated[str, typer.Option("--from", help="First month, YYYY-MM")],
    to: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM")],
    base_url: Annotated[str, typer.Option(
        "--base-url", help="Archive location")] = DEFAULT_BASE_URL,
    db: DbOption = None,
    cache: Annotated[Path | None, typer.Option(
        "--cache", help="Folder for downloaded archives (kept; downloads resume) "
        "(default: $SAFERBOARD_CACHE or ~/.cache/saferboard/archives)")] = None,
    mapping: CategoriesOption = None,
) -> None:
    """Download police.uk monthly archives and import one force's files for --from..--to."""
    start, end = parse_month(from_, "--from"), parse_month(to, "--to")
    assert start is not None and end is not None  # parse_month only returns None for None
    print_ingest_report(run_fetch(db, force, start, end, base_url, cache, mapping))


@app.command("counts")
def counts_cmd(
    db: DbOption = None,
    source: Annotated[str, typer.Option(help="policeuk or mps")] = "policeuk",
    area: Annotated[list[str] | None, typer.Option(
        "--area", help="Local authority (repeatable; default: every row, even with no area)"
    )] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM")] = None,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Category, with its descendants (repeatable)")] = None,
    by: Annotated[str, typer.Option(
        help="Comma-separated keys: month,area,category,crime_type,force")] = "",
    mps_level: Annotated[str, typer.Option(help="MPS table level: borough or ward")] = "borough",
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
) -> None:
    """Count crimes by any of month, area, category, raw crime type and force."""
    from saferboard.measures.counts import counts

    keys = [k.strip() for k in by.split(",") if k.strip()]
    con = store.connect(db, read_only=True)
    try:
        result = counts(
            con, categories.load(mapping), source=source, areas=area or [],
            start=parse_month(from_, "--from"), end=parse_month(to, "--to"),
            category_names=category or [], by=keys, mps_level=mps_level,
        )
    finally:
        con.close()
    emit(result.as_dicts(), fmt, title=f"Counts ({source})", columns=[*result.by, "count"])


@app.command("quality")
def quality_cmd(
    db: DbOption = None, fmt: FormatOption = Format.table, mapping: CategoriesOption = None
) -> None:
    """Data quality per force and source: months present and missing, rows without
    coordinates or LSOA, LSOA vintage, revised months, unmapped labels."""
    from saferboard.measures.quality import quality

    con = store.connect(db, read_only=True)
    try:
        result = quality(con, categories.load(mapping))
    finally:
        con.close()
    rows = []
    for q in result:
        d = asdict(q)
        if fmt is not Format.json:
            d["months_missing"] = ", ".join(q.months_missing) or "none"
            d["lsoa_vintage"] = ", ".join(f"{k}: {v:,}" for k, v in q.lsoa_vintage.items())
            d["unmapped"] = ", ".join(f"{k} ({v:,})" for k, v in q.unmapped.items()) or "none"
        rows.append(d)
    emit(rows, fmt, title="Data quality")


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@app.command("outcomes")
def outcomes_cmd(
    from_: Annotated[str, typer.Option("--from", help="First month of crimes, YYYY-MM")],
    to: Annotated[str, typer.Option("--to", help="Last month of crimes, YYYY-MM")],
    area: Annotated[str | None, typer.Option(
        "--area", help="Local authority (default: every row, even with no area)")] = None,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Category, with its descendants (repeatable)")] = None,
    by_month: Annotated[bool, typer.Option(
        "--by-month", help="One row per crime month: crimes, sanction detections, rate")] = False,
    lag_months: Annotated[int, typer.Option(
        "--lag-months", help="Warn when --to is this close to the latest data")] = 6,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
    outcome_map: Annotated[Path | None, typer.Option(
        "--outcome-map", help="Outcome group mapping to lay over the shipped outcomes.toml "
        "(e.g. to change which groups count as sanction detections)")] = None,
) -> None:
    """Outcome groups and the sanction detection rate (charged or summonsed, cautions and
    other out-of-court disposals) of police.uk crimes recorded in --from..--to."""
    from saferboard.measures.outcomes import outcome_rates

    start, end = parse_month(from_, "--from"), parse_month(to, "--to")
    assert start is not None and end is not None  # parse_month only returns None for None
    con = store.connect(db, read_only=True)
    try:
        r = outcome_rates(con, categories.load(mapping), area=area, start=start, end=end,
                          categories=category or [], lag_months=lag_months,
                          mapping_path=outcome_map, by_month=by_month)
    finally:
        con.close()
    sd_name = "Sanction detections (" + " + ".join(r.sanction_detection_groups) + ")"
    if fmt is Format.json:
        sys.stdout.write(json.dumps(_plain(asdict(r)), indent=2) + "\n")
    elif by_month:
        emit([{"month": m.month, "crimes": m.crimes, "sanction_detections": m.sanction_detections,
               "sd_rate_pct": _pct(m.sanction_detection_rate), **m.groups} for m in r.months],
             fmt, title=f"Sanction detection rate by month ({r.area or 'all areas'})")
    else:
        rows: list[dict[str, Any]] = [
            {"outcome": g.group, "crimes": g.crimes, "percent": _pct(g.percent)}
            for g in r.groups]
        rows += [{"outcome": f"Unmapped: {label}", "crimes": n,
                  "percent": _pct(100 * n / r.crimes if r.crimes else None)}
                 for label, n in r.unmapped.items()]
        rows.append({"outcome": sd_name, "crimes": r.sanction_detections,
                     "percent": _pct(r.sanction_detection_rate)})
        rows.append({"outcome": "All crimes", "crimes": r.crimes,
                     "percent": 100.0 if r.crimes else None})
        emit(rows, fmt, title=f"Outcomes of crimes recorded {start:%Y-%m}..{end:%Y-%m} "
             f"({r.area or 'all areas'})")
    note = (f"note: {r.crimes:,} crimes: outcome from outcomes files for "
            f"{r.from_outcomes_files:,}, from the street file's last outcome for "
            f"{r.from_street_files:,}.")
    if r.rows_without_crime_id:
        note += (f" {r.rows_without_crime_id:,} rows without a Crime ID (anti-social "
                 "behaviour) have no outcomes and are excluded.")
    if r.duplicate_crime_rows:
        note += (f" {r.duplicate_crime_rows:,} repeated Crime ID rows are counted once.")
    err.print(note, markup=False, highlight=False, soft_wrap=True)
    for label, n in r.unmapped.items():
        err.print(f"warning: outcome label {label!r} ({n:,} crimes) maps to no outcome group; "
                  "it counts in the total. Add it to an --outcome-map file.",
                  markup=False, highlight=False, soft_wrap=True)
    if r.lag_warning:
        err.print(f"warning: {r.lag_warning}", markup=False, highlight=False, soft_wrap=True)


def _load_for_measures(db: Path | None, config: Path | None, mapping: Path | None
                       ) -> tuple[Config, categories.Categories, dict[str, MonthlyCounts]]:
    """The configuration, the category mapping and every source's monthly counts."""
    from saferboard.config import load_config
    from saferboard.measures.dashboard import load_sources

    cfg = load_config(config)
    cats = categories.load(mapping)
    con = store.connect(db, read_only=True)
    try:
        return cfg, cats, load_sources(con, cats)
    finally:
        con.close()


@app.command("dashboard")
def dashboard_cmd(
    db: DbOption = None,
    area: Annotated[str | None, typer.Option(
        help="Local authority (default: the configuration's area)")] = None,
    month: Annotated[str | None, typer.Option(
        help="Reference month YYYY-MM, the last month included (default: the latest month "
        "with data for the area)")] = None,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Category (repeatable; default: the configured dashboard set)")
    ] = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
) -> None:
    """The performance dashboard: quarter and rolling 12 months vs a year earlier, rate,
    peer ranks, monthly exceptions, significance, RAG with its factors."""
    from saferboard.measures.dashboard import dashboard, latest_month
    cfg, cats, sources = _load_for_measures(db, config, mapping)
    chosen_area = area or cfg.area
    ref = parse_month(month, "--month")
    if ref is None:
        from saferboard.measures.dashboard import canonical_area

        ref = latest_month(sources, canonical_area(sources, chosen_area))
    result = dashboard(sources, cats, cfg, chosen_area, ref, category or None)
    print_dashboard(result, fmt)


def print_dashboard(result: Dashboard, fmt: Format) -> None:
    from saferboard.present import dashboard_csv, dashboard_table, indicator_json

    for row in result.rows:
        if row.note:
            err.print(f"note: {row.category}: {row.note}", markup=False, highlight=False)
    if fmt is Format.json:
        emit([indicator_json(r) for r in result.rows], fmt)
        return
    if fmt is Format.csv:
        emit(dashboard_csv(result), fmt)
        return
    rows = dashboard_table(result)
    # On screen the factors are too long for a column: a list under the table instead.
    emit([{k: v for k, v in r.items() if k not in ("factors", "rate_base")} for r in rows],
         fmt, title=f"{result.area}: quarter {result.quarter.label()}, rolling 12 months "
                    f"{result.rolling12.label()}, each vs a year earlier")
    first = next((r for r in result.rows if r.ranks), None)
    for group, rank in (first.ranks.items() if first else []):
        if rank.without_data:
            out.print(f"{group}: no data or population for {', '.join(rank.without_data)}; "
                      f"ranked among the {rank.of} others.", highlight=False, markup=False)
    for row in result.rows:
        if row.factors:
            out.print(f"[bold]{row.category}[/bold] ({row.rag}):", highlight=False)
            for f in row.factors:
                out.print(f"  {'+' if f.sign > 0 else '-'} {f.text}", highlight=False,
                          markup=False)
    out.print()
    for term, text in result.glossary.items():
        out.print(f"[bold]{term}[/bold]: {text}", highlight=False)


@app.command("compare")
def compare_cmd(
    db: DbOption = None,
    area: Annotated[str | None, typer.Option(
        help="Local authority to highlight (default: the configuration's area)")] = None,
    category: Annotated[str, typer.Option(help="Category")] = "Total notifiable offences",
    month: Annotated[str | None, typer.Option(
        help="Reference month YYYY-MM (default: the latest with data)")] = None,
    peers: Annotated[str | None, typer.Option(
        help="Peer group from the configuration (default: the region)")] = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
) -> None:
    """Peer comparison with uncertainty: rates with 95% intervals and funnel limits."""
    from saferboard.measures.compare import compare
    from saferboard.measures.dashboard import (
        canonical_area,
        latest_month,
        source_for,
    )

    cfg, cats, sources = _load_for_measures(db, config, mapping)
    chosen = canonical_area(sources, area or cfg.area)
    group = peers or cfg.region
    if group not in cfg.peer_groups:
        raise typer.BadParameter(f"unknown group {group!r}; configured: "
                                 f"{', '.join(cfg.peer_groups)}", param_hint="--peers")
    ref = parse_month(month, "--month") or latest_month(sources, chosen)
    base = "households" if category in cfg.dashboard.household_categories else "population"
    table = source_for(sources, cats, chosen, category)
    result = compare(table, cats, category, ref, group, cfg.peer_groups[group], rate_base=base)
    rows = [{"rank": r.rank, "area": r.area, "count": r.count, "denominator": r.denominator,
             "rate_per_1000": r.rate, "ci95_lower": r.lower, "ci95_upper": r.upper,
             "expected": r.expected, "p_value": round(r.p_value, 6),
             "funnel95_lower": r.funnel95[0], "funnel95_upper": r.funnel95[1],
             "funnel998_lower": r.funnel998[0], "funnel998_upper": r.funnel998[1],
             "vs_peer_average": r.verdict,
             "highlight": r.area.lower() == chosen.lower()} for r in result.rows]
    emit(rows, fmt, title=f"{category}, rolling 12 months to {ref:%b %Y}, {group} "
                          f"(source {table.source}; pooled rate {result.pooled_rate} per "
                          f"1,000 {base})")
    if fmt is Format.table:
        if result.without_data:
            err.print("note: no data or denominator for " + ", ".join(result.without_data),
                      markup=False, highlight=False)
        out.print(result.method, highlight=False, markup=False)


@app.command("targets")
def targets_cmd(
    db: DbOption = None,
    area: Annotated[str | None, typer.Option(
        help="Local authority (default: each target's area, else the configuration's)")] = None,
    month: Annotated[str | None, typer.Option(
        help="Month to assess at, YYYY-MM (default: the latest with data)")] = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
) -> None:
    """Strategy targets: straight-line trajectory, actual to date, projection, on-track RAG."""
    from saferboard.measures.dashboard import canonical_area, source_for
    from saferboard.measures.targets import default_month, target_status

    cfg, cats, sources = _load_for_measures(db, config, mapping)
    if not cfg.targets:
        raise typer.BadParameter(f"no [[targets]] in {cfg.path}", param_hint="--config")
    rows = []
    for t in cfg.targets:
        chosen = canonical_area(sources, area or t.area or cfg.area)
        table = source_for(sources, cats, chosen, t.category)
        ref = parse_month(month, "--month") or default_month(table, chosen)
        s = target_status(table, cats, t, chosen, ref)
        rows.append({"target": t.name, "area": s.area, "category": t.category,
                     "source": s.source, "period": f"{t.start:%Y-%m}..{t.end:%Y-%m}",
                     "baseline": t.baseline, "target_value": s.target_value, "month": ref,
                     "on_trajectory_now": s.expected_now, "actual_rolling12": s.actual,
                     "projected_end": s.projected_end, "status": s.status})
    emit(rows, fmt, title="Targets")


@app.command("pack")
def pack_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write pack.html and "
                                          "pack.pdf into")],
    db: DbOption = None,
    area: Annotated[str | None, typer.Option(
        help="Local authority (default: the configuration's area)")] = None,
    month: Annotated[str | None, typer.Option(
        help="Reference month YYYY-MM (default: end of the latest complete quarter)")] = None,
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Also write pack.xlsx")] = False,
    config: ConfigOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Write the quarterly board pack: self-contained HTML and A4 PDF (and XLSX)."""
    from saferboard.config import load_config
    from saferboard.measures.dashboard import canonical_area, latest_month, load_sources
    from saferboard.measures.windows import latest_quarter_end
    from saferboard.report.pack import write_pack

    cfg = load_config(config)
    cats = categories.load(mapping)
    con = store.connect(db, read_only=True)
    try:
        chosen = area or cfg.area
        ref = parse_month(month, "--month")
        if ref is None:
            sources = load_sources(con, cats)
            ref = latest_quarter_end(latest_month(sources, canonical_area(sources, chosen)))
        with err.status("writing the pack (charts, PDF)..."):
            result = write_pack(con, cats, cfg, chosen, ref, out_dir, xlsx=xlsx)
    finally:
        con.close()
    print_pack_result(result)


def print_pack_result(result: PackResult) -> None:
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    out.print(f"HTML: {result.html}")
    out.print(f"PDF:  {result.pdf} ({result.pages} pages)")
    if result.xlsx:
        out.print(f"XLSX: {result.xlsx}")


HOTSPOT_FORMATS = ("geojson", "csv", "json")
HOTSPOT_MAP_FORMATS = ("html", "png")  # hotspots only, for now


@app.command("hotspots")
def hotspots_cmd(
    area: Annotated[str, typer.Option("--area", help="London borough")],
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Category, with its descendants (repeatable; default: all)")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM")] = None,
    cell_size: Annotated[float | None, typer.Option(
        "--cell-size", help="Grid cell side in metres (default: the shorter side of the "
        "area's bounding box / 50, rounded down to 50 m, at least 100 m)")] = None,
    permutations: Annotated[int, typer.Option(
        "--permutations", help="Permutation inference with this many permutations "
        "(default 0: analytic p-values)")] = 0,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Random seed for --permutations")] = None,
    fdr: Annotated[bool, typer.Option(
        "--fdr/--no-fdr", help="Benjamini-Hochberg false-discovery-rate correction")] = True,
    fmt: Annotated[str, typer.Option(
        "--format", help="geojson, csv, json, html (self-contained interactive map, no tiles) "
        "or png (static map; needs --out)")
    ] = "geojson",
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the html or png map to this file (required for png; html "
        "goes to stdout without it)")
    ] = None,
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Getis-Ord Gi* hotspots of police.uk street crimes on a grid over a London borough
    (British National Grid), with false-discovery-rate control on by default."""
    from saferboard.errors import InputError
    from saferboard.measures.hotspots import hotspots

    if fmt not in HOTSPOT_FORMATS + HOTSPOT_MAP_FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not available; choose one of "
                                 f"{', '.join(HOTSPOT_FORMATS + HOTSPOT_MAP_FORMATS)}",
                                 param_hint="--format")
    # InputError, not BadParameter: one plain line (the brief's "clear error"), no Typer box.
    if fmt == "png" and out_file is None:
        # PNG bytes on a terminal are useless and break pipes that expect text.
        raise InputError("--format png writes a file: add --out FILE.png")
    if out_file is not None and fmt not in HOTSPOT_MAP_FORMATS:
        raise InputError(f"--out is for the html and png maps; redirect {fmt} output "
                         "instead (> FILE)")
    con = store.connect(db, read_only=True)
    try:
        h = hotspots(con, categories.load(mapping), area, start=parse_month(from_, "--from"),
                     end=parse_month(to, "--to"), category_names=category or [],
                     cell_size=cell_size, permutations=permutations, seed=seed, fdr=fdr)
    finally:
        con.close()
    r = h.result
    meta = {"area": h.area, "categories": list(h.categories) or ["all"],
            "from": h.start, "to": h.end, "crs": "EPSG:27700", "cell_size_m": r.cell_size,
            "force": h.force, "rows": h.rows, "rows_without_coordinates": h.rows_without_coords,
            "force_rows_without_location": h.force_rows_without_location,
            "points_outside_grid": r.points_outside, "cells": len(r.cells),
            "permutations": r.permutations, "seed": r.seed, "fdr_correction": r.fdr,
            "classes": r.counts_by_class(), "method": r.method}
    cells = [{"row": c.row, "col": c.col, "x": c.x, "y": c.y, "lon": c.lon, "lat": c.lat,
              "count": c.count, "z": round(c.z, 6), "p": c.p, "p_adjusted": c.p_adjusted,
              "class": c.hotspot} for c in r.cells]
    if fmt in HOTSPOT_MAP_FORMATS:
        _write_hotspot_map(h, fmt, out_file)
    else:
        _write_hotspot_text(cells, meta, r, fmt)
    if fmt != "json":
        err.print(f"note: {r.method} Rows without coordinates (not mapped): "
                  f"{h.rows_without_coords:,}; {h.force_rows_without_location:,} "
                  f"{h.force or 'police.uk'} rows in these months and categories have no "
                  "location (and so no area) and cannot be mapped.", markup=False,
                  highlight=False, soft_wrap=True)


def _write_hotspot_map(h: Hotspots, fmt: str, out_file: Path | None) -> None:
    from saferboard.measures.hotspots import boundary
    from saferboard.report.maps import hotspot_map_html, hotspot_map_png

    what = ", ".join(h.categories) or "All crime"
    months = f"{h.start:%b %Y}" if h.start else "first month"
    months += " to " + (f"{h.end:%b %Y}" if h.end else "latest month")
    title = f"{what} hotspots, {h.area} ({months})"
    _, geom = boundary(h.area)
    if fmt == "png":
        assert out_file is not None  # checked before the analysis
        out_file.write_bytes(hotspot_map_png(h.result, geom, title))
    else:
        page = hotspot_map_html(h.result, geom, title)
        if out_file is None:
            sys.stdout.write(page)
        else:
            out_file.write_text(page, encoding="utf-8")


def _write_hotspot_text(cells: list[dict[str, Any]], meta: dict[str, Any],
                        r: HotspotResult, fmt: str) -> None:
    if fmt == "csv":
        emit(cells, Format.csv, columns=list(cells[0]))
    elif fmt == "json":
        sys.stdout.write(json.dumps(_plain({**meta, "cells": cells}), indent=2) + "\n")
    else:
        from saferboard.measures.hotspots import cell_rings_wgs84

        features = [{"type": "Feature", "properties": props,
                     "geometry": {"type": "Polygon", "coordinates": [ring]}}
                    for props, ring in zip(cells, cell_rings_wgs84(r), strict=True)]
        sys.stdout.write(json.dumps({"type": "FeatureCollection", "metadata": _plain(meta),
                                     "features": features}) + "\n")


class DistanceMetric(StrEnum):
    manhattan = "manhattan"
    euclidean = "euclidean"


def _edges(value: str, option: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {value!r}",
                                 param_hint=option) from None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@app.command("near-repeat")
def near_repeat_cmd(
    path: Annotated[Path, typer.Argument(help="CSV of events with a header row")],
    x_col: Annotated[str, typer.Option("--x-col", help="Column of x (easting, metres, or "
                                       "longitude with a geographic --crs)")],
    y_col: Annotated[str, typer.Option("--y-col", help="Column of y (northing or latitude)")],
    date_col: Annotated[str, typer.Option("--date-col", help="Column of the event date")],
    space_bands: Annotated[str, typer.Option(
        "--space-bands", help="Distance edges in metres, from 0, e.g. 0,1,100,200,300: bands "
        "[a, b) plus an open-ended last band ('same location' is [0, 1))")],
    time_bands: Annotated[str, typer.Option(
        "--time-bands", help="Day edges, from 0, e.g. 0,7,14,21: bands [a, b) plus an "
        "open-ended last band")],
    date_format: Annotated[str | None, typer.Option(
        "--date-format", help="strptime format, e.g. %m/%d/%Y (default: YYYY-MM-DD or "
        "DD/MM/YYYY)")] = None,
    crs: Annotated[int | None, typer.Option(
        "--crs", help="EPSG code of the coordinates: geographic ones (e.g. 4326) are "
        "projected to British National Grid (27700); projected ones must be in metres "
        "(default: already metres)")] = None,
    distance: Annotated[DistanceMetric, typer.Option(
        "--distance", help="manhattan (as the Near Repeat Calculator) or euclidean")
    ] = DistanceMetric.manhattan,
    permutations: Annotated[int, typer.Option(
        "--permutations", min=1, help="Permutations of the dates for the null")] = 999,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (repeatable "
                                             "results)")] = None,
    labels_out: Annotated[Path | None, typer.Option(
        "--labels", help="Also write each event's label (originator, near-repeat, repeat, "
        "isolated) to this CSV")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Near-repeat Knox test: pairs of events in space x time bands against permutations of
    the dates, with Knox ratios and p-values, and a label for each event."""
    from saferboard.measures.near_repeat import knox
    from saferboard.sources.events import read_events

    s_edges = _edges(space_bands, "--space-bands")
    t_edges = _edges(time_bands, "--time-bands")
    events = read_events(path, x_col, y_col, date_col, date_format=date_format, crs=crs)
    if any(e != int(e) for e in t_edges):
        raise typer.BadParameter(f"time edges must be whole days, got {time_bands!r}",
                                 param_hint="--time-bands")
    try:
        r = knox(events.x, events.y, events.days, s_edges, [int(e) for e in t_edges],
                 distance=distance.value, permutations=permutations, seed=seed)
    except ValueError as e:  # edges not from 0 or not increasing
        raise typer.BadParameter(str(e)) from None
    if events.skipped_no_coordinates:
        err.print(f"note: {events.skipped_no_coordinates:,} row(s) without coordinates "
                  "skipped", markup=False, highlight=False)
    if labels_out is not None:
        with open(labels_out, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["line", "x", "y", "date", "label"])
            for k, label in enumerate(r.labels):
                w.writerow([int(events.lines[k]), float(events.x[k]), float(events.y[k]),
                            date.fromordinal(int(events.days[k])).isoformat(), label])
    if fmt is Format.json:
        doc = {"n_events": r.n_events, "permutations": r.permutations,
               "space_bands": [list(b) for b in r.space_bands],
               "time_bands": [list(b) for b in r.time_bands],
               "observed": r.observed, "expected": r.expected, "knox_ratio": r.knox_ratio,
               "p_value": r.p_value, "distance": r.distance, "seed": r.seed,
               "space_labels": r.space_labels, "time_labels": r.time_labels,
               "near_distance": r.near_distance, "near_days": r.near_days,
               "event_labels": r.label_counts()}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return

    def band(lo: float, hi: float | None) -> str:
        return f"[{lo:g}, {'inf' if hi is None else f'{hi:g}'})"

    s_names = [f"{lab} {band(*b)}" for lab, b in zip(r.space_labels, r.space_bands,
                                                     strict=True)]
    t_names = [f"{lab} {band(*b)}" for lab, b in zip(r.time_labels, r.time_bands,
                                                     strict=True)]
    if fmt is Format.csv:
        emit([{"space_band": s_names[s], "time_band": t_names[t],
               "observed": r.observed[s][t], "expected": round(r.expected[s][t], 4),
               "knox_ratio": _round(r.knox_ratio[s][t], 4),
               "p_value": round(r.p_value[s][t], 6)}
              for s in range(len(s_names)) for t in range(len(t_names))], fmt)
        return
    rows = []
    for s, name in enumerate(s_names):
        row: dict[str, Any] = {"distance (m)": name}
        for t, tname in enumerate(t_names):
            ratio = r.knox_ratio[s][t]
            shown = "-" if ratio is None else f"{ratio:.2f}"
            row[tname] = (f"{r.observed[s][t]:,} / {shown} / "
                          f"{r.p_value[s][t]:.3f}")
        rows.append(row)
    emit(rows, fmt, title=f"Knox test, {r.n_events:,} events, {r.permutations} permutations "
                          f"({r.distance}); cells: observed pairs / Knox ratio / p")
    counts = ", ".join(f"{k} {v:,}" for k, v in r.label_counts().items())
    out.print(f"Events within {r.near_distance:g} m and {r.near_days} days: {counts}.",
              highlight=False, markup=False)
    out.print(r.method, highlight=False, markup=False)


def _check_map_format(fmt: str) -> None:
    if fmt not in HOTSPOT_FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not available; choose one of "
                                 f"{', '.join(HOTSPOT_FORMATS)}", param_hint="--format")


def _emit_grid(cells: list[dict[str, Any]], meta: dict[str, Any], fmt: str,
               rings: list[list[list[float]]]) -> None:
    """Grid cells as CSV, JSON (metadata + cells) or a GeoJSON FeatureCollection."""
    if fmt == "csv":
        emit(cells, Format.csv, columns=list(cells[0]) if cells else None)
    elif fmt == "json":
        sys.stdout.write(json.dumps(_plain({**meta, "cells": cells}), indent=2) + "\n")
    else:
        features = [{"type": "Feature", "properties": props,
                     "geometry": {"type": "Polygon", "coordinates": [ring]}}
                    for props, ring in zip(cells, rings, strict=True)]
        sys.stdout.write(json.dumps({"type": "FeatureCollection", "metadata": _plain(meta),
                                     "features": features}) + "\n")
    if fmt != "json":
        err.print(f"note: {meta['method']}", markup=False, highlight=False, soft_wrap=True)


@app.command("density")
def density_cmd(
    area: Annotated[str, typer.Option("--area", help="London borough")],
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Category, with its descendants (repeatable; default: all)")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM")] = None,
    cell_size: Annotated[float | None, typer.Option(
        "--cell-size", help="Grid cell side in metres (default as for hotspots)")] = None,
    bandwidth: Annotated[float | None, typer.Option(
        "--bandwidth", help="Kernel bandwidth in metres (default: the spatial Silverman "
        "rule used by ArcGIS Pro; pass a fixed one to compare periods)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="geojson, csv or json")] = "geojson",
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Quartic kernel density (crimes per km^2) of police.uk street crimes at the centres of
    the hotspot grid over a London borough."""
    from saferboard.measures.density import density
    from saferboard.measures.hotspots import square_rings_wgs84

    _check_map_format(fmt)
    con = store.connect(db, read_only=True)
    try:
        d = density(con, categories.load(mapping), area, start=parse_month(from_, "--from"),
                    end=parse_month(to, "--to"), category_names=category or [],
                    cell_size=cell_size, bandwidth=bandwidth)
    finally:
        con.close()
    r = d.result
    meta = {"area": d.area, "categories": list(d.categories) or ["all"], "from": d.start,
            "to": d.end, "crs": "EPSG:27700", "cell_size_m": r.cell_size,
            "bandwidth_m": round(r.bandwidth, 3), "bandwidth_rule": r.bandwidth_rule,
            "kernel": r.kernel, "units": "crimes per km2", "force": d.force, "rows": d.rows,
            "rows_without_coordinates": d.rows_without_coords,
            "force_rows_without_location": d.force_rows_without_location,
            "points_outside_grid": r.points_outside, "cells": len(r.cells),
            "mass": round(r.mass(), 3), "method": r.method}
    cells = [{"row": c.row, "col": c.col, "x": c.x, "y": c.y, "lon": c.lon, "lat": c.lat,
              "count": c.count, "density": round(c.density, 6)} for c in r.cells]
    _emit_grid(cells, meta, fmt, square_rings_wgs84([c.x for c in r.cells],
                                                    [c.y for c in r.cells],
                                                    r.cell_size) if fmt == "geojson" else [])


def _period(value: str) -> tuple[date, date]:
    first, sep, last = value.partition("..")
    start = parse_month(first, "--period")
    end = parse_month(last if sep else first, "--period")
    assert start is not None and end is not None  # parse_month only returns None for None
    return start, end


@app.command("hotspot-change")
def hotspot_change_cmd(
    area: Annotated[str, typer.Option("--area", help="London borough")],
    period: Annotated[list[str], typer.Option(
        "--period", help="YYYY-MM..YYYY-MM, repeated in time order: the first is 'before', "
        "the last 'after', any between are sub-periods (at least 2)")],
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Category, with its descendants (repeatable; default: all)")] = None,
    cell_size: Annotated[float | None, typer.Option(
        "--cell-size", help="Grid cell side in metres (default as for hotspots)")] = None,
    confidence: Annotated[float, typer.Option(
        "--confidence", help="Confidence (%) at which a Gi* cell counts as hot")] = 95.0,
    persistent_share: Annotated[float, typer.Option(
        "--persistent-share", help="Share of periods a cell must be hot in to be "
        "persistent (default 1: all)")] = 1.0,
    fdr: Annotated[bool, typer.Option(
        "--fdr/--no-fdr", help="Benjamini-Hochberg false-discovery-rate correction")] = True,
    fmt: Annotated[str, typer.Option("--format", help="geojson, csv or json")] = "geojson",
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Hotspot change between periods: each grid cell persistent, emerging, former,
    intermittent or not hot, from Gi* hotspots in each period."""
    from saferboard.measures.hotspot_change import area_hotspot_change
    from saferboard.measures.hotspots import square_rings_wgs84

    _check_map_format(fmt)
    if not 0 < confidence < 100:
        raise typer.BadParameter(f"expected a percentage, got {confidence}",
                                 param_hint="--confidence")
    periods = [_period(p) for p in period]
    con = store.connect(db, read_only=True)
    try:
        a = area_hotspot_change(con, categories.load(mapping), area, periods,
                                category_names=category or [], cell_size=cell_size, fdr=fdr,
                                confidence=confidence / 100, persistent_share=persistent_share)
    finally:
        con.close()
    r = a.result
    meta = {"area": a.area, "categories": list(a.categories) or ["all"],
            "periods": [f"{s:%Y-%m}..{e:%Y-%m}" for s, e in a.periods],
            "crs": "EPSG:27700", "cell_size_m": r.cell_size, "confidence": r.confidence,
            "persistent_share": r.persistent_share, "fdr_correction": fdr,
            "rows": [h.rows for h in a.period_hotspots], "cells": len(r.cells),
            "classes": r.counts_by_class(), "method": r.method}
    cells = [{"row": c.row, "col": c.col, "x": c.x, "y": c.y, "lon": c.lon, "lat": c.lat,
              **{f"count_{i + 1}": n for i, n in enumerate(c.counts)},
              **{f"hot_{i + 1}": hot for i, hot in enumerate(c.hot)},
              "class": c.change} for c in r.cells]
    _emit_grid(cells, meta, fmt, square_rings_wgs84([c.x for c in r.cells],
                                                    [c.y for c in r.cells],
                                                    r.cell_size) if fmt == "geojson" else [])


@app.command("demo")
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo database")] = Path(
        "saferboard-demo"),
    examples: Annotated[Path | None, typer.Option(
        help="Example data folder (default: the examples/ folder of this checkout)")] = None,
) -> None:
    """Build the example database from examples/, print Barnet's performance dashboard and
    write the board pack (pack.html, pack.pdf, pack.xlsx) for the latest complete quarter."""
    from saferboard.demo import run_demo

    with err.status("building the example database and the board pack..."):
        result = run_demo(out_dir, examples)
    print_ingest_report(result.ingest)
    print_dashboard(result.dashboard, Format.table)
    out.print(f"Database: {result.db}")
    print_pack_result(result.pack)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"saferboard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback,
                                          is_eager=True, help="Show the version")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors")] = False,
) -> None:
    """saferboard: crime and partner data to board-ready analysis."""


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:  # accepted anywhere on the line, not only before the command name
        sys.argv = [sys.argv[0], "--debug", *(a for a in sys.argv[1:] if a != "--debug")]
    try:
        app()
    except SaferboardError as e:
        if debug:
            raise
        err.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as e:  # an unexpected failure still gets one line, not a traceback
        if debug:
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        err.print(f"error: {first} (run with --debug for details)", markup=False,
                  highlight=False, soft_wrap=True)
        sys.exit(1)
