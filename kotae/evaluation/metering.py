"""Token metering of an evaluation's generator calls, per question.

:func:`metered` wraps the run's generator; :func:`meter_start` gives the worker thread a
fresh :class:`Meter` for the question it starts. A question that ends in an error still
costs what it used: the calls that completed (the server's counts), and a stream that broke
off after it had started answering (its prompt and the streamed tokens, counted with the
model's tokenizer, else estimated). A call that fails before its first token counts nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from kotae.answer import token_counter
from kotae.backends.generators import (
    Completion,
    GenerationParams,
    Generator,
    Message,
    StreamItem,
)


class Meter:
    """Tokens the generator used for the question being evaluated on this thread: what
    completed calls reported, and for a stream that broke off, its prompt and the tokens it
    had streamed (counted with the model's tokenizer, else estimated)."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def add(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def usage(self) -> dict[str, int]:
        if not self.prompt_tokens and not self.completion_tokens:
            return {}
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


_METERS = threading.local()


def meter_start() -> Meter:
    """A fresh meter for the question this thread starts evaluating."""
    meter = Meter()
    _METERS.current = meter
    return meter


def _meter() -> Meter:
    current: Meter | None = getattr(_METERS, "current", None)
    return current if current is not None else Meter()


class _MeteredGenerator:
    """``generator``, with the tokens of each call added to the current thread's meter."""

    def __init__(self, generator: Generator) -> None:
        self._inner = generator
        self.name = generator.name
        self.model = generator.model

    @property
    def context_window(self) -> int | None:
        return self._inner.context_window

    def count_tokens(self, text: str) -> int | None:
        return self._inner.count_tokens(text)

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Completion:
        completion = self._inner.generate(messages, params)
        if completion.usage is not None:
            _meter().add(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        return completion

    def stream(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Iterator[StreamItem]:
        pieces: list[str] = []
        try:
            for item in self._inner.stream(messages, params):
                if isinstance(item, Completion):
                    if item.usage is not None:
                        _meter().add(item.usage.prompt_tokens, item.usage.completion_tokens)
                    pieces = []  # accounted for by the server's own counts
                else:
                    pieces.append(item)
                yield item
        except BaseException:
            if pieces:  # the model had started answering: the prompt was read, tokens made
                count = token_counter(self._inner)
                prompt = sum(count(m.content) for m in messages)
                _meter().add(prompt, count("".join(pieces)))
            raise

    def ping(self) -> dict[str, Any]:
        return self._inner.ping()

    def close(self) -> None:
        self._inner.close()


def metered(generator: Generator | None) -> Generator | None:
    return _MeteredGenerator(generator) if generator is not None else None
