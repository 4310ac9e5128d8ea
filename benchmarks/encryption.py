"""Encryption at rest: the same JaQuAD passages in a plain and an encrypted knowledge base.

Usage:
    .venv/bin/python benchmarks/encryption.py [--passages 3000] [--queries 400]
        [--opens 3] [--json OUT]

Builds both knowledge bases in one run, in-process through the library (``init_kb``,
``KnowledgeBase.ingest`` of a JSONL file of the first ``--passages`` passages of
``$KOTAE_SHARED/bench/jaquad/corpus.jsonl``), then measures:

* ingest: wall time of the one ingestion;
* open: ``KnowledgeBase(path)`` until it can search (median of ``--opens``). A plain one
  loads its tantivy index from disk; an encrypted one derives the key (scrypt, cached per
  process after the first open) and rebuilds its lexical index in memory from the
  SQLCipher catalog: the cost of never writing a derived index to disk;
* search: ``kb.search(q, k=10)`` for the set's questions, as ``kotae search`` runs it
  (query logged, audit recorded), alternating plain and encrypted query by query; p50/p95
  and their ratio.

Lexical retrieval (no embedder). Writes ``benchmarks/results/encryption.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_harness import (
    RESULTS_DIR,
    git_info,
    kotae_version,
    log,
    machine_info,
    shared_dir,
    utc_now,
    write_json,
)

PASSPHRASE = "benchmark passphrase, not a secret"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def subset(corpus: Path, out: Path, count: int) -> int:
    lines = []
    with corpus.open(encoding="utf-8") as src:
        for line in src:
            if len(lines) >= count:
                break
            lines.append(line)
    out.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def questions(path: Path, count: int) -> list[str]:
    with path.open(encoding="utf-8") as src:
        return [json.loads(line)["text"] for line, _ in zip(src, range(count), strict=False)]


def build(path: Path, source: Path, encrypt: bool) -> float:
    from kotae.kb import init_kb

    started = time.perf_counter()
    with init_kb(path, encrypt=encrypt) as kb:
        report = kb.ingest([source])
        assert report.ok, report.failures[:3]
    return time.perf_counter() - started


def open_seconds(path: Path, opens: int) -> tuple[float, list[float]]:
    from kotae.kb import KnowledgeBase

    times = []
    for _ in range(opens):
        started = time.perf_counter()
        kb = KnowledgeBase(path)
        kb.lexical.num_chunks()
        times.append(time.perf_counter() - started)
        kb.close()
    return statistics.median(times), times


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--opens", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "encryption.json")
    args = parser.parse_args(argv)

    from kotae.kb import Access, KnowledgeBase

    data_dir = shared_dir() / "bench" / "jaquad"
    os.environ["KOTAE_MASTER_KEY"] = PASSPHRASE
    result: dict[str, Any] = {
        "benchmark": "encryption",
        "date": utc_now(),
        "dataset": "jaquad",
        "machine": machine_info(),
        "git": git_info(),
        "kotae": kotae_version(),
    }
    with tempfile.TemporaryDirectory(prefix="kotae-enc-bench-") as tmp:
        root = Path(tmp)
        source = root / "jaquad-subset.jsonl"
        result["n_passages"] = subset(data_dir / "corpus.jsonl", source, args.passages)
        qs = questions(data_dir / "queries.jsonl", args.queries)
        result["n_queries"] = len(qs)
        kinds = {"plain": False, "encrypted": True}
        for name, encrypt in kinds.items():
            if not encrypt:
                del os.environ["KOTAE_MASTER_KEY"]
            else:
                os.environ["KOTAE_MASTER_KEY"] = PASSPHRASE
            log(f"ingest {name}: {result['n_passages']} passages")
            seconds = build(root / name, source, encrypt)
            median, times = open_seconds(root / name, args.opens)
            result[name] = {
                "ingest_s": round(seconds, 2),
                "open_s": round(median, 3),
                "open_runs_s": [round(t, 3) for t in times],
            }
            log(f"{name}: ingest {seconds:.1f} s, open {median:.3f} s")
        os.environ["KOTAE_MASTER_KEY"] = PASSPHRASE
        encrypted = KnowledgeBase(root / "encrypted")
        del os.environ["KOTAE_MASTER_KEY"]
        plain = KnowledgeBase(root / "plain")
        result["n_chunks"] = plain.catalog.counts()["chunks"]
        timings: dict[str, list[float]] = {"plain": [], "encrypted": []}
        access = Access.everything()
        for q in qs[:20]:  # warm-up
            plain.search(q, k=10, access=access)
            encrypted.search(q, k=10, access=access)
        for i, q in enumerate(qs):
            order = [("plain", plain), ("encrypted", encrypted)]
            for name, kb in order if i % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                kb.search(q, k=10, access=access)
                timings[name].append((time.perf_counter() - started) * 1000)
        plain.close()
        encrypted.close()
        for name in kinds:
            result[name]["search"] = summary(timings[name])
        sizes = {
            name: sum(p.stat().st_size for p in (root / name).rglob("*") if p.is_file())
            for name in kinds
        }
        result["disk_bytes"] = sizes
    p, e = result["plain"], result["encrypted"]
    result["ratio"] = {
        "search_p50": round(e["search"]["p50_ms"] / p["search"]["p50_ms"], 3),
        "search_p95": round(e["search"]["p95_ms"] / p["search"]["p95_ms"], 3),
        "ingest": round(e["ingest_s"] / p["ingest_s"], 3),
        "open": round(e["open_s"] / max(p["open_s"], 1e-9), 2),
    }
    write_json(args.json, result)
    log(f"wrote {args.json}: {json.dumps(result['ratio'])}")
    print(json.dumps({k: result[k] for k in ("plain", "encrypted", "ratio")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
