"""Tokenizers for the lexical index: Japanese morphemes, English stems, character bigrams.

Japanese text has no spaces, so splitting on whitespace or ``\\w+`` sees a whole clause as
one token. kotae analyzes every text into three term streams, indexed as three fields:

- ``words``: SudachiPy morphemes (split mode A, the shortest units; ``normalized_form`` so
  that spelling variants such as セキュリティ / セキュリティー meet) with particles,
  auxiliaries and symbols dropped; Latin words are lower-cased, stop words dropped and
  Snowball-stemmed. Text without any Japanese skips Sudachi and takes a fast regex path.
- ``grams``: character n-grams, the language-agnostic fallback: overlapping bigrams of each
  run of CJK / kana characters (a run of one character stays a unigram) and 4-grams inside
  each Latin word. They recover what segmentation and stemming miss (unknown names,
  compounds split differently in the question and the document, inflections, chemical and
  product names).
- ``pairs``: adjacent pairs of word terms, a cheap proximity signal (documents where the
  question's words stand next to each other score higher).

The analyzer name and version are recorded in the index; a query path that would analyze
differently is refused (see ``kotae.index.lexical``).
"""

from __future__ import annotations

import operator
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any, Protocol

from kotae.text.language import HIRAGANA, JAPANESE_SCRIPT
from kotae.text.normalize import normalize_text

ANALYZER_NAME = "kotae-ja-en"
ANALYZER_VERSION = "4"  # bump whenever the terms produced for a text change

_HAS_CJK = re.compile(f"[{JAPANESE_SCRIPT}]")
_CJK_RUN = re.compile(f"[{JAPANESE_SCRIPT}]+")
_HIRAGANA_ONLY = re.compile(f"^[{HIRAGANA}]+$")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[._'][a-z0-9]+)*")
_LATIN_RUN = re.compile(r"[A-Za-z0-9]+(?:[._'][A-Za-z0-9]+)*")

# Lucene's English stop words (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
ENGLISH_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)

# Interrogatives carry no topic: a question's 何/どこ/what/where says what is asked, not what
# about, and documents rarely contain them as content. Dropped on both sides (+0.002 nDCG@10
# on jaquad and jsquad, +0.006 on squad, neutral on scifact; docs/decisions/0001).
ENGLISH_QUESTION_WORDS = frozenset(
    ["what", "who", "whom", "whose", "when", "where", "why", "how", "which"]
)
JAPANESE_QUESTION_WORDS = frozenset(
    [
        "何",
        "どこ",
        "誰",
        "何故",
        "幾",
        "どのような",
        "どの",
        "どれ",
        "どちら",
        "いつ",
        "どう",
        "どんな",
        "如何",
    ]
)
_EN_DROPPED = ENGLISH_STOP_WORDS | ENGLISH_QUESTION_WORDS

# Sudachi parts of speech that carry no content for retrieval.
_DROPPED_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})


@dataclass(frozen=True, slots=True)
class Analyzed:
    """Terms of one text for each lexical field."""

    words: list[str]
    grams: list[str]
    pairs: list[str]

    def joined(self) -> FieldTexts:
        """The three fields as space-joined strings, the form the index is fed."""
        return (" ".join(self.words), " ".join(self.grams), " ".join(self.pairs))


FieldTexts = tuple[str, str, str]  # words, grams, pairs: space-joined terms


FIELDS = ("words", "grams", "pairs")


class Tokenizer(Protocol):
    """Turns text into index terms. ``name`` and ``version`` are recorded in the index."""

    name: str
    version: str

    def analyze(self, text: str, normalized: bool = False) -> Analyzed:
        """Return the terms of each lexical field for ``text`` (normalized first unless
        the caller says it already is)."""
        ...


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def english_terms(text: str) -> list[str]:
    """Lower-cased, stop-word-filtered, Snowball-stemmed Latin words of ``text``."""
    words = [w for w in _LATIN_WORD.findall(text.lower()) if w not in _EN_DROPPED]
    return list(_stemmer().stemWords(words))


