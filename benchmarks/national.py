"""A national-size store: ingest throughput and the dashboard of every LA in England and Wales.

WHAT IS SYNTHETIC. The only real street rows are those of ../shared/data/policeuk_forces: six
forces (Sussex, Dorset, Essex, Hampshire, West Mercia, North Wales), months 2024-01..04 and
2025-01..12. From them this script writes, into a temporary folder, one police.uk street file
per force and month for the 43 police forces of England and Wales (their police.uk slugs,
from the shipped ONS lookup) and the 36 months 2023-01..2025-12 (fewer with --forces and
--months; the six real forces come first, then the others alphabetically):

* each synthetic force copies the rows of one real force: itself for the six, otherwise the
  real force whose number of LSOAs is nearest to its own (so a large force gets a large
  force's rows);
* months are shifted as benchmarks/ingest.py shifts them (file name and Month column agree),
  but only by whole years: a target month takes the real file of the same calendar month
  (2023-05 copies 2025-05 with its Month set to 2023-05), so seasonality is kept;
* LSOA codes stay real, so areas resolve through the national LSOA lookup as for any real
  file: a real force keeps its own codes; a synthetic force's rows are moved onto the 2021
  LSOAs of its own police force area (the source's LSOAs, sorted, are spread evenly over the
  target's sorted LSOAs; rows of one source LSOA take its target LSOAs in turn), with the
  LSOA name of the new code and `Reported by` / `Falls within` set to the target force. So
  every LA gets rows of its own force, as the dashboard requires (an area's police.uk figures
  come from its own force's files). Coordinates, crime types, outcomes and Crime IDs are the
  source row's and no longer match the new LSOA: nothing timed here uses them.

The full set is 1,548 files and 13.4 million rows, not the issue's "about 18 million": the six
real forces have fewer rows per LSOA than England and Wales as a whole, and a synthetic force
copies one of them (benchmarks/README.md extrapolates).

What it reports (in one process, as the brief asks, with a fresh DuckDB file for each load):

1. ingest: rows/s of saferboard's validated, atomic ingest (`sources.ingest.ingest`) against
   DuckDB's bare `CREATE TABLE t AS SELECT * FROM read_csv([all files])` of the same files
   (goal: ratio >= 0.5), the page cache warmed first, the store's size on disk;
2. dashboards: reading the store (`load_sources`) and then the dashboard of every LA with
   rows in the store, for the last month (2025-12), each against its ONS nearest
   neighbours (Welsh LAs, which ONS does not cover, against their own force's LAs), with
   every police.uk category. Two ways: one `dashboard` call per area (the interactive path,
   peer rates computed for the members of each area's group), and `dashboards` (the batch
   path: every area's rolling-12 rate computed once per source, category and month, then each
   area's dashboard from it). The two must give identical results (checked, every area);
   goal: all dashboards in under 60 s;
3. peak resident memory (ru_maxrss) after each phase.

This is a benchmark, not a timed test; figures are recorded by hand in benchmarks/README.md.
Progress goes to stderr (and to --log), the summary to stdout as JSON and text.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import duckdb
from ingest import Source, add_months, bare_list, read_source, street_files, warm_page_cache
from machine import MiB, machine

SHARED_FORCES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "policeuk_forces"
LAST_MONTH = date(2025, 12, 1)
ALL_MONTHS = 36
MANIFEST = "MANIFEST.json"

_log: TextIO | None = None


def say(text: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {text}"
    print(line, file=sys.stderr, flush=True)
    if _log is not None:
        _log.write(line + "\n")
        _log.flush()


def peak_mib() -> float:
    """This process's peak resident set so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- forces


@dataclass(frozen=True)
class Force:
    slug: str  # police.uk file-name slug
    name: str  # ONS police force area name
    lsoas: tuple[tuple[str, str], ...]  # (2021 code, name), sorted by code


