"""The query log keeps restricted text behind the ACL: who may read an entry, what
``docs remove`` leaves behind, how long entries are kept.

Real knowledge bases, real SQLite, the CLI as a subprocess where a user would run it; the
generator is the scripted fake. The property test drives the library and the CLI in
process (typer's runner) over random askers, readers and documents.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kotae.answer import AskOptions, answer_question
from kotae.cli.main import app
from kotae.index.store import Store
from kotae.kb import Access, KnowledgeBase, init_kb
from kotae.querylog import (
    PRUNE_EVERY_S,
    LogEntry,
    can_read_entry,
    get_entry,
    list_entries,
    prune,
    record,
)
from kotae.testing import FakeGenerator
from tests.conftest import write
from tests.test_cli import kotae

POLICY = "# 経費精算規程\n\n経費の申請期限は、支出した月の翌月10日までとする。\n"
BOARD = "# 取締役会議事録\n\n新製品カゲロウの価格改定は来年4月に実施する。\n"
SECRET = "カゲロウ"  # only in BOARD: the marker of the restricted text


@pytest.fixture(scope="module")
def board_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A public policy, board minutes for ``exec``; sato and suzuki in exec, tanaka in none.
    sato asked about the minutes (ask and search); someone public asked about expenses."""
    root = tmp_path_factory.mktemp("log-acl")
    kb = root / "kb"
    with init_kb(kb) as base:
        base.ingest([write(root / "docs" / "経費精算規程.md", POLICY)])
        base.ingest([write(root / "exec" / "議事録.md", BOARD)], groups=["exec"])
        base.catalog.set_user("sato", ["exec"])
        base.catalog.set_user("suzuki", ["exec"])
        base.catalog.set_user("tanaka", [])
    assert kotae("ask", "新製品の価格改定はいつ？", "--as", "sato", kb=kb).returncode == 0
    assert kotae("search", "価格改定", "--as", "sato", kb=kb).returncode == 0
    assert kotae("ask", "経費の申請期限は？", kb=kb).returncode == 0
    return kb


def _entries(kb: Path, *reader: str) -> list[dict[str, object]]:
    listed = kotae("log", "list", "--json", *reader, kb=kb)
    assert listed.returncode == 0, listed.stderr
    entries: list[dict[str, object]] = json.loads(listed.stdout)
    return entries


def test_a_restricted_passage_never_reaches_a_public_reader_or_another_user(
    board_kb: Path,
) -> None:
    public = kotae("log", "list", "--json", kb=board_kb).stdout
    latest = kotae("log", "show", str(json.loads(public)[-1]["id"]), kb=board_kb).stdout
    assert json.loads(public) and SECRET not in public + latest  # sato asked first
    every = _entries(board_kb, "--all")
    asked = next(e for e in every if e["kind"] == "ask" and e["user"] == "sato")
    assert SECRET in json.dumps(asked, ensure_ascii=False)  # the log holds the passage
    assert asked["access"] == {"user": "sato", "groups": ["exec", "user:sato"]}
    for reader in ((), ("--as", "suzuki"), ("--as", "tanaka")):  # suzuki is in exec too
        listed = json.dumps(_entries(board_kb, *reader), ensure_ascii=False)
        assert SECRET not in listed and "来年4月" not in listed
        for entry in every:
            shown = kotae("log", "show", str(entry["id"]), *reader, kb=board_kb)
            assert shown.returncode == 0, shown.stderr
            as_json = kotae("log", "show", str(entry["id"]), "--json", *reader, kb=board_kb)
            assert SECRET not in shown.stdout + as_json.stdout
        hidden = json.loads(
            kotae("log", "show", str(asked["id"]), "--json", *reader, kb=board_kb).stdout
        )
        assert hidden["redacted"] is True and hidden["prompt"] is None
        assert hidden["question"] == "" and hidden["citations"] == [] and hidden["user"] == "sato"
    own = kotae("log", "show", str(asked["id"]), "--as", "sato", kb=board_kb)
    assert SECRET in own.stdout and "来年4月" in own.stdout
    admin = kotae("log", "show", str(asked["id"]), "--all", kb=board_kb)
    assert "来年4月" in admin.stdout
    # an entry asked without a user is nobody's: only an administrator reads its text
    public = next(e for e in every if e["user"] is None)
    for reader in ((), ("--as", "tanaka")):
        assert (
            "翌月10日" not in kotae("log", "show", str(public["id"]), *reader, kb=board_kb).stdout
        )
    assert "翌月10日" in kotae("log", "show", str(public["id"]), "--all", kb=board_kb).stdout
    both = kotae("log", "list", "--as", "sato", "--all", kb=board_kb)
    assert both.returncode == 2 and len(both.stderr.strip().splitlines()) == 1


