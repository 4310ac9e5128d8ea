"""Office formats: .docx, .pptx, .xlsx/.xlsm, .xls, .odt; .doc/.ppt through LibreOffice.

- docx (python-docx): body in order (paragraphs and tables interleaved); Heading N / Title /
  見出し N styles become headings, numbered or list-styled paragraphs list items, text boxes
  (``w:txbxContent``) follow their anchor paragraph. Strict OOXML is rewritten to the
  transitional namespaces in memory first.
- pptx (python-pptx): per slide (``slide`` set) the title is a level-1 heading, body
  placeholders give list items, other text frames paragraphs, tables and chart data table
  blocks, and the speaker notes paragraphs. A line break inside a paragraph stays a newline.
- xlsx/xlsm (openpyxl, read-only, cached values) and xls (xlrd): per sheet a level-1 heading
  with the sheet name, then table blocks of at most ``ROWS_PER_TABLE_BLOCK`` rows that each
  start with the header row (``sheet`` set). A lone title cell above the table is a paragraph.
- odt (lxml over content.xml): text:h with outline level, paragraphs, nested lists, tables.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from kotae.documents import limits
from kotae.documents.model import Block, BlockKind, LoadedDocument
from kotae.documents.text import first_heading_or, table_texts
from kotae.errors import CorruptDocumentError, EncryptedDocumentError, UnsupportedFormatError
from kotae.text.normalize import normalize_inline, normalize_text

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_STRICT_NS = re.compile(
    rb"http://purl\.oclc\.org/ooxml/(officeDocument|wordprocessingml|drawingml|"
    rb"spreadsheetml|presentationml)/"
)
_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)$", re.I)
_LIST_STYLE = re.compile(r"^list(?: bullet| number| paragraph)?\s*(\d)?$", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
LIBREOFFICE_TIMEOUT_S = 120
_Row = TypeVar("_Row")


def _check_zip(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(8)
    if head == _OLE_MAGIC:
        raise EncryptedDocumentError(
            f"{path.name}: password-protected (or a legacy binary file renamed): remove the "
            "password, save as Office Open XML and ingest again"
        )
    if not zipfile.is_zipfile(path):
        raise CorruptDocumentError(f"{path.name}: not a valid {path.suffix.lower()} (zip) file")


def _element_text(el: Any) -> str:
    return "".join(el.itertext())


# ---------------------------------------------------------------- docx


def _strict_to_transitional(path: Path) -> io.BytesIO:
    """Rewrite a Strict OOXML package's namespaces to the transitional ones python-docx reads."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith((".xml", ".rels")):
                data = _STRICT_NS.sub(rb"http://schemas.openxmlformats.org/\1/2006/", data)
            dst.writestr(info, data)
    out.seek(0)
    return out


def _docx_style_kind(paragraph: Any) -> tuple[BlockKind, int]:
    style = paragraph.style
    for _ in range(4):
        if style is None:
            break
        name = style.name or ""
        if name == "Title":
            return "heading", 1
        if heading := _HEADING_STYLE.match(name):
            return "heading", max(1, int(heading.group(1)))
        if (listed := _LIST_STYLE.match(name)) and name.lower() != "list":
            return "list_item", int(listed.group(1) or 1)
        style = style.base_style
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.numPr is not None:
        ilvl = ppr.numPr.ilvl
        return "list_item", (ilvl.val if ilvl is not None else 0) + 1
    return "paragraph", 0


def _docx_paragraph_blocks(paragraph: Any) -> Iterator[Block]:
    from docx.text.paragraph import Paragraph

    kind, level = _docx_style_kind(paragraph)
    text = normalize_inline(paragraph.text) if kind == "heading" else normalize_text(paragraph.text)
    if text:
        yield Block(text, kind, level)
    for box in paragraph._p.iter(f"{_W}txbxContent"):
        if any(a.tag == _MC_FALLBACK for a in box.iterancestors()):
            continue  # the VML fallback repeats the DrawingML text box
        for p in box.iterchildren(f"{_W}p"):
            inner = normalize_text(Paragraph(p, paragraph._parent).text)
            if inner:
                yield Block(inner, "paragraph")


