"""kotae against a real llama.cpp server: llama-cpp-python's OpenAI-compatible server on
127.0.0.1 serving a tiny random Llama converted to GGUF (nothing is downloaded).

The model's weights are random, so its text is gibberish; what is checked is everything
around it: the HTTP protocol, streaming, token usage, timings, typed errors, the query log
and the CLI as a user runs it. Decoding is greedy (temperature 0, kotae's default), so the
gibberish is reproducible: a plain and a streamed generation give the same text, except
where the model emits stray UTF-8 bytes, which the server decodes differently when
streaming.

What llama-cpp-python 0.3.36's server does, as these tests found it:

- it answers a chat for ANY model name with its one model (and echoes the name), so only
  ``ping``, which reads ``GET /v1/models``, can tell that a configured name is wrong;
- a prompt longer than ``n_ctx`` gets HTTP 400 ``context_length_exceeded`` when not
  streamed, but when streamed a 200 whose event stream closes without a single event;
- it reports no token usage when streaming (``stream_options`` is ignored), and no context
  window in ``GET /v1/models``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from kotae.answer import SAFETY_TOKENS
from kotae.backends.generators import Completion, GenerationParams, Message, create_generator
from kotae.backends.openai_generator import OpenAIGenerator
from kotae.errors import BackendError, ContextOverflowError, ModelNotFoundError
from kotae.privacy import mask_pii
from kotae.tiny_models import TINY_CHAT_TEMPLATE
from tests.conftest import write
from tests.integration.conftest import MODEL_ALIAS, N_CTX
from tests.test_cli import kotae

if os.environ.get("KOTAE_REQUIRE_INTEGRATION"):  # make test-integration: no silent skip
    import llama_cpp  # noqa: F401
else:
    pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.integration

QUESTION_JA = "経費の申請期限はいつ？"
QUESTION_EN = "How many days of paid leave do employees get?"
GENERATOR_NAME = f"openai:{MODEL_ALIAS}"
ANSWER_MAX_TOKENS = 48  # [answer] max_tokens of the CLI asks
STAGE_TIMINGS = {"retrieve_ms", "prompt_ms", "generate_ms", "total_ms", "kotae_ms"}
# Far longer than N_CTX tokens of the tiny tokenizer (most kanji cost 2-3 byte tokens).
LONG_PROMPT = "出張旅費の精算には領収書の原本が必要です。" * 300
# A rulebook whose retrieved chunks together do not fit N_CTX either.
LONG_RULES = "# 出張旅費規程\n\n" + "".join(
    f"第{n}条 出張旅費の精算は、帰着後{n}日以内に領収書を添えて申請する。\n" for n in range(1, 200)
)


def openai_generator(base_url: str, model: str = MODEL_ALIAS) -> OpenAIGenerator:
    backend = create_generator("openai", {"base_url": base_url, "model": model})
    assert isinstance(backend, OpenAIGenerator)
    return backend


@pytest.fixture
def generator(llama_server: str) -> Iterator[OpenAIGenerator]:
    with openai_generator(llama_server) as backend:
        yield backend


def chat(content: str) -> list[Message]:
    return [Message("user", content)]


def tokenizer_file(tiny_gguf: Path) -> Path:
    return tiny_gguf.parent / "hf" / "tokenizer.json"


def count_tokens(tiny_gguf: Path, text: str) -> int:
    from tokenizers import Tokenizer

    return len(Tokenizer.from_file(str(tokenizer_file(tiny_gguf))).encode(text).ids)


def ask(
    kb: Path, server: str, question: str, *flags: str, env: dict[str, str] | None = None
) -> CompletedProcess[str]:
    """``kotae ask`` in a subprocess, answered by the tiny model on ``server`` with an
    answer budget of :data:`ANSWER_MAX_TOKENS` (a random model rarely stops by itself), and
    no evidence threshold: these tests are about the protocol, the model is always asked."""
    served = ["--generator", "openai", "--base-url", server, "--model", MODEL_ALIAS]
    budget = {
        "KOTAE_ANSWER__MAX_TOKENS": str(ANSWER_MAX_TOKENS),
        "KOTAE_ANSWER__EVIDENCE_THRESHOLD": "0",
    }
    return kotae("ask", question, *served, *flags, kb=kb, env={**budget, **(env or {})})


def logged(kb: Path) -> list[dict[str, Any]]:
    """``kotae log list --json --all``: the logged asks, newest first, as an administrator."""
    listed = kotae("log", "list", "--json", "--all", kb=kb)
    assert listed.returncode == 0, listed.stderr
    entries: list[dict[str, Any]] = json.loads(listed.stdout)
    return entries


def as_printed(text: str) -> str:
    """``text`` as a text-mode subprocess reads it back: every CR or CRLF becomes LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def one_error_line(result: CompletedProcess[str]) -> str:
    """The one error line, in the question's language (``ask``) or the interface's."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("kotae: error: ", "kotae: エラー: ")), result.stderr
    return lines[0]


# -- the GGUF itself ---------------------------------------------------------------------------


def test_converted_gguf_keeps_the_model_and_its_tokenizer(tiny_gguf: Path) -> None:
    import gguf
    from tokenizers import Tokenizer

    fields = gguf.GGUFReader(tiny_gguf).fields
    config = json.loads((tiny_gguf.parent / "hf" / "config.json").read_text("utf-8"))

    def value(key: str) -> Any:
        return fields[key].contents()

    assert value("general.architecture") == "llama"
    assert value("llama.block_count") == config["num_hidden_layers"] == 2
    assert value("llama.embedding_length") == config["hidden_size"] == 64
    vocab = Tokenizer.from_file(str(tokenizer_file(tiny_gguf))).get_vocab_size()
    assert value("llama.vocab_size") == vocab == config["vocab_size"]
    assert value("tokenizer.ggml.pre") == "gpt-2"  # the converter's monkeypatch
    assert value("tokenizer.ggml.eos_token_id") == 2
    assert value("tokenizer.chat_template") == TINY_CHAT_TEMPLATE


# -- the "openai" generator against the server --------------------------------------------------


def test_generate_returns_text_usage_and_finish_reason(
    generator: OpenAIGenerator, tiny_gguf: Path
) -> None:
    content = "経費精算の申請期限は？"
    completion = generator.generate(chat(content), GenerationParams(max_tokens=16))
    assert completion.text.strip()
    assert completion.model == MODEL_ALIAS
    assert completion.finish_reason in {"stop", "length"}
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    # The server rendered the GGUF's chat template and counted it in the model's tokens.
    rendered = f"<|user|>\n{content}</s>\n<|assistant|>\n"
    assert completion.usage.prompt_tokens == count_tokens(tiny_gguf, rendered)
    assert completion.timings["total_ms"] > 0


def test_stream_yields_deltas_then_the_same_text_as_generate(
    generator: OpenAIGenerator,
) -> None:
    params = GenerationParams(max_tokens=24)
    question = chat("What is the travel expense policy?")
    *deltas, final = list(generator.stream(question, params))
    assert len(deltas) >= 2 and all(isinstance(d, str) and d for d in deltas)
    assert isinstance(final, Completion)
    assert "".join(str(d) for d in deltas) == final.text
    assert final.text == generator.generate(question, params).text  # greedy either way
    assert final.finish_reason in {"stop", "length"}
    # llama-cpp-python sends no usage when streaming: kotae counts (no tokenizer configured)
    assert final.usage is not None and final.usage.estimated
    assert final.usage.prompt_tokens > 0 and final.usage.completion_tokens > 0
    assert 0 < final.timings["first_token_ms"] <= final.timings["total_ms"]


def test_ping_reports_the_served_model(generator: OpenAIGenerator, llama_server: str) -> None:
    info = generator.ping()
    assert info["model"] == MODEL_ALIAS
    assert info["served_models"] == [MODEL_ALIAS]
    assert info["base_url"] == llama_server
    assert info["context_window"] is None  # the server does not report it
    assert info["latency_ms"] > 0


def test_an_unknown_model_is_served_anyway_but_ping_reports_it(llama_server: str) -> None:
    with openai_generator(llama_server, "no-such-model") as backend:
        completion = backend.generate(chat("hello"), GenerationParams(max_tokens=4))
        assert completion.text and completion.model == "no-such-model"
        with pytest.raises(ModelNotFoundError) as caught:
            backend.ping()
    assert "does not serve model 'no-such-model'" in str(caught.value)
    assert f"It serves: {MODEL_ALIAS}." in str(caught.value)
    assert "モデル 'no-such-model' がありません" in (caught.value.message_ja or "")


def test_a_prompt_longer_than_the_context_is_a_context_overflow(
    generator: OpenAIGenerator,
) -> None:
    with pytest.raises(ContextOverflowError) as caught:
        generator.generate(chat(LONG_PROMPT), GenerationParams(max_tokens=8))
    assert f"maximum context length is {N_CTX} tokens" in str(caught.value)
    assert "コンテキスト長を超えています" in (caught.value.message_ja or "")
    # Streamed, the server closes the event stream without a word: still a typed error.
    with pytest.raises(BackendError) as streamed:
        list(generator.stream(chat(LONG_PROMPT), GenerationParams(max_tokens=8)))
    assert "stopped streaming after 0 characters" in str(streamed.value)


# -- kotae ask / log / models ping through the CLI -----------------------------------------------


@pytest.mark.parametrize(
    ("question", "language", "title"),
    [(QUESTION_JA, "ja", "経費精算規程"), (QUESTION_EN, "en", "Leave policy")],
)
def test_ask_json_and_stream_end_to_end_then_the_log(
    llama_server: str, ask_kb: Path, question: str, language: str, title: str
) -> None:
    plain = ask(ask_kb, llama_server, question, "--json")
    assert plain.returncode == 0, plain.stderr
    data = json.loads(plain.stdout)
    assert data["answer"] and data["answer"] == data["answer"].strip()
    assert (data["mode"], data["status"], data["language"]) == ("generate", "ok", language)
    assert data["generator"] == GENERATOR_NAME
    assert data["sources"][0]["title"] == title
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    timings = data["timings"]
    assert set(timings) >= STAGE_TIMINGS
    assert 0 < timings["generate_ms"] < timings["total_ms"]
    assert timings["kotae_ms"] == pytest.approx(timings["total_ms"] - timings["generate_ms"])

    streamed = ask(ask_kb, llama_server, question, "--stream")
    assert streamed.returncode == 0, streamed.stderr

    stream_entry, plain_entry = logged(ask_kb)
    for entry in (stream_entry, plain_entry):
        assert (entry["kind"], entry["status"], entry["mode"]) == ("ask", "ok", "generate")
        assert entry["generator"] == GENERATOR_NAME and entry["question"] == question
        assert entry["answer"] and entry["error"] is None
        assert set(entry["timings"]) >= STAGE_TIMINGS
        assert entry["prompt"][0]["role"] == "system" and question in entry["prompt"][1]["content"]
    # the log keeps the answer with personal data masked (a random model's text can look
    # like a name to the recognizer)
    assert plain_entry["answer"] == mask_pii(data["answer"])
    assert plain_entry["usage"] == usage and plain_entry["id"] == data["log_id"]
    # What was streamed is what was logged (not always the plain answer's text: stray bytes).
    # (kotae's cleaning ends a reply cut at max_tokens with "…", which was not streamed)
    logged_text = as_printed(stream_entry["answer"]).removesuffix("…")
    assert logged_text in streamed.stdout or logged_text in mask_pii(streamed.stdout)
    assert "first_token_ms" in stream_entry["timings"]
    # the server reports no usage when streaming: kotae's own count is logged, marked so
    assert stream_entry["usage"]["estimated"] is True
    assert stream_entry["usage"]["prompt_tokens"] > 0


def test_models_ping_through_the_cli(llama_server: str, ask_kb: Path) -> None:
    served = ["--generator", "openai", "--base-url", llama_server]
    pinged = kotae("models", "ping", *served, "--model", MODEL_ALIAS, "--json", kb=ask_kb)
    assert pinged.returncode == 0, pinged.stderr
    info = json.loads(pinged.stdout)
    assert (info["backend"], info["model"], info["base_url"]) == (
        "openai",
        MODEL_ALIAS,
        llama_server,
    )
    assert info["served_models"] == [MODEL_ALIAS] and info["latency_ms"] > 0
    wrong = kotae("models", "ping", *served, "--model", "no-such-model", "--json", kb=ask_kb)
    assert wrong.returncode == 3
    assert "does not serve model 'no-such-model'" in one_error_line(wrong)


def test_ask_a_stopped_server_exits_3_with_one_japanese_line(
    stopped_server_url: str, ask_kb: Path
) -> None:
    result = ask(ask_kb, stopped_server_url, QUESTION_JA)
    assert result.returncode == 3 and result.stdout == ""
    line = one_error_line(result)
    assert line.startswith("kotae: エラー: ")  # the error speaks the question's language
    assert f"生成サーバー {stopped_server_url}" in line and "に接続できません" in line
    (entry,) = logged(ask_kb)
    assert (entry["status"], entry["generator"]) == ("error", GENERATOR_NAME)
    assert entry["error"].startswith("BackendUnavailableError: ")
    assert "could not be reached after 3 attempts" in entry["error"]
    english = ask(ask_kb, stopped_server_url, QUESTION_EN)
    assert english.returncode == 3 and "could not be reached" in one_error_line(english)
    assert one_error_line(english).startswith("kotae: error: ")


def test_ask_packs_sources_into_the_window_or_reports_the_overflow(
    llama_server: str, tmp_path: Path, tiny_gguf: Path
) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    rules = write(tmp_path / "docs" / "出張旅費規程.md", LONG_RULES)
    assert kotae("ingest", str(rules), kb=kb).returncode == 0
    question = "出張旅費の精算の申請期限は？"

    # A window claimed larger than the server's: the server refuses the prompt.
    claimed = {"KOTAE_GENERATOR__CONTEXT_WINDOW": "100000"}
    refused = ask(kb, llama_server, question, env=claimed)
    assert refused.returncode == 2  # the sources were packed: the question is too long
    assert "コンテキスト長を超えています" in one_error_line(refused)
    assert logged(kb)[0]["error"].startswith("QuestionTooLongError: ")

    # A configured window and the model's tokenizer: kotae cuts the sources to fit. Half
    # of n_ctx keeps the prompt quick to evaluate; close to n_ctx, llama-cpp-python 0.3.36
    # can fail with HTTP 500 "llama_decode returned 1" once prompt + max_tokens reaches it.
    window = N_CTX // 2
    fitted_env = {
        "KOTAE_GENERATOR__CONTEXT_WINDOW": str(window),
        "KOTAE_GENERATOR__TOKENIZER": str(tokenizer_file(tiny_gguf)),
    }
    fitted = ask(kb, llama_server, question, "--json", env=fitted_env)
    assert fitted.returncode == 0, logged(kb)[0]["error"]
    data = json.loads(fitted.stdout)
    assert data["status"] == "ok" and data["sources"][0]["title"] == "出張旅費規程"
    assert 1 <= len(data["sources"]) < 5  # of the 5 retrieved, those that fit
    # The sources get what the window leaves after the answer budget, the counted messages
    # and SAFETY_TOKENS for the chat template's own tokens (here its role markers).
    budget = window - ANSWER_MAX_TOKENS - SAFETY_TOKENS
    template = count_tokens(tiny_gguf, "<|system|>\n</s>\n<|user|>\n</s>\n<|assistant|>\n")
    assert budget - 64 < data["usage"]["prompt_tokens"] <= budget + template < window
