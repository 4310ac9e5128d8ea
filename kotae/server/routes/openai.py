"""OpenAI-compatible endpoints: ``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``.

The ``model`` of a chat completion picks what happens:

- ``kotae/<kb>``: a grounded answer from the documents the caller may read. The last user
  message is the question and earlier turns are the chat history. Citations are ``[n]`` in
  the text, and the response (the last chunk when streamed) carries them in an extra
  ``kotae`` object: ``{citations, sources, status, log_id, notice, flags}``.
- the configured generator's model: passed through to the backend, usage logged.
- anything else: 404 ``model_not_found``, in OpenAI's error shape.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from kotae.answer import Answer, AskOptions, Turn
from kotae.backends.generators import Completion, GenerationParams, Message
from kotae.errors import KotaeError
from kotae.querylog import LogEntry, access_record, record
from kotae.security.audit import record_kb_query
from kotae.security.auth import Identity
from kotae.server.deps import Caller, State
from kotae.server.errors import ERROR_RESPONSES, ApiError
from kotae.server.routes.api import _hit, error_payload, run_answer, sse_event, stream_answer
from kotae.server.state import ServerState, embedder_model
from kotae.text.language import detect_language

router = APIRouter(prefix="/v1", tags=["openai"])

MAX_MESSAGES = 100
MAX_CONTENT = 100_000


class ModelOut(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    kind: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelOut]


@router.get("/models", response_model=ModelList, responses=ERROR_RESPONSES)
def models(caller: Caller, state: State) -> dict[str, Any]:
    """The knowledge base as ``kotae/<name>``, then the configured generator and embedder."""
    return {"object": "list", "data": state.models()}


@router.get("/models/{model_id:path}", response_model=ModelOut, responses=ERROR_RESPONSES)
def model(model_id: str, caller: Caller, state: State) -> dict[str, Any]:
    for m in state.models():
        if m["id"] == model_id:
            return m
    raise _unknown_model(model_id, state)


def _unknown_model(name: str, state: ServerState) -> ApiError:
    known = ", ".join(m["id"] for m in state.models())
    return ApiError(
        404,
        f"the model {name!r} does not exist: this server serves {known}",
        kind="invalid_request_error",
        code="model_not_found",
        message_ja=f"モデル {name!r} はありません（このサーバーのモデル: {known}）",
    )


# -- chat completions ---------------------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        if any(p.type != "text" for p in self.content):
            raise ApiError(400, "only text content parts are supported")
        return "".join(p.text or "" for p in self.content)


class ChatRequest(BaseModel):
    # unknown OpenAI parameters are accepted and ignored, as a compatible server must
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32_768)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1, le=1)


class ChoiceMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: ChoiceMessage
    finish_reason: str | None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: dict[str, Any] | None = None
    kotae: dict[str, Any] | None = Field(
        default=None,
        description="Grounded answers (model kotae/<kb>): citations, sources, status, log_id",
    )


def _texts(body: ChatRequest) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in body.messages:
        text = m.text()
        if len(text) > MAX_CONTENT:
            raise ApiError(400, f"a message is longer than {MAX_CONTENT} characters")
        out.append((m.role, text))
    return out


def _question_and_history(body: ChatRequest) -> tuple[str, list[Turn]]:
    """The last user message, and the user/assistant pairs before it."""
    messages = _texts(body)
    if messages[-1][0] != "user" or not messages[-1][1].strip():
        raise ApiError(
            400,
            "the last message must be the user's question",
            message_ja="最後のメッセージはユーザーの質問にしてください",
        )
    history: list[Turn] = []
    pending: str | None = None
    for role, text in messages[:-1]:
        if role == "user":
            pending = text
        elif role == "assistant" and pending is not None:
            history.append(Turn(pending, pending, text))
            pending = None
    return messages[-1][1], history


def _kotae_extra(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    return {
        "status": answer.status,
        "citations": data["citations"],
        "sources": [_hit(s) for s in answer.sources],
        "notice": answer.notice,
        "log_id": answer.log_id,
        "flags": answer.flags,
        "mode": answer.mode,
    }


def _usage(answer: Answer | Completion) -> dict[str, Any]:
    usage = answer.usage
    if usage is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _chunk(
    cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None, **extra: Any
) -> bytes:
    data = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def _error_event(exc: KotaeError, language: str) -> bytes:
    """An error in the middle of a stream: OpenAI's error object as one event, then done."""
    error = error_payload(exc, language)["error"]
    return f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n".encode() + DONE


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "A chat completion, or with `stream: true` server-sent "
            "`chat.completion.chunk` events ending with `data: [DONE]`",
            "content": {"text/event-stream": {"schema": sse_event(None)}},
        },
    },
)
async def chat_completions(
    body: ChatRequest, caller: Caller, state: State, request: Request
) -> Any:
    """Grounded answers (``kotae/<kb>``) or the configured model passed through."""
    if body.model == state.model_id:
        return await _grounded(body, caller, state, request)
    if state.generator is not None and body.model == state.generator.model:
        return await _passthrough(body, caller, state, request)
    raise _unknown_model(body.model, state)


