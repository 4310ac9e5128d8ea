"""What one server process holds: the knowledge base's readers, the backends, the writer.

- **Readers.** Each worker thread reads through its own :class:`~kotae.kb.KnowledgeBase`
  (its own SQLite connection: a transaction on one connection is never seen half-done by
  another). Before each request it follows what the writer committed
  (:meth:`~kotae.kb.KnowledgeBase.refresh`): the lexical index is reloaded when its
  ``index.json`` moved, so a search sees each document fully old or fully new, and never
  waits for an ingestion.
- **Backends** (generator, embedder) are built once and shared by every thread.
- **The writer** (:class:`kotae.server.jobs.Writer`): one thread that owns the only writing
  connection; uploads and deletions queue there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kotae.config import Settings
from kotae.kb import KnowledgeBase

if TYPE_CHECKING:
    from kotae.backends.embedders import Embedder
    from kotae.backends.generators import Generator
    from kotae.server.jobs import Writer
    from kotae.server.limits import RateLimiter


@dataclass
class ServerState:
    kb_path: Path
    settings: Settings
    name: str  # the knowledge base's name: model "kotae/<name>"
    generator: Generator | None = None
    embedder: Embedder | None = None
    writer: Writer | None = None
    limiter: RateLimiter | None = None
    problems: list[str] = field(default_factory=list)  # found at startup, shown by /api/ready
    _local: threading.local = field(default_factory=threading.local)
    _readers: list[KnowledgeBase] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model_id(self) -> str:
        return f"kotae/{self.name}"

    def reader(self) -> KnowledgeBase:
        """This thread's knowledge base, up to date with the last commit."""
        kb: KnowledgeBase | None = getattr(self._local, "kb", None)
        if kb is None:
            kb = KnowledgeBase(self.kb_path, self.settings, sync=False)
            if self.embedder is not None and kb.dense_enabled:
                kb.dense._embedder = self.embedder  # one model in memory, not one per thread
            self._local.kb = kb
            with self._lock:
                self._readers.append(kb)
        else:
            kb.refresh()
        return kb

    @contextmanager
    def reading(self) -> Iterator[KnowledgeBase]:
        yield self.reader()

    def close(self) -> None:
        with self._lock:
            readers, self._readers = self._readers, []
            # a later lifespan of the same app (a restart) opens new readers: the threads
            # that served this one may serve it too, and must not find a closed one
            self._local = threading.local()
        for kb in readers:
            with suppress(Exception):
                kb.close()
        for backend in (self.generator, self.embedder):
            close = getattr(backend, "close", None)
            if close is not None:
                close()

    def models(self) -> list[dict[str, Any]]:
        """What ``GET /v1/models`` lists: the knowledge base, then the configured models."""
        out = [{"id": self.model_id, "object": "model", "owned_by": "kotae", "kind": "answers"}]
        if self.generator is not None and self.generator.model:
            out.append(
                {
                    "id": self.generator.model,
                    "object": "model",
                    "owned_by": self.settings.generator.backend,
                    "kind": "chat",
                }
            )
        if self.embedder is not None:
            out.append(
                {
                    "id": embedder_model(self),
                    "object": "model",
                    "owned_by": self.settings.embedder.backend,
                    "kind": "embeddings",
                }
            )
        return [{**m, "created": 0} for m in out]


def embedder_model(state: ServerState) -> str:
    """The name clients use for the embedder: its ``model`` option, else its full name."""
    model = state.settings.embedder.options().get("model")
    if isinstance(model, str) and model:
        return model
    return state.embedder.name if state.embedder is not None else ""
