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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from saferboard import store

GENESIS = "0" * 64


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


def _digest(prev: str, fields: tuple[Any, ...]) -> str:
    text = json.dumps([prev, *[None if f is None else str(f) for f in fields]],
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def record(con: duckdb.DuckDBPyConnection, *, at: datetime, actor: str, role: str | None,
           action: str, obj: str, outcome: str = "ok", client: str | None = None,
           before: Any = None, after: Any = None) -> int:
    """Append one entry; returns its id. `at` is UTC (aware or naive)."""
    at = naive_utc(at)
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


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The id of the first entry whose hash or link does not match (None: chain intact)."""
    prev = GENESIS
    rows = con.execute("SELECT * FROM web_audit ORDER BY audit_id").fetchall()
    for r in rows:
        e = AuditEntry(*r)
        fields = (e.audit_id, e.at.isoformat(), e.actor, e.role, e.action, e.object,
                  e.outcome, e.client, e.before, e.after)
        if e.prev_hash != prev or _digest(prev, fields) != e.hash:
            return e.audit_id
        prev = e.hash
    return None
