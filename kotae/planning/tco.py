"""Total cost of ownership: what a month of tokens costs through an API, a hosted open
model, or GPUs of one's own, and the monthly volume where self-hosting breaks even.

Prices ship in ``kotae/planning/data/prices.toml`` (built from the project's reference sheet
by ``benchmarks/build_prices.py``), each with its source URL and the date the source states.
A price older than ``[planning] max_price_age_days`` (default 180) on the day of the
calculation, or with no date, is **stale**: shown, and flagged. A date given as a month or
a year counts from its first day (the oldest it can be).

The cost model, per month, for ``IN`` input and ``OUT`` output tokens:

- **API** and **hosted open model**: ``IN × input price + OUT × output price`` (prices per
  1M tokens).
- **Self-hosting** on ``N`` GPUs at ``P`` per GPU-hour, serving ``T`` output tokens/s
  (decode) and ``T_in`` input tokens/s (prefill; the decode rate when not known, which
  overstates the time: prefill is usually much faster) for the whole deployment, busy a
  share ``U`` (the utilization) of the hours paid for::

      hours needed = (OUT / T + IN / T_in) / 3600 / U
      hours billed = hours needed                      (pay per use: serverless, scale to zero)
                   = max(hours needed, 730)            (--always-on: the GPUs run all month)
      cost         = hours billed × N × P + engineering per month

  730 = 8760 hours / 12 months. Hours needed over 730 mean more than one copy of the
  deployment (``replicas``); the cost stays linear. Engineering overhead is a parameter:
  an amount per month, or FTE × monthly cost of one FTE. Nothing else is counted (storage,
  network, egress, power of owned hardware).

- **Break-even**: the monthly volume ``V`` (input and output together, in the ratio of
  ``IN:OUT``) where self-hosting costs what the API does. With ``p`` the API's price per
  token at that ratio, ``c`` the GPU cost per token (``(r_in / T_in + r_out / T) / 3600 / U
  × N × P``), ``F`` the always-on floor (``730 × N × P``, 0 pay per use) and ``E`` the
  engineering: ``V = (F + E) / p`` when the floor still covers that volume
  (``V × c ≤ F``), else ``V = E / (p - c)``; none when ``p ≤ c`` (the API is cheaper per
  token at any volume). ``V`` rises when the utilization falls or the GPU price rises.

Throughput comes from, in order: the ``--throughput`` parameter; the latest finished eval
run of the knowledge base that measured ``decode_tokens_per_s`` (else ``tokens_per_s``) of
a generator (of ``--model`` when given), **per stream**, a lower bound of what a batching
server delivers; the sizing model's decode bound (:mod:`kotae.planning.sizing`, an upper
bound) when it is there. :attr:`Throughput.source` says which.
"""

from __future__ import annotations

import html
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from kotae.errors import KotaeError, QueryError
from kotae.messages import t

PRICES_FILE = Path(__file__).parent / "data" / "prices.toml"
HOURS_PER_MONTH = 730.0  # 8760 h / 12
MILLION = 1_000_000
UNDATED = "undated"

Kind = Literal["api", "hosted", "self"]
ThroughputSource = Literal["parameter", "eval_run", "sizing"]


def _error(key: str, **values: object) -> QueryError:
    return QueryError(t(key, "en", **values), message_ja=t(key, "ja", **values))


# -- prices ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TokenPrice:
    """An API's price per 1M tokens, in USD, with its source and the date it states."""

    kind: Literal["api", "hosted"]
    provider: str
    model: str
    input_per_million: float
    output_per_million: float
    source: str
    source_date: str  # YYYY-MM-DD, YYYY-MM, YYYY or "undated"
    date_note: str = ""
    confidence: str = ""
    caution: str = ""

    @property
    def label(self) -> str:
        return f"{self.provider} {self.model}"


@dataclass(frozen=True, slots=True)
class GpuPrice:
    """A rented GPU's price per GPU-hour, in USD."""

    provider: str
    gpu: str
    pricing: str  # on-demand, spot, on-demand (community), serverless flex...
    per_gpu_hour: float
    source: str
    source_date: str
    instance: str = ""
    region: str = ""
    derived: str = ""
    date_note: str = ""
    confidence: str = ""
    caution: str = ""


