"""Offender cohort (IOM) measure: synthetic cohorts whose answers are known by construction,
the seed 003 projection arithmetic on the seed's own figures, a brute-force day-by-day twin
under Hypothesis, disclosure control and bad input."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard.core.errors import InputError
from saferboard.measures.cohort import (
    OTHER_TYPES,
    REGRESSION_TO_THE_MEAN,
    CohortData,
    Custody,
    Membership,
    Offence,
    cohort_measures,
    concentration,
    projection,
    suppress_small_cohorts,
)

JOIN = date(2020, 1, 1)
DAY = timedelta(days=1)


def spread(offender: str, n: int, first: date, days: int, kind: str = "Burglary",
           ho: bool = True) -> list[Offence]:
    """`n` offences by `offender` spread over `days` days from `first`."""
    return [Offence(offender, first + timedelta(days=(k * days) // max(n, 1)), kind, ho)
            for k in range(n)]


def seed002_cohort() -> tuple[CohortData, date]:
    """100 members joining 2020-01-01, no custody: 291 offences in the 365 days before
    (2.91 per offender-year) and 330 in the 730 days after (1.65 per offender-year); each
    fourth member's first offence before is a robbery flagged not HO-recordable."""
    members = [Membership(f"p{i:03d}", "Statutory" if i < 60 else "Non-statutory", JOIN)
               for i in range(100)]
    offences: list[Offence] = []
    for i in range(100):
        before = spread(f"p{i:03d}", 3 if i < 91 else 2, JOIN - 365 * DAY, 365)  # 273 + 18
        if i % 4 == 0:
            before[0] = Offence(before[0].offender, before[0].offence_date, "Robbery", False)
        offences += before
        offences += spread(f"p{i:03d}", 3 if i < 70 else 4, JOIN, 730)  # 210 + 120
    as_of = JOIN + 729 * DAY  # after window = 730 days = 2 offender-years each
    return CohortData.from_records(members, offences), as_of


def test_seed002_rates_by_construction() -> None:
    data, as_of = seed002_cohort()
    r = cohort_measures(data, as_of=as_of)
    o = r.overall
    assert (o.members, o.offences_before, o.offences_after) == (100, 291, 330)
    assert o.years_before == pytest.approx(100.0) and o.years_after == pytest.approx(200.0)
    assert o.rate_before == pytest.approx(2.91) and o.rate_after == pytest.approx(1.65)
    assert round(o.reduction_pct or 0) == 43  # seed 002: "43% reduction"
    # The by-cohort figures add up to the whole.
    assert sum(g.members for g in r.by_cohort.values()) == 100
    assert sum(g.offences_before for g in r.by_cohort.values()) == 291
    assert sum(g.offences_after for g in r.by_cohort.values()) == 330
    # Robbery rows were flagged not recordable: HO-recordable before = 291 - robberies.
    assert r.ho_recordable.offences_before == 291 - 25
    assert r.ho_recordable.offences_after == 330
    assert r.caveats[0] == REGRESSION_TO_THE_MEAN and "Regression to the mean" in r.caveats[0]


def test_cohort_filter() -> None:
    members = [Membership(f"p{i:03d}", "Statutory" if i < 60 else "Non-statutory", JOIN)
               for i in range(100)] + [Membership("x", "Control", JOIN)]
    offs = spread("x", 50, JOIN - 365 * DAY, 365)
    data_all = CohortData.from_records(members, offs + [
        o for i in range(100) for o in spread(f"p{i:03d}", 2, JOIN - 365 * DAY, 365)])
    r = cohort_measures(data_all, as_of=JOIN + 364 * DAY, cohorts=["statutory", "NON-statutory"])
    assert r.overall.members == 100 and r.overall.offences_before == 200
    assert set(r.by_cohort) == {"Statutory", "Non-statutory"}
    assert cohort_measures(data_all, as_of=JOIN + 364 * DAY).overall.offences_before == 250
    mixed = CohortData.from_records(
        [Membership("a", "IOM  statutory", JOIN), Membership("b", "iom Statutory", JOIN)],
        spread("a", 2, JOIN - 365 * DAY, 365) + spread("b", 4, JOIN - 365 * DAY, 365))
    one = cohort_measures(mixed, as_of=JOIN + 364 * DAY)
    assert list(one.by_cohort) == ["IOM statutory"]
    assert one.by_cohort["IOM statutory"].offences_before == 6
    with pytest.raises(InputError, match="cohort 'Nope' is not a cohort value"):
        cohort_measures(data_all, as_of=JOIN + 364 * DAY, cohorts=["Nope"])
    with pytest.raises(InputError, match="comparison cohort 'Control'"):
        cohort_measures(data_all, as_of=JOIN + 364 * DAY, cohorts=["Statutory"],
                        comparison_cohort="Control")


