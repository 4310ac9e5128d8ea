"""The ``"sentence-transformers"`` embedder: a model loaded from a local directory, offline.

kotae never downloads models. Get one onto the machine first, for example::

    huggingface-cli download intfloat/multilingual-e5-small --local-dir ./models/e5-small

and configure ``{"model": "./models/e5-small", "query_prefix": "query: ",
"passage_prefix": "passage: "}`` (e5 models expect those prefixes; most others need none).
The library (``pip install 'kotae[embeddings]'``) is imported, and the model loaded, on first
use, not when the embedder is created.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from kotae.backends.embedders import apply_prefix, l2_normalize_rows
from kotae.backends.registry import parse_options
from kotae.errors import BackendError, ConfigError

EMBEDDER_EXAMPLE = "intfloat/multilingual-e5-small"


def download_hint(example_model_id: str = EMBEDDER_EXAMPLE) -> str:
    """How to get a model onto the machine, for error messages."""
    local_name = example_model_id.rsplit("/", 1)[-1]
    return (
        "Download the model once on a machine with internet access, e.g. "
        f"`huggingface-cli download {example_model_id} --local-dir ./models/{local_name}`, "
        "and set `model` to that directory."
    )


class SentenceTransformersOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="a local directory holding the model")
    device: str = "cpu"
    batch_size: int = Field(default=32, gt=0)
    query_prefix: str = ""
    passage_prefix: str = ""
    max_seq_length: int | None = Field(default=None, gt=0)


def resolve_local_model_dir(
    model: str, backend: str, example_model_id: str = EMBEDDER_EXAMPLE
) -> Path:
    """The model directory as an absolute path; ConfigError for a hub id or missing folder."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    looks_like_hub_id = not path.is_absolute() and model.count("/") == 1 and not path.exists()
    what = "a Hugging Face hub id, not a local directory" if looks_like_hub_id else "not found"
    raise ConfigError(
        f"{backend} model {model!r} is {what}: kotae loads models from local directories "
        f"only and never downloads. {download_hint(example_model_id)}"
    )


def import_sentence_transformers() -> Any:
    try:
        import sentence_transformers
    except ImportError as exc:
        raise ConfigError(
            "the sentence-transformers backend needs the 'sentence-transformers' package: "
            "pip install 'kotae[embeddings]'"
        ) from exc
    return sentence_transformers


class SentenceTransformersEmbedder:
    """Embeds with a sentence-transformers model from a local directory (lazy load)."""

    def __init__(self, options: SentenceTransformersOptions) -> None:
        self.options = options
        self.model_dir = resolve_local_model_dir(options.model, "sentence-transformers")
        self.name = f"sentence-transformers:{self.model_dir}"
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dimension = get_dim()
        if dimension is None:
            raise BackendError(f"model {self.model_dir} does not report its embedding dimension")
        return int(dimension)

    def embed(
        self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage"
    ) -> npt.NDArray[np.float32]:
        model = self._load()
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        inputs = apply_prefix(texts, kind, self.options.query_prefix, self.options.passage_prefix)
        try:
            vectors = model.encode(
                inputs,
                batch_size=self.options.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except Exception as exc:
            raise BackendError(
                f"sentence-transformers model {self.model_dir} failed to embed "
                f"{len(texts)} texts: {type(exc).__name__}: {exc}"
            ) from exc
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        return l2_normalize_rows(matrix)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load_model()
            return self._model

    def _load_model(self) -> Any:
        sentence_transformers = import_sentence_transformers()
        try:
            model = sentence_transformers.SentenceTransformer(
                str(self.model_dir), device=self.options.device, local_files_only=True
            )
        except Exception as exc:
            raise BackendError(
                f"could not load the sentence-transformers model from {self.model_dir}: "
                f"{type(exc).__name__}: {exc}. Check that the directory holds a complete "
                f"model (config.json, weights, tokenizer). {download_hint()}"
            ) from exc
        if self.options.max_seq_length is not None:
            model.max_seq_length = self.options.max_seq_length
        return model


def create_sentence_transformers_embedder(
    options: Mapping[str, Any],
) -> SentenceTransformersEmbedder:
    """Registry factory for ``create_embedder("sentence-transformers", {...})``."""
    return SentenceTransformersEmbedder(
        parse_options(SentenceTransformersOptions, options, "sentence-transformers")
    )
