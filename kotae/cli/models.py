"""``kotae models ping``: check the configured generator, and ``kotae config show``."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from kotae import toml_out
from kotae.cli.ask import (
    BaseUrlOption,
    GeneratorOption,
    ModelOption,
    configured_generator,
    settings_for,
)
from kotae.cli.common import JsonOption, KbOption, console, fail, print_json
from kotae.config import hide_secrets
from kotae.errors import KnowledgeBaseError
from kotae.kb import DB_FILE, find_kb_dir
from kotae.messages import t

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
        fail(t("no_generator"))
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
    """Print the effective settings (kotae.toml, then KOTAE_* variables) as TOML, secrets hidden.

    Example: KOTAE_GENERATOR__MODEL=llama3 kotae config show
    """
    path = find_kb_dir(kb)
    if not (path / DB_FILE).exists():
        raise KnowledgeBaseError(
            f"no knowledge base in {path}: create one with `kotae init {path}` "
            "or point to one with --kb DIR / KOTAE_KB"
        )
    _, settings = settings_for(str(path))
    data = hide_secrets(settings.model_dump())
    if json_out:
        print_json(data)
        return
    sys.stdout.write(f"# effective settings of {path}\n" + toml_out.dumps(data))