def test_by_cohort_exact() -> None:
    """Two cohorts built with known rates: A 4/yr -> 1/yr, B 2/yr -> 2/yr."""
    members = [Membership(f"a{i}", "A", JOIN) for i in range(10)] + [
        Membership(f"b{i}", "B", JOIN) for i in range(5)]
    offs: list[Offence] = []
    for i in range(10):
        offs += spread(f"a{i}", 4, JOIN - 365 * DAY, 365) + spread(f"a{i}", 1, JOIN, 365)
    for i in range(5):
        offs += spread(f"b{i}", 2, JOIN - 365 * DAY, 365) + spread(f"b{i}", 2, JOIN, 365)
    r = cohort_measures(CohortData.from_records(members, offs), as_of=JOIN + 364 * DAY)
    a, b = r.by_cohort["A"], r.by_cohort["B"]
    assert (a.rate_before, a.rate_after, a.reduction_pct) == (4.0, 1.0, 75.0)
    assert (b.rate_before, b.rate_after, b.reduction_pct) == (2.0, 2.0, 0.0)
    assert r.overall.rate_before == pytest.approx(50 / 15)
    assert r.overall.rate_after == pytest.approx(20 / 15)
    # One 365-day after window each: predicted for 12 months = offences observed.
    row = next(p for p in r.projection if p.group == "A")
    assert (row.before, row.after, row.predicted_12m, row.reduction) == (40, 10, 10.0, 30.0)
    assert row.months_observed == pytest.approx(12.0)


@pytest.mark.parametrize(("pre", "post6", "predicted", "reduction", "pct"), [
    (259, 82, 164, 95, 36.68),   # Stat offender: seed prints "95 (36%)"
    (135, 28, 56, 79, 58.52),    # HO recordable: "79 (58%)"
    (125, 40, 80, 45, 36.00),    # Non stat offender: "45 (37%)" - 45/125 is 36.0% exactly
    (55, 7, 14, 41, 74.55),      # HO recordable: "41 (74%)"
])
def test_seed003_projection(pre: int, post6: int, predicted: int, reduction: int,
                            pct: float) -> None:
    """Seed 003: 'Total Convictions Post IOM (first 6 months)' doubled to 'Predicted for 12
    Month Period'; reduction = pre - predicted; % of pre. The seed truncates the percentage
    (36.7 -> 36, 58.5 -> 58, 74.5 -> 74); its '37%' for 45 of 125 does not follow from its own
    figures (36.0%)."""
    row = projection("group", 0, pre, post6, 6.0)
    assert row.predicted_12m == predicted
    assert row.reduction == reduction
    assert row.reduction_pct == pytest.approx(pct, abs=0.005)


def test_seed003_cohort_savings_offences() -> None:
    """Seed 003's business case: 'from 135 in the 12 months pre-IOM to estimated 56 in 12
    months' (28 in the first 6 months): 79 fewer recordable offences."""
    row = projection("HO", 0, 135, 28, 6.0)
    assert (row.predicted_12m, row.reduction) == (56, 79)


