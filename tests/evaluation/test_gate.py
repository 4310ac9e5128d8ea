"""The regression gate: equal runs pass, a degraded run fails, noise on few questions passes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kotae.evaluation.gate import GateRow, compare, lower_is_better, relative_drop
from kotae.evaluation.metrics import answer_metrics, bootstrap_ci, retrieval_metrics
from kotae.evaluation.model import QuestionResult

N = 200


def value(number: float | None) -> float:
    """``number``, which the test expects to be there."""
    assert number is not None
    return number


def scored(item: str, metrics: dict[str, float | None], **timings: float) -> QuestionResult:
    return QuestionResult(item_id=item, status="ok", metrics=metrics, timings=timings)


def japanese_run(answers: dict[str, str]) -> list[QuestionResult]:
    """A run over N questions whose reference answer to q<i> is 回答<i>番, scored for real."""
    results = []
    for i in range(N):
        item = f"q{i}"
        relevant = {f"doc{i}"}
        retrieved = [f"doc{i}", "other"] if i % 4 else ["other", "more", f"doc{i}"]
        metrics: dict[str, float | None] = {}
        metrics |= answer_metrics(answers[item], [f"回答{i}番"], "ja")
        metrics |= retrieval_metrics(retrieved, relevant)
        results.append(QuestionResult(item, "ok", answer=answers[item], metrics=metrics))
    return results


def baseline_answers() -> dict[str, str]:
    """Mostly right: every fifth answer only half right."""
    return {f"q{i}": f"回答{i}番[1]" if i % 5 else f"回答{i}" for i in range(N)}


def test_equal_runs_pass_with_zero_differences() -> None:
    report = compare(japanese_run(baseline_answers()), japanese_run(baseline_answers()))
    assert report.passed
    names = [row.metric for row in report.rows]
    assert names == ["char_f1", "recall@1", "recall@5", "recall@10", "mrr", "ndcg@10"]
    for row in report.rows:
        assert (row.diff, row.ci_low, row.ci_high, row.drop) == (0.0, 0.0, 0.0, 0.0)
        assert (row.n_pairs, row.verdict) == (N, "pass")


def test_a_run_with_30_percent_of_answers_emptied_fails() -> None:
    answers = baseline_answers()
    emptied = random.Random(7).sample(sorted(answers), k=int(0.3 * N))
    degraded = answers | dict.fromkeys(emptied, "")
    report = compare(japanese_run(baseline_answers()), japanese_run(degraded))
    assert not report.passed
    rows = {row.metric: row for row in report.rows}
    f1 = rows["char_f1"]
    assert f1.verdict == "fail"
    assert value(f1.candidate) == pytest.approx(value(f1.baseline) - value(f1.drop))
    assert 0.2 < value(f1.drop) < 0.35
    assert value(f1.ci_low) < value(f1.diff) < value(f1.ci_high) < 0
    assert {rows[m].verdict for m in rows if m != "char_f1"} == {"pass"}  # retrieval unchanged


def test_a_small_drop_on_few_questions_is_not_significant() -> None:
    base = [scored(f"q{i}", {"char_f1": 1.0}) for i in range(8)]
    cand = [scored("q0", {"char_f1": 0.0}), scored("q1", {"char_f1": 0.5}), *base[2:]]
    row = compare(base, cand).rows[0]
    assert row.drop == pytest.approx(1.5 / 8)  # beyond max_drop...
    assert row.ci_high == 0.0  # ...but most resamples hold neither changed question
    assert row.verdict == "pass"
    # the interval's ends are the one-sided 95% bounds: a two-sided 90% interval
    differences = [-1.0, -0.5] + [0.0] * 6
    assert (row.ci_low, row.ci_high) == pytest.approx(bootstrap_ci(differences, confidence=0.9))
    assert row.ci_low != bootstrap_ci(differences, confidence=0.95)[0]


def test_a_significant_drop_within_tolerance_passes() -> None:
    base = [scored(f"q{i}", {"recall@5": 0.5 + (i % 2) / 2}) for i in range(300)]
    cand = [scored(r.item_id, {"recall@5": value(r.metrics["recall@5"]) - 0.01}) for r in base]
    row = compare(base, cand).rows[0]
    assert value(row.ci_high) < 0
    assert row.drop == pytest.approx(0.01)
    assert row.verdict == "pass"
    assert compare(base, cand, max_drop=0.005).rows[0].verdict == "fail"


def test_latency_is_lower_is_better_with_a_relative_tolerance() -> None:
    rng = random.Random(3)
    base = [scored(f"q{i}", {}, total_ms=1000 + rng.uniform(-50, 50)) for i in range(100)]

    def slower(factor: float) -> list[QuestionResult]:
        return [scored(r.item_id, {}, total_ms=r.timings["total_ms"] * factor) for r in base]

    assert compare(base, slower(1.1)).rows == ()  # timings only when named
    ten_percent = compare(base, slower(1.1), metrics=["total_ms"]).rows[0]
    assert ten_percent.drop == pytest.approx(0.1)
    assert value(ten_percent.ci_low) > 0
    assert ten_percent.verdict == "fail"
    one_percent = compare(base, slower(1.01), metrics=["total_ms"]).rows[0]
    assert value(one_percent.ci_low) > 0  # significant, but within 2%
    assert one_percent.verdict == "pass"
    twice_as_fast = compare(base, slower(0.5), metrics=["total_ms"]).rows[0]
    assert twice_as_fast.drop == pytest.approx(-0.5)
    assert twice_as_fast.verdict == "pass"


def test_cost_and_rates_use_relative_drops() -> None:
    assert lower_is_better("ttft_ms") and lower_is_better("cost_usd")
    assert not lower_is_better("tokens_per_s") and relative_drop("tokens_per_s")
    assert not relative_drop("char_f1") and not lower_is_better("char_f1")


def test_saying_dont_know_to_answerable_questions_is_lower_is_better_in_points() -> None:
    assert lower_is_better("false_no_answer_rate") and not relative_drop("false_no_answer_rate")
    assert not lower_is_better("no_answer_rate") and not relative_drop("no_answer_rate")
    base = [scored(f"q{i}", {"cost": 2.0 + i % 3}, tokens_per_s=40.0 + i % 7) for i in range(60)]
    cand = [
        scored(
            r.item_id,
            {"cost": value(r.metrics["cost"]) * 1.05},
            tokens_per_s=r.timings["tokens_per_s"] * 0.9,
        )
        for r in base
    ]
    rows = {row.metric: row for row in compare(base, cand, metrics=["cost", "tokens_per_s"]).rows}
    assert rows["cost"].drop == pytest.approx(0.05)
    assert rows["tokens_per_s"].drop == pytest.approx(0.1)
    assert rows["cost"].verdict == rows["tokens_per_s"].verdict == "fail"


def test_only_questions_with_a_value_in_both_runs_are_paired() -> None:
    base = [scored(f"q{i}", {"em": 1.0}) for i in range(5)] + [scored("q5", {"em": None})]
    cand = [
        *(scored(f"q{i}", {"em": 1.0}) for i in range(1, 6)),  # q5: no value in the baseline
        scored("extra", {"em": 0.0}),  # not in the baseline
    ]
    row = compare(base, cand).rows[0]
    assert (row.n_pairs, row.baseline, row.candidate, row.verdict) == (4, 1.0, 1.0, "pass")


def test_metrics_that_cannot_be_compared_are_not_applicable() -> None:
    base = [scored("q0", {"em": 1.0, "judge_correctness": 1.0}), scored("q1", {"em": 1.0})]
    cand = [scored("q0", {"em": 0.0, "judge_correctness": 0.0}), scored("q1", {"em": 0.0})]
    report = compare(base, cand, metrics=["judge_correctness", "missing", "em"])
    assert [(r.metric, r.n_pairs, r.verdict) for r in report.rows] == [
        ("judge_correctness", 1, "n/a"),
        ("missing", 0, "n/a"),
        ("em", 2, "fail"),
    ]
    assert report.rows[0] == GateRow(
        "judge_correctness", None, None, None, None, None, 1, None, "n/a"
    )


def test_a_run_holding_a_question_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="q1"):
        compare([scored("q1", {}), scored("q1", {})], [])


def test_report_as_dict_and_table() -> None:
    base = [scored(f"q{i}", {"f1": 1.0, "em": 1.0}, total_ms=100.0) for i in range(4)]
    cand = [scored(f"q{i}", {"f1": 0.75, "em": 1.0}, total_ms=150.0) for i in range(4)]
    report = compare(base, cand, metrics=["f1", "em", "total_ms"])
    data = report.to_dict()
    assert (data["passed"], data["max_drop"], data["alpha"]) == (False, 0.02, 0.05)
    assert [row["verdict"] for row in data["rows"]] == ["fail", "pass", "fail"]
    assert report.table() == [
        ["metric", "baseline", "candidate", "diff", "90% CI", "drop", "pairs", "verdict"],
        ["f1", "1.0000", "0.7500", "-0.2500", "[-0.2500, -0.2500]", "+0.2500", "4", "fail"],
        ["em", "1.0000", "1.0000", "+0.0000", "[+0.0000, +0.0000]", "+0.0000", "4", "pass"],
        ["total_ms", "100.0", "150.0", "+50.0", "[+50.0, +50.0]", "+50.0%", "4", "fail"],
    ]


def test_the_report_is_deterministic() -> None:
    rng = random.Random(11)
    base = [scored(f"q{i}", {"f1": rng.random()}) for i in range(50)]
    cand = [scored(f"q{i}", {"f1": rng.random()}) for i in range(50)]
    assert compare(base, cand) == compare(base, cand)
    assert compare(base, cand).rows != compare(base, cand, seed=1).rows


values = st.lists(st.floats(0, 1), min_size=2, max_size=40)


@settings(max_examples=100, deadline=None)
@given(values)
def test_identical_runs_always_pass(scores: list[float]) -> None:
    run = [scored(f"q{i}", {"f1": s}, total_ms=1 + 100 * s) for i, s in enumerate(scores)]
    report = compare(run, list(run), metrics=["f1", "total_ms"], resamples=200)
    assert report.passed
    assert all(row.diff == 0.0 and row.verdict == "pass" for row in report.rows)


@settings(max_examples=100, deadline=None)
@given(values, st.lists(st.floats(-1, 1), min_size=40, max_size=40))
def test_the_verdict_follows_the_rule(scores: list[float], shifts: list[float]) -> None:
    base = [scored(f"q{i}", {"f1": s}) for i, s in enumerate(scores)]
    cand = [
        scored(r.item_id, {"f1": value(r.metrics["f1"]) + d})
        for r, d in zip(base, shifts, strict=False)
    ]
    row = compare(base, cand, resamples=200).rows[0]
    assert value(row.ci_low) <= value(row.diff) <= value(row.ci_high)
    failing = value(row.drop) > 0.02 and value(row.ci_high) < 0
    assert row.verdict == ("fail" if failing else "pass")
    if min(shifts[: len(scores)]) >= 0:  # a candidate at least as good on every question
        assert row.verdict == "pass"
