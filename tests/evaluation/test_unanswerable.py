"""Unanswerable questions in an eval set: reading them, and scoring "the sources do not answer".

``"unanswerable": true`` marks a question the knowledge base holds no answer to. The
runner scores ``no_answer_rate`` on such questions (1 when the answer the reader gets says
so: a reply with no answer in it falls back to the evidence, or "no evidence") and
``false_no_answer_rate`` on questions with a reference answer (1 when it said so although
the answer is there), ``language_match`` on generated answers
and, when the generation was streamed, prefill and decode speeds. A real knowledge base,
the scripted fake generator configured by TOML files as a user would configure a server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kotae.backends.generators import Usage
from kotae.errors import DatasetError
from kotae.evaluation.datasets import read_eval_set
from kotae.evaluation.model import EvalItem, QuestionResult
from kotae.evaluation.runner import language_metrics, load_config, run_eval, token_rates
from kotae.kb import init_kb
from tests.conftest import catalog_of, write

EXPENSES = """# 経費精算規程

## 申請期限

経費の申請期限は、支出した月の翌月10日までとする。期限を過ぎた申請は部長の承認が必要である。

## 宿泊費

出張の宿泊費の上限は1泊12,000円とする。上限を超えた分は自己負担とする。
"""

LEAVE = """# Leave policy

## Paid leave

Employees get 20 days of paid leave per year. Unused days carry over for one year.
"""

EQUIPMENT = """# 備品貸出

