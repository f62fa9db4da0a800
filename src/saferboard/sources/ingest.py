"""Import files into the store: one batch per file, the whole command in one transaction.

If any file is bad, nothing from the command is kept, so the store is exactly as it was; a
process killed mid-import leaves no partial batch (DuckDB rolls back the open transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from saferboard import store
from saferboard.categories import Categories
from saferboard.errors import InputError
from saferboard.sources import mps, policeuk
from saferboard.sources.files import Local, SourceFile, discover, localise, read_header

Progress = Callable[[SourceFile], None]


@dataclass(frozen=True)
class FileReport:
    path: str
    source: str  # 'policeuk' | 'mps'
    kind: str  # street | outcomes | stop-and-search | borough | ward
    force: str
    first_month: date
    last_month: date
    status: str  # 'loaded' | 'replaced' | 'skipped (identical)'
    rows: int
    rows_without_area: int = 0  # no LSOA: they count for the force, not a local authority
    rows_without_coords: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)
    revised_months: int = 0  # MPS: months of older releases this newer one now replaces
    superseded_months: int = 0  # MPS: months where a newer release already loaded wins
    wards_not_in_lookup: int = 0


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileReport, ...]
    ignored: tuple[str, ...]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows for f in self.files if not f.status.startswith("skipped"))


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str | Path] | None,
    categories: Categories,
    *,
    files: Sequence[SourceFile] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Import `paths` (files, folders, zips) or already-discovered `files`, atomically."""
    ignored: list[str] = []
    if files is None:
        found = discover(list(paths or []))
        files, ignored = found.files, found.ignored
    if not files:
        raise InputError("no .csv, .csv.gz or .zip data files found in "
                         + ", ".join(str(p) for p in paths or []))
    mapped = {s: set(m) for s, m in categories.labels.items()}
    reports: list[FileReport] = []
    with store.transaction(con):
        for source in files:
            with localise(source) as local:
                reports.append(_ingest_one(con, source, local, mapped))
            if progress:
                progress(source)
    return IngestReport(tuple(reports), tuple(ignored))


def _ingest_one(
    con: duckdb.DuckDBPyConnection, source: SourceFile, local: Local,
    mapped: dict[str, set[str]],
) -> FileReport:
    if local.ends_with_newline is False:
        raise InputError("the last line has no line ending: the file looks truncated",
                         path=source.display,
                         line=None if local.lines is None else local.lines + 1)
    header = read_header(local, source.display)
    ident = policeuk.identify(source.name, header, source.display)
    if ident is not None:
        return _policeuk(con, source, local, ident, mapped["policeuk"])
    layout = mps.detect(header, source.display)
    if layout is None:
        raise InputError(
            f"unknown layout: header starts {header[:4]}; expected a police.uk street, "
            "outcomes or stop-and-search file, or an MPS borough/ward table",
            path=source.display, line=1,
        )
    return _mps(con, source, local, layout, mapped["mps"])


def _existing(
    con: duckdb.DuckDBPyConnection, where: str, params: list[object]
) -> tuple[int, str] | None:
    row = store.one(con, f"SELECT batch_id, sha256 FROM batches WHERE {where}", params)
    return (int(row[0]), str(row[1])) if row else None  # type: ignore[call-overload]


def _same_content_elsewhere(
    con: duckdb.DuckDBPyConnection, sha: str, display: str, batch: int | None
) -> None:
    row = store.one(
        con, "SELECT path FROM batches WHERE sha256 = ? AND batch_id IS DISTINCT FROM ?",
        [sha, batch],
    )
    if row:
        raise InputError(
            f"identical content is already loaded from {row[0]} as a different batch; "
            "loading it again would count every row twice", path=display,
        )


def _record_batch(
    con: duckdb.DuckDBPyConnection, batch: int, source: str, kind: str, force: str,
    month: date | None, first: date, last: date, display: str, sha: str, rows: int,
    without_area: int, without_coords: int,
) -> None:
    con.execute(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [batch, source, kind, force, month, first, last, display, sha, rows, without_area,
         without_coords, datetime.now()],
    )


