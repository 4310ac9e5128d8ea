"""Every figure counts what happened: failed questions in latency and cost, score-0 qrels as
not relevant everywhere, one percentile, and the held-out half reported beside the full set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kotae.backends.generators import GENERATORS
from kotae.bench import load_dataset, run_qa_bench, run_retrieval_bench, split_half
from kotae.errors import BackendTimeoutError
from kotae.evaluation import report
from kotae.evaluation.datasets import import_dataset, ingest_corpus, read_qrels
from kotae.evaluation.metrics import latency_percentiles, percentile
from kotae.evaluation.runner import load_config, run_eval
from kotae.kb import init_kb, open_kb
from kotae.testing import FakeGenerator
from tests.conftest import write
from tests.test_rerank_metrics import CORPUS, QUERIES, TOPICS, jsonl, make_dataset

# -- failed questions count in latency and cost ---------------------------------------


class BrokenStream(FakeGenerator):
    """Streams the first words of its answer, then the connection times out."""

    def stream(self, messages: Any, params: Any = None) -> Iterator[Any]:
        yield "The expense "
        yield "rules say "
        raise BackendTimeoutError("no token for 60 s: the generation server stopped answering")


@pytest.fixture
def broken_generator() -> Iterator[None]:
    def create(options: Mapping[str, Any]) -> BrokenStream:
        return BrokenStream()

    GENERATORS.register("broken-stream", create)
    yield
    del GENERATORS._factories["broken-stream"]


def test_failed_questions_count_in_latency_and_in_cost(
    tmp_path: Path, broken_generator: None
) -> None:
    folder = make_dataset(tmp_path / "tiny")
    kb_path = tmp_path / "kb"
    with init_kb(kb_path) as kb:
        ingest_corpus(kb, folder)
    items = import_dataset(folder).items
    config = write(
        tmp_path / "broken.toml",
        '[generator]\nbackend = "broken-stream"\n'
        '[eval.price]\ncurrency = "USD"\ninput_per_million = 1.0\noutput_per_million = 2.0\n',
    )
    run = run_eval(kb_path, items, "tiny", load_config(kb_path, config))
    with open_kb(kb_path) as kb:
        stored = kb.catalog.eval_results(run.id)
    assert len(stored) == 12 and {r.status for r in stored} == {"error"}
    assert all("BackendTimeoutError" in (r.error or "") for r in stored)
    # each failure took time: it is in the latency figures, not left out of them
    assert all(r.timings["total_ms"] > 0 for r in stored)
    assert run.metrics["total_ms"].n == 12
    assert set(latency_percentiles(stored)) == {"p50", "p95", "p99"}
    # and it used tokens: the prompt it sent and the words it streamed before breaking off,
    # counted with the generator's own counter
    streamed = BrokenStream().count_tokens("The expense rules say ")
    assert all(r.usage["prompt_tokens"] > 50 for r in stored)
    assert {r.usage["completion_tokens"] for r in stored} == {streamed}
    prompt = sum(r.usage["prompt_tokens"] for r in stored)
    expected = (prompt * 1.0 + 12 * (streamed or 0) * 2.0) / 1e6 / 12 * 1000
    assert run.cost_per_1000 == pytest.approx(expected)


# -- score-0 qrels: judged not relevant, by the one reader ---------------------------------


def graded_dataset(folder: Path) -> Path:
    """The tiny set with extra qrels scored 0: q0 -> d1 (a wrong document judged not
    relevant) and q12, a query whose only qrel is 0 (no relevant document at all)."""
    make_dataset(folder)
    queries = [*QUERIES, {"id": "q12", "text": "office policy on parking"}]
    write(folder / "queries.jsonl", jsonl(queries))
    qrels = "".join(f"q{i}\td{i}\t1\n" for i in range(len(TOPICS)))
    write(
        folder / "qrels.tsv",
        "query-id\tcorpus-id\tscore\n" + qrels + "q0\td1\t0\nq12\td5\t0\n",
    )
    return folder


def test_score_zero_qrels_are_not_relevant_in_bench_and_eval_alike(tmp_path: Path) -> None:
    folder = graded_dataset(tmp_path / "graded")
    assert read_qrels(folder / "qrels.tsv")["q0"] == {"d0": 1}
    assert "q12" not in read_qrels(folder / "qrels.tsv")
    dataset = load_dataset(folder)
    assert dataset.qrels == read_qrels(folder / "qrels.tsv")
    assert [qid for qid, _ in dataset.queries] == [f"q{i}" for i in range(len(TOPICS))]
    imported = {item.id: item.sources for item in import_dataset(folder).items}
    assert {q: tuple(docs) for q, docs in dataset.qrels.items()} == imported
    # q12 has no relevant document: it is not a retrieval query (it would score 0 on all)
    result = run_retrieval_bench(folder)
    assert result["n_queries"] == len(TOPICS)
    assert result["metrics"]["ndcg@10"] == result["metrics"]["recall@1"] == 1.0


# -- one percentile ---------------------------------------------------------------------


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_the_one_percentile_is_numpys_linear_interpolation(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_report_and_bench_use_the_one_percentile(tmp_path: Path) -> None:
    assert report.percentile is percentile
    assert percentile([], 50) is None
    # bench's p95 over 4 queries: linear interpolation (3.85 for 1..4 ms), not nearest rank (4)
    from kotae.bench import _latency_figures

    assert _latency_figures([4.0, 1.0, 3.0, 2.0]) == {"query_p50_ms": 2.5, "query_p95_ms": 3.85}


# -- the held-out half -------------------------------------------------------------------


def test_split_half_is_a_stable_hash_split_into_two_halves() -> None:
    ids = [f"q{i}" for i in range(2000)] + [f"{i:06d}" for i in range(2000)]
    halves = [split_half(query_id) for query_id in ids]
    assert set(halves) == {"tune", "report"}
    assert 0.45 < halves.count("report") / len(ids) < 0.55
    assert halves == [split_half(query_id) for query_id in ids]  # the same on every call
    # the documented rule: the first byte of the id's SHA-256, even = tune
    assert all(
        (half == "tune") == (hashlib.sha256(q.encode()).digest()[0] % 2 == 0)
        for q, half in zip(ids, halves, strict=True)
    )


def half_wrong_dataset(folder: Path) -> tuple[Path, int]:
    """The tiny set, with the qrels of the report half's queries pointing at a document
    that does not answer them; returns the folder and the number of report queries."""
    make_dataset(folder)
    lines, report_queries = [], 0
    for i in range(len(TOPICS)):
        if split_half(f"q{i}") == "report":
            report_queries += 1
            lines.append(f"q{i}\td{(i + 1) % len(TOPICS)}\t1\n")
        else:
            lines.append(f"q{i}\td{i}\t1\n")
    write(folder / "qrels.tsv", "query-id\tcorpus-id\tscore\n" + "".join(lines))
    return folder, report_queries


def test_bench_retrieval_reports_the_report_half_beside_the_full_set(tmp_path: Path) -> None:
    folder, report_queries = half_wrong_dataset(tmp_path / "half")
    assert 0 < report_queries < len(TOPICS)
    result = run_retrieval_bench(folder)
    held_out = result["held_out"]
    assert held_out["half"] == "report" and held_out["n_queries"] == report_queries
    # the report half's right document is never first; the tune half's always is
    assert held_out["metrics"]["recall@1"] == 0.0
    tune_share = (len(TOPICS) - report_queries) / len(TOPICS)
    assert result["metrics"]["recall@1"] == pytest.approx(tune_share, abs=1e-4)


def test_bench_qa_reports_the_report_half_beside_the_full_set(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path / "qa")
    report_ids = {q["id"] for q in QUERIES if split_half(str(q["id"])) == "report"}
    # the report half's answers are nowhere in the corpus
    queries = [
        {**q, "answers": ["not in any document"]} if q["id"] in report_ids else q for q in QUERIES
    ]
    write(folder / "queries.jsonl", jsonl(queries))
    result = run_qa_bench(folder, k_sources=3, n_evidence=3)
    held_out = result["held_out"]
    assert held_out["n_queries"] == len(report_ids)
    assert held_out["metrics"]["answer_in_evidence@3"] == 0.0
    assert result["metrics"]["answer_in_evidence@3"] == pytest.approx(
        1 - len(report_ids) / len(QUERIES), abs=1e-4
    )
    assert len(CORPUS) == len(QUERIES)
    assert json.dumps(result)  # the whole result is JSON, held-out figures included
