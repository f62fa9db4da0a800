"""The partnership's configuration (TOML): its area, region and peer groups."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from saferboard.errors import InputError


@dataclass(frozen=True)
class Config:
    name: str
    area: str
    region: str
    suppress_below: int
    peer_groups: dict[str, tuple[str, ...]]
    path: str


def default_config_path() -> Path:
    return Path(str(resources.files("saferboard") / "data" / "partnership.toml"))


def load_config(path: str | Path | None = None) -> Config:
    """`path`, else $SAFERBOARD_CONFIG, else the shipped Barnet configuration."""
    chosen = Path(path or os.environ.get("SAFERBOARD_CONFIG") or default_config_path())
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("configuration file not found", path=chosen) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid TOML: {e}", path=chosen) from None
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
                  {k: tuple(v) for k, v in groups.items()}, str(chosen))
