"""The catalog's service tables as typed methods: users' roles, API keys, feedback, jobs.

Rows go in and come out as plain dicts of Python values (``detail`` of a job is JSON,
decoded here); the rules (who may do what, how a key is checked) live in
:mod:`kotae.security.auth` and :mod:`kotae.server`, which hold no SQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from kotae.index.catalog_vectors import transaction

KEY_COLUMNS = (
    "id",
    "prefix",
    "hash",
    "user",
    "name",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


class ServiceTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    # -- roles -------------------------------------------------------------------------
    def user_record(self, name: str) -> dict[str, Any] | None:
        """``{name, role, groups, created_at}`` of one user, or None."""
        rows = _dicts(
            self.con.execute("SELECT name, role, created_at FROM users WHERE name=?", (name,))
        )
        if not rows:
            return None
        groups = self.con.execute("SELECT grp FROM user_groups WHERE user=? ORDER BY grp", (name,))
        return {**rows[0], "groups": tuple(r[0] for r in groups)}

    def user_records(self) -> list[dict[str, Any]]:
        names = [r[0] for r in self.con.execute("SELECT name FROM users ORDER BY name")]
        return [r for r in (self.user_record(n) for n in names) if r is not None]

    def set_role(self, name: str, role: str) -> bool:
        """Set an existing user's role; False when there is no such user."""
        return self.con.execute("UPDATE users SET role=? WHERE name=?", (role, name)).rowcount > 0

    # -- API keys ----------------------------------------------------------------------
    def insert_api_key(self, row: Mapping[str, Any]) -> int:
        columns = [c for c in KEY_COLUMNS if c != "id" and c in row]
        cursor = self.con.execute(
            f"INSERT INTO api_keys ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [row[c] for c in columns],
        )
        return int(cursor.lastrowid or 0)

    def api_key(self, prefix: str) -> dict[str, Any] | None:
        rows = _dicts(self.con.execute("SELECT * FROM api_keys WHERE prefix=?", (prefix,)))
        return rows[0] if rows else None

    def api_key_by_id(self, key_id: int) -> dict[str, Any] | None:
        rows = _dicts(self.con.execute("SELECT * FROM api_keys WHERE id=?", (key_id,)))
        return rows[0] if rows else None

    def api_keys(self, user: str | None = None) -> list[dict[str, Any]]:
        if user is None:
            return _dicts(self.con.execute("SELECT * FROM api_keys ORDER BY id"))
        return _dicts(self.con.execute("SELECT * FROM api_keys WHERE user=? ORDER BY id", (user,)))

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        """Revoke a key (once: the first revocation time stays); False when it is unknown."""
        cursor = self.con.execute(
            "UPDATE api_keys SET revoked_at=COALESCE(revoked_at, ?) WHERE id=?", (at, key_id)
        )
        return cursor.rowcount > 0

    def touch_api_key(self, key_id: int, at: str) -> None:
        self.con.execute("UPDATE api_keys SET last_used_at=? WHERE id=?", (at, key_id))

    def admin_keys(self, now: str) -> int:
        """How many keys of admin users are neither revoked nor expired at ``now``."""
        row = self.con.execute(
            "SELECT COUNT(*) FROM api_keys k JOIN users u ON u.name = k.user "
            "WHERE u.role='admin' AND k.revoked_at IS NULL "
            "AND (k.expires_at IS NULL OR k.expires_at > ?)",
            (now,),
        ).fetchone()
        return int(row[0])

    # -- feedback ----------------------------------------------------------------------
    def feedback_insert(self, row: Mapping[str, Any]) -> int:
        cursor = self.con.execute(
            "INSERT INTO feedback (log_id, user, rating, comment, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (row["log_id"], row.get("user"), row["rating"], row["comment"], row["created_at"]),
        )
        return int(cursor.lastrowid or 0)

    def feedback_rows(self, log_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if log_id is None:
            sql, args = "SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
        else:
            sql = "SELECT * FROM feedback WHERE log_id=? ORDER BY id DESC LIMIT ?"
            args = (log_id, limit)  # type: ignore[assignment]
        return _dicts(self.con.execute(sql, args))

    # -- jobs --------------------------------------------------------------------------
    def job_insert(self, row: Mapping[str, Any]) -> None:
        self.con.execute(
            "INSERT INTO jobs (id, kind, user, status, detail, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row["id"],
                row["kind"],
                row.get("user"),
                row["status"],
                json.dumps(row.get("detail", {}), ensure_ascii=False),
                row["created_at"],
                row["created_at"],
            ),
        )

    def job_update(self, job_id: str, status: str, detail: Mapping[str, Any], at: str) -> None:
        self.con.execute(
            "UPDATE jobs SET status=?, detail=?, updated_at=? WHERE id=?",
            (status, json.dumps(dict(detail), ensure_ascii=False), at, job_id),
        )

    def job_row(self, job_id: str) -> dict[str, Any] | None:
        rows = _dicts(self.con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)))
        if not rows:
            return None
        rows[0]["detail"] = json.loads(rows[0]["detail"])
        return rows[0]

    def interrupt_jobs(self, at: str) -> int:
        """Mark the jobs a stopped server left queued or running as ``interrupted``."""
        with transaction(self.con):
            cursor = self.con.execute(
                "UPDATE jobs SET status='interrupted', updated_at=? "
                "WHERE status IN ('queued', 'running')",
                (at,),
            )
        return cursor.rowcount
