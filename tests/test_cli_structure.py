"""How the CLI is put together: explicit registration, no module named after a builtin."""

from __future__ import annotations

import builtins
from pathlib import Path

import typer
from typer.main import get_command

import kotae
from kotae.cli import eval_runs, eval_sets
from kotae.cli.main import app

EVAL_COMMANDS = ["import", "run", "list", "show", "compare", "gate", "report", "synth"]


def _names(group: typer.Typer) -> list[str]:
    return [info.name or info.callback.__name__ for info in group.registered_commands]  # type: ignore[union-attr]


def test_no_kotae_module_is_named_after_a_builtin() -> None:
    package = Path(kotae.__file__).parent
    shadowing = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.stem in dir(builtins)
    ]
    assert shadowing == []


def test_eval_commands_are_registered_explicitly_on_the_group_given() -> None:
    group = typer.Typer()
    assert _names(group) == []
    eval_sets.register(group)
    eval_runs.register(group)
    assert _names(group) == EVAL_COMMANDS
    again = typer.Typer()  # nothing was registered on a shared group by importing
    eval_runs.register(again)
    assert _names(again) == EVAL_COMMANDS[1:]


def test_kotae_eval_offers_every_command() -> None:
    command = get_command(app)
    eval_group = command.commands["eval"]  # type: ignore[attr-defined]
    assert list(eval_group.commands) == EVAL_COMMANDS
