"""Access rules through the library: access belongs to the source, re-ingestion never widens
it, changes are explicit and reach every index at once, group names are one namespace."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from kotae.acl import list_groups
from kotae.config import load_settings
from kotae.errors import AccessError
from kotae.index import catalog as catalog_module
from kotae.ingest import Record, ingest_records
from kotae.kb import Access, KnowledgeBase, init_kb, open_kb
from tests.conftest import SAMPLES, write

MINUTES = "役員会議事録_2026Q3.md"
FAKE_EMBEDDER = '[embedder]\nbackend = "fake"\ndim = 64\n'


def _sample_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLES, tmp_path / "docs"))


def _sources(hits: list[object]) -> set[str]:
    return {Path(h.source).name for h in hits}  # type: ignore[attr-defined]


def test_nightly_reingest_keeps_the_board_minutes_private(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The guide's own flow: docs/*.*, then confidential/ --acl executives, then the nightly
    `kotae ingest docs`. It used to report "updated 1" and make the minutes public."""
    docs = _sample_copy(tmp_path)
    kb.ingest(sorted(p for p in docs.iterdir() if p.is_file()))
    kb.ingest([docs / "confidential"], groups=["executives"])
    nightly = kb.ingest([docs])
    assert (nightly.added, nightly.updated, nightly.unchanged) == (0, 0, 11)
    assert MINUTES not in _sources(kb.search("SP-200の価格改定", k=20))
    board = kb.search("SP-200の価格改定", k=3, access=Access(frozenset({"executives"})))
    assert MINUTES in _sources(board)
    minutes = [d for d in kb.documents() if d.source.endswith(MINUTES)]
    assert [d.groups for d in minutes] == [("executives",)]
    # a changed file is replaced under the same rule, a new file in the folder inherits it
    write(docs / "confidential" / MINUTES, "# 役員会\n\nSP-200の価格改定は10%とする。")
    write(docs / "confidential" / "人事.md", "# 人事\n\nSP-200の価格改定に伴う人事異動。")
    later = kb.ingest([docs])
    assert (later.added, later.updated) == (1, 1)
    assert not {MINUTES, "人事.md"} & _sources(kb.search("SP-200の価格改定", k=20))
    assert {d.groups for d in kb.documents() if "confidential" in d.source} == {("executives",)}


