"""Load and chunk every file under a folder; print per-file results and totals.

    python benchmarks/parse_docs.py [FOLDER] [--json results.json] [--max-tokens 384]

FOLDER defaults to /work/shared/bench/docs (README.md and SHA256SUMS are skipped).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from kotae.documents import load_document
from kotae.documents.chunking import chunk_document
from kotae.documents.ocr import ocr_available
from kotae.errors import DocumentError

DEFAULT_FOLDER = Path("/work/shared/bench/docs")
SKIP_NAMES = {"README.md", "SHA256SUMS"}


def parse_one(path: Path, max_tokens: int) -> dict[str, Any]:
    started = time.perf_counter()
    row: dict[str, Any] = {
        "file": str(path),
        "format": path.suffix.lower().lstrip("."),
        "bytes": path.stat().st_size,
    }
    try:
        doc = load_document(path)
        chunks = chunk_document(doc, max_tokens=max_tokens)
    except DocumentError as exc:
        row.update(status=exc.reason, message=str(exc), chars=0, blocks=0, chunks=0)
    else:
        row.update(
            status="ok", message="", chars=len(doc.text), blocks=len(doc.blocks), chunks=len(chunks)
        )
        row["title"] = doc.title
    row["seconds"] = round(time.perf_counter() - started, 4)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--json", type=Path, help="write the results as JSON to this path")
    parser.add_argument("--max-tokens", type=int, default=384)
    args = parser.parse_args(argv)
    files = sorted(p for p in args.folder.rglob("*") if p.is_file() and p.name not in SKIP_NAMES)
    if not files:
        print(f"no files under {args.folder}", file=sys.stderr)
        return 2
    rows = []
    print(
        f"{'file':45} {'format':6} {'status':12} {'chars':>8} {'blocks':>6} "
        f"{'chunks':>6} {'sec':>7}"
    )
    for path in files:
        row = parse_one(path, args.max_tokens)
        rows.append(row)
        name = str(path.relative_to(args.folder))
        print(
            f"{name[:45]:45} {row['format']:6} {row['status']:12} {row['chars']:>8} "
            f"{row['blocks']:>6} {row['chunks']:>6} {row['seconds']:>7.3f}"
        )
    total_s = sum(r["seconds"] for r in rows)
    ok = [r for r in rows if r["status"] == "ok"]
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    summary = {
        "files": len(rows),
        "status_counts": by_status,
        "chars": sum(r["chars"] for r in ok),
        "blocks": sum(r["blocks"] for r in ok),
        "chunks": sum(r["chunks"] for r in ok),
        "bytes": sum(r["bytes"] for r in rows),
        "seconds": round(total_s, 3),
        "seconds_without_ocr_inputs": round(
            sum(
                r["seconds"]
                for r in rows
                if r["format"] not in ("tif", "tiff", "webp", "png", "jpg", "jpeg")
            ),
            3,
        ),
        "ocr_available": ocr_available(),
        "python": platform.python_version(),
        "max_tokens": args.max_tokens,
    }
    print(json.dumps(summary, ensure_ascii=False))
    for r in rows:
        if r["status"] != "ok":
            print(f"  {Path(r['file']).name}: {r['message']}")
    if args.json:
        args.json.write_text(
            json.dumps({"summary": summary, "files": rows}, ensure_ascii=False, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
