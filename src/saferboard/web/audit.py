"""The audit log: append-only and hash-chained.

Every login (success and failure), every view or export of record-level data, every change
(with before and after) and every refused request is one row: actor, role, action, object,
outcome, UTC time and client address. This module only ever INSERTs into `web_audit`; no
code path in saferboard updates or deletes it (a test scans the source). Each row carries
sha256(previous row's hash + its own content), so an edit made outside the application (with
a database tool) breaks the chain and `verify` names the first row that no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from saferboard import store

if TYPE_CHECKING:
    from saferboard.web.db import Database

GENESIS = "0" * 64
MAX_OBJECT = 200  # characters of the object (a refused request's method and path) kept
MAX_CLIENT = 64


@dataclass(frozen=True)
class AuditEntry:
    audit_id: int
    at: datetime  # naive UTC
    actor: str
    role: str | None
    action: str
    object: str
    outcome: str
    client: str | None
    before: str | None
    after: str | None
    prev_hash: str
    hash: str


def naive_utc(at: datetime) -> datetime:
    """UTC without tzinfo, as stored in TIMESTAMP columns."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked with "..."."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _digest(prev: str, fields: tuple[Any, ...]) -> str:
    text = json.dumps([prev, *[None if f is None else str(f) for f in fields]],
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def record(con: duckdb.DuckDBPyConnection, *, at: datetime, actor: str, role: str | None,
           action: str, obj: str, outcome: str = "ok", client: str | None = None,
           before: Any = None, after: Any = None) -> int:
    """Append one entry; returns its id. `at` is UTC (aware or naive). The object and the
    client are cut to a bounded length (an anonymous request chooses its own path)."""
    at = naive_utc(at)
    obj = bounded(obj, MAX_OBJECT)
    client = None if client is None else bounded(client, MAX_CLIENT)
    with store.transaction(con):  # the link to the last row and the new row, together
        return _append(con, at, actor, role, action, obj, outcome, client, before, after)


def _append(con: duckdb.DuckDBPyConnection, at: datetime, actor: str, role: str | None,
            action: str, obj: str, outcome: str, client: str | None, before: Any,
            after: Any) -> int:
    last = store.one(con, "SELECT hash FROM web_audit ORDER BY audit_id DESC LIMIT 1")
    prev = str(last[0]) if last else GENESIS
    row = store.one(con, "SELECT nextval('web_audit_ids')")
    assert row is not None
    audit_id = int(str(row[0]))
    fields = (audit_id, at.isoformat(), actor, role, action, obj, outcome, client,
              _json(before), _json(after))
    con.execute("INSERT INTO web_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [audit_id, at, actor, role, action, obj, outcome, client, fields[8], fields[9],
                 prev, _digest(prev, fields)])
    return audit_id


@dataclass
class _Run:
    actor: str
    first_at: datetime
    last_at: datetime
    reason: str
    repeats: int = 0  # refusals after the first, which has its own row
    objects: list[str] = field(default_factory=list)


class RefusalTally:
    """Repeated anonymous refusals, folded so that nobody can grow the log without bound.

    Per client address, action and outcome, the first refusal in a window of `window_s`
    seconds gets its own row at once; the others are counted, and written as one row (how
    many, first and last time, up to five of their objects) when the window is over: at the
    next refusal of any kind after it, or at shutdown (`drain`). So the log grows by at most
    two rows per address and kind of refusal per window, and every refusal is counted (a
    crash loses the count of the last open window, never its first row)."""

    MAX_RUNS = 10_000  # open windows kept; more are written out at once

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._runs: dict[tuple[str, str, str], _Run] = {}
        self._lock = threading.Lock()

    def add(self, key: tuple[str, str, str], actor: str, obj: str, reason: str, at: datetime
            ) -> tuple[bool, list[tuple[tuple[str, str, str], _Run]]]:
        """Count one refusal (key: client, action, outcome). Returns whether it is the first
        of its window (write its row now) and the finished windows with repeats to write."""
        at = naive_utc(at)
        with self._lock:
            due = [(k, r) for k, r in self._runs.items()
                   if (at - r.first_at).total_seconds() >= self.window_s
                   or len(self._runs) >= self.MAX_RUNS]
            for k, _ in due:
                del self._runs[k]
            run = self._runs.get(key)
            if run is None:
                self._runs[key] = _Run(actor, at, at, reason)
                first = True
            else:
                run.repeats += 1
                run.last_at = at
                obj = bounded(obj, MAX_OBJECT)
                if len(run.objects) < 5 and obj not in run.objects:
                    run.objects.append(obj)
                first = False
        return first, [(k, r) for k, r in due if r.repeats]

    def drain(self) -> list[tuple[tuple[str, str, str], _Run]]:
        with self._lock:
            runs, self._runs = self._runs, {}
        return [(k, r) for k, r in runs.items() if r.repeats]


