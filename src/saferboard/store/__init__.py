"""The DuckDB store: connection, schema and migrations. The one place SQL DDL lives.

The package also holds the read queries measures share (governance: saved models and the
quarters with data), the quarter locks and RAG confirmations (locks) and the case register's
SQLite database (cases). May import: core (and, for the case register's row types only,
sources.cases; see pyproject.toml). Imported by sources (which load into it), measures and
the layers above. handoff lets the web server hand the store over to another command.

The unit of import is a *batch*: one source file. Every fact row carries its batch id, so a
batch can be replaced or removed in one transaction, and nothing is ever de-duplicated row by
row (police.uk anti-social behaviour rows have no Crime ID; identical rows are real incidents).
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from saferboard.core.errors import StoreError
from saferboard.store import handoff

DEFAULT_DB = "saferboard.duckdb"

# Each migration takes the store from version i to i + 1. Append, never edit.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
    CREATE SEQUENCE batch_ids START 1;
    CREATE TABLE batches (
        batch_id BIGINT PRIMARY KEY,
        source VARCHAR NOT NULL,           -- 'policeuk' | 'mps'
        kind VARCHAR NOT NULL,             -- street | outcomes | stop-and-search | borough | ward
        force VARCHAR NOT NULL,            -- police.uk force slug; 'metropolitan' for MPS tables
        month DATE,                        -- police.uk: the file's month; NULL for MPS
        first_month DATE NOT NULL,
        last_month DATE NOT NULL,
        path VARCHAR NOT NULL,             -- as given; for a zip member 'archive.zip!member'
        sha256 VARCHAR NOT NULL,           -- of the bytes read (a zip member's content)
        row_count BIGINT NOT NULL,
        rows_without_lsoa BIGINT NOT NULL,
        rows_without_coords BIGINT NOT NULL,
        imported_at TIMESTAMP NOT NULL
    );
    -- Months a batch covers; the MPS overlap rule and the quality report read it.
    CREATE TABLE batch_months (batch_id BIGINT NOT NULL, month DATE NOT NULL);
    CREATE TABLE street (
        batch_id BIGINT NOT NULL,
        crime_id VARCHAR,
        month DATE NOT NULL,
        reported_by VARCHAR,
        falls_within VARCHAR,
        longitude DOUBLE,
        latitude DOUBLE,
        location VARCHAR,
        lsoa_code VARCHAR,
        lsoa_name VARCHAR,
        crime_type VARCHAR NOT NULL,
        last_outcome VARCHAR,
        context VARCHAR,
        area VARCHAR                       -- local authority from the LSOA name; NULL if none
    );
    CREATE TABLE outcomes (
        batch_id BIGINT NOT NULL,
        crime_id VARCHAR,
        month DATE NOT NULL,
        reported_by VARCHAR,
        falls_within VARCHAR,
        longitude DOUBLE,
        latitude DOUBLE,
        location VARCHAR,
        lsoa_code VARCHAR,
        lsoa_name VARCHAR,
        outcome_type VARCHAR,
        area VARCHAR
    );
    CREATE TABLE stop_search (
        batch_id BIGINT NOT NULL,
        type VARCHAR,
        date TIMESTAMP,                    -- UTC
        part_of_policing_operation VARCHAR,
        policing_operation VARCHAR,
        latitude DOUBLE,
        longitude DOUBLE,
        gender VARCHAR,
        age_range VARCHAR,
        self_defined_ethnicity VARCHAR,
        officer_defined_ethnicity VARCHAR,
        legislation VARCHAR,
        object_of_search VARCHAR,
        outcome VARCHAR,
        outcome_linked_to_object VARCHAR,
        removal_of_outer_clothing VARCHAR
    );
    CREATE TABLE mps_counts (
        batch_id BIGINT NOT NULL,
        level VARCHAR NOT NULL,            -- 'borough' | 'ward'
        area VARCHAR NOT NULL,             -- local authority (or MPS pseudo-borough) as named
        ward_code VARCHAR,
        ward_name VARCHAR,
        major VARCHAR NOT NULL,
        minor VARCHAR NOT NULL,
        month DATE NOT NULL,
        count BIGINT NOT NULL
    );
    -- The newer release (later last month; then the later import) wins each month of a level.
    CREATE VIEW mps_current AS
    WITH ranked AS (
        SELECT bm.month, b.kind, b.batch_id,
               row_number() OVER (PARTITION BY b.kind, bm.month
                                  ORDER BY b.last_month DESC, b.batch_id DESC) AS rn
        FROM batch_months bm JOIN batches b USING (batch_id)
        WHERE b.source = 'mps'
    )
    SELECT m.* FROM mps_counts m
    JOIN ranked r ON r.batch_id = m.batch_id AND r.month = m.month AND r.rn = 1;
    """,
    # Partner case extracts (saferboard ingest-partner). Person, location and reference ids
    # are keyed pseudonyms (HMAC-SHA256, see core/pseudonym.py); raw identifiers are never stored.
    # A batch is keyed by (kind, source): a new extract of the same key replaces the old one
    # only when asked (--replace); identical content (sha256) is skipped.
    """
    CREATE SEQUENCE partner_batch_ids START 1;
    CREATE TABLE partner_batches (
        batch_id BIGINT PRIMARY KEY,
        kind VARCHAR NOT NULL,             -- incidents | marac | cohort | custody | offences
        path VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        row_count BIGINT NOT NULL,
        imported_at TIMESTAMP NOT NULL,
        source VARCHAR NOT NULL            -- the extract's name (--source), default the kind
    );
    CREATE TABLE partner_incidents (
        batch_id BIGINT NOT NULL,
        incident_ref VARCHAR NOT NULL,
        incident_date DATE NOT NULL,
        person VARCHAR,
        location VARCHAR,
        x DOUBLE,                          -- British National Grid metres
        y DOUBLE,
        incident_type VARCHAR NOT NULL,    -- lower case, single spaces
        flags VARCHAR
    );
    CREATE TABLE partner_marac (
        batch_id BIGINT NOT NULL,
        referral_ref VARCHAR NOT NULL,
        referral_date DATE NOT NULL,
        victim VARCHAR NOT NULL,
        perpetrator VARCHAR,
        referral_source VARCHAR,
        victim_sex VARCHAR,
        victim_age INTEGER,
        victim_disability VARCHAR,
        perpetrator_sex VARCHAR,
        perpetrator_age INTEGER,
        perpetrator_mental_health VARCHAR,
        perpetrator_substance_misuse VARCHAR
    );
    CREATE TABLE partner_cohort (
        batch_id BIGINT NOT NULL,
        offender VARCHAR NOT NULL,
        cohort VARCHAR NOT NULL,
        join_date DATE NOT NULL,
        leave_date DATE
    );
    CREATE TABLE partner_custody (
        batch_id BIGINT NOT NULL,
        offender VARCHAR NOT NULL,
        start_date DATE NOT NULL,
        end_date DATE
    );
    CREATE TABLE partner_offences (
        batch_id BIGINT NOT NULL,
        offender VARCHAR NOT NULL,
        offence_date DATE NOT NULL,
        offence_type VARCHAR NOT NULL,
        ho_recordable BOOLEAN NOT NULL,
        conviction_date DATE
    );
    """,
    # Governance (issue 7): funded projects with quarterly returns, and the action plan.
    # One row per project / action; a return or update for (project|action, quarter) replaces
    # the previous one (see docs/governance.md). `agency` lets the web restrict partner officers.
    """
    CREATE TABLE gov_projects (
        project_id VARCHAR NOT NULL,       -- unique (enforced by the importer)
        name VARCHAR NOT NULL,
        funder VARCHAR,
        agency VARCHAR NOT NULL,           -- delivering agency; partner officers see their own
        lead VARCHAR,
        start_date DATE,
        end_date DATE,
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE gov_project_budgets (
        project_id VARCHAR NOT NULL,
        financial_year VARCHAR NOT NULL,   -- e.g. '2016-17'
        budget DOUBLE NOT NULL
    );
    CREATE TABLE gov_returns (
        project_id VARCHAR NOT NULL,
        quarter VARCHAR NOT NULL,          -- financial-year quarter, e.g. '2016-Q4'
        spend DOUBLE,                      -- spend in the quarter (pounds)
        source VARCHAR NOT NULL,           -- file path, or 'web'
        submitted_by VARCHAR,
        submitted_at TIMESTAMP NOT NULL
    );
    CREATE TABLE gov_kpi_values (
        project_id VARCHAR NOT NULL,
        quarter VARCHAR NOT NULL,
        kpi VARCHAR NOT NULL,
        unit VARCHAR,
        baseline DOUBLE,
        target DOUBLE,
        direction VARCHAR NOT NULL,        -- 'up' (higher is better) | 'down'
        measure VARCHAR NOT NULL,          -- 'cumulative' (year to date) | 'level'
        actual DOUBLE,
        reported_rag VARCHAR,              -- R | A | G self-assessed; used without numbers
        comment VARCHAR
    );
    CREATE TABLE gov_actions (
        action_id VARCHAR NOT NULL,
        priority VARCHAR NOT NULL,
        action VARCHAR NOT NULL,           -- what we said we would do
        agency VARCHAR NOT NULL,
        lead VARCHAR,
        due DATE,
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE gov_action_updates (
        action_id VARCHAR NOT NULL,
        quarter VARCHAR NOT NULL,
        plan VARCHAR,
        update_text VARCHAR,
        rag VARCHAR,                       -- R | A | G by the seed's RAG guidance; NULL = none
        source VARCHAR NOT NULL,
        submitted_by VARCHAR,
        submitted_at TIMESTAMP NOT NULL
    );
    -- Cost-benefit models and options appraisals saved for the board pack (validated TOML text).
    CREATE TABLE gov_models (
        kind VARCHAR NOT NULL,             -- 'cba' | 'appraisal'
        name VARCHAR NOT NULL,             -- unique per kind; saving the same name replaces it
        path VARCHAR NOT NULL,
        content VARCHAR NOT NULL,
        saved_at TIMESTAMP NOT NULL
    );
    """,
    # Web dashboard (issue 8): accounts, server-side sessions, login throttling and the
    # append-only audit log (hash-chained; saferboard.web.audit only ever inserts into it).
    """
    CREATE SEQUENCE web_user_ids START 1;
    CREATE TABLE web_users (
        user_id BIGINT PRIMARY KEY,
        username VARCHAR NOT NULL UNIQUE,
        password_hash VARCHAR NOT NULL,    -- argon2id (PHC string)
        role VARCHAR NOT NULL,             -- see saferboard.web.permissions.Role
        agency VARCHAR,                    -- partner officers: the agency whose data they see
        can_export BOOLEAN NOT NULL,       -- exports are a separate right
        disabled BOOLEAN NOT NULL,
        created_at TIMESTAMP NOT NULL,     -- UTC
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE web_sessions (
        session_hash VARCHAR NOT NULL,     -- sha256 of the cookie value; the value is not kept
        user_id BIGINT NOT NULL,
        csrf_token VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,     -- UTC; absolute timeout from here
        last_seen TIMESTAMP NOT NULL       -- UTC; idle timeout from here
    );
    CREATE TABLE web_login_attempts (
        username VARCHAR NOT NULL,         -- as typed (lower case), known or not
        client VARCHAR NOT NULL,
        attempted_at TIMESTAMP NOT NULL,
        success BOOLEAN NOT NULL
    );
    CREATE SEQUENCE web_audit_ids START 1;
    CREATE TABLE web_audit (
        audit_id BIGINT NOT NULL,
        logged_at TIMESTAMP NOT NULL,      -- UTC
        actor VARCHAR NOT NULL,            -- username, 'anonymous' or 'cli:<os user>'
        role VARCHAR,
        action VARCHAR NOT NULL,
        object VARCHAR NOT NULL,
        outcome VARCHAR NOT NULL,          -- ok | failed | refused
        client VARCHAR,
        before_json VARCHAR,               -- JSON for changes
        after_json VARCHAR,
        prev_hash VARCHAR NOT NULL,
        hash VARCHAR NOT NULL              -- sha256(prev_hash + this row): edits break the chain
    );
    """,
    # Governance (issue 8, item 3): the partnership manager's confirmed RAGs and locked
    # quarters (saferboard.store.locks). Nothing for a locked quarter may change.
    """
    CREATE TABLE gov_quarter_locks (
        quarter VARCHAR PRIMARY KEY,       -- financial-year quarter, e.g. '2016-Q4'
        locked_by VARCHAR NOT NULL,
        locked_at TIMESTAMP NOT NULL       -- UTC
    );
    CREATE TABLE gov_rag_confirmations (
        kind VARCHAR NOT NULL,             -- 'action' | 'project'
        item_id VARCHAR NOT NULL,          -- action_id or project_id
        quarter VARCHAR NOT NULL,          -- one row per (kind, item_id, quarter), by the code
        rag VARCHAR NOT NULL,              -- R | A | G confirmed by the partnership manager
        reported_rag VARCHAR,              -- the reported (action) / calculated (project) RAG
        confirmed_by VARCHAR NOT NULL,
        confirmed_at TIMESTAMP NOT NULL    -- UTC
    );
    """,
    # One spelling of a financial year (issue 13): budgets were keyed '2016-17'; every output
    # and the seeds write '2016/17', so the stored keys are rewritten to it. A store opened by
    # an older saferboard is migrated in the one transaction of _migrate, with the others.
    """
    UPDATE gov_project_budgets
    SET financial_year = substr(financial_year, 1, 4) || '/' || substr(financial_year, 6, 2)
    WHERE regexp_full_match(financial_year, '[0-9]{4}-[0-9]{2}');
    """,
    # New migrations are appended above this line (one string each; never edit a landed one).
]

