"""``kotae bench qa`` on tiny datasets: exact metric values, the answer hook, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from kotae.bench import dataset_language, run_qa_bench
from kotae.errors import ConfigError, DatasetError
from tests.conftest import write

CORPUS: list[dict[str, str]] = [
    {"id": "d1", "title": "経費", "text": "出張の宿泊費の上限は1泊12,000円です。"},
    {"id": "d2", "title": "VPN", "text": "VPNに接続するにはワンタイムパスワードが必要です。"},
    {"id": "d3", "title": "API", "text": "The API allows 600 requests per minute."},
    {
        "id": "d4",
        "title": "日本の山",
        "text": "日本で最も高い山は富士山であり、古くから信仰の対象として知られている。",
    },
    {
        "id": "d5",
        "title": "富士山の登山",
        "text": "山頂の標高は3776メートルで、夏には多くの登山者が訪れる。",
    },
]
QUERIES: list[dict[str, Any]] = [
    # the answer is in the best sentence: a hit at 1
    {"id": "q1", "text": "宿泊費の上限はいくら?", "answers": ["12,000円", "1泊12,000円"]},
    {"id": "q2", "text": "VPNの接続に必要なものは?", "answers": ["ワンタイムパスワード"]},
    # the answer is nowhere in the corpus: a miss
    {"id": "q3", "text": "社員食堂の営業時間は?", "answers": ["11時から14時"]},
    # the sentence sharing most words (d4) lacks the answer, d5 holds it: a hit at 3 only
    {
        "id": "q4",
        "text": "日本で最も高い山として知られる富士山の標高は?",
        "answers": ["3776メートル"],
    },
    # no answers: not a QA question, skipped
    {"id": "q5", "text": "APIの制限は?"},
]


def jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def dataset(
    folder: Path, corpus: Sequence[Mapping[str, Any]], queries: Sequence[Mapping[str, Any]]
) -> Path:
    """A dataset folder in the shared layout (every query's qrel points at d1: unused here)."""
    write(folder / "corpus.jsonl", jsonl(corpus))
    write(folder / "queries.jsonl", jsonl(queries))
    qrels = "".join(f"{q['id']}\td1\t1\n" for q in queries)
    write(folder / "qrels.tsv", "query-id\tcorpus-id\tscore\n" + qrels)
    return folder


def test_answer_in_evidence_on_a_tiny_japanese_set(tmp_path: Path) -> None:
    result = run_qa_bench(dataset(tmp_path / "tiny", CORPUS, QUERIES))
    assert result["dataset"] == "tiny" and result["language"] == "ja"
    assert result["metrics"] == {"answer_in_evidence@1": 0.5, "answer_in_evidence@3": 0.75}
    assert (result["n_queries"], result["n_docs"], result["mode"]) == (4, 5, "extractive")
    assert set(result["timing"]) == {"query_p50_ms", "query_p95_ms", "index_s"}
    assert 0 < result["timing"]["query_p50_ms"] <= result["timing"]["query_p95_ms"]
    assert result["config"]["k_sources"] == 5 and result["config"]["n_evidence"] == 3
    assert result["config"]["tokenizer"].startswith("kotae-ja-en/")
    one = run_qa_bench(tmp_path / "tiny", k_sources=1, n_evidence=1)
    # one source: q4 retrieves d4 only, so its answer is never seen
    assert one["metrics"] == {"answer_in_evidence@1": 0.5}


def test_generated_answers_are_scored_with_character_f1(tmp_path: Path) -> None:
    answers = {
        "宿泊費の上限はいくら?": "12,000円です",  # P 7/9, R 1 against 12,000円: 0.875
        "VPNの接続に必要なものは?": "ワンタイムパスワード",  # 1.0
        "社員食堂の営業時間は?": "",  # 0.0
        "日本で最も高い山として知られる富士山の標高は?": "3776メートル。",  # 。 dropped: 1.0
    }
    asked: list[str] = []

    def answer(question: str) -> str:
        asked.append(question)
        return answers[question]

    folder = dataset(tmp_path / "tiny", CORPUS, QUERIES)
    result = run_qa_bench(folder, answer_fn=answer)
    assert asked == [q["text"] for q in QUERIES[:4]]
    assert result["mode"] == "generator"
    assert result["metrics"]["char_f1"] == round((0.875 + 1 + 0 + 1) / 4, 4)
    assert result["metrics"]["answer_in_evidence@3"] == 0.75
    assert "token_f1" not in result["metrics"] and "answer_p50_ms" in result["timing"]
    skipped = run_qa_bench(folder, generator=False, answer_fn=answer)
    assert skipped["mode"] == "extractive" and "char_f1" not in skipped["metrics"]
    with pytest.raises(ConfigError, match="need a generator"):
        run_qa_bench(folder, generator=True)


def test_citation_marks_are_removed_before_answers_are_scored(tmp_path: Path) -> None:
    answers = {  # each one the reference answer, cited in one of the forms models write
        "宿泊費の上限はいくら?": "12,000円[1]",
        "VPNの接続に必要なものは?": "ワンタイムパスワード［2］",
        "社員食堂の営業時間は?": "【1】11時から14時",
        "日本で最も高い山として知られる富士山の標高は?": "3776メートル [1, 2]",
    }
    result = run_qa_bench(dataset(tmp_path / "ja", CORPUS, QUERIES), answer_fn=answers.__getitem__)
    assert result["metrics"]["char_f1"] == 1.0
    corpus = [{"id": "a", "title": "API", "text": "Each key may send 600 requests per minute."}]
    queries = [{"id": "e1", "text": "How many requests per minute?", "answers": ["600"]}]
    english = run_qa_bench(
        dataset(tmp_path / "en", corpus, queries), answer_fn=lambda _: "600 [1][2]"
    )
    assert (english["metrics"]["token_f1"], english["metrics"]["em"]) == (1.0, 1.0)


def test_a_configured_generator_answers_through_the_answer_pipeline(tmp_path: Path) -> None:
    folder = dataset(tmp_path / "tiny", CORPUS, QUERIES)
    config = write(
        tmp_path / "kotae.toml",
        '[generator]\nbackend = "fake"\nresponses = ["ワンタイムパスワード [1]"]\n',
    )
    result = run_qa_bench(folder, config=config)
    assert result["mode"] == "generator"
    # the fake gives the same answer to every question, scored without its citation: exact
    # on q2; against q4's 3776メートル only "ー" is shared (P 1/10, R 1/8); q1, q3 share nothing
    q4 = 2 * (1 / 10) * (1 / 8) / (1 / 10 + 1 / 8)
    assert result["metrics"]["char_f1"] == round((1.0 + q4) / 4, 4)


def test_english_sets_get_token_f1_and_exact_match(tmp_path: Path) -> None:
    corpus = [
        {"id": "a", "title": "API", "text": "Each key may send 600 requests per minute."},
        {"id": "b", "title": "Errors", "text": "Going over the limit returns HTTP 429."},
    ]
    queries = [
        {"id": "e1", "text": "How many requests per minute may a key send?", "answers": ["600"]},
        {"id": "e2", "text": "What does going over the limit return?", "answers": ["HTTP 429"]},
    ]
    answers = {q["text"]: a for q, a in zip(queries, ["the 600", "HTTP 429 error"], strict=True)}
    result = run_qa_bench(dataset(tmp_path / "en", corpus, queries), answer_fn=answers.__getitem__)
    assert result["language"] == "en"
    # e1: "the 600" normalizes to "600": EM 1, F1 1; e2: EM 0, F1 P 2/3 R 1 = 0.8
    assert result["metrics"] == {
        "answer_in_evidence@1": 1.0,
        "answer_in_evidence@3": 1.0,
        "token_f1": 0.9,
        "em": 0.5,
    }


def test_language_of_a_set_and_sets_without_answers(tmp_path: Path) -> None:
    assert dataset_language(["富士山の高さは?", "What is VPN?", "VPNとは?"]) == "ja"
    assert dataset_language(["What is VPN?", "Who wrote it?", "東京は?"]) == "en"
    folder = dataset(tmp_path / "plain", CORPUS, [{"id": "q", "text": "宿泊費"}])
    with pytest.raises(DatasetError, match="answers"):
        run_qa_bench(folder)
    with pytest.raises(DatasetError, match="at least 1"):
        run_qa_bench(folder, k_sources=0)


def kotae(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KOTAE_KB"}
    cmd = [sys.executable, "-m", "kotae.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_cli_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    folder = dataset(tmp_path / "tiny", CORPUS, QUERIES)
    out = tmp_path / "out" / "qa.json"
    run = kotae("bench", "qa", str(folder), "-k", "5", "--evidence", "3", "--json", str(out))
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["metrics"] == {"answer_in_evidence@1": 0.5, "answer_in_evidence@3": 0.75}
    assert result["mode"] == "extractive" and result["n_queries"] == 4
    assert "tiny (ja): 5 docs, 4 questions" in run.stdout
    assert "answer_in_evidence@1 0.5000  answer_in_evidence@3 0.7500" in run.stdout
    broken = kotae("bench", "qa", str(tmp_path / "missing"))
    assert broken.returncode == 2 and "not a folder" in broken.stderr
