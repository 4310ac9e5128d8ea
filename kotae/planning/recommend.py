"""``kotae models recommend``: the catalog's models ranked for one use case, language and GPU.

Each model gets five criteria, each a score on 0..1 (or unknown) with a one-line reason and
the sources behind it:

``performance``
    From the catalog's benchmark figures. Figures of different tables are not comparable
    (harnesses, shots and prompts differ), so a figure is only ranked against the figures
    of *other catalog models that report a benchmark of exactly the same name*: its
    percentile there is ``(models below + ½ × ties) ÷ (models reporting it − 1)`` (1 = best,
    0 = worst). The score is the mean percentile over the model's benchmarks that at least
    one other model reports; none such: unknown. **The company's own eval runs override
    it**: the newest finished run of the knowledge base whose generator serves the model
    (matched by its ``[generator] model`` or ``model_path`` against the model's id, short
    name and aliases) gives its ``correctness`` (LLM judge), else ``char_f1``, else
    ``token_f1`` mean as the score, marked ``measured``. A measured score is a share of the
    company's questions, not a rank: the two are on different footings, and the table says
    which one each row has.
``license``
    :func:`kotae.planning.licenses.check_license` against ``[organization]``: ``ok`` 1.0,
    ``ok_with_obligations`` 0.8, ``needs_review`` 0.4; ``blocked`` models are excluded from
    the ranking and listed with the blocker.
``community``
    The catalog's ``hf_downloads_month``, ``hf_likes`` and ``github_stars``: for each signal
    the model has, its percentile among the catalog models that have that signal; the mean
    of those. None known: unknown (never 0).
``finetune``
    ``peft_support`` and ``lora_recipes``: PEFT supports the architecture and a LoRA recipe
    is known 1.0; PEFT support, no recipe recorded 0.7; PEFT support unknown, a recipe
    known 0.5; no PEFT support 0.0 (0.3 with a recipe); neither known: unknown.
``japanese``
    :meth:`ModelEntry.japanese_score`: tuned 1, official 2/3, capable 1/3, not official 0;
    unknown when the sources do not say. Its weight is doubled when the languages include
    Japanese (``ja``).

**Total** = Σ weight × score ÷ Σ weight, over the criteria *known* for that model: an
unknown criterion does not count as 0, the weights are renormalized over the others, and
``known_weight`` (the share of the weight that was known) says how much of the total rests
on facts. Ranked by total, then by known weight, except that a model whose known criteria
hold less than half the weight (:data:`MIN_KNOWN_WEIGHT`) ranks after every model that holds
at least half: its total rests on too little.

**Hardware fit** (with a GPU): :func:`kotae.planning.sizing.size_on_gpu` at the use case's
context and concurrency. A model that needs more GPUs than given is excluded ("needs N
GPUs"); one whose context window is shorter than the use case's context is excluded; one
whose shape (layers, heads) the catalog lacks is ranked with fit unknown, unless its weights
and overhead alone need more GPUs than given ("needs at least N GPUs").

**Monthly cost**: the GPUs the model uses (its tensor-parallel degree, at most the GPUs
given) × 730 hours × the cheapest shipped on-demand rental price of that GPU (the cheapest of
any kind when there is no on-demand one), always on (:class:`kotae.planning.tco.SelfHosting`);
with a cost limit, models above it are excluded. Prices are in USD.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from kotae.config import OrganizationSettings
from kotae.errors import QueryError
from kotae.evaluation.model import RunSummary
from kotae.messages import t
from kotae.planning import tco
from kotae.planning.catalog import JAPANESE_LEVELS, ModelCatalog, ModelEntry
from kotae.planning.gpus import GpuSpec
from kotae.planning.licenses import LicenseReport, Verdict, check_license
from kotae.planning.sizing import (
    DEFAULT_OVERHEAD_FRACTION,
    GB,
    UnknownFactError,
    gpus_needed,
    size_on_gpu,
    usable_bytes,
    weights_bytes,
)
from kotae.planning.sizing import ModelShape as Shape

CRITERIA = ("performance", "license", "community", "finetune", "japanese")
DEFAULT_WEIGHTS: dict[str, float] = {
    "performance": 0.30,
    "license": 0.25,
    "community": 0.10,
    "finetune": 0.10,
    "japanese": 0.25,
}
JAPANESE_BOOST = 2.0  # the japanese weight's factor when the languages include ja
LICENSE_SCORES: dict[Verdict, float] = {
    "ok": 1.0,
    "ok_with_obligations": 0.8,
    "needs_review": 0.4,
}
# The eval metrics that override the catalog's performance, best evidence first.
MEASURED_METRICS = ("correctness", "char_f1", "token_f1")
COMMUNITY_FACTS = ("hf_downloads_month", "hf_likes", "github_stars")


@dataclass(frozen=True, slots=True)
class UseCase:
    """The defaults a use case sets: the tokens of one request (prompt with the retrieved
    passages, and the answer), the requests served at once, the languages."""

    name: str
    context: int
    concurrency: int
    languages: tuple[str, ...]


# kotae's defaults for the [use_case] templates of kotae/use_cases/ (the templates hold the
# KPIs, not these): a RAG answer reads about 5 passages of up to ~1,000 tokens plus the
# question and writes ~500 tokens, so 8,192 tokens with headroom; FAQ answers read fewer and
# shorter passages; drafting reads long sources and writes long text.
USE_CASES: dict[str, UseCase] = {
    "knowledge-search": UseCase("knowledge-search", 8192, 8, ("ja",)),
    "faq-support": UseCase("faq-support", 4096, 16, ("ja",)),
    "drafting": UseCase("drafting", 16384, 4, ("ja",)),
}


def _error(key: str, **values: object) -> QueryError:
    return QueryError(t(key, "en", **values), message_ja=t(key, "ja", **values))


def find_use_case(name: str) -> UseCase:
    found = USE_CASES.get(name.strip())
    if found is None:
        raise _error("rec_unknown_use_case", name=name, choices=", ".join(USE_CASES))
    return found


def parse_weights(text: str | None) -> dict[str, float]:
    """``"performance=0.3,license=0.2"`` -> the default weights with those replaced. A
    weight is a number ≥ 0; they need not add up to 1 (only their ratios count)."""
    weights = dict(DEFAULT_WEIGHTS)
    if text is None:
        return weights
    seen: set[str] = set()
    for part in text.split(","):
        name, sep, raw = part.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise _error("rec_bad_weights", value=text, detail=f"{part.strip()!r}")
        if name not in CRITERIA:
            raise _error("rec_bad_weight_name", name=name, choices=", ".join(CRITERIA))
        if name in seen:
            raise _error("rec_bad_weights", value=text, detail=f"{name} twice")
        seen.add(name)
        try:
            value = float(raw.strip())
        except ValueError:
            raise _error("rec_bad_weights", value=text, detail=f"{raw.strip()!r}") from None
        if not math.isfinite(value) or value < 0:
            raise _error("rec_bad_weights", value=text, detail=f"{name}={raw.strip()}")
        weights[name] = value
    if not any(weights.values()):
        raise _error("rec_bad_weights", value=text, detail="all weights are 0")
    return weights


_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def parse_languages(text: str) -> tuple[str, ...]:
    """``"ja,en"`` -> ("ja", "en"): ISO 639 codes."""
    codes = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    if not codes or not all(_LANGUAGE.match(code) for code in codes):
        raise _error("rec_bad_languages", value=text)
    return codes


def effective_weights(weights: dict[str, float], languages: Sequence[str]) -> dict[str, float]:
    """The weights with the Japanese boost applied when ``languages`` include ``ja``."""
    out = dict(weights)
    if "ja" in languages:
        out["japanese"] *= JAPANESE_BOOST
    return out


# -- the criteria --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion's score on 0..1 (None = unknown), and the reason: the message ``code``
    of :mod:`kotae.messages` filled in with ``values``."""

    name: str
    score: float | None
    code: str
    values: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    measured: bool = False

    def reason(self, language: str | None = None) -> str:
        return t(self.code, language, **self.values)

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        return {
            "score": self.score,
            "reason": self.reason(language),
            "sources": list(self.sources),
            "measured": self.measured,
        }


