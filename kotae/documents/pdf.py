"""PDF with pypdf: paragraphs per page (``page`` set, 1-based), OCR for pages without text.

pypdf returns a page as lines. Lines are joined into paragraphs: a paragraph ends at a
blank line, after a line that ends a Japanese sentence (。！？), after a line clearly
shorter than the page's usual line (0.7 x the 80th percentile of display widths, CJK
counting 2: headings, table cells, the last line of a paragraph), and before a bulleted
or numbered line. Inside a paragraph, lines are joined by ``text.join_wrapped_lines``
with the page's full width (95th percentile): a wrap is joined (Japanese without a
space), a line shorter than 0.7 x the full width keeps its line break. A bullet glyph
(・, •, ...) starts a list item and is dropped, also when pypdf puts it on a line of its
own. Dot leaders of tables of contents are shortened.
Invisible text (render mode 3, e.g. an OCR layer) is kept.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kotae.documents import limits
from kotae.documents.model import Block, BlockKind, LoadedDocument
from kotae.documents.text import LIST_MARKER, WRAP_RATIO, display_width, join_wrapped_lines
from kotae.errors import CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError
from kotae.text.normalize import normalize_inline, normalize_text

_BULLET_GLYPH = re.compile(r"^\s*(?:[•・●○■□◆◇▪‣∙]\s*|[-–*](?:\s+|$))")
_SENTENCE_END = re.compile(r"[。！？]$")
_DOT_LEADER = re.compile(r"(?:\s*\.){4,}\s*")
_UNHELPFUL_TITLE = re.compile(
    r"^(?:untitled|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|pdf))$", re.I
)


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's log warnings about malformed files while one PDF is read."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)


def page_paragraphs(text: str) -> list[tuple[BlockKind, str]]:
    """One page's extracted text as (kind, text) paragraphs (see the module docstring)."""
    lines = [_DOT_LEADER.sub(" … ", line).rstrip() for line in text.split("\n")]
    widths = sorted(display_width(line) for line in lines if line.strip())
    if not widths:
        return []
    usual = widths[min(len(widths) - 1, int(len(widths) * 0.8))]
    page = _Page(full_width=widths[min(len(widths) - 1, int(len(widths) * 0.95))])
    for line in lines:
        if not line.strip():
            page.close()
            continue
        if bullet := _BULLET_GLYPH.match(line):
            page.close()
            page.kind = "list_item"
            line = line[bullet.end() :]
            if not line.strip():
                continue  # a bullet on its own line: the item's text follows
        elif page.current and LIST_MARKER.match(line):
            page.close()
        page.current.append(line)
        if display_width(line) < WRAP_RATIO * usual or _SENTENCE_END.search(line):
            page.close()
    page.close()
    return page.paragraphs


class _Page:
    """The paragraphs of one page being built, and the lines of the open one."""

    def __init__(self, full_width: int) -> None:
        self.full_width = full_width
        self.paragraphs: list[tuple[BlockKind, str]] = []
        self.current: list[str] = []
        self.kind: BlockKind = "paragraph"

    def close(self) -> None:
        if self.current:
            text = normalize_text(join_wrapped_lines(self.current, full_width=self.full_width))
            if text:
                self.paragraphs.append((self.kind, text))
        self.current = []
        self.kind = "paragraph"


def _open_reader(path: Path) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedDocumentError(
                f"{path.name}: password-protected: remove the password and ingest again"
            )
    except DependencyError as exc:
        raise EncryptedDocumentError(
            f"{path.name}: encrypted with AES: pip install cryptography, or remove the "
            "encryption and ingest again"
        ) from exc
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise CorruptDocumentError(f"{path.name}: not a readable PDF ({exc})") from exc
    return reader


def _page_text(page: Any) -> str:
    try:
        return str(page.extract_text() or "")
    except Exception:  # one broken content stream must not lose the other pages
        return ""


def _ocr_page(page: Any) -> str:
    from kotae.documents.ocr import ocr_image

    try:
        images = list(page.images)
    except Exception:
        return ""
    if not images:
        return ""
    largest = max(images, key=lambda im: im.image.width * im.image.height if im.image else 0)
    return ocr_image(largest.image) if largest.image is not None else ""


def _title(reader: Any, path: Path) -> str:
    try:
        raw = (reader.metadata or {}).get("/Title")
    except Exception:
        raw = None
    title = normalize_inline(str(raw)) if raw else ""
    return path.stem if not title or _UNHELPFUL_TITLE.match(title) else title


def load_pdf(path: Path) -> LoadedDocument:
    from kotae.documents.ocr import OCR_HINT, ocr_available

    with _quiet_pypdf():
        reader = _open_reader(path)
        try:
            count = len(reader.pages)
            limits.check_pages(path.name, count, limits.current())
            pages = list(reader.pages)
        except limits.RefusedDocumentError:
            raise
        except Exception as exc:
            raise CorruptDocumentError(f"{path.name}: cannot read the page tree ({exc})") from exc
        blocks: list[Block] = []
        pages_without_text = 0
        ocr_pages = 0
        can_ocr: bool | None = None
        for number, page in enumerate(pages, start=1):
            text = _page_text(page)
            if not text.strip():
                pages_without_text += 1
                can_ocr = ocr_available() if can_ocr is None else can_ocr
                if can_ocr:
                    text = _ocr_page(page)
                    ocr_pages += 1
            blocks.extend(
                Block(p, kind, 1 if kind == "list_item" else 0, page=number)
                for kind, p in page_paragraphs(text)
            )
        title = _title(reader, path)
    if not blocks and pages and pages_without_text == len(pages) and not can_ocr:
        raise EmptyDocumentError(
            f"{path.name}: no text layer (it looks scanned): {OCR_HINT} to OCR it"
        )
    metadata = {"pages": str(len(pages))}
    if ocr_pages:
        metadata["ocr_pages"] = str(ocr_pages)
    return LoadedDocument(title=title, blocks=blocks, format="pdf", metadata=metadata)
