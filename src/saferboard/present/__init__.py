"""The presentation layer: each measure's result formatted once, as typed (pydantic) output
models, so the CLI's tables and `--format json|csv`, the JSON API, the XLSX and the board
pack print the same figures under the same names. A count hidden by disclosure control is
a `Suppressed` value here, never 0.

One module per result kind: `dashboard` (indicators and the chosen period), `targets`,
`compare` (peer rows), `trend`, `quality`, `cohort` (the offender cohort's groups, offence
types and projection), `costs` (cost of crime), `governance` (funded projects and the action
plan), `outcomes` (outcome groups and sanction detections), `counts` (crime counts by the
keys asked); `values` holds `Suppressed`.
Each model's `of(result)` is the one place a result becomes output; JSON is
`model_dump(mode="json")`, table and CSV rows its fields.

May import: measures and core (and pydantic). Imported by report, web and cli; never by
measures or below, and never imports an entry point or a web or template library.
"""

from saferboard.present.dashboard import (
    FLAG_MARK,
    RAG_LETTER,
    dashboard_csv,
    dashboard_table,
    indicator_json,
)
from saferboard.present.values import SUPPRESSED, Suppressed

__all__ = ["FLAG_MARK", "RAG_LETTER", "SUPPRESSED", "Suppressed", "dashboard_csv",
           "dashboard_table", "indicator_json"]
