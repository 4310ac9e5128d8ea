"""Load files into :class:`LoadedDocument` (structural blocks) and chunk them.

``load_document(path)`` picks a loader by extension (case-insensitive). Every failure is a
:class:`~kotae.errors.DocumentError` subclass with a message that says what to do; a parser
library's own exception never escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kotae.documents.limits import (
    ZIP_FORMATS,
    Limits,
    RefusedDocumentError,
    active,
    check_file_size,
    check_zip_package,
)
from kotae.documents.model import Block, Chunk, LoadedDocument
from kotae.errors import (
    CorruptDocumentError,
    DocumentError,
    EmptyDocumentError,
    UnsupportedFormatError,
)

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Block",
    "Chunk",
    "LoadedDocument",
    "load_document",
    "supported_extensions",
]

Loader = Callable[[Path], LoadedDocument]

_CORE_EXTENSIONS = frozenset(
    {
        ".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx",
        ".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".json", ".eml", ".odt",
    }
)  # fmt: skip
_LEGACY = frozenset({".doc", ".ppt"})


def _loader_for(suffix: str) -> Loader | None:
    """The loader function for an extension; modules are imported only when needed."""
    if suffix in (".txt", ".text"):
        from kotae.documents.text import load_txt

        return load_txt
    if suffix in (".md", ".markdown"):
        from kotae.documents.text import load_markdown

        return load_markdown
    if suffix in (".csv", ".tsv"):
        from kotae.documents.text import load_csv

        return load_csv
    if suffix == ".json":
        from kotae.documents.text import load_json

        return load_json
    if suffix in (".html", ".htm"):
        from kotae.documents.html import load_html

        return load_html
    if suffix == ".pdf":
        from kotae.documents.pdf import load_pdf

        return load_pdf
    if suffix == ".eml":
        from kotae.documents.email import load_eml

        return load_eml
    return _office_loader_for(suffix)


def _office_loader_for(suffix: str) -> Loader | None:
    from kotae.documents import ocr, office

    loaders: dict[str, Loader] = {
        ".docx": office.load_docx,
        ".pptx": office.load_pptx,
        ".xlsx": office.load_xlsx,
        ".xlsm": office.load_xlsx,
        ".xls": office.load_xls,
        ".odt": office.load_odt,
        ".doc": office.load_legacy_office,
        ".ppt": office.load_legacy_office,
    }
    if suffix in ocr.IMAGE_EXTENSIONS:
        return ocr.load_image
    return loaders.get(suffix)


def supported_extensions() -> frozenset[str]:
    """Extensions loadable on this machine (images only with OCR, .doc/.ppt only with
    LibreOffice). Checks the environment, so it is a function; see also SUPPORTED_EXTENSIONS."""
    from kotae.documents.ocr import IMAGE_EXTENSIONS, ocr_available
    from kotae.documents.office import _soffice

    extra: set[str] = set()
    if ocr_available():
        extra |= IMAGE_EXTENSIONS
    if _soffice() is not None:
        extra |= _LEGACY
    return _CORE_EXTENSIONS | extra


def __getattr__(name: str) -> frozenset[str]:
    # SUPPORTED_EXTENSIONS is computed on first access (it probes for tesseract and
    # LibreOffice), so importing kotae.documents stays free of side effects.
    if name == "SUPPORTED_EXTENSIONS":
        value = supported_extensions()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _unsupported_message(suffix: str) -> str:
    from kotae.documents.ocr import IMAGE_EXTENSIONS, OCR_HINT
    from kotae.documents.office import legacy_conversion_hint

    if suffix in _LEGACY:
        return legacy_conversion_hint(suffix)
    if suffix in IMAGE_EXTENSIONS:
        return f"unsupported format {suffix}: images need OCR: {OCR_HINT}"
    shown = suffix or "(no extension)"
    return f"unsupported format {shown}: supported are {', '.join(sorted(_CORE_EXTENSIONS))}"


def load_document(path: Path, limits: Limits | None = None) -> LoadedDocument:
    """Load one file into blocks. Raises only DocumentError subclasses (see kotae.errors).

    ``limits`` (None: the active ones, by default ``[ingest]``'s defaults) are checked
    before any parser opens the file; see :mod:`kotae.documents.limits`.
    """
    with active(limits) as chosen:
        return _load(Path(path), chosen)


def _load(path: Path, limits: Limits) -> LoadedDocument:
    suffix = path.suffix.lower()
    loader = _loader_for(suffix)
    if loader is None:
        raise UnsupportedFormatError(_unsupported_message(suffix))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    if size == 0:
        raise EmptyDocumentError(f"{path.name}: the file is empty (0 bytes)")
    try:
        check_file_size(path, size, limits)
        if suffix in ZIP_FORMATS:
            check_zip_package(path, limits)
        document = loader(path)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise RefusedDocumentError(f"{path.name}: refused: nested too deeply to read") from exc
    except (OSError, MemoryError) as exc:
        raise DocumentError(f"{path.name}: cannot read the file ({exc})") from exc
    except Exception as exc:  # any parser library failure becomes a typed, explained error
        raise CorruptDocumentError(
            f"{path.name}: cannot parse this {suffix} file ({type(exc).__name__}: {exc}); "
            "check that it opens in its application and is not damaged"
        ) from exc
    document.blocks = [b for b in document.blocks if b.text]
    if not document.blocks:
        raise EmptyDocumentError(f"{path.name}: no text could be extracted")
    return document
