"""HNSW vector index on usearch, with filtered search that never returns fewer than k.

``pip install 'kotae[ann]'``. Re-exported as :class:`kotae.index.vectors.HnswVectorIndex`.

How a filtered query keeps the "k results whenever k allowed ids exist" promise:

1. The ACL filter is evaluated once over all stored ids, which gives the number of allowed
   ids ``m`` and the selectivity ``m / n``.
2. If the allowed set is small (``m <= exact_threshold``), or so selective that the graph
   would have to return a large share of the collection (``count * brute_force_ratio >=
   m``, where ``count = k * n / m * oversample``), the allowed rows are gathered from the
   row mirror and scored by brute force (usearch's exact SIMD search): cheaper than
   walking the graph, and exact up to the storage dtype.
3. Otherwise the graph is searched for ``count`` neighbours, the filter is applied to them,
   and ``count`` grows fourfold until ``min(k, m)`` allowed results are found or ``count``
   reaches ``n``. An HNSW search may return fewer than ``n`` even then (deleted or poorly
   connected nodes); the search falls back to exact scoring in that case.

Results from the graph are approximate (HNSW recall), the count is not. The row mirror
(ids + vectors in float16, or float32 for ``dtype="f32"``) costs about as much memory as
the graph's own vector copy; it also makes deletes, ``ids()`` and exact fallbacks cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from kotae.errors import ConfigError, KnowledgeBaseError
from kotae.index.vectors import (
    AllowedFilter,
    IdArray,
    RowStore,
    ScoreArray,
    VectorIndexInfo,
    allowed_mask,
    check_kind,
    normalize_query,
    read_vector_index_info,
    top_k,
    validate_batch,
    write_index_files,
)

HnswDtype = Literal["f32", "f16", "i8"]


def _new_usearch_index(
    dim: int, dtype: str, connectivity: int, expansion_add: int, expansion_search: int
) -> Any:
    try:
        from usearch.index import Index
    except ImportError as exc:
        raise ConfigError(
            "the 'hnsw' vector index needs usearch: pip install 'kotae[ann]', "
            "or use the 'exact' index"
        ) from exc
    return Index(
        ndim=dim,
        metric="cos",
        dtype=dtype,
        connectivity=connectivity,
        expansion_add=expansion_add,
        expansion_search=expansion_search,
    )


class HnswVectorIndex:
    """Approximate cosine search on a usearch HNSW graph; filtered search keeps k results.

    Ids must be non-negative (usearch keys are unsigned). ``exact_threshold``,
    ``oversample`` and ``brute_force_ratio`` tune the filtered search (module docstring).
    """

    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        *,
        dtype: HnswDtype = "f16",
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 64,
        exact_threshold: int = 10_000,
        oversample: float = 2.0,
        brute_force_ratio: float = 20.0,
    ) -> None:
        if dtype not in ("f32", "f16", "i8"):
            raise ConfigError(f"hnsw dtype must be 'f32', 'f16' or 'i8', got {dtype!r}")
        self.dim = dim
        self.params: dict[str, Any] = {
            "dtype": dtype,
            "connectivity": connectivity,
            "expansion_add": expansion_add,
            "expansion_search": expansion_search,
            "exact_threshold": exact_threshold,
            "oversample": oversample,
            "brute_force_ratio": brute_force_ratio,
        }
        self._graph = _new_usearch_index(dim, dtype, connectivity, expansion_add, expansion_search)
        self._rows = RowStore(dim, np.float32 if dtype == "f32" else np.float16)

    def add(self, ids: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        id_array, matrix = validate_batch(ids, vectors, self.dim)
        if id_array.shape[0] == 0:
            return
        if id_array.min() < 0:
            raise ValueError("the hnsw index takes non-negative ids only")
        self.remove(id_array[self._rows.contains(id_array)].tolist())
        self._graph.add(id_array.view(np.uint64), matrix)
        self._rows.append(id_array, matrix)

    def remove(self, ids: Iterable[int]) -> None:
        id_array = np.fromiter(ids, dtype=np.int64)
        present = id_array[self._rows.contains(id_array)]
        if present.shape[0]:
            self._graph.remove(present.view(np.uint64))
            self._rows.remove(present)

    def __len__(self) -> int:
        return len(self._rows)

    def ids(self) -> IdArray:
        return self._rows.ids.copy()

    def search(
        self, query: npt.ArrayLike, k: int, allowed: AllowedFilter | None = None
    ) -> tuple[IdArray, ScoreArray]:
        vector = normalize_query(query, self.dim)
        total = len(self._rows)
        mask = None if allowed is None else allowed_mask(allowed, self._rows.ids)
        allowed_count = total if mask is None else int(np.count_nonzero(mask))
        wanted = min(k, allowed_count)
        if wanted <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        count = min(total, max(k, math.ceil(k * total / allowed_count * self.params["oversample"])))
        if (
            allowed_count <= self.params["exact_threshold"]
            or count * self.params["brute_force_ratio"] >= allowed_count
        ):
            return self._exact_search(vector, k, mask)
        while True:
            matches = self._graph.search(vector, count)
            found = np.asarray(matches.keys, dtype=np.uint64).view(np.int64)
            scores = (1.0 - np.asarray(matches.distances, dtype=np.float32)).astype(np.float32)
            if allowed is not None and found.shape[0]:
                keep = allowed_mask(allowed, found)
                found, scores = found[keep], scores[keep]
            if found.shape[0] >= wanted:
                return top_k(found, scores, k)
            if count >= total:
                return self._exact_search(vector, k, mask)  # the graph could not reach them
            count = min(total, count * 4)

    def _exact_search(
        self, vector: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None
    ) -> tuple[IdArray, ScoreArray]:
        """Brute force over the (allowed) mirror rows with usearch's SIMD kernels."""
        from usearch.index import search as brute_force_search

        ids, vectors = self._rows.ids, self._rows.vectors
        if mask is not None:
            ids, vectors = ids[mask], vectors[mask]
        matches = brute_force_search(
            vectors, vector.astype(vectors.dtype), min(k, ids.shape[0]), "cos", exact=True
        )
        positions = np.asarray(matches.keys, dtype=np.int64)
        scores = (1.0 - np.asarray(matches.distances, dtype=np.float32)).astype(np.float32)
        return top_k(ids[positions], scores, k)

    def save(self, path: Path, meta: Mapping[str, Any] | None = None) -> None:
        info = VectorIndexInfo("hnsw", self.dim, len(self), {}, dict(self.params), dict(meta or {}))
        arrays = {"ids": self._rows.ids, "vectors": self._rows.vectors}
        write_index_files(path, info, arrays, {"graph": lambda p: self._graph.save(str(p))})

    @classmethod
    def load(cls, path: Path) -> Self:
        info = read_vector_index_info(path)
        check_kind(info, cls.kind, path)
        index = cls(info.dim, **info.params)
        directory = Path(path)
        ids = np.load(directory / info.files["ids"], allow_pickle=False)
        vectors = np.load(directory / info.files["vectors"], allow_pickle=False)
        index._graph.load(str(directory / info.files["graph"]))
        index._rows = RowStore.from_arrays(ids, vectors)
        if len(index._graph) != ids.shape[0] or ids.shape[0] != info.count:
            raise KnowledgeBaseError(
                f"vector index at {path} is inconsistent ({len(index._graph)} graph nodes, "
                f"{ids.shape[0]} ids, {info.count} recorded); rebuild the vector index"
            )
        return index
