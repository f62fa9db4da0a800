"""Request dependencies: the app's state, the signed-in user, the permission each route
needs and the CSRF check of every state-changing request."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from saferboard.core.errors import SaferboardError
from saferboard.web import auth
from saferboard.web.auth import Session
from saferboard.web.permissions import Perm, User, check

if TYPE_CHECKING:
    from saferboard.web.state import AppState

SESSION_COOKIE = "sb_session"
LOGIN_CSRF_COOKIE = "sb_login_csrf"
DEVICE_COOKIE = "sb_device"  # this browser has signed in to the account before (auth.py)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(SaferboardError, PermissionError):
    http_status = 403


@dataclass(frozen=True)
class Principal:
    user: User | None
    session: Session | None
    client: str

    @property
    def actor(self) -> str:
        return self.user.username if self.user else "anonymous"

    @property
    def role(self) -> str | None:
        return str(self.user.role) if self.user else None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""


def state(request: Request) -> AppState:
    value: AppState = request.app.state.saferboard
    return value


def forwarded_client(peer: str, forwarded: list[str], trusted_proxies: int) -> str:
    """The client address behind `trusted_proxies` proxies: each appends the address it
    received from to X-Forwarded-For, so the entry that many from the right is the last one a
    trusted proxy wrote; anything left of it came from the client and may be forged. With
    fewer entries than proxies, or an entry that is not an IP address, the request did not
    come through the proxies as configured: the peer's own address is used."""
    entries = [e.strip() for header in forwarded for e in header.split(",")]
    entries = [e for e in entries if e]
    if len(entries) < trusted_proxies:
        return peer
    candidate = entries[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def client_address(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    settings = state(request).settings
    if settings.behind_proxy:
        return forwarded_client(peer, request.headers.getlist("x-forwarded-for"),
                                settings.trusted_proxies)
    return peer


def _lookup(request: Request) -> Principal:
    st = state(request)
    token = request.cookies.get(SESSION_COOKIE)
    with st.db.connect() as con:
        session = auth.current_session(con, st.settings, token)
    return Principal(session.user if session else None, session, client_address(request))


def _quick_lookup(request: Request) -> Principal | None:
    """The principal when it needs no store access (no session cookie, or a session the
    open connection has cached and that needs no write); None: use `_lookup`. Runs on the
    event loop, so it does nothing that blocks."""
    st = state(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not auth.valid_token(token):
        return Principal(None, None, client_address(request))
    session = auth.cached_session(st.db.current(), st.settings, token)
    if session is None:
        return None
    return Principal(session.user, session, client_address(request))


async def _submitted_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached on the request for the route's Form fields
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


class Need:
    """`Depends(Need(Perm.x))`: the route's permission. Resolves the session, checks the
    permission (refusals raise and are audited by the app's error handler) and, for
    every method other than GET/HEAD/OPTIONS, the CSRF token of the session."""

    def __init__(self, *perms: Perm) -> None:
        if not perms:
            raise ValueError("a route needs at least one permission")
        self.perms = perms

    async def __call__(self, request: Request) -> Principal:
        principal = _quick_lookup(request)
        if principal is None:
            principal = await run_in_threadpool(_lookup, request)
        request.state.principal = principal
        check(principal.user, *self.perms)
        if request.method not in SAFE_METHODS:
            await verify_csrf(request, principal)
        return principal

    def __repr__(self) -> str:
        return f"Need({', '.join(p.value for p in self.perms)})"


async def verify_csrf(request: Request, principal: Principal) -> None:
    submitted = await _submitted_csrf(request)
    if principal.session is not None:
        expected = principal.session.csrf_token
    else:  # the login form: double-submit cookie (SameSite=Strict, HttpOnly)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfError("missing or wrong CSRF token; reload the page and try again")


def route_permissions(dependant: Any) -> tuple[Perm, ...] | None:
    """The permissions a route declares through Need (None: it declares none)."""
    for dep in dependant.dependencies:
        if isinstance(dep.call, Need):
            return dep.call.perms
        found = route_permissions(dep)
        if found is not None:
            return found
    return None
