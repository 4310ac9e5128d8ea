"""``[answer] evidence_threshold``: extractive answers say "no evidence" when the best
retrieved chunk covers too little of the question.

:func:`kotae.extractive.evidence_support` weighs each question word by its IDF over the
whole index: a question about something the knowledge base does not hold still retrieves
a chunk through a common word (上限), but its rare words (火星, ペンギン) are in no chunk, so
the support is low. A real knowledge base, no generator (``kotae ask`` without one).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kotae.answer import answer_question
from kotae.extractive import evidence_support
from kotae.kb import Access, KnowledgeBase
from kotae.retrieval import SearchResult, search
from tests.conftest import write

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

ANSWERABLE = "経費の申請期限は？"
# shares 上限 (and 費) with the expenses rules, so lexical retrieval finds them; 火星, 支社,
# ペンギン and 飼育 are in no document
ABSENT = "火星支社のペンギン飼育費の上限は？"
ABSENT_EN = "How many days of parental leave do interns get in Tokyo?"


@pytest.fixture
def filled(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    docs = tmp_path / "docs"
    kb.ingest([write(docs / "経費精算規程.md", EXPENSES), write(docs / "leave.md", LEAVE)])
    return kb


def support(kb: KnowledgeBase, question: str, results: list[SearchResult]) -> float:
    lexical = kb.lexical
    return evidence_support(
        question,
        results,
        kb.tokenizer,
        lambda words: lexical.document_frequencies("words", words),
        lexical.num_chunks(),
    )


def test_the_default_threshold_is_one_half(filled: KnowledgeBase) -> None:
    assert filled.settings.answer.evidence_threshold == 0.5


def test_an_answerable_question_gets_its_evidence(filled: KnowledgeBase) -> None:
    answer = answer_question(filled, ANSWERABLE, Access.public(), None)
    assert answer.mode == "extractive" and answer.status == "ok"
    first = answer.text.splitlines()[0]
    assert "翌月10日" in first and first.endswith("[1]")
    assert answer.citations[0].number == 1 and answer.citations[0].title == "経費精算規程"


def test_a_question_about_what_no_document_holds_says_no_evidence(
    filled: KnowledgeBase,
) -> None:
    retrieved = search(filled, ABSENT, 5, Access.public())
    assert retrieved, "the question must still retrieve something through 上限"
    answer = answer_question(filled, ABSENT, Access.public(), None)
    assert answer.status == "no_evidence"
    assert answer.citations == []
    assert answer.text.startswith("閲覧できる資料の中に、この質問に答える情報が見つかりません")
    assert answer.sources  # the chunks were retrieved, and judged not to answer


def test_an_english_question_about_what_no_document_holds_says_no_evidence(
    filled: KnowledgeBase,
) -> None:
    assert search(filled, ABSENT_EN, 5, Access.public())
    answer = answer_question(filled, ABSENT_EN, Access.public(), None)
    assert answer.status == "no_evidence" and answer.language == "en"
    assert answer.text.startswith("No document you can access answers this question.")
    paid = answer_question(
        filled, "How many days of paid leave do employees get per year?", Access.public(), None
    )
    assert paid.status == "ok" and "20 days" in paid.text


def test_threshold_zero_always_shows_the_evidence(filled: KnowledgeBase) -> None:
    filled.settings.answer.evidence_threshold = 0.0
    answer = answer_question(filled, ABSENT, Access.public(), None)
    assert answer.status == "ok"
    assert "上限" in answer.text and answer.citations
    assert answer_question(filled, ANSWERABLE, Access.public(), None).status == "ok"


def test_threshold_from_kotae_toml(filled: KnowledgeBase) -> None:
    config = filled.path / "kotae.toml"
    text = config.read_text("utf-8")
    assert "[answer]\n" in text
    config.write_text(text.replace("[answer]\n", "[answer]\nevidence_threshold = 0.0\n"), "utf-8")
    with KnowledgeBase(filled.path) as reopened:
        assert reopened.settings.answer.evidence_threshold == 0.0
        assert answer_question(reopened, ABSENT, Access.public(), None).status == "ok"


def test_the_threshold_is_compared_with_the_support(filled: KnowledgeBase) -> None:
    retrieved = search(filled, ABSENT, filled.settings.answer.sources, Access.public())
    value = support(filled, ABSENT, retrieved)
    assert 0.0 < value < 0.5  # 上限 and 費 are there, the rarer words are not
    filled.settings.answer.evidence_threshold = value + 0.01
    assert answer_question(filled, ABSENT, Access.public(), None).status == "no_evidence"
    filled.settings.answer.evidence_threshold = value - 0.01
    assert answer_question(filled, ABSENT, Access.public(), None).status == "ok"


def test_evidence_support_values(filled: KnowledgeBase) -> None:
    public = Access.public()
    # every word of the question (経費, 申請, 期限) is in the first chunk
    assert support(filled, ANSWERABLE, search(filled, ANSWERABLE, 5, public)) == 1.0
    partial = support(filled, ABSENT, search(filled, ABSENT, 5, public))
    assert 0.0 < partial < 1.0
    english = support(filled, ABSENT_EN, search(filled, ABSENT_EN, 5, public))
    assert 0.0 < english < 0.5
    # nothing retrieved, or an index without chunks: no support
    assert support(filled, ANSWERABLE, []) == 0.0
    results = search(filled, ANSWERABLE, 5, public)
    assert evidence_support(ANSWERABLE, results, filled.tokenizer, lambda _: {}, 0) == 0.0


def test_evidence_support_weighs_rare_words_more(filled: KnowledgeBase) -> None:
    """A chunk holding only the question's rare word covers more of it than a chunk holding
    only its common word: the weights are the words' IDF over the index."""
    chunk = search(filled, ANSWERABLE, 1, Access.public())[0]
    rare_only = replace(chunk, text="宿泊", title="", heading_path=())
    common_only = replace(chunk, text="申請", title="", heading_path=())

    def df(words: set[str]) -> dict[str, int]:
        return {w: {"宿泊": 1, "申請": 90}.get(w, 0) for w in words}

    question = "宿泊の申請は？"
    assert set(filled.tokenizer.analyze(question).words) == {"宿泊", "申請"}
    rare = evidence_support(question, [rare_only], filled.tokenizer, df, 100)
    common = evidence_support(question, [common_only], filled.tokenizer, df, 100)
    both = evidence_support(question, [rare_only, common_only], filled.tokenizer, df, 100)
    assert 0.5 < rare < 1.0 and 0.0 < common < 0.5
    assert rare + common == pytest.approx(1.0)
    assert both == rare  # the best single chunk, not the chunks together


@pytest.mark.parametrize(
    "question",
    [
        "What is the company policy on study trips?",
        "Which company policy needs approval?",
        "How many apply for study trips?",
    ],
)
def test_english_words_whose_stem_changes_spelling_are_found(
    kb: KnowledgeBase, tmp_path: Path, question: str
) -> None:
    """Snowball stems such as "compani", "polici", "studi" are not prefixes of the words in
    the text: the chunk is analyzed like the question, so every word of these questions is
    found (a string search for the stem found none of them: support 0.22 to 0.43)."""
    text = (
        "The company policy on study trips: every study trip needs approval. Many employees apply."
    )
    kb.ingest([write(tmp_path / "docs" / "trips.md", f"# Study trips\n\n{text}\n")])
    results = search(kb, question, 3, Access.public())
    assert support(kb, question, results) == pytest.approx(1.0)
    answer = answer_question(kb, question, Access.public(), None)
    assert answer.status == "ok"
