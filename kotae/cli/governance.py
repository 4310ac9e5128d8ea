"""``kotae governance assess``: the EU AI Act risk class, the obligations that follow, the GPAI
items to check with a model's provider, and a checklist against Japan's AI Guidelines for
Business, from a questionnaire (:mod:`kotae.planning.governance`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import ReportLangOption, ReportOutOption, check_output, console, fail
from kotae.errors import ConfigError, localized
from kotae.messages import t, ui_language
from kotae.planning import governance

governance_app = typer.Typer(
    help="AI governance: EU AI Act risk class and obligations, Japan's AI Guidelines checklist.",
    no_args_is_help=True,
)
FORMATS = ("markdown", "html")


def register(app: typer.Typer) -> None:
    """Add ``kotae governance`` to ``app`` (the root app)."""
    app.add_typer(governance_app, name="governance")


@governance_app.command("assess")
def assess(
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            metavar="FILE",
            help="Answers as TOML or JSON (an [answers] table of question id to value); "
            "without it, the questions are asked on the terminal. "
            "Template: samples/governance/knowledge-search.toml.",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="markdown or html.")
    ] = "markdown",
    lang: ReportLangOption = None,
    out: ReportOutOption = None,
) -> None:
    """Assess one AI use: the EU AI Act risk class (prohibited, high-risk, limited, minimal)
    with its obligations, the GPAI items to check with the model's provider, and a checklist
    against Japan's AI Guidelines for Business. Each item cites its article or section.
    Not legal advice.

    Example: kotae governance assess --answers samples/governance/knowledge-search.toml
    """
    if output_format not in FORMATS:
        fail(t("governance_unknown_format", format=output_format, choices=", ".join(FORMATS)))
    language = lang if lang is not None else ui_language()
    if language not in ("ja", "en"):
        fail(t("unknown_lang", lang=language, choices="ja, en"))
    check_output(out, "--out")
    questionnaire = governance.load_questionnaire()
    if answers is not None:
        given = governance.load_answers(answers, questionnaire)
    elif _interactive():
        given = _ask(questionnaire, language)
    else:
        fail(t("governance_needs_answers"))
    result = governance.assess(given, questionnaire)
    text = governance.render(result, output_format, language, questionnaire)
    if out is None:
        sys.stdout.write(text)
        return
    from kotae.evaluation.report import write_report

    write_report(out, text)
    console.print(t("wrote", path=escape(str(out.resolve()))))


def _interactive() -> bool:
    """Whether the questions can be asked: stdin is a terminal."""
    return sys.stdin.isatty()


def _ask(questionnaire: governance.Questionnaire, language: str) -> governance.Answers:
    """Each question on the terminal, asked again until the answer fits."""
    values: dict[str, governance.Answer] = {}
    total = len(questionnaire.questions)
    for number, question in enumerate(questionnaire.questions, start=1):
        typer.echo("")
        typer.echo(f"[{number}/{total}] {question.text[language]}")
        typer.echo(
            f"  {question.help[language]} ({questionnaire.cite(question.citation, language)})"
        )
        if question.type == "yes_no":
            values[question.id] = typer.confirm(t("governance_yes_no", language), default=False)
            continue
        for index, option in enumerate(question.options, start=1):
            typer.echo(f"  {index}. {question.label(option, language)} [{option}]")
        while True:
            reply = typer.prompt(t("governance_choose", language), default="1").strip()
            if reply.isdigit() and 1 <= int(reply) <= len(question.options):
                reply = question.options[int(reply) - 1]
            try:
                values[question.id] = governance.answer_value(question, reply)
                break
            except ConfigError as exc:
                typer.echo(localized(exc, language), err=True)
    return governance.Answers(values)