def test_custody_and_windows_by_hand() -> None:
    """One member; every figure worked out by hand from the definitions."""
    join = date(2021, 3, 1)
    before_first = join - 365 * DAY  # 2020-03-01
    members = [Membership("x", "IOM", join, leave_date=date(2021, 12, 31))]
    custody = [
        # Whole custody days 2020-06-02..2020-06-30 = 29 days in the before window.
        Custody("x", date(2020, 6, 1), date(2020, 7, 1)),
        # Overlaps the next: merged, whole days 2021-05-02..2021-05-20 = 19 days after.
        Custody("x", date(2021, 5, 1), date(2021, 5, 10)),
        Custody("x", date(2021, 5, 8), date(2021, 5, 21)),
    ]
    offences = [
        Offence("x", before_first, "Theft", True),            # first day of before window
        Offence("x", before_first - DAY, "Theft", True),      # outside: too early
        Offence("x", date(2020, 6, 1), "Theft", True),        # custody start day: counts
        Offence("x", date(2020, 6, 15), "Theft", True),       # in custody: set aside
        Offence("x", date(2020, 7, 1), "Theft", True),        # release day: counts
        Offence("x", join, "Theft", False),                   # join day: after
        Offence("x", date(2021, 5, 5), "Theft", True),        # in custody: set aside
        Offence("x", date(2021, 5, 21), "Theft", True),       # release day: counts
        Offence("x", date(2021, 12, 31), "Theft", True),      # leave day: counts
        Offence("x", date(2022, 1, 1), "Theft", True),        # after leaving: not counted
    ]
    data = CohortData.from_records(members, offences, custody)
    r = cohort_measures(data, as_of=date(2022, 6, 1))
    o = r.overall
    assert o.offences_before == 3 and o.offences_after == 3
    assert r.offences_in_custody == 2
    assert o.years_before == pytest.approx((365 - 29) / 365)
    after_days = (date(2021, 12, 31) - join).days + 1 - 19
    assert o.years_after == pytest.approx(after_days / 365)
    assert r.ho_recordable.offences_after == 2
    # As of mid-window: the after window ends at as_of, an open custody runs to it.
    open_custody = [Custody("x", date(2021, 6, 1))]
    r2 = cohort_measures(CohortData.from_records(members, offences, open_custody),
                         as_of=date(2021, 8, 31))
    # after: 2021-03-01..2021-08-31 = 184 days, minus whole custody days 06-02..08-31 = 91
    assert r2.overall.years_after == pytest.approx((184 - 91) / 365)


def test_custody_offences_of_members_left_out_are_not_counted() -> None:
    """Two members each offend once on a whole custody day after joining. "in" has a full
    year either side; "short" joined 30 days before as_of, under the 90-day minimum, so is
    left out of the rates and so must be left out of the custody count too (the old code
    reported 2 set aside beside rates that covered only "in")."""
    as_of = JOIN + 400 * DAY
    late = as_of - 29 * DAY  # 30 days in the after window
    members = [Membership("in", "IOM", JOIN), Membership("short", "IOM", late)]
    custody = [Custody("in", JOIN + 100 * DAY, JOIN + 110 * DAY),
               Custody("short", late + 2 * DAY, late + 10 * DAY)]
    offences = [Offence("in", JOIN + 105 * DAY, "Theft", True),
                Offence("short", late + 5 * DAY, "Theft", True),
                Offence("short", late + 20 * DAY, "Theft", True)]  # in the community
    r = cohort_measures(CohortData.from_records(members, offences, custody), as_of=as_of)
    assert r.excluded["short_after"] == 1 and r.overall.members == 1
    assert r.offences_in_custody == 1
    assert (r.overall.offences_before, r.overall.offences_after) == (0, 0)
    # With a minimum the short member meets, both are in, and both custody offences count.
    r5 = cohort_measures(CohortData.from_records(members, offences, custody), as_of=as_of,
                         min_days=5)
    assert r5.overall.members == 2 and r5.offences_in_custody == 2
    assert r5.overall.offences_after == 1


