"""``kotae serve`` in front of a real model: a uvicorn ``kotae serve`` process over a small
knowledge base whose generator is llama-cpp-python's server (the ``llama_server`` fixture,
the tiny random Llama), spoken to with the official ``openai`` client.

The random model's text is gibberish and rarely holds a ``[n]``: what is checked is the
protocol around it: the model list, grounded answers with their ``kotae`` extra (sources,
citations, status, log id), streams that end with ``data: [DONE]``, passthrough with the
model's token usage, and the query log.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from kotae.kb import KnowledgeBase
from kotae.security.auth import create_key, set_role
from tests.conftest import catalog_of
from tests.integration.conftest import MODEL_ALIAS
from tests.server.running import RunningServer, serving

if os.environ.get("KOTAE_REQUIRE_INTEGRATION"):  # make test-integration: no silent skip
    import llama_cpp  # noqa: F401
else:
    pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.integration

KB_MODEL = "kotae/kb"
MAX_TOKENS = 24
# the random model is asked whatever the evidence, with a small answer budget
ENV = {
    "KOTAE_ANSWER__MAX_TOKENS": str(MAX_TOKENS),
    "KOTAE_ANSWER__EVIDENCE_THRESHOLD": "0",
}
TITLES = {"経費精算規程", "在宅勤務規程", "Leave policy"}
KOTAE_FIELDS = {"status", "citations", "sources", "notice", "log_id", "flags", "mode"}
QUESTIONS = ["経費の申請期限はいつ？", "How many days of paid leave do employees get?"]


@pytest.fixture(scope="module")
def tiny_served(
    built_kb: Path, llama_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, str, Path]]:
    """``kotae serve`` over a copy of ``built_kb`` answered by the tiny model: the server,
    an admin's API key, the knowledge base."""
    root = tmp_path_factory.mktemp("tiny-served")
    path = root / "kb"
    shutil.copytree(built_kb, path)
    config = path / "kotae.toml"
    generator = (
        f'[generator]\nbackend = "openai"\nbase_url = "{llama_server}"\n'
        f'model = "{MODEL_ALIAS}"\ncontext_window = 1024\n'
    )
    config.write_text(config.read_text("utf-8") + "\n" + generator, "utf-8")
    with KnowledgeBase(path, sync=False) as kb:
        kb.set_user("aoki", [])
        set_role(kb.catalog, "aoki", "admin")
        key, _ = create_key(kb.catalog, "aoki", name="integration")
    with serving(path, root / "server.log", env=ENV) as server:
        yield server, key, path
        log = server.log_tail()
    assert "Traceback" not in log, log


@pytest.fixture
def client(tiny_served: tuple[RunningServer, str, Path]) -> Iterator[OpenAI]:
    server, key, _ = tiny_served
    with OpenAI(base_url=server.v1, api_key=key, max_retries=0, timeout=120) as openai_client:
        yield openai_client


def kotae_extra(obj: Any) -> dict[str, Any]:
    extra = obj.model_extra or {}
    assert "kotae" in extra, obj
    value: dict[str, Any] = extra["kotae"]
    return value


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def check_grounded(extra: dict[str, Any]) -> None:
    """The ``kotae`` extra of an answer by the random model: what the protocol promises."""
    assert set(extra) >= KOTAE_FIELDS
    assert extra["mode"] == "generate" and isinstance(extra["log_id"], int)
    assert extra["sources"] and {s["title"] for s in extra["sources"]} <= TITLES
    assert isinstance(extra["citations"], list)  # gibberish cites rarely: maybe none
    for citation in extra["citations"]:
        assert citation["title"] in TITLES and citation["number"] >= 1


def test_models_are_the_knowledge_base_and_the_served_model(client: OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == [KB_MODEL, MODEL_ALIAS]
    assert [m.owned_by for m in models] == ["kotae", "openai"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_grounded_answer_by_the_tiny_model(client: OpenAI, question: str) -> None:
    completion = client.chat.completions.create(model=KB_MODEL, messages=user(question))
    assert completion.model == KB_MODEL
    assert isinstance(completion.choices[0].message.content, str)
    check_grounded(kotae_extra(completion))
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0
    assert 0 < usage.completion_tokens <= MAX_TOKENS


def test_a_streamed_grounded_answer_by_the_tiny_model(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model=KB_MODEL, messages=user(QUESTIONS[0]), stream=True)
    )
    assert chunks and all(c.model == KB_MODEL for c in chunks)
    *body, last = chunks
    assert last.choices[0].finish_reason == "stop"
    assert not any("kotae" in (c.model_extra or {}) for c in body)
    extra = kotae_extra(last)
    check_grounded(extra)
    assert isinstance(extra["answer"], str)
    assert last.usage is not None  # the server streams no usage: kotae's own count or 0


def test_streams_end_with_done(tiny_served: tuple[RunningServer, str, Path]) -> None:
    server, key, _ = tiny_served
    for model in (KB_MODEL, MODEL_ALIAS):
        with httpx.stream(
            "POST",
            f"{server.v1}/chat/completions",
            json={"model": model, "messages": user(QUESTIONS[1]), "stream": True},
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        ) as response:
            assert response.status_code == 200
            blocks = "".join(response.iter_text()).strip().split("\n\n")
        assert blocks[-1] == "data: [DONE]", blocks[-3:]
        events = [json.loads(b.removeprefix("data: ")) for b in blocks[:-1]]
        assert all("error" not in e for e in events), events[-1]
        assert events[-1]["choices"][0]["finish_reason"] in ("stop", "length")
        assert "usage" in events[-1]
        assert ("kotae" in events[-1]) == (model == KB_MODEL)


def test_passthrough_to_the_tiny_model_reports_and_logs_usage(
    client: OpenAI, tiny_served: tuple[RunningServer, str, Path]
) -> None:
    marker = "Tell me a story about kotae passthrough."
    completion = client.chat.completions.create(
        model=MODEL_ALIAS, messages=user(marker), max_tokens=12
    )
    assert completion.model == MODEL_ALIAS
    assert "kotae" not in (completion.model_extra or {})
    assert completion.choices[0].finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 12
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    streamed = list(
        client.chat.completions.create(
            model=MODEL_ALIAS, messages=user(marker), max_tokens=12, stream=True
        )
    )
    assert streamed[-1].choices[0].finish_reason in ("stop", "length")
    with catalog_of(tiny_served[2]) as catalog:
        rows = [r for r in catalog.log_rows({"kind": "proxy"}, 20) if r["question"] == marker]
    assert len(rows) == 2 and all(r["status"] == "ok" and r["user"] == "aoki" for r in rows)
    plain = rows[1]  # the newest first: the streamed one, then the plain one
    assert plain["generator"] == f"openai:{MODEL_ALIAS}"
    assert plain["usage"]["prompt_tokens"] == usage.prompt_tokens
    assert plain["usage"]["completion_tokens"] == usage.completion_tokens
