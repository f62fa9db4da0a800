"""Independent counts straight from the raw files with the csv module, to pin the store's
numbers against (a second way of computing the same figures)."""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path


def rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
        yield from csv.DictReader(f)


def la_of(lsoa_name: str) -> str | None:
    m = re.fullmatch(r"(.*) \d{3}[A-Z]", lsoa_name)
    return m[1] if m else None


def street_counts(paths: Iterable[Path], key: str) -> Counter[object]:
    """Counter of street rows by 'month', 'area', 'crime_type' or 'all'."""
    out: Counter[object] = Counter()
    for p in paths:
        for r in rows(p):
            if key == "month":
                out[r["Month"]] += 1
            elif key == "area":
                out[la_of(r["LSOA name"])] += 1
            elif key == "crime_type":
                out[r["Crime type"]] += 1
            else:
                out["all"] += 1
    return out


def mps_wide(path: Path) -> list[dict[str, str]]:
    return list(rows(path))


def mps_month_columns(record: dict[str, str]) -> list[str]:
    return [k for k in record if re.fullmatch(r"\d{6}", k.strip())]
