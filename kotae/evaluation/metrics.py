"""Per-question metrics of an evaluation run, and their aggregation over the run.

Every per-question function returns a dict of metric name to value, leaving out the metrics
that do not apply to the question (no relevant document, no reference answer, no citation):
the runner records those as ``None`` in :attr:`QuestionResult.metrics`, and :func:`summarize`
leaves them out of the mean. The names produced here:

- retrieval (:func:`retrieval_metrics`): ``recall@1``, ``recall@5``, ``recall@10``, ``mrr``,
  ``ndcg@10``; they agree with ir-measures' ``R@k``, ``RR@10`` and ``nDCG@10`` (trec_eval) on
  binary relevance;
- answers (:func:`answer_metrics`): ``char_f1`` (Japanese, JGLUE), ``token_f1`` and ``em``
  (English, official SQuAD v1.1);
- citations (:func:`citation_metrics`): ``citation_precision``, ``citation_recall``.

:func:`summarize` also aggregates the runner's timings (``ttft_ms``, ``total_ms``,
``tokens_per_s``) and token usage (``prompt_tokens``, ``completion_tokens``) under their own
names, each as a mean with a percentile-bootstrap confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kotae.answer import strip_citations
from kotae.errors import ConfigError
from kotae.evaluation.answer_metrics import char_f1, squad_em, squad_f1
from kotae.evaluation.model import Language, MetricSummary, QuestionResult

RETRIEVAL_KS = (1, 5, 10)
RANK_DEPTH = 10  # MRR and nDCG look at the first 10 documents
PERCENTILES = (50, 95, 99)
# Caps the bootstrap's index matrix (resamples x values) at about 32 MB of int64 per block.
_BOOTSTRAP_BLOCK = 1 << 22


def _unique(ranking: Iterable[str]) -> list[str]:
    """``ranking`` with repeated documents dropped after their first (best) position."""
    return list(dict.fromkeys(ranking))


def retrieval_metrics(
    retrieved: Sequence[str], relevant: Collection[str], ks: Sequence[int] = RETRIEVAL_KS
) -> dict[str, float]:
    """Recall@k for each ``k`` in ``ks``, MRR@10 and nDCG@10 of one question, binary relevance.

    ``retrieved`` are document keys, best first; a document retrieved twice (two of its
    chunks) counts once, at its best position. ``recall@k`` is the share of the relevant
    documents among the first k; ``mrr`` is 1/rank of the first relevant document within the
    first 10 (0 when none); ``ndcg@10`` is DCG (gain 1/log2(rank+1)) of the first 10 over the
    DCG of the ideal ranking. With no relevant document none of them applies: ``{}``.
    """
    wanted = set(relevant)
    if not wanted:
        return {}
    hits = [doc in wanted for doc in _unique(retrieved)]
    scores = {f"recall@{k}": sum(hits[:k]) / len(wanted) for k in ks}
    first = next((rank for rank, hit in enumerate(hits[:RANK_DEPTH], 1) if hit), None)
    scores["mrr"] = 1 / first if first is not None else 0.0
    dcg = sum(1 / math.log2(rank + 1) for rank, hit in enumerate(hits[:RANK_DEPTH], 1) if hit)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(wanted), RANK_DEPTH) + 1))
    scores[f"ndcg@{RANK_DEPTH}"] = dcg / ideal
    return scores


def answer_metrics(
    prediction: str, references: Sequence[str], language: Language
) -> dict[str, float]:
    """How close ``prediction`` is to the best of ``references``.

    Citation markers ([1], [1, 2], 【3】) are removed from the prediction first: they are not
    part of the answer. Japanese: ``char_f1`` (JGLUE JSQuAD); English: ``token_f1`` and ``em``
    (official SQuAD v1.1). References that are blank are ignored; with none left the question
    has no reference answer and nothing applies: ``{}``.
    """
    golds = [ref for ref in references if ref.strip()]
    if not golds:
        return {}
    answer = strip_citations(prediction)
    if language == "ja":
        return {"char_f1": char_f1(answer, golds)}
    return {"token_f1": squad_f1(answer, golds), "em": squad_em(answer, golds)}


def citation_metrics(cited: Sequence[str], relevant: Collection[str]) -> dict[str, float]:
    """Whether the answer cites the documents that hold the answer.

    - ``citation_precision``: the share of the distinct cited documents that are relevant;
      not applicable when the answer cites nothing.
    - ``citation_recall``: the share of the relevant documents that the answer cites; not
      applicable when the question has no relevant document. A relevant document that
      retrieval missed cannot be cited and counts against it: this measures the whole path,
      retrieval included.
    """
    cited_docs = set(cited)
    wanted = set(relevant)
    scores: dict[str, float] = {}
    if cited_docs:
        scores["citation_precision"] = len(cited_docs & wanted) / len(cited_docs)
    if wanted:
        scores["citation_recall"] = len(cited_docs & wanted) / len(wanted)
    return scores


def bootstrap_ci(
    values: Sequence[float], *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean of ``values``.

    Draws ``resamples`` samples of ``len(values)`` values with replacement (seeded, so a run's
    report is reproducible) and returns the (1-confidence)/2 and (1+confidence)/2 quantiles of
    their means. A single value gives ``(v, v)``; no value raises ``ValueError``.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if data.size == 1:
        return float(data[0]), float(data[0])
    means = bootstrap_means(data, resamples=resamples, seed=seed)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def bootstrap_means(data: np.ndarray, *, resamples: int, seed: int) -> np.ndarray:
    """The means of ``resamples`` resamples of ``data`` with replacement, drawn in blocks."""
    rng = np.random.default_rng(seed)
    per_block = max(1, _BOOTSTRAP_BLOCK // data.size)
    blocks = []
    for start in range(0, resamples, per_block):
        rows = min(per_block, resamples - start)
        blocks.append(data[rng.integers(0, data.size, size=(rows, data.size))].mean(axis=1))
    return np.concatenate(blocks)


def _measurements(result: QuestionResult) -> dict[str, float | None]:
    """Every number recorded for one question: its metrics, then its timings and usage counts
    (a metric wins over a timing or count of the same name)."""
    found = dict(result.metrics)
    for name, value in (*result.timings.items(), *result.usage.items()):
        found.setdefault(name, value)
    return found


def summarize(
    results: Sequence[QuestionResult], *, resamples: int = 2000, seed: int = 0
) -> dict[str, MetricSummary]:
    """Mean and 95% bootstrap interval of every metric, timing and usage count of a run.

    For each name seen in any question (its metrics, timings, usage or failures), the mean is
    over the questions that have a value; ``n`` counts them, and ``failures`` counts the
    questions whose ``failures`` name the metric (e.g. a judge that returned no usable
    verdict). A failure is never averaged in as 0 or 1. A metric that failed on every
    question has ``n == 0`` and a NaN mean and interval.
    """
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(_measurements(result)))
        names.update(dict.fromkeys(result.failures))
    rows = [_measurements(result) for result in results]
    summary = {}
    for name in names:
        values = [v for row in rows if (v := row.get(name)) is not None]
        failures = sum(name in result.failures for result in results)
        if values:
            low, high = bootstrap_ci(values, resamples=resamples, seed=seed)
            mean = float(np.mean(values))
        else:
            mean = low = high = math.nan
        summary[name] = MetricSummary(mean, low, high, len(values), failures)
    return summary


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0 to 100) of ``values``: linear interpolation between the
    closest ranks (numpy's default, as pandas and most dashboards). kotae's one percentile:
    eval runs, reports and ``kotae bench`` all use it. ``None`` for no values."""
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def latency_percentiles(
    results: Sequence[QuestionResult], key: str = "total_ms"
) -> dict[str, float]:
    """``p50``, ``p95`` and ``p99`` (:func:`percentile`) of timing ``key`` over the questions
    that recorded it, failed questions included (at the time they took to fail). ``{}``
    when no question recorded ``key``."""
    values = [r.timings[key] for r in results if key in r.timings]
    found = {f"p{p}": percentile(values, p) for p in PERCENTILES}
    return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Price:
    """A price table entry: API prices per million tokens, or a self-hosted GPU's hourly cost.

    Give either ``input_per_million`` and ``output_per_million`` (API), or ``gpu_hour``
    (the cost of one GPU for one hour, all in) and ``gpus`` (self-hosted).
    """

    currency: str
    input_per_million: float | None = None
    output_per_million: float | None = None
    gpu_hour: float | None = None
    gpus: int = 1

    def __post_init__(self) -> None:
        api = self.input_per_million is not None or self.output_per_million is not None
        if api == (self.gpu_hour is not None):
            raise ConfigError(
                "a price needs either input_per_million and output_per_million (API) "
                "or gpu_hour (self-hosted), not both and not neither",
                message_ja="価格には input_per_million と output_per_million（API）か、"
                "gpu_hour（自社運用）のどちらか一方を指定してください",
            )
        if api and (self.input_per_million is None or self.output_per_million is None):
            raise ConfigError(
                "an API price needs both input_per_million and output_per_million",
                message_ja="API の価格には input_per_million と output_per_million の"
                "両方が必要です",
            )
        if self.gpus < 1:
            raise ConfigError(
                f"gpus must be at least 1, not {self.gpus}",
                message_ja=f"gpus は 1 以上にしてください（{self.gpus} が指定されました）",
            )


