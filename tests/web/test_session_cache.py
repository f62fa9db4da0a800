"""The in-memory caches that make cached pages cheap (benchmarks/web.py) without weakening
the session rules: sessions cached per store connection, and, with --no-cache, measures
computed once per request rather than once per use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saferboard import store
from saferboard.web import auth, service
from tests.web.conftest import Web


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_cached_session_needs_no_store_lookup(web: Web,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    c = web.login("analyst")
    assert c.get("/api/me").status_code == 200
    lookups = _count_calls(monkeypatch, auth, "current_session")
    for _ in range(3):
        assert c.get("/overview").status_code == 200
    assert lookups == []
    web.clock.advance(seconds=61)  # the idle timer is due: the store is asked (and written)
    assert c.get("/api/me").status_code == 200
    assert len(lookups) == 1


def test_logout_ends_a_cached_session_at_once(web: Web) -> None:
    c = web.login("analyst")
    token = c.cookies.get("sb_session") or ""
    assert c.get("/api/me").status_code == 200  # now cached
    assert c.post("/logout", data={"csrf_token": web.csrf(c)}).status_code == 303
    replay = web.client()
    replay.cookies.set("sb_session", token)
    assert replay.get("/api/me").status_code == 401


def test_a_change_by_another_process_is_seen(web: Web) -> None:
    """`saferboard users disable` can only open the file once the app has released it; the
    reopened connection starts with an empty session cache."""
    c = web.login("board")
    assert c.get("/api/me").status_code == 200  # cached
    web.app.state.saferboard.db.close()  # what the idle timer does after 2 s
    con = store.connect(web.db)
    try:
        auth.disable_user(con, "board", now=web.clock(), actor="cli:test")
    finally:
        con.close()
    assert c.get("/api/me").status_code == 401
    assert c.get("/overview").status_code == 303


def test_timeouts_apply_to_cached_sessions(make_web: Callable[..., Web]) -> None:
    web = make_web(idle_timeout_s=600, absolute_timeout_s=100)
    c = web.login("board")
    assert c.get("/api/me").status_code == 200
    web.clock.advance(seconds=61)  # the idle timer is written and the session re-cached
    assert c.get("/api/me").status_code == 200
    web.clock.advance(seconds=30)  # 91 s after login: answered from the cache
    assert c.get("/api/me").status_code == 200
    web.clock.advance(seconds=10)  # 101 s after login, 40 s after the last write
    assert c.get("/api/me").status_code == 401


def test_without_the_cache_each_request_computes_its_measures_once(
        make_web: Callable[..., Web], monkeypatch: pytest.MonkeyPatch) -> None:
    web = make_web(cache_measures=False)
    c = web.login("analyst")
    loads = _count_calls(monkeypatch, service, "load_sources")
    assert c.get("/category/Burglary").status_code == 200
    assert len(loads) == 1  # area, dashboard, trend and peers share one load
    assert c.get("/overview").status_code == 200
    assert len(loads) == 2  # nothing is kept between requests
