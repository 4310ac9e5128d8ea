"""``kotae serve`` as a process: SIGTERM is a graceful stop (the answers in flight finish,
an ingestion job stops at a document boundary, exit code 0), and listening beyond loopback
needs an admin API key."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from kotae.errors import ConfigError
from kotae.kb import KnowledgeBase, init_kb
from kotae.security.auth import create_key, revoke_key, set_role
from kotae.server.app import check_bind
from tests.conftest import catalog_of
from tests.server.conftest import GENERATOR_MODEL, KB_NAME, MODEL
from tests.server.running import free_port, server_env, serving

pytestmark = pytest.mark.slow

DELAY_S = 3.0  # how long the fake model takes to answer
STOP_WITHIN_S = 15.0  # the generation left, the shutdown, with room for a busy machine
SAMPLE_DOCUMENTS = 11  # in the session's knowledge base
QUESTION = "出張の宿泊費の上限はいくら？"
JOB_FILES = 16
KOTAE = (sys.executable, "-m", "kotae.cli.main")


def copy_kb(template: Path, tmp_path: Path, config: str) -> Path:
    path = tmp_path / KB_NAME
    shutil.copytree(template, path)
    toml = path / "kotae.toml"
    toml.write_text(
        toml.read_text("utf-8") + "\n[server]\nrate_limit_per_minute = 0\n" + config, "utf-8"
    )
    return path


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# -- SIGTERM: answers in flight -------------------------------------------------------------
def test_sigterm_lets_the_answers_in_flight_finish(
    service_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    template, keys = service_template
    slow = f'[generator]\nbackend = "fake"\nmodel = "{GENERATOR_MODEL}"\ndelay_s = {DELAY_S}\n'
    path = copy_kb(template, tmp_path, slow)
    first_event = threading.Event()
    times: dict[str, float] = {}

    with serving(path, tmp_path / "server.log") as server:

        def streamed() -> tuple[int, str]:
            with httpx.stream(
                "POST",
                f"{server.url}/api/ask",
                json={"question": QUESTION, "stream": True},
                headers=auth(keys["rita"]),
                timeout=60,
            ) as response:
                text = ""
                for piece in response.iter_text():
                    text += piece
                    first_event.set()  # the sources: the model is at work
            times["stream_done"] = time.monotonic()
            return response.status_code, text

        def plain() -> Any:
            with OpenAI(base_url=server.v1, api_key=keys["sato"], max_retries=0) as client:
                return client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": QUESTION}], timeout=60
                )

        with ThreadPoolExecutor(2) as pool:
            stream_future = pool.submit(streamed)
            plain_future = pool.submit(plain)
            assert first_event.wait(30), server.log_tail()
            time.sleep(0.3)  # the plain request is in the model too
            assert not stream_future.done() and not plain_future.done()
            times["sigterm"] = time.monotonic()
            server.terminate()
            # new connections are refused at once, while the answers go on
            while True:
                try:
                    httpx.get(f"{server.url}/api/health", timeout=1)
                except httpx.TransportError:
                    times["refused"] = time.monotonic()
                    break
                assert time.monotonic() - times["sigterm"] < DELAY_S, "still accepting"
                time.sleep(0.05)
            status, text = stream_future.result(timeout=60)
            completion = plain_future.result(timeout=60)
        code = server.wait(STOP_WITHIN_S)
        stopped = time.monotonic() - times["sigterm"]
        log = server.log_tail()

    assert code == 0, log
    assert stopped < STOP_WITHIN_S
    assert times["refused"] < times["stream_done"]  # refused while an answer was in flight
    assert status == 200
    blocks = [b for b in text.strip().split("\n\n") if b]
    assert blocks[0].startswith("event: sources") and blocks[-1].startswith("event: citations")
    assert any(b.startswith("event: token") for b in blocks)
    assert '"number": 1' in blocks[-1] and "[1]" in blocks[-1]
    answer = completion.choices[0].message.content or ""
    assert "[1]" in answer and completion.model_extra["kotae"]["citations"]
    with catalog_of(path) as catalog:  # both answers were logged before the exit
        users = [r["user"] for r in catalog.log_rows({"kind": "ask"}, 10)]
    assert sorted(users) == ["rita", "sato"]
    assert "Traceback" not in log


# -- SIGTERM: an ingestion job ----------------------------------------------------------------
KANA = (
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
)


def job_document(n: int, rng: random.Random) -> bytes:
    """A long rulebook whose first and last lines hold words of its own: both found by a
    search only when the whole document was indexed."""
    paragraphs = "".join("".join(rng.choices(KANA, k=300)) + "。\n\n" for _ in range(400))
    head = f"# 社内規程{n:02d}\n\nKeyword kiwi{n:02d} opens this rulebook.\n\n"
    tail = f"\nKeyword mango{n:02d} closes this rulebook.\n"
    return (head + paragraphs + tail).encode()


def titles(http: httpx.Client, query: str) -> list[str]:
    r = http.get("/api/search", params={"q": query, "k": 5})
    assert r.status_code == 200, r.text
    return [hit["title"] for hit in r.json()["results"]]


def start_and_interrupt_a_job(path: Path, key: str, log_file: Path) -> tuple[str, list[str], float]:
    """Upload :data:`JOB_FILES` rulebooks as one job, SIGTERM the server once the job has
    written a document: the job's id, the uploaded names, how long the server took to exit."""
    rng = random.Random(7)
    files = [
        ("files", (f"規程{n:02d}.md", job_document(n, rng), "text/markdown"))
        for n in range(JOB_FILES)
    ]
    with serving(path, log_file) as server:
        with httpx.Client(base_url=server.url, headers=auth(key), timeout=120) as http:
            r = http.post("/api/documents", files=files, data={"groups": ""})
            assert r.status_code == 202, r.text
            job_id = r.json()["job"]
            deadline = time.monotonic() + 60
            while True:  # stop it once it has written a document
                job = http.get(f"/api/jobs/{job_id}").json()
                if job["done"] >= 1:
                    break
                assert job["status"] in ("queued", "running"), job
                assert time.monotonic() < deadline, job
                time.sleep(0.02)
        sigterm = time.monotonic()
        server.terminate()
        code = server.wait(STOP_WITHIN_S)
        stopped = time.monotonic() - sigterm
    log = log_file.read_text("utf-8")
    assert code == 0, log
    assert "Traceback" not in log
    return job_id, [name for _, (name, *_) in files], stopped


