"""Read and validate a cost-benefit model file (TOML), the shipped unit costs and the GDP
deflator. Every problem names the file, the key and the reason; nothing is guessed.

Model file layout (all money in pounds at `price_year`)::

    [intervention]
    name = "Conditional Cautions"
    partners = ["Police", "CPS", "Probation", "Court", "Council"]
    price_year = "2012/13"        # financial year (2012-13 is read the same)
    horizon = 3                   # years of operation and benefit after the set-up year 0
    source = "where the figures come from"

    [cohort]                      # needed when there are [[outcomes]]
    size = 200
    engagement = 1.0

    [additionality]               # all optional
    deadweight = 0.0
    attribution = 1.0
    displacement = 0.0
    leakage = 0.0

    [profile]                     # optional
    lag = 0                       # years with no benefit before benefits start
    drop_off = 0.0                # share of the benefit lost each later year

    [unit_costs.my_key]           # optional, model-local unit costs (else the shipped ones)
    value = 500.0
    price_year = "2012/13"
    split = { CPS = 1.0 }
    source = "..."

    [[outcomes]]
    name = "prosecutions avoided"
    unit_cost = "my_key"
    baseline_rate = 1.0
    intervention_rate = 0.0
    per_person = 1.0              # optional; also cashable, fiscal, optimism_bias / confidence

    [[savings]]                   # a stated annual gross saving to one partner
    partner = "Police"
    amount = 49440

    [[costs]]
    partner = "Police"
    kind = "operating"            # or "setup"
    amount = 98400                # optional: years = [1, 2], optimism_bias / confidence
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from saferboard.core.errors import InputError
from saferboard.core.quarters import fy_start, year_label
from saferboard.core.reference import key_error, read_deflator, read_toml


@dataclass(frozen=True)
class UnitCost:
    key: str
    value: float  # pounds per unit at `price_year`
    price_year: str  # financial year, e.g. "2012/13"
    split: tuple[tuple[str, float], ...]  # (partner, share); shares sum to 1
    source: str
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    name: str
    unit_cost: str  # key of a UnitCost
    baseline_rate: float  # share of the engaged cohort with the outcome without the intervention
    intervention_rate: float  # ... with the intervention
    per_person: float = 1.0  # events per person with the outcome
    cashable: bool = False
    fiscal: bool = True
    optimism_bias: float = 0.0  # benefit reduced by this share


@dataclass(frozen=True)
class SavingLine:
    """A stated annual gross saving to one partner (the seed's per-partner lines)."""

    partner: str
    amount: float
    label: str = ""
    cashable: bool = False
    fiscal: bool = True
    optimism_bias: float = 0.0


@dataclass(frozen=True)
class CostLine:
    partner: str
    kind: str  # 'operating' | 'setup'
    amount: float  # pounds a year (operating) or once (setup), positive
    label: str = ""
    optimism_bias: float = 0.0  # cost raised by this share
    years: tuple[int, ...] | None = None  # default: setup (0,), operating 1..horizon


@dataclass(frozen=True)
class Additionality:
    deadweight: float = 0.0  # share that would have happened anyway
    attribution: float = 1.0  # share of what remains that this intervention may claim
    displacement: float = 0.0  # share displaced elsewhere
    leakage: float = 0.0  # share benefiting people outside the target area/group

    @property
    def factor(self) -> float:
        return ((1 - self.deadweight) * (1 - self.displacement) * (1 - self.leakage)
                * self.attribution)


@dataclass(frozen=True)
class CbaModel:
    name: str
    partners: tuple[str, ...]
    price_year: str
    horizon: int  # years of operation and benefit after year 0
    cohort: float
    engagement: float = 1.0
    additionality: Additionality = Additionality()
    lag: int = 0  # years with no benefit before benefits start
    drop_off: float = 0.0  # share of the benefit lost each year after the first benefit year
    outcomes: tuple[Outcome, ...] = ()
    savings: tuple[SavingLine, ...] = ()
    costs: tuple[CostLine, ...] = ()
    unit_costs: tuple[UnitCost, ...] = ()
    deflator: tuple[tuple[str, float], ...] = ()  # (financial year, index)
    source: str = ""
    path: str = ""


# New Economy CBA guidance: optimism bias correction by the confidence grade of a figure
# (1 = independently audited or local, recent data ... 6 = estimate or old, national data).
CONFIDENCE_OPTIMISM_BIAS = {1: 0.0, 2: 0.05, 3: 0.10, 4: 0.15, 5: 0.25, 6: 0.40}

_SECTIONS = {"intervention", "cohort", "additionality", "profile", "unit_costs", "outcomes",
             "savings", "costs"}
_KEYS = {
    "intervention": {"name", "partners", "price_year", "horizon", "source"},
    "cohort": {"size", "engagement"},
    "additionality": {"deadweight", "attribution", "displacement", "leakage"},
    "profile": {"lag", "drop_off"},
    "unit_costs": {"value", "price_year", "split", "source", "unit", "note", "verified"},
    "outcomes": {"name", "unit_cost", "baseline_rate", "intervention_rate", "per_person",
                 "cashable", "fiscal", "optimism_bias", "confidence"},
    "savings": {"partner", "amount", "label", "cashable", "fiscal", "optimism_bias",
                "confidence", "source"},
    "costs": {"partner", "kind", "amount", "label", "optimism_bias", "confidence", "years",
              "source"},
}


class _Reader:
    """Typed access to a parsed TOML table with errors that name the file and key."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, reason: str) -> InputError:
        return key_error(self.path, key, reason)

    def table(self, doc: Mapping[str, Any], key: str, name: str, *, required: bool = False
              ) -> dict[str, Any]:
        value = doc.get(name)
        if value is None:
            if required:
                raise self.fail(key, "missing")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__}")
        return value

    def check_keys(self, table: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else k,
                                f"unknown key; allowed: {', '.join(sorted(allowed))}")

    def string(self, table: Mapping[str, Any], key: str, name: str,
               default: str | None = None) -> str:
        value = table.get(name, default)
        if value is None:
            raise self.fail(f"{key}.{name}", "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.{name}", f"must be a non-empty string, got {value!r}")
        return value.strip()

    def number(self, table: Mapping[str, Any], key: str, name: str,
               default: float | None = None, *, minimum: float | None = 0.0,
               maximum: float | None = None, what: str = "") -> float:
        value = table.get(name, default)
        full = f"{key}.{name}"
        if value is None:
            raise self.fail(full, "missing")
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise self.fail(full, f"must be a number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(full, f"must be {minimum:g} or more{what}, got {value:g}")
        if maximum is not None and value > maximum:
            raise self.fail(full, f"must be {maximum:g} or less{what}, got {value:g}")
        return float(value)

    def rate(self, table: Mapping[str, Any], key: str, name: str,
             default: float | None = None) -> float:
        return self.number(table, key, name, default, minimum=0.0, maximum=1.0,
                           what=" (a rate between 0 and 1)")

    def integer(self, table: Mapping[str, Any], key: str, name: str, default: int,
                minimum: int = 0) -> int:
        value = table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{key}.{name}", f"must be a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(f"{key}.{name}", f"must be {minimum} or more, got {value}")
        return value

    def boolean(self, table: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
        value = table.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key}.{name}", f"must be true or false, got {value!r}")
        return value

    def year(self, table: Mapping[str, Any], key: str, name: str) -> str:
        value = self.string(table, key, name)
        try:
            return year_label(fy_start(value))
        except ValueError:
            raise self.fail(f"{key}.{name}", f"must be a financial year like 2012/13, got "
                            f"{value!r}") from None

    def bias(self, table: Mapping[str, Any], key: str) -> float:
        """Optimism bias as a share, or from a New Economy confidence grade 1-6."""
        if "optimism_bias" in table and "confidence" in table:
            raise self.fail(f"{key}.confidence", "give optimism_bias or confidence, not both")
        if "confidence" in table:
            grade = table["confidence"]
            if isinstance(grade, bool) or grade not in CONFIDENCE_OPTIMISM_BIAS:
                raise self.fail(f"{key}.confidence", f"must be a grade 1-6, got {grade!r}")
            return CONFIDENCE_OPTIMISM_BIAS[grade]
        return self.number(table, key, "optimism_bias", 0.0, maximum=2.0)


def _parse_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    return read_toml(path, text=text, at_line=True)


def _unit_cost(r: _Reader, key: str, name: str, table: Mapping[str, Any],
               partners: tuple[str, ...] | None) -> UnitCost:
    r.check_keys(table, key, _KEYS["unit_costs"])
    split_raw = table.get("split")
    if not isinstance(split_raw, dict) or not split_raw:
        raise r.fail(f"{key}.split", "missing: a table of partner = share")
    split: list[tuple[str, float]] = []
    for partner in split_raw:
        if partners is not None and partner not in partners:
            raise r.fail(f"{key}.split.{partner}", "partner not in intervention.partners "
                         f"({', '.join(partners)})")
        split.append((partner, r.number(split_raw, f"{key}.split", partner, maximum=1.0)))
    total = sum(s for _, s in split)
    if abs(total - 1) > 1e-6:
        raise r.fail(f"{key}.split", f"shares must add up to 1, got {total:g}")
    return UnitCost(name, r.number(table, key, "value"), r.year(table, key, "price_year"),
                    tuple(split), r.string(table, key, "source"),
                    str(table.get("unit", "")), str(table.get("note", "")))


def load_unit_costs(path: Path | None = None) -> dict[str, UnitCost]:
    """The shipped unit costs (`data/cba_unit_costs.toml`) or another file of that shape."""
    if path is None:
        ref = resources.files("saferboard") / "data" / "cba_unit_costs.toml"
        with resources.as_file(ref) as p:
            return load_unit_costs(Path(p))
    doc = _parse_toml(path)
    r = _Reader(str(path))
    costs = r.table(doc, "unit_costs", "unit_costs", required=True)
    return {name: _unit_cost(r, f"unit_costs.{name}", name, r.table(costs, f"unit_costs.{name}",
                                                                     name, required=True), None)
            for name in costs}


def load_model(path: Path, unit_costs: Mapping[str, UnitCost] | None = None,
               deflator: tuple[tuple[str, float], ...] | None = None, *,
               text: str | None = None) -> CbaModel:
    """Read and validate one model file (or its `text`, as saved in the store)."""
    doc = _parse_toml(path, text)
    r = _Reader(str(path))
    r.check_keys(doc, "", _SECTIONS)
    iv = r.table(doc, "intervention", "intervention", required=True)
    r.check_keys(iv, "intervention", _KEYS["intervention"])
    raw_partners = iv.get("partners")
    if raw_partners is None:
        raise r.fail("intervention.partners", "missing: list the partners who pay or benefit")
    if not isinstance(raw_partners, list) or not raw_partners \
            or not all(isinstance(p, str) and p.strip() for p in raw_partners):
        raise r.fail("intervention.partners", f"must be a non-empty list of names, got "
                     f"{raw_partners!r}")
    partners = tuple(p.strip() for p in raw_partners)
    if len(set(partners)) != len(partners):
        raise r.fail("intervention.partners", "a partner is listed twice")
    price_year = r.year(iv, "intervention", "price_year")
    horizon = r.integer(iv, "intervention", "horizon", 1, minimum=1)

    def partner_of(table: Mapping[str, Any], key: str) -> str:
        if "partner" not in table:
            raise r.fail(f"{key}.partner", "missing partner")
        name = r.string(table, key, "partner")
        if name not in partners:
            raise r.fail(f"{key}.partner", f"{name!r} is not in intervention.partners "
                         f"({', '.join(partners)})")
        return name

    cohort = r.table(doc, "cohort", "cohort")
    r.check_keys(cohort, "cohort", _KEYS["cohort"])
    cohort_size = r.number(cohort, "cohort", "size", 0.0, what=" (a cohort cannot be negative)")
    engagement = r.rate(cohort, "cohort", "engagement", 1.0)
    add = r.table(doc, "additionality", "additionality")
    r.check_keys(add, "additionality", _KEYS["additionality"])
    prof = r.table(doc, "profile", "profile")
    r.check_keys(prof, "profile", _KEYS["profile"])
    local_raw = r.table(doc, "unit_costs", "unit_costs")
    local = {name: _unit_cost(r, f"unit_costs.{name}", name,
                              r.table(local_raw, f"unit_costs.{name}", name, required=True),
                              partners) for name in local_raw}

    def items(name: str) -> list[dict[str, Any]]:
        value = doc.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise r.fail(name, f"must be an array of tables ([[{name}]])")
        for i, v in enumerate(value):
            r.check_keys(v, f"{name}[{i}]", _KEYS[name])
        return value

    outcomes_raw, savings_raw, costs_raw = items("outcomes"), items("savings"), items("costs")
    shipped = dict(unit_costs) if unit_costs is not None else None
    used: dict[str, UnitCost] = {}
    outcomes: list[Outcome] = []
    for i, o in enumerate(outcomes_raw):
        key = f"outcomes[{i}]"
        uc = r.string(o, key, "unit_cost")
        if uc not in local:
            if shipped is None:
                shipped = load_unit_costs()
            if uc not in shipped:
                raise r.fail(f"{key}.unit_cost", f"unknown unit cost {uc!r}; define it under "
                             "[unit_costs] or use a shipped one (see data/cba_unit_costs.toml)")
        unit = local.get(uc) or (shipped or {})[uc]
        for partner, _ in unit.split:
            if partner not in partners:
                raise r.fail(f"{key}.unit_cost", f"unit cost {uc!r} is borne partly by "
                             f"{partner!r}, which is not in intervention.partners")
        used[uc] = unit
        outcomes.append(Outcome(
            r.string(o, key, "name"), uc, r.rate(o, key, "baseline_rate"),
            r.rate(o, key, "intervention_rate"), r.number(o, key, "per_person", 1.0),
            r.boolean(o, key, "cashable", False), r.boolean(o, key, "fiscal", True),
            r.bias(o, key)))
    if outcomes and "size" not in cohort:
        raise r.fail("cohort.size", "missing (outcome lines need a cohort)")
    savings = [SavingLine(partner_of(s, f"savings[{i}]"),
                          r.number(s, f"savings[{i}]", "amount"),
                          str(s.get("label", "")),
                          r.boolean(s, f"savings[{i}]", "cashable", False),
                          r.boolean(s, f"savings[{i}]", "fiscal", True),
                          r.bias(s, f"savings[{i}]"))
               for i, s in enumerate(savings_raw)]
    costs: list[CostLine] = []
    for i, c in enumerate(costs_raw):
        key = f"costs[{i}]"
        partner = partner_of(c, key)
        kind = r.string(c, key, "kind")
        if kind not in ("operating", "setup"):
            raise r.fail(f"{key}.kind", f"must be 'operating' or 'setup', got {kind!r}")
        years = c.get("years")
        if years is not None and (not isinstance(years, list) or not all(
                isinstance(y, int) and not isinstance(y, bool) and y >= 0 for y in years)):
            raise r.fail(f"{key}.years", f"must be a list of years 0 or more, got {years!r}")
        costs.append(CostLine(partner, kind, r.number(c, key, "amount"),
                              str(c.get("label", "")), r.bias(c, key),
                              tuple(years) if years is not None else None))
    if not (outcomes or savings or costs):
        raise r.fail("outcomes", "the model has no outcomes, savings or costs")
    needs_deflator = any(u.price_year != price_year for u in used.values())
    if deflator is None:
        deflator = read_deflator() if needs_deflator else ()
    index = dict(deflator)
    for u in used.values():
        for y in (u.price_year, price_year):
            if u.price_year != price_year and y not in index:
                raise r.fail("intervention.price_year", f"cannot rebase unit cost {u.key!r} "
                             f"from {u.price_year} to {price_year}: no GDP deflator for {y}")
    return CbaModel(
        name=r.string(iv, "intervention", "name"), partners=partners, price_year=price_year,
        horizon=horizon,
        cohort=cohort_size, engagement=engagement,
        additionality=Additionality(
            r.rate(add, "additionality", "deadweight", 0.0),
            r.rate(add, "additionality", "attribution", 1.0),
            r.rate(add, "additionality", "displacement", 0.0),
            r.rate(add, "additionality", "leakage", 0.0)),
        lag=r.integer(prof, "profile", "lag", 0),
        drop_off=r.rate(prof, "profile", "drop_off", 0.0),
        outcomes=tuple(outcomes), savings=tuple(savings), costs=tuple(costs),
        unit_costs=tuple(used.values()), deflator=tuple(deflator),
        source=str(iv.get("source", "")), path=str(path),
    )
