"""The web UI's first load on loopback: time to the load event and to a usable login form,
and the page weight.

Usage:
    .venv/bin/python benchmarks/web_ui.py [--runs 20] [--chromium /usr/bin/chromium]
        [--json benchmarks/results/web-ui.json]

A real ``kotae serve`` (the CLI, uvicorn) on 127.0.0.1 over a knowledge base of the sample
documents, and Debian's chromium driven by Playwright for Python (``executable_path``; no
downloaded browser). Each run is a fresh browser context (empty cache, no cookie), so each
is a first visit: the login page. Measured from the Navigation Timing and Resource Timing
entries of the page itself:

* ``load_ms``: navigation start to the end of the load event;
* ``interactive_ms``: navigation start to ``performance.mark("kotae:interactive")``, set by
  kotae/server/web/js/app.js once the login form is drawn and its handlers are attached
  (after ``GET /ui/session`` and ``/ui/config`` answered);
* ``bytes``: the transferred bytes (headers and bodies) of every request of the load, the
  page and its resources, fonts excluded (the UI uses system fonts and loads none).

One warm-up run is left out; the figures are the medians of ``--runs``.
Targets: 300 ms to the load event and to the login form, 300 KB.
Writes ``benchmarks/results/web-ui.json``.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench_harness import (
    REPO_ROOT,
    RESULTS_DIR,
    JsonDict,
    git_info,
    kotae_command,
    kotae_env,
    kotae_version,
    log,
    machine_info,
    utc_now,
    write_json,
)

TARGET_MS = 300.0
TARGET_BYTES = 300 * 1024
FONT = (".woff", ".woff2", ".ttf", ".otf", ".eot")

MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const mark = performance.getEntriesByName("kotae:interactive")[0];
  const counted = resources.filter((r) => !/\\.(woff2?|ttf|otf|eot)(\\?|$)/i.test(r.name));
  return {
    load_ms: nav.loadEventEnd - nav.startTime,
    interactive_ms: mark ? mark.startTime - nav.startTime : null,
    bytes: nav.transferSize + counted.reduce((sum, r) => sum + r.transferSize, 0),
    body_bytes: nav.encodedBodySize + counted.reduce((sum, r) => sum + r.encodedBodySize, 0),
    requests: 1 + counted.length,
    fonts: resources.length - counted.length,
    names: [nav.name, ...counted.map((r) => r.name)],
  };
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def build_kb(folder: Path) -> Path:
    kb = folder / "kb"
    env = kotae_env()
    for args in (
        ["init", str(kb)],
        [
            "ingest",
            *map(str, sorted((REPO_ROOT / "samples" / "docs").glob("*.*"))),
            "--kb",
            str(kb),
        ],
    ):
        subprocess.run([*kotae_command(), *args], check=True, env=env, capture_output=True)
    return kb


def start_server(kb: Path, log_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [*kotae_command(), "serve", "--port", str(port), "--kb", str(kb)]
    with log_file.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=kotae_env())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"kotae serve exited:\n{log_file.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("kotae serve did not start within 60 s")


def measure(url: str, chromium: str, runs: int) -> list[JsonDict]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
            ],
        )
        try:
            for i in range(runs + 1):  # the first is a warm-up
                context = browser.new_context(locale="ja-JP")
                page = context.new_page()
                page.goto(f"{url}/", wait_until="load")
                page.wait_for_function(
                    "() => performance.getEntriesByName('kotae:interactive').length > 0"
                )
                page.wait_for_function(
                    "() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0"
                )
                assert page.locator("form.login-form input[name=user]").is_editable()
                figures: Any = page.evaluate(MEASURE)
                context.close()
                if i > 0:
                    out.append(figures)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "web-ui.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kotae-web-ui-") as tmp:
        folder = Path(tmp)
        log("building a knowledge base of samples/docs")
        kb = build_kb(folder)
        process, url = start_server(kb, folder / "server.log")
        try:
            log(f"{args.runs} first loads of {url}/ in {args.chromium}")
            runs = measure(url, args.chromium, args.runs)
        finally:
            process.terminate()
            process.wait(timeout=20)
    load = statistics.median(r["load_ms"] for r in runs)
    interactive = statistics.median(r["interactive_ms"] for r in runs)
    weight = int(statistics.median(r["bytes"] for r in runs))
    result = {
        "benchmark": "web-ui",
        "date": utc_now(),
        "machine": machine_info(),
        "git": git_info(),
        "kotae_version": kotae_version(),
        "conditions": {
            "server": "kotae serve --port P --kb KB on 127.0.0.1 (uvicorn as the CLI starts it), "
            "knowledge base of samples/docs",
            "browser": f"{args.chromium} (headless, Playwright {playwright_version()}), "
            "a fresh context per run: empty cache, no cookie (the login page)",
            "runs": args.runs,
            "warmup_runs": 1,
        },
        "targets": {"load_ms": TARGET_MS, "interactive_ms": TARGET_MS, "bytes": TARGET_BYTES},
        "median_load_ms": round(load, 1),
        "median_interactive_ms": round(interactive, 1),
        "max_load_ms": round(max(r["load_ms"] for r in runs), 1),
        "max_interactive_ms": round(max(r["interactive_ms"] for r in runs), 1),
        "page_bytes": weight,
        "page_body_bytes": int(statistics.median(r["body_bytes"] for r in runs)),
        "requests": runs[0]["requests"],
        "fonts": runs[0]["fonts"],
        "resources": [n.removeprefix(url) for n in runs[0]["names"]],
        "passes": {
            "load_ms": load <= TARGET_MS,
            "interactive_ms": interactive <= TARGET_MS,
            "bytes": weight <= TARGET_BYTES,
        },
        "runs": [{k: v for k, v in r.items() if k != "names"} for r in runs],
    }
    write_json(args.json, result)
    log(
        f"load {load:.1f} ms, login form {interactive:.1f} ms, {weight / 1024:.1f} KB in "
        f"{result['requests']} requests -> {args.json}"
    )
    return 0


def playwright_version() -> str:
    from importlib.metadata import version

    return version("playwright")


if __name__ == "__main__":
    sys.exit(main())
