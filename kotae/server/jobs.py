"""The server's one writer: ingestion jobs and deletions, in one thread, in order.

An upload is saved under ``KB_DIR/uploads/<job id>/`` and becomes a job (``queued`` →
``running`` → ``done`` / ``failed`` / ``cancelled``; a server stopped mid-job leaves it
``interrupted``), kept in the catalog's ``jobs`` table so that any worker process can
report it. Each file of a job is ingested in its own transaction: when the server shuts
down, the running job stops at the next document boundary and the files it did not reach
are reported as ``cancelled``, never half-indexed. Deletions queue behind the running
file, so they never fail with "another process is writing".
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotae.config import Settings
from kotae.kb import KnowledgeBase
from kotae.security.auth import now_utc, stamp

log = logging.getLogger("kotae.server")

UPLOADS = "uploads"
LOCK_WAIT_S = 600.0


@dataclass(frozen=True, slots=True)
class _Task:
    run: Callable[[KnowledgeBase], Any]
    done: Future[Any]


def seal_uploads(kb: KnowledgeBase, folder: Path) -> None:
    """In an encrypted knowledge base, uploads are kept sealed (``FILE.kenc``,
    :mod:`kotae.security.sealed`): their plaintext exists only while their job runs."""
    if kb.cipher is not None:
        from kotae.security.sealed import seal_all

        seal_all(folder, kb.cipher)


class Writer:
    """One thread owning the server's only writing :class:`KnowledgeBase`."""

    def __init__(self, kb_path: Path, settings: Settings) -> None:
        self.kb_path = kb_path
        self.settings = settings
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kotae-writer", daemon=True)
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        with KnowledgeBase(self.kb_path, self.settings, sync=False) as kb:
            interrupted = kb.catalog.interrupt_jobs(stamp(now_utc()))
            seal_uploads(kb, self.kb_path / UPLOADS)  # what a killed server left in plaintext
        if interrupted:
            log.warning("%d ingestion job(s) of an earlier run marked interrupted", interrupted)
        self._thread.start()
        self._started = True

    def stop(self, timeout: float | None = None) -> None:
        """Finish the document being written, cancel the rest, and end the thread."""
        self._stop.set()
        self._queue.put(None)
        if self._started:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        kb = KnowledgeBase(self.kb_path, self.settings, sync=False)
        try:
            while True:
                task = self._queue.get()
                if task is None:
                    break
                if not task.done.set_running_or_notify_cancel():
                    continue
                try:
                    # another process (a second worker, `kotae ingest`) may be writing: wait
                    with kb.write_lock(wait=LOCK_WAIT_S):
                        kb.refresh()
                        kb.sync_indexes()
                        task.done.set_result(task.run(kb))
                except BaseException as exc:
                    task.done.set_exception(exc)
            while not self._queue.empty():  # what was queued behind the stop
                task = self._queue.get_nowait()
                if task is not None:
                    task.done.cancel()
        finally:
            kb.close()

    def submit(self, run: Callable[[KnowledgeBase], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        if self.stopping:
            future.cancel()
            return future
        self._queue.put(_Task(run, future))
        return future

    # -- jobs --------------------------------------------------------------------------
    def create_job(
        self, kb: KnowledgeBase, user: str, files: Sequence[Path], groups: Sequence[str]
    ) -> str:
        """Record a queued ingestion job of ``files`` (already saved) and queue it."""
        job_id = files[0].parent.name if files else uuid.uuid4().hex
        detail = {
            "groups": list(groups),
            "files": [{"name": f.name, "status": "queued"} for f in files],
            "total": len(files),
            "done": 0,
        }
        kb.catalog.job_insert(
            {
                "id": job_id,
                "kind": "ingest",
                "user": user,
                "status": "queued",
                "detail": detail,
                "created_at": stamp(now_utc()),
            }
        )
        self.submit(lambda writer_kb: self._ingest(writer_kb, job_id, list(files), detail))
        return job_id

    def _ingest(
        self, kb: KnowledgeBase, job_id: str, files: list[Path], detail: dict[str, Any]
    ) -> None:
        """Ingest the job's folder in one run (one access rule, one index commit; the
        catalog is written in batches of whole documents). A stop ends the run before the
        next file: what was read is written, and each file's status is read back from the
        catalog."""

        def save(status: str) -> None:
            kb.catalog.job_update(job_id, status, detail, stamp(now_utc()))

        def progress(source: str, done_bytes: int) -> None:
            detail["done"] += 1
            save("running")

        save("running")
        folder = files[0].parent
        failures: dict[str, str] = {}
        stopped = False
        try:
            report = kb.ingest(
                [folder], groups=detail["groups"], progress=progress, stop=lambda: self.stopping
            )
            failures = {f.source: f"{f.reason}: {f.message}" for f in report.failures}
            stopped = report.stopped
        except Exception as exc:  # the job's report; nothing half-written
            failures = {str(p.resolve()): f"{type(exc).__name__}: {exc}" for p in files}
        for entry, path in zip(detail["files"], files, strict=True):
            source = str(path.resolve())
            if kb.catalog.document_by_source(source) is not None:
                entry.update(status="done", documents=1)
            elif source in failures:
                entry.update(status="failed", error=failures[source].replace(str(folder), "."))
            else:
                entry["status"] = "cancelled" if stopped else "failed"
        seal_uploads(kb, folder)
        detail["done"] = sum(1 for e in detail["files"] if e["status"] == "done")
        statuses = {e["status"] for e in detail["files"]}
        save(
            "cancelled" if "cancelled" in statuses else "failed" if "failed" in statuses else "done"
        )
