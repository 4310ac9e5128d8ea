"""The catalog's query-log table (``query_log``) as typed methods.

Rows go in and come out as plain dicts with Python values: the JSON columns
(:data:`JSON_COLUMNS`) are encoded and decoded here, so the log's logic
(:mod:`kotae.querylog`: access, redaction, purging, retention) holds no SQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from kotae.index.catalog_vectors import transaction

JSON_COLUMNS = ("retrieved", "prompt", "citations", "usage", "timings", "access")
FILTER_COLUMNS = ("kind", "status", "user", "session")


def _encode(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS and value is not None:
        return json.dumps(value, ensure_ascii=False)
    return value


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    out = []
    for row in cursor:
        data = dict(zip(names, row, strict=True))
        for name in JSON_COLUMNS:
            if data.get(name) is not None:
                data[name] = json.loads(data[name])
        out.append(data)
    return out


class LogTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    def log_insert(self, row: Mapping[str, Any]) -> int:
        """Append one entry (column -> value); returns its id."""
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = self.con.execute(
            f"INSERT INTO query_log ({columns}) VALUES ({marks})",
            tuple(_encode(name, value) for name, value in row.items()),
        )
        return int(cursor.lastrowid or 0)

    def log_rows(
        self, filters: Mapping[str, Any], limit: int, since: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest entries first whose ``kind``/``status``/``user``/``session`` equal
        ``filters``' values (a None value does not filter), made at or after ``since`` (an
        ISO time in UTC, as ``created_at`` is stored) when given."""
        where, params = [], []
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        for column, value in filters.items():
            if column not in FILTER_COLUMNS:
                raise ValueError(f"cannot filter the query log on {column!r}")
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return _rows(
            self.con.execute(
                f"SELECT * FROM query_log {clause} ORDER BY id DESC LIMIT ?", (*params, limit)
            )
        )

    def log_row(self, entry_id: int) -> dict[str, Any] | None:
        rows = _rows(self.con.execute("SELECT * FROM query_log WHERE id = ?", (entry_id,)))
        return rows[0] if rows else None

    def log_rows_touching(self, doc_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Entries that retrieved or cited one of ``doc_ids``, oldest first."""
        ids = sorted({int(d) for d in doc_ids})
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        touches = (
            "EXISTS (SELECT 1 FROM json_each(q.{column}) j "
            f"WHERE json_extract(j.value, '$.document_id') IN ({marks}))"
        )
        return _rows(
            self.con.execute(
                "SELECT * FROM query_log q WHERE "
                f"{touches.format(column='retrieved')} OR {touches.format(column='citations')} "
                "ORDER BY q.id",
                (*ids, *ids),
            )
        )

    def log_rewrite(
        self,
        updates: Iterable[tuple[int, Mapping[str, Any]]],
        session_queries: Iterable[tuple[str, int, str]] = (),
    ) -> None:
        """In one transaction: set the given columns of each entry id, and replace by the
        given text the query of every entry of a session after the given id whose query
        differs from its question (a follow-up rewritten from earlier answers)."""
        with transaction(self.con):
            for entry_id, values in updates:
                sets = ", ".join(f"{name} = ?" for name in values)
                self.con.execute(
                    f"UPDATE query_log SET {sets} WHERE id = ?",
                    (*(_encode(n, v) for n, v in values.items()), entry_id),
                )
            for session, after_id, text in session_queries:
                self.con.execute(
                    "UPDATE query_log SET query = ? WHERE session = ? AND id > ? "
                    "AND query != question",
                    (text, session, after_id),
                )

    def log_delete_before(self, created_before: str) -> int:
        """Delete the entries created before the ISO time ``created_before``."""
        cursor = self.con.execute("DELETE FROM query_log WHERE created_at < ?", (created_before,))
        return cursor.rowcount
