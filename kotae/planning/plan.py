"""The adoption plan (``kotae plan``): one report, in Japanese or English, as Markdown or
self-contained HTML, put together from the knowledge base's ``kotae.toml`` and eval runs and
from the planning modules, without computing anything of its own:

1. the use case and its KPIs, with the latest finished eval run's verdicts
   (:func:`kotae.evaluation.report.evaluate_kpis`);
2. the recommended models (:mod:`kotae.planning.recommend`) and their license obligations
   (:func:`kotae.planning.licenses.check_license`);
3. hardware and cost against GPT-4o, with the break-even (:mod:`kotae.planning.tco`);
4. the PoC plan: the eval set and the success criteria;
5. the security and governance checklist (:mod:`kotae.planning.governance`);
6. the operations plan.

Each section says where its figures come from; an input that is not given is shown as
"not given", with how to give it, rather than failing. The tokens a month default to
:data:`DEFAULT_TOKENS` (10M input, 2M output: about 1,000 questions a working day of
~450 input and ~90 output tokens each, the ratio of a RAG answer that reads passages and
writes a short answer); the plan says when the default was used.
"""

from __future__ import annotations

import html
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from kotae.config import Settings
from kotae.evaluation.model import QuestionResult, RunSummary
from kotae.evaluation.report import (
    PERFORMANCE_METRICS,
    QUALITY_METRICS,
    KpiVerdict,
    evaluate_kpis,
)
from kotae.messages import t
from kotae.planning import governance, tco
from kotae.planning import recommend as rec
from kotae.planning.catalog import ModelCatalog
from kotae.planning.gpus import GpuSpec
from kotae.planning.licenses import check_license

DATA_DIR = Path(__file__).parent / "data"
USE_CASE_DIR = Path(__file__).parent.parent / "use_cases"
HTML_TEMPLATE = "plan.html.j2"
DEFAULT_TOKENS = "10M,2M"
BASELINE = "gpt-4o"
TOP_MODELS = 3
UTILIZATION = 0.5  # kotae cost's default
SECTIONS = ("use_case", "models", "cost", "poc", "governance", "operations")
FORMATS = ("html", "markdown")
EVAL_MEASURED = (
    *QUALITY_METRICS,
    *PERFORMANCE_METRICS,
    "p50_total_ms",
    "p95_total_ms",
    "cost_per_1000",
)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the plan is made from: all of it read or parsed by the caller."""

    kb_path: Path
    settings: Settings
    runs: Sequence[RunSummary]  # newest first
    results: Sequence[QuestionResult]  # of the latest finished run
    catalog: ModelCatalog
    prices: tco.Prices
    volume: tco.Volume
    volume_given: bool
    gpu: tuple[int, GpuSpec] | None = None
    assessment: governance.Assessment | None = None
    governance_file: Path | None = None
    today: date = field(default_factory=date.today)


@dataclass(slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]]


@dataclass(slots=True)
class Section:
    id: str
    title: str
    sources: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # a checklist
    missing: list[str] = field(default_factory=list)  # "not given: how to give it"
    svg: str = ""


@dataclass(slots=True)
class Plan:
    language: str
    title: str
    subtitle: str
    created: str
    sections: list[Section]


def latest_run(runs: Sequence[RunSummary]) -> RunSummary | None:
    """The newest finished run (``runs`` newest first)."""
    return next((run for run in runs if run.status == "done"), None)


def template_of(settings: Settings) -> str | None:
    """The use case template (kotae/use_cases/NAME.toml) whose name ``[use_case]`` has."""
    name = settings.use_case.name.strip()
    if not name:
        return None
    for path in sorted(USE_CASE_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("use_case", {}).get("name") == name:
            return path.stem
    return None


def build(inputs: Inputs, language: str) -> Plan:
    """The plan's six sections, in ``language`` (ja or en)."""
    lang = "ja" if language == "ja" else "en"
    run = latest_run(inputs.runs)
    verdicts = (
        evaluate_kpis(inputs.settings.use_case.model_dump(), run, inputs.results) if run else []
    )
    case_name = template_of(inputs.settings)
    case = rec.find_use_case(case_name or "knowledge-search")
    ranking = _ranking(inputs, case)
    sections = [
        _use_case(inputs, run, verdicts, lang),
        _models(inputs, ranking, case_name, lang),
        _cost(inputs, ranking, lang),
        _poc(inputs, run, verdicts, lang),
        _governance(inputs, lang),
        _operations(inputs, lang),
    ]
    title = inputs.settings.use_case.name or inputs.kb_path.name
    return Plan(
        lang,
        t("plan_title", lang),
        t("plan_subtitle", lang, name=title, kb=inputs.kb_path),
        inputs.today.isoformat(),
        sections,
    )


