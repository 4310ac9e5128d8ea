"""The regression gate: does a candidate run score significantly worse than a baseline run?

Questions are paired by ``item_id``; a metric uses the pairs where both runs have a value.
For each metric, with d = candidate - baseline per pair:

- **drop**: how much worse the candidate is on average. For scores (higher is better:
  retrieval, answer, citation and judge metrics) it is absolute: ``-mean(d)``, so
  ``max_drop=0.02`` allows two points of F1 or recall. For latencies (names ending in
  ``_ms``) and costs (names containing ``cost``), lower is better and the drop is relative to
  the baseline's mean: ``mean(d) / mean(baseline)``, so ``max_drop=0.02`` allows 2% slower.
  Rates (names ending in ``_per_s``, e.g. ``tokens_per_s``) are higher-is-better with a
  relative drop: ``-mean(d) / mean(baseline)``.
- **significance**: a paired bootstrap of mean(d) (pairs resampled with replacement). The
  reported interval is its two-sided 1-2*alpha percentile interval, whose ends are the
  one-sided 1-alpha bounds: the candidate is significantly worse when ``ci_high < 0`` for a
  higher-is-better metric, ``ci_low > 0`` for a lower-is-better one.

A metric **fails** when its drop exceeds ``max_drop`` AND it is significantly worse. It is
``n/a`` with fewer than 2 pairs (one pair says nothing about noise) or when it is missing
from either run; ``n/a`` does not fail a metric.

Before any metric, :func:`refusals` says why two runs cannot be gated at all; ``eval gate``
fails on each reason: a run that is incomplete (not ``done``, or fewer results than
questions), runs over different question sets, or a gated metric that the candidate has no
value for (a metric the candidate stopped producing must not pass as ``n/a``). The gate
passes when there is no refusal and no metric fails.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from kotae.evaluation.metrics import bootstrap_means
from kotae.evaluation.model import QuestionResult, RunSummary

Verdict = Literal["pass", "fail", "n/a"]
MIN_PAIRS = 2


# Rates of mistakes, in points like the scores, but better when lower.
LOWER_IS_BETTER_SCORES = frozenset({"false_no_answer_rate"})


def lower_is_better(metric: str) -> bool:
    """Latencies (``*_ms``), costs (``*cost*``) and the mistake rates of
    :data:`LOWER_IS_BETTER_SCORES` (saying "don't know" to an answerable question) improve
    as they go down."""
    return metric.endswith("_ms") or "cost" in metric or metric in LOWER_IS_BETTER_SCORES


def relative_drop(metric: str) -> bool:
    """Whether ``max_drop`` is a fraction of the baseline (unbounded scales), not points."""
    return metric.endswith(("_ms", "_per_s")) or "cost" in metric


@dataclass(frozen=True, slots=True)
class GateRow:
    """One metric's comparison. Means are over the paired questions only, so that
    ``diff == candidate - baseline``; ``drop`` is in ``max_drop``'s unit (see the module)."""

    metric: str
    baseline: float | None
    candidate: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    n_pairs: int
    drop: float | None
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class GateReport:
    """The gate's verdict on every compared metric."""

    rows: tuple[GateRow, ...]
    max_drop: float
    alpha: float
    refusals: tuple[str, ...] = ()  # why the runs cannot be gated (see :func:`refusals`)

    @property
    def passed(self) -> bool:
        return not self.refusals and all(row.verdict != "fail" for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "refusals": list(self.refusals),
            "max_drop": self.max_drop,
            "alpha": self.alpha,
            "rows": [asdict(row) for row in self.rows],
        }

    def table(self) -> list[list[str]]:
        """The rows as plain strings for a terminal table, the header first."""
        interval = f"{round((1 - 2 * self.alpha) * 100):g}% CI"
        header = ["metric", "baseline", "candidate", "diff", interval, "drop", "pairs", "verdict"]
        lines = [header]
        for row in self.rows:
            digits = 1 if relative_drop(row.metric) else 4
            ci = (
                "-"
                if row.ci_low is None or row.ci_high is None
                else f"[{row.ci_low:+.{digits}f}, {row.ci_high:+.{digits}f}]"
            )
            lines.append(
                [
                    row.metric,
                    _number(row.baseline, f".{digits}f"),
                    _number(row.candidate, f".{digits}f"),
                    _number(row.diff, f"+.{digits}f"),
                    ci,
                    _number(row.drop, "+.1%" if relative_drop(row.metric) else "+.4f"),
                    str(row.n_pairs),
                    row.verdict,
                ]
            )
        return lines


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def compare(
    baseline: Sequence[QuestionResult],
    candidate: Sequence[QuestionResult],
    *,
    max_drop: float = 0.02,
    metrics: Collection[str] | None = None,
    resamples: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> GateReport:
    """Compare ``candidate`` with ``baseline``, metric by metric (rule in the module docstring).

    ``metrics`` names the metrics to check, looked up in each question's metrics, then its
    timings; by default every name in either run's ``metrics`` (quality only: timings vary
    from machine to machine and are checked only when named). Raises ``ValueError`` when a
    run holds the same question twice.
    """
    base = _by_item(baseline)
    cand = _by_item(candidate)
    names = gated_metrics(baseline, candidate, metrics)
    rows = tuple(
        _compare_metric(name, base, cand, max_drop, resamples, alpha, seed) for name in names
    )
    return GateReport(rows, max_drop, alpha)


def gated_metrics(
    baseline: Sequence[QuestionResult],
    candidate: Sequence[QuestionResult],
    metrics: Collection[str] | None = None,
) -> list[str]:
    """The metrics the gate checks: ``metrics`` when named, else every name in either
    run's per-question ``metrics``."""
    if metrics is not None:
        return list(dict.fromkeys(metrics))
    return list(dict.fromkeys(n for r in (*baseline, *candidate) for n in r.metrics))


@dataclass(frozen=True, slots=True)
class GatedRun:
    """A run as the gate sees it: its summary, its results and its eval set's digest."""

    run: RunSummary
    results: Sequence[QuestionResult]
    set_digest: str


def refusals(
    baseline: GatedRun, candidate: GatedRun, metrics: Collection[str] | None = None
) -> tuple[str, ...]:
    """Why ``candidate`` cannot be gated against ``baseline``, one sentence each; empty
    when it can. Each one fails the gate."""
    found = [
        reason
        for role, gated in (("baseline", baseline), ("candidate", candidate))
        if (reason := _incomplete(role, gated)) is not None
    ]
    if baseline.set_digest != candidate.set_digest:
        found.append(
            f"different question sets: the baseline {baseline.run.id} ran "
            f"{baseline.run.set_name!r} ({baseline.run.n_questions} questions), the candidate "
            f"{candidate.run.id} ran {candidate.run.set_name!r} ({candidate.run.n_questions} "
            "questions); gate two runs of the same eval set"
        )
    for name in gated_metrics(baseline.results, candidate.results, metrics):
        if not any(_value(r, name) is not None for r in candidate.results):
            found.append(
                f"metric {name} is missing from the candidate {candidate.run.id}: none of its "
                "questions has a value for it"
            )
    return tuple(found)


def _incomplete(role: str, gated: GatedRun) -> str | None:
    run, done = gated.run, len(gated.results)
    if run.status == "done" and done >= run.n_questions:
        return None
    return (
        f"the {role} {run.id} is incomplete (status {run.status}, {done} of "
        f"{run.n_questions} questions): run the same `kotae eval run` command again to "
        "finish it"
    )


def _by_item(results: Sequence[QuestionResult]) -> dict[str, QuestionResult]:
    by_item: dict[str, QuestionResult] = {}
    for result in results:
        if result.item_id in by_item:
            raise ValueError(f"the run holds question {result.item_id!r} twice")
        by_item[result.item_id] = result
    return by_item


def _value(result: QuestionResult, metric: str) -> float | None:
    if metric in result.metrics:
        return result.metrics[metric]
    return result.timings.get(metric)


def _compare_metric(
    metric: str,
    base: dict[str, QuestionResult],
    cand: dict[str, QuestionResult],
    max_drop: float,
    resamples: int,
    alpha: float,
    seed: int,
) -> GateRow:
    pairs = [
        (b, c)
        for item, result in base.items()
        if item in cand
        and (b := _value(result, metric)) is not None
        and (c := _value(cand[item], metric)) is not None
    ]
    if len(pairs) < MIN_PAIRS:
        return GateRow(metric, None, None, None, None, None, len(pairs), None, "n/a")
    values = np.asarray(pairs, dtype=np.float64)
    base_mean, cand_mean = (float(v) for v in values.mean(axis=0))
    diffs = values[:, 1] - values[:, 0]
    diff = float(diffs.mean())
    low, high = np.quantile(
        bootstrap_means(diffs, resamples=resamples, seed=seed), [alpha, 1 - alpha]
    )
    worse = (diff if lower_is_better(metric) else -diff) + 0.0  # + 0.0: no -0.0 shown
    drop = _relative(worse, base_mean) if relative_drop(metric) else worse
    significant = low > 0 if lower_is_better(metric) else high < 0
    verdict: Verdict = "fail" if drop > max_drop and significant else "pass"
    return GateRow(
        metric, base_mean, cand_mean, diff, float(low), float(high), len(pairs), drop, verdict
    )


def _relative(worse: float, base_mean: float) -> float:
    """``worse`` as a fraction of the baseline's mean; any loss from a zero baseline is
    infinite."""
    if base_mean != 0:
        return worse / abs(base_mean)
    return math.inf if worse > 0 else 0.0
