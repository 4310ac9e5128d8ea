"""Time ``kotae ingest CORPUS.jsonl`` on the Japanese corpora: lexical ingestion speed.

Usage: .venv/bin/python benchmarks/ingest_jsonl.py [--sets jaquad,jsquad] [--json OUT]

Each corpus is ingested once, end to end, by the real CLI into a fresh knowledge base (no
embedder: lexical only). MB/s is the corpus file size over kotae's own ingest seconds (process
start and imports excluded) and over the wall time. Target: >= 1 MB/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench_harness import (
    RESULTS_DIR,
    JsonDict,
    git_info,
    log,
    machine_info,
    run_kotae_ingest,
    shared_dir,
    utc_now,
    write_json,
)

TARGET_MB_S = 1.0


def measure(corpus: Path, timeout_s: float) -> JsonDict:
    machine = machine_info()
    mb = corpus.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="kotae-ingest-jsonl-") as tmp:
        entry = run_kotae_ingest(corpus, Path(tmp) / "kb", timeout_s)
    result: JsonDict = {"corpus": str(corpus), "corpus_mb": round(mb, 2), **entry}
    summary = entry.get("summary") or {}
    own = summary.get("seconds") if isinstance(summary, dict) else None
    if entry["status"] == "ok" and own:
        result["mb_per_s"] = round(mb / float(own), 3)
        result["mb_per_s_wall"] = round(mb / float(entry["wall_s"]), 3)
        result["passes_target"] = result["mb_per_s"] >= TARGET_MB_S
    result.update(target_mb_per_s=TARGET_MB_S, date=utc_now(), machine=machine, git=git_info())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="jaquad,jsquad")
    parser.add_argument("--bench-dir", type=Path, default=shared_dir() / "bench")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "ingest-jsonl.json")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    runs = []
    for name in args.sets.split(","):
        corpus = (args.bench_dir / name / "corpus.jsonl").resolve()
        log(f"kotae ingest {corpus}")
        run = measure(corpus, args.timeout)
        log(f"{name}: {run['status']} {run.get('mb_per_s')} MB/s (wall {run.get('mb_per_s_wall')})")
        runs.append({"set": name, **run})
    write_json(args.json, {"runs": runs})
    return 0 if all(r["status"] == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
