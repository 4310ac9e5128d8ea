"""Shared CLI pieces: the --kb option, consoles, the one-line error exit, tables, times."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

KbOption = Annotated[
    str | None,
    typer.Option(
        "--kb",
        metavar="DIR",
        help="Knowledge-base directory (default: $KOTAE_KB, else the current one).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
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


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit (2 = bad input or a kotae error)."""
    first = " ".join(message.strip().splitlines()) or "error"
    print(f"kotae: error: {first}", file=sys.stderr)
    sys.exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table of plain-text cells (no markup), never cut: on a terminal, columns that
    fold to its width; piped or redirected, tab-separated lines (a header, then one
    line per row) in full, tabs and newlines in cells replaced by spaces."""
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
