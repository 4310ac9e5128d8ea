"""Which language a text is in, from its script: the Japanese script ranges, defined once.

kotae answers in Japanese or English. A text holding kana or kanji is Japanese; anything
else is English. The character ranges here are the one definition used by the answer
pipeline, the evaluation, the benchmarks and the tokenizer's CJK runs:

- hiragana ``U+3040-309F``;
- katakana ``U+30A0-30FF`` (the prolonged sound mark ー included) and its phonetic
  extensions ``U+31F0-31FF`` (ㇰ ㇱ ...);
- kanji: CJK unified ideographs ``U+4E00-9FFF``, extension A ``U+3400-4DBF``, compatibility
  ideographs ``U+F900-FAFF``, and the iteration and abbreviation marks 々 〆
  (``U+3005``, ``U+3006``).

Full-width Latin letters, digits and Japanese punctuation are not script characters: NFKC
folds the former to ASCII, and punctuation alone says nothing about the language. Where
Japanese *text* matters (lines that join without a space, spaces OCR puts between
characters), :data:`JAPANESE_TEXT` adds the CJK punctuation block ``U+3000-303F`` and the
half- and full-width forms ``U+FF00-FFEF``.

>>> detect_language("API の rate limit"), detect_language("What is the deadline?")
('ja', 'en')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

Language = Literal["ja", "en"]

# Regular-expression character-class bodies: use as f"[{KANJI}]".
HIRAGANA = "\u3040-\u309f"
KATAKANA = "\u30a0-\u30ff\u31f0-\u31ff"
KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3006"
JAPANESE_SCRIPT = HIRAGANA + KATAKANA + KANJI
CJK_PUNCTUATION = "\u3000-\u303f"
WIDTH_FORMS = "\uff00-\uffef"
JAPANESE_TEXT = JAPANESE_SCRIPT + CJK_PUNCTUATION + WIDTH_FORMS

_JAPANESE_CHAR = re.compile(f"[{JAPANESE_SCRIPT}]")


def has_japanese(text: str) -> bool:
    """Whether ``text`` holds at least one kana or kanji."""
    return _JAPANESE_CHAR.search(text) is not None


def detect_language(text: str) -> Language:
    """``"ja"`` when the text holds kana or kanji, else ``"en"``."""
    return "ja" if has_japanese(text) else "en"


def majority_language(texts: Iterable[str]) -> Language:
    """``"ja"`` when at least half of ``texts`` are Japanese (``"ja"`` for none), else
    ``"en"``: the language of a data set from its questions."""
    japanese = total = 0
    for text in texts:
        total += 1
        japanese += has_japanese(text)
    return "ja" if japanese * 2 >= total else "en"
