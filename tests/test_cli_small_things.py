"""Small things a user expects (issue 9, item 8), as a user runs them: sampling with
--limit/--seed, log list --since, eval report's default path, runs named by user, log show
naming documents, chat /help and the rewritten query, search on an empty knowledge base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES, catalog_of, write
from tests.test_bench_qa import CORPUS, QUERIES, dataset
from tests.test_cli import kotae

EVAL_SET = REPO / "samples" / "eval" / "questions.jsonl"
MANY = [
    {"id": f"q{i:02d}", "text": f"宿泊費の上限は{i}泊でいくら?", "answers": ["12,000円"]}
    for i in range(20)
]


def in_folder(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KOTAE_KB"}
    env["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, "-m", "kotae.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=folder, timeout=300)


def test_bench_commands_sample_queries_with_limit_and_seed(tmp_path: Path) -> None:
    folder = dataset(tmp_path / "tiny", CORPUS, QUERIES)
    for command in ("qa", "retrieval"):
        out = tmp_path / f"{command}.json"
        run = kotae(
            "bench", command, str(folder), "--limit", "2", "--seed", "3", "--json", str(out)
        )
        assert run.returncode == 0, run.stderr
        result = json.loads(out.read_text("utf-8"))
        assert result["n_queries"] == 2
        assert result["sample"] == {"limit": 2, "seed": 3, "of": 4 if command == "qa" else 5}
        assert "sample of" in run.stdout and "seed 3" in run.stdout
    whole = tmp_path / "whole.json"
    assert kotae("bench", "qa", str(folder), "--limit", "99", "--json", str(whole)).returncode == 0
    assert json.loads(whole.read_text("utf-8"))["sample"] is None  # every query: no sample
    assert kotae("bench", "qa", str(folder), "--limit", "0").returncode == 2


def test_eval_import_samples_the_same_questions_for_the_same_seed(tmp_path: Path) -> None:
    folder = dataset(tmp_path / "many", CORPUS, MANY)

    def imported(seed: str, name: str) -> tuple[list[str], dict[str, object]]:
        out = tmp_path / name
        run = kotae(
            "eval",
            "import",
            str(folder),
            "--out",
            str(out),
            "--limit",
            "5",
            "--seed",
            seed,
            "--json",
        )
        assert run.returncode == 0, run.stderr
        ids = [json.loads(line)["id"] for line in out.read_text("utf-8").splitlines()]
        return ids, json.loads(run.stdout)

    first, summary = imported("7", "a.jsonl")
    again, _ = imported("7", "b.jsonl")
    other, _ = imported("8", "c.jsonl")
    assert first == again and len(first) == 5 and len(set(first)) == 5
    assert set(first) <= {q["id"] for q in MANY} and first == sorted(first)  # set order kept
    assert other != first
    assert summary["sample"] == {"limit": 5, "seed": 7, "of": 20}
    assert summary["questions"] == 5


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small")
    kb = root / "kb"
    assert kotae("init", str(kb)).returncode == 0
    docs = root / "docs"
    write(docs / "経費精算規程.md", "# 経費精算規程\n\n経費の申請期限は翌月10日までとする。\n")
    write(docs / "leave.md", "# Leave policy\n\nEmployees get 20 days of paid leave.\n")
    assert kotae("ingest", str(docs), kb=kb).returncode == 0
    return kb


def test_log_list_since_a_duration_a_date_or_a_time(small_kb: Path, tmp_path: Path) -> None:
    import shutil

    kb = shutil.copytree(small_kb, tmp_path / "kb")
    for question in ("経費 申請期限", "paid leave"):
        assert kotae("search", question, kb=kb).returncode == 0
    with catalog_of(kb) as catalog:  # the first entry is old
        catalog.con.execute(
            "UPDATE query_log SET created_at = '2000-01-01T00:00:00.000+00:00' "
            "WHERE id = (SELECT MIN(id) FROM query_log)"
        )
        catalog.con.commit()

    def questions(*since: str) -> list[str]:
        run = kotae("log", "list", "--all", "--json", *since, kb=kb)
        assert run.returncode == 0, run.stderr
        return [e["question"] for e in json.loads(run.stdout)]

    assert questions() == ["paid leave", "経費 申請期限"]
    assert questions("--since", "7d") == ["paid leave"]
    assert questions("--since", "24h") == ["paid leave"]
    assert questions("--since", "1999-12-31") == ["paid leave", "経費 申請期限"]
    assert questions("--since", "2000-01-01T09:00:00+09:00") == ["paid leave", "経費 申請期限"]
    assert questions("--since", "2000-01-01T09:00:01+09:00") == ["paid leave"]
    assert questions("--since", "2999-01-01") == []
    bad = kotae("log", "list", "--since", "yesterday", kb=kb)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "7d" in bad.stderr
    from kotae.cli.log import parse_since

    assert parse_since("2w").tzinfo is not None and parse_since("2026-04-01").tzinfo is not None


def test_log_show_names_the_documents(small_kb: Path, tmp_path: Path) -> None:
    import shutil

    kb = shutil.copytree(small_kb, tmp_path / "kb")
    assert kotae("search", "経費の申請期限", kb=kb).returncode == 0
    entry = json.loads(kotae("log", "list", "--json", "--all", kb=kb).stdout)[0]
    shown = kotae("log", "show", str(entry["id"]), "--all", kb=kb)
    assert shown.returncode == 0, shown.stderr
    source = str((small_kb.parent / "docs" / "経費精算規程.md").resolve())
    assert f"1. 経費精算規程 ({source})" in shown.stdout
    doc_id = entry["retrieved"][0]["document_id"]
    assert kotae("docs", "remove", str(doc_id), kb=kb).returncode == 0
    after = kotae("log", "show", str(entry["id"]), "--all", kb=kb).stdout
    assert "経費精算規程" not in after and f"document {doc_id} (removed" in after


def test_chat_knows_help_and_quit_and_shows_the_rewritten_query(small_kb: Path) -> None:
    chat = subprocess.run(
        [sys.executable, "-m", "kotae.cli.main", "chat", "--kb", str(small_kb)],
        input="経費の申請期限は？\n過ぎたら？\n/help\n/quit\npaid leave\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stderr
    assert "→ 経費の申請期限は？ 過ぎたら？" in chat.stdout
    assert "→ 経費の申請期限は？\n" not in chat.stdout  # a first question is not rewritten
    assert "/reset" in chat.stdout and "/quit" in chat.stdout
    assert "20 days" not in chat.stdout  # nothing is answered after /quit


def test_search_on_an_empty_knowledge_base_says_so(tmp_path: Path) -> None:
    kb = tmp_path / "empty"
    assert kotae("init", str(kb)).returncode == 0
    for question, words in (("経費の申請期限", "ナレッジベース"), ("expense deadline", "is empty")):
        for extra in ((), ("--json",)):
            run = kotae("search", question, *extra, kb=kb)
            assert run.returncode == 2 and run.stdout == ""
            assert words in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_runs_as_a_user_are_named_and_the_report_has_a_default_path(tmp_path: Path) -> None:
    from kotae.kb import init_kb

    kb = tmp_path / "kb"
    with init_kb(kb) as base:
        base.ingest(sorted(p for p in SAMPLES.iterdir() if p.is_file()))
    assert kotae("users", "add", "sato", kb=kb).returncode == 0
    run = kotae("eval", "run", "--set", str(EVAL_SET), "--as", "sato", kb=kb)
    assert run.returncode == 0, run.stderr
    listed = kotae("eval", "list", kb=kb, env={"TZ": "Asia/Tokyo"})
    row = listed.stdout.splitlines()[1].split("\t")
    assert row[2] == "default@sato" and row[1].endswith("+09:00")
    runs = json.loads(kotae("eval", "list", "--json", kb=kb).stdout)
    assert runs[0]["name"] == "default@sato"
    work = tmp_path / "work"
    work.mkdir()
    report = in_folder(work, "eval", "report", runs[0]["id"][:6], "--kb", str(kb))
    assert report.returncode == 0, report.stderr
    written = work / "eval-report.html"
    assert written.is_file() and str(written.resolve()) in report.stdout
    assert "default@sato" in written.read_text("utf-8")
