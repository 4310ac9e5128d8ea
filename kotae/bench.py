"""``kotae bench retrieval``: index a dataset's corpus the way ``ingest`` does, then rank it.

Dataset layouts: ``corpus.jsonl`` (id, title, text), ``queries.jsonl`` (id, text) and
``qrels.tsv`` (query-id, corpus-id, score, with a header), or the BEIR layout with
``qrels/test.tsv`` and ``_id``. Metrics come from ir-measures; queries run one at a time.
"""

from __future__ import annotations

import json
import platform
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kotae.config import CONFIG_FILE
from kotae.errors import DatasetError
from kotae.ingest import Record, ingest_records
from kotae.kb import Access, init_kb

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
    with tempfile.TemporaryDirectory(prefix="kotae-bench-") as tmp:
        kb_dir = Path(tmp) / "kb"
        kb_dir.mkdir()
        if config is not None:
            shutil.copy(config, kb_dir / CONFIG_FILE)
        kb = init_kb(kb_dir)
        started = time.perf_counter()
        report = ingest_records(kb, str(dataset.corpus), corpus_records(dataset.corpus))
        index_s = time.perf_counter() - started
        external = {d.id: d.metadata.get("id", d.source) for d in kb.documents()}
        run, latencies = _rank_queries(kb, dataset, depth, external)
        config_info = {
            "tokenizer": kb.analyzer_id,
            "retrievers": ["lexical", *(["dense"] if kb.dense_enabled else [])],
            "fusion": "rrf" if kb.dense_enabled else None,
            "field_weights": asdict(kb.field_weights()),
            "embedder": kb.settings.embedder.backend or None,
            "reranker": kb.settings.reranker.backend or None,
            "chunking": kb.settings.chunking.model_dump(),
            "n_chunks": report.chunks,
        }
        kb.close()
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
