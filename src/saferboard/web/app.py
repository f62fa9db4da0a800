"""`create_app(settings)`: the FastAPI application (no module-level state).

One error handler turns every failure into a generic page (or the pinned JSON error shape
under /api/) without stack traces; refusals (401, 403, CSRF, another agency's object) are
written to the audit log there. Every response carries the security headers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saferboard.core.errors import InputError, SaferboardError, StoreError
from saferboard.web import audit
from saferboard.web.db import RETRY_AFTER_S, Database
from saferboard.web.deps import CsrfError, Principal, client_address, route_permissions
from saferboard.web.limits import BodyLimit
from saferboard.web.permissions import Forbidden, NotAuthenticated, NotFound
from saferboard.web.rendering import render, templates, vendor_files
from saferboard.web.service import Measures
from saferboard.web.settings import Settings
from saferboard.web.state import AppState

log = logging.getLogger("saferboard.web")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
MESSAGES = {400: "The request could not be understood.", 401: "Please sign in.",
            403: "You do not have permission to do that.",
            404: "There is nothing here, or you may not see it.",
            405: "That method is not allowed here.",
            413: "The request is too large.",
            422: "Some of the values given are not valid.",
            503: "The database is busy (an import may be running) or unavailable; try again "
                 "shortly.",
            500: "Something went wrong on our side. The error has been logged."}


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response; no-store on everything
    but the static files (pages and API answers may hold personal data)."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(("/static/", "/vendor/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, relative(v) if k.lower() == b"location" else v)
                           for k, v in message.get("headers", [])
                           if k.lower() not in (b"cache-control", b"server")]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cache-control", b"public, max-age=3600" if static else b"no-store"),
                ]
                if not static:
                    headers.append((b"pragma", b"no-cache"))
                if self.hsts:
                    headers.append((b"strict-transport-security",
                                    b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def relative(location: bytes) -> bytes:
    """A redirect target without scheme and host. Starlette builds absolute ones from the
    request's Host header (the trailing-slash and static-directory redirects), which a
    client sets: `Host: evil.example` would otherwise send the browser there."""
    parts = urlsplit(location.decode("latin-1"))
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    path = "/" + path.lstrip("/")  # "//evil.example" would still leave the site
    return (path + (f"?{parts.query}" if parts.query else "")
            + (f"#{parts.fragment}" if parts.fragment else "")).encode("latin-1")


def create_app(settings: Settings) -> FastAPI:
    """The web app for `settings` (checked first: unsafe settings raise InputError)."""
    settings.check()
    if not settings.db.is_file():
        raise StoreError(f"{settings.db}: no such database; import data first with "
                         "'saferboard ingest' (and add accounts with 'saferboard users add')")
    db = Database(settings.db)
    with db.connect():  # opens (and migrates) the store now: a bad path fails at start-up
        pass
    st = AppState(settings, db, Measures.create(settings, db), templates(), vendor_files())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        with suppress(SaferboardError), db.connect() as con:
            audit.record_repeats(con, app.state.refusals.drain())
        db.close()

    from saferboard.web import account, api, cases, downloads, pages

    app = FastAPI(
        title="saferboard", version="1", lifespan=lifespan,
        description="Community Safety Partnership dashboards: the same measures as the "
        "board pack, by role. Sign in through /login; every request then carries the "
        "session cookie (state-changing requests also the X-CSRF-Token header).",
        openapi_url="/api/openapi.json",
        docs_url="/docs" if settings.enable_docs else None, redoc_url=None,
        # The routers' routes as they are, not through include_router: FastAPI 0.16x builds
        # an included router's routes again for each app (each route's parameters and
        # response model, about 0.1 s of CPU at the app's first request), and these need
        # nothing from an inclusion: each router sets its own prefix, tags and responses
        # (the OpenAPI document is the same either way). The tests start hundreds of apps.
        routes=[*pages.router.routes, *account.router.routes, *downloads.router.routes,
                *api.router.routes, *cases.router.routes, *cases.api.routes],
    )
    app.state.saferboard = st
    app.state.refusals = audit.RefusalTally()
    app.state.audit_chain = audit.ChainCheck()  # the DPO's page verifies new rows only
    # An oversized body is refused before any route reads it (the 413 still gets the
    # security headers: the middleware added last runs first).
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       login_bytes=settings.max_login_body_bytes)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    _add_error_handlers(app)

    cases.install(app, settings)  # the case register (docs/cases.md); its routes are above
    app.mount("/static", StaticFiles(packages=[("saferboard.web", "static")]), name="static")
    _check_routes(app)
    return app


def app_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of the app. create_app adds the routers' routes themselves, so the list
    is flat; but a router added with include_router is one entry (FastAPI 0.16x keeps it
    with its `original_router`), and its routes are flattened here, so that the deny-by-
    default check (_check_routes) and the tests that walk every route still see them."""
    out: list[BaseRoute] = []
    pending: list[BaseRoute] = list(app.routes)
    while pending:
        route = pending.pop(0)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            pending = list(inner.routes) + pending
        else:
            out.append(route)
    return out


