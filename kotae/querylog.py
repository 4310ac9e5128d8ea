"""The query log: every search and every question, in the knowledge base's catalog.

One row per request: who asked and with what access, what was retrieved (ids and
scores), the prompt, the answer with its citations, token usage, the time of each stage,
and the error if any. It is the backbone of evaluation, monitoring, KPIs and audit. A
knowledge base stops logging with ``query_log = false`` in ``kotae.toml``.

``status`` is ``ok`` (answered / results returned), ``no_evidence`` (nothing readable
matched, or the model said the sources do not answer) or ``error``: a failed request is
never logged as a success.

Restricted text stays behind the ACL here too:

- ``access`` records the asker's access: ``{"all": true}``, ``{"groups": [...]}`` (public
  = no group) or ``{"user": name, "groups": [...]}``. A reader sees an entry's text
  (question, query, retrieved ids, prompt, answer, citations, error message) only when
  :func:`can_read_entry` says so: an administrator (``--all``) always; otherwise only when
  the entry was not made by another user and the reader may read every group the entry's
  access could (a user's own entries while their groups still cover them; anonymous
  public entries for anyone). Other entries are shown redacted: time, kind, status,
  user, mode, generator, usage and timings only. Rows older than this access model
  (``access`` unknown) are readable with ``--all`` only.
- :func:`purge_documents` replaces what removed documents put into the log (prompts,
  answers, citation snippets) by ``[removed]``, keeping ids and scores.
- :func:`prune` deletes entries older than ``[log] keep_days`` (checked at most once an
  hour when the log is written, and by ``kotae log prune``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from kotae.kb import Access
    from kotae.retrieval import SearchResult

Kind = Literal["search", "ask", "chat", "eval"]
Status = Literal["ok", "no_evidence", "error"]

_JSON_FIELDS = ("retrieved", "prompt", "citations", "usage", "timings", "access")
REMOVED = "[removed]"
PRUNE_EVERY_S = 3600  # how often writing the log checks [log] keep_days
_PRUNED_KEY = "query_log_pruned_at"


@dataclass(slots=True)
class LogEntry:
    """One logged request. ``retrieved`` holds ``{rank, chunk_id, document_id, score}``.

    ``redacted`` is true on a copy made for a reader who may not read the entry's text
    (see :func:`view`); it is never stored."""

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
    access: dict[str, Any] | None = None
    id: int | None = None
    created_at: str | None = None
    redacted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def access_record(access: Access) -> dict[str, Any]:
    """How an entry stores who asked: ``{"all": true}``, ``{"groups": [...]}`` or
    ``{"user": name, "groups": [...]}`` (the user's groups at the time, ``user:name``
    included)."""
    if access.groups is None:
        return {"all": True}
    record: dict[str, Any] = {"groups": sorted(access.groups)}
    if access.user is not None:
        record = {"user": access.user, **record}
    return record


def can_read_entry(entry_access: dict[str, Any] | None, reader: Access) -> bool:
    """Whether ``reader`` may read the text of an entry made with ``entry_access``."""
    if reader.groups is None:
        return True
    if not entry_access or entry_access.get("all"):
        return False
    user = entry_access.get("user")
    if user is not None and user != reader.user:
        return False
    return set(entry_access.get("groups") or ()) <= reader.groups


def view(entry: LogEntry, reader: Access | None) -> LogEntry:
    """``entry`` as ``reader`` may see it (``None`` = the raw row, for library callers)."""
    if reader is None or can_read_entry(entry.access, reader):
        return entry
    error = entry.error.split(":", 1)[0] if entry.error else None
    return replace(
        entry,
        question="",
        query="",
        retrieved=[],
        prompt=None,
        answer=None,
        citations=[],
        error=error,
        access={"user": entry.user} if entry.user else {},
        redacted=True,
    )


def record(con: sqlite3.Connection, entry: LogEntry, *, keep_days: int | None = None) -> int:
    """Append ``entry``; returns its id (also set on ``entry``). With ``keep_days``,
    entries older than that are deleted (checked at most once an hour)."""
    entry.created_at = entry.created_at or _now().isoformat(timespec="milliseconds")
    values = entry.to_dict()
    values.pop("id")
    values.pop("redacted")
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
    if keep_days is not None:
        maybe_prune(con, keep_days)
    return entry.id


def _now() -> datetime:
    return datetime.now(UTC)


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
    reader: Access | None = None,
) -> list[LogEntry]:
    """The latest entries first, optionally filtered, as ``reader`` may see them
    (``reader=None``: the raw rows)."""
    where, params = [], []
    for column, value in (("kind", kind), ("status", status), ("user", user), ("session", session)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    entries = _query(
        con,
        f"SELECT * FROM query_log {clause} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    return [view(e, reader) for e in entries]


def get_entry(
    con: sqlite3.Connection, entry_id: int, *, reader: Access | None = None
) -> LogEntry | None:
    """One entry as ``reader`` may see it (``reader=None``: the raw row)."""
    rows = _query(con, "SELECT * FROM query_log WHERE id = ?", (entry_id,))
    return view(rows[0], reader) if rows else None


def log_search(
    con: sqlite3.Connection,
    query: str,
    access: Access,
    results: Sequence[SearchResult],
    started: float,
    error: BaseException | None = None,
    *,
    keep_days: int | None = None,
) -> int:
    """Log one search by ``access``: its results' ids and scores, or its error."""
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
        user=access.user,
        mode="search",
        retrieved=retrieved,
        timings={"total_ms": round((time.perf_counter() - started) * 1000, 3)},
        error=f"{type(error).__name__}: {error}" if error else None,
        access=access_record(access),
    )
    return record(con, entry, keep_days=keep_days)


