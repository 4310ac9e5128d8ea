"""Load files into :class:`LoadedDocument` (structural blocks) and chunk them.

``load_document(path)`` picks a loader by extension (case-insensitive). Every failure is a
:class:`~kotae.errors.DocumentError` subclass with a message that says what to do; a parser
library's own exception never escapes.
"""

from __future__ import annotations

import importlib
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
    "CORPUS_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "Block",
    "Chunk",
    "LoadedDocument",
    "load_document",
    "supported_extensions",
]

Loader = Callable[[Path], LoadedDocument]

# Extension -> (module, loader function): the one list of what load_document reads (images,
# through OCR, come from kotae.documents.ocr.IMAGE_EXTENSIONS). Modules load when needed.
_LOADERS: dict[str, tuple[str, str]] = {
    ".txt": ("kotae.documents.text", "load_txt"),
    ".text": ("kotae.documents.text", "load_txt"),
    ".md": ("kotae.documents.text", "load_markdown"),
    ".markdown": ("kotae.documents.text", "load_markdown"),
    ".csv": ("kotae.documents.text", "load_csv"),
    ".tsv": ("kotae.documents.text", "load_csv"),
    ".json": ("kotae.documents.text", "load_json"),
    ".html": ("kotae.documents.html", "load_html"),
    ".htm": ("kotae.documents.html", "load_html"),
    ".pdf": ("kotae.documents.pdf", "load_pdf"),
    ".eml": ("kotae.documents.email", "load_eml"),
    ".docx": ("kotae.documents.office", "load_docx"),
    ".pptx": ("kotae.documents.office", "load_pptx"),
    ".xlsx": ("kotae.documents.office", "load_xlsx"),
    ".xlsm": ("kotae.documents.office", "load_xlsx"),
    ".xls": ("kotae.documents.office", "load_xls"),
    ".odt": ("kotae.documents.office", "load_odt"),
    ".doc": ("kotae.documents.office", "load_legacy_office"),
    ".ppt": ("kotae.documents.office", "load_legacy_office"),
}
_LEGACY = frozenset({".doc", ".ppt"})  # only with LibreOffice
_CORE_EXTENSIONS = frozenset(_LOADERS) - _LEGACY
CORPUS_EXTENSIONS = frozenset({".jsonl"})  # read by kotae.ingest: one document per record


def _loader_for(suffix: str) -> Loader | None:
    """The loader function for an extension; modules are imported only when needed."""
    entry = _LOADERS.get(suffix)
    if entry is None:
        from kotae.documents.ocr import IMAGE_EXTENSIONS

        if suffix not in IMAGE_EXTENSIONS:
            return None
        entry = ("kotae.documents.ocr", "load_image")
    loader: Loader = getattr(importlib.import_module(entry[0]), entry[1])
    return loader


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
    return (
        f"unsupported format {shown}: supported are "
        f"{', '.join(sorted(_CORE_EXTENSIONS | CORPUS_EXTENSIONS))}; "
        f"{', '.join(sorted(_LEGACY))} with LibreOffice; "
        f"{', '.join(sorted(IMAGE_EXTENSIONS))} with OCR"
    )


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
