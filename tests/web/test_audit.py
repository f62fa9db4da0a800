"""The audit log: complete (logins, record-level views and exports, changes with
before/after, refusals; actor, action, object, UTC time, client) and append-only."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from saferboard import store
from saferboard.web import audit
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD, Web, csrf_from


def _log(web: Web) -> list[audit.AuditEntry]:
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        return list(reversed(audit.entries(con, limit=10_000)))


def _find(entries: list[audit.AuditEntry], action: str, **fields: object
          ) -> audit.AuditEntry:
    for e in entries:
        if e.action == action and all(getattr(e, k) == v for k, v in fields.items()):
            return e
    raise AssertionError(f"no {action} entry with {fields}")


def test_audit_is_complete(web: Web) -> None:
    now = web.clock.now.replace(tzinfo=None)
    c = web.client()
    page = c.get("/login")
    c.post("/login", data={"username": "analyst", "password": "wrong password",
                           "csrf_token": csrf_from(page.text)})
    page = c.get("/login")
    c.post("/login", data={"username": "ghost", "password": "wrong password",
                           "csrf_token": csrf_from(page.text)})
    analyst = web.login("analyst")
    assert analyst.get("/records?type=domestic abuse").status_code == 200
    assert analyst.get("/api/records/incidents?limit=7").status_code == 200
    assert analyst.get("/downloads/csv/records").status_code == 200
    assert analyst.get("/admin/users").status_code == 403
    assert analyst.post("/actions/AP1.01/update", data={"quarter": "2012-Q4"}
                        ).status_code == 403
    assert web.client().get("/api/people").status_code == 401
    police = web.login("police")
    r = police.post("/actions/AP1.01/update", data={
        "csrf_token": web.csrf(police), "quarter": "2012-Q4", "plan": "More patrols",
        "update": "Done in March", "rag": "G"})
    assert r.status_code == 303
    assert police.post("/projects/EIOM/return", data={
        "csrf_token": web.csrf(police), "quarter": "2016-Q4"}).status_code == 404
    admin = web.login("admin")
    assert admin.post("/admin/users", data={
        "csrf_token": web.csrf(admin), "username": "newbie", "password": PASSWORD,
        "role": "partner", "agency": "Fire"}).status_code == 303
    assert admin.post("/admin/users/newbie/disable", data={"csrf_token": web.csrf(admin)}
                      ).status_code == 303
    assert admin.post("/logout", data={"csrf_token": web.csrf(admin)}).status_code == 303

    log = _log(web)
    for e in log:
        assert (e.at == now and e.client == "testclient") or e.actor == "test-setup"
    failed = _find(log, "login", actor="analyst", outcome="failed")
    assert json.loads(failed.after or "{}") == {"reason": "wrong password"}
    ghost = _find(log, "login", actor="ghost", outcome="failed")
    assert json.loads(ghost.after or "{}") == {"reason": "unknown user"}
    assert _find(log, "login", actor="analyst", outcome="ok").role == "analyst"
    assert _find(log, "records.view", actor="analyst", object="partner_incidents:domestic "
                 "abuse").after == json.dumps({"rows": 500})
    assert _find(log, "records.view", actor="analyst").outcome == "ok"
    _find(log, "records.export", actor="analyst")
    _find(log, "refused", actor="analyst", object="GET /admin/users", outcome="refused 403")
    _find(log, "refused", actor="analyst", object="POST /actions/AP1.01/update")
    _find(log, "refused", actor="anonymous", object="GET /api/people", outcome="refused 401")
    _find(log, "refused", actor="police", object="POST /projects/EIOM/return",
          outcome="refused 404")
    change = _find(log, "action.update", actor="police", object="action:AP1.01:2012-Q4")
    before, after = json.loads(change.before or "{}"), json.loads(change.after or "{}")
    assert after == {"quarter": "2012-Q4", "plan": "More patrols", "update": "Done in March",
                     "rag": "G"}
    assert before["quarter"] == "2012-Q4" and before != after
    added = _find(log, "user.add", actor="admin", object="user:newbie")
    assert added.before is None and json.loads(added.after or "{}")["agency"] == "Fire"
    assert PASSWORD not in (added.after or "")
    disabled = _find(log, "user.disable", actor="admin", object="user:newbie")
    assert json.loads(disabled.before or "{}")["disabled"] is False
    assert json.loads(disabled.after or "{}")["disabled"] is True
    _find(log, "logout", actor="admin")
    assert isinstance(log[0].at, datetime)


def test_dpo_reads_the_log_and_others_cannot(web: Web) -> None:
    web.login("board")
    dpo = web.login("dpo")
    body = dpo.get("/api/audit?limit=5").json()
    assert body["chain_intact"] is True
    assert body["entries"][0]["action"] == "login"
    assert body["entries"][0]["at"] == "2026-01-05T10:00:00Z"
    assert "intact" in dpo.get("/audit").text
    for user in ("board", "analyst", "admin", "manager", "police"):
        assert web.login(user).get("/api/audit").status_code == 403


def test_no_code_path_updates_or_deletes_the_audit_log() -> None:
    pattern = re.compile(r"(UPDATE\s+web_audit|DELETE\s+FROM\s+web_audit|TRUNCATE\s+"
                         r"(TABLE\s+)?web_audit|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?web_audit|"
                         r"ALTER\s+TABLE\s+web_audit|INSERT\s+OR\s+REPLACE\s+INTO\s+web_audit)",
                         re.IGNORECASE)
    offenders = []
    writers = set()
    for path in (ROOT / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if pattern.search(text):
            offenders.append(str(path))
        if re.search(r"INSERT\s+INTO\s+web_audit", text, re.IGNORECASE):
            writers.add(path.name)
    assert not offenders
    assert writers == {"audit.py"}  # one writer, and it only inserts
    # The pattern does catch the statements it is meant to catch.
    assert pattern.search("con.execute('delete from web_audit where 1')")


def test_the_app_offers_no_way_to_change_the_log(web: Web) -> None:
    dpo = web.login("dpo")
    token = web.csrf(dpo, "/audit")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/audit", "/api/audit"):
            r = dpo.request(method, path, headers={"X-CSRF-Token": token})
            assert r.status_code == 405, (method, path)
    before = _log(web)
    assert before and all(e.hash for e in before)


def test_tampering_outside_the_app_is_detected(web: Web) -> None:
    web.login("board")
    web.login("analyst")
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        assert audit.verify(con) is None
        ids = [r[0] for r in con.execute("SELECT audit_id FROM web_audit ORDER BY 1")
               .fetchall()]
        # Someone with a database tool rewrites who logged in ...
        con.execute("UPDATE web_audit SET actor = 'someone' WHERE audit_id = ?", [ids[-1]])
        assert audit.verify(con) == ids[-1]
    dpo = web.login("dpo")
    assert dpo.get("/api/audit").json()["first_broken"] == ids[-1]
    assert "broken" in dpo.get("/audit").text


def test_deleting_an_entry_is_detected(web: Web) -> None:
    web.login("board")
    web.login("analyst")
    web.login("manager")
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        ids = [r[0] for r in con.execute("SELECT audit_id FROM web_audit ORDER BY 1")
               .fetchall()]
        con.execute("DELETE FROM web_audit WHERE audit_id = ?", [ids[-2]])
        assert audit.verify(con) == ids[-1]


def test_layering_pages_hold_no_sql() -> None:
    web = ROOT / "src" / "saferboard" / "web"
    for name in ("pages.py", "api.py", "downloads.py", "service.py", "people.py",
                 "governance.py", "records.py"):
        text = (web / name).read_text(encoding="utf-8")
        assert not re.search(r"\bSELECT\b|\.execute\(", text), name
    assert "fastapi" not in Path(ROOT / "src" / "saferboard" / "measures" / "periods.py"
                                 ).read_text(encoding="utf-8")