@dataclass(frozen=True, slots=True)
class Prices:
    api: tuple[TokenPrice, ...]
    hosted: tuple[TokenPrice, ...]
    gpu: tuple[GpuPrice, ...]
    compiled_on: str = ""


def _token_price(kind: Literal["api", "hosted"], raw: dict[str, Any]) -> TokenPrice:
    return TokenPrice(
        kind,
        raw["provider"],
        raw["model"],
        float(raw["input_per_million"]),
        float(raw["output_per_million"]),
        raw["source"],
        raw["source_date"],
        raw.get("date_note", ""),
        raw.get("confidence", ""),
        raw.get("caution", ""),
    )


def _gpu_price(raw: dict[str, Any]) -> GpuPrice:
    return GpuPrice(
        raw["provider"],
        raw["gpu"],
        raw["pricing"],
        float(raw["per_gpu_hour"]),
        raw["source"],
        raw["source_date"],
        raw.get("instance", ""),
        raw.get("region", ""),
        raw.get("derived", ""),
        raw.get("date_note", ""),
        raw.get("confidence", ""),
        raw.get("caution", ""),
    )


@lru_cache(maxsize=4)
def load_prices(path: Path = PRICES_FILE) -> Prices:
    """The prices shipped with kotae (or those of the TOML file ``path``)."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return Prices(
        tuple(_token_price("api", r) for r in data.get("api", [])),
        tuple(_token_price("hosted", r) for r in data.get("hosted", [])),
        tuple(_gpu_price(r) for r in data.get("gpu", [])),
        str(data.get("meta", {}).get("compiled_on", "")),
    )


def date_floor(source_date: str) -> date | None:
    """The earliest day a source date can mean (``2026-04`` -> 2026-04-01); None if undated."""
    parts = source_date.split("-")
    if not source_date or source_date == UNDATED or not all(p.isdigit() for p in parts):
        return None
    year, month, day = (int(p) for p in [*parts, "1", "1"][:3])
    return date(year, month, day)


def price_age_days(source_date: str, today: date) -> int | None:
    """Days from the source date (its earliest day) to ``today``; None when undated."""
    start = date_floor(source_date)
    return None if start is None else (today - start).days


def is_stale(source_date: str, today: date, max_age_days: int) -> bool:
    """Older than ``max_age_days`` on ``today``, or undated."""
    age = price_age_days(source_date, today)
    return age is None or age > max_age_days


# -- matching names ---------------------------------------------------------------------------
def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def model_names(model: str) -> list[str]:
    """``model`` and, when the catalog knows it, its id and aliases (for matching prices)."""
    names = [model]
    try:
        from kotae.planning.catalog import load_catalog

        entry = load_catalog().find(model)
    except (KotaeError, OSError, ValueError, KeyError):  # no catalog, or not in it
        return names
    return [*names, entry.id, entry.id.rsplit("/", 1)[-1], *entry.aliases]


def matches_model(names: Sequence[str], candidate: str) -> bool:
    """Whether ``candidate`` (a price's or a run's model) names one of ``names``: the
    squashed name (letters and digits only) is part of the candidate's."""
    squashed = _squash(candidate)
    return any(_squash(n) and _squash(n) in squashed for n in names)


def hosted_for(prices: Prices, model: str | None) -> list[TokenPrice]:
    """The hosted open-model prices of ``model`` (every one when None)."""
    if model is None:
        return list(prices.hosted)
    names = model_names(model)
    return [p for p in prices.hosted if matches_model(names, p.model)]


def find_api(prices: Prices, name: str) -> TokenPrice:
    """An API price by model name (``gpt-4o``, ``Claude Sonnet 4``), exact before partial."""
    wanted = _squash(name)
    rows = [*prices.api, *prices.hosted]
    for row in rows:
        if _squash(row.model) == wanted or _squash(row.label) == wanted:
            return row
    partial = [r for r in rows if wanted and wanted in _squash(r.label)]
    if len(partial) == 1:
        return partial[0]
    known = ", ".join(r.model for r in prices.api)
    raise _error("cost_unknown_api", name=name, known=known)


