"""Sizing: the VRAM a model needs, the GPUs and tensor-parallel degree, and throughput bounds.

Pure functions over a model's architecture facts (:class:`ModelShape`, from the catalog) and a
GPU's specs (:mod:`kotae.planning.gpus`). A fact the estimate needs and the catalog does not
have raises :class:`UnknownFactError` naming it: kotae never guesses one.

Units: bytes; GB = 10^9 bytes and GiB = 2^30 bytes where shown; bandwidth in bytes/s
(a GPU's TB/s × 10^12); FLOP/s (TFLOPS × 10^12).

**Weights** = parameters × bytes per parameter × quantization overhead. Bytes per parameter:
bf16/fp16 2, fp8 1, int8 1, int4 0.5. The overhead factor counts the scales stored beside
quantized weights; its default is 1.0, except int4: 1.125, the 4.5 bits per weight of GGUF
Q4_0 (18 bytes per block of 32; Q4_K_M is about 4.8, AWQ/GPTQ with groups of 128 about 4.25).
GGUF Q8_0 stores 8.5 bits per weight (:data:`GGUF_Q8_0_OVERHEAD`, pass it for Q8_0 files).

**KV cache** = 2 (K and V) × layers × KV heads × head dim × context tokens × sequences ×
bytes per element (``kv_dtype``: bf16/fp16 2, fp8/int8 1). Llama 3.1 8B (32 layers, 8 KV
heads, head dim 128) at 8,192 tokens in bf16: 2×32×8×128×8192×2 = 1 GiB per sequence.
Every layer is counted at the full context: for models whose local layers keep only a sliding
window (Gemma 2/3) this is an overestimate, and it does not describe DeepSeek's compressed
latent attention (MLA), whose cache is per layer one latent vector, not K and V per head.

**Overhead** (activations, CUDA graphs, the runtime's buffers) = ``overhead_fraction`` ×
weights + ``overhead_gb``; default 10% of the weights (vLLM reported 0.85 GiB of activations
for an 8B model in bf16, 5.7% of its 14.99 GiB of weights, plus the CUDA context it does not
count).

**GPUs needed** = ceil(total VRAM ÷ (GPU memory × ``usable_fraction``)); 0.9 is vLLM's
default ``gpu_memory_utilization``. GPU memory is the vendor's "GB" read as 10^9 bytes.
**Tensor-parallel degree**: the smallest power of two ≥ the GPUs needed that divides the
attention heads (vLLM requires the heads to split evenly); None when there is none (then
pipeline parallelism, whose stages do not add bandwidth for one sequence).

**Decode bound** (tokens/s, an upper bound): each decode step reads the active weights once
and, for each of the B sequences in the batch, its KV cache of ``context`` tokens, so
steps/s ≤ bandwidth × GPUs ÷ (active weights + B × KV per sequence); each sequence gets one
token per step (per-sequence bound) and the batch B tokens (aggregate bound). Each step also
does 2 × active parameters × B FLOPs, so steps/s ≤ peak FLOP/s × GPUs ÷ (2 × active × B);
the bound is the lower of the two. Interconnect, kernel launches and scheduling are not
counted, which is why measured figures sit under it. For a mixture of experts the active
parameters are used: with B > 1 the tokens route to more experts and the real reads grow
toward the total parameters, so the bound is optimistic there.
**Prefill bound** = peak FLOP/s × GPUs ÷ (2 × active parameters) tokens/s (attention's
quadratic term not counted). The peak is the GPU's dense fp8 TFLOPS for fp8 weights and its
dense bf16 TFLOPS otherwise (int8/int4 weights are taken as weight-only quantization,
computed in bf16); unknown when the GPU spec is unknown.

**CPU**: the same decode bound with a measured memory bandwidth (:func:`measure_bandwidth`)
and the bytes a token reads, plus the KV cache. For a GGUF file that is its size: every tensor
is read once per token (a tied embedding whole, as the output layer), except that a separate
token-embedding table is read one row per token, so its bytes can be left out.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from kotae.errors import QueryError
from kotae.messages import t
from kotae.planning.catalog import ModelCatalog, ModelEntry
from kotae.planning.gpus import GpuSpec

GB = 1_000_000_000
GIB = 1 << 30

WEIGHT_BYTES_PER_PARAM: dict[str, float] = {
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
GGUF_Q4_0_OVERHEAD = 18 / 16  # 4.5 bits per weight: 32 weights in 16 bytes + a 2-byte scale
GGUF_Q8_0_OVERHEAD = 34 / 32  # 8.5 bits per weight: 32 weights in 32 bytes + a 2-byte scale
DEFAULT_QUANT_OVERHEAD: dict[str, float] = {
    "bf16": 1.0,
    "fp16": 1.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": GGUF_Q4_0_OVERHEAD,
}
KV_BYTES_PER_ELEMENT: dict[str, int] = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}
# The dense TFLOPS spec that bounds prefill for each weight dtype.
COMPUTE_SPEC: dict[str, str] = {
    "bf16": "bf16_dense_tflops",
    "fp16": "bf16_dense_tflops",
    "fp8": "fp8_dense_tflops",
    "int8": "bf16_dense_tflops",
    "int4": "bf16_dense_tflops",
}
DEFAULT_USABLE_FRACTION = 0.9  # vLLM's default gpu_memory_utilization
DEFAULT_OVERHEAD_FRACTION = 0.10

ARCHITECTURE_FACTS = (
    "params_total_b",
    "params_active_b",
    "num_layers",
    "num_kv_heads",
    "head_dim",
    "num_attention_heads",
    "context_tokens",
)


class UnknownFactError(QueryError):
    """A fact the estimate needs is unknown; ``missing`` names them."""

    def __init__(self, model: str, missing: tuple[str, ...], purpose: str) -> None:
        names = ", ".join(missing)
        super().__init__(
            t("size_unknown_facts", "en", model=model, facts=names, purpose=purpose),
            message_ja=t("size_unknown_facts", "ja", model=model, facts=names, purpose=purpose),
        )
        self.missing = missing


def _check_choice(value: str, choices: dict[str, Any], option: str) -> str:
    if value not in choices:
        allowed = ", ".join(choices)
        raise QueryError(
            t("size_bad_choice", "en", option=option, value=value, choices=allowed),
            message_ja=t("size_bad_choice", "ja", option=option, value=value, choices=allowed),
        )
    return value


# -- the model -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ModelShape:
    """The architecture facts sizing uses; None where unknown. ``sources`` maps each known
    fact to ``(source, date)``."""

    name: str
    params_total_b: float | None = None
    params_active_b: float | None = None
    num_layers: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    num_attention_heads: int | None = None
    context_tokens: int | None = None
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, entry: ModelEntry, catalog: ModelCatalog | None = None) -> ModelShape:
        """The shape of a catalog entry (facts it lacks stay None). With ``catalog``, a
        fine-tune's missing layers and heads come from the base it is sourced to share them
        with (:meth:`ModelCatalog.architecture_of`); parameters and context never do."""
        inherited = {} if catalog is None else catalog.architecture_of(entry)
        values: dict[str, Any] = {}
        sources: dict[str, tuple[str, str]] = {}
        for name in ARCHITECTURE_FACTS:
            fact = entry.facts.get(name)
            if fact is None and name in inherited and name != "context_tokens":
                fact = inherited[name][0]
            if fact is None or fact.value is None:
                values[name] = None
                continue
            values[name] = fact.value
            sources[name] = (fact.source, fact.date)
        return cls(name=entry.id, sources=sources, **values)

    def require(self, names: tuple[str, ...], purpose: str) -> None:
        """Raise :class:`UnknownFactError` if any of ``names`` is unknown."""
        missing = tuple(n for n in names if getattr(self, n) is None)
        if missing:
            raise UnknownFactError(self.name, missing, purpose)


# -- memory --------------------------------------------------------------------------------
def weights_bytes(
    params_b: float, dtype: str = "bf16", quant_overhead: float | None = None
) -> float:
    """Bytes of ``params_b`` billion parameters stored in ``dtype`` (see the module doc)."""
    _check_choice(dtype, WEIGHT_BYTES_PER_PARAM, "--dtype")
    factor = DEFAULT_QUANT_OVERHEAD[dtype] if quant_overhead is None else quant_overhead
    return params_b * 1e9 * WEIGHT_BYTES_PER_PARAM[dtype] * factor


def kv_bytes_per_token(
    num_layers: int, num_kv_heads: int, head_dim: int, kv_dtype: str = "bf16"
) -> int:
    """KV-cache bytes of one token of one sequence: 2 × layers × KV heads × head dim × bytes."""
    _check_choice(kv_dtype, KV_BYTES_PER_ELEMENT, "--kv-dtype")
    return 2 * num_layers * num_kv_heads * head_dim * KV_BYTES_PER_ELEMENT[kv_dtype]


def kv_cache_bytes(
    num_layers: int,
    num_kv_heads: int,
    head_dim: int,
    context: int,
    concurrency: int = 1,
    kv_dtype: str = "bf16",
) -> int:
    """2 × layers × KV heads × head dim × context × concurrency × bytes per element."""
    return kv_bytes_per_token(num_layers, num_kv_heads, head_dim, kv_dtype) * context * concurrency


@dataclass(frozen=True, slots=True)
class VramEstimate:
    weights_bytes: float
    kv_cache_bytes: float
    overhead_bytes: float

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "total_bytes": self.total_bytes}


def estimate_vram(
    shape: ModelShape,
    *,
    dtype: str = "bf16",
    kv_dtype: str = "bf16",
    context: int = 8192,
    concurrency: int = 1,
    overhead_fraction: float = DEFAULT_OVERHEAD_FRACTION,
    overhead_gb: float = 0.0,
    quant_overhead: float | None = None,
) -> VramEstimate:
    """Weights (all parameters are resident, active or not) + KV cache + overhead."""
    shape.require(("params_total_b", "num_layers", "num_kv_heads", "head_dim"), "VRAM")
    assert shape.params_total_b is not None  # for mypy: checked above
    assert shape.num_layers and shape.num_kv_heads and shape.head_dim
    weights = weights_bytes(shape.params_total_b, dtype, quant_overhead)
    kv = kv_cache_bytes(
        shape.num_layers, shape.num_kv_heads, shape.head_dim, context, concurrency, kv_dtype
    )
    return VramEstimate(weights, kv, weights * overhead_fraction + overhead_gb * GB)


def usable_bytes(gpu_memory_gb: float, usable_fraction: float = DEFAULT_USABLE_FRACTION) -> float:
    return gpu_memory_gb * GB * usable_fraction


def gpus_needed(
    total_bytes: float, gpu_memory_gb: float, usable_fraction: float = DEFAULT_USABLE_FRACTION
) -> int:
    """ceil(total ÷ (memory × usable fraction)), at least 1."""
    return max(1, math.ceil(total_bytes / usable_bytes(gpu_memory_gb, usable_fraction) - 1e-9))


def tensor_parallel_degree(gpus: int, num_attention_heads: int) -> int | None:
    """The smallest power of two ≥ ``gpus`` that divides ``num_attention_heads``, or None."""
    degree = 1
    while degree < gpus:
        degree *= 2
    while degree <= num_attention_heads:
        if num_attention_heads % degree == 0:
            return degree
        degree *= 2
    return None


# -- throughput ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DecodeBound:
    """Upper bounds on decode speed for a batch of ``batch`` sequences."""

    batch: int
    step_bytes: float  # bytes read per decode step: active weights + batch × KV per sequence
    memory_steps_per_s: float
    compute_steps_per_s: float | None  # None when the peak FLOP/s is unknown

    @property
    def steps_per_s(self) -> float:
        if self.compute_steps_per_s is None:
            return self.memory_steps_per_s
        return min(self.memory_steps_per_s, self.compute_steps_per_s)

    @property
    def limited_by(self) -> str:
        compute = self.compute_steps_per_s
        return "compute" if compute is not None and compute < self.memory_steps_per_s else "memory"

    @property
    def per_sequence_tokens_per_s(self) -> float:
        return self.steps_per_s

    @property
    def aggregate_tokens_per_s(self) -> float:
        return self.steps_per_s * self.batch

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "per_sequence_tokens_per_s": self.per_sequence_tokens_per_s,
            "aggregate_tokens_per_s": self.aggregate_tokens_per_s,
            "limited_by": self.limited_by,
        }


def decode_bound(
    active_weight_bytes: float,
    kv_bytes_per_sequence: float,
    bandwidth_bytes_per_s: float,
    batch: int = 1,
    peak_flops: float | None = None,
    active_params: float | None = None,
) -> DecodeBound:
    """steps/s ≤ bandwidth ÷ (active weights + batch × KV per sequence), and ≤ peak FLOP/s ÷
    (2 × active parameters × batch) when both are given; tokens/s per sequence = steps/s."""
    step_bytes = active_weight_bytes + batch * kv_bytes_per_sequence
    compute = None
    if peak_flops is not None and active_params:
        compute = peak_flops / (2 * active_params * batch)
    return DecodeBound(batch, step_bytes, bandwidth_bytes_per_s / step_bytes, compute)


def prefill_tokens_per_s(active_params: float, peak_flops: float) -> float:
    """Prompt tokens/s ≤ peak FLOP/s ÷ (2 × active parameters)."""
    return peak_flops / (2 * active_params)


@dataclass(frozen=True, slots=True)
class SizingResult:
    """Everything ``kotae models size`` prints, with the inputs it used."""

    model: str
    gpu: GpuSpec
    dtype: str
    kv_dtype: str
    context: int
    concurrency: int
    usable_fraction: float
    overhead_fraction: float
    overhead_gb: float
    quant_overhead: float
    shape: ModelShape
    kv_bytes_per_token: int
    vram: VramEstimate
    gpus_needed: int
    tp_degree: int | None
    gpus_used: int  # the TP degree, else the GPUs needed (pipeline: one GPU's bandwidth)
    decode_single: DecodeBound  # one sequence alone
    decode_batch: DecodeBound  # all ``concurrency`` sequences together
    prefill_tokens_per_s: float | None
    compute_spec: str

    @property
    def params_total_b(self) -> float:
        return self.shape.params_total_b or 0.0

    @property
    def params_active_b(self) -> float:
        return self.shape.params_active_b or 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "gpu": {"id": self.gpu.id, "name": self.gpu.name, **self.gpu.to_dict()["specs"]},
            "inputs": {
                "dtype": self.dtype,
                "kv_dtype": self.kv_dtype,
                "context": self.context,
                "concurrency": self.concurrency,
                "usable_fraction": self.usable_fraction,
                "overhead_fraction": self.overhead_fraction,
                "overhead_gb": self.overhead_gb,
                "quant_overhead": self.quant_overhead,
                "kv_bytes_per_token": self.kv_bytes_per_token,
            },
            "model_facts": {
                name: {
                    "value": getattr(self.shape, name),
                    "source": self.shape.sources[name][0],
                    "date": self.shape.sources[name][1],
                }
                for name in ARCHITECTURE_FACTS
                if name in self.shape.sources
            },
            "vram": self.vram.to_dict(),
            "gpus_needed": self.gpus_needed,
            "tp_degree": self.tp_degree,
            "gpus_used": self.gpus_used,
            "decode_single": self.decode_single.to_dict(),
            "decode_batch": self.decode_batch.to_dict(),
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "prefill_compute_spec": self.compute_spec,
        }


def size_on_gpu(
    shape: ModelShape,
    gpu: GpuSpec,
    *,
    dtype: str = "bf16",
    kv_dtype: str = "bf16",
    context: int = 8192,
    concurrency: int = 1,
    usable_fraction: float = DEFAULT_USABLE_FRACTION,
    overhead_fraction: float = DEFAULT_OVERHEAD_FRACTION,
    overhead_gb: float = 0.0,
    quant_overhead: float | None = None,
) -> SizingResult:
    """VRAM, GPUs, TP degree and decode/prefill bounds of ``shape`` on ``gpu``."""
    _check_choice(dtype, WEIGHT_BYTES_PER_PARAM, "--dtype")
    _check_choice(kv_dtype, KV_BYTES_PER_ELEMENT, "--kv-dtype")
    shape.require(
        (
            "params_total_b",
            "params_active_b",
            "num_layers",
            "num_kv_heads",
            "head_dim",
            "num_attention_heads",
        ),
        "sizing",
    )
    assert shape.params_total_b is not None and shape.params_active_b is not None
    assert shape.num_layers and shape.num_kv_heads and shape.head_dim
    assert shape.num_attention_heads
    factor = DEFAULT_QUANT_OVERHEAD[dtype] if quant_overhead is None else quant_overhead
    vram = estimate_vram(
        shape,
        dtype=dtype,
        kv_dtype=kv_dtype,
        context=context,
        concurrency=concurrency,
        overhead_fraction=overhead_fraction,
        overhead_gb=overhead_gb,
        quant_overhead=factor,
    )
    memory_gb = gpu.value("memory_gb")
    bandwidth = gpu.value("memory_bandwidth_tb_s")
    if memory_gb is None or bandwidth is None:
        missing = tuple(
            n
            for n, v in (("memory_gb", memory_gb), ("memory_bandwidth_tb_s", bandwidth))
            if v is None
        )
        raise UnknownFactError(gpu.id, missing, "sizing")
    needed = gpus_needed(vram.total_bytes, memory_gb, usable_fraction)
    tp = tensor_parallel_degree(needed, shape.num_attention_heads)
    parallel = tp or 1
    compute_spec = COMPUTE_SPEC[dtype]
    tflops = gpu.value(compute_spec)
    peak = None if tflops is None else tflops * 1e12 * parallel
    active = shape.params_active_b * 1e9
    active_weights = weights_bytes(shape.params_active_b, dtype, factor)
    per_token = kv_bytes_per_token(shape.num_layers, shape.num_kv_heads, shape.head_dim, kv_dtype)
    kv_per_sequence = per_token * context
    bw = bandwidth * 1e12 * parallel
    return SizingResult(
        model=shape.name,
        gpu=gpu,
        dtype=dtype,
        kv_dtype=kv_dtype,
        context=context,
        concurrency=concurrency,
        usable_fraction=usable_fraction,
        overhead_fraction=overhead_fraction,
        overhead_gb=overhead_gb,
        quant_overhead=factor,
        shape=shape,
        kv_bytes_per_token=per_token,
        vram=vram,
        gpus_needed=needed,
        tp_degree=tp,
        gpus_used=tp or needed,
        decode_single=decode_bound(active_weights, kv_per_sequence, bw, 1, peak, active),
        decode_batch=decode_bound(active_weights, kv_per_sequence, bw, concurrency, peak, active),
        prefill_tokens_per_s=None if peak is None else prefill_tokens_per_s(active, peak),
        compute_spec=compute_spec,
    )


# -- CPU -----------------------------------------------------------------------------------
def _copy_worker(count: int, repeats: int, barrier: Any, results: Any) -> None:
    """One process of :func:`measure_bandwidth`: its copy times, one per repeat."""
    import numpy as np

    source = np.ones(count)
    target = np.empty_like(source)
    np.copyto(target, source)  # the first copy faults the pages in
    times = []
    for _ in range(repeats):
        barrier.wait()
        start = time.perf_counter()
        np.copyto(target, source)
        times.append(time.perf_counter() - start)
    results.put(times)


def measure_bandwidth(size_mb: int = 256, repeats: int = 5, workers: int | None = None) -> float:
    """This machine's memory bandwidth in GB/s (10^9 bytes/s), measured with numpy copies.

    ``workers`` processes (default: the CPU count, as llama.cpp decodes with that many
    threads; processes because numpy's copy holds the GIL) each copy their own ``size_mb`` MB
    float64 array into another, ``repeats`` times in step (a barrier starts each round) after
    one warm-up copy. A copy reads the source and writes the destination, so a round moves
    2 × size × workers bytes; the result is that ÷ the slowest worker's time, for the best
    round. Arrays far larger than the caches measure DRAM, like a decode step that streams
    every weight once. Expect it under the vendor's peak; on a shared or virtual machine it
    varies from run to run.
    """
    import multiprocessing

    count = max(1, size_mb * 1_000_000 // 8)
    n = max(1, workers or os.cpu_count() or 1)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(n)
    results = context.Queue()
    pool = [
        context.Process(target=_copy_worker, args=(count, repeats, barrier, results))
        for _ in range(n)
    ]
    for process in pool:
        process.start()
    times: list[list[float]] = [results.get(timeout=600) for _ in pool]
    for process in pool:
        process.join()
    slowest: float = min(max(run[i] for run in times) for i in range(repeats))
    return 2 * 8 * count * n / slowest / GB


def cpu_decode_tokens_per_s(
    model_bytes: float, bandwidth_gb_s: float, kv_bytes_per_sequence: float = 0.0
) -> float:
    """Decode bound on a CPU: bandwidth ÷ (bytes of the model file + KV of the context)."""
    return bandwidth_gb_s * GB / (model_bytes + kv_bytes_per_sequence)