def _docx_table_rows(table: Any) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, previous = [], None
        for cell in row.cells:
            cells.append("" if cell is previous else cell.text)  # merged: text once
            previous = cell
        rows.append(cells)
    return rows


def load_docx(path: Path) -> LoadedDocument:
    import docx
    from docx.table import Table

    _check_zip(path)
    try:
        document = docx.Document(str(path))
    except KeyError:  # no transitional officeDocument relationship: Strict OOXML
        document = docx.Document(_strict_to_transitional(path))
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(Block(t, "table") for t in table_texts(_docx_table_rows(item)))
        else:
            blocks.extend(_docx_paragraph_blocks(item))
    props = document.core_properties
    title = normalize_inline(props.title or "") or first_heading_or(blocks, path.stem)
    metadata = {"author": props.author} if props.author else {}
    return LoadedDocument(title=title, blocks=blocks, format="docx", metadata=metadata)


# ---------------------------------------------------------------- pptx


def _reading_order(shapes: Iterable[Any]) -> list[Any]:
    return sorted(shapes, key=lambda s: (s.top or 0, s.left or 0))


def _soft_breaks(text: str) -> str:
    """python-pptx gives a line break inside a paragraph (Shift+Enter) as ``\\v``, which
    normalization would delete, gluing the two lines: make it a newline."""
    return text.replace("\v", "\n")


def _pptx_shape_blocks(shape: Any, slide: int) -> Iterator[Block]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        for child in _reading_order(shape.shapes):
            yield from _pptx_shape_blocks(child, slide)
        return
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[_soft_breaks(cell.text) for cell in row.cells] for row in shape.table.rows]
        yield from (Block(t, "table", slide=slide) for t in table_texts(rows))
    if getattr(shape, "has_chart", False) and shape.has_chart:
        yield from _pptx_chart_blocks(shape.chart, slide)
    if not shape.has_text_frame:
        return
    body_types = (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY)
    bulleted = shape.is_placeholder and shape.placeholder_format.type in body_types
    for paragraph in shape.text_frame.paragraphs:
        text = normalize_text(_soft_breaks(paragraph.text))
        if not text:
            continue
        if bulleted or paragraph.level > 0:
            yield Block(text, "list_item", paragraph.level + 1, slide=slide)
        else:
            yield Block(text, "paragraph", slide=slide)


def _pptx_chart_blocks(chart: Any, slide: int) -> Iterator[Block]:
    try:
        if chart.has_title and chart.chart_title.has_text_frame:
            title = normalize_text(_soft_breaks(chart.chart_title.text_frame.text))
            if title:
                yield Block(title, "paragraph", slide=slide)
        plot = chart.plots[0]
        rows: list[list[object]] = [["", *plot.categories]]
        rows.extend([series.name, *series.values] for series in plot.series)
    except (IndexError, KeyError, AttributeError, ValueError):
        return
    yield from (Block(t, "table", slide=slide) for t in table_texts(rows))


def _pptx_slide_blocks(slide: Any, number: int) -> list[Block]:
    title_shape = slide.shapes.title
    blocks: list[Block] = []
    title = normalize_inline(_soft_breaks(title_shape.text_frame.text)) if title_shape else ""
    if title:
        blocks.append(Block(title, "heading", 1, slide=number))
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        blocks.extend(_pptx_shape_blocks(shape, number))
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = _soft_breaks(slide.notes_slide.notes_text_frame.text)
        blocks.extend(
            Block(n, "paragraph", slide=number)
            for n in (normalize_text(part) for part in notes.split("\n"))
            if n
        )
    return blocks


