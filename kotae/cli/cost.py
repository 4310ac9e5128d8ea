"""``kotae cost``: a month of tokens through APIs, hosted open models and one's own GPUs,
cheapest first, with the break-even volume (:mod:`kotae.planning.tco`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import (
    JsonOption,
    KbOption,
    check_output,
    console,
    fail,
    print_json,
    print_table,
)
from kotae.config import CONFIG_FILE, Settings, load_settings
from kotae.messages import t, ui_language
from kotae.planning import tco


def register(app: typer.Typer) -> None:
    """Add ``kotae cost`` to ``app`` (the root app)."""
    app.command("cost")(cost)


def cost(
    tokens_per_month: Annotated[
        str,
        typer.Option(
            "--tokens-per-month",
            metavar="IN,OUT",
            help="Input and output tokens a month, e.g. 10M,2M or 10000000,2000000.",
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="The open model: its hosted API prices, its eval runs, its sizing bound.",
        ),
    ] = None,
    gpu: Annotated[
        str | None,
        typer.Option(
            "--gpu",
            metavar="GPU",
            help="Self-host on this GPU (L40S, H100, 2xA100...): its rental prices, or "
            "--price-per-hour.",
        ),
    ] = None,
    price_per_hour: Annotated[
        float | None,
        typer.Option(
            "--price-per-hour",
            min=0,
            metavar="PRICE",
            help="Price of one GPU-hour, in --currency (default: the shipped rental prices).",
        ),
    ] = None,
    gpus: Annotated[
        int | None, typer.Option("--gpus", min=1, metavar="N", help="GPUs (default 1).")
    ] = None,
    utilization: Annotated[
        float,
        typer.Option(
            "--utilization",
            metavar="SHARE",
            help="Share of the paid GPU hours that do work (0 to 1).",
        ),
    ] = 0.5,
    throughput: Annotated[
        float | None,
        typer.Option(
            "--throughput",
            metavar="TOK_S",
            help="Output tokens/s of the whole deployment (default: the latest eval run, "
            "else the sizing bound).",
        ),
    ] = None,
    prefill_throughput: Annotated[
        float | None,
        typer.Option(
            "--prefill-throughput",
            metavar="TOK_S",
            help="Input tokens/s (default: measured, else the output rate).",
        ),
    ] = None,
    always_on: Annotated[
        bool,
        typer.Option(
            "--always-on/--busy-hours-only",
            help="Rented GPUs run all month: at least 730 h per GPU are billed (the default). "
            "--busy-hours-only bills only the hours the tokens need (serverless, spot).",
        ),
    ] = True,
    engineering_per_month: Annotated[
        float | None,
        typer.Option(
            "--engineering-per-month",
            min=0,
            metavar="AMOUNT",
            help="Engineering overhead of self-hosting a month, in --currency.",
        ),
    ] = None,
    engineering_fte: Annotated[
        float | None,
        typer.Option(
            "--engineering-fte",
            min=0,
            metavar="FTE",
            help="Engineering overhead as full-time engineers (with --fte-monthly-cost).",
        ),
    ] = None,
    fte_monthly_cost: Annotated[
        float | None,
        typer.Option(
            "--fte-monthly-cost",
            min=0,
            metavar="AMOUNT",
            help="What one full-time engineer costs a month, in --currency.",
        ),
    ] = None,
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline", metavar="MODEL", help="The API the break-even is computed against."
        ),
    ] = "gpt-4o",
    currency: Annotated[
        str, typer.Option("--currency", metavar="CODE", help="Currency of the output.")
    ] = "USD",
    usd_rate: Annotated[
        float | None,
        typer.Option(
            "--usd-rate", metavar="RATE", help="Units of --currency per USD (not for USD)."
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option("--chart", metavar="FILE", help="Also write the costs as an SVG bar chart."),
    ] = None,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Monthly cost of APIs, hosted open models and self-hosting, cheapest first, and the
    break-even volume of self-hosting against --baseline. Prices carry their source date;
    stale ones are flagged.

    Example: kotae cost --tokens-per-month 10M,2M --gpu L40S --throughput 800
    """
    check_output(chart, "--chart")
    volume = tco.parse_tokens(tokens_per_month)
    currency = currency.strip().upper() or "USD"
    rate = _usd_rate(currency, usd_rate)
    if not 0 < utilization <= 1:
        fail(t("cost_bad_utilization", value=utilization))
    speeds = (("--throughput", throughput), ("--prefill-throughput", prefill_throughput))
    for option, value in speeds:
        if value is not None and not value > 0:
            fail(t("cost_not_positive", option=option, value=value))
    engineering = _engineering(engineering_per_month, engineering_fte, fte_monthly_cost)
    if price_per_hour is not None and gpu is None:
        fail(t("cost_price_needs_gpu"))
    settings, runs = _settings_and_runs(kb)
    prices = tco.load_prices()
    reference = tco.find_api(prices, baseline)
    hosted = tco.hosted_for(prices, model)
    setups: list[tco.SelfHosting] = []
    if gpu is not None:
        count, name = _gpu_count(gpu, gpus)
        speed = _throughput(throughput, prefill_throughput, runs, model, name, count)
        for provider, pricing, hourly, source, source_date in _gpu_offers(
            prices, name, price_per_hour, rate
        ):
            setups.append(
                tco.SelfHosting(
                    name,
                    count,
                    hourly,
                    speed,
                    utilization,
                    always_on,
                    engineering,
                    provider,
                    pricing,
                    source,
                    source_date,
                )
            )
    result = tco.compare(
        volume,
        apis=[*prices.api, *hosted],
        setups=setups,
        baseline=reference,
        today=date.today(),
        max_price_age_days=settings.planning.max_price_age_days,
        currency=currency,
        usd_rate=rate,
    )
    if chart is not None:
        chart.write_text(tco.cost_chart_svg(result.rows, currency, ui_language()), encoding="utf-8")
    if json_out:
        print_json(result.to_dict())
        return
    _print(result, model, hosted)
    if chart is not None:
        console.print(escape(t("wrote", path=chart)))


