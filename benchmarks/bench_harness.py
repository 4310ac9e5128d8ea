"""Shared helpers for the benchmark scripts: paths, machine facts, measured subprocesses.

Not part of the kotae package. The scripts in this folder import it as a sibling module
(``python benchmarks/<script>.py`` puts this folder first on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_ANCHORS_DIR = REPO_ROOT / "benchmarks" / ".anchors"

JsonDict = dict[str, Any]


def shared_dir() -> Path:
    """The shared folder (anchors, bench data): ``$KOTAE_SHARED`` or ``../shared`` from the repo."""
    return Path(os.environ.get("KOTAE_SHARED", REPO_ROOT.parent / "shared")).resolve()


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_info() -> JsonDict:
    """CPU model, cores, RAM and the load average when the run started."""
    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "ram_gb": ram_gb(),
        "os": platform.platform(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def git_info() -> JsonDict:
    """Commit of the working tree (read-only git commands) and whether it has local changes."""

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None, "dirty": bool(git("status", "--porcelain", "--", "kotae"))}


def kotae_version() -> str | None:
    """Version string of kotae as the benchmark subprocesses will import it."""
    out = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('kotae'))"],
        capture_output=True,
        text=True,
        check=False,
        env=kotae_env(),
        cwd=REPO_ROOT,
    )
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def kotae_env() -> dict[str, str]:
    """Environment for kotae subprocesses: the repo root appended to PYTHONPATH, so an
    uninstalled tree imports (an explicit PYTHONPATH still comes first)."""
    env = dict(os.environ)
    extra = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = (extra + os.pathsep if extra else "") + str(REPO_ROOT)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def kotae_command() -> list[str]:
    """How to start the kotae CLI: ``$KOTAE_CMD`` if set, else the venv's ``kotae`` script,
    else ``python -m kotae.cli.main`` with the running interpreter."""
    override = os.environ.get("KOTAE_CMD")
    if override:
        return shlex.split(override)
    script = Path(sys.executable).parent / "kotae"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kotae.cli.main"]


@dataclass
class MeasuredRun:
    """A finished subprocess with its wall time and peak resident memory."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mb: float | None
    timed_out: bool

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_measured(
    command: list[str],
    *,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> MeasuredRun:
    """Run ``command`` to completion; time it and read its peak RSS from ``wait4``.

    The peak covers the child and every descendant it waited for (a JVM started by a Python
    anchor script, for instance). Output goes to temp files, so nothing polls during the run.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
        )
        fired: list[bool] = []

        def on_timeout() -> None:
            fired.append(True)
            _kill_tree(proc)

        timer = threading.Timer(timeout_s, on_timeout) if timeout_s else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - start
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return MeasuredRun(
            command=command,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            wall_s=round(wall_s, 3),
            peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
            timed_out=bool(fired),
        )


def last_json_object(text: str) -> JsonDict | None:
    """The last line of ``text`` that parses as a JSON object, or None."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def json_output(text: str) -> JsonDict | None:
    """The JSON object a command printed last: the whole output, a trailing pretty-printed
    object (from a line that starts with ``{``), or a single JSON line."""
    lines = text.strip().splitlines()
    for start in reversed([i for i, line in enumerate(lines) if line.startswith("{")]):
        try:
            value = json.loads("\n".join(lines[start:]))
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return last_json_object(text)


def run_kotae_ingest(source: Path, kb_dir: Path, timeout_s: float) -> JsonDict:
    """``kotae init KB`` (untimed), then ``kotae ingest SOURCE --kb KB --json`` (timed).

    kotae exits 1 when some documents failed; the run still counts ("ok") when it printed its
    report, whose ``failed`` list says which documents and why.
    """
    init = run_measured([*kotae_command(), "init", str(kb_dir)], env=kotae_env(), cwd=REPO_ROOT)
    if init.returncode != 0:
        reason = "kotae init failed"
        return {"status": "failed", "reason": reason, "stderr_tail": init.stderr_tail()}
    command = [*kotae_command(), "ingest", str(source), "--kb", str(kb_dir), "--json"]
    run = run_measured(command, timeout_s=timeout_s, env=kotae_env(), cwd=REPO_ROOT)
    summary = json_output(run.stdout)
    entry: JsonDict = {
        "command": command,
        "returncode": run.returncode,
        "wall_s": run.wall_s,
        "peak_rss_mb": run.peak_rss_mb,
        "init_wall_s": init.wall_s,
        "summary": summary,
        "summary_text": run.stdout.strip()[-3000:],
        "stderr_tail": run.stderr_tail(),
    }
    if run.timed_out or summary is None or run.returncode not in (0, 1):
        reason = "timed out" if run.timed_out else f"exit code {run.returncode}, no JSON report"
        return {**entry, "status": "failed", "reason": reason}
    return {**entry, "status": "ok"}


def read_json(path: Path) -> JsonDict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