def _percentile(value: float, values: Sequence[float]) -> float:
    """Where ``value`` stands among ``values`` (itself included, at least two): 0 worst, 1 best."""
    below = sum(1 for v in values if v < value)
    ties = sum(1 for v in values if v == value) - 1
    return (below + 0.5 * ties) / (len(values) - 1)


def benchmark_table(catalog: ModelCatalog) -> dict[str, list[float]]:
    """Each benchmark name with the scores of the catalog models that report it."""
    table: dict[str, list[float]] = {}
    for model in catalog.models:
        for name, score in {b.name: b.score for b in model.benchmarks}.items():
            table.setdefault(name, []).append(score)
    return table


def catalog_performance(entry: ModelEntry, table: dict[str, list[float]]) -> Criterion:
    if not entry.benchmarks:
        return Criterion("performance", None, "rec_perf_none")
    ranks: list[tuple[str, float, int]] = []
    sources: list[str] = []
    for bench in {b.name: b for b in entry.benchmarks}.values():
        scores = table.get(bench.name, [])
        if len(scores) < 2:
            continue
        ranks.append((bench.name, _percentile(bench.score, scores), len(scores)))
        sources.append(bench.source)
    if not ranks:
        return Criterion("performance", None, "rec_perf_alone", {"n": len(entry.benchmarks)})
    score = sum(r for _, r, _ in ranks) / len(ranks)
    best = max(ranks, key=lambda r: r[2])
    return Criterion(
        "performance",
        score,
        "rec_perf_rank",
        {"n": len(ranks), "bench": best[0], "rank": f"{best[1]:.2f}", "of": best[2]},
        tuple(dict.fromkeys(sources)),
    )


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def served_model(run: RunSummary) -> str:
    generator = run.config.get("generator") or {}
    if not isinstance(generator, dict) or not generator.get("backend"):
        return ""
    return str(generator.get("model") or generator.get("model_path") or "")


