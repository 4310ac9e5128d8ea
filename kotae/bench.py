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

import hashlib
import json
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from kotae.config import CONFIG_FILE, load_settings
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
    """The dataset in ``folder``, read by :mod:`kotae.evaluation.datasets` (the one reader
    of queries and qrels): the queries with at least one relevant document (a qrel score
    above 0; a score of 0 means judged not relevant), and their qrels."""
    from kotae.evaluation.datasets import dataset_files, read_qrels, read_queries

    files = dataset_files(folder)
    qrels = read_qrels(files.qrels)
    queries = [(qid, text) for qid, text, _ in read_queries(files.queries) if qid in qrels]
    if not queries:
        raise DatasetError(f"{folder}: no query has a relevant document (a qrel score above 0)")
    return Dataset(folder.name, files.corpus, queries, qrels)


def split_half(query_id: str) -> Literal["tune", "report"]:
    """Which half of a visible query set ``query_id`` belongs to: ``"tune"`` or ``"report"``.

    A stable hash of the id (the first byte of its SHA-256 is even: tune; odd: report), so
    the halves are the same on every machine and every run, and about equal. Tuning
    (analyzer weights, evidence rules) looks at the tune half only; the report half's
    figure, which tuning never saw, is published beside the full set's.
    """
    return "tune" if hashlib.sha256(query_id.encode("utf-8")).digest()[0] % 2 == 0 else "report"


def corpus_records(corpus: Path) -> Iterator[Record]:
    for obj in _jsonl(corpus):
        rid = obj.get("id", obj.get("_id"))
        if rid is None or "text" not in obj:
            raise DatasetError(f"{corpus}: every line needs an id and a text")
        yield Record(str(rid), str(obj.get("title") or ""), str(obj["text"]))


