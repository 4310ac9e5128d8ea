"""``[privacy] mask_outgoing``: personal data never leaves in a prompt.

:class:`MaskingGenerator` wraps any generator: each request's messages are masked with a
fresh :class:`kotae.privacy.pii.Masker` (``[PERSON_1]``, ``[EMAIL_1]``...) before they are
sent, and the placeholders the model writes back are replaced by the originals, in the
final text and in streamed tokens (a token that may open a placeholder is held back until
the placeholder closes), so the user reads the real values and the provider never sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from kotae.backends.generators import (
    Completion,
    GenerationParams,
    Generator,
    Message,
    StreamItem,
)
from kotae.privacy.pii import Masker

_LONGEST_PLACEHOLDER = 40  # "[CORPORATE_NUMBER_123]" and full-width brackets fit


class MaskingGenerator:
    """``inner`` with masked prompts and unmasked replies (same name and window)."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model

    @property
    def context_window(self) -> int | None:
        return self.inner.context_window

    def count_tokens(self, text: str) -> int | None:
        return self.inner.count_tokens(text)

    def __getattr__(self, name: str) -> Any:  # anything else the backend offers
        return getattr(self.inner, name)

    @staticmethod
    def _masked(masker: Masker, messages: Sequence[Message]) -> list[Message]:
        return [replace(m, content=masker.mask(m.content)) for m in messages]

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Completion:
        masker = Masker()
        completion = self.inner.generate(self._masked(masker, messages), params)
        return replace(completion, text=masker.unmask(completion.text))

    def stream(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Iterator[StreamItem]:
        masker = Masker()
        pending = ""
        for item in self.inner.stream(self._masked(masker, messages), params):
            if isinstance(item, Completion):
                if pending:
                    yield masker.unmask(pending)
                    pending = ""
                yield replace(item, text=masker.unmask(item.text))
                continue
            pending += item
            ready, pending = _split_open_placeholder(pending)
            if ready:
                yield masker.unmask(ready)
        if pending:
            yield masker.unmask(pending)


def _split_open_placeholder(text: str) -> tuple[str, str]:
    """(what can be shown now, what may still be a placeholder being written)."""
    start = max(text.rfind("["), text.rfind("［"))
    if start < 0:
        return text, ""
    tail = text[start:]
    if "]" in tail or "］" in tail or len(tail) > _LONGEST_PLACEHOLDER:
        return text, ""
    return text[:start], tail


def protect(generator: Generator | None, settings: Any) -> Generator | None:
    """``generator`` wrapped when ``[privacy] mask_outgoing`` is on."""
    if generator is None or not settings.privacy.mask_outgoing:
        return generator
    return MaskingGenerator(generator)
