"""Extractive answers: the sentences of the retrieved chunks that most likely hold the answer.

With no generator configured, kotae answers by showing evidence: the few sentences of the
top-ranked chunks that share the most (and the rarest) terms with the question. The same
evidence is what a reader checks, and what a generator can later be asked to rely on.

Each sentence of the retrieved chunks is scored by:

- its overlap with the question's analyzed terms (words, and CJK bigrams / Latin 4-grams at
  a lower weight), each term weighted by an IDF computed inside the candidate sentences: the
  topic every sentence repeats counts little, the rare term shared with one sentence a lot;
- the question terms found in the chunk's title and headings, which count for every sentence
  of the chunk at a lower weight (a sentence seldom repeats its article's subject);
- a prior from the chunk's retrieval score relative to the best one;
- a small bonus when the question asks for a number or date (how many, when, 何年, いつ ...)
  and the sentence holds a number the question does not.

Context: the answer often sits right after the sentence that restates the question, or the
matched sentence leans on the one before it (「この年の秋、入学。」 needs the year before
it). So a chosen sentence is shown with the next sentence when that one is short, and with
the previous one when the chosen sentence itself is very short. (Passing a share of a
sentence's score on to the next one instead measured neutral, within 0.003.) No sentence
is shown twice. "Short" is measured in Japanese characters, a character of a sentence
without kana or kanji counting 1 / 2.5 of one (the median sentence of the benchmark sets is
144 characters in English, 54 in Japanese): measured in plain characters, the rule almost
never fired on English, whose evidence was then about a quarter shorter, for what it says,
than Japanese evidence.

Weights were set on the questions of the shared JSQuAD, JaQuAD and SQuAD sets as a whole, on flat
optima (a change of a weight by half moves answer-in-evidence@3 by under one point). The size
measure was then checked on one half of each set's questions (split by a hash of the query
id) and confirmed on the other half. Tried there and left out, as neutral or worse: an
answer-type bonus for capitalized names (who / where), a share of the previous or next
sentence's terms, a bonus for sentence length, a bonus for question word pairs adjacent in
the sentence, a penalty or a bonus for a second sentence from the same chunk, and weighting
each Latin word's 4-grams as one gram in all (better @3 on both halves, worse @1 on the
held-out one).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kotae.text.language import HIRAGANA, JAPANESE_SCRIPT, KANJI, KATAKANA, has_japanese

if TYPE_CHECKING:
    from kotae.retrieval import SearchResult
    from kotae.text.tokenize import Tokenizer

MAX_SENTENCE_CHARS = 300  # longer sentences are cut at a clause boundary near the middle

GRAM_WEIGHT = 0.5  # a matching bigram / 4-gram, relative to a matching word
TITLE_WEIGHT = 0.5  # a question term in the chunk's title or headings but not the sentence
SCORE_PRIOR = 0.5  # added for the best-scored chunk; the others get their share of it
NUMBER_BOOST = 0.1  # a question asking for a number, a sentence with a new number
# Sizes in Japanese characters; a sentence without kana or kanji counts 1 / LATIN_PER_CJK
# a character, so that a "short" English sentence says about as much as a short Japanese one
# (the median sentence of the benchmark sets is 144 characters in English, 54 in Japanese).
SHORT_SIZE = 80  # a neighbour this short is shown with the chosen sentence
VERY_SHORT_SIZE = 40  # a chosen sentence this short is shown with the one before it
LATIN_PER_CJK = 2.5

_ASKS_NUMBER = re.compile(
    r"(?i)\b(?:how (?:many|much|long|old|far|large|big|tall|high|often)|when|"
    r"(?:what|which|in what) (?:year|month|day|date|century|decade|age|percentage|percent|time))"
    r"\b|いつ|いくつ|いくら|どの(?:くらい|ぐらい|程度)|どれ(?:くらい|ぐらい|だけ)"
    r"|何(?:年|月|日|時|分|秒|歳|才|人|回|個|件|本|枚|台|冊|度|倍|割|%|パーセント|世紀|階|番|位"
    r"|種類|カ国|か国|ヶ国|キロ|メートル|円|ドル)"
)
_NUMBER = re.compile(r"\d+")
_OKURIGANA = re.compile(f"(?<=[{KANJI}{KATAKANA}])[{HIRAGANA}]+$")

# Sentence ends: 。 and ． always; ! ? after Japanese and, after a Latin word, like a period;
# . before a space and a capital, digit, quote or bracket, before Japanese (an NFKC-folded ．),
# or at the end; . followed by reference marks ([3], [citation needed]) and then a new sentence.
# Closing brackets and quotes stay with the sentence. The full-width forms are listed too, for
# text that did not go through normalize_text. Line breaks end sentences, except a single one
# inside English text: after a letter, digit or comma and before a lower-case letter or a
# number that is no list marker ("2. ", "2) "), as in hard-wrapped lines and the subscripts of
# extracted formulas (O\n2).
_CLOSERS = "」』）)\\]】〕\"'”’"
_NEXT_SENTENCE = r"(?=\s+[A-Z0-9\"'“‘(\[]|\s*$)"
_BOUNDARY = re.compile(
    rf"[。｡．]+[{_CLOSERS}]*"
    rf"|(?<![A-Za-z0-9])[!?！？]+[{_CLOSERS}]*"
    rf"|(?<=[A-Za-z0-9])[!?！？]+[{_CLOSERS}]*{_NEXT_SENTENCE}"
    rf"|\.[{_CLOSERS}]*(?:{_NEXT_SENTENCE}|(?=[{JAPANESE_SCRIPT}]))"
    rf"|\.(?:\[[^\]\n]{{1,30}}\])+{_NEXT_SENTENCE}"
    r"|\n{2,}|(?<![A-Za-z0-9,])\n|\n(?![a-z]|\d+(?![.)]\s))"
)
_OPEN_QUOTES = "「『"
_CLOSE_QUOTES = "」』"
_QUOTE_LOOKAHEAD = 120  # a 。 inside 「…」 ends no sentence if the quote closes this soon
# Words followed by a period that does not end the sentence (lower-cased, period removed).
_ABBREVIATION_LIST = (
    "mr mrs ms dr prof sr jr st mt vs etc cf al no nos fig figs vol vols ed eds inc ltd co "
    "corp dept univ gen col lt sgt capt gov sen rep rev hon pres approx ca jan feb mar apr "
    "jun jul aug sep sept oct nov dec"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_WORD_BEFORE = re.compile(r"[A-Za-z][A-Za-z.]*$")
_CLAUSE = re.compile(r"(?:[、;；]|,(?!\d))\s*")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, in order, whitespace trimmed out.

    Japanese sentences end at 。 ! ? (with the closing brackets after them) and at line
    breaks; a 。 inside 「…」 or 『…』 ends none when the quote closes within a line. English
    sentences end at . ! ? (and the reference marks after them) followed by a capital, a digit
    or a quote, but not after an abbreviation (Mr., e.g., U.S.) or an initial, and go on over
    a line break that falls mid-sentence (a lower-case word after it). A sentence longer than
    ``MAX_SENTENCE_CHARS`` is cut at the clause boundary (、 , ;) nearest its middle.
    """
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in _BOUNDARY.finditer(text):
        mark = text[match.start()]
        if mark == "." and _is_abbreviation(text, match.start()):
            continue
        if mark != "\n" and _inside_quote(text, begin, match.start()):
            continue
        _add_span(text, begin, match.end(), spans)
        begin = match.end()
    _add_span(text, begin, len(text), spans)
    return spans


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at ``dot`` closes an abbreviation or an initial."""
    found = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    if found is None:
        return False
    word = found.group()
    if len(word) == 1:  # an initial (J. R. R. Tolkien) or a list letter
        return word.isupper()
    if "." in word:  # U.S, e.g, i.e, a.m, Ph.D
        return all(len(part) <= 2 for part in word.split("."))
    return word.lower() in _ABBREVIATIONS


def _inside_quote(text: str, begin: int, at: int) -> bool:
    """Whether ``at`` lies inside a 「…」 or 『…』 opened since ``begin`` that closes soon."""
    depth = 0
    for char in text[begin:at]:
        if char in _OPEN_QUOTES:
            depth += 1
        elif char in _CLOSE_QUOTES and depth:
            depth -= 1
    if not depth:
        return False
    for char in text[at : at + _QUOTE_LOOKAHEAD]:
        if char in _CLOSE_QUOTES:
            return True
        if char == "\n":
            return False
    return False


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append ``text[start:end]`` trimmed, cut in halves while it is over the limit."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return
    if end - start <= MAX_SENTENCE_CHARS:
        spans.append((start, end))
        return
    middle = (start + end) // 2
    cuts = [m.end() for m in _CLAUSE.finditer(text, start + 1, end - 1)]
    if not cuts:
        spans.append((start, end))
        return
    cut = min(cuts, key=lambda c: abs(c - middle))
    _add_span(text, start, cut, spans)
    _add_span(text, cut, end, spans)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sentence of a retrieved chunk (with a short neighbour or two) offered as answer."""

    text: str
    source_rank: int  # the 1-based rank of the SearchResult it came from
    chunk_id: int
    start: int  # offsets in the chunk's text
    end: int
    score: float


