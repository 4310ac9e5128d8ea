"""``kotae models ping``: check the configured generator, and ``kotae config show``."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from kotae.cli.ask import (
    BaseUrlOption,
    GeneratorOption,
    ModelOption,
    configured_generator,
    settings_for,
)
from kotae.cli.common import JsonOption, KbOption, console, fail, print_json
from kotae.config import hide_secrets

models_app = typer.Typer(help="The model backends: check them.", no_args_is_help=True)
config_app = typer.Typer(help="The effective settings.", no_args_is_help=True)


@models_app.command()
def ping(
    generator: GeneratorOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Check that the configured generator answers: model, latency, context size.

    Example: KOTAE_GENERATOR__BASE_URL=http://127.0.0.1:8000/v1 kotae models ping
    """
    _, settings = settings_for(kb, generator, model, base_url)
    backend = configured_generator(settings)
    if backend is None:
        fail(
            "no generator configured: set [generator] backend in kotae.toml or "
            "KOTAE_GENERATOR__BACKEND (e.g. openai with KOTAE_GENERATOR__BASE_URL and "
            "KOTAE_GENERATOR__MODEL)"
        )
    try:
        info = backend.ping()
    finally:
        backend.close()
    if json_out:
        print_json(info)
        return
    window = info.get("context_window")
    console.print(
        f"ok: {escape(backend.name)} answered in {info.get('latency_ms', 0):.0f} ms; "
        f"context window {window if window else 'unknown'} tokens"
    )
    for key, value in info.items():
        if key not in {"latency_ms", "context_window"}:
            console.print(f"  {key}: {escape(str(value))}")


@config_app.command()
def show(
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Print the effective settings (kotae.toml, then KOTAE_* variables), secrets hidden.

    Example: KOTAE_GENERATOR__MODEL=llama3 kotae config show
    """
    path, settings = settings_for(kb)
    data = hide_secrets(settings.model_dump())
    if json_out:
        print_json(data)
        return
    console.print(f"# effective settings of {escape(str(path))}")
    for section, values in data.items():
        if not isinstance(values, dict):
            console.print(f"{section} = {_toml(values)}")
    for section, values in data.items():
        if isinstance(values, dict):
            console.print(f"\n\\[{section}]")
            for key, value in values.items():
                console.print(f"{key} = {escape(_toml(value))}")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '""  # unset'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