def test_min_days_later_membership_and_not_joined() -> None:
    members = [
        Membership("a", "IOM", JOIN),
        Membership("a", "IOM", JOIN + 400 * DAY),         # a later membership: not a member
        Membership("b", "IOM", JOIN + 700 * DAY),         # 30 days after as_of - 700: short
        Membership("c", "IOM", JOIN + 2000 * DAY),        # joins after as_of
        Membership("d", "IOM", JOIN),
    ]
    custody = [Custody("d", JOIN - 365 * DAY - DAY, JOIN)]  # all of d's before window
    offs = spread("a", 4, JOIN - 365 * DAY, 365) + spread("b", 9, JOIN + 400 * DAY, 200)
    r = cohort_measures(CohortData.from_records(members, offs, custody),
                        as_of=JOIN + 729 * DAY, min_days=90)
    assert r.overall.members == 1 and r.overall.offences_before == 4
    assert r.members_total == 3
    assert r.excluded == {"later_membership": 1, "short_before": 1, "short_after": 1,
                          "short_both": 0, "not_yet_joined": 1}


def test_conviction_basis() -> None:
    members = [Membership("a", "IOM", JOIN)]
    offs = [
        Offence("a", JOIN - 100 * DAY, "Burglary", True, conviction_date=JOIN + 10 * DAY),
        Offence("a", JOIN - 50 * DAY, "Burglary", True, conviction_date=JOIN - 20 * DAY),
        Offence("a", JOIN - 40 * DAY, "Burglary", True),  # never convicted
    ]
    data = CohortData.from_records(members, offs)
    by_offence = cohort_measures(data, as_of=JOIN + 364 * DAY)
    by_conviction = cohort_measures(data, as_of=JOIN + 364 * DAY, date_basis="conviction")
    assert (by_offence.overall.offences_before, by_offence.overall.offences_after) == (3, 0)
    assert (by_conviction.overall.offences_before,
            by_conviction.overall.offences_after) == (1, 1)


def test_concentration_by_hand() -> None:
    counts = {"a": 10, "b": 5, "c": 3, "d": 1, "e": 1}
    offs = [Offence(k, date(2024, 1, 1) + i * DAY, "Theft", True)
            for k, n in counts.items() for i in range(n)]
    offs.append(Offence("z", date(2022, 1, 1), "Theft", True))  # outside the 365 days
    data = CohortData.from_records([Membership("a", "IOM", date(2023, 1, 1))], offs)
    k = concentration(data, as_of=date(2024, 6, 30), top_n=2)
    assert (k.offenders, k.offences, k.top_offences) == (5, 20, 15)
    assert k.share_pct == 75.0
    assert k.offenders_for_half == 1  # a alone commits 10 of 20
    assert concentration(data, as_of=date(2024, 6, 30), top_n=200).share_pct == 100.0


def did_cohort() -> CohortData:
    """Treated (IOM, 20 members): 3/yr -> 1/yr; comparison (Control, 20): 3/yr -> 2/yr.
    Difference in differences = (1 - 3) - (2 - 3) = -1 offence per offender-year."""
    members = [Membership(f"t{i}", "IOM", JOIN) for i in range(20)] + [
        Membership(f"c{i}", "Control", JOIN) for i in range(20)]
    offs: list[Offence] = []
    for i in range(20):
        # Uneven members (0..6 before) with the same group totals: the interval has width.
        nb = i % 7 if i < 14 else 3
        offs += spread(f"t{i}", nb, JOIN - 365 * DAY, 365)
        offs += spread(f"c{i}", nb, JOIN - 365 * DAY, 365)
        offs += spread(f"t{i}", i % 2 * 2, JOIN, 365)
        offs += spread(f"c{i}", 2 + (1 if i % 2 else -1) * (1 if i < 10 else 0), JOIN, 365)
    return CohortData.from_records(members, offs)


def test_comparison_group() -> None:
    data = did_cohort()
    r = cohort_measures(data, as_of=JOIN + 364 * DAY, comparison_cohort="control")
    c = r.comparison
    assert c is not None and c.comparison_cohort == "Control"
    t_rb, t_ra = c.treated.rate_before, c.treated.rate_after
    c_rb, c_ra = c.comparison.rate_before, c.comparison.rate_after
    assert t_rb is not None and c_rb is not None and t_ra is not None and c_ra is not None
    assert c.treated.members == 20 and c.comparison.members == 20
    assert t_ra == pytest.approx(1.0) and c_ra == pytest.approx(2.0)
    assert t_rb == c_rb
    assert c.did_rate == pytest.approx((1.0 - t_rb) - (2.0 - c_rb))
    assert c.did_rate == pytest.approx(-1.0)
    assert c.ratio_of_rate_ratios == pytest.approx(0.5)
    assert c.did_interval is not None and c.did_interval[0] < -1.0 < c.did_interval[1]
    assert c.ratio_interval is not None and c.ratio_interval[0] < 0.5 < c.ratio_interval[1]
    again = cohort_measures(data, as_of=JOIN + 364 * DAY, comparison_cohort="Control")
    assert again.comparison is not None and again.comparison.did_interval == c.did_interval
    other = cohort_measures(data, as_of=JOIN + 364 * DAY, comparison_cohort="Control", seed=7)
    assert other.comparison is not None and other.comparison.did_interval != c.did_interval