async def _grounded(
    body: ChatRequest, caller: Identity, state: ServerState, request: Request
) -> Any:
    question, history = _question_and_history(body)
    max_tokens = body.max_completion_tokens or body.max_tokens
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def options(**extra: Any) -> AskOptions:
        return AskOptions(
            history=history,
            max_tokens=max_tokens,
            temperature=body.temperature,
            kind="chat" if history else "ask",
            **extra,
        )

    if not body.stream:
        loop = asyncio.get_running_loop()
        answer: Answer = await loop.run_in_executor(
            request.app.state.answer_pool,
            lambda: run_answer(state, question, caller, options()),
        )
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": state.model_id,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(answer),
                "kotae": _kotae_extra(answer),
            }
        )
    streamed: list[str] = []

    def render(kind: str, data: Any) -> bytes | None:
        if kind == "sources":
            return _chunk(cid, created, state.model_id, {"role": "assistant", "content": ""}, None)
        if kind == "token":
            streamed.append(data)
            return _chunk(cid, created, state.model_id, {"content": data}, None)
        if kind == "answer":
            # an extractive answer (no tokens) comes whole; a generated one was streamed as
            # the model wrote it, and the final chunk carries the cleaned text in `kotae`
            delta = {} if streamed else {"content": data.text}
            extra = {"kotae": {**_kotae_extra(data), "answer": data.text}, "usage": _usage(data)}
            return _chunk(cid, created, state.model_id, delta, "stop", **extra) + DONE
        return _error_event(data, detect_language(question))

    stream = stream_answer(state, request, question, caller, options, render)
    return StreamingResponse(stream, media_type="text/event-stream")


async def _passthrough(
    body: ChatRequest, caller: Identity, state: ServerState, request: Request
) -> Any:
    generator = state.generator
    assert generator is not None
    messages = []
    for role, text in _texts(body):
        mapped = "system" if role in ("system", "developer") else role
        if mapped not in ("system", "user", "assistant"):
            raise ApiError(400, f"role {role!r} is not supported by this model")
        messages.append(Message(mapped, text))  # type: ignore[arg-type]
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    params = GenerationParams(
        max_tokens=body.max_completion_tokens
        or body.max_tokens
        or state.settings.answer.max_tokens,
        temperature=0.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        stop=stop,
        seed=body.seed,
    )
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    loop = asyncio.get_running_loop()
    pool = request.app.state.answer_pool
    started = time.perf_counter()
    if not body.stream:
        try:
            completion = await loop.run_in_executor(pool, generator.generate, messages, params)
        except KotaeError as exc:
            await loop.run_in_executor(
                pool, _log_proxy, state, caller, messages, None, exc, started
            )
            raise
        await loop.run_in_executor(
            pool, _log_proxy, state, caller, messages, completion, None, started
        )
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": completion.text},
                        "finish_reason": completion.finish_reason or "stop",
                    }
                ],
                "usage": _usage(completion),
            }
        )

    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def work() -> None:
        try:
            final: Completion | None = None
            pieces: list[str] = []
            for item in generator.stream(messages, params):
                if isinstance(item, Completion):
                    final = item
                else:
                    pieces.append(item)
                    loop.call_soon_threadsafe(events.put_nowait, ("token", item))
            final = final or Completion("".join(pieces), generator.model)
            _log_proxy(state, caller, messages, final, None, started)
            loop.call_soon_threadsafe(events.put_nowait, ("done", final))
        except KotaeError as exc:
            _log_proxy(state, caller, messages, None, exc, started)
            loop.call_soon_threadsafe(events.put_nowait, ("error", exc))
        except Exception as exc:
            loop.call_soon_threadsafe(
                events.put_nowait, ("error", KotaeError(f"internal error ({type(exc).__name__})"))
            )

    async def generate() -> Any:
        loop.run_in_executor(pool, work)
        yield _chunk(cid, created, body.model, {"role": "assistant", "content": ""}, None)
        while True:
            kind, data = await events.get()
            if kind == "token":
                yield _chunk(cid, created, body.model, {"content": data}, None)
            elif kind == "done":
                yield (
                    _chunk(
                        cid,
                        created,
                        body.model,
                        {},
                        data.finish_reason or "stop",
                        usage=_usage(data),
                    )
                    + DONE
                )
                return
            else:
                yield _error_event(data, "en")
                return

    return StreamingResponse(generate(), media_type="text/event-stream")


