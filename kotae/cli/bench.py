"""``kotae bench ...``: measurement commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kotae.cli.common import LimitOption, SeedOption, console

bench_app = typer.Typer(help="Benchmarks on your own or public datasets.", no_args_is_help=True)


@bench_app.command("retrieval")
def retrieval(
    dataset_dir: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder with corpus/queries/qrels.")
    ],
    k: Annotated[
        int,
        typer.Option(
            "-k", "--top", "--k", min=1, metavar="N", help="Ranking depth: documents per query."
        ),
    ] = 100,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", help="kotae.toml to use for the temporary KB."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write results here.")
    ] = None,
    limit: LimitOption = None,
    seed: SeedOption = 0,
) -> None:
    """Index DATASET_DIR's corpus in a temporary knowledge base and score its queries.

    Example: kotae bench retrieval ../shared/bench/jsquad --json jsquad.json
    """
    from kotae.bench import run_retrieval_bench

    _check_inputs(dataset_dir, config)
    result = run_retrieval_bench(dataset_dir, k=k, config=config, limit=limit, seed=seed)
    _write_json(result, json_path)
    metrics = result["metrics"]
    timing = result["timing"]
    console.print(
        f"{result['dataset']}: {result['n_docs']} docs, {result['n_queries']} queries"
        f"{_sampled(result)}"
    )
    console.print("  " + "  ".join(f"{name} {value:.4f}" for name, value in metrics.items()))
    _print_held_out(result)
    console.print(
        f"  index {timing['index_s']} s · query p50 {timing['query_p50_ms']} ms · "
        f"p95 {timing['query_p95_ms']} ms · {timing['qps']} q/s · "
        f"peak RSS {result['peak_rss_mb']} MB"
    )


@bench_app.command("qa")
def qa(
    dataset_dir: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Folder with corpus/queries/qrels; queries carry answers."
        ),
    ],
    k: Annotated[
        int,
        typer.Option(
            "-k", "--top", "--k", min=1, metavar="N", help="Chunks retrieved per question."
        ),
    ] = 5,
    evidence: Annotated[
        int,
        typer.Option(
            "--evidence", min=1, metavar="N", help="Evidence sentences kept per question."
        ),
    ] = 3,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", help="kotae.toml to use for the temporary KB."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write results here.")
    ] = None,
    limit: LimitOption = None,
    seed: SeedOption = 0,
) -> None:
    """Index DATASET_DIR's corpus in a temporary knowledge base and check, for each question,
    whether a gold answer appears in the evidence sentences kotae selects. With a [generator]
    in the --config file (or KOTAE_GENERATOR__* variables) it also scores the generated
    answers: character F1 for Japanese, token F1 and exact match for English.

    Example: kotae bench qa ../shared/bench/jsquad -k 5 --evidence 3 --json qa.json
    """
    from kotae.bench import run_qa_bench

    _check_inputs(dataset_dir, config)
    result = run_qa_bench(
        dataset_dir, k_sources=k, n_evidence=evidence, config=config, limit=limit, seed=seed
    )
    _write_json(result, json_path)
    timing = result["timing"]
    console.print(
        f"{result['dataset']} ({result['language']}): {result['n_docs']} docs, "
        f"{result['n_queries']} questions{_sampled(result)}, {result['mode']}, {k} sources"
    )
    console.print(
        "  " + "  ".join(f"{name} {value:.4f}" for name, value in result["metrics"].items())
    )
    _print_held_out(result)
    console.print(
        f"  index {timing['index_s']} s · question p50 {timing['query_p50_ms']} ms · "
        f"p95 {timing['query_p95_ms']} ms (retrieval + evidence)"
    )


def _sampled(result: dict[str, Any]) -> str:
    drawn = result.get("sample")
    return f" (sample of {drawn['of']}, seed {drawn['seed']})" if drawn else ""


def _print_held_out(result: dict[str, Any]) -> None:
    """The report half's figures (never used for tuning: kotae.bench.split_half)."""
    held_out = result["held_out"]
    if held_out["metrics"]:
        figures = "  ".join(f"{name} {value:.4f}" for name, value in held_out["metrics"].items())
        console.print(f"  report half ({held_out['n_queries']} queries): {figures}")


def _check_inputs(dataset_dir: Path, config: Path | None) -> None:
    from kotae.errors import DatasetError

    if not dataset_dir.is_dir():
        raise DatasetError(f"{dataset_dir}: not a folder")
    if config is not None and not config.is_file():
        raise DatasetError(f"{config}: no such config file")


def _write_json(result: dict[str, Any], json_path: Path | None) -> None:
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
