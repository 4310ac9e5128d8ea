"""Fakes for tests, kotae's own and its users': deterministic, no model, no network.

:class:`FakeEmbedder` hashes word and character n-gram features into a fixed number of
dimensions (the "hashing trick"), so texts that share words or characters get similar
vectors, in Japanese (no spaces) as well as English. :class:`FakeReranker` scores a passage
by its feature overlap with the query.

>>> embedder = FakeEmbedder(dim=32)
>>> vectors = embedder.embed(["経費精算の期限", "経費精算の締め切り", "パスワードの変更"])
>>> bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
True
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from kotae.backends.registry import parse_options

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


def text_features(text: str) -> Counter[str]:
    """Lowercased NFKC words plus character unigrams and bigrams (spaces removed)."""
    normalized = unicodedata.normalize("NFKC", text).lower()
    features: Counter[str] = Counter(f"w:{word}" for word in _WORD.findall(normalized))
    chars = _SPACE.sub("", normalized)
    features.update(f"c:{char}" for char in chars)
    features.update(f"b:{chars[i : i + 2]}" for i in range(len(chars) - 1))
    return features


@lru_cache(maxsize=65536)
def _feature_slot(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0


class FakeEmbedderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dim: int = Field(default=64, gt=0, le=65536)
    query_prefix: str = ""
    passage_prefix: str = ""


class FakeEmbedder:
    """A deterministic hashing embedder: same text, same vector, in every process."""

    def __init__(self, dim: int = 64, query_prefix: str = "", passage_prefix: str = "") -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self.name = f"fake:{dim}"
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.calls = 0  # how many times embed() ran: lets tests check caching

    def embed(
        self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage"
    ) -> npt.NDArray[np.float32]:
        self.calls += 1
        prefix = self.query_prefix if kind == "query" else self.passage_prefix
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            features = text_features(prefix + text) or Counter({"empty": 1})
            for feature, count in features.items():
                slot, sign = _feature_slot(feature, self.dim)
                vectors[row, slot] += sign * (1.0 + math.log(count))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        for empty in np.flatnonzero(norms[:, 0] == 0):  # features that cancelled out (rare)
            slot, _ = _feature_slot("empty", self.dim)
            vectors[empty, slot] = norms[empty, 0] = 1.0
        normalized: npt.NDArray[np.float32] = vectors / norms
        return normalized


def create_fake_embedder(options: Mapping[str, Any]) -> FakeEmbedder:
    """Registry factory for ``create_embedder("fake", {"dim": 64})``."""
    parsed = parse_options(FakeEmbedderOptions, options, "fake")
    return FakeEmbedder(parsed.dim, parsed.query_prefix, parsed.passage_prefix)


class FakeRerankerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FakeReranker:
    """Scores passages by feature overlap with the query (cosine of feature counts)."""

    name = "fake"

    def rerank(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        query_features = text_features(query)
        query_norm = math.sqrt(sum(c * c for c in query_features.values()))
        scores = np.zeros(len(passages), dtype=np.float32)
        for i, passage in enumerate(passages):
            features = text_features(passage)
            overlap = sum(count * features[f] for f, count in query_features.items())
            norm = query_norm * math.sqrt(sum(c * c for c in features.values()))
            scores[i] = overlap / norm if norm else 0.0
        return scores


def create_fake_reranker(options: Mapping[str, Any]) -> FakeReranker:
    """Registry factory for ``create_reranker("fake", {})``."""
    parse_options(FakeRerankerOptions, options, "fake")
    return FakeReranker()


class FakeGeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    responses: list[str] = Field(default_factory=list)
    context_window: int = Field(default=4096, gt=0)
    model: str = "fake"
    delay_s: float = Field(default=0.0, ge=0, le=60)  # seconds per call: slow-model tests
    finish_reason: str = "stop"  # "length": replies cut by max_tokens


class FakeGenerator:
    """A scripted generator: no model, no network, same output every run.

    With ``responses`` it returns them in turn (the last one repeats). Without, it answers
    with the first line of source [1] found in the prompt, cited as ``[1]``, so pipelines
    built on it produce grounded-looking answers. Tokens are counted with
    :func:`kotae.documents.chunking.estimate_tokens`. ``calls`` keeps every message list.
    """

    def __init__(
        self,
        responses: Sequence[str] = (),
        *,
        context_window: int = 4096,
        model: str = "fake",
        delay_s: float = 0.0,
        finish_reason: str = "stop",
    ) -> None:
        self.responses = list(responses)
        self.finish_reason = finish_reason
        self.delay_s = delay_s
        self.model = model
        self.name = f"fake:{model}"
        self._context_window = context_window
        self.calls: list[list[Any]] = []

    @property
    def context_window(self) -> int | None:
        return self._context_window

    def count_tokens(self, text: str) -> int | None:
        from kotae.documents.chunking import estimate_tokens

        return estimate_tokens(text)

    def _reply(self, messages: Sequence[Any]) -> str:
        if self.responses:
            return self.responses[min(len(self.calls) - 1, len(self.responses) - 1)]
        prompt = messages[-1].content if messages else ""
        match = re.search(r"^\[1\][^\n]*\n(.+)$", prompt, flags=re.MULTILINE)
        first_line = match.group(1).strip() if match else "…"
        return f"{first_line} [1]"

    def generate(self, messages: Sequence[Any], params: Any = None) -> Any:
        from kotae.backends.generators import Completion, Usage

        self.calls.append(list(messages))
        if self.delay_s:
            time.sleep(self.delay_s)
        text = self._reply(messages)
        prompt_tokens = sum(self.count_tokens(m.content) or 0 for m in messages)
        usage = Usage(prompt_tokens, self.count_tokens(text) or 0)
        return Completion(text, self.model, usage, self.finish_reason, {"total_ms": 0.0})

    def stream(self, messages: Sequence[Any], params: Any = None) -> Any:
        completion = self.generate(messages, params)
        pieces = re.findall(r"\S+\s*|\s+", completion.text)
        yield from pieces
        yield completion

    def ping(self) -> dict[str, Any]:
        return {
            "backend": "fake",
            "model": self.model,
            "context_window": self._context_window,
            "latency_ms": 0.0,
        }

    def close(self) -> None:
        return None


def create_fake_generator(options: Mapping[str, Any]) -> FakeGenerator:
    """Registry factory for ``create_generator("fake", {"responses": [...]})``."""
    parsed = parse_options(FakeGeneratorOptions, options, "fake")
    return FakeGenerator(
        parsed.responses,
        context_window=parsed.context_window,
        model=parsed.model,
        finish_reason=parsed.finish_reason,
        delay_s=parsed.delay_s,
    )
