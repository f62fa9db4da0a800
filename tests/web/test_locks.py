"""The partnership manager confirms RAGs and locks quarters on the web (issue 8, item 3):
only the manager may; the pages and the API show the confirmed RAG and the lock; once a
quarter is locked every change for it is refused (409) and the refusal audited; CSRF."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from saferboard import store
from saferboard.store.locks import confirmations, locked_quarters
from saferboard.web import audit
from tests.web.conftest import ROLE_USER, Web


def _log(web: Web) -> list[audit.AuditEntry]:
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        return list(reversed(audit.entries(con, limit=10_000)))


def _store(web: Web) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        return (confirmations(con, "project"), confirmations(con, "action"),
                locked_quarters(con))


def _eiom(web: Web, client: Any) -> dict[str, Any]:
    rows = client.get("/api/projects?quarter=2016-Q4").json()  # one per KPI
    found: dict[str, Any] = next(p for p in rows if p["project_id"] == "EIOM")
    return found


def test_manager_confirms_a_rag_and_the_pages_show_it(web: Web) -> None:
    m = web.login("manager")
    page = m.get("/projects?quarter=2016-Q4").text
    assert 'action="/projects/EIOM/confirm"' in page and 'action="/quarters/2016-Q4/lock"' in page
    calculated = _eiom(web, m)["project_rag"]
    r = m.post("/projects/EIOM/confirm", data={"csrf_token": web.csrf(m), "quarter": "2016-Q4",
                                               "rag": "R"})
    assert r.status_code == 303 and r.headers["location"].startswith("/projects?quarter=2016-Q4")
    eiom = _eiom(web, m)
    # the calculated RAG stays beside the confirmed one
    assert eiom["project_rag"] == calculated and calculated != "Red"
    assert eiom["confirmed_rag"] == "Red" and eiom["confirmed_by"] == "manager"
    assert "confirmed RAG" in m.get("/projects?quarter=2016-Q4").text
    # every role that sees the project sees the confirmation
    board = web.login("board")
    assert _eiom(web, board)["confirmed_rag"] == "Red"
    # the action plan too
    r = m.post("/actions/AP1.01/confirm", data={"csrf_token": web.csrf(m), "quarter": "2012-Q4",
                                                "rag": "A"})
    assert r.status_code == 303
    plan = m.get("/api/actions?quarter=2012-Q4").json()
    ap = next(a for a in plan if a["action_id"] == "AP1.01")
    assert ap["confirmed_rag"] == "Amber" and ap["confirmed_by"] == "manager"
    assert "confirmed by manager" in m.get("/actions?quarter=2012-Q4").text
    rows = list(csv.DictReader(io.StringIO(m.get("/downloads/csv/projects").text)))
    assert {r["confirmed_rag"] for r in rows if r["project_id"] == "EIOM"} == {"Red"}
    assert {r["confirmed_rag"] for r in rows if r["project_id"] != "EIOM"} == {""}
    log = _log(web)
    entry = next(e for e in log if e.action == "project.confirm_rag")
    assert (entry.actor, entry.role, entry.object, entry.outcome) == (
        "manager", "manager", "project:EIOM:2016-Q4", "ok")
    assert entry.before is None and entry.after is not None
    assert json.loads(entry.after)["rag"] == "R"
    # confirming again records the change with its before
    m = web.login("manager")
    m.post("/projects/EIOM/confirm", data={"csrf_token": web.csrf(m), "quarter": "2016-Q4",
                                           "rag": "G"})
    again = [e for e in _log(web) if e.action == "project.confirm_rag"][-1]
    assert again.before is not None and again.after is not None
    assert (json.loads(again.before)["rag"], json.loads(again.after)["rag"]) == ("R", "G")
    with store.connect(web.db) as con:
        assert audit.verify(con) is None


def test_a_locked_quarter_refuses_every_change(web: Web) -> None:
    m = web.login("manager")
    token = web.csrf(m)
    for q in ("2016-Q4", "2012-Q4"):
        r = m.post(f"/quarters/{q}/lock", data={"csrf_token": token, "back": "projects"})
        assert r.status_code == 303
    page = m.get("/projects?quarter=2016-Q4").text
    assert "Quarter 2016-Q4 is locked" in page
    assert "/confirm" not in page and "/return" not in page and "/lock" not in page
    assert "Quarter 2012-Q4 is locked" in m.get("/actions?quarter=2012-Q4").text
    first = _store(web)[2]
    assert set(first) == {"2016-Q4", "2012-Q4"}
    # locking again changes nothing (idempotent) but is audited
    m = web.login("manager")
    web.clock.advance(minutes=5)
    assert m.post("/quarters/2016-Q4/lock", data={"csrf_token": web.csrf(m)}).status_code == 303
    assert _store(web)[2] == first
    before = _store(web)
    # a partner's return and update, and the manager's own confirmation: 409, audited
    council = web.login("council")
    r = council.post("/projects/EIOM/return", data={
        "csrf_token": web.csrf(council), "quarter": "2016-Q4", "spend": "1", "actual_0": "3"})
    assert r.status_code == 409 and "2016-Q4 is locked" in r.text
    police = web.login("police")
    r = police.post("/actions/AP1.01/update", data={
        "csrf_token": web.csrf(police), "quarter": "2012-Q4", "update": "late", "rag": "G"})
    assert r.status_code == 409 and "2012-Q4 is locked" in r.text
    m = web.login("manager")
    r = m.post("/projects/EIOM/confirm", data={"csrf_token": web.csrf(m), "quarter": "2016-Q4",
                                               "rag": "G"})
    assert r.status_code == 409
    assert _eiom(web, m)["confirmed_rag"] == ""
    assert {r["quarter_locked"] for r in m.get("/api/projects?quarter=2016-Q4").json()} == {True}
    assert "is locked</strong> (by manager on" in m.get("/projects?quarter=2016-Q4").text
    assert _store(web) == before
    log = _log(web)
    refused = {(e.actor, e.action, e.object): e for e in log if e.outcome == "refused 409"}
    assert set(refused) == {("council", "project.return", "project:EIOM:2016-Q4"),
                            ("police", "action.update", "action:AP1.01:2012-Q4"),
                            ("manager", "project.confirm_rag", "project:EIOM:2016-Q4")}
    for e in refused.values():
        assert e.after is not None and "is locked" in json.loads(e.after)["reason"]
    locks = [e for e in log if e.action == "quarter.lock" and e.object == "quarter:2016-Q4"]
    assert len(locks) == 2 and locks[0].before is None and locks[1].before == locks[1].after
    # other quarters stay open
    council = web.login("council")
    r = council.post("/projects/EIOM/return", data={
        "csrf_token": web.csrf(council), "quarter": "2016-Q3", "spend": "1", "actual_0": "3"})
    assert r.status_code == 303


@pytest.mark.parametrize("role", [r for r in ROLE_USER if r != "manager"])
def test_only_the_manager_may_confirm_or_lock(web: Web, role: str) -> None:
    c = web.login(ROLE_USER[role])
    token = web.csrf(c)
    for path, data in (("/projects/EIOM/confirm", {"quarter": "2016-Q4", "rag": "G"}),
                       ("/actions/AP1.01/confirm", {"quarter": "2012-Q4", "rag": "G"}),
                       ("/quarters/2016-Q4/lock", {})):
        assert c.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert _store(web) == ({}, {}, {})
    refused = [e for e in _log(web) if e.action == "refused" and e.outcome == "refused 403"]
    assert {e.object for e in refused} == {"POST /projects/EIOM/confirm",
                                           "POST /actions/AP1.01/confirm",
                                           "POST /quarters/2016-Q4/lock"}


def test_csrf_and_get_never_change_data(web: Web) -> None:
    m = web.login("manager")
    for path, data in (("/projects/EIOM/confirm", {"quarter": "2016-Q4", "rag": "G"}),
                       ("/quarters/2016-Q4/lock", {})):
        assert m.post(path, data=data).status_code == 403
        assert m.post(path, data={"csrf_token": "wrong", **data}).status_code == 403
        assert m.get(path).status_code == 405
    assert _store(web) == ({}, {}, {})
    assert [e for e in _log(web) if e.outcome == "refused 403"]


def test_bad_quarter_and_rag_are_refused(web: Web) -> None:
    m = web.login("manager")
    token = web.csrf(m)
    assert m.post("/quarters/2016-Q9/lock", data={"csrf_token": token}).status_code == 422
    r = m.post("/projects/EIOM/confirm", data={"csrf_token": token, "quarter": "2016-Q4",
                                               "rag": "X"})
    assert r.status_code == 422 and "RAG must be R, A or G" in r.text
    assert m.post("/projects/NOPE/confirm", data={"csrf_token": token, "quarter": "2016-Q4",
                                                  "rag": "G"}).status_code == 404
    assert _store(web) == ({}, {}, {})