def forces() -> list[Force]:
    """The 43 police forces of England and Wales with their 2021 LSOAs (shipped lookup)."""
    from saferboard.core import national
    from saferboard.core.areas import force_slug

    las = national.local_authorities()
    by_force: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for lsoa in national.lsoa_lookup().values():
        la = las[lsoa.la_code]
        slug = force_slug(la.force_name)
        names[slug] = la.force_name
        by_force.setdefault(slug, []).append((lsoa.code, lsoa.name))
    return [Force(s, names[s], tuple(sorted(v))) for s, v in by_force.items()]


def ordered(all_forces: Sequence[Force], real: set[str]) -> list[Force]:
    """The real forces first (so a small run is mostly real rows), then the rest by slug."""
    return sorted(all_forces, key=lambda f: (f.slug not in real, f.slug))


def source_of(target: Force, real: dict[str, Force]) -> Force:
    """The real force whose rows `target` copies: itself, else the nearest in LSOA count."""
    if target.slug in real:
        return real[target.slug]
    return min(real.values(),
               key=lambda f: (abs(math.log(len(f.lsoas) / len(target.lsoas))), f.slug))


def target_months(n: int) -> list[date]:
    return [add_months(LAST_MONTH, -i) for i in reversed(range(n))]


def source_month(month: date, available: Sequence[date]) -> date:
    """The real month of the same calendar month nearest to `month` (a whole-year shift)."""
    same = [m for m in available if m.month == month.month]
    if not same:
        raise SystemExit(f"no real file for calendar month {month:%m}")
    return min(same, key=lambda m: (abs(m.year - month.year), m))


# --------------------------------------------------------------------------- generation


