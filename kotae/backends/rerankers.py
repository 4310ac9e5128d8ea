"""Rerankers: score (query, passage) pairs more precisely than first-stage retrieval.

Built-in backends, chosen by name with :func:`create_reranker`:

- ``"cross-encoder"``: a sentence-transformers ``CrossEncoder`` from a local directory
Third-party rerankers register through the ``kotae.backends`` entry-point group under the
name ``reranker.<name>``. The test backend ``"fake"`` (:class:`kotae.testing.FakeReranker`,
feature overlap) is one of those, declared by kotae's own package: this module never
imports :mod:`kotae.testing`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from kotae.backends.registry import BackendRegistry, parse_options
from kotae.backends.sentence_transformers import (
    download_hint,
    import_sentence_transformers,
    resolve_local_model_dir,
)
from kotae.errors import BackendError

RERANKER_EXAMPLE = "hotchpotch/japanese-reranker-cross-encoder-xsmall-v1"


@runtime_checkable
class Reranker(Protocol):
    """Scores passages against a query: one float per passage, higher is more relevant."""

    name: str

    def rerank(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]: ...


class CrossEncoderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="a local directory holding the model")
    device: str = "cpu"
    batch_size: int = Field(default=16, gt=0)
    max_length: int | None = Field(default=None, gt=0)


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder loaded from a local directory on first use.

    Models with one output label give a relevance logit per pair; for models with several
    labels the last label's logit is taken as "relevant".
    """

    def __init__(self, options: CrossEncoderOptions) -> None:
        self.options = options
        self.model_dir = resolve_local_model_dir(options.model, "cross-encoder", RERANKER_EXAMPLE)
        self.name = f"cross-encoder:{self.model_dir}"
        self._model: Any = None
        self._lock = threading.Lock()

    def rerank(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        if len(passages) == 0:
            return np.zeros(0, dtype=np.float32)
        model = self._load()
        try:
            raw = model.predict(
                [(query, passage) for passage in passages],
                batch_size=self.options.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        except Exception as exc:
            raise BackendError(
                f"cross-encoder {self.model_dir} failed to score {len(passages)} passages: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        scores = np.asarray(raw, dtype=np.float32)
        if scores.ndim == 2:
            scores = scores[:, -1]
        return np.ascontiguousarray(scores.reshape(len(passages)))

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                sentence_transformers = import_sentence_transformers()
                try:
                    self._model = sentence_transformers.CrossEncoder(
                        str(self.model_dir),
                        device=self.options.device,
                        max_length=self.options.max_length,
                        local_files_only=True,
                    )
                except Exception as exc:
                    raise BackendError(
                        f"could not load the cross-encoder from {self.model_dir}: "
                        f"{type(exc).__name__}: {exc}. {download_hint(RERANKER_EXAMPLE)}"
                    ) from exc
            return self._model


def _create_cross_encoder(options: Mapping[str, Any]) -> Reranker:
    return CrossEncoderReranker(parse_options(CrossEncoderOptions, options, "cross-encoder"))


RERANKERS: BackendRegistry[Reranker] = BackendRegistry("reranker")
RERANKERS.register("cross-encoder", _create_cross_encoder)


def create_reranker(name: str, options: Mapping[str, Any] | None = None) -> Reranker:
    """Build the reranker backend ``name``; ConfigError for an unknown name or a bad option."""
    return RERANKERS.create(name, options)


def reranker_names() -> list[str]:
    """Names of every available reranker backend, plug-ins included."""
    return RERANKERS.names()