def run_retrieval_bench(
    folder: Path,
    k: int = 100,
    config: Path | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Index ``folder``'s corpus in a temporary knowledge base and evaluate its queries
    (with ``limit``, a random sample of that many, fixed by ``seed``: recorded as
    ``sample``).

    Queries are ranked by :func:`kotae.retrieval.rank_chunks`, the path ``search`` takes,
    so a ``[reranker]`` in ``config`` is applied. ``held_out`` holds the figures of the
    report half of the queries (:func:`split_half`) beside the full set's ``metrics``."""
    from kotae.evaluation.datasets import sample, sample_record

    full = load_dataset(folder)
    dataset = replace(full, queries=sample(full.queries, limit, seed))
    depth = k  # documents ranked per query; metrics @n > k see only these
    with _indexed(dataset, config) as (kb, index_s, n_chunks):
        external = {d.id: d.metadata.get("id", d.source) for d in kb.documents()}
        run, latencies = _rank_queries(kb, dataset, depth, external)
        config_info = _config_info(kb, n_chunks)
    held_out = [qid for qid, _ in dataset.queries if split_half(qid) == "report"]
    return {
        "dataset": dataset.name,
        "k": depth,
        "metrics": _ir_metrics(dataset.qrels, run),
        "held_out": {
            "half": "report",
            "n_queries": len(held_out),
            "metrics": _ir_metrics(dataset.qrels, run, set(held_out)) if held_out else None,
        },
        "timing": {
            "index_s": round(index_s, 2),
            **_latency_figures(latencies),
            "qps": round(len(latencies) / (sum(latencies) / 1000), 1) if sum(latencies) else None,
        },
        "n_docs": len(external),
        "n_queries": len(dataset.queries),
        "sample": sample_record(limit, seed, len(full.queries)),
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
            load_settings(config)  # a bad setting is reported with the user's path, not tmp's
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

    chunk_ids, doc_ids = kb.catalog.chunk_document_map()
    chunk_doc: dict[int, int] = dict(zip(chunk_ids.tolist(), doc_ids.tolist(), strict=True))
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


def _ir_metrics(
    qrels: dict[str, dict[str, int]], run: list[Any], queries: set[str] | None = None
) -> dict[str, float]:
    """:data:`METRIC_NAMES` by ir-measures, over ``queries`` (default: every query)."""
    import ir_measures

    pairs = [
        ir_measures.Qrel(q, d, s)
        for q, docs in qrels.items()
        if queries is None or q in queries
        for d, s in docs.items()
    ]
    scored = [r for r in run if queries is None or r.query_id in queries]
    measures = [ir_measures.parse_measure(m) for m in METRIC_NAMES.values()]
    by_name = {str(m): v for m, v in ir_measures.calc_aggregate(measures, pairs, scored).items()}
    return {ours: round(by_name[theirs], 4) for ours, theirs in METRIC_NAMES.items()}


def _latency_figures(latencies: list[float], prefix: str = "query") -> dict[str, float]:
    """p50 and p95 in ms (:func:`kotae.evaluation.metrics.percentile`, rounded)."""
    from kotae.evaluation.metrics import percentile

    return {
        f"{prefix}_p{p}_ms": round(value, 3)
        for p in (50, 95)
        if (value := percentile(latencies, p)) is not None
    }


def dataset_language(questions: list[str]) -> str:
    """ "ja" when most questions contain kana or kanji, else "en"."""
    return majority_language(questions)


def _gold_answers(queries_path: Path) -> dict[str, list[str]]:
    """The ``answers`` list of each query of ``queries.jsonl`` that has one."""
    from kotae.evaluation.datasets import read_queries

    return {qid: list(answers) for qid, _, answers in read_queries(queries_path) if answers}


def _generated_answers(
    kb: KnowledgeBase, access: Access, k_sources: int, stack: ExitStack
) -> Callable[[str], str]:
    """``answer_fn`` over ``kb`` with its configured generator (closed by ``stack``)."""
    from kotae.answer import AskOptions, answer_question
    from kotae.backends.generators import create_generator

    settings = kb.settings.generator
    generator = create_generator(settings.backend, settings.options())
    stack.callback(generator.close)
    options = AskOptions(mode="generate", sources=k_sources)

    def answer(question: str) -> str:
        answered = answer_question(kb, question, access, generator, options)
        return answered.text if answered.status == "ok" else ""

    return answer


def run_qa_bench(
    folder: Path,
    k_sources: int = 5,
    n_evidence: int = 3,
    config: Path | None = None,
    generator: bool | None = None,
    answer_fn: Callable[[str], str] | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Index ``folder``'s corpus like :func:`run_retrieval_bench`, then answer its questions.

    Each question is retrieved (``k_sources`` chunks, everything readable) and its evidence
    selected (:func:`kotae.extractive.select_evidence`, ``n_evidence`` sentences), timed
    together. The metric is answer-in-evidence@1 and @``n_evidence``: whether a gold answer
    of ``queries.jsonl`` (its ``answers`` list) appears in the first evidence texts.

    Generated answers are scored when ``answer_fn`` is given (called with each question, it
    returns the answer text): character F1 for Japanese sets (JGLUE), token F1 and exact match
    for English ones (SQuAD v1.1), and their latency. ``generator=False`` skips them;
    ``generator=True`` requires them. With ``limit``, a random sample of that many
    questions (fixed by ``seed``) is asked, recorded as ``sample``.
    """
    from kotae.evaluation.datasets import sample, sample_record

    if k_sources < 1 or n_evidence < 1:
        raise DatasetError("k_sources and n_evidence must be at least 1")
    dataset = load_dataset(folder)
    golds = _gold_answers(folder / "queries.jsonl")
    answerable = [(qid, text, golds[qid]) for qid, text in dataset.queries if qid in golds]
    if not answerable:
        raise DatasetError(f'{folder}: no query has an "answers" list in queries.jsonl')
    questions = sample(answerable, limit, seed)
    language = dataset_language([text for _, text, _ in questions])
    if generator is False:
        answer_fn = None
    access = Access.everything()
    with _indexed(dataset, config) as (kb, index_s, n_chunks), ExitStack() as stack:
        if answer_fn is None and generator is not False and kb.settings.generator.backend:
            answer_fn = _generated_answers(kb, access, k_sources, stack)
        if generator and answer_fn is None:
            raise ConfigError(
                "generated answers need a generator: set [generator] in the --config file or "
                "KOTAE_GENERATOR__BACKEND"
            )
        rows = [
            _qa_question(kb, access, text, answers, k_sources, n_evidence, language, answer_fn)
            for _, text, answers in questions
        ]
        n_docs = len(kb.documents())
        config_info = _config_info(kb, n_chunks)
    timing = {**_latency_figures([r.latency_ms for r in rows]), "index_s": round(index_s, 2)}
    answer_latencies = [r.answer_ms for r in rows if r.answer_ms is not None]
    if answer_latencies:
        timing["answer_p50_ms"] = _latency_figures(answer_latencies)["query_p50_ms"]
    held_out = [
        r for (qid, _, _), r in zip(questions, rows, strict=True) if split_half(qid) == "report"
    ]
    return {
        "dataset": dataset.name,
        "language": language,
        "metrics": _mean_scores(rows),
        "held_out": {
            "half": "report",
            "n_queries": len(held_out),
            "metrics": _mean_scores(held_out) if held_out else None,
        },
        "timing": timing,
        "n_queries": len(rows),
        "sample": sample_record(limit, seed, len(answerable)),
        "n_docs": n_docs,
        "mode": "generator" if answer_fn is not None else "extractive",
        "config": {**config_info, "k_sources": k_sources, "n_evidence": n_evidence},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


@dataclass(frozen=True, slots=True)
class _QaRow:
    scores: dict[str, float]
    latency_ms: float  # retrieval + evidence selection
    answer_ms: float | None  # the generated answer, when there is one


def _qa_question(
    kb: KnowledgeBase,
    access: Access,
    text: str,
    answers: list[str],
    k_sources: int,
    n_evidence: int,
    language: str,
    answer_fn: Callable[[str], str] | None,
) -> _QaRow:
    """One question of :func:`run_qa_bench`: its evidence hits and answer scores, timed."""
    from kotae.evaluation.answer_metrics import answer_in_evidence
    from kotae.evaluation.metrics import answer_metrics
    from kotae.extractive import select_evidence
    from kotae.retrieval import search

    started = time.perf_counter()
    results = search(kb, text, k_sources, access)
    evidence = select_evidence(text, results, kb.tokenizer, n_evidence)
    latency_ms = (time.perf_counter() - started) * 1000
    texts = [e.text for e in evidence]
    scores = {
        f"answer_in_evidence@{k}": float(answer_in_evidence(texts, answers, k))
        for k in dict.fromkeys((1, n_evidence))
    }
    if answer_fn is None:
        return _QaRow(scores, latency_ms, None)
    started = time.perf_counter()
    predicted = answer_fn(text)
    answer_ms = (time.perf_counter() - started) * 1000
    # the same scoring as eval runs: citation marks ([1], ［1］, 【1】, [1, 2]) removed first
    scores.update(answer_metrics(predicted, answers, "ja" if language == "ja" else "en"))
    return _QaRow(scores, latency_ms, answer_ms)


def _mean_scores(rows: list[_QaRow]) -> dict[str, float]:
    """The mean of each score over ``rows``, rounded to 4 digits, in first-seen order."""
    names = dict.fromkeys(name for row in rows for name in row.scores)
    return {
        name: round(sum(r.scores.get(name, 0.0) for r in rows) / len(rows), 4) for name in names
    }
