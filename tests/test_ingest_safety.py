"""Nothing lost on bad input: ``--sync`` removes only what is really gone from the source,
never what failed to read; a failed embedding leaves the knowledge base whole."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pytest

import kotae.dense
import kotae.ingest
from kotae.errors import BackendError
from kotae.kb import Access, KnowledgeBase, init_kb, open_kb
from kotae.testing import FakeEmbedder
from tests.bombs import real_docx
from tests.conftest import write

FAKE_TOML = '[embedder]\nbackend = "fake"\ndim = 32\n'


def snapshot(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Every document's source -> its chunk texts, in order."""
    rows = kb.catalog.con.execute(
        "SELECT d.source, c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
        "ORDER BY d.source, c.ordinal"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for source, text in rows:
        out.setdefault(source, []).append(text)
    return out


def jsonl(path: Path, records: Sequence[tuple[str, str]], extra: str = "") -> Path:
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in records]
    path.write_text("\n".join(lines) + "\n" + extra, "utf-8")
    return path


def test_sync_keeps_every_record_of_a_jsonl_with_a_malformed_line(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    corpus = jsonl(tmp_path / "c.jsonl", [(f"r{i}", f"記録{i} の本文 zq{i}q") for i in range(5)])
    assert kb.ingest([corpus]).added == 5
    before = snapshot(kb)
    jsonl(corpus, [(f"r{i}", f"記録{i} の本文 zq{i}q") for i in range(5)], "{not json\n")
    report = kb.ingest([corpus], sync=True)
    assert (report.removed, len(report.failures)) == (0, 1)
    assert "c.jsonl:6" in report.failures[0].message
    assert snapshot(kb) == before
    assert kb.search("zq3q", k=1)[0].source.endswith("c.jsonl#r3")


def test_sync_of_a_folder_keeps_a_file_whose_parser_fails(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.md", "# A\n\n残る文書 alpha")
    real_docx(docs / "b.docx", "壊れる前の本文 bravo")
    real_docx(docs / "sub" / "c.docx", "消える文書 charlie")
    assert kb.ingest([docs]).added == 3
    before = snapshot(kb)
    (docs / "b.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (docs / "sub" / "c.docx").unlink()
    report = kb.ingest([docs], sync=True)
    assert report.removed == 1 and [f.reason for f in report.failures] == ["corrupt"]
    after = snapshot(kb)
    assert after == {k: v for k, v in before.items() if not k.endswith("c.docx")}
    assert kb.search("bravo", k=1)[0].source.endswith("b.docx")


def test_sync_of_a_single_file_keeps_it_when_it_cannot_be_read(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = write(tmp_path / "one.md", "# One\n\n単独のファイル")
    kb.ingest([single])
    before = snapshot(kb)

    def unreadable(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(kotae.ingest, "file_hash", unreadable)  # root reads any mode
    report = kb.ingest([single], sync=True)
    assert report.removed == 0 and report.failures[0].reason == "unreadable"
    assert snapshot(kb) == before


def test_sync_keeps_the_documents_of_a_folder_that_cannot_be_listed(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.md", "# A\n\nalpha")
    write(docs / "locked" / "b.md", "# B\n\nbravo")
    write(docs / "locked" / "deep" / "c.md", "# C\n\ncharlie")
    kb.ingest([docs])
    before = snapshot(kb)
    real_scandir = os.scandir
    locked = str(docs / "locked")

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == locked:  # root ignores permission bits: fail it here
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = kb.ingest([docs], sync=True)
    assert report.removed == 0
    assert [(f.reason, f.source) for f in report.failures] == [("unreadable", locked)]
    assert snapshot(kb) == before


def test_a_link_leaving_the_folder_is_refused_and_dropped_by_sync(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.md", "# A\n\npublic text")
    secret = write(tmp_path / "private" / "secret.md", "# S\n\nthe launch code is zqsecretq")
    (docs / "leak.md").symlink_to(secret)
    (docs / "leakdir").symlink_to(secret.parent, target_is_directory=True)
    write(docs / "inner.md", "# I\n\ninside link target")
    (docs / "inner-link.md").symlink_to(docs / "inner.md")
    kb.ingest([docs], follow_symlinks=True)  # an earlier run that followed the link
    assert kb.search("zqsecretq", k=5, access=Access.everything())
    report = kb.ingest([docs], sync=True)
    refused = sorted(f.source for f in report.failures if f.reason == "refused")
    assert refused == [str(docs.resolve() / "leak.md"), str(docs.resolve() / "leakdir")]
    assert all("--follow-symlinks" in f.message for f in report.failures)
    assert kb.search("zqsecretq", k=5, access=Access.everything()) == []
    assert {Path(s).name for s in snapshot(kb)} == {"a.md", "inner.md", "inner-link.md"}


def test_a_fifo_is_refused_instead_of_blocking(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs / "a.md", "# A\n\nalpha")
    fifo = docs / "pipe.txt"
    os.mkfifo(fifo)

    def unblock() -> None:  # a regression would block on open(): release it, fail the test
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = threading.Timer(10, unblock)
    watchdog.start()
    try:
        report = kb.ingest([docs])
    finally:
        watchdog.cancel()
    assert report.added == 1 and [f.reason for f in report.failures] == ["refused"]


# ---------------------------------------------------------------- embedding failures


class FlakyEmbedder(FakeEmbedder):
    """Fails (raises, or answers one vector short) from its ``fail_at``-th call on."""

    def __init__(self, fail_at: int, mode: Literal["raise", "short"], name: str = "") -> None:
        super().__init__(dim=32)
        self.fail_at = fail_at
        self.mode = mode
        self.name = name or self.name
        self.sizes: list[int] = []

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage") -> Any:
        self.sizes.append(len(texts))
        vectors = super().embed(texts, kind)
        if kind == "passage" and self.calls >= self.fail_at:
            if self.mode == "raise":
                raise BackendError("embedder unavailable (injected)")
            return vectors[:-1]
        return vectors


def fake_kb(path: Path) -> KnowledgeBase:
    init_kb(path).close()
    (path / "kotae.toml").write_text(FAKE_TOML, "utf-8")
    return open_kb(path)


def test_a_failed_embedding_batch_rolls_back_its_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = fake_kb(tmp_path / "kb")
    docs = tmp_path / "docs"
    for i in range(6):
        write(docs / f"d{i}.md", f"# D{i}\n\n本文 {i}")
    kb.ingest([docs])
    monkeypatch.setattr(kotae.dense, "EMBED_BATCH", 2)
    kb.dense._embedder = FlakyEmbedder(fail_at=2, mode="short", name="other")
    with pytest.raises(BackendError):
        kb.dense.embed_missing()
    assert not kb.catalog.con.in_transaction
    kb.dense._embedder = FakeEmbedder(dim=32)
    write(docs / "d9.md", "# D9\n\nnext write works")
    assert kb.ingest([docs]).added == 1
    kb.close()


def test_an_embedder_failure_during_ingestion_leaves_every_document_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kotae.ingest, "BATCH_CHUNKS", 1)  # one catalog write per document
    kb = fake_kb(tmp_path / "kb")
    docs = tmp_path / "docs"
    for i in range(4):
        write(docs / f"d{i}.md", f"# D{i}\n\nversion one zqv1d{i}q")
    kb.ingest([docs])
    for i in range(4):
        write(docs / f"d{i}.md", f"# D{i}\n\nversion two zqv2d{i}q")
    kb.dense._embedder = FlakyEmbedder(fail_at=4, mode="raise")
    with pytest.raises(BackendError):
        kb.ingest([docs])
    assert not kb.catalog.con.in_transaction
    texts = snapshot(kb)
    written = [i for i in range(4) if f"zqv2d{i}q" in texts[str(docs.resolve() / f"d{i}.md")][0]]
    assert written and len(written) < 4  # some batches were written before the failure
    counts = kb.catalog.counts()
    assert counts["vectors"] == counts["chunks"] == kb.dense.status()["vectors"]
    everyone = Access.everything()
    monkeypatch.setattr(kb.settings.retrieval, "mode", "lexical")  # the lexical index alone
    for i in range(4):  # the same process searches what the catalog holds, nothing stale
        version = 2 if i in written else 1
        hits = kb.search(f"zqv{version}d{i}q", k=3, access=everyone)
        assert hits[0].source == str(docs.resolve() / f"d{i}.md")
        assert f"zqv{version}d{i}q" in hits[0].text
        other = f"zqv{3 - version}d{i}q"
        assert not any(other in h.text for h in kb.search(other, k=10, access=everyone))
    monkeypatch.setattr(kb.settings.retrieval, "mode", "hybrid")
    kb.dense._embedder = FakeEmbedder(dim=32)
    assert kb.ingest([docs]).updated == 4 - len(written)
    kb.close()


def test_a_long_document_is_embedded_in_batches(tmp_path: Path) -> None:
    kb = fake_kb(tmp_path / "kb")
    paragraphs = "\n\n".join(f"## 節{i}\n\n" + f"段落{i}の本文です。" * 80 for i in range(150))
    write(tmp_path / "docs" / "long.md", "# 長い文書\n\n" + paragraphs)
    embedder = FlakyEmbedder(fail_at=10**9, mode="raise")
    kb.dense._embedder = embedder
    report = kb.ingest([tmp_path / "docs"])
    assert report.chunks > kotae.dense.EMBED_BATCH
    assert max(embedder.sizes) <= kotae.dense.EMBED_BATCH
    assert sum(embedder.sizes) == report.chunks
    assert kb.catalog.counts()["vectors"] == report.chunks
    kb.close()


def test_a_stop_keeps_what_was_read_and_leaves_the_rest_out(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for n in range(5):
        write(docs / f"規程{n}.md", f"# 規程{n}\n\n第{n}条 経費の申請は翌月{n + 1}日まで。")
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # after two files

    with init_kb(tmp_path / "kb") as kb:
        report = kb.ingest([docs], stop=stop, sync=True)
        assert report.stopped and report.added == 2 and report.removed == 0
        assert len(kb.catalog.documents()) == 2
        assert kb.lexical.num_chunks() == len(list(kb.catalog.all_chunks()))
        again = kb.ingest([docs], sync=True)  # the rest, and nothing removed before
        assert not again.stopped and again.added == 3 and again.unchanged == 2
