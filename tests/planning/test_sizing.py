"""Sizing formulas pinned on known configurations, unknown facts refused, the CPU bound, and
``kotae models size`` (on an inline catalog, so the tests do not depend on the shipped one)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kotae.cli.main import main
from kotae.errors import QueryError
from kotae.planning import catalog
from kotae.planning.catalog import ModelCatalog, parse_catalog
from kotae.planning.gpus import find_gpu
from kotae.planning.sizing import (
    GB,
    GGUF_Q8_0_OVERHEAD,
    GIB,
    ModelShape,
    UnknownFactError,
    cpu_decode_tokens_per_s,
    decode_bound,
    estimate_vram,
    gpus_needed,
    kv_bytes_per_token,
    kv_cache_bytes,
    measure_bandwidth,
    prefill_tokens_per_s,
    size_on_gpu,
    tensor_parallel_degree,
    weights_bytes,
)

CONFIG = "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json"
LLAMA_8B = ModelShape(
    "llama-3.1-8b",
    params_total_b=8.03,
    params_active_b=8.03,
    num_layers=32,
    num_kv_heads=8,
    head_dim=128,
    num_attention_heads=32,
    context_tokens=131072,
)
LLAMA_70B = ModelShape(
    "llama-3.1-70b",
    params_total_b=70.6,
    params_active_b=70.6,
    num_layers=80,
    num_kv_heads=8,
    head_dim=128,
    num_attention_heads=64,
    context_tokens=131072,
)


def test_weights_llama_8b() -> None:
    assert weights_bytes(8.03, "bf16") == pytest.approx(16.06e9)  # ≈ 16 GB
    assert weights_bytes(8.03, "fp8") == pytest.approx(8.03e9)
    assert weights_bytes(8.03, "int8") == pytest.approx(8.03e9)
    # int4: 0.5 byte per parameter × 1.125 for the scales (GGUF Q4_0: 18 bytes per 32 weights)
    assert weights_bytes(8.03, "int4") == pytest.approx(8.03e9 * 0.5 * 1.125)
    assert weights_bytes(8.03, "int4", quant_overhead=1.0) == pytest.approx(4.015e9)
    # llama.cpp reports LLaMA 7B (6.74 B) Q8_0 as 6.67 GiB: 8.5 bits per weight
    assert weights_bytes(6.74, "int8", GGUF_Q8_0_OVERHEAD) / GIB == pytest.approx(6.67, abs=0.01)
    assert weights_bytes(6.74, "bf16") / GIB == pytest.approx(12.55, abs=0.01)


def test_kv_cache_llama_8b_at_8192_is_one_gib_per_sequence() -> None:
    assert kv_bytes_per_token(32, 8, 128) == 131_072
    assert kv_cache_bytes(32, 8, 128, 8192) == 2 * 32 * 8 * 128 * 8192 * 2 == 1_073_741_824
    assert kv_cache_bytes(32, 8, 128, 8192, concurrency=32) == 32 * GIB
    assert kv_cache_bytes(32, 8, 128, 8192, kv_dtype="fp8") == GIB // 2


def test_llama_70b_bf16_needs_two_h100_for_its_weights_alone() -> None:
    h100 = find_gpu("H100")
    memory = h100.value("memory_gb")
    assert memory == 80
    assert gpus_needed(weights_bytes(70.6, "bf16"), memory) == 2
    assert gpus_needed(weights_bytes(70.6, "fp8"), memory) == 1  # 70.6 GB ≤ 72 GB usable
    assert gpus_needed(weights_bytes(70.6, "fp8"), memory, usable_fraction=0.8) == 2
    assert gpus_needed(1, memory) == 1


@pytest.mark.parametrize(
    ("gpus", "heads", "degree"),
    [(1, 32, 1), (2, 32, 2), (3, 64, 4), (3, 28, 4), (5, 28, None), (8, 64, 8), (9, 64, 16)],
)
def test_tensor_parallel_degree(gpus: int, heads: int, degree: int | None) -> None:
    assert tensor_parallel_degree(gpus, heads) == degree


def test_decode_bound_llama_8b_bf16_on_h100() -> None:
    bandwidth = find_gpu("H100").value("memory_bandwidth_tb_s")
    assert bandwidth == 3.35
    bound = decode_bound(weights_bytes(8.03, "bf16"), 0, bandwidth * 1e12)
    assert bound.per_sequence_tokens_per_s == pytest.approx(3350 / 16.06)  # ≈ 209 tok/s
    assert bound.per_sequence_tokens_per_s == pytest.approx(208.6, abs=0.1)
    assert bound.limited_by == "memory"


def test_decode_bound_with_a_batch() -> None:
    kv = kv_cache_bytes(32, 8, 128, 8192)
    bound = decode_bound(16.06e9, kv, 3.35e12, batch=32, peak_flops=989.4e12, active_params=8.03e9)
    assert bound.step_bytes == pytest.approx(16.06e9 + 32 * GIB)
    assert bound.per_sequence_tokens_per_s == pytest.approx(3.35e12 / (16.06e9 + 32 * GIB))
    assert bound.aggregate_tokens_per_s == pytest.approx(32 * bound.per_sequence_tokens_per_s)
    # a huge batch with no KV is limited by FLOPS: 2 × active params × batch per step
    big = decode_bound(16.06e9, 0, 3.35e12, batch=4096, peak_flops=989.4e12, active_params=8.03e9)
    assert big.limited_by == "compute"
    assert big.steps_per_s == pytest.approx(989.4e12 / (2 * 8.03e9 * 4096))


def test_prefill_bound() -> None:
    assert prefill_tokens_per_s(8.03e9, 989.4e12) == pytest.approx(61_606, rel=1e-4)


def test_size_llama_8b_on_h100() -> None:
    result = size_on_gpu(LLAMA_8B, find_gpu("H100"), context=8192, concurrency=32)
    assert result.vram.weights_bytes == pytest.approx(16.06e9)
    assert result.vram.kv_cache_bytes == 32 * GIB
    assert result.vram.overhead_bytes == pytest.approx(1.606e9)
    assert result.vram.total_bytes == pytest.approx(16.06e9 + 32 * GIB + 1.606e9)
    assert (result.gpus_needed, result.tp_degree, result.gpus_used) == (1, 1, 1)
    assert result.decode_single.per_sequence_tokens_per_s == pytest.approx(
        3.35e12 / (16.06e9 + GIB)
    )
    assert result.prefill_tokens_per_s == pytest.approx(989.4e12 / (2 * 8.03e9))
    data = result.to_dict()
    assert data["gpus_needed"] == 1 and data["inputs"]["kv_bytes_per_token"] == 131_072
    json.dumps(data)


def test_size_llama_70b_bf16_on_h100_uses_tensor_parallelism() -> None:
    result = size_on_gpu(LLAMA_70B, find_gpu("h100"), context=8192, concurrency=8)
    # 141.2 GB weights + 8 × 2.68 GB KV + 14.1 GB overhead = 176.8 GB over 72 GB usable each
    assert result.gpus_needed == 3
    assert result.tp_degree == 4 and result.gpus_used == 4
    kv = kv_bytes_per_token(80, 8, 128) * 8192
    assert result.decode_single.per_sequence_tokens_per_s == pytest.approx(
        4 * 3.35e12 / (141.2e9 + kv)
    )
    assert result.prefill_tokens_per_s == pytest.approx(4 * 989.4e12 / (2 * 70.6e9))


def test_fp8_prefill_uses_the_fp8_peak_and_unknown_peaks_stay_unknown() -> None:
    fp8 = size_on_gpu(LLAMA_8B, find_gpu("H100"), dtype="fp8", context=1024)
    assert fp8.compute_spec == "fp8_dense_tflops"
    assert fp8.prefill_tokens_per_s == pytest.approx(1978.9e12 / (2 * 8.03e9))
    a10g = size_on_gpu(LLAMA_8B, find_gpu("A10G"), context=1024)
    assert a10g.prefill_tokens_per_s is None  # the A10G's bf16 TFLOPS is not known
    assert a10g.decode_single.compute_steps_per_s is None
    assert a10g.decode_single.per_sequence_tokens_per_s == pytest.approx(
        0.6e12 / (16.06e9 + 1024 * 131_072)
    )
    h200 = size_on_gpu(LLAMA_8B, find_gpu("H200"), dtype="fp8", context=1024)
    assert h200.prefill_tokens_per_s is None


def test_a_mixture_of_experts_holds_all_weights_but_reads_the_active_ones() -> None:
    moe = ModelShape(
        "moe",
        params_total_b=46.7,
        params_active_b=12.9,
        num_layers=32,
        num_kv_heads=8,
        head_dim=128,
        num_attention_heads=32,
    )
    result = size_on_gpu(moe, find_gpu("H100"), context=4096)
    assert result.vram.weights_bytes == pytest.approx(93.4e9)
    assert result.gpus_needed == 2
    kv = 131_072 * 4096
    assert result.decode_single.step_bytes == pytest.approx(25.8e9 + kv)


def test_missing_architecture_facts_are_named_never_guessed() -> None:
    shape = ModelShape("mystery", params_total_b=7.0, num_layers=32, num_attention_heads=32)
    with pytest.raises(UnknownFactError) as caught:
        estimate_vram(shape)
    assert caught.value.missing == ("num_kv_heads", "head_dim")
    assert "num_kv_heads, head_dim" in str(caught.value)
    assert "mystery" in str(caught.value)
    assert caught.value.message_ja and "head_dim" in caught.value.message_ja
    with pytest.raises(UnknownFactError) as again:
        size_on_gpu(shape, find_gpu("H100"))
    assert again.value.missing == ("params_active_b", "num_kv_heads", "head_dim")
    assert isinstance(again.value, QueryError)  # exit code 2 in the CLI


def test_bad_dtypes_are_refused() -> None:
    with pytest.raises(QueryError, match="--dtype"):
        weights_bytes(8.0, "int3")
    with pytest.raises(QueryError, match="--kv-dtype"):
        size_on_gpu(LLAMA_8B, find_gpu("H100"), kv_dtype="int4")


def _fact(value: Any) -> dict[str, Any]:
    return {"value": value, "source": CONFIG, "date": "2024-07-23"}


def _catalog(**overrides: Any) -> ModelCatalog:
    facts = {
        "params_total_b": 8.03,
        "params_active_b": 8.03,
        "num_layers": 32,
        "num_kv_heads": 8,
        "head_dim": 128,
        "num_attention_heads": 32,
        "context_tokens": 131072,
        **overrides,
    }
    entry = {
        "id": "meta-llama/Llama-3.1-8B-Instruct",
        "family": "llama",
        "vendor": "Meta",
        "aliases": ["llama-3.1-8b"],
        "facts": {name: _fact(v) for name, v in facts.items()},
    }
    return parse_catalog({"models": [entry]})


def test_shape_from_a_catalog_entry_keeps_nulls_and_sources() -> None:
    entry = _catalog(head_dim=None).find("llama-3.1-8b")
    shape = ModelShape.from_entry(entry)
    assert shape.head_dim is None and "head_dim" not in shape.sources
    assert shape.num_layers == 32 and shape.sources["num_layers"] == (CONFIG, "2024-07-23")
    with pytest.raises(UnknownFactError, match="head_dim"):
        estimate_vram(shape)


def test_cpu_decode_bound_from_a_gguf_size() -> None:
    # Qwen2.5-Coder-0.5B-Instruct Q4_K_M, 491,400,064 bytes, at 25 GB/s
    assert cpu_decode_tokens_per_s(491_400_064, 25.0) == pytest.approx(25e9 / 491_400_064)
    with_kv = cpu_decode_tokens_per_s(491_400_064, 25.0, kv_bytes_per_sequence=12_288 * 1000)
    assert with_kv < cpu_decode_tokens_per_s(491_400_064, 25.0)


def test_measure_bandwidth_returns_gb_per_s() -> None:
    measured = measure_bandwidth(size_mb=16, repeats=2, workers=1)
    assert 0.1 < measured < 10_000


# -- the command ----------------------------------------------------------------------------
def _run(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cat: ModelCatalog | None = None,
) -> tuple[int, str, str]:
    chosen = cat or _catalog()
    monkeypatch.setattr(catalog, "load_catalog", lambda *a, **k: chosen)
    try:
        main(["models", "size", *argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_size_command_prints_the_parts_and_the_sources(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _run(
        ["llama-3.1-8b", "--gpu", "H100", "--context", "8192", "--concurrency", "32"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert "16.06 GB (14.96 GiB)" in out  # weights
    assert "34.36 GB (32.00 GiB)" in out  # KV cache
    assert "1 × h100-sxm" in out
    assert "131,072 B/token" in out
    assert CONFIG in out and "2024-07-23" in out  # the model's facts, with source and date
    assert "https://glennklockwood.com/garden/processors/h100" in out  # the GPU's


def test_size_command_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _run(["llama-3.1-8b", "--gpu", "a100", "--json"], capsys, monkeypatch)
    assert code == 0
    data = json.loads(out)
    assert data["gpu"]["id"] == "a100-sxm-80gb"
    assert data["vram"]["kv_cache_bytes"] == GIB
    assert data["model_facts"]["head_dim"]["source"] == CONFIG
    assert data["decode_single"]["per_sequence_tokens_per_s"] == pytest.approx(
        2.0e12 / (16.06e9 + GIB)
    )


def test_size_command_in_japanese_warns_over_the_context(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "ja")
    code, out, _ = _run(["llama-3.1-8b", "--gpu", "L4", "--context", "200000"], capsys, monkeypatch)
    assert code == 0
    assert "必要 VRAM 合計" in out and "警告" in out and "131,072" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["llama-3.1-8b", "--gpu", "H800"], "no GPU 'H800'"),
        (["no-such-model", "--gpu", "H100"], "no model 'no-such-model'"),
        (["llama-3.1-8b", "--gpu", "H100", "--dtype", "int3"], "--dtype 'int3'"),
        (["llama-3.1-8b", "--gpu", "H100", "--concurrency", "0"], "concurrency"),
    ],
)
def test_size_command_wrong_input_is_one_line(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = _run(argv, capsys, monkeypatch)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_size_command_names_the_unknown_facts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cat = _catalog(num_kv_heads=None, head_dim=None)
    code, _, err = _run(["llama-3.1-8b", "--gpu", "H100"], capsys, monkeypatch, cat)
    assert code == 2
    assert "num_kv_heads, head_dim unknown" in err and "does not guess" in err


def test_size_command_without_a_catalog(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(*_: Any, **__: Any) -> ModelCatalog:
        raise FileNotFoundError("models.toml")

    monkeypatch.setattr(catalog, "load_catalog", missing)
    with pytest.raises(SystemExit) as exc:
        main(["models", "size", "llama-3.1-8b", "--gpu", "H100"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot be read" in err


def test_size_command_on_the_shipped_catalog(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not catalog.CATALOG_FILE.is_file():
        pytest.skip("the shipped catalog is not there yet")
    shipped = catalog.load_catalog()
    sized = 0
    for entry in shipped.models:
        shape = ModelShape.from_entry(entry)
        try:
            result = size_on_gpu(shape, find_gpu("H100"), context=4096, concurrency=4)
        except UnknownFactError as exc:
            assert exc.missing  # named, never guessed
            continue
        sized += 1
        assert result.vram.total_bytes > result.vram.weights_bytes > 0
        assert result.decode_single.per_sequence_tokens_per_s > 0
    assert sized > 0
    assert GB == 10**9


def test_a_fine_tune_is_sized_with_the_layers_of_its_base() -> None:
    from kotae.planning.catalog import load_catalog

    models = load_catalog()
    elyza = models.find("elyza/Llama-3-ELYZA-JP-8B")
    alone = ModelShape.from_entry(elyza)
    assert alone.num_layers is None  # the entry itself has no layers
    shape = ModelShape.from_entry(elyza, models)
    base = ModelShape.from_entry(models.find("meta-llama/Llama-3.1-8B-Instruct"))
    assert (shape.num_layers, shape.num_kv_heads, shape.head_dim) == (
        base.num_layers,
        base.num_kv_heads,
        base.head_dim,
    )
    assert shape.context_tokens == elyza.value("context_tokens")  # never inherited
