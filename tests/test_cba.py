"""Cost-benefit model: Green Book discounting, additionality, payback and switching values
against hand computations, and the seed's outline business case tables to the pound."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from saferboard.core.errors import InputError
from saferboard.core.reference import read_deflator
from saferboard.measures.cba import (
    Additionality,
    CbaModel,
    CostLine,
    Outcome,
    SavingLine,
    UnitCost,
    appraise_cba,
    combine,
    discount_factor,
    net_of_additionality,
    present_value,
    rebase,
    sensitivity,
    switching_value,
    with_assumption,
)
from saferboard.sources.cba_model import load_model, load_unit_costs
from tests.conftest import EXAMPLES, run_cli

CBA = EXAMPLES / "cba"

# The seed's tables (seed 003: OBC sections 5.1-5.4 and Table 1):
# partner -> (gross saving, operating cost, annual impact, set-up costs, year-1 impact)
SEED = {
    "neighbourhood_justice_panels": {
        "Police": (163946, 0, 163946, 0, 163946), "CPS": (10625, 0, 10625, 0, 10625),
        "Probation": (5636, -1625, 4011, 0, 4011), "Court": (16320, 0, 16320, 0, 16320),
        "Council": (0, -32500, -32500, -25150, -57650),
        "Total": (196527, -34125, 162402, -25150, 137252)},
    "community_coaches": {
        "Police": (55429, 0, 55429, 0, 55429), "CPS": (4500, 0, 4500, 0, 4500),
        "Probation": (10602, 0, 10602, 0, 10602), "Court": (6912, 0, 6912, 0, 6912),
        "Council": (0, -75000, -75000, -43300, -118300),
        "Total": (77443, -75000, 2443, -43300, -40857)},
    "conditional_cautions": {
        "Police": (49440, -98400, -48960, -38100, -87060), "CPS": (110000, 0, 110000, 0, 110000),
        "Probation": (143880, 0, 143880, 0, 143880), "Court": (168960, 0, 168960, 0, 168960),
        "Council": (0, 0, 0, -9100, -9100),
        "Total": (472280, -98400, 373880, -47200, 326680)},
    "enhanced_iom": {
        "Police": (29942, 0, 29942, 0, 29942), "CPS": (0, 0, 0, 0, 0),
        "Probation": (3609, -15689, -12080, 0, -12080), "Court": (0, 0, 0, 0, 0),
        "Prison": (15623, 0, 15623, 0, 15623), "Council": (0, 0, 0, -11667, -11667),
        "Total": (49174, -15689, 33485, -11667, 21818)},
}
TABLE_1 = {
    "Police": (298757, -98400, 200357, -38100, 162257),
    "CPS": (125125, 0, 125125, 0, 125125),
    "Probation": (163727, -17314, 146413, 0, 146413),
    "Court": (192192, 0, 192192, 0, 192192),
    "Prison": (15623, 0, 15623, 0, 15623),
    "Council": (0, -107500, -107500, -89217, -196717),
    "Total": (795424, -223214, 572210, -127317, 444893),
}


def pounds(line: object) -> tuple[int, ...]:
    return tuple(round(getattr(line, f)) for f in (
        "gross_saving", "operating_cost", "annual_impact", "setup_cost", "year1_impact"))


def test_green_book_discounting() -> None:
    assert round(discount_factor(1), 6) == 0.966184
    assert discount_factor(0) == 1.0
    assert round(present_value([100_000] * 5, first_year=1)) == 451_505
    # Years 31 on are discounted at 3.0% on top of 30 years at 3.5%.
    assert discount_factor(31) == pytest.approx(1.035 ** -30 / 1.03, rel=1e-12)
    assert discount_factor(40) == pytest.approx(1.035 ** -30 * 1.03 ** -10, rel=1e-12)


def test_additionality() -> None:
    a = Additionality(deadweight=0.2, displacement=0.25, leakage=0.1)
    assert net_of_additionality(100, a) == pytest.approx(54)
    assert net_of_additionality(100, Additionality(attribution=0.5)) == pytest.approx(50)


def test_rebase_with_the_shipped_deflator() -> None:
    deflator = read_deflator()
    index = dict(deflator)
    assert index["2019/20"] == 100.0  # the file's 2019-20, in the one spelling
    assert rebase(1000, "2014/15", "2012/13", deflator) == pytest.approx(
        1000 * index["2012/13"] / index["2014/15"])
    with pytest.raises(ValueError, match="no GDP deflator for 1990/91"):
        rebase(1, "1990/91", "2012/13", deflator)


def _payback_model(benefit: float = 40_000, setup: float = 100_000) -> CbaModel:
    return CbaModel(name="hand", partners=("Police", "Council"), price_year="2012-13",
                    horizon=5, cohort=0,
                    savings=(SavingLine("Police", benefit),),
                    costs=(CostLine("Council", "setup", setup),))


def test_npv_payback_and_switching_values_by_hand() -> None:
    r = appraise_cba(_payback_model())
    pv = [40_000 / 1.035 ** t for t in range(1, 6)]
    assert r.pv_costs == pytest.approx(100_000)
    assert r.pv_benefits == pytest.approx(sum(pv))
    assert r.fiscal_npv == pytest.approx(sum(pv) - 100_000)
    assert r.bcr == pytest.approx(sum(pv) / 100_000)
    assert r.roi == pytest.approx((sum(pv) - 100_000) / 100_000)
    # Cumulative discounted: -100,000; -61,353; -24,012; +12,065 -> payback in year 3.
    assert -100_000 + sum(pv[:2]) < 0 <= -100_000 + sum(pv[:3])
    assert r.payback_year == 3
    annuity = sum(1 / 1.035 ** t for t in range(1, 6))  # 4.515051
    s = {row.key: row for row in sensitivity(_payback_model()).rows}
    assert s["savings.0.amount"].switching_value == pytest.approx(100_000 / annuity)
    assert round(100_000 / annuity) == 22_148
    assert s["costs.0.amount"].switching_value == pytest.approx(40_000 * annuity)
    assert round(40_000 * annuity) == 180_602
    # Attribution: NPV = 40,000 x a x annuity - 100,000 = 0 at a = 100,000 / (40,000 x annuity).
    assert s["additionality.attribution"].switching_value == pytest.approx(
        100_000 / (40_000 * annuity))
    # One-way range: +-20% of the benefit line.
    assert s["savings.0.amount"].npv_low == pytest.approx(0.8 * sum(pv) - 100_000)
    assert s["savings.0.amount"].npv_high == pytest.approx(1.2 * sum(pv) - 100_000)


def test_never_pays_back_and_no_switching_value() -> None:
    r = appraise_cba(_payback_model(benefit=10_000))
    assert r.payback_year is None
    s = {row.key: row for row in sensitivity(_payback_model(benefit=10_000)).rows}
    assert s["additionality.deadweight"].switching_value is None
    assert "negative" in s["additionality.deadweight"].note


def _outcome_model(**changes: object) -> CbaModel:
    base = CbaModel(
        name="outcomes", partners=("Police", "Court"), price_year="2012-13", horizon=2,
        cohort=200, engagement=0.5,
        outcomes=(Outcome("re-offence", "u", baseline_rate=0.5, intervention_rate=0.4),),
        unit_costs=(UnitCost("u", 1000, "2012-13", (("Police", 0.75), ("Court", 0.25)), "t"),),
        costs=(CostLine("Police", "setup", 10_000),),
    )
    return with_assumption(base, *changes.popitem()) if changes else base  # type: ignore[arg-type]


def test_outcome_lines_cohort_and_switching_by_hand() -> None:
    m = _outcome_model()
    r = appraise_cba(m)
    # 200 x 0.5 engaged x (0.5 - 0.4) = 10 re-offences avoided a year x 1,000.
    police, court = r.partners
    assert police.gross_saving == pytest.approx(7_500)
    assert court.gross_saving == pytest.approx(2_500)
    two_years = 1 / 1.035 + 1 / 1.035 ** 2
    assert r.fiscal_npv == pytest.approx(10_000 * two_years - 10_000)
    # NPV = 200 x 0.5 x 0.1 x 1000 / 200 x c x two_years - 10,000 = 0 at c = 10,000 / (50 x ...)
    rows = {row.key: row for row in sensitivity(m).rows}
    assert rows["cohort.size"].switching_value == pytest.approx(10_000 / (50 * two_years))
    assert rows["outcomes.0.intervention_rate"].switching_value == pytest.approx(
        0.5 - 10_000 / (100_000 * two_years))
    # Lag and drop-off: no benefit in year 1 with a lag of 1; 10% less each later year.
    lagged = appraise_cba(CbaModel(**{**m.__dict__, "lag": 1, "horizon": 3, "drop_off": 0.1}))
    total = [f for f in lagged.flows if f.partner == "Total"]
    assert [round(f.benefit) for f in total] == [0, 0, 10_000, 9_000]


def test_optimism_bias_and_cashable() -> None:
    m = CbaModel(name="ob", partners=("Police", "Council"), price_year="2012-13", horizon=1,
                 cohort=0,
                 savings=(SavingLine("Police", 1000, cashable=True, optimism_bias=0.25),
                          SavingLine("Police", 500, fiscal=False)),
                 costs=(CostLine("Council", "operating", 100, optimism_bias=0.1),))
    r = appraise_cba(m)
    police, council = r.partners
    assert police.gross_saving == 1500
    assert police.net_saving == pytest.approx(1250)
    assert police.cashable_saving == pytest.approx(750)
    assert police.fiscal_saving == pytest.approx(750)
    assert council.operating_cost == pytest.approx(-110)
    assert r.pv_fiscal_benefits == pytest.approx(750 / 1.035)
    assert r.pv_cashable_benefits == pytest.approx(750 / 1.035)
    assert r.fiscal_npv == pytest.approx((750 - 110) / 1.035)
    assert r.public_value_npv == pytest.approx((1250 - 110) / 1.035)


@pytest.mark.parametrize("name", sorted(SEED))
def test_seed_interventions_to_the_pound(name: str) -> None:
    r = appraise_cba(load_model(CBA / f"{name}.toml"))
    got = {line.partner: pounds(line) for line in (*r.partners, r.total)}
    assert got == SEED[name]


def test_seed_table_1_all_four_together() -> None:
    results = [appraise_cba(load_model(p)) for p in sorted(CBA.glob("*.toml"))]
    assert len(results) == 4
    got = {line.partner: pounds(line) for line in combine(results)}
    assert got == TABLE_1
    assert list(got) == list(TABLE_1)


def test_conditional_cautions_from_stated_assumptions() -> None:
    """Cohort 200, 50% sentenced, re-offending 50% -> 40%, with the implied unit costs."""
    m = load_model(CBA / "assumptions" / "conditional_cautions_from_assumptions.toml")
    r = appraise_cba(m)
    got = {line.partner: pounds(line) for line in (*r.partners, r.total)}
    assert got == SEED["conditional_cautions"]
    units = load_unit_costs()
    # The implied unit costs, worked by hand: CPS 110,000 / (200 + 20) cases, court
    # 168,960 / 220, probation 143,880 / (100 + 10) sentences, police 49,440 / 20 re-offences.
    assert units["obc_cps_prosecution"].value == 110_000 / 220
    assert units["obc_court_case"].value == 168_960 / 220
    assert units["obc_community_sentence"].value == 143_880 / 110
    assert units["obc_reoffence_police"].value == 49_440 / 20


def test_shipped_unit_costs_are_documented() -> None:
    units = load_unit_costs()
    assert len(units) >= 8
    for u in units.values():
        assert u.source and u.price_year and u.unit
        assert math.isclose(sum(s for _, s in u.split), 1.0)


def test_switching_value_nonlinear_uses_brent() -> None:
    def f(x: float) -> float:
        return 1 - 4 * x * x  # zero at 0.5 in [0, 1]

    assert switching_value(f, 0.1, (0.0, 1.0)) == pytest.approx(0.5)


BAD = [
    ("savings", '[[savings]]\namount = 5\n', "key 'savings[0].partner': missing partner"),
    ("unlisted", '[[savings]]\npartner = "NHS"\namount = 5\n',
     "key 'savings[0].partner': 'NHS' is not in intervention.partners"),
    ("cohort", '[cohort]\nsize = -5\n[[outcomes]]\nname = "x"\nunit_cost = "ne_arrest"\n'
     'baseline_rate = 0.5\nintervention_rate = 0.4\n',
     "key 'cohort.size': must be 0 or more (a cohort cannot be negative), got -5"),
    ("unit", '[cohort]\nsize = 5\n[[outcomes]]\nname = "x"\nunit_cost = "nope"\n'
     'baseline_rate = 0.5\nintervention_rate = 0.4\n',
     "key 'outcomes[0].unit_cost': unknown unit cost 'nope'"),
    ("rate", '[cohort]\nsize = 5\n[[outcomes]]\nname = "x"\nunit_cost = "ne_arrest"\n'
     'baseline_rate = 1.5\nintervention_rate = 0.4\n',
     "key 'outcomes[0].baseline_rate': must be 1 or less (a rate between 0 and 1), got 1.5"),
    ("typo", '[additionality]\ndeadwieght = 0.1\n', "key 'additionality.deadwieght': unknown"),
    ("kind", '[[costs]]\npartner = "Police"\nkind = "capital"\namount = 1\n',
     "key 'costs[0].kind': must be 'operating' or 'setup'"),
    ("split", '[unit_costs.x]\nvalue = 1.0\nprice_year = "2012-13"\nsplit = { Prison = 1.0 }\n'
     'source = "s"\n', "key 'unit_costs.x.split.Prison': partner not in intervention.partners"),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_model_files_name_file_key_and_reason(tmp_path: Path, case: str, body: str,
                                                  message: str) -> None:
    path = tmp_path / f"{case}.toml"
    path.write_text('[intervention]\nname = "x"\npartners = ["Police"]\n'
                    'price_year = "2012-13"\n' + body, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_model(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_missing_partners_list(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[intervention]\nname = "x"\nprice_year = "2012-13"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"key 'intervention.partners': missing"):
        load_model(path)


def test_cli_cba_table_json_and_error(tmp_path: Path) -> None:
    files = sorted(CBA.glob("*.toml"))
    r = run_cli("cba", *files, "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    total = doc["combined"][-1]
    assert total["partner"] == "Total"
    assert round(total["annual_impact"]) == 572_210
    assert round(total["year1_impact"]) == 444_893
    r = run_cli("cba", CBA / "conditional_cautions.toml")
    assert r.code == 0, r.stderr
    assert "(£98,400)" in r.stdout and "£326,680" in r.stdout
    out = tmp_path / "cba.xlsx"
    r = run_cli("cba", *files, "--format", "xlsx", "--out", out)
    assert r.code == 0, r.stderr
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert "All" in wb.sheetnames
    bad = tmp_path / "bad.toml"
    bad.write_text('[intervention]\nname = "x"\npartners = ["Police"]\nprice_year = "2012-13"\n'
                   '[cohort]\nsize = -1\n', encoding="utf-8")
    r = run_cli("cba", bad)
    assert r.code == 1
    assert r.stderr.strip().startswith(f"error: {bad}: key 'cohort.size'")


def test_part_year_operating_costs() -> None:
    """NJP's project budget: 16,250 in 2013/14 (go-live October), 32,500 in 2014/15, 16,250 in
    2015/16. The table shows a full year (32,500); the flows follow the budget."""
    m = CbaModel(name="njp", partners=("Council",), price_year="2012-13", horizon=3, cohort=0,
                 costs=(CostLine("Council", "operating", 16_250, years=(1, 3)),
                        CostLine("Council", "operating", 32_500, years=(2,)),
                        CostLine("Council", "setup", 25_150)))
    r = appraise_cba(m)
    assert (r.total.operating_cost, r.total.setup_cost) == (-32_500, -25_150)
    total = [f for f in r.flows if f.partner == "Total"]
    assert [f.operating_cost for f in total] == [0, -16_250, -32_500, -16_250]
    assert r.pv_costs == pytest.approx(25_150 + 16_250 / 1.035 + 32_500 / 1.035 ** 2
                                       + 16_250 / 1.035 ** 3)


def test_shipped_unit_cost_rebased_to_the_model_price_year(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[intervention]\nname = "x"\npartners = ["Police"]\nprice_year = "2012-13"\n'
                    '[cohort]\nsize = 100\n[[outcomes]]\nname = "arrests avoided"\n'
                    'unit_cost = "ne_arrest"\nbaseline_rate = 0.5\nintervention_rate = 0.3\n',
                    encoding="utf-8")
    r = appraise_cba(load_model(path))
    index = dict(read_deflator())
    unit = load_unit_costs()["ne_arrest"]
    assert unit.price_year == "2014/15"  # written 2014-15 in the shipped file
    expected = 100 * (0.5 - 0.3) * unit.value * index["2012/13"] / index["2014/15"]
    assert r.total.gross_saving == pytest.approx(expected)
    path.write_text(path.read_text().replace('"2012-13"', '"1999-00"'), encoding="utf-8")
    with pytest.raises(InputError, match=r"key 'intervention.price_year': cannot rebase unit "
                       r"cost 'ne_arrest' from 2014/15 to 1999/00: no GDP deflator for 1999/00"):
        load_model(path)