def match_model(catalog: ModelCatalog, served: str) -> ModelEntry | None:
    """The catalog model a generator serves: the one whose id, short name or alias is the
    longest part of the served name (letters and digits compared, case ignored), so that
    ``DeepSeek-R1-Distill-Qwen-7B`` is not taken for ``DeepSeek-R1``."""
    wanted = _squash(served.rsplit("/", 1)[-1]) if served else ""
    if not wanted:
        return None
    best: tuple[int, ModelEntry] | None = None
    for model in catalog.models:
        for name in (model.id, model.id.rsplit("/", 1)[-1], *model.aliases):
            squashed = _squash(name)
            if (
                squashed
                and squashed in _squash(served)
                and (best is None or len(squashed) > best[0])
            ):
                best = (len(squashed), model)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class Measurement:
    run_id: str
    run_name: str
    set_name: str
    served: str
    metric: str
    value: float
    n: int


def measurements(catalog: ModelCatalog, runs: Sequence[RunSummary]) -> dict[str, Measurement]:
    """For each catalog model an eval run measured, the newest finished run's answer
    quality (``runs`` newest first, as ``Catalog.eval_runs`` gives them)."""
    found: dict[str, Measurement] = {}
    for run in runs:
        if run.status != "done":
            continue
        served = served_model(run)
        entry = match_model(catalog, served)
        if entry is None or entry.id in found:
            continue
        for metric in MEASURED_METRICS:
            summary = run.metrics.get(metric)
            if summary is None or summary.n == 0 or not math.isfinite(summary.mean):
                continue
            value = min(1.0, max(0.0, float(summary.mean)))
            found[entry.id] = Measurement(
                run.id, run.name, run.set_name, served, metric, value, summary.n
            )
            break
    return found


def measured_performance(found: Measurement) -> Criterion:
    return Criterion(
        "performance",
        found.value,
        "rec_perf_measured",
        {
            "metric": found.metric,
            "value": f"{found.value:.2f}",
            "run": found.run_id,
            "set": found.set_name,
            "n": found.n,
        },
        (f"eval run {found.run_id} ({found.run_name}, {found.served})",),
        measured=True,
    )


def license_criterion(report: LicenseReport, entry: ModelEntry) -> Criterion:
    fact = entry.facts.get("license_name") or entry.facts.get("license_id")
    sources = [fact.source] if fact else []
    verdict = report.verdict
    items = report.blockers or report.reviews
    first = items[0] if items else None
    if first is not None:
        sources.append(first.source)
    values: dict[str, Any] = {
        "license": report.license_name or report.license_id or "?",
        "verdict": t(f"license_verdict_{verdict}"),
        "n": len(report.obligations),
        "detail": first.message() if first is not None else "",
    }
    code = {
        "ok": "rec_license_ok",
        "ok_with_obligations": "rec_license_obligations",
        "needs_review": "rec_license_review",
        "blocked": "rec_license_blocked",
    }[verdict]
    score = LICENSE_SCORES.get(verdict)
    return Criterion("license", score, code, values, tuple(dict.fromkeys(s for s in sources if s)))


