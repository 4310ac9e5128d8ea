"""kotae's own API: search, ask (JSON or SSE), feedback, health and readiness.

Every route reads through the caller's :class:`~kotae.kb.Access` (their groups, or
everything for an admin): the same access the CLI's ``--as NAME`` gives, applied inside
retrieval.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kotae.answer import Answer, AskOptions, Turn, answer_question
from kotae.errors import KotaeError, localized
from kotae.querylog import can_read_entry, get_entry
from kotae.retrieval import SearchResult
from kotae.security.auth import Identity, now_utc, stamp
from kotae.server.deps import MAX_ID, Caller, State
from kotae.server.errors import ERROR_RESPONSES, ApiError, not_found, status_of
from kotae.server.state import ServerState

router = APIRouter(prefix="/api", tags=["kotae"])

MAX_QUERY_CHARS = 4000
# a query or question holds a character that is neither a space nor a control character
# (only those are left out by kotae.text.normalize_text): the spec says so, and checks it
WORDS = r"[^\s\x00-\x1f\x7f\x85\u200b\ufeff]"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _integral(value: Any) -> Any:
    """JSON has one kind of number: ``3.0`` is the integer 3, as JSON Schema's ``integer``
    says (strict models refuse a float, and would refuse what the spec allows)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# after the field's limits in Annotated[int, Field(...), INTEGRAL], so that the schema keeps them
INTEGRAL = BeforeValidator(_integral)


def sse_event(names: list[str] | None) -> dict[str, Any]:
    """The schema of one server-sent event of a ``text/event-stream`` response (OpenAPI 3.1:
    the media type's schema describes each event): ``data`` is JSON text; ``event``, when
    ``names`` are given, is one of them."""
    properties: dict[str, Any] = {"data": {"type": "string", "description": "JSON"}}
    required = ["data"]
    if names:
        properties["event"] = {"type": "string", "enum": names}
        required.append("event")
    return {"type": "object", "properties": properties, "required": required}


# -- search -------------------------------------------------------------------------------
class SearchHit(BaseModel):
    rank: int
    score: float
    document_id: int
    chunk_id: int
    title: str
    source: str
    snippet: str
    highlights: list[list[int]]
    heading_path: list[str]
    location: str
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    text: str


class SearchResponse(BaseModel):
    query: str
    results: list[SearchHit]


def _hit(r: SearchResult) -> dict[str, Any]:
    """A hit as JSON (built by hand: ``dataclasses.asdict`` costs a tenth of a search)."""
    return {
        "rank": r.rank,
        "score": r.score,
        "document_id": r.document_id,
        "chunk_id": r.chunk_id,
        "title": r.title,
        "source": r.source,
        "snippet": r.snippet,
        "highlights": [list(h) for h in r.highlights],
        "heading_path": list(r.heading_path),
        "location": r.location,
        "page": r.page,
        "slide": r.slide,
        "sheet": r.sheet,
        "text": r.text,
    }


@router.get("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search(
    caller: Caller,
    state: State,
    q: Annotated[
        str,
        Query(min_length=1, max_length=MAX_QUERY_CHARS, pattern=WORDS, description="the query"),
    ],
    k: Annotated[int, Query(ge=1, le=1000, description="how many chunks")] = 10,
    format: Annotated[
        str | None,
        Query(max_length=20, pattern=r"^[a-z0-9]+$", description="only documents of a format"),
    ] = None,
    document: Annotated[
        int | None, Query(ge=1, le=2**53 - 1, description="only this document's chunks")
    ] = None,
) -> Any:
    """The top ``k`` chunks the caller may read (lexical, dense or hybrid, as configured),
    optionally only those of one document or one format (the web UI's filters)."""
    if k > state.settings.server.max_k:
        raise ApiError(400, f"k is at most {state.settings.server.max_k} ([server] max_k)")
    if not q.strip():
        raise ApiError(400, "empty query", message_ja="検索語が空です")
    with state.reading() as kb:
        if format is None and document is None:
            results = kb.search(q, k=k, access=caller.access)
        else:
            results = filtered_search(kb, q, k, caller.access, format, document)
    # built to SearchResponse's shape and returned as is: FastAPI's validation of the
    # response model would cost another tenth (tests check the shape against the spec)
    return JSONResponse({"query": q, "results": [_hit(r) for r in results]})