def _policeuk(
    con: duckdb.DuckDBPyConnection, source: SourceFile, local: Local,
    ident: policeuk.Identity, mapped: set[str],
) -> FileReport:
    existing = _existing(
        con, "source = 'policeuk' AND kind = ? AND force = ? AND month = ?",
        [ident.kind, ident.force, ident.month],
    )
    if existing and existing[1] == local.sha256:
        rows = store.one(con, "SELECT row_count FROM batches WHERE batch_id = ?",
                         [existing[0]])
        return FileReport(source.display, "policeuk", ident.kind, ident.force, ident.month,
                          ident.month, "skipped (identical)", int(str(rows[0])) if rows else 0)
    _same_content_elsewhere(con, local.sha256, source.display,
                            existing[0] if existing else None)
    if existing:
        store.delete_batch(con, existing[0])
    batch = store.next_batch_id(con)
    loaded = policeuk.load(con, local.path, source.display, ident, batch, mapped)
    _record_batch(con, batch, "policeuk", ident.kind, ident.force, ident.month, ident.month,
                  ident.month, source.display, local.sha256, loaded.rows,
                  loaded.rows_without_area, loaded.rows_without_coords)
    con.execute("INSERT INTO batch_months VALUES (?, ?)", [batch, ident.month])
    return FileReport(
        source.display, "policeuk", ident.kind, ident.force, ident.month, ident.month,
        "replaced" if existing else "loaded", loaded.rows, loaded.rows_without_area,
        loaded.rows_without_coords, loaded.unmapped,
    )


def _mps(
    con: duckdb.DuckDBPyConnection, source: SourceFile, local: Local, layout: mps.Layout,
    mapped: set[str],
) -> FileReport:
    existing = _existing(
        con, "source = 'mps' AND kind = ? AND first_month = ? AND last_month = ?",
        [layout.level, layout.first, layout.last],
    )
    if existing and existing[1] == local.sha256:
        rows = store.one(con, "SELECT row_count FROM batches WHERE batch_id = ?",
                         [existing[0]])
        return FileReport(source.display, "mps", layout.level, "metropolitan", layout.first,
                          layout.last, "skipped (identical)", int(str(rows[0])) if rows else 0)
    _same_content_elsewhere(con, local.sha256, source.display,
                            existing[0] if existing else None)
    parsed = mps.parse(local.path, source.display, layout, mapped)
    if existing:
        store.delete_batch(con, existing[0])
    batch = store.next_batch_id(con)
    mps.insert(con, batch, layout.level, parsed)
    _record_batch(con, batch, "mps", layout.level, "metropolitan", None, layout.first,
                  layout.last, source.display, local.sha256, parsed.rows, 0, 0)
    con.executemany("INSERT INTO batch_months VALUES (?, ?)",
                    [(batch, m) for m in sorted(layout.months)])
    revised, superseded = _overlap(con, batch, layout.level)
    return FileReport(
        source.display, "mps", layout.level, "metropolitan", layout.first, layout.last,
        "replaced" if existing else "loaded", parsed.rows, unmapped=parsed.unmapped,
        revised_months=revised, superseded_months=superseded,
        wards_not_in_lookup=parsed.wards_not_in_lookup,
    )


def _overlap(con: duckdb.DuckDBPyConnection, batch: int, level: str) -> tuple[int, int]:
    """Months this batch shares with other releases: (ones it now wins, ones it loses)."""
    row = con.execute(
        """
        WITH cover AS (
            SELECT bm.month, b.batch_id,
                   row_number() OVER (PARTITION BY bm.month
                                      ORDER BY b.last_month DESC, b.batch_id DESC) AS rn,
                   count(*) OVER (PARTITION BY bm.month) AS n
            FROM batch_months bm JOIN batches b USING (batch_id)
            WHERE b.source = 'mps' AND b.kind = $level
              AND bm.month IN (SELECT month FROM batch_months WHERE batch_id = $batch)
        )
        SELECT count(*) FILTER (WHERE batch_id = $batch AND rn = 1 AND n > 1),
               count(*) FILTER (WHERE batch_id <> $batch AND rn = 1)
        FROM cover
        """,
        {"batch": batch, "level": level},
    ).fetchall()[0]
    assert row is not None
    return int(row[0]), int(row[1])