def _section(key: str, lang: str) -> Section:
    return Section(key, t(f"plan_h_{key}", lang))


def _not_given(what: str, how: str, lang: str) -> str:
    return t("plan_not_given", lang, what=what, how=how)


def _run_source(run: RunSummary, lang: str) -> str:
    return t(
        "plan_src_run",
        lang,
        id=run.id,
        name=run.name,
        set=run.set_name,
        n=run.n_questions,
        date=run.created_at[:10],
    )


def _verdict(verdict: KpiVerdict, lang: str) -> str:
    return t(
        {True: "plan_kpi_met", False: "plan_kpi_missed", None: "plan_kpi_unmeasured"}[
            verdict.passed
        ],
        lang,
    )


def _value(value: float | None, lang: str) -> str:
    return t("plan_kpi_unmeasured", lang) if value is None else f"{value:.3g}"


# -- 1. the use case and its KPIs -----------------------------------------------------------
def _use_case(
    inputs: Inputs, run: RunSummary | None, verdicts: list[KpiVerdict], lang: str
) -> Section:
    section = _section("use_case", lang)
    use_case = inputs.settings.use_case
    section.sources.append(t("plan_src_config", lang, path=inputs.kb_path / "kotae.toml"))
    if use_case.name or use_case.purpose:
        rows = [
            [t("plan_uc_name", lang), use_case.name or "-"],
            [t("plan_uc_purpose", lang), use_case.purpose or "-"],
            [t("plan_uc_users", lang), use_case.users or "-"],
        ]
        section.tables.append(Table([t("plan_col_item", lang), t("plan_col_value", lang)], rows))
    else:
        section.missing.append(
            _not_given(t("plan_what_use_case", lang), t("plan_how_use_case", lang), lang)
        )
    if not use_case.kpis:
        section.missing.append(_not_given("KPI", t("plan_how_use_case", lang), lang))
        return section
    if run is None:
        section.missing.append(_not_given(t("plan_what_run", lang), t("plan_how_run", lang), lang))
    else:
        section.sources.append(_run_source(run, lang) + " — " + t("plan_measured", lang))
    rows = []
    for kpi in use_case.kpis:
        found = next((v for v in verdicts if v.name == kpi.name), None)
        rows.append(
            [
                kpi.name,
                f"{kpi.op} {kpi.target:g}",
                _value(found.value if found else None, lang),
                _verdict(found, lang) if found else t("plan_kpi_no_run", lang),
            ]
        )
    columns = ["KPI", t("plan_col_target", lang), t("plan_col_measured", lang)]
    section.tables.append(Table([*columns, t("plan_col_verdict", lang)], rows))
    return section


# -- 2. the recommended models and their license obligations --------------------------------
def _ranking(inputs: Inputs, case: rec.UseCase) -> rec.Ranking:
    hardware = None
    if inputs.gpu is not None:
        count, spec = inputs.gpu
        hardware = rec.Hardware(spec, count)
    request = rec.Request(
        case, case.languages, case.context, case.concurrency, rec.parse_weights(None), hardware
    )
    return rec.recommend(
        inputs.catalog,
        inputs.settings.organization,
        request,
        inputs.runs,
        inputs.prices,
        inputs.today,
        inputs.settings.planning.max_price_age_days,
    )