def record_repeats(con: duckdb.DuckDBPyConnection,
                   runs: list[tuple[tuple[str, str, str], _Run]]) -> None:
    """One row per finished window of folded refusals (see RefusalTally)."""
    for (client, action, outcome), run in runs:
        record(con, at=run.last_at, actor=run.actor, role=None, action=action,
               obj=run.objects[0] if run.objects else "(repeated)", outcome=outcome,
               client=client, after={"reason": run.reason, "repeated": run.repeats,
                                     "first": run.first_at.isoformat(),
                                     "last": run.last_at.isoformat(),
                                     "objects": run.objects})


def refusal(db: Database, tally: RefusalTally, *, at: datetime, actor: str,
            role: str | None, action: str, obj: str, outcome: str, client: str, reason: str,
            fold: bool) -> None:
    """Record a refusal (or failed login); `fold` (anonymous requests) counts repeats in
    `tally` instead of writing a row for each, and the store is not touched at all unless
    a row is due."""
    if not fold:
        with db.connect() as con:
            record(con, at=at, actor=actor, role=role, action=action, obj=obj,
                   outcome=outcome, client=client, after={"reason": reason})
        return
    first, due = tally.add((client, action, outcome), actor, obj, reason, at)
    if first or due:
        with db.connect() as con, store.transaction(con):
            record_repeats(con, due)
            if first:
                record(con, at=at, actor=actor, role=role, action=action, obj=obj,
                       outcome=outcome, client=client, after={"reason": reason})


def entries(con: duckdb.DuckDBPyConnection, *, limit: int = 200, offset: int = 0,
            actor: str | None = None, action: str | None = None) -> list[AuditEntry]:
    """Newest first."""
    where, params = [], []
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if action:
        where.append("action = ?")
        params.append(action)
    sql = ("SELECT * FROM web_audit" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY audit_id DESC LIMIT ? OFFSET ?")
    rows = con.execute(sql, [*params, limit, offset]).fetchall()
    return [AuditEntry(*r) for r in rows]


def _walk(rows: list[tuple[Any, ...]], prev: str) -> tuple[int | None, int, str]:
    """(first broken id or None, last id, last hash) of consecutive rows after `prev`."""
    last_id = 0
    for r in rows:
        e = AuditEntry(*r)
        fields = (e.audit_id, e.at.isoformat(), e.actor, e.role, e.action, e.object,
                  e.outcome, e.client, e.before, e.after)
        if e.prev_hash != prev or _digest(prev, fields) != e.hash:
            return e.audit_id, last_id, prev
        prev, last_id = e.hash, e.audit_id
    return None, last_id, prev


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The id of the first entry whose hash or link does not match (None: chain intact).
    Reads every row; the web uses `ChainCheck`, which reads each row once."""
    rows = con.execute("SELECT * FROM web_audit ORDER BY audit_id").fetchall()
    return _walk(rows, GENESIS)[0]


@dataclass
class ChainCheck:
    """How far the chain has been verified, for one app, so that the DPO's page reads only
    the rows added since (the whole chain, 300,000 rows, takes seconds).

    Sound because of how the store is shared: while the app's connection stays open no
    other process can write to the file, and this process only appends. When the
    connection has been reopened (`generation`, Database.opened: another process had the
    file, and could have edited any row) the next check verifies the whole chain again."""

    generation: int = -1
    last_id: int = 0
    last_hash: str = GENESIS
    broken: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, con: duckdb.DuckDBPyConnection, generation: int) -> int | None:
        """The first broken entry's id (None: intact), reading only rows not yet verified
        through this connection."""
        with self._lock:
            if generation != self.generation:
                self.generation, self.last_id, self.last_hash = generation, 0, GENESIS
                self.broken = None
            if self.broken is None:
                rows = con.execute("SELECT * FROM web_audit WHERE audit_id > ? "
                                   "ORDER BY audit_id", [self.last_id]).fetchall()
                self.broken, last_id, self.last_hash = _walk(rows, self.last_hash)
                self.last_id = max(self.last_id, last_id)
            return self.broken