def test_most_specific_rule_wins(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "share"
    for rel in ("a.md", "hr/b.md", "hr/pay/c.md", "hr/pay/d.md"):
        write(root / rel, f"# {rel}\n\n経費の規程 {rel}")
    kb.ingest([root])
    kb.ingest([root / "hr"], groups=["hr"])
    kb.ingest([root / "hr" / "pay"], groups=["payroll", "Executives"])
    changes = kb.set_acl([str((root / "hr" / "pay" / "d.md").resolve())], [])  # public, on purpose
    assert [(Path(c.source).name, c.before, c.after) for c in changes] == [
        ("d.md", ("executives", "payroll"), ())
    ]
    kb.ingest([root])  # without --acl: every rule stays
    groups = {Path(d.source).name: d.groups for d in kb.documents()}
    assert groups == {"a.md": (), "b.md": ("hr",), "c.md": ("executives", "payroll"), "d.md": ()}
    kb.ingest([root], groups=["staff"])  # a rule on the root: the deeper rules still win
    groups = {Path(d.source).name: d.groups for d in kb.documents()}
    assert groups == {
        "a.md": ("staff",),
        "b.md": ("hr",),
        "c.md": ("executives", "payroll"),
        "d.md": (),
    }
    removed = kb.remove_acl([str((root / "hr").resolve())])
    assert [(Path(c.source).name, c.after) for c in removed] == [("b.md", ("staff",))]
    with pytest.raises(AccessError, match="no access rule"):
        kb.remove_acl([str((root / "hr").resolve())])


def _open(path: Path, mode: str) -> KnowledgeBase:
    return KnowledgeBase(path, load_settings(path / "kotae.toml", retrieval={"mode": mode}))


def test_acl_change_reaches_lexical_and_dense_search_at_once_without_reparsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kb"
    init_kb(path).close()
    (path / "kotae.toml").write_text(FAKE_EMBEDDER, "utf-8")
    docs = tmp_path / "docs"
    write(docs / "board" / "minutes.md", "# 議事録\n\n宿泊費の上限を15,000円に改定する。")
    write(docs / "rules.md", "# 規程\n\n宿泊費の上限は12,000円とする。")
    with open_kb(path) as kb:
        kb.ingest([docs])
        version = {d.source: d.version for d in kb.documents()}

        def no_parsing(*args: object) -> None:
            raise AssertionError("a file was parsed again")

        monkeypatch.setattr("kotae.ingest.load_document", no_parsing)
        changes = kb.set_acl([str((docs / "board").resolve())], ["board"])
        assert [(Path(c.source).name, c.before, c.after) for c in changes] == [
            ("minutes.md", (), ("board",))
        ]
        assert {d.source: d.version for d in kb.documents()} == version
    for mode in ("lexical", "dense", "hybrid"):  # a fresh process's view of the indexes
        with _open(path, mode) as kb:
            public = kb.search("宿泊費の上限", k=5, log=False)
            assert _sources(public) == {"rules.md"}, mode
            board = kb.search("宿泊費の上限", k=5, access=Access(frozenset({"board"})), log=False)
            assert _sources(board) == {"rules.md", "minutes.md"}, mode
    with open_kb(path) as kb:
        kb.remove_acl([str((docs / "board").resolve())])
    for mode in ("lexical", "dense"):
        with _open(path, mode) as kb:
            assert _sources(kb.search("宿泊費の上限", k=5, log=False)) == {"rules.md", "minutes.md"}


def test_jsonl_records_follow_their_file_rule(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = write(
        tmp_path / "faq.jsonl",
        '{"id": "q1", "title": "VPN", "text": "VPNの接続手順"}\n'
        '{"id": "q2", "title": "給与", "text": "給与の振込日"}\n',
    )
    kb.ingest([corpus], groups=["staff"])
    assert kb.ingest([corpus]).unchanged == 2
    assert {d.groups for d in kb.documents()} == {("staff",)}
    record = f"{corpus.resolve()}#q1"
    changes = kb.set_acl([record], [])  # one record public on purpose
    assert [c.source for c in changes] == [record]
    kb.ingest([tmp_path])
    assert {d.source.rsplit("#", 1)[1]: d.groups for d in kb.documents()} == {
        "q1": (),
        "q2": ("staff",),
    }
    ingest_records(kb, "mem", [Record("r1", "t", "本文")], groups=["X"])  # prefix = the "file"
    ingest_records(kb, "mem", [Record("r2", "t", "本文二")])
    assert {d.source: d.groups for d in kb.documents() if d.source.startswith("mem")} == {
        "mem#r1": ("x",),
        "mem#r2": ("x",),
    }


def test_group_names_are_one_case_insensitive_namespace(kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = write(tmp_path / "memo.md", "# メモ\n\n価格改定について")
    kb.ingest([doc], groups=["EXECUTIVES"])
    assert kb.set_user("sato", ["Executives", "ＳＡＬＥＳ"]) == ("executives", "sales")
    assert kb.documents()[0].groups == ("executives",)
    assert kb.catalog.acl_rules() == {str(doc.resolve()): ("executives",)}
    for access in (
        kb.access_for(user="sato"),
        kb.access_for(groups=["ｅｘｅｃｕｔｉｖｅｓ"]),
        Access(frozenset({"Executives"})),
    ):
        assert len(kb.search("価格改定", access=access)) == 1
        assert [d.id for d in kb.documents(access)] == [kb.documents()[0].id]
    assert kb.search("価格改定", access=kb.access_for(groups=["sales"])) == []


@pytest.mark.parametrize(
    "name",
    ["", "  ", "a b", "a\u3000b", "a,", ",a", "総務部、経理部", "a\x07", "a\u200bb", "x" * 65,
     "__public__", "__PUBLIC__", "user:sato", "User:sato", "ｕｓｅｒ：sato"],
)  # fmt: skip
def test_bad_group_names_are_refused_before_anything_is_written(
    kb: KnowledgeBase, tmp_path: Path, name: str
) -> None:
    doc = write(tmp_path / "a.md", "# A\n\n本文")
    with pytest.raises(AccessError, match="group name"):
        kb.ingest([doc], groups=[name])
    with pytest.raises(AccessError):
        kb.set_acl([str(doc)], [name])
    with pytest.raises(AccessError):
        kb.set_user("sato", [name])
    with pytest.raises(AccessError):
        kb.access_for(groups=[name])
    assert (kb.documents(), kb.catalog.acl_rules(), kb.catalog.users()) == ([], {}, [])


def test_reading_documents_needs_access(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([write(tmp_path / "pub.md", "# 公開\n\n本文")])
    kb.ingest([write(tmp_path / "hr.md", "# 人事\n\n本文")], groups=["hr"])
    public, hidden = sorted(kb.documents(), key=lambda d: d.id)
    assert [d.id for d in kb.documents(Access.public())] == [public.id]
    assert kb.document(hidden.id, Access.public()) is None
    assert kb.document(hidden.id, Access(frozenset({"hr"}))) == hidden
    assert kb.document(hidden.id, Access.everything()) == hidden
    assert kb.document(public.id, Access.public()) == public


def test_groups_list_shows_members_rules_and_documents(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([write(tmp_path / "a" / "x.md", "# X\n\n本文"), tmp_path / "a"], groups=["hr"])
    kb.set_user("sato", ["HR", "sales"])
    kb.set_user("suzuki", ["hr"])
    groups = {g.name: g for g in list_groups(kb)}
    assert set(groups) == {"hr", "sales"}
    assert (groups["hr"].members, groups["hr"].rules, groups["hr"].documents) == (
        ("sato", "suzuki"),
        2,
        1,
    )
    assert (groups["sales"].members, groups["sales"].rules, groups["sales"].documents) == (
        ("sato",),
        0,
        0,
    )


def _as_before_rules(db: Path) -> None:
    """Turn a catalog back into one made before 0004_acl_rules (and so before 0005 to
    0009), with mixed-case names."""
    con = sqlite3.connect(db)
    con.executescript(
        "DROP TABLE sessions; DROP TABLE oidc_logins;"
        "ALTER TABLE users DROP COLUMN password_hash; ALTER TABLE users DROP COLUMN oidc_subject;"
        "DROP TABLE audit_log;"
        "DROP TABLE chunk_terms;"
        "DELETE FROM schema_migrations"
        " WHERE name IN ('0007_audit', '0008_web', '0009_chunk_terms');"
        "DROP TABLE api_keys; DROP TABLE feedback; DROP TABLE jobs;"
        "ALTER TABLE users DROP COLUMN role;"
        "DELETE FROM schema_migrations WHERE name = '0006_service';"
        "DROP TABLE acl_rule_groups; DROP TABLE acl_rules; DROP INDEX document_acl_by_group;"
        "ALTER TABLE query_log DROP COLUMN access;"
        "DELETE FROM schema_migrations WHERE name IN ('0004_acl_rules', '0005_query_log_access');"
        "UPDATE document_acl SET grp = 'Executives';"
        "UPDATE user_groups SET grp = 'Executives';"
    )
    con.close()


def test_migration_keeps_existing_acls_as_rules_and_folds_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    write(docs / "secret" / "board.md", "# 役員会\n\n価格改定を承認した。")
    write(docs / "rules.md", "# 規程\n\n価格改定の手続き。")
    corpus = write(
        docs / "faq.jsonl",
        '{"id": "q1", "text": "価格改定の社外秘メモ"}\n{"id": "q2", "text": "価格改定の公開FAQ"}\n',
    )
    with init_kb(tmp_path / "kb") as kb:
        kb.ingest([docs])
        kb.set_acl([str((docs / "secret").resolve()), f"{corpus.resolve()}#q1"], ["x"])
        kb.set_user("sato", ["x"])
    _as_before_rules(tmp_path / "kb" / "kotae.db")
    with monkeypatch.context() as old:  # a kotae before rules indexes the old names
        old.setattr(catalog_module, "MIGRATIONS", catalog_module.MIGRATIONS[:3])
        with KnowledgeBase(tmp_path / "kb") as kb, kb.write_lock():
            kb.rebuild_lexical()
    with open_kb(tmp_path / "kb") as kb:
        assert kb.catalog.acl_rules() == {
            str((docs / "secret" / "board.md").resolve()): ("executives",),
            f"{corpus.resolve()}#q1": ("executives",),
        }
        assert kb.catalog.user_groups("sato") == ("executives",)
        hidden = {"board.md", "faq.jsonl#q1"}
        assert not hidden & _sources(kb.search("価格改定", k=10))
        assert hidden <= _sources(kb.search("価格改定", k=10, access=kb.access_for(user="sato")))
        assert kb.ingest([docs]).unchanged == 4
        assert not hidden & _sources(kb.search("価格改定", k=10))
