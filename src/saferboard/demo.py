"""The demo: build the example database from examples/ and show Barnet's headline counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console

from saferboard import categories, store
from saferboard.config import load_config
from saferboard.errors import InputError
from saferboard.measures.counts import counts
from saferboard.sources.ingest import IngestReport, ingest

HEADLINE = (
    "Burglary", "Residential burglary", "Non-residential burglary", "Robbery",
    "Violence with injury", "Theft of motor vehicle", "Theft from motor vehicle",
    "Criminal damage and arson", "Anti-social behaviour", "Total notifiable offences",
)


@dataclass(frozen=True)
class DemoResult:
    db: Path
    ingest: IngestReport
    title: str
    rows: list[dict[str, Any]]


def default_examples() -> Path:
    """examples/ of the checkout this package is installed from (editable install)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples"
        if (candidate / "README.md").exists() and (candidate / "mps").exists():
            return candidate
    raise InputError("cannot find the examples/ folder; pass --examples PATH",
                     column="--examples")


def shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def run_demo(out_dir: Path, examples: Path | None = None,
             progress_console: Console | None = None) -> DemoResult:
    examples = examples or default_examples()
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "saferboard.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)  # a fresh build every time: the demo is reproducible
    cats = categories.load()
    config = load_config()
    con = store.connect(db)
    try:
        report = ingest(con, [examples], cats)
        rows, title = headline_counts(con, cats, config.area)
    finally:
        con.close()
    return DemoResult(db, report, title, rows)


def headline_counts(con: Any, cats: categories.Categories, area: str
                    ) -> tuple[list[dict[str, Any]], str]:
    """Latest complete calendar quarter and rolling 12 months vs a year earlier, per
    headline category; MPS figures where the store has them for the area, else police.uk."""
    months = counts(con, cats, source="mps", areas=[area], by=["month"]).rows
    if not months:
        months = counts(con, cats, source="policeuk", areas=[area], by=["month"]).rows
    if not months:
        raise InputError(f"no data for {area!r} in the store")
    last = max(date.fromisoformat(f"{m}-01") for m, _ in months)
    ref = shift(last, -(last.month % 3)) if last.month % 3 else last
    windows = {
        "quarter": (shift(ref, -2), ref),
        "quarter_year_ago": (shift(ref, -14), shift(ref, -12)),
        "rolling12": (shift(ref, -11), ref),
        "rolling12_previous": (shift(ref, -23), shift(ref, -12)),
    }
    rows = []
    for name in HEADLINE:
        chosen: dict[str, Any] | None = None
        for source in ("mps", "policeuk"):
            values = {
                key: counts(con, cats, source=source, areas=[area], start=a, end=b,
                            category_names=[name]).total
                for key, (a, b) in windows.items()
            }
            if any(values.values()):
                chosen = {"category": name, "source": source, **values}
                break
        rows.append(chosen or {"category": name, "source": "no data",
                               **{k: None for k in windows}})
    q0, q1 = windows["quarter"]
    title = (f"{area}: quarter {q0:%b %Y}-{q1:%b %Y} and rolling 12 months to {q1:%b %Y}, "
             "each with the same window a year earlier")
    return rows, title
