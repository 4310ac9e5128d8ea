"""kotae's own time per ask, against the bare generator call, in the same run.

Usage:
    .venv/bin/python benchmarks/ask_overhead.py [--set jaquad] [--queries 200]
        [--generator transformers | --generator openai --base-url URL --model NAME]
        [--max-tokens 16]

Indexes the set's corpus (jaquad: 11,144 paragraphs) in a temporary knowledge base, then
for each question:

1. ``answer_question`` with the generator: retrieval, prompt building and packing (tokens
   counted with the model's tokenizer), the generator call, citation checks and the query
   log write. kotae's time is ``total_ms - generate_ms``;
2. the bare generator call: the same messages sent straight to the same generator.

The default generator is the tiny random-weight Llama of ``kotae.tiny_models`` run
in-process through the ``transformers`` backend (real tokenizer, real model code, no
download); pass ``--generator openai --base-url ... --model ...`` to time against a real
server (vLLM, Ollama, the llama.cpp server). Writes ``benchmarks/results/ask-overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_harness import RESULTS_DIR, git_info, machine_info, shared_dir, utc_now, write_json

from kotae.answer import AskOptions, answer_question
from kotae.backends.generators import GenerationParams, Generator, create_generator
from kotae.bench import corpus_records, load_dataset
from kotae.evaluation.metrics import percentile
from kotae.ingest import ingest_records
from kotae.kb import Access, init_kb


def summary(values: list[float]) -> dict[str, float]:
    """p50 and p95 (kotae's one percentile, linear interpolation) and the mean, in ms."""
    return {
        "p50_ms": round(percentile(values, 50) or 0.0, 3),
        "p95_ms": round(percentile(values, 95) or 0.0, 3),
        "mean_ms": round(statistics.fmean(values), 3),
    }


def make_generator(args: argparse.Namespace, workdir: Path) -> Generator:
    if args.generator == "openai":
        return create_generator("openai", {"base_url": args.base_url, "model": args.model})
    from kotae.tiny_models import build_tiny_llama

    model_dir = build_tiny_llama(workdir / "tiny-llama")
    return create_generator("transformers", {"model_path": str(model_dir)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="jaquad")
    parser.add_argument("--bench-dir", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--generator", choices=["transformers", "openai"], default="transformers")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default="")
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    folder = (args.bench_dir or shared_dir() / "bench") / args.set
    dataset = load_dataset(folder)
    questions = [text for _, text in dataset.queries][: args.queries]
    with tempfile.TemporaryDirectory(prefix="kotae-ask-bench-") as tmp:
        workdir = Path(tmp)
        kb = init_kb(workdir / "kb")
        started = time.perf_counter()
        report = ingest_records(kb, str(dataset.corpus), corpus_records(dataset.corpus))
        index_s = time.perf_counter() - started
        generator = make_generator(args, workdir)
        options = AskOptions(max_tokens=args.max_tokens)
        access = Access.everything()
        answer_question(kb, questions[0], access, generator, options)  # warm-up: model load
        kotae_ms, generate_ms, total_ms, bare_ms, statuses = [], [], [], [], []
        params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)
        for question in questions:
            answer = answer_question(kb, question, access, generator, options)
            statuses.append(answer.status)
            kotae_ms.append(answer.timings["kotae_ms"])
            generate_ms.append(answer.timings.get("generate_ms", 0.0))
            total_ms.append(answer.timings["total_ms"])
            if answer.prompt is not None:
                t0 = time.perf_counter()
                generator.generate(answer.prompt, params)
                bare_ms.append((time.perf_counter() - t0) * 1000)
        n_chunks = report.chunks
        generator_name = (
            "transformers: tiny random Llama of kotae.tiny_models"
            if args.generator == "transformers"
            else generator.name
        )
        generator.close()
        kb.close()
    result: dict[str, Any] = {
        "benchmark": "ask-overhead",
        "date": utc_now(),
        "dataset": args.set,
        "n_docs": report.added,
        "n_chunks": n_chunks,
        "n_queries": len(questions),
        "index_s": round(index_s, 2),
        "generator": generator_name,
        "max_tokens": args.max_tokens,
        "kotae": summary(kotae_ms),
        "generate_in_ask": summary(generate_ms),
        "bare_generator_call": summary(bare_ms) if bare_ms else None,
        "ask_total": summary(total_ms),
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "target": {"kotae_p50_ms": 30.0},
        "git": git_info(),
        "machine": machine_info(),
    }
    out = RESULTS_DIR / "ask-overhead.json"
    write_json(out, result)
    print(json.dumps({k: result[k] for k in ("kotae", "bare_generator_call", "ask_total")}))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
