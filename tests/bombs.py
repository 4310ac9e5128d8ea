"""Hostile files for the ingestion-limit tests: zip bombs, deep XML, XXE payloads.

Each builder starts from a real document (python-docx, openpyxl) and swaps or adds one
zip member, so everything but the payload is what an office application would write.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def real_docx(path: Path, text: str) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def real_xlsx(path: Path, rows: int = 3) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["品目", "金額"])
    for i in range(rows):
        sheet.append([f"item{i}", i * 100])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(str(path))
    return path


def rewrite_zip(path: Path, replace: dict[str, bytes]) -> Path:
    """``path`` with the members in ``replace`` swapped (or added)."""
    with zipfile.ZipFile(path) as src:
        members = [(i, src.read(i)) for i in src.infolist() if i.filename not in replace]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            dst.writestr(info, data)
        for name, data in replace.items():
            dst.writestr(name, data)
    return path


def docx_with_document_xml(path: Path, body_xml: str, prolog: str = "") -> Path:
    real_docx(path, "placeholder")
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body_xml}</w:body></w:document>'
    )
    return rewrite_zip(path, {"word/document.xml": xml.encode()})


def zip_bomb_docx(path: Path, member_bytes: int) -> Path:
    """A docx whose ``word/document.xml`` inflates to ``member_bytes`` (a few MB on disk)."""
    real_docx(path, "placeholder")
    with zipfile.ZipFile(path) as src:
        members = [(i, src.read(i)) for i in src.infolist() if i.filename != "word/document.xml"]
    head = f'<?xml version="1.0"?><w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info, data in members:
            dst.writestr(info, data)
        with dst.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head.encode())
            block = b"A" * (1 << 20)
            for _ in range(member_bytes // len(block)):
                member.write(block)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return path


def ratio_bomb_xlsx(path: Path, pad_bytes: int) -> Path:
    """A real xlsx plus one member of ``pad_bytes`` zero bytes (ratio about 1000)."""
    real_xlsx(path)
    return rewrite_zip(path, {"xl/media/pad.bin": bytes(pad_bytes)})


def deep_docx(path: Path, depth: int) -> Path:
    body = "<w:sdt>" * depth + "</w:sdt>" * depth
    return docx_with_document_xml(path, f"<w:p><w:r><w:t>surface</w:t></w:r></w:p>{body}")


def xxe_docx(path: Path, secret: Path) -> Path:
    prolog = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    body = "<w:p><w:r><w:t>visible &xxe; end</w:t></w:r></w:p>"
    return docx_with_document_xml(path, body, prolog)


def odt(path: Path, paragraphs_xml: str, prolog: str = "") -> Path:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f"<office:document-content {ODF_NS}><office:body><office:text>"
        f"{paragraphs_xml}</office:text></office:body></office:document-content>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", content)
    return path


def xxe_odt(path: Path, secret: Path) -> Path:
    prolog = f'<!DOCTYPE office:document-content [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    return odt(path, "<text:p>visible &xxe; end</text:p>", prolog)
