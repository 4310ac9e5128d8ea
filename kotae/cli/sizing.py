"""``kotae models size MODEL --gpu GPU``: the VRAM, GPUs, tensor-parallel degree and
throughput bounds of a catalog model on a GPU (:mod:`kotae.planning.sizing`)."""

from __future__ import annotations

import tomllib
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import JsonOption, console, fail, print_json, print_table
from kotae.errors import ConfigError
from kotae.messages import t
from kotae.planning import catalog
from kotae.planning.gpus import find_gpu
from kotae.planning.sizing import (
    ARCHITECTURE_FACTS,
    DEFAULT_OVERHEAD_FRACTION,
    DEFAULT_USABLE_FRACTION,
    GB,
    GIB,
    KV_BYTES_PER_ELEMENT,
    WEIGHT_BYTES_PER_PARAM,
    ModelShape,
    SizingResult,
    size_on_gpu,
)

ModelArgument = Annotated[
    str, typer.Argument(metavar="MODEL", help="A catalog model: id, short name or alias.")
]
GpuOption = Annotated[
    str,
    typer.Option(
        "--gpu",
        metavar="GPU",
        help="The GPU: H100, H200, A100, L40S, L4, A10G or RTX 4090 (specs with sources).",
    ),
]


def register(models_app: typer.Typer) -> None:
    """Add ``size`` to the ``kotae models`` group."""
    models_app.command("size")(size)


def size(
    model: ModelArgument,
    gpu: GpuOption,
    context: Annotated[
        int,
        typer.Option("--context", min=1, metavar="TOKENS", help="Tokens of each sequence."),
    ] = 8192,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, metavar="N", help="Sequences served at once."),
    ] = 1,
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            metavar="DTYPE",
            help=f"Weights: {', '.join(WEIGHT_BYTES_PER_PARAM)} (int4: 0.5 byte × 1.125 "
            "for the scales, as GGUF Q4_0).",
        ),
    ] = "bf16",
    kv_dtype: Annotated[
        str,
        typer.Option(
            "--kv-dtype", metavar="DTYPE", help=f"KV cache: {', '.join(KV_BYTES_PER_ELEMENT)}."
        ),
    ] = "bf16",
    usable: Annotated[
        float,
        typer.Option(
            "--gpu-memory-utilization",
            min=0.05,
            max=1.0,
            metavar="FRACTION",
            help="Share of each GPU's memory the server may use (vLLM's default 0.9).",
        ),
    ] = DEFAULT_USABLE_FRACTION,
    overhead: Annotated[
        float,
        typer.Option(
            "--overhead",
            min=0.0,
            max=10.0,
            metavar="FRACTION",
            help="Activations and runtime buffers, as a share of the weights.",
        ),
    ] = DEFAULT_OVERHEAD_FRACTION,
    json_out: JsonOption = False,
) -> None:
    """VRAM (weights + KV cache + overhead), GPUs needed, tensor-parallel degree, and the
    decode and prefill bounds from memory bandwidth and FLOPS, with each fact's source.

    Example: kotae models size llama-3.1-8b-instruct --gpu H100 --context 8192 --concurrency 32
    """
    try:
        models = catalog.load_catalog()
        entry = models.find(model)
    except (OSError, tomllib.TOMLDecodeError, ConfigError) as exc:
        fail(t("size_no_catalog", path=catalog.CATALOG_FILE, detail=exc))
    result = size_on_gpu(
        ModelShape.from_entry(entry, models),
        find_gpu(gpu),
        dtype=dtype,
        kv_dtype=kv_dtype,
        context=context,
        concurrency=concurrency,
        usable_fraction=usable,
        overhead_fraction=overhead,
    )
    if json_out:
        print_json(result.to_dict())
        return
    show(result)


def _gb(value: float) -> str:
    return f"{value / GB:,.2f} GB ({value / GIB:,.2f} GiB)"


def _rate(value: float) -> str:
    return f"{value:,.0f} tok/s" if value >= 10 else f"{value:,.1f} tok/s"


