"""Hybrid retrieval in a knowledge base: vectors stored in the catalog, ACL inside the search."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kotae.config import load_settings
from kotae.kb import Access, KnowledgeBase, init_kb, open_kb
from tests.conftest import write

HYBRID_TOML = """
[embedder]
backend = "fake"
dim = 64
"""


def _kb(tmp_path: Path, toml: str = HYBRID_TOML) -> KnowledgeBase:
    path = tmp_path / "kb"
    init_kb(path).close()
    (path / "kotae.toml").write_text(toml, "utf-8")
    return open_kb(path)


def _corpus(root: Path) -> Path:
    write(root / "a.md", "# 経費\n\n出張の宿泊費の上限は12,000円です。")
    write(root / "b.md", "# VPN\n\nVPN接続にはワンタイムパスワードが必要です。")
    write(root / "c.md", "# API\n\nThe API allows 600 requests per minute.")
    return root


def test_hybrid_search_uses_stored_vectors(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.ingest([_corpus(tmp_path / "docs")])
    assert kb.catalog.counts()["vectors"] == kb.catalog.counts()["chunks"] == 3
    status = kb.status()
    assert status["dense"]["vectors"] == 3 and status["embedder"] == "fake"
    hits = kb.search("宿泊費の上限", k=3)
    assert hits[0].title == "経費"
    dense_only = kb.dense.search("VPN接続 パスワード", 3, Access.everything())
    assert kb.catalog.chunks_by_id([dense_only[0][0]])[dense_only[0][0]].title == "VPN"
    kb.close()


def test_dense_search_filters_inside_and_returns_k(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    docs = tmp_path / "docs"
    for i in range(12):
        write(docs / "secret" / f"s{i}.md", f"# 秘密{i}\n\n宿泊費の上限 宿泊費の上限 {i}")
    for i in range(4):
        write(docs / "public" / f"p{i}.md", f"# 公開{i}\n\n出張の規程 {i}")
    kb.ingest([docs / "secret"], groups=["board"])
    kb.ingest([docs / "public"])
    hits = kb.dense.search("宿泊費の上限", 4, Access.public())
    titles = {kb.catalog.chunks_by_id([c])[c].title for c, _ in hits}
    assert len(hits) == 4 and all(t.startswith("公開") for t in titles)
    board = kb.dense.search("宿泊費の上限", 4, Access(frozenset({"board"})))
    assert all(kb.catalog.chunks_by_id([c])[c].title.startswith("秘密") for c, _ in board)
    kb.close()


def test_vector_index_follows_removals_and_rebuilds_without_reembedding(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.ingest([_corpus(tmp_path / "docs")])
    doc = kb.search("VPN", k=1)[0].document_id
    kb.remove_documents([doc])
    assert kb.dense.status()["vectors"] == 2
    kb.close()
    import shutil

    shutil.rmtree(tmp_path / "kb" / "index" / "vectors")
    reopened = open_kb(tmp_path / "kb")
    assert reopened.dense.status()["vectors"] == 2
    reopened.close()


def test_embedder_added_later_embeds_missing_chunks(tmp_path: Path) -> None:
    kb = _kb(tmp_path, toml="")
    kb.ingest([_corpus(tmp_path / "docs")])
    assert kb.catalog.counts()["vectors"] == 0
    kb.close()
    (tmp_path / "kb" / "kotae.toml").write_text(HYBRID_TOML, "utf-8")
    kb = open_kb(tmp_path / "kb")
    assert kb.dense.embed_missing() == 3
    assert kb.dense.status()["vectors"] == 3
    kb.close()


def test_settings_from_environment_override_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "kotae.toml"
    toml.write_text("[retrieval]\ncandidates = 50\n", "utf-8")
    assert load_settings(toml).retrieval.candidates == 50
    monkeypatch.setenv("KOTAE_RETRIEVAL__CANDIDATES", "70")
    assert load_settings(toml).retrieval.candidates == 70
    assert load_settings(toml, retrieval={"candidates": 90}).retrieval.candidates == 90
    assert os.environ["KOTAE_RETRIEVAL__CANDIDATES"] == "70"


def test_bad_settings_are_one_clear_error(tmp_path: Path) -> None:
    from kotae.errors import ConfigError

    toml = tmp_path / "kotae.toml"
    toml.write_text("[retrieval]\ncandidatez = 50\n", "utf-8")
    with pytest.raises(ConfigError, match="candidatez"):
        load_settings(toml)
    toml.write_text("[retrieval\n", "utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(toml)
