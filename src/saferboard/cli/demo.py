"""The demo: build the example database from examples/, then Barnet's dashboard and board
pack (HTML, PDF, XLSX) for the latest complete quarter in the example data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.core.errors import InputError
from saferboard.core.pseudonym import load_key
from saferboard.measures.dashboard import Dashboard, dashboard, latest_month, load_sources
from saferboard.measures.windows import latest_quarter_end
from saferboard.report.pack import PackResult, write_pack
from saferboard.sources.governance import load_example_governance
from saferboard.sources.ingest import IngestReport, ingest
from saferboard.sources.partner import ingest_partner


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


PARTNER_KINDS = ("incidents", "marac", "cohort", "custody", "offences")


def _load_partner_examples(con: duckdb.DuckDBPyConnection, folder: Path, out_dir: Path
                           ) -> None:
    """The synthetic partner extracts, pseudonymised with a demo secret made beside the
    database (a partnership keeps its real secret outside the database folder)."""
    secret = out_dir / "demo.secret"
    if not secret.exists():
        secret.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        secret.chmod(0o600)
    key = load_key(secret)
    for kind in PARTNER_KINDS:
        ingest_partner(con, kind, folder / f"{kind}.csv", key)


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
        report = ingest(con, [examples / "policeuk", examples / "mps"], cats)
        load_example_governance(con, examples)  # value for money, projects, action plan
        _load_partner_examples(con, examples / "partner", out_dir)
        sources = load_sources(con, cats)
        month = latest_quarter_end(latest_month(sources, config.area))
        board = dashboard(sources, cats, config, config.area, month)
        pack = write_pack(con, cats, config, config.area, month, out_dir, xlsx=True,
                          sources=sources)
    finally:
        con.close()
    return DemoResult(db, report, board, pack)
