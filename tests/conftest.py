from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kotae.kb import KnowledgeBase, init_kb

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "docs"
SHARED = Path(os.environ.get("KOTAE_SHARED", REPO.parent / "shared"))


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = init_kb(tmp_path / "kb")
    yield base
    base.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
