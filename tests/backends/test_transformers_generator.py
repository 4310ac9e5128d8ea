"""The transformers generator with a real (tiny, random-weight) Llama built in tmp_path."""

from __future__ import annotations

import shutil
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from kotae.backends.generators import Completion, GenerationParams, Message, create_generator
from kotae.backends.transformers_generator import (
    StopFilter,
    TransformersGenerator,
    TransformersGeneratorOptions,
    cut_at_stop,
)
from kotae.errors import ConfigError, ContextOverflowError
from kotae.tiny_models import build_tiny_llama

MESSAGES = [
    Message("system", "社内規程に基づいて答えてください。"),
    Message("user", "経費精算の期限は？"),
]
# What the tiny model's chat template renders for MESSAGES
TEMPLATED = (
    "<|system|>\n社内規程に基づいて答えてください。</s>\n"
    "<|user|>\n経費精算の期限は？</s>\n"
    "<|assistant|>\n"
)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="module")
def generator(tiny_llama: Path) -> Iterator[TransformersGenerator]:
    gen = TransformersGenerator(TransformersGeneratorOptions(model_path=str(tiny_llama)))
    yield gen
    gen.close()


@pytest.fixture(scope="module")
def greedy(generator: TransformersGenerator) -> Completion:
    return generator.generate(MESSAGES, GenerationParams(max_tokens=24))


def _split(items: list[str | Completion]) -> tuple[list[str], Completion]:
    *deltas, final = items
    assert isinstance(final, Completion)
    assert all(isinstance(delta, str) and delta for delta in deltas)
    return [str(d) for d in deltas], final