def parse_gpu(text: str) -> tuple[int | None, str]:
    """``2xH100`` -> (2, "H100"); ``L40S`` -> (None, "L40S")."""
    match = re.fullmatch(r"\s*(\d+)\s*[x×*]\s*(.+?)\s*", text)
    if match:
        return int(match.group(1)), match.group(2)
    return None, text.strip()


def gpu_prices_for(prices: Prices, gpu: str) -> list[GpuPrice]:
    """The rental prices of ``gpu`` (every word of it is a word of the price's GPU name:
    ``A100 80GB`` matches ``A100 SXM 80GB``); the newest of each provider, instance and
    pricing when the sheet has several."""
    words = [w for w in re.split(r"[^0-9a-z]+", gpu.casefold()) if w]
    if not words:
        return []
    found: dict[tuple[str, str, str, str], GpuPrice] = {}
    for row in prices.gpu:
        have = set(re.split(r"[^0-9a-z]+", row.gpu.casefold()))
        if not all(w in have for w in words):
            continue
        key = (row.provider, row.instance, row.gpu, row.pricing)
        old = found.get(key)
        if old is None or (date_floor(row.source_date) or date.min) > (
            date_floor(old.source_date) or date.min
        ):
            found[key] = row
    return list(found.values())


# -- volume and throughput ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Volume:
    """Tokens per month."""

    input_tokens: int
    output_tokens: int

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def input_share(self) -> float:
        return self.input_tokens / self.total if self.total else 0.0

    def scaled(self, total: float) -> tuple[float, float]:
        """(input, output) tokens of a volume of ``total`` tokens in this ratio."""
        return total * self.input_share, total * (1 - self.input_share)


_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([kmbg]?)", re.IGNORECASE)
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000, "g": 1_000_000_000}


def parse_tokens(text: str) -> Volume:
    """``IN,OUT`` tokens per month: ``10000000,2000000``, ``10M,2M``, ``10_000_000,500k``."""
    parts = text.replace("_", "").split(",")
    values: list[int] = []
    for part in parts:
        match = _AMOUNT.fullmatch(part.strip())
        if not match:
            break
        values.append(round(float(match.group(1)) * _UNITS[match.group(2).lower()]))
    if len(parts) != 2 or len(values) != 2 or sum(values) == 0:
        raise _error("cost_bad_tokens", text=text)
    return Volume(values[0], values[1])


@dataclass(frozen=True, slots=True)
class Throughput:
    """Tokens per second of the whole deployment: ``decode`` (output), ``prefill`` (input;
    None = not known: input is counted at the decode rate)."""

    decode: float
    prefill: float | None
    source: ThroughputSource
    detail: str = ""

    def seconds(self, input_tokens: float, output_tokens: float) -> float:
        return output_tokens / self.decode + input_tokens / (self.prefill or self.decode)


def throughput_from_runs(runs: Sequence[Any], model: str | None = None) -> Throughput | None:
    """The per-stream rates of the newest finished run (``runs`` newest first, as
    ``Catalog.eval_runs`` gives them) that measured a generator's speed, of ``model`` when
    given (matched against the run's ``[generator] model``)."""
    names = model_names(model) if model else []
    for run in runs:
        if run.status != "done":
            continue
        generator = run.config.get("generator") or {}
        if not generator.get("backend"):
            continue
        served = str(generator.get("model") or generator.get("model_path") or "")
        if names and not matches_model(names, served):
            continue
        decode = _mean(run, "decode_tokens_per_s") or _mean(run, "tokens_per_s")
        if not decode:
            continue
        prefill = _mean(run, "prefill_tokens_per_s")
        detail = f"eval run {run.id} ({run.name}, {served or generator.get('backend')})"
        return Throughput(decode, prefill, "eval_run", detail)
    return None


def _mean(run: Any, name: str) -> float | None:
    metric = run.metrics.get(name)
    if metric is None or metric.n == 0 or not math.isfinite(metric.mean) or metric.mean <= 0:
        return None
    return float(metric.mean)


