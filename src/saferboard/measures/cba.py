"""Intervention cost-benefit analysis by partner, after the HM Treasury Green Book and the
New Economy (GMCA Research) cost-benefit analysis method for local partnerships.

A model (see `saferboard.sources.cba_model` for the file format) gives, per intervention:
a cohort and engagement rate, outcome lines (baseline and with-intervention rate of an outcome,
valued with a unit cost that is split between the partners who bear it), or stated annual saving
lines per partner; operating and set-up cost lines per partner; additionality (deadweight,
attribution, displacement, leakage); lag and drop-off; optimism bias per line.

Everything here is a pure function of the model; results are frozen dataclasses. Money is in
pounds at the model's price year; costs are negative in the partner tables, as in the seed's
business case ("(£98,400)").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from saferboard.sources.cba_model import (
    Additionality,
    CbaModel,
    CostLine,
    Outcome,
    SavingLine,
    UnitCost,
)

__all__ = ["Additionality", "CbaModel", "CostLine", "Outcome", "SavingLine", "UnitCost"]

GREEN_BOOK_RATE = 0.035  # years 0-30
GREEN_BOOK_LONG_RATE = 0.030  # years 31-75
GREEN_BOOK_SWITCH_YEAR = 30

METHOD = (
    "Cost-benefit after the HM Treasury Green Book and the New Economy (GMCA) CBA method. "
    "Outcome saving = cohort x engagement x (baseline rate - with-intervention rate) x events "
    "per person x unit cost (rebased to the price year with the GDP deflator), shared between "
    "partners by the unit cost's split. Net saving = gross saving x (1 - deadweight) x "
    "(1 - displacement) x (1 - leakage) x attribution x (1 - optimism bias of the line). Costs "
    "are raised by their optimism bias. Annual impact = net saving - operating cost of a full "
    "year (the largest yearly operating cost); year-1 "
    "impact = annual impact - set-up costs. Benefits start after the lag and fall by the "
    "drop-off each later year. Set-up costs fall in year 0, operating costs and benefits in "
    "years 1 to the horizon. Discounting at 3.5% a year for years 0-30 and 3.0% after (Green "
    "Book). Fiscal NPV = present value of fiscal benefits - present value of costs; BCR = "
    "PV fiscal benefits / PV costs; ROI = fiscal NPV / PV costs; payback year = first year in "
    "which the cumulative discounted net flow is 0 or more."
)


# ---------------------------------------------------------------------------------------------
# Building blocks


def discount_factor(year: int) -> float:
    """Green Book discount factor: 3.5% a year for years 0-30, then 3.0%."""
    if year < 0:
        raise ValueError(f"year must be 0 or more, got {year}")
    if year <= GREEN_BOOK_SWITCH_YEAR:
        return float((1 + GREEN_BOOK_RATE) ** -year)
    return float((1 + GREEN_BOOK_RATE) ** -GREEN_BOOK_SWITCH_YEAR
                 * (1 + GREEN_BOOK_LONG_RATE) ** -(year - GREEN_BOOK_SWITCH_YEAR))


def present_value(flows: Sequence[float], first_year: int = 0) -> float:
    """Present value of `flows[i]` falling in year `first_year + i`."""
    return sum(v * discount_factor(first_year + i) for i, v in enumerate(flows))


def net_of_additionality(gross: float, additionality: Additionality) -> float:
    """Gross outcome less deadweight, displacement and leakage, times attribution."""
    return gross * additionality.factor


def rebase(value: float, from_year: str, to_year: str,
           deflator: Sequence[tuple[str, float]]) -> float:
    """`value` in `from_year` prices expressed in `to_year` prices with a GDP deflator."""
    if from_year == to_year:
        return value
    index = dict(deflator)
    missing = [y for y in (from_year, to_year) if y not in index]
    if missing:
        raise ValueError(f"no GDP deflator for {', '.join(missing)}; the series covers "
                         f"{min(index) if index else '-'} to {max(index) if index else '-'}")
    return value * index[to_year] / index[from_year]


def benefit_profile(year: int, lag: int, drop_off: float) -> float:
    """Share of the full annual benefit realised in `year` (years start at 1)."""
    if year <= lag:
        return 0.0
    return float((1 - drop_off) ** (year - lag - 1))


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class PartnerLine:
    """One row of the seed's table, for a partner or the total. Costs are negative."""

    partner: str
    gross_saving: float  # before additionality and optimism bias
    net_saving: float  # after additionality and optimism bias
    operating_cost: float  # a year, negative
    annual_impact: float  # net saving + operating cost
    setup_cost: float  # once, negative
    year1_impact: float  # annual impact + set-up cost
    cashable_saving: float  # part of net saving that is cashable
    fiscal_saving: float  # part of net saving that is fiscal


