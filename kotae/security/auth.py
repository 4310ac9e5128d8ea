"""Identity: users' roles and API keys, and what each role may do.

Roles:

- ``reader``: searches and asks, over what their groups may read.
- ``editor``: also uploads and deletes documents, in the groups they belong to: an upload's
  groups must all be theirs (a public upload needs an admin), and a document is theirs to
  delete when every one of its groups is theirs.
- ``admin``: manages users, groups and keys, and reads everything.

An API key is ``kotae_<prefix>_<secret>``: 12 hex characters of prefix, to find the key,
and 256 random bits. Only the SHA-256 of the whole key is stored (a random 256-bit key needs
no slow hash: there is nothing to guess), compared in constant time. A key belongs to one
user, may expire, is revoked rather than deleted, and records its last use (at most once a
minute, so that a busy key does not write on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from kotae.errors import AuthenticationError, PermissionDeniedError, QueryError
from kotae.index.store import Store
from kotae.kb import Access

Role = Literal["admin", "editor", "reader"]
ROLES: tuple[Role, ...] = ("admin", "editor", "reader")
KeyState = Literal["valid", "expired", "revoked"]

KEY_START = "kotae_"
PREFIX_CHARS = 12
TOUCH_EVERY = timedelta(seconds=60)  # last use is written at most this often per key
_KEY = re.compile(r"^kotae_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
_DURATION = re.compile(r"^(\d{1,5})([dhm])$")


def now_utc() -> datetime:
    return datetime.now(UTC)


def stamp(when: datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC, to the second (sorts as text)."""
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    groups: tuple[str, ...]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "groups": list(self.groups),
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    prefix: str
    user: str
    name: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def state(self, now: datetime | None = None) -> KeyState:
        if self.revoked_at is not None:
            return "revoked"
        expires = _parse(self.expires_at)
        if expires is not None and expires <= (now or now_utc()):
            return "expired"
        return "valid"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "prefix": self.prefix,
            "user": self.user,
            "name": self.name,
            "state": self.state(now),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a user, and the key they called with."""

    user: User
    key: ApiKey | None = None

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def access(self) -> Access:
        """What the caller reads: everything for an admin, else their groups and
        ``user:NAME`` (the same :class:`~kotae.kb.Access` as ``--as NAME`` on the CLI)."""
        if self.is_admin:
            return Access(None, self.user.name)
        return Access(frozenset(self.user.groups) | {f"user:{self.user.name}"}, self.user.name)

    def require(self, role: Role) -> None:
        """:class:`PermissionDeniedError` unless the caller's role is at least ``role``."""
        if ROLES.index(self.user.role) > ROLES.index(role):
            raise PermissionDeniedError(
                f"this needs the {role} role; {self.user.name!r} is a {self.user.role}",
                message_ja=f"{role} の権限が必要です（{self.user.name!r} は {self.user.role}）",
            )

    def may_write(self, groups: Sequence[str]) -> bool:
        """Whether the caller may add or remove a document readable by ``groups``
        (empty = public): admins always, editors within their own groups only. ``groups``
        must be folded names (:func:`kotae.acl.parse_groups`), as stored ones are."""
        if self.is_admin:
            return True
        if self.user.role != "editor" or not groups:
            return False
        return set(groups) <= set(self.user.groups)


# -- users ------------------------------------------------------------------------------
def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise QueryError(
        f"unknown role {role!r}: use one of {', '.join(ROLES)}",
        message_ja=f"ロール {role!r} はありません。{', '.join(ROLES)} のいずれかです",
    )


def _user(row: dict[str, Any]) -> User:
    return User(row["name"], cast(Role, row["role"]), tuple(row["groups"]), row["created_at"])


def get_user(store: Store, name: str) -> User | None:
    row = store.user_record(name)
    return None if row is None else _user(row)


def list_users(store: Store) -> list[User]:
    return [_user(r) for r in store.user_records()]


def set_role(store: Store, name: str, role: str) -> User:
    checked = check_role(role)
    if not store.set_role(name, checked):
        raise _unknown_user(name)
    user = get_user(store, name)
    assert user is not None
    return user


def _unknown_user(name: str) -> QueryError:
    return QueryError(
        f"unknown user {name!r}: add it with `kotae users add {name}`",
        message_ja=f"ユーザー {name!r} は登録されていません。"
        f"`kotae users add {name}` で追加してください",
    )