def _models(inputs: Inputs, ranking: rec.Ranking, case_name: str | None, lang: str) -> Section:
    section = _section("models", lang)
    req = ranking.request
    section.sources.append(t("plan_src_catalog", lang))
    if case_name is None:
        section.paragraphs.append(t("plan_uc_default", lang, name=req.use_case.name))
    section.paragraphs.append(
        t(
            "plan_models_request",
            lang,
            use_case=req.use_case.name,
            context=f"{req.context:,}",
            concurrency=req.concurrency,
            languages=",".join(req.languages),
        )
    )
    if req.hardware is None:
        section.missing.append(_not_given("--gpu", t("plan_how_gpu", lang), lang))
    measured = [row.model for row in ranking.ranked if row.measured]
    if measured:
        section.sources.append(t("plan_src_measured_models", lang, models=", ".join(measured)))
    if not ranking.organization_described:
        section.missing.append(_not_given("[organization]", t("plan_how_organization", lang), lang))
    top = ranking.ranked[:TOP_MODELS]
    if not top:
        section.paragraphs.append(t("rec_none_ranked", lang))
        return section
    rows = []
    for row in top:
        score = "?" if row.total is None else f"{row.total:.2f}"
        cost = "?" if row.monthly_cost is None else f"{row.monthly_cost:,.0f}"
        origin = t("plan_measured", lang) if row.measured else t("plan_catalog", lang)
        rows.append(
            [
                str(row.rank),
                row.model,
                score,
                t(f"license_verdict_{row.license_verdict}", lang),
                _fit(row, ranking, lang),
                cost,
                origin,
            ]
        )
    columns = [
        t("plan_col_rank", lang),
        t("plan_col_model", lang),
        t("plan_col_score", lang),
        t("plan_col_license", lang),
        t("plan_col_fit", lang),
        t("plan_col_usd_month", lang),
        t("plan_col_performance_from", lang),
    ]
    section.tables.append(Table(columns, rows))
    for row in top:
        report = check_license(
            inputs.catalog.find(row.model), inputs.settings.organization, inputs.catalog
        )
        name = report.license_name or "?"
        found = list(
            {
                item.message(lang): item
                for item in (*report.blockers, *report.obligations, *report.reviews)
            }.values()
        )
        if not found:
            section.items.append(t("plan_license_none", lang, model=row.model, license=name))
        for item in found:
            kind = t(f"plan_license_{item.status}", lang)
            where = ", ".join(x for x in (item.source, item.date) if x)
            section.items.append(
                f"{row.model} ({name}) — {kind}: {item.message(lang)}"
                + (f" [{where}]" if where else "")
            )
    section.paragraphs.append(t("license_disclaimer", lang))
    return section


def _fit(row: rec.Row, ranking: rec.Ranking, lang: str) -> str:
    fit, hw = row.fit, ranking.request.hardware
    if fit.status == "fits" and hw is not None:
        return t(
            "rec_fit_fits", lang, used=fit.gpus_used, gpu=hw.gpu.id, vram=f"{fit.vram_gb:,.1f}"
        )
    if fit.status == "unknown":
        return t("rec_fit_unknown", lang)
    return t("rec_fit_not_checked", lang)


# -- 3. hardware and cost against GPT-4o -----------------------------------------------------
def _tokens(value: float) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:,.1f}{unit}"
    return f"{value:,.0f}"


def _cost(inputs: Inputs, ranking: rec.Ranking, lang: str) -> Section:
    section = _section("cost", lang)
    volume = inputs.volume
    key = "plan_volume_given" if inputs.volume_given else "plan_volume_default"
    section.paragraphs.append(
        t(key, lang, input=_tokens(volume.input_tokens), output=_tokens(volume.output_tokens))
    )
    prices = inputs.prices
    section.sources.append(t("plan_src_prices", lang, date=prices.compiled_on or "?"))
    baseline = tco.find_api(prices, BASELINE)
    top = _cost_model(inputs, ranking)
    hosted = tco.hosted_for(prices, top)
    setups: list[tco.SelfHosting] = []
    if inputs.gpu is None:
        section.missing.append(_not_given("--gpu", t("plan_how_gpu", lang), lang))
    else:
        count, spec = inputs.gpu
        setup = _setup(inputs, spec, count, top, section, lang)
        if setup is not None:
            setups.append(setup)
    result = tco.compare(
        volume,
        apis=[baseline, *hosted],
        setups=setups,
        baseline=baseline,
        today=inputs.today,
        max_price_age_days=inputs.settings.planning.max_price_age_days,
    )
    rows = []
    for row in result.rows:
        when = row.source_date or t("cost_given", lang)
        if when == tco.UNDATED:
            when = t("cost_undated", lang)
        rows.append(
            [
                f"{t(f'cost_kind_{row.kind}', lang)}: {row.option}",
                tco.money(row.monthly_cost, "USD"),
                tco.money(row.per_million_tokens, "USD"),
                when + (" — " + t("cost_stale", lang) if row.stale else ""),
            ]
        )
    columns = [
        t("plan_col_option", lang),
        t("plan_col_monthly", lang),
        t("plan_col_per_million", lang),
        t("plan_col_source_date", lang),
    ]
    section.tables.append(Table(columns, rows))
    section.svg = tco.cost_chart_svg(result.rows, "USD", lang)
    even = result.break_even
    if setups and even is not None:
        tokens = even["tokens_per_month"]
        if tokens is None:
            section.paragraphs.append(t("plan_break_even_never", lang, baseline=even["baseline"]))
        else:
            now = t(
                "plan_cheaper_now" if even["self_hosting_cheaper_now"] else "plan_dearer_now", lang
            )
            section.paragraphs.append(
                t(
                    "plan_break_even",
                    lang,
                    baseline=even["baseline"],
                    tokens=_tokens(tokens),
                    setup=even["self_hosting"],
                    now=now,
                )
            )
        section.paragraphs.append(t("plan_cost_assumptions", lang, utilization=f"{UTILIZATION:g}"))
    return section


