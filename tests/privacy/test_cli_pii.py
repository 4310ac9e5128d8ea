"""``kotae pii scan`` as a user runs it: a real subprocess over real files and a real
knowledge base; findings are counted and shown masked, never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write

MEMO = (
    "# 顧客対応メモ\n\n山田太郎様（〒100-0005 東京都千代田区丸の内1-2-3）から電話 03-1234-5678 "
    "があった。\n\nメール taro.yamada@example.co.jp に返信する。個人番号 1234 5678 9018。\n"
)
SECRETS = ("山田太郎", "100-0005", "丸の内1-2-3", "03-1234-5678", "taro.yamada", "9018")


def kotae(
    *args: str, lang: str = "en", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTAE_")}
    env["KOTAE_LANG"] = lang
    return subprocess.run(
        [sys.executable, "-m", "kotae.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    write(folder / "memo.md", MEMO)
    write(folder / "clean.txt", "No personal data here.\n")
    write(folder / "sub" / "faq.jsonl", '{"id": "q1", "text": "連絡は sato@example.jp へ"}\n')
    write(folder / ".hidden.txt", "hidden@example.com\n")  # skipped, as by `kotae ingest`
    return folder


def test_scan_files_json_counts_per_kind(docs: Path) -> None:
    result = kotae("pii", "scan", str(docs), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    by_source = {Path(d["source"]).name: d for d in data["documents"]}
    assert set(by_source) == {"memo.md", "clean.txt", "faq.jsonl#q1"}
    assert by_source["memo.md"]["counts"] == {
        "address": 1,
        "email": 1,
        "my_number": 1,
        "person": 1,
        "phone": 1,
        "postal_code": 1,
    }
    assert by_source["clean.txt"]["total"] == 0
    assert by_source["faq.jsonl#q1"]["counts"] == {"email": 1}
    assert data["totals"]["email"] == 2
    assert "findings" not in by_source["memo.md"]


def test_scan_show_masks_the_context(docs: Path) -> None:
    result = kotae("pii", "scan", str(docs / "memo.md"), "--show", "--json")
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["documents"][0]["findings"]
    assert [f["kind"] for f in findings] == [
        "person",
        "postal_code",
        "address",
        "phone",
        "email",
        "my_number",
    ]
    assert "[EMAIL]" in findings[4]["context"] and findings[4]["where"] == "line 3"
    assert not any(secret in result.stdout for secret in SECRETS)


def test_scan_table_in_japanese_and_kind_filter(docs: Path) -> None:
    result = kotae("pii", "scan", str(docs), "--show", "--kind", "email", lang="ja")
    assert result.returncode == 0, result.stderr
    assert "検出数" in result.stdout and "前後の文（マスク済み）" in result.stdout
    assert "email 1" in result.stdout and "phone" not in result.stdout
    assert "3 件の文書をスキャン、個人情報を含む文書 2 件、検出 2 件" in result.stdout
    assert "taro.yamada" not in result.stdout


def test_scan_knowledge_base_as_a_reader(docs: Path, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    ingest = kotae("ingest", str(docs / "memo.md"), "--acl", "hr", "--kb", str(kb))
    assert ingest.returncode == 0, ingest.stderr
    assert kotae("ingest", str(docs / "clean.txt"), "--kb", str(kb)).returncode == 0
    public = json.loads(kotae("pii", "scan", "--kb", str(kb), "--json").stdout)
    assert [Path(d["source"]).name for d in public["documents"]] == ["clean.txt"]
    admin = kotae("--kb", str(kb), "pii", "scan", "--all", "--json", "--show")
    assert admin.returncode == 0, admin.stderr
    documents = json.loads(admin.stdout)["documents"]
    memo = next(d for d in documents if d["source"].endswith("memo.md"))
    assert memo["total"] == 6 and isinstance(memo["document_id"], int)
    assert {f["where"] for f in memo["findings"]} == {"chunk 0"}
    hr = json.loads(kotae("pii", "scan", "--kb", str(kb), "--groups", "hr", "--json").stdout)
    assert hr["totals"]["phone"] == 1
    table = kotae("pii", "scan", "--kb", str(kb), "--all")
    assert "2 document(s) scanned, 1 with personal information, 6 finding(s); 0 failed" in (
        table.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pii", "scan", "no/such/folder"], "no such file or folder"),
        (["pii", "scan"], "nothing to scan"),
        (["pii", "scan", ".", "--kind", "ssn"], "unknown kind ssn"),
    ],
)
def test_wrong_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = kotae(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_paths_and_kb_together_are_refused(docs: Path, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kotae("init", str(kb))
    result = kotae("pii", "scan", str(docs), "--kb", str(kb))
    assert result.returncode == 2 and "not both" in result.stderr


def test_unreadable_file_is_reported_and_the_scan_goes_on(docs: Path) -> None:
    (docs / "broken.pdf").write_bytes(b"not a pdf")
    result = kotae("pii", "scan", str(docs), "--json")
    assert result.returncode == 0, result.stderr
    broken = next(d for d in json.loads(result.stdout)["documents"] if "broken" in d["source"])
    assert broken["error"] and broken["total"] == 0