SCHEMA_VERSION = len(MIGRATIONS)


def resolve_db_path(db: str | Path | None) -> Path:
    """`--db`, else `$SAFERBOARD_DB`, else `./saferboard.duckdb`."""
    if db is not None:
        return Path(db)
    return Path(os.environ.get("SAFERBOARD_DB") or DEFAULT_DB)


WAIT_S = 120.0  # how long a command waits for the web server (or another writer) to yield


def connect(db: str | Path | None = None, *, read_only: bool = False,
            wait_s: float = WAIT_S) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) the store at `db`.

    A read-only open of a missing database is an error rather than an empty answer, so a
    mistyped --db path is not mistaken for "no data". If another process holds the file
    (the web server), ask it to yield (store.handoff) and retry for up to `wait_s` seconds;
    the web server itself passes 0 and answers 503 instead of waiting.
    """
    path = resolve_db_path(db)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no such database; import data first with 'saferboard ingest'")
    if path.exists() and path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    try:
        con = _open(path, read_only)
    except _Locked:
        if wait_s <= 0:
            raise StoreError(f"{path}: database is in use by another saferboard process"
                             ) from None
        con = _wait(path, read_only, wait_s)
    try:
        _migrate(con, path, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return con


class _Locked(Exception):
    """Another process holds the file."""


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        text = str(e)
        if "not a valid DuckDB database" in text:
            raise StoreError(f"{path}: not a DuckDB database file") from None
        if "lock" in text.lower():
            raise _Locked from None
        raise StoreError(f"{path}: cannot open database: {text.splitlines()[0]}") from None
    except duckdb.Error as e:
        raise StoreError(f"{path}: cannot open database: {str(e).splitlines()[0]}") from None


def _wait(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    with handoff.request(path):
        while True:
            time.sleep(0.05)
            try:
                return _open(path, read_only)
            except _Locked:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{path}: database is in use by another saferboard process and was "
                        f"not released within {wait_s:.0f} s (a long import or pack build?); "
                        "try again later") from None


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the store (0 for an empty database)."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchall()[0]
    if not has_meta or not has_meta[0]:
        return 0
    row = one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
    return int(str(row[0])) if row else 0


def _migrate(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> None:
    version = schema_version(con)
    if version == 0:
        others = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()[0]
        if others and others[0]:
            raise StoreError(f"{path}: a DuckDB database, but not a saferboard store")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is newer than this saferboard "
            f"({SCHEMA_VERSION}); upgrade saferboard"
        )
    if version == SCHEMA_VERSION:
        return
    if read_only:
        raise StoreError(f"{path}: schema version {version} needs migrating; open it read-write")
    with transaction(con):
        for sql in MIGRATIONS[version:]:
            con.execute(sql)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: all of it commits, or none of it does. A block
    inside another joins it (DuckDB has no nested transactions), so a caller can make a
    store function's writes and its own (a web change and its audit row) one commit."""
    depth = _DEPTH.get(con, 0)
    if depth:
        _DEPTH[con] = depth + 1
        try:
            yield con
        finally:
            _DEPTH[con] = depth
        return
    con.execute("BEGIN TRANSACTION")
    _DEPTH[con] = 1
    try:
        yield con
    except BaseException:
        del _DEPTH[con]
        con.execute("ROLLBACK")
        raise
    del _DEPTH[con]
    con.execute("COMMIT")


