"""Invariants of the cost-benefit model on random models (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard.measures.cba import (
    Additionality,
    CbaModel,
    CostLine,
    Outcome,
    UnitCost,
    appraise_cba,
    sensitivity,
    with_assumption,
)

money = st.floats(min_value=100, max_value=500_000, allow_nan=False)
rate = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def models(draw: st.DrawFn) -> CbaModel:
    base = draw(rate)
    return CbaModel(
        name="random", partners=("Police", "Court", "Council"), price_year="2012-13",
        horizon=draw(st.integers(1, 40)), cohort=draw(st.floats(1, 1000)),
        engagement=draw(st.floats(0.1, 1)),
        additionality=Additionality(draw(st.floats(0, 0.5)), draw(st.floats(0.5, 1)),
                                    draw(st.floats(0, 0.5)), draw(st.floats(0, 0.5))),
        lag=draw(st.integers(0, 2)), drop_off=draw(st.floats(0, 0.5)),
        outcomes=(Outcome("o", "u", base, draw(st.floats(0, 1)) * base),),
        unit_costs=(UnitCost("u", draw(money), "2012-13",
                             (("Police", 0.6), ("Court", 0.4)), "test"),),
        costs=(CostLine("Council", "setup", draw(money)),
               CostLine("Council", "operating", draw(money))),
    )


@settings(max_examples=40, deadline=None)
@given(models())
def test_switching_values_zero_the_npv(model: CbaModel) -> None:
    base = appraise_cba(model)
    scale = base.pv_benefits + base.pv_costs  # money at stake: the tolerance is relative to it
    for row in sensitivity(model).rows:
        if row.switching_value is None:
            continue
        npv = appraise_cba(with_assumption(model, row.key, row.switching_value)).fiscal_npv
        assert npv == pytest.approx(0, abs=1e-7 * scale + 1e-6), row.key


@settings(max_examples=40, deadline=None)
@given(models(), st.floats(0.1, 10))
def test_benefits_scale_with_the_cohort_and_totals_add_up(model: CbaModel, k: float) -> None:
    r = appraise_cba(model)
    scaled = appraise_cba(with_assumption(model, "cohort.size", model.cohort * k))
    assert scaled.pv_benefits == pytest.approx(r.pv_benefits * k, rel=1e-9, abs=1e-6)
    assert scaled.pv_costs == pytest.approx(r.pv_costs, rel=1e-12)
    assert r.total.gross_saving == pytest.approx(sum(p.gross_saving for p in r.partners))
    assert r.total.year1_impact == pytest.approx(r.total.annual_impact + r.total.setup_cost)
    flows = sum(f.present_value for f in r.flows if f.partner == "Total")
    assert flows == pytest.approx(r.public_value_npv, rel=1e-9, abs=1e-6)
