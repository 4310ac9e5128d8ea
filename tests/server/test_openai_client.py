"""``kotae serve`` through the official ``openai`` client: a real uvicorn process on
127.0.0.1 over a copy of the session's knowledge base, with the scripted ``fake`` generator
(model ``fake-chat``) and the ``fake`` embedder (8 dimensions; retrieval stays lexical, so
the answers cite what the in-process tests expect).

What a client of an OpenAI-compatible server relies on: the model list, grounded answers
(``kotae/kb``) plain and streamed with their ``kotae`` extra, passthrough to the configured
model with usage, embeddings, and errors mapped to the client's typed exceptions.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from kotae.security.auth import create_key, revoke_key
from kotae.testing import FakeEmbedder
from tests.conftest import catalog_of
from tests.server.conftest import GENERATOR_MODEL, KB_NAME, MODEL, SECRET_DOC, SECRET_QUERY
from tests.server.running import RunningServer, serving

Users = Callable[[str], OpenAI]  # the `as_user` fixture
EMBEDDER_DIM = 8
EMBEDDER_MODEL = f"fake:{EMBEDDER_DIM}"  # the embedder's name: it has no `model` option
CONFIG = (
    "\n[server]\nrate_limit_per_minute = 0\n"
    f'[generator]\nbackend = "fake"\nmodel = "{GENERATOR_MODEL}"\n'
    f'[embedder]\nbackend = "fake"\ndim = {EMBEDDER_DIM}\n'
)
# an embedder makes retrieval hybrid: kept lexical, so the citations are the known ones
ENV = {"KOTAE_RETRIEVAL__MODE": "lexical"}

QUESTIONS = {
    "ja": ("出張の宿泊費の上限はいくら？", "経費精算規程"),
    "en": ("How do I get a higher API rate limit?", "Parts Catalog API v2 — Developer Guide"),
}


@pytest.fixture(scope="module")
def served(
    service_template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Path, dict[str, str]]]:
    """One ``kotae serve`` for the module: the server, its knowledge base, the API keys."""
    template, keys = service_template
    root = tmp_path_factory.mktemp("openai-client")
    path = root / KB_NAME
    shutil.copytree(template, path)
    config = path / "kotae.toml"
    config.write_text(config.read_text("utf-8") + CONFIG, "utf-8")
    with serving(path, root / "server.log", env=ENV) as server:
        yield server, path, keys
        log = server.log_tail()
    assert "Traceback" not in log, log


@pytest.fixture
def kb_path(served: tuple[RunningServer, Path, dict[str, str]]) -> Path:
    return served[1]


def client_of(server: RunningServer, key: str) -> OpenAI:
    return OpenAI(base_url=server.v1, api_key=key, max_retries=0, timeout=30)


@pytest.fixture
def as_user(
    served: tuple[RunningServer, Path, dict[str, str]],
) -> Iterator[Users]:
    """``as_user("rita")``: an OpenAI client with that user's key (closed afterwards)."""
    server, _, keys = served
    clients: list[OpenAI] = []

    def make(who: str) -> OpenAI:
        client = client_of(server, keys[who])
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def kotae_extra(obj: Any) -> dict[str, Any]:
    """The ``kotae`` field that the client keeps among a response's unknown fields."""
    extra = obj.model_extra or {}
    assert "kotae" in extra, obj
    value: dict[str, Any] = extra["kotae"]
    return value


