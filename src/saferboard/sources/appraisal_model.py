"""Read and validate an options appraisal file (TOML).

    [appraisal]
    name = "..."
    source = "..."
    scale = { H = 3, M = 2, L = 1 }      # optional; numeric scores are allowed too

    [[criteria]]                         # in the order the scores are listed
    name = "Safer Barnet"
    area = "Outcomes"                    # optional
    weight = 1.0                         # optional, default 1

    [[options]]
    name = "Neighbourhood Justice Panels"
    scores = ["H", "H", "H", ...]        # one per criterion
    summary = "..."                      # optional
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saferboard.core.errors import InputError
from saferboard.core.reference import read_toml

DEFAULT_SCALE: Mapping[str, float] = {"H": 3.0, "M": 2.0, "L": 1.0}


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: float = 1.0
    area: str = ""


@dataclass(frozen=True)
class Option:
    name: str
    scores: tuple[float, ...]  # one per criterion, numeric
    labels: tuple[str, ...]  # as given (H/M/L or the number)
    summary: str = ""


@dataclass(frozen=True)
class Appraisal:
    name: str
    criteria: tuple[Criterion, ...]
    options: tuple[Option, ...]
    scale: tuple[tuple[str, float], ...] = tuple(DEFAULT_SCALE.items())
    source: str = ""




def load_appraisal(path: Path, *, text: str | None = None) -> Appraisal:
    """Read and validate an appraisal file (or its `text`, as saved in the store)."""
    def fail(key: str, reason: str) -> InputError:
        return InputError(f"key {key!r}: {reason}", path=path)

    doc = read_toml(path, text=text)
    head: dict[str, Any] = doc.get("appraisal", {})
    if not isinstance(head, dict):
        raise fail("appraisal", "must be a table")
    scale_raw = head.get("scale", dict(DEFAULT_SCALE))
    if not isinstance(scale_raw, dict) or not scale_raw:
        raise fail("appraisal.scale", "must be a table like { H = 3, M = 2, L = 1 }")
    scale: dict[str, float] = {}
    for k, v in scale_raw.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise fail(f"appraisal.scale.{k}", f"must be a number, got {v!r}")
        scale[k.upper()] = float(v)
    crit_raw = doc.get("criteria")
    if not isinstance(crit_raw, list) or not crit_raw:
        raise fail("criteria", "missing: list the criteria as [[criteria]] tables")
    criteria: list[Criterion] = []
    for i, c in enumerate(crit_raw):
        name = c.get("name") if isinstance(c, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise fail(f"criteria[{i}].name", "missing")
        weight = c.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) \
                or not math.isfinite(weight) or weight < 0:
            raise fail(f"criteria[{i}].weight", f"must be a number 0 or more, got {weight!r}")
        criteria.append(Criterion(name.strip(), float(weight), str(c.get("area", ""))))
    if len({c.name for c in criteria}) != len(criteria):
        raise fail("criteria", "a criterion is listed twice")
    if sum(c.weight for c in criteria) <= 0:
        raise fail("criteria", "weights must add up to more than 0")
    opt_raw = doc.get("options")
    if not isinstance(opt_raw, list) or len(opt_raw) < 2:
        raise fail("options", "missing: list at least two options as [[options]] tables")
    options: list[Option] = []
    for i, o in enumerate(opt_raw):
        key = f"options[{i}]"
        name = o.get("name") if isinstance(o, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{key}.name", "missing")
        raw = o.get("scores")
        if not isinstance(raw, list) or len(raw) != len(criteria):
            raise fail(f"{key}.scores", f"needs one score per criterion ({len(criteria)}), "
                       f"got {len(raw) if isinstance(raw, list) else raw!r}")
        scores: list[float] = []
        for j, s in enumerate(raw):
            if isinstance(s, str) and s.strip().upper() in scale:
                scores.append(scale[s.strip().upper()])
            elif isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s):
                scores.append(float(s))
            else:
                raise fail(f"{key}.scores[{j}]", f"{s!r} is not a score; allowed: "
                           f"{', '.join(scale)} or a number ({criteria[j].name})")
        options.append(Option(name.strip(), tuple(scores), tuple(str(s) for s in raw),
                              str(o.get("summary", ""))))
    if len({o.name for o in options}) != len(options):
        raise fail("options", "an option is listed twice")
    return Appraisal(str(head.get("name", path.stem)), tuple(criteria), tuple(options),
                     tuple(scale.items()), str(head.get("source", "")))