@dataclass(slots=True)
class _Candidate:
    """A sentence of a retrieved chunk and the question terms it holds."""

    result: SearchResult
    start: int
    end: int
    words: set[str]
    grams: set[str]
    size: float  # in Japanese characters (see SHORT_SIZE)
    score: float = 0.0


def select_evidence(
    question: str, results: Sequence[SearchResult], analyzer: Tokenizer, n: int = 3
) -> list[Evidence]:
    """The ``n`` sentences of ``results`` most likely to answer ``question``, best first.

    ``analyzer`` is the knowledge base's (``kb.tokenizer``). It analyzes the question and the
    chunk titles; sentences are searched for the question's terms as strings (:class:`_Terms`),
    which is what keeps this under a millisecond or two. The chunk texts are expected
    normalized, as the catalog stores them.
    """
    if n < 1 or not results:
        return []
    asked = analyzer.analyze(question)
    q_words, q_grams = set(asked.words), set(asked.grams)
    if not q_words and not q_grams:
        return []
    terms = _Terms(q_words, q_grams)
    chunks = [_candidates(result, terms) for result in results]
    candidates = [c for sentences in chunks for c in sentences]
    if not candidates:
        return []
    idf = _idf(candidates)

    def weight(words: set[str], grams: set[str]) -> float:
        return sum(idf[t] for t in words) + GRAM_WEIGHT * sum(idf[g] for g in grams)

    norm = weight(q_words, q_grams)
    priors = _priors(results)
    wants_number = bool(_ASKS_NUMBER.search(question))
    q_numbers = set(_NUMBER.findall(question))
    titles: dict[tuple[str, ...], tuple[set[str], set[str]]] = {}
    for sentences, prior in zip(chunks, priors, strict=True):
        if not sentences:
            continue
        result = sentences[0].result
        heads = (result.title, *result.heading_path)
        if heads not in titles:
            context = analyzer.analyze(" ".join(heads))
            titles[heads] = (
                q_words.intersection(context.words),
                q_grams.intersection(context.grams),
            )
        title_words, title_grams = titles[heads]
        for c in sentences:
            shared = weight(title_words - c.words, title_grams - c.grams)
            c.score = (weight(c.words, c.grams) + TITLE_WEIGHT * shared) / norm + prior
            if wants_number and not q_numbers.issuperset(
                _NUMBER.findall(result.text, c.start, c.end)
            ):
                c.score += NUMBER_BOOST
    return _pick(chunks, n)


