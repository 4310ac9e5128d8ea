"""The ``kotae`` command: a thin layer over the library.

Errors are one line on stderr and exit code 2; ``ingest`` exits 1 when some files failed.
Messages are in the interface language (:mod:`kotae.messages`): Japanese under a Japanese
locale or ``KOTAE_LANG=ja``, English otherwise.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kotae.cli import (
    acl,
    ask,
    audit,
    bench,
    catalog,
    cost,
    eval_runs,
    eval_sets,
    governance,
    kb_commands,
    keys,
    licenses,
    log,
    models,
    pii,
    plan,
    recommend,
    rekey,
    serve,
    sizing,
    users,
)
from kotae.cli.common import KB_HELP, VersionOption, console, fail
from kotae.cli.help_words import use_words
from kotae.errors import KotaeError, localized
from kotae.messages import t, ui_language

use_words()
app = typer.Typer(
    name="kotae",
    help="kotae (答え): Japanese-first search and answers over your documents.\n\n"
    "Examples:\n\n"
    "  kotae init ./kb\n\n"
    "  kotae --kb ./kb status\n\n"
    "  kotae ingest ./docs --kb ./kb\n\n"
    '  kotae search "出張の宿泊費の上限" --kb ./kb\n\n'
    '  kotae ask "出張の宿泊費の上限はいくら？" --kb ./kb',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    kb: Annotated[str | None, typer.Option("--kb", metavar="DIR", help=KB_HELP)] = None,
    version: VersionOption = False,
) -> None:
    """kotae (答え): Japanese-first search and answers over your documents."""
    if kb is not None and not kb.strip():
        raise typer.BadParameter("the knowledge-base directory is empty", param_hint="--kb")
    ctx.obj = {"kb": kb}


kb_commands.register(app)
ask.register(app)
app.add_typer(kb_commands.docs_app, name="docs")
users.register(app)
keys.register(app)
serve.register(app)
app.add_typer(acl.groups_app, name="groups")
app.add_typer(acl.acl_app, name="acl")
app.add_typer(bench.bench_app, name="bench")
eval_app = typer.Typer(
    help="Evaluate retrieval and answers on your own questions.", no_args_is_help=True
)
eval_sets.register(eval_app)
eval_runs.register(eval_app)
app.add_typer(eval_app, name="eval")
app.add_typer(log.log_app, name="log")
app.add_typer(pii.pii_app, name="pii")
app.add_typer(audit.audit_app, name="audit")
catalog.register(models.models_app)
licenses.register(models.models_app)
sizing.register(models.models_app)
recommend.register(models.models_app)
app.add_typer(models.models_app, name="models")
app.add_typer(models.config_app, name="config")
cost.register(app)
governance.register(app)
plan.register(app)
rekey.register(app)


@app.command()
def version() -> None:
    """Print kotae's version."""
    from importlib.metadata import version as dist_version

    console.print(f"kotae {dist_version('kotae')}")


def main(argv: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
    except KotaeError as exc:
        fail(localized(exc, ui_language()), code=exc.exit_code)
    except (typer.Exit, SystemExit) as exc:
        code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Abort:
        fail(t("aborted"), code=130)
    except Exception as exc:  # click's usage errors (typer vendors click)
        format_message = getattr(exc, "format_message", None)
        if format_message is not None and hasattr(exc, "exit_code"):
            fail(t("usage_error", detail=str(format_message())))
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
