"""Per-question metrics against hand-computed values and ir-measures; their aggregation."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import ir_measures
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ir_measures import RR, R, nDCG

from kotae.errors import ConfigError
from kotae.evaluation.metrics import (
    Price,
    answer_metrics,
    bootstrap_ci,
    citation_metrics,
    cost_per_1000,
    latency_percentiles,
    retrieval_metrics,
    summarize,
)
from kotae.evaluation.model import MetricSummary, QuestionResult

IR_MEASURES = {"recall@1": R @ 1, "recall@5": R @ 5, "recall@10": R @ 10}
IR_MEASURES |= {"mrr": RR @ 10, "ndcg@10": nDCG @ 10}
DOCS = [f"d{i}" for i in range(16)]


def with_ir_measures(retrieved: Sequence[str], relevant: Collection[str]) -> dict[str, float]:
    """The same metrics from ir-measures (trec_eval), the ranking given as descending scores."""
    ranking = list(dict.fromkeys(retrieved))
    qrels = [ir_measures.Qrel("q", doc, 1) for doc in relevant]
    run = [
        ir_measures.ScoredDoc("q", doc, float(len(ranking) - i)) for i, doc in enumerate(ranking)
    ]
    found = {m.measure: m.value for m in ir_measures.iter_calc(IR_MEASURES.values(), qrels, run)}
    return {ours: found[theirs] for ours, theirs in IR_MEASURES.items()}


# --- retrieval ---


def test_retrieval_metrics_by_hand() -> None:
    scores = retrieval_metrics(["x", "a", "b", "y"], {"a", "b", "z"})
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert scores == pytest.approx(
        {"recall@1": 0.0, "recall@5": 2 / 3, "recall@10": 2 / 3, "mrr": 0.5, "ndcg@10": dcg / ideal}
    )


def test_a_document_retrieved_twice_counts_once_at_its_best_rank() -> None:
    scores = retrieval_metrics(["a", "x", "a", "b"], {"a", "b"}, ks=(3,))
    assert scores["recall@3"] == 1.0  # b is third once the second a is dropped
    dcg = 1 + 1 / math.log2(4)
    assert scores["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))


def test_retrieval_edge_cases() -> None:
    assert retrieval_metrics(["a", "b"], set()) == {}
    nothing = {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr": 0.0, "ndcg@10": 0.0}
    assert retrieval_metrics([], {"a"}) == nothing
    eleventh = [f"x{i}" for i in range(10)] + ["a"]
    assert retrieval_metrics(eleventh, {"a"}) == nothing
    # more relevant documents than the cut: the ideal ranking is cut at 10 too
    twelve = {f"r{i}" for i in range(12)}
    scores = retrieval_metrics(sorted(twelve), twelve)
    assert scores["ndcg@10"] == pytest.approx(1.0)
    assert scores["recall@10"] == pytest.approx(10 / 12)


@pytest.mark.parametrize(
    ("retrieved", "relevant"),
    [
        (["x", "a", "b", "y"], {"a", "b", "z"}),
        (["a"], {"a"}),
        (["x", "y", "z"], {"a"}),
        ([f"x{i}" for i in range(9)] + ["a", "b"], {"a", "b"}),
        (sorted({f"r{i}" for i in range(12)}), {f"r{i}" for i in range(12)}),
        (["b", "a", "b", "c", "a"], {"a", "c"}),
    ],
)
def test_retrieval_metrics_agree_with_ir_measures(retrieved: list[str], relevant: set[str]) -> None:
    ours = retrieval_metrics(retrieved, relevant)
    assert ours == pytest.approx(with_ir_measures(retrieved, relevant), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    retrieved=st.lists(st.sampled_from(DOCS), min_size=1, max_size=20),
    relevant=st.sets(st.sampled_from(DOCS), min_size=1, max_size=12),
)
def test_retrieval_metrics_agree_with_ir_measures_on_random_rankings(
    retrieved: list[str], relevant: set[str]
) -> None:
    ours = retrieval_metrics(retrieved, relevant)
    assert ours == pytest.approx(with_ir_measures(retrieved, relevant), abs=1e-9)


# --- answers and citations ---


def test_japanese_answers_use_char_f1_without_citation_markers() -> None:
    # "翌月10日です" (the trailing 。 is dropped by JGLUE) against "翌月10日": P 5/7, R 1
    assert answer_metrics("翌月10日です[1]。", ["翌月10日"], "ja") == pytest.approx(
        {"char_f1": 5 / 6}
    )
    assert answer_metrics("翌月10日【2】", ["来月", "翌月10日"], "ja") == {"char_f1": 1.0}


def test_english_answers_use_squad_token_f1_and_em() -> None:
    assert answer_metrics("Paris [1].", ["Paris"], "en") == {"token_f1": 1.0, "em": 1.0}
    # "city of paris" against "paris": P 1/3, R 1; the best of the references counts
    assert answer_metrics("The city of Paris [1, 2]", ["Lyon", "Paris"], "en") == pytest.approx(
        {"token_f1": 0.5, "em": 0.0}
    )


def test_no_reference_answer_means_no_answer_metric() -> None:
    assert answer_metrics("翌月10日", [], "ja") == {}
    assert answer_metrics("Paris", ["", "  "], "en") == {}


def test_citation_metrics() -> None:
    scores = citation_metrics(["a", "b", "a", "c"], {"a", "d"})
    assert scores == pytest.approx({"citation_precision": 1 / 3, "citation_recall": 1 / 2})
    assert citation_metrics([], {"a"}) == {"citation_recall": 0.0}
    assert citation_metrics(["a"], set()) == {"citation_precision": 0.0}
    assert citation_metrics([], []) == {}


# --- bootstrap ---


def test_bootstrap_ci_edge_cases() -> None:
    with pytest.raises(ValueError):
        bootstrap_ci([])
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    # two values: resampled means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    assert bootstrap_ci([0.0, 1.0], confidence=0.25) == (0.5, 0.5)


def test_bootstrap_ci_matches_the_normal_approximation() -> None:
    values = [0.0, 1.0] * 200  # mean 0.5, standard error 0.025
    low, high = bootstrap_ci(values)
    assert low == pytest.approx(0.5 - 1.96 * 0.025, abs=0.006)
    assert high == pytest.approx(0.5 + 1.96 * 0.025, abs=0.006)
    # enough values that the resamples are drawn in several blocks
    normal = np.random.default_rng(1).normal(size=5000)
    half = 1.96 * normal.std() / math.sqrt(normal.size)
    low, high = bootstrap_ci(normal.tolist())
    assert low == pytest.approx(normal.mean() - half, abs=half / 10)
    assert high == pytest.approx(normal.mean() + half, abs=half / 10)


def test_bootstrap_ci_is_seeded() -> None:
    values = [0.1, 0.9, 0.4, 0.4, 1.0, 0.0, 0.3]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    narrow, wide = bootstrap_ci(values, confidence=0.5), bootstrap_ci(values, confidence=0.99)
    assert wide[0] < narrow[0] <= narrow[1] < wide[1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60))
def test_bootstrap_ci_contains_the_mean_within_the_range(values: list[float]) -> None:
    low, high = bootstrap_ci(values, resamples=500)
    tol = 1e-9 * max(1.0, max(abs(v) for v in values))
    assert min(values) - tol <= low <= float(np.mean(values)) + tol
    assert float(np.mean(values)) - tol <= high <= max(values) + tol


# --- summaries ---


def result(
    item: str,
    *,
    metrics: dict[str, float | None] | None = None,
    failures: dict[str, str] | None = None,
    timings: dict[str, float] | None = None,
    usage: dict[str, int] | None = None,
) -> QuestionResult:
    return QuestionResult(
        item_id=item,
        status="ok",
        metrics=metrics or {},
        failures=failures or {},
        timings=timings or {},
        usage=usage or {},
    )


def test_summarize_leaves_failures_and_missing_values_out_of_the_mean() -> None:
    results = [
        result(
            "q1",
            metrics={"char_f1": 1.0, "correctness": 1.0},
            timings={"total_ms": 100.0},
            usage={"prompt_tokens": 10},
        ),
        result(
            "q2",
            metrics={"char_f1": 0.5, "correctness": None},
            failures={"correctness": "judge returned no JSON", "faithfulness": "timeout"},
            timings={"total_ms": 200.0},
            usage={"prompt_tokens": 30},
        ),
        result(
            "q3",
            metrics={"char_f1": None, "correctness": None},
            failures={"correctness": "judge returned no JSON"},
            timings={"total_ms": 600.0},
        ),
    ]
    summary = summarize(results)
    assert list(summary) == ["char_f1", "correctness", "total_ms", "prompt_tokens", "faithfulness"]
    low, high = bootstrap_ci([1.0, 0.5])
    assert summary["char_f1"] == MetricSummary(0.75, low, high, n=2, failures=0)
    # two judge failures: neither is scored as 0 (mean 1/3) nor 1
    assert summary["correctness"] == MetricSummary(1.0, 1.0, 1.0, n=1, failures=2)
    assert summary["total_ms"].mean == pytest.approx(300.0)
    assert summary["total_ms"].n == 3
    assert summary["total_ms"].ci_low < 300.0 < summary["total_ms"].ci_high
    assert summary["prompt_tokens"].mean == 20.0
    assert summary["prompt_tokens"].n == 2
    failed = summary["faithfulness"]
    assert (failed.n, failed.failures) == (0, 1)
    assert math.isnan(failed.mean)
    assert math.isnan(failed.ci_low)
    assert math.isnan(failed.ci_high)


def test_summarize_nothing() -> None:
    assert summarize([]) == {}


def test_latency_percentiles_interpolate_linearly() -> None:
    results = [result(f"q{i}", timings={"total_ms": float(i)}) for i in range(1, 101)]
    results.append(result("q0"))  # no timing: left out
    assert latency_percentiles(results) == pytest.approx({"p50": 50.5, "p95": 95.05, "p99": 99.01})
    assert latency_percentiles(results, "ttft_ms") == {}


# --- cost ---


def test_api_cost_per_1000_questions() -> None:
    gpt4o = Price(currency="USD", input_per_million=2.5, output_per_million=10.0)
    results = [
        result("q1", usage={"prompt_tokens": 1000, "completion_tokens": 200}),
        result("q2", usage={"prompt_tokens": 3000, "completion_tokens": 600}),
    ]
    # 4000 * 2.5 / 1e6 + 800 * 10 / 1e6 = 0.018 for 2 questions
    assert cost_per_1000(results, gpt4o) == pytest.approx(9.0)
    # a question answered without calling the generator costs nothing but counts
    assert cost_per_1000([*results, result("q3")], gpt4o) == pytest.approx(6.0)
    assert cost_per_1000([result("q1"), result("q2")], gpt4o) is None
    assert cost_per_1000([], gpt4o) is None


def test_self_hosted_cost_per_1000_questions() -> None:
    two_gpus = Price(currency="JPY", gpu_hour=400.0, gpus=2)
    results = [result(f"q{i}") for i in range(3)]
    # 800 yen an hour for 90 s is 20 yen, for 3 questions
    assert cost_per_1000(results, two_gpus, wall_s=90.0) == pytest.approx(20 / 3 * 1000)
    assert cost_per_1000(results, two_gpus) is None


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"input_per_million": 1.0, "output_per_million": 2.0, "gpu_hour": 3.0},
        {"input_per_million": 1.0},
        {"gpu_hour": 3.0, "gpus": 0},
    ],
)
def test_invalid_prices(fields: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Price(currency="USD", **fields)