@dataclass(frozen=True)
class YearFlow:
    year: int  # 0 = set-up year
    partner: str
    benefit: float
    operating_cost: float  # negative
    setup_cost: float  # negative
    net: float
    discount_factor: float
    present_value: float


@dataclass(frozen=True)
class CbaResult:
    name: str
    price_year: str
    horizon: int
    partners: tuple[PartnerLine, ...]
    total: PartnerLine
    flows: tuple[YearFlow, ...]  # per partner and year, then 'Total' per year
    pv_benefits: float
    pv_fiscal_benefits: float
    pv_cashable_benefits: float
    pv_noncashable_benefits: float
    pv_costs: float  # positive
    fiscal_npv: float
    public_value_npv: float  # all benefits, fiscal or not
    bcr: float | None  # None when there are no costs
    roi: float | None
    payback_year: int | None  # None: not within the horizon
    additionality_factor: float
    method: str = METHOD


def _unit_cost_map(model: CbaModel) -> dict[str, UnitCost]:
    return {u.key: u for u in model.unit_costs}


def outcome_events(model: CbaModel, outcome: Outcome) -> float:
    """Events avoided a year: cohort x engagement x (baseline - with) x events per person."""
    return (model.cohort * model.engagement
            * (outcome.baseline_rate - outcome.intervention_rate) * outcome.per_person)


def _benefit_lines(model: CbaModel) -> list[tuple[str, float, bool, bool, float]]:
    """(partner, gross annual saving, cashable, fiscal, optimism bias) for every line."""
    units = _unit_cost_map(model)
    lines: list[tuple[str, float, bool, bool, float]] = []
    for o in model.outcomes:
        unit = units[o.unit_cost]
        value = rebase(unit.value, unit.price_year, model.price_year, model.deflator)
        events = outcome_events(model, o)
        for partner, share in unit.split:
            lines.append((partner, events * value * share, o.cashable, o.fiscal,
                          o.optimism_bias))
    for s in model.savings:
        lines.append((s.partner, s.amount, s.cashable, s.fiscal, s.optimism_bias))
    return lines


def _cost_years(line: CostLine, horizon: int) -> tuple[int, ...]:
    if line.years is not None:
        return line.years
    return (0,) if line.kind == "setup" else tuple(range(1, horizon + 1))


def _partner_line(partner: str, gross: float, net: float, operating: float, setup: float,
                  cashable: float, fiscal: float) -> PartnerLine:
    annual = net - operating
    return PartnerLine(partner, gross, net, -operating, annual, -setup, annual - setup,
                       cashable, fiscal)


