"""The data of an evaluation: eval-set items, per-question results, run summaries.

An **eval set** is a JSONL file, one :class:`EvalItem` per line::

    {"id": "q1", "question": "経費の申請期限は？", "answers": ["翌月10日"],
     "sources": ["経費精算規程.md"], "tags": ["経費"], "language": "ja"}

``answers`` are reference answers (any of them counts), ``sources`` the documents that hold
the answer: a document's ``source`` (the path as ingested, or ``PATH#ID`` for a corpus
record), a trailing part of that path such as the file name, or its external id (a corpus
id); see :func:`kotae.evaluation.datasets.matches_source`.

A **run** evaluates one configuration over a set; each question gives one
:class:`QuestionResult`, and the run's :class:`RunSummary` aggregates them with bootstrap
confidence intervals.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from kotae.text.language import Language as Language  # re-exported, defined there once


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One question of an eval set."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: Language | None = None  # None = detect from the question
    source_chunk: int | None = None  # synthesized questions: the chunk they came from
    # the knowledge base holds no answer: the right reply is "the sources do not answer"
    unanswerable: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "sources": list(self.sources),
            "tags": list(self.tags),
        }
        if self.language is not None:
            data["language"] = self.language
        if self.source_chunk is not None:
            data["source_chunk"] = self.source_chunk
        if self.unanswerable:
            data["unanswerable"] = True
        return data


@dataclass(slots=True)
class QuestionResult:
    """What one configuration did with one question, and its scores.

    ``metrics`` maps a metric name to its value, or to ``None`` when it does not apply
    (no reference answer, no judge) or its computation failed (a judge that returned no
    usable verdict): such a question is left out of that metric's mean and counted in
    ``failures``, never scored as 0 or 1.
    """

    item_id: str
    status: Literal["ok", "no_evidence", "error"]
    answer: str = ""
    retrieved: list[str] = field(default_factory=list)  # document keys, best first
    cited: list[str] = field(default_factory=list)  # document keys the answer cites
    passages: list[str] = field(default_factory=list)  # the sources given to the answer, cut
    sources: list[str] = field(default_factory=list)  # their document keys, [1] first
    metrics: dict[str, float | None] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # metric -> why it has no value
    timings: dict[str, float] = field(default_factory=dict)  # ttft_ms, total_ms, tokens_per_s
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens
    error: str | None = None
    raw_answer: str = ""  # the generator's reply when cleaning changed it (kotae.replies)
    flags: list[str] = field(default_factory=list)  # the reply's repairs and problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """A metric over the questions of a run: mean and 95% bootstrap interval."""

    mean: float  # NaN when no question has a value (n == 0)
    ci_low: float
    ci_high: float
    n: int  # questions with a value
    failures: int = 0  # questions where it could not be computed (e.g. judge failures)

    def to_dict(self) -> dict[str, Any]:
        """As JSON-safe values: a NaN (no value at all) becomes ``None``."""
        return {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSummary:
        nan = math.nan
        return cls(
            mean=nan if data["mean"] is None else float(data["mean"]),
            ci_low=nan if data["ci_low"] is None else float(data["ci_low"]),
            ci_high=nan if data["ci_high"] is None else float(data["ci_high"]),
            n=int(data["n"]),
            failures=int(data.get("failures", 0)),
        )


@dataclass(slots=True)
class RunSummary:
    """One configuration evaluated over one eval set."""

    id: str
    name: str  # the configuration's label, e.g. "llama3-70b-vllm"
    set_name: str
    created_at: str
    status: Literal["running", "done", "interrupted"]
    n_questions: int
    config: dict[str, Any] = field(default_factory=dict)  # effective settings, secrets hidden
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    cost_per_1000: float | None = None  # in the price table's currency
    currency: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = {name: m.to_dict() for name, m in self.metrics.items()}
        return data
