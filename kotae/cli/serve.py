"""``kotae serve``: the HTTP service (OpenAI-compatible API, search/ask API) under uvicorn."""

from __future__ import annotations

import math
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from kotae.cli.common import KbOption
from kotae.kb import ENV_KB, find_kb_dir

ENV_CHECK = "KOTAE_SERVE_CHECK"


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default [server] host: 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default [server] port: 8000).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Worker processes (default 1).")
    ] = None,
    kb: KbOption = None,
) -> None:
    """Serve the knowledge base over HTTP: the OpenAI-compatible API (/v1), kotae's API
    (/api) and its OpenAPI spec (/openapi.json, /docs). Every request needs an API key
    (`kotae keys create USER`). Listening beyond loopback needs an admin key.

    Example: kotae serve --port 8000 --kb ./kb
    """
    import uvicorn

    from kotae.kb import KnowledgeBase
    from kotae.server.app import check_bind

    path = find_kb_dir(kb)
    with KnowledgeBase(path, sync=False) as base:
        settings = base.settings.server
        host = host or settings.host
        port = port or settings.port
        workers = workers or settings.workers
        check_bind(host, base)
    os.environ[ENV_KB] = str(Path(path).resolve())
    _exit_zero_on_sigterm()
    uvicorn.run(
        "kotae.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_timeout_s)),
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _exit_zero_on_sigterm() -> None:
    """After its graceful shutdown on SIGTERM, uvicorn raises the signal again for the
    handler it found: with Python's default, the process would die of it (exit 143, -15)
    although it stopped cleanly. This handler makes that stop exit 0."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stopped)


def register(app: typer.Typer) -> None:
    app.command()(serve)