def throughput_from_sizing(model: str | None, gpu: str | None, gpus: int) -> Throughput | None:
    """The sizing model's bounds (:func:`kotae.planning.sizing.size_on_gpu`, bf16 weights,
    one sequence at a time) for ``model`` of the catalog on ``gpu``: decode per sequence,
    times the copies of the model that ``gpus`` GPUs hold, and prefill; None when the
    sizing model, the catalog or the GPU's specs cannot tell."""
    if not model or not gpu:
        return None
    try:
        from kotae.planning.catalog import load_catalog
        from kotae.planning.gpus import find_gpu
        from kotae.planning.sizing import ModelShape, size_on_gpu

        shape = ModelShape.from_entry(load_catalog().find(model))
        result = size_on_gpu(shape, find_gpu(gpu))
    except (ImportError, KotaeError, OSError, ValueError, KeyError):
        return None
    copies = gpus // result.gpus_used
    decode = result.decode_single.per_sequence_tokens_per_s * copies
    if copies < 1 or not math.isfinite(decode) or decode <= 0:
        return None
    prefill = result.prefill_tokens_per_s
    detail = (
        f"sizing bound of {shape.name} on {result.gpus_used}x {result.gpu.id} "
        f"(bf16, one sequence){f', {copies} copies' if copies > 1 else ''}"
    )
    return Throughput(decode, None if prefill is None else prefill * copies, "sizing", detail)


# -- costs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SelfHosting:
    """A self-hosted deployment. Prices are in the output currency."""

    gpu: str
    gpus: int
    price_per_gpu_hour: float
    throughput: Throughput
    utilization: float = 0.5
    always_on: bool = False
    engineering_per_month: float = 0.0
    provider: str = ""  # "" = a price given on the command line
    pricing: str = ""
    source: str = ""
    source_date: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.utilization <= 1:
            raise _error("cost_bad_utilization", value=self.utilization)
        if self.gpus < 1 or self.price_per_gpu_hour < 0 or self.engineering_per_month < 0:
            raise ValueError("gpus >= 1, prices >= 0")
        if self.throughput.decode <= 0 or (self.throughput.prefill or 1) <= 0:
            raise ValueError("throughput > 0")

    @property
    def floor(self) -> float:
        """What the GPUs cost in a month whatever the volume (0 unless always on)."""
        return HOURS_PER_MONTH * self.gpus * self.price_per_gpu_hour if self.always_on else 0.0

    def hours_needed(self, input_tokens: float, output_tokens: float) -> float:
        seconds = self.throughput.seconds(input_tokens, output_tokens)
        return seconds / 3600 / self.utilization

    def cost_per_token(self, input_share: float) -> float:
        """GPU cost of one token at this input share, beyond the floor."""
        hours = self.hours_needed(input_share, 1 - input_share)
        return hours * self.gpus * self.price_per_gpu_hour

    @property
    def label(self) -> str:
        where = f"{self.provider} {self.pricing}".strip()
        return f"{self.gpus}x {self.gpu}" + (f" · {where}" if where else "")


@dataclass(slots=True)
class CostRow:
    """One option's monthly cost. ``details`` holds how it was computed."""

    kind: Kind
    option: str
    monthly_cost: float
    per_million_tokens: float
    source: str = ""
    source_date: str = ""  # "" = given on the command line
    stale: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def api_cost(volume: Volume, price: TokenPrice, rate: float = 1.0) -> float:
    """Monthly cost of ``volume`` at ``price`` (USD per 1M tokens) × ``rate``."""
    usd = (
        volume.input_tokens * price.input_per_million
        + volume.output_tokens * price.output_per_million
    ) / MILLION
    return usd * rate


def self_hosting_cost(volume: Volume, setup: SelfHosting) -> dict[str, float]:
    """The monthly cost of ``volume`` on ``setup``, with the hours behind it."""
    needed = setup.hours_needed(volume.input_tokens, volume.output_tokens)
    billed = max(needed, HOURS_PER_MONTH) if setup.always_on else needed
    gpu_cost = billed * setup.gpus * setup.price_per_gpu_hour
    return {
        "hours_needed": needed,
        "hours_billed": billed,
        "replicas": max(1, math.ceil(needed / HOURS_PER_MONTH - 1e-9)),
        "gpu_cost": gpu_cost,
        "engineering": setup.engineering_per_month,
        "total": gpu_cost + setup.engineering_per_month,
    }


