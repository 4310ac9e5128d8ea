from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from kotae.documents import load_document
from kotae.documents.ocr import ocr_available
from kotae.errors import EmptyDocumentError, EncryptedDocumentError

PAGE_1 = [
    "経費精算規程",
    "第1条 この規程は、株式会社サンプルにおける経費の精算手続を定めるものと",
    "する。対象は全社員。",
    "Expense Policy applies to all employees and contractors.",
]
PAGE_2 = ["・交通費は実費とする。", "・宿泊費は上限1万円とする。"]
PARAGRAPHS = [
    (1, "paragraph", "経費精算規程"),
    (
        1,
        "paragraph",
        "第1条 この規程は、株式会社サンプルにおける経費の精算手続を定めるものとする。"
        "対象は全社員。",
    ),
    (1, "paragraph", "Expense Policy applies to all employees and contractors."),
    (2, "list_item", "交通費は実費とする。"),
    (2, "list_item", "宿泊費は上限1万円とする。"),
]


def _japanese_pdf(path: Path) -> Path:
    pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path))
    c.setTitle("経費精算規程 (PDF)")
    for lines in (PAGE_1, PAGE_2):
        c.setFont("HeiseiKakuGo-W5", 12)
        for i, line in enumerate(lines):
            c.drawString(50, 760 - 16 * i, line)
        c.showPage()
    c.save()
    return path


def test_pdf_pages_and_paragraphs(tmp_path: Path) -> None:
    doc = load_document(_japanese_pdf(tmp_path / "rule.pdf"))
    assert doc.format == "pdf"
    assert doc.title == "経費精算規程 (PDF)"
    # a wrap is joined (no space between CJK); a short line and a bullet end a paragraph,
    # and a bulleted line is a list item without its bullet
    assert [(b.page, b.kind, b.text) for b in doc.blocks] == PARAGRAPHS
    assert doc.metadata["pages"] == "2"


def _encrypt(src: Path, dst: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(src).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    with dst.open("wb") as f:
        writer.write(f)
    return dst


def test_password_protected_pdf_raises_encrypted(tmp_path: Path) -> None:
    path = _encrypt(_japanese_pdf(tmp_path / "a.pdf"), tmp_path / "locked.pdf", "secret")
    with pytest.raises(EncryptedDocumentError, match="remove the password"):
        load_document(path)


def test_pdf_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    path = _encrypt(_japanese_pdf(tmp_path / "a.pdf"), tmp_path / "owner.pdf", "")
    assert "宿泊費" in load_document(path).text


def _scanned_pdf(path: Path, text: str) -> Path:
    pytest.importorskip("reportlab")
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (1200, 300), 255)
    ImageDraw.Draw(image).text((40, 100), text, fill=0, font=ImageFont.load_default(size=56))
    c = canvas.Canvas(str(path))
    c.drawImage(ImageReader(image), 50, 600, width=500, height=125)
    c.showPage()
    c.save()
    return path


def test_scanned_pdf_is_ocred_or_reported(tmp_path: Path) -> None:
    path = _scanned_pdf(tmp_path / "scan.pdf", "Invoice number 4711")
    if ocr_available():
        doc = load_document(path)
        assert "Invoice" in doc.text and doc.blocks[0].page == 1
        assert doc.metadata["ocr_pages"] == "1"
    else:
        with pytest.raises(EmptyDocumentError, match="scanned"):
            load_document(path)


def _eml(path: Path, *, html_only: bool = False) -> Path:
    msg = EmailMessage()
    msg["Subject"] = "【重要】経費精算の締切について"
    msg["From"] = "総務部 <soumu@example.co.jp>"
    msg["To"] = "all@example.co.jp"
    msg["Date"] = "Mon, 01 Apr 2024 09:00:00 +0900"
    if html_only:
        msg.set_content("<html><body><h2>お知らせ</h2><p>締切は5日です。</p></body></html>",
                        subtype="html", charset="iso-2022-jp")  # fmt: skip
    else:
        msg.set_content(
            "皆様\n\n締切は翌月5日です。\n\nよろしくお願いします。", charset="iso-2022-jp"
        )
        msg.add_attachment(
            "添付の説明文です。".encode("cp932"),
            maintype="text",
            subtype="plain",
            filename="memo.txt",
        )
        msg.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="logo.png")
    path.write_bytes(bytes(msg))
    return path


def test_eml_headers_body_and_attachments(tmp_path: Path) -> None:
    doc = load_document(_eml(tmp_path / "notice.eml"))
    assert doc.title == "【重要】経費精算の締切について"
    texts = [b.text for b in doc.blocks]
    assert texts[0].startswith("From: 総務部 <soumu@example.co.jp>\nTo: all@example.co.jp\nDate:")
    assert "締切は翌月5日です。" in texts
    assert "Attachments: memo.txt, logo.png" in texts
    heading = next(b for b in doc.blocks if b.kind == "heading")
    assert heading.text == "添付: memo.txt"
    assert texts[-1] == "添付の説明文です。"


def test_eml_html_body(tmp_path: Path) -> None:
    doc = load_document(_eml(tmp_path / "html.eml", html_only=True))
    assert [(b.kind, b.text) for b in doc.blocks[1:]] == [
        ("heading", "お知らせ"),
        ("paragraph", "締切は5日です。"),
    ]
