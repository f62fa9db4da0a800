"""Abuse limits (issue 16, item 3): throttling that never locks out another user, only the
configured proxy hops trusted in X-Forwarded-For, request bodies capped before they are
read, and an audit log that anonymous clients cannot grow without bound."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from saferboard import store
from saferboard.web import audit
from saferboard.web.deps import DEVICE_COOKIE, forwarded_client
from tests.web.conftest import PASSWORD, Web, csrf_from


def _attempt(web: Web, username: str, password: str, *, forwarded: str | None = None,
             client: TestClient | None = None) -> int:
    c = client or web.client("https://testserver")  # Secure cookies behind a proxy
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    page = c.get("/login", headers=headers)
    r = c.post("/login", headers=headers, data={
        "username": username, "password": password, "csrf_token": csrf_from(page.text)})
    return r.status_code


def _counted(rows: list[audit.AuditEntry]) -> int:
    """Refusals the rows stand for: one each, a row of folded repeats for its count."""
    return sum(json.loads(e.after or "{}").get("repeated", 1) for e in rows)


def _log(web: Web) -> list[audit.AuditEntry]:
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        return list(reversed(audit.entries(con, limit=100_000)))


# ------------------------------------------------------------------------------ throttling


def test_an_attackers_failures_do_not_lock_out_the_user_elsewhere(
        make_web: Callable[..., Web]) -> None:
    web = make_web(behind_proxy=True, login_max_failures=3)
    for _ in range(6):
        assert _attempt(web, "board", "wrong password", forwarded="203.0.113.66") == 401
    # The attacker's address is refused for that account, even with the right password ...
    assert _attempt(web, "board", PASSWORD, forwarded="203.0.113.66") == 401
    # ... but the board member, from the council's address, signs in.
    assert _attempt(web, "board", PASSWORD, forwarded="198.51.100.7") == 303


def test_an_attacker_at_a_shared_address_does_not_lock_out_a_colleague_there(
        make_web: Callable[..., Web]) -> None:
    # An office NAT or a council gateway: the attacker and the analyst share the address.
    # Throttling by address only would lock the analyst out with the attacker's failures.
    web = make_web(behind_proxy=True, login_max_failures=3)
    for _ in range(3):
        assert _attempt(web, "board", "wrong password", forwarded="198.51.100.7") == 401
    assert _attempt(web, "board", PASSWORD, forwarded="198.51.100.7") == 401  # throttled
    assert _attempt(web, "analyst", PASSWORD, forwarded="198.51.100.7") == 303
    refused = [e for e in _log(web) if e.action == "login" and e.outcome != "ok"]
    assert [json.loads(e.after or "{}").get("reason") for e in refused][-1] == (
        "throttled: username from this address")


def test_an_address_over_its_limit_is_refused_for_every_username_others_are_not(
        make_web: Callable[..., Web]) -> None:
    web = make_web(behind_proxy=True, login_max_failures=2)
    for i in range(8):  # 4 x the per-username limit, spread over usernames
        assert _attempt(web, f"guess{i}", "wrong password", forwarded="203.0.113.66") == 401
    assert _attempt(web, "analyst", PASSWORD, forwarded="203.0.113.66") == 401
    assert _attempt(web, "analyst", PASSWORD, forwarded="198.51.100.7") == 303


def test_a_distributed_attack_cannot_lock_out_a_browser_that_signed_in_before(
        make_web: Callable[..., Web]) -> None:
    web = make_web(behind_proxy=True, login_max_failures=1)
    own = web.client("https://testserver")
    assert _attempt(web, "board", PASSWORD, forwarded="198.51.100.7", client=own) == 303
    assert own.cookies.get(DEVICE_COOKIE)
    for i in range(10):  # 10 x the limit, from ten addresses: the per-username limit
        assert _attempt(web, "board", "wrong password", forwarded=f"203.0.113.{i}") == 401
    # A new browser is refused now (the account is under attack) ...
    assert _attempt(web, "board", PASSWORD, forwarded="198.51.100.8") == 401
    # ... the member's own browser is not.
    assert _attempt(web, "board", PASSWORD, forwarded="198.51.100.7", client=own) == 303


def test_throttled_attempts_are_not_checked_or_stored(make_web: Callable[..., Web]) -> None:
    web = make_web(login_max_failures=2)
    for _ in range(30):
        assert _attempt(web, "board", "wrong password") == 401
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        row = store.one(con, "SELECT count(*) FROM web_login_attempts")
    assert row is not None and row[0] == 2  # the two that were checked


# ----------------------------------------------------------------------- X-Forwarded-For


def test_forwarded_client_takes_the_entry_the_proxies_wrote() -> None:
    peer = "10.0.0.1"
    assert forwarded_client(peer, ["1.2.3.4, 198.51.100.7"], 1) == "198.51.100.7"
    assert forwarded_client(peer, ["1.2.3.4", "198.51.100.7"], 1) == "198.51.100.7"
    assert forwarded_client(peer, ["1.2.3.4, 198.51.100.7, 10.0.0.2"], 2) == "198.51.100.7"
    assert forwarded_client(peer, ["198.51.100.7"], 2) == peer  # fewer entries than proxies
    assert forwarded_client(peer, ["<script>"], 1) == peer  # not an address
    assert forwarded_client(peer, [], 1) == peer


def test_spoofed_forwarded_for_neither_escapes_throttling_nor_reaches_the_log(
        make_web: Callable[..., Web]) -> None:
    web = make_web(behind_proxy=True, login_max_failures=2)
    for i in range(8):  # a new forged first entry each time; the proxy appends the real one
        forged = f"10.9.9.{i}, 203.0.113.66"
        assert _attempt(web, f"guess{i}", "wrong password", forwarded=forged) == 401
    assert _attempt(web, "analyst", PASSWORD, forwarded="10.1.1.1, 203.0.113.66") == 401
    clients = {e.client for e in _log(web) if e.action == "login"}
    assert clients == {"203.0.113.66"}


def test_two_trusted_proxies(make_web: Callable[..., Web]) -> None:
    web = make_web(behind_proxy=True, trusted_proxies=2)
    assert _attempt(web, "analyst", PASSWORD, forwarded="6.6.6.6, 198.51.100.7, 10.0.0.2"
                    ) == 303
    login = [e for e in _log(web) if e.action == "login"]
    assert login[-1].client == "198.51.100.7"


# ------------------------------------------------------------------------------ body caps


def _call(web: Web, path: str, headers: list[tuple[bytes, bytes]],
          chunks: int | None) -> tuple[int, int]:
    """POST to the app directly: (status, body chunks the app pulled). `chunks` None: the
    body is never offered (the test fails if the app asks for it)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if chunks is None:
            raise AssertionError("the body was read")
        pulled += 1
        return {"type": "http.request", "body": b"u" * 65536, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", b"testserver"), *headers],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "scheme": "http",
             "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"}}
    asyncio.run(web.app(scope, receive, send))  # type: ignore[arg-type]
    return int(sent[0]["status"]), pulled


