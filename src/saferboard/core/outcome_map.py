"""The outcome mapping: police.uk outcome labels -> outcome groups (data/outcomes.toml, with
an analyst's file laid over it), and which groups count as a sanction detection.

Reference data, so it is loaded here and passed to `measures.outcomes.outcome_rates`; the
shipped mapping is read once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from saferboard.core.categories import normalise_label
from saferboard.core.errors import InputError
from saferboard.core.reference import read_toml, shipped

UNMAPPED = "Unmapped"  # the by-month column of crimes whose outcome label maps to no group


@dataclass(frozen=True)
class OutcomeMap:
    """Outcome groups in precedence order, which of them are sanction detections, and the
    mapping from normalised police.uk outcome labels to groups."""

    groups: tuple[str, ...]
    sanction_detection: tuple[str, ...]
    labels: dict[str, str]  # normalised label -> group

    def group_of(self, label: str | None) -> str | None:
        return None if label is None else self.labels.get(normalise_label(label))


def default_outcome_map_path() -> Path:
    return shipped("outcomes.toml")


def load_outcome_map(override: str | Path | None = None) -> OutcomeMap:
    """The shipped mapping, with `override` laid over it: its `groups` and
    `sanction_detection` replace ours when given, its [outcomes] entries add to ours."""
    groups: list[str] = []
    sd: list[str] = []
    labels: dict[str, str] = {}
    paths = [default_outcome_map_path(), *([Path(override)] if override is not None else [])]
    for path in paths:
        data = read_toml(path, what="outcome mapping file",
                         invalid="not a valid TOML mapping file")
        unknown = set(data) - {"groups", "sanction_detection", "outcomes"}
        if unknown:
            raise InputError(f"unknown key(s) {sorted(unknown)}; allowed: groups, "
                             "sanction_detection, outcomes", path=path)
        for key, target in (("groups", groups), ("sanction_detection", sd)):
            if key in data:
                value = data[key]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise InputError(f"{key} must be a list of group names", path=path)
                target[:] = value
        for label, group in data.get("outcomes", {}).items():
            if not isinstance(group, str):
                raise InputError(f"[outcomes] {label!r}: group must be a string", path=path)
            labels[normalise_label(label)] = group
    last = paths[-1]
    if len(set(groups)) != len(groups) or not groups or UNMAPPED in groups:
        raise InputError(f"groups must be a non-empty list without repeats or {UNMAPPED!r}",
                         path=last)
    for name in sd:
        if name not in groups:
            raise InputError(f"sanction_detection names unknown group {name!r}", path=last)
    for label, group in labels.items():
        if group not in groups:
            raise InputError(f"[outcomes] {label!r} maps to unknown group {group!r}", path=last)
    return OutcomeMap(tuple(groups), tuple(sd), labels)


@cache
def shipped_outcome_map() -> OutcomeMap:
    """The shipped mapping alone, read once."""
    return load_outcome_map()
