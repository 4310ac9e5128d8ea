"""The GPU specs shipped for sizing: every value carries its sources and date, a null stays
null with a reason, the values are those of the reference sheet, and loose names find them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kotae.errors import ConfigError, QueryError
from kotae.planning.gpus import (
    SPEC_NAMES,
    find_gpu,
    load_gpus,
    loose,
    parse_gpu_option,
    parse_gpus,
)
from tests.conftest import SHARED

REFERENCE = SHARED / "reference" / "pricing.yaml"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# the reference sheet's `gpu` field -> the shipped id
REFERENCE_IDS = {
    "NVIDIA H100 SXM5 80GB": "h100-sxm",
    "NVIDIA H200 SXM 141GB": "h200-sxm",
    "NVIDIA A100 SXM 80GB": "a100-sxm-80gb",
    "NVIDIA L40S 48GB": "l40s",
    "NVIDIA L4 24GB": "l4",
    "NVIDIA A10G 24GB (AWS G5 variant of A10)": "a10g",
    "NVIDIA GeForce RTX 4090 24GB": "rtx-4090",
}


def test_every_spec_has_a_source_and_a_date() -> None:
    gpus = load_gpus().gpus
    assert len(gpus) == len(REFERENCE_IDS)
    for gpu in gpus:
        for name in SPEC_NAMES:
            assert name in gpu.specs, f"{gpu.id}: {name} missing"
            spec = gpu.specs[name]
            assert DATE.match(spec.date), f"{gpu.id}: {name}: date {spec.date!r}"
            if spec.value is None:
                assert spec.note, f"{gpu.id}: {name} is unknown without saying why"
            else:
                assert spec.sources, f"{gpu.id}: {name} has no source"
                assert all(s.startswith("https://") for s in spec.sources), spec.sources


def test_the_values_are_those_of_the_reference_sheet() -> None:
    yaml: Any = pytest.importorskip("yaml")
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} not present")
    rows = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))["gpu_specs"]
    assert {row["gpu"] for row in rows} == set(REFERENCE_IDS)
    for row in rows:
        gpu = find_gpu(REFERENCE_IDS[row["gpu"]])
        for name in SPEC_NAMES:
            expected = row.get(name)  # absent and null are both unknown
            assert gpu.value(name) == (None if expected is None else float(expected)), (
                gpu.id,
                name,
            )
            for source in gpu.spec(name).sources:
                assert source in row["sources"], (gpu.id, name, source)


@pytest.mark.parametrize(
    ("name", "gpu_id"),
    [
        ("H100", "h100-sxm"),
        ("h100-sxm", "h100-sxm"),
        ("NVIDIA H100 SXM5 80GB", "h100-sxm"),
        ("h200", "h200-sxm"),
        ("A100", "a100-sxm-80gb"),
        ("a100-sxm4-80gb", "a100-sxm-80gb"),
        ("L40S", "l40s"),
        ("l4", "l4"),
        ("A10G", "a10g"),
        ("rtx 4090", "rtx-4090"),
        ("GeForce RTX 4090", "rtx-4090"),
    ],
)
def test_find_gpu_by_loose_name(name: str, gpu_id: str) -> None:
    assert find_gpu(name).id == gpu_id


def test_l4_is_not_l40s() -> None:
    assert find_gpu("L4").value("memory_gb") == 24
    assert find_gpu("L40S").value("memory_gb") == 48
    assert loose("NVIDIA L40S") == "l40s"


def test_an_unknown_gpu_names_the_known_ones() -> None:
    with pytest.raises(QueryError) as caught:
        find_gpu("H800")
    assert "h100-sxm" in str(caught.value) and "l40s" in str(caught.value)
    assert caught.value.message_ja and "GPU" in caught.value.message_ja
    with pytest.raises(QueryError):
        find_gpu("  ")


def test_a_gpu_count() -> None:
    count, gpu = parse_gpu_option("2xH100")
    assert (count, gpu.id) == (2, "h100-sxm")
    assert parse_gpu_option("1×L40S")[1].id == "l40s"
    assert parse_gpu_option("A10G")[0] == 1
    with pytest.raises(QueryError):
        parse_gpu_option("0xH100")


def test_unknown_values_stay_unknown() -> None:
    assert find_gpu("A10G").value("bf16_dense_tflops") is None
    assert find_gpu("H200").value("fp8_dense_tflops") is None
    assert find_gpu("H100").value("fp8_dense_tflops") == 1978.9


def test_a_value_without_a_source_is_refused() -> None:
    data = {"gpus": [{"id": "x", "specs": {"memory_gb": {"value": 8, "date": "2026-01-01"}}}]}
    with pytest.raises(ConfigError, match="no source"):
        parse_gpus(data)
    data["gpus"][0]["specs"]["memory_gb"] = {"value": 8, "sources": ["https://a"]}
    with pytest.raises(ConfigError, match="date"):
        parse_gpus(data)
