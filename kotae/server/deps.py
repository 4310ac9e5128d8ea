"""Request dependencies: the server's state, the caller's identity (API key), the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kotae.security.auth import Identity, authenticate
from kotae.server.errors import ApiError
from kotae.server.state import ServerState

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
    """The caller behind ``Authorization: Bearer <key>`` (401 without a valid key), within
    their key's rate limit (429 with ``Retry-After`` beyond it)."""
    secret = credentials.credentials if credentials is not None else None
    with state.reading() as kb:
        identity = authenticate(kb.catalog, secret)
    if state.limiter is not None and identity.key is not None:
        wait = state.limiter.check(identity.key.id)
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
