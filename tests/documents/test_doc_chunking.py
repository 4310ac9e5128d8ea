from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kotae.documents.chunking import chunk_document, estimate_tokens
from kotae.documents.model import Block, BlockKind, Chunk, LoadedDocument

JA_SENTENCES = [
    f"第{i}条の規定により、申請者は所定の書式で総務部に届け出なければならない。" for i in range(40)
]


def _doc(*blocks: Block) -> LoadedDocument:
    return LoadedDocument(title="t", blocks=list(blocks), format="txt")


def _assert_offsets(doc: LoadedDocument, chunks: list[Chunk]) -> None:
    text = doc.text
    for i, c in enumerate(chunks):
        assert c.ordinal == i
        assert 0 <= c.start < c.end <= len(text)
        assert c.text.endswith(text[c.start : c.end])
        assert c.text == text[c.start : c.end] or c.text.count("\n") > 0  # header repeated


def test_estimate_tokens_rule() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("経費精算") == 4  # one per CJK character
    assert estimate_tokens("expense policy 2024") == 4  # 3 words x 1.3 = 3.9
    assert estimate_tokens("a, b.") == 4  # 2 words x 1.3 + 2 marks x 0.5


def test_small_document_is_one_chunk_with_exact_offsets() -> None:
    doc = _doc(Block("最初の段落。"), Block("二つ目の段落。", "list_item", 1))
    chunks = chunk_document(doc)
    assert len(chunks) == 1
    assert chunks[0].text == doc.text == "最初の段落。\n二つ目の段落。"
    assert (chunks[0].start, chunks[0].end) == (0, len(doc.text))


def test_long_paragraph_splits_at_sentence_ends_within_budget() -> None:
    doc = _doc(Block("".join(JA_SENTENCES)))
    chunks = chunk_document(doc, max_tokens=100, overlap_tokens=0)
    assert len(chunks) > 5
    for c in chunks:
        assert estimate_tokens(c.text) <= 100
        assert c.text.endswith("。")  # never cut inside a sentence
        assert c.text == doc.text[c.start : c.end]
    assert "".join(c.text for c in chunks) == doc.text  # no overlap: a partition


def test_english_sentences_and_overlap() -> None:
    text = " ".join(
        f"Sentence number {i} explains the travel expense rule in detail." for i in range(30)
    )
    doc = _doc(Block(text))
    chunks = chunk_document(doc, max_tokens=60, overlap_tokens=20)
    assert len(chunks) > 3
    for prev, nxt in itertools.pairwise(chunks):
        assert re.match(r"Sentence number \d+", nxt.text)  # starts at a sentence
        tail = nxt.text.split(". ")[0]
        assert tail in prev.text  # the overlap repeats the previous chunk's last sentence
        assert nxt.start < prev.end
        assert estimate_tokens(nxt.text) <= 60
    _assert_offsets(doc, chunks)


def test_overlap_stays_inside_a_section() -> None:
    body = "".join(JA_SENTENCES[:10])
    doc = _doc(Block("第1章", "heading", 1), Block(body), Block("第2章", "heading", 1), Block(body))
    chunks = chunk_document(doc, max_tokens=120, overlap_tokens=40)
    second = [c for c in chunks if c.heading_path == ("第2章",)]
    assert second[0].start == doc.text.index(body, doc.text.index("第2章"))  # no carry-over


def test_heading_paths_follow_the_heading_stack() -> None:
    doc = _doc(
        Block("前書き。"),
        Block("規程", "heading", 1),
        Block("総則", "heading", 2),
        Block("総則の本文。"),
        Block("細則", "heading", 3),
        Block("細則の本文。"),
        Block("附則", "heading", 2),
        Block("附則の本文。"),
    )
    chunks = chunk_document(doc)
    assert [(c.heading_path, c.text) for c in chunks] == [
        ((), "前書き。"),
        (("規程", "総則"), "総則の本文。"),
        (("規程", "総則", "細則"), "細則の本文。"),
        (("規程", "附則"), "附則の本文。"),
    ]
    _assert_offsets(doc, chunks)


def test_heading_without_body_is_kept_as_text() -> None:
    doc = _doc(Block("スライド1", "heading", 1), Block("スライド2", "heading", 1), Block("本文。"))
    chunks = chunk_document(doc)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("スライド1",), "スライド1"),
        (("スライド2",), "本文。"),
    ]