def test_a_declared_large_body_is_refused_unread(web: Web) -> None:
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    status, _ = _call(web, "/login", [*form, (b"content-length", b"1000000000")], None)
    assert status == 413
    status, _ = _call(web, "/api/me", [*form, (b"content-length", b"1000000000")], None)
    assert status == 413


def test_a_streamed_body_is_cut_off_at_the_limit(web: Web) -> None:
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    status, pulled = _call(web, "/login", form, chunks=16_000)  # 1 GB if all were read
    assert status == 413
    assert pulled == 1  # the login limit (16 KiB) is passed by the first 64 KiB chunk
    # Signed out, a form post is answered before its body is read at all.
    status, pulled = _call(web, "/projects/P1/return", form, chunks=16_000)
    assert (status, pulled) == (303, 0)
    c = web.login("police")
    signed_in = [*form, (b"cookie", f"sb_session={c.cookies.get('sb_session')}".encode()),
                 (b"x-csrf-token", web.csrf(c).encode())]
    status, pulled = _call(web, "/projects/P1/return", signed_in, chunks=16_000)
    assert status == 413
    assert pulled == 17  # 1 MiB = 16 chunks; the 17th passes it


# ----------------------------------------------------------------------- audit growth


def test_anonymous_refusals_are_folded_and_bounded_but_all_counted(web: Web) -> None:
    before = len(_log(web))
    c = web.client()
    for i in range(150):
        assert c.get(f"/api/dashboard?i={i}").status_code == 401
        assert c.get("/category/" + "x" * 5000 + str(i)).status_code == 303
    web.clock.advance(seconds=61)
    assert c.get("/api/me").status_code == 401  # the next window: the last one is written
    rows = _log(web)[before:]
    refused = [e for e in rows if e.action == "refused"]
    assert len(refused) == 3  # the first of the window, its repeats, the next window's first
    assert all(len(e.object) <= audit.MAX_OBJECT for e in rows)
    assert _counted(refused) == 301
    summary = json.loads(refused[1].after or "{}")
    # The two paths, the long one cut to the same bounded text each time.
    assert summary["repeated"] == 299 and len(summary["objects"]) == 2
    with store.connect(web.db) as con:
        assert audit.verify(con) is None


def test_a_flood_of_throttled_logins_adds_a_bounded_number_of_rows(
        make_web: Callable[..., Web]) -> None:
    web = make_web(login_max_failures=2)
    before = len(_log(web))
    for i in range(40):
        assert _attempt(web, f"guess{i % 3}", "wrong password") == 401
    web.clock.advance(seconds=61)
    assert _attempt(web, "guess0", "wrong password") == 401
    rows = [e for e in _log(web)[before:] if e.action == "login"]
    # Checked failures: 2 per username up to the address limit of 8; then one folded row
    # per window and one with the repeats.
    assert len(rows) <= 8 + 3
    assert _counted(rows) == 41


def test_signed_in_refusals_are_each_logged(web: Web) -> None:
    c = web.login("board")
    before = len(_log(web))
    c = web.login("board")
    for _ in range(3):
        assert c.get("/data").status_code == 403
    refused = [e for e in _log(web)[before:] if e.action == "refused"]
    assert [e.actor for e in refused] == ["board"] * 3
