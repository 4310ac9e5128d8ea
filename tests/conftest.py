from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kotae.backends.embedders import EMBEDDERS
from kotae.backends.generators import GENERATORS
from kotae.backends.rerankers import RERANKERS
from kotae.index.catalog import Catalog
from kotae.kb import KnowledgeBase, init_kb
from kotae.testing import create_fake_embedder, create_fake_generator, create_fake_reranker

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "docs"
SHARED = Path(os.environ.get("KOTAE_SHARED", REPO.parent / "shared"))

pytest_plugins = ["tests.browser"]  # the `chromium` fixture of the HTML-page tests

# The fakes reach the CLI in a subprocess through kotae's own entry points (pyproject.toml);
# in this process the tests register them directly, so they work from a source checkout too.
EMBEDDERS.register("fake", create_fake_embedder)
RERANKERS.register("fake", create_fake_reranker)
GENERATORS.register("fake", create_fake_generator)


@pytest.fixture(autouse=True)
def english_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI speaks the locale's language (kotae.messages): tests that compare English
    output get English whatever the machine's LANG; tests of Japanese set it themselves."""
    monkeypatch.setenv("KOTAE_LANG", "en")


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = init_kb(tmp_path / "kb")
    yield base
    base.close()


@contextmanager
def catalog_of(kb_dir: Path) -> Iterator[Catalog]:
    """The catalog (the SQLite store) of the knowledge base in ``kb_dir``, opened alone."""
    catalog = Catalog(kb_dir / "kotae.db")
    try:
        yield catalog
    finally:
        catalog.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GGUF of :func:`kotae.tiny_models.build_tiny_llama`'s random Llama (f32, ~1 MB;
    its Hugging Face folder is the sibling ``hf/``), converted once per session with
    llama.cpp's converter (``tests/integration/gguf.py``). Skips when llama_cpp, gguf,
    torch/transformers or the converter source (``$KOTAE_LLAMA_CONVERTER``, default
    ``.cache/llama-src/...``, see ``make test-integration``) is missing."""
    from tests.integration.gguf import build_tiny_gguf, missing_requirement

    reason = missing_requirement()
    if reason is not None:
        if os.environ.get("KOTAE_REQUIRE_INTEGRATION"):  # make test-integration: no silent skip
            pytest.fail(f"integration requirement missing: {reason}")
        pytest.skip(reason)
    return build_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf"))