class LsoaMap:
    """Spread a source force's LSOA codes over a target force's: source code i of n (sorted)
    owns targets [i*N/n, (i+1)*N/n) (at least one), and its rows take them in turn."""

    def __init__(self, source_codes: Sequence[str], target: Force) -> None:
        n, big = len(source_codes), len(target.lsoas)
        self.targets: dict[str, list[tuple[str, str]]] = {}
        for i, code in enumerate(source_codes):
            lo = i * big // n
            hi = max(lo + 1, (i + 1) * big // n)
            self.targets[code] = list(target.lsoas[lo:hi])
        self.turn: dict[str, int] = {}

    def __call__(self, code: str) -> tuple[str, str]:
        choices = self.targets[code]
        k = self.turn.get(code, 0)
        self.turn[code] = k + 1
        return choices[k % len(choices)]


def read_real(root: Path) -> dict[tuple[str, date], Source]:
    """Every real street file by (force, month), read with benchmarks/ingest.py's reader."""
    return {(s.force, s.month): s for s in map(read_source, street_files(root))}


def generate(out: Path, n_forces: int, n_months: int) -> tuple[list[Path], int, list[str]]:
    """Write the synthetic files; returns (files, rows, one line per force saying its source).
    A set generated earlier with the same shape in `out` is reused."""
    manifest = out / MANIFEST
    key = {"forces": n_forces, "months": n_months, "version": 1}
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if {k: saved.get(k) for k in key} == key:
            say(f"reusing the generated set in {out}")
            return [out / p for p in saved["files"]], saved["rows"], saved["sources"]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    real_files = read_real(SHARED_FORCES)
    real_slugs = {f for f, _ in real_files}
    everyone = forces()
    real = {f.slug: f for f in everyone if f.slug in real_slugs}
    if set(real) != real_slugs:
        raise SystemExit(f"forces not in the ONS lookup: {sorted(real_slugs - set(real))}")
    chosen = ordered(everyone, real_slugs)[:n_forces]
    months = target_months(n_months)
    files: list[Path] = []
    rows_written = 0
    lines = []
    start = time.perf_counter()
    for target in chosen:
        source = source_of(target, real)
        available = sorted(m for f, m in real_files if f == source.slug)
        codes = sorted({r[7] for (f, _), rf in real_files.items() if f == source.slug
                        for r in rf.rows if r[7]})
        mapping = None if source.slug == target.slug else LsoaMap(codes, target)
        lines.append(f"{target.slug}: rows of {source.slug}"
                     + ("" if mapping is None else
                        f", {len(codes)} LSOA codes spread over its {len(target.lsoas)}"))
        for month in months:
            rf = real_files[(source.slug, source_month(month, available))]
            path = out / f"{month:%Y-%m}-{target.slug}-street.csv"
            text = f"{month:%Y-%m}"
            with open(path, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(rf.header)
                if mapping is None:
                    writer.writerows([r[0], text, *r[2:]] for r in rf.rows)
                else:
                    body = []
                    for r in rf.rows:
                        code, name = mapping(r[7]) if r[7] else ("", r[8])
                        body.append([r[0], text, target.name, target.name, r[4], r[5], r[6],
                                     code, name, *r[9:]])
                    writer.writerows(body)
            files.append(path)
            rows_written += len(rf.rows)
        say(f"generated {target.slug}: {len(files)} files, {rows_written:,} rows so far "
            f"({time.perf_counter() - start:.0f} s)")
    manifest.write_text(json.dumps({**key, "rows": rows_written, "sources": lines,
                                    "files": [p.name for p in files]}))
    return files, rows_written, lines


# --------------------------------------------------------------------------- measurements


def remove_db(db: Path) -> None:
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)


def time_bare(files: Sequence[Path], db: Path) -> tuple[float, int]:
    remove_db(db)
    start = time.perf_counter()
    bare_list(files, db)
    seconds = time.perf_counter() - start
    con = duckdb.connect(str(db), read_only=True)
    (rows,) = con.execute("SELECT count(*) FROM t").fetchall()[0]
    con.close()
    remove_db(db)
    return seconds, int(rows)


def time_saferboard(files: Sequence[Path], db: Path) -> tuple[float, int]:
    from saferboard import store
    from saferboard.core import categories
    from saferboard.sources.ingest import ingest

    remove_db(db)
    cats = categories.load()
    start = time.perf_counter()
    con = store.connect(db)
    ingest(con, list(files), cats)
    con.close()
    seconds = time.perf_counter() - start
    con = duckdb.connect(str(db), read_only=True)
    (rows,) = con.execute("SELECT count(*) FROM street").fetchall()[0]
    con.close()
    return seconds, int(rows)


def area_configs(names: Sequence[str]) -> list[Any]:
    """Each LA's configuration: its ONS nearest neighbours (Wales: its own force's LAs) as the
    one peer group, which is also the rank group of the RAG; the rest as shipped."""
    from saferboard.core.areas import peer_group
    from saferboard.core.config import load_config
    from saferboard.core.errors import InputError

    base = load_config()
    out = []
    for name in names:
        try:
            group, members = peer_group("ONS nearest neighbours", name, {})
        except InputError:  # Wales: ONS publishes nearest neighbours for England only
            group, members = peer_group("same force", name, {})
        out.append(replace(base, name=f"{name} CSP", area=name, region=group,
                           peer_groups={group: members},
                           rag=replace(base.rag, rank_group=group), targets=()))
    return out


def time_dashboards(db: Path, per_area: bool) -> dict[str, Any]:
    from saferboard import store
    from saferboard.core import categories, national
    from saferboard.measures.coverage import supported_categories
    from saferboard.measures.dashboard import dashboard, dashboards, load_sources

    cats = categories.load()
    start = time.perf_counter()
    con = store.connect(db, read_only=True)
    sources = load_sources(con, cats)
    con.close()
    load_s = time.perf_counter() - start
    table = sources["policeuk"]
    names = sorted(la.name for la in national.local_authorities().values()
                   if table.has_area(la.name))
    wanted, _ = supported_categories(None, cats, names[0])
    configs = area_configs(names)
    say(f"store read in {load_s:.1f} s: {len(names)} LAs with data, {len(wanted)} categories")
    result: dict[str, Any] = {"areas": len(names), "categories": len(wanted),
                              "load_sources_s": load_s, "month": f"{LAST_MONTH:%Y-%m}"}
    start = time.perf_counter()
    batch = dashboards(sources, cats, configs, LAST_MONTH, wanted)
    result["batch_s"] = time.perf_counter() - start
    say(f"batch path: {len(batch)} dashboards in {result['batch_s']:.1f} s")
    result["indicators"] = sum(len(d.rows) for d in batch)
    result["ranked"] = sum(1 for d in batch for r in d.rows if any(
        k.rank is not None for k in r.ranks.values()))
    if per_area:
        start = time.perf_counter()
        single = [dashboard(sources, cats, c, c.area, LAST_MONTH, wanted) for c in configs]
        result["per_area_s"] = time.perf_counter() - start
        say(f"per-area path: {len(single)} dashboards in {result['per_area_s']:.1f} s")
        different = [s.area for s, b in zip(single, batch, strict=True) if s != b]
        if different:
            raise SystemExit(f"batch and per-area dashboards differ for {different[:5]}")
        result["identical"] = len(single)
    return result


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    global _log
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--forces", type=int, default=43, help="forces (1-43; default 43)")
    parser.add_argument("--months", type=int, default=ALL_MONTHS,
                        help="months ending 2025-12 (12..36, default 36)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep and reuse the generated files and store here "
                             "(default: a temporary folder, removed at the end)")
    parser.add_argument("--log", type=Path, default=None, help="also write progress here")
    parser.add_argument("--no-per-area", action="store_true",
                        help="skip the one-call-per-area dashboards (and the equality check)")
    parser.add_argument("--no-bare", action="store_true", help="skip DuckDB's bare read_csv")
    args = parser.parse_args(argv)
    if not 1 <= args.forces <= 43 or not 12 <= args.months <= ALL_MONTHS:
        raise SystemExit("--forces must be 1..43 and --months 12..36 (a dashboard needs at "
                         "least the rolling 12 months)")
    if not SHARED_FORCES.is_dir():
        raise SystemExit(f"{SHARED_FORCES} is missing: the benchmark copies its street files")
    if args.log:
        _log = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 (closed at exit)
    temp = None if args.workdir else tempfile.mkdtemp(prefix="sb-national-")
    work = args.workdir or Path(str(temp))
    work.mkdir(parents=True, exist_ok=True)
    try:
        say(f"{args.forces} forces x {args.months} months in {work}")
        files, rows, lines = generate(work / "files", args.forces, args.months)
        size = sum(p.stat().st_size for p in files)
        say(f"{len(files)} files, {rows:,} rows, {size / MiB:,.0f} MiB; warming the page cache")
        warm_page_cache(files)
        summary: dict[str, Any] = {"machine": machine(), "forces": args.forces,
                                   "months": args.months, "files": len(files), "rows": rows,
                                   "csv_mib": size / MiB, "sources": lines}
        if not args.no_bare:
            seconds, got = time_bare(files, work / "bare.duckdb")
            if got != rows:
                raise SystemExit(f"bare read_csv loaded {got:,} rows, expected {rows:,}")
            summary.update(bare_s=seconds, bare_rows_per_s=rows / seconds,
                           peak_mib_after_bare=peak_mib())
            say(f"bare read_csv: {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
        db = work / "store.duckdb"
        seconds, got = time_saferboard(files, db)
        if got != rows:
            raise SystemExit(f"saferboard loaded {got:,} rows, expected {rows:,}")
        summary.update(saferboard_s=seconds, saferboard_rows_per_s=rows / seconds,
                       store_mib=db.stat().st_size / MiB, peak_mib_after_ingest=peak_mib())
        if "bare_s" in summary:
            summary["ratio"] = summary["bare_s"] / seconds
        say(f"saferboard ingest: {seconds:.1f} s, {rows / seconds:,.0f} rows/s"
            + (f", ratio {summary['ratio']:.2f}" if "ratio" in summary else "")
            + f"; store {summary['store_mib']:,.0f} MiB")
        summary["dashboards"] = time_dashboards(db, not args.no_per_area)
        summary["peak_mib"] = peak_mib()
        print(json.dumps(summary, indent=1))
        say(f"done; peak resident {summary['peak_mib']:,.0f} MiB")
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
        if _log is not None:
            _log.close()


if __name__ == "__main__":
    main()
