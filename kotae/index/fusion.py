"""Fusing ranked lists from several retrievers (lexical, dense...) into one ranking.

Both functions are pure and deterministic: equal fused scores keep the order in which ids
first appear when the input lists are read one after the other (list 0 from its top, then
list 1, ...), so the first retriever's order breaks ties.

>>> reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)[0][0]
1
"""

from __future__ import annotations

from collections.abc import Sequence


def _check_weights(weights: Sequence[float] | None, lists: int) -> list[float]:
    if weights is None:
        return [1.0] * lists
    if len(weights) != lists:
        raise ValueError(f"got {len(weights)} weights for {lists} rankings")
    if any(weight < 0 for weight in weights):
        raise ValueError("fusion weights must be non-negative")
    return [float(weight) for weight in weights]


def _sorted_by_score(scores: dict[int, float]) -> list[tuple[int, float]]:
    # dict order is first appearance; sorted() is stable, so ties keep that order.
    return sorted(scores.items(), key=lambda item: -item[1])


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]],
    weights: Sequence[float] | None = None,
    k: int = 60,
) -> list[tuple[int, float]]:
    """Weighted RRF: ``score(id) = sum_i weights[i] / (k + rank_i(id))``, ranks from 1.

    An id repeated within one ranking counts at its best rank only. Returns ``(id, score)``
    pairs, best first.
    """
    if k < 0:
        raise ValueError(f"the RRF constant k must be >= 0, got {k}")
    scale = _check_weights(weights, len(rankings))
    scores: dict[int, float] = {}
    for weight, ranking in zip(scale, rankings, strict=True):
        seen: set[int] = set()
        for rank, doc_id in enumerate(ranking, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return _sorted_by_score(scores)


def min_max_normalize(scores: Sequence[float]) -> list[float]:
    """Scores mapped onto [0, 1]; all-equal scores map to 1.0."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(score - low) / (high - low) for score in scores]


def linear_fusion(
    results: Sequence[Sequence[tuple[int, float]]],
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted sum of min-max-normalized scores; an id missing from a list adds 0 there.

    ``results`` holds one ``[(id, score), ...]`` list per retriever (higher is better). An id
    repeated within one list counts with its first (best-ranked) score.
    """
    scale = _check_weights(weights, len(results))
    fused: dict[int, float] = {}
    for weight, result in zip(scale, results, strict=True):
        seen: set[int] = set()
        normalized = min_max_normalize([score for _, score in result])
        for (doc_id, _), score in zip(result, normalized, strict=True):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            fused[doc_id] = fused.get(doc_id, 0.0) + weight * score
    return _sorted_by_score(fused)
