"""``kotae models recommend``: the catalog's models ranked for a use case, languages and a
GPU, each criterion with its score and reason (:mod:`kotae.planning.recommend`)."""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import JsonOption, KbOption, console, fail, print_json, print_table
from kotae.config import CONFIG_FILE, Settings, load_settings
from kotae.errors import ConfigError
from kotae.evaluation.model import RunSummary
from kotae.kb import DB_FILE, KnowledgeBase, find_kb_dir
from kotae.messages import header, t
from kotae.planning import recommend as rec
from kotae.planning import tco
from kotae.planning.catalog import CATALOG_FILE, ModelCatalog, load_catalog
from kotae.planning.gpus import parse_gpu_option
from kotae.planning.sizing import KV_BYTES_PER_ELEMENT, WEIGHT_BYTES_PER_PARAM


def register(models_app: typer.Typer) -> None:
    """Add ``recommend`` to the ``kotae models`` group."""
    models_app.command("recommend")(recommend)


def recommend(
    use_case: Annotated[
        str,
        typer.Option(
            "--use-case",
            metavar="NAME",
            help=f"The use case: {', '.join(rec.USE_CASES)} (sets the context, concurrency "
            "and languages).",
        ),
    ] = "knowledge-search",
    languages: Annotated[
        str | None,
        typer.Option(
            "--languages",
            metavar="CODES",
            help="Languages served, e.g. ja or ja,en (default: the use case's). With ja the "
            "japanese weight counts twice.",
        ),
    ] = None,
    gpu: Annotated[
        str | None,
        typer.Option(
            "--gpu",
            metavar="[N×]GPU",
            help="The GPUs to fit in, e.g. 1xL40S or 2xH100 (default: fit not checked).",
        ),
    ] = None,
    context: Annotated[
        int | None,
        typer.Option(
            "--context",
            min=1,
            metavar="TOKENS",
            help="Tokens of each request (default: the use case's).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            metavar="N",
            help="Requests served at once (default: the use case's).",
        ),
    ] = None,
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype", metavar="DTYPE", help=f"Weights: {', '.join(WEIGHT_BYTES_PER_PARAM)}."
        ),
    ] = "bf16",
    kv_dtype: Annotated[
        str,
        typer.Option(
            "--kv-dtype", metavar="DTYPE", help=f"KV cache: {', '.join(KV_BYTES_PER_ELEMENT)}."
        ),
    ] = "bf16",
    max_monthly_cost: Annotated[
        float | None,
        typer.Option(
            "--max-monthly-cost",
            min=0,
            metavar="USD",
            help="Leave out models whose GPUs cost more a month (always on, the cheapest "
            "shipped rental price), in USD.",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            metavar="NAME=W,...",
            help="Criterion weights, e.g. performance=0.3,license=0.2,community=0.1,"
            "finetune=0.1,japanese=0.3 (those not named keep their default).",
        ),
    ] = None,
    top: Annotated[
        int,
        typer.Option("--top", min=1, metavar="N", help="Ranked models shown with their reasons."),
    ] = 10,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Rank the catalog's models on performance, license, community, fine-tuning ease and
    Japanese, each score with its reason and sources; leave out those whose license is
    blocked for [organization], that do not fit --gpu, or that cost more than
    --max-monthly-cost. The knowledge base's own eval runs override the catalog's
    performance for the models they measured ("measured").

    Example: kotae models recommend --use-case knowledge-search --languages ja --gpu 1xL40S
    """
    case = rec.find_use_case(use_case)
    langs = rec.parse_languages(languages) if languages is not None else case.languages
    parsed_weights = rec.parse_weights(weights)
    if max_monthly_cost is not None and gpu is None:
        fail(t("rec_cost_needs_gpu"))
    hardware = None
    if gpu is not None:
        count, spec = parse_gpu_option(gpu)
        hardware = rec.Hardware(spec, count, dtype, kv_dtype)
    request = rec.Request(
        case,
        langs,
        context or case.context,
        concurrency or case.concurrency,
        parsed_weights,
        hardware,
        max_monthly_cost,
    )
    settings, runs = _settings_and_runs(kb)
    prices = tco.load_prices()
    no_price = hardware is not None and rec.cheapest_price(prices, hardware.gpu) is None
    if max_monthly_cost is not None and hardware is not None and no_price:
        fail(t("rec_no_price", gpu=hardware.gpu.id))
    ranking = rec.recommend(
        _catalog(),
        settings.organization,
        request,
        runs,
        prices,
        date.today(),
        settings.planning.max_price_age_days,
    )
    if json_out:
        print_json(ranking.to_dict())
        return
    _print(ranking, top)


def _catalog() -> ModelCatalog:
    try:
        return load_catalog()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise ConfigError(
            t("license_no_catalog", "en", path=CATALOG_FILE, detail=detail),
            message_ja=t("license_no_catalog", "ja", path=CATALOG_FILE, detail=detail),
        ) from exc


def _settings_and_runs(kb: str | None) -> tuple[Settings, list[RunSummary]]:
    """The settings of the knowledge base (or of the current folder's kotae.toml, else the
    defaults with KOTAE_* variables), and its eval runs, newest first."""
    path = find_kb_dir(kb)
    config = path / CONFIG_FILE
    settings = load_settings(config if config.is_file() else None)
    if not (path / DB_FILE).is_file():
        return settings, []
    base = KnowledgeBase(path, settings, sync=False)
    try:
        return settings, list(base.catalog.eval_runs(limit=200))
    finally:
        base.close()


def _score(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def _fit_cell(row: rec.Row, ranking: rec.Ranking) -> str:
    fit, hw = row.fit, ranking.request.hardware
    if fit.status == "fits" and hw is not None:
        return t("rec_fit_fits", used=fit.gpus_used, gpu=hw.gpu.id, vram=f"{fit.vram_gb:,.1f}")
    if fit.status == "unknown":
        return t("rec_fit_unknown")
    return t("rec_fit_not_checked")


def _fit_reason(row: rec.Row, ranking: rec.Ranking) -> str:
    fit, hw = row.fit, ranking.request.hardware
    if fit.status == "fits" and hw is not None:
        return t(
            "rec_why_fit_fits",
            used=fit.gpus_used,
            gpu=hw.gpu.id,
            vram=f"{fit.vram_gb:,.1f}",
            usable=f"{fit.usable_gb:,.1f}",
        )
    if fit.status == "unknown":
        return t("rec_why_fit_unknown", facts=", ".join(fit.missing))
    return t("rec_fit_not_checked")


def _note(row: rec.Row) -> str:
    notes = []
    if row.measured:
        notes.append(t("rec_note_measured"))
    if row.fit.status == "unknown":
        notes.append(t("rec_note_fit_unknown"))
    if row.known_weight < rec.MIN_KNOWN_WEIGHT:
        notes.append(t("rec_note_thin"))
    return ", ".join(notes)


def _print(ranking: rec.Ranking, top: int) -> None:
    say = console.print
    req = ranking.request
    hw = req.hardware
    gpu = t("rec_no_gpu") if hw is None else f"{hw.count}× {hw.gpu.id} ({hw.dtype})"
    say(
        escape(
            t(
                "rec_heading",
                use_case=req.use_case.name,
                context=f"{req.context:,}",
                concurrency=req.concurrency,
                languages=",".join(req.languages),
                gpu=gpu,
            )
        )
    )
    weights = ", ".join(f"{n}={w:g}" for n, w in req.effective_weights.items())
    boost = t("rec_boost") if "ja" in req.languages else ""
    say(escape(t("rec_weights", weights=weights, boost=boost)))
    shown = ranking.ranked[:top]
    if not ranking.ranked:
        say(escape(t("rec_none_ranked")))
    else:
        rows = [
            [
                str(row.rank),
                row.model,
                _score(row.total),
                *(_score(row.criteria[n].score) for n in rec.CRITERIA),
                f"{row.known_weight:.0%}",
                _fit_cell(row, ranking),
                "?" if row.monthly_cost is None else f"{row.monthly_cost:,.0f}",
                t(f"license_verdict_{row.license_verdict}"),
                _note(row),
            ]
            for row in shown
        ]
        print_table(
            [
                "rank",
                "model",
                "total",
                "performance",
                "license",
                "community",
                "finetune",
                "japanese",
                "known",
                "fit",
                "USD/month",
                "verdict",
                "note",
            ],
            rows,
        )
        if len(ranking.ranked) > len(shown):
            say(escape(t("rec_more", n=len(ranking.ranked) - len(shown))))
    _print_notes(ranking)
    if shown:
        say("")
        say(escape(t("rec_why")) + ":")
        for row in shown:
            say(escape(f"{row.rank}. {row.model}"))
            for name in rec.CRITERIA:
                criterion = row.criteria[name]
                label = header(name)
                say(escape(f"   {label} {_score(criterion.score)}: {criterion.reason()}"))
            say(escape("   " + t("rec_why_fit", detail=_fit_reason(row, ranking))))
    if ranking.excluded:
        say("")
        say(escape(t("rec_excluded_heading")) + ":")
        for row in ranking.excluded:
            reasons = "; ".join(e.message() for e in row.exclusions)
            say(escape(f"  - {row.model}: {reasons}"))


def _print_notes(ranking: rec.Ranking) -> None:
    say = console.print
    lines = [t("rec_renormalized"), t("rec_catalog_perf")]
    measured = [row.model for row in ranking.ranked if row.measured]
    measured += [row.model for row in ranking.excluded if row.measured]
    if measured:
        lines.append(t("rec_measured_notice", models=", ".join(measured)))
    hw, price = ranking.request.hardware, ranking.price
    if hw is not None and price is None:
        lines.append(t("rec_no_price_note", gpu=hw.gpu.id))
    elif price is not None:
        provider = f"{price.provider} {price.instance}".strip()
        line = t(
            "rec_price",
            price=tco.money(price.per_gpu_hour, "USD"),
            provider=provider,
            pricing=price.pricing,
            date=price.source_date,
        )
        lines.append(line + ("; " + t("rec_price_stale") if ranking.price_stale else ""))
    if not ranking.organization_described:
        lines.append(t("rec_org_none"))
    for line in lines:
        say(escape(line))