def _log_proxy(
    state: ServerState,
    caller: Identity,
    messages: list[Message],
    completion: Completion | None,
    error: KotaeError | None,
    started: float,
) -> None:
    """One ``proxy`` entry in the query log: the caller's messages, the reply, the usage."""
    with state.reading() as kb:
        if not kb.settings.query_log:
            record_kb_query(kb, "proxy", caller.access, [], status=_status(error))
            return
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        entry = LogEntry(
            kind="proxy",
            status="error" if error is not None else "ok",
            question=last,
            query=last,
            user=caller.user.name,
            mode="generate",
            generator=state.generator.name if state.generator else None,
            prompt=[m.to_dict() for m in messages],
            answer=completion.text if completion else None,
            usage=completion.usage.to_dict() if completion and completion.usage else None,
            timings={"total_ms": round((time.perf_counter() - started) * 1000, 3)},
            error=f"{type(error).__name__}: {error}" if error else None,
            access=access_record(caller.access),
        )
        log_id = record(kb.catalog, entry, keep_days=kb.settings.log.keep_days)
        record_kb_query(kb, "proxy", caller.access, [], status=_status(error), log_id=log_id)


def _status(error: KotaeError | None) -> str:
    return "error" if error is not None else "ok"


# -- embeddings ---------------------------------------------------------------------------
class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=200)
    input: str | list[str] = Field(description="a text or up to 256 texts")
    # the official clients ask for base64 unless told otherwise
    encoding_format: Literal["float", "base64"] | None = None


class EmbeddingItem(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(
        description="the vector, or with `encoding_format: base64` its little-endian float32 "
        "bytes in base64"
    )


class EmbeddingList(BaseModel):
    object: Literal["list"]
    data: list[EmbeddingItem]
    model: str
    usage: dict[str, int]


@router.post("/embeddings", response_model=EmbeddingList, responses=ERROR_RESPONSES)
async def embeddings(body: EmbeddingRequest, caller: Caller, state: State, request: Request) -> Any:
    """Embeddings from the knowledge base's embedder (passages, as documents are embedded)."""
    if state.embedder is None or body.model != embedder_model(state):
        raise _unknown_model(body.model, state)
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts or len(texts) > 256 or any(not t or len(t) > 20_000 for t in texts):
        raise ApiError(400, "input: give 1 to 256 non-empty texts of at most 20,000 characters")
    embedder = state.embedder
    loop = asyncio.get_running_loop()
    vectors = await loop.run_in_executor(
        request.app.state.answer_pool, lambda: embedder.embed(texts, kind="passage")
    )
    from kotae.documents.chunking import estimate_tokens

    tokens = sum(estimate_tokens(t) for t in texts)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _vector(v, body.encoding_format)}
                for i, v in enumerate(vectors)
            ],
            "model": body.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def _vector(vector: Any, encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        import base64

        import numpy as np

        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]
