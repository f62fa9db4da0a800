"""Unit costs of crime (Home Office, Heeks et al. 2018: data/crime_costs.toml, with an
analyst's file laid over it) and the GDP deflator that rebases them to another financial
year's prices. Reference data: loaded here and passed to measures.costs, which prices
recorded crime and the offender cohort's reduction with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.core.quarters import financial_year, fy_start, year_label
from saferboard.core.reference import key_error, read_deflator, read_toml, shipped

DEFLATOR_HINT = ("HM Treasury 'GDP deflators at market prices, and money GDP' "
                 "(https://www.gov.uk/government/collections/gdp-deflators-at-market-prices-"
                 "and-money-gdp), as a CSV with the header year,index and rows YYYY-YY,index")


@dataclass(frozen=True)
class UnitCost:
    heeks: str
    cost: float  # GBP per offence at the file's price year
    verified: bool
    source: str
    covers: str


@dataclass(frozen=True)
class CategoryCost:
    heeks: str
    note: str | None


@dataclass(frozen=True)
class UnitCosts:
    citation: str
    price_year: str  # "2015/16"
    units: dict[str, UnitCost]  # Heeks category -> cost
    categories: dict[str, CategoryCost]  # saferboard category -> Heeks category
    unmapped: dict[str, str]  # saferboard category -> reason
    aggregates: dict[str, str]
    offence_types: dict[str, str]  # normalised partner offence type -> Heeks category
    deflator: dict[str, float]  # "2015/16" -> index (empty: no series)
    notes: tuple[str, ...]
    deflator_source: str = ""  # the series' own description (its '#' header lines)

    def unit_for_category(self, category: str) -> UnitCost | None:
        c = self.categories.get(category)
        return None if c is None else self.units[c.heeks]

    def heeks_for_type(self, offence_type: str) -> str | None:
        """The Heeks category of a partner offence type: an alias, a saferboard category
        name, or a Heeks name (case-insensitive, spaces collapsed)."""
        key = _norm(offence_type)
        if key in self.offence_types:
            return self.offence_types[key]
        for name, c in self.categories.items():
            if _norm(name) == key:
                return c.heeks
        for name in self.units:
            if _norm(name) == key:
                return name
        return None

    def factor(self, price_year: str | None) -> float:
        """Multiplier from the unit costs' price year to `price_year` (GDP deflator)."""
        if price_year is None:
            return 1.0
        target = financial_year(price_year)
        if target == self.price_year:
            return 1.0
        if not self.deflator:
            raise InputError(f"no GDP deflator series to rebase costs to {target} prices; "
                             f"give a {{deflator}} file: {DEFLATOR_HINT}", param="price_year",
                             mentions=("deflator",))
        for y in (self.price_year, target):
            if y not in self.deflator:
                years = sorted(self.deflator)
                raise InputError(f"the GDP deflator series has no {y}; it covers {years[0]} "
                                 f"to {years[-1]}", param="price_year")
        return self.deflator[target] / self.deflator[self.price_year]


def _price_year(value: object, where: str | Path) -> str:
    try:
        return year_label(fy_start(str(value)))
    except ValueError as e:
        raise key_error(where, "source.price_year", str(e)) from None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def deflator_by_year(path: Path) -> dict[str, float]:
    """A GDP deflator CSV (read by core.reference.read_deflator, the reader the cost-benefit
    models share) as index by financial year 'YYYY/YY', every index checked positive."""
    try:
        rows = read_deflator(path)
    except OSError as e:
        raise InputError(f"cannot read the GDP deflator: {e.strerror}", path=path) from None
    out: dict[str, float] = {}
    for year, value in rows:
        if not value > 0:
            raise InputError(f"the deflator index for {year} must be positive, got {value}",
                             path=path, column="index")
        out[year] = value  # read_deflator writes each year in the one spelling
    if not out:
        raise InputError("no deflator rows", path=path)
    return out


def deflator_source(path: Path) -> str:
    """The '#' comment lines at the top of a deflator CSV, as one sentence, and the path."""
    lines = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line.lstrip().startswith("#"):
            break
        lines.append(line.lstrip()[1:].strip())
    text = " ".join(x for x in lines if x)
    return f"{text} ({path.name})" if text else path.name


def _shipped_deflator() -> Path | None:
    path = shipped("gdp_deflator.csv")
    return path if path.exists() else None


def load_unit_costs(path: Path | None = None, *, deflator: Path | None = None,
                    categories: Categories | None = None) -> UnitCosts:
    """The shipped unit costs, with `path`'s tables laid over them; the GDP deflator from
    `deflator`, else the one shipped in saferboard/data if any. With `categories`, every
    category of the tree must be mapped, unmapped or an aggregate."""
    doc: dict[str, Any] = read_toml(shipped("crime_costs.toml"))
    if path is not None:
        extra = read_toml(Path(path), what="unit costs")
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(doc.get(key), dict):
                doc[key] = {**doc[key], **value}
            else:
                doc[key] = value
    where = path or "crime_costs.toml"
    units = {}
    for name, u in doc.get("unit_costs", {}).items():
        cost = u.get("cost") if isinstance(u, dict) else None
        if not isinstance(cost, int | float) or isinstance(cost, bool) or cost < 0:
            raise InputError(f"unit cost of {name!r} must be a non-negative number, got "
                             f"{cost!r}", path=where, column="cost")
        units[name] = UnitCost(name, float(cost), bool(u.get("verified", False)),
                               str(u.get("source", "")), str(u.get("covers", "")))
    cats = {}
    for name, c in doc.get("categories", {}).items():
        heeks = c.get("heeks") if isinstance(c, dict) else c
        if heeks not in units:
            raise InputError(f"category {name!r} maps to {heeks!r}, which has no unit cost; "
                             f"unit costs: {', '.join(sorted(units))}", path=where,
                             column="categories")
        cats[name] = CategoryCost(str(heeks), c.get("note") if isinstance(c, dict) else None)
    types = {}
    for alias, heeks in doc.get("offence_types", {}).items():
        if heeks not in units:
            raise InputError(f"offence type {alias!r} maps to {heeks!r}, which has no unit "
                             "cost", path=where, column="offence_types")
        types[_norm(alias)] = str(heeks)
    unmapped = {k: str(v) for k, v in doc.get("unmapped", {}).items() if k not in cats}
    aggregates = {k: str(v) for k, v in doc.get("aggregates", {}).items()}
    src = doc.get("source", {})
    dpath = deflator or _shipped_deflator()
    result = UnitCosts(
        str(src.get("citation", "")), _price_year(src.get("price_year", "2015/16"), where),
        units, cats, unmapped, aggregates, types,
        deflator_by_year(dpath) if dpath is not None else {}, tuple(src.get("notes", ())),
        deflator_source(dpath) if dpath is not None else "")
    if categories is not None:
        missing = [c for c in categories.names() if c not in cats and c not in unmapped
                   and c not in aggregates]
        if missing:
            raise InputError(f"categories with no unit cost decision (map them, or list them "
                             f"under [unmapped]): {', '.join(missing)}", path=where)
    return result
