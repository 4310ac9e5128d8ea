"""Local passwords for the web login: argon2id hashes (argon2-cffi at its defaults).

Only the hash is stored (``users.password_hash``); it carries its own salt and parameters,
so a hash made with older parameters still verifies and is replaced at the next good login
(:func:`needs_rehash`). A user without a password cannot log in with one. The password is
never logged, echoed or repeated in a message.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kotae.errors import QueryError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # a longer one is refused before hashing: no work for a huge body


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy() -> str:
    """A hash of nothing anyone types: verified against when a user has no password, so
    that an unknown user takes as long as a wrong password."""
    return _hasher().hash("\x00kotae: no password\x00")


def check_strength(password: str) -> None:
    """:class:`QueryError` unless the password is 12 to 1024 characters long."""
    if len(password) < MIN_LENGTH:
        raise QueryError(
            f"the password is too short: at least {MIN_LENGTH} characters",
            message_ja=f"パスワードが短すぎます。{MIN_LENGTH} 文字以上にしてください",
        )
    if len(password) > MAX_LENGTH:
        raise QueryError(
            f"the password is too long: at most {MAX_LENGTH} characters",
            message_ja=f"パスワードが長すぎます。{MAX_LENGTH} 文字以内にしてください",
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked with :func:`check_strength` first)."""
    check_strength(password)
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash. None (no password) or a broken
    hash is False, after the same work as a wrong password."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than today's defaults."""
    try:
        return _hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True
