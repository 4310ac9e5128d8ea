"""Extractive answers: sentence splitting and evidence selection over a real knowledge base."""

from __future__ import annotations

import pytest

from kotae.extractive import MAX_SENTENCE_CHARS, Evidence, select_evidence, split_sentences
from kotae.ingest import Record, ingest_records
from kotae.kb import Access, KnowledgeBase
from kotae.retrieval import search


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_japanese_sentences_keep_closing_brackets_and_quotes() -> None:
    text = "彼は「ありがとう。また来ます。」と言った。次の日(月曜)、雨が降った。"
    assert sentences(text) == [
        "彼は「ありがとう。また来ます。」と言った。",
        "次の日(月曜)、雨が降った。",
    ]
    assert sentences("本当ですか?はい!そうです。（注記あり。）") == [
        "本当ですか?",
        "はい!",
        "そうです。",
        "（注記あり。）",
    ]
    assert sentences("作品『風と共に去りぬ。』は有名だ。") == ["作品『風と共に去りぬ。』は有名だ。"]


def test_japanese_line_breaks_full_width_marks_and_an_unclosed_quote() -> None:
    assert sentences("第1章\n\n 本文です。 \n次の行") == ["第1章", "本文です。", "次の行"]
    assert sentences("最初の文．次の文？終わり！") == ["最初の文．", "次の文？", "終わり！"]
    # a quote that does not close on its line does not swallow the sentences after it
    assert sentences("「閉じない引用。ここで切る。\n次。") == [
        "「閉じない引用。",
        "ここで切る。",
        "次。",
    ]


def test_an_exclamation_mark_inside_a_latin_name_ends_no_sentence() -> None:
    assert sentences("マイクロソフトがYahoo!を買収した。次の文。") == [
        "マイクロソフトがYahoo!を買収した。",
        "次の文。",
    ]


def test_english_abbreviations_initials_and_decimals() -> None:
    text = (
        "Mr. Smith moved to Washington, D.C. in 1990. He met Dr. Jones, e.g. at work. "
        "The U.S. Army paid $3.5 million. J. R. R. Tolkien wrote it! Did he? Yes."
    )
    assert sentences(text) == [
        "Mr. Smith moved to Washington, D.C. in 1990.",
        "He met Dr. Jones, e.g. at work.",
        "The U.S. Army paid $3.5 million.",
        "J. R. R. Tolkien wrote it!",
        "Did he?",
        "Yes.",
    ]
    assert sentences('He said "Stop." Then he left.') == ['He said "Stop."', "Then he left."]
    assert sentences("Version 2.0 is out. it is lower case.") == [
        "Version 2.0 is out. it is lower case."
    ]


def test_reference_marks_after_a_period_end_the_sentence() -> None:
    text = "The lab burned.[citation needed] His notes survived.[3][4] They were sold. Done."
    assert sentences(text) == [
        "The lab burned.[citation needed]",
        "His notes survived.[3][4]",
        "They were sold.",
        "Done.",
    ]


def test_a_line_break_inside_an_english_sentence_ends_nothing() -> None:
    # hard-wrapped lines and the subscripts of extracted formulas (O\n2) are one sentence
    assert sentences("The design of the\nsystem needs care. Ozone (O\n3), a gas.\nNext line.") == [
        "The design of the\nsystem needs care.",
        "Ozone (O\n3), a gas.",
        "Next line.",
    ]
    # list items, headings and paragraphs still end at the line break, and so does Japanese
    assert sentences("Steps\n1. open it\n2) close it\nsee below\n\nthen more") == [
        "Steps",
        "1. open it",
        "2) close it\nsee below",
        "then more",
    ]
    assert sentences("設定はA\nまたはB\n次の行") == ["設定はA", "またはB", "次の行"]


def test_spans_are_offsets_with_whitespace_trimmed() -> None:
    text = "  最初の文。  Second one.\n\n"
    spans = split_sentences(text)
    assert spans == [(2, 7), (9, 20)]
    assert [text[s:e] for s, e in spans] == ["最初の文。", "Second one."]
    assert split_sentences("   \n ") == []


def test_a_long_sentence_is_cut_at_a_clause_boundary_near_its_middle() -> None:
    clause = "これは長い説明の一部です"  # 12 characters
    text = "、".join([clause] * 40) + "。"  # 520 characters, one sentence
    parts = sentences(text)
    assert len(parts) == 2
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in parts)
    assert "".join(parts) == text
    assert parts[0].endswith("、") and abs(len(parts[0]) - len(parts[1])) <= len(clause) + 1
    english = ", ".join(["a clause of the sentence"] * 20) + ", worth 1,000 dollars."
    cut = sentences(english)
    assert len(cut) == 2 and all(p.endswith((",", ".")) for p in cut)
    assert "1,000" in cut[-1]


