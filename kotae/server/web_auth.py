"""Web login over HTTP: the session cookie, CSRF checks and the login rate limit.

- **The cookie** ``kotae_session`` holds a session's token (:mod:`kotae.security.sessions`):
  ``HttpOnly; SameSite=Strict; Path=/``, and ``Secure`` by ``[server] cookie_secure``
  (``auto``: everywhere but plain http to a loopback host, so that a browser on the same
  machine and the tests keep it).
- **CSRF.** A request authenticated by the cookie with an unsafe method (POST, PUT, PATCH,
  DELETE) must carry ``X-CSRF-Token``, the session's CSRF token, and no ``Origin`` other
  than the server's own: else ``403 csrf_failed``. A request with a Bearer key needs
  neither (a browser never sends one by itself); a Bearer key wins over a cookie.
- **Failed logins** are counted per user name and per client address (``[server]
  login_attempts`` in ``login_window_minutes``); beyond, ``429`` with ``Retry-After``,
  even for the right password. Counts are per server process.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterable
from datetime import datetime

from fastapi import Request, Response

from kotae.config import Settings
from kotae.errors import AuthenticationError, localized
from kotae.security.auth import Identity
from kotae.security.sessions import Session, csrf_matches, find_session
from kotae.server.errors import ApiError
from kotae.server.state import ServerState

SESSION_COOKIE = "kotae_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- the cookie -------------------------------------------------------------------------------
def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether the session cookie is ``Secure`` for this request."""
    policy = settings.server.cookie_secure
    if policy != "auto":
        return bool(policy)
    return not (request.url.scheme == "http" and _loopback(request.url.hostname))


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str, expires_at: str
) -> None:
    seconds = (datetime.fromisoformat(expires_at) - datetime.now().astimezone()).total_seconds()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(1, math.ceil(seconds)),
        path="/",
        secure=cookie_secure(request, settings),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=cookie_secure(request, settings),
        httponly=True,
        samesite="strict",
    )


def _cleared_cookie_header(request: Request, settings: Settings) -> str:
    response = Response()
    clear_session_cookie(response, request, settings)
    return response.headers["set-cookie"]


# -- origins and CSRF -------------------------------------------------------------------------
def own_origin(request: Request) -> str:
    """``scheme://host[:port]`` of this server as the request reached it."""
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def foreign_origin(request: Request) -> bool:
    """Whether the request names an ``Origin`` other than this server's."""
    origin = request.headers.get("origin")
    return origin is not None and origin.rstrip("/").lower() != own_origin(request)


def csrf_refused() -> ApiError:
    return ApiError(
        403,
        f"cross-site request refused: send the session's CSRF token in {CSRF_HEADER} "
        "from this server's own pages",
        kind="permission_error",
        code="csrf_failed",
        message_ja=f"クロスサイトのリクエストを拒否しました。{CSRF_HEADER} にセッションの "
        "CSRF トークンを付けて、このサーバーのページから送ってください",
    )


def session_refused(request: Request, settings: Settings, exc: AuthenticationError) -> ApiError:
    """401 for a cookie without a valid session; the response clears the cookie."""
    return ApiError(
        401,
        localized(exc, "en"),
        kind="authentication_error",
        code="invalid_session",
        message_ja=localized(exc, "ja"),
        headers={"Set-Cookie": _cleared_cookie_header(request, settings)},
    )


def session_caller(request: Request, state: ServerState) -> tuple[Identity, Session]:
    """The caller behind the session cookie (401 without a valid session), checked against
    CSRF when the method is unsafe (403 ``csrf_failed``)."""
    token = request.cookies.get(SESSION_COOKIE)
    with state.reading() as kb:
        try:
            identity, session = find_session(kb.catalog, token)
        except AuthenticationError as exc:
            raise session_refused(request, state.settings, exc) from None
    if request.method in UNSAFE_METHODS and (
        foreign_origin(request) or not csrf_matches(session, request.headers.get(CSRF_HEADER))
    ):
        raise csrf_refused()
    request.state.session = session
    return identity, session


def has_session_cookie(request: Request) -> bool:
    return SESSION_COOKIE in request.cookies


# -- failed logins ----------------------------------------------------------------------------
class LoginLimiter:
    """Failed logins per key (``("user", name)``, ``("ip", address)``) in a sliding window:
    at ``attempts`` failures within ``window_s`` seconds the key is blocked until the
    oldest of them leaves the window."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def blocked(self, keys: Iterable[Hashable], now: float | None = None) -> float:
        """0.0 when none of ``keys`` is blocked, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.attempts:
                    oldest = failures[len(failures) - self.attempts]
                    wait = max(wait, oldest + self.window_s - now)
        return wait

    def failed(self, keys: Iterable[Hashable], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: Hashable) -> None:
        with self._lock:
            self._failures.pop(key, None)


_LIMITER_LOCK = threading.Lock()


def login_limiter(request: Request, settings: Settings) -> LoginLimiter:
    """The app's :class:`LoginLimiter` (one per process, made on first use)."""
    app_state = request.app.state
    with _LIMITER_LOCK:
        limiter: LoginLimiter | None = getattr(app_state, "kotae_login_limiter", None)
        if limiter is None:
            server = settings.server
            limiter = LoginLimiter(server.login_attempts, server.login_window_minutes * 60)
            app_state.kotae_login_limiter = limiter
    return limiter


def too_many_logins(wait: float) -> ApiError:
    seconds = str(max(1, math.ceil(wait)))
    return ApiError(
        429,
        f"too many failed logins: retry after {seconds} s",
        kind="rate_limit_exceeded",
        code="rate_limit_exceeded",
        message_ja=f"ログインの失敗が多すぎます。{seconds} 秒後に再試行してください",
        headers={"Retry-After": seconds},
    )


def client_address(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client is not None else "unknown"
