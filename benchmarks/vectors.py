"""Query latency of ExactVectorIndex and HnswVectorIndex at N x 384 (clustered synthetic vectors).

Usage: python bench_vectors.py [--n 200000] [--queries 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # repo root, from benchmarks/
from kotae.evaluation.metrics import percentile
from kotae.index.vectors import ExactVectorIndex, create_vector_index


def clustered(rng, n, dim=384, clusters=1000, latent=48):
    centers = rng.standard_normal((clusters, latent)).astype(np.float32)
    proj = rng.standard_normal((latent, dim)).astype(np.float32) / np.sqrt(latent)
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 20000):
        m = min(20000, n - s)
        z = centers[rng.integers(0, clusters, m)] + 0.35 * rng.standard_normal((m, latent)).astype(
            np.float32
        )
        x = z @ proj + 0.15 * rng.standard_normal((m, dim)).astype(np.float32)
        out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def timed(index, queries, k, allowed):
    times, results = [], []
    for q in queries:
        t = time.perf_counter()
        ids, _ = index.search(q, k, allowed)
        times.append(time.perf_counter() - t)
        results.append(ids)
    ms = [t * 1000 for t in times]
    return {
        "p50_ms": round(percentile(ms, 50) or 0.0, 3),
        "p95_ms": round(percentile(ms, 95) or 0.0, 3),
    }, results


def recall(got, truth):
    return round(
        float(
            np.mean(
                [
                    len(set(g.tolist()) & set(t.tolist())) / max(len(t), 1)
                    for g, t in zip(got, truth, strict=True)
                ]
            )
        ),
        4,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    data = clustered(rng, a.n + a.queries)
    vectors, queries = data[: a.n], data[a.n :]
    ids = np.arange(a.n, dtype=np.int64)
    acl = {f: rng.random(a.n) < f for f in (0.10, 0.01)}  # per-chunk "may read" table
    filters = {f"{int(f * 100)}%": (lambda table: lambda c: table[c])(t) for f, t in acl.items()}
    out = {
        "n": a.n,
        "dim": 384,
        "k": a.k,
        "queries": a.queries,
        "cpu_count": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    exact = ExactVectorIndex(384)
    exact.add(ids, vectors)
    res, truth = {}, {}
    r, truth["none"] = timed(exact, queries, a.k, None)
    res["unfiltered"] = r
    for name, f in filters.items():
        r, truth[name] = timed(exact, queries, a.k, f)
        res[f"allowed {name}"] = r
    out["exact"] = res
    t = time.perf_counter()
    hnsw = create_vector_index("hnsw", 384)
    hnsw.add(ids, vectors)
    out["hnsw_build_s"] = round(time.perf_counter() - t, 1)
    res = {}
    r, got = timed(hnsw, queries, a.k, None)
    r["recall@10"] = recall(got, truth["none"])
    res["unfiltered"] = r
    for name, f in filters.items():
        r, got = timed(hnsw, queries, a.k, f)
        r["recall@10"] = recall(got, truth[name])
        r["min_results"] = int(min(len(g) for g in got))
        res[f"allowed {name}"] = r
    out["hnsw_f16"] = res
    out["loadavg_end"] = os.getloadavg()
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        a.json.write_text(text)


if __name__ == "__main__":
    main()
