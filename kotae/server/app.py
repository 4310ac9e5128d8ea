"""``create_app``: the kotae HTTP service as a FastAPI application.

``kotae serve`` runs it under uvicorn; tests build it in-process with the same factory.
The routes are thin: each calls the library (search, answer, documents) with the caller's
:class:`~kotae.kb.Access`, and every error is a JSON body in OpenAI's error shape.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from kotae.config import CONFIG_FILE, Settings, load_settings
from kotae.errors import ConfigError, KotaeError
from kotae.kb import KnowledgeBase
from kotae.security.audit import record_start
from kotae.security.auth import now_utc, stamp
from kotae.server.errors import install_error_handlers
from kotae.server.jobs import Writer
from kotae.server.limits import BodyLimit, RateLimiter, SecurityHeaders
from kotae.server.routes import admin, api, documents, openai, ui_auth, web
from kotae.server.spec import install_openapi
from kotae.server.state import ServerState

log = logging.getLogger("kotae.server")

ANSWER_THREADS = 8  # answers and model calls at once; searches use the request pool


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, kb: KnowledgeBase) -> None:
    """Listening beyond loopback needs an admin key: :class:`ConfigError` otherwise."""
    if is_loopback(host):
        return
    if kb.catalog.admin_keys(stamp(now_utc())) == 0:
        raise ConfigError(
            f"refusing to listen on {host} without an admin API key: create one with "
            "`kotae users add NAME --role admin` and `kotae keys create NAME`, "
            "or listen on 127.0.0.1",
            message_ja=f"管理者の API キーがないため {host} では起動しません。"
            "`kotae users add 名前 --role admin` と `kotae keys create 名前` で作成するか、"
            "127.0.0.1 で起動してください",
        )


def _models(state: ServerState) -> dict[str, str | None]:
    """The models the service uses, as the audit log records them."""
    out: dict[str, str | None] = {}
    for section in ("generator", "embedder", "reranker"):
        backend = getattr(state.settings, section)
        model = backend.options().get("model") or backend.options().get("model_path")
        out[section] = f"{backend.backend}:{model}" if model else (backend.backend or None)
    return out


def startup_problems(state: ServerState) -> list[str]:
    """One line per problem found at startup (the server still starts)."""
    problems = []
    with KnowledgeBase(state.kb_path, state.settings) as kb:  # brings the indexes up to date
        if kb.catalog.is_empty():
            problems.append("the knowledge base holds no document: upload or `kotae ingest`")
        if kb.catalog.admin_keys(stamp(now_utc())) == 0:
            problems.append(
                "no admin API key: `kotae users add NAME --role admin`, "
                "then `kotae keys create NAME`"
            )
    for section, backend in (("[generator]", state.generator), ("[embedder]", state.embedder)):
        ping = getattr(backend, "ping", None)
        if ping is None:
            continue
        try:
            ping()
        except KotaeError as exc:
            problems.append(f"{section} does not answer: {type(exc).__name__}")
    return problems


def _backends(state: ServerState) -> None:
    settings = state.settings
    timeout = settings.server.backend_timeout_s
    if settings.generator.backend:
        from kotae.backends.generators import create_generator

        options = settings.generator.options()
        if settings.generator.backend == "openai":
            options.setdefault("timeout_s", timeout)
        from kotae.privacy.outgoing import protect

        state.generator = protect(create_generator(settings.generator.backend, options), settings)
    if settings.embedder.backend:
        from kotae.backends.embedders import create_embedder

        state.embedder = create_embedder(settings.embedder.backend, settings.embedder.options())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kotae")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


def create_app(
    settings: Settings | None = None, kb_path: str | Path = ".", *, check: bool = True
) -> FastAPI:
    """The service over the knowledge base in ``kb_path`` (``settings``: its kotae.toml when
    None). ``check=False`` skips pinging the backends at startup."""
    path = Path(kb_path)
    settings = settings or load_settings(path / CONFIG_FILE)
    KnowledgeBase(path, settings, sync=False).close()  # a clear error now if there is none
    state = ServerState(path, settings, name=path.resolve().name or "kb")
    state.limiter = RateLimiter(settings.server.rate_limit_per_minute)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.server.request_threads
        _backends(state)
        if check:
            state.problems = startup_problems(state)
            for problem in state.problems:
                log.warning("%s", problem)
        with state.reading() as kb:
            record_start(kb, _models(state))
        state.writer = Writer(path, settings)
        state.writer.start()
        app.state.answer_pool = ThreadPoolExecutor(
            ANSWER_THREADS, thread_name_prefix="kotae-answer"
        )
        try:
            yield
        finally:
            # uvicorn has let the in-flight requests finish; the running job stops at the
            # next document boundary, and what it did not reach is reported cancelled. No
            # time limit: a writer abandoned mid-document may commit it and die before the
            # job records it, and the job would then report a written file as not done
            state.writer.stop()
            app.state.answer_pool.shutdown(wait=True, cancel_futures=True)
            state.close()

    app = FastAPI(
        title="kotae",
        version=_version(),
        description="Search and grounded answers over your documents, with an "
        "OpenAI-compatible API. Authenticate with `Authorization: Bearer <API key>`.",
        lifespan=lifespan,
    )
    app.state.kotae = state
    install_error_handlers(app)
    app.include_router(openai.router)
    app.include_router(api.router)
    app.include_router(documents.router)
    app.include_router(admin.router)
    app.include_router(web.router)
    app.include_router(ui_auth.router)
    install_openapi(app, settings)
    server = settings.server
    if server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=server.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        BodyLimit, max_body=server.max_body_bytes, max_upload=server.max_upload_bytes
    )
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """The app of ``kotae serve`` (uvicorn's factory, once per worker process): the
    knowledge base in ``$KOTAE_KB``."""
    from kotae.kb import find_kb_dir

    return create_app(kb_path=find_kb_dir())