def test_entries_made_before_access_was_recorded_are_readable_with_all_only(
    kb: KnowledgeBase,
) -> None:
    entry = LogEntry("ask", "ok", "q", "q", answer="old text", access=None)
    entry_id = record(kb.catalog, entry)
    for reader in (Access.public(), Access(frozenset({"exec"}))):
        seen = get_entry(kb.catalog, entry_id, reader=reader)
        assert seen is not None and seen.redacted and seen.answer is None
    admin = get_entry(kb.catalog, entry_id, reader=Access.everything())
    assert admin is not None and admin.answer == "old text"


def _rows(db: Path) -> str:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT * FROM query_log").fetchall()
    return json.dumps(rows, ensure_ascii=False)


def test_docs_remove_purges_the_documents_text_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    with init_kb(path) as kb:
        kb.ingest([write(tmp_path / "d" / "経費精算規程.md", POLICY)])
        kb.ingest([write(tmp_path / "e" / "議事録.md", BOARD)], groups=["exec"])
        board = next(d for d in kb.documents() if d.groups)
        everything = Access.everything()
        generator = FakeGenerator()  # quotes the first line of source [1]
        answer_question(kb, "新製品の価格改定", everything, generator)
        answer_question(kb, "価格改定と経費の申請期限", everything)  # extractive, both documents
        kb.search("価格改定", access=everything)
        chat = AskOptions(kind="chat", session="s1")
        answer_question(kb, "価格改定はいつ？", everything, generator, chat)
        kept = answer_question(kb, "経費の申請期限は？", Access.public(), generator)
    before = _rows(path / "kotae.db")
    assert SECRET in before and "取締役会議事録" in before
    removed = kotae("docs", "remove", str(board.id), kb=path)
    assert removed.returncode == 0, removed.stderr
    after = _rows(path / "kotae.db")
    for text in (SECRET, "来年4月", "取締役会議事録"):
        assert text not in after
    with init_kb(path) as kb:
        entries = list_entries(kb.catalog, limit=100)
        unchanged = get_entry(kb.catalog, kept.log_id or -1)
    touched = [e for e in entries if any(r["document_id"] == board.id for r in e.retrieved)]
    assert len(touched) == 4  # ids and scores stay
    assert all(r["score"] > 0 for e in touched for r in e.retrieved)
    assert all(e.answer in (None, "[removed]") for e in touched)
    # the other document's citation and an entry that never saw the minutes are intact
    both = next(e for e in touched if e.question == "価格改定と経費の申請期限")
    assert any(c["title"] == "経費精算規程" and "翌月10日" in c["snippet"] for c in both.citations)
    assert unchanged is not None and "翌月10日" in (unchanged.answer or "")
    assert unchanged.prompt is not None and "翌月10日" in unchanged.prompt[-1]["content"]


def _old_entry(store: Store, days: float, question: str) -> int:
    when = datetime.now(UTC) - timedelta(days=days)
    entry = LogEntry(
        "search", "ok", question, question, created_at=when.isoformat(timespec="milliseconds")
    )
    return record(store, entry)


def test_keep_days_deletes_old_entries_when_the_log_is_written(kb: KnowledgeBase) -> None:
    store = kb.catalog
    _old_entry(store, 40, "old")
    _old_entry(store, 10, "recent")
    kb.settings.log.keep_days = 30
    kb.search("経費")
    assert [e.question for e in list_entries(store)] == ["経費", "recent"]
    # checked at most once an hour: an old entry written now stays until the next check
    _old_entry(store, 50, "older")
    kb.search("期限")
    assert "older" in [e.question for e in list_entries(store)]
    later = datetime.now(UTC) + timedelta(seconds=PRUNE_EVERY_S)
    assert prune(store, 30, now=later) == 1
    assert prune(store, 5) == 1  # "recent" is 10 days old
    assert [e.question for e in list_entries(store)] == ["期限", "経費"]


