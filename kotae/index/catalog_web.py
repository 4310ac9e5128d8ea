"""The catalog's web-login tables as typed methods: passwords, OIDC links, sessions.

Rows go in and come out as plain dicts; the rules (how a password is hashed, when a session
ends) live in :mod:`kotae.security.passwords` and :mod:`kotae.security.sessions`, which hold
no SQL. A session is keyed by the SHA-256 of its cookie's token, never the token itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from kotae.index.catalog_vectors import transaction

SESSION_COLUMNS = (
    "id",
    "user",
    "csrf_hash",
    "via",
    "key_id",
    "created_at",
    "expires_at",
    "last_seen_at",
)
OIDC_LOGIN_COLUMNS = ("id", "nonce", "code_verifier", "redirect_url", "created_at", "expires_at")


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


class WebTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    # -- passwords and OIDC links ----------------------------------------------------------
    def password_hash(self, name: str) -> str | None:
        """The stored hash of a user's password; None without a password or a user."""
        row = self.con.execute("SELECT password_hash FROM users WHERE name=?", (name,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def set_password_hash(self, name: str, password_hash: str | None) -> bool:
        """Set (or clear, with None) a user's password hash; False when there is no user."""
        cursor = self.con.execute(
            "UPDATE users SET password_hash=? WHERE name=?", (password_hash, name)
        )
        return cursor.rowcount > 0

    def oidc_subject(self, name: str) -> str | None:
        row = self.con.execute("SELECT oidc_subject FROM users WHERE name=?", (name,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def set_oidc_subject(self, name: str, subject: str) -> bool:
        cursor = self.con.execute("UPDATE users SET oidc_subject=? WHERE name=?", (subject, name))
        return cursor.rowcount > 0

    # -- sessions ------------------------------------------------------------------------
    def session_insert(self, row: Mapping[str, Any]) -> None:
        columns = [c for c in SESSION_COLUMNS if c in row]
        self.con.execute(
            f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [row[c] for c in columns],
        )

    def session_row(self, session_id: str) -> dict[str, Any] | None:
        rows = _dicts(self.con.execute("SELECT * FROM sessions WHERE id=?", (session_id,)))
        return rows[0] if rows else None

    def session_rows(self, user: str | None = None) -> list[dict[str, Any]]:
        if user is None:
            return _dicts(self.con.execute("SELECT * FROM sessions ORDER BY created_at"))
        return _dicts(
            self.con.execute("SELECT * FROM sessions WHERE user=? ORDER BY created_at", (user,))
        )

    def session_touch(self, session_id: str, at: str) -> None:
        self.con.execute("UPDATE sessions SET last_seen_at=? WHERE id=?", (at, session_id))

    def session_delete(self, session_id: str) -> bool:
        return self.con.execute("DELETE FROM sessions WHERE id=?", (session_id,)).rowcount > 0

    def sessions_delete_user(self, user: str) -> int:
        return self.con.execute("DELETE FROM sessions WHERE user=?", (user,)).rowcount

    def sessions_delete_expired(self, now: str) -> int:
        """Delete the sessions whose expiry is at or before ``now``; how many."""
        return self.con.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount

    # -- OIDC logins under way -----------------------------------------------------------
    def oidc_login_insert(self, row: Mapping[str, Any]) -> None:
        self.con.execute(
            f"INSERT INTO oidc_logins ({', '.join(OIDC_LOGIN_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(OIDC_LOGIN_COLUMNS))})",
            [row[c] for c in OIDC_LOGIN_COLUMNS],
        )

    def oidc_login_take(self, login_id: str, now: str) -> dict[str, Any] | None:
        """The login under way ``login_id``, deleted as it is read (used once): None when
        unknown or expired at ``now``. Expired ones are deleted too."""
        with transaction(self.con):
            self.con.execute("DELETE FROM oidc_logins WHERE expires_at <= ?", (now,))
            rows = _dicts(self.con.execute("SELECT * FROM oidc_logins WHERE id=?", (login_id,)))
            self.con.execute("DELETE FROM oidc_logins WHERE id=?", (login_id,))
        return rows[0] if rows else None
