"""Ingesting a file share: OS and editor junk, hidden folders and what --include/--exclude
leave out are skipped and counted, not failed; --verbose lists every file; a path with
nothing to ingest warns; the progress bar appears on a terminal only."""

from __future__ import annotations

import fnmatch
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kotae.documents import _LOADERS, _loader_for, _unsupported_message
from kotae.documents.ocr import IMAGE_EXTENSIONS
from kotae.documents.walk import Selection, compile_glob
from kotae.kb import KnowledgeBase, open_kb
from tests.conftest import write
from tests.test_cli import kotae

JUNK = ["~$報告書.docx", "Thumbs.db", "desktop.ini", ".DS_Store", "作業.tmp"]


def share(root: Path) -> Path:
    """A typical Windows share: two documents, OS junk, an Office lock file, a hidden folder."""
    write(root / "規程.md", "# 休暇規程\n\n年次有給休暇は二十日です。")
    write(root / "経理" / "精算.txt", "経費の精算は翌月十日までに申請します。")
    for name in JUNK:
        (root / name).write_bytes(b"\x00\x01junk")
    write(root / ".git" / "config", "[core]\n")
    return root


def sources(kb: KnowledgeBase) -> list[str]:
    return sorted(Path(d.source).name for d in kb.documents())


def test_a_share_with_junk_ingests_with_exit_0_and_reports_the_skips(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    folder = share(tmp_path / "share")
    done = kotae("ingest", str(folder), kb=kb)
    assert done.returncode == 0, done.stderr
    assert "added 2," in done.stdout and "skipped 6," in done.stdout
    assert "failed 0" in done.stdout and done.stderr == ""
    again = kotae("ingest", str(folder), "--json", kb=kb)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["unchanged"] == 2 and report["failed"] == []
    assert report["skipped"] == 6
    reasons = {Path(s["source"]).name: s["reason"] for s in report["skipped_files"]}
    assert set(reasons) == {*JUNK, ".git"}
    assert reasons["~$報告書.docx"] == "Office lock file"
    assert reasons[".git"] == "hidden folder"
    assert reasons["作業.tmp"] == "temporary file"


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.pdf", "a/b/x.PDF", True),  # no "/": the name at any depth, any case
        ("*.pdf", "x.pdf.bak", False),
        ("archive/**", "archive/2020/x.txt", True),
        ("archive/**", "old/archive/x.txt", False),  # with "/": the whole relative path
        ("**/old/*.xls", "old/c.xls", True),  # "**/" also matches no folder
        ("**/old/*.xls", "a/b/old/c.xls", True),
        ("**/old/*.xls", "a/old/d/c.xls", False),  # "*" stays within one level
        ("規程/*.md", "規程/休暇.md", True),
        ("report-[0-9].docx", "report-7.docx", True),
        ("report-[!0-9].docx", "report-7.docx", False),
        ("~$*", "dir/~$x.docx", True),
        ("/notes.txt", "notes.txt", True),  # a leading "/" anchors a name at the top
        ("/notes.txt", "a/notes.txt", False),
        ("archive/", "a/archive", True),  # a trailing "/" is ignored
        ("archive\\**", "archive/x.txt", True),  # a Windows separator is "/"
    ],
)
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert (Selection(exclude=[pattern]).skip_file(path) != "") is matches


@given(
    st.from_regex(r"[a-c*?.]{1,6}", fullmatch=True),
    st.from_regex(r"[a-cA-C.]{0,6}", fullmatch=True),
)
def test_a_pattern_without_a_slash_matches_a_name_as_fnmatch_does(pattern: str, name: str) -> None:
    expected = fnmatch.fnmatchcase(name.lower(), pattern.lower())
    assert (compile_glob(pattern).fullmatch(name) is not None) is expected


