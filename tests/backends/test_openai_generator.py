"""The OpenAI-compatible chat generator against a real HTTP server on 127.0.0.1.

The server stands in for the paid API's edge: each test scripts what it answers (JSON,
SSE streams, errors as OpenAI, vLLM, Ollama and llama.cpp send them, slow or broken
replies); the client under test is the real one, over real sockets.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kotae.backends.generators import Completion, GenerationParams, Message, create_generator
from kotae.backends.openai_generator import OpenAIGenerator, OpenAIGeneratorOptions
from kotae.errors import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigError,
    ContextOverflowError,
    ModelNotFoundError,
)

SECRET = "sk-test-chat-0123456789abcdef"
KEY_ENV = "KOTAE_TEST_CHAT_KEY"
MODEL = "stub-chat"
ANSWER_PIECES = ["経費精算の", "期限は", "毎月末", "です。"]
ANSWER = "".join(ANSWER_PIECES)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
MESSAGES = [
    Message("system", "社内規程に基づいて答えてください。"),
    Message("user", "経費精算の期限は？"),
]

# Error bodies as real servers send them: (status, body)
ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "401": (401, {"error": {"message": f"Incorrect API key provided: {SECRET}", "code": None}}),
    "404model": (
        404,
        {
            "error": {
                "message": "The model `stub-chat` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        },
    ),
    "404ollama": (404, {"error": {"message": "model 'stub-chat' not found", "type": "api_error"}}),
    "400openai": (
        400,
        {
            "error": {
                "message": "This model's maximum context length is 4096 tokens. However, "
                "your messages resulted in 5000 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
    ),
    "400vllm": (
        400,
        {
            "object": "error",
            "message": "This model's maximum context length is 2048 tokens. However, you "
            "requested 3000 tokens (2900 in the messages, 100 in the completion).",
            "type": "BadRequestError",
            "code": 400,
        },
    ),
    "400llamacpp": (
        400,
        {"error": {"message": "Requested tokens (600) exceed context window of 512"}},
    ),
    "400llamaserver": (
        400,
        {
            "error": {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
            }
        },
    ),
    "400other": (400, {"error": {"message": "temperature must be <= 2", "type": "bad"}}),
}


@dataclass
class FakeChatAPI:
    """State of the stand-in server: the scripted answers and the requests it saw."""

    script: list[str] = field(default_factory=list)
    models: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": MODEL, "object": "model", "max_model_len": 4096},
            {"id": "other-model", "object": "model"},
        ]
    )
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""


def _chunk(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _sse_events(action: str) -> list[str]:
    events = [": keep-alive", f"data: {json.dumps(_chunk({'role': 'assistant'}))}"]
    events += [f"data: {json.dumps(_chunk({'content': piece}))}" for piece in ANSWER_PIECES]
    if action == "broken":
        return events[:4]  # two pieces, then the connection dies
    if action == "truncated":
        return events  # ends cleanly, but without finish_reason or [DONE]
    if action == "stream_error":
        error = {"error": {"message": "engine crashed", "type": "InternalServerError"}}
        return [*events[:3], f"data: {json.dumps(error)}"]
    events.append(f"data: {json.dumps(_chunk({}, 'stop'))}")
    if action != "nousage":
        usage = {"prompt_tokens": 31, "completion_tokens": 4, "total_tokens": 35}
        events.append(f"data: {json.dumps({'choices': [], 'model': MODEL, 'usage': usage})}")
    events.append("data: [DONE]")
    return events


def _handler_for(api: FakeChatAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            # the client gave up (timeout test): nothing to answer
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _stream(self, action: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in _sse_events(action):
                data = f"{event}\n\n".encode()
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            if action == "broken":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")

        def do_GET(self) -> None:
            api.requests.append({"method": "GET", "path": self.path})
            if self.path == "/v1/models":
                self._reply(200, {"object": "list", "data": api.models})
            else:
                self._reply(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            api.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "json": payload,
                }
            )
            action = api.script.pop(0) if api.script else "ok"
            if action.startswith(("429", "500", "503")):
                status, _, retry_after = action.partition(":")
                headers = {"Retry-After": retry_after} if retry_after else {}
                message = f"stub says {status} (key was {SECRET})"
                self._reply(int(status), {"error": {"message": message}}, headers)
            elif action in ERRORS:
                self._reply(*ERRORS[action])
            elif action == "slow":
                time.sleep(1.0)
                self._reply(200, {"choices": []})
            elif action == "malformed":
                self._reply(200, b"<html>not json")
            elif payload.get("stream"):
                self._stream(action)
            else:
                answer = {"role": "assistant", "content": ANSWER}
                self._reply(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": f"{MODEL}-2026",
                        "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40},
                    },
                )

    return Handler


@pytest.fixture
def api() -> Iterator[FakeChatAPI]:
    state = FakeChatAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def generator(
    api: FakeChatAPI, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenAIGenerator]:
    monkeypatch.setenv(KEY_ENV, SECRET)
    options = OpenAIGeneratorOptions(
        base_url=api.base_url + "/", model=MODEL, api_key_env=KEY_ENV, timeout_s=5
    )
    with OpenAIGenerator(options, sleep=sleeps.append) as client:
        yield client


def _chat_requests(api: FakeChatAPI) -> list[dict[str, Any]]:
    return [r for r in api.requests if r["path"] == "/v1/chat/completions"]


def _assert_safe_and_bilingual(error: BackendError) -> None:
    assert SECRET not in str(error)
    assert error.message_ja is not None and SECRET not in error.message_ja
    assert JAPANESE.search(error.message_ja)
    assert SECRET not in repr(error.__cause__) + repr(error.__context__)


def test_generate_sends_the_request_and_parses_the_completion(
    api: FakeChatAPI, generator: OpenAIGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = GenerationParams(max_tokens=64, temperature=0.2, top_p=0.9, stop=("\n\n",), seed=7)
    completion = generator.generate(MESSAGES, params)

    assert completion.text == ANSWER
    assert completion.model == f"{MODEL}-2026"  # as the server reported it
    assert completion.usage is not None and completion.usage.to_dict() == {
        "prompt_tokens": 31,
        "completion_tokens": 9,
        "total_tokens": 40,
    }
    assert completion.finish_reason == "stop"
    assert completion.timings["total_ms"] > 0
    [request] = api.requests
    assert request["path"] == "/v1/chat/completions"  # trailing / of base_url stripped
    assert request["auth"] == f"Bearer {SECRET}"
    assert request["json"] == {
        "model": MODEL,
        "messages": [m.to_dict() for m in MESSAGES],
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": 7,
    }
    assert generator.name == f"openai:{MODEL}"


def test_extra_body_is_merged_into_every_request(
    api: FakeChatAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = create_generator(
        "openai", {"base_url": api.base_url, "model": MODEL, "extra_body": {"top_k": 20}}
    )
    generator.generate(MESSAGES)
    list(generator.stream(MESSAGES))
    generator.close()
    assert [r["json"]["top_k"] for r in api.requests] == [20, 20]
    assert "stop" not in api.requests[0]["json"] and "seed" not in api.requests[0]["json"]
    assert api.requests[0]["auth"] is None  # no api_key_env: no header


def test_stream_yields_deltas_then_one_final_completion(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    items = list(generator.stream(MESSAGES, GenerationParams(max_tokens=32)))

    *deltas, final = items
    assert deltas == ANSWER_PIECES
    assert isinstance(final, Completion)
    assert final.text == ANSWER
    assert final.usage is not None and final.usage.to_dict()["total_tokens"] == 35
    assert final.finish_reason == "stop"
    assert 0 < final.timings["first_token_ms"] <= final.timings["total_ms"]
    payload = api.requests[0]["json"]
    assert payload["stream"] is True
    assert payload["stream_options"] == {"include_usage": True}
    assert payload["max_tokens"] == 32


def test_a_stream_without_usage_gets_usage_counted_by_kotae(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    from kotae.documents.chunking import estimate_tokens

    api.script = ["nousage"]
    final = list(generator.stream(MESSAGES))[-1]
    assert isinstance(final, Completion)
    assert final.text == ANSWER
    assert final.usage is not None and final.usage.estimated
    assert final.usage.prompt_tokens == sum(estimate_tokens(m.content) for m in MESSAGES)
    assert final.usage.completion_tokens == estimate_tokens(ANSWER)
    assert final.usage.to_dict()["estimated"] is True


def test_429_is_retried_after_the_servers_retry_after_capped(
    api: FakeChatAPI, generator: OpenAIGenerator, sleeps: list[float]
) -> None:
    api.script = ["429:2", "429:120"]
    completion = generator.generate(MESSAGES)
    assert completion.text == ANSWER
    assert len(_chat_requests(api)) == 3
    assert sleeps == [2.0, 30.0]  # Retry-After honoured, capped at 30 s


def test_a_stream_is_retried_before_any_content_arrived(
    api: FakeChatAPI, generator: OpenAIGenerator, sleeps: list[float]
) -> None:
    api.script = ["503"]
    items = list(generator.stream(MESSAGES))
    assert "".join(i for i in items if isinstance(i, str)) == ANSWER
    assert len(_chat_requests(api)) == 2
    assert sleeps == [0.5]  # exponential backoff, first step


def test_5xx_until_the_retries_are_exhausted_is_unavailable(
    api: FakeChatAPI, generator: OpenAIGenerator, sleeps: list[float]
) -> None:
    api.script = ["500"] * 3
    with pytest.raises(BackendUnavailableError) as caught:
        generator.generate(MESSAGES)
    message = str(caught.value)
    assert "HTTP 500 after 3 attempts" in message
    assert "stub says 500" in message  # the server's own message is kept, key scrubbed
    assert api.base_url in message and MODEL in message
    assert sleeps == [0.5, 1.0]
    _assert_safe_and_bilingual(caught.value)


@pytest.mark.parametrize("action", ["404model", "404ollama"])
def test_an_unknown_model_lists_the_served_ones(
    api: FakeChatAPI, generator: OpenAIGenerator, action: str
) -> None:
    api.script = [action]
    with pytest.raises(ModelNotFoundError) as caught:
        generator.generate(MESSAGES)
    assert "does not serve model 'stub-chat'" in str(caught.value)
    assert "It serves: stub-chat, other-model." in str(caught.value)
    assert "stub-chat, other-model" in (caught.value.message_ja or "")
    assert len(_chat_requests(api)) == 1
    _assert_safe_and_bilingual(caught.value)


@pytest.mark.parametrize("action", ["400openai", "400vllm", "400llamacpp", "400llamaserver"])
def test_a_prompt_too_long_is_a_context_overflow(
    api: FakeChatAPI, generator: OpenAIGenerator, action: str
) -> None:
    api.script = [action]
    with pytest.raises(ContextOverflowError) as caught:
        generator.generate(MESSAGES)
    assert "does not fit the context window" in str(caught.value)
    assert "コンテキスト長を超えています" in (caught.value.message_ja or "")
    assert len(_chat_requests(api)) == 1  # not retried
    _assert_safe_and_bilingual(caught.value)


def test_a_refused_key_names_the_variable_never_the_key(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    api.script = ["401"]
    with pytest.raises(BackendError) as caught:
        generator.generate(MESSAGES)
    assert type(caught.value) is BackendError
    assert f"refused the API key in environment variable {KEY_ENV} (HTTP 401)" in str(caught.value)
    assert KEY_ENV in (caught.value.message_ja or "")
    assert len(_chat_requests(api)) == 1
    _assert_safe_and_bilingual(caught.value)


def test_another_client_error_keeps_the_servers_message(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    api.script = ["400other"]
    with pytest.raises(BackendError, match="returned HTTP 400: temperature must be <= 2") as caught:
        generator.generate(MESSAGES)
    assert type(caught.value) is BackendError
    _assert_safe_and_bilingual(caught.value)


def test_a_slow_server_is_a_timeout_without_retry(
    api: FakeChatAPI, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    api.script = ["slow"]
    options = OpenAIGeneratorOptions(base_url=api.base_url, model=MODEL, timeout_s=0.3)
    started = time.perf_counter()
    with (
        OpenAIGenerator(options, sleep=sleeps.append) as generator,
        pytest.raises(BackendTimeoutError) as caught,
    ):
        generator.generate(MESSAGES)
    assert time.perf_counter() - started < 0.9  # did not wait for the 1 s answer
    assert "did not answer within 0.3 s" in str(caught.value)
    assert "timeout_s" in str(caught.value)
    assert "0.3 秒以内に応答しませんでした" in (caught.value.message_ja or "")
    assert len(_chat_requests(api)) == 1 and sleeps == []


def test_a_body_that_is_not_json_is_a_backend_error(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    api.script = ["malformed"]
    with pytest.raises(BackendError, match="returned a response that is not JSON") as caught:
        generator.generate(MESSAGES)
    _assert_safe_and_bilingual(caught.value)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("broken", "the connection broke"),
        ("truncated", "closed before the answer ended"),
        ("stream_error", "the server reported an error: engine crashed"),
    ],
)
def test_a_stream_that_breaks_is_an_error_and_never_replayed(
    api: FakeChatAPI, generator: OpenAIGenerator, action: str, reason: str
) -> None:
    api.script = [action]
    received: list[str] = []
    with pytest.raises(BackendError, match=reason) as caught:
        for item in generator.stream(MESSAGES):
            assert isinstance(item, str)  # no final Completion for a broken stream
            received.append(item)
    assert received == ANSWER_PIECES[: len(received)] and received
    assert f"stopped streaming after {len(''.join(received))} characters" in str(caught.value)
    assert len(_chat_requests(api)) == 1
    _assert_safe_and_bilingual(caught.value)


def test_an_unreachable_server_is_unavailable_after_the_retries(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(KEY_ENV, SECRET)
    options = OpenAIGeneratorOptions(
        base_url=f"http://user:pw@127.0.0.1:{port}/v1", model=MODEL, api_key_env=KEY_ENV
    )
    with pytest.raises(BackendUnavailableError) as caught:
        OpenAIGenerator(options, sleep=sleeps.append).generate(MESSAGES)
    message = str(caught.value)
    assert f"generation server http://127.0.0.1:{port}/v1" in message
    assert "could not be reached after 3 attempts" in message
    assert "base_url" in message and "pw" not in message
    assert "に接続できません" in (caught.value.message_ja or "")
    assert sleeps == [0.5, 1.0]
    _assert_safe_and_bilingual(caught.value)


def test_ping_lists_models_then_asks_for_one_token(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    report = generator.ping()
    assert report["backend"] == "openai"
    assert report["base_url"] == api.base_url
    assert report["model"] == MODEL
    assert report["served_models"] == [MODEL, "other-model"]
    assert report["context_window"] == 4096  # vLLM's max_model_len
    assert report["latency_ms"] > 0
    assert [r["method"] for r in api.requests] == ["GET", "POST"]
    assert api.requests[1]["json"]["max_tokens"] == 1


def test_ping_refuses_a_model_the_server_does_not_list(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    api.models = [{"id": "/models/other.gguf", "object": "model"}]  # llama-cpp-python style
    with pytest.raises(ModelNotFoundError, match=r"It serves: /models/other\.gguf"):
        generator.ping()
    assert _chat_requests(api) == []


def test_context_window_is_read_once_from_the_listing_or_configured(
    api: FakeChatAPI, generator: OpenAIGenerator
) -> None:
    assert generator.context_window == 4096
    assert generator.context_window == 4096
    assert len(api.requests) == 1  # cached

    api.models = [{"id": MODEL, "object": "model"}]  # llama-cpp-python reports no window
    unknown = create_generator("openai", {"base_url": api.base_url, "model": MODEL})
    assert unknown.context_window is None
    configured = create_generator(
        "openai", {"base_url": api.base_url, "model": MODEL, "context_window": 8192}
    )
    assert configured.context_window == 8192
    assert len(api.requests) == 2  # the configured one asked nothing


def test_count_tokens_uses_the_configured_tokenizer(tmp_path: Path, api: FakeChatAPI) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"[UNK]": 0, "経費": 1, "精算": 2, "の": 3, "期限": 4}
    word_level = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    word_level.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    word_level.save(str(tmp_path / "tokenizer.json"))

    counted = create_generator(
        "openai", {"base_url": api.base_url, "model": MODEL, "tokenizer": str(tmp_path)}
    )
    assert counted.count_tokens("経費 精算 の 期限 は ?") == 6
    assert create_generator("openai", {"model": MODEL}).count_tokens("経費") is None
    with pytest.raises(ConfigError, match=r"not a tokenizer\.json"):
        create_generator("openai", {"model": MODEL, "tokenizer": str(tmp_path / "nope")})


def test_option_errors_are_config_errors_that_never_echo_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KOTAE_TEST_MISSING_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"KOTAE_TEST_MISSING_KEY .* not set"):
        create_generator("openai", {"model": "m", "api_key_env": "KOTAE_TEST_MISSING_KEY"})
    with pytest.raises(ConfigError) as caught:
        create_generator("openai", {"model": "m", "api_key_env": SECRET})
    assert "NAME of an environment variable" in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(ConfigError, match=r"base_url: .*http:// or https://"):
        create_generator("openai", {"model": "m", "base_url": "ftp://example.com/v1"})
    with pytest.raises(ConfigError, match="Allowed options"):
        create_generator("openai", {"model": "m", "api_key": SECRET})
