"""OpenAI-compatible HTTP backends (``POST {base_url}/embeddings``).

Works with OpenAI itself and with local servers that speak the same API (llama.cpp's
``llama-server --embedding``, vLLM, text-embeddings-inference, LiteLLM...). The API key is
read from the environment variable *named* by ``api_key_env``; it is sent as a Bearer token
and never written to logs or error messages.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import httpx
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kotae.backends.embedders import apply_prefix, l2_normalize_rows
from kotae.backends.registry import parse_options
from kotae.errors import BackendError, ConfigError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class OpenAIConnectionOptions(BaseModel):
    """What every OpenAI-compatible client needs: where, which model, which key, how
    patiently. Backends subclass it with their own options and defaults."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(default="https://api.openai.com/v1", min_length=1)
    model: str = Field(min_length=1)
    api_key_env: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0)

    @field_validator("api_key_env")
    @classmethod
    def _is_env_var_name(cls, value: str | None) -> str | None:
        return check_env_var_name(value)

    @field_validator("base_url")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class OpenAIEmbedderOptions(OpenAIConnectionOptions):
    batch_size: int = Field(default=64, gt=0)
    dimensions: int | None = Field(default=None, gt=0)
    query_prefix: str = ""
    passage_prefix: str = ""


def check_env_var_name(value: str | None) -> str | None:
    """``value`` if it is an environment variable name; ValueError (not echoing it) if not."""
    if value is not None and not _ENV_NAME.fullmatch(value):
        # The value is deliberately not echoed: it may be a pasted key.
        raise ValueError(
            "must be the NAME of an environment variable that holds the key "
            "(e.g. OPENAI_API_KEY), never the key itself"
        )
    return value


def read_api_key(env_name: str | None) -> str | None:
    """The key in the environment variable ``env_name``; ConfigError if it is unset."""
    if env_name is None:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise ConfigError(
            f"environment variable {env_name} (api_key_env) is not set or empty; "
            f"export {env_name}=<your API key> before starting kotae"
        )
    return key


def backoff_seconds(base_s: float, attempt: int, retry_after: str | None) -> float:
    """How long to wait before retry ``attempt``: the server's ``Retry-After`` (capped at
    MAX_RETRY_AFTER_S) when it sent a number, else ``base_s * 2**attempt``."""
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    return float(base_s * (2**attempt))


class LazyHttpClient:
    """The one httpx client of a backend, made on first use (thread-safe) with the bearer
    key and the backend's timeouts; ``transport`` lets tests fake HTTP at the edge."""

    def __init__(
        self,
        options: OpenAIConnectionOptions,
        api_key: str | None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._options = options
        self._api_key = api_key
        self._transport = transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
                timeout = httpx.Timeout(
                    self._options.timeout_s, connect=self._options.connect_timeout_s
                )
                self._client = httpx.Client(
                    headers=headers, timeout=timeout, transport=self._transport
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def redact_url(url: str) -> str:
    """The URL without user:password and query string, safe for messages."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))


def server_error_message(response: httpx.Response, limit: int = 300) -> str:
    """The server's own error message (OpenAI ``{"error": {"message"}}`` or plain text)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:limit]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:limit]
        if isinstance(error, str):
            return error[:limit]
    return str(body)[:limit]


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible ``/embeddings`` endpoint, in batches, with retries.

    ``dim`` is the ``dimensions`` option when set, else learned from the first response
    (reading it before any ``embed`` call sends a one-text probe request). Every response
    must keep that dimension. Retries: up to ``max_retries`` on connection errors, 408,
    409, 425, 429 and 5xx, waiting ``retry_backoff_s * 2**attempt`` (or the server's
    ``Retry-After``, capped at 30 s).
    """

    def __init__(
        self,
        options: OpenAIEmbedderOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.name = f"openai:{options.model}"
        self.url = f"{options.base_url}/embeddings"
        self._api_key = read_api_key(options.api_key_env)
        self._clients = LazyHttpClient(options, self._api_key, transport)
        self._sleep = sleep
        self._dim: int | None = options.dimensions

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(
        self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage"
    ) -> npt.NDArray[np.float32]:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        inputs = apply_prefix(texts, kind, self.options.query_prefix, self.options.passage_prefix)
        size = self.options.batch_size
        batches = [self._embed_batch(inputs[i : i + size]) for i in range(0, len(inputs), size)]
        return l2_normalize_rows(np.concatenate(batches, axis=0))

    def close(self) -> None:
        self._clients.close()

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _http(self) -> httpx.Client:
        return self._clients.get()

    def _embed_batch(self, inputs: list[str]) -> npt.NDArray[np.float32]:
        payload: dict[str, Any] = {"model": self.options.model, "input": inputs}
        if self.options.dimensions is not None:
            payload["dimensions"] = self.options.dimensions
        response = self._post_with_retries(payload)
        try:
            body = response.json()
        except ValueError:
            raise self._error(
                f"returned HTTP {response.status_code} with a non-JSON body"
            ) from None
        return self._parse_embeddings(body, expected=len(inputs))

    def _post_with_retries(self, payload: dict[str, Any]) -> httpx.Response:
        attempts = self.options.max_retries + 1
        for attempt in range(attempts):
            last_try = attempt == attempts - 1
            try:
                response = self._http().post(self.url, json=payload)
            except httpx.TransportError as exc:
                if last_try:
                    raise self._error(
                        f"could not be reached after {attempts} attempts: "
                        f"{type(exc).__name__}: {self._scrub(str(exc))}"
                    ) from None
                self._sleep(backoff_seconds(self.options.retry_backoff_s, attempt, None))
                continue
            if response.is_success:
                return response
            if response.status_code not in RETRYABLE_STATUS or last_try:
                tries = f" after {attempts} attempts" if last_try and attempts > 1 else ""
                raise self._error(
                    f"returned HTTP {response.status_code}{tries}: "
                    f"{self._scrub(server_error_message(response))}"
                )
            self._sleep(
                backoff_seconds(
                    self.options.retry_backoff_s, attempt, response.headers.get("retry-after")
                )
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse_embeddings(self, body: Any, expected: int) -> npt.NDArray[np.float32]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != expected:
            got = len(data) if isinstance(data, list) else "no 'data' list"
            raise self._error(f"returned {got} embeddings for {expected} inputs")
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            matrix = np.asarray([item["embedding"] for item in ordered], dtype=np.float32)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise self._error("returned embeddings that are not lists of numbers") from None
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise self._error(f"returned embeddings of inconsistent shape {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise self._error("returned embeddings with NaN or infinite values")
        if self._dim is not None and matrix.shape[1] != self._dim:
            raise self._error(
                f"returned {matrix.shape[1]}-dimensional embeddings, expected {self._dim}"
            )
        self._dim = int(matrix.shape[1])
        return matrix

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _error(self, problem: str) -> BackendError:
        return BackendError(
            f"embedding endpoint {redact_url(self.url)} (model {self.options.model!r}) {problem}"
        )


def create_openai_embedder(options: Mapping[str, Any]) -> OpenAIEmbedder:
    """Registry factory for ``create_embedder("openai", {...})``."""
    return OpenAIEmbedder(parse_options(OpenAIEmbedderOptions, options, "openai"))