# How a question asks, not what it asks about: in no document, so they would weigh the
# most (analyzed forms: Sudachi's normalized forms, lower-cased Snowball stems).
QUESTION_WORDS = frozenset(
    (
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "do",
        "doe",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "how",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "get",
        "got",
        "tell",
        "know",
        "幾ら",
        "何",
        "誰",
        "何時",
        "何処",
        "如何",
        "何故",
        "どう",
        "どの",
        "どれ",
        "どんな",
        "いつ",
        "どこ",
        "なぜ",
        "教える",
        "知る",
    )
)


def evidence_support(
    question: str,
    results: Sequence[SearchResult],
    analyzer: Tokenizer,
    document_frequencies: Callable[[set[str]], dict[str, int]],
    total: int,
) -> float:
    """How much of the question the best retrieved chunk covers, from 0 to 1: the share of
    the question's words (:data:`QUESTION_WORDS` aside), each weighted by its BM25 IDF over
    the whole index, found in the chunk's text, title or headings (the one best chunk, not
    all together).

    An absolute measure, unlike the sentence scores (whose IDF is computed among the
    candidates): a question about something the knowledge base does not hold finds its
    rare words (a name, a place) in no chunk, and scores low. ``[answer]
    evidence_threshold`` turns it into "no evidence" for extractive answers.
    """
    words = set(analyzer.analyze(question).words) - QUESTION_WORDS
    if not words or not results or total <= 0:
        return 0.0
    df = document_frequencies(words)
    idf = {w: math.log(1 + (total - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5)) for w in words}
    norm = sum(idf.values())
    best = 0.0
    for result in results:
        # analyzed like the question (not the sentences' string search: a stem such as
        # "compani" is not a prefix of "company"); a few chunks, a few milliseconds
        text = " ".join((result.title, *result.heading_path, result.text))
        found = words.intersection(analyzer.analyze(text).words)
        best = max(best, sum(idf[w] for w in found) / norm)
    return best


