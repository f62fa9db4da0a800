"""Import funded-project quarterly returns and action-plan updates (CSV or XLSX), and record a
single return or update submitted through the web. Every import is validated in full before
anything is written (errors name the file, line and column) and is written in one transaction.

The replacement rule: a return for (project, quarter) replaces the previous return for that
project and quarter, KPI rows and spend together; an update for (action, quarter) replaces the
previous update. Project and action details (name, agency, lead, dates, budget) are taken from
the latest file. The import report says what was new, replaced or unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from saferboard import store
from saferboard.core.dates import utc_now
from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter, parse_quarter
from saferboard.core.text import check_text
from saferboard.sources.tables import Cells, Table, read_table
from saferboard.store.locks import check_open, check_rows_open

RETURN_COLUMNS = (
    "project_id", "project", "funder", "agency", "lead", "start", "end", "budget", "quarter",
    "spend", "kpi", "unit", "baseline", "target", "direction", "measure", "actual",
    "reported_rag", "comment",
)
RETURN_REQUIRED = ("project_id", "project", "agency", "quarter", "kpi", "direction", "measure")
ACTION_COLUMNS = ("action_id", "priority", "action", "agency", "lead", "due", "quarter", "plan",
                  "update", "rag")
ACTION_REQUIRED = ("action_id", "priority", "action", "agency")
RAGS = {"r": "R", "red": "R", "a": "A", "amber": "A", "g": "G", "green": "G"}
DIRECTIONS = {"up": "up", "higher": "up", "increase": "up", "down": "down", "lower": "down",
              "reduce": "down", "decrease": "down"}
MEASURES = ("cumulative", "level")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


# ---------------------------------------------------------------------------------------------
# Parsed records


@dataclass(frozen=True)
class KpiValue:
    kpi: str
    direction: str  # 'up' | 'down'
    measure: str  # 'cumulative' | 'level'
    unit: str = ""
    baseline: float | None = None
    target: float | None = None
    actual: float | None = None
    reported_rag: str | None = None  # 'R' | 'A' | 'G'
    comment: str = ""


@dataclass(frozen=True)
class ProjectDetails:
    project_id: str
    name: str
    agency: str
    funder: str = ""
    lead: str = ""
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class ProjectReturn:
    project_id: str
    quarter: Quarter
    spend: float | None
    kpis: tuple[KpiValue, ...]


@dataclass(frozen=True)
class ActionDetails:
    action_id: str
    priority: str
    action: str
    agency: str
    lead: str = ""
    due: date | None = None


@dataclass(frozen=True)
class ActionUpdate:
    action_id: str
    quarter: Quarter
    plan: str = ""
    update: str = ""
    rag: str | None = None


@dataclass(frozen=True)
class ImportReport:
    path: str
    new: tuple[str, ...]  # 'PROJECT 2016-Q4' / 'ACTION 2012-Q4' keys written for the first time
    replaced: tuple[str, ...]  # keys whose previous return/update was replaced by a different one
    unchanged: tuple[str, ...]  # keys re-imported with identical content
    details: int  # projects or actions whose details were written
    rows: int
    notes: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Cell parsers


class _Cells(Cells):
    """A return's or action plan's row: ids, numbers, quarters and RAGs (none of it personal,
    so a bad value is quoted), dates by the one rule (Cells.day)."""

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.get(column)
        if required and not value:
            raise self.fail(column, "empty; this column is required")
        return value

    def ident(self, column: str) -> str:
        value = self.text(column, required=True)
        if not _ID.fullmatch(value):
            raise self.fail(column, f"{value!r} is not an id (letters, digits, '-', '_', '.')")
        return value

    def number(self, column: str, *, negative: bool = False) -> float | None:
        raw = self.text(column)
        if not raw:
            return None
        cleaned = raw.replace(",", "").replace("£", "").replace("%", "").strip()
        if not _NUMBER.fullmatch(cleaned):
            raise self.fail(column, f"{raw!r} is not a number")
        value = float(cleaned)
        if value < 0 and not negative:
            raise self.fail(column, f"must be 0 or more, got {raw!r}")
        return value

    def quarter(self, column: str = "quarter", *, required: bool = True) -> Quarter | None:
        raw = self.text(column, required=required)
        if not raw:
            return None
        try:
            return parse_quarter(raw)
        except ValueError as e:
            raise self.fail(column, str(e)) from None

    def rag(self, column: str) -> str | None:
        raw = self.text(column)
        if not raw:
            return None
        if raw.lower() not in RAGS:
            raise self.fail(column, f"{raw!r} is not a RAG; allowed: R, A, G (or Red, Amber, "
                            "Green) or empty")
        return RAGS[raw.lower()]

    def choice(self, column: str, allowed: dict[str, str] | tuple[str, ...]) -> str:
        raw = self.text(column, required=True)
        options = allowed if isinstance(allowed, dict) else {a: a for a in allowed}
        if raw.lower() not in options:
            raise self.fail(column, f"{raw!r} is not allowed; allowed: "
                            f"{', '.join(dict.fromkeys(options.values()))}")
        return options[raw.lower()]


def _check_columns(table: Table, allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    for c in table.columns:
        if c not in allowed:
            raise InputError(f"unknown column; allowed: {', '.join(allowed)}", path=table.path,
                             line=1, column=c)
    for c in required:
        if c not in table.columns:
            raise InputError("required column is missing from the header", path=table.path,
                             line=1, column=c)
    if not table.rows:
        raise InputError("no rows under the header", path=table.path)


def _agree(cells: _Cells, seen: dict[str, tuple[int, object]], key: str, column: str,
           value: object) -> None:
    """Values that describe a project or action must agree on every row that repeats them."""
    if key in seen:
        line, before = seen[key]
        if before != value and value not in ("", None):
            if before in ("", None):
                seen[key] = (cells.row.line, value)
                return
            raise cells.fail(column, f"{value!r} differs from {before!r} on line {line} for "
                             "the same id")
    else:
        seen[key] = (cells.row.line, value)


# ---------------------------------------------------------------------------------------------
# Quarterly returns


@dataclass(frozen=True)
class ParsedReturns:
    path: str
    projects: tuple[ProjectDetails, ...]
    budgets: tuple[tuple[str, str, float], ...]  # (project_id, financial year, budget)
    returns: tuple[ProjectReturn, ...]
    rows: int
    quarter_lines: tuple[tuple[str, int], ...] = ()  # (quarter, first line with it)


def parse_returns(path: Path) -> ParsedReturns:
    """Read and validate a quarterly return file; nothing is written."""
    table = read_table(path, sheet="return")
    _check_columns(table, RETURN_COLUMNS, RETURN_REQUIRED)
    details: dict[str, ProjectDetails] = {}
    budgets: dict[tuple[str, str], float] = {}
    spend: dict[tuple[str, Quarter], float | None] = {}
    kpis: dict[tuple[str, Quarter], list[KpiValue]] = {}
    agree: dict[str, tuple[int, object]] = {}
    lines: dict[tuple[str, Quarter, str], int] = {}
    first_line: dict[str, int] = {}
    for row in table.rows:
        c = _Cells(table.path, row)
        pid = c.ident("project_id")
        start, end = c.day("start"), c.day("end")
        if start and end and end < start:
            raise c.fail("end", f"{end} is before the start {start}")
        d = ProjectDetails(pid, c.text("project", required=True), c.text("agency", required=True),
                           c.text("funder"), c.text("lead"), start, end)
        for col, value in (("project", d.name), ("agency", d.agency), ("funder", d.funder),
                           ("lead", d.lead), ("start", start), ("end", end)):
            _agree(c, agree, f"{pid}|{col}", col, value)
        previous = details.get(pid)
        details[pid] = ProjectDetails(
            pid, d.name, d.agency, d.funder or (previous.funder if previous else ""),
            d.lead or (previous.lead if previous else ""),
            start or (previous.start if previous else None),
            end or (previous.end if previous else None))
        quarter = c.quarter()
        assert quarter is not None
        first_line.setdefault(str(quarter), row.line)
        budget = c.number("budget")
        if budget is not None:
            _agree(c, agree, f"{pid}|budget|{quarter.financial_year}", "budget", budget)
            budgets[(pid, quarter.financial_year)] = budget
        s = c.number("spend")
        if s is not None:
            _agree(c, agree, f"{pid}|spend|{quarter}", "spend", s)
        key = (pid, quarter)
        spend[key] = s if s is not None else spend.get(key)
        kpi_name = c.text("kpi", required=True)
        dup = (pid, quarter, kpi_name.lower())
        if dup in lines:
            raise c.fail("kpi", f"{kpi_name!r} for {pid} {quarter} is already on line "
                         f"{lines[dup]}; one row per project, quarter and KPI")
        lines[dup] = row.line
        kpi_value = KpiValue(
            kpi_name, c.choice("direction", DIRECTIONS), c.choice("measure", MEASURES),
            c.text("unit"), c.number("baseline", negative=True), c.number("target", negative=True),
            c.number("actual", negative=True), c.rag("reported_rag"), c.text("comment"))
        kpis.setdefault(key, []).append(kpi_value)
    returns = tuple(ProjectReturn(pid, q, spend.get((pid, q)), tuple(v))
                    for (pid, q), v in kpis.items())
    return ParsedReturns(table.path, tuple(details.values()),
                         tuple((p, fy, b) for (p, fy), b in budgets.items()), returns,
                         len(table.rows), tuple(first_line.items()))


def _write_project(con: duckdb.DuckDBPyConnection, d: ProjectDetails, at: datetime) -> None:
    con.execute("DELETE FROM gov_projects WHERE project_id = ?", [d.project_id])
    con.execute("INSERT INTO gov_projects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [d.project_id, d.name, d.funder or None, d.agency, d.lead or None, d.start,
                 d.end, at])


def _kpi_rows(con: duckdb.DuckDBPyConnection, pid: str, quarter: str) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT kpi, unit, baseline, target, direction, measure, actual, reported_rag, comment "
        "FROM gov_kpi_values WHERE project_id = ? AND quarter = ? ORDER BY kpi",
        [pid, quarter]).fetchall()


def _write_return(con: duckdb.DuckDBPyConnection, r: ProjectReturn, source: str,
                  submitted_by: str | None, at: datetime) -> str:
    """Replace the return for (project, quarter); 'new', 'replaced' or 'unchanged'."""
    q = str(r.quarter)
    before = store.one(con, "SELECT spend FROM gov_returns WHERE project_id = ? AND quarter = ?",
                       [r.project_id, q])
    old_kpis = _kpi_rows(con, r.project_id, q)
    con.execute("DELETE FROM gov_returns WHERE project_id = ? AND quarter = ?", [r.project_id, q])
    con.execute("DELETE FROM gov_kpi_values WHERE project_id = ? AND quarter = ?",
                [r.project_id, q])
    con.execute("INSERT INTO gov_returns VALUES (?, ?, ?, ?, ?, ?)",
                [r.project_id, q, r.spend, source, submitted_by, at])
    for k in r.kpis:
        con.execute("INSERT INTO gov_kpi_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r.project_id, q, k.kpi, k.unit or None, k.baseline, k.target, k.direction,
                     k.measure, k.actual, k.reported_rag, k.comment or None])
    if before is None:
        return "new"
    same = before[0] == r.spend and old_kpis == _kpi_rows(con, r.project_id, q)
    return "unchanged" if same else "replaced"


def ingest_returns(con: duckdb.DuckDBPyConnection, paths: Sequence[Path], *,
                   submitted_by: str | None = None) -> tuple[ImportReport, ...]:
    """Validate every quarterly return file in full, then write them all in one transaction
    (a bad file loads nothing, from any file). Later files win for the same project+quarter."""

    def write(one: ParsedReturns, at: datetime) -> tuple[int, list[tuple[str, str]]]:
        for d in one.projects:
            _write_project(con, d, at)
        for pid, fy, budget in one.budgets:
            con.execute("DELETE FROM gov_project_budgets WHERE project_id = ? AND "
                        "financial_year = ?", [pid, fy])
            con.execute("INSERT INTO gov_project_budgets VALUES (?, ?, ?)", [pid, fy, budget])
        return len(one.projects), [(_write_return(con, r, one.path, submitted_by, at),
                                    f"{r.project_id} {r.quarter}") for r in one.returns]

    return _import_files(con, [parse_returns(p) for p in paths], write)


_P = TypeVar("_P", ParsedReturns, "ParsedActions")


def _import_files(con: duckdb.DuckDBPyConnection, parsed: list[_P],
                  write: Callable[[_P, datetime], tuple[int, list[tuple[str, str]]]]
                  ) -> tuple[ImportReport, ...]:
    """Write parsed files in one transaction, refused whole if any row is for a locked
    quarter. `write` writes one file and gives its count of details written and, per
    return or update, its outcome (new, replaced, unchanged) and key."""
    at = utc_now()
    reports: list[ImportReport] = []
    with store.transaction(con):
        for one in parsed:  # a row for a locked quarter refuses the whole command
            check_rows_open(con, one.path, one.quarter_lines)
        for one in parsed:
            details, written = write(one, at)
            outcome: dict[str, list[str]] = {"new": [], "replaced": [], "unchanged": []}
            for kind, key in written:
                outcome[kind].append(key)
            reports.append(ImportReport(one.path, tuple(outcome["new"]),
                                        tuple(outcome["replaced"]), tuple(outcome["unchanged"]),
                                        details, one.rows))
    return tuple(reports)


def project_agency(con: duckdb.DuckDBPyConnection, project_id: str) -> str | None:
    """The agency that delivers a project (the web lets its officers submit returns)."""
    row = store.one(con, "SELECT agency FROM gov_projects WHERE project_id = ?", [project_id])
    return str(row[0]) if row else None


def _check_kpis(kpis: Iterable[KpiValue]) -> None:
    names: set[str] = set()
    for i, k in enumerate(kpis):
        where = f"kpis[{i}]"
        if not k.kpi.strip():
            raise InputError("KPI name is empty", column=f"{where}.kpi")
        if k.kpi.lower() in names:
            raise InputError(f"KPI {k.kpi!r} appears twice", column=f"{where}.kpi")
        names.add(k.kpi.lower())
        if k.direction not in ("up", "down"):
            raise InputError(f"direction must be 'up' or 'down', got {k.direction!r}",
                             column=f"{where}.direction")
        if k.measure not in MEASURES:
            raise InputError(f"measure must be 'cumulative' or 'level', got {k.measure!r}",
                             column=f"{where}.measure")
        for name in ("baseline", "target", "actual"):
            value = getattr(k, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or not math.isfinite(value)):
                raise InputError(f"{name} must be a finite number or empty, got {value!r}",
                                 column=f"{where}.{name}")
        if k.reported_rag not in (None, "R", "A", "G"):
            raise InputError(f"reported RAG must be R, A, G or empty, got {k.reported_rag!r}",
                             column=f"{where}.reported_rag")


def record_return(con: duckdb.DuckDBPyConnection, ret: ProjectReturn, *, submitted_by: str,
                  source: str = "web") -> str:
    """Record one quarterly return (e.g. from the web) for a known project, replacing any
    earlier return for that project and quarter, in one transaction. Returns 'new',
    'replaced' or 'unchanged'."""
    if project_agency(con, ret.project_id) is None:
        raise InputError(f"unknown project {ret.project_id!r}; import its return file first",
                         column="project_id")
    if ret.spend is not None and (not math.isfinite(ret.spend) or ret.spend < 0):
        raise InputError(f"spend must be 0 or more, got {ret.spend}", column="spend")
    if not ret.kpis:
        raise InputError("a return needs at least one KPI", column="kpis")
    _check_kpis(ret.kpis)
    with store.transaction(con):
        check_open(con, ret.quarter)
        return _write_return(con, ret, source, submitted_by, utc_now())


# ---------------------------------------------------------------------------------------------
# Action plan


@dataclass(frozen=True)
class ParsedActions:
    path: str
    actions: tuple[ActionDetails, ...]
    updates: tuple[ActionUpdate, ...]
    rows: int
    quarter_lines: tuple[tuple[str, int], ...] = ()  # (quarter, first line with it)


def parse_actions(path: Path) -> ParsedActions:
    """Read and validate an action plan file; nothing is written."""
    table = read_table(path, sheet="actions")
    _check_columns(table, ACTION_COLUMNS, ACTION_REQUIRED)
    actions: dict[str, ActionDetails] = {}
    updates: list[ActionUpdate] = []
    agree: dict[str, tuple[int, object]] = {}
    lines: dict[tuple[str, Quarter], int] = {}
    first_line: dict[str, int] = {}
    for row in table.rows:
        c = _Cells(table.path, row)
        aid = c.ident("action_id")
        a = ActionDetails(aid, c.text("priority", required=True), c.text("action", required=True),
                          c.text("agency", required=True), c.text("lead"), c.day("due"))
        for col, value in (("priority", a.priority), ("action", a.action), ("agency", a.agency),
                           ("lead", a.lead), ("due", a.due)):
            _agree(c, agree, f"{aid}|{col}", col, value)
        prev = actions.get(aid)
        actions[aid] = ActionDetails(aid, a.priority, a.action, a.agency,
                                     a.lead or (prev.lead if prev else ""),
                                     a.due or (prev.due if prev else None))
        quarter = c.quarter(required=False)
        plan, update, rag = c.text("plan"), c.text("update"), c.rag("rag")
        if quarter is None:
            if plan or update or rag:
                raise c.fail("quarter", "empty, but the row has a plan, update or RAG")
            continue
        if (aid, quarter) in lines:
            raise c.fail("quarter", f"{aid} {quarter} is already on line {lines[(aid, quarter)]}"
                         "; one row per action and quarter")
        lines[(aid, quarter)] = row.line
        first_line.setdefault(str(quarter), row.line)
        updates.append(ActionUpdate(aid, quarter, plan, update, rag))
    return ParsedActions(table.path, tuple(actions.values()), tuple(updates), len(table.rows),
                         tuple(first_line.items()))


def _write_update(con: duckdb.DuckDBPyConnection, u: ActionUpdate, source: str,
                  submitted_by: str | None, at: datetime) -> str:
    q = str(u.quarter)
    before = store.one(con, "SELECT plan, update_text, rag FROM gov_action_updates "
                       "WHERE action_id = ? AND quarter = ?", [u.action_id, q])
    con.execute("DELETE FROM gov_action_updates WHERE action_id = ? AND quarter = ?",
                [u.action_id, q])
    con.execute("INSERT INTO gov_action_updates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [u.action_id, q, u.plan or None, u.update or None, u.rag, source, submitted_by,
                 at])
    if before is None:
        return "new"
    return "unchanged" if before == (u.plan or None, u.update or None, u.rag) else "replaced"


def ingest_actions(con: duckdb.DuckDBPyConnection, paths: Sequence[Path], *,
                   submitted_by: str | None = None) -> tuple[ImportReport, ...]:
    """Validate every action plan file in full, then write them all in one transaction."""

    def write(one: ParsedActions, at: datetime) -> tuple[int, list[tuple[str, str]]]:
        for a in one.actions:
            con.execute("DELETE FROM gov_actions WHERE action_id = ?", [a.action_id])
            con.execute("INSERT INTO gov_actions VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [a.action_id, a.priority, a.action, a.agency, a.lead or None, a.due,
                         at])
        return len(one.actions), [(_write_update(con, u, one.path, submitted_by, at),
                                   f"{u.action_id} {u.quarter}") for u in one.updates]

    return _import_files(con, [parse_actions(p) for p in paths], write)


def action_agency(con: duckdb.DuckDBPyConnection, action_id: str) -> str | None:
    """The agency that leads an action (the web lets its officers submit updates)."""
    row = store.one(con, "SELECT agency FROM gov_actions WHERE action_id = ?", [action_id])
    return str(row[0]) if row else None


def record_action_update(con: duckdb.DuckDBPyConnection, update: ActionUpdate, *,
                         submitted_by: str, source: str = "web") -> str:
    """Record one quarterly plan/update/RAG for a known action (e.g. from the web), replacing
    any earlier update for that action and quarter, in one transaction."""
    if action_agency(con, update.action_id) is None:
        raise InputError(f"unknown action {update.action_id!r}; import the action plan first",
                         column="action_id")
    if update.rag not in (None, "R", "A", "G"):
        raise InputError(f"RAG must be R, A, G or empty, got {update.rag!r}", column="rag")
    check_text(update.plan, column="plan")
    check_text(update.update, column="update")
    with store.transaction(con):
        check_open(con, update.quarter)
        return _write_update(con, update, source, submitted_by, utc_now())


# ---------------------------------------------------------------------------------------------
# Saved models (cost-benefit models and options appraisals for the board pack)


def save_models(con: duckdb.DuckDBPyConnection, kind: str, paths: Sequence[Path]
                ) -> tuple[tuple[str, str], ...]:
    """Validate model files of `kind` ('cba' or 'appraisal') and save their text, replacing
    a saved model of the same name; returns (name, 'new' | 'replaced' | 'unchanged')."""
    from saferboard.sources.appraisal_model import load_appraisal
    from saferboard.sources.cba_model import load_model

    if kind not in ("cba", "appraisal"):
        raise InputError(f"kind must be 'cba' or 'appraisal', got {kind!r}", column="kind")
    items: list[tuple[str, str, str]] = []
    for p in paths:
        name = load_model(p).name if kind == "cba" else load_appraisal(p).name
        if any(n == name for n, _, _ in items):
            raise InputError(f"another file in this command has the name {name!r}", path=p)
        items.append((name, str(p), p.read_text(encoding="utf-8")))
    at = utc_now()
    out: list[tuple[str, str]] = []
    with store.transaction(con):
        for name, path, content in items:
            before = store.one(con, "SELECT content FROM gov_models WHERE kind = ? AND name = ?",
                               [kind, name])
            con.execute("DELETE FROM gov_models WHERE kind = ? AND name = ?", [kind, name])
            con.execute("INSERT INTO gov_models VALUES (?, ?, ?, ?, ?)",
                        [kind, name, path, content, at])
            state = "new" if before is None else (
                "unchanged" if before[0] == content else "replaced")
            out.append((name, state))
    return tuple(out)


def load_example_governance(con: duckdb.DuckDBPyConnection, examples: Path) -> None:
    """The demo's money and governance data from examples/: the seed's cost-benefit models and
    options appraisal, the MOPAC project returns and the Q4 2012/13 action plan."""
    cba = sorted((examples / "cba").glob("*.toml"))
    if cba:
        save_models(con, "cba", cba)
    appraisals = sorted((examples / "appraisal").glob("*.toml"))
    if appraisals:
        save_models(con, "appraisal", appraisals)
    returns = sorted((examples / "projects").glob("*.xlsx"))
    if returns:
        ingest_returns(con, returns)
    plans = sorted((examples / "actions").glob("action_plan_*.xlsx"))
    if plans:
        ingest_actions(con, plans)
