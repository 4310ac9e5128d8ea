"""``kotae serve`` as a real process: uvicorn on a free port of 127.0.0.1, for the tests that
talk to the service over TCP (the official ``openai`` client, signals, restarts).

:func:`start_server` returns once ``GET /api/health`` answers; :meth:`RunningServer.stop`
(SIGTERM, then SIGKILL when it does not exit in time) must run in every test's teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_CHARS = 4000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a ``kotae`` subprocess: English messages, no
    ``$KOTAE_KB`` from the caller's shell, and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if k != "KOTAE_KB"}
    env["KOTAE_LANG"] = "en"
    env.update(extra or {})
    return env


@dataclass
class RunningServer:
    """A ``kotae serve`` process: its base URL (``http://127.0.0.1:PORT``) and log file."""

    process: subprocess.Popen[bytes]
    url: str
    log_file: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def log_tail(self) -> str:
        return self.log_file.read_text("utf-8", errors="replace")[-LOG_TAIL_CHARS:]

    def terminate(self) -> None:
        """SIGTERM: uvicorn's graceful shutdown."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Terminate the server (kill it when it does not exit in time) and wait for it."""
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    kb: Path, log_file: Path, *, env: Mapping[str, str] | None = None
) -> RunningServer:
    """``python -m kotae.cli.main serve --port PORT --kb KB`` on a free port; returns once
    ``GET /api/health`` answers. Fails the test with the tail of the server's output when
    it exits or is not up within 60 s."""
    port = free_port()
    command = [sys.executable, "-m", "kotae.cli.main", "serve", "--port", str(port)]
    command += ["--kb", str(kb)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=server_env(env)
        )
    server = RunningServer(process, f"http://127.0.0.1:{port}", log_file)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(f"{server.url}/api/health"):
        if process.poll() is not None:
            pytest.fail(
                f"kotae serve exited with code {process.returncode} before it was ready:\n"
                f"{server.log_tail()}"
            )
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(
                f"kotae serve did not answer within {READY_TIMEOUT_S:g} s:\n{server.log_tail()}"
            )
        time.sleep(0.1)
    return server


@contextmanager
def serving(
    kb: Path, log_file: Path, *, env: Mapping[str, str] | None = None
) -> Iterator[RunningServer]:
    """:func:`start_server`, stopped on the way out whatever happened."""
    server = start_server(kb, log_file, env=env)
    try:
        yield server
    finally:
        server.stop()
