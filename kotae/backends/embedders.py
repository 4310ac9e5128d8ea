"""Embedders: text -> L2-normalized float32 vectors, behind one small protocol.

Built-in backends, chosen by name with :func:`create_embedder`:

- ``"sentence-transformers"``: a model in a local directory
  (:mod:`kotae.backends.sentence_transformers`)
- ``"openai"``: any OpenAI-compatible ``/embeddings`` endpoint
  (:mod:`kotae.backends.openai_compatible`)
Third-party embedders register through the ``kotae.backends`` entry-point group under the
name ``embedder.<name>`` (see :mod:`kotae.backends.registry`). The test backend ``"fake"``
(:class:`kotae.testing.FakeEmbedder`) is one of those: kotae's own package declares it as an
entry point, so this module never imports :mod:`kotae.testing`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from kotae.backends.registry import BackendRegistry

EmbeddingKind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors.

    ``name`` identifies the backend and model (``"sentence-transformers:/models/e5-small"``,
    ``"openai:text-embedding-3-small"``) and is recorded with an index so that a query never
    meets vectors from another model. ``embed`` returns float32, shape ``(len(texts), dim)``,
    with L2-normalized rows; ``kind`` selects the query or passage prefix of the backend.

    Model backends load lazily: reading ``dim`` may load the model (or call the server).
    On Python 3.11 ``isinstance(x, Embedder)`` reads ``dim`` too; prefer static typing.
    """

    name: str

    @property
    def dim(self) -> int: ...

    def embed(
        self, texts: Sequence[str], kind: EmbeddingKind = "passage"
    ) -> npt.NDArray[np.float32]: ...


def _create_sentence_transformers(options: Mapping[str, Any]) -> Embedder:
    from kotae.backends.sentence_transformers import create_sentence_transformers_embedder

    return create_sentence_transformers_embedder(options)


def _create_openai(options: Mapping[str, Any]) -> Embedder:
    from kotae.backends.openai_compatible import create_openai_embedder

    return create_openai_embedder(options)


EMBEDDERS: BackendRegistry[Embedder] = BackendRegistry("embedder")
EMBEDDERS.register("sentence-transformers", _create_sentence_transformers)
EMBEDDERS.register("openai", _create_openai)


def create_embedder(name: str, options: Mapping[str, Any] | None = None) -> Embedder:
    """Build the embedder backend ``name`` from its options.

    Raises :class:`~kotae.errors.ConfigError` for an unknown backend or a bad option.

    >>> create_embedder("fake", {"dim": 8}).embed(["経費精算"]).shape
    (1, 8)
    """
    return EMBEDDERS.create(name, options)


def embedder_names() -> list[str]:
    """Names of every available embedder backend, plug-ins included."""
    return EMBEDDERS.names()


def apply_prefix(texts: Sequence[str], kind: EmbeddingKind, query: str, passage: str) -> list[str]:
    """Prepend the query or passage prefix (e5-style ``"query: "``) to each text."""
    prefix = query if kind == "query" else passage
    return [prefix + text for text in texts]


def l2_normalize_rows(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length as float32; all-zero rows stay zero."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)