EXPENSES = (
    "経費精算の手続きについて説明する。出張の宿泊費は規程で定められている。"
    "宿泊費の上限は、東京と大阪では1泊12,000円、その他の地域では1泊10,000円である。"
    "日当は2,000円を支給する。精算は翌月10日までに行うこと。"
)
TRAVEL = (
    "出張の申請は上長の承認が必要である。宿泊先はできるだけ駅の近くを選ぶ。"
    "宿泊費の領収書は必ず保管すること。"
)
API = (
    "The API is available to every customer. Each key is limited to 600 requests per minute. "
    "Exceeding the rate limit returns HTTP 429. The limit resets every sixty seconds."
)
STATUS = "The status page lists incidents. Customers get an email when the API is down."
HISTORY = "1901年7月、彼は高校を卒業した。この年の秋、大学に入学。専攻は法学だった。"


@pytest.fixture
def filled(kb: KnowledgeBase) -> KnowledgeBase:
    records = [
        Record("expenses", "経費精算規程", EXPENSES),
        Record("travel", "出張規程", TRAVEL),
        Record("api", "API guide", API),
        Record("status", "Status page", STATUS),
        Record("history", "経歴", HISTORY),
    ]
    ingest_records(kb, "corpus.jsonl", records)
    return kb


def evidence_for(kb: KnowledgeBase, question: str, n: int = 3) -> list[Evidence]:
    results = search(kb, question, 5, Access.everything())
    return select_evidence(question, results, kb.tokenizer, n)


def test_the_answer_sentence_wins_over_sentences_sharing_the_topic(filled: KnowledgeBase) -> None:
    question = "出張の宿泊費の上限はいくらですか?"
    results = search(filled, question, 5, Access.everything())
    evidence = select_evidence(question, results, filled.tokenizer, n=3)
    best = evidence[0]
    assert best.text.startswith("宿泊費の上限は、東京と大阪では1泊12,000円、")
    by_rank = {r.rank: r for r in results}
    source = by_rank[best.source_rank]
    assert source.text[best.start : best.end] == best.text
    assert best.chunk_id == source.chunk_id and source.title == "経費精算規程"
    assert len(evidence) == 3
    assert [e.score for e in evidence] == sorted((e.score for e in evidence), reverse=True)


def test_short_neighbours_come_with_the_chosen_sentence(filled: KnowledgeBase) -> None:
    best = evidence_for(filled, "宿泊費の上限")[0]
    # 「日当は2,000円を支給する。」 is short: shown after the chosen sentence
    assert best.text == (
        "宿泊費の上限は、東京と大阪では1泊12,000円、その他の地域では1泊10,000円である。"
        "日当は2,000円を支給する。"
    )
    # a very short chosen sentence is shown with the one before it, which holds the year
    best = evidence_for(filled, "大学に入学したのは何年?")[0]
    assert best.text == "1901年7月、彼は高校を卒業した。この年の秋、大学に入学。専攻は法学だった。"


def test_short_is_measured_in_japanese_characters(kb: KnowledgeBase) -> None:
    # 134 Latin characters are 54 Japanese ones: short, shown with the chosen sentence;
    # 271 are 108: not short.
    moved = (
        "It was moved in 1907 to the old harbour town on the east coast, where the founders had "
        "opened the first workshop of the company there."
    )
    grew = (
        moved[:-1] + " and then grew into the largest employer of the region, with three "
        "factories, a school and its own railway line by the end of that decade."
    )
    assert (len(moved), len(grew)) == (134, 271)
    lindqvist = "The Lindqvist foundry was founded in Uppsala by two brothers."
    berglund = "The Berglund foundry was founded in Uppsala by two brothers."
    ingest_records(
        kb,
        "corpus.jsonl",
        [
            Record("a", "Lindqvist", f"{lindqvist} {moved}"),
            Record("b", "Berglund", f"{berglund} {grew}"),
        ],
    )
    assert evidence_for(kb, "Who founded the Lindqvist foundry?")[0].text == f"{lindqvist} {moved}"
    assert evidence_for(kb, "Who founded the Berglund foundry?")[0].text == berglund


def test_english_question_picks_the_sentence_with_the_number(filled: KnowledgeBase) -> None:
    evidence = evidence_for(filled, "How many requests per minute does a key get?", n=2)
    assert len(evidence) == 2
    assert "600 requests per minute" in evidence[0].text
    assert evidence[0].source_rank == 1
    assert not any("status page" in e.text for e in evidence[:1])


def test_identical_sentences_are_shown_once(kb: KnowledgeBase) -> None:
    shared = "パスワードは90日ごとに変更すること。"
    ingest_records(
        kb,
        "corpus.jsonl",
        [
            Record("a", "規程A", shared + "管理者は記録を残す。"),
            Record("b", "規程B", "この規程は全社員に適用する。" + shared),
        ],
    )
    evidence = evidence_for(kb, "パスワードは何日ごとに変更する?", n=3)
    texts = ["".join(e.text.split()) for e in evidence]
    assert sum(shared in t for t in texts) == 1
    assert len(texts) == len(set(texts))


def test_nothing_to_select(filled: KnowledgeBase) -> None:
    results = search(filled, "宿泊費", 3, Access.everything())
    assert select_evidence("宿泊費", [], filled.tokenizer) == []
    assert select_evidence("宿泊費", results, filled.tokenizer, n=0) == []
    assert select_evidence("の?", results, filled.tokenizer) == []  # no content term