def test_comparison_with_a_twin_group_shows_no_difference() -> None:
    """A comparison group that offends exactly like the cohort: DiD 0, ratio 1, and both
    intervals contain them; a larger twin pair gives narrower intervals."""
    def twins(n: int) -> CohortData:
        members, offs = [], []
        for g in ("IOM", "Twin"):
            for i in range(n):
                members.append(Membership(f"{g}{i}", g, JOIN))
                offs += spread(f"{g}{i}", 1 + i % 5, JOIN - 365 * DAY, 365)
                offs += spread(f"{g}{i}", i % 3, JOIN, 365)
        return CohortData.from_records(members, offs)

    widths = []
    for n in (15, 60):
        c = cohort_measures(twins(n), as_of=JOIN + 364 * DAY, comparison_cohort="Twin"
                            ).comparison
        assert c is not None and c.did_rate == pytest.approx(0.0)
        assert c.ratio_of_rate_ratios == pytest.approx(1.0)
        assert c.did_interval is not None and c.did_interval[0] < 0 < c.did_interval[1]
        assert c.ratio_interval is not None and c.ratio_interval[0] < 1 < c.ratio_interval[1]
        widths.append(c.did_interval[1] - c.did_interval[0])
    assert widths[1] < widths[0]


def test_suppression_primary_and_secondary() -> None:
    members = [Membership(f"a{i}", "A", JOIN) for i in range(20)] + [
        Membership(f"b{i}", "B", JOIN) for i in range(6)] + [
        Membership(f"c{i}", "C", JOIN) for i in range(3)]
    offs: list[Offence] = []
    for m in members:
        offs += spread(m.offender, 2, JOIN - 365 * DAY, 365)
    offs += [Offence("a0", JOIN + DAY, "Arson", True)]  # one arson after: a small type
    r = cohort_measures(CohortData.from_records(members, offs), as_of=JOIN + 364 * DAY)
    s = suppress_small_cohorts(r, 5)
    # C (3) is hidden; B (6) too, or overall - A would reveal C.
    assert s.suppressed == ("B", "C")
    assert s.by_cohort["A"] == r.by_cohort["A"]
    # Hidden groups are None (suppressed), never a group of 0 members.
    assert s.by_cohort["B"] is None and s.by_cohort["C"] is None
    assert s.by_cohort_ho["B"] is None and s.by_cohort_ho["C"] is None
    assert s.members_total == 29 and s.threshold == 5
    assert {p.group for p in s.projection} == {
        "A", "A: Home Office recordable", "All members", "All members: Home Office recordable"}
    assert s.overall == r.overall
    types = {t.offence_type for t in s.by_type}
    assert "Arson" not in types and OTHER_TYPES not in types  # 1 arson: folded, then dropped
    # A threshold of 3 hides nothing.
    assert suppress_small_cohorts(r, 3).suppressed == ()
    # The whole cohort below the threshold: nothing but the names.
    tiny = cohort_measures(CohortData.from_records(members[-3:], offs), as_of=JOIN + 364 * DAY)
    t = suppress_small_cohorts(tiny, 5)
    assert "All members" in t.suppressed and not t.by_type and not t.projection
    assert t.overall is None and t.ho_recordable is None and t.members_total is None
    assert t.by_cohort == {"C": None}


