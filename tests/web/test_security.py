"""Security core: settings refusals, sessions (fixation, replay, timeouts, disable), CSRF,
throttling, headers, error pages, /docs, cross-agency access and GET without side effects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.web import auth
from saferboard.web.app import app_routes, create_app
from saferboard.web.deps import SESSION_COOKIE
from saferboard.web.settings import Settings
from tests.web.conftest import PASSWORD, SECRET, Web, csrf_from

# ------------------------------------------------------------------------------ settings


@pytest.mark.parametrize("secret", ["", "changeme", "secret", "short-but-random-9f8a"])
def test_refuses_placeholder_or_short_secret(base_db: Path, secret: str) -> None:
    with pytest.raises(InputError, match="placeholder or shorter"):
        create_app(Settings(db=base_db, secret=secret))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_refuses_public_host_without_tls_or_proxy(base_db: Path, host: str) -> None:
    with pytest.raises(InputError, match="without TLS"):
        Settings(db=base_db, secret=SECRET, host=host).check()
    Settings(db=base_db, secret=SECRET, host=host, behind_proxy=True).check()
    Settings(db=base_db, secret=SECRET, host=host, tls_certfile=Path("c.pem"),
             tls_keyfile=Path("k.pem")).check()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_is_fine_without_tls(base_db: Path, host: str) -> None:
    Settings(db=base_db, secret=SECRET, host=host).check()


def test_docs_off_unless_enabled(make_web: Callable[..., Web]) -> None:
    off = make_web().client()
    assert off.get("/docs").status_code == 404
    assert off.get("/redoc").status_code == 404
    on = make_web(enable_docs=True).client()
    assert on.get("/docs").status_code == 200
    assert on.get("/api/openapi.json").json()["paths"]["/api/dashboard"]


# ------------------------------------------------------------------------------ anonymous


def test_anonymous_api_is_401_with_the_error_shape(web: Web) -> None:
    r = web.client().get("/api/dashboard")
    assert r.status_code == 401
    assert r.json() == {"error": {"status": 401, "message": "Please sign in."}}


def test_anonymous_page_redirects_to_login(web: Web) -> None:
    r = web.client().get("/overview?period=fy")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/overview"


# -------------------------------------------------------------------------------- sessions


def test_new_session_id_at_login_no_fixation(web: Web) -> None:
    c = web.client()
    c.cookies.set(SESSION_COOKIE, "attacker-chosen-value")
    web.login("analyst", client=c)
    values = [k.value for k in c.cookies.jar if k.name == SESSION_COOKIE]
    token = next(v for v in values if v != "attacker-chosen-value")
    assert token and token != "attacker-chosen-value" and len(token) >= 40
    # The attacker's value is not a session, and a second login gets another id.
    attacker = web.client()
    attacker.cookies.set(SESSION_COOKIE, "attacker-chosen-value")
    assert attacker.get("/api/me").status_code == 401
    again = web.login("analyst")
    assert again.cookies.get(SESSION_COOKIE) != token
    with store.connect(web.db) as con:
        stored = [r[0] for r in con.execute("SELECT session_hash FROM web_sessions").fetchall()]
    assert token not in stored  # only a keyed hash of the cookie is kept


def test_replay_after_logout_is_refused(web: Web) -> None:
    c = web.login("analyst")
    token = c.cookies.get(SESSION_COOKIE)
    assert c.get("/api/me").status_code == 200
    r = c.post("/logout", data={"csrf_token": web.csrf(c)})
    assert r.status_code == 303
    replay = web.client()
    replay.cookies.set(SESSION_COOKIE, token or "")
    assert replay.get("/api/me").status_code == 401
    assert replay.get("/overview").status_code == 303


def test_idle_timeout(make_web: Callable[..., Web]) -> None:
    web = make_web(idle_timeout_s=600)
    c = web.login("board")
    web.clock.advance(seconds=599)
    assert c.get("/api/me").status_code == 200  # and the idle timer restarts
    web.clock.advance(seconds=599)
    assert c.get("/api/me").status_code == 200
    web.clock.advance(seconds=601)
    assert c.get("/api/me").status_code == 401


def test_absolute_timeout(make_web: Callable[..., Web]) -> None:
    web = make_web(idle_timeout_s=1800, absolute_timeout_s=8 * 3600)
    c = web.login("board")
    for _ in range(16):  # active every 29 minutes: never idle, 7 h 44 min in all
        web.clock.advance(minutes=29)
        assert c.get("/api/me").status_code == 200
    web.clock.advance(minutes=17)  # 8 h 01 min after login
    assert c.get("/api/me").status_code == 401


def test_disabling_a_user_ends_their_sessions(web: Web) -> None:
    victim = web.login("probation")
    assert victim.get("/api/me").status_code == 200
    admin = web.login("admin")
    r = admin.post("/admin/users/probation/disable", data={"csrf_token": web.csrf(admin)})
    assert r.status_code == 303
    assert victim.get("/api/me").status_code == 401
    c = web.client()
    page = c.get("/login")
    r = c.post("/login", data={"username": "probation", "password": PASSWORD,
                               "csrf_token": csrf_from(page.text)})
    assert r.status_code == 401


def test_cookie_flags(make_web: Callable[..., Web]) -> None:
    for behind_proxy in (False, True):
        web = make_web(behind_proxy=behind_proxy)
        c = web.client("https://testserver" if behind_proxy else "http://testserver")
        page = c.get("/login")
        r = c.post("/login", data={"username": "board", "password": PASSWORD,
                                   "csrf_token": csrf_from(page.text)})
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie"
                      and v.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert ("Secure" in cookie) is behind_proxy


# ------------------------------------------------------------------------------------ CSRF


def test_every_state_changing_route_needs_the_csrf_token(web: Web) -> None:
    c = web.login("admin")
    good = web.csrf(c)
    other = web.csrf(web.login("manager"))  # a valid token of another session
    posts = [r for r in app_routes(web.app) if isinstance(r, APIRoute)
             and r.methods - {"GET", "HEAD"}]
    assert {r.path for r in posts} >= {"/logout", "/admin/users", "/login",
                                       "/actions/{action_id}/update"}
    for route in posts:
        path = route.path.format(action_id="AP1.01", project_id="EIOM", username="board",
                                 quarter="2012-Q4", case_ref="P-1")
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"},
                     {"csrf_token": other}):
            r = c.post(path, data=data)
            # Admin may use the user routes (then CSRF decides: 403); elsewhere the role
            # check comes first (403 as well). Either way nothing happens.
            assert r.status_code == 403, (path, data, r.status_code)
    assert c.get("/api/me").status_code == 200  # the session survived (no logout happened)
    with store.connect(web.db) as con:
        assert not con.execute("SELECT * FROM web_users WHERE disabled").fetchall()
    r = c.post("/admin/users/board/disable", data={"csrf_token": good})
    assert r.status_code == 303


def test_csrf_refusal_even_with_the_right_role(web: Web) -> None:
    c = web.login("police")
    r = c.post("/actions/AP1.01/update", data={"quarter": "2012-Q4", "update": "x"})
    assert r.status_code == 403
    r = c.post("/actions/AP1.01/update", headers={"X-CSRF-Token": web.csrf(c)},
               data={"quarter": "2012-Q4", "update": "x"})
    assert r.status_code == 303


def test_login_form_needs_its_token(web: Web) -> None:
    c = web.client()
    r = c.post("/login", data={"username": "board", "password": PASSWORD})
    assert r.status_code == 403
    assert SESSION_COOKIE not in c.cookies


# ------------------------------------------------------------------------------ throttling


def _attempt(web: Web, username: str, password: str) -> int:
    c = web.client()
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": password,
                               "csrf_token": csrf_from(page.text)})
    if r.status_code == 401:
        assert auth.LOGIN_FAILED in r.text.replace("&#39;", "'")
    return r.status_code


def test_login_throttling_same_message_for_unknown_users(make_web: Callable[..., Web]
                                                         ) -> None:
    web = make_web(login_max_failures=3, login_window_s=900)
    for _ in range(3):
        assert _attempt(web, "board", "wrong password") == 401
        assert _attempt(web, "no-such-user", "wrong password") == 401
    # Throttled now: even the right password is refused, with the same message.
    assert _attempt(web, "board", PASSWORD) == 401
    assert _attempt(web, "no-such-user", PASSWORD) == 401
    assert _attempt(web, "analyst", PASSWORD) == 303  # other accounts are not affected
    web.clock.advance(seconds=901)
    assert _attempt(web, "board", PASSWORD) == 303


def test_client_address_throttling(make_web: Callable[..., Web]) -> None:
    web = make_web(login_max_failures=2)
    for i in range(8):  # 4 x the per-user limit from one address, spread over usernames
        assert _attempt(web, f"guess{i}", "wrong password") == 401
    assert _attempt(web, "analyst", PASSWORD) == 401


# ----------------------------------------------------------------------- headers, errors


def test_security_headers(web: Web) -> None:
    c = web.login("analyst")
    for path in ("/overview", "/api/people", "/login", "/records", "/static/web.css"):
        r = c.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "http" not in csp and "*" not in csp and "unsafe" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        if not path.startswith("/static/"):
            assert r.headers["cache-control"] == "no-store"
    r = c.get("/nowhere")
    assert r.status_code == 404 and r.headers["cache-control"] == "no-store"


def test_generic_error_pages(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /etc/secret.toml")

    monkeypatch.setattr(web.app.state.saferboard.measures, "dashboard", boom)
    c = web.login("analyst")
    for path in ("/overview", "/api/dashboard"):
        r = c.get(path)
        assert r.status_code == 500
        assert "internal detail" not in r.text and "Traceback" not in r.text
        assert "went wrong" in r.text
    assert c.get("/api/dashboard?month=2025-13x").status_code == 422


# ------------------------------------------------------------------------- cross agency


def test_cross_agency_access_by_id_is_404(web: Web) -> None:
    probation = web.login("probation")
    token = web.csrf(probation)
    r = probation.post("/actions/AP1.01/update", data={  # a Police action
        "csrf_token": token, "quarter": "2012-Q4", "update": "not mine"})
    assert r.status_code == 404
    unknown = probation.post("/actions/NO-SUCH-ID/update", data={
        "csrf_token": token, "quarter": "2012-Q4", "update": "x"})
    assert unknown.status_code == 404 and unknown.text == r.text.replace(
        "AP1.01", "NO-SUCH-ID")  # the same answer: existence is not disclosed
    police = web.login("police")
    r = police.post("/projects/EIOM/return", data={  # a Barnet Council project
        "csrf_token": web.csrf(police), "quarter": "2016-Q4", "actual_0": "1"})
    assert r.status_code == 404
    mine = {a["agency"] for a in police.get("/api/actions").json()}
    assert mine == {"Police"}
    every = {a["agency"] for a in web.login("board").get("/api/actions").json()}
    assert {"Police", "Probation"} < every
    with store.connect(web.db) as con:
        texts = [r[0] for r in con.execute(
            "SELECT update_text FROM gov_action_updates WHERE source = 'web'").fetchall()]
    assert texts == []


def test_get_requests_change_no_data(web: Web) -> None:
    tables = ("web_users", "gov_action_updates", "gov_returns", "gov_kpi_values",
              "gov_projects", "gov_actions", "batches", "partner_batches")

    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        with store.connect(web.db) as con:
            return {t: sorted(map(tuple, con.execute(f"SELECT * FROM {t}").fetchall()),
                              key=repr) for t in tables}

    web.app.state.saferboard.db.close()
    before = snapshot()
    for user in ("analyst", "manager", "admin", "dpo", "police"):
        c = web.login(user)
        for route in app_routes(web.app):
            if isinstance(route, APIRoute) and "GET" in route.methods:
                path = route.path.format(category="Burglary", name="leaflet.js",
                                         kind="csv", table="dashboard", case_ref="P-1")
                c.get(path)
    web.app.state.saferboard.db.close()
    assert snapshot() == before


def test_login_redirects_only_within_the_site(web: Web) -> None:
    for target, expected in (("/people", "/people"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        c = web.client()
        page = c.get("/login")
        r = c.post("/login", data={"username": "board", "password": PASSWORD,
                                   "csrf_token": csrf_from(page.text), "next": target})
        assert r.status_code == 303 and r.headers["location"] == expected, target


def test_refuses_a_missing_database(tmp_path: Path) -> None:
    from saferboard.core.errors import StoreError

    with pytest.raises(StoreError, match="no such database"):
        create_app(Settings(db=tmp_path / "typo.duckdb", secret=SECRET))
    assert not (tmp_path / "typo.duckdb").exists()
