"""Generators: chat messages -> text, behind one small protocol.

Built-in backends, chosen by name with :func:`create_generator` (``[generator] backend``
in ``kotae.toml``, or ``KOTAE_GENERATOR__BACKEND``):

- ``"openai"``: any OpenAI-compatible ``/chat/completions`` server: vLLM, SGLang, TGI,
  Ollama, the llama.cpp server, LM Studio, and OpenAI itself
  (:mod:`kotae.backends.openai_generator`)
- ``"llamacpp"``: a GGUF file in-process through llama-cpp-python, extra ``kotae[llamacpp]``
  (:mod:`kotae.backends.llamacpp`)
- ``"transformers"``: a Hugging Face model from a local folder, extra ``kotae[transformers]``
  (:mod:`kotae.backends.transformers_generator`)
Third-party generators register through the ``kotae.backends`` entry-point group under the
name ``generator.<name>`` (see :mod:`kotae.backends.registry`). The scripted test backend
``"fake"`` (:class:`kotae.testing.FakeGenerator`) is one of those, declared by kotae's own
package: this module never imports :mod:`kotae.testing`.

A backend raises the typed errors of :mod:`kotae.errors` so that callers can tell the
asker what went wrong: :class:`~kotae.errors.BackendUnavailableError`,
:class:`~kotae.errors.BackendTimeoutError`, :class:`~kotae.errors.ModelNotFoundError`,
:class:`~kotae.errors.ContextOverflowError`, else :class:`~kotae.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from kotae.backends.registry import BackendRegistry

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling settings of one call. ``temperature=0`` is greedy (reproducible answers)."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one call, as the backend counted them.

    ``estimated`` is true when the server reported nothing (some servers send no usage
    when streaming) and kotae counted itself: with the model's tokenizer when configured,
    else with :func:`kotae.documents.chunking.estimate_tokens`.
    """

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.estimated:
            data["estimated"] = True
        return data


@dataclass(frozen=True, slots=True)
class Completion:
    """The result of one generation.

    ``usage`` is ``None`` only when the server reported no token counts. ``timings`` are
    milliseconds: ``total_ms`` always, ``first_token_ms`` when streamed (or measured).
    """

    text: str
    model: str
    usage: Usage | None = None
    finish_reason: str | None = None  # "stop", "length", ...
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usage"] = self.usage.to_dict() if self.usage else None
        return data


# What ``Generator.stream`` yields: text deltas as they arrive, then one final Completion
# (the whole text, usage and timings).
StreamItem = str | Completion


class Generator(Protocol):
    """Turns chat messages into text.

    ``name`` identifies backend and model (``"openai:gpt-4o"``,
    ``"llamacpp:/models/llama-3-8b.Q4_K_M.gguf"``) and goes into the query log.
    ``context_window`` is the model's window in tokens when known (configured, or read
    from the server or the model), else ``None``. ``count_tokens`` counts with the model's
    own tokenizer when the backend has one, else returns ``None`` (callers then estimate).
    """

    name: str
    model: str

    @property
    def context_window(self) -> int | None: ...

    def count_tokens(self, text: str) -> int | None: ...

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Completion: ...

    def stream(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Iterator[StreamItem]: ...

    def ping(self) -> dict[str, Any]:
        """Check that the backend answers: ``{"model", "context_window", "latency_ms"}``
        at least. Raises the typed backend errors when it does not."""
        ...

    def close(self) -> None: ...


def _create_openai(options: Mapping[str, Any]) -> Generator:
    from kotae.backends.openai_generator import create_openai_generator

    return create_openai_generator(options)


def _create_llamacpp(options: Mapping[str, Any]) -> Generator:
    from kotae.backends.llamacpp import create_llamacpp_generator

    return create_llamacpp_generator(options)


def _create_transformers(options: Mapping[str, Any]) -> Generator:
    from kotae.backends.transformers_generator import create_transformers_generator

    return create_transformers_generator(options)


GENERATORS: BackendRegistry[Generator] = BackendRegistry("generator")
GENERATORS.register("openai", _create_openai)
GENERATORS.register("llamacpp", _create_llamacpp)
GENERATORS.register("transformers", _create_transformers)


def create_generator(name: str, options: Mapping[str, Any] | None = None) -> Generator:
    """Build the generator backend ``name`` from its options.

    Raises :class:`~kotae.errors.ConfigError` for an unknown backend or a bad option.
    """
    return GENERATORS.create(name, options)


def generator_names() -> list[str]:
    """Names of every available generator backend, plug-ins included."""
    return GENERATORS.names()
