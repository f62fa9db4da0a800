"""The offender cohort (IOM), formatted once: a published (disclosure-controlled) cohort
result as typed rows for `saferboard cohort` (table, CSV, JSON), the web's people page and
API, and the board pack and its XLSX.

A group hidden by disclosure control is a row of `SUPPRESSED` figures with
``suppressed=True``: shown as the disclosure mark in every table and as ``null`` with
``"suppressed": true`` in JSON, never as 0 members. A figure that cannot be computed (a rate
with no exposure) is None: "-" in tables, ``null`` in JSON, with ``suppressed`` false.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from saferboard.measures.cohort import (
    GroupRates,
    ProjectionRow,
    PublishedCohort,
    TypeChange,
)
from saferboard.measures.disclosure import MARK
from saferboard.present.dashboard import Out
from saferboard.present.values import SUPPRESSED, Suppressed, shown

# The columns of the groups table, in every output that lays it out as a table.
GROUP_COLUMNS = ("group", "members", "offences_before", "offences_after", "rate_before",
                 "rate_after", "reduction_pct", "suppressed")


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _cells(model: Out, columns: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A table row: the model's fields (or `columns`), a suppressed figure as the mark and
    the suppressed flag as "yes" or "no" (a table cell is never empty)."""
    values = model.model_dump()
    out = {}
    for k in columns or tuple(values):
        v = values[k]
        out[k] = ("yes" if v else "no") if isinstance(v, bool) else shown(v)
    return out


class CohortGroupOut(Out):
    """One group's pooled offending before and after joining (see measures.cohort)."""

    group: str
    members: int | Suppressed
    offences_before: int | Suppressed
    offences_after: int | Suppressed
    offender_years_before: float | Suppressed
    offender_years_after: float | Suppressed
    rate_before: float | Suppressed | None  # offences per offender per year
    rate_after: float | Suppressed | None
    reduction_pct: float | Suppressed | None  # 100 x (1 - after / before)
    suppressed: bool

    @classmethod
    def of(cls, group: str, g: GroupRates | None) -> CohortGroupOut:
        """`g` None: the group is suppressed (PublishedCohort's convention)."""
        if g is None:
            return cls(group=group, members=SUPPRESSED, offences_before=SUPPRESSED,
                       offences_after=SUPPRESSED, offender_years_before=SUPPRESSED,
                       offender_years_after=SUPPRESSED, rate_before=SUPPRESSED,
                       rate_after=SUPPRESSED, reduction_pct=SUPPRESSED, suppressed=True)
        return cls(group=group, members=g.members, offences_before=g.offences_before,
                   offences_after=g.offences_after,
                   offender_years_before=round(g.years_before, 3),
                   offender_years_after=round(g.years_after, 3),
                   rate_before=_r(g.rate_before, 3), rate_after=_r(g.rate_after, 3),
                   reduction_pct=_r(g.reduction_pct, 1), suppressed=False)

    def keyed(self) -> dict[str, Any]:
        """The JSON object of the group (its name is the key it is filed under)."""
        return self.model_dump(mode="json", exclude={"group"})

    def cells(self) -> dict[str, Any]:
        return _cells(self, GROUP_COLUMNS)


class ProjectionOut(Out):
    """Seed 003's row: offences in the 12 months before joining against after, as observed
    and predicted for 12 months."""

    group: str
    members: int
    before_12m: int
    after_observed: int
    months_observed: float
    predicted_12m: float
    reduction: float
    reduction_pct: float | None

    @classmethod
    def of(cls, p: ProjectionRow) -> ProjectionOut:
        return cls(group=p.group, members=p.members, before_12m=p.before,
                   after_observed=p.after, months_observed=round(p.months_observed, 2),
                   predicted_12m=round(p.predicted_12m, 1), reduction=round(p.reduction, 1),
                   reduction_pct=_r(p.reduction_pct, 1))

    def cells(self) -> dict[str, Any]:
        return _cells(self)