def latin_ngrams(text: str, n: int = 4) -> list[str]:
    """Character n-grams inside each non-stop Latin word; shorter words stay whole."""
    grams: list[str] = []
    for word in _LATIN_WORD.findall(text.lower()):
        if word in _EN_DROPPED:
            continue
        if len(word) <= n:
            grams.append(word)
        else:
            grams.extend(word[i : i + n] for i in range(len(word) - n + 1))
    return grams


def word_pairs(words: list[str]) -> list[str]:
    """Adjacent word terms joined by ``_`` (``情報_セキュリティー``, ``rate_limit``)."""
    return [f"{a}_{b}" for a, b in pairwise(words)]


def cjk_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of every CJK/kana run; single characters stay unigrams.

    Grams made only of hiragana (の, では, ます, した ...) are left out: they occur in nearly
    every Japanese text, carry no topic, and their long posting lists dominate query time.
    """
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(map(operator.add, run, run[1:]))
    return [g for g in grams if not _HIRAGANA_ONLY.match(g)]


@dataclass
class _Sudachi:
    tokenizer: Any
    keep_pos: list[bool]
    buffer: Any = None  # a MorphemeList reused across calls


class JapaneseEnglishTokenizer:
    """The default analyzer: Sudachi morphemes + English stems + CJK bigrams."""

    name = ANALYZER_NAME

    def __init__(self) -> None:
        self._local = threading.local()
        self.version = f"{ANALYZER_VERSION}/sudachi-{_sudachi_versions()}"

    def _sudachi(self) -> _Sudachi:
        state: _Sudachi | None = getattr(self._local, "state", None)
        if state is None:
            from sudachipy import Dictionary, SplitMode

            dictionary = Dictionary(dict="core")
            keep = []
            pos_id = 0
            while True:
                try:
                    pos = dictionary.pos_of(pos_id)
                except (IndexError, ValueError, OverflowError):
                    break
                if pos is None:
                    break
                keep.append(pos[0] not in _DROPPED_POS)
                pos_id += 1
            state = _Sudachi(dictionary.tokenizer(SplitMode.A), keep)
            self._local.state = state
        return state

    def japanese_terms(self, text: str) -> list[str]:
        """Content morphemes of text that contains Japanese; Latin words as English terms.

        Latin words and numbers are taken out before Sudachi sees the text (Sudachi would
        turn "Running" into ランニング), so the per-morpheme loop needs no surface check.
        """
        sudachi = self._sudachi()
        keep = sudachi.keep_pos
        latin = _LATIN_RUN.findall(text)
        if latin:
            text = _LATIN_RUN.sub(" ", text)
        morphemes = sudachi.tokenizer.tokenize(text, out=sudachi.buffer)
        sudachi.buffer = morphemes
        terms = [
            form
            for m in morphemes
            if keep[m.part_of_speech_id()]
            and (form := m.normalized_form()) not in JAPANESE_QUESTION_WORDS
        ]
        if latin:
            terms.extend(english_terms(" ".join(latin)))
        return terms

    def analyze(self, text: str, normalized: bool = False) -> Analyzed:
        if not normalized:
            text = normalize_text(text)
        if not _HAS_CJK.search(text):
            words = english_terms(text)
            return Analyzed(words, latin_ngrams(text), word_pairs(words))
        # Sudachi refuses inputs over ~49 KB: analyze long texts line by line.
        if len(text.encode("utf-8")) > 40_000:
            words = [t for line in text.split("\n") for t in self.japanese_terms(line)]
        else:
            words = self.japanese_terms(text)
        return Analyzed(words, cjk_bigrams(text) + latin_ngrams(text), word_pairs(words))


def _sudachi_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{version('sudachipy')}+dict-{version('sudachidict-core')}"
    except PackageNotFoundError:  # pragma: no cover - the core depends on both
        return "unknown"


@lru_cache(maxsize=1)
def default_tokenizer() -> JapaneseEnglishTokenizer:
    """The process-wide default analyzer (Sudachi is loaded on first use)."""
    return JapaneseEnglishTokenizer()
