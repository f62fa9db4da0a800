"""The case register's SQLite database: schema, imports, queries, purge and subject access.

Cases are transactional, multi-user, identifiable records, so they live apart from the
analytics DuckDB: one SQLite file (stdlib sqlite3, WAL, foreign keys on, secure_delete on),
created with mode 0600. Every personal value is stored encrypted (core/casekeys.py); names and
addresses also get a keyed blind index for exact-match search. Each command runs in one
transaction (`transaction(con)`), and every view, change and export writes its audit row in the
same transaction as the change, so there is never a change without its audit row. The audit
table is append-only (triggers refuse UPDATE and DELETE) and its rows never hold a personal
value: case references, counts and kinds only.

The path is `--cases-db`, else $SAFERBOARD_CASES_DB, else ./saferboard-cases.sqlite.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from saferboard.core.casekeys import CaseKeys, blind_index, decrypt, encrypt, key_check
from saferboard.core.errors import InputError, StoreError

ENV = "SAFERBOARD_CASES_DB"
DEFAULT = "saferboard-cases.sqlite"
PERSONAL = ("name", "address", "dob", "contact", "vulnerability")

# Each migration takes the database from user_version i to i + 1. Append, never edit.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        file_name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        rows INTEGER NOT NULL,
        imported_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        UNIQUE (kind, sha256)
    );
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        case_ref TEXT NOT NULL UNIQUE,
        case_type TEXT NOT NULL,
        agency TEXT NOT NULL,              -- owning agency
        opened TEXT NOT NULL,              -- ISO dates throughout
        closed TEXT,
        lead_officer TEXT,
        purged_at TEXT,                    -- personal data removed under the retention rule
        import_id INTEGER REFERENCES imports (id)
    );
    CREATE TABLE case_agencies (           -- agencies the case is shared with
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        agency TEXT NOT NULL,
        PRIMARY KEY (case_id, agency)
    );
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('victim', 'perpetrator', 'witness')),
        name BLOB, address BLOB, dob BLOB, contact BLOB, vulnerability BLOB,  -- encrypted
        name_index TEXT, address_index TEXT, person_index TEXT  -- keyed blind indexes
    );
    CREATE INDEX people_case ON people (case_id);
    CREATE INDEX people_name ON people (name_index);
    CREATE INDEX people_address ON people (address_index);
    CREATE INDEX people_person ON people (person_index);
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        date TEXT NOT NULL,
        reported_to TEXT NOT NULL CHECK (reported_to IN
            ('council', 'police', 'housing provider', 'other')),
        description BLOB                   -- encrypted
    );
    CREATE INDEX incidents_case ON incidents (case_id, date);
    CREATE TABLE assessments (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        assessed_on TEXT NOT NULL,
        assessor TEXT NOT NULL,
        answers TEXT,                      -- JSON {question id: true/false}; NULL when imported
        score INTEGER,
        level TEXT NOT NULL CHECK (level IN ('standard', 'medium', 'high'))
    );
    CREATE INDEX assessments_case ON assessments (case_id, assessed_on);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        owner TEXT NOT NULL,
        due TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        description BLOB                   -- encrypted
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        date TEXT NOT NULL,
        outcome BLOB                       -- encrypted
    );
    CREATE INDEX reviews_case ON reviews (case_id, date);
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        written_on TEXT NOT NULL,
        author TEXT NOT NULL,
        text BLOB NOT NULL                 -- encrypted
    );
    CREATE TABLE applications (            -- ASB Case Review applications
        id INTEGER PRIMARY KEY,
        application_ref TEXT NOT NULL UNIQUE,
        case_id INTEGER NOT NULL REFERENCES cases (id),
        received TEXT NOT NULL,
        review_date TEXT,
        recommendations INTEGER            -- 1/0; NULL until reviewed
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,                  -- UTC ISO timestamp
        actor TEXT NOT NULL,
        action TEXT NOT NULL,              -- view | search | import | assess | purge | sar | ...
        case_ref TEXT,
        detail TEXT NOT NULL               -- never a personal value
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # SARA problems (store/problems.py): stage history, linked cases and places, responses
    # and saved assessments. Descriptions are free text and may name people: encrypted.
    """
    CREATE TABLE problems (
        id INTEGER PRIMARY KEY,
        problem_ref TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('place', 'issue')),
        agency TEXT NOT NULL,              -- owning agency
        opened TEXT NOT NULL,
        stage TEXT NOT NULL CHECK (stage IN ('scanning', 'analysis', 'response',
                                             'assessment')),
        description BLOB                   -- encrypted
    );
    CREATE TABLE problem_stages (          -- every stage change, for the audit and the agenda
        id INTEGER PRIMARY KEY,
        problem_id INTEGER NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
        stage TEXT NOT NULL,
        changed_on TEXT NOT NULL,
        actor TEXT NOT NULL
    );
    CREATE TABLE problem_cases (
        problem_id INTEGER NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
        case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        PRIMARY KEY (problem_id, case_id)
    );
    CREATE TABLE problem_places (
        problem_id INTEGER NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('lsoa', 'ward', 'cell')),
        code TEXT NOT NULL,
        PRIMARY KEY (problem_id, kind, code)
    );
    CREATE TABLE problem_responses (
        id INTEGER PRIMARY KEY,
        problem_id INTEGER NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
        started TEXT NOT NULL,
        owner TEXT NOT NULL,
        description BLOB                   -- encrypted
    );
    CREATE TABLE problem_assessments (     -- aggregate counts only (JSON), never personal
        id INTEGER PRIMARY KEY,
        problem_id INTEGER NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
        assessed_on TEXT NOT NULL,
        result TEXT NOT NULL
    );
    """,
]


def resolve_path(path: str | Path | None) -> Path:
    chosen = path if path is not None else (os.environ.get(ENV) or DEFAULT)
    return Path(chosen)


def connect(path: str | Path, keys: CaseKeys) -> sqlite3.Connection:
    """Open (creating with mode 0600) and migrate the register; refuse a different key."""
    p = Path(path)
    if not p.exists():
        try:
            # Create the file ourselves so it is never world-readable, even for an instant;
            # SQLite gives the -wal and -shm files the database file's permissions.
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(f"{p}: cannot create the case register "
                             f"({e.strerror or type(e).__name__})") from None
    try:
        con = sqlite3.connect(p, isolation_level=None, timeout=30.0)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA secure_delete = ON")  # purged ciphertext is overwritten, not freed
        con.execute("PRAGMA synchronous = NORMAL")
        _migrate(con, keys, p)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{p}: not a saferboard case register ({e})") from None
    return con


def _migrate(con: sqlite3.Connection, keys: CaseKeys, p: Path) -> None:
    with transaction(con):
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StoreError(f"{p}: the case register is newer than this saferboard "
                             f"(version {version}); upgrade saferboard")
        for i in range(version, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[i]):
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {i + 1}")
        row = con.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()
        if row is None:
            con.execute("INSERT INTO meta VALUES ('key_check', ?)", (key_check(keys),))
        elif row[0] != key_check(keys):
            raise InputError("this key file does not open this case register (it was "
                             "created with another key)", path=keys.source)


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (trigger bodies hold ';'), so it runs inside the
    caller's transaction: executescript() would commit first."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE takes the write lock up front, so two users
    never both read then both write): committed on success, rolled back on any error."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def audit(con: sqlite3.Connection, actor: str, action: str, case_ref: str | None,
          detail: str) -> None:
    """Append one audit row (call inside the transaction that makes the change)."""
    con.execute("INSERT INTO audit (at, actor, action, case_ref, detail) VALUES (?, ?, ?, ?, ?)",
                (now(), actor, action, case_ref, detail))


def audit_many(con: sqlite3.Connection, actor: str, action: str,
               rows: Iterable[tuple[str | None, str]]) -> None:
    """`audit` for many (case_ref, detail) rows at once, all with one timestamp: a bulk
    import's row per case."""
    at = now()
    con.executemany("INSERT INTO audit (at, actor, action, case_ref, detail) "
                    "VALUES (?, ?, ?, ?, ?)",
                    ((at, actor, action, ref, detail) for ref, detail in rows))


