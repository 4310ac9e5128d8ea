"""Dense retrieval for a knowledge base: the configured embedder plus a derived vector index.

Vectors are stored in the catalog (``chunk_vectors``, float32 blobs tagged with the model
name): the vector index under ``index/vectors`` is derived from them and catches up by
comparing id sets, so a crash or a model change never needs more than re-reading blobs,
and a new model only re-embeds what it lacks (``kotae reindex --vectors``). In an encrypted
knowledge base the vector index lives in memory only: built from the catalog's vectors on
first use, caught up the same way, never saved.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import numpy as np

from kotae.errors import BackendError, KotaeError

if TYPE_CHECKING:
    from kotae.backends.embedders import Embedder
    from kotae.index.vectors import VectorIndex
    from kotae.kb import Access, KnowledgeBase

EMBED_BATCH = 64


class DenseIndex:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.path = kb.path / "index" / "vectors"
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self.generation = -1
        self._chunk_ids = np.zeros(0, dtype=np.int64)
        self._chunk_docs = np.zeros(0, dtype=np.int64)
        self._map_generation = -1

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from kotae.backends.embedders import create_embedder

            settings = self.kb.settings.embedder
            self._embedder = create_embedder(settings.backend, settings.options())
        return self._embedder

    def reload(self) -> None:
        """Read the vector index from disk again on the next search (the embedder stays)."""
        self._index = None
        self.generation = -1

    def _load(self) -> VectorIndex:
        if self._index is not None:
            return self._index
        from kotae.index.vectors import create_vector_index, load_vector_index

        kind = self.kb.settings.retrieval.vector_index
        if self.kb.encrypted:
            self._index = create_vector_index(kind, self.embedder.dim)
            self.generation = -1
            self.sync(self.kb.catalog.generation())
            return self._index
        try:
            loaded = load_vector_index(self.path)
            meta = loaded.meta
            if meta.get("model") == self.embedder.name and loaded.index.kind == kind:
                self._index = loaded.index
                self.generation = int(meta.get("generation", -1))
                return self._index
        except (KotaeError, OSError, ValueError):
            pass
        shutil.rmtree(self.path, ignore_errors=True)
        self._index = create_vector_index(kind, self.embedder.dim)
        self.generation = -1
        return self._index

    def sync(self, target: int) -> None:
        """Make the vector index hold exactly the catalog's vectors of this model."""
        index = self._load()
        if self.generation == target:
            return
        catalog = self.kb.catalog
        wanted = catalog.vector_ids(self.embedder.name)
        have = index.ids()
        stale = np.setdiff1d(have, wanted)
        if len(stale):
            index.remove(stale.tolist())
        missing = np.setdiff1d(wanted, have)
        for start in range(0, len(missing), 5000):
            ids, vecs = catalog.vectors_of(missing[start : start + 5000].tolist())
            index.add(ids, vecs)
        if not self.kb.encrypted:
            self.path.mkdir(parents=True, exist_ok=True)
            index.save(self.path, {"generation": target, "model": self.embedder.name})
        self.generation = target

    def embed_missing(self) -> int:
        """Embed every chunk that has no vector of this model yet; returns how many."""
        model = self.embedder.name
        todo = self.kb.catalog.chunks_without_vector(model)
        for start in range(0, len(todo), EMBED_BATCH):
            part = todo[start : start + EMBED_BATCH]
            vectors = self.embedder.embed([t for _, t in part], kind="passage")
            if len(vectors) != len(part):
                raise BackendError(
                    f"embedder {model} returned {len(vectors)} vectors for {len(part)} texts"
                )
            self.kb.catalog.put_vectors(
                model,
                [
                    (cid, v.astype(np.float32).tobytes())
                    for (cid, _), v in zip(part, vectors, strict=True)
                ],
            )
        self.generation = -1
        self.sync(self.kb.catalog.generation())
        return len(todo)

    def _doc_of(self, ids: np.ndarray) -> np.ndarray:
        generation = self.kb.catalog.generation()
        if self._map_generation != generation:
            self._chunk_ids, self._chunk_docs = self.kb.catalog.chunk_document_map()
            self._map_generation = generation
        pos = np.searchsorted(self._chunk_ids, ids)
        pos = np.clip(pos, 0, max(len(self._chunk_ids) - 1, 0))
        found = self._chunk_ids[pos] == ids if len(self._chunk_ids) else np.zeros(len(ids), bool)
        return np.where(found, self._chunk_docs[pos] if len(self._chunk_docs) else -1, -1)

    def _allowed_docs(self, access: Access) -> np.ndarray:
        return self.kb.catalog.readable_document_ids(sorted(access.groups or ()))

    def search(self, query: str, limit: int, access: Access) -> list[tuple[int, float]]:
        index = self._load()
        if len(index) == 0:
            return []
        vector = self.embedder.embed([query], kind="query")[0]
        allowed: Any = None
        if access.groups is not None:
            docs = self._allowed_docs(access)

            def allowed(ids: np.ndarray) -> np.ndarray:
                return np.isin(self._doc_of(ids), docs)

        ids, scores = index.search(vector, limit, allowed)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]

    def status(self) -> dict[str, Any]:
        index = self._load()
        return {
            "model": self.embedder.name,
            "kind": index.kind,
            "vectors": len(index),
            "generation": self.generation,
        }
