"""The model catalog: open models with their facts, each fact with its source and date.

The catalog ships in the package as ``kotae/planning/data/models.toml`` (generated from the
project's reference sheet by ``benchmarks/build_catalog.py``; see ``docs/planning.md``). A
fact is ``{value, source, date}``: ``source`` is a URL (a GitHub URL carries its commit),
``date`` the date the source gives, or the date it was read. A value that is not known is
absent or ``null``: never guessed, shown as unknown.

Fact names (all optional):

- size and shape: ``params_total_b``, ``params_active_b`` (billions; equal for dense
  models), ``context_tokens`` (int), ``num_layers``, ``num_attention_heads``,
  ``num_kv_heads``, ``head_dim``, ``hidden_size``, ``architecture`` (text);
- license: ``license_name``, ``license_id`` (SPDX or ``custom``), ``commercial_use``
  (``yes`` | ``conditional`` | ``no``);
- Japanese: ``japanese`` (``official`` | ``tuned`` | ``capable`` | ``not_official``),
  ``japanese_note`` (text);
- community: ``hf_downloads_month``, ``hf_likes``, ``github_stars`` (ints);
- fine-tuning: ``peft_support`` (bool: PEFT/TRL support the architecture),
  ``lora_recipes`` (text);
- ``release_date``.

Lists: ``license_conditions`` (each a fact whose value is the condition's text, with a
``kind`` tag such as ``mau_limit``; see :mod:`kotae.planning.licenses`), ``benchmarks``
(``{name, score, source, date}``), ``base_models`` (ids whose licenses a fine-tune or
distill inherits).

Also in the shipped catalog: ``context_text`` (the window as the source words it, "128k";
``context_tokens`` is set only from an exact count), ``hf_model_type`` (the transformers
``model_type``, which ``peft_support`` is read from), ``num_experts`` and
``num_experts_active`` (MoE), ``sliding_window`` (tokens of the local attention layers),
``derived_from`` (the real base a fine-tune names), ``architecture_from`` (the catalog entry
whose shape that base has, with the source that shows it). ``unknown`` maps a fact name to why it is
not known (the reference sheet's words), for ``kotae models show``. An ``inherited``
condition's ``params`` may name ``licenses`` and a ``base`` whose terms stand for them.
:meth:`ModelCatalog.architecture_of` adds the architecture of the base a fine-tune names in
``derived_from`` (continued training keeps the architecture), marked with where it comes from.
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

DATA_DIR = Path(__file__).parent / "data"
CATALOG_FILE = DATA_DIR / "models.toml"

# Japanese ability, best first: a model tuned for Japanese, Japanese listed by the vendor,
# covered by a broad language claim or measured in Japanese, not among the listed languages.
JAPANESE_LEVELS = ("tuned", "official", "capable", "not_official")
# The facts that describe a model's shape (what sizing reads).
ARCHITECTURE_FACTS = (
    "num_layers",
    "num_attention_heads",
    "num_kv_heads",
    "head_dim",
    "hidden_size",
    "sliding_window",
    "num_experts",
    "num_experts_active",
    "hf_model_type",
)


@dataclass(frozen=True, slots=True)
class Fact:
    value: Any
    source: str
    date: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {"value": self.value, "source": self.source, "date": self.date}
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class Condition:
    """One license condition: its kind (``mau_limit``, ``attribution``, ``name_prefix``,
    ``eu_exclusion``, ``non_commercial``, ``research_only``, ``custom_license``,
    ``acceptable_use``, ``inherited``, ``other``), the text, and where it comes from."""

    kind: str
    text: str
    source: str
    date: str
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {"mau": 700_000_000}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "source": self.source,
            "date": self.date,
            "params": self.params,
        }


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    score: float
    source: str
    date: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "source": self.source, "date": self.date}


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    family: str
    vendor: str
    aliases: tuple[str, ...] = ()
    base_models: tuple[str, ...] = ()
    facts: dict[str, Fact] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()
    benchmarks: tuple[Benchmark, ...] = ()
    unknown: dict[str, str] = field(default_factory=dict)  # fact name -> why it is unknown

    def value(self, name: str) -> Any:
        """The value of fact ``name``, or None when unknown."""
        fact = self.facts.get(name)
        return None if fact is None else fact.value

    def japanese_score(self) -> float | None:
        """The ``japanese`` level on 0..1 (tuned 1, official 2/3, capable 1/3,
        not_official 0), None when unknown: an order, not a measurement."""
        level = self.value("japanese")
        if level not in JAPANESE_LEVELS:
            return None
        return 1.0 - JAPANESE_LEVELS.index(level) / (len(JAPANESE_LEVELS) - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "vendor": self.vendor,
            "aliases": list(self.aliases),
            "base_models": list(self.base_models),
            "facts": {k: f.to_dict() for k, f in self.facts.items()},
            "license_conditions": [c.to_dict() for c in self.conditions],
            "benchmarks": [b.to_dict() for b in self.benchmarks],
            "unknown": dict(self.unknown),
        }


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    models: tuple[ModelEntry, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def find(self, name: str) -> ModelEntry:
        """A model by id, by the part after ``vendor/``, or by alias (case-insensitive);
        :class:`QueryError` with the closest names otherwise."""
        wanted = name.strip().casefold()
        for model in self.models:
            names = {model.id, model.id.rsplit("/", 1)[-1], *model.aliases}
            if wanted in {n.casefold() for n in names}:
                return model
        close = self._close_to(wanted)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise QueryError(
            f"no model {name!r} in the catalog{hint}: see `kotae models list`",
            message_ja=(
                f"カタログにモデル {name!r} はありません{hint}。`kotae models list` で一覧できます"
            ),
        )

    def _close_to(self, wanted: str) -> list[str]:
        """Up to 3 ids for a name not found: those that contain it, else the closest by
        spelling (the id, the part after ``vendor/``, or an alias)."""
        if not wanted:
            return []
        containing = [m.id for m in self.models if wanted in m.id.casefold()]
        if containing:
            return containing[:3]
        spelled: dict[str, str] = {}
        for model in self.models:
            for label in (model.id, model.id.rsplit("/", 1)[-1], *model.aliases):
                spelled.setdefault(label.casefold(), model.id)
        close = difflib.get_close_matches(wanted, list(spelled), n=6, cutoff=0.4)
        return list(dict.fromkeys(spelled[label] for label in close))[:3]

    def families(self) -> list[str]:
        """The model families, in catalog order."""
        return list(dict.fromkeys(m.family for m in self.models))

    def architecture_of(self, model: ModelEntry) -> dict[str, tuple[Fact, str]]:
        """The architecture facts of ``model`` (:data:`ARCHITECTURE_FACTS`, and
        ``context_tokens``), each with the id of the entry it comes from: its own, else
        those of the catalog entry its ``architecture_from`` fact names (a sourced statement
        that its base has that entry's shape), else the one its ``derived_from`` names (a
        fine-tune or continued pre-training keeps its base's architecture). The context
        window is never inherited, and a licence stand-in in ``base_models`` is never used."""
        names = (*ARCHITECTURE_FACTS, "context_tokens")
        found = {n: (model.facts[n], model.id) for n in names if n in model.facts}
        named = model.value("architecture_from") or model.value("derived_from")
        if not isinstance(named, str) or not named.strip():
            return found
        base_id = named.split()[0]
        base = next((m for m in self.models if m.id == base_id), None)
        if base is None or base.id == model.id:
            return found
        for name, (fact, origin) in self.architecture_of(base).items():
            if name not in found and name != "context_tokens":
                found[name] = (fact, origin)
        return found


CONDITION_KINDS = (
    "mau_limit",
    "attribution",
    "name_prefix",
    "eu_exclusion",
    "non_commercial",
    "research_only",
    "custom_license",
    "acceptable_use",
    "inherited",
    "other",
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def catalog_problems(catalog: ModelCatalog) -> list[str]:
    """What breaks the catalog's promise, one line each: a fact, condition or benchmark
    without an http(s) source or a ``YYYY-MM-DD`` date, a condition of an unknown kind, a
    duplicate id. Empty when every fact carries its source and date."""
    problems: list[str] = []

    def check(where: str, source: str, date: str) -> None:
        if not source.startswith(("https://", "http://")):
            problems.append(f"{where}: source {source!r} is not a URL")
        if not _DATE.match(date):
            problems.append(f"{where}: date {date!r} is not YYYY-MM-DD")

    seen: set[str] = set()
    for model in catalog.models:
        if model.id in seen:
            problems.append(f"{model.id}: listed twice")
        seen.add(model.id)
        for name, fact in model.facts.items():
            check(f"{model.id}: fact {name}", fact.source, fact.date)
            if fact.value is None or fact.value == "":
                problems.append(f"{model.id}: fact {name} has no value (leave it out instead)")
        for i, condition in enumerate(model.conditions, 1):
            check(f"{model.id}: condition {i}", condition.source, condition.date)
            if condition.kind not in CONDITION_KINDS:
                problems.append(f"{model.id}: condition {i} has unknown kind {condition.kind!r}")
        for bench in model.benchmarks:
            check(f"{model.id}: benchmark {bench.name!r}", bench.source, bench.date)
    return problems


def _fact(raw: Any, where: str) -> Fact:
    if not isinstance(raw, dict) or not {"value", "source", "date"} <= set(raw):
        raise ConfigError(f"model catalog: {where} needs value, source and date")
    return Fact(raw["value"], str(raw["source"]), str(raw["date"]), str(raw.get("note", "")))


def parse_catalog(data: dict[str, Any]) -> ModelCatalog:
    models = []
    for raw in data.get("models", []):
        mid = raw["id"]
        facts = {name: _fact(f, f"{mid}: {name}") for name, f in raw.get("facts", {}).items()}
        conditions = tuple(
            Condition(c["kind"], c["text"], c["source"], str(c["date"]), dict(c.get("params", {})))
            for c in raw.get("license_conditions", [])
        )
        benchmarks = tuple(
            Benchmark(b["name"], float(b["score"]), b["source"], str(b["date"]))
            for b in raw.get("benchmarks", [])
        )
        models.append(
            ModelEntry(
                mid,
                raw.get("family", ""),
                raw.get("vendor", ""),
                tuple(raw.get("aliases", ())),
                tuple(raw.get("base_models", ())),
                facts,
                conditions,
                benchmarks,
                {str(k): str(v) for k, v in raw.get("unknown", {}).items()},
            )
        )
    return ModelCatalog(tuple(models), dict(data.get("meta", {})))


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_FILE) -> ModelCatalog:
    """The catalog shipped with kotae (or the TOML file ``path``)."""
    with path.open("rb") as handle:
        return parse_catalog(tomllib.load(handle))
