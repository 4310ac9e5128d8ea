from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kotae.documents import load_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "docs"
BENCH_STRICT = Path("/work/shared/bench/docs/docx/Strict.docx")


def _docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = "経費精算規程"
    d.add_heading("第1章 総則", level=1)
    d.add_paragraph("この規程は経費精算の手続を定める。This rule applies to everyone.")
    d.add_paragraph("交通費", style="List Bullet")
    d.add_paragraph("定期券の区間", style="List Bullet 2")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate([["区分", "上限"], ["宿泊", "10,000円"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_heading("1.1 申請", level=2)
    d.add_paragraph("申請は翌月5日までに行う。")
    d.save(str(path))
    return path


def test_docx_headings_lists_tables_in_order(tmp_path: Path) -> None:
    doc = load_document(_docx(tmp_path / "rule.docx"))
    assert doc.title == "経費精算規程"
    assert doc.format == "docx"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "第1章 総則"),
        ("paragraph", 0, "この規程は経費精算の手続を定める。This rule applies to everyone."),
        ("list_item", 1, "交通費"),
        ("list_item", 2, "定期券の区間"),
        ("table", 0, "区分 | 上限\n宿泊 | 10,000円"),
        ("heading", 2, "1.1 申請"),
        ("paragraph", 0, "申請は翌月5日までに行う。"),
    ]


@pytest.mark.skipif(not BENCH_STRICT.exists(), reason="shared bench documents not present")
def test_strict_ooxml_docx() -> None:
    assert load_document(BENCH_STRICT).text == "Some text"


def test_pptx_slides_titles_bullets_tables_notes(tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])  # title and content
    slide.shapes.title.text = "四半期報告"
    body = slide.placeholders[1].text_frame
    body.text = "売上は前年比10%増"
    sub = body.add_paragraph()
    sub.text = "East region grew fastest"
    sub.level = 1
    slide.notes_slide.notes_text_frame.text = "発表者メモ: 数字は速報値"
    slide2 = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    slide2.shapes.title.text = "地域別"
    shape = slide2.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1))
    for r, row in enumerate([["地域", "売上"], ["関東", "120"]]):
        for c, value in enumerate(row):
            shape.table.cell(r, c).text = value
    path = tmp_path / "report.pptx"
    prs.save(str(path))
    doc = load_document(path)
    assert [(b.kind, b.level, b.slide, b.text) for b in doc.blocks] == [
        ("heading", 1, 1, "四半期報告"),
        ("list_item", 1, 1, "売上は前年比10%増"),
        ("list_item", 2, 1, "East region grew fastest"),
        ("paragraph", 0, 1, "発表者メモ: 数字は速報値"),
        ("heading", 1, 2, "地域別"),
        ("table", 0, 2, "地域 | 売上\n関東 | 120"),
    ]
    assert doc.title == "四半期報告"


def test_xlsx_sheets_become_headings_and_split_tables(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "社員"
    ws.append(["氏名", "入社日", "給与"])
    for i in range(50):
        ws.append([f"社員{i}", dt.date(2020, 4, 1), 300000.0 + i])
    other = wb.create_sheet("Summary")
    other.append(["Monthly totals"])
    other.append(["Month", "Total"])
    other.append(["April", 12])
    path = tmp_path / "staff.xlsx"
    wb.save(path)
    doc = load_document(path)
    staff = [b for b in doc.blocks if b.sheet == "社員"]
    assert staff[0].kind == "heading" and staff[0].text == "社員"
    tables = [b for b in staff if b.kind == "table"]
    assert len(tables) == 2
    assert all(t.text.startswith("氏名 | 入社日 | 給与\n") for t in tables)
    assert "社員0 | 2020-04-01 | 300000" in tables[0].text
    summary = [(b.kind, b.text) for b in doc.blocks if b.sheet == "Summary"]
    assert summary == [
        ("heading", "Summary"),
        ("paragraph", "Monthly totals"),
        ("table", "Month | Total\nApril | 12"),
    ]


def test_xls_legacy_workbook() -> None:
    doc = load_document(FIXTURES / "legacy_sample.xls")
    assert doc.format == "xls"
    assert doc.blocks[0].kind == "heading" and doc.blocks[0].sheet == "Duck Observations"
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.text.splitlines()[:2] == ["Year | Freshwater Ducks", "2019 | 120"]


def test_odt_headings_lists_tables(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P

    odt = OpenDocumentText()
    odt.text.addElement(H(outlinelevel=1, text="社内手続"))
    odt.text.addElement(P(text="各種申請の方法を説明します。"))
    top = List()
    item = ListItem()
    item.addElement(P(text="休暇申請"))
    nested = List()
    nested_item = ListItem()
    nested_item.addElement(P(text="有給休暇"))
    nested.addElement(nested_item)
    item.addElement(nested)
    top.addElement(item)
    odt.text.addElement(top)
    table = Table(name="T1")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for row_values in (["種類", "日数"], ["夏季", "3"]):
        row = TableRow()
        for value in row_values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    odt.text.addElement(table)
    odt.text.addElement(H(outlinelevel=2, text="Appendix"))
    path = tmp_path / "procedures.odt"
    odt.save(str(path))
    doc = load_document(path)
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "社内手続"),
        ("paragraph", 0, "各種申請の方法を説明します。"),
        ("list_item", 1, "休暇申請"),
        ("list_item", 2, "有給休暇"),
        ("table", 0, "種類 | 日数\n夏季 | 3"),
        ("heading", 2, "Appendix"),
    ]
    assert doc.title == "社内手続"
