"""The query log: every search and every question, in the knowledge base's catalog.

One row per request: who asked, what was retrieved (ids and scores), the prompt, the
answer with its citations, token usage, the time of each stage, and the error if any. It
is the backbone of evaluation, monitoring, KPIs and audit. A knowledge base stops logging
with ``query_log = false`` in ``kotae.toml``.

``status`` is ``ok`` (answered / results returned), ``no_evidence`` (nothing readable
matched, or the model said the sources do not answer) or ``error``: a failed request is
never logged as a success.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from kotae.retrieval import SearchResult

Kind = Literal["search", "ask", "chat", "eval"]
Status = Literal["ok", "no_evidence", "error"]

_JSON_FIELDS = ("retrieved", "prompt", "citations", "usage", "timings")


@dataclass(slots=True)
class LogEntry:
    """One logged request. ``retrieved`` holds ``{rank, chunk_id, document_id, score}``."""

    kind: Kind
    status: Status
    question: str
    query: str
    user: str | None = None
    session: str | None = None
    language: str | None = None
    mode: str | None = None  # search | extractive | generate
    generator: str | None = None
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    prompt: list[dict[str, str]] | None = None
    answer: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    id: int | None = None
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def record(con: sqlite3.Connection, entry: LogEntry) -> int:
    """Append ``entry``; returns its id (also set on ``entry``)."""
    entry.created_at = entry.created_at or datetime.now(UTC).isoformat(timespec="milliseconds")
    values = entry.to_dict()
    values.pop("id")
    for name in _JSON_FIELDS:
        values[name] = (
            None if values[name] is None else json.dumps(values[name], ensure_ascii=False)
        )
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = con.execute(
        f"INSERT INTO query_log ({columns}) VALUES ({marks})",
        tuple(values.values()),
    )
    entry.id = int(cursor.lastrowid or 0)
    return entry.id


def _entry(row: sqlite3.Row) -> LogEntry:
    data = dict(row)
    for name in _JSON_FIELDS:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    return LogEntry(**data)


def _query(con: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[LogEntry]:
    previous = con.row_factory
    con.row_factory = sqlite3.Row
    try:
        return [_entry(row) for row in con.execute(sql, params)]
    finally:
        con.row_factory = previous


def list_entries(
    con: sqlite3.Connection,
    *,
    limit: int = 20,
    kind: Kind | None = None,
    status: Status | None = None,
    user: str | None = None,
    session: str | None = None,
) -> list[LogEntry]:
    """The latest entries first, optionally filtered."""
    where, params = [], []
    for column, value in (("kind", kind), ("status", status), ("user", user), ("session", session)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return _query(
        con,
        f"SELECT * FROM query_log {clause} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )


def get_entry(con: sqlite3.Connection, entry_id: int) -> LogEntry | None:
    rows = _query(con, "SELECT * FROM query_log WHERE id = ?", (entry_id,))
    return rows[0] if rows else None


def log_search(
    con: sqlite3.Connection,
    query: str,
    user: str | None,
    results: Sequence[SearchResult],
    started: float,
    error: BaseException | None = None,
) -> int:
    """Log one search: its results' ids and scores, or its error."""
    retrieved = [
        {
            "rank": r.rank,
            "chunk_id": r.chunk_id,
            "document_id": r.document_id,
            "score": round(r.score, 6),
        }
        for r in results
    ]
    status: Status = "error" if error else ("ok" if results else "no_evidence")
    entry = LogEntry(
        kind="search",
        status=status,
        question=query,
        query=query,
        user=user,
        mode="search",
        retrieved=retrieved,
        timings={"total_ms": round((time.perf_counter() - started) * 1000, 3)},
        error=f"{type(error).__name__}: {error}" if error else None,
    )
    return record(con, entry)