def _check_routes(app: FastAPI) -> None:
    """Deny by default: every route must declare its permission with Need."""
    for route in app_routes(app):
        if isinstance(route, APIRoute) and route_permissions(route.dependant) is None:
            raise RuntimeError(f"route {route.path} declares no permission (use Need)")


def _audit_refusal(request: Request, status: int, reason: str) -> None:
    st: AppState = request.app.state.saferboard
    principal: Principal | None = getattr(request.state, "principal", None)
    user = principal.user if principal else None
    try:
        # Anonymous refusals are folded per address (audit.RefusalTally): counted, but the
        # log cannot be grown without bound by someone who is not even signed in.
        audit.refusal(st.db, request.app.state.refusals, at=st.settings.clock(),
                      actor=user.username if user else "anonymous",
                      role=str(user.role) if user else None, action="refused",
                      obj=f"{request.method} {request.url.path}", outcome=f"refused {status}",
                      client=client_address(request), reason=reason, fold=user is None)
    except SaferboardError:
        log.exception("could not write the audit log entry of a refusal")


def _error(request: Request, status: int, message: str | None = None) -> Response:
    text = message or MESSAGES.get(status, MESSAGES[500])
    headers = {"WWW-Authenticate": "Cookie"} if status == 401 else {}
    if status == 503:  # another process has the store for a moment (an import)
        headers["Retry-After"] = str(RETRY_AFTER_S)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": {"status": status, "message": text}}, status_code=status,
                            headers=headers or None)
    if status == 401:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    principal: Principal | None = getattr(request.state, "principal", None)
    response = render(request, "error.html.j2", principal, status=status, status_code=status,
                      message=text)
    response.headers.update(headers)
    return response


def _input_text(exc: SaferboardError) -> str:
    """An error in the web's words: a bad parameter named as the query or form field it
    came from. The web's fields carry the library's parameter names (area, month, category,
    period, type), so only the word changes; never a CLI flag."""
    if isinstance(exc, InputError):
        return exc.message(word="field")
    return str(exc)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SaferboardError)
    async def saferboard_error(request: Request, exc: SaferboardError) -> Response:
        status = exc.http_status
        if isinstance(exc, NotAuthenticated | Forbidden | NotFound | CsrfError):
            await run_in_threadpool(_audit_refusal, request, status, str(exc))
            # 403 and 404 keep their generic text: what was refused is in the audit log.
            return _error(request, status, str(exc) if isinstance(exc, CsrfError) else None)
        if isinstance(exc, StoreError):
            log.warning("store unavailable: %s", exc)
            return _error(request, 503)
        if status >= 500:
            log.error("error %s on %s: %s", status, request.url.path, exc)
            return _error(request, status)
        # Input errors name the parameter and what is allowed; they hold no secrets.
        return _error(request, status, _input_text(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        return _error(request, 422, "Not valid: " + ", ".join(f for f in fields if f))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error(request, 500)
