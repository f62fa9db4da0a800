"""Case register measures: threshold, review dates, yearly Case Review figures, risk scores.
Answers are known by construction (docs/cases.md has the definitions)."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest

from saferboard.core.errors import InputError
from saferboard.core.riskmatrix import load_matrix
from saferboard.measures import cases as mc
from tests.casedata import PUBLISHED


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_add_months_clamps_to_month_end():
    assert mc.add_months(d("2024-08-31"), -6) == d("2024-02-29")
    assert mc.add_months(d("2023-08-31"), -6) == d("2023-02-28")
    assert mc.add_months(d("2024-01-15"), -12 * 6) == d("2018-01-15")


def test_threshold_exactly_three_incidents():
    received = d("2024-07-15")
    three = [d("2024-01-16"), d("2024-04-01"), d("2024-07-15")]
    assert mc.threshold_met(three, received)
    assert not mc.threshold_met(three[:2], received)
    # a partnership may lower the threshold ...
    assert mc.threshold_met(three[:2], received, min_incidents=2)


def test_threshold_six_month_boundary():
    received = d("2024-07-15")
    assert mc.threshold_window(received) == (d("2024-01-16"), d("2024-07-15"))
    inside = [d("2024-01-16"), d("2024-03-01"), d("2024-05-01")]
    assert mc.threshold_met(inside, received)
    # the same day six months earlier is one day too early
    assert not mc.threshold_met([d("2024-01-15"), *inside[1:]], received)
    # an incident after the date received never counts
    assert not mc.threshold_met([d("2024-07-16"), *inside[1:]], received)
    # month-end clamping: received 31 August 2024 -> window from 1 March
    assert mc.threshold_window(d("2024-08-31"))[0] == d("2024-03-01")


def test_threshold_never_above_three():
    with pytest.raises(ValueError, match="1 to 3"):
        mc.threshold_met([], d("2024-01-01"), min_incidents=4)


@pytest.mark.parametrize(("level", "days"), [("high", 7), ("medium", 14), ("standard", 28)])
def test_review_due_at_each_level(level, days):
    intervals = load_matrix().review_days
    opened = d("2024-03-01")
    no_review = mc.CaseFacts("C1", opened, None, level, None)
    assert mc.next_review(no_review, intervals) == d(f"2024-03-{1 + days:02d}")
    reviewed = mc.CaseFacts("C1", opened, None, level, d("2024-04-01"))
    assert mc.next_review(reviewed, intervals) == d(f"2024-04-{1 + days:02d}")
    due_day = d(f"2024-04-{1 + days:02d}")
    assert mc.due_reviews([reviewed], due_day, intervals)[0].overdue_days == 0
    assert mc.due_reviews([reviewed], d("2024-04-30"), intervals)[0].overdue_days \
        == 29 - days
    assert mc.due_reviews([reviewed], due_day - timedelta(days=1), intervals) == ()


def test_due_skips_closed_and_not_yet_opened_cases():
    intervals = {"high": 7, "medium": 14, "standard": 28}
    cases = [mc.CaseFacts("OPEN", d("2024-01-01"), None, "high", None),
             mc.CaseFacts("CLOSED", d("2024-01-01"), d("2024-01-05"), "high", None),
             mc.CaseFacts("LATER", d("2024-03-01"), None, "high", None)]
    due = mc.due_reviews(cases, d("2024-02-01"), intervals)
    assert [(x.case_ref, x.due, x.overdue_days) for x in due] == [("OPEN", d("2024-01-08"), 24)]


def test_configured_intervals(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text("[review_days]\nhigh = 3\nmedium = 10\nstandard = 20\n")
    m = load_matrix(f)
    assert m.review_days == {"standard": 20, "medium": 10, "high": 3}
    assert len(m.questions) == len(load_matrix().questions)  # other tables kept


def test_matrix_refuses_threshold_above_three(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text("[case_review]\nmin_incidents = 4\nmonths = 6\n")
    with pytest.raises(InputError, match="at most 3"):
        load_matrix(f)


def test_risk_score_levels():
    m = load_matrix()
    qs = {q.id: q for q in m.questions}
    no = {q: False for q in qs}
    assert mc.score_answers(m.questions, no, medium=m.medium, high=m.high) \
        == mc.RiskScore(0, "standard", ())
    # repeat (4) + targeted (4) = 8 = the medium threshold
    medium = {**no, "repeat": True, "targeted": True}
    assert mc.score_answers(m.questions, medium, medium=m.medium, high=m.high).level == "medium"
    # + hate 4 + violence 4 = 16 = high
    high = {**medium, "hate": True, "violence": True}
    assert mc.score_answers(m.questions, high, medium=m.medium, high=m.high).score == 16
    assert mc.score_answers(m.questions, high, medium=m.medium, high=m.high).level == "high"
    # an escalating question alone makes it high
    alone = mc.score_answers(m.questions, {**no, "unsafe_home": True}, medium=m.medium,
                             high=m.high)
    assert (alone.score, alone.level, alone.escalated_by) == (4, "high", ("unsafe_home",))
    with pytest.raises(ValueError, match="unanswered"):
        mc.score_answers(m.questions, {"repeat": True}, medium=m.medium, high=m.high)


def app(ref: str, received: str, incidents: list[str], review: str | None = None,
        recs: bool | None = None) -> mc.Application:
    return mc.Application(ref, "C" + ref, d(received), d(review) if review else None, recs,
                          tuple(d(x) for x in incidents))


def test_yearly_figures_by_financial_year_received():
    three = ["2024-01-10", "2024-02-10", "2024-03-10"]
    apps = [
        app("A1", "2024-03-31", three, "2024-04-20", True),  # 2023/24 although reviewed in 24/25
        app("A2", "2024-04-01", three, "2024-04-30", True),  # 2024/25, met, recommendations
        app("A3", "2024-06-01", three[:2], "2024-06-20", False),  # not met, reviewed anyway
        app("A4", "2025-03-31", ["2025-03-01", "2025-03-02", "2025-03-03"]),  # pending
        app("A5", "2025-04-01", three),  # 2025/26
    ]
    y = mc.case_review_year(apps, "2024/25")
    assert (y.applications, y.threshold_not_met, y.reviews_carried_out,
            y.reviews_with_recommendations) == (3, 1, 2, 1)
    assert mc.case_review_year(apps, "2023/24").applications == 1
    assert mc.case_review_year(apps, "2024/25", min_incidents=2).threshold_not_met == 0
    assert mc.financial_year_of(d("2025-03-31")) == "2024/25"
    with pytest.raises(ValueError, match="2024/25"):
        mc.financial_year("2024/26")


def _published() -> list[dict[str, str]]:
    with PUBLISHED.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.skipif(not PUBLISHED.exists(), reason="shared data not present")
def test_published_tables_reproduced_by_construction():
    """Every council row of the transcribed published tables (Stafford, Newcastle-under-Lyme,
    Reigate and Banstead) is reproduced by applications built to have those figures: the four
    figures are independent enough that each row, even the odd ones, is a possible year."""
    rows = _published()
    assert len(rows) == 13
    for r in rows:
        n, k, rv, rc = (int(r[c]) for c in ("applications_received", "threshold_not_met",
                                             "reviews_carried_out",
                                             "reviews_with_recommendations"))
        start = int(r["year"][:4])
        apps = [app(f"{r['lad_code']}{i}", f"{start}-10-01",
                    ["2020-01-01"] if i < k else [f"{start}-09-0{j}" for j in (1, 2, 3)],
                    f"{start}-11-01" if i < rv else None,
                    (i < rc) if i < rv else None) for i in range(n)]
        y = mc.case_review_year(apps, r["year"])
        assert (y.applications, y.threshold_not_met, y.reviews_carried_out,
                y.reviews_with_recommendations) == (n, k, rv, rc), r["council"]


def test_agenda():
    intervals = {"high": 7, "medium": 14, "standard": 28}
    cases = [mc.CaseFacts("NEWHIGH", d("2024-05-10"), None, "high", None),
             mc.CaseFacts("OLDHIGH", d("2024-01-01"), None, "high", d("2024-05-01")),
             mc.CaseFacts("MED", d("2024-05-01"), None, "medium", None),
             mc.CaseFacts("SHUT", d("2024-01-01"), d("2024-02-01"), "high", None)]
    apps = [app("P1", "2024-05-01", ["2024-04-01", "2024-04-02", "2024-04-03"]),
            app("P2", "2024-05-02", [], "2024-05-10", False)]
    a = mc.agenda(cases, apps, d("2024-05-15"), intervals)
    assert [x.case_ref for x in a.due] == ["OLDHIGH", "MED"]  # due 05-08 and 05-15
    assert [c.case_ref for c in a.new_high_risk] == ["NEWHIGH"]
    assert [(o.application_ref, o.threshold_met, o.days_open) for o in a.open_applications] \
        == [("P1", True, 14)]
    assert a.open_by_level == {"standard": 0, "medium": 1, "high": 2}


def test_retention_cutoff():
    assert mc.retention_cutoff(d("2031-01-01"), 6) == d("2025-01-01")
