"""GPU specs for sizing, each value with its sources and date.

The specs ship as ``kotae/planning/data/gpus.toml``, hand-copied from the project's reference
sheet (``../shared/reference/pricing.yaml``, section ``gpu_specs``). A spec is
``{value, sources, date, note}``; a value the sheet does not have is ``None`` (unknown, never
guessed), with a note saying why.

Spec names: ``memory_gb`` (GB as the vendor states it; sizing reads it as 10^9 bytes, which
is conservative for HBM parts sold as "80GB" that hold 80 GiB), ``memory_bandwidth_tb_s``
(10^12 bytes/s), ``bf16_dense_tflops`` and ``fp8_dense_tflops`` (dense, without 2:4 sparsity).

:func:`find_gpu` takes a loose name: ``H100``, ``h100-sxm``, ``L40S``, ``l4``, ``A100``,
``H200``, ``a10g``, ``RTX 4090``...; :func:`parse_gpu_option` also takes a count, ``2xH100``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kotae.errors import ConfigError, QueryError
from kotae.messages import t

DATA_DIR = Path(__file__).parent / "data"
GPU_FILE = DATA_DIR / "gpus.toml"
SPEC_NAMES = ("memory_gb", "memory_bandwidth_tb_s", "bf16_dense_tflops", "fp8_dense_tflops")


@dataclass(frozen=True, slots=True)
class Spec:
    """One GPU figure: its value (None when unknown), where it comes from, and when."""

    value: float | None
    sources: tuple[str, ...]
    date: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "value": self.value,
            "sources": list(self.sources),
            "date": self.date,
        }
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class GpuSpec:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    memory_type: str = ""
    confidence: str = ""
    note: str = ""
    specs: dict[str, Spec] = field(default_factory=dict)

    def spec(self, name: str) -> Spec:
        """The spec ``name`` (an unknown one when the data file lacks it)."""
        return self.specs.get(name) or Spec(None, (), "", "not in the data file")

    def value(self, name: str) -> float | None:
        """The value of spec ``name``, or None when unknown."""
        return self.spec(name).value

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "aliases": list(self.aliases),
            "memory_type": self.memory_type,
            "confidence": self.confidence,
            "note": self.note,
            "specs": {name: self.spec(name).to_dict() for name in SPEC_NAMES},
        }


@dataclass(frozen=True, slots=True)
class GpuTable:
    gpus: tuple[GpuSpec, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def find(self, name: str) -> GpuSpec:
        """A GPU by id, name or alias, compared loosely (case, spaces, dashes, "NVIDIA" and
        "GeForce" ignored); :class:`QueryError` naming the known GPUs otherwise."""
        wanted = loose(name)
        if wanted:
            for gpu in self.gpus:
                if wanted in {loose(n) for n in (gpu.id, gpu.name, *gpu.aliases)}:
                    return gpu
        known = [gpu.id for gpu in self.gpus]
        close = difflib.get_close_matches(name.strip().lower(), known, n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise QueryError(
            t("size_unknown_gpu", "en", name=name, hint=hint, known=", ".join(known)),
            message_ja=t("size_unknown_gpu", "ja", name=name, hint=hint, known=", ".join(known)),
        )


def loose(name: str) -> str:
    """``"NVIDIA H100-SXM 80GB"`` -> ``"h100sxm80gb"``."""
    text = name.casefold()
    text = re.sub(r"\b(nvidia|geforce)\b", "", text)
    return re.sub(r"[^0-9a-z]", "", text)


def _spec(raw: Any, where: str) -> Spec:
    if not isinstance(raw, dict) or "date" not in raw:
        raise ConfigError(f"GPU specs: {where} needs a date (and a value with its sources)")
    value = raw.get("value")
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise ConfigError(f"GPU specs: {where}: value {value!r} is not a number")
    sources = tuple(str(s) for s in raw.get("sources", ()))
    if value is not None and not sources:
        raise ConfigError(f"GPU specs: {where} has a value but no source")
    return Spec(
        None if value is None else float(value), sources, str(raw["date"]), str(raw.get("note", ""))
    )


def parse_gpus(data: dict[str, Any]) -> GpuTable:
    gpus = []
    for raw in data.get("gpus", []):
        gid = str(raw["id"])
        specs = {name: _spec(s, f"{gid}: {name}") for name, s in raw.get("specs", {}).items()}
        gpus.append(
            GpuSpec(
                gid,
                str(raw.get("name", gid)),
                tuple(str(a) for a in raw.get("aliases", ())),
                str(raw.get("memory_type", "")),
                str(raw.get("confidence", "")),
                str(raw.get("note", "")),
                specs,
            )
        )
    return GpuTable(tuple(gpus), dict(data.get("meta", {})))


@lru_cache(maxsize=4)
def load_gpus(path: Path = GPU_FILE) -> GpuTable:
    """The GPU specs shipped with kotae (or the TOML file ``path``)."""
    with path.open("rb") as handle:
        return parse_gpus(tomllib.load(handle))


def find_gpu(name: str) -> GpuSpec:
    """A shipped GPU by loose name (``H100``, ``h100-sxm``, ``L40S``, ``L4``, ``A10G``...)."""
    return load_gpus().find(name)


def parse_gpu_option(text: str) -> tuple[int, GpuSpec]:
    """``"2xH100"`` / ``"2×H100"`` / ``"H100"`` -> (count, GPU); count 1 when not given."""
    match = re.fullmatch(r"\s*(\d+)\s*[x×*]\s*(.+)", text)
    if match is None:
        return 1, find_gpu(text)
    count = int(match.group(1))
    if count < 1:
        raise QueryError(
            t("size_bad_gpu_count", "en", value=text),
            message_ja=t("size_bad_gpu_count", "ja", value=text),
        )
    return count, find_gpu(match.group(2))
