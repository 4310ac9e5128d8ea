"""The knowledge base end to end through the library: ingest, search, update, sync, ACL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kotae.errors import DocumentError, KnowledgeBaseError, QueryError
from kotae.kb import Access, KnowledgeBase, init_kb, open_kb
from tests.conftest import write

EXPENSE = """# 経費精算規程

## 申請期限

経費の申請は、支出した月の翌月10日までに行うこと。領収書の原本を添付する。

## 出張旅費

宿泊費の上限は1泊12,000円とする。日当は2,000円を支給する。
"""

SECURITY = """# 情報セキュリティ

PCを紛失した場合は、直ちに情報システム部(内線1234)へ連絡すること。
"""

ENGLISH = """# API guide

The API allows 600 requests per minute per key. Exceeding the rate limit returns HTTP 429.
"""


def _docs(root: Path) -> Path:
    write(root / "経費精算規程.md", EXPENSE)
    write(root / "security.md", SECURITY)
    write(root / "api.md", ENGLISH)
    return root


def test_ingest_and_search_japanese_and_english(kb: KnowledgeBase, tmp_path: Path) -> None:
    report = kb.ingest([_docs(tmp_path / "docs")])
    assert (report.added, report.failures) == (3, [])
    hits = kb.search("出張の宿泊費の上限はいくら?", k=3)
    assert hits[0].title == "経費精算規程"
    assert "12,000円" in hits[0].text
    assert hits[0].heading_path == ("経費精算規程", "出張旅費")
    assert any(hits[0].snippet[s:e] in ("宿泊費", "上限", "出張") for s, e in hits[0].highlights)
    english = kb.search("what is the rate limit of the API", k=3)
    assert english[0].source.endswith("api.md")
    assert english[0].document_id != hits[0].document_id


def test_unchanged_files_are_skipped_and_changed_replaced(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = _docs(tmp_path / "docs")
    kb.ingest([docs])
    again = kb.ingest([docs])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    write(docs / "api.md", ENGLISH.replace("600", "900"))
    changed = kb.ingest([docs])
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 2)
    hits = kb.search("requests per minute", k=1)
    assert "900" in hits[0].text and "600" not in hits[0].text
    doc = kb.catalog.document(hits[0].document_id)
    assert doc is not None and doc.version == 2
    assert kb.lexical.num_chunks() == kb.catalog.counts()["chunks"]


def test_sync_removes_documents_whose_files_are_gone(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = _docs(tmp_path / "docs")
    kb.ingest([docs])
    (docs / "security.md").unlink()
    kept = kb.ingest([docs])
    assert kept.removed == 0 and len(kb.documents()) == 3
    synced = kb.ingest([docs], sync=True)
    assert synced.removed == 1
    assert [d.title for d in kb.documents() if "security" in d.source] == []
    hits = kb.search("PCを紛失した場合の連絡先", k=5, access=Access.everything())
    assert all("security" not in r.source for r in hits)


def test_failed_file_is_reported_and_run_goes_on(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = _docs(tmp_path / "docs")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "tool.exe").write_bytes(b"MZ\x00\x00")
    report = kb.ingest([docs])
    assert report.added == 3
    reasons = {Path(f.source).name: f.reason for f in report.failures}
    assert reasons == {"broken.pdf": "corrupt", "empty.txt": "empty", "tool.exe": "unsupported"}


def test_acl_hides_documents_inside_retrieval(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([_docs(tmp_path / "public")])
    secret = write(
        tmp_path / "secret" / "board.md", "# 役員会\n\n宿泊費の上限を15,000円に改定する。"
    )
    kb.ingest([secret], groups=["executives"])
    kb.catalog.set_user("sato", ["executives"])
    kb.catalog.set_user("suzuki", ["sales"])
    exec_hits = kb.search("宿泊費の上限", k=5, access=kb.access_for(user="sato"))
    assert any(r.source.endswith("board.md") for r in exec_hits)
    for access in (Access.public(), kb.access_for(user="suzuki"), kb.access_for(groups=["x"])):
        hits = kb.search("宿泊費の上限", k=5, access=access)
        assert hits and all(not r.source.endswith("board.md") for r in hits)
    with pytest.raises(QueryError):
        kb.access_for(user="nobody")


def test_acl_change_reindexes_even_when_content_is_unchanged(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = write(tmp_path / "memo.md", "# メモ\n\n新製品の価格改定について")
    kb.ingest([path], groups=["executives"])
    assert kb.search("価格改定", access=Access.public()) == []
    report = kb.ingest([path])  # without --acl the rule is kept: never public by accident
    assert (report.updated, report.unchanged) == (0, 1)
    assert kb.search("価格改定", access=Access.public()) == []
    changes = kb.remove_acl([str(path.resolve())])  # now public, on purpose
    assert [(c.before, c.after) for c in changes] == [(("executives",), ())]
    assert len(kb.search("価格改定", access=Access.public())) == 1


def test_jsonl_records_become_documents(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = write(
        tmp_path / "corpus.jsonl",
        '{"id": "a1", "title": "VPN", "text": "VPN接続にはワンタイムパスワードが必要です。"}\n'
        '{"id": "a2", "title": "勤怠", "text": "残業は事前に申請してください。"}\n',
    )
    report = kb.ingest([corpus])
    assert report.added == 2
    hit = kb.search("残業の申請", k=1)[0]
    assert hit.source.endswith("corpus.jsonl#a2") and hit.title == "勤怠"
    write(
        corpus,
        '{"id": "a1", "title": "VPN", "text": "VPN接続にはワンタイムパスワードが必要です。"}\n',
    )
    assert kb.ingest([corpus], sync=True).removed == 1


def test_malformed_jsonl_fails_whole_and_writes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = write(tmp_path / "c.jsonl", '{"id": "1", "text": "ok"}\nnot json\n')
    report = kb.ingest([corpus])
    assert [f.reason for f in report.failures] == ["error"]
    assert kb.documents() == []


def test_missing_path_is_an_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file"):
        kb.ingest([tmp_path / "nope"])


def test_empty_query_is_rejected(kb: KnowledgeBase) -> None:
    with pytest.raises(QueryError):
        kb.search("   ")


def test_open_missing_kb_says_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="kotae init"):
        open_kb(tmp_path / "none")


def test_stale_lexical_index_catches_up_on_open(tmp_path: Path) -> None:
    base = init_kb(tmp_path / "kb")
    base.ingest([_docs(tmp_path / "docs")])
    generation = base.catalog.generation()
    base.close()
    # Simulate a crash after the catalog commit but before the index caught up:
    # remove a document in SQLite only.
    con = sqlite3.connect(tmp_path / "kb" / "kotae.db")
    doc_id = con.execute("SELECT id FROM documents WHERE source LIKE '%api.md'").fetchone()[0]
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(generation + 1),))
    con.execute("DELETE FROM documents WHERE id=?", (doc_id,))
    con.execute("INSERT INTO changes VALUES (?, ?)", (generation + 1, doc_id))
    con.commit()
    con.close()
    reopened = open_kb(tmp_path / "kb")
    assert reopened.lexical.generation == generation + 1
    assert reopened.lexical.num_chunks() == reopened.catalog.counts()["chunks"]
    assert reopened.search("rate limit", access=Access.everything()) == []
    reopened.close()


def test_lost_lexical_index_is_rebuilt(tmp_path: Path) -> None:
    import shutil

    base = init_kb(tmp_path / "kb")
    base.ingest([_docs(tmp_path / "docs")])
    base.close()
    shutil.rmtree(tmp_path / "kb" / "index" / "lexical")
    reopened = open_kb(tmp_path / "kb")
    assert reopened.search("宿泊費", k=1)[0].title == "経費精算規程"
    reopened.close()


def test_remove_documents(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([_docs(tmp_path / "docs")])
    doc = kb.search("宿泊費", k=1)[0]
    assert kb.remove_documents([doc.document_id, 99999]) == 1
    assert all(r.document_id != doc.document_id for r in kb.search("宿泊費", k=5))
    assert kb.status()["documents"] == 2


def test_index_built_by_another_analyzer_is_rebuilt(tmp_path: Path) -> None:
    import json

    base = init_kb(tmp_path / "kb")
    base.ingest([_docs(tmp_path / "docs")])
    base.close()
    meta_path = tmp_path / "kb" / "index" / "lexical" / "index.json"
    meta = json.loads(meta_path.read_text())
    meta["analyzer"] = "kotae-ja-en/0/old-dictionary"
    meta_path.write_text(json.dumps(meta))
    reopened = open_kb(tmp_path / "kb")
    assert reopened.lexical.analyzer == reopened.analyzer_id
    assert reopened.search("宿泊費の上限", k=1)[0].title == "経費精算規程"
    assert json.loads(meta_path.read_text())["analyzer"] == reopened.analyzer_id
    reopened.close()