def community_criterion(entry: ModelEntry, catalog: ModelCatalog) -> Criterion:
    parts: list[float] = []
    shown: list[str] = []
    sources: list[str] = []
    for name in COMMUNITY_FACTS:
        value = entry.value(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        others = [
            float(v)
            for m in catalog.models
            if isinstance(v := m.value(name), int | float) and not isinstance(v, bool)
        ]
        shown.append(f"{name} {value:,}")
        sources.append(entry.facts[name].source)
        parts.append(_percentile(float(value), others) if len(others) > 1 else 0.5)
    if not parts:
        return Criterion("community", None, "rec_community_none")
    return Criterion(
        "community",
        sum(parts) / len(parts),
        "rec_community",
        {"signals": ", ".join(shown)},
        tuple(sources),
    )


def finetune_criterion(entry: ModelEntry) -> Criterion:
    peft = entry.value("peft_support")
    recipes = entry.value("lora_recipes")
    has_recipe = isinstance(recipes, str) and bool(recipes.strip())
    sources = tuple(
        entry.facts[n].source
        for n in ("peft_support", "lora_recipes")
        if n in entry.facts and entry.facts[n].value not in (None, "")
    )
    if peft is True:
        score, code = (
            (1.0, "rec_finetune_peft_recipe") if has_recipe else (0.7, "rec_finetune_peft")
        )
    elif peft is False:
        score, code = (
            (0.3, "rec_finetune_no_peft_recipe") if has_recipe else (0.0, "rec_finetune_no_peft")
        )
    elif has_recipe:
        score, code = 0.5, "rec_finetune_recipe"
    else:
        return Criterion("finetune", None, "rec_finetune_none")
    recipe = str(recipes).strip().split(";")[0][:80] if has_recipe else ""
    return Criterion("finetune", score, code, {"recipe": recipe}, sources)


def japanese_criterion(entry: ModelEntry) -> Criterion:
    score = entry.japanese_score()
    level = entry.value("japanese")
    if score is None or level not in JAPANESE_LEVELS:
        return Criterion("japanese", None, "rec_japanese_none")
    fact = entry.facts["japanese"]
    return Criterion(
        "japanese",
        score,
        "rec_japanese",
        {"level": t(f"catalog_japanese_{level}")},
        (fact.source,),
    )


# -- hardware and cost ---------------------------------------------------------------------
FitStatus = Literal["fits", "too_big", "short_context", "unknown", "not_checked"]
MIN_KNOWN_WEIGHT = 0.5  # below this share of known weight a model ranks after the others


@dataclass(frozen=True, slots=True)
class Fit:
    status: FitStatus
    gpus_needed: int | None = None  # a lower bound when ``at_least``
    gpus_used: int | None = None
    gpus_given: int | None = None
    vram_gb: float | None = None
    usable_gb: float | None = None
    missing: tuple[str, ...] = ()
    context_window: int | None = None
    at_least: bool = False  # the shape is unknown: weights and overhead alone need more

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "gpus_needed": self.gpus_needed,
            "gpus_needed_is_lower_bound": self.at_least,
            "gpus_used": self.gpus_used,
            "gpus_given": self.gpus_given,
            "vram_gb": self.vram_gb,
            "usable_gb_per_gpu": self.usable_gb,
            "missing_facts": list(self.missing),
            "context_window": self.context_window,
        }


@dataclass(frozen=True, slots=True)
class Hardware:
    """The GPUs given and how the model is served on them."""

    gpu: GpuSpec
    count: int
    dtype: str = "bf16"
    kv_dtype: str = "bf16"


def hardware_fit(
    entry: ModelEntry, catalog: ModelCatalog, hw: Hardware | None, context: int, concurrency: int
) -> Fit:
    window = entry.value("context_tokens")
    window = window if isinstance(window, int) and not isinstance(window, bool) else None
    if window is not None and window < context:
        return Fit("short_context", context_window=window)
    if hw is None:
        return Fit("not_checked", context_window=window)
    try:
        result = size_on_gpu(
            Shape.from_entry(entry, catalog),
            hw.gpu,
            dtype=hw.dtype,
            kv_dtype=hw.kv_dtype,
            context=context,
            concurrency=concurrency,
        )
    except UnknownFactError as exc:
        return _weights_only(entry, hw, exc.missing, window)
    usable = usable_bytes(hw.gpu.value("memory_gb") or 0.0, result.usable_fraction) / GB
    status: FitStatus = "fits" if result.gpus_needed <= hw.count else "too_big"
    return Fit(
        status,
        result.gpus_needed,
        min(result.gpus_used, hw.count),
        hw.count,
        result.vram.total_bytes / GB,
        usable,
        (),
        window,
    )


