"""Pseudonymised record-level data for analysts: partner incidents of one type, one row per
incident with the person's pseudonym number (within this list) and the date. Every view and
export is audited by the caller."""

from __future__ import annotations

from typing import Any

import duckdb

from saferboard.measures.repeats import EPOCH, load_incidents

MAX_ROWS = 5000


def incident_rows(con: duckdb.DuckDBPyConnection, incident_type: str,
                  limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    from datetime import timedelta

    inc = load_incidents(con, incident_type, by="person")
    order = sorted(range(len(inc.day)), key=lambda i: (int(inc.day[i]), int(inc.key[i])))
    return [{"incident_type": inc.incident_type, "person": f"P{int(inc.key[i]):06d}",
             "date": (EPOCH + timedelta(days=int(inc.day[i]))).isoformat()}
            for i in order[-limit:]]
