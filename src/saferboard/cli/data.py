"""Commands that bring data in and describe it: ingest, fetch, counts, quality."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from saferboard import store
from saferboard.cli.common import (
    CategoriesOption,
    DbOption,
    Format,
    FormatOption,
    app,
    emit,
    err,
    out,
    parse_month,
    store_for_import,
)
from saferboard.core import categories
from saferboard.sources.fetch import DEFAULT_BASE_URL
from saferboard.sources.ingest import FileReport, IngestReport, ingest


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
    with store_for_import(db) as con:
        progress, task = _progress(len(found.files))
        with progress:
            report = ingest(
                con, paths, cats, files=found.files,
                progress=lambda f: progress.update(task, advance=1, description=f.name),
            )
    return IngestReport(report.files, tuple(found.ignored))


def month_ranges(months: set[date] | tuple[date, ...]) -> str:
    """Months as compact YYYY-MM ranges ("2019-01..2019-12, 2021-03"); "no non-zero month"."""
    from saferboard.core.dates import month_index

    ordered = sorted(months)
    if not ordered:
        return "no month with a non-zero count"
    runs: list[list[date]] = [[ordered[0], ordered[0]]]
    for m in ordered[1:]:
        if month_index(m) == month_index(runs[-1][1]) + 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    return ", ".join(f"{a:%Y-%m}" if a == b else f"{a:%Y-%m}..{b:%Y-%m}" for a, b in runs)


def print_ingest_report(report: IngestReport, mapping: Path | None = None) -> None:
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
    unmapped: dict[tuple[str, str], int] = {}
    touched: dict[tuple[str, str], set[date]] = {}
    for f in loaded:
        for label, n in f.unmapped.items():
            key = (f.source, label)
            unmapped[key] = unmapped.get(key, 0) + n
            touched.setdefault(key, set()).update(f.unmapped_months.get(label, ()))
            if f.source == "policeuk":  # one file is one month
                touched[key].add(f.first_month)
    cats = categories.load(mapping) if unmapped else None
    for (source, label), n in sorted(unmapped.items()):
        assert cats is not None
        placed = cats.place(source, label).category
        where = (f"its rows count under {placed} (its major group), not in the categories "
                 "below it, which are marked incomplete" if placed else
                 "its rows count under no category; indicators whose windows hold them are "
                 "marked incomplete")
        span = month_ranges(touched[(source, label)])
        err.print(f"warning: label {label!r} ({n:,} rows; {span}) "
                  f"is not in the category mapping: {where}. Add it to a --categories file.",
                  markup=False, highlight=False, soft_wrap=True)
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
    print_ingest_report(report, mapping)


def run_fetch(db: Path | None, force: str, start: date, end: date, base_url: str,
              cache: Path | None, mapping: Path | None) -> IngestReport:
    from rich.filesize import decimal
    from rich.progress import TaskID

    from saferboard.sources.fetch import FetchProgress, fetch
    from saferboard.sources.files import SourceFile

    cats = categories.load(mapping)
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

    with store_for_import(db) as con, bar:
        return fetch(con, cats, force, start, end, base_url, cache,
                     FetchProgress(downloaded, imported))


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
    print_ingest_report(run_fetch(db, force, start, end, base_url, cache, mapping), mapping)


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
    from saferboard.core.areas import store_area_names
    from saferboard.measures.counts import counts
    from saferboard.present.counts import count_columns, count_rows

    # An LA code or CSP name counts as its authorities' names, as stored (a CSP of several
    # LAs is their sum); a name the national lookup does not know (an MPS pseudo-borough)
    # is matched as given.
    area = list(dict.fromkeys(n for a in area or [] for n in store_area_names(a)))
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
    emit(count_rows(result), fmt, title=f"Counts ({source})", columns=count_columns(result))


@app.command("init")
def init_cmd(
    area: Annotated[str, typer.Option(
        "--area", help="Local authority (name or code) or Community Safety Partnership")],
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="TOML file to write (default: print it)")] = None,
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Write a starter partnership configuration for any area of England and Wales: name and
    codes, peer groups (ONS nearest neighbours, same force, region), the dashboard categories
    its data in the store supports, and empty targets."""
    from saferboard.core.areas import la_name
    from saferboard.core.errors import StoreError
    from saferboard.core.starter import starter_config
    from saferboard.measures.coverage import supported_categories

    name = la_name(area)
    cats = categories.load(mapping)
    try:
        con = store.connect(db, read_only=True)
    except StoreError:
        con = None  # no store yet: every police.uk crime type
    try:
        chosen, source = supported_categories(con, cats, name)
    finally:
        if con is not None:
            con.close()
    starter = starter_config(name, categories=chosen, source=source)
    if out_file is None:
        sys.stdout.write(starter.toml)
        return
    if out_file.exists():
        raise typer.BadParameter(f"{out_file} exists; choose another file or remove it",
                                 param_hint="--out")
    out_file.write_text(starter.toml, encoding="utf-8")
    out.print(f"wrote {out_file} for {starter.area} ({starter.code}); edit it and pass it "
              "with --config", markup=False, highlight=False)


@app.command("quality")
def quality_cmd(
    db: DbOption = None, fmt: FormatOption = Format.table, mapping: CategoriesOption = None
) -> None:
    """Data quality per force and source: months present and missing, rows without
    coordinates or LSOA, LSOA vintage, revised months, unmapped labels."""
    from saferboard.measures.quality import quality
    from saferboard.present.quality import QualityOut

    con = store.connect(db, read_only=True)
    try:
        result = quality(con, categories.load(mapping))
    finally:
        con.close()
    # The objects /api/quality returns; the table and CSV rows the quality CSV download has
    # (the unmapped labels are listed in full below the table).
    models = [QualityOut.of(q) for q in result]
    if fmt is Format.json:
        rows = [m.model_dump(mode="json") for m in models]
    else:
        rows = [m.cells(outside_force_shown=5 if fmt is Format.table else None)
                for m in models]
    emit(rows, fmt, title="Data quality")
    if fmt is Format.table:
        for q in result:
            for u in q.unmapped_labels:
                out.print(f"unmapped label ({q.source} {q.kind}): {u.label!r}: {u.summary}",
                          markup=False, highlight=False, soft_wrap=True)