ノートパソコンの貸出期間は最長2週間とする。返却が遅れた場合は総務部に連絡すること。
"""

# The eval set, in the order the fake generator's replies are given (concurrency 1).
ITEMS: list[dict[str, Any]] = [
    {
        "id": "ja-deadline",
        "question": "経費の申請期限は？",
        "answers": ["翌月10日まで"],
        "sources": ["経費精算規程.md"],
    },
    {
        "id": "en-leave",
        "question": "How many days of paid leave do employees get per year?",
        "answers": ["20 days"],
        "sources": ["leave.md"],
    },
    {
        "id": "ja-hotel",
        "question": "出張の宿泊費の上限は？",
        "answers": ["1泊12,000円"],
        "sources": ["経費精算規程.md"],
    },
    {"id": "un-mars", "question": "火星支社のペンギン飼育費の上限は？", "unanswerable": True},
    {"id": "un-canteen", "question": "社員食堂のカレーの値段の上限は？", "unanswerable": True},
    {"id": "un-empty", "question": "火星支社のペンギンの餌代の上限は？", "unanswerable": True},
]

REPLIES = [
    "申請期限は翌月10日までです [1]",  # right
    "資料からは回答できません。",  # a false "don't know": the answer is in leave.md
    "The hotel limit is 12,000 yen per night [1].",  # right, in the wrong language
    "資料からは回答できません。",  # the right "don't know"
    "社員食堂のカレーの値段の上限は一杯800円で、大盛りは100円増しです [1]",  # made up
    "",  # an empty reply: kotae falls back to the evidence, here "no evidence"
]


def eval_lines(items: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


@pytest.fixture
def kb_path(tmp_path: Path) -> Path:
    path = tmp_path / "kb"
    docs = tmp_path / "docs"
    with init_kb(path) as kb:
        kb.ingest(
            [
                write(docs / "経費精算規程.md", EXPENSES),
                write(docs / "leave.md", LEAVE),
                write(docs / "備品貸出.md", EQUIPMENT),
            ]
        )
    return path


def by_id(kb_path: Path, run_id: str) -> dict[str, QuestionResult]:
    with catalog_of(kb_path) as store:
        return {r.item_id: r for r in store.eval_results(run_id)}


# -- reading the eval set -------------------------------------------------------------------


def test_an_unanswerable_line_is_read_as_such(tmp_path: Path) -> None:
    path = write(tmp_path / "set.jsonl", eval_lines(ITEMS))
    items = read_eval_set(path)
    assert [i.unanswerable for i in items] == [False, False, False, True, True, True]
    mars = items[3]
    assert mars == EvalItem(
        id="un-mars", question="火星支社のペンギン飼育費の上限は？", unanswerable=True
    )
    assert mars.to_dict()["unanswerable"] is True
    assert "unanswerable" not in items[0].to_dict()
    # an explicit false is the default, and empty lists are no answers and no sources
    plain = write(
        tmp_path / "plain.jsonl",
        '{"id": "a", "question": "q?", "unanswerable": false, "answers": ["x"]}\n'
        '{"id": "b", "question": "r?", "unanswerable": true, "answers": [], "sources": []}\n',
    )
    first, second = read_eval_set(plain)
    assert not first.unanswerable and first.answers == ("x",)
    assert second.unanswerable and second.answers == () and second.sources == ()


def test_written_and_read_back_an_unanswerable_item_stays_unanswerable(tmp_path: Path) -> None:
    from kotae.evaluation.datasets import write_eval_set

    items = read_eval_set(write(tmp_path / "set.jsonl", eval_lines(ITEMS)))
    write_eval_set(items, tmp_path / "copy.jsonl")
    assert read_eval_set(tmp_path / "copy.jsonl") == items


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"id": "u", "question": "q?", "unanswerable": "yes"}',
            r'"unanswerable" must be true or false, got a string',
        ),
        (
            '{"id": "u", "question": "q?", "unanswerable": 1}',
            r'"unanswerable" must be true or false, got a number',
        ),
        (
            '{"id": "u", "question": "q?", "unanswerable": true, "answers": ["20日"]}',
            r'an "unanswerable" question has no "answers" and no "sources"',
        ),
        (
            '{"id": "u", "question": "q?", "unanswerable": true, "sources": ["leave.md"]}',
            r'an "unanswerable" question has no "answers" and no "sources"',
        ),
    ],
)
def test_a_bad_unanswerable_line_is_an_error_naming_the_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = write(tmp_path / "set.jsonl", '{"id": "ok", "question": "fine?"}\n\n' + line + "\n")
    with pytest.raises(DatasetError) as info:
        read_eval_set(path)
    text = str(info.value)
    assert text.startswith(f"{path}:3: ")
    assert message.replace("\\", "") in text


# -- scoring --------------------------------------------------------------------------------


def test_generated_answers_score_abstention_and_language(kb_path: Path, tmp_path: Path) -> None:
    eval_set = write(tmp_path / "set.jsonl", eval_lines(ITEMS))
    config = write(
        tmp_path / "fake.toml",
        # every question goes to the model (the replies are scripted in question order)
        "[answer]\nevidence_threshold = 0.0\n"
        '[generator]\nbackend = "fake"\n'
        f"responses = {json.dumps(REPLIES, ensure_ascii=False)}\n"
        "[eval]\nconcurrency = 1\n",
    )
    run = run_eval(kb_path, read_eval_set(eval_set), "set", load_config(kb_path, config))
    results = by_id(kb_path, run.id)

    deadline = results["ja-deadline"]
    assert deadline.status == "ok" and deadline.answer == "申請期限は翌月10日までです [1]"
    assert deadline.metrics["false_no_answer_rate"] == 0.0
    assert "no_answer_rate" not in deadline.metrics
    assert deadline.metrics["language_match"] == 1.0
    assert deadline.metrics["char_f1"] is not None and deadline.metrics["char_f1"] > 0.5
    # streamed: the client-side prefill and decode speeds are recorded
    assert deadline.timings["prefill_tokens_per_s"] > 0
    assert deadline.usage["completion_tokens"] > 1

    leave = results["en-leave"]
    assert leave.status == "no_evidence"
    assert leave.metrics["false_no_answer_rate"] == 1.0
    assert "no_answer_rate" not in leave.metrics
    assert "language_match" not in leave.metrics  # not an answer: nothing to compare
    assert leave.metrics["token_f1"] == 0.0

    hotel = results["ja-hotel"]
    assert hotel.status == "ok" and hotel.metrics["false_no_answer_rate"] == 0.0
    assert hotel.metrics["language_match"] == 0.0  # asked in Japanese, answered in English

    mars = results["un-mars"]
    assert mars.status == "no_evidence"
    assert mars.metrics["no_answer_rate"] == 1.0
    assert "false_no_answer_rate" not in mars.metrics
    for name in ("char_f1", "token_f1", "em", "recall@5", "citation_recall"):
        assert name not in mars.metrics

    canteen = results["un-canteen"]
    assert canteen.status == "ok"
    assert canteen.metrics["no_answer_rate"] == 0.0
    assert "char_f1" not in canteen.metrics and "false_no_answer_rate" not in canteen.metrics

    empty = results["un-empty"]
    # kotae fell back to the best evidence sentence (no threshold here): the reader gets a
    # passage, not "don't know", and that is what is scored
    assert empty.status == "ok" and {"empty", "extractive_fallback"} <= set(empty.flags)
    assert empty.metrics["no_answer_rate"] == 0.0
    assert "char_f1" not in empty.metrics and "language_match" not in empty.metrics

    assert run.metrics["no_answer_rate"].n == 3
    assert run.metrics["no_answer_rate"].mean == pytest.approx(1 / 3)
    assert run.metrics["false_no_answer_rate"].n == 3
    assert run.metrics["false_no_answer_rate"].mean == pytest.approx(1 / 3)
    assert run.metrics["char_f1"].n == 2  # the two Japanese answerable questions only
    assert run.metrics["token_f1"].n == 1
    assert run.metrics["language_match"].n == 3  # the generated "ok" answers
    assert run.metrics["language_match"].mean == pytest.approx(2 / 3)


def test_extractive_answers_say_no_evidence_for_what_the_documents_do_not_hold(
    kb_path: Path, tmp_path: Path
) -> None:
    eval_set = write(tmp_path / "set.jsonl", eval_lines(ITEMS))
    config = write(tmp_path / "extractive.toml", '[answer]\nmode = "extractive"\n')
    run = run_eval(kb_path, read_eval_set(eval_set), "set", load_config(kb_path, config))
    results = by_id(kb_path, run.id)
    for answerable in ("ja-deadline", "en-leave", "ja-hotel"):
        result = results[answerable]
        assert result.status == "ok", answerable
        assert result.metrics["false_no_answer_rate"] == 0.0
        assert result.metrics["answer_in_evidence@3"] == 1.0
        assert "language_match" not in result.metrics  # extracted, not generated
    for unanswerable in ("un-mars", "un-canteen", "un-empty"):
        result = results[unanswerable]
        assert result.status == "no_evidence", unanswerable
        assert result.metrics["no_answer_rate"] == 1.0
        assert "answer_in_evidence@3" not in result.metrics
    assert run.metrics["no_answer_rate"].mean == 1.0 and run.metrics["no_answer_rate"].n == 3
    assert run.metrics["false_no_answer_rate"].mean == 0.0
    assert "char_f1" not in run.metrics


def test_with_no_evidence_threshold_extractive_answers_answer_everything(
    kb_path: Path, tmp_path: Path
) -> None:
    """The same run with ``evidence_threshold = 0``: the unanswerable question that shares
    words with a document gets that document's sentences, which no_answer_rate counts."""
    items = [ITEMS[0], ITEMS[3]]
    eval_set = write(tmp_path / "set.jsonl", eval_lines(items))
    config = write(
        tmp_path / "always.toml", '[answer]\nmode = "extractive"\nevidence_threshold = 0.0\n'
    )
    run = run_eval(kb_path, read_eval_set(eval_set), "set", load_config(kb_path, config))
    results = by_id(kb_path, run.id)
    assert results["ja-deadline"].metrics["false_no_answer_rate"] == 0.0
    assert results["un-mars"].status == "ok"
    assert results["un-mars"].metrics["no_answer_rate"] == 0.0


