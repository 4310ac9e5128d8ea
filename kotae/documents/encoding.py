"""Decode the bytes of a plain-text file, preferring Japanese encodings.

Order of the checks (the first that succeeds wins):

1. a byte-order mark: UTF-8-SIG, UTF-32 (LE/BE), UTF-16 (LE/BE);
2. ISO-2022-JP (7-bit data with ``ESC $ B`` / ``ESC $ @`` / ``ESC ( J`` escapes; it is valid
   ASCII, hence checked before UTF-8);
3. strict UTF-8 (pure ASCII included);
4. UTF-16 without a BOM (many NUL bytes at odd or even positions);
5. CP932 (Windows Shift_JIS, a superset of Shift_JIS) versus EUC-JP: both are tried strictly;
   if both decode, the one that reads more like Japanese wins (full-width kana and kanji
   count for it, half-width katakana and private-use characters count against it). Short
   texts work because a Shift_JIS lead byte (0x81-0x9F) is invalid in EUC-JP;
6. charset-normalizer's best guess;
7. UTF-8 with replacement characters (never raises).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from pathlib import Path

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D", b"\x1b(I")
_JAPANESE_GOOD = re.compile(r"[\u3040-\u30ff\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]")
_JAPANESE_BAD = re.compile(r"[\uff61-\uff9f\ue000-\uf8ff\u2170-\u217f\u2460-\u24ff\ufffd]")
_SAMPLE = 65536


def decode_bytes(data: bytes) -> str:
    """Decode ``data`` to ``str`` (see the module docstring for the order of the checks)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    if _looks_iso2022jp(data):  # 7-bit, so it must be checked before UTF-8
        try:
            return data.decode("iso2022_jp_ext")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    utf16 = _guess_utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    japanese = _decode_cp932_or_eucjp(data)
    if japanese is not None:
        return japanese
    return _decode_fallback(data)


def _guess_utf16_without_bom(data: bytes) -> str | None:
    sample = data[:_SAMPLE]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    codec = "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
    try:
        return data[: len(data) - len(data) % 2].decode(codec)
    except UnicodeDecodeError:
        return None


def _looks_iso2022jp(data: bytes) -> bool:
    if not any(esc in data for esc in _ISO2022_ESCAPES):
        return False
    return max(data[:_SAMPLE]) < 0x80


def _japanese_score(text: str) -> float:
    sample = text[:_SAMPLE]
    good = len(_JAPANESE_GOOD.findall(sample))
    bad = len(_JAPANESE_BAD.findall(sample))
    return (good - 3 * bad) / max(1, len(sample))


def _decode_cp932_or_eucjp(data: bytes) -> str | None:
    candidates: list[str] = []
    for codec in ("cp932", "euc_jp"):
        try:
            candidates.append(data.decode(codec))
        except UnicodeDecodeError:
            continue
    if not candidates:
        return None
    if len(candidates) == 1:
        text = candidates[0]
        return text if _japanese_score(text) > 0 else None
    return max(candidates, key=_japanese_score)


def _decode_fallback(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- streaming large files

STREAM_MIN_BYTES = 8 * 1024 * 1024  # smaller files are decoded whole, exactly as decode_bytes
_DETECT_SAMPLE = 1 << 20


def iter_lines(path: Path) -> Iterator[str]:
    """The lines of a text file without their line ends (``\\r\\n`` and ``\\r`` too).

    A file under ``STREAM_MIN_BYTES`` is decoded whole with :func:`decode_bytes`; a larger
    one is streamed: its codec is detected on the first MiB (same order of checks) and the
    rest decoded as it is read, an undecodable byte becoming U+FFFD, so memory holds one
    line at a time instead of the whole file several times over.
    """
    if path.stat().st_size < STREAM_MIN_BYTES:
        text = decode_bytes(path.read_bytes())
        yield from text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return
    with path.open("rb") as raw:
        codec = detect_codec(raw.read(_DETECT_SAMPLE))
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding=codec, errors="replace", newline=None) as text_in:
            for line in text_in:
                yield line.removesuffix("\n")


def detect_codec(sample: bytes) -> str:
    """The codec :func:`decode_bytes` would pick, judged on the start of a file."""
    for bom, codec in _BOMS:
        if sample.startswith(bom):
            return codec
    if _looks_iso2022jp(sample):
        return "iso2022_jp_ext"
    if _decodes_start("utf-8", sample) is not None:
        return "utf-8"
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 4:
        odd_nuls, even_nuls = sample[1::2].count(0), sample[0::2].count(0)
        return "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
    decoded = [(c, t) for c in ("cp932", "euc_jp") if (t := _decodes_start(c, sample)) is not None]
    if decoded:
        return max(decoded, key=lambda ct: _japanese_score(ct[1]))[0]
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best is not None else "utf-8"


def _decodes_start(codec: str, sample: bytes) -> str | None:
    """``sample`` decoded strictly, a character cut at its end allowed; None if invalid."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