def test_suppression_keeps_a_published_comparison_group_out_of_secondary() -> None:
    members = [Membership(f"a{i}", "A", JOIN) for i in range(20)] + [
        Membership(f"b{i}", "B", JOIN) for i in range(8)] + [
        Membership(f"c{i}", "C", JOIN) for i in range(3)] + [
        Membership(f"k{i}", "Control", JOIN) for i in range(6)]
    offs = [o for m in members for o in spread(m.offender, 2, JOIN - 365 * DAY, 365)]
    data = CohortData.from_records(members, offs)
    plain = suppress_small_cohorts(cohort_measures(data, as_of=JOIN + 364 * DAY), 5)
    assert plain.suppressed == ("C", "Control")  # Control (6) is the smallest other value
    r = cohort_measures(data, as_of=JOIN + 364 * DAY, comparison_cohort="Control")
    s = suppress_small_cohorts(r, 5)
    assert s.comparison is not None and s.comparison.comparison.members == 6
    assert s.suppressed == ("B", "C")  # protected within the treated total (31)
    assert s.by_cohort["Control"] == r.by_cohort["Control"]
    # A comparison group below the threshold is dropped, and suppression is as without it.
    small = cohort_measures(data, as_of=JOIN + 364 * DAY, comparison_cohort="C")
    t = suppress_small_cohorts(small, 5)
    assert t.comparison is None and t.suppressed == ("C", "Control")


def test_bad_input() -> None:
    with pytest.raises(InputError, match="leave date"):
        CohortData.from_records([Membership("a", "X", JOIN, JOIN - DAY)], [])
    with pytest.raises(InputError, match="custody end"):
        CohortData.from_records([], [], [Custody("a", JOIN, JOIN - DAY)])
    data, as_of = seed002_cohort()
    with pytest.raises(InputError, match="min_days"):
        cohort_measures(data, as_of=as_of, min_days=0)
    with pytest.raises(InputError, match="top N"):
        cohort_measures(data, as_of=as_of, top_n=0)
    with pytest.raises(InputError, match="no cohort member joined"):
        cohort_measures(data, as_of=JOIN - DAY)
    with pytest.raises(InputError, match="Non-statutory, Statutory"):
        cohort_measures(data, as_of=as_of, comparison_cohort="Nope")
    with pytest.raises(InputError, match="threshold"):
        suppress_small_cohorts(cohort_measures(data, as_of=as_of), 0)
    with pytest.raises(InputError, match="months observed"):
        projection("x", 1, 10, 5, 0)


# --------------------------------------------------------------------------- brute-force twin


def brute(members: list[Membership], custody: list[Custody], offences: list[Offence],
          as_of: date, min_days: int) -> tuple[int, int, int, int, int, int]:
    """Members, offences before/after, community days before/after and offences on custody
    days in either window (members in the rates only), day by day."""
    first: dict[str, Membership] = {}
    for m in sorted(members, key=lambda m: (m.offender, m.join_date)):
        if m.join_date <= as_of:
            first.setdefault(m.offender, m)
    tot = [0, 0, 0, 0, 0, 0]
    for off, m in first.items():
        jail: set[date] = set()
        for c in custody:
            if c.offender == off:
                end = c.end_date - DAY if c.end_date else as_of
                d = c.start_date + DAY
                while d <= end:
                    jail.add(d)
                    d += DAY
        before = [m.join_date - k * DAY for k in range(1, 366)]
        last = min(m.leave_date or as_of, as_of)
        after = [m.join_date + k * DAY for k in range((last - m.join_date).days + 1)]
        free_b = {d for d in before if d not in jail}
        free_a = {d for d in after if d not in jail}
        if len(free_b) < min_days or len(free_a) < min_days:
            continue
        tot[0] += 1
        tot[1] += sum(1 for o in offences if o.offender == off and o.offence_date in free_b)
        tot[2] += sum(1 for o in offences if o.offender == off and o.offence_date in free_a)
        tot[3] += len(free_b)
        tot[4] += len(free_a)
        windows = set(before) | set(after)
        tot[5] += sum(1 for o in offences if o.offender == off
                      and o.offence_date in windows and o.offence_date in jail)
    return tot[0], tot[1], tot[2], tot[3], tot[4], tot[5]


