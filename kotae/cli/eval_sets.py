"""``kotae eval import``: eval sets from QA and BEIR datasets (``synth`` is in eval_runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kotae.cli.common import (
    JsonOption,
    KbOption,
    LimitOption,
    SeedOption,
    console,
    err_console,
    print_json,
)


def register(app: typer.Typer) -> None:
    """Add ``import`` to the ``kotae eval`` group ``app``."""
    app.command("import")(import_set)


def import_set(
    dataset_dir: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="Dataset folder: corpus.jsonl, queries.jsonl, qrels.tsv (or BEIR).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Eval set to write (JSONL).")],
    ingest: Annotated[
        bool,
        typer.Option("--ingest", help="Also load corpus.jsonl into the knowledge base."),
    ] = False,
    limit: LimitOption = None,
    seed: SeedOption = 0,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Convert a QA dataset (queries.jsonl with answers + qrels.tsv) or a BEIR dataset
    (qrels/test.tsv) into an eval set. Each query becomes a question whose sources are the
    corpus ids its qrels mark relevant; queries with neither qrels nor answers are skipped.
    With --ingest the corpus is loaded too, one document per line, keeping the corpus ids.
    With --limit N, a random sample of N questions (fixed by --seed) is written.

    Example: kotae eval import ../shared/bench/jsquad --out jsquad.jsonl --ingest --kb ./kb
    """
    from kotae.errors import ConfigError
    from kotae.evaluation.datasets import import_dataset, ingest_corpus, write_eval_set
    from kotae.kb import open_kb

    if kb is not None and not ingest:
        raise ConfigError("--kb is only used with --ingest (to load the corpus into it)")
    imported = import_dataset(dataset_dir, limit=limit, seed=seed)
    report = None
    if ingest:
        with open_kb(kb) as base:
            report = ingest_corpus(base, dataset_dir)
    write_eval_set(imported.items, out)
    summary: dict[str, Any] = {
        "set": str(out),
        "name": imported.name,
        "questions": len(imported.items),
        "with_answers": sum(1 for item in imported.items if item.answers),
        "with_sources": sum(1 for item in imported.items if item.sources),
        "skipped": imported.skipped,
        "ingest": report.to_dict() if report is not None else None,
    }
    if imported.sample:  # how the questions were drawn (--limit, --seed)
        summary["sample"] = imported.sample
    if json_out:
        print_json(summary)
    else:
        console.print(
            f"wrote {summary['questions']} questions to {escape(str(out))} "
            f"({summary['with_answers']} with answers, {summary['with_sources']} with sources; "
            f"{summary['skipped']} skipped: neither qrels nor answers)"
        )
        if imported.sample:
            console.print(
                f"a random sample of {imported.sample['limit']} of {imported.sample['of']} "
                f"questions, seed {imported.sample['seed']}"
            )
        if report is not None:
            for failure in report.failures:
                err_console.print(
                    f"[red]failed[/red] {escape(failure.source)}: {failure.reason}: "
                    f"{escape(failure.message)}"
                )
            console.print(
                f"ingested corpus: added {report.added}, updated {report.updated}, "
                f"unchanged {report.unchanged}, failed {len(report.failures)}; "
                f"{report.chunks} chunks in {report.seconds:.1f} s"
            )
    if report is not None and report.failures:
        raise typer.Exit(1)
