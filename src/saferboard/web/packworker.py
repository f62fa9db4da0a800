"""Board packs built in a separate process, so that a build (seconds for the HTML, tens of
seconds for the PDF, nearly all of it Python holding the interpreter lock) never slows the
pages other people are reading.

The server copies the store to a private snapshot (DuckDB's `COPY FROM DATABASE` for the
definitions and one INSERT per table, which run outside the interpreter lock, on a cursor
of its own) and starts
`python -m saferboard.web.packworker` on it; the worker writes the pack files into the same
private temporary folder, and the server reads them back and deletes the folder. The
snapshot holds the store without the rows of the web's own tables (accounts, sessions,
throttling, audit log), for the seconds of the build, in a folder only the server's user
can read.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

import duckdb

from saferboard.core.audience import Audience
from saferboard.core.errors import SaferboardError

BUILD_TIMEOUT_S = 600.0


class PackBuildError(SaferboardError):
    """The worker failed; the message is its last line of stderr."""


WEB_PREFIX = "web_"  # the web's own tables: accounts (password hashes), sessions, audit


def snapshot(cursor: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Copy the store the cursor reads to a new database file `target`, except the rows of
    the web's own tables (their definitions are copied, empty): a pack never reads them,
    so password hashes, session hashes and the audit log are never copied. One read
    transaction, so every table is copied as of the same moment."""
    row = cursor.execute("SELECT current_database()").fetchone()
    assert row is not None
    source = row[0]
    alias = f"snapshot_{os.getpid()}_{abs(hash(target))}"
    cursor.execute(f"ATTACH '{target}' AS {alias}")
    try:
        cursor.execute("BEGIN TRANSACTION")
        try:
            cursor.execute(f'COPY FROM DATABASE "{source}" TO {alias} (SCHEMA)')
            tables = cursor.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() "
                "WHERE database_name = ? AND NOT internal ORDER BY 1, 2", [source]).fetchall()
            for schema, table in tables:
                if not table.startswith(WEB_PREFIX):
                    cursor.execute(f'INSERT INTO {alias}."{schema}"."{table}" '
                                   f'SELECT * FROM "{source}"."{schema}"."{table}"')
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
    finally:
        cursor.execute(f"DETACH {alias}")


def build(snapshot_db: Path, out_dir: Path, *, area: str, month: date, audience: Audience,
          pdf: bool, config_path: Path | None, categories_path: Path | None
          ) -> dict[str, bytes]:
    """Run the worker on `snapshot_db`; the pack files by kind (html and xlsx, or pdf)."""
    job = {"db": str(snapshot_db), "out": str(out_dir), "area": area,
           "month": month.isoformat(), "audience": asdict(audience), "pdf": pdf,
           "config": str(config_path) if config_path else None,
           "categories": str(categories_path) if categories_path else None}
    proc = subprocess.run([sys.executable, "-m", "saferboard.web.packworker"],
                          input=json.dumps(job), capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise PackBuildError(f"the board pack could not be built: "
                             f"{lines[-1] if lines else 'exit ' + str(proc.returncode)}")
    out: dict[str, bytes] = {}
    for kind in ("html", "pdf", "xlsx"):
        path = out_dir / f"pack.{kind}"
        if path.is_file():
            out[kind] = path.read_bytes()
    return out


def main() -> None:
    """The worker: a job as JSON on stdin; writes pack files to the job's folder."""
    # One build, then the process exits. With the collector's default thresholds its full
    # collections (each walking every object of the imported libraries and the national
    # lookups) took 0.3-0.4 s of CPU of a 3.3 s HTML+XLSX build; these make them rare.
    # Memory is unchanged (peak RSS 277-292 MB either way on the web test store).
    gc.set_threshold(10_000, 50, 100)
    from saferboard import store
    from saferboard.core import categories
    from saferboard.core.config import load_config
    from saferboard.report.pack import write_pack

    # Below the server in the scheduler's eyes: on a small machine the pages come first.
    os.nice(10)
    job = json.loads(sys.stdin.read())
    con = store.connect(job["db"], read_only=True, wait_s=0)
    try:
        write_pack(con, categories.load(job["categories"]), load_config(job["config"]),
                   job["area"], date.fromisoformat(job["month"]), Path(job["out"]),
                   xlsx=not job["pdf"], pdf=job["pdf"], audience=Audience(**job["audience"]))
    finally:
        con.close()


if __name__ == "__main__":
    main()