def _cost_model(inputs: Inputs, ranking: rec.Ranking) -> str | None:
    """The model self-hosting is priced for: the best-ranked one that fits the GPUs and
    that the sizing model can bound (its shape is in the catalog), else the best-ranked."""
    if inputs.gpu is not None:
        count, spec = inputs.gpu
        for row in ranking.ranked:
            if row.fit.status == "fits" and tco.throughput_from_sizing(row.model, spec.id, count):
                return row.model
    return ranking.ranked[0].model if ranking.ranked else None


def _setup(
    inputs: Inputs, spec: GpuSpec, count: int, model: str | None, section: Section, lang: str
) -> tco.SelfHosting | None:
    price = rec.cheapest_price(inputs.prices, spec)
    if price is None:
        section.missing.append(
            _not_given(
                t("plan_what_gpu_price", lang, gpu=spec.id), t("plan_how_gpu_price", lang), lang
            )
        )
        return None
    speed = tco.throughput_from_runs(inputs.runs, model) or tco.throughput_from_sizing(
        model, spec.id, count
    )
    if speed is not None and speed.source == "sizing":
        section.paragraphs.append(t("plan_cost_model", lang, model=model))
    if speed is None:
        section.missing.append(
            _not_given(t("plan_what_throughput", lang), t("plan_how_throughput", lang), lang)
        )
        return None
    origin = {"eval_run": "plan_measured", "sizing": "plan_sizing", "parameter": "cost_given"}
    section.sources.append(
        t(
            "plan_src_throughput",
            lang,
            decode=f"{speed.decode:,.0f}",
            detail=speed.detail,
            origin=t(origin[speed.source], lang),
        )
    )
    provider = f"{price.provider} {price.instance}".strip()
    section.sources.append(
        t(
            "rec_price",
            lang,
            price=tco.money(price.per_gpu_hour, "USD"),
            provider=provider,
            pricing=price.pricing,
            date=price.source_date,
        )
    )
    return tco.SelfHosting(
        spec.id,
        count,
        price.per_gpu_hour,
        speed,
        UTILIZATION,
        True,
        0.0,
        provider,
        price.pricing,
        price.source,
        price.source_date,
    )


# -- 4. the PoC plan -----------------------------------------------------------------------
def _poc(inputs: Inputs, run: RunSummary | None, verdicts: list[KpiVerdict], lang: str) -> Section:
    section = _section("poc", lang)
    if run is None:
        section.missing.append(
            _not_given(t("plan_what_eval_set", lang), t("plan_how_run", lang), lang)
        )
    else:
        section.sources.append(_run_source(run, lang))
        section.paragraphs.append(
            t("plan_poc_set", lang, set=run.set_name, n=run.n_questions, id=run.id)
        )
    measured_in_run = {v.name for v in verdicts if v.value is not None}
    rows = []
    for kpi in inputs.settings.use_case.kpis:
        from_eval = kpi.name in measured_in_run or kpi.name in EVAL_MEASURED
        when = "plan_when_eval" if from_eval else "plan_when_operation"
        rows.append([kpi.name, f"{kpi.op} {kpi.target:g}", t(when, lang)])
    if rows:
        columns = [t("plan_col_criterion", lang), t("plan_col_target", lang)]
        section.tables.append(Table([*columns, t("plan_col_when", lang)], rows))
    else:
        section.missing.append(_not_given("KPI", t("plan_how_use_case", lang), lang))
    section.items += [t(f"plan_poc_step{n}", lang) for n in range(1, 6)]
    return section


