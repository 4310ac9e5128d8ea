"""Vector indexes: add/remove/search/save/load, and the filtered-search contract."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kotae.errors import ConfigError, IndexMismatchError, KnowledgeBaseError
from kotae.index.vectors import (
    ExactVectorIndex,
    VectorIndex,
    create_vector_index,
    load_vector_index,
    read_vector_index_info,
    top_k,
)

needs_usearch = pytest.mark.skipif(
    importlib.util.find_spec("usearch") is None, reason="usearch (kotae[ann]) not installed"
)
KINDS = ["exact", pytest.param("hnsw", marks=needs_usearch)]
F16_ATOL = 3e-3  # the hnsw index stores float16


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> npt.NDArray[np.float32]:
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    unit: npt.NDArray[np.float32] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return unit


def reference_ranking(
    ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], query: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Every id by cosine, descending, ties by id: computed without the index."""
    scores = vectors @ (query / np.linalg.norm(query))
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order]


def allowed_from(ids: npt.NDArray[np.int64]) -> Callable[[npt.NDArray[np.int64]], Any]:
    return lambda candidates: np.isin(candidates, ids)


@pytest.mark.parametrize("kind", KINDS)
def test_add_search_remove_and_upsert(kind: str) -> None:
    rng = np.random.default_rng(1)
    index = create_vector_index(kind, 16)  # type: ignore[arg-type]
    vectors = unit_rows(rng, 50, 16)
    index.add(np.arange(100, 150), vectors * 5.0)  # rows are normalized on the way in
    assert len(index) == 50
    ids, scores = index.search(vectors[7], 3)
    assert ids[0] == 107
    assert scores[0] == pytest.approx(1.0, abs=F16_ATOL)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    index.remove([107, 999])  # an unknown id is ignored
    assert len(index) == 49 and 107 not in index.search(vectors[7], 49)[0]
    index.add([108], -vectors[7:8])  # replace an existing id
    assert len(index) == 49
    ids, scores = index.search(-vectors[7], 1)
    assert ids.tolist() == [108] and scores[0] == pytest.approx(1.0, abs=F16_ATOL)
    assert sorted(index.ids().tolist()) == sorted({*range(100, 150)} - {107})


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_round_trip_with_meta(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    index = create_vector_index(kind, 8)  # type: ignore[arg-type]
    vectors = unit_rows(rng, 30, 8)
    index.add(np.arange(30), vectors)
    meta = {"embedder": "fake:8", "generation": 3, "note": "経費"}
    index.save(tmp_path / "vec", meta)
    loaded = load_vector_index(tmp_path / "vec")
    assert loaded.meta == meta
    assert loaded.index.kind == kind and loaded.index.dim == 8 and len(loaded.index) == 30
    query = rng.standard_normal(8)
    before, after = index.search(query, 5), loaded.index.search(query, 5)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_allclose(before[1], after[1], atol=1e-6)
    loaded.index.add([30], unit_rows(rng, 1, 8))  # a loaded index stays writable
    assert len(loaded.index) == 31


@pytest.mark.parametrize("kind", KINDS)
def test_saving_again_keeps_one_previous_generation_only(kind: str, tmp_path: Path) -> None:
    index = create_vector_index(kind, 4)  # type: ignore[arg-type]
    (tmp_path / ".ids-0badc0de.npy.tmp").write_bytes(b"left by a crashed save")
    (tmp_path / "README.txt").write_text("not ours", encoding="utf-8")
    generations = []
    for i in range(3):
        index.add([i], np.eye(4, dtype=np.float32)[i : i + 1])
        index.save(tmp_path, {"generation": i})
        generations.append(set(read_vector_index_info(tmp_path).files.values()))
    on_disk = {p.name for p in tmp_path.iterdir()} - {"vector_index.json", "README.txt"}
    assert on_disk == generations[1] | generations[2]
    assert not any(name.endswith(".tmp") for name in on_disk)
    assert load_vector_index(tmp_path).meta == {"generation": 2}


def test_exact_index_loads_memory_mapped_and_can_still_change(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    index = ExactVectorIndex(8)
    index.add(np.arange(10), unit_rows(rng, 10, 8))
    index.save(tmp_path)
    mapped = ExactVectorIndex.load(tmp_path, mmap=True)
    mapped.remove([0, 1])
    mapped.add([42], unit_rows(rng, 1, 8))
    assert sorted(mapped.ids().tolist()) == [*range(2, 10), 42]


def test_load_errors_say_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="rebuild"):
        load_vector_index(tmp_path / "nothing")
    ExactVectorIndex(4).save(tmp_path)
    info = json.loads((tmp_path / "vector_index.json").read_text())
    info["format_version"] = 99
    (tmp_path / "vector_index.json").write_text(json.dumps(info))
    with pytest.raises(KnowledgeBaseError, match="format 99"):
        load_vector_index(tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_dimension_mismatch_is_an_index_mismatch_error(kind: str) -> None:
    index = create_vector_index(kind, 8)  # type: ignore[arg-type]
    with pytest.raises(IndexMismatchError, match="rebuild"):
        index.add([1], np.ones((1, 16), np.float32))
    index.add([1], np.ones((1, 8), np.float32))
    with pytest.raises(IndexMismatchError, match="8"):
        index.search(np.ones(16, np.float32), 1)


def test_bad_filters_and_arguments_are_refused() -> None:
    index = ExactVectorIndex(4)
    index.add([1, 2], np.eye(4, dtype=np.float32)[:2])
    with pytest.raises(TypeError, match="boolean array"):
        index.search(np.ones(4), 1, allowed=lambda ids: np.ones(1, bool))
    with pytest.raises(ValueError, match="unique"):
        index.add([3, 3], np.eye(4, dtype=np.float32)[:2])
    with pytest.raises(ConfigError, match="unknown vector index kind"):
        create_vector_index("ivf", 4)  # type: ignore[arg-type]


def test_empty_index_and_nothing_allowed_return_empty_arrays() -> None:
    index = ExactVectorIndex(4)
    assert index.search(np.ones(4), 5)[0].shape == (0,)
    index.add([1], np.ones((1, 4), np.float32))
    ids, scores = index.search(np.ones(4), 5, allowed=lambda c: np.zeros(c.shape, bool))
    assert ids.shape == scores.shape == (0,)


def test_top_k_breaks_ties_by_id() -> None:
    ids = np.array([9, 3, 5, 1], np.int64)
    scores = np.array([0.5, 0.5, 0.9, 0.5], np.float32)
    assert top_k(ids, scores, 3)[0].tolist() == [5, 1, 3]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 120),
    dim=st.integers(1, 12),
    k=st.integers(1, 30),
    allowed_fraction=st.floats(0.0, 1.0),
    duplicate_rows=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_exact_filtered_search_is_the_unfiltered_ranking_restricted(
    n: int, dim: int, k: int, allowed_fraction: float, duplicate_rows: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.choice(10_000, size=n, replace=False).astype(np.int64)
    vectors = unit_rows(rng, n, dim)
    if duplicate_rows:  # exact ties: the id order must decide
        vectors[rng.integers(0, n, n // 2)] = vectors[0]
    allowed_ids = ids[rng.random(n) < allowed_fraction]
    index = ExactVectorIndex(dim)
    index.add(ids, vectors)
    query = rng.standard_normal(dim).astype(np.float32)

    got_ids, got_scores = index.search(query, k, allowed=allowed_from(allowed_ids))
    full_ids, _ = index.search(query, n)  # the unfiltered ranking
    expected = [i for i in full_ids.tolist() if i in set(allowed_ids.tolist())][:k]
    assert got_ids.tolist() == expected
    assert len(got_ids) == min(k, len(allowed_ids))
    # Scores agree with a ranking made without the index (ids may differ within 1-ulp ties).
    ref_ids, ref_scores = reference_ranking(ids, vectors, query)
    allowed_ref_scores = ref_scores[np.isin(ref_ids, allowed_ids)][:k]
    np.testing.assert_allclose(got_scores, allowed_ref_scores, atol=1e-5)


def _check_hnsw_contract(
    index: VectorIndex,
    ids: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32],
    query: npt.NDArray[np.float32],
    k: int,
    allowed_ids: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    got_ids, got_scores = index.search(query, k, allowed=allowed_from(allowed_ids))
    assert len(got_ids) == min(k, len(allowed_ids))  # never fewer than k when available
    assert np.isin(got_ids, allowed_ids).all()
    assert len(set(got_ids.tolist())) == len(got_ids)
    assert np.all(np.diff(got_scores) <= 1e-6)  # best first
    true_scores = vectors[np.searchsorted(ids, got_ids)] @ (query / np.linalg.norm(query))
    np.testing.assert_allclose(got_scores, true_scores, atol=F16_ATOL)
    return got_ids, got_scores


@needs_usearch
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 300),
    k=st.integers(1, 40),
    allowed_fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
    force_graph=st.booleans(),
)
def test_hnsw_filtered_search_keeps_k_allowed_results(
    n: int, k: int, allowed_fraction: float, seed: int, force_graph: bool
) -> None:
    rng = np.random.default_rng(seed)
    dim = 16
    ids = np.sort(rng.choice(100_000, size=n, replace=False)).astype(np.int64)
    vectors = unit_rows(rng, n, dim)
    allowed_ids = ids[rng.random(n) < allowed_fraction]
    params: dict[str, Any] = (
        {"exact_threshold": 0, "brute_force_ratio": 0, "oversample": 0.05} if force_graph else {}
    )
    index = create_vector_index("hnsw", dim, **params)
    index.add(ids, vectors)
    index.remove(ids[: n // 10].tolist())  # deleted nodes must not come back
    vectors, ids = vectors[n // 10 :], ids[n // 10 :]
    allowed_ids = allowed_ids[np.isin(allowed_ids, ids)]
    query = rng.standard_normal(dim).astype(np.float32)
    _, got_scores = _check_hnsw_contract(index, ids, vectors, query, k, allowed_ids)
    if not force_graph:  # small collections are scored exactly (up to float16 rounding)
        ref_ids, ref_scores = reference_ranking(ids, vectors, query)
        allowed_ref = ref_scores[np.isin(ref_ids, allowed_ids)][:k]
        np.testing.assert_allclose(got_scores, allowed_ref, atol=F16_ATOL)
