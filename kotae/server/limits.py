"""Limits the server enforces before a request reaches a route: body size, rate, headers.

All are plain ASGI middleware or small classes, configured under ``[server]``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_PATH = "/api/documents"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
# the interactive API docs load their page and spec from the server itself
DOCS_CSP = b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


def error_body(status: int, kind: str, message: str, code: str | None = None) -> bytes:
    """An error in OpenAI's shape (a superset of kotae's ``{"error": {type, message}}``)."""
    return json.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        ensure_ascii=False,
    ).encode("utf-8")


async def send_error(
    send: Send,
    status: int,
    kind: str,
    message: str,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
) -> None:
    body = error_body(status, kind, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a body over the limit with 413 before the route reads it: by its
    Content-Length when given, else while it streams in. Uploads have their own limit."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] == UPLOAD_PATH and scope["method"] == "POST"
        limit = self.max_upload if upload else self.max_body
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, 400, "invalid_request_error", "bad Content-Length")
                    return
                if declared > limit:
                    await self._refuse(send, limit, upload)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except TooLarge:
            if not started:
                await self._refuse(send, limit, upload)

    async def _refuse(self, send: Send, limit: int, upload: bool) -> None:
        what = "upload" if upload else "request body"
        key = "max_upload_bytes" if upload else "max_body_bytes"
        await send_error(
            send,
            413,
            "invalid_request_error",
            f"the {what} is larger than {limit} bytes ([server] {key})",
        )


class SecurityHeaders:
    """Adds the security headers to every response (the docs page gets a CSP that lets it
    load its own script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in ("/docs", "/redoc")

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name, DOCS_CSP if docs and name == b"content-security-policy" else value)
                    for name, value in SECURITY_HEADERS
                    if name not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, add)


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts up to that many.
    Counts are per server process (each ``--workers`` process keeps its own)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[Any, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: Any, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
