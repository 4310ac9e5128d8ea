"""An LLM judge for correctness and faithfulness, robust to local models' output.

The judge is any configured generator (``[judge]`` in kotae.toml: e.g. GPT-4o, or a local
Qwen through Ollama). Its prompt is in the language of the question
(``kotae/prompts/judge.<lang>.toml``) and asks for one JSON object::

    {"correctness": 0-1, "faithfulness": 0-1, "reason": "..."}

Local models often wrap JSON in prose or code fences, use full-width digits, or write
``"correctness": "0.8"``. :func:`parse_verdict` takes the first JSON object in the reply
that holds a verdict (:mod:`kotae.jsonreply`), tolerates those, and rejects anything else
with :class:`~kotae.errors.JudgeFormatError`. A reply that still cannot be read is retried
(``retries`` times, the error shown to the model); if it never parses, the question gets
**no** score for these metrics and the failure is counted (``QuestionResult.failures``):
a judge failure is never scored as 0 or 1.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kotae.backends.generators import GenerationParams, Generator, Message
from kotae.errors import JudgeFormatError
from kotae.jsonreply import json_objects
from kotae.prompts import load_templates

__all__ = ["CRITERIA", "JudgeFormatError", "Verdict", "judge_answer", "parse_verdict"]

CRITERIA = ("correctness", "faithfulness")


def judge_templates(language: str) -> dict[str, str]:
    return load_templates("judge", language)


@dataclass(frozen=True, slots=True)
class Verdict:
    scores: dict[str, float]  # criterion -> 0..1
    reason: str = ""


def parse_verdict(reply: str) -> Verdict:
    """The verdict in ``reply``: the first JSON object with both criteria in 0..1."""
    problems = []
    for data in json_objects(unicodedata.normalize("NFKC", reply)):
        try:
            scores = {name: _score(data, name) for name in CRITERIA}
        except JudgeFormatError as exc:
            problems.append(str(exc))
            continue
        return Verdict(scores, str(data.get("reason", ""))[:500])
    detail = "; ".join(problems) or "no valid JSON object"
    raise JudgeFormatError(f"the judge's reply has no usable verdict: {detail}")


def _score(data: dict[str, Any], name: str) -> float:
    if name not in data:
        raise JudgeFormatError(f"missing {name!r}")
    value = data[name]
    if isinstance(value, str):
        value = value.strip().rstrip("%")
        try:
            value = float(value)
        except ValueError:
            raise JudgeFormatError(f"{name!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JudgeFormatError(f"{name!r} is not a number")
    score = float(value)
    if not 0 <= score <= 1:  # "80" or "4 (of 5)" is ambiguous: retried, never guessed
        raise JudgeFormatError(f"{name!r} = {score} is outside 0..1")
    return score


def judge_answer(
    judge: Generator,
    question: str,
    answer: str,
    references: Sequence[str],
    sources: Sequence[str],
    language: str,
    retries: int = 2,
) -> Verdict:
    """Ask ``judge`` to grade ``answer``; JudgeFormatError after ``retries`` unreadable
    replies (the backend's own errors, e.g. an unreachable judge, pass through)."""
    t = judge_templates(language)
    none = t["none"]
    user = t["user"].format(
        question=question,
        references="\n".join(f"- {r}" for r in references) or none,
        sources="\n\n".join(f"[{i}] {s}" for i, s in enumerate(sources, 1)) or none,
        answer=answer or none,
    )
    messages = [Message("system", t["system"]), Message("user", user)]
    params = GenerationParams(max_tokens=300, temperature=0.0)
    last: JudgeFormatError | None = None
    for _ in range(retries + 1):
        reply = judge.generate(messages, params).text
        try:
            return parse_verdict(reply)
        except JudgeFormatError as exc:
            last = exc
            messages = [
                *messages,
                Message("assistant", reply[:2000]),
                Message("user", t["retry"].format(problem=str(exc))),
            ]
    assert last is not None
    raise last
