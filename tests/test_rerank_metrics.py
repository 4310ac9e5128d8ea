"""A configured reranker changes what every consumer ranks, and loads its model once.

The cross-encoder is a tiny random-weight BERT built here (a WordPiece tokenizer trained on
the test corpus, saved to a folder, loaded by sentence-transformers like a real one). Its
scores are noise, which is the point: on a set where lexical retrieval is perfect, any
reranking that is really applied moves the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kotae.evaluation.datasets import import_dataset, ingest_corpus
from kotae.evaluation.runner import load_config, run_eval
from kotae.kb import init_kb, open_kb
from kotae.tiny_models import build_tiny_cross_encoder
from tests.conftest import write

TOPICS = (
    "expense",
    "travel",
    "vacation",
    "password",
    "laptop",
    "parking",
    "badge",
    "printer",
    "overtime",
    "insurance",
    "training",
    "canteen",
)
# every document shares "policy" and "office": every query reaches all of them, and only the
# document of its topic holds the topic word, so BM25 ranks it first
CORPUS = [
    {
        "id": f"d{i}",
        "title": f"{topic} policy",
        "text": f"The {topic} policy of the office. Ask the office about the {topic} rules.",
    }
    for i, topic in enumerate(TOPICS)
]
QUERIES = [
    {"id": f"q{i}", "text": f"office policy on {topic}", "answers": [f"{topic} rules"]}
    for i, topic in enumerate(TOPICS)
]


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def make_dataset(folder: Path) -> Path:
    write(folder / "corpus.jsonl", jsonl(CORPUS))
    write(folder / "queries.jsonl", jsonl(QUERIES))
    qrels = "".join(f"q{i}\td{i}\t1\n" for i in range(len(TOPICS)))
    write(folder / "qrels.tsv", "query-id\tcorpus-id\tscore\n" + qrels)
    return folder


def build_cross_encoder(out: Path) -> Path:
    """A tiny random cross-encoder whose tokenizer is trained on this test's corpus."""
    for module in ("torch", "tokenizers", "transformers"):
        pytest.importorskip(module)
    texts = [row["text"] for row in CORPUS] + [row["text"] for row in QUERIES]
    return build_tiny_cross_encoder(out, texts)


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sentence_transformers")
    return build_cross_encoder(tmp_path_factory.mktemp("reranker") / "model")


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The folders sentence-transformers loads a CrossEncoder from, in this test."""
    import sentence_transformers

    seen: list[str] = []
    real = sentence_transformers.CrossEncoder

    class CountingCrossEncoder(real):  # type: ignore[misc, valid-type]
        def __init__(self, model_name_or_path: str, *args: Any, **kwargs: Any) -> None:
            seen.append(model_name_or_path)
            super().__init__(model_name_or_path, *args, **kwargs)

    monkeypatch.setattr(sentence_transformers, "CrossEncoder", CountingCrossEncoder)
    yield seen


def reranker_toml(path: Path, model: Path, extra: str = "") -> Path:
    return write(path, f'[reranker]\nbackend = "cross-encoder"\nmodel = "{model}"\n{extra}')


def bench_retrieval(*args: str) -> None:
    """``kotae bench retrieval ARGS`` in this process (so the loads can be counted)."""
    from kotae.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["bench", "retrieval", *args])
    assert done.value.code == 0


def test_a_reranker_config_changes_bench_retrieval_and_loads_its_model_once(
    tmp_path: Path, cross_encoder: Path, loads: list[str]
) -> None:
    folder = make_dataset(tmp_path / "tiny")
    bench_retrieval(str(folder), "--json", str(tmp_path / "base.json"))
    assert loads == []
    # a distinct copy of the options: a model folder no other test has loaded in this process
    config = reranker_toml(tmp_path / "rerank.toml", cross_encoder, "batch_size = 7\n")
    bench_retrieval(str(folder), "--config", str(config), "--json", str(tmp_path / "rr.json"))
    base = json.loads((tmp_path / "base.json").read_text("utf-8"))
    reranked = json.loads((tmp_path / "rr.json").read_text("utf-8"))
    assert base["n_queries"] == reranked["n_queries"] == len(QUERIES)
    assert (base["config"]["reranker"], reranked["config"]["reranker"]) == (None, "cross-encoder")
    # lexical retrieval is perfect on this set; the random reranker reorders the candidates
    assert base["metrics"]["ndcg@10"] == base["metrics"]["mrr@10"] == 1.0
    assert reranked["metrics"]["mrr@10"] < 1.0
    assert reranked["metrics"] != base["metrics"]
    # every document is still found (reranking reorders the same candidates)
    assert reranked["metrics"]["recall@100"] == 1.0
    assert loads == [str(cross_encoder.resolve())]  # once for the 12 queries


def test_eval_run_ranks_through_the_reranker_loaded_once_across_threads(
    tmp_path: Path, cross_encoder: Path, loads: list[str]
) -> None:
    folder = make_dataset(tmp_path / "tiny")
    kb_path = tmp_path / "kb"
    with init_kb(kb_path) as kb:
        ingest_corpus(kb, folder)
    items = import_dataset(folder).items
    plain = run_eval(kb_path, items, "tiny", load_config(kb_path, None))
    config = reranker_toml(
        tmp_path / "rerank.toml", cross_encoder, "batch_size = 5\n[eval]\nconcurrency = 4\n"
    )
    reranked = run_eval(kb_path, items, "tiny", load_config(kb_path, config))
    assert plain.metrics["mrr"].mean == 1.0
    assert reranked.metrics["mrr"].mean < 1.0
    with open_kb(kb_path) as kb:
        before = {r.item_id: r.retrieved for r in kb.catalog.eval_results(plain.id)}
        after = {r.item_id: r.retrieved for r in kb.catalog.eval_results(reranked.id)}
    assert before.keys() == after.keys() and before != after
    assert loads == [str(cross_encoder.resolve())]  # one model for 12 questions on 4 threads


def test_bench_qa_search_loads_the_reranker_once_for_all_questions(
    tmp_path: Path, cross_encoder: Path, loads: list[str]
) -> None:
    from kotae.bench import run_qa_bench

    folder = make_dataset(tmp_path / "tiny")
    config = reranker_toml(tmp_path / "rerank.toml", cross_encoder, "batch_size = 3\n")
    result = run_qa_bench(folder, k_sources=3, n_evidence=1, config=config)
    assert result["config"]["reranker"] == "cross-encoder" and result["n_queries"] == 12
    assert loads == [str(cross_encoder.resolve())]  # not once per question