def load_pptx(path: Path) -> LoadedDocument:
    from pptx import Presentation

    _check_zip(path)
    presentation = Presentation(str(path))
    blocks: list[Block] = []
    for number, slide in enumerate(presentation.slides, start=1):
        blocks.extend(_pptx_slide_blocks(slide, number))
    title = normalize_inline(presentation.core_properties.title or "")
    title = title or first_heading_or(blocks, path.stem)
    metadata = {"slides": str(len(presentation.slides))}
    return LoadedDocument(title=title, blocks=blocks, format="pptx", metadata=metadata)


# ---------------------------------------------------------------- spreadsheets


def sheet_blocks(name: str, rows: Iterable[Sequence[object]]) -> list[Block]:
    """A heading with the sheet name, an optional title line, then table blocks."""
    kept = [list(r) for r in rows if any(v not in (None, "") for v in r)]
    blocks = [Block(normalize_inline(name) or "Sheet", "heading", 1, sheet=name)]
    if len(kept) >= 2:
        filled = [v for v in kept[0] if v not in (None, "")]
        if len(filled) == 1 and sum(v not in (None, "") for v in kept[1]) >= 2:
            title = normalize_inline(str(filled[0]))
            blocks.append(Block(title, "paragraph", sheet=name))
            kept = kept[1:]
    blocks.extend(Block(t, "table", sheet=name) for t in table_texts(kept))
    return blocks if len(blocks) > 1 else []


