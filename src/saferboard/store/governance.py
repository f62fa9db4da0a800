"""Read queries of the governance tables that measures use: saved models and the quarters
with data. (Writes are sources/governance.py's: imports, saved models, updates.)"""

from __future__ import annotations

import duckdb

from saferboard.core.quarters import Quarter, parse_quarter


def saved_models(con: duckdb.DuckDBPyConnection, kind: str) -> tuple[tuple[str, str, str], ...]:
    """(name, path, content) of the saved models of a kind, by name."""
    rows = con.execute("SELECT name, path, content FROM gov_models WHERE kind = ? ORDER BY name",
                       [kind]).fetchall()
    return tuple((str(n), str(p), str(c)) for n, p, c in rows)


def latest_quarter_not_after(con: duckdb.DuckDBPyConnection, table: str,
                             limit: Quarter) -> Quarter | None:
    """The latest quarter of `table` (gov_returns or gov_action_updates) up to `limit`."""
    if table not in ("gov_returns", "gov_action_updates"):  # never user text in the SQL
        raise ValueError(f"not a governance table with quarters: {table!r}")
    quarters = [parse_quarter(str(r[0])) for r in
                con.execute(f"SELECT DISTINCT quarter FROM {table}").fetchall()]
    return max((q for q in quarters if q <= limit), default=None)
