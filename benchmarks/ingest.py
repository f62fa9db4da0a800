"""Ingest throughput: saferboard's validated, atomic ingest against DuckDB's bare read_csv.

Two datasets:

1. every police.uk street file under ../shared/data (gzip, as stored; two forces);
2. a generated set of `--rows` rows (default 5,000,000): the same street rows copied over and
   over into new plain .csv monthly files, each copy's months shifted forward past the previous
   copy, so every file is still a valid police.uk street file (file name and Month column agree).

For each dataset the same process runs, interleaved, `--repeat` times:

* bare-list:  `CREATE TABLE t AS SELECT * FROM read_csv([all files])`, one statement;
* bare-files: one `read_csv` per file into one table, in one transaction (the same shape of
  work as saferboard: a statement per file, one commit), types sniffed per file;
* bare-files-typed: the same with saferboard's read_csv options (declared column types, no
  sniffing), so the gap to saferboard is its validation and bookkeeping alone;
* saferboard: `ingest(store.connect(db), files, categories.load())`, i.e. header and file-name
  checks, sha256 of every file, the typed INSERT, the validation queries and the bookkeeping.

Every measurement runs in its own child process, into a fresh persistent DuckDB file, timed
from connect to close (so the commit and checkpoint are included). Peak memory is the child's
peak resident set (VmHWM: ru_maxrss of that process alone). Rows are counted afterwards,
outside the timing, and must agree. The headline is the median of the runs (the best is
shown too); the goal (saferboard at >= 0.5 of the bare read's rows/s) is judged against
bare-list, the literal and strictest baseline. Then one instrumented saferboard run per
dataset says where its time goes.

This is a benchmark, not a timed test: the machine is shared, timings vary from run to run,
and a throughput threshold in the test suite would fail for reasons unrelated to the code.
The figures are recorded by hand in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import duckdb
from machine import MiB, machine, peak_rss_kib

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
METHODS = ("bare-list", "bare-files", "bare-files-typed", "saferboard")
BASELINES = ("bare-list", "bare-files", "bare-files-typed")
GENERATED_MANIFEST = "MANIFEST.json"


# --------------------------------------------------------------------------- inputs


def street_files(root: Path) -> list[Path]:
    """Every police.uk street file under `root`, in a stable order."""
    from saferboard.sources.policeuk import FILENAME

    matches = ((p, FILENAME.match(p.name)) for p in root.rglob("*") if p.is_file())
    return sorted(p for p, m in matches if m is not None and m["kind"] == "street")


def open_text(path: Path) -> Any:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Source:
    force: str
    month: date
    header: list[str]
    rows: list[list[str]]


def read_source(path: Path) -> Source:
    from saferboard.sources.policeuk import FILENAME

    m = FILENAME.match(path.name)
    assert m is not None
    month = date(int(m["year"]), int(m["month"]), 1)
    with open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    text = month.strftime("%Y-%m")
    if any(r[1] != text for r in rows):
        raise SystemExit(f"{path}: a Month value differs from the file name; cannot shift it")
    return Source(m["force"], month, header, rows)


def month_span(sources: Sequence[Source]) -> int:
    """Months from the earliest to the latest file of any force: the shift per copy."""
    spans = []
    for force in {s.force for s in sources}:
        months = [s.month for s in sources if s.force == force]
        first, last = min(months), max(months)
        spans.append((last.year - first.year) * 12 + last.month - first.month + 1)
    return max(spans)


def write_copy(source: Source, month: date, rows: list[list[str]], out: Path) -> Path:
    path = out / f"{month:%Y-%m}-{source.force}-street.csv"
    text = month.strftime("%Y-%m")
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(source.header)
        writer.writerows([r[0], text, *r[2:]] for r in rows)
    return path


def generate(real: Sequence[Path], target_rows: int, out: Path) -> list[Path]:
    """Copy the real street rows into plain .csv files, months shifted, up to `target_rows`.

    The last file is cut short to hit the target exactly. A set generated earlier with the
    same target and sources in `out` is reused.
    """
    manifest = out / GENERATED_MANIFEST
    key = {"rows": target_rows, "sources": [p.name for p in real]}
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if {k: saved.get(k) for k in key} == key:
            return [out / name for name in saved["files"]]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = [read_source(p) for p in real]
    shift = month_span(sources)
    files: list[Path] = []
    written, copy = 0, 1
    while written < target_rows:
        for source in sources:
            rows = source.rows[: target_rows - written]
            files.append(write_copy(source, add_months(source.month, shift * copy), rows, out))
            written += len(rows)
            if written >= target_rows:
                break
        copy += 1
    manifest.write_text(json.dumps({**key, "shift_months": shift, "copies": copy - 1,
                                    "files": [p.name for p in files]}))
    return files


def warm_page_cache(files: Sequence[Path]) -> None:
    """Read every file once so the first measurement does not pay for a cold disk."""
    for path in files:
        with open(path, "rb") as f:
            while f.read(1 << 22):
                pass


# --------------------------------------------------------------------------- measurements
# Each runs in a child process (see child_main); `db` is a fresh DuckDB file.


def bare_list(files: Sequence[Path], db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv($files)",
                {"files": [str(p) for p in files]})
    con.close()


def bare_files(files: Sequence[Path], db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv($path)", {"path": str(files[0])})
    for path in files[1:]:
        con.execute("INSERT INTO t SELECT * FROM read_csv($path)", {"path": str(path)})
    con.execute("COMMIT")
    con.close()


def bare_files_typed(files: Sequence[Path], db: Path) -> None:
    """As bare_files, but with saferboard's read_csv options: declared columns, no sniffing."""
    from saferboard.sources.policeuk import KINDS

    columns = KINDS["street"].columns
    read = ("read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', "
            "escape = '\"', strict_mode = true, null_padding = false, columns = $columns)")
    con = duckdb.connect(str(db))
    con.execute("BEGIN TRANSACTION")
    con.execute(f"CREATE TABLE t AS SELECT * FROM {read}",
                {"path": str(files[0]), "columns": columns})
    for path in files[1:]:
        con.execute(f"INSERT INTO t SELECT * FROM {read}", {"path": str(path), "columns": columns})
    con.execute("COMMIT")
    con.close()


