"""Strategy targets, formatted once: `TargetOut` is a row of `saferboard targets` (table,
CSV, JSON) and an item of `/api/targets`, under the same names."""

from __future__ import annotations

from typing import Any

from saferboard.measures.targets import TargetStatus
from saferboard.present.dashboard import Out


class TargetOut(Out):
    target: str
    area: str
    category: str
    source: str
    period: str  # YYYY-MM..YYYY-MM
    baseline: float
    target_value: float
    month: str  # the month assessed at
    on_trajectory_now: float
    actual_rolling12: int | None
    projected_end: float | None
    status: str  # Green | Amber | Red | not started | not rated (incomplete)
    complete: bool  # False: the actual lacks rows it could not place (a lower bound)
    caveats: list[str]

    @classmethod
    def of(cls, s: TargetStatus) -> TargetOut:
        t = s.target
        return cls(target=t.name, area=s.area, category=t.category, source=s.source,
                   period=f"{t.start:%Y-%m}..{t.end:%Y-%m}", baseline=t.baseline,
                   target_value=s.target_value, month=f"{s.month:%Y-%m}",
                   on_trajectory_now=s.expected_now, actual_rolling12=s.actual,
                   projected_end=s.projected_end, status=s.status, complete=s.complete,
                   caveats=list(s.caveats))


def target_rows(statuses: list[TargetStatus]) -> list[dict[str, Any]]:
    return [TargetOut.of(s).model_dump(mode="json") for s in statuses]
