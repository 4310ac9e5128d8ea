"""Block and line boundaries survive loading: bullets, layout lines and slide line breaks
are not glued together; lines that a hard wrap split are joined (issue 9, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kotae.documents import load_document
from kotae.documents.chunking import chunk_document
from kotae.documents.text import join_wrapped_lines
from kotae.text.tokenize import cjk_bigrams

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "docs"


def _chunk_text_with(path: Path, needle: str) -> str:
    return next(c.text for c in chunk_document(load_document(path)) if needle in c.text)


def _glued(text: str, left: str, right: str) -> bool:
    """True when ``left`` runs straight into ``right`` (or a bigram spans the two)."""
    return left + right in text or (left[-1] + right[0]) in cjk_bigrams(text)


def test_sample_slide_bullets_stay_apart() -> None:
    text = _chunk_text_with(SAMPLES / "新入社員研修.pptx", "10日付与")
    assert "10日付与\n経費の申請期限" in text
    assert not _glued(text, "付与", "経費")


def test_sample_pdf_title_and_document_number_stay_apart() -> None:
    doc = load_document(SAMPLES / "製品仕様書_SP-200.pdf")
    text = _chunk_text_with(SAMPLES / "製品仕様書_SP-200.pdf", "文書番号")
    assert "製品仕様書\n文書番号" in text
    assert not _glued(text, "仕様書", "文書番号")
    # a sentence ending a line ends the paragraph: the table cell after it is its own
    assert not any(b.text.endswith("保管してください。点検区分") for b in doc.blocks)
    # pypdf puts each "・" on a line of its own: it becomes a list item, the glyph dropped
    assert not [b for b in doc.blocks if b.text == "・"]
    items = [b.text for b in doc.blocks if b.kind == "list_item"]
    assert "サーボアンプのバックアップ電池: 3 年" in items
    assert len(items) == 11


def test_sample_pdf_keeps_hard_wrapped_prose_joined() -> None:
    doc = load_document(SAMPLES / "製品仕様書_SP-200.pdf")
    # "…サーボプレ" / "スです。" was one word split by the page width
    assert any("定格荷重 200 kN のサーボプレスです。" in b.text for b in doc.blocks)


def test_markdown_lines_that_are_not_wrapped_stay_apart() -> None:
    doc = load_document(SAMPLES / "経費精算規程.md")
    assert any("経理部\n規程番号: FIN-003" in b.text for b in doc.blocks)
    text = "\n".join(b.text for b in doc.blocks)
    assert "精算手続きを定め、適正かつ迅速な処理" in text  # a wrap after 、 is joined


def test_txt_hard_wraps_are_joined() -> None:
    doc = load_document(SAMPLES / "勤怠管理FAQ.txt")
    text = "\n".join(b.text for b in doc.blocks)
    assert "テレワークについてのよくある質問" in text  # a wrap inside a sentence
    assert "所属長へ電話で連絡し、出社後2営業日以内" in text
    assert "?\nA1. 取得日" in text  # question and answer lines stay lines


def test_pptx_soft_line_break_stays_a_boundary(tmp_path: Path) -> None:
    pptx = pytest.importorskip("pptx")
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "勤怠と\v経費"
    paragraph = slide.placeholders[1].text_frame.paragraphs[0]
    paragraph.text = "有給休暇は10日付与"
    paragraph.add_line_break()
    paragraph.add_run().text = "経費の申請期限"
    path = tmp_path / "deck.pptx"
    presentation.save(str(path))
    doc = load_document(path)
    assert doc.blocks[0].text == "勤怠と 経費"
    assert doc.blocks[1].text == "有給休暇は10日付与\n経費の申請期限"
    assert doc.blocks[1].kind == "list_item"


@pytest.mark.parametrize(
    ("lines", "joined"),
    [
        (["申請期限は翌月10日ま", "でとする。"], "申請期限は翌月10日までとする。"),  # wrap
        (
            ["申請期限は翌月10日までとする。", "詳細は別表を見る"],
            "申請期限は翌月10日までとする。\n詳細は別表を見る",
        ),
        (["勤怠と経費", "有給休暇は入社6か月後に付与"], "勤怠と経費\n有給休暇は入社6か月後に付与"),
        (
            ["有給休暇は入社6か月後に付与", "・経費の申請"],
            "有給休暇は入社6か月後に付与\n・経費の申請",
        ),
        (["経費は、", "翌月10日まで"], "経費は、翌月10日まで"),  # 、 always goes on
        (
            ["Leave is granted after six", "months of service"],
            "Leave is granted after six months of service",
        ),
        (["The re-", "quest"], "The request"),
    ],
)
def test_join_wrapped_lines(lines: list[str], joined: str) -> None:
    assert join_wrapped_lines(lines) == joined


def test_a_pdf_layout_line_keeps_its_break() -> None:
    assert join_wrapped_lines(["Title", "Body text here"], full_width=40) == "Title\nBody text here"
    assert join_wrapped_lines(["Title", "Body text here"]) == "Title Body text here"


japanese = st.text(st.sampled_from("経費申請期限有給休暇付与はのを"), min_size=1, max_size=12)


@given(st.lists(japanese, min_size=1, max_size=6))
def test_joining_loses_no_character_and_never_glues_a_short_line(lines: list[str]) -> None:
    """Lines are joined with a newline or nothing, breaks fall only between lines, and a
    line clearly shorter than the longest is never glued to the next one."""
    out = join_wrapped_lines(lines)
    assert out.replace("\n", "") == "".join(lines)
    breaks, offset = set(), 0
    for piece in out.split("\n")[:-1]:
        offset += len(piece)
        breaks.add(offset)
    ends, offset, short = set(), 0, set()
    longest = max(len(line) for line in lines)
    for line in lines[:-1]:
        offset += len(line)
        ends.add(offset)
        if len(line) < 0.7 * longest:
            short.add(offset)
    assert short <= breaks <= ends


def test_evidence_line_keeps_slide_bullets_apart() -> None:
    """The extractive answer shows evidence on one line: bullets get a space, not glue."""
    from kotae.answer import one_line

    text = _chunk_text_with(SAMPLES / "新入社員研修.pptx", "10日付与")
    shown = one_line(text)
    assert "10日付与 経費の申請期限" in shown
    assert "打刻する 有給休暇" in shown
    assert (
        one_line("宿泊費の上限は次の\n表のとおりとする。") == "宿泊費の上限は次の表のとおりとする。"
    )
