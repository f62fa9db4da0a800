"""Progress on long work (issue 14, item 8): the measures take a plain `progress(done, total)`
callback (no Rich below the CLI); the CLI hangs a Rich bar on it on a terminal (stderr) and
prints nothing extra when piped or for --format json.

Pack progress is tested in test_pack_words (callback, and a piped `pack` run).
"""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from saferboard.measures import hotspots as h
from tests.conftest import EXAMPLES, run_cli

# The loopback archive server and archives of test_fetch, as fixtures here too.
from tests.test_fetch import LOOPBACK_ENV, Fixture, Server, archives, server  # noqa: F401


def random_cells(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.poisson(3, n).astype(np.float64)
    card = rng.integers(4, 10, n).astype(np.float64)
    return values, values * card, card


def test_permutation_p_reports_cells_done_up_to_the_total_and_changes_nothing():
    values, lag, card = random_cells(5000)
    calls: list[tuple[int, int]] = []
    p = h.permutation_p(values, lag, card, 999, seed=4,
                        progress=lambda done, total: calls.append((done, total)))
    # Blocks of 2,000,000 // 999 = 2,002 cells.
    assert calls == [(2002, 5000), (4004, 5000), (5000, 5000)]
    np.testing.assert_array_equal(p, h.permutation_p(values, lag, card, 999, seed=4))


def test_gistar_passes_progress_through_only_with_permutations():
    _, geom = h.boundary("Barnet")
    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = geom.bounds
    x, y = rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)
    grid = h.grid_counts(x, y, geom, 400)
    calls: list[tuple[int, int]] = []
    r = h.gistar(grid, permutations=99, seed=2,
                 progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and calls[-1] == (grid.n_cells, grid.n_cells)
    assert {t for _, t in calls} == {grid.n_cells}
    assert r.cells == h.gistar(grid, permutations=99, seed=2).cells
    calls.clear()
    h.gistar(grid, progress=lambda done, total: calls.append((done, total)))
    assert calls == []  # analytic p-values: nothing to wait for


@pytest.fixture(scope="module")
def street_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("progress") / "p.duckdb"
    files = sorted((EXAMPLES / "policeuk").glob("2024-*-metropolitan-street.csv.gz"))
    r = run_cli("ingest", "--db", db, *files)
    assert r.code == 0, r.stderr
    # Piped: an ingest of many files prints no progress bar (nor anything else) on stderr.
    assert len(files) > 5 and r.stderr == ""
    return db


def test_hotspots_piped_prints_nothing_extra(street_db):
    args = ["hotspots", "--db", street_db, "--area", "Barnet", "--category", "Burglary"]
    r = run_cli(*args, "--permutations", "99", "--seed", "1", "--format", "json")
    assert r.code == 0 and r.stderr == ""
    assert json.loads(r.stdout)["permutations"] == 99
    plain = run_cli(*args, "--format", "csv")
    perm = run_cli(*args, "--permutations", "99", "--seed", "1", "--format", "csv")
    # The same one-line method note, differing only in the inference it names.
    assert plain.stderr.count("\n") == perm.stderr.count("\n") == 1
    assert "\x1b" not in perm.stderr and "\r" not in perm.stderr


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120), buf


def test_hotspots_shows_a_bar_on_a_terminal(street_db, monkeypatch, capsys):
    from saferboard.cli import places

    console, buf = terminal()
    monkeypatch.setattr(places, "err", console)
    places.hotspots_cmd(area="Barnet", category=["Burglary"], permutations=99, seed=1,
                        fmt="csv", db=street_db)
    assert "permutations" in buf.getvalue() and " cells" in buf.getvalue()
    assert capsys.readouterr().out.startswith("row,col,")  # stdout stays the data
    console, buf = terminal()
    monkeypatch.setattr(places, "err", console)
    places.hotspots_cmd(area="Barnet", category=["Burglary"], fmt="csv", db=street_db)
    assert "permutations" not in buf.getvalue()  # no permutations: no bar


def test_ingest_shows_a_bar_on_a_terminal(tmp_path, monkeypatch):
    from saferboard.cli import data

    console, buf = terminal()
    monkeypatch.setattr(data, "err", console)
    files = sorted((EXAMPLES / "policeuk").glob("2024-0*-metropolitan-street.csv.gz"))
    report = data.run_ingest(tmp_path / "t.duckdb", files, None)
    assert len(report.files) == len(files)
    shown = buf.getvalue()
    assert "importing" in shown and f"/{len(files)}" in shown


def test_fetch_bars_on_a_terminal_and_nothing_extra_when_piped(
        server: Server, archives: Fixture,  # noqa: F811  (test_fetch's fixtures)
        tmp_path: Path, monkeypatch) -> None:
    from saferboard.cli import data

    server.files.update(archives.archives)
    run = run_cli("fetch", "--force", "metropolitan", "--from", "2024-12", "--to", "2025-02",
                  "--base-url", server.url, "--db", tmp_path / "piped.duckdb", "--cache",
                  tmp_path / "cache", env={**os.environ, **LOOPBACK_ENV})
    assert run.code == 0 and run.stderr == ""
    console, buf = terminal()
    monkeypatch.setattr(data, "err", console)
    report = data.run_fetch(tmp_path / "t.duckdb", "metropolitan", date(2024, 12, 1),
                            date(2025, 2, 1), server.url, tmp_path / "cache2", None)
    assert len(report.files) == 4
    shown = buf.getvalue()
    assert "downloading" in shown and "importing" in shown and "4/4" in shown
