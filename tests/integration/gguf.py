"""A Hugging Face model folder -> a GGUF file, with llama.cpp's own converter.

kotae downloads no models, so the llama.cpp tests use the tiny random Llama of
:func:`kotae.tiny_models.build_tiny_llama`, converted here. The converter
(``convert_hf_to_gguf.py`` + ``conversion/`` + ``gguf-py/``) is not on PyPI: it comes from
the llama.cpp copy vendored in the llama-cpp-python sdist, extracted to
``.cache/llama-src/`` (see the Makefile's ``test-integration``) or wherever
``$KOTAE_LLAMA_CONVERTER`` points.

The conversion runs in a subprocess: the converter puts its own folders on ``sys.path``,
imports torch and registers dozens of model classes, none of which should leak into the
test process. One monkeypatch is needed: the tokenizer trained on the fly has a
pre-tokenizer hash the converter does not know, so it is declared GPT-2 style (the
byte-level BPE it really is).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LLAMA_CPP_PYTHON_VERSION = "0.3.36"  # the sdist the converter comes from
CONVERTER_ENV = "KOTAE_LLAMA_CONVERTER"
CONVERSION_TIMEOUT_S = 300
TAIL_CHARS = 2000

# Run as ``python -c _CONVERT converter_dir hf_dir out_file``. The converter's own gguf-py
# goes first on sys.path (as the converter itself does unless NO_LOCAL_GGUF is set), so the
# writer matches the converter's version whatever gguf is installed.
_CONVERT = """\
import sys
from pathlib import Path

converter_dir, hf_dir, out_file = sys.argv[1:4]
sys.path[:0] = [converter_dir, str(Path(converter_dir) / "gguf-py")]
import conversion.base

conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
import convert_hf_to_gguf

sys.argv = ["convert_hf_to_gguf.py", hf_dir, "--outfile", out_file, "--outtype", "f32"]
convert_hf_to_gguf.main()
"""


class GGUFConversionError(RuntimeError):
    """The converter failed or wrote no GGUF file."""


def default_converter_dir() -> Path:
    """Where the Makefile extracts the converter: ``<repo>/.cache/llama-src/...``."""
    sdist = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"
    return REPO / ".cache" / "llama-src" / sdist / "vendor" / "llama.cpp"


def converter_dir() -> Path:
    """``$KOTAE_LLAMA_CONVERTER`` when set, else :func:`default_converter_dir`."""
    configured = os.environ.get(CONVERTER_ENV)
    return Path(configured).expanduser() if configured else default_converter_dir()


def missing_requirement() -> str | None:
    """Why a tiny GGUF cannot be built and served here, or ``None`` when it can.

    Checks without importing anything heavy: llama_cpp (to use the GGUF), gguf (to read
    it), torch, transformers and tokenizers (to build the model) and the converter source.
    """
    for module, install in (
        ("llama_cpp", "pip install 'llama-cpp-python[server]'"),
        ("gguf", "pip install gguf"),
        ("torch", "pip install torch"),
        ("transformers", "pip install transformers"),
        ("tokenizers", "pip install tokenizers"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({install}; see make test-integration)"
    source = converter_dir()
    if not (source / "convert_hf_to_gguf.py").is_file():
        return (
            f"llama.cpp's converter is not at {source}: extract it from the llama-cpp-python "
            f"sdist (see make test-integration) or set {CONVERTER_ENV}"
        )
    return None


def convert_to_gguf(hf_dir: Path, out_file: Path, converter_dir: Path) -> Path:
    """Convert the model folder ``hf_dir`` to an f32 GGUF at ``out_file``; return it.

    Runs ``convert_hf_to_gguf.py`` from ``converter_dir`` in a subprocess of this Python,
    offline. Raises :class:`GGUFConversionError` with the tail of the converter's output
    when it fails, or when the file it wrote is not a GGUF.
    """
    out_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("NO_LOCAL_GGUF", None)
    command = [sys.executable, "-c", _CONVERT, str(converter_dir), str(hf_dir), str(out_file)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=out_file.parent,
            timeout=CONVERSION_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise GGUFConversionError(
            f"converting {hf_dir} to GGUF took more than {CONVERSION_TIMEOUT_S} s"
        ) from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-TAIL_CHARS:]
        raise GGUFConversionError(
            f"converting {hf_dir} to GGUF with {converter_dir} failed "
            f"(exit {done.returncode}):\n{output}"
        )
    if not _is_gguf(out_file):
        raise GGUFConversionError(f"the converter exited 0 but {out_file} is not a GGUF file")
    return out_file


def _is_gguf(path: Path) -> bool:
    """Whether ``path`` is a file that starts with the GGUF magic."""
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(4) == b"GGUF"


def build_tiny_gguf(out_dir: Path) -> Path:
    """:func:`kotae.tiny_models.build_tiny_llama` in ``out_dir/hf``, converted to
    ``out_dir/tiny-llama-f32.gguf`` with the converter of :func:`converter_dir`."""
    from kotae.tiny_models import build_tiny_llama

    hf_dir = build_tiny_llama(out_dir / "hf")
    return convert_to_gguf(hf_dir, out_dir / "tiny-llama-f32.gguf", converter_dir())
