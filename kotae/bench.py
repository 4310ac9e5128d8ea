"""``kotae bench retrieval`` and ``kotae bench qa``: index a dataset's corpus the way
``ingest`` does, then rank it or answer its questions.

Dataset layouts: ``corpus.jsonl`` (id, title, text), ``queries.jsonl`` (id, text) and
``qrels.tsv`` (query-id, corpus-id, score, with a header), or the BEIR layout with
``qrels/test.tsv`` and ``_id``. Metrics come from ir-measures; queries run one at a time.

``kotae bench qa`` uses the same layout, with an ``answers`` list on each query: it scores
the evidence sentences kotae shows without a generator (answer-in-evidence@k), and the
answers of a generator when one is passed in.
"""

from __future__ import annotations

import json
import platform
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kotae.config import CONFIG_FILE
from kotae.errors import ConfigError, DatasetError
from kotae.ingest import Record, ingest_records
from kotae.kb import Access, KnowledgeBase, init_kb
from kotae.text.language import majority_language

METRIC_NAMES = {
    "ndcg@10": "nDCG@10",
    "recall@1": "R@1",
    "recall@5": "R@5",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "mrr@10": "RR@10",
}
CHUNKS_PER_DOC_BUDGET = 4  # chunk candidates fetched per document wanted


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    corpus: Path
    queries: list[tuple[str, str]]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{n}: not JSON ({exc.msg})") from exc


def load_dataset(folder: Path) -> Dataset:
    corpus = folder / "corpus.jsonl"
    queries_path = folder / "queries.jsonl"
    qrels_path = folder / "qrels.tsv"
    if not qrels_path.exists():
        qrels_path = folder / "qrels" / "test.tsv"
    missing = [p.name for p in (corpus, queries_path, qrels_path) if not p.exists()]
    if missing:
        raise DatasetError(
            f"{folder}: missing {', '.join(missing)} (expected corpus.jsonl, queries.jsonl and "
            "qrels.tsv, or the BEIR layout with qrels/test.tsv)"
        )
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            if len(parts) < 3:
                raise DatasetError(f"{qrels_path}:{n + 1}: expected query-id, corpus-id, score")
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = []
    for obj in _jsonl(queries_path):
        qid = str(obj.get("id", obj.get("_id")))
        if qid in qrels:
            queries.append((qid, str(obj["text"])))
    if not queries:
        raise DatasetError(f"{folder}: no query has a qrel")
    return Dataset(folder.name, corpus, queries, qrels)


def corpus_records(corpus: Path) -> Iterator[Record]:
    for obj in _jsonl(corpus):
        rid = obj.get("id", obj.get("_id"))
        if rid is None or "text" not in obj:
            raise DatasetError(f"{corpus}: every line needs an id and a text")
        yield Record(str(rid), str(obj.get("title") or ""), str(obj["text"]))