def _weights_only(
    entry: ModelEntry, hw: Hardware, missing: tuple[str, ...], window: int | None
) -> Fit:
    """A model whose layers or heads are unknown: its KV cache cannot be sized, but when its
    parameters are known, the weights and the overhead alone give a lower bound on the GPUs:
    over the GPUs given, it does not fit ("needs at least N GPUs"); else its fit is unknown."""
    params = entry.value("params_total_b")
    memory = hw.gpu.value("memory_gb")
    if isinstance(params, int | float) and not isinstance(params, bool) and params > 0 and memory:
        floor = weights_bytes(float(params), hw.dtype) * (1 + DEFAULT_OVERHEAD_FRACTION)
        needed = gpus_needed(floor, memory)
        if needed > hw.count:
            return Fit(
                "too_big", needed, None, hw.count, floor / GB, None, missing, window, at_least=True
            )
    return Fit("unknown", gpus_given=hw.count, missing=missing, context_window=window)


def cheapest_price(prices: tco.Prices, gpu: GpuSpec) -> tco.GpuPrice | None:
    """The cheapest shipped on-demand rental price of ``gpu`` (else the cheapest of any
    kind), its rows found by the GPU's id, else by its aliases."""
    for name in (gpu.id, *gpu.aliases):
        rows = tco.gpu_prices_for(prices, name)
        if rows:
            on_demand = [r for r in rows if r.pricing.startswith("on-demand")]
            return min(on_demand or rows, key=lambda r: r.per_gpu_hour)
    return None


def monthly_cost(fit: Fit, price: tco.GpuPrice | None, hw: Hardware | None) -> float | None:
    """The always-on monthly cost of the GPUs the model uses (tco's floor), None when not
    known."""
    if price is None or hw is None or fit.status != "fits" or not fit.gpus_used:
        return None
    setup = tco.SelfHosting(
        hw.gpu.id,
        fit.gpus_used,
        price.per_gpu_hour,
        tco.Throughput(1.0, None, "parameter"),  # the floor does not depend on it
        always_on=True,
        provider=price.provider,
        pricing=price.pricing,
        source=price.source,
        source_date=price.source_date,
    )
    return setup.floor


# -- the ranking ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exclusion:
    code: str
    values: dict[str, Any] = field(default_factory=dict)

    def message(self, language: str | None = None) -> str:
        return t(self.code, language, **self.values)


@dataclass(frozen=True, slots=True)
class Row:
    model: str
    criteria: dict[str, Criterion]
    total: float | None
    known_weight: float  # share of the weight on criteria known for this model
    fit: Fit
    license_verdict: Verdict
    monthly_cost: float | None
    exclusions: tuple[Exclusion, ...] = ()
    rank: int | None = None

    @property
    def measured(self) -> bool:
        return self.criteria["performance"].measured

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "model": self.model,
            "total": self.total,
            "known_weight": self.known_weight,
            "measured": self.measured,
            "criteria": {n: c.to_dict(language) for n, c in self.criteria.items()},
            "fit": self.fit.to_dict(),
            "license_verdict": self.license_verdict,
            "monthly_cost_usd": self.monthly_cost,
            "excluded": [e.message(language) for e in self.exclusions],
        }


@dataclass(frozen=True, slots=True)
class Request:
    use_case: UseCase
    languages: tuple[str, ...]
    context: int
    concurrency: int
    weights: dict[str, float]  # as given (defaults filled in), before the Japanese boost
    hardware: Hardware | None = None
    max_monthly_cost: float | None = None

    @property
    def effective_weights(self) -> dict[str, float]:
        return effective_weights(self.weights, self.languages)


@dataclass(frozen=True, slots=True)
class Ranking:
    request: Request
    ranked: tuple[Row, ...]
    excluded: tuple[Row, ...]
    price: tco.GpuPrice | None
    price_stale: bool
    organization_described: bool

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        req = self.request
        hw = req.hardware
        price = self.price
        return {
            "use_case": req.use_case.name,
            "languages": list(req.languages),
            "context": req.context,
            "concurrency": req.concurrency,
            "weights": req.weights,
            "effective_weights": req.effective_weights,
            "gpu": None
            if hw is None
            else {"id": hw.gpu.id, "count": hw.count, "dtype": hw.dtype, "kv_dtype": hw.kv_dtype},
            "max_monthly_cost_usd": req.max_monthly_cost,
            "gpu_price": None
            if price is None
            else {
                "provider": price.provider,
                "instance": price.instance,
                "gpu": price.gpu,
                "pricing": price.pricing,
                "per_gpu_hour_usd": price.per_gpu_hour,
                "source": price.source,
                "source_date": price.source_date,
                "stale": self.price_stale,
            },
            "organization_described": self.organization_described,
            "ranked": [r.to_dict(language) for r in self.ranked],
            "excluded": [r.to_dict(language) for r in self.excluded],
        }


