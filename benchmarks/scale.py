"""Index N synthetic chunks with kotae and time queries against them.

Usage:
    .venv/bin/python benchmarks/scale.py --chunks 100000 [--chunks 1000000] [--json OUT]
        [--queries 1000] [--ja-share 0.7] [--chunk-chars 300] [--seed 0] [--keep]

For each N it:
  1. synthesizes N passages of about ``--chunk-chars`` characters (about 70% Japanese) by
     recombining random sentences of the shared corpora ($KOTAE_SHARED/bench/*/corpus.jsonl),
     each with a random id, all texts distinct, into ``corpus.jsonl`` in a temp dir;
  2. runs ``kotae ingest corpus.jsonl --kb KB`` as a subprocess: wall seconds, MB/s of the
     JSONL file, peak RSS of the process tree (from wait4);
  3. runs ``--queries`` queries (half questions from the shared sets' queries.jsonl, half random
     word pairs from the synthesized chunks), one at a time, through the Python API in a fresh
     process (``run_queries``): p50/p95 latency and that process's peak RSS;
and writes ``benchmarks/results/scale-<N>.json`` (``--json OUT`` also writes all runs to OUT).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_harness import (
    REPO_ROOT,
    RESULTS_DIR,
    JsonDict,
    git_info,
    kotae_env,
    log,
    machine_info,
    run_kotae_ingest,
    run_measured,
    shared_dir,
    utc_now,
    write_json,
)

JA_SETS = ("jsquad", "jaquad")
EN_SETS = ("squad", "beir-scifact")
JA_SENTENCE_END = re.compile(r"(?<=[。！？!?])|\n+")
EN_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
JA_WORD = re.compile(r"[一-龥々]{2,4}|[ァ-ヶー]{3,8}")
EN_WORD = re.compile(r"[A-Za-z]{4,}")
SAMPLED_CHUNKS_FOR_QUERIES = 2000


@dataclass
class SourceText:
    """Sentences and titles of one language, the raw material of the synthetic chunks."""

    sentences: list[str]
    titles: list[str]


def read_corpus_rows(path: Path) -> list[JsonDict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_source(bench_dir: Path, sets: tuple[str, ...], splitter: re.Pattern[str]) -> SourceText:
    sentences: list[str] = []
    titles: list[str] = []
    for name in sets:
        for row in read_corpus_rows(bench_dir / name / "corpus.jsonl"):
            titles.append(str(row.get("title") or "").strip())
            pieces = (p.strip() for p in splitter.split(str(row.get("text") or "")))
            sentences.extend(p for p in pieces if len(p) >= 8)
    if not sentences:
        raise SystemExit(f"scale.py: no sentences found in {sets} under {bench_dir}")
    return SourceText(sentences, [t for t in titles if t] or ["untitled"])


def synthesize_text(rng: random.Random, source: SourceText, target_chars: int, sep: str) -> str:
    """Random sentences joined, cut at a length drawn around ``target_chars`` (±20%)."""
    goal = rng.randint(int(target_chars * 0.8), int(target_chars * 1.2))
    parts: list[str] = []
    length = 0
    while length < goal:
        sentence = rng.choice(source.sentences)
        parts.append(sentence)
        length += len(sentence) + len(sep)
    return sep.join(parts)[:goal].strip()


def write_synthetic_corpus(
    path: Path, n_chunks: int, args: argparse.Namespace, rng: random.Random
) -> tuple[JsonDict, list[str]]:
    """Write ``n_chunks`` distinct records; return stats and a sample of texts for queries."""
    ja = load_source(args.bench_dir, JA_SETS, JA_SENTENCE_END)
    en = load_source(args.bench_dir, EN_SETS, EN_SENTENCE_END)
    seen: set[int] = set()
    sample: list[str] = []
    n_ja = chars = 0
    with path.open("w", encoding="utf-8") as out:
        for index in range(n_chunks):
            is_ja = rng.random() < args.ja_share
            source, sep = (ja, "") if is_ja else (en, " ")
            text = synthesize_text(rng, source, args.chunk_chars, sep)
            while hash(text) in seen:
                text = synthesize_text(rng, source, args.chunk_chars, sep)
            seen.add(hash(text))
            n_ja += is_ja
            chars += len(text)
            record = {
                "id": f"s{index:07d}-{rng.getrandbits(48):012x}",
                "title": rng.choice(source.titles),
                "text": text,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if len(sample) < SAMPLED_CHUNKS_FOR_QUERIES:
                sample.append(text)
            elif (slot := rng.randrange(index + 1)) < SAMPLED_CHUNKS_FOR_QUERIES:
                sample[slot] = text
    stats = {"ja_share": round(n_ja / n_chunks, 3), "mean_chars": round(chars / n_chunks, 1)}
    return stats, sample


def build_queries(
    bench_dir: Path, chunk_sample: list[str], n: int, ja_share: float, rng: random.Random
) -> list[str]:
    """Half real questions from the shared sets, half random word pairs from the chunks."""
    ja_questions = [q for s in JA_SETS for q in load_query_texts(bench_dir / s)]
    en_questions = [q for s in EN_SETS for q in load_query_texts(bench_dir / s)]
    n_questions = n // 2
    n_ja = round(n_questions * ja_share)
    queries = rng.sample(ja_questions, n_ja) + rng.sample(en_questions, n_questions - n_ja)
    while len(queries) < n:
        text = rng.choice(chunk_sample)
        words = JA_WORD.findall(text) or EN_WORD.findall(text)
        if len(words) >= 2:
            queries.append(" ".join(rng.sample(words, 2)))
    rng.shuffle(queries)
    return queries


def load_query_texts(dataset_dir: Path) -> list[str]:
    return [str(row["text"]) for row in read_corpus_rows(dataset_dir / "queries.jsonl")]


def run_queries(kb_dir: Path, queries: list[str]) -> list[float]:
    """Open the knowledge base and run each query once, one at a time; latencies in ms.

    The library API is not fixed yet: this is the one place to align with it.
    """
    import kotae

    latencies: list[float] = []
    with kotae.open_kb(kb_dir) as kb:
        for text in queries:
            start = time.perf_counter()
            kb.search(text, k=10)
            latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def query_worker(kb_dir: Path, queries_path: Path, out_path: Path) -> int:
    """Entry point of the fresh process that runs the queries (so its peak RSS is its own)."""
    queries = json.loads(queries_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    latencies = run_queries(kb_dir, queries)
    total_s = time.perf_counter() - start
    out_path.write_text(json.dumps({"latencies_ms": latencies, "total_s": total_s}), "utf-8")
    return 0


def measure_ingest(corpus: Path, kb_dir: Path, timeout_s: float) -> JsonDict:
    entry = run_kotae_ingest(corpus, kb_dir, timeout_s)
    if entry["status"] != "ok":
        return entry
    size_mb = corpus.stat().st_size / 1e6
    kb_bytes = sum(f.stat().st_size for f in kb_dir.rglob("*") if f.is_file())
    wall_s = float(entry["wall_s"])
    return {
        **entry,
        "index_s": wall_s,
        "mb_per_s": round(size_mb / wall_s, 3) if wall_s else None,
        "kb_size_mb": round(kb_bytes / 1e6, 1),
    }


def measure_queries(kb_dir: Path, queries: list[str], work: Path, timeout_s: float) -> JsonDict:
    queries_path, out_path = work / "queries.json", work / "latencies.json"
    queries_path.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    script = Path(__file__).resolve()
    command = [sys.executable, str(script), "--query-worker", str(kb_dir), str(queries_path)]
    command.append(str(out_path))
    run = run_measured(command, timeout_s=timeout_s, env=kotae_env(), cwd=REPO_ROOT)
    if run.returncode != 0:
        reason = "timed out" if run.timed_out else f"exit code {run.returncode}"
        return {"status": "failed", "reason": reason, "stderr_tail": run.stderr_tail()}
    from kotae.evaluation.metrics import percentile  # kotae's one percentile

    measured = json.loads(out_path.read_text(encoding="utf-8"))
    latencies: list[float] = measured["latencies_ms"]
    return {
        "status": "ok",
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50) or 0.0, 3),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 3),
        "max_ms": round(max(latencies), 3),
        "first_query_ms": round(latencies[0], 3),
        "open_and_query_s": round(measured["total_s"], 3),
        "process_wall_s": run.wall_s,
        "peak_rss_mb": run.peak_rss_mb,
    }


def scale_run(n_chunks: int, args: argparse.Namespace) -> JsonDict:
    rng = random.Random(args.seed + n_chunks)
    work = Path(tempfile.mkdtemp(prefix=f"kotae-scale-{n_chunks}-", dir=args.tmp_dir))
    try:
        corpus = work / "corpus.jsonl"
        log(f"scale {n_chunks:,}: synthesizing {corpus}")
        start = time.perf_counter()
        stats, sample = write_synthetic_corpus(corpus, n_chunks, args, rng)
        synth_s = round(time.perf_counter() - start, 1)
        log(f"scale {n_chunks:,}: kotae ingest ({corpus.stat().st_size / 1e6:.0f} MB)")
        machine = machine_info()
        ingest = measure_ingest(corpus, work / "kb", args.timeout)
        queries: JsonDict = {"status": "not run", "reason": "ingest failed"}
        if ingest["status"] == "ok":
            log(f"scale {n_chunks:,}: {args.queries} queries")
            texts = build_queries(args.bench_dir, sample, args.queries, args.ja_share, rng)
            queries = measure_queries(work / "kb", texts, work, args.timeout)
        return {
            "n_chunks": n_chunks,
            "corpus_mb": round(corpus.stat().st_size / 1e6, 1),
            "corpus": {**stats, "synthesis_s": synth_s, "seed": args.seed},
            "ingest": ingest,
            "queries": queries,
            "date": utc_now(),
            "machine": machine,
            "git": git_info(),
        }
    finally:
        if args.keep:
            log(f"scale {n_chunks:,}: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, action="append", help="repeatable; default 100000")
    parser.add_argument("--json", type=Path, default=None, help="also write all runs here")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ja-share", type=float, default=0.7)
    parser.add_argument("--chunk-chars", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench-dir", type=Path, default=shared_dir() / "bench")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the temp corpus goes")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds per step")
    parser.add_argument("--keep", action="store_true", help="keep the temp corpus and KB")
    parser.add_argument("--query-worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.query_worker:
        return query_worker(*args.query_worker)
    runs = []
    for n_chunks in args.chunks or [100_000]:
        run = scale_run(n_chunks, args)
        write_json(args.out_dir / f"scale-{n_chunks}.json", run)
        log(
            f"scale {n_chunks:,}: ingest {run['ingest']['status']}, queries "
            f"{run['queries']['status']}"
        )
        runs.append(run)
    if args.json:
        write_json(args.json, runs[0] if len(runs) == 1 else runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