def test_an_empty_pattern_is_one_line_exit_2_before_anything_is_written(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    done = kotae("ingest", str(share(tmp_path / "share")), "--exclude", " ", kb=kb)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "empty include/exclude pattern" in done.stderr
    assert json.loads(kotae("status", "--json", kb=kb).stdout)["documents"] == 0


def test_include_and_exclude_select_files_and_prune_folders(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = share(tmp_path / "share")
    write(folder / "archive" / "2019" / "古い規程.md", "# 旧規程\n\n廃止された規程です。")
    report = kb.ingest([folder], include=["*.md"], exclude=["archive/**"])
    assert sources(kb) == ["規程.md"]
    skipped = {Path(s.source).name: s.reason for s in report.skipped}
    assert skipped["archive"] == "excluded by 'archive/**'"  # one skip, the folder not walked
    assert skipped["精算.txt"] == "not matched by --include"
    assert "古い規程.md" not in skipped and report.ok


def test_ingest_settings_give_the_defaults_and_options_replace_them(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    toml = kb.path / "kotae.toml"
    toml.write_text(
        toml.read_text("utf-8").replace("\nexclude = []", '\nexclude = ["経理/**"]'), "utf-8"
    )
    folder = share(tmp_path / "share")
    with open_kb(kb.path) as base:
        assert base.settings.ingest.exclude == ["経理/**"]
        base.ingest([folder])
        assert sources(base) == ["規程.md"]
        base.ingest([folder], exclude=["*.md"])  # the option replaces [ingest] exclude
        assert sources(base) == ["精算.txt", "規程.md"]


def test_sync_removes_a_document_whose_file_is_now_excluded(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = share(tmp_path / "share")
    assert kb.ingest([folder]).added == 2
    kept = kb.ingest([folder], exclude=["経理"])  # without --sync nothing is removed
    assert kept.removed == 0 and sources(kb) == ["精算.txt", "規程.md"]
    synced = kb.ingest([folder], exclude=["経理"], sync=True)
    assert synced.removed == 1 and sources(kb) == ["規程.md"]
    assert kb.ingest([folder], sync=True).added == 1  # back when no longer excluded


def test_verbose_lists_every_file_once_with_its_outcome_in_a_stable_order(
    tmp_path: Path,
) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    folder = tmp_path / "share"
    write(folder / "a.md", "# A\n\n最初の文書です。")
    write(folder / "b.md", "# B\n\n二つ目の文書です。")
    write(folder / "c.md", "# C\n\n三つ目の文書です。")
    assert kotae("ingest", str(folder), kb=kb).returncode == 0
    write(folder / "b.md", "# B\n\n書き換えた文書です。")
    (folder / "c.md").unlink()
    write(folder / "d.md", "# D\n\n新しい文書です。")
    (folder / "e.xyz").write_text("?", "utf-8")
    (folder / "Thumbs.db").write_bytes(b"\x00")
    args = ("ingest", str(folder), "--sync", "--verbose")
    done = kotae(*args, kb=kb)
    assert done.returncode == 1  # e.xyz failed
    lines = [line.split() for line in done.stdout.splitlines()[:-1]]
    assert [(words[0], Path(words[1]).name) for words in lines] == [
        ("skipped", "Thumbs.db"),
        ("unchanged", "a.md"),
        ("updated", "b.md"),
        ("added", "d.md"),
        ("failed", "e.xyz"),
        ("removed", "c.md"),
    ]
    assert "unsupported" in done.stdout.splitlines()[4]
    listed = json.loads(kotae("ingest", str(folder), "--json", "-v", kb=kb).stdout)["files"]
    assert [(f["outcome"], Path(f["source"]).name) for f in listed] == [
        ("skipped", "Thumbs.db"),
        ("unchanged", "a.md"),
        ("unchanged", "b.md"),
        ("unchanged", "d.md"),
        ("failed", "e.xyz"),
    ]


@pytest.mark.parametrize("contents", [[], ["Thumbs.db", "~$x.docx"]], ids=["empty", "junk"])
def test_a_path_with_nothing_to_ingest_warns_on_one_line_and_exits_0(
    tmp_path: Path, contents: list[str]
) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    folder = tmp_path / "share"
    folder.mkdir()
    for name in contents:
        (folder / name).write_bytes(b"\x00")
    done = kotae("ingest", str(folder), kb=kb)
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1 and "nothing to ingest" in done.stderr
    assert "Traceback" not in done.stderr
    as_json = json.loads(kotae("ingest", str(folder), "--json", kb=kb).stdout)
    assert as_json["empty"] == [str(folder)]


def test_progress_shows_n_of_n_files_and_mb_per_s_on_a_terminal_only(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    folder = share(tmp_path / "share")
    piped = kotae("ingest", str(folder), kb=kb)
    assert "MB/s" not in piped.stderr + piped.stdout and "\x1b" not in piped.stderr
    write(folder / "新規.md", "# 新規\n\n新しい文書です。")
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "kotae.cli.main", "ingest", str(folder), "--kb", str(kb)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=follower, env=env) as proc:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        out = proc.stdout.read() if proc.stdout else b""
    os.close(leader)
    assert proc.returncode == 0
    terminal = shown.decode("utf-8", "replace")
    assert "3/3" in terminal and "MB/s" in terminal
    assert b"\x1b" not in out and out.decode().startswith("added 1, updated 0, unchanged 2")


def test_the_unsupported_format_message_lists_every_format() -> None:
    message = _unsupported_message(".xyz")
    listed = set(message.replace(";", ",").replace(" ", ",").split(","))
    assert {*_LOADERS, ".jsonl", *IMAGE_EXTENSIONS} <= listed
    assert all(_loader_for(ext) is not None for ext in _LOADERS)  # the registry is real


def test_sync_of_a_folder_that_holds_nothing_now_keeps_its_documents(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """An unmounted share looks like an empty folder: --sync must not take it for
    "everything was deleted"."""
    folder = share(tmp_path / "share")
    assert kb.ingest([folder]).added == 2
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            path.unlink()
    (folder / "Thumbs.db").write_bytes(b"\x00")  # only junk left
    report = kb.ingest([folder], sync=True)
    assert report.removed == 0 and sources(kb) == ["精算.txt", "規程.md"]
    [failure] = report.failures
    assert failure.reason == "empty" and "keeps its 2 documents" in failure.message
    write(folder / "規程.md", "# 規程\n\n残った文書です。")
    synced = kb.ingest([folder], sync=True)  # a folder with files again: sync as usual
    assert synced.removed == 1 and sources(kb) == ["規程.md"]
