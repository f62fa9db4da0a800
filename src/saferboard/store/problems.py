"""SARA problems in the case register's SQLite database (docs/cases.md, "Problem solving").

A problem (place- or issue-based) moves through Scanning, Analysis, Response and Assessment;
it links cases of the register and places (2021 LSOA codes, May 2024 ward codes, or hotspot
grid cells), records responses (start date, owner, description) and keeps its assessments
(aggregate counts from the analytics store, measures/problem_assessment.py).

Same file, key and rules as store/cases.py: descriptions are free text that may name people,
so they are encrypted like notes; every change and view writes its audit row in the caller's
transaction, with the problem reference, kinds, dates and counts, never a description.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from saferboard.core.casekeys import CaseKeys, decrypt, encrypt
from saferboard.core.errors import InputError
from saferboard.store.cases import audit

STAGES = ("scanning", "analysis", "response", "assessment")
KINDS = ("place", "issue")
PLACE_KINDS = ("lsoa", "ward", "cell")


class ProblemNotFound(InputError, LookupError):
    http_status = 404


def _problem(con: sqlite3.Connection, ref: str) -> tuple[int, str, str]:
    """(id, opened, stage) of a problem, or ProblemNotFound."""
    row = con.execute("SELECT id, opened, stage FROM problems WHERE problem_ref = ?",
                      (ref,)).fetchone()
    if row is None:  # a reference is not personal data: name it
        raise ProblemNotFound(f"no problem {ref!r} in the register")
    return int(row[0]), str(row[1]), str(row[2])


def _check(value: str, allowed: tuple[str, ...], param: str) -> str:
    if value not in allowed:
        raise InputError(f"should be one of {', '.join(allowed)}", param=param)
    return value


def add_problem(con: sqlite3.Connection, keys: CaseKeys, ref: str, *, kind: str, agency: str,
                opened: date, description: str | None, actor: str,
                stage: str = "scanning") -> None:
    """A new problem at `stage` (Scanning by default); the description is encrypted."""
    ref = ref.strip()
    if not ref:
        raise InputError("a problem needs a reference")
    if not agency.strip():
        raise InputError("a problem needs an owning agency", param="agency")
    _check(kind, KINDS, "kind")
    _check(stage, STAGES, "stage")
    if con.execute("SELECT 1 FROM problems WHERE problem_ref = ?", (ref,)).fetchone():
        raise InputError(f"a problem {ref!r} is already in the register")
    pid = con.execute(
        "INSERT INTO problems (problem_ref, kind, agency, opened, stage, description) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (ref, kind, agency.strip(), opened.isoformat(), stage,
         encrypt(keys, "problems.description", description))).lastrowid
    con.execute("INSERT INTO problem_stages (problem_id, stage, changed_on, actor) "
                "VALUES (?, ?, ?, ?)", (pid, stage, opened.isoformat(), actor))
    audit(con, actor, "problem-add", None, f"problem {ref}: {kind}-based, stage {stage}")


def set_stage(con: sqlite3.Connection, ref: str, stage: str, on: date, actor: str) -> None:
    """Move a problem to `stage` on `on` (any stage: a failed response goes back to
    Analysis); the history is kept."""
    _check(stage, STAGES, "stage")
    pid, opened, _ = _problem(con, ref)
    if on.isoformat() < opened:
        raise InputError("the stage change is dated before the problem was opened",
                         param="on")
    (latest,) = con.execute("SELECT max(changed_on) FROM problem_stages WHERE problem_id = ?",
                            (pid,)).fetchone()
    if latest is not None and on.isoformat() < latest:
        # The history must read in date order, or "the stage on a date" is ambiguous.
        raise InputError("the stage change is dated before the problem's latest one",
                         param="on")
    con.execute("UPDATE problems SET stage = ? WHERE id = ?", (stage, pid))
    con.execute("INSERT INTO problem_stages (problem_id, stage, changed_on, actor) "
                "VALUES (?, ?, ?, ?)", (pid, stage, on.isoformat(), actor))
    audit(con, actor, "problem-stage", None, f"problem {ref}: stage {stage} on "
          f"{on.isoformat()}")


def link(con: sqlite3.Connection, ref: str, *, case_refs: tuple[str, ...] = (),
         places: tuple[tuple[str, str], ...] = (), actor: str) -> tuple[int, int]:
    """Link cases (by reference, each must be in the register) and places ((kind, code),
    checked by the caller: measures.problem_assessment.parse_place) to a problem. A link
    already held is not added twice. Returns (cases newly linked, places newly linked)."""
    pid, _, _ = _problem(con, ref)
    new_cases = new_places = 0
    for case_ref in dict.fromkeys(case_refs):
        row = con.execute("SELECT id FROM cases WHERE case_ref = ?", (case_ref,)).fetchone()
        if row is None:
            raise InputError(f"no case {case_ref!r} in the register", param="case")
        cur = con.execute("INSERT OR IGNORE INTO problem_cases VALUES (?, ?)", (pid, row[0]))
        if cur.rowcount:
            new_cases += 1
            audit(con, actor, "problem-link", case_ref, f"linked to problem {ref}")
    for kind, code in dict.fromkeys(places):
        _check(kind, PLACE_KINDS, "place")
        cur = con.execute("INSERT OR IGNORE INTO problem_places VALUES (?, ?, ?)",
                          (pid, kind, code))
        new_places += cur.rowcount
    if new_places:
        audit(con, actor, "problem-link", None, f"problem {ref}: {new_places} place(s) linked")
    return new_cases, new_places


def add_response(con: sqlite3.Connection, keys: CaseKeys, ref: str, *, started: date,
                 owner: str, description: str, actor: str) -> None:
    """A response (what is done, by whom, from when); the description is encrypted."""
    pid, opened, _ = _problem(con, ref)
    if not owner.strip():
        raise InputError("a response needs an owner", param="owner")
    if started.isoformat() < opened:
        raise InputError("the response starts before the problem was opened", param="date")
    con.execute("INSERT INTO problem_responses (problem_id, started, owner, description) "
                "VALUES (?, ?, ?, ?)",
                (pid, started.isoformat(), owner.strip(),
                 encrypt(keys, "problem_responses.description", description)))
    audit(con, actor, "problem-respond", None, f"problem {ref}: response from "
          f"{started.isoformat()}")


def places_of(con: sqlite3.Connection, ref: str) -> tuple[tuple[str, str], ...]:
    pid, _, _ = _problem(con, ref)
    return tuple((str(k), str(c)) for k, c in con.execute(
        "SELECT kind, code FROM problem_places WHERE problem_id = ? ORDER BY kind, code",
        (pid,)))


def first_response(con: sqlite3.Connection, ref: str) -> date | None:
    """The start of the problem's earliest response (the assessment's dividing date)."""
    pid, _, _ = _problem(con, ref)
    (first,) = con.execute("SELECT min(started) FROM problem_responses WHERE problem_id = ?",
                           (pid,)).fetchone()
    return date.fromisoformat(first) if first else None


def save_assessment(con: sqlite3.Connection, ref: str, on: date, result: dict[str, Any],
                    actor: str) -> None:
    """Keep an assessment's aggregate figures (JSON of counts, dates and p-values)."""
    pid, _, _ = _problem(con, ref)
    con.execute("INSERT INTO problem_assessments (problem_id, assessed_on, result) "
                "VALUES (?, ?, ?)", (pid, on.isoformat(), json.dumps(result, sort_keys=True,
                                                                      default=str)))
    audit(con, actor, "problem-assess", None, f"problem {ref}: assessment saved")


