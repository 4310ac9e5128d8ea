from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kotae.documents as documents
from kotae.documents import load_document
from kotae.documents.chunking import chunk_document
from kotae.documents.ocr import ocr_available
from kotae.errors import (
    CorruptDocumentError,
    DocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    UnsupportedFormatError,
)

BENCH = Path("/work/shared/bench/docs")


def test_supported_extensions() -> None:
    supported = documents.SUPPORTED_EXTENSIONS
    assert isinstance(supported, frozenset)
    for ext in (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx",
                ".xlsm", ".xls", ".csv", ".tsv", ".json", ".eml", ".odt"):  # fmt: skip
        assert ext in supported
    assert (".png" in supported) == ocr_available()
    has_libreoffice = bool(shutil.which("soffice") or shutil.which("libreoffice"))
    assert (".doc" in supported) == has_libreoffice


def test_unknown_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "data.xyz"
    path.write_text("x")
    with pytest.raises(
        UnsupportedFormatError, match=r"unsupported format \.xyz: supported are .*\.docx"
    ):
        load_document(path)


@pytest.mark.skipif(
    shutil.which("soffice") is not None or shutil.which("libreoffice") is not None,
    reason="LibreOffice installed: .doc is converted",
)
def test_doc_without_libreoffice_gives_the_conversion_hint(tmp_path: Path) -> None:
    path = tmp_path / "old.DOC"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(UnsupportedFormatError, match=r"convert it to \.docx .*--convert-to docx"):
        load_document(path)


def test_image_without_ocr_says_how_to_enable_it(tmp_path: Path) -> None:
    if ocr_available():
        pytest.skip("OCR is installed here")
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UnsupportedFormatError, match=r"kotae\[ocr\].*tesseract-ocr-jpn"):
        load_document(path)


def test_image_with_ocr(tmp_path: Path) -> None:
    if not ocr_available():
        pytest.skip("tesseract with eng is not installed")
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(image).text(
        (30, 60), "Quarterly report", fill="black", font=ImageFont.load_default(size=48)
    )
    path = tmp_path / "scan.png"
    image.save(path)
    doc = load_document(path)
    assert "Quarterly" in doc.text and doc.format == "image"


@pytest.mark.parametrize("name", ["empty.txt", "empty.docx", "empty.pdf"])
def test_zero_byte_file_is_empty(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(EmptyDocumentError, match="empty"):
        load_document(path)


def test_whitespace_only_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_text("  \n\n\u3000\n")
    with pytest.raises(EmptyDocumentError, match="no text"):
        load_document(path)


@pytest.mark.parametrize(
    "name", ["bad.docx", "bad.pptx", "bad.xlsx", "bad.odt", "bad.pdf", "bad.xls"]
)
def test_corrupt_files_raise_corrupt_with_a_reason(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 this is not really a zip or a pdf " * 10)
    with pytest.raises(CorruptDocumentError, match=name):
        load_document(path)


def test_truncated_docx_is_corrupt(tmp_path: Path) -> None:
    import docx

    full = tmp_path / "full.docx"
    d = docx.Document()
    d.add_paragraph("本文")
    d.save(str(full))
    broken = tmp_path / "broken.docx"
    broken.write_bytes(full.read_bytes()[:2000])
    with pytest.raises(CorruptDocumentError):
        load_document(broken)


def test_invalid_json_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"a": ')
    with pytest.raises(CorruptDocumentError, match="invalid JSON"):
        load_document(path)


def test_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read"):
        load_document(tmp_path / "missing.txt")


# ---------------------------------------------------------------- the shared real-world files

EXPECTED_ERRORS: dict[str, type[DocumentError]] = {
    "2206.01062_pg3.pdf": EncryptedDocumentError,
}
EXPECTED_TEXT = {
    "test_mskanji.csv": "髙橋淳",
    "csv-semicolon.csv": " | ",
    "Strict.docx": "Some text",
    "word_sample.docx": "Let’s swim",
    "textbox.docx": "Infectious Disease",
    "eml_with_attachment.eml": "This is a test attachment file.",
    "wiki_duck.html": "Duck is the common name",
    "text_document_01.odt": "numbered list 1",
    "normal_4pages.pdf": "코로나",
    "invisible_text_layer.pdf": " ",
    "xlsx_02_sample_sales_data.xlsm": " | ",
    "legacy_sample.xls": "Freshwater Ducks",
    "powerpoint_sample.pptx": "Second slide title",
}


def _bench_files() -> list[Path]:
    if not BENCH.is_dir():
        return []
    skip = {"README.md", "SHA256SUMS"}
    return sorted(p for p in BENCH.rglob("*") if p.is_file() and p.name not in skip)


@pytest.mark.slow
@pytest.mark.skipif(not BENCH.is_dir(), reason="shared bench documents not present")
@pytest.mark.parametrize("path", _bench_files(), ids=lambda p: p.name)
def test_every_bench_document_loads_or_fails_cleanly(path: Path) -> None:
    expected_error = EXPECTED_ERRORS.get(path.name)
    if path.suffix.lower() in (".doc", ".ppt") and not shutil.which("soffice"):
        expected_error = UnsupportedFormatError
    if path.suffix.lower() in (".tif", ".webp") and not ocr_available():
        expected_error = UnsupportedFormatError
    if path.name == "ocr_test.pdf" and not ocr_available():
        expected_error = EmptyDocumentError
    if expected_error is not None:
        with pytest.raises(expected_error) as info:
            load_document(path)
        assert str(info.value) and info.value.reason != "error"
        return
    doc = load_document(path)
    assert doc.text.strip()
    assert EXPECTED_TEXT.get(path.name, "") in doc.text
    chunks = chunk_document(doc)
    assert chunks and all(c.text for c in chunks)
    if path.name == "word_sample.docx":
        assert any(b.kind == "heading" for b in doc.blocks)
    if path.suffix == ".pdf":
        assert all(b.page is not None for b in doc.blocks)
    if path.suffix == ".pptx":
        assert all(b.slide is not None for b in doc.blocks)
