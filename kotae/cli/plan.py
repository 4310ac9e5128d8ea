"""``kotae plan``: the adoption plan, from the project file, its eval runs and the planning
modules, as Markdown or HTML, in Japanese or English (:mod:`kotae.planning.plan`)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import (
    KbOption,
    ReportLangOption,
    ReportOutOption,
    check_output,
    console,
    fail,
)
from kotae.cli.recommend import _catalog
from kotae.config import CONFIG_FILE, load_settings
from kotae.kb import DB_FILE, KnowledgeBase, find_kb_dir
from kotae.messages import t, ui_language
from kotae.planning import governance, tco
from kotae.planning import plan as adoption
from kotae.planning.gpus import parse_gpu_option


def register(app: typer.Typer) -> None:
    """Add ``kotae plan`` to ``app`` (the root app)."""
    app.command("plan")(plan)


def plan(
    gpu: Annotated[
        str | None,
        typer.Option(
            "--gpu",
            metavar="[N×]GPU",
            help="The GPUs to self-host on, e.g. 1xL40S (default: fit and self-hosting not "
            "priced, said in the plan).",
        ),
    ] = None,
    tokens_per_month: Annotated[
        str | None,
        typer.Option(
            "--tokens-per-month",
            metavar="IN,OUT",
            help="Input and output tokens a month, e.g. 10M,2M (default "
            f"{adoption.DEFAULT_TOKENS}, about 1,000 questions a working day).",
        ),
    ] = None,
    governance_file: Annotated[
        Path | None,
        typer.Option(
            "--governance",
            metavar="FILE",
            help="Governance answers (template: samples/governance/knowledge-search.toml).",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="html or markdown.")
    ] = "markdown",
    lang: ReportLangOption = None,
    out: ReportOutOption = None,
    kb: KbOption = None,
) -> None:
    """One adoption plan: the use case and KPIs with the latest eval run's verdicts, the
    recommended models and their license obligations, hardware and cost against GPT-4o with
    the break-even, the PoC plan, the security and governance checklist, and the operations
    plan. Each section says where its figures come from; what is not given is said, with
    how to give it.

    Example: kotae plan --gpu 1xL40S --governance samples/governance/knowledge-search.toml
    --format html --out plan.html --kb kb
    """
    if output_format not in adoption.FORMATS:
        choices = ", ".join(adoption.FORMATS)
        fail(t("plan_unknown_format", format=output_format, choices=choices))
    language = lang if lang is not None else ui_language()
    if language not in ("ja", "en"):
        fail(t("unknown_lang", lang=language, choices="ja, en"))
    check_output(out, "--out")
    hardware = parse_gpu_option(gpu) if gpu is not None else None
    volume = tco.parse_tokens(tokens_per_month or adoption.DEFAULT_TOKENS)
    assessment = None
    if governance_file is not None:
        if not governance_file.is_file():
            fail(t("plan_no_governance_file", path=governance_file))
        questionnaire = governance.load_questionnaire()
        answers = governance.load_answers(governance_file, questionnaire)
        assessment = governance.assess(answers, questionnaire)
    path = find_kb_dir(kb)
    if not (path / DB_FILE).is_file():
        fail(t("no_kb_option", kb=path))
    settings = load_settings(path / CONFIG_FILE)
    base = KnowledgeBase(path, settings, sync=False)
    try:
        runs = list(base.catalog.eval_runs(limit=200))
        latest = adoption.latest_run(runs)
        results = base.catalog.eval_results(latest.id) if latest is not None else []
    finally:
        base.close()
    inputs = adoption.Inputs(
        path,
        settings,
        runs,
        results,
        _catalog(),
        tco.load_prices(),
        volume,
        tokens_per_month is not None,
        hardware,
        assessment,
        governance_file,
        date.today(),
    )
    text = adoption.render(adoption.build(inputs, language), output_format)
    if out is None:
        sys.stdout.write(text)
        return
    from kotae.evaluation.report import write_report

    write_report(out, text)
    console.print(t("wrote", path=escape(str(out.resolve()))))