def rows(r: SizingResult) -> list[tuple[str, str, str]]:
    """The table of ``kotae models size``: (part, estimate, formula and inputs)."""
    gpu_name = r.gpu.id
    memory = r.gpu.value("memory_gb")
    bandwidth = r.gpu.value("memory_bandwidth_tb_s")
    tflops = r.gpu.value(r.compute_spec)
    per_byte = WEIGHT_BYTES_PER_PARAM[r.dtype]
    kv_seq = r.kv_bytes_per_token * r.context
    n = r.gpus_used if r.tp_degree else 1
    table = [
        (
            t("size_weights"),
            _gb(r.vram.weights_bytes),
            f"{r.params_total_b:g}e9 params × {per_byte:g} B ({r.dtype}) × {r.quant_overhead:g}",
        ),
        (
            t("size_kv"),
            _gb(r.vram.kv_cache_bytes),
            f"2 × {r.shape.num_layers} layers × {r.shape.num_kv_heads} KV heads × "
            f"{r.shape.head_dim} head dim × {KV_BYTES_PER_ELEMENT[r.kv_dtype]} B ({r.kv_dtype}) "
            f"= {r.kv_bytes_per_token:,} B/token; × {r.context:,} tokens × {r.concurrency}",
        ),
        (
            t("size_overhead"),
            _gb(r.vram.overhead_bytes),
            f"{r.overhead_fraction:.0%} × weights + {r.overhead_gb:g} GB",
        ),
        (t("size_total"), _gb(r.vram.total_bytes), "weights + KV cache + overhead"),
        (
            t("size_gpus"),
            f"{r.gpus_needed} × {gpu_name}",
            f"ceil({r.vram.total_bytes / GB:,.2f} GB ÷ ({memory:g} GB × {r.usable_fraction:g}))",
        ),
        (
            t("size_tp"),
            str(r.tp_degree)
            if r.tp_degree
            else t("size_tp_none", gpus=r.gpus_needed, heads=r.shape.num_attention_heads),
            f"smallest power of two ≥ {r.gpus_needed} dividing the attention heads",
        ),
    ]
    bw_text = f"{bandwidth:g} TB/s × {n}"
    active = f"{r.params_active_b:g}e9 active params"
    for key, bound, batch in (
        ("size_decode_one", r.decode_single, 1),
        ("size_decode_each", r.decode_batch, r.concurrency),
    ):
        weights = bound.step_bytes - batch * kv_seq
        how = f"{bw_text} ÷ ({weights / GB:,.2f} GB weights + {batch} × {kv_seq / GB:,.3f} GB KV)"
        if bound.compute_steps_per_s is not None:
            how += f"; ≤ {tflops:g} TFLOPS × {n} ÷ (2 × {active} × {batch})"
        what = t("size_memory") if bound.limited_by == "memory" else t("size_compute")
        table.append(
            (
                t(key),
                _rate(bound.per_sequence_tokens_per_s),
                f"{how}; {t('size_limited', what=what)}",
            )
        )
    table.append(
        (
            t("size_decode_all"),
            _rate(r.decode_batch.aggregate_tokens_per_s),
            f"{r.concurrency} × {_rate(r.decode_batch.per_sequence_tokens_per_s)}",
        )
    )
    if r.prefill_tokens_per_s is None:
        unknown = t("size_unknown_spec", spec=r.compute_spec, gpu=gpu_name)
        table.append((t("size_prefill"), unknown, "peak FLOP/s ÷ (2 × active params)"))
    else:
        table.append(
            (
                t("size_prefill"),
                _rate(r.prefill_tokens_per_s),
                f"{tflops:g} TFLOPS ({r.compute_spec}) × {n} ÷ (2 × {active})",
            )
        )
        table.append(
            (
                t("size_ttft"),
                f"{r.context / r.prefill_tokens_per_s:,.3f} s",
                f"{r.context:,} tokens ÷ prefill bound",
            )
        )
    return table


def fact_rows(r: SizingResult) -> list[tuple[str, str, str]]:
    """The facts the estimate used, each with its source and date."""
    table = []
    for name in ARCHITECTURE_FACTS:
        if name in r.shape.sources:
            source, date = r.shape.sources[name]
            value = getattr(r.shape, name)
            table.append((f"{r.model}: {name}", f"{value:,}", f"{source} ({date})"))
    for name in ("memory_gb", "memory_bandwidth_tb_s", r.compute_spec):
        spec = r.gpu.spec(name)
        shown = "—" if spec.value is None else f"{spec.value:g}"
        where = " ".join(spec.sources) or spec.note
        table.append((f"{r.gpu.id}: {name}", shown, f"{where} ({spec.date})"))
    return table


def show(r: SizingResult) -> None:
    console.print(
        escape(
            t(
                "size_header",
                model=r.model,
                gpu=r.gpu.name,
                dtype=r.dtype,
                kv_dtype=r.kv_dtype,
                context=r.context,
                concurrency=r.concurrency,
            )
        )
    )
    limit = r.shape.context_tokens
    if limit is not None and r.context > limit:
        console.print(escape(t("size_over_context", context=r.context, model=r.model, limit=limit)))
    print_table(["part", "estimate", "formula and inputs"], rows(r))
    console.print(escape(t("size_facts")))
    print_table(["fact", "figure", "source (date)"], fact_rows(r))
    console.print(escape(t("size_note")))