FILTER_DEPTH = 1000  # how deep a filtered search looks for its k chunks


def filtered_search(
    kb: Any, q: str, k: int, access: Any, fmt: str | None, document: int | None
) -> list[SearchResult]:
    """The top ``k`` readable chunks of one format or one document: the ranking goes deeper
    (access still applies inside retrieval) and the filter keeps the first ``k``; logged and
    audited as one search, with the results shown."""
    from dataclasses import replace

    from kotae.querylog import log_search
    from kotae.security.audit import record_kb_query

    started = time.perf_counter()
    ranked = kb.search(q, k=FILTER_DEPTH, access=access, log=False)
    formats: dict[int, str] = {}

    def keep(r: SearchResult) -> bool:
        if document is not None and r.document_id != document:
            return False
        if fmt is not None:
            if r.document_id not in formats:
                doc = kb.catalog.document(r.document_id)
                formats[r.document_id] = doc.format if doc is not None else ""
            return formats[r.document_id] == fmt
        return True

    results = [replace(r, rank=i) for i, r in enumerate((r for r in ranked if keep(r)), 1)]
    results = results[:k]
    log_id = None
    if kb.settings.query_log:
        log_id = log_search(
            kb.catalog, q, access, results, started, keep_days=kb.settings.log.keep_days
        )
    status = "ok" if results else "no_evidence"
    record_kb_query(
        kb, "search", access, (r.document_id for r in results), status=status, log_id=log_id
    )
    return results


# -- ask ----------------------------------------------------------------------------------
class HistoryTurn(Strict):
    question: str = Field(max_length=MAX_QUERY_CHARS)
    answer: str = Field(max_length=20_000)


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=WORDS)
    stream: bool = False
    language: Literal["auto", "ja", "en"] | None = None
    sources: Annotated[int, Field(ge=1, le=50), INTEGRAL] | None = None
    mode: Literal["auto", "extractive", "generate"] | None = None
    history: list[HistoryTurn] = Field(default_factory=list, max_length=20)
    session: str | None = Field(default=None, max_length=100)


class CitationOut(BaseModel):
    number: int
    document_id: int
    chunk_id: int
    title: str
    source: str
    location: str
    snippet: str


class AskResponse(BaseModel):
    question: str
    query: str
    answer: str
    language: str
    mode: str
    status: str
    citations: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    invalid_citations: list[int]
    notice: str | None
    usage: dict[str, Any] | None
    timings: dict[str, float]
    generator: str | None
    log_id: int | None
    flags: list[str]


def ask_options(body: AskRequest, **extra: Any) -> AskOptions:
    return AskOptions(
        mode=body.mode,
        language=body.language,
        sources=body.sources,
        history=[Turn(t.question, t.question, t.answer) for t in body.history],
        session=body.session,
        kind="chat" if body.history or body.session else "ask",
        **extra,
    )


