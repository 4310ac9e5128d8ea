"""The ``"llamacpp"`` generator: a GGUF model in-process through llama-cpp-python.

kotae never downloads models. Get a GGUF file onto the machine first, for example::

    huggingface-cli download Qwen/Qwen2.5-1.5B-Instruct-GGUF \\
        qwen2.5-1.5b-instruct-q4_k_m.gguf --local-dir ./models

and configure ``{"model_path": "./models/qwen2.5-1.5b-instruct-q4_k_m.gguf"}``. The library
(``pip install 'kotae[llamacpp]'``; it compiles llama.cpp, about 11 minutes on 2 cores) is
imported, and the model loaded, on first use, once. Prompts are built with the GGUF's own
chat template unless ``chat_format`` names one of llama-cpp-python's formats.

A ``Llama`` object serves one call at a time: calls are serialized with a lock (a stream
holds it until it ends or is closed). For concurrent users, run llama.cpp's server and use
the ``"openai"`` generator instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kotae.backends.generators import Completion, GenerationParams, Message, StreamItem, Usage
from kotae.backends.registry import parse_options
from kotae.errors import BackendError, ConfigError, ContextOverflowError

GGUF_EXAMPLE = (
    "huggingface-cli download Qwen/Qwen2.5-1.5B-Instruct-GGUF "
    "qwen2.5-1.5b-instruct-q4_k_m.gguf --local-dir ./models"
)
# The ValueError llama-cpp-python raises for a prompt longer than n_ctx:
# "Requested tokens (600) exceed context window of 512"
_OVERFLOW_MESSAGE = "exceed context window"


class LlamaCppGeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: str = Field(min_length=1, description="a local .gguf file")
    n_ctx: int = Field(default=4096, gt=0, description="context window, tokens")
    n_threads: int | None = Field(default=None, gt=0)
    chat_format: str | None = Field(
        default=None, description="llama-cpp-python chat format; default: the GGUF's template"
    )
    n_gpu_layers: int = Field(default=0, ge=-1, description="-1: all layers on the GPU")
    seed: int | None = None


def import_llama_cpp() -> Any:
    """The ``llama_cpp`` module; ConfigError naming the extra when it is missing."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError(
            "the llamacpp generator needs llama-cpp-python: pip install 'kotae[llamacpp]' "
            "(it compiles llama.cpp from source, which takes minutes), or serve the model "
            "with llama.cpp's server and use the 'openai' generator"
        ) from exc
    return llama_cpp


