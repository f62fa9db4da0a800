"""The cohort's rows are built once (saferboard.present.cohort) and a suppressed group is a
`Suppressed` value in every output: the disclosure mark in the CLI table, the web page and
the pack, null with "suppressed": true in JSON; never 0. A figure that cannot be computed
is a different thing ("-", null with "suppressed": false)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from saferboard import store
from saferboard.measures.cohort import (
    PublishedCohort,
    cohort_measures,
    load_cohort,
    pooled,
    suppress_small_cohorts,
)
from saferboard.measures.disclosure import MARK
from saferboard.present.cohort import GROUP_COLUMNS, CohortGroupOut, groups
from saferboard.present.values import SUPPRESSED, Suppressed
from tests.conftest import cli_ok
from tests.test_cohort_store import AS_OF

HIDDEN = ("Pilot", "Comparison", "Pilot: Home Office recordable",
          "Comparison: Home Office recordable")


def test_suppressed_is_not_a_number() -> None:
    assert Suppressed() is SUPPRESSED and str(SUPPRESSED) == MARK
    assert SUPPRESSED != 0 and SUPPRESSED is not None
    with pytest.raises(TypeError):  # `x or 0` must fail, not print 0
        bool(SUPPRESSED)
    g = CohortGroupOut.of("Pilot", None)
    assert g.members is SUPPRESSED and g.suppressed is True
    assert g.keyed()["members"] is None and g.keyed()["suppressed"] is True
    assert g.cells() == {**{c: MARK for c in GROUP_COLUMNS}, "group": "Pilot",
                         "suppressed": "yes"}


def test_not_computable_is_not_suppressed() -> None:
    # Two members with no community time after joining: no rate after, nothing hidden.
    g = CohortGroupOut.of("x", pooled(2, 6, 0, 2.0, 0.0))
    assert (g.members, g.rate_before, g.rate_after, g.suppressed) == (2, 3.0, None, False)
    assert g.cells()["rate_after"] is None and g.cells()["suppressed"] == "no"
    assert json.loads(json.dumps(g.keyed()))["rate_after"] is None


def _published(db: Path) -> PublishedCohort:
    con = store.connect(db, read_only=True)
    try:
        return suppress_small_cohorts(cohort_measures(load_cohort(con), as_of=AS_OF,
                                                      resamples=0), 5)
    finally:
        con.close()


def _rows(html: str, start: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by first cell) of the first table after `start`, as text."""
    table = html[html.index(start):]
    table = table[:table.index("</table>")]

    def text(cells: list[str]) -> list[str]:
        return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]

    header = text(re.findall(r"<th[^>]*>(.*?)</th>", table, re.S))
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = text(re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S))
        if cells:
            rows[cells[0]] = cells
    return header, rows


def test_cli_json_and_table_never_show_a_suppressed_group_as_zero(
        partner_db: Path) -> None:
    body = json.loads(cli_ok("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat(),
                             "--format", "json"))
    assert body["suppressed"] == ["Comparison", "Pilot"]
    for name in ("Pilot", "Comparison"):
        for group in (body["by_cohort"][name], body["by_cohort"][name]["ho_recordable"]):
            assert group["suppressed"] is True
            figures = {k: v for k, v in group.items() if k not in ("suppressed", "ho_recordable")}
            assert set(figures.values()) == {None}, figures
    statutory = body["by_cohort"]["Statutory"]
    assert statutory["suppressed"] is False and statutory["members"] == 60
    # The same rows as present.cohort.groups, in the table and CSV.
    rows = groups(_published(partner_db))
    lines = cli_ok("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat(), "--format",
                   "csv").splitlines()
    assert lines[0].split(",") == list(GROUP_COLUMNS)
    assert len(lines) == 1 + len(rows)
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] in HIDDEN:
            assert cells[1:] == [MARK] * 6 + ["yes"], line


def _web_client(db: Path, tmp_path: Path) -> tuple[FastAPI, TestClient]:
    from saferboard.web.app import create_app
    from saferboard.web.auth import add_user
    from saferboard.web.settings import Settings
    from tests.web.conftest import PASSWORD, SECRET, Clock, Web

    copy = tmp_path / "web.duckdb"
    shutil.copy(db, copy)
    con = store.connect(copy)
    try:
        add_user(con, "analyst", PASSWORD, "analyst", agency=None, can_export=True,
                 now=datetime(2026, 1, 5, tzinfo=UTC), actor="test-setup")
    finally:
        con.close()
    clock = Clock(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    app = create_app(Settings(db=copy, secret=SECRET, clock=clock))
    web = Web(app, Settings(db=copy, secret=SECRET, clock=clock), clock, copy)
    return app, web.login("analyst")


def test_web_page_and_api_never_show_a_suppressed_group_as_zero(
        partner_db: Path, tmp_path: Path) -> None:
    app, c = _web_client(partner_db, tmp_path)
    try:
        page = c.get("/people")
        assert page.status_code == 200
        header, rows = _rows(page.text, 'id="cohort"')
        assert header == list(GROUP_COLUMNS)
        for name in HIDDEN:
            assert rows[name][1:] == [MARK] * 6 + ["yes"], rows[name]
        assert rows["Statutory"][1] == "60" and rows["Statutory"][-1] == "no"
        api = c.get("/api/people").json()
        cohort = next(s for s in api if s["key"] == "cohort")["tables"][0]
        assert cohort["columns"] == list(GROUP_COLUMNS)
        by = {r[0]: r for r in cohort["rows"]}
        for name in HIDDEN:
            assert by[name][1:] == [None] * 6 + [True]
        assert by["Statutory"][1] == 60 and by["Statutory"][-1] is False
    finally:
        app.state.saferboard.db.close()


def test_pack_page_never_shows_a_suppressed_group_as_zero(partner_db: Path
                                                          ) -> None:
    from saferboard.report.cohort import section_from
    from saferboard.report.pack import _environment

    published = _published(partner_db)
    section = section_from(published)
    assert [r["group"] for r in section.rows] == [g.group for g in groups(published)]
    html = _environment().get_template("_people.html.j2").render(
        people={"domestic_abuse": None, "asb_callers": None, "burglary": None,
                "marac": None, "threshold": 5}, cohort=section, costs=None)
    header, rows = _rows(html, 'id="cohort"')
    assert header == [c.replace("_", " ").capitalize() for c in GROUP_COLUMNS]
    for name in HIDDEN:
        assert rows[name][1:] == [MARK] * 6 + ["yes"], rows[name]
    assert rows["Statutory"][1] == "60"
