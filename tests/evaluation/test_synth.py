"""`kotae eval synth` with a scripted generator, and the report of a real run through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kotae.evaluation.datasets import read_eval_set
from kotae.evaluation.synth import _bigrams, first_json_object, is_duplicate, synthesize
from kotae.kb import KnowledgeBase
from kotae.testing import FakeGenerator
from tests.conftest import write
from tests.evaluation.test_runner import EVAL_SET, copy_kb, sample_kb  # noqa: F401 (fixture)
from tests.test_cli import kotae

POLICY = (
    "# 経費精算規程\n\n"
    "経費の申請期限は、支出した月の翌月10日までとする。期限を過ぎた申請は部長の承認が必要である。"
    "承認のない申請は受け付けない。"
    "申請は経費精算システム e-Keihi から行い、領収書の画像を添付する。\n"
)


def test_first_json_object_tolerates_prose_and_fences() -> None:
    reply = 'はい。\n```json\n{"question": "期限は？", "answer": "翌月10日"}\n```'
    assert first_json_object(reply) == {"question": "期限は？", "answer": "翌月10日"}
    assert first_json_object("no json {here") is None
    assert is_duplicate("経費の申請期限はいつですか？", [_bigrams("経費の申請期限はいつですか")])
    assert not is_duplicate("宿泊費の上限は？", [_bigrams("経費の申請期限はいつですか")])


def test_synthesize_keeps_answerable_unique_questions(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest([write(tmp_path / "経費精算規程.md", POLICY)])
    assert kb.catalog.con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 1
    generator = FakeGenerator(
        [
            # 1st chunk: answer copied from the chunk: kept
            '```json\n{"question": "経費の申請期限はいつですか？", "answer": "翌月10日まで"}\n```'
        ]
    )
    report = synthesize(kb, generator, 3)
    assert report.chunks_tried == 1  # only one chunk is long enough
    [item] = report.items
    assert item.question == "経費の申請期限はいつですか？" and item.answers == ("翌月10日まで",)
    assert item.sources and item.sources[0].endswith("経費精算規程.md")
    assert item.language == "ja" and item.tags == ("synth",) and item.source_chunk is not None


def test_synthesize_drops_unanswerable_malformed_and_duplicate(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    for i in range(4):
        kb.ingest([write(tmp_path / f"規程{i}.md", POLICY.replace("経費精算規程", f"規程{i}"))])
    generator = FakeGenerator(
        [
            '{"question": "経費の申請期限はいつですか？", "answer": "翌月10日まで"}',
            "質問は思いつきませんでした。",  # no JSON
            '{"question": "経費の申請期限はいつですか", "answer": "翌月10日まで"}',  # duplicate
            '{"question": "社長の名前は？", "answer": "山田太郎"}',  # not in the chunk...
            '{"answerable": false}',  # ...and the generator does not confirm it
        ]
    )
    report = synthesize(kb, generator, 4)
    assert [i.question for i in report.items] == ["経費の申請期限はいつですか？"]
    assert report.dropped == {
        "no question and answer in the reply": 1,
        "duplicate": 1,
        "the chunk does not answer it": 1,
    }
    assert report.chunks_tried == 4


def test_synth_cli_needs_a_generator_and_writes_a_set(sample_kb: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "synth.jsonl"
    missing = kotae("eval", "synth", "--out", str(out), kb=sample_kb)
    assert missing.returncode == 2 and "needs a generator" in missing.stderr
    kb = copy_kb(sample_kb, tmp_path / "kb")
    config = kb / "kotae.toml"
    # the fake quotes the first line of the passage as its "answer" inside a JSON reply:
    # here a fixed reply whose answer ("株式会社サクラ精機") is in several documents
    reply = json.dumps({"question": "この文書を発行した会社は？", "answer": "株式会社サクラ精機"})
    config.write_text(
        config.read_text("utf-8")
        + f'\n[generator]\nbackend = "fake"\nresponses = [{json.dumps(reply)}]\n',
        "utf-8",
    )
    result = kotae("eval", "synth", "--out", str(out), "-n", "3", "--json", kb=kb)
    summary = json.loads(result.stdout)
    # the same question for every chunk: one kept, the others duplicates or unanswerable
    assert summary["kept"] == 1 and result.returncode == 0, result.stderr
    assert (
        summary["dropped"].get("duplicate", 0)
        + summary["dropped"].get("the chunk does not answer it", 0)
        == summary["chunks_tried"] - 1
    )
    [item] = read_eval_set(out)
    assert item.answers == ("株式会社サクラ精機",) and item.source_chunk is not None


def test_report_of_a_real_run_through_the_cli(sample_kb: Path, tmp_path: Path) -> None:  # noqa: F811
    kb = copy_kb(sample_kb, tmp_path / "kb")
    out = tmp_path / "poc.html"
    run = kotae("eval", "run", "--set", str(EVAL_SET), "--report", str(out), kb=kb)
    assert run.returncode == 0, run.stderr
    run_id = run.stdout.split()[0]
    html = out.read_text("utf-8")
    assert run_id in html and "recall@5" in html
    assert "社内ナレッジ検索" in html or "recall@5" in html  # the use case of kotae init
    assert html.count("<svg") >= 2
    assert "[1] 経費精算規程" in html  # passages given to the answer, in the drill-down
    english = tmp_path / "poc-en.html"
    again = kotae("eval", "report", run_id, "--out", str(english), "--lang", "en", kb=kb)
    assert again.returncode == 0 and "Retrieved documents" in english.read_text("utf-8")
    bad = kotae("eval", "report", "nope", "--out", str(english), kb=kb)
    assert bad.returncode == 2 and "no evaluation run 'nope'" in bad.stderr


@pytest.mark.parametrize("use_case", ["knowledge-search", "faq-support", "drafting"])
def test_init_use_case_templates_are_valid_and_bilingual(tmp_path: Path, use_case: str) -> None:
    kb = tmp_path / "kb"
    result = kotae("init", str(kb), "--use-case", use_case)
    assert result.returncode == 0, result.stderr
    text = (kb / "kotae.toml").read_text("utf-8")
    assert "# 目的 / purpose" in text
    shown = json.loads(kotae("config", "show", "--json", kb=kb).stdout)
    kpis = shown["use_case"]["kpis"]
    assert len(kpis) == 6 and all(k["op"] in (">=", "<=") for k in kpis)
    again = kotae("init", str(kb), "--use-case", use_case)
    assert again.returncode == 2 and "already has a [use_case]" in again.stderr
