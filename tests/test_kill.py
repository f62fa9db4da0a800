"""kill -9 during an import leaves the store consistent: the command's batches are either all
there, complete, or all absent; then the same import runs to completion.

The kill is a real SIGKILL of a real `saferboard ingest` process, at several points of a
multi-second import of large police.uk files. Each such process is forked from one
interpreter that has imported saferboard once (FORKER), so the six kills pay for one
interpreter start, not six; the child then runs the console script's `main()` as a fresh
process would.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from saferboard import store
from tests.conftest import EXAMPLES, run_cli

SOURCE = EXAMPLES / "policeuk" / "2023-03-metropolitan-street.csv.gz"
SEED = EXAMPLES / "policeuk" / "2020-01-city-of-london-street.csv.gz"
MONTHS = ("2022-01", "2022-02", "2022-03")
ROWS_PER_FILE = 250_000
KILL_DELAYS = (0.05, 0.3, 0.6, 0.9, 1.2, 1.5)  # seconds after the process opened the database


# Reads a JSON list of arguments a line; forks a child that runs `saferboard ARGS` (stdout
# and stderr to /dev/null) and prints its pid; on the next line ("reap") waits for it and
# prints its exit code (negative: killed by that signal). The child stays unreaped (a
# zombie, its pid not reused) until the test has sent its kill.
FORKER = """
import json, os, sys
from saferboard.cli import command, main
command()  # the command tree, built once here rather than in each child
for line in sys.stdin:
    args = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        code = 1
        try:
            sys.argv = ["saferboard", *args]
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            os._exit(code)
    print(pid, flush=True)
    sys.stdin.readline()
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


def csv_count(path: Path) -> int:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
        return sum(1 for _ in csv.reader(f)) - 1


def record_count(path: Path) -> int:
    """csv_count for a file without quoted fields (so one record a line), 30 times faster
    on the big files."""
    data = path.read_bytes()
    assert b'"' not in data and data.endswith(b"\n")
    return data.count(b"\n") - 1


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three large, valid monthly files built by repeating the real example rows."""
    lines = gzip.decompress(SOURCE.read_bytes()).splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    assert all(ln.split(b",")[1] == b"2023-03" for ln in body)
    folder = tmp_path_factory.mktemp("big")
    files = []
    for month in MONTHS:
        fixed = [ln.replace(b",2023-03,", f",{month},".encode(), 1) for ln in body]
        rows = (fixed * (ROWS_PER_FILE // len(fixed) + 1))[:ROWS_PER_FILE]
        path = folder / f"{month}-metropolitan-street.csv"
        path.write_bytes(header + b"".join(rows))
        files.append(path)
    return files


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("seed") / "seed.duckdb"
    run = run_cli("ingest", SEED, "--db", db)
    assert run.code == 0, run.stderr
    return db


def has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open (Linux /proc)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        targets = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return str(path.resolve()) in targets


@pytest.fixture
def forker() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", FORKER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def is_running(pid: int) -> bool:
    """Alive and not yet a zombie (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_during_ingest(forker: subprocess.Popen[str], db: Path, files: list[Path],
                       delay: float) -> int:
    """Start an ingest, SIGKILL it `delay` s after it opened the database; its return code."""
    assert forker.stdin is not None and forker.stdout is not None
    forker.stdin.write(json.dumps(["ingest", *map(str, files), "--db", str(db)]) + "\n")
    forker.stdin.flush()
    pid = int(forker.stdout.readline())
    try:
        deadline = time.monotonic() + 30
        while is_running(pid) and not has_open(pid, db):
            assert time.monotonic() < deadline, "the ingest never opened the database"
            time.sleep(0.005)
        time.sleep(delay)
        if is_running(pid):
            os.kill(pid, signal.SIGKILL)
    finally:
        forker.stdin.write("reap\n")
        forker.stdin.flush()
        code = int(forker.stdout.readline())
    return code


def check_consistent(db: Path, seed_rows: int) -> set[date]:
    """Every batch complete, no orphan rows, the seed intact; the new months present."""
    c = duckdb.connect(str(db))
    try:
        batches = c.execute(
            "SELECT b.batch_id, b.row_count, b.month, "
            "(SELECT count(*) FROM street s WHERE s.batch_id = b.batch_id), "
            "(SELECT count(*) FROM batch_months m WHERE m.batch_id = b.batch_id) "
            "FROM batches b ORDER BY b.batch_id").fetchall()
        orphans = c.execute(
            "SELECT count(*) FROM street WHERE batch_id NOT IN (SELECT batch_id FROM batches)"
        ).fetchall()
        orphan_months = c.execute(
            "SELECT count(*) FROM batch_months "
            "WHERE batch_id NOT IN (SELECT batch_id FROM batches)").fetchall()
        version = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    finally:
        c.close()
    assert version == [(str(store.SCHEMA_VERSION),)]
    assert orphans == [(0,)] and orphan_months == [(0,)]
    for _batch, row_count, _month, street_rows, months in batches:
        assert street_rows == row_count
        assert months == 1
    assert [(m, n) for _b, n, m, _s, _k in batches if m == date(2020, 1, 1)] == [
        (date(2020, 1, 1), seed_rows)]
    return {m for _b, _n, m, _s, _k in batches if m != date(2020, 1, 1)}


def test_kill_9_mid_import_leaves_store_consistent(big_files, seeded, forker, tmp_path):
    seed_rows = csv_count(SEED)
    all_months = {date(int(m[:4]), int(m[5:]), 1) for m in MONTHS}
    outcomes = []
    db = tmp_path / "killed.duckdb"
    for delay in KILL_DELAYS:
        for p in tmp_path.glob("killed.duckdb*"):
            p.unlink()
        shutil.copyfile(seeded, db)
        code = kill_during_ingest(forker, db, big_files, delay)
        present = check_consistent(db, seed_rows)
        assert present in (set(), all_months), f"a partial command survived: {present}"
        outcomes.append((code, present))
    # The earliest kill lands mid-import (several seconds of work): it was really killed,
    # and nothing of the command survived it.
    assert outcomes[0] == (-signal.SIGKILL, set())

    # The same import, run again on the store left by the last kill, completes in full.
    run = run_cli("ingest", *big_files, "--db", db)
    assert run.code == 0, run.stderr
    assert check_consistent(db, seed_rows) == all_months
    c = duckdb.connect(str(db), read_only=True)
    try:
        per_month = c.execute(
            "SELECT strftime(month, '%Y-%m'), count(*) FROM street "
            "WHERE month >= DATE '2022-01-01' GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        c.close()
    assert per_month == [(m, record_count(p)) for m, p in zip(MONTHS, big_files, strict=True)]
    assert all(n == ROWS_PER_FILE for _m, n in per_month)
