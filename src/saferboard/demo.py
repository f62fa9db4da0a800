"""The demo: build the example database from examples/, then Barnet's dashboard and board
pack (HTML, PDF, XLSX) for the latest complete quarter in the example data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from saferboard import categories, store
from saferboard.config import load_config
from saferboard.errors import InputError
from saferboard.measures.dashboard import Dashboard, dashboard, latest_month, load_sources
from saferboard.measures.windows import latest_quarter_end
from saferboard.report.pack import PackResult, write_pack
from saferboard.sources.ingest import IngestReport, ingest


@dataclass(frozen=True)
class DemoResult:
    db: Path
    ingest: IngestReport
    dashboard: Dashboard
    pack: PackResult


def default_examples() -> Path:
    """examples/ of the checkout this package is installed from (editable install)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples"
        if (candidate / "README.md").exists() and (candidate / "mps").exists():
            return candidate
    raise InputError("cannot find the examples/ folder; pass --examples PATH",
                     column="--examples")


def run_demo(out_dir: Path, examples: Path | None = None) -> DemoResult:
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
        sources = load_sources(con, cats)
        month = latest_quarter_end(latest_month(sources, config.area))
        board = dashboard(sources, cats, config, config.area, month)
        pack = write_pack(con, cats, config, config.area, month, out_dir, xlsx=True)
    finally:
        con.close()
    return DemoResult(db, report, board, pack)
