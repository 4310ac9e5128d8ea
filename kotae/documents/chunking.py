"""Structure-aware chunking of a :class:`LoadedDocument` into citable :class:`Chunk` s.

Rules
-----
- Headings are not chunk text; they form the ``heading_path`` (a stack by level). A heading
  with nothing under it (followed directly by a heading of the same or a higher level, or
  by the end of the document) is kept as text of its own chunk so that it is searchable.
- Consecutive blocks of one section (same heading path) are packed into a chunk up to
  ``max_tokens`` (:func:`estimate_tokens`). A new section always starts a new chunk.
- A block that does not fit is split into sentences (ends: 。 ! ? . ． and newlines; NFKC has
  already turned ！？． into ASCII); a sentence longer than the budget is cut at 、 , or
  spaces, and a run without any is cut by length.
- A table that fits stays whole. Otherwise it is split by rows, and every part after the
  first starts with the table's header (first) row.
- Overlap: inside one section and on one page, a chunk starts with the trailing sentences
  of the previous chunk, up to ``overlap_tokens`` (never after or before a table part).
- Page, slide or sheet: a chunk takes the location of its first block. When the location
  changes, a new chunk starts only if the current one is more than half full.

Offsets: ``doc.text[chunk.start:chunk.end] == chunk.text`` for every chunk, except one that
starts with a continued table part: its text is the header row, ``"\\n"``, then
``doc.text[start:end]`` (``start`` is where the part's first data row begins).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kotae.documents.model import Block, Chunk, LoadedDocument
from kotae.text.language import JAPANESE_SCRIPT

_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
# The lookahead lets the engine skip positions that cannot end a sentence (2x faster).
_SENTENCE_END = re.compile(
    rf"(?=[。!?.\n])(?:(?:[。!?]+|\.(?=\s|$|[{JAPANESE_SCRIPT}]))"
    r"[」』）)\]\"'”’]*[ \t]*|\n+)"
)
_CLAUSE_END = re.compile(r"[、,;]\s*|\s+")


def estimate_tokens(text: str) -> int:
    """Cheap token estimate, no model. Rule: each non-ASCII character (kanji, kana, hangul,
    full-width forms, CJK punctuation; also accented letters, which overcounts European
    text) counts 1; each ASCII word or number 1.3; each ASCII punctuation mark 0.5. Rounded
    up. Close to multilingual subword tokenizers on Japanese and English business text."""
    ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
    words = _ASCII_WORD.findall(text)
    spaces = text.count(" ") + text.count("\n") + text.count("\t")
    punctuation = ascii_chars - sum(map(len, words)) - spaces
    return math.ceil(len(text) - ascii_chars + 1.3 * len(words) + 0.5 * punctuation)


@dataclass(slots=True)
class _Unit:
    """A span of ``doc.text`` that is never split further while packing."""

    start: int
    end: int
    tokens: int
    block: Block
    header: str | None = None  # a continued table part: the repeated header row
    is_table: bool = False


def _spans(text: str, offset: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Split ``text`` after each match of ``pattern``; spans (absolute) with spaces trimmed."""
    spans, begin = [], 0
    for match in pattern.finditer(text):
        if match.end() > begin:
            spans.append((begin, match.end()))
            begin = match.end()
    if begin < len(text):
        spans.append((begin, len(text)))
    out = []
    for a, b in spans:
        piece = text[a:b]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            out.append((offset + a + left, offset + a + right))
    return out


