"""Time ``kotae ingest`` over the 41 real-world files in the shared bench/docs folder.

Usage: .venv/bin/python benchmarks/ingest_docs.py [--docs ../shared/bench/docs] [--json OUT]

Runs ``kotae ingest DOCS --kb TMP`` once as a subprocess, end to end (process start, imports,
loading, chunking, indexing), and writes ``benchmarks/results/ingest-docs.json`` with the wall
time, the peak RSS of the process tree, the acceptance check (<= 60 s) and kotae's own summary
(the last JSON object it prints, else its stdout tail).
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

TARGET_S = 60.0
NOT_DOCUMENTS = {"README.md", "SHA256SUMS"}  # dataset notes at the top of bench/docs


def count_documents(docs_dir: Path) -> int:
    return sum(
        1
        for path in docs_dir.rglob("*")
        if path.is_file() and not (path.parent == docs_dir and path.name in NOT_DOCUMENTS)
    )


def measure_docs_ingest(docs_dir: Path, timeout_s: float) -> JsonDict:
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="kotae-ingest-docs-") as tmp:
        entry = run_kotae_ingest(docs_dir, Path(tmp) / "kb", timeout_s)
    result: JsonDict = {
        "docs_dir": str(docs_dir),
        "n_files": count_documents(docs_dir),
        **entry,
        "target_s": TARGET_S,
        "date": utc_now(),
        "machine": machine,
        "git": git_info(),
    }
    if entry["status"] == "ok":
        result["passes_target"] = entry["wall_s"] <= TARGET_S
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=shared_dir() / "bench" / "docs")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "ingest-docs.json")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    if not args.docs.is_dir():
        parser.error(f"{args.docs} is not a folder; pass --docs or set KOTAE_SHARED")
    log(f"kotae ingest {args.docs}")
    result = measure_docs_ingest(args.docs.resolve(), args.timeout)
    write_json(args.json, result)
    log(f"{result['status']}: {result['wall_s']} s (target <= {TARGET_S:g} s) -> {args.json}")
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
