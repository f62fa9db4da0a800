"""The statistics: pure functions that take data (a DuckDB connection to read from, counts,
reference data) and return frozen dataclasses, one module per family (dashboard, compare,
targets, outcomes, hotspots, density, near repeat, area rates, repeats, MARAC, cohort, costs,
disclosure control, cost-benefit, appraisal, projects, actions, governance). No file or
network I/O: shipped reference data comes from core, passed in or loaded there.

May import: core, store (read queries, locks) and of sources only the model types
(sources.cba_model, sources.appraisal_model). Never Typer, Rich, FastAPI or Jinja.
"""