@dataclass(frozen=True)
class ProblemRow:
    """A problem without its free text: what lists, the agenda and the pack may show."""

    problem_ref: str
    kind: str
    agency: str
    opened: date
    stage: str
    stage_since: date
    cases: int
    places: int
    responses: int
    first_response: date | None


def problem_rows(con: sqlite3.Connection) -> list[ProblemRow]:
    rows = con.execute("""
        SELECT p.problem_ref, p.kind, p.agency, p.opened, p.stage,
               (SELECT changed_on FROM problem_stages s WHERE s.problem_id = p.id
                ORDER BY s.id DESC LIMIT 1),
               (SELECT count(*) FROM problem_cases c WHERE c.problem_id = p.id),
               (SELECT count(*) FROM problem_places l WHERE l.problem_id = p.id),
               (SELECT count(*) FROM problem_responses r WHERE r.problem_id = p.id),
               (SELECT min(started) FROM problem_responses r WHERE r.problem_id = p.id)
        FROM problems p ORDER BY p.problem_ref""").fetchall()
    return [ProblemRow(ref, kind, agency, date.fromisoformat(opened), stage,
                       date.fromisoformat(since), n_cases, n_places, n_resp,
                       date.fromisoformat(first) if first else None)
            for ref, kind, agency, opened, stage, since, n_cases, n_places, n_resp, first
            in rows]


