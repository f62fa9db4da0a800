"""Shared pieces of the command line: the Typer app, consoles, output formats, options."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, overload

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from saferboard import store
from saferboard.core import dates
from saferboard.core.errors import InputError, SaferboardError
from saferboard.core.riskmatrix import ENV as MATRIX_ENV
from saferboard.core.text import csv_text
from saferboard.store.cases import DEFAULT as CASES_DB_DEFAULT
from saferboard.store.cases import ENV as CASES_DB_ENV

app = typer.Typer(
    help="saferboard: crime and partner data to board-ready analysis for Community Safety "
    "Partnerships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output is not squeezed to 80 columns: analysts paste it into emails and notes.
out = Console() if sys.stdout.isatty() else Console(width=200)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB store (default: $SAFERBOARD_DB, else ./saferboard.duckdb)"),
]
CategoriesOption = Annotated[
    Path | None,
    typer.Option("--categories", help="Category mapping to lay over the shipped one "
                 "(default: $SAFERBOARD_CATEGORIES)"),
]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format")]
CasesDbOption = Annotated[Path | None, typer.Option(
    "--cases-db", help=f"The case register (default: ${CASES_DB_ENV}, else ./{CASES_DB_DEFAULT})")]
MatrixOption = Annotated[Path | None, typer.Option(
    "--matrix", help=f"Risk matrix and case settings TOML laid over the shipped one "
    f"(default: ${MATRIX_ENV})")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Partnership configuration TOML (default: "
                 "$SAFERBOARD_CONFIG, else the shipped Barnet configuration)"),
]


def _option(value: str | None, option: str, parse: Callable[[str], date],
            expected: str) -> date | None:
    """An option read by core's one parser (None stays None); a bad one is the option's
    usage error."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        raise typer.BadParameter(f"expected {expected}, got {value!r}",
                                 param_hint=option) from None


def parse_month(value: str | None, option: str) -> date | None:
    return _option(value, option, dates.parse_month, "YYYY-MM")


@overload
def parse_day(value: None, option: str) -> None: ...
@overload
def parse_day(value: str, option: str) -> date: ...
@overload
def parse_day(value: str | None, option: str) -> date | None: ...
def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD (or DD/MM/YYYY) option (None stays None), read by the one parser of a
    day; a bad one is the option's usage error."""
    return _option(value, option, dates.parse_day, "YYYY-MM-DD")


def login_name() -> str:
    """The login name the audit logs record for a command; 'unknown' when the machine has
    none (a container): the change is still audited, with a marker."""
    try:
        return getpass.getuser()
    except Exception:  # KeyError/OSError from getpass, whatever the platform raises
        return "unknown"


@contextmanager
def store_for_import(db: Path | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store opened for writing by a command that may create it: if the command fails
    and the store did not exist before, its files are removed again, so a failed first
    import leaves no empty store behind (the database is as it was: absent)."""
    path = store.resolve_db_path(db)
    existed = path.exists()
    try:
        con = store.connect(path)
        try:
            yield con
        finally:
            con.close()
    except BaseException:
        if not existed:
            for p in (path, path.with_name(path.name + ".wal")):
                p.unlink(missing_ok=True)
        raise


def plain(value: Any) -> Any:
    """Months are stored as first-of-month dates and shown as YYYY-MM."""
    if isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def emit(rows: list[dict[str, Any]], fmt: Format, title: str | None = None,
         columns: list[str] | None = None) -> None:
    """Print rows as a Rich table, CSV or JSON (CSV keeps its header even with no rows)."""
    rows = [plain(r) for r in rows]
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    columns = columns or (list(rows[0]) if rows else [])
    if fmt is Format.csv:
        sys.stdout.write(csv_text(rows, columns))
        return
    table = Table(title=title, show_lines=False)
    for c in columns:
        numeric = rows and isinstance(rows[0][c], int | float) and not isinstance(rows[0][c], bool)
        table.add_column(c, justify="right" if numeric else "left")
    for r in rows:
        table.add_row(*(_cell(r[c]) for c in columns))
    if not rows:
        out.print("(no rows)")
    else:
        out.print(table)



# The library's parameter names whose flag is not `--` + the name with dashes (errors below
# the CLI name parameters; the CLI names its own flags).
FLAGS = {"start": "--from", "end": "--to", "top_n": "--top"}


def flag(param: str) -> str:
    """The command-line flag of a library parameter: `cell_size` -> `--cell-size`."""
    return FLAGS.get(param, "--" + param.replace("_", "-"))


def error_text(e: SaferboardError) -> str:
    """An error in the CLI's words: a bad parameter named by its flag, in the shape the
    one-line error has always had (`column '--cell-size': ...`)."""
    return e.message(flag, word="column") if isinstance(e, InputError) else str(e)
