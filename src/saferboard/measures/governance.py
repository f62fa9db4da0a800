"""The board pack's money and governance results in one call: the cost-benefit analyses of
the saved models, the saved options appraisals, the funded projects and the action plan, for
the latest quarter with data up to the pack's.

The models were saved as text (`saferboard cba MODEL --save`); they are parsed here from that
text with the unit costs and GDP deflator the caller passes in, so no file is read. A model
that no longer parses is left out and named, with the reason, in `skipped`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter
from saferboard.measures import actions as actions_mod
from saferboard.measures import appraisal as appraisal_mod
from saferboard.measures import cba as cba_mod
from saferboard.measures import projects as projects_mod
from saferboard.sources.appraisal_model import load_appraisal
from saferboard.sources.cba_model import CbaModel, UnitCost, load_model
from saferboard.store.governance import latest_quarter_not_after, saved_models


@dataclass(frozen=True)
class SavedCba:
    model: CbaModel
    result: cba_mod.CbaResult
    sensitivity: cba_mod.Sensitivity


@dataclass(frozen=True)
class ValueForMoney:
    cba: tuple[SavedCba, ...]
    appraisals: tuple[appraisal_mod.AppraisalResult, ...]
    combined: tuple[cba_mod.PartnerLine, ...]  # every model's partners together; () for one
    skipped: tuple[tuple[str, str, str], ...]  # (kind: "model" | "appraisal", name, reason)


@dataclass(frozen=True)
class GovernanceResults:
    value_for_money: ValueForMoney | None  # None: not asked for, or nothing saved
    anything_saved: bool
    projects: projects_mod.ProjectsReport | None  # None: no return up to the quarter
    actions: actions_mod.ActionsReport | None  # None: no action plan update up to it


def value_for_money(con: duckdb.DuckDBPyConnection, unit_costs: Mapping[str, UnitCost],
                    deflator: tuple[tuple[str, float], ...]) -> ValueForMoney | None:
    """Every saved cost-benefit model and options appraisal, appraised; None if none saved."""
    cba_saved = saved_models(con, "cba")
    appraisals_saved = saved_models(con, "appraisal")
    if not cba_saved and not appraisals_saved:
        return None
    skipped: list[tuple[str, str, str]] = []
    cba: list[SavedCba] = []
    for name, path, content in cba_saved:
        try:
            m = load_model(Path(path), unit_costs, deflator, text=content)
        except InputError as e:
            skipped.append(("model", name, str(e)))
            continue
        cba.append(SavedCba(m, cba_mod.appraise_cba(m), cba_mod.sensitivity(m)))
    appraisals: list[appraisal_mod.AppraisalResult] = []
    for name, path, content in appraisals_saved:
        try:
            appraisals.append(appraisal_mod.appraise(load_appraisal(Path(path), text=content)))
        except InputError as e:
            skipped.append(("appraisal", name, str(e)))
    results = [c.result for c in cba]
    combined = tuple(cba_mod.combine(results)) if len(results) > 1 else ()
    return ValueForMoney(tuple(cba), tuple(appraisals), combined, tuple(skipped))


def governance_results(con: duckdb.DuckDBPyConnection, limit: Quarter, *,
                       agency: str | None, unit_costs: Mapping[str, UnitCost] | None,
                       deflator: tuple[tuple[str, float], ...] | None) -> GovernanceResults:
    """Projects and actions for the latest quarter with data up to `limit`, only `agency`'s
    when given; value for money only when unit costs and a deflator are given (the caller
    leaves them out for one agency's copy: every partner's money is not for it)."""
    vfm = None
    anything_saved = False
    if unit_costs is not None and deflator is not None:
        vfm = value_for_money(con, unit_costs, deflator)
        anything_saved = vfm is not None
    projects = None
    q = latest_quarter_not_after(con, "gov_returns", limit)
    if q is not None:
        projects = projects_mod.projects_report(con, q, agency=agency)
    actions = None
    q = latest_quarter_not_after(con, "gov_action_updates", limit)
    if q is not None:
        actions = actions_mod.actions_report(con, q, agency=agency)
    return GovernanceResults(vfm, anything_saved, projects, actions)
