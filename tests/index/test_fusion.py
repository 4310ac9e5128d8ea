"""Reciprocal rank fusion and linear score fusion."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kotae.index.fusion import linear_fusion, min_max_normalize, reciprocal_rank_fusion


def test_rrf_scores_are_the_sum_of_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([[10, 20, 30], [30, 10]], k=60))
    assert fused[10] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[20] == pytest.approx(1 / 62)
    assert fused[30] == pytest.approx(1 / 63 + 1 / 61)


def test_rrf_orders_best_first() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 2, 1], [2]], k=1)
    assert [doc_id for doc_id, _ in fused] == [2, 1, 3]
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)


def test_rrf_weights_scale_each_ranking() -> None:
    fused = reciprocal_rank_fusion([[1, 2], [2, 1]], weights=[3.0, 1.0], k=0)
    assert [doc_id for doc_id, _ in fused] == [1, 2]
    assert [score for _, score in fused] == pytest.approx([3.0 + 0.5, 1.5 + 1.0])
    muted = reciprocal_rank_fusion([[1, 2], [2, 1]], weights=[0.0, 1.0])
    assert [doc_id for doc_id, _ in muted] == [2, 1]


def test_rrf_ties_keep_first_appearance_order() -> None:
    # 7 and 8 tie (rank 1 in one list each); 7 appears first.
    assert [d for d, _ in reciprocal_rank_fusion([[7], [8]])] == [7, 8]
    assert [d for d, _ in reciprocal_rank_fusion([[8], [7]])] == [8, 7]


def test_rrf_counts_a_repeated_id_once_per_ranking() -> None:
    fused = dict(reciprocal_rank_fusion([[5, 5, 6]], k=0))
    assert fused == {5: pytest.approx(1.0), 6: pytest.approx(1 / 3)}


def test_rrf_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="2 weights for 1 rankings"):
        reciprocal_rank_fusion([[1]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        reciprocal_rank_fusion([[1]], weights=[-1.0])
    assert reciprocal_rank_fusion([]) == []


@given(st.lists(st.lists(st.integers(0, 30), max_size=15), max_size=4))
def test_rrf_is_deterministic_and_covers_every_id(rankings: list[list[int]]) -> None:
    fused = reciprocal_rank_fusion(rankings)
    assert fused == reciprocal_rank_fusion([list(r) for r in rankings])
    assert sorted(d for d, _ in fused) == sorted({d for r in rankings for d in r})
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(fused))


def test_min_max_normalize() -> None:
    assert min_max_normalize([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]
    assert min_max_normalize([5.0, 5.0]) == [1.0, 1.0]
    assert min_max_normalize([]) == []


def test_linear_fusion_sums_normalized_scores() -> None:
    lexical = [(1, 12.0), (2, 8.0), (3, 4.0)]  # BM25-like scale
    dense = [(3, 0.9), (1, 0.5), (4, 0.1)]  # cosine-like scale
    fused = dict(linear_fusion([lexical, dense], weights=[1.0, 3.0]))
    assert fused[1] == pytest.approx(1.0 + 3.0 * 0.5)
    assert fused[2] == pytest.approx(0.5)
    assert fused[3] == pytest.approx(0.0 + 3.0 * 1.0)
    assert fused[4] == pytest.approx(0.0)
    assert [d for d, _ in linear_fusion([lexical, dense], weights=[1.0, 3.0])] == [3, 1, 2, 4]
    # ties keep first-appearance order
    assert linear_fusion([[(8, 2.0)], [(7, 0.3)]]) == [(8, 1.0), (7, 1.0)]