def ask(question: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": question}]


# -- models -------------------------------------------------------------------------------
def test_models_lists_the_knowledge_base_then_the_configured_models(as_user: Users) -> None:
    models = list(as_user("rita").models.list())
    assert [m.id for m in models] == [MODEL, GENERATOR_MODEL, EMBEDDER_MODEL]
    assert [m.owned_by for m in models] == ["kotae", "fake", "fake"]
    assert all(m.object == "model" for m in models)
    assert as_user("rita").models.retrieve(MODEL).id == MODEL


# -- grounded answers -----------------------------------------------------------------------
@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_grounded_answer_cites_its_sources(as_user: Users, language: str) -> None:
    question, title = QUESTIONS[language]
    completion = as_user("rita").chat.completions.create(model=MODEL, messages=ask(question))
    assert completion.model == MODEL and completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert "[1]" in (choice.message.content or "")
    extra = kotae_extra(completion)
    assert extra["status"] == "ok" and extra["mode"] == "generate"
    assert extra["citations"][0]["number"] == 1
    assert extra["citations"][0]["title"] == title
    assert extra["sources"][0]["title"] == title
    assert isinstance(extra["log_id"], int)
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_streamed_grounded_answer_ends_with_its_citations(as_user: Users, language: str) -> None:
    question, title = QUESTIONS[language]
    stream = as_user("rita").chat.completions.create(
        model=MODEL, messages=ask(question), stream=True
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == MODEL for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "[1]" in text
    *body, last = chunks
    assert last.choices[0].finish_reason == "stop"
    assert not any("kotae" in (c.model_extra or {}) for c in body)
    extra = kotae_extra(last)
    assert extra["citations"][0]["title"] == title
    assert extra["answer"].strip() and "[1]" in extra["answer"]
    assert last.usage is not None and last.usage.completion_tokens > 0


def test_the_raw_stream_is_sse_ending_with_done(
    served: tuple[RunningServer, Path, dict[str, str]],
) -> None:
    server, _, keys = served
    with httpx.stream(
        "POST",
        f"{server.v1}/chat/completions",
        json={"model": MODEL, "messages": ask(QUESTIONS["ja"][0]), "stream": True},
        headers={"Authorization": f"Bearer {keys['rita']}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        blocks = "".join(response.iter_text()).strip().split("\n\n")
    assert blocks[-1] == "data: [DONE]"
    assert all(b.startswith("data: ") for b in blocks)
    last = json.loads(blocks[-2].removeprefix("data: "))
    assert last["choices"][0]["finish_reason"] == "stop" and last["kotae"]["citations"]


def test_grounded_answers_read_only_what_the_caller_may_read(as_user: Users) -> None:
    def titles(who: str) -> list[str]:
        completion = as_user(who).chat.completions.create(model=MODEL, messages=ask(SECRET_QUERY))
        extra = kotae_extra(completion)
        return [s["title"] for s in extra["sources"]] + [c["title"] for c in extra["citations"]]

    assert not any(SECRET_DOC in t for t in titles("rita"))
    assert any(SECRET_DOC in t for t in titles("sato"))  # in the executives group


# -- passthrough --------------------------------------------------------------------------
def test_passthrough_to_the_configured_model_reports_and_logs_usage(
    as_user: Users, kb_path: Path
) -> None:
    marker = f"passthrough {uuid.uuid4().hex}"
    completion = as_user("rita").chat.completions.create(
        model=GENERATOR_MODEL,
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": marker},
        ],
        max_tokens=32,
    )
    assert completion.model == GENERATOR_MODEL
    assert completion.choices[0].message.content
    assert "kotae" not in (completion.model_extra or {})
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    with catalog_of(kb_path) as catalog:
        rows = [r for r in catalog.log_rows({"kind": "proxy"}, 50) if r["question"] == marker]
    assert len(rows) == 1
    row = rows[0]
    assert row["user"] == "rita" and row["status"] == "ok"
    assert row["generator"] == f"fake:{GENERATOR_MODEL}"
    assert row["answer"] == completion.choices[0].message.content
    assert row["usage"]["prompt_tokens"] == usage.prompt_tokens
    assert row["usage"]["completion_tokens"] == usage.completion_tokens
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]


def test_streamed_passthrough_ends_with_usage(as_user: Users) -> None:
    chunks = list(
        as_user("rita").chat.completions.create(
            model=GENERATOR_MODEL, messages=ask("Say something."), stream=True
        )
    )
    assert all(c.model == GENERATOR_MODEL for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip()
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.usage is not None and last.usage.completion_tokens > 0


# -- errors -------------------------------------------------------------------------------
def test_an_unknown_model_is_not_found(as_user: Users) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        as_user("rita").chat.completions.create(model="gpt-4o", messages=ask("hello"))
    assert caught.value.status_code == 404 and caught.value.code == "model_not_found"
    assert MODEL in caught.value.message  # the message names what the server serves
    with pytest.raises(openai.NotFoundError):
        as_user("rita").models.retrieve("gpt-4o")


@pytest.mark.parametrize("who", ["nobody", "sato:expired", "sato:revoked", None])
def test_a_bad_key_is_an_authentication_error(
    served: tuple[RunningServer, Path, dict[str, str]], who: str | None
) -> None:
    server, _, keys = served
    key = keys[who] if who else "not-a-kotae-key"
    with client_of(server, key) as client, pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model=MODEL, messages=ask("経費の申請期限は？"))
    assert caught.value.status_code == 401


def test_a_key_revoked_while_the_server_runs_stops_working(
    served: tuple[RunningServer, Path, dict[str, str]],
) -> None:
    server, path, _ = served
    with catalog_of(path) as catalog:
        secret, record = create_key(catalog, "rita", name="short-lived")
    with client_of(server, secret) as client:
        assert next(m.id for m in client.models.list()) == MODEL
        with catalog_of(path) as catalog:
            revoke_key(catalog, str(record.id))
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model=GENERATOR_MODEL, messages=ask("hello"))


# -- embeddings ---------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["default", "float"])
def test_embeddings_are_the_embedders_vectors(as_user: Users, encoding: str) -> None:
    texts = ["経費精算の申請期限", "How do I reset my password?"]
    options: dict[str, Any] = {} if encoding == "default" else {"encoding_format": "float"}
    # the client's default asks for base64 and decodes it: both must give the vectors
    result = as_user("rita").embeddings.create(model=EMBEDDER_MODEL, input=texts, **options)
    assert result.model == EMBEDDER_MODEL and [d.index for d in result.data] == [0, 1]
    got = np.array([d.embedding for d in result.data], dtype=np.float32)
    expected = FakeEmbedder(EMBEDDER_DIM).embed(texts, kind="passage")
    assert got.shape == (2, EMBEDDER_DIM)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert result.usage.prompt_tokens > 0


def test_embeddings_of_an_unknown_model_are_not_found(as_user: Users) -> None:
    with pytest.raises(openai.NotFoundError):
        as_user("rita").embeddings.create(model="text-embedding-3-small", input="経費")
