"""Request dependencies: the server's state, the caller's identity (API key), the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kotae.errors import AuthenticationError
from kotae.security.audit import record_kb
from kotae.security.auth import Identity, authenticate, key_prefix, now_utc, touch_due
from kotae.server.errors import ApiError
from kotae.server.state import ServerState
from kotae.server.web_auth import has_session_cookie, session_caller

MAX_ID = 2**53 - 1  # the largest id a request may name: every JSON reader keeps it exact

_bearer = HTTPBearer(auto_error=False, description="An API key from `kotae keys create USER`")


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.kotae
    return state


State = Annotated[ServerState, Depends(get_state)]


def get_caller(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """The caller behind ``Authorization: Bearer <key>`` (401 without a valid key), or
    without one behind the web session's cookie (:mod:`kotae.server.web_auth`: CSRF-checked
    on unsafe methods), within their key's or session's rate limit (429 with
    ``Retry-After`` beyond it)."""
    if credentials is None and has_session_cookie(request):
        identity, session = session_caller(request, state)
        limited: object = identity.key.id if identity.key is not None else session.id
        return _within_limit(request, state, identity, limited)
    secret = credentials.credentials if credentials is not None else None
    now = now_utc()
    with state.reading() as kb:
        try:
            identity = authenticate(kb.catalog, secret, now=now)
        except AuthenticationError as exc:
            detail: dict[str, object] = {"reason": str(exc), "path": request.url.path}
            prefix = key_prefix(secret)
            if prefix is not None:
                detail["prefix"] = prefix
            record_kb(kb, "auth.failed", actor="unknown", detail=detail)
            raise
        if identity.key is not None and touch_due(identity.key, now):
            key = identity.key
            used = {"key_id": key.id, "prefix": key.prefix, "path": request.url.path}
            record_kb(kb, "key.used", actor=identity.user.name, target=key.prefix, detail=used)
    limited = identity.key.id if identity.key is not None else None
    return _within_limit(request, state, identity, limited)


def _within_limit(
    request: Request, state: ServerState, identity: Identity, limited: object
) -> Identity:
    """``identity``, unless the rate limit of ``limited`` (a key's id, a session's) is
    reached: 429 with ``Retry-After``."""
    if state.limiter is not None and limited is not None:
        wait = state.limiter.check(limited)
        if wait > 0:
            seconds = state.limiter.retry_after(wait)
            raise ApiError(
                429,
                f"rate limit of {state.limiter.per_minute} requests a minute reached: "
                f"retry after {seconds} s",
                kind="rate_limit_exceeded",
                code="rate_limit_exceeded",
                message_ja=f"1分あたり {state.limiter.per_minute} リクエストの上限に達しました。"
                f"{seconds} 秒後に再試行してください",
                headers={"Retry-After": seconds},
            )
    request.state.identity = identity
    return identity


Caller = Annotated[Identity, Depends(get_caller)]