def check_after_restart(
    path: Path, key: str, log_file: Path, job_id: str, names: list[str], status: set[str]
) -> list[str]:
    """Restart the server: the job is in ``status``; each file it wrote is whole and found,
    the others are not; the knowledge base opens with ``kotae status``. The files written."""
    with (
        serving(path, log_file) as server,
        httpx.Client(base_url=server.url, headers=auth(key), timeout=60) as http,
    ):
        r = http.get(f"/api/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        assert job["status"] in status, job
        done = [f["name"] for f in job["files"] if f["status"] == "done"]
        rest = [f["name"] for f in job["files"] if f["status"] != "done"]
        assert sorted(done + rest) == sorted(names) and done and rest, job
        assert job["done"] == len(done)
        assert all(f["documents"] == 1 for f in job["files"] if f["status"] == "done")
        for name in done:
            n = int(name[2:4])
            assert f"社内規程{n:02d}" in titles(http, f"kiwi{n:02d}")
            assert f"社内規程{n:02d}" in titles(http, f"mango{n:02d}")
        for name in rest:
            n = int(name[2:4])
            assert f"社内規程{n:02d}" not in titles(http, f"kiwi{n:02d}")
        ready = http.get("/api/ready").json()
        assert ready["documents"] == SAMPLE_DOCUMENTS + len(done)
    result = subprocess.run(
        [*KOTAE, "status", "--kb", str(path)],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"documents       {SAMPLE_DOCUMENTS + len(done)}" in result.stdout
    return done


def test_sigterm_stops_an_ingestion_job_at_a_document_boundary(
    service_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    template, keys = service_template
    path = copy_kb(template, tmp_path, "")
    log_file = tmp_path / "server.log"
    job_id, names, stopped = start_and_interrupt_a_job(path, keys["aoki"], log_file)
    assert stopped < STOP_WITHIN_S
    # it stopped at a boundary: what it started it finished, the rest it never began
    done = check_after_restart(path, keys["aoki"], log_file, job_id, names, {"cancelled"})
    assert len(done) < len(names)


def test_a_stop_finishes_the_document_in_progress_whatever_the_timeout(
    service_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """[server] shutdown_timeout_s bounds the wait for requests, not for the document being
    written: far below one document, the job still stops at a document boundary (a writer
    abandoned mid-document could commit it unreported: re-uploaded, it would be twice)."""
    template, keys = service_template
    path = copy_kb(template, tmp_path, "")
    toml = path / "kotae.toml"
    toml.write_text(toml.read_text("utf-8") + "shutdown_timeout_s = 0.01\n", "utf-8")
    log_file = tmp_path / "server.log"
    job_id, names, _ = start_and_interrupt_a_job(path, keys["aoki"], log_file)
    check_after_restart(path, keys["aoki"], log_file, job_id, names, {"cancelled"})


# -- listening beyond loopback ----------------------------------------------------------
def test_serving_beyond_loopback_without_an_admin_key_is_refused(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    init_kb(kb).close()
    result = subprocess.run(
        [*KOTAE, "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--kb", str(kb)],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=120,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "kotae keys create" in result.stderr and "0.0.0.0" in result.stderr
    assert result.stdout == ""


def test_check_bind_needs_a_valid_admin_key_beyond_loopback(tmp_path: Path) -> None:
    kb = init_kb(tmp_path / "kb")
    try:
        for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
            check_bind(host, kb)  # loopback: no key needed
        kb.set_user("rita", [])
        create_key(kb.catalog, "rita", name="reader")
        kb.set_user("aoki", [])
        set_role(kb.catalog, "aoki", "admin")
        for host in ("0.0.0.0", "::", "192.0.2.10"):
            with pytest.raises(ConfigError, match="kotae keys create"):
                check_bind(host, kb)  # a reader's key is not enough
        _, record = create_key(kb.catalog, "aoki", name="admin")
        check_bind("0.0.0.0", kb)
        check_bind("::", kb)
        revoke_key(kb.catalog, str(record.id))
        with pytest.raises(ConfigError):
            check_bind("0.0.0.0", kb)
    finally:
        kb.close()


def test_a_knowledge_base_with_an_admin_key_opens_for_serving(
    service_template: tuple[Path, dict[str, str]],
) -> None:
    """The session's knowledge base (admin aoki has a key) passes the check for 0.0.0.0."""
    template, _ = service_template
    with KnowledgeBase(template, sync=False) as kb:
        check_bind("0.0.0.0", kb)


def test_an_openai_generator_reads_the_servers_backend_timeout(tmp_path: Path) -> None:
    """[server] backend_timeout_s becomes the ``openai`` generator's ``timeout_s`` (unless
    [generator] sets its own): the server starts with such a generator."""
    from fastapi.testclient import TestClient

    from kotae.config import load_settings
    from kotae.server.app import create_app

    kb = tmp_path / "kb"
    init_kb(kb).close()
    config = kb / "kotae.toml"
    config.write_text(
        config.read_text("utf-8") + "\n[server]\nbackend_timeout_s = 7\n"
        '[generator]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n',
        "utf-8",
    )
    app = create_app(load_settings(config), kb, check=False)  # nothing listens on port 9
    with TestClient(app):
        generator = app.state.kotae.generator
        assert generator.name == "openai:m" and generator.options.timeout_s == 7
