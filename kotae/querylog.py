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
  :func:`can_read_entry` says so: an administrator (``--all``) always; otherwise only the
  user who asked, while their groups still cover the entry's (entries asked without a
  user are read with ``--all`` only). Other entries are shown redacted: time, kind, status,
  user, mode, generator, usage and timings only. Rows older than this access model
  (``access`` unknown) are readable with ``--all`` only.
- :func:`purge_documents` replaces what removed documents put into the log (prompts,
  answers, citation snippets) by ``[removed]``, keeping ids and scores.
- :func:`prune` deletes entries older than ``[log] keep_days`` (checked at most once an
  hour when the log is written, and by ``kotae log prune``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from kotae.index.store import Store
    from kotae.kb import Access
    from kotae.retrieval import SearchResult

Kind = Literal["search", "ask", "chat", "eval", "proxy"]  # proxy: a model passed through
Status = Literal["ok", "no_evidence", "error"]

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
    """Whether ``reader`` may read the text of an entry made with ``entry_access``: an
    administrator always; otherwise only the user who asked, while their groups still
    cover the entry's. An entry asked without a user (a public reader, ``--groups``) is
    nobody's: only an administrator reads it, so text that was public when it was logged
    never outlives a later ``acl set`` that restricts its document."""
    if reader.groups is None:
        return True
    if not entry_access or entry_access.get("all"):
        return False
    user = entry_access.get("user")
    if user is None or user != reader.user:
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


def record(store: Store, entry: LogEntry, *, keep_days: int | None = None) -> int:
    """Append ``entry``; returns its id (also set on ``entry``). With ``keep_days``,
    entries older than that are deleted (checked at most once an hour)."""
    entry.created_at = entry.created_at or _now().isoformat(timespec="milliseconds")
    row = masked_row(entry.to_dict())
    row.pop("id")
    row.pop("redacted")
    entry.id = store.log_insert(row)
    if keep_days is not None:
        maybe_prune(store, keep_days)
    return entry.id


def _now() -> datetime:
    return datetime.now(UTC)


_MASKED_TEXT = ("question", "query", "answer", "error")
_MASKED_CITATION = ("title", "snippet")


def masked_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with personal data masked (:func:`kotae.privacy.pii.mask_pii`) in every text
    the log keeps: the question, the query, the answer, the error, each prompt message and
    each citation's title and snippet. The log is always masked."""
    from kotae.privacy.pii import mask_pii

    out = dict(row)
    for name in _MASKED_TEXT:
        if isinstance(out.get(name), str):
            out[name] = mask_pii(out[name])
    if out.get("prompt"):
        out["prompt"] = [
            {**m, "content": mask_pii(m["content"])} if isinstance(m.get("content"), str) else m
            for m in out["prompt"]
        ]
    if out.get("citations"):
        out["citations"] = [
            {
                **c,
                **{k: mask_pii(c[k]) for k in _MASKED_CITATION if isinstance(c.get(k), str)},
            }
            for c in out["citations"]
        ]
    return out


def list_entries(
    store: Store,
    *,
    limit: int = 20,
    kind: Kind | None = None,
    status: Status | None = None,
    user: str | None = None,
    session: str | None = None,
    reader: Access | None = None,
    since: datetime | None = None,
) -> list[LogEntry]:
    """The latest entries first, optionally filtered (``since``: made at or after that
    aware time), as ``reader`` may see them (``reader=None``: the raw rows)."""
    filters = {"kind": kind, "status": status, "user": user, "session": session}
    after = None if since is None else since.astimezone(UTC).isoformat(timespec="milliseconds")
    return [view(LogEntry(**row), reader) for row in store.log_rows(filters, limit, after)]


def get_entry(store: Store, entry_id: int, *, reader: Access | None = None) -> LogEntry | None:
    """One entry as ``reader`` may see it (``reader=None``: the raw row)."""
    row = store.log_row(entry_id)
    return None if row is None else view(LogEntry(**row), reader)


def log_search(
    store: Store,
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
    return record(store, entry, keep_days=keep_days)


# -- removed documents ---------------------------------------------------------------------
def purge_documents(store: Store, doc_ids: Iterable[int]) -> int:
    """Replace what the documents ``doc_ids`` put into the log by ``[removed]``; returns
    how many entries changed.

    In every entry that retrieved or cited one of them, the prompt's messages (except
    the system prompt, a template) and the answer become ``[removed]``, and the title and
    snippet of each citation of those documents too; ids, scores, usage and timings stay.
    A chat follow-up later in the same session whose query was rewritten (from earlier
    answers) gets its query replaced as well. Call it when documents leave the knowledge
    base (``docs remove``, ``ingest --sync``).
    """
    ids = {int(d) for d in doc_ids}
    rows = store.log_rows_touching(ids)
    updates: list[tuple[int, dict[str, Any]]] = []
    sessions: dict[str, int] = {}
    for row in rows:
        messages = row["prompt"]
        if messages is not None:
            for message in messages:
                if message.get("role") != "system":
                    message["content"] = REMOVED
        cited = row["citations"] or []
        for citation in cited:
            if citation.get("document_id") in ids:
                citation["title"] = citation["snippet"] = REMOVED
        answer = None if row["answer"] is None else REMOVED
        updates.append((row["id"], {"prompt": messages, "answer": answer, "citations": cited}))
        if row["session"] is not None:
            sessions.setdefault(row["session"], row["id"])  # rows come oldest first
    store.log_rewrite(updates, [(s, first, REMOVED) for s, first in sessions.items()])
    return len(rows)


# -- retention ----------------------------------------------------------------------------
def prune(store: Store, keep_days: int, now: datetime | None = None) -> int:
    """Delete the entries older than ``keep_days`` days; returns how many."""
    cutoff = (now or _now()) - timedelta(days=keep_days)
    deleted = store.log_delete_before(cutoff.isoformat(timespec="milliseconds"))
    store.set_meta(_PRUNED_KEY, _now().isoformat(timespec="seconds"))
    return deleted


def maybe_prune(store: Store, keep_days: int) -> int:
    """:func:`prune`, unless it ran less than :data:`PRUNE_EVERY_S` seconds ago (by any
    process: the time is kept in the catalog)."""
    last = store.get_meta(_PRUNED_KEY)
    if last is not None and (_now() - datetime.fromisoformat(last)).total_seconds() < (
        PRUNE_EVERY_S
    ):
        return 0
    return prune(store, keep_days)