def test_table_kept_whole_when_it_fits() -> None:
    table = "区分 | 上限\n" + "\n".join(f"項目{i} | {i}円" for i in range(10))
    doc = _doc(Block("前文。"), Block(table, "table"), Block("後文。"))
    chunks = chunk_document(doc, max_tokens=200)
    assert len(chunks) == 1 and table in chunks[0].text


def test_large_table_split_by_rows_with_header_repeated() -> None:
    header = "氏名 | 部署 | 内線"
    rows = [f"社員{i:03d} | 総務部 | {1000 + i}" for i in range(60)]
    doc = _doc(Block("一覧", "heading", 1), Block("\n".join([header, *rows]), "table"))
    chunks = chunk_document(doc, max_tokens=80, overlap_tokens=30)
    assert len(chunks) > 2
    seen: list[str] = []
    for i, c in enumerate(chunks):
        lines = c.text.split("\n")
        assert lines[0] == header
        assert estimate_tokens(c.text) <= 80
        seen.extend(lines[1:])
        if i == 0:
            assert c.text == doc.text[c.start : c.end]
        else:  # documented: header + "\n" + doc.text[start:end]
            assert c.text == header + "\n" + doc.text[c.start : c.end]
        assert c.heading_path == ("一覧",)
    assert seen == rows  # every row exactly once, in order, no overlap inside tables


def test_page_boundary_starts_a_new_chunk_when_half_full() -> None:
    long_page = "".join(JA_SENTENCES[:4])  # about 140 tokens
    doc = _doc(Block(long_page, page=1), Block("次のページ。", page=2), Block("同じく。", page=2))
    chunks = chunk_document(doc, max_tokens=200)
    assert [(c.page, c.text) for c in chunks] == [(1, long_page), (2, "次のページ。\n同じく。")]


def test_short_page_is_merged_with_the_next_and_keeps_its_page() -> None:
    doc = _doc(Block("短い。", page=1), Block("次のページ。", page=2))
    chunks = chunk_document(doc, max_tokens=200)
    assert [(c.page, c.text) for c in chunks] == [(1, "短い。\n次のページ。")]


def test_slides_and_sheets_are_reported() -> None:
    doc = _doc(Block("表紙", "heading", 1, slide=1), Block("内容。", slide=1))
    assert chunk_document(doc)[0].slide == 1
    doc = _doc(
        Block("Sheet1", "heading", 1, sheet="Sheet1"),
        Block("a | b\n1 | 2", "table", sheet="Sheet1"),
    )
    assert chunk_document(doc)[0].sheet == "Sheet1"


def test_sentence_longer_than_budget_is_cut() -> None:
    no_punctuation = "あ" * 500
    doc = _doc(Block(no_punctuation))
    chunks = chunk_document(doc, max_tokens=100, overlap_tokens=0)
    assert "".join(c.text for c in chunks) == no_punctuation
    assert all(estimate_tokens(c.text) <= 100 for c in chunks)


_block_kinds: list[BlockKind] = ["paragraph", "list_item", "heading", "table", "code"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_block_kinds),
            st.lists(
                st.sampled_from(["経費。", "Rule one. ", "a | b", "申請は、", "x\n", "長い文章"]),
                min_size=1,
                max_size=40,
            ),
            st.integers(min_value=1, max_value=3),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=16, max_value=120),
    st.integers(min_value=0, max_value=40),
)
def test_chunks_cover_the_text_within_budget(
    specs: list[tuple[BlockKind, list[str], int]], max_tokens: int, overlap: int
) -> None:
    blocks = [
        Block("".join(parts).strip(), kind, level, page=level) for kind, parts, level in specs
    ]
    blocks = [b for b in blocks if b.text]
    if not blocks:
        return
    doc = _doc(*blocks)
    chunks = chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap)
    _assert_offsets(doc, chunks)
    for c in chunks:
        assert estimate_tokens(c.text) <= max_tokens + 2  # sums of parts round up separately
    # every non-heading block's text is inside some chunk span
    offset = 0
    for b in blocks:
        if b.kind != "heading":
            assert any(c.start <= offset and offset + len(b.text) <= c.end for c in chunks) or any(
                c.start < offset + len(b.text) and c.end > offset for c in chunks
            )
        offset += len(b.text) + 1