# -- removed documents ---------------------------------------------------------------------
def purge_documents(con: sqlite3.Connection, doc_ids: Iterable[int]) -> int:
    """Replace what the documents ``doc_ids`` put into the log by ``[removed]``; returns
    how many entries changed.

    In every entry that retrieved or cited one of them, the prompt's messages (except
    the system prompt, a template) and the answer become ``[removed]``, and the title and
    snippet of each citation of those documents too; ids, scores, usage and timings stay.
    A chat follow-up later in the same session whose query was rewritten (from earlier
    answers) gets its query replaced as well. Call it when documents leave the knowledge
    base (``docs remove``, ``ingest --sync``).
    """
    ids = sorted({int(d) for d in doc_ids})
    if not ids:
        return 0
    marks = ",".join("?" * len(ids))
    touches = (
        "EXISTS (SELECT 1 FROM json_each(q.{column}) j "
        f"WHERE json_extract(j.value, '$.document_id') IN ({marks}))"
    )
    sql = (
        "SELECT q.id, q.session, q.prompt, q.answer, q.citations FROM query_log q WHERE "
        f"{touches.format(column='retrieved')} OR {touches.format(column='citations')}"
    )
    own = con.in_transaction
    if not own:
        con.execute("BEGIN IMMEDIATE")
    try:
        changed = _purge_rows(con, con.execute(sql, (*ids, *ids)).fetchall(), set(ids))
        if not own:
            con.execute("COMMIT")
    except BaseException:
        if not own:
            con.execute("ROLLBACK")
        raise
    return changed


def _purge_rows(con: sqlite3.Connection, rows: list[Any], ids: set[int]) -> int:
    sessions: dict[str, int] = {}
    for entry_id, session, prompt, answer, citations in rows:
        messages = json.loads(prompt) if prompt else None
        if messages is not None:
            for message in messages:
                if message.get("role") != "system":
                    message["content"] = REMOVED
        cited = json.loads(citations) if citations else []
        for citation in cited:
            if citation.get("document_id") in ids:
                citation["title"] = citation["snippet"] = REMOVED
        con.execute(
            "UPDATE query_log SET prompt = ?, answer = ?, citations = ? WHERE id = ?",
            (
                None if messages is None else json.dumps(messages, ensure_ascii=False),
                None if answer is None else REMOVED,
                json.dumps(cited, ensure_ascii=False),
                entry_id,
            ),
        )
        if session is not None:
            sessions[session] = min(entry_id, sessions.get(session, entry_id))
    for session, first in sessions.items():
        con.execute(
            "UPDATE query_log SET query = ? WHERE session = ? AND id > ? AND query != question",
            (REMOVED, session, first),
        )
    return len(rows)


# -- retention ----------------------------------------------------------------------------
def prune(con: sqlite3.Connection, keep_days: int, now: datetime | None = None) -> int:
    """Delete the entries older than ``keep_days`` days; returns how many."""
    cutoff = (now or _now()) - timedelta(days=keep_days)
    cursor = con.execute(
        "DELETE FROM query_log WHERE created_at < ?", (cutoff.isoformat(timespec="milliseconds"),)
    )
    con.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (_PRUNED_KEY, _now().isoformat(timespec="seconds")),
    )
    return cursor.rowcount


def maybe_prune(con: sqlite3.Connection, keep_days: int) -> int:
    """:func:`prune`, unless it ran less than :data:`PRUNE_EVERY_S` seconds ago (by any
    process: the time is kept in the catalog)."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (_PRUNED_KEY,)).fetchone()
    if row is not None:
        last = datetime.fromisoformat(str(row[0]))
        if (_now() - last).total_seconds() < PRUNE_EVERY_S:
            return 0
    return prune(con, keep_days)