def test_the_tiny_model_has_the_standard_layout(tiny_llama: Path) -> None:
    names = {path.name for path in tiny_llama.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names


def test_greedy_generate_and_stream_agree(
    generator: TransformersGenerator, greedy: Completion
) -> None:
    deltas, final = _split(list(generator.stream(MESSAGES, GenerationParams(max_tokens=24))))

    assert greedy.text  # gibberish from random weights, but not nothing
    assert "".join(deltas) == final.text == greedy.text
    assert len(deltas) > 1  # streamed piece by piece, not in one go
    assert final.usage == greedy.usage
    assert greedy.usage is not None
    assert greedy.usage.prompt_tokens == generator.count_tokens(TEMPLATED)  # chat template
    assert 0 < greedy.usage.completion_tokens <= 24
    assert final.finish_reason == greedy.finish_reason
    assert greedy.finish_reason in ("stop", "length")
    assert 0 < final.timings["first_token_ms"] <= final.timings["total_ms"]
    assert greedy.timings["total_ms"] > 0
    assert greedy.model == str(generator.model_dir)
    assert generator.name == f"transformers:{generator.model_dir}"


def test_a_stop_string_cuts_both_generate_and_stream(
    generator: TransformersGenerator, greedy: Completion
) -> None:
    stop = greedy.text[len(greedy.text) // 2 :][:2]  # two characters from the middle
    expected = greedy.text[: greedy.text.find(stop)]
    params = GenerationParams(max_tokens=24, stop=("never-appears", stop))

    cut = generator.generate(MESSAGES, params)
    deltas, final = _split(list(generator.stream(MESSAGES, params)))

    assert cut.text == expected
    assert "".join(deltas) == final.text == expected
    assert cut.finish_reason == final.finish_reason == "stop"


def test_sampling_with_a_seed_is_reproducible(generator: TransformersGenerator) -> None:
    params = GenerationParams(max_tokens=12, temperature=0.9, seed=3)
    first = generator.generate(MESSAGES, params)
    second = generator.generate(MESSAGES, params)
    assert first.text == second.text
    assert first.usage == second.usage


def test_closing_a_stream_early_stops_the_generation_thread(
    generator: TransformersGenerator,
) -> None:
    stream = generator.stream(MESSAGES, GenerationParams(max_tokens=200))
    assert isinstance(stream, types.GeneratorType)
    assert isinstance(next(stream), str)
    stream.close()
    alive = [t for t in threading.enumerate() if t.name == "kotae-transformers-stream"]
    assert alive == []


def test_context_window_comes_from_the_config_or_the_option(
    generator: TransformersGenerator, tiny_llama: Path
) -> None:
    assert generator.context_window == 2048  # max_position_embeddings
    limited = create_generator("transformers", {"model_path": str(tiny_llama), "max_context": 64})
    assert limited.context_window == 64


def test_a_prompt_longer_than_the_window_is_a_context_overflow(tiny_llama: Path) -> None:
    limited = create_generator("transformers", {"model_path": str(tiny_llama), "max_context": 64})
    long_question = [Message("user", "経費精算の申請期限は毎月末です。" * 100)]
    with pytest.raises(ContextOverflowError) as caught:
        limited.generate(long_question)
    assert "context window of transformers model" in str(caught.value)
    assert "コンテキスト長(64 トークン)を超えています" in (caught.value.message_ja or "")
    with pytest.raises(ContextOverflowError):
        list(limited.stream(long_question))


def test_max_tokens_is_lowered_to_what_fits(
    generator: TransformersGenerator, tiny_llama: Path
) -> None:
    prompt_tokens = generator.count_tokens(TEMPLATED)
    snug = create_generator(
        "transformers", {"model_path": str(tiny_llama), "max_context": prompt_tokens + 3}
    )
    completion = snug.generate(MESSAGES, GenerationParams(max_tokens=50))
    assert completion.usage is not None
    assert completion.usage.completion_tokens <= 3


def test_without_a_chat_template_the_prompt_is_a_plain_transcript(
    tiny_llama: Path, tmp_path: Path, generator: TransformersGenerator
) -> None:
    bare = shutil.copytree(tiny_llama, tmp_path / "bare")
    (bare / "chat_template.jinja").unlink()
    completion = create_generator("transformers", {"model_path": str(bare)}).generate(
        MESSAGES, GenerationParams(max_tokens=4)
    )
    transcript = "system: 社内規程に基づいて答えてください。\nuser: 経費精算の期限は？\nassistant: "
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == generator.count_tokens(transcript)


def test_ping_loads_and_answers(generator: TransformersGenerator) -> None:
    report = generator.ping()
    assert report["backend"] == "transformers"
    assert report["model"] == str(generator.model_dir)
    assert report["device"] == "cpu"
    assert report["context_window"] == 2048
    assert report["latency_ms"] > 0


def test_a_missing_folder_or_a_hub_id_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found.*never downloads"):
        create_generator("transformers", {"model_path": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="Hugging Face hub id"):
        create_generator("transformers", {"model_path": "Qwen/Qwen2.5-0.5B-Instruct"})
    with pytest.raises(ConfigError, match="dtype"):
        create_generator("transformers", {"model_path": str(tmp_path), "dtype": "int3"})


def test_a_missing_extra_names_the_install_command(
    tiny_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = create_generator("transformers", {"model_path": str(tiny_llama)})
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ConfigError, match=r"pip install 'kotae\[transformers\]'"):
        fresh.count_tokens("経費")


def test_cut_at_stop_and_the_stop_filter() -> None:
    assert cut_at_stop("経費精算。以上", ("。", "以")) == ("経費精算", True)
    assert cut_at_stop("経費精算", ("。",)) == ("経費精算", False)
    stop_filter = StopFilter(("END",))
    emitted = [stop_filter.feed(piece) for piece in ["ab", "cE", "N", "xEND", "more"]]
    # the last two characters wait: they may start "END"
    assert emitted == ["", "ab", "c", "ENx", ""]
    assert stop_filter.stopped and stop_filter.flush() == ""
    open_filter = StopFilter(("END",))
    assert open_filter.feed("abEN") == "ab"
    assert open_filter.flush() == "EN"
