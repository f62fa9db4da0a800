"""The case register's pages and API: open, update, assess, review and close a case; every
view and change audited in the register in the same transaction; another agency's case is
404; without a key the pages say the register is not configured (404, never a 500)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from saferboard.core.casekeys import load_case_key
from saferboard.store import cases as cs
from tests.web.case_fixtures import OTHER, VICTIM, case_web
from tests.web.conftest import Web


@pytest.fixture
def cweb(make_web: Callable[..., Web], tmp_path: Path) -> Web:
    return case_web(make_web, tmp_path)


def _audit(web: Web) -> list[tuple[str, str, str | None, str]]:
    con = sqlite3.connect(web.settings.cases_db)  # type: ignore[arg-type]
    try:
        return con.execute("SELECT actor, action, case_ref, detail FROM audit "
                           "ORDER BY id").fetchall()
    finally:
        con.close()


def test_partner_opens_updates_assesses_reviews_and_closes(cweb: Web) -> None:
    c = cweb.login("police")
    token = cweb.csrf(c, "/cases")
    r = c.post("/cases", data={"csrf_token": token, "case_ref": "P-NEW", "opened": "2025-12-01",
                               "case_type": "ASB", "shared_with": "Probation; Police",
                               "person_name": "Ophelia Grange", "person_dob": "1950-02-03"})
    assert r.status_code == 303 and r.headers["location"] == "/cases/P-NEW"
    steps = [("incidents", {"date": "2025-12-02", "reported_to": "housing provider",
                            "description": "Noise at night"}),
             ("assessments", {"date": "2025-12-03", "yes": ["repeat", "targeted"]}),
             ("actions", {"owner": "Housing", "due": "2025-12-20",
                          "description": "Fit door chain"}),
             ("reviews", {"date": "2025-12-10", "outcome": "Keep open"}),
             ("notes", {"date": "2025-12-11", "text": "Spoke to neighbour"}),
             ("people", {"role": "witness", "name": "Percy Lindqvist"})]
    for kind, data in steps:
        r = c.post(f"/cases/P-NEW/{kind}", data={"csrf_token": token, **data})
        assert r.status_code == 303, (kind, r.status_code, r.text[:300])
    body = c.get("/api/cases/P-NEW").json()
    assert body["agency"] == "Police" and body["shared_with"] == ["Probation"]
    assert [p["name"] for p in body["people"]] == ["Ophelia Grange", "Percy Lindqvist"]
    assert body["incidents"] == [{"date": "2025-12-02", "reported_to": "housing provider",
                                  "description": "Noise at night"}]
    # repeat (4) + targeted (4) = 8 = the shipped matrix's medium threshold
    latest = body["assessments"][-1]
    assert (latest["score"], latest["level"], latest["assessor"]) == (8, "medium", "police")
    assert latest["answers"]["repeat"] and not latest["answers"]["hate"]
    action = body["actions"][0]
    assert (action["owner"], action["due"], action["done"]) == ("Housing", "2025-12-20", False)
    r = c.post(f"/cases/P-NEW/actions/{action['id']}/done", data={"csrf_token": token,
                                                                   "done": "yes"})
    assert r.status_code == 303
    assert c.get("/api/cases/P-NEW").json()["actions"][0]["done"] is True
    page = c.get("/cases/P-NEW")
    assert page.status_code == 200 and "Ophelia Grange" in page.text and "medium" in page.text
    r = c.post("/cases/P-NEW/close", data={"csrf_token": token, "date": "2025-12-12"})
    assert r.status_code == 303
    assert c.get("/api/cases/P-NEW").json()["closed"] == "2025-12-12"
    # Closed is final: a further change is 409 and changes nothing.
    r = c.post("/cases/P-NEW/notes", data={"csrf_token": token, "date": "2025-12-13",
                                           "text": "late"})
    assert r.status_code == 409
    actions = [(a, ref) for _, a, ref, _ in _audit(cweb) if ref == "P-NEW"]
    assert actions == [("open", "P-NEW"), ("incident", "P-NEW"), ("assess", "P-NEW"),
                       ("action", "P-NEW"), ("review", "P-NEW"), ("note", "P-NEW"),
                       ("person", "P-NEW"), ("export", "P-NEW"), ("action-done", "P-NEW"),
                       ("export", "P-NEW"), ("view", "P-NEW"), ("close", "P-NEW"),
                       ("export", "P-NEW")]
    # The audit rows hold no personal value.
    text = repr(_audit(cweb))
    for secret in ("Ophelia", "Grange", "Noise", "neighbour", "Percy", "1950-02-03",
                   "door chain", "Keep open"):
        assert secret not in text


def test_api_round_trip_and_validation(cweb: Web) -> None:
    c = cweb.login("council")
    token = cweb.csrf(c, "/cases")
    h = {"X-CSRF-Token": token}
    r = c.post("/api/cases", headers=h, json={
        "case_ref": "BC-9", "opened": "2025-03-01",
        "people": [{"role": "perpetrator", "name": "Rex Holloway"}]})
    assert r.status_code == 201, r.text
    r = c.post("/api/cases/BC-9/assessments", headers=h,
               json={"date": "2025-03-02", "yes": ["unsafe_home"]})
    assert r.status_code == 201 and r.json()["level"] == "high", r.text
    assert r.json()["escalated_by"] == ["unsafe_home"]
    # A date before the case opened, a bad channel, a number as a date, an unknown question,
    # a control character: 422, the field named, never the value.
    bad = [("incidents", {"date": "2025-02-01", "reported_to": "police"}),
           ("incidents", {"date": "2025-03-05", "reported_to": "neighbour"}),
           ("reviews", {"date": "1740787200"}),
           ("assessments", {"date": "2025-03-05", "yes": ["no_such_question"]}),
           ("notes", {"date": "2025-03-05", "text": "Rex\x00Holloway"})]
    for kind, data in bad:
        r = c.post(f"/api/cases/BC-9/{kind}", headers=h, json=data)
        assert r.status_code == 422, (kind, r.status_code, r.text)
        assert "Holloway" not in r.text and "neighbour" not in r.text
    assert c.post("/api/cases", headers=h, json={"case_ref": "BC-9", "opened": "2025-03-01"}
                  ).status_code == 422  # the reference is taken
    listed = [x["case_ref"] for x in c.get("/api/cases").json()]
    assert sorted(listed) == ["BC-1", "BC-9"]


def test_the_case_is_stored_encrypted(cweb: Web) -> None:
    c = cweb.login("police")
    token = cweb.csrf(c, "/cases")
    c.post("/cases/P-1/notes", data={"csrf_token": token, "date": "2025-06-01",
                                      "text": "Zebediah visited"})
    data = b"".join(p.read_bytes() for p in Path(str(cweb.settings.cases_db)).parent.glob(
        "cases.sqlite*"))
    for secret in (VICTIM, OTHER, "Zebediah", "1960-05-01"):
        assert secret.encode() not in data and secret.encode("utf-16-le") not in data


def test_other_agency_case_is_404_and_audited_as_refusal(cweb: Web) -> None:
    c = cweb.login("probation")
    assert c.get("/cases/P-1").status_code == 404
    assert c.get("/cases/NO-SUCH").status_code == 404
    assert c.get("/cases/PR-1").status_code == 200
    r = c.get("/api/cases/BC-1")
    assert r.status_code == 404 and r.json()["error"]["status"] == 404
    assert VICTIM not in c.get("/cases").text
    with cweb.app.state.saferboard.db.connect() as con:
        refused = con.execute("SELECT object, outcome FROM web_audit WHERE actor = "
                              "'probation' AND action = 'refused' ORDER BY audit_id").fetchall()
    assert ("GET /cases/P-1", "refused 404") in refused
    assert ("GET /api/cases/BC-1", "refused 404") in refused
    # Nothing about the refused cases was viewed in the register.
    assert not [row for row in _audit(cweb) if row[0] == "probation" and row[2] != "PR-1"]


def test_agenda_lists_the_agency_cases_due(cweb: Web) -> None:
    c = cweb.login("police")
    a = c.get("/api/cases/agenda?as_of=2025-02-10").json()
    # Opened 2025-01-06, no assessment: standard level, 28 days -> due 2025-02-03.
    assert a["due"] == [{"case_ref": "P-1", "risk_level": "standard", "due": "2025-02-03",
                         "overdue_days": 7},
                        {"case_ref": "PR-1", "risk_level": "standard", "due": "2025-02-03",
                         "overdue_days": 7}]
    page = c.get("/cases/agenda?as_of=2025-02-10")
    assert page.status_code == 200 and "BC-1" not in page.text and "PR-1" in page.text
    assert c.get("/cases/agenda?as_of=2025-13-01").status_code == 422


def test_board_sees_suppressed_figures_only(cweb: Web) -> None:
    c = cweb.login("board")
    f = c.get("/api/cases/figures?as_of=2025-02-10").json()
    # Three open standard cases: below 5, so suppressed, and the total with them (it would
    # give the suppressed cell away, the other cells being 0).
    assert f["open_by_level"] == {"standard": None, "medium": 0, "high": 0}
    assert f["open_total"] is None and f["reviews_overdue"] is None
    assert f["case_review"]["applications"] == 0
    assert c.get("/cases/P-1").status_code == 403
    assert c.get("/api/cases").status_code == 403
    page = c.get("/cases/figures?as_of=2025-02-10")
    assert page.status_code == 200 and VICTIM not in page.text and "P-1" not in page.text


def test_without_a_key_the_register_is_not_configured(make_web: Callable[..., Web]) -> None:
    web = make_web()
    c = web.login("police")
    r = c.get("/cases")
    assert r.status_code == 404 and "not configured" in r.text
    r = c.get("/api/cases")
    assert r.status_code == 404 and "not configured" in r.json()["error"]["message"]
    token = web.csrf(c)
    r = c.post("/cases/P-1/notes", data={"csrf_token": token})  # not a 422: no form read
    assert r.status_code == 404 and "not configured" in r.text
    assert web.login("board").get("/cases/P-1").status_code == 403


def test_a_wrong_key_stops_the_server(make_web: Callable[..., Web], tmp_path: Path) -> None:
    from tests.web.case_fixtures import seed_register

    _, db = seed_register(tmp_path)
    other = tmp_path / "other.key"
    other.write_text("z" * 40 + "\n", encoding="utf-8")
    with pytest.raises(Exception, match="another key"):
        make_web(case_key_file=other, cases_db=db)
    keys = load_case_key(tmp_path / "cases.key")
    con = cs.connect(db, keys)
    assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 3
    con.close()


def test_serve_refuses_a_short_or_wrong_case_key(base_db: Path, tmp_path: Path) -> None:
    import os
    import shutil

    from tests.conftest import run_cli
    from tests.web.case_fixtures import seed_register
    from tests.web.conftest import SECRET

    db = tmp_path / "web.duckdb"
    shutil.copy(base_db, db)
    _, cases_db = seed_register(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFERBOARD_")}
    short = tmp_path / "short.key"
    short.write_text("tooshort\n", encoding="utf-8")
    r = run_cli("serve", "--db", db, "--case-key-file", short, "--cases-db", cases_db,
                env={**env, "SAFERBOARD_WEB_SECRET": SECRET})
    assert r.code == 1 and "at least 32" in r.stderr and "secrets.token_urlsafe" in r.stderr
    other = tmp_path / "other.key"
    other.write_text("q" * 48 + "\n", encoding="utf-8")
    r = run_cli("serve", "--db", db, "--cases-db", cases_db, env={
        **env, "SAFERBOARD_WEB_SECRET": SECRET, "SAFERBOARD_CASE_KEY_FILE": str(other)})
    assert r.code == 1 and "another key" in r.stderr
    assert "Traceback" not in r.stderr


def test_the_dpo_reads_the_register_audit_log(cweb: Web) -> None:
    police = cweb.login("police")
    assert police.get("/cases/P-1").status_code == 200
    assert police.get("/cases/audit").status_code == 403  # officers do not read the log
    dpo = cweb.login("dpo")
    rows = dpo.get("/api/cases/audit?case_ref=P-1").json()
    # Newest first: the police officer's view, then the seed's action and opening.
    assert [(r["actor"], r["action"]) for r in rows] == [("police", "view"),
                                                         ("seed", "action"), ("seed", "open")]
    page = dpo.get("/cases/audit")
    assert page.status_code == 200 and "PR-1" in page.text and VICTIM not in page.text
    assert dpo.get("/cases/P-1").status_code == 403  # and never a case itself
    assert dpo.get("/api/cases/audit?case_ref=bad%20ref").status_code == 422
