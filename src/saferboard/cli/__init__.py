"""The `saferboard` command: a thin Typer layer that parses, calls one function, renders.

Errors become one line on stderr and a non-zero exit here, and only here (--debug shows the
traceback); a bad parameter is named by its flag (cli.common.error_text). Each command family
lives in its own module; importing it registers its commands. demo builds the example store
and pack for `saferboard demo`.

May import every layer: it is the top one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from saferboard import __version__
from saferboard.cli import (  # noqa: F401  (registers commands)
    cases,
    cohort,
    data,
    governance,
    people,
    performance,
    places,
    problems,
    web,
)
from saferboard.cli.common import Format, app, err, error_text, out
from saferboard.cli.data import print_ingest_report
from saferboard.cli.performance import print_dashboard, print_pack_result
from saferboard.core.errors import SaferboardError


@app.command("demo")
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo database")] = Path(
        "saferboard-demo"),
    examples: Annotated[Path | None, typer.Option(
        help="Example data folder (default: the examples/ folder of this checkout)")] = None,
) -> None:
    """Build the example database from examples/, print Barnet's performance dashboard and
    write the board pack (pack.html, pack.pdf, pack.xlsx) for the latest complete quarter."""
    from saferboard.cli.demo import run_demo

    with err.status("building the example database and the board pack..."):
        result = run_demo(out_dir, examples)
    print_ingest_report(result.ingest)
    print_dashboard(result.dashboard, Format.table)
    out.print(f"Database: {result.db}")
    print_pack_result(result.pack)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"saferboard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback,
                                          is_eager=True, help="Show the version")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors")] = False,
) -> None:
    """saferboard: crime and partner data to board-ready analysis."""


@cache
def command() -> Callable[[], object]:
    """The command tree, built once per process: `app()` builds it again from every
    command's signature on each call (about 0.1 s of CPU), which a process that runs
    several commands (the tests, in-process) would pay each time."""
    return typer.main.get_command(app)


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:  # accepted anywhere on the line, not only before the command name
        sys.argv = [sys.argv[0], "--debug", *(a for a in sys.argv[1:] if a != "--debug")]
    # Every file saferboard makes (the store and its WAL, secrets, the demo, packs and
    # exports) may hold personal data: owner-only (0600, directories 0700).
    os.umask(0o077)
    try:
        command()()
    except SaferboardError as e:
        if debug:
            raise
        err.print(f"error: {error_text(e)}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as e:  # an unexpected failure still gets one line, not a traceback
        if debug:
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        err.print(f"error: {first} (run with --debug for details)", markup=False,
                  highlight=False, soft_wrap=True)
        sys.exit(1)
