"""Ingest a folder into a knowledge base, printing one line per file: the victim of
``tests/test_crash_safety.py``, which SIGKILLs it at random points.

    python tests/crash_worker.py KB_DIR DOCS_DIR BATCH_CHUNKS COMMIT_SECONDS PARALLEL_MIN_CHARS

Small batches and frequent lexical commits put many catalog and index commits inside one
run, so that a kill can land before, during or after any of them; a small
``PARALLEL_MIN_CHARS`` sends term analysis to the process pool (``KOTAE_ANALYZER_WORKERS``
sets its size). Lines on stdout: ``opened`` once the knowledge base is open (derived
indexes caught up), ``file`` after each file, ``done`` at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import kotae.ingest
import kotae.text.analysis
from kotae.kb import open_kb


def main(argv: list[str]) -> int:
    kb_dir, docs_dir, batch_chunks, commit_seconds, parallel_min_chars = argv
    kotae.ingest.BATCH_CHUNKS = int(batch_chunks)
    kotae.ingest.COMMIT_SECONDS = float(commit_seconds)
    kotae.text.analysis.PARALLEL_MIN_CHARS = int(parallel_min_chars)

    def progress(source: str, done: int) -> None:
        print("file", flush=True)

    with open_kb(kb_dir) as kb:
        print("opened", flush=True)
        report = kb.ingest([Path(docs_dir)], progress=progress)
    print("done", report.added, report.updated, report.unchanged, len(report.failures), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
