"""Run kotae's extractive QA benchmark (answer in evidence, no generator) on the shared sets.

Usage:
    .venv/bin/python benchmarks/run_qa.py [--sets jsquad,jaquad,squad] [--bench-dir DIR]
        [--k 5] [--evidence 3] [--config FILE]

For each set it runs, serially, ``kotae bench qa DIR -k K --evidence N [--config FILE] --json
OUT`` (retrieval of K chunks, then the N best sentences of them; answer-in-evidence@1 and @N;
per-question latency of retrieval + evidence selection) and writes
``benchmarks/results/qa-<set>.json``, laid out like ``retrieval-<set>.json``: the set, the
machine, and one ``kotae`` entry with its status, command, wall time, peak RSS and ``result``
(the JSON kotae wrote). A set that fails is recorded as "failed" with the reason; the others
still run. A table of the figures is printed at the end, with answer_in_evidence@N of the
report half of the questions (``held_out``, the half ``kotae.bench.split_half`` keeps out of
tuning) beside the full set's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from bench_harness import (
    REPO_ROOT,
    RESULTS_DIR,
    JsonDict,
    git_info,
    kotae_command,
    kotae_env,
    kotae_version,
    log,
    machine_info,
    read_json,
    run_measured,
    shared_dir,
    utc_now,
    write_json,
)

SET_LANGUAGES = {"jsquad": "ja", "jaquad": "ja", "squad": "en"}
# Acceptance targets for answer_in_evidence@3 (k=5, n=3); jaquad has none.
TARGETS_AT_3 = {"jsquad": 0.85, "squad": 0.80}
TARGET_P50_MS = 20.0


def run_kotae(dataset_dir: Path, args: argparse.Namespace) -> JsonDict:
    """One ``kotae bench qa`` run, as an entry of the results file."""
    with tempfile.TemporaryDirectory(prefix="kotae-bench-") as tmp:
        out_json = Path(tmp) / "result.json"
        command = [*kotae_command(), "bench", "qa", str(dataset_dir)]
        command += ["-k", str(args.k), "--evidence", str(args.evidence)]
        if args.config:
            command += ["--config", str(args.config)]
        command += ["--json", str(out_json)]
        load_at_start = round(os.getloadavg()[0], 2)
        run = run_measured(command, timeout_s=args.timeout, env=kotae_env(), cwd=REPO_ROOT)
        result = read_json(out_json) if run.returncode == 0 else None
    if result is None:
        reason = "timed out" if run.timed_out else f"exit code {run.returncode}"
        if run.returncode == 0:
            reason = "kotae bench qa wrote no JSON"
        return {
            "status": "failed",
            "reason": f"kotae bench qa: {reason}",
            "stderr_tail": run.stderr_tail(),
            "command": command,
            "wall_s": run.wall_s,
            "date": utc_now(),
        }
    return {
        "status": "ok",
        "date": utc_now(),
        "command": command,
        "wall_s": run.wall_s,
        "process_peak_rss_mb": run.peak_rss_mb,
        "loadavg_1min_at_start": load_at_start,
        "version": kotae_version(),
        "git": git_info(),
        "result": result,
    }


def benchmark_set(name: str, args: argparse.Namespace) -> JsonDict:
    dataset_dir = (args.bench_dir / name).resolve()
    machine = machine_info()
    log(f"{name}: kotae bench qa")
    kotae = run_kotae(dataset_dir, args)
    return {
        "set": name,
        "lang": SET_LANGUAGES[name],
        "dataset_dir": str(dataset_dir),
        "date": utc_now(),
        "machine": machine,
        "python": platform.python_version(),
        "conditions": (
            f"serial runs; questions one at a time, single-threaded; retrieval k={args.k}, "
            f"evidence n={args.evidence}; latency = retrieval + evidence selection"
        ),
        "kotae": kotae,
    }


def table(entries: dict[str, JsonDict], evidence: int) -> str:
    """The figures of each set as a Markdown table."""
    at_n = f"answer_in_evidence@{evidence}"
    lines = [
        f"| set | answer_in_evidence@1 | {at_n} | {at_n} report half | target @3 | p50 ms "
        "| p95 ms | questions |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in entries.items():
        kotae = entry["kotae"]
        if kotae.get("status") != "ok":
            lines.append(f"| {name} | {kotae.get('status')}: {kotae.get('reason')} ||||||")
            continue
        result = kotae["result"]
        metrics, timing = result["metrics"], result["timing"]
        target = TARGETS_AT_3.get(name)
        held_out = (result.get("held_out") or {}).get("metrics") or {}
        half = f"{held_out[at_n]:.3f}" if at_n in held_out else "—"
        lines.append(
            f"| {name} | {metrics['answer_in_evidence@1']:.3f} | {metrics.get(at_n, 0):.3f} | "
            f"{half} | "
            f"{f'≥ {target:.2f}' if target else '—'} | {timing['query_p50_ms']:.2f} | "
            f"{timing['query_p95_ms']:.2f} | {result['n_queries']} |"
        )
    lines.append(f"\nlatency target: p50 ≤ {TARGET_P50_MS:.0f} ms per question")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SET_LANGUAGES), help="comma-separated set names")
    parser.add_argument("--bench-dir", "--data", type=Path, default=shared_dir() / "bench")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--k", type=int, default=5, help="chunks retrieved per question")
    parser.add_argument("--evidence", type=int, default=3, help="evidence sentences kept")
    parser.add_argument("--config", type=Path, default=None, help="passed to kotae --config")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.sets if s not in SET_LANGUAGES]
    if unknown:
        parser.error(f"unknown set(s) {unknown}; choose from {sorted(SET_LANGUAGES)}")
    missing = [s for s in args.sets if not (args.bench_dir / s / "queries.jsonl").exists()]
    if missing:
        parser.error(f"no queries.jsonl for {missing} under {args.bench_dir}; pass --bench-dir")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    entries: dict[str, JsonDict] = {}
    for name in args.sets:
        out_path = args.out_dir / f"qa-{name}.json"
        entries[name] = benchmark_set(name, args)
        write_json(out_path, entries[name])
        log(f"{name}: wrote {out_path}")
    print(table(entries, args.evidence))
    print(json.dumps({"written": [f"qa-{s}.json" for s in args.sets]}))
    return 0 if all(e["kotae"]["status"] == "ok" for e in entries.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