# -- keys -------------------------------------------------------------------------------
def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``90m``, or an ISO date or time (UTC when no offset is given);
    :class:`QueryError` for anything else or a time already past."""
    now = now or now_utc()
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(minutes=amount)
        )
        when = now + delta
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise QueryError(
                f"invalid expiry {text!r}: give a duration such as 30d, 12h or 90m, "
                "or a date such as 2027-03-31",
                message_ja=f"有効期限 {text!r} が読めません。30d・12h・90m のような期間か、"
                "2027-03-31 のような日付を指定してください",
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except OverflowError:
        raise QueryError(
            f"invalid expiry {text!r}: too far in the future",
            message_ja=f"有効期限 {text!r} は遠すぎます",
        ) from None
    if when <= now:
        raise QueryError(
            f"the expiry {text!r} is already past",
            message_ja=f"有効期限 {text!r} はすでに過ぎています",
        )
    return when


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(
        int(row["id"]),
        row["prefix"],
        row["user"],
        row["name"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
        row["last_used_at"],
    )


def create_key(
    store: Store, user: str, *, name: str = "", expires_at: datetime | None = None
) -> tuple[str, ApiKey]:
    """A new key for ``user``: returns the secret (shown once, never stored) and its record."""
    if store.user_record(user) is None:
        raise _unknown_user(user)
    while True:
        prefix = secrets.token_hex(PREFIX_CHARS // 2)
        if store.api_key(prefix) is None:
            break
    secret = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    key_id = store.insert_api_key(
        {
            "prefix": prefix,
            "hash": hash_key(secret),
            "user": user,
            "name": name,
            "created_at": stamp(now_utc()),
            "expires_at": None if expires_at is None else stamp(expires_at),
        }
    )
    row = store.api_key_by_id(key_id)
    assert row is not None
    return secret, _key(row)


def list_keys(store: Store, user: str | None = None) -> list[ApiKey]:
    return [_key(r) for r in store.api_keys(user)]


def find_key(store: Store, ref: str) -> ApiKey:
    """A key by its id or its prefix (``kotae_<prefix>`` works too)."""
    ref = ref.strip().removeprefix(KEY_START).split("_")[0]
    row = None
    if ref.isascii() and ref.isdigit() and len(ref) < PREFIX_CHARS:
        row = store.api_key_by_id(int(ref))
    elif len(ref) == PREFIX_CHARS:
        row = store.api_key(ref)  # a prefix may be all digits too
    if row is None:
        raise QueryError(
            f"no API key {ref!r}: list them with `kotae keys list`",
            message_ja=f"API キー {ref!r} はありません。`kotae keys list` で一覧できます",
        )
    return _key(row)


def revoke_key(store: Store, ref: str) -> ApiKey:
    key = find_key(store, ref)
    store.revoke_api_key(key.id, stamp(now_utc()))
    return find_key(store, str(key.id))


def authenticate(store: Store, secret: str | None, *, now: datetime | None = None) -> Identity:
    """The identity behind an API key, or :class:`AuthenticationError` (no key, a malformed,
    unknown, expired or revoked one, or a key whose user was removed). The message never
    repeats the key."""
    now = now or now_utc()
    if not secret:
        raise AuthenticationError(
            "no API key: send it as 'Authorization: Bearer <key>'",
            message_ja="API キーがありません。'Authorization: Bearer <キー>' で送ってください",
        )
    match = _KEY.match(secret.strip())
    row = store.api_key(match.group(1)) if match else None
    if row is None or not hmac.compare_digest(row["hash"], hash_key(secret.strip())):
        raise AuthenticationError("invalid API key", message_ja="API キーが正しくありません")
    key = _key(row)
    state = key.state(now)
    if state != "valid":
        raise AuthenticationError(
            f"this API key is {state}: ask an administrator for a new one",
            message_ja="この API キーは"
            + ("期限切れです" if state == "expired" else "無効化されています")
            + "。管理者に新しいキーを依頼してください",
        )
    user = get_user(store, key.user)
    if user is None:  # pragma: no cover - keys are deleted with their user (foreign key)
        raise AuthenticationError("invalid API key", message_ja="API キーが正しくありません")
    if touch_due(key, now):
        store.touch_api_key(key.id, stamp(now))
    return Identity(user, key)


def touch_due(key: ApiKey, now: datetime) -> bool:
    """Whether a use of ``key`` at ``now`` is recorded (at most once a minute): its
    ``last_used_at`` is moved and the audit log records the use."""
    last = _parse(key.last_used_at)
    return last is None or now - last >= TOUCH_EVERY


def key_prefix(secret: str | None) -> str | None:
    """The prefix of a well-formed key (public: it is listed), never the secret."""
    match = _KEY.match(secret.strip()) if secret else None
    return match.group(1) if match else None
