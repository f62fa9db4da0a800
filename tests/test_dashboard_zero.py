"""A category the source publishes as zeros is a real zero, not 'no data'."""

from __future__ import annotations

from datetime import date

from saferboard.core.config import load_config
from saferboard.measures.dashboard import dashboard, load_sources
from saferboard.sources.ingest import ingest


def test_all_zero_category_is_zero_not_missing(con, cats, tmp_path):
    months = [f"{y}{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    lines = ["MajorText,MinorText,BoroughName," + ",".join(months),
             "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Barnet," + ",".join(["0"] * 24),
             "BURGLARY,BURGLARY - RESIDENTIAL,Barnet," + ",".join(["7"] * 24)]
    path = tmp_path / "mps.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest(con, [path], cats)
    board = dashboard(load_sources(con, cats), cats, load_config(), "Barnet",
                      date(2025, 12, 1), ["Personal robbery", "Residential burglary",
                                          "Homicide"])
    robbery, burglary, homicide = board.rows
    assert robbery.source == "mps" and robbery.rolling12_volume == 0
    assert robbery.rolling12_change_pct is None and robbery.p_value == 1.0
    assert burglary.rolling12_volume == 84 and burglary.rolling12_change_pct == 0.0
    # Homicide is never published for Barnet in this table: no data, with a note.
    assert homicide.source is None and "no Homicide" in (homicide.note or "")
