"""`kotae eval run` over the sample documents: metrics, stored runs, resume, gate, errors.

A real knowledge base of samples/docs, the bundled eval set samples/eval/questions.jsonl,
real subprocesses. The generator and the judge are the scripted fake (configured by TOML
files, as a user would configure a real server); the llama.cpp server is in
tests/integration.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kotae.errors import ConfigError
from kotae.evaluation.datasets import read_eval_set
from kotae.evaluation.runner import load_config, run_eval
from kotae.kb import init_kb
from tests.conftest import REPO, SAMPLES, catalog_of, write
from tests.test_cli import kotae

EVAL_SET = REPO / "samples" / "eval" / "questions.jsonl"


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "kb"
    with init_kb(path, use_case="knowledge-search") as kb:
        kb.ingest(sorted(p for p in SAMPLES.iterdir() if p.is_file()))
        kb.ingest([SAMPLES / "confidential"], groups=["executives"])
    return path


def copy_kb(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_default_configuration_scores_retrieval_and_extractive_answers(
    sample_kb: Path, tmp_path: Path
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    items = read_eval_set(EVAL_SET)
    run = run_eval(kb, items, "questions", load_config(kb, None), everything=True)
    assert run.status == "done" and run.n_questions == 14 == len(items)
    # every sample question finds its document in the top 3 (tests/test_samples.py)
    assert run.metrics["recall@5"].mean == 1.0 and run.metrics["recall@5"].n == 14
    assert 0.5 <= run.metrics["mrr"].mean <= 1.0
    assert run.metrics["answer_in_evidence@3"].n == 14
    assert run.metrics["answer_in_evidence@3"].mean >= 0.8
    assert "char_f1" not in run.metrics  # extractive: no generated answer to score
    assert run.cost_per_1000 is None
    with catalog_of(kb) as store:
        stored = store.eval_results(run.id)
        assert [r.item_id for r in stored] == [i.id for i in items]
        assert store.eval_run(run.id[:6]).metrics["recall@5"].mean == 1.0
        assert [r.id for r in store.eval_runs()] == [run.id]
        logged = store.con.execute("SELECT COUNT(*) FROM query_log WHERE kind = 'eval'").fetchone()
    assert logged[0] == 14
    hotel = next(r for r in stored if r.item_id == "ja-hotel-limit")
    assert hotel.retrieved[0] == "経費精算規程.md" and hotel.status == "ok"
    assert hotel.metrics["recall@1"] == 1.0 and hotel.timings["total_ms"] > 0


def test_generator_judge_price_and_failures_are_counted_not_scored(
    sample_kb: Path, tmp_path: Path
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    config = write(
        tmp_path / "fake-llm.toml",
        '[generator]\nbackend = "fake"\n'
        '[judge]\nbackend = "fake"\n'
        # the judge answers prose without JSON: a failure on every question, after retries
        'responses = ["よくできています。"]\n'
        '[eval]\nname = "fake-llm"\nconcurrency = 3\n'
        '[eval.price]\ncurrency = "USD"\ninput_per_million = 2.5\noutput_per_million = 10\n',
    )
    run = run_eval(kb, read_eval_set(EVAL_SET), "questions", load_config(kb, config))
    assert run.name == "fake-llm"
    # the fake generator quotes the first line of source [1] with a [1] citation
    assert run.metrics["char_f1"].n > 0 and run.metrics["token_f1"].n > 0
    # the public reader cannot read the board minutes: for the SP-200 price question no
    # readable chunk covers the question, so the model is not asked and nothing is cited
    assert run.metrics["citation_precision"].n == 13
    with catalog_of(kb) as store:
        price = next(
            r for r in store.eval_results(run.id) if r.item_id == "ja-sp200-price-revision"
        )
    assert price.status == "no_evidence" and "below_evidence_threshold" in price.flags
    for name in ("correctness", "faithfulness"):
        assert run.metrics[name].n == 0 and run.metrics[name].failures == 14
    assert run.cost_per_1000 is not None and run.cost_per_1000 > 0 and run.currency == "USD"
    with catalog_of(kb) as store:
        stored = store.eval_results(run.id)
    assert all(r.metrics["correctness"] is None for r in stored)
    assert "no usable verdict" in stored[0].failures["correctness"]
    asked = [r for r in stored if r.item_id != "ja-sp200-price-revision"]
    assert len(asked) == 13 and all(r.usage["prompt_tokens"] > 0 for r in asked)


def test_a_judge_that_answers_json_scores_both_criteria(sample_kb: Path, tmp_path: Path) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    config = write(
        tmp_path / "judged.toml",
        '[generator]\nbackend = "fake"\n[judge]\nbackend = "fake"\n'
        'responses = ["```json\\n{\\"correctness\\": \\"0.75\\", \\"faithfulness\\": 1}\\n```"]\n',
    )
    run = run_eval(kb, read_eval_set(EVAL_SET), "questions", load_config(kb, config))
    assert run.metrics["correctness"].mean == pytest.approx(0.75)
    assert run.metrics["faithfulness"].mean == 1.0 and run.metrics["faithfulness"].failures == 0


def test_unknown_config_key_and_unreachable_judge_are_clear_errors(
    sample_kb: Path, tmp_path: Path
) -> None:
    bad = write(tmp_path / "bad.toml", "[retrieval]\ncandidate = 50\n")
    result = kotae("eval", "run", "--set", str(EVAL_SET), "--config", str(bad), kb=sample_kb)
    assert result.returncode == 2
    assert "bad.toml: [retrieval] candidate: unknown key" in result.stderr
    assert 'did you mean "candidates"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    judge = write(
        tmp_path / "judge.toml",
        '[judge]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "gpt-4o"\n'
        "max_retries = 0\n",
    )
    result = kotae("eval", "run", "--set", str(EVAL_SET), "--config", str(judge), kb=sample_kb)
    assert result.returncode == 3
    assert result.stderr.startswith("kotae: error: [judge] openai:gpt-4o")
    reindex = write(tmp_path / "chunks.toml", "[chunking]\nmax_tokens = 128\n")
    result = kotae("eval", "run", "--set", str(EVAL_SET), "--config", str(reindex), kb=sample_kb)
    assert result.returncode == 2 and "[chunking] differs" in result.stderr


def test_gate_passes_equal_runs_and_fails_a_degraded_one(sample_kb: Path, tmp_path: Path) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    good = write(tmp_path / "good.toml", '[eval]\nname = "good"\n')
    # a retriever that sees only character grams of one weight, with one candidate: worse
    worse = write(
        tmp_path / "worse.toml",
        '[eval]\nname = "worse"\n[answer]\nsources = 1\n'
        "[retrieval]\nwords_weight = 0.0\npairs_weight = 0.0\ngrams_weight = 1.0\n",
    )
    ids = []
    for config in (good, good, worse):
        out = kotae("eval", "run", "--set", str(EVAL_SET), "--config", str(config), "--new", kb=kb)
        assert out.returncode == 0, out.stderr
        ids.append(out.stdout.split()[0])
    same = kotae("eval", "gate", "--baseline", ids[0], "--candidate", ids[1], kb=kb)
    assert same.returncode == 0 and "PASS" in same.stdout
    listed = json.loads(kotae("eval", "list", "--json", kb=kb).stdout)
    assert [r["id"] for r in listed] == ids[::-1]
    shown = json.loads(kotae("eval", "show", ids[2], "--json", kb=kb).stdout)
    assert shown["name"] == "worse" and len(shown["results"]) == 14
    # degrade further by hand if grams alone happen to do as well: empty half the evidence
    with sqlite3.connect(kb / "kotae.db") as con:
        rows = con.execute(
            "SELECT item_id, result FROM eval_results WHERE run_id = ?", (ids[2],)
        ).fetchall()
        for item_id, blob in rows[::2] + rows[1::4]:
            data = json.loads(blob)
            data["metrics"] = {k: 0.0 for k in data["metrics"]}
            con.execute(
                "UPDATE eval_results SET result = ? WHERE run_id = ? AND item_id = ?",
                (json.dumps(data), ids[2], item_id),
            )
    failed = kotae("eval", "gate", "--baseline", ids[0], "--candidate", ids[2], "--json", kb=kb)
    assert failed.returncode == 1, failed.stdout
    report = json.loads(failed.stdout)
    assert report["passed"] is False
    assert any(row["verdict"] == "fail" and row["metric"] == "recall@5" for row in report["rows"])


def test_a_killed_run_resumes_without_recomputing_finished_questions(
    sample_kb: Path, tmp_path: Path
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    slow = write(
        tmp_path / "slow.toml",
        '[generator]\nbackend = "fake"\ndelay_s = 0.4\n[eval]\nconcurrency = 1\n',
    )
    cmd = [sys.executable, "-m", "kotae.cli.main", "eval", "run", "--set", str(EVAL_SET)]
    cmd += ["--config", str(slow), "--kb", str(kb)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = kb / "kotae.db"
    deadline = time.monotonic() + 60
    finished: list[tuple[str, str]] = []
    while time.monotonic() < deadline and len(finished) < 4:
        time.sleep(0.1)
        try:
            with sqlite3.connect(db) as con:
                finished = con.execute("SELECT item_id, created_at FROM eval_results").fetchall()
        except sqlite3.OperationalError:  # the tables are being created
            continue
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert 4 <= len(finished) < 14, "the run was not killed halfway"
    with sqlite3.connect(db) as con:
        before = dict(con.execute("SELECT item_id, created_at FROM eval_results").fetchall())
        status = con.execute("SELECT status FROM eval_runs").fetchone()[0]
    assert status == "running"  # killed: it never got to mark itself
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db) as con:
        after = dict(con.execute("SELECT item_id, created_at FROM eval_results").fetchall())
        runs = con.execute("SELECT id, status FROM eval_runs").fetchall()
        asked = dict(
            con.execute(
                "SELECT question, COUNT(*) FROM query_log WHERE kind = 'eval' GROUP BY question"
            ).fetchall()
        )
    assert len(runs) == 1 and runs[0][1] == "done" and len(after) == 14
    assert all(after[item] == created for item, created in before.items())  # not redone
    questions = {i.id: i.question for i in read_eval_set(EVAL_SET)}
    assert all(asked[questions[item]] == 1 for item in before)
    assert resumed.stdout.startswith(runs[0][0])


def test_malformed_eval_set_names_the_line(sample_kb: Path, tmp_path: Path) -> None:
    bad = write(
        tmp_path / "set.jsonl",
        '{"id": "a", "question": "経費の申請期限は？"}\n{"id": "b", "question": }\n',
    )
    result = kotae("eval", "run", "--set", str(bad), kb=sample_kb)
    assert result.returncode == 2
    assert f"{bad}:2:" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_semantic_similarity_with_the_knowledge_base_embedder(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    with init_kb(kb) as base:
        config = kb / "kotae.toml"
        config.write_text(
            config.read_text("utf-8") + '\n[embedder]\nbackend = "fake"\ndim = 64\n', "utf-8"
        )
    with init_kb(kb) as base:
        base.ingest([write(tmp_path / "規程.md", "# 経費\n\n経費の申請期限は翌月10日までです。")])
    eval_set = write(
        tmp_path / "set.jsonl",
        '{"id": "q", "question": "経費の申請期限は？", "answers": ["翌月10日まで"]}\n',
    )
    same = write(
        tmp_path / "same.toml", '[generator]\nbackend = "fake"\nresponses = ["翌月10日まで [1]"]\n'
    )
    other = write(
        tmp_path / "other.toml",
        '[generator]\nbackend = "fake"\nresponses = ["有給休暇は20日 [1]"]\n',
    )
    items = read_eval_set(eval_set)
    close = run_eval(kb, items, "s", load_config(kb, same)).metrics["similarity"].mean
    far = run_eval(kb, items, "s", load_config(kb, other)).metrics["similarity"].mean
    assert close == pytest.approx(1.0, abs=1e-5)  # the citation marker is stripped
    assert far < 0.5


def test_questions_that_fail_score_zero_and_the_gate_sees_them(
    sample_kb: Path, tmp_path: Path
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    items = read_eval_set(EVAL_SET)
    good_config = load_config(kb, write(tmp_path / "g.toml", _FAKE))
    good = run_eval(kb, items, "q", good_config, everything=True)
    # a window too small for any prompt: every question fails with a context overflow
    tiny = write(tmp_path / "t.toml", _FAKE + "context_window = 300\n")
    broken = run_eval(kb, items, "q", load_config(kb, tiny), everything=True)
    assert good.metrics["success"].mean == 1.0
    assert broken.metrics["success"].mean == 0.0 and broken.metrics["success"].n == 14
    assert broken.metrics["char_f1"].mean == 0.0 and broken.metrics["char_f1"].n > 0
    assert broken.metrics["recall@5"].mean == 1.0  # retrieval itself still worked
    from kotae.evaluation.gate import compare

    with catalog_of(kb) as store:
        report = compare(store.eval_results(good.id), store.eval_results(broken.id))
    failed = {row.metric for row in report.rows if row.verdict == "fail"}
    assert not report.passed and {"success", "char_f1"} <= failed


_FAKE = '[generator]\nbackend = "fake"\n'


def test_config_backend_sections_replace_the_knowledge_base_s(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    init_kb(kb).close()
    config = kb / "kotae.toml"
    config.write_text(
        config.read_text("utf-8")
        + '\n[generator]\nbackend = "openai"\nbase_url = "http://vllm.internal:8000/v1"\n'
        'model = "llama"\n',
        "utf-8",
    )
    gpt = write(
        tmp_path / "gpt-4o.toml",
        '[generator]\nbackend = "openai"\nmodel = "gpt-4o"\napi_key_env = "OPENAI_API_KEY"\n'
        "[retrieval]\ncandidates = 50\n",
    )
    settings = load_config(kb, gpt).settings
    assert settings.generator.options() == {"model": "gpt-4o", "api_key_env": "OPENAI_API_KEY"}
    assert settings.retrieval.candidates == 50 and settings.retrieval.grams_weight == 0.25
    half = write(tmp_path / "half.toml", "[eval.price]\ninput_per_million = 2.5\n")
    with pytest.raises(ConfigError, match=r"half.toml.*output_per_million"):
        load_config(kb, half)
    typo = write(tmp_path / "typo.toml", "[retrieval]\ncandidate = 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(kb, typo)
    assert str(info.value).startswith(f"{typo}: ") and "kotae.toml" not in str(info.value)


def test_unmatched_sources_are_reported(sample_kb: Path, tmp_path: Path) -> None:
    from kotae.evaluation.runner import unmatched_sources
    from kotae.kb import open_kb

    eval_set = write(
        tmp_path / "set.jsonl",
        '{"id": "a", "question": "宿泊費の上限は？", "sources": ["経費精算規程.md"]}\n'
        '{"id": "b", "question": "宿泊費の上限は？", "sources": ["docs/経費精算規程.md"]}\n'
        '{"id": "c", "question": "宿泊費の上限は？", "sources": ["経費規程.md"]}\n',
    )
    with open_kb(sample_kb) as kb:
        assert unmatched_sources(kb, read_eval_set(eval_set)) == [("c", "経費規程.md")]
    out = kotae("eval", "run", "--set", str(eval_set), kb=copy_kb(sample_kb, tmp_path / "kb"))
    assert out.returncode == 0 and "1 reference sources match no document" in out.stderr


def test_a_run_as_a_user_applies_their_acl(sample_kb: Path, tmp_path: Path) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    assert kotae("users", "add", "tanaka", kb=kb).returncode == 0
    assert kotae("users", "add", "sato", "--groups", "executives", kb=kb).returncode == 0
    recalls = {}
    for user in ("tanaka", "sato"):
        out = tmp_path / f"{user}.json"
        result = kotae(
            "eval", "run", "--set", str(EVAL_SET), "--as", user, "--json", str(out), kb=kb
        )
        assert result.returncode == 0, result.stderr
        run = json.loads(out.read_text("utf-8"))["runs"][0]
        assert run["config"]["as_user"] == user
        recalls[user] = run["metrics"]["recall@5"]["mean"]
    # one of the 14 questions is about the board minutes, readable by executives only
    assert recalls == {"tanaka": pytest.approx(13 / 14), "sato": 1.0}
    unknown = kotae("eval", "run", "--set", str(EVAL_SET), "--as", "nobody", kb=kb)
    assert unknown.returncode == 2 and "unknown user 'nobody'" in unknown.stderr
