"""Real servers for the integration tests: llama-cpp-python's OpenAI-compatible server on
127.0.0.1 serving the tiny GGUF (``tiny_gguf`` in tests/conftest.py), and a small
knowledge base built with the real ``kotae`` CLI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import write
from tests.test_cli import kotae

MODEL_ALIAS = "tiny-llama"
N_CTX = 2048
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 3000

# Short documents, so that a prompt of all of them stays far below N_CTX even with the tiny
# tokenizer (unseen kanji cost up to three byte tokens each).
DOCUMENTS = {
    "経費精算規程.md": "# 経費精算規程\n\n経費の申請期限は、支出した月の翌月10日までとする。\n",
    "在宅勤務規程.md": "# 在宅勤務規程\n\n在宅勤務は週3日まで、上長の承認を得て行う。\n",
    "leave.md": "# Leave policy\n\nEmployees get 20 days of paid leave per year.\n",
}


@dataclass
class LlamaServer:
    """A running ``python -m llama_cpp.server``: its process, base URL and log file."""

    process: subprocess.Popen[bytes]
    base_url: str  # http://127.0.0.1:PORT/v1
    log_file: Path

    def log_tail(self) -> str:
        text = self.log_file.read_text("utf-8", errors="replace")
        return text[-LOG_TAIL_CHARS:]

    def stop(self) -> None:
        """Terminate the server (kill it when it does not exit in time) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_llama_server(model: Path, log_file: Path) -> LlamaServer:
    """Start llama-cpp-python's server on ``model`` (alias ``tiny-llama``, ``n_ctx`` 2048,
    2 threads) on a free port; return once ``GET /v1/models`` answers.

    Fails the test with the tail of the server's output when it exits or is not ready
    within 60 s.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        "--n_threads",
        "2",
    ]
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = LlamaServer(process, f"http://127.0.0.1:{port}/v1", log_file)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(f"{server.base_url}/models"):
        if process.poll() is not None:
            pytest.fail(
                f"llama_cpp.server exited with code {process.returncode} before it was "
                f"ready:\n{server.log_tail()}"
            )
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(
                f"llama_cpp.server did not answer GET /v1/models within {READY_TIMEOUT_S:g} "
                f"s:\n{server.log_tail()}"
            )
        time.sleep(0.1)
    return server


@pytest.fixture(scope="session")
def llama_server(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT/v1``) of a llama-cpp-python server that serves
    the tiny GGUF as model ``tiny-llama`` for the whole session."""
    log_file = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = start_llama_server(tiny_gguf, log_file)
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def stopped_server_url(tiny_gguf: Path, tmp_path: Path) -> str:
    """The base URL of a llama-cpp-python server that answered, then was stopped: nothing
    listens on its port any more."""
    server = start_llama_server(tiny_gguf, tmp_path / "stopped-server.log")
    server.stop()
    return server.base_url


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base made with ``kotae init`` and ``kotae ingest`` of :data:`DOCUMENTS`
    (two Japanese rules, one English policy). Copy it before asking: asks are logged."""
    root = tmp_path_factory.mktemp("integration-kb")
    kb = root / "kb"
    created = kotae("init", str(kb))
    assert created.returncode == 0, created.stderr
    for name, text in DOCUMENTS.items():
        write(root / "docs" / name, text)
    ingested = kotae("ingest", str(root / "docs"), kb=kb)
    assert ingested.returncode == 0, ingested.stderr
    return kb


@pytest.fixture
def ask_kb(built_kb: Path, tmp_path: Path) -> Path:
    """A fresh copy of :func:`built_kb`, with an empty query log."""
    copy = tmp_path / "kb"
    shutil.copytree(built_kb, copy)
    return copy