def cost_per_1000(
    results: Sequence[QuestionResult], price: Price, *, wall_s: float | None = None
) -> float | None:
    """What 1,000 questions like these cost, in ``price.currency``.

    API: the tokens the questions used (``usage`` prompt_tokens and completion_tokens) at the
    per-million prices, averaged over all questions; a question without usage made no
    generator call (no evidence, extractive answer) and costs nothing. ``None`` when no
    question reports usage, since then the price cannot be applied.

    Self-hosted: ``gpu_hour * gpus`` for the run's measured wall-clock time ``wall_s``,
    divided by the number of questions: cost = gpu_hour * gpus * wall_s / 3600 / n * 1000.
    ``None`` without ``wall_s``. ``None`` too when there is no question.
    """
    if not results:
        return None
    if price.input_per_million is not None and price.output_per_million is not None:
        if not any(r.usage for r in results):
            return None
        prompt = sum(r.usage.get("prompt_tokens", 0) for r in results)
        completion = sum(r.usage.get("completion_tokens", 0) for r in results)
        total = prompt * price.input_per_million + completion * price.output_per_million
        return total / 1e6 / len(results) * 1000
    if price.gpu_hour is not None and wall_s is not None:
        return price.gpu_hour * price.gpus * wall_s / 3600 / len(results) * 1000
    return None
