"""Check kotae's sizing model (kotae.planning.sizing) against published figures and this machine.

Usage:
    .venv/bin/python benchmarks/sizing_check.py [--cache DIR] [--decode-tokens 128]
        [--runs 5] [--skip-cpu]

(a) **Published figures.** For each model/GPU pair in :data:`PUBLISHED` (vendor docs, vLLM and
    llama.cpp figures, each with its URL and date), the sizing model computes, from the model's
    architecture (its config, cited) and the GPU's specs (``kotae/planning/data/gpus.toml``):
    - the VRAM figure the source publishes (llama.cpp's model size = the weights; vLLM's
      weights + activations + KV cache), which must be within 10%; where the source publishes
      the number of GPUs instead, the GPUs needed and the tensor-parallel degree;
    - where the source publishes a decode speed, the decode bound for that run (its batch, its
      context), which the published tokens/s must not exceed, the top of its range included
      where one is published (llama-bench prints mean ± standard deviation). The ratio
      published ÷ bound is reported.
(b) **This machine.** For each Qwen2.5-Coder GGUF of benchmarks/real_model.py in the cache, the
    decode bound from this machine's measured memory bandwidth (``measure_bandwidth``, all
    cores) and the bytes a token reads (the file's tensors, less the token-embedding table when
    the file has a separate output tensor: a step reads one row of it), against the decode
    tokens/s measured here with llama-cpp-python (greedy, one token per eval, timing the evals
    only), and against the decode tokens/s that benchmarks/results/real-model.json recorded
    (another machine when its CPU differs: said so). The machine may be shared: bandwidth and
    decode are measured ``--runs`` times and the best run of each is compared (the least
    disturbed), the medians recorded beside them.

``--skip-cpu`` runs part (a) only and keeps part (b) of the previous results file, with its date.
Writes benchmarks/results/sizing-check.json; ``benchmarks/render.py`` puts it in
docs/benchmarks.md (section ``sizing``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench_harness import (
    REPO_ROOT,
    RESULTS_DIR,
    JsonDict,
    git_info,
    log,
    machine_info,
    read_json,
    utc_now,
    write_json,
)

sys.path.insert(0, str(REPO_ROOT))
from kotae.planning.gpus import find_gpu
from kotae.planning.sizing import (
    COMPUTE_SPEC,
    DEFAULT_OVERHEAD_FRACTION,
    GGUF_Q4_0_OVERHEAD,
    GGUF_Q8_0_OVERHEAD,
    GIB,
    ModelShape,
    cpu_decode_tokens_per_s,
    decode_bound,
    estimate_vram,
    gpus_needed,
    kv_bytes_per_token,
    measure_bandwidth,
    tensor_parallel_degree,
    weights_bytes,
)

VRAM_TOLERANCE = 0.10

# -- architectures (from each model's config.json) -------------------------------------------
LLAMA31_8B = {  # also Llama 3 8B and DeepSeek-R1-Distill-Llama-8B (a Llama 3.1 8B fine-tune)
    "params_total_b": 8.03,
    "params_active_b": 8.03,
    "num_layers": 32,
    "num_kv_heads": 8,
    "head_dim": 128,
    "num_attention_heads": 32,
    "source": "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json "
    "(8,030,261,248 parameters: https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct)",
}
LLAMA33_70B = {
    "params_total_b": 70.6,
    "params_active_b": 70.6,
    "num_layers": 80,
    "num_kv_heads": 8,
    "head_dim": 128,
    "num_attention_heads": 64,
    "source": "https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct/blob/main/config.json",
}
CODELLAMA_7B = {  # "llama 7B" in llama-bench: 6.74 B parameters, no grouped-query attention
    "params_total_b": 6.74,
    "params_active_b": 6.74,
    "num_layers": 32,
    "num_kv_heads": 32,
    "head_dim": 128,
    "num_attention_heads": 32,
    "source": "https://huggingface.co/codellama/CodeLlama-7b-hf/blob/main/config.json "
    "(6.74 B as llama-bench counts it)",
}
QWEN25_CODER_3B = {  # llama-bench counts 3.40 B: the tied embedding is stored twice in the GGUF
    "params_total_b": 3.40,
    "params_active_b": 3.40,
    "num_layers": 36,
    "num_kv_heads": 2,
    "head_dim": 128,
    "num_attention_heads": 16,
    "source": "https://huggingface.co/Qwen/Qwen2.5-Coder-3B-Instruct/blob/main/config.json "
    "(3.40 B as llama-bench counts it)",
}

PR4766 = "https://github.com/ggml-org/llama.cpp/pull/4766"
PR12183 = "https://github.com/ggml-org/llama.cpp/pull/12183"
DATA_ON_EKS_R1 = (
    "https://github.com/awslabs/data-on-eks/blob/203430549f008325cf24fa6d5410d18ec42e860c"
    "/website/docs/gen-ai/inference/GPUs/ray-vllm-deepseek.md"
)
DATA_ON_EKS_NIM = (
    "https://github.com/awslabs/data-on-eks/blob/80d550b50175601387d5526e31fa8785b482f8f7"
    "/website/docs/gen-ai/inference/GPUs/nvidia-nim-llama3.md"
)
NIM_BENCH = "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance"
OCI_AQUA = (
    "https://github.com/oracle-samples/oci-data-science-ai-samples/blob/"
    "2624d1c985d82604c427fe046ff2d570a4cc09e3/ai-quick-actions/troubleshooting-tips.md"
)

# -- the published figures -------------------------------------------------------------------
# vram.what: "weights" (compare the weights) or "total" (weights + KV + overhead at the
# published context × sequences); vram.gpus: a published GPU count instead of a VRAM figure.
# decode.kind: "per_sequence" (one sequence's tokens/s) or "aggregate" (all sequences').
PUBLISHED: list[JsonDict] = [
    {
        "id": "r1-distill-llama-8b/a10g",
        "model": "DeepSeek-R1-Distill-Llama-8B",
        "engine": "vLLM 0.7.0 (Ray Serve), bf16, gpu_memory_utilization 0.9",
        "gpu": "A10G",
        "gpus": 1,
        "shape": LLAMA31_8B,
        "dtype": "bf16",
        "quant_overhead": None,
        "kv_dtype": "bf16",
        "vram": {
            "what": "total",
            "published_gib": 20.07,
            "parts_gib": {"weights": 14.99, "overhead": 0.85, "kv_cache": 4.17},
            "context": 8192,
            "concurrency": 4,
            "quote": "Loading model weights took 14.99 GiB ... total GPU memory (22.30 GiB) x "
            "utilization (0.90) = 20.07 GiB ... Model weights: 14.99 GiB | Activation memory: "
            "0.85 GiB | KV Cache: 4.17 GiB; inference concurrency is limited to 4 requests "
            "for 8192 tokens per request",
        },
        "decode": {
            "kind": "per_sequence",
            "published": 29.0,
            "range": None,
            "batch": 1,
            "context": 185,
            "quote": "token generation throughput stabilizes at ~29 tokens/sec (a 10-token "
            "prompt, a 349-token reply)",
        },
        "source": {"url": DATA_ON_EKS_R1, "label": "AWS data-on-eks guide", "date": "2025-02-08"},
        "date_note": "the `created` time of the reply the guide logs (1739001265)",
    },
    {
        "id": "llama-7b-f16/rtx-4090",
        "model": "LLaMA 7B (CodeLlama-7B) F16 GGUF",
        "engine": "llama.cpp llama-bench (CUDA, all layers on the GPU)",
        "gpu": "RTX 4090",
        "gpus": 1,
        "shape": CODELLAMA_7B,
        "dtype": "fp16",
        "quant_overhead": None,
        "kv_dtype": "fp16",
        "vram": {"what": "weights", "published_gib": 12.55, "quote": "llama 7B F16 | 12.55 GiB"},
        "decode": {
            "kind": "per_sequence",
            "published": 61.03,
            "range": [60.96, 61.10],
            "batch": 1,
            "context": 64,
            "quote": "tg 128 | 61.03 ± 0.07",
        },
        "source": {"url": PR4766, "label": "llama.cpp PR #4766", "date": "2024-01-10"},
        "date_note": "ggerganov's comment of 2024-01-10",
    },
    {
        "id": "llama-7b-q8_0/rtx-4090",
        "model": "LLaMA 7B (CodeLlama-7B) Q8_0 GGUF",
        "engine": "llama.cpp llama-bench (CUDA, all layers on the GPU)",
        "gpu": "RTX 4090",
        "gpus": 1,
        "shape": CODELLAMA_7B,
        "dtype": "int8",
        "quant_overhead": GGUF_Q8_0_OVERHEAD,
        "kv_dtype": "fp16",
        "vram": {"what": "weights", "published_gib": 6.67, "quote": "llama 7B Q8_0 | 6.67 GiB"},
        "decode": {
            "kind": "per_sequence",
            "published": 98.13,
            "range": [98.06, 98.20],
            "batch": 1,
            "context": 64,
            "quote": "tg 128 | 98.13 ± 0.07",
        },
        "source": {"url": PR4766, "label": "llama.cpp PR #4766", "date": "2024-01-10"},
        "date_note": "ggerganov's comment of 2024-01-10",
    },
    {
        "id": "qwen2.5-coder-3b-q4_0/rtx-4090",
        "model": "Qwen2.5-Coder-3B-Instruct Q4_0 GGUF",
        "engine": "llama.cpp llama-bench (CUDA, flash attention off)",
        "gpu": "RTX 4090",
        "gpus": 1,
        "shape": QWEN25_CODER_3B,
        "dtype": "int4",
        "quant_overhead": GGUF_Q4_0_OVERHEAD,
        "kv_dtype": "fp16",
        "vram": {"what": "weights", "published_gib": 1.86, "quote": "qwen2 3B Q4_0 | 1.86 GiB"},
        "decode": {
            "kind": "per_sequence",
            "published": 236.06,
            "range": [232.83, 239.29],
            "batch": 1,
            "context": 64,
            "quote": "tg128 | 236.06 ± 3.23",
        },
        "source": {"url": PR12183, "label": "llama.cpp PR #12183", "date": "2025-03-06"},
        "date_note": "gaugarg-nv's comment of 2025-03-06",
    },
    {
        "id": "llama-3.1-8b-bf16/a10",
        "model": "Llama 3.1 8B, bf16 (unnamed in the guide: known by its weights, KV and context)",
        "engine": "vLLM (OCI AI Quick Actions), bf16, gpu_memory_utilization 0.9, on an A10",
        "gpu": "A10G",
        "gpus": 1,
        "shape": LLAMA31_8B,
        "dtype": "bf16",
        "quant_overhead": None,
        "kv_dtype": "bf16",
        "vram": {
            "what": "total",
            "published_gib": 19.86,
            "parts_gib": {"weights": 14.99, "overhead": 0.27, "kv_cache": 4.60},
            "context": 37696,
            "concurrency": 1,
            "quote": "total_gpu_memory (22.07GiB) x gpu_memory_utilization (0.90) = 19.86GiB; "
            "model weights take 14.99GiB; non_torch_memory takes 0.05GiB; PyTorch activation "
            "peak memory takes 0.22GiB; the rest of the memory reserved for KV Cache is 4.60GiB "
            "... the maximum number of tokens that can be stored in KV cache (37696)",
        },
        "decode": None,
        "model_note": "the guide does not name the model: 14.9888 GiB of bf16 weights, 128 KiB "
        "of KV cache per token (4.60 GiB / 37,696 tokens) and a 131,072-token context are "
        "Llama 3.1 8B's",
        "gpu_note": "an OCI A10 card (24 GB, 600 GB/s): the A10G's memory and bandwidth "
        "(pricing.yaml, Baseten); the VRAM check uses no other GPU figure",
        "source": {
            "url": OCI_AQUA,
            "label": "Oracle OCI AI Quick Actions guide",
            "date": "2025-03-25",
        },
        "date_note": "the commit that added the troubleshooting guide (2025-03-25)",
    },
    {
        "id": "llama-3.3-70b-fp8/2xh100",
        "model": "Llama-3.3-70B-Instruct, fp8",
        "engine": "NVIDIA NIM 1.8.0 (TensorRT-LLM), fp8, TP2",
        "gpu": "H100",
        "gpus": 2,
        "shape": LLAMA33_70B,
        "dtype": "fp8",
        "quant_overhead": None,
        "kv_dtype": "bf16",
        "vram": {
            "what": "gpus",
            "published_gpus": 2,
            "context": 5500,
            "concurrency": 1,
            "quote": "2 x H100 80G, fp8 TP2",
        },
        "decode": {
            "kind": "per_sequence",
            "published": round(1000 / 18.58, 2),
            "range": None,
            "batch": 1,
            "context": 5250,
            "quote": "5000 input / 500 output tokens, concurrency 1: ITL 18.58 ms",
        },
        "source": {"url": NIM_BENCH, "label": "NVIDIA NIM benchmarking docs", "date": "undated"},
        "date_note": "the page gives no date; NIM LLM 1.8.0 is the container version measured",
    },
    {
        "id": "llama-3-8b-fp16/a10g-x10",
        "model": "Llama-3-8B-Instruct, fp16",
        "engine": "NVIDIA NIM on EKS (g5.2xlarge), GenAI-Perf, concurrency 10",
        "gpu": "A10G",
        "gpus": 1,
        "shape": LLAMA31_8B,
        "dtype": "fp16",
        "quant_overhead": None,
        "kv_dtype": "fp16",
        "vram": None,
        "decode": {
            "kind": "aggregate",
            "published": 284.64,
            "range": None,
            "batch": 10,
            "context": 256,
            "quote": "200 input / 112 output tokens, concurrency 10: output token throughput "
            "284.64 per sec",
        },
        "source": {"url": DATA_ON_EKS_NIM, "label": "AWS data-on-eks guide", "date": "2024-07-11"},
        "date_note": "the date of the GenAI-Perf log in the guide",
    },
]


def check_published(entry: JsonDict) -> JsonDict:
    """The sizing model's figures for one published pair, and the checks."""
    facts = {k: v for k, v in entry["shape"].items() if k != "source"}
    shape = ModelShape(entry["model"], **facts)
    gpu = find_gpu(entry["gpu"])
    n = int(entry["gpus"])
    dtype, kv_dtype, factor = entry["dtype"], entry["kv_dtype"], entry["quant_overhead"]
    result: JsonDict = {
        key: entry[key] for key in ("id", "model", "engine", "gpu", "gpus", "dtype", "kv_dtype")
    }
    result["gpu_id"] = gpu.id
    result["architecture_source"] = entry["shape"]["source"]
    result["source"] = entry["source"]
    result["date_note"] = entry["date_note"]
    vram = entry.get("vram")
    if vram and vram["what"] in {"weights", "total"}:
        if vram["what"] == "weights":
            computed = weights_bytes(shape.params_total_b or 0, dtype, factor)
            parts = {"weights": computed / GIB}
        else:
            estimate = estimate_vram(
                shape,
                dtype=dtype,
                kv_dtype=kv_dtype,
                context=vram["context"],
                concurrency=vram["concurrency"],
                quant_overhead=factor,
            )
            computed = estimate.total_bytes
            parts = {
                "weights": estimate.weights_bytes / GIB,
                "kv_cache": estimate.kv_cache_bytes / GIB,
                "overhead": estimate.overhead_bytes / GIB,
            }
        error = computed / GIB / vram["published_gib"] - 1
        result["vram"] = {
            "what": vram["what"],
            "computed_gib": computed / GIB,
            "computed_parts_gib": parts,
            "published_gib": vram["published_gib"],
            "published_parts_gib": vram.get("parts_gib"),
            "error": error,
            "within_10pct": abs(error) <= VRAM_TOLERANCE,
            "context": vram.get("context"),
            "concurrency": vram.get("concurrency"),
            "quote": vram["quote"],
        }
    elif vram and vram["what"] == "gpus":
        estimate = estimate_vram(
            shape,
            dtype=dtype,
            kv_dtype=kv_dtype,
            context=vram["context"],
            concurrency=vram["concurrency"],
            quant_overhead=factor,
        )
        memory = gpu.value("memory_gb") or 0
        needed = gpus_needed(estimate.total_bytes, memory)
        tp = tensor_parallel_degree(needed, shape.num_attention_heads or 1)
        result["vram"] = {
            "what": "gpus",
            "computed_gib": estimate.total_bytes / GIB,
            "computed_gpus": needed,
            "computed_tp": tp,
            "published_gpus": vram["published_gpus"],
            "gpus_match": tp == vram["published_gpus"],
            "context": vram["context"],
            "concurrency": vram["concurrency"],
            "quote": vram["quote"],
        }
    else:
        result["vram"] = None
    decode = entry["decode"]
    for note in ("model_note", "gpu_note"):
        if entry.get(note):
            result[note] = entry[note]
    if decode is None:
        result["decode"] = None
        return result
    bandwidth = (gpu.value("memory_bandwidth_tb_s") or 0) * 1e12 * n
    tflops = gpu.value(COMPUTE_SPEC[dtype])
    peak = None if tflops is None else tflops * 1e12 * n
    active = weights_bytes(shape.params_active_b or 0, dtype, factor)
    assert shape.num_layers and shape.num_kv_heads and shape.head_dim
    kv_seq = kv_bytes_per_token(shape.num_layers, shape.num_kv_heads, shape.head_dim, kv_dtype)
    kv_seq *= decode["context"]
    bound = decode_bound(
        active,
        kv_seq,
        bandwidth,
        decode["batch"],
        peak,
        (shape.params_active_b or 0) * 1e9,
    )
    limit = (
        bound.per_sequence_tokens_per_s
        if decode["kind"] == "per_sequence"
        else bound.aggregate_tokens_per_s
    )
    top = max(decode["range"]) if decode.get("range") else decode["published"]
    result["decode"] = {
        "kind": decode["kind"],
        "batch": decode["batch"],
        "context": decode["context"],
        "bound_tokens_per_s": limit,
        "limited_by": bound.limited_by,
        "step_bytes": bound.step_bytes,
        "published_tokens_per_s": decode["published"],
        "published_range": decode.get("range"),
        "ratio": decode["published"] / limit,
        "under_bound": top <= limit,
        "quote": decode["quote"],
    }
    return result


