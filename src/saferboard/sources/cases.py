"""Read case-register spreadsheets (CSV or XLSX) into checked rows for the store.

Kinds and their columns (the first line is the header; the listed columns must be present,
in any order; others listed as optional may be; anything else is refused so a misspelt
column is never silently dropped):

* cases: case_ref, case_type, agency, opened, closed, victim_name, victim_address,
  victim_dob, risk_level (closed, victim_address and victim_dob may be empty); optional
  shared_with (agencies separated by ';'), lead_officer,
  victim_contact, victim_vulnerability, perpetrator_name, perpetrator_address,
  perpetrator_dob, notes
* incidents: case_ref, date, reported_to (council, police, housing provider or other),
  description
* reviews: case_ref, date, outcome
* case_reviews: application_ref, case_ref, received, review_date, recommendations (yes/no;
  required when there is a review date, empty when not)

Dates are YYYY-MM-DD or DD/MM/YYYY (or real dates in XLSX). A bad cell raises InputError
naming the file, line and column and saying what is allowed; it never quotes the cell, since
the cell may hold a name, address or date of birth.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from saferboard.core.casekeys import CaseKeys, encrypt
from saferboard.core.errors import InputError
from saferboard.core.riskmatrix import LEVELS
from saferboard.sources.tables import Cells, read_table
from saferboard.store import cases as cs

REPORTED_TO = ("council", "police", "housing provider", "other")
MAX_TEXT = 2000  # descriptions, notes, outcomes
MAX_SHORT = 200  # names, references, agencies

REQUIRED: dict[str, tuple[str, ...]] = {
    "cases": ("case_ref", "case_type", "agency", "opened", "closed", "victim_name",
              "victim_address", "victim_dob", "risk_level"),
    "incidents": ("case_ref", "date", "reported_to", "description"),
    "reviews": ("case_ref", "date", "outcome"),
    "case_reviews": ("application_ref", "case_ref", "received", "review_date",
                     "recommendations"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "cases": ("shared_with", "lead_officer", "victim_contact", "victim_vulnerability",
              "perpetrator_name", "perpetrator_address", "perpetrator_dob", "notes"),
    "incidents": (),
    "reviews": (),
    "case_reviews": (),
}
KINDS = tuple(REQUIRED)


@dataclass(frozen=True)
class PersonRow:
    role: str  # victim | perpetrator | witness
    name: str
    address: str | None
    dob: date | None
    contact: str | None
    vulnerability: str | None


@dataclass(frozen=True)
class CaseRow:
    line: int
    case_ref: str
    case_type: str
    agency: str
    shared_with: tuple[str, ...]
    opened: date
    closed: date | None
    risk_level: str
    lead_officer: str | None
    people: tuple[PersonRow, ...]
    notes: str | None


@dataclass(frozen=True)
class IncidentRow:
    line: int
    case_ref: str
    date: date
    reported_to: str
    description: str | None


@dataclass(frozen=True)
class ReviewRow:
    line: int
    case_ref: str
    date: date
    outcome: str | None


@dataclass(frozen=True)
class ApplicationRow:
    line: int
    application_ref: str
    case_ref: str
    received: date
    review_date: date | None
    recommendations: bool | None


CaseFileRow = CaseRow | IncidentRow | ReviewRow | ApplicationRow


@dataclass(frozen=True)
class CaseFile:
    kind: str
    path: str
    sha256: str
    rows: tuple[CaseFileRow, ...]


class _Cells(Cells):
    """A case file's row: text, choices and dates, every error naming file, line and column
    and never quoting the cell (it may be a name, an address or a date of birth)."""

    def text(self, column: str, *, required: bool = True, limit: int = MAX_SHORT) -> str | None:
        value = self.cells.get(column, "")  # self.get, inlined: called for every cell
        if not value:
            if required:
                raise self.fail(column, "empty; a value is required")
            return None
        if len(value) > limit:
            raise self.fail(column, f"too long ({len(value)} characters; at most {limit})")
        return " ".join(value.split()) if limit == MAX_SHORT else value

    def req(self, column: str) -> str:
        value = self.text(column)
        assert value is not None  # required=True never returns None
        return value

    def req_day(self, column: str) -> date:
        d = self.day(column, required=True)
        assert d is not None
        return d

    def choice(self, column: str, allowed: tuple[str, ...]) -> str:
        value = " ".join(self.req(column).lower().split())
        if value not in allowed:
            raise self.fail(column, f"not one of {', '.join(allowed)}")
        return value


def _case(c: _Cells) -> CaseRow:
    opened = c.req_day("opened")
    closed = c.day("closed", required=False)
    if closed is not None and closed < opened:
        raise c.fail("closed", "before the opening date")
    people = [PersonRow("victim", c.req("victim_name"),
                        c.text("victim_address", required=False),
                        c.day("victim_dob", required=False),
                        c.text("victim_contact", required=False),
                        c.text("victim_vulnerability", required=False, limit=MAX_TEXT))]
    for role in ("victim", "perpetrator"):
        dob = c.day(f"{role}_dob", required=False)
        if dob is not None and dob > opened:
            raise c.fail(f"{role}_dob", "after the case was opened")
    perp = c.text("perpetrator_name", required=False)
    if perp is not None:
        people.append(PersonRow("perpetrator", perp,
                                c.text("perpetrator_address", required=False),
                                c.day("perpetrator_dob", required=False), None, None))
    elif c.get("perpetrator_address") or c.get("perpetrator_dob"):
        raise c.fail("perpetrator_name", "empty while a perpetrator address or date of birth "
                    "is given")
    shared = tuple(dict.fromkeys(
        " ".join(a.split()) for a in (c.text("shared_with", required=False) or "").split(";")
        if a.strip()))
    return CaseRow(c.row.line, c.req("case_ref"), c.req("case_type").lower(), c.req("agency"),
                   shared, opened, closed, c.choice("risk_level", LEVELS),
                   c.text("lead_officer", required=False), tuple(people),
                   c.text("notes", required=False, limit=MAX_TEXT))


def _incident(c: _Cells) -> IncidentRow:
    return IncidentRow(c.row.line, c.req("case_ref"), c.req_day("date"),
                       c.choice("reported_to", REPORTED_TO),
                       c.text("description", required=False, limit=MAX_TEXT))


def _review(c: _Cells) -> ReviewRow:
    return ReviewRow(c.row.line, c.req("case_ref"), c.req_day("date"),
                     c.text("outcome", required=False, limit=MAX_TEXT))


def _application(c: _Cells) -> ApplicationRow:
    received = c.req_day("received")
    review = c.day("review_date", required=False)
    if review is not None and review < received:
        raise c.fail("review_date", "before the date received")
    rec_text = c.get("recommendations").strip().lower()
    recs: bool | None
    if review is None:
        if rec_text:
            raise c.fail("recommendations", "given without a review_date; leave it empty "
                        "until the review is held")
        recs = None
    elif rec_text in ("yes", "y", "true", "1"):
        recs = True
    elif rec_text in ("no", "n", "false", "0"):
        recs = False
    else:
        raise c.fail("recommendations", "expected yes or no (required with a review_date)")
    return ApplicationRow(c.row.line, c.req("application_ref"), c.req("case_ref"), received,
                          review, recs)


_PARSERS: dict[str, Callable[[_Cells], CaseFileRow]] = {
    "cases": _case, "incidents": _incident, "reviews": _review, "case_reviews": _application}
_UNIQUE = {"cases": "case_ref", "case_reviews": "application_ref"}


def read_case_file(kind: str, path: str | Path) -> CaseFile:
    """Every row of one file, checked; the first bad cell raises InputError."""
    if kind not in REQUIRED:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    p = Path(path)
    table = read_table(p)
    missing = [h for h in REQUIRED[kind] if h not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; a {kind} file needs "
                         f"{', '.join(REQUIRED[kind])}", path=p, line=1)
    allowed = set(REQUIRED[kind]) | set(OPTIONAL[kind])
    for h in table.columns:
        if h not in allowed:
            raise InputError(f"unknown column for a {kind} file; allowed: "
                             f"{', '.join(sorted(allowed))}", path=p, line=1, column=h)
    rows: list[CaseFileRow] = []
    seen: set[str] = set()
    unique = _UNIQUE.get(kind)
    parse, where = _PARSERS[kind], str(p)
    for row in table.rows:
        parsed = parse(_Cells(where, row))
        if unique is not None:
            ref = getattr(parsed, unique)
            if ref in seen:
                raise InputError("the same reference appears on an earlier line", path=p,
                                 line=row.line, column=unique)
            seen.add(ref)
        rows.append(parsed)
    if not rows:
        raise InputError("no rows under the header", path=p)
    return CaseFile(kind, str(p), hashlib.sha256(p.read_bytes()).hexdigest(), tuple(rows))


# --- import ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportReport:
    kind: str
    path: str
    rows: int
    cases: int  # distinct cases the file added to or changed
    skipped: bool  # the identical file (same kind and sha256) was imported before


def _case_ids(con: sqlite3.Connection) -> dict[str, int]:
    return {ref: i for i, ref in con.execute("SELECT id, case_ref FROM cases")}


def _person(keys: CaseKeys, case_id: int, p: PersonRow) -> tuple[Any, ...]:
    return cs.person_values(keys, case_id, cs.PersonIn(p.role, p.name, p.address, p.dob,
                                                       p.contact, p.vulnerability))


def import_file(con: sqlite3.Connection, keys: CaseKeys, parsed: CaseFile,
                actor: str) -> ImportReport:
    """Load one checked file; call inside `transaction(con)` so a bad row loads nothing.

    References are checked against the register: a case already held, or an application
    already held, is refused; incidents, reviews and applications must name a case held (or
    loaded earlier in the same command). Every error names the file, line and column only.
    """
    name = Path(parsed.path).name
    if con.execute("SELECT 1 FROM imports WHERE kind = ? AND sha256 = ?",
                   (parsed.kind, parsed.sha256)).fetchone():
        return ImportReport(parsed.kind, parsed.path, 0, 0, True)
    cur = con.execute("INSERT INTO imports (kind, file_name, sha256, rows, imported_at, actor) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      (parsed.kind, name, parsed.sha256, len(parsed.rows), cs.now(), actor))
    import_id = cur.lastrowid
    ids = _case_ids(con)
    touched: dict[str, int] = {}
    # A bulk load: rows are checked in file order (so the first bad line is the one named),
    # collected, and written with one executemany per table at the end; case ids are given
    # here (max + 1, as SQLite would: no AUTOINCREMENT) so a case's people, level and notes
    # can be collected before the case row is written. All inside the caller's transaction.
    next_id: int = con.execute("SELECT coalesce(max(id), 0) FROM cases").fetchone()[0]
    new_cases: list[tuple[Any, ...]] = []
    shared: list[tuple[int, str]] = []
    people: list[tuple[Any, ...]] = []
    levels: list[tuple[int, str, str]] = []
    notes: list[tuple[int, str, bytes | None]] = []
    incidents: list[tuple[int, str, str, bytes | None]] = []

    def case_id(row: IncidentRow | ReviewRow | ApplicationRow) -> int:
        found = ids.get(row.case_ref)
        if found is None:
            raise InputError("no case with this reference in the register (import the "
                             "cases file first)", path=parsed.path, line=row.line,
                             column="case_ref")
        touched[row.case_ref] = touched.get(row.case_ref, 0) + 1
        return found

    for row in parsed.rows:
        if isinstance(row, CaseRow):
            if row.case_ref in ids:
                raise InputError("a case with this reference is already in the register",
                                 path=parsed.path, line=row.line, column="case_ref")
            next_id += 1
            cid = next_id
            opened = row.opened.isoformat()
            new_cases.append((cid, row.case_ref, row.case_type, row.agency, opened,
                              row.closed.isoformat() if row.closed else None,
                              row.lead_officer, import_id))
            ids[row.case_ref] = cid
            touched[row.case_ref] = 1
            shared.extend((cid, a) for a in row.shared_with if a != row.agency)
            people.extend(_person(keys, cid, p) for p in row.people)
            # The imported level is the case's first assessment: kept like any other, with
            # no answers or score, so the review interval has a level from the start.
            levels.append((cid, opened, row.risk_level))
            if row.notes:
                notes.append((cid, opened, encrypt(keys, "notes.text", row.notes)))
        elif isinstance(row, IncidentRow):
            incidents.append((case_id(row), row.date.isoformat(), row.reported_to,
                              encrypt(keys, "incidents.description", row.description)))
        elif isinstance(row, ReviewRow):
            cid = case_id(row)
            opened = con.execute("SELECT opened FROM cases WHERE id = ?", (cid,)).fetchone()[0]
            if row.date.isoformat() < opened:
                raise InputError("the review is dated before the case was opened",
                                 path=parsed.path, line=row.line, column="date")
            con.execute("INSERT INTO reviews (case_id, date, outcome) VALUES (?, ?, ?)",
                        (cid, row.date.isoformat(),
                         encrypt(keys, "reviews.outcome", row.outcome)))
        else:
            cid = case_id(row)
            if con.execute("SELECT 1 FROM applications WHERE application_ref = ?",
                           (row.application_ref,)).fetchone():
                raise InputError("an application with this reference is already in the "
                                 "register", path=parsed.path, line=row.line,
                                 column="application_ref")
            con.execute("INSERT INTO applications (application_ref, case_id, received, "
                        "review_date, recommendations) VALUES (?, ?, ?, ?, ?)",
                        (row.application_ref, cid, row.received.isoformat(),
                         row.review_date.isoformat() if row.review_date else None,
                         None if row.recommendations is None else int(row.recommendations)))
    with cs.bulk_cache(con):
        con.executemany("INSERT INTO cases (id, case_ref, case_type, agency, opened, closed, "
                        "lead_officer, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", new_cases)
        con.executemany("INSERT INTO case_agencies VALUES (?, ?)", shared)
        con.executemany("INSERT INTO people (case_id, role, name, address, dob, contact, "
                        "vulnerability, name_index, address_index, person_index) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?)", people)
        con.executemany("INSERT INTO assessments (case_id, assessed_on, assessor, level) "
                        "VALUES (?, ?, 'import', ?)", levels)
        con.executemany("INSERT INTO notes (case_id, written_on, author, text) "
                        "VALUES (?, ?, 'import', ?)", notes)
        # In case order (stable: a case's incidents keep their file order), so the
        # (case_id, date) index grows at its end instead of at random pages, and a case's
        # incidents sit together in the table (its page reads fewer pages).
        incidents.sort(key=lambda r: r[0])
        con.executemany("INSERT INTO incidents (case_id, date, reported_to, description) "
                        "VALUES (?, ?, ?, ?)", incidents)
        tag = f"from {name} (sha256 {parsed.sha256[:12]})"
        cs.audit_many(con, actor, "import", ((ref, f"{parsed.kind}: {n} row(s) {tag}")
                                             for ref, n in touched.items()))
    return ImportReport(parsed.kind, parsed.path, len(parsed.rows), len(touched), False)
