"""``kotae bench ...``: measurement commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kotae.cli.common import console

bench_app = typer.Typer(help="Benchmarks on your own or public datasets.", no_args_is_help=True)


@bench_app.command("retrieval")
def retrieval(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder with corpus/queries/qrels.")],
    k: Annotated[int, typer.Option("--k", min=1, help="Cut-off shown (metrics @1..@100).")] = 10,
    config: Annotated[
        Path | None, typer.Option("--config", help="kotae.toml to use for the temporary KB.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write results here.")] = None,
) -> None:
    """Index DATASET_DIR's corpus in a temporary knowledge base and score its queries.

    Example: kotae bench retrieval ../shared/bench/jsquad --json jsquad.json
    """
    from kotae.bench import run_retrieval_bench
    from kotae.errors import DatasetError

    if not dataset_dir.is_dir():
        raise DatasetError(f"{dataset_dir}: not a folder")
    if config is not None and not config.is_file():
        raise DatasetError(f"{config}: no such config file")
    result = run_retrieval_bench(dataset_dir, k=k, config=config)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    metrics = result["metrics"]
    timing = result["timing"]
    console.print(f"{result['dataset']}: {result['n_docs']} docs, {result['n_queries']} queries")
    console.print("  " + "  ".join(f"{name} {value:.4f}" for name, value in metrics.items()))
    console.print(
        f"  index {timing['index_s']} s · query p50 {timing['query_p50_ms']} ms · "
        f"p95 {timing['query_p95_ms']} ms · {timing['qps']} q/s · "
        f"peak RSS {result['peak_rss_mb']} MB"
    )