class _Terms:
    """The question's terms, and how to find each in a sentence by plain string search.

    Sentences are not analyzed (Sudachi on every sentence of five chunks would take most of
    the time budget); a question term is looked up in the lower-cased sentence instead:

    - a CJK bigram or Latin 4-gram as a substring, which is exactly the analyzer's gram test;
    - a Japanese word by its stem (the normalized form without trailing okurigana, 知る -> 知,
      訪れる -> 訪), so that inflected forms (知られ, 訪れた) match;
    - a Latin word (a Snowball stem) at the start of a word (``die`` in "died", not in
      "studied").
    """

    def __init__(self, words: set[str], grams: set[str]) -> None:
        self.grams = grams
        self.japanese = [(w, _OKURIGANA.sub("", w)) for w in words if not w.isascii()]
        self.latin = [(w, re.compile(r"\b" + re.escape(w))) for w in words if w.isascii()]

    def in_sentence(self, text: str) -> tuple[set[str], set[str]]:
        """The question words and grams found in ``text``."""
        low = text.lower()
        words = {w for w, stem in self.japanese if stem in low}
        words.update(w for w, pattern in self.latin if w[:3] in low and pattern.search(low))
        return words, {g for g in self.grams if g in low}


def _candidates(result: SearchResult, terms: _Terms) -> list[_Candidate]:
    """The sentences of one chunk, each with the question terms it contains."""
    out = []
    for start, end in split_sentences(result.text):
        text = result.text[start:end]
        words, grams = terms.in_sentence(text)
        out.append(_Candidate(result, start, end, words, grams, _size(text)))
    return out


def _size(text: str) -> float:
    """The length of ``text`` in Japanese characters: its length when it holds kana or kanji
    (digits and names inside Japanese count in full), else its length / ``LATIN_PER_CJK``."""
    return len(text) if has_japanese(text) else len(text) / LATIN_PER_CJK


def _priors(results: Sequence[SearchResult]) -> list[float]:
    """Prior of each chunk: its score's share of the best score, or 1/rank when the scores
    are not all positive (a reranker's logits)."""
    scores = [r.score for r in results]
    if min(scores) > 0:
        best = max(scores)
        return [SCORE_PRIOR * s / best for s in scores]
    return [SCORE_PRIOR / r.rank for r in results]


def _idf(candidates: list[_Candidate]) -> dict[str, float]:
    """IDF of each question term among the candidate sentences; a term that no candidate
    holds gets the weight of a term held by one."""
    total = len(candidates)
    df: dict[str, int] = {}
    for c in candidates:
        for term in c.words | c.grams:
            df[term] = df.get(term, 0) + 1
    return _Idf(total, {t: math.log(1 + total / d) for t, d in df.items()})


class _Idf(dict[str, float]):
    """An IDF table with a default for the terms no candidate holds."""

    def __init__(self, total: int, values: dict[str, float]) -> None:
        super().__init__(values)
        self.unseen = math.log(1 + total)

    def __missing__(self, key: str) -> float:
        return self.unseen


def _pick(chunks: list[list[_Candidate]], n: int) -> list[Evidence]:
    """The best ``n`` sentences, widened with short neighbours, each sentence shown once."""
    ranked = sorted(
        ((c, i, sentences) for sentences in chunks for i, c in enumerate(sentences)),
        key=lambda item: -item[0].score,
    )
    chosen: list[Evidence] = []
    seen: set[str] = set()  # sentences already shown, whitespace removed

    def key(c: _Candidate) -> str:
        return "".join(c.result.text[c.start : c.end].split())

    for c, i, sentences in ranked:
        if key(c) in seen:
            continue
        first = last = i
        if c.size <= VERY_SHORT_SIZE and i > 0:
            prev = sentences[i - 1]
            if prev.size <= SHORT_SIZE and key(prev) not in seen:
                first = i - 1
        if i + 1 < len(sentences):
            nxt = sentences[i + 1]
            if nxt.size <= SHORT_SIZE and key(nxt) not in seen:
                last = i + 1
        seen.update(key(s) for s in sentences[first : last + 1])
        start, end = sentences[first].start, sentences[last].end
        text = c.result.text[start:end]
        chosen.append(
            Evidence(text, c.result.rank, c.result.chunk_id, start, end, round(c.score, 4))
        )
        if len(chosen) == n:
            break
    return chosen
