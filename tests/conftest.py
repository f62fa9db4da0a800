"""Shared fixtures: paths to the example and shared data, a temp store, and a CLI runner that
goes through `saferboard.cli.main` exactly as the console script does."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from saferboard import store
from saferboard.core import categories

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "data"

# Tests on ../shared/data are the one allowed skip: where that folder is absent.
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    """Run `saferboard ARGS` in a subprocess (real exit codes, real stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from saferboard.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def con(db: Path) -> duckdb.DuckDBPyConnection:
    c = store.connect(db)
    yield c
    c.close()


@pytest.fixture(scope="session")
def cats() -> categories.Categories:
    return categories.load()


def table_dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every store table, sorted: 'the database exactly as it was'."""
    c = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        return {n: sorted(c.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}
    finally:
        c.close()