def _usd_rate(currency: str, usd_rate: float | None) -> float:
    if usd_rate is not None and not usd_rate > 0:
        fail(t("cost_not_positive", option="--usd-rate", value=usd_rate))
    if currency == "USD":
        return 1.0 if usd_rate is None else usd_rate
    if usd_rate is None:
        fail(t("cost_need_rate", currency=currency))
    return usd_rate


def _engineering(amount: float | None, fte: float | None, fte_cost: float | None) -> float:
    if amount is not None and (fte is not None or fte_cost is not None):
        fail(t("cost_engineering_twice"))
    if fte is not None:
        if fte_cost is None:
            fail(t("cost_fte_needs_cost"))
        return fte * fte_cost
    if fte_cost is not None:
        fail(t("cost_fte_needs_cost"))
    return amount or 0.0


def _gpu_count(gpu: str, gpus: int | None) -> tuple[int, str]:
    prefix, name = tco.parse_gpu(gpu)
    if prefix is not None and gpus is not None and prefix != gpus:
        fail(t("cost_gpus_twice", gpu=gpu, prefix=prefix, gpus=gpus))
    count = gpus or prefix or 1
    if count < 1 or not name:
        fail(t("cost_not_positive", option="--gpu", value=gpu))
    return count, name


def _settings_and_runs(kb: str | None) -> tuple[Settings, list[object]]:
    """The knowledge base's settings and eval runs (newest first) when there is one here,
    else the settings of the environment and no runs."""
    from kotae.kb import DB_FILE, KnowledgeBase, find_kb_dir

    path = find_kb_dir(kb)
    if not (path / DB_FILE).is_file():
        return load_settings(None), []
    settings = load_settings(path / CONFIG_FILE)
    base = KnowledgeBase(path, settings, sync=False)
    try:
        return settings, list(base.catalog.eval_runs(limit=100))
    finally:
        base.close()


def _throughput(
    decode: float | None,
    prefill: float | None,
    runs: list[object],
    model: str | None,
    gpu: str,
    gpus: int,
) -> tco.Throughput:
    if decode is not None:
        return tco.Throughput(decode, prefill, "parameter", "--throughput")
    found = tco.throughput_from_runs(runs, model) or tco.throughput_from_sizing(model, gpu, gpus)
    if found is None:
        fail(t("cost_no_throughput"))
    if prefill is not None:
        return tco.Throughput(found.decode, prefill, found.source, found.detail)
    return found