class _Chunker:
    def __init__(self, doc: LoadedDocument, max_tokens: int, overlap_tokens: int) -> None:
        self.text = doc.text
        self.blocks = doc.blocks
        self.max_tokens = max(8, max_tokens)
        self.overlap_tokens = max(0, min(overlap_tokens, self.max_tokens // 2))
        self.chunks: list[Chunk] = []
        self.current: list[_Unit] = []
        self.current_tokens = 0
        self.path: tuple[str, ...] = ()

    # -- building units -------------------------------------------------------------
    def text_units(self, block: Block, start: int, end: int, tokens: int) -> list[_Unit]:
        if tokens <= self.max_tokens:
            return [_Unit(start, end, tokens, block)]
        units = []
        for a, b in _spans(self.text[start:end], start, _SENTENCE_END):
            n = estimate_tokens(self.text[a:b])
            if n <= self.max_tokens:
                units.append(_Unit(a, b, n, block))
            else:
                units.extend(self.cut_long(block, a, b))
        return units

    def cut_long(self, block: Block, start: int, end: int) -> list[_Unit]:
        """Cut one over-long sentence at clause ends or spaces, else by length."""
        units: list[_Unit] = []
        run: _Unit | None = None
        for a, b in _spans(self.text[start:end], start, _CLAUSE_END):
            n = estimate_tokens(self.text[a:b])
            if run is not None and (run.tokens + n > self.max_tokens or n > self.max_tokens):
                units.append(run)
                run = None
            if n > self.max_tokens:
                units.extend(self.cut_by_length(block, a, b, n))
            elif run is None:
                run = _Unit(a, b, n, block)
            else:
                run.end, run.tokens = b, run.tokens + n
        if run is not None:
            units.append(run)
        return units

    def cut_by_length(self, block: Block, start: int, end: int, tokens: int) -> list[_Unit]:
        step = max(1, (end - start) * self.max_tokens // max(tokens, 1) - 1)
        units = []
        for a in range(start, end, step):
            b = min(end, a + step)
            units.append(_Unit(a, b, estimate_tokens(self.text[a:b]), block))
        return units

    def table_units(self, block: Block, start: int, end: int, tokens: int) -> list[_Unit]:
        if tokens <= self.max_tokens:
            return [_Unit(start, end, tokens, block, is_table=True)]
        header_end = self.text.find("\n", start, end)
        if header_end < 0:
            return self.text_units(block, start, end, tokens)
        header = self.text[start:header_end]
        header_tokens = estimate_tokens(header)
        rows = self.text[header_end + 1 : end].split("\n")
        if max(estimate_tokens(r) for r in rows) + header_tokens > self.max_tokens:
            # the header cannot be repeated within the budget: split it as plain text
            return self.text_units(block, start, end, tokens)
        units: list[_Unit] = []
        part_start, part_tokens, row_start = start, header_tokens, header_end + 1
        while row_start < end:
            row_end = self.text.find("\n", row_start, end)
            row_end = end if row_end < 0 else row_end
            n = estimate_tokens(self.text[row_start:row_end])
            if part_tokens + n > self.max_tokens and part_tokens > header_tokens:
                units.append(
                    self.table_part(block, part_start, row_start - 1, part_tokens, start, header)
                )
                part_start, part_tokens = row_start, header_tokens
            part_tokens += n
            row_start = row_end + 1
        units.append(self.table_part(block, part_start, end, part_tokens, start, header))
        return units

    @staticmethod
    def table_part(block: Block, a: int, b: int, n: int, table_start: int, header: str) -> _Unit:
        repeated = header if a != table_start else None
        return _Unit(a, b, n, block, header=repeated, is_table=True)

    # -- packing --------------------------------------------------------------------
    def emit(self) -> None:
        if not self.current:
            return
        first, last = self.current[0], self.current[-1]
        text = self.text[first.start : last.end]
        if first.header is not None:
            text = f"{first.header}\n{text}"
        self.chunks.append(
            Chunk(
                text=text,
                ordinal=len(self.chunks),
                start=first.start,
                end=last.end,
                heading_path=self.path,
                page=first.block.page,
                slide=first.block.slide,
                sheet=first.block.sheet,
            )
        )
        self.current, self.current_tokens = [], 0

    def overlap(self, next_unit: _Unit) -> list[_Unit]:
        """The trailing sentences of the current chunk (at most ``overlap_tokens``, never the
        whole chunk) as the first unit of the next one; none around tables."""
        if not self.overlap_tokens or next_unit.is_table or not self.current:
            return []
        last = self.current[-1]
        budget = min(self.overlap_tokens, self.max_tokens - next_unit.tokens)
        if last.is_table or budget <= 0:
            return []
        # Only a window that can hold the budget is scanned (a Latin token is >= ~6 chars).
        window_start = max(last.start, last.end - 8 * budget - 1)
        window = self.text[window_start : last.end]
        starts = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() < len(window)]
        if window_start == last.start:
            starts.insert(0, 0)
        density = last.tokens / max(1, last.end - last.start)  # tokens per character
        for start in starts:  # the earliest sentence start that fits the budget
            if (len(window) - start) * density > budget:
                continue
            begin = window_start + start
            begin += len(self.text[begin : last.end]) - len(self.text[begin : last.end].lstrip())
            tokens = estimate_tokens(self.text[begin : last.end])
            if tokens <= budget and begin > self.current[0].start and begin < last.end:
                return [_Unit(begin, last.end, tokens, last.block)]
        return []

    def add(self, unit: _Unit) -> None:
        if self.current:
            location_changed = _location(unit.block) != _location(self.current[-1].block)
            if location_changed and self.current_tokens > self.max_tokens // 2:
                self.emit()
            elif self.current_tokens + unit.tokens > self.max_tokens or unit.header is not None:
                carried = [] if location_changed else self.overlap(unit)
                self.emit()
                self.current = carried
                self.current_tokens = sum(u.tokens for u in carried)
        self.current.append(unit)
        self.current_tokens += unit.tokens

    def run(self) -> list[Chunk]:
        stack: list[Block] = []
        offset = 0
        for i, block in enumerate(self.blocks):
            start, end = offset, offset + len(block.text)
            offset = end + 1
            if not block.text:
                continue
            if block.kind == "heading":
                self.emit()
                stack = [h for h in stack if h.level < block.level] + [block]
                self.path = tuple(h.text for h in stack)
                if not _has_body(self.blocks, i):
                    for unit in self.text_units(block, start, end, estimate_tokens(block.text)):
                        self.add(unit)
                    self.emit()
                continue
            tokens = estimate_tokens(block.text)
            make = self.table_units if block.kind == "table" else self.text_units
            for unit in make(block, start, end, tokens):
                self.add(unit)
        self.emit()
        return self.chunks


def _location(block: Block) -> tuple[int | None, int | None, str | None]:
    return block.page, block.slide, block.sheet


def _has_body(blocks: list[Block], i: int) -> bool:
    """True when heading ``blocks[i]`` has content or a deeper heading right after it."""
    if i + 1 >= len(blocks):
        return False
    nxt = blocks[i + 1]
    return nxt.kind != "heading" or nxt.level > blocks[i].level


def chunk_document(
    doc: LoadedDocument, max_tokens: int = 384, overlap_tokens: int = 48
) -> list[Chunk]:
    """Split ``doc`` into chunks (see the module docstring for the rules)."""
    return _Chunker(doc, max_tokens, overlap_tokens).run()
