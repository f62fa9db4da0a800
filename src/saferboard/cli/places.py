"""Place commands: hotspots, near-repeat, density, hotspot-change."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    parse_day,
    parse_month,
    plain,
)
from saferboard.core import categories

if TYPE_CHECKING:  # only annotations: importing them costs ~0.7 s (scipy.stats, altair)
    from saferboard.measures.density import DensityResult
    from saferboard.measures.hotspots import GridCell, HotspotResult, MapSelection
    from saferboard.report.maps import GridLayer
    from saferboard.sources.events import Events

GRID_FORMATS = ("geojson", "csv", "json")
MAP_FORMATS = ("html", "png")

# Options shared by the map commands (hotspots, density, hotspot-change).
BoroughOption = Annotated[str, typer.Option("--area", help="London borough")]
CategoryOption = Annotated[list[str] | None, typer.Option(
    "--category", help="Category, with its descendants (repeatable; default: all)")]
FromMonthOption = Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM")]
ToMonthOption = Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM")]
CellSizeOption = Annotated[float | None, typer.Option(
    "--cell-size", help="Grid cell side in metres (default as for hotspots)")]
FdrOption = Annotated[bool, typer.Option(
    "--fdr/--no-fdr", help="Benjamini-Hochberg false-discovery-rate correction")]
MapFormatOption = Annotated[str, typer.Option(
    "--format", help="geojson, csv, json, html (self-contained interactive map, no tiles) or "
    "png (static map; needs --out)")]
MapOutOption = Annotated[Path | None, typer.Option(
    "--out", help="Write the html or png map to this file (required for png; html goes to "
    "stdout without it)")]


@app.command("hotspots")
def hotspots_cmd(
    area: BoroughOption,
    category: CategoryOption = None,
    from_: FromMonthOption = None,
    to: ToMonthOption = None,
    cell_size: Annotated[float | None, typer.Option(
        "--cell-size", help="Grid cell side in metres (default: the shorter side of the "
        "area's bounding box / 50, rounded down to 50 m, at least 100 m)")] = None,
    permutations: Annotated[int, typer.Option(
        "--permutations", help="Permutation inference with this many permutations "
        "(default 0: analytic p-values)")] = 0,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Random seed for --permutations")] = None,
    fdr: FdrOption = True,
    fmt: MapFormatOption = "geojson",
    out_file: MapOutOption = None,
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Getis-Ord Gi* hotspots of police.uk street crimes on a grid over a London borough
    (British National Grid), with false-discovery-rate control on by default."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from saferboard.measures.hotspots import hotspots
    from saferboard.report.maps import hotspot_layer

    _check_map_format(fmt, out_file)
    # On a terminal only, and only when there are permutations to wait for: nothing extra
    # when piped or for machines (json, geojson and csv go to stdout for programs).
    bar = Progress(TextColumn("[bold]permutations"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("cells"),
                   TimeRemainingColumn(), console=err, transient=True,
                   disable=not err.is_terminal or not permutations or fmt == "json")
    con = store.connect(db, read_only=True)
    try:
        with bar:
            task = bar.add_task("", total=None)
            h = hotspots(con, categories.load(mapping), area,
                         start=parse_month(from_, "--from"), end=parse_month(to, "--to"),
                         category_names=category or [], cell_size=cell_size,
                         permutations=permutations, seed=seed, fdr=fdr,
                         progress=lambda done, total: bar.update(task, completed=done,
                                                                 total=total))
    finally:
        con.close()
    r = h.result
    meta = _map_meta(h, r, {}, {"permutations": r.permutations, "seed": r.seed,
                                "fdr_correction": r.fdr, "classes": r.counts_by_class()})
    cells = [{**_place(c), "count": c.count, "z": round(c.z, 6), "p": c.p,
              "p_adjusted": c.p_adjusted, "class": c.hotspot} for c in r.cells]
    _emit_grid(cells, meta, fmt, out_file, hotspot_layer(r),
               _map_title("hotspots", h.categories, h.area, h.start, h.end),
               f"{r.method} Rows without coordinates (not mapped): "
               f"{h.rows_without_coords:,}; {h.force_rows_without_location:,} "
               f"{h.force or 'police.uk'} rows in these months and categories have no "
               "location (and so no area) and cannot be mapped.")


def _near_repeat_events(path: Path | None, x_col: str | None, y_col: str | None,
                        date_col: str | None, date_format: str | None, crs: int | None,
                        incidents: str | None, from_: str | None, to: str | None,
                        db: Path | None) -> Events:
    """Events from a CSV (FILE with its columns) or from the store (--incidents TYPE)."""
    from saferboard.sources.events import incident_events, read_events

    if (path is None) == (incidents is None):
        raise typer.BadParameter("give either a FILE or --incidents TYPE", param_hint="FILE")
    if incidents is not None:
        start, end = parse_day(from_, "--from"), parse_day(to, "--to")
        con = store.connect(db, read_only=True)
        try:
            return incident_events(con, incidents, start, end)
        finally:
            con.close()
    assert path is not None
    missing = [o for o, v in (("--x-col", x_col), ("--y-col", y_col), ("--date-col", date_col))
               if v is None]
    if missing:
        raise typer.BadParameter(f"a FILE needs {', '.join(missing)}", param_hint=missing[0])
    assert x_col and y_col and date_col
    return read_events(path, x_col, y_col, date_col, date_format=date_format, crs=crs)


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
    space_bands: Annotated[str, typer.Option(
        "--space-bands", help="Distance edges in metres, from 0, e.g. 0,1,100,200,300: bands "
        "[a, b) plus an open-ended last band; with --nrc the calculator's edges after 'same "
        "location' (distance 0), e.g. 0,200,400,600")],
    time_bands: Annotated[str, typer.Option(
        "--time-bands", help="Day edges, from 0, e.g. 0,7,14,21: bands [a, b) plus an "
        "open-ended last band")],
    path: Annotated[Path | None, typer.Argument(
        help="CSV of events with a header row (or use --incidents for the store's partner "
        "incidents)")] = None,
    x_col: Annotated[str | None, typer.Option(
        "--x-col", help="Column of x (easting, metres, or longitude with a geographic "
        "--crs)")] = None,
    y_col: Annotated[str | None, typer.Option(
        "--y-col", help="Column of y (northing or latitude)")] = None,
    date_col: Annotated[str | None, typer.Option(
        "--date-col", help="Column of the event date")] = None,
    incidents: Annotated[str | None, typer.Option(
        "--incidents", help="Instead of a FILE: the store's partner incidents of this type "
        "(e.g. 'residential burglary'), with --from/--to dates YYYY-MM-DD")] = None,
    from_: Annotated[str | None, typer.Option(
        "--from", help="With --incidents: first date, YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="With --incidents: last date, YYYY-MM-DD")] = None,
    db: DbOption = None,
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
    nrc: Annotated[bool, typer.Option(
        "--nrc", help="Reproduce the Near Repeat Calculator: --space-bands are its edges "
        "after 'same location' (distance exactly 0), distances in single precision")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Count time bands finer than the dates' resolution (month-only "
        "dates) anyway")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Near-repeat Knox test: pairs of events in space x time bands against permutations of
    the dates, with Knox ratios and p-values, and a label for each event."""
    from saferboard.measures.near_repeat import ResolutionError, date_resolution, knox

    s_edges = _edges(space_bands, "--space-bands")
    t_edges = _edges(time_bands, "--time-bands")
    events = _near_repeat_events(path, x_col, y_col, date_col, date_format, crs, incidents,
                                 from_, to, db)
    if any(e != int(e) for e in t_edges):
        raise typer.BadParameter(f"time edges must be whole days, got {time_bands!r}",
                                 param_hint="--time-bands")
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    # On a terminal only: nothing extra when piped or for machines (--format json).
    bar = Progress(TextColumn("[bold]permutations"), BarColumn(),
                   TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                   console=err, transient=True,
                   disable=not err.is_terminal or fmt is Format.json)
    try:
        with bar:
            task = bar.add_task("", total=permutations)
            r = knox(events.x, events.y, events.days, s_edges, [int(e) for e in t_edges],
                     distance=distance.value, permutations=permutations, seed=seed, nrc=nrc,
                     date_resolution=date_resolution(events.days), force=force,
                     progress=lambda done, _total: bar.update(task, completed=done))
    except ResolutionError as e:  # one line naming the option, with the way out
        raise ResolutionError(f"{e.detail}, or --force to count them anyway",
                              column="--time-bands") from None
    except ValueError as e:  # edges not from 0 or not increasing
        raise typer.BadParameter(str(e)) from None
    if events.skipped_no_coordinates:
        err.print(f"note: {events.skipped_no_coordinates:,} row(s) without coordinates "
                  "skipped", markup=False, highlight=False)
    for warning in r.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
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
               "event_labels": r.label_counts(), "nrc": r.nrc,
               "distance_precision": r.precision, "date_resolution": r.date_resolution,
               "warnings": r.warnings}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return

    s_names = [f"{lab} {iv}" for lab, iv in zip(r.space_labels, r.space_intervals(),
                                                strict=True)]
    t_names = [f"{lab} {iv}" for lab, iv in zip(r.time_labels, r.time_intervals(),
                                                strict=True)]
    if fmt is Format.csv:
        if r.nrc:  # the CSV rows cannot say it, and its numbers depend on it
            err.print("note: Near Repeat Calculator mode: 'same location' is distance 0 and "
                      "distances are single precision", markup=False, highlight=False)
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
    mode = (f"{r.distance}, Near Repeat Calculator bands, single-precision distances"
            if r.nrc else r.distance)
    emit(rows, fmt, title=f"Knox test, {r.n_events:,} events, {r.permutations} permutations "
                          f"({mode}); cells: observed pairs / Knox ratio / p")
    counts = ", ".join(f"{k} {v:,}" for k, v in r.label_counts().items())
    out.print(f"Events within {r.near_distance:g} m and {r.near_days} days: {counts}.",
              highlight=False, markup=False)
    out.print(r.method, highlight=False, markup=False)


