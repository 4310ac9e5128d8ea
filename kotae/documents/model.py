"""What a loader returns: a document as a flat list of structural blocks.

Loaders do not chunk. They keep the structure a chunker needs (headings, paragraphs,
list items, tables) and the locations a citation needs (page, slide, sheet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table", "code"]


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit of a document, in reading order.

    ``text`` is already normalized (see ``kotae.text.normalize``). A table is one block
    whose rows are separated by newlines and cells by `` | ``. ``level`` is the heading
    level (1 = top) for headings and the nesting depth for list items, else 0.
    """

    text: str
    kind: BlockKind = "paragraph"
    level: int = 0
    page: int | None = None  # 1-based PDF page
    slide: int | None = None  # 1-based slide number
    sheet: str | None = None  # spreadsheet sheet name


@dataclass(slots=True)
class LoadedDocument:
    """A parsed file (or one record of a JSONL corpus) before chunking."""

    title: str
    blocks: list[Block]
    format: str  # "pdf", "docx", "html", "md", "txt", "record", ...
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable, citable piece of a document.

    ``start``/``end`` are character offsets into ``LoadedDocument.text`` (blocks joined by
    ``\\n``), so a citation can point back into the extracted text.
    """

    text: str
    ordinal: int
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
