"""The ``"openai"`` generator: any OpenAI-compatible ``POST {base_url}/chat/completions``.

Works with vLLM, SGLang, TGI, Ollama, the llama.cpp servers, LM Studio and OpenAI itself.
The API key is read from the environment variable *named* by ``api_key_env``, sent as a
Bearer token, and never written to options, logs or error messages.

Failures come back as the typed errors of :mod:`kotae.errors`, each with an English and a
Japanese message that names the server (without credentials) and the model and says what to
do next: the server cannot be reached (:class:`~kotae.errors.BackendUnavailableError`), it
did not answer in ``timeout_s`` (:class:`~kotae.errors.BackendTimeoutError`), it does not
serve the model (:class:`~kotae.errors.ModelNotFoundError`), the prompt is too long
(:class:`~kotae.errors.ContextOverflowError`), anything else
(:class:`~kotae.errors.BackendError`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from kotae.backends.generators import (
    Completion,
    GenerationParams,
    Message,
    StreamItem,
    Usage,
)
from kotae.backends.openai_compatible import (
    RETRYABLE_STATUS,
    LazyHttpClient,
    OpenAIConnectionOptions,
    backoff_seconds,
    read_api_key,
    redact_url,
    server_error_message,
)
from kotae.backends.registry import parse_options
from kotae.documents.chunking import estimate_tokens
from kotae.errors import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigError,
    ContextOverflowError,
    ModelNotFoundError,
)

# Lower-cased fragments of the error messages or codes servers send for a prompt that does
# not fit: OpenAI, vLLM, llama-cpp-python, llama.cpp's llama-server, TGI.
CONTEXT_OVERFLOW_MARKERS = (
    "maximum context length",
    "context_length_exceeded",
    "exceed context window",
    "exceeds the available context size",
    "exceed_context_size",
    "too many tokens",
    "`inputs` tokens + `max_new_tokens`",
)
# Keys under which servers report a model's context window in GET /models (vLLM's
# max_model_len first); llama-cpp-python reports none.
CONTEXT_WINDOW_KEYS = ("max_model_len", "context_length", "max_context_length")
MAX_LISTED_MODELS = 10


class OpenAIGeneratorOptions(OpenAIConnectionOptions):
    timeout_s: float = Field(default=120.0, gt=0, description="read timeout, seconds")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    context_window: int | None = Field(default=None, gt=0)
    tokenizer: str | None = Field(
        default=None, description="local tokenizer.json (or its folder) for count_tokens"
    )
    extra_body: dict[str, Any] = Field(default_factory=dict)


class OpenAIGenerator:
    """Chat completions from an OpenAI-compatible server, plain or streamed, with retries.

    Retries: up to ``max_retries`` on connection errors, 408, 409, 425, 429 and 5xx,
    waiting ``retry_backoff_s * 2**attempt`` (or the server's ``Retry-After``, capped at
    30 s), and only before any content arrived: a stream that breaks is an error, never
    replayed. A read timeout is not retried (it already waited ``timeout_s``).

    ``context_window`` is the configured one, else read once from ``GET /models`` (vLLM
    reports ``max_model_len``), else ``None``. ``count_tokens`` needs the ``tokenizer``
    option (a local ``tokenizer.json``) and the ``tokenizers`` package; without them it
    returns ``None``.
    """

    def __init__(
        self,
        options: OpenAIGeneratorOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.model = options.model
        self.name = f"openai:{options.model}"
        self.base_url = options.base_url
        self._shown_url = redact_url(options.base_url)
        self._api_key = read_api_key(options.api_key_env)
        self._tokenizer_path = self._resolve_tokenizer_path()
        self._clients = LazyHttpClient(options, self._api_key, transport)
        self._sleep = sleep
        self._lock = threading.Lock()  # the tokenizer loads once
        self._context_window = options.context_window
        self._window_known = options.context_window is not None
        self._tokenizer: Any = None
        self._tokenizer_loaded = False

    # -- the Generator protocol ------------------------------------------------------------

    @property
    def context_window(self) -> int | None:
        if not self._window_known:
            try:
                self._served_models(retry=False)
            except BackendError:
                return None  # unknown for now; asked again next time
        return self._context_window

    def count_tokens(self, text: str) -> int | None:
        tokenizer = self._load_tokenizer()
        if tokenizer is None:
            return None
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    def _counted_usage(self, messages: Sequence[Message], text: str) -> Usage:
        """Usage counted by kotae, for servers that report none when streaming
        (llama-cpp-python's server ignores ``stream_options``)."""

        def count(piece: str) -> int:
            counted = self.count_tokens(piece)
            return estimate_tokens(piece) if counted is None else counted

        prompt = sum(count(message.content) for message in messages)
        return Usage(prompt, count(text), estimated=True)

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Completion:
        start = time.perf_counter()
        response = self._send("POST", "/chat/completions", self._payload(messages, params))
        body = self._json(response)
        try:
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            finish_reason = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._bad_body("has no choices[0].message") from None
        if not isinstance(text, str):
            raise self._bad_body("has a non-text message content")
        return Completion(
            text=text,
            model=self._reported_model(body),
            usage=_parse_usage(body.get("usage")),
            finish_reason=finish_reason if isinstance(finish_reason, str) else None,
            timings={"total_ms": _ms_since(start)},
        )

    def stream(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Iterator[StreamItem]:
        start = time.perf_counter()
        payload = self._payload(messages, params)
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        response = self._send("POST", "/chat/completions", payload, stream=True)
        parts: list[str] = []
        usage: Usage | None = None
        finish_reason: str | None = None
        model = self.model
        first_token_ms: float | None = None
        done = False
        try:
            for chunk in self._sse_chunks(response, parts):
                if chunk is None:
                    done = True
                    break
                model = self._reported_model(chunk, default=model)
                usage = _parse_usage(chunk.get("usage")) or usage
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    delta = choice.get("delta") or {}
                    content = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(content, str) and content:
                        if first_token_ms is None:
                            first_token_ms = _ms_since(start)
                        parts.append(content)
                        yield content
                    if isinstance(choice.get("finish_reason"), str):
                        finish_reason = choice["finish_reason"]
        finally:
            response.close()
        if not done and finish_reason is None:
            raise self._broken_stream(parts, "the connection closed before the answer ended")
        timings = {"total_ms": _ms_since(start)}
        if first_token_ms is not None:
            timings["first_token_ms"] = first_token_ms
        text = "".join(parts)
        yield Completion(
            text=text,
            model=model,
            usage=usage or self._counted_usage(messages, text),
            finish_reason=finish_reason,
            timings=timings,
        )

    def ping(self) -> dict[str, Any]:
        """List the served models, then ask for one token.

        Returns ``{"backend", "base_url", "model", "served_models", "context_window",
        "latency_ms"}``; ``latency_ms`` is the round trip of the one-token completion.
        Raises :class:`~kotae.errors.ModelNotFoundError` when the server lists models and
        the configured one is not among them.
        """
        served = self._served_models(retry=True)
        if served and not _serves(served, self.model):
            raise self._model_not_found(served)
        probe = self.generate([Message("user", "ping")], GenerationParams(max_tokens=1))
        return {
            "backend": "openai",
            "base_url": self._shown_url,
            "model": self.model,
            "served_models": served,
            "context_window": self._context_window,
            "latency_ms": probe.timings["total_ms"],
        }

    def close(self) -> None:
        self._clients.close()

    def __enter__(self) -> OpenAIGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- set-up ------------------------------------------------------------------------------

    def _resolve_tokenizer_path(self) -> Path | None:
        if self.options.tokenizer is None:
            return None
        path = Path(self.options.tokenizer).expanduser()
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.is_file():
            raise ConfigError(
                f"tokenizer {self.options.tokenizer!r} (option tokenizer) is not a "
                "tokenizer.json file or a folder holding one; copy the model's "
                "tokenizer.json onto this machine or remove the option"
            )
        return path

    def _load_tokenizer(self) -> Any:
        with self._lock:
            if not self._tokenizer_loaded:
                self._tokenizer_loaded = True
                if self._tokenizer_path is not None:
                    try:
                        from tokenizers import Tokenizer
                    except ImportError:
                        return None
                    try:
                        self._tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
                    except Exception as exc:
                        raise ConfigError(
                            f"could not read the tokenizer {self._tokenizer_path}: {exc}. "
                            "It must be a Hugging Face tokenizer.json."
                        ) from exc
            return self._tokenizer

    def _http(self) -> httpx.Client:
        return self._clients.get()

    def _payload(
        self, messages: Sequence[Message], params: GenerationParams | None
    ) -> dict[str, Any]:
        params = params or GenerationParams()
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [message.to_dict() for message in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            payload["stop"] = list(params.stop)
        if params.seed is not None:
            payload["seed"] = params.seed
        # extra_body wins: it is how a server-specific parameter is set or replaced
        payload.update(self.options.extra_body)
        return payload

    # -- HTTP ----------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        stream: bool = False,
        retry: bool = True,
    ) -> httpx.Response:
        """One request, retried on connection errors and retryable statuses; a success
        response (open, when ``stream``) or the typed error."""
        client = self._http()
        url = f"{self.base_url}{path}"
        attempts = self.options.max_retries + 1 if retry else 1
        for attempt in range(attempts):
            last_try = attempt == attempts - 1
            request = client.build_request(method, url, json=payload)
            try:
                response = client.send(request, stream=stream)
            except (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError) as exc:
                if last_try:
                    raise self._unreachable(exc, attempts) from None
                self._sleep(backoff_seconds(self.options.retry_backoff_s, attempt, None))
                continue
            except httpx.TimeoutException:
                raise self._timeout() from None
            except httpx.TransportError as exc:
                if last_try:
                    raise self._unreachable(exc, attempts) from None
                self._sleep(backoff_seconds(self.options.retry_backoff_s, attempt, None))
                continue
            if response.is_success:
                return response
            try:
                response.read()  # the error body of a streamed request
            except httpx.TransportError as exc:
                if last_try:
                    raise self._unreachable(exc, attempts) from None
                self._sleep(backoff_seconds(self.options.retry_backoff_s, attempt, None))
                continue
            finally:
                response.close()
            error = self._status_error(response, attempts=attempt + 1, listing=path == "/models")
            retryable = response.status_code in RETRYABLE_STATUS
            if not retryable or last_try or isinstance(error, ContextOverflowError):
                raise error
            self._sleep(
                backoff_seconds(
                    self.options.retry_backoff_s, attempt, response.headers.get("retry-after")
                )
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self._bad_body("is not JSON") from None
        if not isinstance(body, dict):
            raise self._bad_body("is not a JSON object")
        return body

    def _sse_chunks(
        self, response: httpx.Response, parts: list[str]
    ) -> Iterator[dict[str, Any] | None]:
        """The JSON objects of a server-sent event stream; ``None`` for ``[DONE]``."""
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": keep-alive" comments, event:/id: fields
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    yield None
                    return
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise self._broken_stream(parts, "it sent an event that is not JSON") from None
                if not isinstance(chunk, dict):
                    raise self._broken_stream(parts, "it sent an event that is not an object")
                if "error" in chunk:
                    raise self._stream_error(chunk, parts)
                yield chunk
        except httpx.TimeoutException:
            raise self._timeout() from None
        except httpx.TransportError as exc:
            reason = f"the connection broke ({type(exc).__name__})"
            raise self._broken_stream(parts, reason) from None

    def _served_models(self, *, retry: bool) -> list[str]:
        """Model ids from ``GET /models`` (empty when the server has no such route); caches
        the configured model's context window when the listing reports one."""
        try:
            response = self._send("GET", "/models", retry=retry)
        except (BackendUnavailableError, BackendTimeoutError):
            raise
        except BackendError:
            self._window_known = True
            return []  # some servers do not list models; the chat call still tells
        try:
            entries = response.json().get("data")
        except (ValueError, AttributeError):
            return []
        served: list[str] = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            served.append(entry["id"])
            if _serves([entry["id"]], self.model) and not self._window_known:
                self._context_window = _context_window_of(entry)
        self._window_known = True
        return served

    # -- errors ---------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` without the API key or the base URL's credentials."""
        text = text.replace(self.base_url, self._shown_url)
        return text.replace(self._api_key, "***") if self._api_key else text

    def _where(self) -> str:
        return f"generation server {self._shown_url} (model {self.model!r})"

    def _where_ja(self) -> str:
        return f"生成サーバー {self._shown_url}(モデル {self.model!r})"

    def _error(self, cls: type[BackendError], message: str, message_ja: str) -> BackendError:
        return cls(self._scrub(message), message_ja=self._scrub(message_ja))

    def _unreachable(self, exc: Exception, attempts: int) -> BackendError:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return self._error(
            BackendUnavailableError,
            f"{self._where()} could not be reached{tries} ({type(exc).__name__}: "
            f"{exc}). Is it running? Check [generator] base_url.",
            f"{self._where_ja()}に接続できません。起動しているか、"
            "[generator] base_url を確認してください。",
        )

    def _timeout(self) -> BackendError:
        seconds = f"{self.options.timeout_s:g}"
        return self._error(
            BackendTimeoutError,
            f"{self._where()} did not answer within {seconds} s. The server may be "
            "overloaded or the model slow on this hardware; raise [generator] timeout_s or "
            "lower max_tokens.",
            f"{self._where_ja()}が {seconds} 秒以内に応答しませんでした。サーバーが混雑して"
            "いるか、モデルが遅い可能性があります。[generator] timeout_s を大きくするか、"
            "max_tokens を小さくしてください。",
        )

    def _bad_body(self, problem: str) -> BackendError:
        return self._error(
            BackendError,
            f"{self._where()} returned a response that {problem}, not an OpenAI chat "
            "completion. Check that [generator] base_url points at an OpenAI-compatible "
            "API (it usually ends in /v1).",
            f"{self._where_ja()}の応答が OpenAI 互換の形式ではありません。"
            "[generator] base_url が OpenAI 互換 API(通常は /v1 で終わる)を指しているか"
            "確認してください。",
        )

    def _broken_stream(self, parts: list[str], reason: str) -> BackendError:
        received = sum(len(part) for part in parts)
        return self._error(
            BackendError,
            f"{self._where()} stopped streaming after {received} characters: {reason}. "
            "The answer is incomplete; ask again, and check the server's log if it repeats. "
            "(llama-cpp-python's server ends a stream silently when the prompt exceeds its "
            "context: set [generator] context_window and tokenizer so kotae packs to fit.)",
            f"{self._where_ja()}からのストリーミングが {received} 文字で途切れました。"
            "回答は不完全です。もう一度お試しください。繰り返す場合はサーバーのログを"
            "確認してください(llama-cpp-python のサーバーはプロンプトがコンテキスト長を超えると"
            "黙ってストリームを終えます。[generator] の context_window と tokenizer を設定すると、"
            "kotae が収まるように詰めます)。",
        )

    def _stream_error(self, chunk: dict[str, Any], parts: list[str]) -> BackendError:
        error = chunk.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        text = str(message)[:300]
        if _mentions_context_overflow(text, ""):
            return self._context_overflow(text)
        return self._broken_stream(parts, f"the server reported an error: {text}")

    def _status_error(
        self, response: httpx.Response, *, attempts: int, listing: bool
    ) -> BackendError:
        """The typed error for a failed response (``listing``: of ``GET /models``)."""
        status = response.status_code
        message = server_error_message(response)
        code = _error_code(response)
        if status in (401, 403):
            return self._auth_refused(status)
        if not listing and _is_model_not_found(status, message, code, self.model):
            return self._model_not_found(self._served_models_quietly())
        if _mentions_context_overflow(message, code):
            return self._context_overflow(message)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if status in RETRYABLE_STATUS:
            return self._error(
                BackendUnavailableError,
                f"{self._where()} kept failing: HTTP {status}{tries}: {message}. "
                "The server is overloaded or broken; check its log, or try again later.",
                f"{self._where_ja()}がエラーを返し続けています(HTTP {status})。"
                "サーバーが過負荷か障害の可能性があります。サーバーのログを確認するか、"
                "しばらくしてから再度お試しください。",
            )
        hint = " Check [generator] base_url (it usually ends in /v1)." if status == 404 else ""
        return self._error(
            BackendError,
            f"{self._where()} returned HTTP {status}{tries}: {message}.{hint}",
            f"{self._where_ja()}がエラーを返しました(HTTP {status}): {message}",
        )

    def _auth_refused(self, status: int) -> BackendError:
        env_name = self.options.api_key_env
        if env_name is None:
            return self._error(
                BackendError,
                f"{self._where()} requires an API key (HTTP {status}). Put the key in an "
                "environment variable and name it in [generator] api_key_env.",
                f"{self._where_ja()}は API キーを要求しています(HTTP {status})。"
                "キーを環境変数に設定し、その名前を [generator] api_key_env に指定してください。",
            )
        return self._error(
            BackendError,
            f"{self._where()} refused the API key in environment variable {env_name} "
            f"(HTTP {status}). Check that the key is valid and allowed to use this model.",
            f"{self._where_ja()}が環境変数 {env_name} の API キーを拒否しました"
            f"(HTTP {status})。キーが有効で、このモデルを使える権限があるか確認してください。",
        )

    def _served_models_quietly(self) -> list[str]:
        try:
            return self._served_models(retry=False)
        except BackendError:
            return []

    def _model_not_found(self, served: list[str]) -> BackendError:
        listed = ", ".join(served[:MAX_LISTED_MODELS])
        if len(served) > MAX_LISTED_MODELS:
            listed += f" (and {len(served) - MAX_LISTED_MODELS} more)"
        serves = f" It serves: {listed}." if listed else ""
        serves_ja = f"提供中のモデル: {listed}。" if listed else ""
        return self._error(
            ModelNotFoundError,
            f"generation server {self._shown_url} does not serve model {self.model!r}."
            f"{serves} Set [generator] model to a served one, or load the model on the server.",
            f"生成サーバー {self._shown_url} にモデル {self.model!r} がありません。{serves_ja}"
            "[generator] model を提供中のモデルに変更するか、サーバーにモデルを読み込んで"
            "ください。",
        )

    def _context_overflow(self, message: str) -> BackendError:
        window = f" of {self._context_window} tokens" if self._context_window else ""
        return self._error(
            ContextOverflowError,
            f"the prompt does not fit the context window{window} of {self._where()}: "
            f"{message}. Retrieve fewer or shorter passages, lower max_tokens, or serve the "
            "model with a larger context.",
            f"プロンプトが {self._where_ja()}のコンテキスト長を超えています。"
            "検索結果の件数や長さを減らすか、max_tokens を小さくするか、より長いコンテキストで"
            "モデルを起動してください。",
        )

    def _reported_model(self, body: Mapping[str, Any], default: str | None = None) -> str:
        """The model the server says answered (e.g. a dated version), else ``default``."""
        model = body.get("model")
        return model if isinstance(model, str) and model else (default or self.model)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def _parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


def _error_code(response: httpx.Response) -> str:
    """The error's ``code`` or ``type`` (OpenAI ``{"error": {"code", "type"}}``), or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    return " ".join(str(error[key]) for key in ("code", "type") if error.get(key) is not None)


def _mentions_context_overflow(message: str, code: str) -> bool:
    text = f"{message} {code}".lower()
    return any(marker.lower() in text for marker in CONTEXT_OVERFLOW_MARKERS)


def _is_model_not_found(status: int, message: str, code: str, model: str) -> bool:
    if "model_not_found" in code:
        return True
    if status != 404:
        return False
    lowered = message.lower()
    return model.lower() in lowered or ("model" in lowered and "not found" in lowered)


def _serves(served: Sequence[str], model: str) -> bool:
    """Whether the listing holds ``model`` exactly (Ollama's ``name:latest`` counts too)."""
    return model in served or f"{model}:latest" in served


def _context_window_of(entry: Mapping[str, Any]) -> int | None:
    for key in CONTEXT_WINDOW_KEYS:
        value = entry.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def create_openai_generator(options: Mapping[str, Any]) -> OpenAIGenerator:
    """Registry factory for ``create_generator("openai", {...})``."""
    return OpenAIGenerator(parse_options(OpenAIGeneratorOptions, options, "openai"))