def break_even_tokens(input_share: float, api_per_token: float, setup: SelfHosting) -> float | None:
    """Monthly tokens (in this input share) where ``setup`` costs what an API charging
    ``api_per_token`` (at this share, output currency) does; None when the API is cheaper
    at any volume. See the module's docstring."""
    per_token = setup.cost_per_token(input_share)
    fixed = setup.floor + setup.engineering_per_month
    if api_per_token <= per_token:
        return 0.0 if fixed == 0 and api_per_token == per_token else None
    if fixed == 0:
        return 0.0
    first = (setup.floor + setup.engineering_per_month) / api_per_token
    if first * per_token <= setup.floor:
        return first
    return setup.engineering_per_month / (api_per_token - per_token)


def api_per_token(price: TokenPrice, input_share: float, rate: float = 1.0) -> float:
    per_million = input_share * price.input_per_million + (1 - input_share) * (
        price.output_per_million
    )
    return per_million / MILLION * rate


@dataclass(slots=True)
class Comparison:
    """Every option's cost for one volume, cheapest first, and the break-even."""

    volume: Volume
    currency: str
    usd_rate: float
    today: str
    max_price_age_days: int
    rows: list[CostRow]
    setups: list[SelfHosting]
    baseline: TokenPrice | None
    break_even: dict[str, Any] | None

    @property
    def stale_count(self) -> int:
        return sum(row.stale for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        setup = self.setups[0] if self.setups else None
        return {
            "tokens_per_month": {
                "input": self.volume.input_tokens,
                "output": self.volume.output_tokens,
            },
            "currency": self.currency,
            "usd_rate": self.usd_rate,
            "today": self.today,
            "max_price_age_days": self.max_price_age_days,
            "stale_prices": self.stale_count,
            "rows": [row.to_dict() for row in self.rows],
            "self_hosting": None if setup is None else _setup_dict(setup),
            "break_even": self.break_even,
        }


def _setup_dict(setup: SelfHosting) -> dict[str, Any]:
    return {
        "gpu": setup.gpu,
        "gpus": setup.gpus,
        "utilization": setup.utilization,
        "always_on": setup.always_on,
        "engineering_per_month": setup.engineering_per_month,
        "throughput": asdict(setup.throughput),
        "hours_per_month": HOURS_PER_MONTH,
    }


def compare(
    volume: Volume,
    *,
    apis: Sequence[TokenPrice],
    setups: Sequence[SelfHosting] = (),
    baseline: TokenPrice | None = None,
    today: date,
    max_price_age_days: int = 180,
    currency: str = "USD",
    usd_rate: float = 1.0,
) -> Comparison:
    """The monthly cost of ``volume`` through each API price (USD × ``usd_rate``) and on
    each self-hosting setup (already in ``currency``), cheapest first; the break-even of
    the cheapest setup against ``baseline``."""
    rows: list[CostRow] = []
    per_million = MILLION / volume.total
    for price in apis:
        cost = api_cost(volume, price, usd_rate)
        details = {
            "provider": price.provider,
            "model": price.model,
            "input_per_million": price.input_per_million * usd_rate,
            "output_per_million": price.output_per_million * usd_rate,
            "confidence": price.confidence,
            "date_note": price.date_note,
        }
        if price.caution:
            details["caution"] = price.caution
        rows.append(
            CostRow(
                price.kind,
                price.label,
                cost,
                cost * per_million,
                price.source,
                price.source_date,
                is_stale(price.source_date, today, max_price_age_days),
                details,
            )
        )
    for setup in setups:
        parts = self_hosting_cost(volume, setup)
        details = {
            "provider": setup.provider,
            "gpu": setup.gpu,
            "gpus": setup.gpus,
            "pricing": setup.pricing,
            "price_per_gpu_hour": setup.price_per_gpu_hour,
            **parts,
        }
        if baseline is not None:
            share = volume.input_share
            details["break_even_tokens"] = break_even_tokens(
                share, api_per_token(baseline, share, usd_rate), setup
            )
        stale = bool(setup.source_date) and is_stale(setup.source_date, today, max_price_age_days)
        rows.append(
            CostRow(
                "self",
                setup.label,
                parts["total"],
                parts["total"] * per_million,
                setup.source,
                setup.source_date,
                stale,
                details,
            )
        )
    rows.sort(key=lambda row: (row.monthly_cost, row.option))
    ordered = sorted(setups, key=lambda s: self_hosting_cost(volume, s)["total"])
    even = None
    if baseline is not None and ordered:
        even = _break_even(volume, baseline, ordered[0], usd_rate)
    return Comparison(
        volume,
        currency,
        usd_rate,
        today.isoformat(),
        max_price_age_days,
        rows,
        ordered,
        baseline,
        even,
    )


def _break_even(
    volume: Volume, baseline: TokenPrice, setup: SelfHosting, rate: float
) -> dict[str, Any]:
    share = volume.input_share
    api = api_per_token(baseline, share, rate)
    tokens = break_even_tokens(share, api, setup)
    return {
        "baseline": baseline.label,
        "self_hosting": setup.label,
        "input_share": share,
        "tokens_per_month": tokens,
        "api_per_million": api * MILLION,
        "gpu_per_million": setup.cost_per_token(share) * MILLION,
        "fixed_per_month": setup.floor + setup.engineering_per_month,
        "self_hosting_cheaper_now": tokens is not None and volume.total >= tokens,
    }


# -- chart ----------------------------------------------------------------------------------
_COLORS = {"api": "#4e79a7", "hosted": "#59a14f", "self": "#e15759"}


def cost_chart_svg(
    rows: Sequence[CostRow],
    currency: str = "USD",
    language: str = "en",
    title: str | None = None,
) -> str:
    """A horizontal bar chart of the monthly costs (inline SVG, no script): one bar per
    row in the order given, coloured by kind, a stale price's bar hatched and marked."""
    label_w, bar_w, value_w, row_h, top = 300, 320, 130, 22, 48
    width = label_w + bar_w + value_w
    height = top + row_h * len(rows) + 16
    most = max((row.monthly_cost for row in rows), default=0.0) or 1.0
    heading = title or t("cost_chart_title", language)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(heading)}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{html.escape(heading)}</title>",
        '<defs><pattern id="kotae-cost-stale" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="3"/></pattern></defs>',
        f'<text x="0" y="16" font-weight="bold">{html.escape(heading)}</text>',
    ]
    x = 0
    for kind, color in _COLORS.items():
        name = html.escape(t(f"cost_kind_{kind}", language))
        out.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="35">{name}</text>')
        x += 14 + 12 * len(name) + 16
    stale_word = html.escape(t("cost_stale", language))
    out.append(f'<rect x="{x}" y="26" width="10" height="10" fill="url(#kotae-cost-stale)"/>')
    out.append(f'<text x="{x + 14}" y="35">{stale_word}</text>')
    for i, row in enumerate(rows):
        y = top + i * row_h
        length = max(1.0, bar_w * row.monthly_cost / most) if row.monthly_cost > 0 else 0.0
        color = _COLORS[row.kind]
        label = row.option if len(row.option) <= 42 else row.option[:41] + "…"
        out.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{html.escape(label)}'
            f"<title>{html.escape(row.option)}</title></text>"
        )
        out.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
            f'fill="{color}"/>'
        )
        if row.stale:
            out.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
                'fill="url(#kotae-cost-stale)" opacity="0.6"/>'
            )
        value = money(row.monthly_cost, currency) + (" *" if row.stale else "")
        out.append(f'<text x="{label_w + length + 4:.1f}" y="{y + 15}">{html.escape(value)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def money(amount: float, currency: str) -> str:
    """``USD 1,234.56``; whole units for currencies without cents (JPY, KRW)."""
    places = 0 if currency.upper() in {"JPY", "KRW"} else 2
    return f"{currency.upper()} {amount:,.{places}f}"
