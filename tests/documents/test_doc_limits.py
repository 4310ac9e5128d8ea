"""[ingest] limits: each hostile or oversized file is refused with one error naming the
limit, before a parser opens it; the XML parsers never read entities or DTDs."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from kotae.config import load_settings
from kotae.documents import encoding, load_document
from kotae.documents.limits import DEFAULT_LIMITS, Limits, RefusedDocumentError
from kotae.documents.office import load_docx, load_odt
from kotae.errors import ConfigError
from tests import bombs

SECRET = "TOPSECRET-zqleakq"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text(SECRET, "utf-8")
    return path


def refused(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(RefusedDocumentError) as caught:
        load_document(path, limits)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path.name}: refused: ")
    return message


def test_zip_bomb_is_refused_from_the_central_directory(tmp_path: Path) -> None:
    bomb = bombs.zip_bomb_docx(tmp_path / "bomb.docx", 24 << 20)
    assert bomb.stat().st_size < 1 << 20
    message = refused(bomb, Limits(max_uncompressed_bytes=10_000_000))
    assert re.search(
        r"uncompressed size 2\d\.\d MB exceeds \[ingest\] max_uncompressed_bytes = 10\.0 MB$",
        message,
    )


def test_a_member_with_a_huge_compression_ratio_is_refused(tmp_path: Path) -> None:
    bomb = bombs.ratio_bomb_xlsx(tmp_path / "pad.xlsx", 20 << 20)
    message = refused(bomb)
    assert "member xl/media/pad.bin compression ratio" in message
    assert "[ingest] max_compression_ratio = 100" in message
    assert load_document(bomb, Limits(max_compression_ratio=10_000)).blocks  # loosened: reads


def test_deeply_nested_xml_is_refused_not_crashing(tmp_path: Path) -> None:
    deep = bombs.deep_docx(tmp_path / "deep.docx", 60_000)  # under 1 MiB: no ratio check
    message = refused(deep)
    assert "nesting in word/document.xml deeper than [ingest] max_xml_depth = 200" in message
    shallow = bombs.deep_docx(tmp_path / "shallow.docx", 20)
    assert load_document(shallow).text == "surface"


@pytest.mark.parametrize("kind", ["docx", "odt"])
def test_an_external_entity_is_refused_and_never_read(
    kind: str, tmp_path: Path, secret: Path
) -> None:
    build = bombs.xxe_docx if kind == "docx" else bombs.xxe_odt
    path = build(tmp_path / f"xxe.{kind}", secret)
    assert "DOCTYPE" in refused(path)
    # the parsers behind the pre-scan do not read it either (defence in depth)
    loader = load_docx if kind == "docx" else load_odt
    try:
        text = loader(path).text
    except Exception:  # an unresolved entity may also be a parse error: nothing read
        text = ""
    assert SECRET not in text


def test_an_xml_part_is_scanned_whatever_its_name(tmp_path: Path, secret: Path) -> None:
    path = bombs.real_docx(tmp_path / "hidden.docx", "本文")
    payload = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]><x>&xxe;</x>'
    bombs.rewrite_zip(path, {"customXml/item1.dat": b"\xef\xbb\xbf  " + payload.encode()})
    assert "customXml/item1.dat has a DOCTYPE" in refused(path)


def test_too_many_rows_pages_or_bytes_are_refused(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    sheet = bombs.real_xlsx(tmp_path / "rows.xlsx", rows=30)
    assert "more than 10 rows in sheet 'Sheet' exceeds [ingest] max_sheet_rows = 10" in refused(
        sheet, Limits(max_sheet_rows=10)
    )
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(30)), "utf-8")
    assert "max_sheet_rows = 10" in refused(csv, Limits(max_sheet_rows=10))
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(200, 200)
    pdf = tmp_path / "pages.pdf"
    with pdf.open("wb") as out:
        writer.write(out)
    assert "3 pages exceeds [ingest] max_pdf_pages = 2" in refused(pdf, Limits(max_pdf_pages=2))
    text = tmp_path / "big.txt"
    text.write_text("x" * 5000, "utf-8")
    assert "file size 5.0 KB exceeds [ingest] max_file_bytes = 1.0 KB" in refused(
        text, Limits(max_file_bytes=1000)
    )


def test_deeply_nested_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    assert "nested too deeply" in refused(path)


def test_the_ingest_section_is_validated(tmp_path: Path) -> None:
    toml = tmp_path / "kotae.toml"
    toml.write_text("[ingest]\nmax_sheet_rows = 10\nmax_pdf_pages = 3\n", "utf-8")
    limits = load_settings(toml).ingest.limits()
    assert (limits.max_sheet_rows, limits.max_pdf_pages) == (10, 3)
    assert limits.max_file_bytes == DEFAULT_LIMITS.max_file_bytes
    toml.write_text("[ingest]\nmax_rows = 10\n", "utf-8")
    with pytest.raises(ConfigError, match=r"\[ingest\] max_rows: unknown key"):
        load_settings(toml)


@pytest.mark.parametrize("codec", ["utf-8", "cp932", "euc_jp", "utf-16", "utf-8-sig"])
def test_large_text_is_streamed_to_the_same_blocks(
    codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "".join(f"第{i}段落の本文です。\r\n二行目 line {i}\n\n\u3000\n" for i in range(3000))
    path = tmp_path / "big.txt"
    path.write_bytes(codecs.encode(text, codec))
    whole = load_document(path)
    monkeypatch.setattr(encoding, "STREAM_MIN_BYTES", 1000)  # stream it
    assert (
        encoding.detect_codec(path.read_bytes()[:4096])
        .replace("_", "-")
        .startswith(codec.split("-sig")[0].replace("_", "-"))
    )
    assert load_document(path).blocks == whole.blocks
    assert len(whole.blocks) == 3000
