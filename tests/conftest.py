"""Shared fixtures: paths to the example and shared data, a temp store, example stores built
once per session, and two CLI runners that both go through `saferboard.cli.main` as the console
script does: `run_cli` in this process (fast: no interpreter start, no re-import) and
`run_cli_process` in a child process, for the few tests that prove process behaviour (exit
status of a real process, kill -9, locks between processes, the file modes of a fresh process)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from saferboard import store
from saferboard.cli.demo import DemoResult, run_demo
from saferboard.core import categories

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "data"

# Tests on ../shared/data are the one allowed skip: where that folder is absent.
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")


# The fixtures that make a test slow: the board pack (a WeasyPrint build), files of 250,000
# rows (test_bad_input's deep bad row, test_kill's kill -9 imports), schemathesis' API run.
SLOW_FIXTURES = {"demo_run", "big_lines", "big_files", "api_web"}


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups to place tests
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Layers of the suite, by the fixtures a test uses (so new tests are sorted too): a test
    driving a real browser is `browser`; `pytest -m "not slow and not browser"` is the quick
    loop, `scripts/test.sh` runs everything. Under xdist (`-n`, `--dist loadgroup`) the tests
    of the session's one demo pack run on one worker, so it is built once; so do the tests of
    a module that share a module-scoped fixture (an example store, an app and its pack
    cache), which would otherwise be built on each worker that runs one of them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
        if names & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
        if "demo_run" in names:  # `demo` is built from it, so its tests have it too
            item.add_marker(pytest.mark.xdist_group("demo"))
        elif "module" in _fixture_scopes(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def _fixture_scopes(item: pytest.Item) -> set[str]:
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the item's fixtures
    if info is None:
        return set()
    return {d.scope for defs in info.name2fixturedefs.values() for d in defs}


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli_process(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    """Run `saferboard ARGS` in a subprocess (real exit codes, real stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from saferboard.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


# A fresh interpreter's warning filters (what a user of the console script sees on stderr);
# pytest's own filters would show more and capture them away from stderr.
_PROCESS_WARNING_FILTERS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                            ResourceWarning)


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    """Run `saferboard ARGS` in this process, as the console script would in its own.

    Same shape as `run_cli_process`: `main()` parses sys.argv, maps errors to one stderr line
    and calls sys.exit; stdout and stderr are captured apart (click's runner isolation); `env`,
    as for subprocess, replaces the whole environment for the call. The state a call may
    change is put back: sys.argv, the environment, the umask `main()` sets, the width of the
    CLI's consoles."""
    from click.testing import CliRunner

    from saferboard import cli
    from saferboard.cli import common

    overlay: dict[str, str | None] | None = None
    if env is not None:
        overlay = {k: None for k in os.environ if k not in env}
        overlay.update(env)
    argv, umask = sys.argv, os.umask(0o022)
    os.umask(umask)
    # The consoles took their width and colours from the streams at import: under `pytest -s`
    # on a terminal that is the terminal's; a piped run's are 200 columns and no colour.
    consoles = [(c, c._width, c._color_system) for c in (common.out, common.err)]
    code: int = 0
    with CliRunner(catch_exceptions=False).isolation(env=overlay) as (out, err, _):
        try:
            sys.argv = ["saferboard", *map(str, args)]
            for c, _w, _s in consoles:
                c.width, c._color_system = 200, None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                for category in _PROCESS_WARNING_FILTERS:
                    warnings.simplefilter("ignore", category)
                try:
                    cli.main()
                except SystemExit as e:
                    if isinstance(e.code, str):  # as the interpreter does with sys.exit("text")
                        print(e.code, file=sys.stderr)
                    code = 1 if isinstance(e.code, str) else (e.code or 0)
                except BaseException:  # --debug re-raises: the interpreter prints and exits 1
                    traceback.print_exc()
                    code = 1
            for w in caught:
                sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename,
                                                        w.lineno, w.line))
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            sys.argv = argv
            os.umask(umask)
            for c, w, colours in consoles:
                c._width, c._color_system = w, colours
        return Run(code, out.getvalue().decode(), err.getvalue().decode())


def cli_ok(*args: str | Path) -> str:
    """stdout of `saferboard ARGS` (run_cli), which must succeed."""
    run = run_cli(*args)
    assert run.code == 0, run.stderr
    return run.stdout


def error_line(run: Run) -> str:
    """The refusal contract of a run (run_cli or run_cli_process): non-zero exit, exactly one
    non-empty 'error: ' line on stderr, no traceback; that line."""
    assert run.code != 0, run.stdout
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and len(lines[0]) > len("error: ")
    return lines[0]