def saferboard_ingest(files: Sequence[Path], db: Path) -> None:
    from saferboard import store
    from saferboard.core import categories
    from saferboard.sources.ingest import ingest

    cats = categories.load()
    con = store.connect(db)
    ingest(con, list(files), cats)
    con.close()


@dataclass
class Clock:
    """Seconds per phase, and each call's duration for the per-file queries."""

    totals: dict[str, float] = field(default_factory=dict)
    calls: dict[str, list[float]] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.totals[phase] = self.totals.get(phase, 0.0) + seconds
        self.calls.setdefault(phase, []).append(seconds)

    @contextmanager
    def time(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - start)


PHASES = {  # how a statement saferboard sends is classified, by a fragment of its SQL
    "read_csv INSERT (parse, cast, area regex, write)": "FROM read_csv(",
    "validation query (month, crime type, coords)": "FILTER (WHERE month IS NULL)",
    "summary query (no area, no coords)": "FILTER (WHERE area IS NULL)",
    "crime-type label query": "GROUP BY ALL",
    "COMMIT": "COMMIT",
}


def classify(sql: str) -> str:
    return next((p for p, frag in PHASES.items() if frag in sql), "bookkeeping queries")


class TimedConnection:
    """A DuckDB connection that times every statement by phase; the rest passes through."""

    def __init__(self, con: duckdb.DuckDBPyConnection, clock: Clock) -> None:
        self._con = con
        self._clock = clock

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        with self._clock.time(classify(query)):
            if parameters is None:
                return self._con.execute(query)
            return self._con.execute(query, parameters)

    def executemany(self, query: str, parameters: object) -> duckdb.DuckDBPyConnection:
        with self._clock.time(classify(query)):
            return self._con.executemany(query, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def saferboard_profiled(files: Sequence[Path], db: Path, clock: Clock) -> None:
    """saferboard's ingest with its phases timed (the source is patched in this child only)."""
    from saferboard import store
    from saferboard.core import categories
    from saferboard.sources import ingest as ingest_mod

    real_materialise, real_header = ingest_mod.materialise, ingest_mod.read_header
    real_discover = ingest_mod.discover

    def timed_materialise(source: Any, directory: Any) -> Any:
        with clock.time("sha256 of the file (materialise)"):
            return real_materialise(source, directory)

    def timed_header(local: Any, display: str) -> list[str]:
        with clock.time("header read"):
            return real_header(local, display)

    def timed_discover(paths: list[Any]) -> Any:
        with clock.time("discover (stat files)"):
            return real_discover(paths)

    ingest_mod.materialise = timed_materialise
    ingest_mod.read_header = timed_header
    ingest_mod.discover = timed_discover
    cats = categories.load()
    with clock.time("connect + schema"):
        con = store.connect(db)
    timed = cast(duckdb.DuckDBPyConnection, TimedConnection(con, clock))
    ingest_mod.ingest(timed, list(files), cats)
    with clock.time("close (checkpoint)"):
        con.close()


def count_rows(method: str, db: Path) -> int:
    table = "street" if method.startswith("saferboard") else "t"
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    finally:
        con.close()




def child_main(method: str, list_file: Path, db: Path) -> None:
    """Run one measurement and print its result as JSON on the last line."""
    import saferboard.sources.ingest  # noqa: F401  (imports are not part of the timing)

    files = [Path(line) for line in list_file.read_text().splitlines()]
    rss_before = peak_rss_kib()
    clock = Clock()
    start = time.perf_counter()
    if method == "bare-list":
        bare_list(files, db)
    elif method == "bare-files":
        bare_files(files, db)
    elif method == "bare-files-typed":
        bare_files_typed(files, db)
    elif method == "saferboard":
        saferboard_ingest(files, db)
    elif method == "saferboard-profiled":
        saferboard_profiled(files, db, clock)
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - start
    peak = peak_rss_kib()
    result = {
        "method": method, "seconds": seconds, "rows": count_rows(method, db),
        "peak_rss_kib": peak, "rss_before_kib": rss_before,
        "phases": clock.totals, "calls": clock.calls,
    }
    print(json.dumps(result))


# --------------------------------------------------------------------------- orchestration


@dataclass(frozen=True)
class Result:
    method: str
    seconds: float
    rows: int
    peak_rss_mib: float
    rss_before_mib: float
    phases: dict[str, float]
    calls: dict[str, list[float]]


def measure(method: str, list_file: Path, workdir: Path, timeout: float) -> Result:
    db = workdir / f"{method}.duckdb"
    remove_db(db)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", method,
           "--child-files", str(list_file), "--child-db", str(db)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        remove_db(db)
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return Result(method, data["seconds"], data["rows"], data["peak_rss_kib"] / 1024,
                  data["rss_before_kib"] / 1024, data["phases"], data["calls"])


def remove_db(db: Path) -> None:
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Summary:
    method: str
    rows: int
    median_s: float
    best_s: float
    peak_rss_mib: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.median_s


def summarise(results: Sequence[Result], expected_rows: int) -> list[Summary]:
    out = []
    for method in METHODS:
        runs = [r for r in results if r.method == method]
        rows = {r.rows for r in runs}
        if rows != {expected_rows}:
            raise SystemExit(f"{method}: loaded {sorted(rows)} rows, expected {expected_rows}")
        times = [r.seconds for r in runs]
        out.append(Summary(method, expected_rows, statistics.median(times), min(times),
                           max(r.peak_rss_mib for r in runs)))
    return out


def run_dataset(
    key: str, name: str, files: Sequence[Path], rows: int, args: argparse.Namespace
) -> None:
    list_file = args.workdir / f"{key}.files"
    list_file.write_text("".join(f"{p}\n" for p in files))
    size = sum(p.stat().st_size for p in files)
    print(f"\n## {name}: {len(files)} files, {rows:,} rows, {size / MiB:,.1f} MiB on disk",
          flush=True)
    warm_page_cache(files)
    results: list[Result] = []
    for rep in range(args.repeat):
        order = METHODS if rep % 2 == 0 else METHODS[::-1]  # alternate to spread drift
        for method in order:
            r = measure(method, list_file, args.workdir, args.timeout)
            print(f"  run {rep + 1}/{args.repeat} {method:<16} {r.seconds:8.2f} s  "
                  f"{r.rows / r.seconds:12,.0f} rows/s  peak {r.peak_rss_mib:7.1f} MiB "
                  f"(after imports {r.rss_before_mib:.1f} MiB)", flush=True)
            results.append(r)
    print_table(name, len(files), summarise(results, rows), args.repeat)
    if not args.no_profile:
        print_profile(measure("saferboard-profiled", list_file, args.workdir, args.timeout))


def print_table(name: str, n_files: int, summaries: Sequence[Summary], repeat: int) -> None:
    by = {s.method: s for s in summaries}
    print(f"\n| dataset | method | files | rows | median s (of {repeat}) | best s "
          "| rows/s (median) | peak RSS MiB (max) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        print(f"| {name} | {s.method} | {n_files} | {s.rows:,} | {s.median_s:.2f} "
              f"| {s.best_s:.2f} | {s.rows_per_s:,.0f} | {s.peak_rss_mib:,.0f} |")
    for base in BASELINES:
        ratio = by["saferboard"].rows_per_s / by[base].rows_per_s
        verdict = "meets" if ratio >= 0.5 else "BELOW"
        print(f"ratio saferboard / {base} (throughput, medians): {ratio:.3f}  "
              f"({verdict} the 0.5 goal)")


def print_profile(r: Result) -> None:
    print(f"\nwhere saferboard's time goes (one instrumented run, {r.seconds:.2f} s wall):")
    accounted = sum(r.phases.values())
    phases = sorted(r.phases.items(), key=lambda kv: -kv[1])
    for phase, seconds in [*phases, ("other Python (unaccounted)", r.seconds - accounted)]:
        n = len(r.calls.get(phase, []))
        calls = f"{n} calls" if n else ""
        print(f"  {phase:<50} {seconds:8.2f} s {100 * seconds / r.seconds:5.1f} %  {calls}")
    for phase in ("validation query (month, crime type, coords)",
                  "summary query (no area, no coords)", "crime-type label query",
                  "read_csv INSERT (parse, cast, area regex, write)"):
        calls = r.calls.get(phase, [])
        if len(calls) >= 10:
            tenth = len(calls) // 10
            first = statistics.mean(calls[:tenth]) * 1000
            last = statistics.mean(calls[-tenth:]) * 1000
            print(f"  per file, {phase}: first tenth of files {first:.1f} ms, "
                  f"last tenth {last:.1f} ms")




def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--rows", type=int, default=5_000_000,
                   help="rows in the generated set (default 5,000,000; 0 to skip it)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the generated files and the databases go (default: a temporary "
                        "folder, removed at the end); a generated set there is reused")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each method per dataset; the median is reported (default 3)")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds before one measurement is abandoned (default 1800)")
    p.add_argument("--no-profile", action="store_true",
                   help="skip the instrumented saferboard run")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-files", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-db", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child_main(args.child, args.child_files, args.child_db)
        return
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA}: not found; this benchmark needs the shared police.uk "
                         "data next to the repository (../shared/data)")
    real = street_files(SHARED_DATA)
    if not real:
        raise SystemExit(f"no police.uk street files (YYYY-MM-force-street.csv[.gz]) "
                         f"under {SHARED_DATA}")
    temporary = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="saferboard-bench-")) if temporary \
        else args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(machine())
        real_rows = sum(len(read_source(p).rows) for p in real)
        run_dataset("real", "real police.uk street files (.csv.gz)", real, real_rows, args)
        if args.rows > 0:
            start = time.perf_counter()
            generated = generate(real, args.rows, args.workdir / "generated")
            print(f"\n(generated set ready in {time.perf_counter() - start:.0f} s, not measured)")
            label = f"generated {args.rows:,} rows (.csv)"
            run_dataset("generated", label, generated, args.rows, args)
    finally:
        if temporary:
            shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