# -- 5. security and governance -------------------------------------------------------------
def _governance(inputs: Inputs, lang: str) -> Section:
    section = _section("governance", lang)
    assessment = inputs.assessment
    if assessment is None:
        section.missing.append(
            _not_given(t("plan_what_governance", lang), t("plan_how_governance", lang), lang)
        )
    else:
        questionnaire = governance.load_questionnaire()
        section.sources.append(
            t(
                "plan_src_governance",
                lang,
                path=inputs.governance_file,
                date=assessment.assessed_on.isoformat(),
            )
        )
        section.paragraphs.append(
            t("plan_risk", lang, risk=governance.risk_label(assessment.risk, lang))
        )
        for rule in (*assessment.obligations, *assessment.gpai, *assessment.checklist):
            cite = questionnaire.cite(rule.citation, "ja" if lang == "ja" else "en")
            text = rule.text["ja" if lang == "ja" else "en"]
            section.items.append(f"{text} ({cite})")
        section.paragraphs.append(t("plan_not_legal_advice", lang))
    section.items += [t(f"plan_security{n}", lang) for n in range(1, 5)]
    return section


# -- 6. operations --------------------------------------------------------------------------
def _operations(inputs: Inputs, lang: str) -> Section:
    section = _section("operations", lang)
    section.sources.append(t("plan_src_config", lang, path=inputs.kb_path / "kotae.toml"))
    later = [
        k.name
        for k in inputs.settings.use_case.kpis
        if k.name not in EVAL_MEASURED and k.name.endswith(("_saved", "_rate", "_satisfaction"))
    ]
    section.items += [t(f"plan_ops{n}", lang) for n in range(1, 5)]
    if later:
        section.items.append(t("plan_ops_kpis", lang, kpis=", ".join(later)))
    section.items.append(
        t("plan_ops_prices", lang, days=inputs.settings.planning.max_price_age_days)
    )
    return section


# -- rendering ------------------------------------------------------------------------------
def render_markdown(plan: Plan) -> str:
    lines = [
        f"# {plan.title}",
        "",
        plan.subtitle,
        "",
        f"{t('plan_created', plan.language)}: {plan.created}",
    ]
    for number, section in enumerate(plan.sections, start=1):
        lines += ["", f"## {number}. {section.title}", ""]
        if section.sources:
            lines.append(f"*{t('plan_sources', plan.language)}:*")
            lines += [f"- {_one_line(s)}" for s in section.sources] + [""]
        lines += [f"> {_one_line(m)}" for m in section.missing]
        if section.missing:
            lines.append("")
        for text in section.paragraphs:
            lines += [_one_line(text), ""]
        for table in section.tables:
            lines.append("| " + " | ".join(_cell(c) for c in table.columns) + " |")
            lines.append("|" + " --- |" * len(table.columns))
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
        lines += [f"- [ ] {_one_line(item)}" for item in section.items]
    return "\n".join(lines).rstrip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA_DIR),
        autoescape=True,
        finalize=_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _escape(value: Any) -> Any:
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


def render_html(plan: Plan) -> str:
    """One self-contained page: inline CSS, no script, a CSP that forbids fetching; the
    cost chart is kotae's own SVG (:func:`kotae.planning.tco.cost_chart_svg`)."""
    return (
        _environment()
        .get_template(HTML_TEMPLATE)
        .render(
            plan=plan,
            sources_label=t("plan_sources", plan.language),
            created_label=t("plan_created", plan.language),
            svg={s.id: Markup(s.svg) for s in plan.sections},  # built by tco, its text escaped
        )
    )


def render(plan: Plan, output_format: str) -> str:
    return render_html(plan) if output_format == "html" else render_markdown(plan)