class OffenceTypeOut(Out):
    offence_type: str
    offences_before: int
    offences_after: int
    rate_before: float | None
    rate_after: float | None
    avoided_per_year: float | None  # (rate before - rate after) x members

    @classmethod
    def of(cls, t: TypeChange) -> OffenceTypeOut:
        return cls(offence_type=t.offence_type, offences_before=t.offences_before,
                   offences_after=t.offences_after, rate_before=_r(t.rate_before, 3),
                   rate_after=_r(t.rate_after, 3), avoided_per_year=_r(t.avoided_per_year, 1))

    def cells(self) -> dict[str, Any]:
        return _cells(self)


def groups(r: PublishedCohort) -> list[CohortGroupOut]:
    """Everyone, Home Office recordable, then each cohort value and its Home Office
    recordable offences: the rows of the groups table in every output."""
    rows = [CohortGroupOut.of("All members", r.overall),
            CohortGroupOut.of("All members: Home Office recordable", r.ho_recordable)]
    for v, g in r.by_cohort.items():
        rows.append(CohortGroupOut.of(v, g))
        rows.append(CohortGroupOut.of(f"{v}: Home Office recordable", r.by_cohort_ho[v]))
    return rows


def suppressed_note(r: PublishedCohort) -> str | None:
    """The sentence naming the suppressed groups, or None when none is."""
    if not r.suppressed:
        return None
    return (f"Suppressed, shown as {MARK} (fewer than {r.threshold} members, or to protect "
            f"such a group): {', '.join(r.suppressed)}")


def cohort_document(r: PublishedCohort) -> dict[str, Any]:
    """Everything `saferboard cohort --format json` prints: the overall group's figures at
    the top level, each cohort value's under `by_cohort`, suppressed ones null with
    "suppressed": true (the top-level "suppressed" lists the names of the hidden groups)."""
    body: dict[str, Any] = {
        "as_of": r.as_of.isoformat(), "date_basis": r.date_basis, "min_days": r.min_days,
        **CohortGroupOut.of("All members", r.overall).keyed(),
        "ho_recordable": CohortGroupOut.of("HO", r.ho_recordable).keyed(),
        "by_cohort": {v: {**CohortGroupOut.of(v, g).keyed(),
                          "ho_recordable": CohortGroupOut.of(v, r.by_cohort_ho[v]).keyed()}
                      for v, g in r.by_cohort.items()},
        "by_offence_type": [OffenceTypeOut.of(t).model_dump(mode="json") for t in r.by_type],
        "projection": [ProjectionOut.of(p).model_dump(mode="json") for p in r.projection],
        "concentration": {**asdict(r.concentration),
                          "first_day": r.concentration.first_day.isoformat(),
                          "last_day": r.concentration.last_day.isoformat(),
                          "share_pct": _r(r.concentration.share_pct, 1)},
        "members_total": r.members_total, "excluded": r.excluded,
        "offences_in_custody": r.offences_in_custody,
        "suppressed": list(r.suppressed),
        "threshold": r.threshold,
        "caveats": list(r.caveats),
        "regression_to_the_mean": r.caveats[0],
    }
    if r.comparison is not None:
        c = r.comparison
        body["comparison"] = {
            "comparison_cohort": c.comparison_cohort,
            "treated": CohortGroupOut.of("treated", c.treated).keyed(),
            "comparison": CohortGroupOut.of(c.comparison_cohort, c.comparison).keyed(),
            "difference_in_differences": _r(c.did_rate, 3),
            "difference_in_differences_95ci": (None if c.did_interval is None
                                               else [round(x, 3) for x in c.did_interval]),
            "ratio_of_rate_ratios": _r(c.ratio_of_rate_ratios, 3),
            "ratio_of_rate_ratios_95ci": (None if c.ratio_interval is None
                                          else [round(x, 3) for x in c.ratio_interval]),
            "resamples": c.resamples, "seed": c.seed, "method": c.method}
    return body
