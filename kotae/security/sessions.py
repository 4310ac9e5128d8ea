"""Web sessions: a random token in a cookie, its SHA-256 in the catalog.

A session belongs to one user and records how it was opened (``password``, ``api_key`` or
``oidc``; an ``api_key`` session names its key). It ends at ``expires_at`` (absolute: the
login time + ``[server] session_hours``), at logout, when its user is removed (foreign key)
or when the key it was opened with is revoked or expires. An ended session is deleted when
it is next presented.

The CSRF token of a session is derived from its token (HMAC-SHA256), so that the page can
ask for it again; only its SHA-256 is stored, and it is compared in constant time. Neither
token is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from kotae.errors import AuthenticationError
from kotae.index.store import Store
from kotae.security.auth import Identity, _key, get_user, now_utc, stamp

Via = Literal["password", "api_key", "oidc"]
TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 128  # a longer cookie is not one of ours
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # the SHA-256 of the token (never the token)
    user: str
    csrf_hash: str  # the SHA-256 of its CSRF token
    via: Via
    key_id: int | None
    created_at: str
    expires_at: str
    last_seen_at: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose cookie holds ``token``."""
    mac = hmac.new(token.encode("utf-8"), b"kotae csrf token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def _session(row: dict[str, Any]) -> Session:
    return Session(
        row["id"],
        row["user"],
        row["csrf_hash"],
        cast(Via, row["via"]),
        None if row["key_id"] is None else int(row["key_id"]),
        row["created_at"],
        row["expires_at"],
        row["last_seen_at"],
    )


def open_session(
    store: Store,
    user: str,
    via: Via,
    *,
    hours: float,
    key_id: int | None = None,
    now: datetime | None = None,
) -> tuple[str, Session]:
    """A new session of ``user``: returns its token (for the cookie, never stored) and its
    record. Sessions already expired are deleted on the way."""
    now = now or now_utc()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    store.sessions_delete_expired(stamp(now))
    row = {
        "id": hash_token(token),
        "user": user,
        "csrf_hash": hash_token(csrf_token(token)),
        "via": via,
        "key_id": key_id,
        "created_at": stamp(now),
        "expires_at": stamp(now + timedelta(hours=hours)),
        "last_seen_at": stamp(now),
    }
    store.session_insert(row)
    return token, _session(row)


def _no_session(expired: bool = False) -> AuthenticationError:
    if expired:
        return AuthenticationError(
            "the session has ended: log in again",
            message_ja="セッションの有効期限が切れました。もう一度ログインしてください",
        )
    return AuthenticationError(
        "no valid session: log in again",
        message_ja="有効なセッションがありません。もう一度ログインしてください",
    )


def find_session(
    store: Store, token: str | None, *, now: datetime | None = None
) -> tuple[Identity, Session]:
    """The caller behind a session token, or :class:`AuthenticationError`: no such session,
    an expired one (deleted), or one whose API key is no longer valid (deleted). The
    identity is the user's as it is now (role and groups), with the key of an ``api_key``
    session."""
    now = now or now_utc()
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise _no_session()
    row = store.session_row(hash_token(token))
    if row is None:
        raise _no_session()
    session = _session(row)
    if datetime.fromisoformat(session.expires_at) <= now:
        store.session_delete(session.id)
        raise _no_session(expired=True)
    key = None
    if session.key_id is not None:
        key_row = store.api_key_by_id(session.key_id)
        key = None if key_row is None else _key(key_row)
        if key is None or key.state(now) != "valid":
            store.session_delete(session.id)
            raise _no_session(expired=True)
    user = get_user(store, session.user)
    if user is None:  # pragma: no cover - sessions are deleted with their user
        raise _no_session()
    if now - datetime.fromisoformat(session.last_seen_at) >= TOUCH_EVERY:
        store.session_touch(session.id, stamp(now))
    return Identity(user, key), session


def csrf_matches(session: Session, supplied: str | None) -> bool:
    """Whether ``supplied`` is the CSRF token of ``session`` (constant-time)."""
    if not supplied or len(supplied) > MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(session.csrf_hash, hash_token(supplied))


def end_session(store: Store, session_id: str) -> bool:
    """Delete a session (logout); False when it was already gone."""
    return store.session_delete(session_id)


def list_sessions(store: Store, user: str | None = None) -> list[Session]:
    return [_session(r) for r in store.session_rows(user)]
