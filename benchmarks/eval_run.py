"""A 1,000-question ``kotae eval run`` of the extractive default, end to end.

Usage:
    .venv/bin/python benchmarks/eval_run.py [--set jaquad] [--bench-dir DIR]

Runs, in a temporary folder: ``kotae init``, ``kotae eval import DIR --out set.jsonl --ingest``
(untimed set-up), then ``kotae eval run --set set.jsonl`` timed end to end, process start
included (target: ≤ 60 s on 2 cores for JaQuAD's 1,000 questions). Writes
``benchmarks/results/eval-run-<set>.json`` with the run's metrics.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_harness import RESULTS_DIR, git_info, machine_info, shared_dir, utc_now, write_json

TARGET_S = 60.0


def kotae(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kotae.cli.main", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.strip()[-500:]}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="jaquad")
    parser.add_argument("--bench-dir", type=Path, default=None)
    args = parser.parse_args()
    folder = (args.bench_dir or shared_dir() / "bench") / args.set
    with tempfile.TemporaryDirectory(prefix="kotae-eval-bench-") as tmp:
        kb, eval_set, out = Path(tmp) / "kb", Path(tmp) / "set.jsonl", Path(tmp) / "run.json"
        kotae("init", str(kb))
        started = time.perf_counter()
        kotae("eval", "import", str(folder), "--out", str(eval_set), "--ingest", "--kb", str(kb))
        setup_s = time.perf_counter() - started
        n_questions = sum(1 for line in eval_set.open(encoding="utf-8") if line.strip())
        started = time.perf_counter()
        kotae("eval", "run", "--set", str(eval_set), "--json", str(out), "--kb", str(kb))
        run_s = time.perf_counter() - started
        run = json.loads(out.read_text("utf-8"))["runs"][0]
    result = {
        "benchmark": "eval-run",
        "date": utc_now(),
        "dataset": args.set,
        "n_questions": n_questions,
        "setup_s": round(setup_s, 2),
        "run_wall_s": round(run_s, 2),
        "target_s": TARGET_S,
        "metrics": {name: m["mean"] for name, m in run["metrics"].items()},
        "git": git_info(),
        "machine": machine_info(),
    }
    path = RESULTS_DIR / f"eval-run-{args.set}.json"
    write_json(path, result)
    print(json.dumps({k: result[k] for k in ("n_questions", "setup_s", "run_wall_s")}))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
