"""Optional OCR with Tesseract (the ``kotae[ocr]`` extra: pytesseract + pillow, plus the
Debian packages ``tesseract-ocr tesseract-ocr-jpn``).

Tesseract runs single-threaded (``OMP_THREAD_LIMIT=1`` unless set): faster on small
machines. Used for image files (.png .jpg .jpeg .tif .tiff .webp) and for PDF pages without a text
layer. Recognition runs with ``jpn+eng`` (``eng`` alone if the Japanese model is missing);
the spaces Tesseract puts between Japanese characters are removed.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from pathlib import Path
from typing import Any

from kotae.documents.model import Block, LoadedDocument
from kotae.documents.text import join_wrapped_lines
from kotae.errors import CorruptDocumentError, UnsupportedFormatError
from kotae.text.language import JAPANESE_TEXT
from kotae.text.normalize import normalize_text

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"})
OCR_HINT = (
    "install kotae[ocr] (pip install 'kotae[ocr]') and tesseract-ocr-jpn "
    "(apt-get install tesseract-ocr tesseract-ocr-jpn)"
)
MAX_SIDE_PX = 3500  # larger scans (600 dpi) are downscaled: as accurate, several times faster
MIN_SIDE_PX = 1600  # smaller images (screen resolution) are upscaled: far fewer OCR errors
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{JAPANESE_TEXT}]) +(?=[{JAPANESE_TEXT}])")


@functools.lru_cache(maxsize=1)
def _languages() -> str | None:
    """The Tesseract language string to use, or None when OCR is not available."""
    try:
        import PIL  # noqa: F401
        import pytesseract
    except ImportError:
        return None
    if shutil.which("tesseract") is None:
        return None
    try:
        installed = set(pytesseract.get_languages(config=""))
    except Exception:  # a broken tesseract install: treat as absent
        return None
    if "eng" not in installed:
        return None
    return "jpn+eng" if "jpn" in installed else "eng"


def ocr_available() -> bool:
    """True when pytesseract, pillow and the tesseract binary (with ``eng``) are installed."""
    return _languages() is not None


def ocr_image(image: Any) -> str:
    """OCR a PIL image (or a path) with ``jpn+eng``; returns the recognized text."""
    import pytesseract
    from PIL import Image

    langs = _languages()
    if langs is None:
        raise UnsupportedFormatError(f"OCR is not available: {OCR_HINT}")
    if not isinstance(image, Image.Image):
        image = Image.open(image)
    image = _prepare(image)
    # Tesseract's OpenMP threads slow it down on small machines (measured 2.3x on 2 cores);
    # a value the user set is kept.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    text = str(pytesseract.image_to_string(image, lang=langs))
    return _SPACE_BETWEEN_CJK.sub("", text)


def _prepare(image: Any) -> Any:
    from PIL import Image

    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    longest = max(image.size)
    if longest > MAX_SIDE_PX:
        scale = MAX_SIDE_PX / longest
    elif longest < MIN_SIDE_PX:
        scale = min(3.0, MIN_SIDE_PX / longest)
    else:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def load_image(path: Path) -> LoadedDocument:
    """OCR every frame of an image file (multi-page TIFFs give one page per frame)."""
    if not ocr_available():
        raise UnsupportedFormatError(
            f"unsupported format {path.suffix.lower()}: images need OCR: {OCR_HINT}"
        )
    from PIL import Image, ImageSequence, UnidentifiedImageError

    blocks: list[Block] = []
    try:
        with Image.open(path) as image:
            frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
        for number, frame in enumerate(frames, start=1):
            page = number if len(frames) > 1 else None
            for paragraph in _BLANK_LINES.split(ocr_image(frame)):
                text = normalize_text(join_wrapped_lines(paragraph.split("\n")))
                if text:
                    blocks.append(Block(text, "paragraph", page=page))
    except (UnidentifiedImageError, OSError) as exc:
        raise CorruptDocumentError(f"{path.name}: cannot read the image ({exc})") from exc
    return LoadedDocument(
        title=path.stem, blocks=blocks, format="image", metadata={"ocr": "tesseract"}
    )
