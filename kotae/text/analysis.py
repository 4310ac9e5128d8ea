"""Term analysis of many texts at once, in worker processes when the batch is large.

Morphological analysis is the slowest step of ingestion (SudachiPy, ~2 MB/s per core), so
large batches are split across a process pool; small ones (a handful of office files) run
in-process, with no pool start-up cost.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from kotae.text.tokenize import FieldTexts, Tokenizer, default_tokenizer

PARALLEL_MIN_CHARS = 200_000  # below this a batch is analyzed in-process
ENV_WORKERS = "KOTAE_ANALYZER_WORKERS"


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: never outlive the ingesting process.

    A worker forked while the parent holds the knowledge base's write lock inherits the lock's
    file descriptor; if the parent is killed (OOM, SIGKILL) an orphaned worker would keep the
    lock forever. On Linux the kernel kills the worker with its parent (PR_SET_PDEATHSIG);
    elsewhere a watchdog thread notices the new parent pid.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def analyze_texts(texts: list[str]) -> list[FieldTexts]:
    """Worker entry point: analyze already-normalized texts with the default tokenizer.

    Joined strings, not term lists, cross the process boundary: far cheaper to pickle.
    """
    tokenizer = default_tokenizer()
    return [tokenizer.analyze(t, normalized=True).joined() for t in texts]


class _Done:
    def __init__(self, value: list[FieldTexts]) -> None:
        self.value = value

    def result(self) -> list[FieldTexts]:
        return self.value


class _Parts:
    def __init__(self, parts: list[Future[list[FieldTexts]]]) -> None:
        self.parts = parts

    def result(self) -> list[FieldTexts]:
        out: list[FieldTexts] = []
        for part in self.parts:
            out.extend(part.result())
        return out


def worker_count() -> int:
    configured = os.environ.get(ENV_WORKERS)
    if configured:
        return max(0, int(configured))
    return min(os.cpu_count() or 1, 4)


class BatchAnalyzer:
    """``submit(texts).result()`` -> the joined field texts of each text, in order."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.workers = worker_count() if tokenizer is default_tokenizer() else 0
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, texts: list[str]) -> Any:
        if self.workers < 2 or sum(map(len, texts)) < PARALLEL_MIN_CHARS:
            return _Done([self.tokenizer.analyze(t, normalized=True).joined() for t in texts])
        if self._pool is None:
            # fork: workers inherit the loaded modules (no re-import of the caller's __main__,
            # no second dictionary load from disk); they only ever run analyze_texts.
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        size = -(-len(texts) // (self.workers * 2))
        parts = [
            self._pool.submit(analyze_texts, texts[i : i + size])
            for i in range(0, len(texts), size)
        ]
        return _Parts(parts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