def appraise_cba(model: CbaModel) -> CbaResult:
    """Partner table, yearly flows, present values, NPV, BCR, ROI and payback of a model."""
    factor = model.additionality.factor
    gross: dict[str, float] = dict.fromkeys(model.partners, 0.0)
    net = dict(gross)
    cashable = dict(gross)
    fiscal = dict(gross)
    for partner, amount, is_cashable, is_fiscal, bias in _benefit_lines(model):
        gross[partner] += amount
        value = amount * factor * (1 - bias)
        net[partner] += value
        if is_cashable:
            cashable[partner] += value
        if is_fiscal:
            fiscal[partner] += value
    by_year: dict[tuple[str, int], list[float]] = {}  # (partner, year) -> [operating, setup]
    for c in model.costs:
        amount = c.amount * (1 + c.optimism_bias)
        for y in _cost_years(c, model.horizon):
            cell = by_year.setdefault((c.partner, y), [0.0, 0.0])
            cell[1 if c.kind == "setup" else 0] += amount
    # The table's operating cost is a full year's (the partner's largest yearly operating cost,
    # so part years such as a mid-year go-live do not halve it); set-up is the total.
    operating = {p: max((v[0] for (q, _), v in by_year.items() if q == p), default=0.0)
                 for p in model.partners}
    setup = {p: sum(v[1] for (q, _), v in by_year.items() if q == p) for p in model.partners}
    rows = tuple(_partner_line(p, gross[p], net[p], operating[p], setup[p], cashable[p],
                               fiscal[p]) for p in model.partners)
    total = _partner_line("Total", sum(gross.values()), sum(net.values()),
                          sum(operating.values()), sum(setup.values()),
                          sum(cashable.values()), sum(fiscal.values()))
    last_year = max([model.horizon, *(y for _, y in by_year)])
    flows: list[YearFlow] = []
    totals: list[YearFlow] = []
    pv_benefits = pv_fiscal = pv_cash = pv_costs = 0.0
    cumulative = 0.0
    payback: int | None = None
    for year in range(last_year + 1):
        df = discount_factor(year)
        share = benefit_profile(year, model.lag, model.drop_off) if 1 <= year <= model.horizon \
            else 0.0
        t_benefit = t_op = t_setup = 0.0
        for p in model.partners:
            op, st = by_year.get((p, year), [0.0, 0.0])
            benefit = net[p] * share
            flow_net = benefit - op - st
            flows.append(YearFlow(year, p, benefit, -op, -st, flow_net, df, flow_net * df))
            t_benefit, t_op, t_setup = t_benefit + benefit, t_op + op, t_setup + st
            pv_fiscal += fiscal[p] * share * df
            pv_cash += cashable[p] * share * df
        t_net = t_benefit - t_op - t_setup
        totals.append(YearFlow(year, "Total", t_benefit, -t_op, -t_setup, t_net, df, t_net * df))
        pv_benefits += t_benefit * df
        pv_costs += (t_op + t_setup) * df
        cumulative += t_net * df
        if payback is None and cumulative >= 0 and (t_benefit or t_op or t_setup):
            payback = year
    fiscal_npv = pv_fiscal - pv_costs
    return CbaResult(
        name=model.name, price_year=model.price_year, horizon=model.horizon, partners=rows,
        total=total, flows=tuple(flows + totals), pv_benefits=pv_benefits,
        pv_fiscal_benefits=pv_fiscal, pv_cashable_benefits=pv_cash,
        pv_noncashable_benefits=pv_benefits - pv_cash, pv_costs=pv_costs,
        fiscal_npv=fiscal_npv, public_value_npv=pv_benefits - pv_costs,
        bcr=pv_fiscal / pv_costs if pv_costs else None,
        roi=fiscal_npv / pv_costs if pv_costs else None,
        payback_year=payback, additionality_factor=factor,
    )


# The order partners are listed in, as in the seed's Table 1; others follow as they appear.
PARTNER_ORDER = ("Police", "CPS", "Probation", "Court", "Prison", "Council", "Health")


def combine(results: Sequence[CbaResult]) -> tuple[PartnerLine, ...]:
    """The seed's Table 1: partner lines of several interventions added up, then the total."""
    order: list[str] = []
    sums: dict[str, list[float]] = {}
    for r in results:
        for line in r.partners:
            if line.partner not in sums:
                order.append(line.partner)
                sums[line.partner] = [0.0] * 8
            acc = sums[line.partner]
            for i, v in enumerate(_values(line)):
                acc[i] += v
    rank = {p: i for i, p in enumerate(PARTNER_ORDER)}
    first = {p: i for i, p in enumerate(order)}
    order.sort(key=lambda p: (rank.get(p, len(rank)), first[p]))
    rows = [PartnerLine(p, *sums[p]) for p in order]
    total = [sum(col) for col in zip(*(sums[p] for p in order), strict=True)] if order \
        else [0.0] * 8
    return (*rows, PartnerLine("Total", *total))


