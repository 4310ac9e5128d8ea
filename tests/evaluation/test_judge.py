"""The judge's reply parser: a verdict in whatever wrapping local models use."""

from __future__ import annotations

import pytest

from kotae.errors import BackendError, JudgeFormatError, KotaeError
from kotae.evaluation import judge
from kotae.evaluation.judge import parse_verdict
from kotae.testing import FakeGenerator


def test_a_verdict_with_a_nested_object_is_read() -> None:
    reply = (
        "```json\n"
        '{"correctness": 0.5, "faithfulness": "１", "reason": "ok", "detail": {"missing": []}}'
        "\n```"
    )
    verdict = parse_verdict(reply)
    assert verdict.scores == {"correctness": 0.5, "faithfulness": 1.0}
    assert verdict.reason == "ok"


def test_the_first_object_holding_a_verdict_is_taken() -> None:
    reply = '{"thinking": {"step": 1}} then {"correctness": 1, "faithfulness": 0} {"x": 2}'
    assert parse_verdict(reply).scores == {"correctness": 1.0, "faithfulness": 0.0}


def test_judge_format_error_is_a_kotae_error_in_the_backend_branch() -> None:
    assert issubclass(judge.JudgeFormatError, KotaeError)
    assert issubclass(JudgeFormatError, BackendError)
    with pytest.raises(JudgeFormatError, match="no usable verdict: missing 'faithfulness'"):
        parse_verdict('{"correctness": 1}')
    with pytest.raises(JudgeFormatError, match="no valid JSON object"):
        parse_verdict("I cannot grade this.")


def test_judge_answer_retries_then_raises_the_kotae_error() -> None:
    replies = ["no idea", '{"correctness": 2, "faithfulness": 1}', "still no"]
    with pytest.raises(KotaeError, match="no valid JSON object"):
        judge.judge_answer(FakeGenerator(replies), "q", "a", ["r"], ["s"], "en", retries=2)
