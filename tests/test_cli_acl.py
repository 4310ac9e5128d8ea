"""Access through the CLI as a user runs it: rules kept across ingestions, explicit changes
reported, `docs` reads behind the ACL, group names validated (one line, exit 2)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from tests.conftest import SAMPLES, write
from tests.test_cli import kotae

MINUTES = "役員会議事録_2026Q3.md"


def test_guide_flow_keeps_the_minutes_private_and_changes_are_explicit(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    docs = Path(shutil.copytree(SAMPLES, tmp_path / "docs"))
    assert kotae("init", str(kb)).returncode == 0
    files = [str(p) for p in sorted(docs.iterdir()) if p.is_file()]
    assert kotae("ingest", *files, kb=kb).returncode == 0
    assert kotae("ingest", str(docs / "confidential"), "--acl", "executives", kb=kb).returncode == 0
    nightly = kotae("ingest", str(docs), kb=kb)
    assert nightly.returncode == 0, nightly.stderr
    assert "updated 0, unchanged 11" in nightly.stdout
    assert MINUTES not in kotae("search", "SP-200の価格改定", "-k", "20", kb=kb).stdout
    rules = json.loads(kotae("acl", "list", "--json", kb=kb).stdout)
    confidential = str((docs / "confidential").resolve())
    assert rules == [{"path": confidential, "groups": ["executives"], "documents": 1}]

    public = kotae("acl", "set", str(docs / "confidential" / MINUTES), "--public", kb=kb)
    assert public.returncode == 0, public.stderr
    assert f"access executives -> public: doc 11 {confidential}/{MINUTES}" in public.stdout
    assert MINUTES in kotae("search", "SP-200の価格改定", "-k", "3", kb=kb).stdout
    removed = kotae("acl", "remove", str(docs / "confidential" / MINUTES), "--json", kb=kb)
    assert json.loads(removed.stdout)["changed"] == [
        {
            "id": 11,
            "source": f"{confidential}/{MINUTES}",
            "before": [],
            "after": ["executives"],
        }
    ]
    assert MINUTES not in kotae("search", "SP-200の価格改定", "-k", "20", kb=kb).stdout
    again = kotae("ingest", str(docs / "confidential"), "--acl", "Executives,Auditors", kb=kb)
    assert "access executives -> auditors,executives: doc 11" in again.stdout
    assert kotae("users", "add", "sato", "--groups", "EXECUTIVES,経理部", kb=kb).returncode == 0
    groups = json.loads(kotae("groups", "list", "--json", kb=kb).stdout)
    assert groups == [
        {"name": "auditors", "members": [], "rules": 1, "documents": 1},
        {"name": "executives", "members": ["sato"], "rules": 1, "documents": 1},
        {"name": "経理部", "members": ["sato"], "rules": 0, "documents": 0},
    ]


def test_docs_reads_are_behind_the_acl(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    kotae("ingest", str(write(tmp_path / "pub.md", "# 公開\n\n手順")), kb=kb)
    kotae("ingest", str(write(tmp_path / "hr.md", "# 人事\n\n評価")), "--acl", "hr", kb=kb)
    kotae("users", "add", "sato", "--groups", "HR", kb=kb)
    with sqlite3.connect(kb / "kotae.db") as con:
        ids = dict(con.execute("SELECT title, id FROM documents").fetchall())
    hidden = kotae("docs", "show", str(ids["人事"]), kb=kb)
    missing = kotae("docs", "show", "999", kb=kb)
    assert (hidden.returncode, missing.returncode) == (2, 2)
    assert hidden.stdout == missing.stdout == ""
    assert hidden.stderr.replace(str(ids["人事"]), "N") == missing.stderr.replace("999", "N")
    for reader in (["--as", "sato"], ["--groups", "hr"], ["--all"]):
        shown = kotae("docs", "show", str(ids["人事"]), *reader, "--json", kb=kb)
        assert json.loads(shown.stdout)["chunks"][0]["text"] == "評価", reader
        listed = json.loads(kotae("docs", "list", *reader, "--json", kb=kb).stdout)
        assert {d["title"] for d in listed} == {"公開", "人事"}, reader
    listed = json.loads(kotae("docs", "list", "--json", kb=kb).stdout)
    assert [d["title"] for d in listed] == ["公開"]
    assert kotae("docs", "show", str(ids["公開"]), kb=kb).returncode == 0
    both = kotae("docs", "list", "--as", "sato", "--all", kb=kb)
    assert both.returncode == 2


def test_bad_group_names_are_one_line_exit_2_and_nothing_is_written(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    doc = write(tmp_path / "a.md", "# A\n\n本文")
    for args in (
        ("ingest", str(doc), "--acl", "sales team"),
        ("ingest", str(doc), "--acl", "user:sato"),
        ("users", "add", "sato", "--groups", "__public__"),
        ("users", "add", "sato", "--groups", "総務部、経理部"),
        ("search", "本文", "--groups", "a\tb"),
        ("docs", "list", "--groups", "x" * 65),
        ("acl", "set", str(doc), "--groups", "user:x"),
        ("acl", "set", str(doc)),
        ("acl", "remove", str(doc)),
    ):
        run = kotae(*args, kb=kb)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr.startswith("kotae: error:") and run.stderr.count("\n") == 1, args
    assert json.loads(kotae("docs", "list", "--all", "--json", kb=kb).stdout) == []
    assert json.loads(kotae("acl", "list", "--json", kb=kb).stdout) == []
    assert json.loads(kotae("users", "list", "--json", kb=kb).stdout) == []