def total_score(
    criteria: dict[str, Criterion], weights: dict[str, float]
) -> tuple[float | None, float]:
    """(Σ w × score ÷ Σ w over the known criteria, the share of the weight they hold)."""
    all_weight = sum(weights.values())
    known = [(weights[n], c.score) for n, c in criteria.items() if c.score is not None]
    weight = sum(w for w, _ in known)
    share = weight / all_weight if all_weight else 0.0
    if weight <= 0:
        return None, share
    return sum(w * s for w, s in known) / weight, share


def _exclusions(
    fit: Fit, report: LicenseReport, cost: float | None, req: Request
) -> list[Exclusion]:
    out: list[Exclusion] = []
    if report.verdict == "blocked":
        detail = report.blockers[0].message() if report.blockers else ""
        out.append(Exclusion("rec_excluded_license", {"detail": detail}))
    hw = req.hardware
    if fit.status == "too_big" and hw is not None:
        out.append(
            Exclusion(
                "rec_excluded_gpus_at_least" if fit.at_least else "rec_excluded_gpus",
                {
                    "n": fit.gpus_needed,
                    "gpu": hw.gpu.id,
                    "vram": f"{fit.vram_gb:,.1f}",
                    "dtype": hw.dtype,
                    "context": f"{req.context:,}",
                    "concurrency": req.concurrency,
                    "have": hw.count,
                    "facts": ", ".join(fit.missing),
                },
            )
        )
    if fit.status == "short_context":
        out.append(
            Exclusion(
                "rec_excluded_context",
                {"window": f"{fit.context_window:,}", "context": f"{req.context:,}"},
            )
        )
    if req.max_monthly_cost is not None and cost is not None and cost > req.max_monthly_cost:
        out.append(
            Exclusion(
                "rec_excluded_cost",
                {"cost": tco.money(cost, "USD"), "limit": tco.money(req.max_monthly_cost, "USD")},
            )
        )
    return out


def recommend(
    catalog: ModelCatalog,
    org: OrganizationSettings,
    request: Request,
    runs: Sequence[RunSummary] = (),
    prices: tco.Prices | None = None,
    today: date | None = None,
    max_price_age_days: int = 180,
) -> Ranking:
    """Every catalog model scored and ranked for ``request`` (see the module doc)."""
    weights = request.effective_weights
    table = benchmark_table(catalog)
    measured = measurements(catalog, runs)
    hw = request.hardware
    price = None
    if hw is not None:
        price = cheapest_price(prices if prices is not None else tco.load_prices(), hw.gpu)
    stale = price is not None and tco.is_stale(
        price.source_date, today or date.today(), max_price_age_days
    )
    rows: list[Row] = []
    for entry in catalog.models:
        report = check_license(entry, org, catalog)
        found = measured.get(entry.id)
        criteria = {
            "performance": measured_performance(found)
            if found
            else catalog_performance(entry, table),
            "license": license_criterion(report, entry),
            "community": community_criterion(entry, catalog),
            "finetune": finetune_criterion(entry),
            "japanese": japanese_criterion(entry),
        }
        total, share = total_score(criteria, weights)
        fit = hardware_fit(entry, catalog, hw, request.context, request.concurrency)
        cost = monthly_cost(fit, price, hw)
        rows.append(
            Row(
                entry.id,
                criteria,
                total,
                share,
                fit,
                report.verdict,
                cost,
                tuple(_exclusions(fit, report, cost, request)),
            )
        )
    kept = [r for r in rows if not r.exclusions]
    kept.sort(
        key=lambda r: (
            r.total is None,
            r.known_weight < MIN_KNOWN_WEIGHT,
            -(r.total or 0.0),
            -r.known_weight,
            r.model,
        )
    )
    ranked = tuple(
        Row(r.model, r.criteria, r.total, r.known_weight, r.fit, r.license_verdict,
            r.monthly_cost, r.exclusions, i)
        for i, r in enumerate(kept, 1)
    )  # fmt: skip
    excluded = tuple(r for r in rows if r.exclusions)
    return Ranking(request, ranked, excluded, price, stale, bool(org.model_fields_set))
