"""FakeEmbedder properties and the embedder / reranker registries."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kotae.backends.embedders import Embedder, create_embedder, embedder_names
from kotae.backends.registry import BackendRegistry
from kotae.backends.rerankers import Reranker, create_reranker, reranker_names
from kotae.errors import ConfigError
from kotae.testing import FakeEmbedder, FakeReranker


def test_fake_embedder_shape_dtype_and_unit_rows() -> None:
    embedder = FakeEmbedder(dim=48)
    vectors = embedder.embed(["経費精算の申請期限", "password reset", ""])
    assert vectors.shape == (3, 48)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_fake_embedder_is_deterministic_across_instances() -> None:
    first = FakeEmbedder(dim=32).embed(["情報セキュリティ研修", "VPN の設定"])
    second = FakeEmbedder(dim=32).embed(["情報セキュリティ研修", "VPN の設定"])
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("anchor", "similar", "unrelated"),
    [
        ("経費精算の申請期限", "経費精算の締め切り", "パソコンを紛失した時の連絡先"),
        ("how to reset my password", "reset the password", "holiday schedule for march"),
    ],
)
def test_fake_embedder_similar_texts_are_closer(anchor: str, similar: str, unrelated: str) -> None:
    vectors = FakeEmbedder(dim=256).embed([anchor, similar, unrelated])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_fake_embedder_rows_are_unit_for_any_text(texts: list[str]) -> None:
    vectors = FakeEmbedder(dim=16).embed(texts)
    assert vectors.shape == (len(texts), 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_fake_embedder_prefixes_change_query_vectors_only() -> None:
    embedder = FakeEmbedder(dim=64, query_prefix="query: ")
    query = embedder.embed(["経費"], kind="query")
    passage = embedder.embed(["経費"], kind="passage")
    assert not np.allclose(query, passage)
    np.testing.assert_array_equal(passage, FakeEmbedder(dim=64).embed(["経費"]))


def test_create_embedder_builds_the_fake_backend_by_name() -> None:
    embedder = create_embedder("fake", {"dim": 8})
    assert isinstance(embedder, Embedder)
    assert embedder.name == "fake:8"
    assert embedder.embed(["a"]).shape == (1, 8)
    assert {"fake", "openai", "sentence-transformers"} <= set(embedder_names())


def test_unknown_backend_is_a_config_error_listing_known_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown embedder backend 'nope'.*'fake'"):
        create_embedder("nope", {})


@pytest.mark.parametrize(
    ("name", "options", "pattern"),
    [
        ("fake", {"dimm": 8}, r"dimm: Extra inputs are not permitted.*Allowed options: dim"),
        ("fake", {"dim": 0}, r"dim: Input should be greater than 0"),
        ("sentence-transformers", {"device": "cpu"}, r"model: Field required"),
        ("sentence-transformers", {"model": "x", "batchsize": 2}, r"batchsize: Extra inputs"),
        ("openai", {"model": "m", "base_url": "ftp://host"}, r"base_url: .*http://"),
        ("openai", {"model": "m", "timeout_s": -1}, r"timeout_s: Input should be greater"),
    ],
)
def test_bad_options_are_config_errors_naming_the_option(
    name: str, options: dict[str, object], pattern: str
) -> None:
    with pytest.raises(ConfigError, match=pattern):
        create_embedder(name, options)


def test_sentence_transformers_refuses_a_hub_id_with_download_instructions() -> None:
    with pytest.raises(ConfigError) as caught:
        create_embedder("sentence-transformers", {"model": "intfloat/multilingual-e5-small"})
    message = str(caught.value)
    assert "hub id" in message
    assert "huggingface-cli download" in message
    assert "--local-dir" in message


def test_sentence_transformers_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        create_embedder("sentence-transformers", {"model": str(tmp_path / "missing")})


def test_fake_reranker_prefers_overlapping_passages() -> None:
    reranker = create_reranker("fake", {})
    assert isinstance(reranker, Reranker)
    assert isinstance(reranker, FakeReranker)
    scores = reranker.rerank("経費精算の期限", ["経費精算の期限は月末です", "VPN の設定方法", ""])
    assert scores.dtype == np.float32
    assert scores[0] > scores[1] >= scores[2] == 0.0
    assert {"cross-encoder", "fake"} <= set(reranker_names())


def test_unknown_reranker_and_bad_reranker_option_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown reranker backend"):
        create_reranker("bm25-magic", {})
    with pytest.raises(ConfigError, match="Extra inputs"):
        create_reranker("fake", {"model": "x"})
    with pytest.raises(ConfigError, match="hub id"):
        create_reranker("cross-encoder", {"model": "hotchpotch/some-reranker"})


def _install_plugin(site: Path, entry_point_line: str) -> None:
    """A real installed distribution (dist-info on sys.path) with one kotae.backends entry."""
    (site / "kotae_test_plugin.py").write_text(
        "from kotae.testing import FakeEmbedder\n"
        "def create(options):\n"
        "    return FakeEmbedder(dim=int(options.get('width', 4)))\n"
        "NOT_A_FACTORY = 3\n",
        encoding="utf-8",
    )
    dist_info = site / "kotae_test_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kotae-test-plugin\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[kotae.backends]\n{entry_point_line}\n", encoding="utf-8"
    )


def test_plugins_register_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "embedder.width-embedder = kotae_test_plugin:create")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kotae_test_plugin", raising=False)
    registry: BackendRegistry[Embedder] = BackendRegistry("embedder")
    assert "width-embedder" in registry.names()  # beside kotae's own "fake" plug-in
    assert registry.create("width-embedder", {"width": 12}).dim == 12
    rerankers: BackendRegistry[Reranker] = BackendRegistry("reranker")
    assert "width-embedder" not in rerankers.names()  # the plug-in registered an embedder


def test_a_plugin_that_is_not_a_factory_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "embedder.broken = kotae_test_plugin:NOT_A_FACTORY")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: BackendRegistry[Embedder] = BackendRegistry("embedder")
    with pytest.raises(ConfigError, match="not a factory"):
        registry.create("broken", {})


def test_fake_embedder_row_is_unit_even_when_features_cancel() -> None:
    # "0" hashes its two features into one slot with opposite signs at dim 16
    vectors = FakeEmbedder(dim=16).embed(["0"])
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-6