def run_answer(state: ServerState, question: str, caller: Identity, options: AskOptions) -> Answer:
    """One answer, in the calling thread (a worker of the answer pool)."""
    with state.reading() as kb:
        return answer_question(kb, question, caller.access, state.generator, options)


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def stream_answer(
    state: ServerState,
    request: Request,
    question: str,
    caller: Identity,
    make_options: Callable[..., AskOptions],
    render: Callable[[str, Any], bytes | None],
) -> AsyncIterator[bytes]:
    """Run an answer in the answer pool and yield what ``render`` makes of its events:
    ``sources`` (the retrieved chunks), ``token`` (text as it comes), ``answer`` (the final
    :class:`Answer`) or ``error`` (a :class:`KotaeError`)."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(kind: str, data: Any) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, data))

    def work() -> None:
        options = make_options(
            on_token=lambda text: put("token", text),
            on_sources=lambda sources: put("sources", sources),
        )
        try:
            put("answer", run_answer(state, question, caller, options))
        except KotaeError as exc:
            put("error", exc)
        except Exception as exc:
            put("crash", exc)

    async def generate() -> AsyncIterator[bytes]:
        loop.run_in_executor(request.app.state.answer_pool, work)
        while True:
            kind, data = await events.get()
            if kind == "crash":
                import logging

                logging.getLogger("kotae.server").error("answer failed", exc_info=data)
                kind, data = "error", KotaeError("internal error: see the server's log")
            chunk = render(kind, data)
            if chunk:
                yield chunk
            if kind in ("answer", "error"):
                return

    return generate()


def error_payload(exc: KotaeError, language: str) -> dict[str, Any]:
    status, kind, code = status_of(exc)
    return {
        "error": {"message": localized(exc, language), "type": kind, "param": None, "code": code},
        "status": status,
    }


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "The answer as JSON, or with `stream: true` server-sent events: "
            "`sources`, then `token` events, then `citations` (the whole answer), or `error`",
            "content": {
                "text/event-stream": {
                    "schema": sse_event(["sources", "token", "citations", "error"])
                }
            },
        },
    },
)
async def ask(body: AskRequest, caller: Caller, state: State, request: Request) -> Any:
    """Answer a question from the documents the caller may read, with citations."""
    if not body.question.strip():
        raise ApiError(400, "empty question", message_ja="質問が空です")
    if not body.stream:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(
            request.app.state.answer_pool,
            lambda: run_answer(state, body.question, caller, ask_options(body)),
        )
        return JSONResponse(answer.to_dict())

    def render(kind: str, data: Any) -> bytes | None:
        if kind == "sources":
            return _event("sources", {"sources": [_hit(s) for s in data]})
        if kind == "token":
            return _event("token", {"text": data})
        if kind == "answer":
            return _event("citations", data.to_dict())
        return _event("error", error_payload(data, _language(body.question)))

    def options(**extra: Any) -> AskOptions:
        return ask_options(body, **extra)

    stream = stream_answer(state, request, body.question, caller, options, render)
    return StreamingResponse(stream, media_type="text/event-stream")


def _language(question: str) -> str:
    from kotae.text.language import detect_language

    return detect_language(question)


# -- feedback -----------------------------------------------------------------------------
class FeedbackRequest(Strict):
    log_id: Annotated[
        int, Field(ge=1, le=MAX_ID, description="the `log_id` of an answer"), INTEGRAL
    ]
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=4000)


class FeedbackResponse(BaseModel):
    id: int
    log_id: int
    rating: str


@router.post(
    "/feedback", response_model=FeedbackResponse, status_code=201, responses=ERROR_RESPONSES
)
def feedback(body: FeedbackRequest, caller: Caller, state: State) -> dict[str, Any]:
    """Thumbs up or down, and a comment, on one of the caller's own logged answers."""
    with state.reading() as kb:
        entry = get_entry(kb.catalog, body.log_id)
        if (
            entry is None
            or entry.kind not in ("ask", "chat")
            or not can_read_entry(entry.access, caller.access)
        ):
            raise not_found("answer", "回答")
        row = {
            "log_id": body.log_id,
            "user": caller.user.name,
            "rating": 1 if body.rating == "up" else -1,
            "comment": body.comment,
            "created_at": stamp(now_utc()),
        }
        feedback_id = kb.catalog.feedback_insert(row)
    return {"id": feedback_id, "log_id": body.log_id, "rating": body.rating}


# -- health -------------------------------------------------------------------------------
class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    problems: list[str]
    documents: int


@router.get("/health", response_model=Health)
def health() -> dict[str, str]:
    """The process answers (no credentials needed)."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "Not ready: the problems"}},
)
def ready(state: State) -> Any:
    """Whether the server can answer: its knowledge base opens and holds documents, and the
    backends answered at startup (no credentials needed; no detail beyond the problem)."""
    problems = list(state.problems)
    documents = 0
    try:
        with state.reading() as kb:
            documents = kb.catalog.counts()["documents"]
    except KotaeError as exc:
        problems.append(f"knowledge base: {type(exc).__name__}")
    if documents == 0:
        problems.append("the knowledge base holds no document")
    body = {
        "status": "not_ready" if problems else "ready",
        "problems": problems,
        "documents": documents,
    }
    return JSONResponse(body, status_code=503 if problems else 200)
