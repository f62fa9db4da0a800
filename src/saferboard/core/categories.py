"""The category tree and the mapping from raw labels to categories.

The store keeps labels exactly as published; categories are applied at query time, so a
corrected mapping file takes effect without re-importing anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from saferboard.core.errors import InputError
from saferboard.core.reference import read_toml, shipped

SOURCES = ("policeuk", "mps")
TOTAL = "Total notifiable offences"


def normalise_label(label: str) -> str:
    """The form used to match labels across releases: case, spacing and punctuation ignored.

    `&` reads as "and"; every other run of characters that is not a letter or digit is one
    space, except the MPS separator " / " between major and minor group, which is kept so
    that "A B / C" and "A / B C" stay different labels. ASCII letters only: published labels
    are ASCII, and the SQL twin below must agree with this exactly.
    """
    s = label.lower().replace("&", " and ")
    s = re.sub(r"\s+/\s+", "|", s)
    s = re.sub(r"[^a-z0-9|]+", " ", s)
    return re.sub(r" ?\| ?", " / ", s).strip()


# The same normalisation in SQL, for matching stored labels against the mapping (a test
# checks the two agree).
SQL_NORMALISE = (
    "trim(regexp_replace(regexp_replace(regexp_replace(replace(lower({col}), '&', ' and '), "
    "'\\s+/\\s+', '|', 'g'), '[^a-z0-9|]+', ' ', 'g'), ' ?\\| ?', ' / ', 'g'))"
)


def mps_label(major: str, minor: str) -> str:
    return f"{major} / {minor}"


FRAUD = "Fraud and forgery"
MAJORS = "mps_major"  # the TOML table of MPS major group -> category (the fallback)


@dataclass(frozen=True)
class Placement:
    """Where a raw label's rows are counted.

    `exact`: the label itself is in the mapping. Otherwise it was placed by its MPS major
    group (or, for an unknown MPS major group, under Total notifiable offences, since the MPS
    tables hold notifiable offences only): its rows count toward `category` and everything
    above it, but a category below `category` cannot tell whether they belong to it.
    `category` None: placed nowhere (an unknown police.uk type, which may not be a crime).
    """

    category: str | None
    exact: bool


@dataclass(frozen=True)
class Categories:
    """A validated category tree plus the label mapping of each source."""

    parents: dict[str, str | None]
    labels: dict[str, dict[str, str]]  # source -> normalised label -> category
    # normalised MPS major group -> the most specific category every minor of it supports
    majors: dict[str, str] = field(default_factory=dict)

    def descendants(self, name: str) -> set[str]:
        """`name` and every category below it."""
        if name not in self.parents:
            raise InputError(
                f"unknown category {name!r}; known: {', '.join(self.names())}",
                param="category",
            )
        out = {name}
        changed = True
        while changed:
            changed = False
            for child, parent in self.parents.items():
                if parent in out and child not in out:
                    out.add(child)
                    changed = True
        return out

    def within(self, names: Iterable[str]) -> list[str]:
        """Every category at or below any of `names`, sorted: what a filter on several
        categories matches."""
        return sorted(set().union(*(self.descendants(n) for n in names)))

    def ancestors(self, name: str) -> list[str]:
        """`name` and its parents up to the root, nearest first."""
        chain = [name]
        parent = self.parents[name]
        while parent is not None:
            chain.append(parent)
            parent = self.parents[parent]
        return chain

    def names(self) -> list[str]:
        return list(self.parents)

    def category_of(self, source: str, label: str) -> str | None:
        """The category the mapping gives `label` itself (None when not in the mapping)."""
        return self.labels[source].get(normalise_label(label))

    def place(self, source: str, label: str) -> Placement:
        """Where the rows of `label` count: the mapping's category, else (MPS) the category
        of its major group, else (an unknown MPS major group) Total notifiable offences, or
        Fraud and forgery when the group's name says fraud."""
        key = normalise_label(label)
        exact = self.labels[source].get(key)
        if exact is not None:
            return Placement(exact, True)
        if source != "mps":
            return Placement(None, False)
        major = key.split(" / ", 1)[0]
        if major in self.majors:
            return Placement(self.majors[major], False)
        if "fraud" in major.split() and FRAUD in self.parents:
            return Placement(FRAUD, False)
        return Placement(TOTAL if TOTAL in self.parents else None, False)

    def is_strictly_below(self, name: str, ancestor: str) -> bool:
        """Whether `ancestor` is a parent, grandparent, ... of `name`."""
        return name != ancestor and ancestor in self.ancestors(name)

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create temp tables `label_map(source, label, category)` and
        `category_closure(category, ancestor)` on `con` for queries to join."""
        con.execute(
            "CREATE OR REPLACE TEMP TABLE label_map "
            "(source VARCHAR, label VARCHAR, category VARCHAR)"
        )
        # One INSERT of lists (unnest) per table: executemany ran one statement per row,
        # about 50 ms for the mapping's 300 labels, on every call.
        rows = [(s, lab, cat) for s, m in self.labels.items() for lab, cat in m.items()]
        con.execute("INSERT INTO label_map SELECT unnest($s::VARCHAR[]), "
                    "unnest($l::VARCHAR[]), unnest($c::VARCHAR[])",
                    {"s": [r[0] for r in rows], "l": [r[1] for r in rows],
                     "c": [r[2] for r in rows]})
        con.execute(
            "CREATE OR REPLACE TEMP TABLE category_closure (category VARCHAR, ancestor VARCHAR)"
        )
        closure = [(c, a) for c in self.parents for a in self.ancestors(c)]
        con.execute("INSERT INTO category_closure SELECT unnest($c::VARCHAR[]), "
                    "unnest($a::VARCHAR[])",
                    {"c": [r[0] for r in closure], "a": [r[1] for r in closure]})


def default_mapping_path() -> Path:
    return shipped("categories.toml")


def load(override: str | Path | None = None) -> Categories:
    """The shipped mapping, with `override` (or $SAFERBOARD_CATEGORIES) laid over it."""
    parents: dict[str, str | None] = {}
    labels: dict[str, dict[str, str]] = {s: {} for s in SOURCES}
    majors: dict[str, str] = {}
    paths = [default_mapping_path()]
    chosen = override if override is not None else os.environ.get("SAFERBOARD_CATEGORIES")
    if chosen:
        paths.append(Path(chosen))
    for path in paths:
        _merge(path, parents, labels, majors)
    _validate(paths[-1], parents, {**labels, MAJORS: majors})
    return Categories(parents=parents, labels=labels, majors=majors)


def _merge(
    path: Path, parents: dict[str, str | None], labels: dict[str, dict[str, str]],
    majors: dict[str, str],
) -> None:
    data = read_toml(path, what="category mapping file", invalid="not a valid TOML mapping file")
    unknown = set(data) - {"categories", MAJORS, *SOURCES}
    if unknown:
        raise InputError(
            f"unknown table(s) {sorted(unknown)}; allowed: categories, "
            f"{', '.join(SOURCES)}, {MAJORS}", path=path,
        )
    for name, parent in data.get("categories", {}).items():
        if not isinstance(parent, str):
            raise InputError(f"category {name!r}: parent must be a string", path=path)
        parents[name] = parent or None
    for source in SOURCES:
        for label, category in data.get(source, {}).items():
            if not isinstance(category, str):
                raise InputError(f"[{source}] {label!r}: category must be a string", path=path)
            labels[source][normalise_label(label)] = category
    for major, category in data.get(MAJORS, {}).items():
        if not isinstance(category, str):
            raise InputError(f"[{MAJORS}] {major!r}: category must be a string", path=path)
        majors[normalise_label(major)] = category


def _validate(
    path: Path, parents: dict[str, str | None], labels: dict[str, dict[str, str]]
) -> None:
    for name, parent in parents.items():
        if parent is not None and parent not in parents:
            raise InputError(f"category {name!r} has unknown parent {parent!r}", path=path)
        seen = {name}
        while parent is not None:
            if parent in seen:
                raise InputError(f"category {name!r} is inside a cycle", path=path)
            seen.add(parent)
            parent = parents[parent]
    for source, mapping in labels.items():
        for label, category in mapping.items():
            if category not in parents:
                raise InputError(
                    f"[{source}] {label!r} maps to unknown category {category!r}", path=path
                )
