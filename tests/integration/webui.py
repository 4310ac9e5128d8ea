"""Helpers of the web UI's browser tests (tests/integration/test_web_ui.py): Debian's
chromium driven by Playwright (``executable_path``; ``playwright install`` is never run), a
``kotae serve`` over a knowledge base with users of each role and local passwords, and the
steps every test repeats (log in, ask, upload, screenshots).

Without chromium or Playwright the tests skip, except under ``make test-integration``
(``KOTAE_REQUIRE_INTEGRATION``), where a missing one fails, as tests/browser.py does.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kotae.kb import KnowledgeBase
from kotae.security.auth import create_key, set_role
from tests.integration.conftest import MODEL_ALIAS
from tests.server.running import RunningServer, serving

TIMEOUT_MS = 60_000
PASSWORD = "kotae-web-ui-test-passw0rd"
# name -> (role, groups): an admin, an editor of "sales", a reader without "sales"
USERS: dict[str, tuple[str, list[str]]] = {
    "aoki": ("admin", []),
    "eto": ("editor", ["sales"]),
    "sato": ("reader", []),
}
# the random model answers whatever the evidence, in a few tokens
TINY_ENV = {
    "KOTAE_ANSWER__MAX_TOKENS": "24",
    "KOTAE_ANSWER__EVIDENCE_THRESHOLD": "0",
    "KOTAE_SERVER__RATE_LIMIT_PER_MINUTE": "0",
}


def require_browser() -> str:
    """Debian's chromium with Playwright for Python: skip without them, fail under
    ``KOTAE_REQUIRE_INTEGRATION`` (or say so under ``KOTAE_NO_BROWSER``)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = None
    if binary is None:
        reason = "no chromium binary (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "no Playwright for Python (pip install -e '.[test]')"
    if reason is not None:
        if os.environ.get("KOTAE_NO_BROWSER"):
            pytest.skip(f"{reason}; KOTAE_NO_BROWSER is set")
        if os.environ.get("KOTAE_REQUIRE_INTEGRATION"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert binary is not None
    return binary


def launch(playwright: Any, binary: str) -> Any:
    """Headless chromium, no background networking, sRGB colours."""
    return playwright.chromium.launch(
        executable_path=binary,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--force-color-profile=srgb",
        ],
    )


@dataclass
class Web:
    """The served knowledge base: the server, its folder, an API key per user."""

    server: RunningServer
    path: Path
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def call(self, method: str, route: str, who: str, body: Any = None) -> Any:
        """A JSON call with ``who``'s API key (setup and checks, not the UI under test)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{route}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.keys[who]}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def has_route(self, route: str) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}{route}", timeout=10)
        except urllib.error.HTTPError as exc:
            return exc.code != 404
        return True


def set_password(kb: KnowledgeBase, name: str, password: str) -> None:
    from kotae.security.passwords import hash_password

    kb.catalog.set_password_hash(name, hash_password(password))


def tiny_model(llama_server: str) -> str:
    """The ``[generator]`` of the tiny random Llama served by ``llama_server``.

    Its random weights write gibberish, which cites nothing: a GBNF grammar (llama.cpp's
    constrained decoding, sent through ``extra_body`` as a deployment could) makes it reply
    with the citation alone, "[1]". kotae streams that reply, finds no answer in it and
    shows the best evidence sentence of source [1] instead (kotae.replies): a streamed,
    cited answer through the whole real path, model server included."""
    return (
        f'[generator]\nbackend = "openai"\nbase_url = "{llama_server}"\n'
        f'model = "{MODEL_ALIAS}"\ncontext_window = 1024\n'
        "extra_body = { grammar = 'root ::= \"[1]\"' }\n"
    )


# the scripted generator (kotae.testing): the first line of source [1], cited as [1]
FAKE_MODEL = '[generator]\nbackend = "fake"\nmodel = "fake-chat"\n'


def prepare_kb(built_kb: Path, root: Path, generator: str) -> tuple[Path, dict[str, str]]:
    """A copy of ``built_kb`` with ``generator`` (a ``[generator]`` table) and :data:`USERS`,
    each with :data:`PASSWORD` and an API key."""
    path = root / "kb"
    shutil.copytree(built_kb, path)
    config = path / "kotae.toml"
    config.write_text(config.read_text("utf-8") + "\n" + generator, "utf-8")
    keys = {}
    with KnowledgeBase(path, sync=False) as kb:
        for name, (role, groups) in USERS.items():
            kb.set_user(name, groups)
            set_role(kb.catalog, name, role)
            set_password(kb, name, PASSWORD)
            keys[name] = create_key(kb.catalog, name, name="web-ui")[0]
    return path, keys


def serve_web(
    built_kb: Path, root: Path, generator: str, env: dict[str, str] | None = None
) -> Iterator[Web]:
    """``kotae serve`` over :func:`prepare_kb`'s knowledge base; its log holds no traceback."""
    path, keys = prepare_kb(built_kb, root, generator)
    with serving(path, root / "server.log", env=env) as server:
        yield Web(server, path, keys)
        log = server.log_tail()
    assert "Traceback" not in log, log


def upload(web: Web, who: str, name: str, text: str, groups: str) -> None:
    """Upload one Markdown file through the API (as ``who``) and wait for its job."""
    boundary = "kotae-web-ui-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: text/markdown\r\n\r\n{text}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="groups"\r\n\r\n{groups}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(f"{web.url}/api/documents", data=body, method="POST")
    request.add_header("Authorization", f"Bearer {web.keys[who]}")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(request, timeout=60) as response:
        job = json.loads(response.read())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = web.call("GET", job["status_url"], who)
        if status["status"] == "done":
            return
        assert status["status"] in ("queued", "running"), status
        time.sleep(0.2)
    pytest.fail(f"upload job {job['job']} did not finish")


# -- steps in the browser ---------------------------------------------------------------------
def login(page: Any, web: Web, who: str) -> None:
    """Log in as ``who`` with the user + password form; back on the search page."""
    from playwright.sync_api import expect

    page.goto(f"{web.url}/")
    form = page.locator("form.login-form").first
    expect(form).to_be_visible()
    form.locator("input[name=user]").fill(who)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("nav.menu")).to_be_visible()
    expect(page).to_have_url(f"{web.url}/#/search")


def ask(page: Any, question: str) -> Any:
    """Ask ``question`` on the chat page; the last answer, once its stream has ended."""

    page.locator("textarea[name=question]").fill(question)
    page.locator("textarea[name=question]").press("Enter")
    return finished_answer(page)


def finished_answer(page: Any) -> Any:
    from playwright.sync_api import expect

    answer = page.locator(".turn .answer").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=TIMEOUT_MS)
    return answer


def shot(page: Any, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page: Any) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scroll)."""
    width: int = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
    return width