@contextmanager
def bulk_cache(con: sqlite3.Connection, mib: int = 256) -> Iterator[None]:
    """A page cache of up to `mib` MiB for a bulk load on this connection, then the old
    size back. SQLite's default (2 MiB) makes a million-row load re-read the same index
    pages from disk; the cache only grows as pages are used, and durability is unchanged
    (the load still commits, or rolls back, as one transaction)."""
    old = con.execute("PRAGMA cache_size").fetchone()[0]
    con.execute(f"PRAGMA cache_size = {-1024 * int(mib)}")
    try:
        yield
    finally:
        con.execute(f"PRAGMA cache_size = {int(old)}")


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


# --- reading for the measures --------------------------------------------------------------

CaseDates = tuple[str, date, date | None, str | None, date | None]
ApplicationDates = tuple[str, str, date, date | None, bool | None, tuple[date, ...]]


def case_dates(con: sqlite3.Connection, open_on: date | None = None) -> list[CaseDates]:
    """(case_ref, opened, closed, current level, latest review) for every case: the fields of
    measures.cases.CaseFacts, in order. The current level is the latest assessment's (the
    later one recorded on the same day). With `open_on`, only the cases open that day
    (opened on or before it, not closed on or before it: the rule measures.cases.due_reviews
    applies again), so `cases due` reads and decodes only the cases it can list."""
    day = open_on.isoformat() if open_on is not None else None
    rows = con.execute("""
        SELECT c.case_ref, c.opened, c.closed,
               (SELECT level FROM assessments a WHERE a.case_id = c.id
                ORDER BY a.assessed_on DESC, a.id DESC LIMIT 1),
               (SELECT max(date) FROM reviews r WHERE r.case_id = c.id)
        FROM cases c
        WHERE ?1 IS NULL OR (c.opened <= ?1 AND (c.closed IS NULL OR c.closed > ?1))
        ORDER BY c.case_ref""", (day,)).fetchall()
    return [(ref, date.fromisoformat(opened), _d(closed), level, _d(review))
            for ref, opened, closed, level, review in rows]