class LlamaCppGenerator:
    """Generates with a GGUF model through ``llama_cpp.Llama`` (lazy, loaded once).

    ``context_window`` is ``n_ctx``. A prompt that leaves no room for an answer raises
    :class:`~kotae.errors.ContextOverflowError` (checked before the call, and mapped from
    llama-cpp-python's own error); ``max_tokens`` is lowered to what fits, as llama.cpp
    does. Streamed completions carry usage counted with the model's tokenizer: exact for
    the prompt when the GGUF's own chat template is used, else the tokens of the messages'
    contents (a lower bound).
    """

    def __init__(self, options: LlamaCppGeneratorOptions) -> None:
        self.options = options
        path = Path(options.model_path).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"llamacpp model_path {options.model_path!r} is not a file: it must be a "
                "local .gguf file (kotae never downloads models). Download one once on a "
                f"machine with internet access, e.g. `{GGUF_EXAMPLE}`, and set model_path "
                "to that file."
            )
        self.model_path = path.resolve()
        self.model = str(self.model_path)
        self.name = f"llamacpp:{self.model_path}"
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()
        self._llama: Any = None
        self._formatter: Any = None  # renders the GGUF's chat template, when it is the one used

    # -- the Generator protocol ------------------------------------------------------------

    @property
    def context_window(self) -> int:
        return self.options.n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Completion:
        params = params or GenerationParams()
        start = time.perf_counter()
        llama = self._load()
        self._check_fits(self._prompt_tokens(messages))
        with self._call_lock:
            try:
                response = llama.create_chat_completion(**self._arguments(messages, params))
            except Exception as exc:
                raise self._call_error(exc) from exc
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            model=self.model,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
            finish_reason=choice.get("finish_reason"),
            timings={"total_ms": _ms_since(start)},
        )

    def stream(
        self, messages: Sequence[Message], params: GenerationParams | None = None
    ) -> Iterator[StreamItem]:
        params = params or GenerationParams()
        start = time.perf_counter()
        llama = self._load()
        prompt_tokens = self._prompt_tokens(messages)
        self._check_fits(prompt_tokens)
        parts: list[str] = []
        finish_reason: str | None = None
        reported: dict[str, Any] = {}
        first_token_ms: float | None = None
        with self._call_lock:
            try:
                chunks = llama.create_chat_completion(
                    **self._arguments(messages, params), stream=True
                )
            except Exception as exc:
                raise self._call_error(exc) from exc
            try:
                for chunk in chunks:
                    reported = chunk.get("usage") or reported
                    for choice in chunk.get("choices") or []:
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            if first_token_ms is None:
                                first_token_ms = _ms_since(start)
                            parts.append(content)
                            yield content
                        finish_reason = choice.get("finish_reason") or finish_reason
            except Exception as exc:
                raise self._call_error(exc) from exc
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()  # stops generating when the reader went away early
        text = "".join(parts)
        usage = Usage(
            prompt_tokens=int(reported.get("prompt_tokens", prompt_tokens)),
            completion_tokens=int(reported.get("completion_tokens", self.count_tokens(text))),
        )
        timings = {"total_ms": _ms_since(start)}
        if first_token_ms is not None:
            timings["first_token_ms"] = first_token_ms
        yield Completion(
            text=text, model=self.model, usage=usage, finish_reason=finish_reason, timings=timings
        )

    def ping(self) -> dict[str, Any]:
        """Load the model and generate one token: ``{"backend", "model", "chat_format",
        "context_window", "latency_ms"}``."""
        probe = self.generate([Message("user", "ping")], GenerationParams(max_tokens=1))
        return {
            "backend": "llamacpp",
            "model": self.model,
            "chat_format": self._load().chat_format,
            "context_window": self.context_window,
            "latency_ms": probe.timings["total_ms"],
        }

    def close(self) -> None:
        """Free the model (a later call loads it again)."""
        with self._load_lock, self._call_lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    # -- internals -------------------------------------------------------------------------------

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                llama_cpp = import_llama_cpp()
                kwargs: dict[str, Any] = {
                    "model_path": str(self.model_path),
                    "n_ctx": self.options.n_ctx,
                    "n_gpu_layers": self.options.n_gpu_layers,
                    "chat_format": self.options.chat_format,
                    "verbose": False,
                }
                if self.options.n_threads is not None:
                    kwargs["n_threads"] = self.options.n_threads
                if self.options.seed is not None:
                    kwargs["seed"] = self.options.seed
                try:
                    llama = llama_cpp.Llama(**kwargs)
                except Exception as exc:
                    raise BackendError(
                        f"could not load the GGUF model {self.model_path}: "
                        f"{type(exc).__name__}: {exc}. Check that it is a complete GGUF file "
                        "of an architecture this llama-cpp-python version supports.",
                        message_ja=f"GGUF モデル {self.model_path} を読み込めませんでした。"
                        "ファイルが壊れていないか、llama-cpp-python が対応する形式か確認して"
                        "ください。",
                    ) from exc
                self._formatter = _gguf_template_formatter(llama_cpp, llama)
                self._llama = llama
            return self._llama

    def _arguments(self, messages: Sequence[Message], params: GenerationParams) -> dict[str, Any]:
        return {
            "messages": [message.to_dict() for message in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stop": list(params.stop),
            "seed": params.seed,
        }

    def _prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of the prompt llama-cpp-python will build: exact with the GGUF's own
        template, else the tokens of the contents alone (a lower bound)."""
        llama = self._load()
        if self._formatter is not None:
            prompt = self._formatter(messages=[message.to_dict() for message in messages]).prompt
            return len(llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        return sum(self.count_tokens(message.content) for message in messages)

    def _check_fits(self, prompt_tokens: int) -> None:
        if prompt_tokens >= self.options.n_ctx:
            raise self._overflow(f"the prompt has {prompt_tokens} tokens")

    def _call_error(self, exc: Exception) -> BackendError:
        if isinstance(exc, ValueError) and _OVERFLOW_MESSAGE in str(exc):
            return self._overflow(str(exc))
        return BackendError(
            f"llamacpp model {self.model_path} failed to generate: {type(exc).__name__}: {exc}",
            message_ja=f"モデル {self.model_path} で回答の生成に失敗しました。",
        )

    def _overflow(self, detail: str) -> ContextOverflowError:
        window = self.options.n_ctx
        return ContextOverflowError(
            f"{detail}, which leaves no room for an answer in the {window}-token context "
            f"window (n_ctx) of llamacpp model {self.model_path}. Retrieve fewer or shorter "
            "passages, or raise n_ctx if the model supports a longer context.",
            message_ja=f"プロンプトがモデル {self.model_path} のコンテキスト長({window} "
            "トークン)を超えています。検索結果の件数や長さを減らすか、n_ctx を大きくして"
            "ください。",
        )


def _gguf_template_formatter(llama_cpp: Any, llama: Any) -> Any:
    """llama-cpp-python's renderer of the GGUF's own chat template, built as ``Llama`` builds
    it, when that template is the one in use (no ``chat_format`` set); else ``None``."""
    if llama.chat_handler is not None or llama.chat_format != "chat_template.default":
        return None

    def text_of(token: int) -> str:
        return "" if token == -1 else llama.detokenize([token], special=True).decode("utf-8")

    return llama_cpp.llama_chat_format.Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=text_of(llama.token_eos()),
        bos_token=text_of(llama.token_bos()),
    )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def create_llamacpp_generator(options: Mapping[str, Any]) -> LlamaCppGenerator:
    """Registry factory for ``create_generator("llamacpp", {...})``."""
    return LlamaCppGenerator(parse_options(LlamaCppGeneratorOptions, options, "llamacpp"))
