"""Shared CLI pieces: the --kb option, consoles, the one-line error exit."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

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
        raise typer.BadParameter(f"no knowledge base in {kb}: create one with `kotae init {kb}`")
    return kb


KbOption = Annotated[str | None, typer.Option("--kb", help=KB_HELP, callback=_existing_kb)]
NewKbOption = Annotated[str | None, typer.Option("--kb", help=KB_HELP, callback=_kb_value)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit (2 = bad input or a kotae error)."""
    first = " ".join(message.strip().splitlines()) or "error"
    print(f"kotae: error: {first}", file=sys.stderr)
    sys.exit(code)


def check_output(path: Path | None, option: str) -> None:
    """Fail (one line, exit 2) unless ``path`` can be written: checked before long work."""
    if path is None:
        return
    if not str(path).strip() or path.is_dir():
        fail(f"{option} {path}: give a file name, not a folder")
    folder = path.parent
    if not folder.is_dir():
        fail(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{option} {path}: not writable")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