BASE = date(2022, 1, 1)
people = st.sampled_from(["p1", "p2", "p3", "p4"])
day_offsets = st.integers(-500, 500)


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[Membership], list[Custody], list[Offence], date,
                                      int]:
    members = []
    for p in draw(st.lists(people, min_size=1, max_size=6)):
        j = BASE + draw(st.integers(-300, 200)) * DAY
        stay = draw(st.one_of(st.none(), st.integers(0, 400)))
        members.append(Membership(p, draw(st.sampled_from(["A", "B"])), j,
                                  None if stay is None else j + stay * DAY))
    custody = []
    for p in draw(st.lists(people, max_size=4)):
        s = BASE + draw(day_offsets) * DAY
        length = draw(st.one_of(st.none(), st.integers(0, 120)))
        custody.append(Custody(p, s, None if length is None else s + length * DAY))
    offences = [Offence(p, BASE + d * DAY, draw(st.sampled_from(["T", "U"])),
                        draw(st.booleans()))
                for p, d in draw(st.lists(st.tuples(people, day_offsets), max_size=40))]
    as_of = BASE + draw(st.integers(0, 500)) * DAY
    return members, custody, offences, as_of, draw(st.integers(1, 120))


@settings(max_examples=120, deadline=None)
@given(cohorts())
def test_matches_brute_force_twin(case: tuple[list[Membership], list[Custody],
                                              list[Offence], date, int]) -> None:
    members, custody, offences, as_of, min_days = case
    data = CohortData.from_records(members, offences, custody)
    if not any(m.join_date <= as_of for m in members):
        with pytest.raises(InputError):
            cohort_measures(data, as_of=as_of, min_days=min_days)
        return
    r = cohort_measures(data, as_of=as_of, min_days=min_days)
    n, ob, oa, db, da, oc = brute(members, custody, offences, as_of, min_days)
    o = r.overall
    assert (o.members, o.offences_before, o.offences_after) == (n, ob, oa)
    assert r.offences_in_custody == oc
    assert o.years_before * 365 == pytest.approx(db)
    assert o.years_after * 365 == pytest.approx(da)
    # Invariants.
    assert sum(g.members for g in r.by_cohort.values()) == o.members
    assert sum(g.offences_after for g in r.by_cohort.values()) == o.offences_after
    assert r.ho_recordable.offences_before <= o.offences_before
    assert r.ho_recordable.offences_after <= o.offences_after
    assert sum(t.offences_before for t in r.by_type) == o.offences_before
    if o.rate_before and o.rate_after is not None:
        assert o.reduction_pct == pytest.approx(100 * (1 - o.rate_after / o.rate_before))
    # Disclosure control: no small group shown, and none recoverable from the total.
    k = 3
    s = suppress_small_cohorts(r, k)
    hidden = [v for v in s.by_cohort if v in s.suppressed]
    shown = [v for v in s.by_cohort if v not in s.suppressed]
    assert all((s.by_cohort[v] is None) == (v in s.suppressed) for v in s.by_cohort)
    if "All members" in s.suppressed:
        assert 0 < o.members < k and s.overall is None
    else:
        assert all(r.by_cohort[v].members == 0 or r.by_cohort[v].members >= k for v in shown)
        if hidden:
            assert len(hidden) >= 2 and sum(r.by_cohort[v].members for v in hidden) >= k


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=30), st.integers(1, 40))
def test_concentration_invariants(per_offender: list[int], top: int) -> None:
    offs = [Offence(f"o{i}", BASE + (j % 300) * DAY, "T", True)
            for i, n in enumerate(per_offender) for j in range(n)]
    data = CohortData.from_records([Membership("o0", "A", BASE)], offs)
    k = concentration(data, as_of=BASE + 364 * DAY, top_n=top)
    ranked = sorted(per_offender, reverse=True)
    assert k.top_offences == sum(ranked[:top])
    assert k.offences == sum(per_offender)
    assert sum(ranked[:k.offenders_for_half]) * 2 >= k.offences
    assert sum(ranked[:k.offenders_for_half - 1]) * 2 < k.offences
    assert np.isclose(k.share_pct or 0, 100 * sum(ranked[:top]) / sum(per_offender))
