"""The action plan (seed 003): priorities -> actions (what we said we would do, lead, due
date) with each quarter's plan, performance update and RAG, and flags for what needs chasing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from saferboard.core.quarters import Quarter, parse_quarter, quarter_of
from saferboard.store.locks import QuarterLock, RagConfirmation, confirmations, quarter_lock

RAG_GUIDANCE = {
    "R": "Milestone not achieved and/or risks threaten future performance. Remedial action is "
         "required.",
    "A": "Milestone only partly achieved, but identified problem has been resolved and "
         "performance will be met; or milestone met, but risk to future performance has been "
         "identified.",
    "G": "Milestone met and no future risks to performance.",
}
METHOD = (
    "RAG is the lead's judgement against the partnership's RAG guidance (seed 003): Red - "
    + RAG_GUIDANCE["R"] + " Amber - " + RAG_GUIDANCE["A"] + " Green - " + RAG_GUIDANCE["G"]
    + " Where the partnership manager has confirmed a RAG it is shown, marked confirmed, and "
    "used for the counts and flags instead of the reported one. Flags: overdue = the due date "
    "is before the as-of date and the latest RAG is not Green; missing update = no performance "
    "update for the quarter; no RAG = an update without a RAG."
)


@dataclass(frozen=True)
class ActionStatus:
    action_id: str
    priority: str
    action: str
    agency: str
    lead: str
    due: date | None
    plan: str
    update: str
    rag: str | None  # this quarter's RAG
    latest_rag: str | None  # the most recent RAG up to this quarter
    overdue: bool
    missing_update: bool
    missing_rag: bool
    confirmed: RagConfirmation | None = None  # the partnership manager's RAG for the quarter

    @property
    def final_rag(self) -> str | None:
        """The confirmed RAG when there is one, else the reported one."""
        return self.confirmed.rag if self.confirmed else self.rag

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(name for name, on in (("overdue", self.overdue),
                                           ("missing update", self.missing_update),
                                           ("no RAG", self.missing_rag and not
                                            self.missing_update)) if on)


@dataclass(frozen=True)
class PriorityActions:
    priority: str
    actions: tuple[ActionStatus, ...]


@dataclass(frozen=True)
class ActionsReport:
    quarter: str
    as_of: date
    priorities: tuple[PriorityActions, ...]
    counts: tuple[tuple[str, int], ...]  # ('R', n), ('A', n), ('G', n), ('none', n), flags
    method: str = METHOD
    lock: QuarterLock | None = None  # set when the quarter is locked


def latest_update_quarter(con: duckdb.DuckDBPyConnection) -> Quarter | None:
    rows = con.execute("SELECT DISTINCT quarter FROM gov_action_updates").fetchall()
    quarters = [parse_quarter(str(r[0])) for r in rows]
    return max(quarters, default=None)


def actions_report(con: duckdb.DuckDBPyConnection, quarter: Quarter | None = None,
                   as_of: date | None = None, agency: str | None = None) -> ActionsReport:
    """The action plan for a quarter (default: the quarter of `as_of`, else the latest with
    updates) as of a date (default: the quarter's last day)."""
    if quarter is None:
        quarter = quarter_of(as_of) if as_of else latest_update_quarter(con)
    if quarter is None:
        quarter = quarter_of(date.today())
    as_of = as_of or quarter.end
    actions = con.execute(
        "SELECT action_id, priority, action, agency, coalesce(lead, ''), due FROM gov_actions "
        "WHERE (? IS NULL OR lower(agency) = lower(?)) ORDER BY action_id",
        [agency, agency]).fetchall()
    updates = con.execute(
        "SELECT action_id, quarter, coalesce(plan, ''), coalesce(update_text, ''), rag "
        "FROM gov_action_updates").fetchall()
    confirmed = confirmations(con, "action")
    this: dict[str, tuple[str, str, str | None]] = {}
    latest: dict[str, tuple[Quarter, str | None]] = {}
    rags = [(aid, parse_quarter(str(q)), rag) for aid, q, _, _, rag in updates]
    rags += [(aid, parse_quarter(q), c.rag) for (aid, q), c in confirmed.items()]
    for aid, q_text, plan, update, rag in updates:
        if parse_quarter(str(q_text)) == quarter:
            this[aid] = (plan, update, rag)
    for aid, q, rag in rags:
        # per quarter the confirmed RAG wins over the reported one
        final = confirmed[(aid, str(q))].rag if (aid, str(q)) in confirmed else rag
        if q <= quarter and final is not None and (aid not in latest or q > latest[aid][0]):
            latest[aid] = (q, final)
    groups: dict[str, list[ActionStatus]] = {}
    counts = {"R": 0, "A": 0, "G": 0, "none": 0, "overdue": 0, "missing update": 0}
    for aid, priority, text, agency_, lead, due in actions:
        plan, update, rag = this.get(aid, ("", "", None))
        latest_rag = latest[aid][1] if aid in latest else None
        status = ActionStatus(
            aid, priority, text, agency_, lead, due, plan, update, rag, latest_rag,
            overdue=due is not None and due < as_of and latest_rag != "G",
            missing_update=not update, missing_rag=rag is None,
            confirmed=confirmed.get((aid, str(quarter))))
        groups.setdefault(priority, []).append(status)
        counts[status.final_rag or "none"] += 1
        counts["overdue"] += status.overdue
        counts["missing update"] += status.missing_update
    priorities = tuple(PriorityActions(p, tuple(v)) for p, v in groups.items())
    return ActionsReport(str(quarter), as_of, priorities, tuple(counts.items()),
                         lock=quarter_lock(con, quarter))
