"""The answer pipeline on a real knowledge base, with the scripted FakeGenerator.

Prompt building, context packing, citation parsing and checking, extractive answers,
follow-up rewriting, no-evidence handling and the query log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kotae.answer import (
    AskOptions,
    Turn,
    answer_question,
    build_messages,
    check_citations,
    detect_language,
    is_no_answer,
    pack_sources,
    parse_citations,
    rewrite_followup,
)
from kotae.documents.chunking import estimate_tokens
from kotae.errors import (
    ConfigError,
    ContextOverflowError,
    EmptyKnowledgeBaseError,
    KotaeError,
    QueryError,
    QuestionTooLongError,
    localized,
)
from kotae.kb import Access, KnowledgeBase
from kotae.querylog import get_entry, list_entries
from kotae.retrieval import SearchResult
from kotae.testing import FakeGenerator
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

BOARD = """# 取締役会議事録

SP-200の価格改定は来年4月に実施する。改定幅は平均8%とする。
"""


@pytest.fixture
def filled(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    docs = tmp_path / "docs"
    kb.ingest([write(docs / "経費精算規程.md", EXPENSES), write(docs / "leave.md", LEAVE)])
    kb.ingest([write(tmp_path / "board" / "議事録.md", BOARD)], groups=["executives"])
    return kb


def result(n: int, text: str, title: str = "doc") -> SearchResult:
    return SearchResult(
        rank=n,
        score=1.0 / n,
        document_id=n,
        chunk_id=100 + n,
        title=title,
        source=f"/docs/{title}.md",
        text=text,
        snippet=text[:40],
    )


def test_detect_language() -> None:
    assert detect_language("経費の申請期限は？") == "ja"
    assert detect_language("カタカナだけ") == "ja"
    assert detect_language("What is the deadline?") == "en"
    assert detect_language("API の rate limit") == "ja"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("期限は翌月10日です[1]。承認が必要です[2][3]。", [1, 2, 3]),
        ("See [2, 1] and again [2].", [2, 1]),
        ("全角の引用［3］と【4】も読む。", [3, 4]),
        ("no citation here, only a list [a] and 2024", []),
        ("[1、2]", [1, 2]),
    ],
)
def test_parse_citations(text: str, expected: list[int]) -> None:
    assert parse_citations(text) == expected


def test_check_citations_keeps_only_numbers_of_sources_in_the_prompt() -> None:
    sources = [result(1, "a"), result(2, "b")]
    valid, invalid = check_citations([2, 5, 0, 1], sources)
    assert [(c.number, c.chunk_id) for c in valid] == [(2, 102), (1, 101)]
    assert invalid == [5, 0]


def test_pack_sources_keeps_the_best_first_and_cuts_the_one_that_overflows() -> None:
    sources = [result(1, "経費" * 100, "one"), result(2, "宿泊" * 100, "two"), result(3, "x")]
    count = estimate_tokens
    whole_first = count("[1] one\n" + "経費" * 100) + 1
    packed = pack_sources(sources, whole_first + 60, count, "ja")
    assert len(packed) == 2
    assert packed[0].startswith("[1] one\n") and packed[0].endswith("経費" * 100)
    assert packed[1].startswith("[2] two\n") and packed[1].endswith("…")
    assert sum(count(p) + 1 for p in packed) <= whole_first + 60
    assert pack_sources(sources, 10, count, "ja") == []


def test_build_messages_fits_the_window_and_numbers_the_sources() -> None:
    sources = [result(i, f"本文{i} " + "資料" * 200, f"doc{i}") for i in range(1, 6)]
    messages, used = build_messages(
        "申請期限は？", sources, "ja", window=1200, max_tokens=200, count=estimate_tokens
    )
    assert [m.role for m in messages] == ["system", "user"]
    total = sum(estimate_tokens(m.content) for m in messages)
    assert total + 200 <= 1200
    assert 1 <= used < 5
    user = messages[1].content
    assert "[1] doc1" in user and "# 質問\n申請期限は？" in user
    assert f"[{used + 1}] doc" not in user
    english, _ = build_messages("When?", sources[:1], "en", window=4096)
    assert "Sources" in english[1].content and "[1]" in english[0].content


def test_build_messages_raises_when_not_even_the_question_fits() -> None:
    with pytest.raises(QuestionTooLongError) as info:
        build_messages("質問" * 300, [result(1, "x")], "ja", window=512, max_tokens=256)
    assert "512" in str(info.value)
    assert "コンテキスト長" in localized(info.value, "ja")
    assert isinstance(info.value, QueryError) and info.value.exit_code == 2


@pytest.mark.parametrize("streamed", [False, True])
def test_a_backend_context_overflow_is_the_question_being_too_long(
    filled: KnowledgeBase, streamed: bool
) -> None:
    """The sources were packed to fit the window: what the backend refuses is the question."""

    class Overflowing(FakeGenerator):
        def generate(self, messages: object, params: object = None) -> object:
            raise ContextOverflowError("the prompt does not fit", message_ja="収まりません")

        def stream(self, messages: object, params: object = None) -> object:
            yield from ()
            raise ContextOverflowError("the prompt does not fit", message_ja="収まりません")

    options = AskOptions(on_token=(lambda _token: None) if streamed else None)
    with pytest.raises(QuestionTooLongError) as info:
        answer_question(filled, "経費の申請期限は？", Access.public(), Overflowing(), options)
    assert info.value.exit_code == 2 and isinstance(info.value.__cause__, ContextOverflowError)
    assert "the prompt does not fit" in str(info.value) and "Shorten the question" in str(
        info.value
    )
    assert "質問を短く" in localized(info.value, "ja") and "収まりません" in localized(
        info.value, "ja"
    )
    entry = list_entries(filled.catalog, limit=1)[0]
    assert entry.status == "error" and entry.error.startswith("QuestionTooLongError: ")


def test_generated_answer_with_checked_citations_and_log(filled: KnowledgeBase) -> None:
    generator = FakeGenerator(["申請期限は翌月10日までです[1]。詳しくは規程を参照[7]。"])
    answer = answer_question(filled, "経費の申請期限はいつ？", Access.public(), generator)
    assert answer.mode == "generate" and answer.status == "ok" and answer.language == "ja"
    assert answer.text.startswith("申請期限は翌月10日")
    assert [c.number for c in answer.citations] == [1]
    assert answer.citations[0].title == "経費精算規程"
    assert answer.invalid_citations == [7]
    assert answer.notice is not None and "[7]" in answer.notice
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert {"retrieve_ms", "prompt_ms", "generate_ms", "total_ms", "kotae_ms"} <= set(
        answer.timings
    )
    prompt = generator.calls[0][1].content
    assert "[1] 経費精算規程" in prompt and "翌月10日" in prompt
    assert "取締役会" not in prompt  # the ACL applies inside retrieval
    entry = get_entry(filled.catalog, answer.log_id or -1)
    assert entry is not None and entry.kind == "ask" and entry.status == "ok"
    assert entry.answer == answer.text and entry.generator == "fake:fake"
    assert entry.prompt is not None and entry.prompt[1]["content"] == prompt
    assert entry.usage == answer.usage.to_dict()
    assert entry.citations[0]["number"] == 1
    assert [r["chunk_id"] for r in entry.retrieved] == [s.chunk_id for s in answer.sources]
    assert entry.error == "invalid citations: [7]"


def test_streaming_gives_the_same_text_and_a_first_token_time(filled: KnowledgeBase) -> None:
    pieces: list[str] = []
    answer = answer_question(
        filled,
        "How many days of paid leave?",
        Access.public(),
        FakeGenerator(["Employees get 20 days [1]."]),
        AskOptions(on_token=pieces.append),
    )
    assert "".join(pieces) == "Employees get 20 days [1]." == answer.text
    assert len(pieces) > 1 and "first_token_ms" in answer.timings
    assert answer.language == "en" and answer.citations[0].title == "Leave policy"


def test_model_saying_the_sources_do_not_answer_is_no_evidence(filled: KnowledgeBase) -> None:
    answer = answer_question(
        filled,
        "経費の申請期限は？",
        Access.public(),
        FakeGenerator(["資料からは回答できません。"]),
    )
    assert answer.status == "no_evidence" and answer.citations == []
    entry = get_entry(filled.catalog, answer.log_id or -1)
    assert entry is not None and entry.status == "no_evidence"
    assert is_no_answer("The sources do not answer this question.", "ja")
    assert not is_no_answer("期限は翌月10日です[1]", "ja")


def test_acl_that_hides_everything_gives_no_evidence_in_the_question_language(
    filled: KnowledgeBase,
) -> None:
    generator = FakeGenerator(["should not be called"])
    answer = answer_question(filled, "SP-200の価格改定はいつ？", Access.public(), generator)
    assert answer.status == "no_evidence" and generator.calls == []
    assert "閲覧できる資料" in answer.text
    sato = answer_question(
        filled,
        "SP-200の価格改定はいつ？",
        Access(frozenset({"executives"}), "sato"),
        FakeGenerator(),
    )
    assert sato.status == "ok" and sato.citations[0].title == "取締役会議事録"
    logged = list_entries(filled.catalog, kind="ask")
    assert [(e.status, e.user) for e in logged] == [("ok", "sato"), ("no_evidence", None)]


def test_extractive_answer_without_generator(filled: KnowledgeBase) -> None:
    answer = answer_question(filled, "出張の宿泊費の上限はいくら？", Access.public())
    assert answer.mode == "extractive" and answer.status == "ok"
    assert "12,000円" in answer.text.splitlines()[0]
    assert answer.text.splitlines()[0].endswith("[1]")
    assert answer.citations[0].title == "経費精算規程"
    assert "12,000円" in answer.citations[0].snippet
    assert answer.notice is not None and "KOTAE_GENERATOR__BACKEND" in answer.notice
    assert answer.usage is None and "generate_ms" not in answer.timings


def test_empty_kb_and_empty_question_are_errors_logged_as_errors(kb: KnowledgeBase) -> None:
    with pytest.raises(EmptyKnowledgeBaseError) as info:
        answer_question(kb, "経費の申請期限は？", Access.public(), FakeGenerator())
    assert "kotae ingest" in localized(info.value, "ja") and "資料がありません" in localized(
        info.value, "ja"
    )
    with pytest.raises(QueryError):
        answer_question(kb, "   ", Access.public())
    statuses = [(e.status, e.error is not None) for e in list_entries(kb.catalog)]
    assert statuses == [("error", True), ("error", True)]


def test_backend_errors_are_logged_and_raised(filled: KnowledgeBase) -> None:
    class Broken(FakeGenerator):
        def generate(self, messages: object, params: object = None) -> object:
            raise KotaeError("server down", message_ja="サーバー停止")

    with pytest.raises(KotaeError, match="server down"):
        answer_question(filled, "経費の申請期限は？", Access.public(), Broken())
    entry = list_entries(filled.catalog, limit=1)[0]
    assert entry.status == "error" and entry.error == "KotaeError: server down"
    assert entry.retrieved  # what was retrieved before the failure is kept


def test_generate_mode_without_generator_is_a_config_error(filled: KnowledgeBase) -> None:
    with pytest.raises(ConfigError):
        answer_question(filled, "期限は？", Access.public(), None, AskOptions(mode="generate"))


def test_logging_can_be_turned_off(filled: KnowledgeBase) -> None:
    filled.settings.query_log = False
    answer = answer_question(filled, "経費の申請期限は？", Access.public())
    filled.search("経費")
    assert answer.log_id is None
    assert list_entries(filled.catalog) == []


def test_search_is_logged(filled: KnowledgeBase) -> None:
    filled.search("宿泊費", k=2, access=Access(frozenset({"executives"}), "sato"))
    entry = list_entries(filled.catalog, kind="search")[0]
    assert entry.user == "sato" and entry.status == "ok" and entry.mode == "search"
    assert entry.retrieved[0]["rank"] == 1 and "total_ms" in entry.timings
    with pytest.raises(QueryError):
        filled.search("  ")
    assert list_entries(filled.catalog, kind="search")[0].status == "error"


def test_followup_rewrite_without_and_with_a_generator() -> None:
    history = [Turn("経費の申請期限は？", "経費の申請期限は？", "翌月10日です[1]")]
    assert (
        rewrite_followup("それを過ぎたら？", history, "ja") == "経費の申請期限は？ それを過ぎたら？"
    )
    standalone = "出張の宿泊費の上限を教えてください"
    assert rewrite_followup(standalone, history, "ja") == standalone
    assert rewrite_followup("and after that?", [Turn("Leave?", "paid leave days", "20")], "en") == (
        "paid leave days and after that?"
    )
    generator = FakeGenerator(["経費の申請期限を過ぎた場合の扱いは？\n(余計な行)"])
    rewritten = rewrite_followup("それを過ぎたら？", history, "ja", generator)
    assert rewritten == "経費の申請期限を過ぎた場合の扱いは？"
    assert "翌月10日です" in generator.calls[0][1].content
    assert rewrite_followup("最初の質問", [], "ja", generator) == "最初の質問"


def test_chat_followup_retrieves_with_the_rewritten_query(filled: KnowledgeBase) -> None:
    first = answer_question(
        filled, "宿泊費の上限は？", Access.public(), None, AskOptions(kind="chat")
    )
    follow = answer_question(
        filled,
        "超えたら？",
        Access.public(),
        None,
        AskOptions(kind="chat", history=[Turn(first.question, first.query, first.text)]),
    )
    assert follow.query == "宿泊費の上限は？ 超えたら？"
    assert "自己負担" in follow.text
    kinds = [e.kind for e in list_entries(filled.catalog)]
    assert kinds == ["chat", "chat"]


def test_strip_citations() -> None:
    from kotae.answer import strip_citations

    assert (
        strip_citations("期限は翌月10日です[1]。承認が必要です [2][3]")
        == "期限は翌月10日です。承認が必要です"
    )
    assert strip_citations("600 requests per minute [1, 2].") == "600 requests per minute."


def test_evidence_is_shown_on_one_line() -> None:
    from kotae.answer import one_line

    assert (
        one_line("宿泊費の上限は次の\n表のとおりとする。") == "宿泊費の上限は次の表のとおりとする。"
    )
    assert (
        one_line("returns 429 with a\n  Retry-After header.")
        == "returns 429 with a Retry-After header."
    )
    assert one_line("区分 | 日当\n一般社員 | 2,000円\n") == "区分 | 日当 / 一般社員 | 2,000円"
    assert one_line("日帰りは半額。\nHello") == "日帰りは半額。 Hello"


def test_an_answer_without_citations_gets_a_notice(filled: KnowledgeBase) -> None:
    """Words that are in no source: nothing to attribute, so the reader is warned."""
    answer = answer_question(
        filled, "経費の申請期限は？", Access.public(), FakeGenerator(["おおむね月末ごろでしょう。"])
    )
    assert answer.status == "ok" and answer.citations == [] and answer.invalid_citations == []
    assert answer.notice == "注意: この回答には出典が示されていません。資料で確認してください。"


def test_an_uncited_answer_is_not_given_a_citation_by_word_overlap(
    filled: KnowledgeBase,
) -> None:
    """Its words are in the expense rules, but kotae does not cite for the model: on real
    replies that made citations less precise. The reader is told the answer cites nothing."""
    answer = answer_question(
        filled, "経費の申請期限は？", Access.public(), FakeGenerator(["翌月10日までです。"])
    )
    assert answer.status == "ok" and answer.text == "翌月10日までです。"
    assert answer.citations == [] and answer.notice is not None
