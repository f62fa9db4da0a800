"""The partnership manager's part of the quarterly cycle: confirming the RAG of an action
update or a project return, and locking a quarter.

A confirmed RAG is kept beside the reported (or calculated) one, with who confirmed it and
when; the reports show it marked "confirmed". Once a quarter is locked nothing for it may
change: web updates and returns, RAG confirmations and the rows of that quarter in
`ingest-returns` / `ingest-actions` are all refused with `QuarterLocked` (an InputError, so the
CLI prints one line and the web answers 409). A lock is permanent: there is no unlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from saferboard import store
from saferboard.core.dates import utc_now
from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter, parse_quarter

KINDS = ("action", "project")
RAGS = ("R", "A", "G")


class QuarterLocked(InputError):
    """A change for a locked quarter."""

    http_status = 409


@dataclass(frozen=True)
class QuarterLock:
    quarter: str
    locked_by: str
    locked_at: datetime


@dataclass(frozen=True)
class RagConfirmation:
    rag: str  # 'R' | 'A' | 'G', the partnership manager's
    reported_rag: str | None  # the reported (action) or calculated (project) RAG it was set beside
    confirmed_by: str
    confirmed_at: datetime


def as_quarter(value: Quarter | str) -> Quarter:
    if isinstance(value, Quarter):
        return value
    try:
        return parse_quarter(value)
    except ValueError as e:
        raise InputError(str(e), column="quarter") from None


def quarter_lock(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> QuarterLock | None:
    """The lock on a quarter, or None when it is open."""
    q = str(as_quarter(quarter))
    row = store.one(con, "SELECT quarter, locked_by, locked_at FROM gov_quarter_locks "
                    "WHERE quarter = ?", [q])
    return None if row is None else QuarterLock(str(row[0]), str(row[1]), _dt(row[2]))


def locked_quarters(con: duckdb.DuckDBPyConnection) -> dict[str, QuarterLock]:
    rows = con.execute("SELECT quarter, locked_by, locked_at FROM gov_quarter_locks "
                       "ORDER BY quarter").fetchall()
    return {str(q): QuarterLock(str(q), str(by), _dt(at)) for q, by, at in rows}


def _dt(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value


def locked_message(lock: QuarterLock) -> str:
    return (f"quarter {lock.quarter} is locked (by {lock.locked_by} on "
            f"{lock.locked_at:%Y-%m-%d %H:%M}); no changes are accepted for it")


def check_open(con: duckdb.DuckDBPyConnection, quarter: Quarter | str, *,
               path: str | Path | None = None, line: int | None = None) -> None:
    """Raise QuarterLocked (naming the file and line when given) if the quarter is locked."""
    lock = quarter_lock(con, quarter)
    if lock is not None:
        raise QuarterLocked(locked_message(lock), path=path, line=line,
                            column="quarter" if path is not None else None)


def check_rows_open(con: duckdb.DuckDBPyConnection, path: str,
                    quarter_lines: tuple[tuple[str, int], ...]) -> None:
    """An import file's rows: (quarter, first line with it); the first locked one raises."""
    locks = locked_quarters(con)
    for q, line in sorted(quarter_lines, key=lambda x: x[1]):
        if q in locks:
            raise QuarterLocked(locked_message(locks[q]), path=path, line=line,
                                column="quarter")


def lock_quarter(con: duckdb.DuckDBPyConnection, quarter: Quarter | str, *, locked_by: str,
                 at: datetime | None = None) -> tuple[QuarterLock, bool]:
    """Lock a quarter (idempotent: locking a locked quarter keeps the first lock). Returns the
    lock and whether this call made it."""
    if not locked_by.strip():
        raise InputError("who locks the quarter must be given", column="locked_by")
    q = str(as_quarter(quarter))
    with store.transaction(con):
        existing = quarter_lock(con, q)
        if existing is not None:
            return existing, False
        con.execute("INSERT INTO gov_quarter_locks VALUES (?, ?, ?)",
                    [q, locked_by, at or utc_now()])
        made = quarter_lock(con, q)
    assert made is not None
    return made, True


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", column="kind")


def confirmations(con: duckdb.DuckDBPyConnection, kind: str, quarter: Quarter | str | None = None
                  ) -> dict[tuple[str, str], RagConfirmation]:
    """(item id, quarter) -> the confirmed RAG; of one quarter, or of every quarter."""
    _check_kind(kind)
    q = None if quarter is None else str(as_quarter(quarter))
    rows = con.execute(
        "SELECT item_id, quarter, rag, reported_rag, confirmed_by, confirmed_at "
        "FROM gov_rag_confirmations WHERE kind = ? AND (? IS NULL OR quarter = ?)",
        [kind, q, q]).fetchall()
    return {(str(i), str(qq)): RagConfirmation(str(r), None if rep is None else str(rep),
                                               str(by), _dt(at))
            for i, qq, r, rep, by, at in rows}


def _item_exists(con: duckdb.DuckDBPyConnection, kind: str, item_id: str) -> bool:
    table, column = ("gov_actions", "action_id") if kind == "action" else (
        "gov_projects", "project_id")
    return store.one(con, f"SELECT 1 FROM {table} WHERE {column} = ?", [item_id]) is not None


def confirm_rag(con: duckdb.DuckDBPyConnection, kind: str, item_id: str,
                quarter: Quarter | str, rag: str, *, reported_rag: str | None,
                confirmed_by: str, at: datetime | None = None) -> str:
    """Record the partnership manager's RAG for an action's update or a project's return in a
    quarter, beside the reported (or calculated) one, replacing an earlier confirmation; in
    one transaction. Refused for a locked quarter. Returns 'new', 'replaced' or 'unchanged'."""
    _check_kind(kind)
    q = str(as_quarter(quarter))
    value = rag.strip().upper()
    if value not in RAGS:
        raise InputError(f"RAG must be R, A or G, got {rag!r}", column="rag")
    if reported_rag not in (None, *RAGS):
        raise InputError(f"reported RAG must be R, A, G or empty, got {reported_rag!r}",
                         column="reported_rag")
    if not confirmed_by.strip():
        raise InputError("who confirms must be given", column="confirmed_by")
    with store.transaction(con):
        if not _item_exists(con, kind, item_id):
            raise InputError(f"unknown {kind} {item_id!r}", column=f"{kind}_id")
        check_open(con, q)
        before = store.one(con, "SELECT rag, reported_rag FROM gov_rag_confirmations "
                           "WHERE kind = ? AND item_id = ? AND quarter = ?", [kind, item_id, q])
        con.execute("DELETE FROM gov_rag_confirmations WHERE kind = ? AND item_id = ? AND "
                    "quarter = ?", [kind, item_id, q])
        con.execute("INSERT INTO gov_rag_confirmations VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [kind, item_id, q, value, reported_rag, confirmed_by, at or utc_now()])
    if before is None:
        return "new"
    return "unchanged" if before == (value, reported_rag) else "replaced"
