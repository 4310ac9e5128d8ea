"""Resource limits for loading one file, checked before a parser touches the data.

A hostile or broken file (a zip bomb, a gigabyte text, a 100 000-page PDF, an XML external
entity, a million nested elements) is refused with one :class:`RefusedDocumentError` that
names the limit, and the ingestion of the other files goes on. The limits come from the
``[ingest]`` section of ``kotae.toml`` (``kotae.config.IngestSettings``); loaders read the
active ones with :func:`current`, set by ``load_document`` for the file it loads.

Zip-based formats (.docx .xlsx .xlsm .pptx .odt) are checked from the central directory
(declared sizes: Python's zipfile never inflates a member past its declared size, it fails
the CRC instead), then every XML member is scanned with a streaming expat parser that keeps
no tree: a ``<!DOCTYPE`` (hence any entity declaration, internal or external) or a nesting
deeper than ``max_xml_depth`` refuses the file before python-docx, python-pptx, openpyxl or
lxml parse it.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from xml.parsers import expat

from kotae.errors import DocumentError

MB = 1_000_000
ZIP_FORMATS = frozenset({".docx", ".xlsx", ".xlsm", ".pptx", ".odt"})
_RATIO_MIN_BYTES = 1 << 20  # a member smaller than this is never a bomb, whatever its ratio
_SCAN_BLOCK = 1 << 16
_T = TypeVar("_T")


class RefusedDocumentError(DocumentError):
    """A file exceeds an ``[ingest]`` limit or holds something kotae never parses."""

    reason = "refused"


@dataclass(frozen=True)
class Limits:
    """What one file may hold (the defaults are the ``[ingest]`` defaults)."""

    max_file_bytes: int = 200 * MB  # any file but a .jsonl corpus (read record by record)
    max_uncompressed_bytes: int = 200 * MB  # all members of a zip-based file together
    max_compression_ratio: float = 100.0  # per member of 1 MiB or more
    max_sheet_rows: int = 200_000  # rows of one spreadsheet sheet or CSV file
    max_pdf_pages: int = 2_000
    max_xml_depth: int = 200  # element nesting in any XML member


DEFAULT_LIMITS = Limits()
_ACTIVE: ContextVar[Limits] = ContextVar("kotae_ingest_limits", default=DEFAULT_LIMITS)


def current() -> Limits:
    """The limits of the file being loaded (the defaults outside ``load_document``)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def active(limits: Limits | None) -> Iterator[Limits]:
    """Make ``limits`` (None: keep the active ones) current for the loaders inside."""
    chosen = limits if limits is not None else _ACTIVE.get()
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)


def human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def refuse(name: str, what: str, limit_key: str, limit_shown: str) -> RefusedDocumentError:
    return RefusedDocumentError(
        f"{name}: refused: {what} exceeds [ingest] {limit_key} = {limit_shown}"
    )


def check_file_size(path: Path, size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise refuse(
            path.name,
            f"file size {human_bytes(size)}",
            "max_file_bytes",
            human_bytes(limits.max_file_bytes),
        )


def limited_rows(name: str, sheet: str, rows: Iterable[_T], limits: Limits) -> Iterator[_T]:
    """``rows`` passed through; refuses the file at row ``max_sheet_rows + 1``."""
    for count, row in enumerate(rows, start=1):
        if count > limits.max_sheet_rows:
            raise too_many_rows(name, sheet, limits)
        yield row


def too_many_rows(name: str, sheet: str, limits: Limits) -> RefusedDocumentError:
    where = f" in sheet {sheet!r}" if sheet else ""
    return refuse(
        name,
        f"more than {limits.max_sheet_rows:,} rows{where}",
        "max_sheet_rows",
        f"{limits.max_sheet_rows:,}",
    )


def check_pages(name: str, pages: int, limits: Limits) -> None:
    if pages > limits.max_pdf_pages:
        raise refuse(name, f"{pages:,} pages", "max_pdf_pages", f"{limits.max_pdf_pages:,}")


def check_zip_package(path: Path, limits: Limits) -> None:
    """Check a zip-based file's declared sizes, then scan its XML members; refuse a bomb.
    A file that is no zip at all is left to its loader (encrypted, damaged...)."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as package:
            infos = package.infolist()
            _check_declared_sizes(path.name, infos, limits)
            for info in infos:
                if info.is_dir():
                    continue
                with package.open(info) as member:
                    head = member.read(_SCAN_BLOCK)
                    if _looks_like_xml(head):  # whatever its name: parts go by content type
                        scan_xml(path.name, info.filename, _Prefixed(head, member), limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise RefusedDocumentError(f"{path.name}: refused: damaged zip package ({exc})") from exc


def _check_declared_sizes(name: str, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        raise refuse(
            name,
            f"uncompressed size {human_bytes(total)}",
            "max_uncompressed_bytes",
            human_bytes(limits.max_uncompressed_bytes),
        )
    for info in infos:
        if info.file_size < _RATIO_MIN_BYTES:
            continue
        ratio = info.file_size / max(1, info.compress_size)
        if ratio > limits.max_compression_ratio:
            raise refuse(
                name,
                f"member {info.filename} compression ratio {ratio:,.0f}",
                "max_compression_ratio",
                f"{limits.max_compression_ratio:g}",
            )


def _looks_like_xml(head: bytes) -> bool:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        head = head.removeprefix(bom)
    return head.lstrip(b" \t\r\n\x00")[:1] == b"<"


class _Prefixed:
    """A stream whose first block was already read."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int) -> bytes:
        if self.head:
            head, self.head = self.head, b""
            return head
        data: bytes = self.rest.read(size)
        return data


class _Stop(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


def scan_xml(name: str, member: str, stream: Any, limits: Limits) -> None:
    """Stream ``stream`` (bytes) through expat: refuse a DOCTYPE, an entity declaration or
    nesting deeper than ``max_xml_depth``. Keeps no tree: memory stays constant."""
    parser = expat.ParserCreate()
    depth = 0

    def start(tag: str, attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > limits.max_xml_depth:
            raise _Stop(
                f"{name}: refused: XML nesting in {member} deeper than [ingest] max_xml_depth "
                f"= {limits.max_xml_depth}"
            )

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    def doctype(*_: object) -> None:
        raise _Stop(f"{name}: refused: {member} has a DOCTYPE (entities and DTDs are never read)")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        while block := stream.read(_SCAN_BLOCK):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except _Stop as exc:
        raise RefusedDocumentError(str(exc)) from None
    except expat.ExpatError:
        return  # not well-formed: the format's own parser reports it as a damaged file


_HTML_SKIP = re.compile(
    r"<!--.*?-->|<(script|style|textarea|template|title)\b.*?</\1\s*>", re.S | re.I
)
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
_HTML_NOT_NESTING = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td",
        "th", "thead", "tbody", "tfoot", "colgroup", "rp", "rt", "html", "head", "body",
    }
)  # fmt: skip


def check_html_depth(name: str, html: str, limits: Limits) -> None:
    """Refuse HTML whose element nesting exceeds ``max_xml_depth`` before it is parsed (a
    deeply nested page takes the HTML parser quadratic time). Void elements and those
    whose end tag may be left out do not count, so sloppy real pages are not refused."""
    depth = 0
    for match in _HTML_TAG.finditer(_HTML_SKIP.sub("", html)):
        closing, tag, self_closing = match.groups()
        if self_closing or tag.lower() in _HTML_NOT_NESTING:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > limits.max_xml_depth:
            raise refuse(name, "HTML element nesting", "max_xml_depth", str(limits.max_xml_depth))
