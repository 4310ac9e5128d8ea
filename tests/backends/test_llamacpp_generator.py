"""The llamacpp generator: a GGUF model in-process through llama-cpp-python.

The tests that load a model need llama-cpp-python (built from source by
``make test-integration``) and the ``tiny_gguf`` fixture of ``tests/conftest.py`` (the
tiny random Llama of :func:`kotae.tiny_models.build_tiny_llama`, converted to GGUF); they
are marked ``integration``. The others run everywhere, without the library.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from kotae.backends.generators import Completion, GenerationParams, Message, create_generator
from kotae.backends.llamacpp import LlamaCppGenerator, LlamaCppGeneratorOptions
from kotae.errors import BackendError, ConfigError, ContextOverflowError

MESSAGES = [
    Message("system", "社内規程に基づいて答えてください。"),
    Message("user", "経費精算の期限は？"),
]
N_CTX = 512


@pytest.fixture
def fake_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF not really")
    return path


@pytest.fixture
def generator(request: pytest.FixtureRequest) -> Iterator[LlamaCppGenerator]:
    tiny_gguf: Path = request.getfixturevalue("tiny_gguf")  # fails or skips without llama_cpp
    pytest.importorskip("llama_cpp")
    gen = LlamaCppGenerator(
        LlamaCppGeneratorOptions(model_path=str(tiny_gguf), n_ctx=N_CTX, n_threads=2)
    )
    yield gen
    gen.close()


def _split(items: list[str | Completion]) -> tuple[list[str], Completion]:
    *deltas, final = items
    assert isinstance(final, Completion)
    assert all(isinstance(delta, str) and delta for delta in deltas)
    return [str(d) for d in deltas], final


def _is_subsequence(short: str, long: str) -> bool:
    remaining = iter(long)
    return all(char in remaining for char in short)


# -- without llama-cpp-python ---------------------------------------------------------------


def test_a_missing_extra_names_the_install_command(
    fake_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = create_generator("llamacpp", {"model_path": str(fake_gguf)})
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigError, match=r"pip install 'kotae\[llamacpp\]'"):
        generator.generate(MESSAGES)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not a file: it must be a local \.gguf file"):
        create_generator("llamacpp", {"model_path": str(tmp_path / "missing.gguf")})
    with pytest.raises(ConfigError, match="n_ctx"):
        create_generator("llamacpp", {"model_path": str(tmp_path), "n_ctx": 0})


def test_options_and_names_before_anything_is_loaded(fake_gguf: Path) -> None:
    generator = create_generator("llamacpp", {"model_path": str(fake_gguf), "n_ctx": 2048})
    assert generator.context_window == 2048
    assert generator.model == str(fake_gguf.resolve())
    assert generator.name == f"llamacpp:{fake_gguf.resolve()}"


def test_llama_cpps_own_overflow_error_is_a_context_overflow(fake_gguf: Path) -> None:
    generator = LlamaCppGenerator(LlamaCppGeneratorOptions(model_path=str(fake_gguf), n_ctx=512))
    error = generator._call_error(ValueError("Requested tokens (600) exceed context window of 512"))
    assert isinstance(error, ContextOverflowError)
    assert "512-token context window (n_ctx)" in str(error)
    assert "コンテキスト長(512 トークン)" in (error.message_ja or "")
    other = generator._call_error(RuntimeError("llama_decode returned -3"))
    assert type(other) is BackendError and "llama_decode returned -3" in str(other)


# -- with llama-cpp-python and the tiny GGUF --------------------------------------------------


@pytest.mark.integration
def test_greedy_generate_and_stream_agree(generator: LlamaCppGenerator) -> None:
    params = GenerationParams(max_tokens=16)
    completion = generator.generate(MESSAGES, params)
    deltas, final = _split(list(generator.stream(MESSAGES, params)))

    assert completion.text  # gibberish from random weights, but not nothing
    assert "".join(deltas) == final.text
    # Random weights emit stray UTF-8 bytes; llama-cpp-python's stream skips what they
    # garble while the whole-text decode may recombine it, so the streamed text is the
    # plain one with at most some characters missing (equal for valid UTF-8 output).
    assert _is_subsequence(final.text, completion.text)
    assert final.text[:4] == completion.text[:4]
    assert completion.usage is not None and final.usage is not None
    # the stream's prompt count (the GGUF's template, rendered by kotae) matches llama.cpp's
    assert final.usage.prompt_tokens == completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert final.usage.completion_tokens > 0
    assert completion.finish_reason in ("stop", "length")
    assert final.finish_reason == completion.finish_reason
    assert 0 < final.timings["first_token_ms"] <= final.timings["total_ms"]


@pytest.mark.integration
def test_the_ggufs_chat_template_is_used(generator: LlamaCppGenerator) -> None:
    report = generator.ping()
    assert report["backend"] == "llamacpp"
    assert report["chat_format"] == "chat_template.default"
    assert report["context_window"] == N_CTX
    assert report["latency_ms"] > 0


@pytest.mark.integration
def test_count_tokens_uses_the_models_tokenizer(generator: LlamaCppGenerator) -> None:
    assert generator.count_tokens("") == 0
    assert 0 < generator.count_tokens("経費精算の申請期限") <= len("経費精算の申請期限".encode())


@pytest.mark.integration
def test_a_prompt_longer_than_n_ctx_is_a_context_overflow(generator: LlamaCppGenerator) -> None:
    long_question = [Message("user", "経費精算の申請期限は毎月末です。" * 400)]
    with pytest.raises(ContextOverflowError, match=f"{N_CTX}-token context window"):
        generator.generate(long_question)
    with pytest.raises(ContextOverflowError):
        list(generator.stream(long_question))


@pytest.mark.integration
def test_closing_a_stream_early_frees_the_model_for_the_next_call(
    generator: LlamaCppGenerator,
) -> None:
    stream = generator.stream(MESSAGES, GenerationParams(max_tokens=64))
    assert isinstance(stream, types.GeneratorType)
    assert isinstance(next(stream), str)
    stream.close()
    assert not generator._call_lock.locked()
    completion = generator.generate(MESSAGES, GenerationParams(max_tokens=4))
    assert completion.usage is not None and 0 < completion.usage.completion_tokens <= 4
