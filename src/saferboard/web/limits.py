"""Request body limits, applied before the app reads a byte of the body.

A body declared larger than the limit (Content-Length) is answered 413 at once, unread; a
body sent without a length (chunked) is counted as it streams and the request is ended with
413 as soon as it passes the limit. Nothing is spooled to disk first: Starlette's form
parser would otherwise write a large anonymous upload to a temporary file before any check
ran. /login, the only form open to anonymous clients, has a much smaller limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit: an HTTPException, so
    that the app's handler answers 413 when a route was reading the body."""

    def __init__(self) -> None:
        super().__init__(413)


class BodyLimit:
    """Pure ASGI middleware: refuse request bodies over `max_bytes` (`login_bytes` for
    /login) with 413 and the app's error shape, without reading them."""

    def __init__(self, app: ASGIApp, max_bytes: int, login_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.login_bytes = login_bytes

    def limit(self, path: str) -> int:
        return self.login_bytes if path == "/login" else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.limit(path)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1  # unparseable: refuse rather than guess
                if declared > limit:
                    await _too_large(send, path, limit)
                    return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if not started:
                await _too_large(send, path, limit)


async def _too_large(send: Send, path: str, limit: int) -> None:
    text = f"The request body is larger than the limit of {limit:,} bytes."
    if path.startswith("/api/"):
        body = json.dumps({"error": {"status": 413, "message": text}}).encode()
        kind = b"application/json"
    else:
        body = (f"<!doctype html><title>Too large</title><p>{text}</p>").encode()
        kind = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