def _values(line: PartnerLine) -> tuple[float, ...]:
    return (line.gross_saving, line.net_saving, line.operating_cost, line.annual_impact,
            line.setup_cost, line.year1_impact, line.cashable_saving, line.fiscal_saving)


# ---------------------------------------------------------------------------------------------
# Sensitivity


@dataclass(frozen=True)
class Assumption:
    key: str  # e.g. 'cohort.size', 'outcomes.0.baseline_rate', 'costs.2.amount'
    label: str
    value: float
    low: float
    high: float
    bounds: tuple[float, float]  # values the assumption can take


@dataclass(frozen=True)
class SensitivityRow:
    key: str
    label: str
    value: float
    low: float
    high: float
    npv_low: float
    npv_high: float
    switching_value: float | None  # value at which fiscal NPV is 0; None if none in bounds
    note: str


@dataclass(frozen=True)
class Sensitivity:
    name: str
    fiscal_npv: float
    rows: tuple[SensitivityRow, ...]  # largest swing first


def _rate_range(value: float, step: float) -> tuple[float, float]:
    return max(0.0, value - step), min(1.0, value + step)


def _amount_range(value: float, relative: float) -> tuple[float, float]:
    return value * (1 - relative), value * (1 + relative)


def assumptions(model: CbaModel, *, relative: float = 0.2, rate_step: float = 0.1
                ) -> tuple[Assumption, ...]:
    """Every numeric assumption with a one-way range: amounts +-`relative`, rates
    +-`rate_step` (kept within 0-1)."""
    big = math.inf
    out: list[Assumption] = []

    def rate(key: str, label: str, value: float) -> None:
        out.append(Assumption(key, label, value, *_rate_range(value, rate_step), (0.0, 1.0)))

    def amount(key: str, label: str, value: float) -> None:
        out.append(Assumption(key, label, value, *_amount_range(value, relative), (0.0, big)))

    if model.outcomes:
        amount("cohort.size", "Cohort size", model.cohort)
        rate("cohort.engagement", "Engagement rate", model.engagement)
    a = model.additionality
    rate("additionality.deadweight", "Deadweight", a.deadweight)
    rate("additionality.attribution", "Attribution", a.attribution)
    rate("additionality.displacement", "Displacement", a.displacement)
    rate("additionality.leakage", "Leakage", a.leakage)
    if model.horizon > 1:
        rate("profile.drop_off", "Drop-off a year", model.drop_off)
    for i, o in enumerate(model.outcomes):
        rate(f"outcomes.{i}.baseline_rate", f"{o.name}: baseline rate", o.baseline_rate)
        rate(f"outcomes.{i}.intervention_rate", f"{o.name}: rate with intervention",
             o.intervention_rate)
    used = {o.unit_cost for o in model.outcomes}
    for u in model.unit_costs:
        if u.key in used:
            amount(f"unit_costs.{u.key}.value", f"Unit cost {u.key}", u.value)
    for i, s in enumerate(model.savings):
        amount(f"savings.{i}.amount", f"Saving {s.partner}: {s.label}".rstrip(": "), s.amount)
    for i, c in enumerate(model.costs):
        amount(f"costs.{i}.amount", f"{c.kind.capitalize()} cost {c.partner}: {c.label}"
               .rstrip(": "), c.amount)
    return tuple(out)