def _check_map_format(fmt: str, out_file: Path | None) -> None:
    from saferboard.core.errors import InputError

    if fmt not in GRID_FORMATS + MAP_FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not available; choose one of "
                                 f"{', '.join(GRID_FORMATS + MAP_FORMATS)}",
                                 param_hint="--format")
    # InputError, not BadParameter: one plain line (the brief's "clear error"), no Typer box.
    if fmt == "png" and out_file is None:
        # PNG bytes on a terminal are useless and break pipes that expect text.
        raise InputError("--format png writes a file: add --out FILE.png")
    if out_file is not None and fmt not in MAP_FORMATS:
        raise InputError(f"--out is for the html and png maps; redirect {fmt} output "
                         "instead (> FILE)")


def _map_title(kind: str, cats: Sequence[str], area: str, start: date | None,
               end: date | None) -> str:
    what = ", ".join(cats) or "All crime"
    months = f"{start:%b %Y}" if start else "first month"
    months += " to " + (f"{end:%b %Y}" if end else "latest month")
    return f"{what} {kind}, {area} ({months})"


def _map_meta(s: MapSelection, r: HotspotResult | DensityResult, method: dict[str, Any],
              result: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a hotspot or density grid: the selection, the grid, then the
    measure's own method and result fields (in the order the JSON has always had)."""
    return {"area": s.area, "categories": list(s.categories) or ["all"], "from": s.start,
            "to": s.end, "crs": "EPSG:27700", "cell_size_m": r.cell_size, **method,
            "force": s.force, "rows": s.rows, "rows_without_coordinates": s.rows_without_coords,
            "force_rows_without_location": s.force_rows_without_location,
            "points_outside_grid": r.points_outside, "cells": len(r.cells), **result,
            "method": r.method}


def _place(c: GridCell) -> dict[str, Any]:
    """The columns every grid cell row starts with."""
    return {"row": c.row, "col": c.col, "x": c.x, "y": c.y, "lon": c.lon, "lat": c.lat}


def _emit_grid(cells: list[dict[str, Any]], meta: dict[str, Any], fmt: str,
               out_file: Path | None, layer: GridLayer, title: str, note: str) -> None:
    """Grid cells as CSV, JSON (metadata + cells), a GeoJSON FeatureCollection, or a map:
    self-contained Leaflet HTML (stdout or --out) or a static PNG (--out). The note (the
    method) goes to stderr, except with JSON, which carries it."""
    if fmt in MAP_FORMATS:
        from saferboard.core.areas import ward_outlines
        from saferboard.measures.hotspots import boundary
        from saferboard.report.maps import map_html, map_png

        name, geom = boundary(meta["area"])
        wards = ward_outlines(name)  # outlines and names: where a cell is, without tiles
        if fmt == "png":
            assert out_file is not None  # checked before the analysis
            out_file.write_bytes(map_png(layer, geom, title, wards=wards))
        elif out_file is None:
            sys.stdout.write(map_html(layer, geom, title, wards))
        else:
            out_file.write_text(map_html(layer, geom, title, wards), encoding="utf-8")
    elif fmt == "csv":
        emit(cells, Format.csv, columns=list(cells[0]) if cells else None)
    elif fmt == "json":
        sys.stdout.write(json.dumps(plain({**meta, "cells": cells}), indent=2) + "\n")
    else:
        from saferboard.measures.hotspots import square_rings_wgs84

        rings = square_rings_wgs84(layer.x, layer.y, layer.cell_size)
        features = [{"type": "Feature", "properties": props,
                     "geometry": {"type": "Polygon", "coordinates": [ring]}}
                    for props, ring in zip(cells, rings, strict=True)]
        sys.stdout.write(json.dumps({"type": "FeatureCollection", "metadata": plain(meta),
                                     "features": features}) + "\n")
    if fmt != "json":
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


@app.command("density")
def density_cmd(
    area: BoroughOption,
    category: CategoryOption = None,
    from_: FromMonthOption = None,
    to: ToMonthOption = None,
    cell_size: CellSizeOption = None,
    bandwidth: Annotated[float | None, typer.Option(
        "--bandwidth", help="Kernel bandwidth in metres (default: the spatial Silverman "
        "rule used by ArcGIS Pro; pass a fixed one to compare periods)")] = None,
    fmt: MapFormatOption = "geojson",
    out_file: MapOutOption = None,
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Quartic kernel density (crimes per km^2) of police.uk street crimes at the centres of
    the hotspot grid over a London borough."""
    from saferboard.measures.density import density
    from saferboard.report.maps import density_layer

    _check_map_format(fmt, out_file)
    con = store.connect(db, read_only=True)
    try:
        d = density(con, categories.load(mapping), area, start=parse_month(from_, "--from"),
                    end=parse_month(to, "--to"), category_names=category or [],
                    cell_size=cell_size, bandwidth=bandwidth)
    finally:
        con.close()
    r = d.result
    meta = _map_meta(d, r, {"bandwidth_m": round(r.bandwidth, 3),
                            "bandwidth_rule": r.bandwidth_rule, "kernel": r.kernel,
                            "units": "crimes per km2"}, {"mass": round(r.mass(), 3)})
    cells = [{**_place(c), "count": c.count, "density": round(c.density, 6)}
             for c in r.cells]
    _emit_grid(cells, meta, fmt, out_file, density_layer(r),
               _map_title("kernel density", d.categories, d.area, d.start, d.end), r.method)


def _period(value: str) -> tuple[date, date]:
    first, sep, last = value.partition("..")
    start = parse_month(first, "--period")
    end = parse_month(last if sep else first, "--period")
    assert start is not None and end is not None  # parse_month only returns None for None
    return start, end


@app.command("hotspot-change")
def hotspot_change_cmd(
    area: BoroughOption,
    period: Annotated[list[str], typer.Option(
        "--period", help="YYYY-MM..YYYY-MM, repeated in time order: the first is 'before', "
        "the last 'after', any between are sub-periods (at least 2)")],
    category: CategoryOption = None,
    cell_size: CellSizeOption = None,
    confidence: Annotated[float, typer.Option(
        "--confidence", help="Confidence (%) at which a Gi* cell counts as hot")] = 95.0,
    persistent_share: Annotated[float, typer.Option(
        "--persistent-share", help="Share of periods a cell must be hot in to be "
        "persistent (default 1: all)")] = 1.0,
    fdr: FdrOption = True,
    fmt: MapFormatOption = "geojson",
    out_file: MapOutOption = None,
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Hotspot change between periods: each grid cell persistent, emerging, former,
    intermittent or not hot, from Gi* hotspots in each period."""
    from saferboard.measures.hotspot_change import area_hotspot_change
    from saferboard.report.maps import change_layer

    _check_map_format(fmt, out_file)
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
    cells = [{**_place(c),
              **{f"count_{i + 1}": n for i, n in enumerate(c.counts)},
              **{f"hot_{i + 1}": hot for i, hot in enumerate(c.hot)},
              "class": c.change} for c in r.cells]
    _emit_grid(cells, meta, fmt, out_file, change_layer(r),
               _map_title("hotspot change", a.categories, a.area, a.periods[0][0],
                          a.periods[-1][1]), r.method)




@app.command("area-rates")
def area_rates_cmd(
    area: Annotated[str, typer.Option("--area", help="Local authority")],
    level: Annotated[str, typer.Option(
        "--level", help="lsoa (police.uk street crimes; shipped populations) or ward (MPS "
        "ward counts; needs --population)")] = "lsoa",
    category: CategoryOption = None,
    from_: Annotated[str | None, typer.Option(
        "--from", help="First month, YYYY-MM (default: 11 months before --to)")] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Last month, YYYY-MM (default: the latest month with data)")] = None,
    population: Annotated[Path | None, typer.Option(
        "--population", help="CSV with columns code,population replacing the shipped LSOA "
        "estimates (required for wards)")] = None,
    fmt: FormatOption = Format.table,
    db: DbOption = None,
    mapping: CategoriesOption = None,
) -> None:
    """Crime per 1,000 residents by LSOA or ward with 95% exact intervals, ranked, and
    whether each is higher or lower than the whole authority (FDR-corrected)."""
    from saferboard.core.errors import InputError
    from saferboard.measures.area_rates import area_rates, latest_month
    from saferboard.sources.populations import read_populations

    pops = read_populations(population) if population is not None else None
    con = store.connect(db, read_only=True)
    try:
        end = parse_month(to, "--to") or latest_month(con, area, level)
        if end is None:
            raise InputError(f"no {'police.uk street' if level == 'lsoa' else 'MPS ward'} "
                             f"data for {area!r} in the store", column="--area")
        start = parse_month(from_, "--from") or date(
            end.year - (end.month < 12), (end.month % 12) + 1, 1)
        r = area_rates(con, categories.load(mapping), area, level=level, start=start, end=end,
                       category_names=category or [], populations=pops)
    finally:
        con.close()
    rows = [{"rank": a.rank, "code": a.code, "name": a.name, "count": a.count,
             "population": None if a.population is None else round(a.population),
             "rate_per_1000": _round(a.rate, 2), "lower": _round(a.lower, 2),
             "upper": _round(a.upper, 2), "p_adjusted": _round(a.p_adjusted, 4),
             "versus_area": a.versus_area} for a in r.rows]
    cats = list(r.categories) or ["all"]
    meta = {"area": r.area, "level": r.level, "categories": cats,
            "from": r.start, "to": r.end, "area_count": r.area_count,
            "area_rate_per_1000": round(r.area_rate, 3), "population_note": r.population_note,
            "unallocated": [{"code": c, "count": n} for c, n in r.unallocated]}
    if fmt is Format.json:
        sys.stdout.write(json.dumps(plain({**meta, "rows": rows}), indent=2) + "\n")
        return
    emit(rows, fmt, title=f"{r.area}: {', '.join(cats)} per 1,000 residents by "
         f"{level.upper() if level == 'lsoa' else 'ward'}, {r.start:%Y-%m}..{r.end:%Y-%m}")
    if fmt is Format.table:
        err.print(f"{r.area}: {r.area_count:,} crimes, {r.area_rate:.2f} per 1,000. "
                  f"{r.population_note}. Intervals are exact Poisson 95%; 'higher'/'lower' "
                  "means different from the authority's rate after Benjamini-Hochberg "
                  "correction.", markup=False, highlight=False, soft_wrap=True)
    if r.unallocated:
        n = sum(c for _, c in r.unallocated)
        err.print(f"note: {n:,} crimes carry {len(r.unallocated)} code(s) that are not current "
                  f"{level.upper() if level == 'lsoa' else 'ward'}s of {r.area} (e.g. 2011 "
                  f"LSOAs retired in 2021: {', '.join(c for c, _ in r.unallocated[:5])}); they "
                  "count in the authority's rate, not in any row", markup=False,
                  highlight=False, soft_wrap=True)
