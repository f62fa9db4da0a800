"""The case register's settings: the shared risk matrix, review intervals by risk level, the
ASB Case Review threshold and the retention period (data/asb_risk_matrix.toml, which cites the
Home Office ASB victim risk assessment it is modelled on).

`load_matrix(path)` reads the shipped file, then lays the tables of `path` (or of the file
named by $SAFERBOARD_RISK_MATRIX) over it; every value is checked here so the measures can
trust it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saferboard.core.reference import key_error, read_toml, shipped

ENV = "SAFERBOARD_RISK_MATRIX"
LEVELS = ("standard", "medium", "high")
STATUTORY_MAX_INCIDENTS = 3  # s.104 guidance: a partnership may lower the threshold, not raise it


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    weight: int
    escalate: bool = False


@dataclass(frozen=True)
class RiskMatrix:
    questions: tuple[Question, ...]
    medium: int  # lowest score graded medium
    high: int  # lowest score graded high
    review_days: dict[str, int]  # level -> days to the next review
    min_incidents: int  # ASB Case Review threshold (1..3)
    months: int  # ... within this many calendar months up to the date received
    retention_years: int
    source: str


def shipped_path() -> Path:
    return shipped("asb_risk_matrix.toml")


def _read(path: Path) -> dict[str, Any]:
    return read_toml(path, what="risk matrix", at_line=True)


def _int(table: dict[str, Any], key: str, where: str, path: Path, *, low: int = 0) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise key_error(path, f"{where}.{key}", f"should be a whole number >= {low}, got "
                        f"{value!r}")
    return value


def load_matrix(path: str | Path | None = None) -> RiskMatrix:
    """The shipped settings with the tables of `path` (else $SAFERBOARD_RISK_MATRIX) laid over."""
    base = shipped_path()
    data = _read(base)
    chosen = path if path is not None else (os.environ.get(ENV) or None)
    where = base
    if chosen is not None:
        where = Path(chosen)
        data = {**data, **_read(where)}
    raw_qs = data.get("questions")
    if not isinstance(raw_qs, list) or not raw_qs:
        raise key_error(where, "questions", "should list at least one question")
    questions: list[Question] = []
    for i, q in enumerate(raw_qs, start=1):
        if not isinstance(q, dict) or not isinstance(q.get("id"), str) or not q["id"]:
            raise key_error(where, f"questions[{i}]", "needs an id (text)")
        if any(q["id"] == other.id for other in questions):
            raise key_error(where, f"questions[{i}].id", f"{q['id']!r} appears twice")
        questions.append(Question(q["id"], str(q.get("text", q["id"])),
                                  _int(q, "weight", f"questions.{q['id']}", where),
                                  bool(q.get("escalate", False))))
    levels = data.get("levels", {})
    medium = _int(levels, "medium", "levels", where, low=1)
    high = _int(levels, "high", "levels", where, low=1)
    if high <= medium:
        raise key_error(where, "levels.high", f"{high} should be above levels.medium "
                        f"({medium})")
    days = data.get("review_days", {})
    review_days = {lvl: _int(days, lvl, "review_days", where, low=1) for lvl in LEVELS}
    cr = data.get("case_review", {})
    min_incidents = _int(cr, "min_incidents", "case_review", where, low=1)
    if min_incidents > STATUTORY_MAX_INCIDENTS:
        raise key_error(where, "case_review.min_incidents", f"should be at most "
                        f"{STATUTORY_MAX_INCIDENTS} (the statutory guidance allows a lower "
                        f"threshold, never a higher one), got {min_incidents}")
    months = _int(cr, "months", "case_review", where, low=1)
    years = _int(data.get("retention", {}), "years", "retention", where, low=1)
    return RiskMatrix(tuple(questions), medium, high, review_days, min_incidents, months, years,
                      str(where))
