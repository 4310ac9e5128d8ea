"""Shared CLI pieces: the --kb option, consoles, the one-line error exit, tables, times."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kotae.messages import header, t

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

KB_HELP = "Knowledge-base directory (default: $KOTAE_KB, else the current one)."


def _kb_value(ctx: typer.Context, value: str | None) -> str | None:
    """A command's ``--kb``, else the one given before the command (``kotae --kb DIR CMD``):
    both mean the same; given twice, they must agree."""
    root = ctx.find_root()
    shared = root.obj.get("kb") if isinstance(root.obj, dict) else None
    if value is not None and shared is not None and not _same(value, shared):
        raise typer.BadParameter(f"--kb given twice ({shared!r} and {value!r}): give it once")
    if value is not None and not value.strip():
        raise typer.BadParameter("the knowledge-base directory is empty")
    return value if value is not None else shared


def _same(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _existing_kb(ctx: typer.Context, value: str | None) -> str | None:
    """:func:`_kb_value`, which must name a knowledge base (every command but ``init``)."""
    from kotae.kb import DB_FILE

    kb = _kb_value(ctx, value)
    if kb is not None and not (Path(kb) / DB_FILE).is_file():
        raise typer.BadParameter(t("no_kb_option", kb=kb))
    return kb


KbOption = Annotated[
    str | None, typer.Option("--kb", metavar="DIR", help=KB_HELP, callback=_existing_kb)
]
NewKbOption = Annotated[
    str | None, typer.Option("--kb", metavar="DIR", help=KB_HELP, callback=_kb_value)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ReportLangOption = Annotated[
    str | None,
    typer.Option("--lang", metavar="LANG", help="ja or en (default: the interface's)."),
]
ReportOutOption = Annotated[
    Path | None,
    typer.Option("--out", metavar="FILE", help="Write to FILE instead of printing."),
]
LimitOption = Annotated[
    int | None,
    typer.Option(
        "--limit",
        min=1,
        metavar="N",
        help="Score a random sample of N queries (fixed by --seed; recorded in the results).",
    ),
]
SeedOption = Annotated[
    int, typer.Option("--seed", metavar="S", help="Which queries --limit samples.")
]


def fail(message: str, code: int = 2, language: str | None = None) -> NoReturn:
    """One line on stderr, then exit (2 = bad input or a kotae error); the prefix is in
    ``language``, by default the interface's (:func:`kotae.messages.ui_language`)."""
    first = " ".join(message.strip().splitlines()) or "error"
    print(t("error_prefix", language) + first, file=sys.stderr)
    sys.exit(code)


def check_output(path: Path | None, option: str) -> None:
    """Fail (one line, exit 2) unless ``path`` can be written: checked before long work."""
    if path is None:
        return
    if not str(path).strip() or path.is_dir():
        fail(t("output_is_folder", option=option, path=path))
    folder = path.parent
    if not folder.is_dir():
        fail(t("output_no_folder", option=option, path=path, folder=folder))
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(t("output_not_writable", option=option, path=path))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table of plain-text cells (no markup), never cut: on a terminal, columns that
    fold to its width; piped or redirected, tab-separated lines (a header, then one
    line per row) in full, tabs and newlines in cells replaced by spaces."""
    columns = [header(column) for column in columns]
    if not console.is_terminal:
        lines = ["\t".join(columns)]
        lines += ["\t".join(_one_line(cell) for cell in row) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(box=None)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def _one_line(cell: str) -> str:
    return cell.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def show_time(stamp: str | None) -> str:
    """An ISO time stored by kotae, printed in the local time zone with its offset
    (``2026-04-01 18:30:05+09:00``); a time stored without a zone is taken as UTC."""
    if not stamp:
        return "-"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().isoformat(sep=" ", timespec="seconds")


def version_callback(value: bool) -> None:
    """``kotae --version``: print the version and stop (an eager root option)."""
    if value:
        from importlib.metadata import version as dist_version

        console.print(f"kotae {dist_version('kotae')}")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option(
        "--version",
        callback=version_callback,
        is_eager=True,
        help="Print kotae's version and exit.",
    ),
]