def _gpu_offers(
    prices: tco.Prices, name: str, price_per_hour: float | None, rate: float
) -> list[tuple[str, str, float, str, str]]:
    """(provider, pricing, price per GPU-hour in the output currency, source, date)."""
    if price_per_hour is not None:
        return [("", "", price_per_hour, "", "")]
    offers = tco.gpu_prices_for(prices, name)
    if not offers:
        known = sorted({row.gpu.split()[0] for row in prices.gpu})
        fail(t("cost_unknown_gpu", gpu=name, known=", ".join(known)))
    return [
        (
            row.provider if not row.instance else f"{row.provider} {row.instance}",
            row.pricing,
            row.per_gpu_hour * rate,
            row.source,
            row.source_date,
        )
        for row in offers
    ]


def _tokens(value: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:,.1f}{unit}"
    return f"{value:,.0f}"


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _print(result: tco.Comparison, model: str | None, hosted: list[tco.TokenPrice]) -> None:
    currency = result.currency
    rows = []
    for row in result.rows:
        when = row.source_date or t("cost_given")
        if when == tco.UNDATED:
            when = t("cost_undated")
        rows.append(
            [
                f"{t(f'cost_kind_{row.kind}')}: {row.option}",
                tco.money(row.monthly_cost, currency),
                tco.money(row.per_million_tokens, currency),
                when,
                t("cost_stale") if row.stale else "",
            ]
        )
    print_table(["option", "monthly cost", "per 1M tokens", "source date", "stale"], rows)
    lines: list[str] = []
    if model is not None and not hosted:
        lines.append(t("cost_no_hosted", model=model))
    if result.setups:
        lines += _self_hosting_lines(result)
    else:
        lines.append(t("cost_no_self_hint"))
    if result.stale_count:
        lines.append(t("cost_stale_notice", n=result.stale_count, days=result.max_price_age_days))
    for line in lines:
        console.print(escape(line))


def _self_hosting_lines(result: tco.Comparison) -> list[str]:
    setup = result.setups[0]
    speed = setup.throughput
    prefill = (
        t("cost_prefill", prefill=_rate(speed.prefill))
        if speed.prefill
        else t("cost_prefill_unknown")
    )
    lines = [
        t(
            f"cost_throughput_{speed.source}",
            decode=_rate(speed.decode),
            prefill=prefill,
            detail=speed.detail,
        )
    ]
    volume = result.volume
    parts = tco.self_hosting_cost(volume, setup)
    money = result.currency
    lines.append(
        t(
            "cost_model_line",
            setup=setup.label,
            output=_tokens(volume.output_tokens),
            input=_tokens(volume.input_tokens),
            decode=_rate(speed.decode),
            prefill=_rate(speed.prefill or speed.decode),
            utilization=f"{setup.utilization:g}",
            hours=f"{parts['hours_needed']:,.1f}",
            billed=f"{parts['hours_billed']:,.1f}",
            gpus=setup.gpus,
            price=tco.money(setup.price_per_gpu_hour, money),
            gpu_cost=tco.money(parts["gpu_cost"], money),
            engineering=tco.money(parts["engineering"], money),
        )
    )
    lines.append(t("cost_always_on") if setup.always_on else t("cost_pay_per_use"))
    even = result.break_even
    if even is None:
        return lines
    tokens = even["tokens_per_month"]
    if tokens is None:
        lines.append(
            t(
                "cost_break_even_never",
                baseline=even["baseline"],
                api=tco.money(even["api_per_million"], money),
                gpu=tco.money(even["gpu_per_million"], money),
                setup=even["self_hosting"],
            )
        )
    elif tokens == 0:
        lines.append(t("cost_break_even_zero", baseline=even["baseline"], setup=setup.label))
    else:
        verdict = t("cost_cheaper") if even["self_hosting_cheaper_now"] else t("cost_dearer")
        lines.append(
            t(
                "cost_break_even",
                baseline=even["baseline"],
                tokens=_tokens(tokens),
                share=f"{even['input_share']:.0%}",
                setup=even["self_hosting"],
                now=_tokens(volume.total),
                verdict=verdict,
            )
        )
    return lines