def with_assumption(model: CbaModel, key: str, value: float) -> CbaModel:
    """A copy of the model with one assumption (named as in `assumptions`) set to `value`."""
    parts = key.split(".")
    head = parts[0]
    if key == "cohort.size":
        return replace(model, cohort=value)
    if key == "cohort.engagement":
        return replace(model, engagement=value)
    if head == "additionality" and len(parts) == 2:
        return replace(model, additionality=replace(model.additionality, **{parts[1]: value}))
    if key == "profile.drop_off":
        return replace(model, drop_off=value)
    if head == "unit_costs" and len(parts) == 3:
        return replace(model, unit_costs=tuple(
            replace(u, value=value) if u.key == parts[1] else u for u in model.unit_costs))
    if head in ("outcomes", "savings", "costs") and len(parts) == 3:
        i = int(parts[1])
        change: dict[str, Any] = {parts[2]: value}
        if head == "outcomes":
            outs = list(model.outcomes)
            outs[i] = replace(outs[i], **change)
            return replace(model, outcomes=tuple(outs))
        if head == "savings":
            savs = list(model.savings)
            savs[i] = replace(savs[i], **change)
            return replace(model, savings=tuple(savs))
        costs = list(model.costs)
        costs[i] = replace(costs[i], **change)
        return replace(model, costs=tuple(costs))
    raise ValueError(f"unknown assumption {key!r}")


def switching_value(npv_of: Callable[[float], float], value: float,
                    bounds: tuple[float, float]) -> float | None:
    """The value at which `npv_of` crosses 0, searched within `bounds`.

    NPV is linear in almost every assumption, so the straight line through two evaluations
    gives the answer; it is checked, and Brent's method on the bounds is used otherwise."""
    lo, hi = bounds
    f0 = npv_of(value)
    if f0 == 0:
        return value
    step = max(abs(value) * 0.01, 1e-6)
    if value + step > hi:
        step = -step
    slope = (npv_of(value + step) - f0) / step
    if slope != 0:
        # The 1% step's two NPVs can nearly cancel (a tiny benefit against large costs), so
        # the first estimate carries their rounding; secant steps over the wider span to it
        # remove that. The best point found is kept.
        xa, fa = value, f0
        x = value - f0 / slope
        fx = npv_of(x)
        for _ in range(4):
            if fx == 0 or fx == fa:
                break
            xn = x - fx * (x - xa) / (fx - fa)
            fn = npv_of(xn)
            xa, fa = x, fx
            if abs(fn) >= abs(fx):
                break
            x, fx = xn, fn
        scale = max(1.0, abs(f0))
        # Close enough is a billionth of the NPV moved; looser (a millionth) only where
        # there is no bracket for Brent's method to search instead.
        if lo - 1e-9 <= x <= hi + 1e-9 and (
                abs(fx) <= 1e-9 * scale or (math.isinf(hi) and abs(fx) <= 1e-6 * scale)):
            return min(max(x, lo), hi)
    if math.isinf(hi):
        return None
    f_lo, f_hi = npv_of(lo), npv_of(hi)
    if f_lo == 0:
        return lo
    if f_hi == 0:
        return hi
    if (f_lo > 0) == (f_hi > 0):
        return None
    from scipy.optimize import brentq  # 0.3-0.6 s to import: only for a bracketed root

    return float(brentq(npv_of, lo, hi, xtol=1e-10))


def sensitivity(model: CbaModel, *, relative: float = 0.2, rate_step: float = 0.1
                ) -> Sensitivity:
    """One-way sensitivity of the fiscal NPV to each assumption, with switching values."""
    base = appraise_cba(model).fiscal_npv
    rows: list[SensitivityRow] = []
    for a in assumptions(model, relative=relative, rate_step=rate_step):
        def npv_of(x: float, key: str = a.key) -> float:
            return appraise_cba(with_assumption(model, key, x)).fiscal_npv

        low, high = npv_of(a.low), npv_of(a.high)
        sv = switching_value(npv_of, a.value, a.bounds)
        if sv is None:
            note = ("NPV stays " + ("positive" if base >= 0 else "negative")
                    + " whatever the value")
        elif a.value and a.bounds[1] == math.inf:
            note = f"{(sv / a.value - 1) * 100:+.0f}% from the assumed value"
        else:
            note = f"{sv - a.value:+.3f} from the assumed value"
        rows.append(SensitivityRow(a.key, a.label, a.value, a.low, a.high, low, high, sv, note))
    rows.sort(key=lambda r: -abs(r.npv_high - r.npv_low))
    return Sensitivity(model.name, base, tuple(rows))