# -- this machine ----------------------------------------------------------------------------
# Qwen2.5-Coder GGUFs of benchmarks/real_model.py (architecture from their GGUF headers and
# configs; llama.cpp keeps the KV cache in f16).
CPU_MODELS: list[JsonDict] = [
    {
        "key": "qwen2.5-coder-0.5b-instruct",
        "name": "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        "num_layers": 24,
        "num_kv_heads": 2,
        "head_dim": 64,
        "recorded_config": "llamacpp",
    },
    {
        "key": "qwen2.5-coder-1.5b-instruct",
        "name": "Qwen2.5-Coder-1.5B-Instruct",
        "num_layers": 28,
        "num_kv_heads": 2,
        "head_dim": 128,
        "recorded_config": "openai-1.5b",
    },
]
PROMPT = (
    "社内規程の要点をまとめてください。出張旅費の精算は翌月10日までに申請し、領収書を添付する。"
    "宿泊費の上限は一泊一万二千円とし、超過分は自己負担とする。Summarize the travel policy. "
)


def measure_decode(path: Path, prompt_tokens: int, decode_tokens: int, threads: int) -> JsonDict:
    """Decode tokens/s of the GGUF at ``path`` here: greedy, one token per eval, evals timed."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(path),
        n_ctx=prompt_tokens + decode_tokens + 64,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        verbose=False,
    )
    try:
        tokens = llm.tokenize((PROMPT * 64).encode("utf-8"))[:prompt_tokens]
        llm.eval(tokens)
        spent = 0.0
        for _ in range(decode_tokens):
            token = llm.sample(temp=0.0)
            started = time.perf_counter()
            llm.eval([token])
            spent += time.perf_counter() - started
    finally:
        llm.close()
    return {
        "tokens_per_s": decode_tokens / spent,
        "prompt_tokens": len(tokens),
        "decode_tokens": decode_tokens,
        "threads": threads,
    }


def recorded_decode(config: str) -> JsonDict | None:
    """The decode tokens/s benchmarks/results/real-model.json recorded for ``config``."""
    data = read_json(RESULTS_DIR / "real-model.json")
    if not data:
        return None
    means = [
        entry["configs"][config]["metrics"]["decode_tokens_per_s"]["mean"]
        for entry in data.get("sets", {}).values()
        if config in entry.get("configs", {})
        and "decode_tokens_per_s" in entry["configs"][config].get("metrics", {})
    ]
    if not means:
        return None
    prompts = [
        entry["configs"][config]["metrics"]["prompt_tokens"]["mean"]
        for entry in data["sets"].values()
        if config in entry.get("configs", {})
        and "prompt_tokens" in entry["configs"][config].get("metrics", {})
    ]
    return {
        "tokens_per_s": statistics.fmean(means),
        "per_set": means,
        "prompt_tokens": statistics.fmean(prompts) if prompts else None,
        "machine": data.get("machine"),
        "date": data.get("date"),
    }


def bytes_per_token(path: Path) -> JsonDict:
    """The bytes one decode step reads from the GGUF at ``path``: every tensor, less the
    token-embedding table when the file has a separate output tensor (a step reads one row of
    it); the file size when the ``gguf`` package is not installed."""
    size = path.stat().st_size
    try:
        from gguf import GGUFReader
    except ImportError:
        return {"bytes": size, "how": "file size (gguf not installed)"}
    tensors = {t.name: int(t.n_bytes) for t in GGUFReader(str(path)).tensors}
    total = sum(tensors.values())
    if "output.weight" in tensors and "token_embd.weight" in tensors:
        embedding = tensors["token_embd.weight"]
        return {
            "bytes": total - embedding,
            "how": f"tensors {total:,} B less the token embedding {embedding:,} B "
            "(a separate output tensor exists; one embedding row is read per token)",
        }
    return {"bytes": total, "how": f"tensors {total:,} B (tied embedding read as the output)"}


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def check_cpu(cache: Path, runs: int, decode_tokens: int) -> JsonDict:
    """On one core and on all of them: the bandwidth (that many copying processes) and each
    model's decode speed (that many llama.cpp threads), ``runs`` times each. The machine may be
    shared, so the best run is compared (the least disturbed one) and the median recorded."""
    cores = os.cpu_count() or 1
    load_before = load_average()
    bandwidth: dict[int, JsonDict] = {}
    for threads in sorted({1, cores}):
        samples = [measure_bandwidth(size_mb=256, repeats=5, workers=threads) for _ in range(runs)]
        bandwidth[threads] = {
            "threads": threads,
            "gb_s": max(samples),
            "median_gb_s": statistics.median(samples),
            "runs": samples,
        }
        log(f"bandwidth, {threads} process(es): {', '.join(f'{v:.1f}' for v in samples)} GB/s")
    here = machine_info()
    models = []
    for spec in CPU_MODELS:
        path = cache / f"{spec['key']}.gguf"
        if not path.is_file():
            log(f"{path} not present: skipped")
            continue
        read = bytes_per_token(path)
        size = read["bytes"]
        per_token = kv_bytes_per_token(
            spec["num_layers"], spec["num_kv_heads"], spec["head_dim"], "fp16"
        )
        prompt_tokens = 512
        context = prompt_tokens + decode_tokens // 2
        row: JsonDict = {
            "name": spec["name"],
            "file": path.name,
            "file_bytes": path.stat().st_size,
            "bytes_per_token": size,
            "bytes_per_token_how": read["how"],
            "kv_bytes_per_token": per_token,
            "prompt_tokens": prompt_tokens,
            "decode_tokens": decode_tokens,
            "context": context,
            "by_threads": [],
        }
        for threads, bw in bandwidth.items():
            speeds = [
                measure_decode(path, prompt_tokens, decode_tokens, threads)["tokens_per_s"]
                for _ in range(runs)
            ]
            predicted = cpu_decode_tokens_per_s(size, bw["gb_s"], per_token * context)
            row["by_threads"].append(
                {
                    "threads": threads,
                    "bandwidth_gb_s": bw["gb_s"],
                    "predicted_tokens_per_s": predicted,
                    "measured_tokens_per_s": max(speeds),
                    "median_tokens_per_s": statistics.median(speeds),
                    "runs": speeds,
                    "ratio": max(speeds) / predicted,
                    "ratio_median": statistics.median(speeds) / predicted,
                }
            )
            log(
                f"{spec['name']}, {threads} thread(s): predicted {predicted:.1f} tok/s, measured "
                f"{', '.join(f'{v:.1f}' for v in speeds)} (best ÷ predicted "
                f"{max(speeds) / predicted:.2f})"
            )
        recorded = recorded_decode(spec["recorded_config"])
        if recorded:
            prompt = recorded["prompt_tokens"] or 0
            all_cores = bandwidth[cores]["gb_s"]
            recorded_predicted = cpu_decode_tokens_per_s(size, all_cores, per_token * prompt)
            other = recorded.get("machine") or {}
            recorded["same_cpu"] = other.get("cpu_model") == here.get("cpu_model")
            recorded["threads"] = other.get("cpu_cores")
            recorded["predicted_tokens_per_s"] = recorded_predicted
            recorded["ratio"] = recorded["tokens_per_s"] / recorded_predicted
            row["recorded"] = recorded
        models.append(row)
    return {
        "date": utc_now(),
        "cores": cores,
        "bandwidth": list(bandwidth.values()),
        "bandwidth_method": "numpy copies of 256 MB float64 arrays, one per process, best of 5 "
        f"rounds per run, best of {runs} runs; 2 × bytes copied ÷ the slowest process's time",
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "models": models,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / ".cache" / "real-models")
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5, help="bandwidth and decode runs")
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pairs = [check_published(entry) for entry in PUBLISHED]
    for pair in pairs:
        vram, decode = pair["vram"], pair["decode"]
        shown = "—"
        if vram and vram["what"] == "gpus":
            shown = f"{vram['computed_tp']} GPUs vs {vram['published_gpus']}"
        elif vram:
            shown = f"{vram['computed_gib']:.2f} vs {vram['published_gib']:.2f} GiB"
            shown += f" ({vram['error']:+.1%})"
        decode_text = "not published"
        if decode:
            decode_text = (
                f"{decode['published_tokens_per_s']:.1f} ≤ bound "
                f"{decode['bound_tokens_per_s']:.1f} ({decode['ratio']:.2f})"
            )
        log(f"{pair['id']}: VRAM {shown}; decode {decode_text}")
    vram_checked = [p for p in pairs if p["vram"] and p["vram"]["what"] != "gpus"]
    gpu_checked = [p for p in pairs if p["vram"] and p["vram"]["what"] == "gpus"]
    decoded = [p for p in pairs if p["decode"]]
    summary = {
        "pairs": len(pairs),
        "gpus": sorted({p["gpu_id"] for p in pairs}),
        "vram_checked": len(vram_checked),
        "vram_within_10pct": sum(p["vram"]["within_10pct"] for p in vram_checked),
        "gpu_count_checked": len(gpu_checked),
        "gpu_count_match": sum(p["vram"]["gpus_match"] for p in gpu_checked),
        "decode_checked": len(decoded),
        "decode_under_bound": sum(p["decode"]["under_bound"] for p in decoded),
        "decode_ratio_range": [
            min(p["decode"]["ratio"] for p in decoded),
            max(p["decode"]["ratio"] for p in decoded),
        ],
    }
    payload: JsonDict = {
        "benchmark": "sizing-check",
        "date": utc_now(),
        "machine": machine_info(),
        "git": git_info(),
        "conventions": {
            "gb": "10^9 bytes; GiB 2^30",
            "vram_tolerance": VRAM_TOLERANCE,
            "overhead_fraction": DEFAULT_OVERHEAD_FRACTION,
            "usable_fraction": 0.9,
            "gpu_specs": "kotae/planning/data/gpus.toml (../shared/reference/pricing.yaml)",
        },
        "published": pairs,
        "summary": summary,
    }
    out = RESULTS_DIR / "sizing-check.json"
    if not args.skip_cpu:
        payload["cpu"] = check_cpu(args.cache, args.runs, args.decode_tokens)
    else:  # a skipped part keeps its previous entry, with its own date
        previous = read_json(out) or {}
        if "cpu" in previous:
            payload["cpu"] = {
                **previous["cpu"],
                "date": previous["cpu"].get("date", previous["date"]),
            }
    payload["wall_s"] = round(time.perf_counter() - started, 1)
    write_json(out, payload)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
