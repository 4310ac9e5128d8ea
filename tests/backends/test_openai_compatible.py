"""The OpenAI-compatible embeddings client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from kotae.backends.embedders import create_embedder
from kotae.backends.openai_compatible import OpenAIEmbedder, OpenAIEmbedderOptions
from kotae.errors import BackendError, ConfigError
from kotae.testing import FakeEmbedder

SECRET = "sk-test-0123456789abcdef"
DIM = 8


@dataclass
class FakeEmbeddingsAPI:
    """State of the stand-in server: a script of responses and the requests it saw."""

    script: list[str] = field(default_factory=list)  # "ok", "429", "500", "short", "ragged"...
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""


def _embeddings_body(inputs: list[str], action: str) -> dict[str, Any]:
    # Unnormalized (x3) so that the client's normalization is observable; reversed order
    # with explicit indexes, as servers may return them.
    vectors = (FakeEmbedder(dim=DIM).embed(inputs) * 3.0).tolist()
    if action == "short":
        vectors = vectors[:-1]
    if action == "ragged":
        vectors[0] = vectors[0][:-1]
    if action == "wider":
        vectors = [[*v, 0.5] for v in vectors]
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data[::-1], "model": "stub"}


def _handler_for(api: FakeEmbeddingsAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            payload = json.loads(self.rfile.read(length))
            api.requests.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "json": payload}
            )
            action = api.script.pop(0) if api.script else "ok"
            if self.path != "/v1/embeddings":
                self._reply(404, {"error": {"message": f"no route {self.path}"}})
            elif action in ("429", "500", "400"):
                message = f"stub says {action} (key was {SECRET})"
                self._reply(int(action), {"error": {"message": message, "type": "stub"}})
            else:
                self._reply(200, _embeddings_body(payload["input"], action))

    return Handler


@pytest.fixture
def api() -> Iterator[FakeEmbeddingsAPI]:
    state = FakeEmbeddingsAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def embedder(api: FakeEmbeddingsAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIEmbedder]:
    monkeypatch.setenv("KOTAE_TEST_EMBED_KEY", SECRET)
    options = OpenAIEmbedderOptions(
        base_url=api.base_url,
        model="stub-embed",
        api_key_env="KOTAE_TEST_EMBED_KEY",
        batch_size=3,
        retry_backoff_s=0.0,
        timeout_s=5,
    )
    with OpenAIEmbedder(options) as client:
        yield client


def test_embeds_in_batches_normalized_and_in_input_order(
    api: FakeEmbeddingsAPI, embedder: OpenAIEmbedder
) -> None:
    texts = ["経費精算", "情報セキュリティ", "VPN", "勤怠", "出張旅費", "password", "有給休暇"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (7, DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, FakeEmbedder(dim=DIM).embed(texts), atol=1e-6)
    assert [len(r["json"]["input"]) for r in api.requests] == [3, 3, 1]
    assert all(r["path"] == "/v1/embeddings" for r in api.requests)
    assert api.requests[0]["json"]["model"] == "stub-embed"
    assert api.requests[0]["auth"] == f"Bearer {SECRET}"
    assert embedder.dim == DIM
    assert embedder.name == "openai:stub-embed"


def test_prefixes_are_sent_to_the_server(
    api: FakeEmbeddingsAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = create_embedder(
        "openai",
        {"base_url": api.base_url, "model": "m", "query_prefix": "query: ", "dimensions": DIM},
    )
    embedder.embed(["経費"], kind="query")
    embedder.embed(["経費"])
    assert [r["json"]["input"] for r in api.requests] == [["query: 経費"], ["経費"]]
    assert api.requests[0]["json"]["dimensions"] == DIM
    assert api.requests[0]["auth"] is None  # no api_key_env: no header


def test_retries_429_then_succeeds(api: FakeEmbeddingsAPI, embedder: OpenAIEmbedder) -> None:
    api.script = ["429", "429"]
    vectors = embedder.embed(["経費精算"])
    assert vectors.shape == (1, DIM)
    assert len(api.requests) == 3


def test_500_until_retries_are_exhausted_is_a_backend_error(
    api: FakeEmbeddingsAPI, embedder: OpenAIEmbedder
) -> None:
    api.script = ["500"] * 4
    with pytest.raises(BackendError) as caught:
        embedder.embed(["経費精算"])
    message = str(caught.value)
    assert len(api.requests) == 4  # 1 try + 3 retries
    assert "HTTP 500 after 4 attempts" in message
    assert "stub says 500" in message  # the server's own message is kept
    assert f"{api.base_url}/embeddings" in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value.__cause__) + repr(caught.value.__context__)


def test_a_client_error_is_not_retried(api: FakeEmbeddingsAPI, embedder: OpenAIEmbedder) -> None:
    api.script = ["400"]
    with pytest.raises(BackendError, match="HTTP 400: stub says 400"):
        embedder.embed(["x"])
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("action", "pattern"),
    [("short", "returned 1 embeddings for 2 inputs"), ("ragged", "not lists of numbers")],
)
def test_a_wrong_shape_is_a_backend_error(
    api: FakeEmbeddingsAPI, embedder: OpenAIEmbedder, action: str, pattern: str
) -> None:
    api.script = [action]
    with pytest.raises(BackendError, match=pattern):
        embedder.embed(["a", "b"])


def test_a_dimension_change_between_calls_is_a_backend_error(
    api: FakeEmbeddingsAPI, embedder: OpenAIEmbedder
) -> None:
    assert embedder.embed(["a"]).shape == (1, DIM)
    api.script = ["wider"]  # as if the server switched models between calls
    with pytest.raises(BackendError, match=f"returned {DIM + 1}-dimensional .* expected {DIM}"):
        embedder.embed(["a"])


def test_an_unreachable_server_is_a_backend_error_without_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOTAE_TEST_EMBED_KEY", SECRET)
    sleeps: list[float] = []
    options = OpenAIEmbedderOptions(
        base_url="http://user:pw@127.0.0.1:9/v1",  # port 9 (discard): connection refused
        model="m",
        api_key_env="KOTAE_TEST_EMBED_KEY",
        retry_backoff_s=0.25,
        connect_timeout_s=1,
    )
    with pytest.raises(BackendError) as caught:
        OpenAIEmbedder(options, sleep=sleeps.append).embed(["a"])
    message = str(caught.value)
    assert "could not be reached after 4 attempts" in message
    assert "http://127.0.0.1:9/v1/embeddings" in message
    assert "pw" not in message and SECRET not in message
    assert sleeps == [0.25, 0.5, 1.0]  # exponential backoff


def test_missing_key_variable_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOTAE_TEST_MISSING_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"KOTAE_TEST_MISSING_KEY .* not set"):
        create_embedder("openai", {"model": "m", "api_key_env": "KOTAE_TEST_MISSING_KEY"})


def test_a_key_pasted_into_api_key_env_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        create_embedder("openai", {"model": "m", "api_key_env": SECRET})
    assert "NAME of an environment variable" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None