def application_dates(con: sqlite3.Connection) -> list[ApplicationDates]:
    """(application_ref, case_ref, received, review_date, recommendations, every incident
    date of the case) for each ASB Case Review application: the fields of
    measures.cases.Application, in order."""
    dates: dict[int, list[date]] = {}
    for cid, d in con.execute("SELECT case_id, date FROM incidents WHERE case_id IN "
                              "(SELECT case_id FROM applications)"):
        dates.setdefault(cid, []).append(date.fromisoformat(d))
    out: list[ApplicationDates] = []
    for ref, cid, case_ref, received, review, recs in con.execute(
            "SELECT a.application_ref, a.case_id, c.case_ref, a.received, a.review_date, "
            "a.recommendations FROM applications a JOIN cases c ON c.id = a.case_id "
            "ORDER BY a.received, a.application_ref"):
        out.append((ref, case_ref, date.fromisoformat(received), _d(review),
                    None if recs is None else bool(recs), tuple(sorted(dates.get(cid, [])))))
    return out


def counts(con: sqlite3.Connection) -> dict[str, int]:
    """Anonymous totals (they survive a purge): cases, people by role, incidents, reviews."""
    result = {"cases": con.execute("SELECT count(*) FROM cases").fetchone()[0]}
    for role in ("victim", "perpetrator", "witness"):
        result[f"{role}s"] = con.execute("SELECT count(*) FROM people WHERE role = ?",
                                         (role,)).fetchone()[0]
    for table in ("incidents", "reviews", "assessments", "applications"):
        result[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return result


# --- view, search, purge, subject access ------------------------------------------------------

def _case_row(con: sqlite3.Connection, case_ref: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = con.execute(
        "SELECT id, case_ref, case_type, agency, opened, closed, lead_officer, purged_at "
        "FROM cases WHERE case_ref = ?", (case_ref,)).fetchone()
    return row


def _visible(con: sqlite3.Connection, case_id: int, owner: str,
             agencies: frozenset[str] | None) -> bool:
    """None = every agency (the CLI operator holding the key); else the owning or a sharing
    agency must be among `agencies` (the web layer passes the officer's agency)."""
    if agencies is None:
        return True
    wanted = agency_set(*agencies)  # spacing and case ignored, as the web compares agencies
    if agency_set(owner) & wanted:
        return True
    shared = agency_set(*(a for (a,) in con.execute(
        "SELECT agency FROM case_agencies WHERE case_id = ?", (case_id,))))
    return bool(shared & wanted)


def _person_dict(keys: CaseKeys, row: tuple[Any, ...]) -> dict[str, Any]:
    role, *blobs = row
    person: dict[str, Any] = {"role": role}
    for column, blob in zip(PERSONAL, blobs, strict=True):
        person[column] = decrypt(keys, f"people.{column}", blob)
    return person


def _case_body(con: sqlite3.Connection, keys: CaseKeys, row: tuple[Any, ...],
               *, people: list[dict[str, Any]]) -> dict[str, Any]:
    cid, ref, ctype, agency, opened, closed, lead, purged = row
    return {
        "case_ref": ref, "case_type": ctype, "agency": agency,
        "shared_with": [a for (a,) in con.execute(
            "SELECT agency FROM case_agencies WHERE case_id = ? ORDER BY agency", (cid,))],
        "opened": opened, "closed": closed, "lead_officer": lead, "purged_at": purged,
        "people": people,
        "incidents": [{"date": d, "reported_to": to,
                       "description": decrypt(keys, "incidents.description", desc)}
                      for d, to, desc in con.execute(
                          "SELECT date, reported_to, description FROM incidents "
                          "WHERE case_id = ? ORDER BY date, id", (cid,))],
        "assessments": [{"assessed_on": on, "assessor": who,
                         "answers": json.loads(ans) if ans else None, "score": score,
                         "level": level}
                        for on, who, ans, score, level in con.execute(
                            "SELECT assessed_on, assessor, answers, score, level FROM "
                            "assessments WHERE case_id = ? ORDER BY assessed_on, id", (cid,))],
        "actions": [{"id": aid, "owner": o, "due": due, "done": bool(done),
                     "description": decrypt(keys, "actions.description", desc)}
                    for aid, o, due, done, desc in con.execute(
                        "SELECT id, owner, due, done, description FROM actions "
                        "WHERE case_id = ? "
                        "ORDER BY due, id", (cid,))],
        "reviews": [{"date": d, "outcome": decrypt(keys, "reviews.outcome", out)}
                    for d, out in con.execute("SELECT date, outcome FROM reviews "
                                              "WHERE case_id = ? ORDER BY date, id", (cid,))],
        "notes": [{"written_on": on, "author": who, "text": decrypt(keys, "notes.text", text)}
                  for on, who, text in con.execute(
                      "SELECT written_on, author, text FROM notes WHERE case_id = ? "
                      "ORDER BY written_on, id", (cid,))],
        "case_review_applications": [
            {"application_ref": a, "received": r, "review_date": rd,
             "recommendations": None if rec is None else bool(rec)}
            for a, r, rd, rec in con.execute(
                "SELECT application_ref, received, review_date, recommendations FROM "
                "applications WHERE case_id = ? ORDER BY received", (cid,))],
    }


_PEOPLE_SQL = ("SELECT role, name, address, dob, contact, vulnerability FROM people "
               "WHERE case_id = ? ORDER BY id")


def view_case(con: sqlite3.Connection, keys: CaseKeys, case_ref: str, actor: str, *,
              agencies: frozenset[str] | None = None, action: str = "view") -> dict[str, Any]:
    """Everything held on one case, decrypted; audited as `action` (view or export). A case
    the agencies may not see is reported exactly like a missing one."""
    row = _case_row(con, case_ref)
    if row is None or not _visible(con, row[0], row[3], agencies):
        raise CaseNotFound("no such case in the register", column="case_ref")
    people = [_person_dict(keys, p) for p in con.execute(_PEOPLE_SQL, (row[0],))]
    body = _case_body(con, keys, row, people=people)
    audit(con, actor, action, case_ref, "whole case")
    return body


def search(con: sqlite3.Connection, keys: CaseKeys, actor: str, *, name: str | None = None,
           address: str | None = None,
           agencies: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Cases holding a person whose name and/or address match exactly (after normalisation)
    through the blind index: the search value is never stored, only its keyed hash is looked
    up. Returns case_ref, role and the case's dates; audited (the values searched are not)."""
    if name is None and address is None:
        raise InputError("give {name}, {address} or both", param="name",
                         mentions=("name", "address"))
    clauses, params = [], []
    if name is not None:
        clauses.append("p.name_index = ?")
        params.append(blind_index(keys, "name", name))
    if address is not None:
        clauses.append("p.address_index = ?")
        params.append(blind_index(keys, "address", address))
    rows = con.execute(
        "SELECT c.id, c.case_ref, c.agency, p.role, c.case_type, c.opened, c.closed "
        "FROM people p JOIN cases c ON c.id = p.case_id WHERE " + " AND ".join(clauses)
        + " ORDER BY c.case_ref, p.role", params).fetchall()
    found = [{"case_ref": ref, "role": role, "case_type": ctype, "agency": agency,
              "opened": opened, "closed": closed}
             for cid, ref, agency, role, ctype, opened, closed in rows
             if _visible(con, cid, agency, agencies)]
    by = " and ".join(w for w, v in (("name", name), ("address", address)) if v is not None)
    audit(con, actor, "search", None, f"exact search by {by}: {len(found)} match(es)")
    for f in found:
        audit(con, actor, "search-hit", f["case_ref"], f"found by {by}")
    return found


@dataclass(frozen=True)
class PurgeReport:
    cutoff: date  # cases closed before this date were (or, dry run, would be) purged
    case_refs: tuple[str, ...]
    people: int
    dry_run: bool


def purge(con: sqlite3.Connection, cutoff: date, actor: str, *,
          dry_run: bool = False) -> PurgeReport:
    """Remove the personal data of every case closed before `cutoff` and not yet purged:
    people's encrypted fields and blind indexes, incident descriptions, review outcomes,
    action descriptions, notes and the lead officer. Dates, types, agencies, levels, roles and
    Case Review applications stay, so every count and yearly figure is unchanged. Audited per
    case; a dry run changes and audits nothing."""
    refs = [(cid, ref) for cid, ref in con.execute(
        "SELECT id, case_ref FROM cases WHERE closed IS NOT NULL AND closed < ? "
        "AND purged_at IS NULL ORDER BY case_ref", (cutoff.isoformat(),))]
    ids = [cid for cid, _ in refs]
    people = 0
    if ids:
        marks = ",".join("?" * len(ids))
        people = con.execute(f"SELECT count(*) FROM people WHERE case_id IN ({marks})",
                             ids).fetchone()[0]
    if not dry_run and ids:
        marks = ",".join("?" * len(ids))
        stamp = now()
        con.execute(f"UPDATE people SET name = NULL, address = NULL, dob = NULL, contact = "
                    f"NULL, vulnerability = NULL, name_index = NULL, address_index = NULL, "
                    f"person_index = NULL WHERE case_id IN ({marks})", ids)
        con.execute(f"UPDATE incidents SET description = NULL WHERE case_id IN ({marks})", ids)
        con.execute(f"UPDATE reviews SET outcome = NULL WHERE case_id IN ({marks})", ids)
        con.execute(f"UPDATE actions SET description = NULL WHERE case_id IN ({marks})", ids)
        con.execute(f"DELETE FROM notes WHERE case_id IN ({marks})", ids)
        con.execute(f"UPDATE cases SET lead_officer = NULL, purged_at = ? "
                    f"WHERE id IN ({marks})", [stamp, *ids])
        for _, ref in refs:
            audit(con, actor, "purge", ref, f"personal data removed (closed before "
                  f"{cutoff.isoformat()})")
    if not dry_run:
        audit(con, actor, "purge-run", None, f"cutoff {cutoff.isoformat()}: {len(refs)} "
              f"case(s), {people} person record(s)")
    return PurgeReport(cutoff, tuple(ref for _, ref in refs), people, dry_run)


@dataclass(frozen=True)
class SubjectAccess:
    person_records: int
    cases: tuple[dict[str, Any], ...]  # each case as the subject may see it
    name_only_matches: int  # same name, no date of birth recorded: not exported, check by hand


def subject_access(con: sqlite3.Connection, keys: CaseKeys, name: str, dob: date,
                   actor: str) -> SubjectAccess:
    """Everything held about one person (name and date of birth matched exactly through the
    blind index): each of their person records and the cases they appear in, with the case's
    incidents, assessments, actions, reviews, notes, Case Review applications and the audit
    trail. Other people in those cases are shown by role only ("withheld: another person's
    data"), so the export never discloses a third party's name, address, date of birth or
    contact. Free text (descriptions, notes) is exported as held and must be read by the data
    protection officer before release. Audited per case, without the name searched."""
    person = blind_index(keys, "person", f"{name} {dob.isoformat()}")
    matches = con.execute("SELECT p.id, p.case_id FROM people p WHERE p.person_index = ? "
                          "ORDER BY p.case_id, p.id", (person,)).fetchall()
    name_only = con.execute("SELECT count(*) FROM people WHERE name_index = ? AND dob IS NULL",
                            (blind_index(keys, "name", name),)).fetchone()[0]
    subject_ids = {pid for pid, _ in matches}
    cases = []
    for cid in dict.fromkeys(c for _, c in matches):
        ref = con.execute("SELECT case_ref FROM cases WHERE id = ?", (cid,)).fetchone()[0]
        row = _case_row(con, ref)
        assert row is not None
        people = []
        for pid, *rest in con.execute("SELECT id, role, name, address, dob, contact, "
                                      "vulnerability FROM people WHERE case_id = ? ORDER BY id",
                                      (cid,)):
            if pid in subject_ids:
                people.append({**_person_dict(keys, tuple(rest)), "subject": True})
            else:
                people.append({"role": rest[0], "subject": False,
                               "withheld": "another person's data"})
        body = _case_body(con, keys, row, people=people)
        body["audit"] = [{"at": at, "actor": who, "action": what, "detail": detail}
                         for at, who, what, detail in con.execute(
                             "SELECT at, actor, action, detail FROM audit WHERE case_ref = ? "
                             "ORDER BY id", (ref,))]
        cases.append(body)
        audit(con, actor, "sar-export", ref, "subject access export of one person's data")
    audit(con, actor, "sar", None, f"subject access request: {len(matches)} person "
          f"record(s) in {len(cases)} case(s); {name_only} same-name record(s) without a date "
          "of birth not exported")
    return SubjectAccess(len(matches), tuple(cases), name_only)


def record_assessment(con: sqlite3.Connection, case_ref: str, on: date, assessor: str,
                      answers: dict[str, bool], score: int, level: str, actor: str, *,
                      agencies: frozenset[str] | None = None) -> None:
    """Keep one risk assessment (answers, score, level, assessor, date); audited."""
    cid, _ = _writable(con, case_ref, agencies, on, what="the assessment")
    con.execute("INSERT INTO assessments (case_id, assessed_on, assessor, answers, score, level)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (cid, on.isoformat(), assessor, json.dumps(answers, sort_keys=True), score,
                 level))
    audit(con, actor, "assess", case_ref, f"risk assessment: score {score}, level {level}")


# --- changes one at a time (the web pages, the JSON API and `saferboard cases add-...`) ------
#
# Each takes the agencies of the officer acting (None: the CLI operator, every case) and
# treats a case they may not see exactly like a missing one; each writes its audit row (case
# reference, kind, dates, never a personal value) in the caller's transaction.

REPORTED_TO = ("council", "police", "housing provider", "other")
ROLES = ("victim", "perpetrator", "witness")


class CaseNotFound(InputError, LookupError):
    """No such case, or one the officer's agencies may not see: the same answer for both."""

    http_status = 404


class CaseClosed(InputError):
    """A change to a closed (or purged) case: closing is final in the register."""

    http_status = 409


@dataclass(frozen=True)
class PersonIn:
    role: str  # victim | perpetrator | witness
    name: str
    address: str | None = None
    dob: date | None = None
    contact: str | None = None
    vulnerability: str | None = None


def agency_set(*agencies: str | None) -> frozenset[str]:
    """Agencies compared as the web compares them (spacing and case ignored)."""
    return frozenset(a.strip().casefold() for a in agencies if a and a.strip())


def person_values(keys: CaseKeys, case_id: int, p: PersonIn) -> tuple[Any, ...]:
    """The `people` row of one person: each field encrypted, name, address and name + date of
    birth blind-indexed (search and subject access)."""
    dob = p.dob.isoformat() if p.dob else None
    return (case_id, p.role, encrypt(keys, "people.name", p.name),
            encrypt(keys, "people.address", p.address), encrypt(keys, "people.dob", dob),
            encrypt(keys, "people.contact", p.contact),
            encrypt(keys, "people.vulnerability", p.vulnerability),
            blind_index(keys, "name", p.name), blind_index(keys, "address", p.address),
            blind_index(keys, "person", f"{p.name} {dob}") if dob else None)


_PERSON_INSERT = ("INSERT INTO people (case_id, role, name, address, dob, contact, "
                  "vulnerability, name_index, address_index, person_index) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?)")


@dataclass(frozen=True)
class CaseSummary:
    case_ref: str
    case_type: str
    agency: str
    opened: date
    closed: date | None
    risk_level: str | None


def list_cases(con: sqlite3.Connection, agencies: frozenset[str] | None) -> list[CaseSummary]:
    """Every case the agencies may see (owned or shared), with its current level: no personal
    data, so not audited (like `cases due`)."""
    where, params = "", []
    if agencies is not None and not agencies:
        return []
    if agencies is not None:
        agencies = agency_set(*agencies)
        marks = ",".join("?" * len(agencies))
        # The same folding as agency_set (SQLite's lower() folds ASCII letters only).
        con.create_function("sb_fold", 1, lambda a: a.strip().casefold() if a else a,
                            deterministic=True)
        where = (f"WHERE sb_fold(c.agency) IN ({marks}) OR c.id IN (SELECT case_id FROM "
                 f"case_agencies WHERE sb_fold(agency) IN ({marks}))")
        params = [*agencies, *agencies]
    rows = con.execute(
        "SELECT c.case_ref, c.case_type, c.agency, c.opened, c.closed, "
        "(SELECT level FROM assessments a WHERE a.case_id = c.id "
        " ORDER BY a.assessed_on DESC, a.id DESC LIMIT 1) "
        f"FROM cases c {where} ORDER BY c.closed IS NOT NULL, c.opened DESC, c.case_ref",
        params).fetchall()
    return [CaseSummary(ref, t, a, date.fromisoformat(o), _d(c), lvl)
            for ref, t, a, o, c, lvl in rows]


def _writable(con: sqlite3.Connection, case_ref: str, agencies: frozenset[str] | None,
              on: date | None = None, *, what: str = "the change") -> tuple[int, date]:
    """(case id, opened) of a case the agencies may see and that is still open; `on` must
    not be before the opening date."""
    row = _case_row(con, case_ref)
    if row is None or not _visible(con, row[0], row[3], agencies):
        raise CaseNotFound("no such case in the register", column="case_ref")
    if row[5] is not None or row[7] is not None:
        raise CaseClosed("the case is closed: a closed case cannot be changed",
                         column="case_ref")
    opened = date.fromisoformat(row[4])
    if on is not None and on < opened:
        raise InputError(f"{what} is dated before the case was opened ({row[4]})",
                         param="date")
    return row[0], opened


def open_case(con: sqlite3.Connection, keys: CaseKeys, *, case_ref: str, case_type: str,
              agency: str, opened: date, lead_officer: str | None,
              shared_with: tuple[str, ...], people: tuple[PersonIn, ...], actor: str) -> None:
    """A new case owned by `agency`; audited with the counts only."""
    if _case_row(con, case_ref) is not None:
        # Says nothing about whose case it is: references are the partnership's, not secret.
        raise InputError("a case with this reference is already in the register",
                         column="case_ref")
    cid = con.execute("INSERT INTO cases (case_ref, case_type, agency, opened, lead_officer) "
                      "VALUES (?, ?, ?, ?, ?)", (case_ref, case_type, agency,
                                                 opened.isoformat(), lead_officer)).lastrowid
    assert cid is not None
    own = agency_set(agency)
    shared = sorted({a.strip() for a in shared_with if a.strip()
                     and agency_set(a) != own})
    con.executemany("INSERT OR IGNORE INTO case_agencies VALUES (?, ?)",
                    [(cid, a) for a in shared])
    con.executemany(_PERSON_INSERT, [person_values(keys, cid, p) for p in people])
    audit(con, actor, "open", case_ref, f"opened {opened.isoformat()} by {agency}; shared "
          f"with {len(shared)} agency(ies); {len(people)} person record(s)")


def add_person(con: sqlite3.Connection, keys: CaseKeys, case_ref: str, person: PersonIn,
               actor: str, *, agencies: frozenset[str] | None = None) -> None:
    cid, _ = _writable(con, case_ref, agencies)
    con.execute(_PERSON_INSERT, person_values(keys, cid, person))
    audit(con, actor, "person", case_ref, f"{person.role} added")


def add_incident(con: sqlite3.Connection, keys: CaseKeys, case_ref: str, on: date,
                 reported_to: str, description: str | None, actor: str, *,
                 agencies: frozenset[str] | None = None) -> None:
    if reported_to not in REPORTED_TO:
        raise InputError(f"reported_to should be one of {', '.join(REPORTED_TO)}",
                         param="reported_to")
    cid, _ = _writable(con, case_ref, agencies, on, what="the incident")
    con.execute("INSERT INTO incidents (case_id, date, reported_to, description) "
                "VALUES (?, ?, ?, ?)", (cid, on.isoformat(), reported_to,
                                        encrypt(keys, "incidents.description", description)))
    audit(con, actor, "incident", case_ref, f"incident of {on.isoformat()} reported to "
          f"{reported_to}")


def add_action(con: sqlite3.Connection, keys: CaseKeys, case_ref: str, owner: str,
               due: date | None, description: str, actor: str, *,
               agencies: frozenset[str] | None = None) -> int:
    cid, _ = _writable(con, case_ref, agencies)
    aid = con.execute("INSERT INTO actions (case_id, owner, due, description) "
                      "VALUES (?, ?, ?, ?)",
                      (cid, owner, due.isoformat() if due else None,
                       encrypt(keys, "actions.description", description))).lastrowid
    assert aid is not None
    audit(con, actor, "action", case_ref, f"action {aid} added, due "
          f"{due.isoformat() if due else 'no date'}")
    return aid


def set_action_done(con: sqlite3.Connection, case_ref: str, action_id: int, done: bool,
                    actor: str, *, agencies: frozenset[str] | None = None) -> None:
    cid, _ = _writable(con, case_ref, agencies)
    row = con.execute("SELECT done FROM actions WHERE id = ? AND case_id = ?",
                      (action_id, cid)).fetchone()
    if row is None:
        raise CaseNotFound("no such action on this case", param="action_id")
    con.execute("UPDATE actions SET done = ? WHERE id = ?", (int(done), action_id))
    audit(con, actor, "action-done" if done else "action-reopened", case_ref,
          f"action {action_id}: done {bool(row[0])} -> {done}")


def add_review(con: sqlite3.Connection, keys: CaseKeys, case_ref: str, on: date,
               outcome: str | None, actor: str, *,
               agencies: frozenset[str] | None = None) -> None:
    """A review on `on`: the next one falls due the level's interval after it."""
    cid, _ = _writable(con, case_ref, agencies, on, what="the review")
    con.execute("INSERT INTO reviews (case_id, date, outcome) VALUES (?, ?, ?)",
                (cid, on.isoformat(), encrypt(keys, "reviews.outcome", outcome)))
    audit(con, actor, "review", case_ref, f"review of {on.isoformat()}")


def add_note(con: sqlite3.Connection, keys: CaseKeys, case_ref: str, on: date, author: str,
             text: str, actor: str, *, agencies: frozenset[str] | None = None) -> None:
    cid, _ = _writable(con, case_ref, agencies, on, what="the note")
    con.execute("INSERT INTO notes (case_id, written_on, author, text) VALUES (?, ?, ?, ?)",
                (cid, on.isoformat(), author, encrypt(keys, "notes.text", text)))
    audit(con, actor, "note", case_ref, f"note of {on.isoformat()}")


def close_case(con: sqlite3.Connection, case_ref: str, on: date, actor: str, *,
               agencies: frozenset[str] | None = None) -> None:
    """Close the case on `on` (final: the retention period runs from this date)."""
    _writable(con, case_ref, agencies, on, what="the closing")
    con.execute("UPDATE cases SET closed = ? WHERE case_ref = ?", (on.isoformat(), case_ref))
    audit(con, actor, "close", case_ref, f"closed {on.isoformat()}")


def audit_rows(con: sqlite3.Connection, *, case_ref: str | None = None,
               limit: int = 500) -> list[dict[str, Any]]:
    """The latest `limit` audit rows, newest first (all cases, or one): for the data
    protection officer. They hold references, kinds and counts only, never a personal value."""
    where, params = ("WHERE case_ref = ?", [case_ref]) if case_ref else ("", [])
    rows = con.execute(f"SELECT id, at, actor, action, case_ref, detail FROM audit {where} "
                       "ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [{"id": i, "at": at, "actor": who, "action": what, "case_ref": ref,
             "detail": detail} for i, at, who, what, ref, detail in rows]