ProblemFactsRow = tuple[str, date, tuple[tuple[date, str], ...], int, int, int]


def problem_facts(con: sqlite3.Connection) -> list[ProblemFactsRow]:
    """(problem_ref, opened, stage changes (date, stage) oldest first, cases, places,
    responses) of every problem: the fields of measures.problem_assessment.ProblemFacts."""
    history: dict[int, list[tuple[date, str]]] = {}
    for pid, on, stage in con.execute("SELECT problem_id, changed_on, stage FROM "
                                      "problem_stages ORDER BY problem_id, changed_on, id"):
        history.setdefault(pid, []).append((date.fromisoformat(on), stage))
    return [(ref, date.fromisoformat(opened), tuple(history.get(pid, [])), n_cases, n_places,
             n_resp) for pid, ref, opened, n_cases, n_places, n_resp in con.execute("""
        SELECT p.id, p.problem_ref, p.opened,
               (SELECT count(*) FROM problem_cases c WHERE c.problem_id = p.id),
               (SELECT count(*) FROM problem_places l WHERE l.problem_id = p.id),
               (SELECT count(*) FROM problem_responses r WHERE r.problem_id = p.id)
        FROM problems p ORDER BY p.problem_ref""")]


def view_problem(con: sqlite3.Connection, keys: CaseKeys, ref: str,
                 actor: str) -> dict[str, Any]:
    """Everything held on one problem, decrypted; audited as a view."""
    pid, _, _ = _problem(con, ref)
    kind, agency, opened, stage, blob = con.execute(
        "SELECT kind, agency, opened, stage, description FROM problems WHERE id = ?",
        (pid,)).fetchone()
    body = {
        "problem_ref": ref, "kind": kind, "agency": agency, "opened": opened, "stage": stage,
        "description": decrypt(keys, "problems.description", blob),
        "stages": [{"stage": s, "on": on, "actor": who} for s, on, who in con.execute(
            "SELECT stage, changed_on, actor FROM problem_stages WHERE problem_id = ? "
            "ORDER BY id", (pid,))],
        "cases": [r for (r,) in con.execute(
            "SELECT c.case_ref FROM problem_cases pc JOIN cases c ON c.id = pc.case_id "
            "WHERE pc.problem_id = ? ORDER BY c.case_ref", (pid,))],
        "places": [{"kind": k, "code": c} for k, c in con.execute(
            "SELECT kind, code FROM problem_places WHERE problem_id = ? ORDER BY kind, code",
            (pid,))],
        "responses": [{"started": s, "owner": o,
                       "description": decrypt(keys, "problem_responses.description", d)}
                      for s, o, d in con.execute(
                          "SELECT started, owner, description FROM problem_responses "
                          "WHERE problem_id = ? ORDER BY started, id", (pid,))],
        "assessments": [{"assessed_on": on, **json.loads(r)} for on, r in con.execute(
            "SELECT assessed_on, result FROM problem_assessments WHERE problem_id = ? "
            "ORDER BY id", (pid,))],
    }
    audit(con, actor, "problem-view", None, f"problem {ref}: whole problem")
    return body
