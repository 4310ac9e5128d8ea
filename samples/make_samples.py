"""Regenerate the binary sample documents in samples/docs/ (docx, pdf, pptx, xlsx).

Run from the repository root with the project's virtualenv:

    .venv/bin/python samples/make_samples.py

The output is deterministic: document dates are fixed and every zip entry carries the same
timestamp, so running the script twice gives byte-identical files. Needs python-docx,
python-pptx, openpyxl and reportlab (``pip install 'reportlab>=4,<5'``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

from sample_data import CONTRACT_HEADER, CONTRACTS, ONBOARDING_SLIDES, SERVER_HEADER, SERVERS
from sample_texts import (
    QUALITY_MANUAL,
    QUALITY_MANUAL_TITLE,
    SP200_SPEC,
    SP200_TITLE,
    VPN_MANUAL,
    VPN_MANUAL_TITLE,
    Block,
    Bullets,
    Heading,
    PageBreak,
    Paragraph,
    Table,
)

DOCS_DIR = Path(__file__).resolve().parent / "docs"
FIXED_DATETIME = dt.datetime(2026, 4, 1, 9, 0, 0)
FIXED_ZIP_TIME = (2026, 4, 1, 9, 0, 0)
COMPANY_JA = "株式会社サクラ精機"


def make_zip_deterministic(path: Path) -> None:
    """Rewrite an OOXML zip with one fixed timestamp per entry, keeping the entry order.

    openpyxl stamps ``dcterms:modified`` with the time of saving; it is pinned here too.
    """
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    fixed_modified = FIXED_DATETIME.isoformat() + "Z"
    entries = [
        (
            name,
            re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + fixed_modified.encode(), data),
        )
        if name == "docProps/core.xml"
        else (name, data)
        for name, data in entries
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def write_docx(path: Path, title: str, blocks: tuple[Block, ...], author: str) -> None:
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "Yu Gothic")
    document.add_heading(title, level=0)
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            document.add_paragraph(block.text)
        elif isinstance(block, Bullets):
            style = "List Number" if block.numbered else "List Bullet"
            for item in block.items:
                document.add_paragraph(item, style=style)
        elif isinstance(block, Table):
            table = document.add_table(rows=0, cols=len(block.rows[0]), style="Table Grid")
            for row_index, row in enumerate(block.rows):
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
                    if row_index == 0:
                        cell.paragraphs[0].runs[0].bold = True
            for column, width in zip(table.columns, block.widths_mm, strict=False):
                for cell in column.cells:
                    cell.width = Mm(width)
        elif isinstance(block, PageBreak):
            document.add_page_break()  # type: ignore[no-untyped-call]
    properties = document.core_properties
    properties.title, properties.author, properties.last_modified_by = title, author, author
    properties.created = properties.modified = FIXED_DATETIME
    properties.revision = 1
    properties.comments = "kotae sample document (fictional company)"
    document.save(str(path))
    make_zip_deterministic(path)


def write_pptx(path: Path) -> None:
    import pptx
    from pptx.util import Pt

    presentation = pptx.Presentation()
    for index, slide_text in enumerate(ONBOARDING_SLIDES):
        layout = presentation.slide_layouts[0 if index == 0 else 1]
        slide = presentation.slides.add_slide(layout)
        assert slide.shapes.title is not None
        slide.shapes.title.text = slide_text.title
        body = slide.placeholders[1].text_frame  # type: ignore[attr-defined]
        body.text = "\n".join(slide_text.bullets)
        for paragraph in body.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(20 if index else 24)
        slide.notes_slide.notes_text_frame.text = slide_text.notes  # type: ignore[union-attr]
    properties = presentation.core_properties
    properties.title = "2026年度 新入社員研修"
    properties.author = properties.last_modified_by = f"{COMPANY_JA} 人事部"
    properties.created = properties.modified = FIXED_DATETIME
    properties.revision = 1
    presentation.save(str(path))
    make_zip_deterministic(path)


def write_xlsx(path: Path) -> None:
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    workbook = openpyxl.Workbook()
    servers = workbook.active
    assert servers is not None
    servers.title = "サーバー一覧"
    contracts = workbook.create_sheet("保守契約")
    sheets = ((servers, SERVER_HEADER, SERVERS), (contracts, CONTRACT_HEADER, CONTRACTS))
    for sheet, header, rows in sheets:
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, int):
                    cell.number_format = "#,##0"
        for column_cells in sheet.columns:
            longest = max(len(str(cell.value)) for cell in column_cells)
            letter = column_cells[0].column_letter
            sheet.column_dimensions[letter].width = min(12 + longest * 1.2, 60)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
    properties = workbook.properties
    properties.title = "サーバー台帳"
    properties.creator = properties.lastModifiedBy = f"{COMPANY_JA} 情報システム部"
    properties.created = properties.modified = FIXED_DATETIME
    workbook.save(path)
    make_zip_deterministic(path)


def write_pdf(path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import ListFlowable, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import PageBreak as PdfPageBreak
    from reportlab.platypus import Paragraph as PdfParagraph
    from reportlab.platypus import Table as PdfTable

    font = "HeiseiKakuGo-W5"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=16, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=13)
    headings = {
        0: ParagraphStyle("title", parent=body, fontSize=18, leading=26, spaceAfter=6),
        1: ParagraphStyle("h1", parent=body, fontSize=13, leading=20, spaceBefore=10),
        2: ParagraphStyle("h2", parent=body, fontSize=11, leading=18, spaceBefore=8),
    }
    story: list[object] = [PdfParagraph(SP200_TITLE, headings[0])]
    for block in SP200_SPEC:
        if isinstance(block, Heading):
            story.append(PdfParagraph(block.text, headings[block.level]))
        elif isinstance(block, Paragraph):
            story.append(PdfParagraph(block.text, body))
        elif isinstance(block, Bullets):
            items = [PdfParagraph(item, body) for item in block.items]
            story.append(ListFlowable(items, bulletType="bullet", start="・", bulletFontName=font))
        elif isinstance(block, Table):
            rows = [[PdfParagraph(text, cell) for text in row] for row in block.rows]
            table = PdfTable(rows, colWidths=[width * mm for width in block.widths_mm])
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [Spacer(1, 4 * mm), table, Spacer(1, 4 * mm)]
        elif isinstance(block, PageBreak):
            story.append(PdfPageBreak())

    def draw_footer(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.setFont(font, 8)
        footer = f"ENG-SP200-001 第1.2版　{COMPANY_JA}　{document.page} / 3"
        canvas.drawCentredString(A4[0] / 2, 12 * mm, footer)

    document = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=SP200_TITLE,
        author=f"{COMPANY_JA} 技術本部",
        subject="SP-200 定格荷重・ストローク・消費電力・保守点検周期",
        creator="kotae samples/make_samples.py",
        invariant=1,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
    )
    document.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)


def main() -> int:
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    outputs = {
        "VPN接続マニュアル.docx": lambda p: write_docx(
            p, VPN_MANUAL_TITLE, VPN_MANUAL, f"{COMPANY_JA} 情報システム部"
        ),
        "quality-manual-en.docx": lambda p: write_docx(
            p, QUALITY_MANUAL_TITLE, QUALITY_MANUAL, "Sakura Precision Quality Assurance"
        ),
        "製品仕様書_SP-200.pdf": write_pdf,
        "新入社員研修.pptx": lambda p: write_pptx(p),
        "サーバー台帳.xlsx": write_xlsx,
    }
    for name, write in outputs.items():
        path = DOCS_DIR / name
        write(path)
        print(f"wrote {path.relative_to(DOCS_DIR.parent.parent)} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
