"""The partnership's configuration (TOML): its area, region and peer groups."""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from saferboard.core.dates import parse_month
from saferboard.core.errors import InputError
from saferboard.core.reference import read_toml, shipped

DEFAULT_CATEGORIES = (
    "Burglary", "Residential burglary", "Non-residential burglary", "Robbery",
    "Violence with injury", "Theft of motor vehicle", "Theft from motor vehicle",
    "Criminal damage and arson", "Anti-social behaviour", "Total notifiable offences",
)


@dataclass(frozen=True)
class RagRules:
    """How indicators become positive/negative factors and factors become a RAG."""

    change_threshold_pct: float = 0.0
    significant_changes_only: bool = False
    rank_group: str = "London boroughs"
    rank_fraction: float = 1 / 3
    red_share: float = 0.75


@dataclass(frozen=True)
class DashboardSettings:
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    household_categories: tuple[str, ...] = ("Residential burglary",)
    exception_method: str = "sd"
    alpha: float = 0.05
    # The pack's hotspot pages (police.uk street crimes: police.uk's own crime types).
    hotspot_categories: tuple[str, ...] = ("Burglary", "Robbery", "Vehicle offences",
                                           "Violence and sexual offences")


@dataclass(frozen=True)
class Target:
    name: str
    category: str
    baseline: float
    change_pct: float
    start: date
    end: date
    area: str | None = None
    tolerance_pct: float = 5.0


@dataclass(frozen=True)
class Config:
    name: str
    area: str
    region: str
    suppress_below: int
    peer_groups: dict[str, tuple[str, ...]]
    path: str
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    rag: RagRules = field(default_factory=RagRules)
    targets: tuple[Target, ...] = ()


def default_config_path() -> Path:
    return shipped("partnership.toml")


def load_config(path: str | Path | None = None) -> Config:
    """`path`, else $SAFERBOARD_CONFIG, else the shipped Barnet configuration."""
    chosen = Path(path or os.environ.get("SAFERBOARD_CONFIG") or default_config_path())
    data = read_toml(chosen, what="configuration file")
    part = data.get("partnership", {})
    groups = data.get("peer_groups", {})
    for key in ("name", "area"):
        if not isinstance(part.get(key), str) or not part[key]:
            raise InputError(f"[partnership] needs a text value for {key!r}", path=chosen)
    if not isinstance(groups, dict) or not all(
        isinstance(v, list) and all(isinstance(a, str) for a in v) for v in groups.values()
    ):
        raise InputError("[peer_groups] must map group names to lists of area names",
                         path=chosen)
    region = part.get("region", "London boroughs")
    if region not in groups:
        raise InputError(f"region {region!r} is not one of the [peer_groups]", path=chosen)
    threshold = part.get("suppress_below", 5)
    if not isinstance(threshold, int) or threshold < 0:
        raise InputError("suppress_below must be a whole number >= 0", path=chosen)
    return Config(part["name"], part["area"], region, threshold,
                  {k: tuple(v) for k, v in groups.items()}, str(chosen),
                  _dashboard(data.get("dashboard", {}), chosen),
                  _rag(data.get("rag", {}), chosen, groups),
                  tuple(_target(t, i, chosen, part["area"])
                        for i, t in enumerate(data.get("targets", []))))


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any,
           where: str, path: Path) -> Any:
    value = table.get(key, default)
    # TOML booleans are ints to Python; a number setting must not accept true/false.
    numeric = kind in (int, float, (int, float))
    if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
        raise InputError(f"{where}.{key} has the wrong type: {value!r}", path=path)
    return value


def _dashboard(table: dict[str, Any], path: Path) -> DashboardSettings:
    d = DashboardSettings()
    cats = _typed(table, "categories", list, list(d.categories), "[dashboard]", path)
    homes = _typed(table, "household_categories", list, list(d.household_categories),
                   "[dashboard]", path)
    method = _typed(table, "exception_method", str, d.exception_method, "[dashboard]", path)
    if method not in ("sd", "xmr", "seasonal-sd"):
        raise InputError(f"[dashboard].exception_method must be sd, xmr or seasonal-sd, got "
                         f"{method!r}", path=path)
    alpha = float(_typed(table, "alpha", (int, float), d.alpha, "[dashboard]", path))
    if not 0 < alpha < 1:
        raise InputError(f"[dashboard].alpha must be between 0 and 1, got {alpha}", path=path)
    hot = _typed(table, "hotspot_categories", list, list(d.hotspot_categories), "[dashboard]",
                 path)
    return DashboardSettings(tuple(cats), tuple(homes), method, alpha, tuple(hot))


def _rag(table: dict[str, Any], path: Path, groups: dict[str, Any]) -> RagRules:
    r = RagRules()
    group = _typed(table, "rank_group", str, r.rank_group, "[rag]", path)
    if group and group not in groups:
        raise InputError(f"[rag].rank_group {group!r} is not one of the [peer_groups]",
                         path=path)
    fraction = float(_typed(table, "rank_fraction", (int, float), r.rank_fraction, "[rag]",
                            path))
    red = float(_typed(table, "red_share", (int, float), r.red_share, "[rag]", path))
    if not 0 < fraction <= 0.5 or not 0 < red <= 1:
        raise InputError("[rag].rank_fraction must be in (0, 0.5] and red_share in (0, 1]",
                         path=path)
    return RagRules(
        float(_typed(table, "change_threshold_pct", (int, float), r.change_threshold_pct,
                     "[rag]", path)),
        bool(_typed(table, "significant_changes_only", bool, r.significant_changes_only,
                    "[rag]", path)),
        group, fraction, red,
    )


def _month(value: Any, where: str, path: Path) -> date:
    if isinstance(value, str):
        with suppress(ValueError):
            return parse_month(value)
    raise InputError(f"{where} must be a month 'YYYY-MM', got {value!r}", path=path)


def _target(table: Any, i: int, path: Path, partnership_area: str) -> Target:
    """A target; without `area` it is the partnership's area's, and applies to it only."""
    where = f"[[targets]] #{i + 1}"
    if not isinstance(table, dict):
        raise InputError(f"{where} must be a table", path=path)
    for key in ("name", "category", "baseline", "change_pct", "start", "end"):
        if key not in table:
            raise InputError(f"{where} needs {key!r}", path=path)
    start = _month(table["start"], f"{where}.start", path)
    end = _month(table["end"], f"{where}.end", path)
    if end <= start:
        raise InputError(f"{where}: end must be after start", path=path)
    baseline = float(_typed(table, "baseline", (int, float), 0, where, path))
    if baseline <= 0:
        raise InputError(f"{where}.baseline must be > 0", path=path)
    area = table.get("area")
    return Target(
        _typed(table, "name", str, "", where, path),
        _typed(table, "category", str, "", where, path),
        baseline,
        float(_typed(table, "change_pct", (int, float), 0, where, path)),
        start, end,
        area if isinstance(area, str) and area else partnership_area,
        float(_typed(table, "tolerance_pct", (int, float), 5.0, where, path)),
    )
