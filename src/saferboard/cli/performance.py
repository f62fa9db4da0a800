"""Performance commands: outcomes, dashboard, compare, targets, pack."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from saferboard import store
from saferboard.cli.common import (
    CasesDbOption,
    CategoriesOption,
    ConfigOption,
    DbOption,
    Format,
    FormatOption,
    app,
    emit,
    err,
    flag,
    out,
    parse_month,
)
from saferboard.core import categories

if TYPE_CHECKING:  # only annotations: importing them costs ~0.7 s (scipy.stats, altair)
    from saferboard.core.config import Config
    from saferboard.measures.dashboard import Dashboard
    from saferboard.measures.series import MonthlyCounts
    from saferboard.report.pack import PackResult


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
        "--lag-months", help="Warn when --to is this close to the latest data of the "
        "area's police force (each force's own outcomes, else street, month)")] = 6,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
    outcome_map: Annotated[Path | None, typer.Option(
        "--outcome-map", help="Outcome group mapping to lay over the shipped outcomes.toml "
        "(e.g. to change which groups count as sanction detections)")] = None,
) -> None:
    """Outcome groups and the sanction detection rate (charged or summonsed, cautions and
    other out-of-court disposals) of police.uk crimes recorded in --from..--to."""
    from saferboard.core.outcome_map import load_outcome_map
    from saferboard.measures.outcomes import outcome_rates
    from saferboard.present.outcomes import OutcomesOut, outcome_table

    start, end = parse_month(from_, "--from"), parse_month(to, "--to")
    assert start is not None and end is not None  # parse_month only returns None for None
    con = store.connect(db, read_only=True)
    try:
        r = outcome_rates(con, categories.load(mapping), area=area, start=start, end=end,
                          categories=category or [], lag_months=lag_months,
                          mapping=load_outcome_map(outcome_map), by_month=by_month)
    finally:
        con.close()
    if fmt is Format.json:
        sys.stdout.write(json.dumps(OutcomesOut.of(r).model_dump(mode="json"), indent=2)
                         + "\n")
    else:
        emit(outcome_table(r, by_month), fmt, title=(
            f"Sanction detection rate by month ({r.area or 'all areas'})" if by_month else
            f"Outcomes of crimes recorded {start:%Y-%m}..{end:%Y-%m} "
            f"({r.area or 'all areas'})"))
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
    from saferboard.core.config import load_config
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
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="Compute an indicator whose windows miss a month from the "
        "months present (marked incomplete, no RAG) instead of leaving it empty")] = False,
) -> None:
    """The performance dashboard: quarter and rolling 12 months vs a year earlier, rate,
    peer ranks, monthly exceptions, significance, RAG with its factors."""
    from saferboard.measures.combined import with_partnership
    from saferboard.measures.dashboard import dashboard, latest_month
    cfg, cats, sources = _load_for_measures(db, config, mapping)
    # A CSP of several whole LAs (South Worcester) is the sum of its LAs' figures.
    sources, chosen_area = with_partnership(sources, area or cfg.area)
    ref = parse_month(month, "--month")
    if ref is None:
        from saferboard.measures.dashboard import canonical_area

        ref = latest_month(sources, canonical_area(sources, chosen_area))
    result = dashboard(sources, cats, cfg, chosen_area, ref, category or None,
                       allow_partial=allow_partial)
    print_dashboard(result, fmt)


def print_dashboard(result: Dashboard, fmt: Format) -> None:
    from saferboard.measures.dashboard import worded
    from saferboard.present import dashboard_csv, dashboard_table, indicator_json

    def said(text: str) -> str:  # a note in the CLI's words: the parameters as its flags
        return worded(text, flag)

    # JSON and CSV print the model (the API's words); what the CLI says itself names flags.
    for row in result.rows:
        if row.note and not row.caveats:
            err.print(f"note: {row.category}: {said(row.note)}", markup=False,
                      highlight=False)
        for caveat in row.caveats:
            err.print(f"warning: {row.category}: {said(caveat)}", markup=False,
                      highlight=False, soft_wrap=True)
    if fmt is Format.json:
        emit([indicator_json(r) for r in result.rows], fmt)
        return
    if fmt is Format.csv:
        emit(dashboard_csv(result), fmt)
        return
    rows = dashboard_table(result)
    # On screen the factors are too long for a column: a list under the table instead.
    # The caveat stands beside the figure: a marked column, the words under the table.
    for r, row in zip(rows, result.rows, strict=True):
        r["complete"] = "yes" if row.complete else "NO (see caveat)"
    emit([{k: v for k, v in r.items() if k not in ("factors", "rate_base")} for r in rows],
         fmt, title=f"{result.area}: quarter {result.quarter.label()}, rolling 12 months "
                    f"{result.rolling12.label()}, each vs a year earlier")
    first = next((r for r in result.rows if r.ranks), None)
    for group, rank in (first.ranks.items() if first else []):
        if rank.without_data:
            out.print(f"{group}: no data or population for {', '.join(rank.without_data)}; "
                      f"ranked among the {rank.of} others.", highlight=False, markup=False)
    for row in result.rows:  # peers from another source: per category, said each time
        for rank in row.ranks.values():
            if rank.note:
                out.print(f"{row.category}: {rank.note}.", highlight=False, markup=False)
    for row in result.rows:
        if row.factors or row.caveats or row.no_clear_change:
            out.print(f"[bold]{row.category}[/bold] ({row.rag or '-'}):", highlight=False)
            for f in row.factors:
                out.print(f"  {'+' if f.sign > 0 else '-'} {f.text}", highlight=False,
                          markup=False)
            for text in row.no_clear_change:
                out.print(f"  = {text}", highlight=False, markup=False)
            for caveat in row.caveats:
                out.print(f"  ! {said(caveat)}", highlight=False, markup=False)
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
        help="Peer group: a configured group, 'ONS nearest neighbours', 'same force', "
        "'region', or a comma-separated list of areas (names or codes) (default: the "
        "configuration's region)")] = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
) -> None:
    """Peer comparison with uncertainty: rates with 95% intervals and funnel limits."""
    from saferboard.core.areas import peer_group
    from saferboard.measures.compare import compare
    from saferboard.measures.dashboard import (
        canonical_area,
        latest_month,
        source_for,
    )
    from saferboard.present.compare import peer_rows

    cfg, cats, sources = _load_for_measures(db, config, mapping)
    chosen = canonical_area(sources, area or cfg.area)
    group, members = peer_group(peers or cfg.region, chosen, cfg.peer_groups)
    ref = parse_month(month, "--month") or latest_month(sources, chosen)
    base = "households" if category in cfg.dashboard.household_categories else "population"
    table = source_for(sources, cats, chosen, category)
    result = compare(table, cats, category, ref, group, members, rate_base=base,
                     others=[t for t in sources.values() if t is not table])
    # Machines get every member: one without a rate says why (the table lists them below).
    rows = peer_rows(result, chosen, unranked=fmt is not Format.table)
    used = " and ".join(sorted({r.source for r in result.rows}))
    emit(rows, fmt, title=f"{category}, rolling 12 months to {ref:%b %Y}, {group} "
                          f"(source {used}; pooled rate {result.pooled_rate} per "
                          f"1,000 {base})")
    for caveat in result.caveats:
        err.print(f"warning: incomplete: {caveat}", markup=False, highlight=False,
                  soft_wrap=True)
    if result.cross_source:
        err.print(f"note: {result.cross_source}", markup=False, highlight=False,
                  soft_wrap=True)
    if fmt is Format.table:
        if result.without_data:
            err.print("note: not ranked (listed, not dropped): " + "; ".join(
                f"{name}: {why}" for name, why in result.reasons), markup=False,
                highlight=False, soft_wrap=True)
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
    from saferboard.core.areas import same_area
    from saferboard.measures.dashboard import canonical_area, source_for
    from saferboard.measures.targets import default_month, target_status
    from saferboard.present.targets import TargetOut

    cfg, cats, sources = _load_for_measures(db, config, mapping)
    if not cfg.targets:
        raise typer.BadParameter(f"no [[targets]] in {cfg.path}", param_hint="--config")
    rows: list[dict[str, Any]] = []
    wanted = None if area is None else canonical_area(sources, area)
    targets = [t for t in cfg.targets
               if wanted is None or same_area(t.area or cfg.area, wanted)]
    if not targets:  # a target is its own area's: never another area's figures against it
        raise typer.BadParameter(
            f"no target in {cfg.path} is for {wanted}; targets are for "
            f"{', '.join(sorted({t.area or cfg.area for t in cfg.targets}))}",
            param_hint="--area")
    for t in targets:
        chosen = canonical_area(sources, t.area or cfg.area)
        table = source_for(sources, cats, chosen, t.category)
        ref = parse_month(month, "--month") or default_month(table, chosen)
        s = target_status(table, cats, t, chosen, ref)
        rows.append(TargetOut.of(s).model_dump(mode="json"))  # as /api/targets
        for caveat in s.caveats:
            err.print(f"warning: {t.name}: {caveat}", markup=False, highlight=False,
                      soft_wrap=True)
    if fmt is Format.csv:  # one cell per field: the caveats are on stderr
        rows = [{**r, "caveats": " | ".join(r["caveats"])} for r in rows]
    elif fmt is Format.table:  # the words are on stderr; the table marks the figure
        rows = [{**{k: v for k, v in r.items() if k != "caveats"},
                 "complete": "yes" if r["complete"] else "NO (see warning)"} for r in rows]
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
    pdf: Annotated[bool, typer.Option(
        "--pdf/--no-pdf", help="Write pack.pdf (most of the time a pack takes); --no-pdf "
        "for a quick look at the HTML")] = True,
    include_unverified: Annotated[bool, typer.Option(
        "--include-unverified", help="Cost of crime: also use unit costs not yet checked "
        "against the report (the pack then says which)")] = False,
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="Compute a dashboard indicator whose windows miss a month "
        "from the months present (marked incomplete, no RAG) instead of leaving it out")
    ] = False,
    config: ConfigOption = None,
    mapping: CategoriesOption = None,
    case_key_file: Annotated[Path | None, typer.Option(
        "--case-key-file", help="The case register's key: adds the ASB cases page "
        "(aggregates, small counts suppressed; default: $SAFERBOARD_CASE_KEY_FILE; without "
        "one the page is left out)")] = None,
    cases_db: CasesDbOption = None,
) -> None:
    """Write the quarterly board pack: self-contained HTML and A4 PDF (and XLSX)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from saferboard.core.config import load_config
    from saferboard.measures.dashboard import canonical_area, latest_month, load_sources
    from saferboard.measures.windows import latest_quarter_end
    from saferboard.report.pack import write_pack

    cfg = load_config(config)
    cats = categories.load(mapping)
    con = store.connect(db, read_only=True)
    try:
        chosen = area or cfg.area
        ref = parse_month(month, "--month")
        sources = None  # read here only to find the month; the pack reuses them
        if ref is None:
            sources = load_sources(con, cats)
            ref = latest_quarter_end(latest_month(sources, canonical_area(sources, chosen)))
        from datetime import timedelta

        from saferboard.cli.problems import pack_cases
        from saferboard.measures.windows import shift

        board_cases = pack_cases(case_key_file, cases_db, shift(ref, 1) - timedelta(days=1),
                                 cfg.suppress_below)
        # On a terminal only: nothing extra on stderr when it is piped or logged.
        bar = Progress(TextColumn("[bold]writing the pack"), BarColumn(),
                       MofNCompleteColumn(), TextColumn("steps"),
                       TimeRemainingColumn(), console=err, transient=True,
                       disable=not err.is_terminal)
        with bar:
            task = bar.add_task("", total=None)
            result = write_pack(
                con, cats, cfg, chosen, ref, out_dir, xlsx=xlsx, pdf=pdf,
                include_unverified=include_unverified, allow_partial=allow_partial,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                cases=board_cases, sources=sources)
    finally:
        con.close()
    print_pack_result(result)


def print_pack_result(result: PackResult) -> None:
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    out.print(f"HTML: {result.html}")
    if result.pdf:
        out.print(f"PDF:  {result.pdf} ({result.pages} pages)")
    if result.xlsx:
        out.print(f"XLSX: {result.xlsx}")
