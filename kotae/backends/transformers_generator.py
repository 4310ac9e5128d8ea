"""The ``"transformers"`` generator: a Hugging Face causal LM from a local folder, in-process.

kotae never downloads models (``local_files_only=True``). Get one onto the machine first,
for example::

    huggingface-cli download Qwen/Qwen2.5-0.5B-Instruct --local-dir ./models/qwen2.5-0.5b

and configure ``{"model_path": "./models/qwen2.5-0.5b"}``. The libraries
(``pip install 'kotae[transformers]'``: transformers and torch) are imported, and the model
loaded, on first use, once. Prompts are built with the tokenizer's chat template (a plain
``role: content`` transcript when it has none). ``temperature=0`` decodes greedily.
Fine for small models and tests; serve larger ones with vLLM or llama.cpp instead.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kotae.backends.generators import Completion, GenerationParams, Message, StreamItem, Usage
from kotae.backends.registry import parse_options
from kotae.backends.sentence_transformers import resolve_local_model_dir
from kotae.errors import BackendError, ConfigError, ContextOverflowError

GENERATOR_EXAMPLE = "Qwen/Qwen2.5-0.5B-Instruct"


class TransformersGeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: str = Field(min_length=1, description="a local folder holding the model")
    device: str = "cpu"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_context: int | None = Field(
        default=None, gt=0, description="context window; default: max_position_embeddings"
    )


def import_transformers() -> tuple[Any, Any]:
    """``(transformers, torch)``; ConfigError naming the extra when they are missing."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ConfigError(
            "the transformers generator needs the 'transformers' and 'torch' packages: "
            "pip install 'kotae[transformers]'"
        ) from exc
    # No progress bars on stderr: the CLI's errors must stay one line.
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return transformers, torch


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first of ``stops`` (excluded, as OpenAI does), and whether one
    was found."""
    found = [i for i in (text.find(stop) for stop in stops if stop) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


@dataclass
class StopFilter:
    """Streams text pieces cut before the first stop string.

    Holds back the last ``len(longest stop) - 1`` characters until they can no longer
    start a stop string, so that no part of one is ever emitted.
    """

    stops: tuple[str, ...]
    text: str = ""
    sent: int = 0
    stopped: bool = False

    def feed(self, piece: str) -> str:
        """The text that may be emitted now that ``piece`` arrived."""
        if self.stopped:
            return ""
        self.text += piece
        found = [i for i in (self.text.find(s, self.sent) for s in self.stops if s) if i >= 0]
        if found:
            self.stopped = True
            end = min(found)
        else:
            hold = max((len(stop) for stop in self.stops), default=1) - 1
            end = max(self.sent, len(self.text) - hold)
        emitted, self.sent = self.text[self.sent : end], end
        return emitted

    def flush(self) -> str:
        """What was held back, once the text is complete."""
        if self.stopped:
            return ""
        emitted, self.sent = self.text[self.sent :], len(self.text)
        return emitted


class TransformersGenerator:
    """Generates with a causal LM loaded from ``model_path`` (lazy, once, thread-safe).

    ``context_window`` is ``max_context`` when set, else the model config's
    ``max_position_embeddings``. A prompt that leaves no room for an answer raises
    :class:`~kotae.errors.ContextOverflowError`; ``max_tokens`` is lowered to what fits.
    ``seed`` seeds torch's global generator before sampling.
    """

    def __init__(self, options: TransformersGeneratorOptions) -> None:
        self.options = options
        self.model_dir = resolve_local_model_dir(
            options.model_path, "transformers", GENERATOR_EXAMPLE
        )
        self.model = str(self.model_dir)
        self.name = f"transformers:{self.model_dir}"
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None

    # -- the Generator protocol ------------------------------------------------------------

    @property
    def context_window(self) -> int | None:
        if self.options.max_context is not None:
            return self.options.max_context
        config = self._load_model().config
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        window = getattr(text_config, "max_position_embeddings", None)
        return int(window) if isinstance(window, int) else None

    def count_tokens(self, text: str) -> int:
        return len(self._load_tokenizer()(text, add_special_tokens=False)["input_ids"])

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Completion:
        params = params or GenerationParams()
        start = time.perf_counter()
        prompt_ids, kwargs = self._prepare(messages, params)
        try:
            output = self._load_model().generate(**kwargs)
        except Exception as exc:
            raise self._failed(exc) from exc
        new_ids = output[0, len(prompt_ids) :].tolist()
        raw = self._load_tokenizer().decode(new_ids, skip_special_tokens=True)
        text, stopped = cut_at_stop(raw, params.stop)
        return Completion(
            text=text,
            model=self.model,
            usage=Usage(prompt_tokens=len(prompt_ids), completion_tokens=len(new_ids)),
            finish_reason=self._finish_reason(new_ids, kwargs["max_new_tokens"], stopped),
            timings={"total_ms": _ms_since(start)},
        )

    def stream(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Iterator[StreamItem]:
        params = params or GenerationParams()
        start = time.perf_counter()
        prompt_ids, kwargs = self._prepare(messages, params)
        transformers, torch = import_transformers()
        model = self._load_model()
        streamer = transformers.TextIteratorStreamer(
            self._load_tokenizer(), skip_prompt=True, skip_special_tokens=True
        )
        cancelled = threading.Event()

        def stop_when_cancelled(input_ids: Any, scores: Any, **_: Any) -> Any:
            return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

        kwargs["streamer"] = streamer
        kwargs["stopping_criteria"] = transformers.StoppingCriteriaList([stop_when_cancelled])
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                result["output"] = model.generate(**kwargs)
            except Exception as exc:
                result["error"] = exc
                streamer.end()  # unblocks the reader below

        thread = threading.Thread(target=run, name="kotae-transformers-stream", daemon=True)
        thread.start()
        parts: list[str] = []
        first_token_ms: float | None = None
        stop_filter = StopFilter(params.stop)
        try:
            for piece in itertools.chain(streamer, [None]):  # None: flush what is held back
                delta = stop_filter.feed(piece) if piece is not None else stop_filter.flush()
                if delta:
                    if first_token_ms is None:
                        first_token_ms = _ms_since(start)
                    parts.append(delta)
                    yield delta
                if stop_filter.stopped:
                    break
        finally:
            cancelled.set()  # the reader stopped early (stop string, closed stream)
            thread.join()
        if "error" in result:
            raise self._failed(result["error"]) from result["error"]
        new_ids = result["output"][0, len(prompt_ids) :].tolist()
        text = "".join(parts)
        stopped = stop_filter.stopped
        timings = {"total_ms": _ms_since(start)}
        if first_token_ms is not None:
            timings["first_token_ms"] = first_token_ms
        yield Completion(
            text=text,
            model=self.model,
            usage=Usage(prompt_tokens=len(prompt_ids), completion_tokens=len(new_ids)),
            finish_reason=self._finish_reason(new_ids, kwargs["max_new_tokens"], stopped),
            timings=timings,
        )

    def ping(self) -> dict[str, Any]:
        """Load the model and generate one token: ``{"backend", "model", "device",
        "context_window", "latency_ms"}``."""
        probe = self.generate([Message("user", "ping")], GenerationParams(max_tokens=1))
        return {
            "backend": "transformers",
            "model": self.model,
            "device": self.options.device,
            "context_window": self.context_window,
            "latency_ms": probe.timings["total_ms"],
        }

    def close(self) -> None:
        """Drop the model and tokenizer (frees their memory; a later call reloads them)."""
        with self._lock:
            self._model = None
            self._tokenizer = None

    # -- loading -------------------------------------------------------------------------------

    def _load_tokenizer(self) -> Any:
        with self._lock:
            if self._tokenizer is None:
                transformers, _ = import_transformers()
                try:
                    self._tokenizer = transformers.AutoTokenizer.from_pretrained(
                        str(self.model_dir), local_files_only=True
                    )
                except Exception as exc:
                    raise self._load_error("tokenizer", exc) from exc
            return self._tokenizer

    def _load_model(self) -> Any:
        with self._lock:
            if self._model is None:
                transformers, torch = import_transformers()
                dtype = self.options.dtype
                try:
                    model = transformers.AutoModelForCausalLM.from_pretrained(
                        str(self.model_dir),
                        local_files_only=True,
                        dtype=dtype if dtype == "auto" else getattr(torch, dtype),
                    )
                    self._model = model.to(self.options.device).eval()
                except Exception as exc:
                    raise self._load_error("model", exc) from exc
            return self._model

    def _load_error(self, what: str, exc: Exception) -> BackendError:
        return BackendError(
            f"could not load the transformers {what} from {self.model_dir}: "
            f"{type(exc).__name__}: {exc}. Check that the folder holds a complete causal "
            "language model (config.json, weights, tokenizer files).",
            message_ja=f"{self.model_dir} からモデルを読み込めませんでした。"
            "フォルダーにモデル一式(config.json、重み、トークナイザー)があるか確認してください。",
        )

    # -- generation ------------------------------------------------------------------------------

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        tokenizer = self._load_tokenizer()
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(
                [message.to_dict() for message in messages],
                add_generation_prompt=True,
                tokenize=False,
            )
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            transcript = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant: "
            ids = tokenizer(transcript)["input_ids"]
        return list(ids)

    def _prepare(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> tuple[list[int], dict[str, Any]]:
        """The prompt's token ids and the keyword arguments of ``model.generate``."""
        _, torch = import_transformers()
        prompt_ids = self._prompt_ids(messages)
        window = self.context_window
        max_new_tokens = params.max_tokens
        if window is not None:
            if len(prompt_ids) >= window:
                raise self._overflow(len(prompt_ids), window)
            max_new_tokens = min(max_new_tokens, window - len(prompt_ids))
        model = self._load_model()
        tokenizer = self._load_tokenizer()
        input_ids = torch.tensor([prompt_ids], device=model.device)
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": max_new_tokens,
            "pad_token_id": tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        else:
            # greedy; clear the model's own sampling defaults so that none applies
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        return prompt_ids, kwargs

    def _finish_reason(self, new_ids: list[int], max_new_tokens: int, stopped: bool) -> str:
        if stopped:
            return "stop"
        eos = self._load_model().generation_config.eos_token_id
        eos_ids = set(eos) if isinstance(eos, list) else {eos}
        if new_ids and new_ids[-1] in eos_ids:
            return "stop"
        return "length" if len(new_ids) >= max_new_tokens else "stop"

    def _overflow(self, prompt_tokens: int, window: int) -> ContextOverflowError:
        return ContextOverflowError(
            f"the prompt has {prompt_tokens} tokens, which leaves no room for an answer in "
            f"the {window}-token context window of transformers model {self.model_dir}. "
            "Retrieve fewer or shorter passages, or raise max_context if the model supports "
            "a longer context.",
            message_ja=f"プロンプトが {prompt_tokens} トークンあり、モデル {self.model_dir} の"
            f"コンテキスト長({window} トークン)を超えています。検索結果の件数や長さを減らして"
            "ください。",
        )

    def _failed(self, exc: BaseException) -> BackendError:
        return BackendError(
            f"transformers model {self.model_dir} failed to generate: {type(exc).__name__}: {exc}",
            message_ja=f"モデル {self.model_dir} で回答の生成に失敗しました。",
        )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def create_transformers_generator(options: Mapping[str, Any]) -> TransformersGenerator:
    """Registry factory for ``create_generator("transformers", {...})``."""
    return TransformersGenerator(
        parse_options(TransformersGeneratorOptions, options, "transformers")
    )
