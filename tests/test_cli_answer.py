"""`kotae ask`, `chat`, `log`, `models ping` and `config show` as a user runs them.

Real subprocesses and a real knowledge base. The generator is either the scripted fake
(configured in kotae.toml) or the OpenAI-compatible client talking to a small HTTP server
on 127.0.0.1 that behaves like the paid API's failure modes (unknown model, slow answer,
context overflow); the llama.cpp server itself is in tests/integration.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write
from tests.test_cli import kotae

POLICY = "# 経費精算規程\n\n## 申請期限\n\n経費の申請期限は、支出した月の翌月10日までとする。\n"
LEAVE = "# Leave policy\n\nEmployees get 20 days of paid leave per year.\n"
BOARD = "# 取締役会議事録\n\nSP-200の価格改定は来年4月に実施する。\n"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-answer")
    kb = root / "kb"
    assert kotae("init", str(kb)).returncode == 0
    docs = root / "docs"
    write(docs / "経費精算規程.md", POLICY)
    write(docs / "leave.md", LEAVE)
    assert kotae("ingest", str(docs), kb=kb).returncode == 0
    assert kotae("ingest", str(write(root / "b" / "議事録.md", BOARD)), "--acl", "exec", kb=kb)
    assert kotae("users", "add", "sato", "--groups", "exec", kb=kb).returncode == 0
    return kb


def with_generator(kb: Path, tmp_path: Path, generator_toml: str) -> Path:
    """A copy of ``kb`` whose kotae.toml configures ``generator_toml``."""
    import shutil

    copy = tmp_path / "kb"
    shutil.copytree(kb, copy)
    config = copy / "kotae.toml"
    config.write_text(config.read_text("utf-8") + "\n" + generator_toml, "utf-8")
    return copy


def test_ask_extractive_in_japanese_and_english(kb: Path) -> None:
    ja = kotae("ask", "経費の申請期限はいつ？", kb=kb)
    assert ja.returncode == 0, ja.stderr
    assert "翌月10日" in ja.stdout and "[1]" in ja.stdout
    assert "出典:" in ja.stdout and "経費精算規程" in ja.stdout
    assert "生成モデルが未設定" in ja.stderr
    en = kotae("ask", "How many days of paid leave?", "--json", kb=kb)
    assert en.returncode == 0, en.stderr
    data = json.loads(en.stdout)
    assert data["mode"] == "extractive" and data["language"] == "en"
    assert "20 days" in data["answer"] and data["citations"][0]["title"] == "Leave policy"
    assert data["log_id"] is not None


def test_ask_acl_and_no_evidence_exit_1(kb: Path) -> None:
    hidden = kotae("ask", "SP-200の価格改定はいつ？", kb=kb)
    assert hidden.returncode == 1
    assert "閲覧できる資料" in hidden.stdout and "4月" not in hidden.stdout
    seen = kotae("ask", "SP-200の価格改定はいつ？", "--as", "sato", kb=kb)
    assert seen.returncode == 0 and "来年4月" in seen.stdout


def test_ask_with_generator_streams_and_logs(kb: Path, tmp_path: Path) -> None:
    copy = with_generator(
        kb, tmp_path, '[generator]\nbackend = "fake"\nresponses = ["期限は翌月10日です [1]"]\n'
    )
    streamed = kotae("ask", "経費の申請期限は？", "--stream", kb=copy)
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout.startswith("期限は翌月10日です [1]\n")
    assert "[1] 経費精算規程" in streamed.stdout and "生成モデルが未設定" not in streamed.stderr
    logged = json.loads(kotae("log", "list", "--json", "--all", "--kind", "ask", kb=copy).stdout)
    assert logged[0]["status"] == "ok" and logged[0]["generator"] == "fake:fake"
    assert "first_token_ms" in logged[0]["timings"] and logged[0]["usage"]["prompt_tokens"] > 0
    shown = kotae("log", "show", str(logged[0]["id"]), "--all", kb=copy)
    assert shown.returncode == 0 and "期限は翌月10日です" in shown.stdout
    assert kotae("log", "show", "99999", kb=copy).returncode == 2
    # --generator none turns the configured generator off for one call
    plain = kotae("ask", "経費の申請期限は？", "--generator", "none", "--json", kb=copy)
    assert json.loads(plain.stdout)["mode"] == "extractive"


def test_ask_errors(kb: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    assert kotae("init", str(empty)).returncode == 0
    result = kotae("ask", "経費の申請期限は？", kb=empty)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("kotae: エラー: ナレッジベース")
        and "kotae ingest" in result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1
    english = kotae("ask", "What is the deadline?", kb=empty)
    assert english.returncode == 2 and "is empty" in english.stderr
    assert kotae("ask", "   ", kb=kb).returncode == 2
    assert kotae("ask", "x", "--stream", "--json", kb=kb).returncode == 2
    unknown = kotae("ask", "期限は？", "--generator", "nope", kb=kb)
    assert unknown.returncode == 2 and "バックエンド 'nope' はありません" in unknown.stderr


def test_chat_rewrites_followups(kb: Path) -> None:
    import subprocess
    import sys

    chat = subprocess.run(
        [sys.executable, "-m", "kotae.cli.main", "chat", "--json", "--kb", str(kb)],
        input="経費の申請期限は？\n過ぎたら？\n/reset\n有給休暇\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stderr
    turns = [json.loads(line) for line in chat.stdout.splitlines()]
    assert [t["query"] for t in turns] == [
        "経費の申請期限は？",
        "経費の申請期限は？ 過ぎたら？",
        "有給休暇",
    ]
    logged = json.loads(kotae("log", "list", "--json", "--kind", "chat", kb=kb).stdout)
    sessions = [e["session"] for e in reversed(logged[:3])]
    assert sessions[0] == sessions[1] != sessions[2]


def test_config_show_hides_secrets_and_reads_the_environment(kb: Path) -> None:
    env = {
        "KOTAE_GENERATOR__BACKEND": "openai",
        "KOTAE_GENERATOR__BASE_URL": "http://user:hunter2@127.0.0.1:9/v1",
        "KOTAE_GENERATOR__API_KEY_ENV": "MY_KEY",
        "KOTAE_GENERATOR__API_KEY": "sk-should-not-be-here",
    }
    shown = kotae("config", "show", "--json", kb=kb, env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["generator"]["backend"] == "openai"
    assert data["generator"]["api_key_env"] == "MY_KEY"
    assert data["generator"]["api_key"] == "***"
    assert "hunter2" not in shown.stdout and "sk-should" not in shown.stdout
    assert data["answer"]["sources"] == 5 and data["query_log"] is True
    text = kotae("config", "show", kb=kb, env=env)
    assert "[generator]" in text.stdout and "hunter2" not in text.stdout


class FakeOpenAI(BaseHTTPRequestHandler):
    """An OpenAI-compatible server's failure modes, by model name."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "served", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body["model"]
        if model == "slow":
            time.sleep(3)
        if model == "small":
            message = "This model's maximum context length is 64 tokens."
            self._send(400, {"error": {"message": message, "code": "context_length_exceeded"}})
            return
        if model not in {"served", "slow"}:
            message = f"The model `{model}` does not exist."
            self._send(404, {"error": {"message": message, "code": "model_not_found"}})
            return
        self._send(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "翌月10日です [1]"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 6, "total_tokens": 56},
            },
        )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_generator_failures_give_one_line_in_the_question_language(
    kb: Path, tmp_path: Path, server: str
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    base = ["--generator", "openai"]
    cases = {
        "unreachable": (["--base-url", f"http://127.0.0.1:{closed_port}/v1", "--model", "x"], 3),
        "model": (["--base-url", server, "--model", "missing-model"], 3),
        # the sources were packed to fit: what the server refuses is the question (bad input)
        "overflow": (["--base-url", server, "--model", "small"], 2),
    }
    for name, (flags, code) in cases.items():
        result = kotae(
            "ask",
            "経費の申請期限は？",
            *base,
            *flags,
            kb=kb,
            env={"KOTAE_GENERATOR__MAX_RETRIES": "0"},
        )
        assert result.returncode == code, (name, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kotae: エラー: "), (name, lines)
        assert any("\u3040" <= ch <= "\u30ff" for ch in lines[0]), (name, lines)  # Japanese
    assert (
        "missing-model"
        in kotae(
            "ask",
            "How many days of paid leave?",
            *base,
            "--base-url",
            server,
            "--model",
            "missing-model",
            kb=kb,
        ).stderr
    )
    timeout = kotae(
        "ask",
        "経費の申請期限は？",
        *base,
        "--base-url",
        server,
        "--model",
        "slow",
        kb=kb,
        env={"KOTAE_GENERATOR__TIMEOUT_S": "0.5", "KOTAE_GENERATOR__MAX_RETRIES": "0"},
    )
    assert timeout.returncode == 3 and "timeout_s" in timeout.stderr
    ok = kotae("ask", "経費の申請期限は？", *base, "--base-url", server, "--model", "served", kb=kb)
    assert ok.returncode == 0, ok.stderr
    assert "翌月10日です [1]" in ok.stdout
    logged = json.loads(
        kotae("log", "list", "--json", "--all", "-n", "6", "--kind", "ask", kb=kb).stdout
    )
    assert [e["status"] for e in logged[:6]] == ["ok", "error", "error", "error", "error", "error"]
    assert all(e["error"] for e in logged[1:6])


def test_a_question_too_long_for_the_window_is_bad_input(kb: Path) -> None:
    window = {"KOTAE_GENERATOR__CONTEXT_WINDOW": "1200"}
    fits = kotae("ask", "経費の申請期限は？", "--generator", "fake", kb=kb, env=window)
    assert fits.returncode == 0, fits.stderr
    for question, words in (
        ("経費の申請期限は？" * 400, "コンテキスト長 1200"),
        ("How many days of paid leave? " * 110, "Shorten the question"),
    ):
        result = kotae("ask", question, "--generator", "fake", kb=kb, env=window)
        assert result.returncode == 2, result.stderr  # bad input, not a backend failure (3)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kotae: ") and words in lines[0]
        assert result.stdout == ""


def test_models_ping(kb: Path, server: str) -> None:
    none = kotae("models", "ping", kb=kb)
    assert none.returncode == 2 and "no generator configured" in none.stderr
    ok = kotae(
        "models",
        "ping",
        "--generator",
        "openai",
        "--base-url",
        server,
        "--model",
        "served",
        "--json",
        kb=kb,
    )
    assert ok.returncode == 0, ok.stderr
    info = json.loads(ok.stdout)
    assert info["model"] == "served" and info["latency_ms"] >= 0
    missing = kotae(
        "models", "ping", "--generator", "openai", "--base-url", server, "--model", "gpt-5", kb=kb
    )
    assert missing.returncode == 3 and "gpt-5" in missing.stderr
