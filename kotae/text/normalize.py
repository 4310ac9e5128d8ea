"""Text normalization applied to everything kotae indexes or searches.

NFKC folds full-width ASCII and half-width katakana (ＡＢＣ→ABC, ｶﾀｶﾅ→カタカナ); whitespace is
collapsed inside lines, and runs of blank lines become one blank line.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[ \t\u00a0\u3000\u2000-\u200b\u202f\u205f\ufeff]+")
_BLANKS = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# ASCII, hiragana, katakana, common kanji and 、。「」『』 are NFKC-stable: only the runs of
# other characters (plus the one before each run, for combining marks) need normalizing.
_NEEDS_NFKC = re.compile(
    r".?[^\x00-\x7f\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff\u3001\u3002\u300c-\u300f]+", re.S
)


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, about 3x faster on Japanese text."""
    return _NEEDS_NFKC.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def normalize_text(text: str) -> str:
    """NFKC, unified newlines, collapsed spaces, stripped lines; keeps paragraph breaks."""
    text = nfkc(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def normalize_inline(text: str) -> str:
    """Normalize a short string (title, heading, cell) to a single line."""
    return " ".join(normalize_text(text).split())
