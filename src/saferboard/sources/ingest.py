"""Import files into the store: one batch per file, the whole command in one transaction.

If any file is bad, nothing from the command is kept, so the store is exactly as it was; a
process killed mid-import leaves no partial batch (DuckDB rolls back the open transaction).
police.uk files are loaded in bulk (many files per statement, see policeuk.load_many); MPS
tables, a few small files, one at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from saferboard import store
from saferboard.core.categories import Categories
from saferboard.core.dates import utc_now
from saferboard.core.errors import InputError
from saferboard.sources import mps, policeuk
from saferboard.sources.files import Local, SourceFile, discover, materialise, read_header

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
    unmapped_months: dict[str, tuple[date, ...]] = field(default_factory=dict)  # MPS
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


# A bulk load holds at most this much: it bounds the temporary copies of zip members on
# disk and the size of one statement, while amortising the per-statement cost.
MAX_PENDING_BYTES = 256 << 20
MAX_PENDING_FILES = 1000


@dataclass(frozen=True)
class _Pending:
    position: int
    source: SourceFile
    local: Local
    ident: policeuk.Identity

    @property
    def key(self) -> tuple[str, str, date]:
        return (self.ident.kind, self.ident.force, self.ident.month)


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
    reports: dict[int, FileReport] = {}
    pending: list[_Pending] = []

    def flush() -> None:
        try:
            reports.update(_load_policeuk(con, pending, mapped["policeuk"]))
        finally:
            for p in pending:
                if p.local.temporary:
                    p.local.path.unlink(missing_ok=True)
        if progress:
            for p in pending:
                progress(p.source)
        pending.clear()

    with store.transaction(con), tempfile.TemporaryDirectory(prefix="saferboard-") as tmp:
        for position, source in enumerate(files):
            local = materialise(source, Path(tmp))
            ident: policeuk.Identity | None = None
            try:
                ident, layout = _identify(source, local)
                if layout is not None:
                    reports[position] = _mps(con, source, local, layout, mapped["mps"])
                    if progress:
                        progress(source)
                    continue
            finally:
                if local.temporary and ident is None:
                    local.path.unlink(missing_ok=True)
            assert ident is not None
            item = _Pending(position, source, local, ident)
            # A batch key or content seen twice in one load must be decided in command
            # order (the later file replaces, or is refused): load what came before first.
            if any(p.key == item.key or p.local.sha256 == local.sha256 for p in pending):
                flush()
            pending.append(item)
            if (len(pending) >= MAX_PENDING_FILES
                    or sum(p.local.size for p in pending) >= MAX_PENDING_BYTES):
                flush()
        flush()
    return IngestReport(tuple(reports[i] for i in range(len(files))), tuple(ignored))


def _identify(source: SourceFile, local: Local
              ) -> tuple[policeuk.Identity | None, mps.Layout | None]:
    if local.ends_with_newline is False:
        raise InputError("the last line has no line ending: the file looks truncated",
                         path=source.display,
                         line=None if local.lines is None else local.lines + 1)
    header = read_header(local, source.display)
    ident = policeuk.identify(source.name, header, source.display)
    if ident is not None:
        return ident, None
    layout = mps.detect(header, source.display)
    if layout is None:
        raise InputError(
            f"unknown layout: header starts {header[:4]}; expected a police.uk street, "
            "outcomes or stop-and-search file, or an MPS borough/ward table",
            path=source.display, line=1,
        )
    return None, layout


def _load_policeuk(con: duckdb.DuckDBPyConnection, pending: Sequence[_Pending],
                   mapped: set[str]) -> dict[int, FileReport]:
    """Load police.uk files (distinct keys and contents) with one statement per kind."""
    if not pending:
        return {}
    incoming = pa.table({
        "position": [p.position for p in pending],
        "kind": [p.ident.kind for p in pending],
        "force": [p.ident.force for p in pending],
        "month": pa.array([p.ident.month for p in pending], pa.date32()),
        "sha256": [p.local.sha256 for p in pending],
    })
    with store.registered(con, "incoming", incoming):
        existing = {int(pos): (int(b), str(sha), int(n)) for pos, b, sha, n in con.execute(
            "SELECT i.position, b.batch_id, b.sha256, b.row_count FROM incoming i "
            "JOIN batches b ON b.source = 'policeuk' AND b.kind = i.kind "
            "AND b.force = i.force AND b.month = i.month").fetchall()}
        elsewhere = dict(con.execute(
            "SELECT i.position, any_value(b.path) FROM incoming i JOIN batches b "
            "ON b.sha256 = i.sha256 AND NOT (b.source = 'policeuk' AND b.kind = i.kind "
            "AND b.force = i.force AND b.month = i.month) GROUP BY 1").fetchall())
    out: dict[int, FileReport] = {}
    to_load: list[_Pending] = []
    for p in pending:
        old = existing.get(p.position)
        if old and old[1] == p.local.sha256:
            out[p.position] = FileReport(p.source.display, "policeuk", p.ident.kind,
                                         p.ident.force, p.ident.month, p.ident.month,
                                         "skipped (identical)", old[2])
            continue
        if p.position in elsewhere:
            raise InputError(
                f"identical content is already loaded from {elsewhere[p.position]} as a "
                "different batch; loading it again would count every row twice",
                path=p.source.display)
        to_load.append(p)
    if not to_load:
        return out
    replaced = [existing[p.position][0] for p in to_load if p.position in existing]
    store.delete_batches(con, replaced)
    ids = [int(r[0]) for r in con.execute(
        "SELECT nextval('batch_ids') FROM range(?)", [len(to_load)]).fetchall()]
    items = [policeuk.Item(p.local.path, p.source.display, p.ident, i)
             for p, i in zip(to_load, ids, strict=True)]
    loaded: dict[int, policeuk.Loaded] = {}
    for kind in policeuk.KINDS:
        loaded.update(policeuk.load_many(
            con, [i for i in items if i.ident.kind == kind], mapped))
    now = utc_now(seconds=False)
    batches = pa.table({
        "batch_id": pa.array(ids, pa.int64()),
        "source": ["policeuk"] * len(items),
        "kind": [i.ident.kind for i in items],
        "force": [i.ident.force for i in items],
        "month": pa.array([i.ident.month for i in items], pa.date32()),
        "path": [i.display for i in items],
        "sha256": [p.local.sha256 for p in to_load],
        "row_count": pa.array([loaded[i].rows for i in ids], pa.int64()),
        "rows_without_lsoa": pa.array([loaded[i].rows_without_area for i in ids], pa.int64()),
        "rows_without_coords": pa.array([loaded[i].rows_without_coords for i in ids],
                                        pa.int64()),
    })
    with store.registered(con, "new_batches", batches):
        con.execute(
            "INSERT INTO batches SELECT batch_id, source, kind, force, month, month, month, "
            "path, sha256, row_count, rows_without_lsoa, rows_without_coords, ? "
            "FROM new_batches", [now])
        con.execute("INSERT INTO batch_months SELECT batch_id, month FROM new_batches")
    for p, i in zip(to_load, ids, strict=True):
        r = loaded[i]
        out[p.position] = FileReport(
            p.source.display, "policeuk", p.ident.kind, p.ident.force, p.ident.month,
            p.ident.month, "replaced" if p.position in existing else "loaded", r.rows,
            r.rows_without_area, r.rows_without_coords, r.unmapped)
    return out


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
         without_coords, utc_now(seconds=False)],
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
        unmapped_months=parsed.unmapped_months,
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