# Open transaction blocks per connection (a connection is used by one thread at a time).
_DEPTH: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, int] = weakref.WeakKeyDictionary()


FACT_TABLES = ("street", "outcomes", "stop_search", "mps_counts", "batch_months")


def delete_batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """Remove one batch and every row it brought. Call inside a transaction."""
    for table in FACT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
    con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: object
               ) -> Iterator[None]:
    """Expose a Python table (Arrow) to SQL as `name` for the block."""
    con.register(name, table)
    try:
        yield
    finally:
        # An aborted transaction refuses even this; the original error is what matters.
        with suppress(duckdb.Error):
            con.unregister(name)


def delete_batches(con: duckdb.DuckDBPyConnection, batch_ids: list[int]) -> None:
    """Remove several batches at once. Call inside a transaction."""
    if not batch_ids:
        return
    for table in (*FACT_TABLES, "batches"):
        con.execute(f"DELETE FROM {table} WHERE batch_id IN (SELECT unnest($ids))",
                    {"ids": batch_ids})


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT nextval('batch_ids')").fetchall()[0]
    assert row is not None
    return int(row[0])


def one(
    con: duckdb.DuckDBPyConnection, sql: str, params: object = None
) -> tuple[object, ...] | None:
    """The first row of a query, or None. Fetches every row: DuckDB 2 refuses some later calls
    (e.g. register) while a result is only partly fetched."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(
        sql).fetchall()
    return tuple(rows[0]) if rows else None