def run_retrieval_bench(folder: Path, k: int = 10, config: Path | None = None) -> dict[str, Any]:
    """Index ``folder``'s corpus in a temporary knowledge base and evaluate its queries."""
    import ir_measures

    dataset = load_dataset(folder)
    depth = max(k, 100)
    with _indexed(dataset, config) as (kb, index_s, n_chunks):
        external = {d.id: d.metadata.get("id", d.source) for d in kb.documents()}
        run, latencies = _rank_queries(kb, dataset, depth, external)
        config_info = _config_info(kb, n_chunks)
    qrels = [
        ir_measures.Qrel(q, d, s) for q, docs in dataset.qrels.items() for d, s in docs.items()
    ]
    measures = [ir_measures.parse_measure(m) for m in METRIC_NAMES.values()]
    agg = ir_measures.calc_aggregate(measures, qrels, run)
    by_name = {str(m): v for m, v in agg.items()}
    total_s = sum(latencies) / 1000
    return {
        "dataset": dataset.name,
        "metrics": {ours: round(by_name[theirs], 4) for ours, theirs in METRIC_NAMES.items()},
        "timing": {
            "index_s": round(index_s, 2),
            "query_p50_ms": round(statistics.median(latencies), 3),
            "query_p95_ms": round(_percentile(latencies, 95), 3),
            "qps": round(len(latencies) / total_s, 1) if total_s else None,
        },
        "n_docs": len(external),
        "n_queries": len(dataset.queries),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "config": config_info,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


@contextmanager
def _indexed(dataset: Dataset, config: Path | None) -> Iterator[tuple[KnowledgeBase, float, int]]:
    """A temporary knowledge base holding ``dataset``'s corpus, ingested the way ``kotae
    ingest`` does: (the knowledge base, seconds the ingestion took, number of chunks)."""
    with tempfile.TemporaryDirectory(prefix="kotae-bench-") as tmp:
        kb_dir = Path(tmp) / "kb"
        kb_dir.mkdir()
        if config is not None:
            shutil.copy(config, kb_dir / CONFIG_FILE)
        kb = init_kb(kb_dir)
        try:
            started = time.perf_counter()
            report = ingest_records(kb, str(dataset.corpus), corpus_records(dataset.corpus))
            index_s = time.perf_counter() - started
            yield kb, index_s, report.chunks
        finally:
            kb.close()


def _config_info(kb: KnowledgeBase, n_chunks: int) -> dict[str, Any]:
    """How the temporary knowledge base analyzes, retrieves and chunks, for the results."""
    return {
        "tokenizer": kb.analyzer_id,
        "retrievers": ["lexical", *(["dense"] if kb.dense_enabled else [])],
        "fusion": "rrf" if kb.dense_enabled else None,
        "field_weights": asdict(kb.field_weights()),
        "embedder": kb.settings.embedder.backend or None,
        "reranker": kb.settings.reranker.backend or None,
        "chunking": kb.settings.chunking.model_dump(),
        "n_chunks": n_chunks,
    }


def _rank_queries(
    kb: Any, dataset: Dataset, depth: int, external: dict[int, str]
) -> tuple[list[Any], list[float]]:
    import ir_measures

    from kotae.retrieval import rank_chunks

    chunk_doc: dict[int, int] = dict(
        kb.catalog.con.execute("SELECT id, document_id FROM chunks").fetchall()
    )
    access = Access.everything()
    run: list[Any] = []
    latencies: list[float] = []
    for qid, text in dataset.queries:
        t0 = time.perf_counter()
        ranked = rank_chunks(kb, text, depth * CHUNKS_PER_DOC_BUDGET, access)
        best: dict[int, float] = {}
        for chunk_id, score in ranked:
            doc = chunk_doc[chunk_id]
            if doc not in best:  # ranked best first: the first chunk is the best one
                best[doc] = score
                if len(best) == depth:
                    break
        latencies.append((time.perf_counter() - t0) * 1000)
        n = len(best)
        for rank, doc in enumerate(best):
            # ranks, not raw scores: fused lists have ties, and ir-measures sorts by score
            run.append(ir_measures.ScoredDoc(qid, external[doc], float(n - rank)))
    return run, latencies


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def dataset_language(questions: list[str]) -> str:
    """ "ja" when most questions contain kana or kanji, else "en"."""
    return majority_language(questions)


def _gold_answers(queries_path: Path) -> dict[str, list[str]]:
    """The ``answers`` list of each query of ``queries.jsonl`` that has one."""
    golds: dict[str, list[str]] = {}
    for obj in _jsonl(queries_path):
        answers = obj.get("answers")
        if isinstance(answers, list) and answers:
            golds[str(obj.get("id", obj.get("_id")))] = [str(a) for a in answers]
    return golds


def _generated_answers(
    kb: KnowledgeBase, access: Access, k_sources: int, stack: ExitStack
) -> Callable[[str], str]:
    """``answer_fn`` over ``kb`` with its configured generator (closed by ``stack``)."""
    from kotae.answer import AskOptions, answer_question, strip_citations
    from kotae.backends.generators import create_generator

    settings = kb.settings.generator
    generator = create_generator(settings.backend, settings.options())
    stack.callback(generator.close)
    options = AskOptions(mode="generate", sources=k_sources)

    def answer(question: str) -> str:
        answered = answer_question(kb, question, access, generator, options)
        return strip_citations(answered.text) if answered.status == "ok" else ""

    return answer


def run_qa_bench(
    folder: Path,
    k_sources: int = 5,
    n_evidence: int = 3,
    config: Path | None = None,
    generator: bool | None = None,
    answer_fn: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Index ``folder``'s corpus like :func:`run_retrieval_bench`, then answer its questions.

    Each question is retrieved (``k_sources`` chunks, everything readable) and its evidence
    selected (:func:`kotae.extractive.select_evidence`, ``n_evidence`` sentences), timed
    together. The metric is answer-in-evidence@1 and @``n_evidence``: whether a gold answer
    of ``queries.jsonl`` (its ``answers`` list) appears in the first evidence texts.

    Generated answers are scored when ``answer_fn`` is given (called with each question, it
    returns the answer text): character F1 for Japanese sets (JGLUE), token F1 and exact match
    for English ones (SQuAD v1.1), and their latency. ``generator=False`` skips them;
    ``generator=True`` requires them.
    """
    from kotae.evaluation.answer_metrics import answer_in_evidence, char_f1, squad_em, squad_f1
    from kotae.extractive import select_evidence
    from kotae.retrieval import search

    if k_sources < 1 or n_evidence < 1:
        raise DatasetError("k_sources and n_evidence must be at least 1")
    dataset = load_dataset(folder)
    golds = _gold_answers(folder / "queries.jsonl")
    questions = [(text, golds[qid]) for qid, text in dataset.queries if qid in golds]
    if not questions:
        raise DatasetError(f'{folder}: no query has an "answers" list in queries.jsonl')
    language = dataset_language([text for text, _ in questions])
    if generator is False:
        answer_fn = None
    access = Access.everything()
    latencies: list[float] = []
    answer_latencies: list[float] = []
    hits = {1: 0, n_evidence: 0}
    scores: dict[str, float] = {}
    with _indexed(dataset, config) as (kb, index_s, n_chunks), ExitStack() as stack:
        if answer_fn is None and generator is not False and kb.settings.generator.backend:
            answer_fn = _generated_answers(kb, access, k_sources, stack)
        if generator and answer_fn is None:
            raise ConfigError(
                "generated answers need a generator: set [generator] in the --config file or "
                "KOTAE_GENERATOR__BACKEND"
            )
        for text, answers in questions:
            started = time.perf_counter()
            results = search(kb, text, k_sources, access)
            evidence = select_evidence(text, results, kb.tokenizer, n_evidence)
            latencies.append((time.perf_counter() - started) * 1000)
            texts = [e.text for e in evidence]
            for k in hits:
                hits[k] += answer_in_evidence(texts, answers, k)
            if answer_fn is not None:
                started = time.perf_counter()
                predicted = answer_fn(text)
                answer_latencies.append((time.perf_counter() - started) * 1000)
                if language == "ja":
                    _add(scores, "char_f1", char_f1(predicted, answers))
                else:
                    _add(scores, "token_f1", squad_f1(predicted, answers))
                    _add(scores, "em", squad_em(predicted, answers))
        n_docs = len(kb.documents())
        config_info = _config_info(kb, n_chunks)
    n = len(questions)
    metrics = {f"answer_in_evidence@{k}": round(h / n, 4) for k, h in hits.items()}
    metrics.update({name: round(total / n, 4) for name, total in scores.items()})
    timing = {
        "query_p50_ms": round(statistics.median(latencies), 3),
        "query_p95_ms": round(_percentile(latencies, 95), 3),
        "index_s": round(index_s, 2),
    }
    if answer_latencies:
        timing["answer_p50_ms"] = round(statistics.median(answer_latencies), 3)
    return {
        "dataset": dataset.name,
        "language": language,
        "metrics": metrics,
        "timing": timing,
        "n_queries": n,
        "n_docs": n_docs,
        "mode": "generator" if answer_fn is not None else "extractive",
        "config": {**config_info, "k_sources": k_sources, "n_evidence": n_evidence},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


def _add(totals: dict[str, float], name: str, value: float) -> None:
    totals[name] = totals.get(name, 0.0) + value