# -- language_metrics and token_rates -------------------------------------------------------


def test_language_metrics() -> None:
    assert language_metrics("経費の申請期限は支出した月の翌月10日までです [1]", "ja") == {
        "language_match": 1.0
    }
    english = "Employees get 20 days of paid leave per year [1]."
    assert language_metrics(english, "ja") == {"language_match": 0.0}
    assert language_metrics(english, "en") == {"language_match": 1.0}
    assert language_metrics("社員は年20日の有給休暇を取得できます。", "en") == {
        "language_match": 0.0
    }
    assert language_metrics("12,000 [1]", "ja") == {}  # a bare number: cannot tell
    assert language_metrics("20", "en") == {}


def test_token_rates() -> None:
    usage = Usage(prompt_tokens=600, completion_tokens=51)
    rates = token_rates({"first_token_ms": 200.0, "generate_ms": 1200.0}, usage)
    assert rates == {
        "prefill_tokens_per_s": pytest.approx(3000.0),  # 600 / 0.2 s
        "decode_tokens_per_s": pytest.approx(50.0),  # (51 - 1) / 1.0 s
    }
    # not streamed: no time to the first token, no rates
    assert token_rates({"generate_ms": 1200.0}, usage) == {}
    assert token_rates({"first_token_ms": 200.0, "generate_ms": 1200.0}, None) == {}
    # one token only: no decode speed (nothing after the first token)
    one = token_rates({"first_token_ms": 100.0, "generate_ms": 100.0}, Usage(50, 1))
    assert one == {"prefill_tokens_per_s": pytest.approx(500.0)}


def test_with_the_default_threshold_unanswerable_questions_never_reach_the_model(
    kb_path: Path, tmp_path: Path
) -> None:
    """The made-up answers of the test above are never asked for: no chunk covers half of
    these questions, so kotae says "no evidence" without calling the model."""
    unanswerable = [item for item in ITEMS if item.get("unanswerable")]
    eval_set = write(tmp_path / "set.jsonl", eval_lines(unanswerable))
    config = write(
        tmp_path / "fake.toml",
        '[generator]\nbackend = "fake"\nresponses = ["火星支社の上限は月10万円です [1]"]\n'
        "[eval]\nconcurrency = 1\n",
    )
    run = run_eval(kb_path, read_eval_set(eval_set), "set", load_config(kb_path, config))
    results = by_id(kb_path, run.id)
    for item in unanswerable:
        result = results[item["id"]]
        assert result.status == "no_evidence" and result.usage == {}, item["id"]
        assert "below_evidence_threshold" in result.flags
        assert result.metrics["no_answer_rate"] == 1.0
    assert run.metrics["no_answer_rate"].mean == 1.0
