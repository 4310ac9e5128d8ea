"""Plain-text formats: .txt, .md/.markdown, .csv/.tsv, .json; plus helpers other loaders share.

Helpers: :func:`table_texts` (rows -> table block texts with the header row repeated),
:func:`join_wrapped_lines` (join the lines a hard wrap split; keep other line breaks)
and :func:`paragraph_blocks` (split on blank lines).
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kotae.documents.encoding import decode_bytes, iter_lines
from kotae.documents.limits import current, limited_rows
from kotae.documents.model import Block, BlockKind, LoadedDocument
from kotae.errors import CorruptDocumentError
from kotae.text.language import JAPANESE_TEXT
from kotae.text.normalize import normalize_inline, normalize_text

ROWS_PER_TABLE_BLOCK = 40
_BLANK_LINES = re.compile(r"\n[ \t\u3000]*\n")
_BLANK_LINE = re.compile(r"[ \t\u3000]*")
_CJK_END = re.compile(f"[{JAPANESE_TEXT}]$")
_CJK_START = re.compile(f"^[{JAPANESE_TEXT}]")
_HYPHENATED = re.compile(r"[A-Za-z]-$")
# A line starting like this begins a new item (bullet, numbered line, circled number).
LIST_MARKER = re.compile(r"^\s*(?:[•・●○■□◆◇▪‣∙\-–*]|\(?\d{1,3}[.)]|[①-⑳])\s*")
_SENTENCE_END = re.compile(r"[。．！？!?]$")
_GOES_ON = re.compile(r"[、，,・(（「『【\[]$")
# A line shorter than this fraction of the full line width was not wrapped: it ends there.
WRAP_RATIO = 0.7


# ---------------------------------------------------------------- shared helpers


def table_texts(
    rows: Iterable[Sequence[object]], rows_per_block: int = ROWS_PER_TABLE_BLOCK
) -> list[str]:
    """Table block texts: cells joined by `` | ``, rows by ``\\n``.

    Empty rows, empty leading columns and the empty cells ending a row are dropped; a table
    longer than ``rows_per_block`` rows is split, and every part starts with the header (first) row.
    """
    cleaned: list[list[str]] = []
    for row in rows:
        cells = [normalize_inline(_cell_text(c)) for c in row]
        if any(cells):
            cleaned.append(cells)
    if not cleaned:
        return []
    first = min(next(i for i, c in enumerate(r) if c) for r in cleaned)  # empty left columns
    lines = [" | ".join(_without_trailing_empty(r[first:])) for r in cleaned]
    header, body = lines[0], lines[1:]
    if not body:
        return [header]
    step = max(1, rows_per_block)
    return ["\n".join([header, *body[i : i + step]]) for i in range(0, len(body), step)]


def _without_trailing_empty(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat()).replace("T00:00:00", "")
    return str(value)


def display_width(line: str) -> int:
    """Display width: a non-ASCII (mostly CJK, full-width) character counts 2."""
    return 2 * len(line) - len(line.encode("ascii", "ignore"))


def join_wrapped_lines(
    lines: Sequence[str], *, full_width: int | None = None, latin_separator: str = " "
) -> str:
    """Join the lines of one paragraph where a hard wrap split them; keep other breaks.

    Between Japanese characters a wrap is joined with nothing, and a line break that is
    not a wrap is kept as ``"\\n"`` (a boundary for the tokenizer, the chunker and the
    snippets): after a sentence end (。！？), after a line shorter than ``WRAP_RATIO`` x
    ``full_width`` (default: the paragraph's longest line), before a bulleted or numbered
    line; a line ending with 、 or an opening bracket always goes on. Other lines are
    joined with ``latin_separator`` (an English word hyphenated at a wrap is rejoined),
    except after a line shorter than ``WRAP_RATIO`` x an explicit ``full_width`` (a PDF
    page's layout line): that break is kept too.
    """
    kept = [line.strip() for line in lines if line.strip()]
    if not kept:
        return ""
    full = full_width or max(display_width(line) for line in kept)
    out = kept[0]
    previous = kept[0]
    for line in kept[1:]:
        if _HYPHENATED.search(out) and line[:1].islower():
            out = out[:-1] + line
        elif _CJK_END.search(out) and _CJK_START.match(line):
            out += ("" if _is_wrap(previous, line, full) else "\n") + line
        elif full_width and display_width(previous) < WRAP_RATIO * full_width:
            out += "\n" + line  # a layout line (PDF) that was not wrapped
        else:
            out += latin_separator + line
        previous = line
    return out


def _is_wrap(previous: str, line: str, full_width: int) -> bool:
    """True when ``line`` continues ``previous`` (Japanese on both sides of the break)."""
    if _GOES_ON.search(previous):
        return True
    if _SENTENCE_END.search(previous) or LIST_MARKER.match(line):
        return False
    return display_width(previous) >= WRAP_RATIO * full_width


def paragraph_blocks(text: str, **location: Any) -> list[Block]:
    """Split ``text`` on blank lines into normalized paragraph blocks."""
    blocks = []
    for part in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        norm = normalize_text(part)
        if norm:
            blocks.append(Block(norm, "paragraph", **location))
    return blocks


def first_heading_or(blocks: Sequence[Block], default: str) -> str:
    return next((b.text for b in blocks if b.kind == "heading"), default)


# ---------------------------------------------------------------- loaders


def load_txt(path: Path) -> LoadedDocument:
    """Paragraphs split on blank lines, read line by line (see ``encoding.iter_lines``).

    Japanese lines a hard wrap split are joined; other line breaks are kept."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    for line in itertools.chain(iter_lines(path), [""]):
        if _BLANK_LINE.fullmatch(line):
            if norm := normalize_text(join_wrapped_lines(paragraph, latin_separator="\n")):
                blocks.append(Block(norm, "paragraph"))
            paragraph = []
        else:
            paragraph.append(line)
    return LoadedDocument(title=path.stem, blocks=blocks, format="txt")


def load_csv(path: Path) -> LoadedDocument:
    lines = iter_lines(path)
    head: list[str] = []
    while sum(len(x) for x in head) < 8192 and (line := next(lines, None)) is not None:
        head.append(line)
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        delimiter = csv.Sniffer().sniff("\n".join(head)[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = default
    reader = csv.reader(itertools.chain(head, lines), delimiter=delimiter)
    try:
        rows = list(limited_rows(path.name, "", reader, current()))
    except csv.Error as exc:
        raise CorruptDocumentError(
            f"{path.name}: malformed CSV ({exc}); check the quoting"
        ) from exc
    blocks = [Block(t, "table") for t in table_texts(rows)]
    return LoadedDocument(title=path.stem, blocks=blocks, format=path.suffix.lower().lstrip("."))


def load_json(path: Path) -> LoadedDocument:
    try:
        data = json.loads(decode_bytes(path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise CorruptDocumentError(
            f"{path.name}: invalid JSON ({exc}); for JSON Lines use a .jsonl corpus"
        ) from exc
    prefix, root = _descend_single_children(data)
    groups: list[tuple[str, Any]]
    if isinstance(root, dict) and root:
        groups = [(_join_path(prefix, str(k)), v) for k, v in root.items()]
    elif isinstance(root, list) and root:
        groups = [(f"{prefix}[{i}]", v) for i, v in enumerate(root)]
    else:
        groups = [(prefix, root)]
    blocks = []
    for group_path, value in groups:
        lines: list[str] = []
        _flatten(value, group_path, lines)
        text = normalize_text("\n".join(lines))
        if text:
            blocks.append(Block(text, "paragraph"))
    return LoadedDocument(title=path.stem, blocks=blocks, format="json")


def _descend_single_children(data: Any) -> tuple[str, Any]:
    prefix = ""
    while True:
        if isinstance(data, dict) and len(data) == 1:
            key, data = next(iter(data.items()))
            prefix = _join_path(prefix, str(key))
        elif isinstance(data, list) and len(data) == 1:
            prefix, data = f"{prefix}[0]", data[0]
        else:
            return prefix, data


def _join_path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _flatten(value: Any, path: str, lines: list[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(child, _join_path(path, str(key)), lines)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _flatten(child, f"{path}[{i}]", lines)
    elif value is None or value == "":
        return
    else:
        if isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = str(value).replace("\n", " ")
        lines.append(f"{path}: {shown}" if path else shown)


# ---------------------------------------------------------------- markdown

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_TABLE_SEPARATOR = re.compile(
    r"^[ \t]*\|?[ \t]*:?-{1,}:?[ \t]*(\|[ \t]*:?-{1,}:?[ \t]*)*\|?[ \t]*$"
)
_QUOTE = re.compile(r"^ {0,3}> ?")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|~~|`)(.+?)\1")


def _inline_markdown(text: str) -> str:
    return _EMPHASIS.sub(r"\2", _LINK.sub(r"\1", _IMAGE.sub(r"\1", text)))


class _MarkdownParser:
    """A small line-based Markdown reader producing kotae blocks."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.blocks: list[Block] = []
        self.paragraph: list[str] = []
        self.list_indents: list[int] = []

    def add(self, text: str, kind: BlockKind, level: int = 0) -> None:
        norm = normalize_inline(text) if kind == "heading" else normalize_text(text)
        if norm:
            self.blocks.append(Block(norm, kind, level))

    def flush(self) -> None:
        if self.paragraph:
            self.add(_inline_markdown(join_wrapped_lines(self.paragraph)), "paragraph")
            self.paragraph = []

    def parse(self) -> list[Block]:
        i = 0
        while i < len(self.lines):
            i = self.step(i)
        self.flush()
        return self.blocks

    def step(self, i: int) -> int:
        line = self.lines[i]
        if not line.strip():
            self.flush()
            return i + 1
        if not _LIST.match(line):
            self.list_indents = []
        if fence := _FENCE.match(line):
            return self.code(i, fence.group(1))
        if heading := _ATX.match(line):
            self.flush()
            self.add(_inline_markdown(heading.group(2) or ""), "heading", len(heading.group(1)))
            return i + 1
        if self.paragraph and (setext := _SETEXT.match(line)):
            text, self.paragraph = join_wrapped_lines(self.paragraph), []
            self.add(_inline_markdown(text), "heading", 1 if setext.group(1)[0] == "=" else 2)
            return i + 1
        if _RULE.match(line):
            self.flush()
            return i + 1
        if "|" in line and i + 1 < len(self.lines) and _TABLE_SEPARATOR.match(self.lines[i + 1]):
            return self.table(i)
        if item := _LIST.match(line):
            return self.list_item(i, item)
        self.paragraph.append(_QUOTE.sub("", line))
        return i + 1

    def code(self, i: int, fence: str) -> int:
        self.flush()
        body: list[str] = []
        j = i + 1
        while j < len(self.lines) and not self.lines[j].lstrip().startswith(fence):
            body.append(self.lines[j])
            j += 1
        self.add("\n".join(body), "code")
        return j + 1

    def table(self, i: int) -> int:
        self.flush()
        rows = [_split_table_row(self.lines[i])]
        j = i + 2
        while j < len(self.lines) and "|" in self.lines[j] and self.lines[j].strip():
            rows.append(_split_table_row(self.lines[j]))
            j += 1
        for text in table_texts([[_inline_markdown(c) for c in r] for r in rows], 10**9):
            self.blocks.append(Block(text, "table"))
        return j

    def list_item(self, i: int, item: re.Match[str]) -> int:
        self.flush()
        indent = len(item.group(1).expandtabs(4))
        while self.list_indents and self.list_indents[-1] > indent:
            self.list_indents.pop()
        if not self.list_indents or self.list_indents[-1] < indent:
            self.list_indents.append(indent)
        parts = [item.group(2)]
        j = i + 1
        while j < len(self.lines):
            nxt = self.lines[j]
            if not nxt.strip() or _LIST.match(nxt) or _FENCE.match(nxt) or _ATX.match(nxt):
                break
            parts.append(nxt)
            j += 1
        self.add(_inline_markdown(join_wrapped_lines(parts)), "list_item", len(self.list_indents))
        return j


def _split_table_row(line: str) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)]


def load_markdown(path: Path) -> LoadedDocument:
    text = decode_bytes(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("---\n") and (end := text.find("\n---\n", 4)) > 0:
        text = text[end + 5 :]  # YAML front matter
    blocks = _MarkdownParser(text.split("\n")).parse()
    return LoadedDocument(title=first_heading_or(blocks, path.stem), blocks=blocks, format="md")