def cli_refusal(*args: str | Path) -> str:
    """The error line of `saferboard ARGS` (run_cli), which must refuse as saferboard refuses
    (a SaferboardError): exit 1 and one 'error: ' line on stderr (error_line), not an
    unexpected failure (whose line ends "run with --debug for details")."""
    run = run_cli(*args)
    line = error_line(run)
    assert run.code == 1 and "--debug" not in line, (run.code, line)
    return line


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new, empty store made once: `con` copies it (creating a store and its schema costs
    about three times as much as opening a copy)."""
    path = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    store.connect(path).close()
    return path


@pytest.fixture
def con(db: Path, empty_store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    shutil.copyfile(empty_store, db)
    c = store.connect(db)
    yield c
    c.close()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2id at its smallest cost for the accounts the tests make and sign in with in
    this process: the production parameters (RFC 9106 low-memory profile: 64 MiB, 3 passes,
    4 lanes) take about 250 ms a hash here and the web tests sign in hundreds of times. Same
    algorithm, hash format and code paths; a hash records its own parameters, so a stored
    production hash still verifies. Processes started by run_cli_process hash as in
    production (tests/web/test_cli.py pins that)."""
    from argon2 import PasswordHasher, Type

    from saferboard.web import auth

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", cheap)
        patch.setattr(auth, "_DUMMY_HASH", cheap.hash("not a password"))
        yield


def session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder, shared by all its xdist workers (each worker's own
    base folder is inside it)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session", autouse=True)
def private_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's cache folder ($XDG_CACHE_HOME: the Vega bundle, the compiled pack
    templates, the charts' SVGs) replaced by one of the session's, shared by its workers
    and the processes they start: a run neither reads nor fills the user's own, so what it
    checks and how long it takes do not depend on earlier runs."""
    folder = session_folder(tmp_path_factory) / "xdg-cache"
    folder.mkdir(mode=0o700, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], Path]) -> Path:
    """`build(folder)` run once for the whole session, whatever the number of xdist workers:
    the first worker to need it builds it in the session's shared temp folder under a file
    lock, the others wait for it and take the same file. Only for files that every test
    copies or opens read-only (two processes cannot both open a DuckDB file for writing)."""
    root = session_folder(tmp_path_factory)
    folder, done = root / name, root / f"{name}.built"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(str(build(folder)), encoding="utf-8")
    return Path(done.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web's example store with one account per role (tests/web/conftest.py), built once
    per session (built_once: one build for all workers): tests copy it (make_web) or only
    read it."""
    from tests.web.conftest import build_base_db

    return built_once(tmp_path_factory, "webdb", build_base_db)


@pytest.fixture(scope="session")
def partner_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of synthetic cohort extracts and an MPS release (tests/test_cohort_store.py),
    built once per session; read only."""
    from tests.test_cohort_store import build_partner_db

    return build_partner_db(tmp_path_factory.mktemp("cohort"))


@pytest.fixture(scope="session")
def cats() -> categories.Categories:
    return categories.load()


def table_dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every store table, sorted: 'the database exactly as it was'. DuckDB
    sorts (ORDER BY ALL, NULLs first): equal tables give equal lists, and it is several times
    faster than sorting the Python tuples by repr (0.4 s for a store of 25,000 rows)."""
    c = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        return {n: c.execute(f"SELECT * FROM {n} ORDER BY ALL NULLS FIRST").fetchall()
                for n in names}
    finally:
        c.close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Run]:
    """`saferboard demo --out DIR`, run once per session through the command itself (in this
    process, as run_cli does): what it printed, and its work (the example store and Barnet's
    board pack: HTML, PDF, XLSX), taken from the command's own call of run_demo. A full
    WeasyPrint build is the costliest thing the tests do."""
    from saferboard.cli import demo as demo_module

    made: list[DemoResult] = []

    def recorded(*args: Any, **kwargs: Any) -> DemoResult:
        result = run_demo(*args, **kwargs)
        made.append(result)
        return result

    out = tmp_path_factory.mktemp("demo") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_module, "run_demo", recorded)
        run = run_cli("demo", "--out", out)
    assert run.code == 0, run.stderr
    assert len(made) == 1 and made[0].db == out / "saferboard.duckdb"
    return made[0], run


@pytest.fixture(scope="session")
def demo(demo_run: tuple[DemoResult, Run]) -> DemoResult:
    """The session's demo (demo_run): read it; a test that changes the store copies
    `demo.db` first."""
    return demo_run[0]
