"""The CLI as a user runs it: a real subprocess, real files, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write


def kotae(
    *args: str, kb: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kotae.cli.main", *args]
    if kb is not None:
        cmd += ["--kb", str(kb)]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("KOTAE_KB", None) if env is None or "KOTAE_KB" not in env else None
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120)


def test_init_ingest_search_json(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    docs = tmp_path / "docs"
    write(docs / "規程.md", "# 経費精算\n\n経費の申請期限は翌月10日までです。")
    write(docs / "secret.md", "# 人事\n\n経費の監査は人事部が行う。")
    assert kotae("ingest", str(docs / "規程.md"), kb=kb).returncode == 0
    ingest = kotae("ingest", str(docs / "secret.md"), "--acl", "hr", "--json", kb=kb)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 1
    public = kotae("search", "経費", "--json", kb=kb)
    assert public.returncode == 0, public.stderr
    results = json.loads(public.stdout)
    assert [r["title"] for r in results] == ["経費精算"]
    assert {"document_id", "chunk_id", "score", "source", "location", "snippet"} <= set(results[0])
    hr = json.loads(kotae("search", "経費", "--groups", "hr", "--json", kb=kb).stdout)
    assert {r["title"] for r in hr} == {"経費精算", "人事"}
    listed = json.loads(kotae("docs", "list", "--all", "--json", kb=kb).stdout)
    assert sorted((d["title"], d["groups"], d["chunks"]) for d in listed) == [
        ("人事", ["hr"], 1),
        ("経費精算", [], 1),
    ]


def test_kb_found_by_environment(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    status = kotae("status", "--json", env={"KOTAE_KB": str(kb)})
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["documents"] == 0


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    missing = kotae("search", "経費", kb=tmp_path / "nowhere")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "kotae init" in missing.stderr
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    assert kotae("search", "  ", kb=kb).returncode == 2
    unknown = kotae("search", "x", "--as", "ghost", kb=kb)
    assert unknown.returncode == 2 and "ghost" in unknown.stderr
    bad_option = kotae("search", "x", "-k", "0", kb=kb)
    assert bad_option.returncode == 2
    no_file = kotae("ingest", str(tmp_path / "none.pdf"), kb=kb)
    assert no_file.returncode == 2 and no_file.stderr.count("\n") == 1
    assert kotae("docs", "show", "42", kb=kb).returncode == 2


def test_ingest_with_failures_exits_1_and_keeps_the_good_files(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    docs = tmp_path / "docs"
    write(docs / "ok.md", "# OK\n\nVPN接続の手順")
    (docs / "bad.docx").write_bytes(b"not a zip")
    run = kotae("ingest", str(docs), kb=kb)
    assert run.returncode == 1
    assert "bad.docx" in run.stderr and "corrupt" in run.stderr
    assert "added 1" in run.stdout
    assert "VPN" in kotae("search", "VPN", kb=kb).stdout


def test_users_and_remove(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    doc = write(tmp_path / "a.md", "# 議事録\n\n価格改定を決定した。")
    kotae("ingest", str(doc), "--acl", "executives", kb=kb)
    assert kotae("users", "add", "sato", "--groups", "executives", kb=kb).returncode == 0
    assert "議事録" in kotae("search", "価格改定", "--as", "sato", kb=kb).stdout
    assert "議事録" not in kotae("search", "価格改定", kb=kb).stdout
    assert "議事録" in kotae("search", "価格改定", "--all", kb=kb).stdout
    assert kotae("docs", "remove", str(doc), kb=kb).returncode == 0
    assert json.loads(kotae("docs", "list", "--json", kb=kb).stdout) == []


def test_bench_retrieval_on_a_tiny_dataset(tmp_path: Path) -> None:
    data = tmp_path / "set"
    write(
        data / "corpus.jsonl",
        '{"id": "d1", "title": "経費", "text": "出張の宿泊費の上限は12,000円です。"}\n'
        '{"id": "d2", "title": "VPN", "text": "VPNにはワンタイムパスワードを使います。"}\n'
        '{"id": "d3", "title": "API", "text": "The API allows 600 requests per minute."}\n',
    )
    write(
        data / "queries.jsonl",
        '{"id": "q1", "text": "宿泊費の上限"}\n{"id": "q2", "text": "API rate per minute"}\n',
    )
    write(data / "qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    out = tmp_path / "r.json"
    run = kotae("bench", "retrieval", str(data), "--json", str(out))
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    assert result["metrics"]["ndcg@10"] == 1.0 and result["metrics"]["recall@1"] == 1.0
    assert result["n_docs"] == 3 and result["n_queries"] == 2
    assert set(result["timing"]) == {"index_s", "query_p50_ms", "query_p95_ms", "qps"}
    assert result["config"]["tokenizer"].startswith("kotae-ja-en/")
    broken = kotae("bench", "retrieval", str(tmp_path))
    assert broken.returncode == 2 and "corpus.jsonl" in broken.stderr


def test_ingest_json_report_lists_failures(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    (tmp_path / "bad.pptx").write_bytes(b"garbage")
    run = kotae("ingest", str(tmp_path / "bad.pptx"), "--json", kb=kb)
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert [f["reason"] for f in report["failed"]] == ["corrupt"]
