"""HTML (.html, .htm) with selectolax (lexbor).

Boilerplate (script, style, nav, header, footer, aside, forms, ARIA navigation/banner
regions) is dropped. When the page has one ``<main>`` (or ``role="main"``) element, only
that is read. Headings h1-h6, paragraphs, list items (with nesting depth), ``pre`` and tables
(rows by newlines, cells by `` | ``; a rowspan cell is repeated in each row, a
colspan cell written once) become blocks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kotae.documents.encoding import decode_bytes
from kotae.documents.limits import check_html_depth, current
from kotae.documents.model import Block, BlockKind, LoadedDocument
from kotae.documents.text import first_heading_or, table_texts
from kotae.text.normalize import normalize_inline, normalize_text

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_DROP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
        "button", "select", "textarea", "svg", "canvas", "iframe", "object", "embed", "map",
        "head",
    }
)  # fmt: skip
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "menu", "dl"})
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "body", "html", "blockquote", "figure",
        "figcaption", "dd", "dt", "address", "details", "summary", "center", "hr", "caption",
        "fieldset", "legend", "tbody",
    }
)  # fmt: skip
_MAX_SPAN = 1000


def decode_html(data: bytes) -> str:
    """Decode HTML bytes using its ``<meta charset>`` when it names a known codec."""
    match = _META_CHARSET.search(data[:4096])
    if match:
        name = match.group(1).decode("ascii", "replace").lower()
        try:
            text = data.decode(name)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            return text.removeprefix("\ufeff")
    return decode_bytes(data)


class _Walker:
    """Turns a DOM subtree into blocks, buffering inline text until a block boundary."""

    def __init__(self, keep_headers: bool) -> None:
        self.keep_headers = keep_headers  # a <header> inside <main> holds the page heading
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.list_depth = 0
        self.item_open = False

    def flush(self) -> None:
        text = normalize_text("".join(self.buffer))
        self.buffer = []
        if not text:
            return
        kind: BlockKind = "list_item" if self.item_open else "paragraph"
        self.blocks.append(Block(text, kind, self.list_depth if self.item_open else 0))

    def walk(self, node: Any) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buffer.append(child.text_content or "")
            elif tag.startswith("-") or _is_boilerplate(child, self.keep_headers):
                continue
            elif tag == "br":
                self.buffer.append("\n")
            elif tag in _HEADINGS:
                self.heading(child)
            elif tag == "header":  # only inside <main>: keep its headings, not its menus
                for heading in child.css("h1, h2, h3, h4, h5, h6"):
                    self.heading(heading)
            elif tag == "table":
                self.flush()
                self.blocks.extend(Block(t, "table") for t in table_texts(_table_rows(child)))
            elif tag == "pre":
                self.flush()
                code = normalize_text(child.text(deep=True))
                if code:
                    self.blocks.append(Block(code, "code"))
            elif tag in _LISTS or tag == "li":
                self.walk_list_part(child, tag)
            elif tag in _BLOCK_TAGS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def heading(self, node: Any) -> None:
        self.flush()
        text = normalize_inline(node.text(deep=True, separator=" "))
        if text:
            self.blocks.append(Block(text, "heading", _HEADINGS[node.tag]))

    def walk_list_part(self, node: Any, tag: str) -> None:
        self.flush()
        saved = (self.list_depth, self.item_open)
        if tag == "li":
            self.item_open = True
            self.list_depth = max(1, self.list_depth)
        else:
            self.item_open = False
            self.list_depth += 1
        self.walk(node)
        self.flush()
        self.list_depth, self.item_open = saved


def _is_boilerplate(node: Any, keep_headers: bool) -> bool:
    if node.tag in _DROP_TAGS:
        return not (keep_headers and node.tag == "header")
    attrs = node.attributes
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    return attrs.get("role") in _DROP_ROLES


def _table_rows(table: Any) -> list[list[str]]:
    """Cell texts row by row; a cell spanning rows or columns is repeated in each of them."""
    grid: dict[tuple[int, int], str] = {}
    n_rows = 0
    for r, tr in enumerate(_direct_rows(table)):
        n_rows = r + 1
        c = 0
        for cell in tr.iter():
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in grid:
                c += 1
            text = normalize_inline(cell.text(deep=True, separator=" "))
            rowspan = _span(cell.attributes.get("rowspan"))
            colspan = _span(cell.attributes.get("colspan"))
            for dr in range(rowspan):  # repeated down (row context), once across
                for dc in range(colspan):
                    grid.setdefault((r + dr, c + dc), "" if dc else text)
            c += colspan
    width = max((c + 1 for (_, c) in grid), default=0)
    return [[grid.get((r, c), "") for c in range(width)] for r in range(n_rows)]


def _direct_rows(table: Any) -> list[Any]:
    rows = []
    for child in table.iter():
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child.iter() if row.tag == "tr")
    return rows


def _span(value: str | None) -> int:
    try:
        return min(_MAX_SPAN, max(1, int(value or 1)))
    except ValueError:
        return 1


def html_to_blocks(html: str, name: str = "HTML") -> tuple[str, list[Block]]:
    """Parse an HTML string; return (``<title>`` text or "", blocks). ``name`` (the file)
    is named when the page is refused as too deeply nested."""
    from selectolax.lexbor import LexborHTMLParser

    check_html_depth(name, html, current())
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = normalize_inline(title_node.text()) if title_node is not None else ""
    mains = tree.css("main, [role=main]")
    root = mains[0] if len(mains) == 1 else (tree.body or tree.root)
    walker = _Walker(keep_headers=len(mains) == 1)
    if root is not None:
        walker.walk(root)
        walker.flush()
    return title, walker.blocks


def load_html(path: Path) -> LoadedDocument:
    title, blocks = html_to_blocks(decode_html(path.read_bytes()), path.name)
    return LoadedDocument(
        title=title or first_heading_or(blocks, path.stem), blocks=blocks, format="html"
    )
