from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from kotae.documents.encoding import decode_bytes

JA = "経費精算の申請は翌月5日までです。髙橋さんに連絡してください。Expense policy v2"
BENCH_CSV = Path("/work/shared/bench/docs/csv/test_mskanji.csv")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JA.encode("utf-8"), JA),
        (codecs.BOM_UTF8 + JA.encode("utf-8"), JA),
        (JA.encode("utf-16"), JA),  # with BOM
        (codecs.BOM_UTF16_BE + JA.encode("utf-16-be"), JA),
        (JA.encode("utf-16-le"), JA),  # no BOM
        (JA.encode("cp932"), JA),
        (JA.replace("髙", "高").encode("shift_jis"), JA.replace("髙", "高")),
        (JA.replace("髙", "高").encode("euc_jp"), JA.replace("髙", "高")),
        (JA.replace("髙", "高").encode("iso2022_jp"), JA.replace("髙", "高")),
        (b"plain ascii text", "plain ascii text"),
        (b"", ""),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16be-bom", "utf16le-nobom", "cp932", "sjis",
         "eucjp", "iso2022jp", "ascii", "empty"],
)  # fmt: skip
def test_decode_bytes_detects_japanese_encodings(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected


def test_short_cp932_csv_with_ibm_extension_kanji() -> None:
    # 70 bytes, like the markitdown fixture: 髙 exists only in CP932, not in Shift_JIS.
    text = "名前,年齢,住所\r\n佐藤太郎,30,東京\r\n三木英子,25,大阪\r\n髙橋淳,35,名古屋\r\n"
    assert decode_bytes(text.encode("cp932")) == text


def test_short_eucjp_kana_text_is_not_read_as_cp932() -> None:
    text = "こんにちは。ありがとうございます。"
    assert decode_bytes(text.encode("euc_jp")) == text


def test_latin1_falls_back_without_raising() -> None:
    out = decode_bytes("Café crème brûlée, señor".encode("latin-1"))
    assert "Caf" in out and "se" in out


@pytest.mark.skipif(not BENCH_CSV.exists(), reason="shared bench documents not present")
def test_bench_mskanji_csv() -> None:
    assert "髙橋淳" in decode_bytes(BENCH_CSV.read_bytes())
