"""Shared CLI pieces: the --kb option, consoles, the one-line error exit."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

KbOption = Annotated[
    str | None,
    typer.Option(
        "--kb", help="Knowledge-base directory (default: $KOTAE_KB, else the current one)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit (2 = bad input or a kotae error)."""
    first = " ".join(message.strip().splitlines()) or "error"
    print(f"kotae: error: {first}", file=sys.stderr)
    sys.exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