def load_xlsx(path: Path) -> LoadedDocument:
    import openpyxl

    _check_zip(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        blocks: list[Block] = []
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            blocks.extend(sheet_blocks(sheet.title, _limited(path, sheet.title, rows)))
        title = normalize_inline(workbook.properties.title or "") or path.stem
    finally:
        workbook.close()
    return LoadedDocument(title=title, blocks=blocks, format=path.suffix.lower().lstrip("."))


def load_xls(path: Path) -> LoadedDocument:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except xlrd.XLRDError as exc:
        raise CorruptDocumentError(f"{path.name}: not a readable .xls file ({exc})") from exc
    blocks: list[Block] = []
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            if sheet.nrows > limits.current().max_sheet_rows:  # xlrd knows the count up front
                raise limits.too_many_rows(path.name, sheet.name, limits.current())
            rows = (_xls_row(book, sheet, r) for r in range(sheet.nrows))
            blocks.extend(sheet_blocks(sheet.name, rows))
    finally:
        book.release_resources()
    return LoadedDocument(title=path.stem, blocks=blocks, format="xls")


def _limited(path: Path, sheet: str, rows: Iterable[_Row]) -> Iterator[_Row]:
    return limits.limited_rows(path.name, sheet, rows, limits.current())


def _xls_row(book: Any, sheet: Any, row: int) -> list[object]:
    import xlrd

    values: list[object] = []
    for cell in sheet.row(row):
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                values.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                continue
            except (ValueError, OverflowError):
                pass
        values.append(cell.value)
    return values


# ---------------------------------------------------------------- odt

_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODF_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODF_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODF_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_ODF_SKIP = frozenset(
    {f"{_ODF_TEXT}note", f"{_ODF_OFFICE}annotation", f"{_ODF_TEXT}tracked-changes"}
)


def _odf_text(el: Any) -> str:
    """Text of an ODF paragraph: text:s spaces, tabs and line breaks, notes skipped."""
    parts = [el.text or ""]
    for child in el:
        tag = child.tag
        if tag == f"{_ODF_TEXT}s":
            parts.append(" " * int(child.get(f"{_ODF_TEXT}c", "1")))
        elif tag == f"{_ODF_TEXT}tab":
            parts.append("\t")
        elif tag == f"{_ODF_TEXT}line-break":
            parts.append("\n")
        elif tag not in _ODF_SKIP:
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _odf_blocks(parent: Any, title_styles: set[str], depth: int = 0) -> Iterator[Block]:
    for el in parent:
        tag = el.tag
        if tag == f"{_ODF_TEXT}h":
            text = normalize_inline(_odf_text(el))
            if text:
                yield Block(text, "heading", int(el.get(f"{_ODF_TEXT}outline-level", "1")))
        elif tag == f"{_ODF_TEXT}p":
            text = normalize_text(_odf_text(el))
            if text and el.get(f"{_ODF_TEXT}style-name") in title_styles:
                yield Block(normalize_inline(text), "heading", 1)
            elif text:
                yield Block(text, "list_item" if depth else "paragraph", depth)
        elif tag == f"{_ODF_TEXT}list":
            for item in el:
                yield from _odf_blocks(item, title_styles, depth + 1)
        elif tag == f"{_ODF_TABLE}table":
            rows = [
                [normalize_inline(_element_text(c)) for c in row.iter(f"{_ODF_TABLE}table-cell")]
                for row in el.iter(f"{_ODF_TABLE}table-row")
            ]
            yield from (Block(t, "table") for t in table_texts(rows))
        elif tag in (f"{_ODF_TEXT}section", f"{_ODF_TEXT}list-item", f"{_ODF_TEXT}list-header"):
            yield from _odf_blocks(el, title_styles, depth)


def _odf_title_styles(root: Any) -> set[str]:
    names = {"Title"}
    for style in root.iter(f"{_ODF_STYLE}style"):
        if style.get(f"{_ODF_STYLE}parent-style-name") == "Title":
            names.add(style.get(f"{_ODF_STYLE}name", ""))
    return names


def _safe_xml_parser() -> Any:
    """No DTD, no entity expansion, no network, libxml2's default depth and size limits."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def load_odt(path: Path) -> LoadedDocument:
    from lxml import etree

    _check_zip(path)
    with zipfile.ZipFile(path) as package:
        if "content.xml" not in package.namelist():
            raise CorruptDocumentError(f"{path.name}: no content.xml: not an OpenDocument file")
        root = etree.fromstring(package.read("content.xml"), parser=_safe_xml_parser())
    body = root.find(f"{_ODF_OFFICE}body/{_ODF_OFFICE}text")
    blocks = list(_odf_blocks(body, _odf_title_styles(root))) if body is not None else []
    return LoadedDocument(title=first_heading_or(blocks, path.stem), blocks=blocks, format="odt")


# ---------------------------------------------------------------- legacy binary via LibreOffice


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def legacy_conversion_hint(suffix: str) -> str:
    target = {".doc": "docx", ".ppt": "pptx", ".xls": "xlsx"}.get(suffix, "docx")
    return (
        f"unsupported format {suffix}: convert it to .{target} "
        f"(e.g. `libreoffice --headless --convert-to {target} FILE`)"
    )


def load_legacy_office(path: Path) -> LoadedDocument:
    """Convert .doc/.ppt with LibreOffice (when installed) and load the result."""
    suffix = path.suffix.lower()
    soffice = _soffice()
    if soffice is None:
        raise UnsupportedFormatError(legacy_conversion_hint(suffix))
    target = "pptx" if suffix == ".ppt" else "docx"
    with tempfile.TemporaryDirectory(prefix="kotae-convert-") as tmp:
        command = [soffice, "--headless", "--convert-to", target, "--outdir", tmp, str(path)]
        command.insert(1, f"-env:UserInstallation=file://{tmp}/profile")
        try:
            subprocess.run(command, capture_output=True, timeout=LIBREOFFICE_TIMEOUT_S, check=True)
        except (subprocess.SubprocessError, OSError) as exc:
            raise CorruptDocumentError(
                f"{path.name}: LibreOffice could not convert it ({exc})"
            ) from exc
        converted = Path(tmp) / f"{path.stem}.{target}"
        if not converted.exists():
            raise CorruptDocumentError(f"{path.name}: LibreOffice produced no .{target}")
        document = load_pptx(converted) if target == "pptx" else load_docx(converted)
    document.format = suffix.lstrip(".")
    if document.title == converted.stem:
        document.title = path.stem
    return document