def test_log_prune_command_and_the_log_section(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    with init_kb(path) as kb:
        _old_entry(kb.catalog, 400, "old")
        _old_entry(kb.catalog, 100, "kept")
    missing = kotae("log", "prune", kb=path)
    assert missing.returncode == 2 and "keep_days" in missing.stderr
    config = path / "kotae.toml"
    config.write_text(config.read_text("utf-8") + "\n[log]\nkeep_days = 365\n", "utf-8")
    pruned = kotae("log", "prune", "--json", kb=path)
    assert json.loads(pruned.stdout) == {"deleted": 1, "keep_days": 365}
    again = kotae("log", "prune", "--keep-days", "30", kb=path)
    assert again.returncode == 0 and "deleted 1" in again.stdout
    bad = kotae("log", "list", kb=path, env={"KOTAE_LOG__KEEP_DAYS": "0"})
    assert bad.returncode == 2 and "KOTAE_LOG__KEEP_DAYS: " in bad.stderr


# -- the property: no reader ever sees what they may not --------------------------------------
USERS = {"alice": ("hr",), "bob": ("exec",), "carol": ("hr", "exec"), "dave": ()}
DOCS = {  # group -> the document's text (every one answers 規程); markers are unique
    "": "# 共通規程\n\n規程の申請は翌月10日まで。マーカーPUB01。\n",
    "hr": "# 人事規程\n\n規程の人事評価は年2回。マーカーHRX77。\n",
    "exec": "# 役員規程\n\n規程の役員報酬は非公開。マーカーEXQ99。\n",
}
MARKERS = {"": "PUB01", "hr": "HRX77", "exec": "EXQ99"}
QUESTIONS = ("規程の申請は？", "人事評価の規程", "役員報酬の規程", "規程")

askers = st.one_of(
    st.just(("public", None)),
    st.just(("all", None)),
    st.sampled_from(sorted(USERS)).map(lambda u: ("user", u)),
    st.sets(st.sampled_from(["hr", "exec"])).map(lambda g: ("groups", tuple(sorted(g)))),
)
operations = st.lists(
    st.tuples(
        st.sampled_from(["search", "ask", "generate", "chat"]), askers, st.sampled_from(QUESTIONS)
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture(scope="module")
def acl_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    root = tmp_path_factory.mktemp("log-property")
    with init_kb(root / "kb") as kb:
        for group, text in DOCS.items():
            path = write(root / (group or "public") / f"{group or 'public'}.md", text)
            kb.ingest([path], groups=[group] if group else [])
        for user, groups in USERS.items():
            kb.catalog.set_user(user, groups)
        yield kb


def _access(kb: KnowledgeBase, asker: tuple[str, Any]) -> Access:
    kind, value = asker
    if kind == "all":
        return Access.everything()
    if kind == "user":
        return kb.access_for(user=str(value))
    if kind == "groups":
        return kb.access_for(groups=list(value))
    return Access.public()


def _run(kb: KnowledgeBase, operation: str, access: Access, question: str) -> None:
    if operation == "search":
        kb.search(question, access=access)
        return
    generator = FakeGenerator() if operation in ("generate", "chat") else None
    options = AskOptions(kind="chat", session="s") if operation == "chat" else None
    answer_question(kb, question, access, generator, options)


def _cli(kb: KnowledgeBase, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--kb", str(kb.path)])
    assert result.exit_code == 0, result.output
    return result.output


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations)
def test_no_reader_sees_text_they_may_not_read(
    acl_kb: KnowledgeBase, ops: list[tuple[str, tuple[str, Any], str]]
) -> None:
    kb = acl_kb
    kb.catalog.con.execute("DELETE FROM query_log")
    for operation, asker, question in ops:
        _run(kb, operation, _access(kb, asker), question)
    raw = {e.id: e for e in list_entries(kb.catalog, limit=100)}
    readers: list[tuple[tuple[str, ...], Access]] = [((), Access.public())]
    readers += [(("--as", user), kb.access_for(user=user)) for user in USERS]
    readers.append((("--all",), Access.everything()))
    for flags, reader in readers:
        listed = json.loads(_cli(kb, "log", "list", "--json", "-n", "100", *flags))
        assert sorted(e["id"] for e in listed) == sorted(raw)
        for exposed in listed:
            entry = raw[exposed["id"]]
            shown = _cli(kb, "log", "show", str(entry.id), *flags)
            text = json.dumps(exposed, ensure_ascii=False) + shown
            assert entry.access is not None
            # nothing from a document the entry's own access could not read
            for group, marker in MARKERS.items():
                if group and not _entry_could_read(entry, group):
                    assert marker not in text
            if reader.groups is None:
                continue
            # nothing from a document the reader may not read, whoever asked
            for group, marker in MARKERS.items():
                if group and group not in reader.groups:
                    assert marker not in text
            if entry.user is not None and entry.user != reader.user:
                assert exposed["prompt"] is None and exposed["answer"] is None
                assert exposed["citations"] == [] and exposed["question"] == ""
            readable = can_read_entry(entry.access, reader)
            assert exposed["redacted"] is not readable
            if readable and entry.answer:
                assert exposed["answer"] == entry.answer


def _entry_could_read(entry: LogEntry, group: str) -> bool:
    access = entry.access or {}
    return bool(access.get("all")) or group in (access.get("groups") or ())
