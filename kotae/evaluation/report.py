"""The evaluation report: one self-contained HTML file that compares runs.

:func:`render_report` turns run summaries, their per-question results and the eval set into
a single page, in Japanese or English, that a reviewer can open anywhere: no CDN, no font,
no image and no script is fetched (a Content-Security-Policy with ``default-src 'none'``
makes sure of it). It holds

- a header (eval set, date, questions, runs);
- the comparison table: the quality metrics as "mean (95% CI)", failures counted and shown,
  p50/p95 latency from the per-question timings, and the cost per 1,000 questions;
- every metric of every run, unknown names included, in a second table;
- two inline SVG charts drawn here: quality against cost (one labelled point per run with
  its confidence interval) and the latency distribution (one box plot per run);
- the worst questions of each run in ``<details>`` elements: question, references,
  retrieved documents, the answer and every metric;
- a plain verdict per KPI target of the project's ``[use_case]``.

Questions, answers and document names come from users' documents, so every piece of text
is escaped. A few lines of inline JavaScript make tables sortable; the page reads the same
without them. :func:`write_report` writes the file atomically.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import operator
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from kotae.errors import ConfigError
from kotae.evaluation.metrics import percentile
from kotae.evaluation.model import EvalItem, Language, MetricSummary, QuestionResult, RunSummary

# Quality metrics in the order the tables show them; other metric names follow these.
QUALITY_METRICS = (
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr",
    "ndcg@10",
    "char_f1",
    "token_f1",
    "em",
    "answer_in_evidence@3",
    "similarity",
    "correctness",
    "faithfulness",
    "citation_precision",
    "citation_recall",
    "success",
)
PERFORMANCE_METRICS = ("total_ms", "ttft_ms", "tokens_per_s", "prompt_tokens", "completion_tokens")
# The chart's and the drill-down's quality measure: the first of these that a run has.
MAIN_METRIC_ORDER = ("correctness", "char_f1", "token_f1", "recall@5")
# One colour per run (cycled), in the table's swatches and both charts.
RUN_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
KPI_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
QUESTION_PREVIEW_CHARS = 120
RUN_LABEL_CHARS = 24

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Evaluation report",
        "set": "Eval set",
        "date": "Date",
        "questions": "Questions",
        "runs_compared": "Runs compared",
        "comparison": "Comparison",
        "comparison_note": (
            "Mean with its 95% bootstrap confidence interval. “Failed” counts questions where a"
            " metric could not be computed (for example, the judge gave no usable verdict): they"
            " are left out of the mean, never scored as 0 or 1."
        ),
        "run": "Run",
        "access": "Access",
        "access_all": "every document (--all)",
        "access_public": "public documents only",
        "access_user": "as user {user}",
        "access_groups": "as groups {groups}",
        "n": "n",
        "failures": "Failures",
        "failed": "{n} failed",
        "errors": "questions with errors: {n}",
        "p50": "p50 latency",
        "p95": "p95 latency",
        "cost": "Cost per 1,000 questions",
        "all_metrics": "All metrics",
        "metric": "Metric",
        "meaning": "Meaning",
        "quality_cost": "Quality against cost",
        "quality_cost_note": (
            "Vertical: {metric} (mean and 95% CI); horizontal: cost per 1,000 questions"
            " ({currency}). Up and to the left is better."
        ),
        "cost_axis": "cost per 1,000 questions ({currency})",
        "not_plotted": "Not plotted (no cost or no {metric}): {runs}",
        "mixed_currencies": "The runs use different currencies: {currencies}",
        "no_quality": "No run has a quality metric to plot.",
        "latency": "Latency distribution",
        "latency_note": (
            "Total time per question (total_ms). Box: 25th to 75th percentile; thick line:"
            " median; whiskers: up to 1.5 box lengths; dots: outliers; ▲: values above the"
            " axis."
        ),
        "off_scale": "{n} above, up to {max}",
        "latency_axis": "total time per question (ms)",
        "no_timings": "No timings for: {runs}",
        "worst": "Worst questions",
        "worst_note": (
            "For each run, the {n} questions with the lowest {metric}: questions that failed"
            " with an error first, questions the metric could not score last. Open one for"
            " its details."
        ),
        "no_results": "No per-question results.",
        "question": "Question",
        "reference_answers": "Reference answers",
        "reference_sources": "Reference sources",
        "retrieved": "Retrieved documents",
        "passages": "Passages given to the answer",
        "cited": "Cited",
        "answer": "Answer",
        "status": "Status",
        "error": "Error",
        "tags": "Tags",
        "scores": "Scores",
        "not_in_set": "(not in the eval set)",
        "hit": "a reference source",
        "failed_reason": "failed: {reason}",
        "status_ok": "answered",
        "status_no_evidence": "no evidence",
        "status_error": "error",
        "kpis": "KPI verdicts",
        "use_case": "Use case",
        "purpose": "Purpose",
        "users": "Users",
        "kpi": "KPI",
        "target": "Target",
        "not_measured": "not measured",
        "no_kpis": "No KPI targets: add them to the [use_case] section of kotae.toml.",
        "kpi_note": (
            "✅ meets the target, ❌ misses it. Values are means, latencies are percentiles of"
            " the per-question times."
        ),
    },
    "ja": {
        "title": "評価レポート",
        "set": "評価セット",
        "date": "実行日時",
        "questions": "質問数",
        "runs_compared": "比較した実行",
        "comparison": "比較表",
        "comparison_note": (
            "平均値と 95% 信頼区間（ブートストラップ）。「失敗」は指標を計算できなかった質問"
            "（LLM 判定が使える結果を返さなかった場合など）の数で、平均には含めず、0 や 1 として"
            "数えてもいません。"
        ),
        "run": "実行",
        "access": "閲覧範囲",
        "access_all": "すべての資料（--all）",
        "access_public": "公開資料のみ",
        "access_user": "ユーザー {user} として",
        "access_groups": "グループ {groups} として",
        "n": "問数",
        "failures": "失敗",
        "failed": "{n}件失敗",
        "errors": "エラーの質問: {n}件",
        "p50": "応答時間 p50",
        "p95": "応答時間 p95",
        "cost": "1,000 問あたりの費用",
        "all_metrics": "全指標",
        "metric": "指標",
        "meaning": "意味",
        "quality_cost": "品質と費用",
        "quality_cost_note": (
            "縦軸: {metric}（平均と 95% 信頼区間）、横軸: 1,000 問あたりの費用（{currency}）。"
            "左上ほど良い結果です。"
        ),
        "cost_axis": "1,000 問あたりの費用（{currency}）",
        "not_plotted": "費用または {metric} がないため図にない実行: {runs}",
        "mixed_currencies": "実行によって通貨が異なります: {currencies}",
        "no_quality": "図にできる品質指標を持つ実行がありません。",
        "latency": "応答時間の分布",
        "latency_note": (
            "質問ごとの応答時間（total_ms）。箱は 25〜75 パーセンタイル、太線は中央値、"
            "ひげは箱の長さの 1.5 倍まで、点は外れ値、▲ は軸より上の値です。"
        ),
        "off_scale": "軸の上に {n} 件（最大 {max}）",
        "latency_axis": "質問ごとの応答時間（ミリ秒）",
        "no_timings": "応答時間の記録がない実行: {runs}",
        "worst": "スコアの低い質問",
        "worst_note": (
            "各実行で {metric} が低い {n} 問です。エラーになった質問を先頭に、指標を計算"
            "できなかった質問を最後に並べています。開くと詳細を表示します。"
        ),
        "no_results": "質問ごとの結果がありません。",
        "question": "質問",
        "reference_answers": "正解",
        "reference_sources": "正解の出典",
        "retrieved": "検索された文書",
        "passages": "回答に渡した資料の抜粋",
        "cited": "引用",
        "answer": "回答",
        "status": "状態",
        "error": "エラー",
        "tags": "タグ",
        "scores": "スコア",
        "not_in_set": "（評価セットにない質問）",
        "hit": "正解の出典",
        "failed_reason": "失敗: {reason}",
        "status_ok": "回答あり",
        "status_no_evidence": "根拠なし",
        "status_error": "エラー",
        "kpis": "KPI の判定",
        "use_case": "ユースケース",
        "purpose": "目的",
        "users": "利用者",
        "kpi": "KPI",
        "target": "目標",
        "not_measured": "未測定",
        "no_kpis": "KPI の目標がありません。kotae.toml の [use_case] に追加してください。",
        "kpi_note": (
            "✅ は目標を満たし、❌ は満たしていません。値は平均、応答時間は質問ごとの時間の"
            "パーセンタイルです。"
        ),
    },
}

# What each known metric means, for the "All metrics" table; unknown names go without.
METRIC_MEANINGS: dict[str, dict[str, str]] = {
    "en": {
        "recall@1": "a reference source is the first document retrieved",
        "recall@5": "share of reference sources in the top 5 documents",
        "recall@10": "share of reference sources in the top 10 documents",
        "mrr": "mean reciprocal rank of the first reference source",
        "ndcg@10": "ranking quality of the top 10 documents",
        "char_f1": "character overlap with the reference answer (Japanese)",
        "token_f1": "word overlap with the reference answer (English)",
        "em": "exact match with a reference answer",
        "similarity": "semantic similarity to the reference answer",
        "answer_in_evidence@3": "a reference answer is in the 3 evidence sentences (no generator)",
        "success": "share of questions answered without an error",
        "correctness": "the answer is correct (LLM judge)",
        "faithfulness": "the answer keeps to the retrieved documents (LLM judge)",
        "citation_precision": "share of cited documents that are reference sources",
        "citation_recall": "share of reference sources the answer cites",
        "total_ms": "time to the full answer",
        "ttft_ms": "time to the first token",
        "tokens_per_s": "generation speed",
        "prompt_tokens": "tokens sent to the model",
        "completion_tokens": "tokens generated",
        "p50_total_ms": "median time to the full answer",
        "p95_total_ms": "95th percentile of the time to the full answer",
        "cost_per_1000": "cost per 1,000 questions",
    },
    "ja": {
        "recall@1": "正解の出典が検索の 1 位にある",
        "recall@5": "正解の出典が検索の上位 5 件に入る割合",
        "recall@10": "正解の出典が検索の上位 10 件に入る割合",
        "mrr": "最初の正解の出典の順位の逆数の平均",
        "ndcg@10": "上位 10 件の並び順の良さ",
        "char_f1": "正解との文字の重なり（日本語）",
        "token_f1": "正解との単語の重なり（英語）",
        "em": "正解と完全に一致",
        "similarity": "正解との意味の近さ",
        "answer_in_evidence@3": "正解が根拠 3 文の中にある割合（生成モデルなし）",
        "success": "エラーなく回答できた質問の割合",
        "correctness": "回答が正しい（LLM 判定）",
        "faithfulness": "回答が検索された文書に忠実（LLM 判定）",
        "citation_precision": "引用のうち正解の出典である割合",
        "citation_recall": "正解の出典のうち引用された割合",
        "total_ms": "回答が完了するまでの時間",
        "ttft_ms": "最初のトークンまでの時間",
        "tokens_per_s": "生成の速さ",
        "prompt_tokens": "モデルに送ったトークン数",
        "completion_tokens": "生成したトークン数",
        "p50_total_ms": "回答完了までの時間の中央値",
        "p95_total_ms": "回答完了までの時間の 95 パーセンタイル",
        "cost_per_1000": "1,000 問あたりの費用",
    },
}


def _static(name: str) -> str:
    return (resources.files("kotae.evaluation") / "templates" / name).read_text(encoding="utf-8")


# The page's only stylesheet and script, inline; their hashes are in its CSP. The script
# makes tables sortable: a click on a header sorts by the cells' data-sort value, else text.
CSS = _static("report.css")
SCRIPT = _static("report.js")


@dataclass(frozen=True, slots=True)
class KpiVerdict:
    """One KPI target checked against one run: ``value`` is None when the run lacks it."""

    name: str
    op: str
    target: float
    value: float | None

    @property
    def passed(self) -> bool | None:
        """True or False against the target; None when not measured."""
        if self.value is None:
            return None
        return KPI_OPS[self.op](self.value, self.target)


def render_report(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    items: Mapping[str, EvalItem],
    *,
    use_case: Mapping[str, Any] | None = None,
    language: Language = "ja",
    worst: int = 10,
) -> str:
    """The report comparing ``runs`` as one self-contained HTML document.

    ``results`` maps a run id to its per-question results (a run without them gets no
    latency percentiles, box plot or drill-down), ``items`` maps a question id to its eval
    set item, ``use_case`` is the project's ``[use_case]`` table (``purpose``, ``users``,
    ``kpis``: ``[{"name", "op", "target"}]``), and ``worst`` is how many questions of each
    run the drill-down shows. Raises :class:`ConfigError` for no run, an unknown language
    or a malformed KPI.
    """
    if not runs:
        raise ConfigError(
            "no run to report: give at least one run id",
            message_ja="レポートする実行がありません。実行 ID を 1 つ以上指定してください",
        )
    if language not in LABELS:
        raise ConfigError(
            f"unknown report language {language!r}: use 'ja' or 'en'",
            message_ja=f"レポートの言語 {language!r} は使えません。'ja' か 'en' を指定してください",
        )
    if worst < 0:
        raise ConfigError(
            f"worst must be 0 or more, not {worst}",
            message_ja=f"worst は 0 以上にしてください（{worst} が指定されました）",
        )
    kpis = parse_kpis(use_case)
    labels = LABELS[language]
    main = main_metric(runs)
    colours = {run.id: RUN_COLOURS[i % len(RUN_COLOURS)] for i, run in enumerate(runs)}
    csp = (
        f"default-src 'none'; style-src '{_sha256(CSS)}'; script-src '{_sha256(SCRIPT)}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            language=language,
            L=labels,
            csp=Markup(csp),  # our own hashes and keywords, quoted as CSP wants them
            css=Markup(CSS),
            script=Markup(SCRIPT),
            runs=runs,
            header=_header(runs, items),
            comparison=_comparison(runs, results, colours, labels),
            quality_cost=_quality_cost_chart(runs, main, colours, labels),
            latency=_latency_chart(runs, results, colours, labels),
            kpis=_kpi_section(runs, results, use_case, kpis, labels),
            all_metrics=_all_metrics(runs),
            meanings=METRIC_MEANINGS[language],
            worst=_worst_section(runs, results, items, main, worst, labels),
        )
    )


def access_label(run: RunSummary, labels: Mapping[str, str] | None = None) -> str:
    """Which documents ``run`` answered from, in words (``labels``: LABELS[language]).

    Runs recorded before the access was stored read every document unless run ``--as``."""
    labels = labels or LABELS["en"]
    access = run.config.get("access")
    if not isinstance(access, dict):
        user = run.config.get("as_user")
        access = {"user": user} if user else {"all": True}
    if access.get("all"):
        return labels["access_all"]
    if access.get("user"):
        return labels["access_user"].format(user=access["user"])
    groups = [g for g in access.get("groups") or () if not str(g).startswith("user:")]
    if groups:
        return labels["access_groups"].format(groups=", ".join(groups))
    return labels["access_public"]


def main_metric(runs: Sequence[RunSummary]) -> str | None:
    """The quality metric the chart plots and the drill-down ranks by: correctness when a
    run has it, else character F1 (Japanese) or token F1 (English), else recall@5."""
    for name in MAIN_METRIC_ORDER:
        if any(_mean(run.metrics.get(name)) is not None for run in runs):
            return name
    return None


def parse_kpis(use_case: Mapping[str, Any] | None) -> list[tuple[str, str, float]]:
    """The ``(name, op, target)`` of each KPI in a ``[use_case]`` table, checked: a missing
    name, an unknown operator or a non-numeric target is a :class:`ConfigError` that says
    which KPI."""
    if not use_case:
        return []
    raw = use_case.get("kpis", [])
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(
            "[use_case] kpis must be a list of tables with name, op and target",
            message_ja="[use_case] の kpis は name・op・target を持つ表のリストにしてください",
        )
    kpis: list[tuple[str, str, float]] = []
    for number, kpi in enumerate(raw, start=1):
        where = f"[use_case] KPI #{number}"
        if not isinstance(kpi, Mapping) or not isinstance(kpi.get("name"), str):
            raise ConfigError(f"{where} has no name", message_ja=f"{where} に name がありません")
        name, op, target = kpi["name"], kpi.get("op"), kpi.get("target")
        if op not in KPI_OPS:
            raise ConfigError(
                f"{where} ({name}): unknown op {op!r}; use one of {', '.join(KPI_OPS)}",
                message_ja=f"{where}（{name}）の op {op!r} は使えません: {', '.join(KPI_OPS)}",
            )
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise ConfigError(
                f"{where} ({name}): target must be a number, not {target!r}",
                message_ja=f"{where}（{name}）の target は数値にしてください（{target!r}）",
            )
        kpis.append((name, op, float(target)))
    return kpis


def kpi_value(name: str, run: RunSummary, results: Sequence[QuestionResult]) -> float | None:
    """A run's measured value for KPI ``name``: a metric's mean, ``p50_total_ms`` or
    ``p95_total_ms`` from the per-question timings, or ``cost_per_1000``; None when the run
    does not measure it."""
    if name == "cost_per_1000":
        return _finite(run.cost_per_1000)
    if name in ("p50_total_ms", "p95_total_ms"):
        return percentile(_latencies(results), 50.0 if name == "p50_total_ms" else 95.0)
    return _mean(run.metrics.get(name))


def evaluate_kpis(
    use_case: Mapping[str, Any] | None, run: RunSummary, results: Sequence[QuestionResult]
) -> list[KpiVerdict]:
    """Each KPI target of ``use_case`` checked against ``run``."""
    return [
        KpiVerdict(name, op, target, kpi_value(name, run, results))
        for name, op, target in parse_kpis(use_case)
    ]


def write_report(path: str | os.PathLike[str], html: str) -> Path:
    """Write ``html`` to ``path`` atomically (a temporary file in the same folder, then a
    rename), so a reader never sees half a report. Returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(html)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# -- what the template shows: numbers computed and formatted here --------------------------


def _header(runs: Sequence[RunSummary], items: Mapping[str, EvalItem]) -> dict[str, Any]:
    return {
        "set_names": ", ".join(dict.fromkeys(run.set_name for run in runs)),
        "date": _format_date(max(run.created_at for run in runs)),
        "questions": len(items) if items else max(run.n_questions for run in runs),
        "names": ", ".join(run.name for run in runs),
    }


def _comparison(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    colours: Mapping[str, str],
    labels: dict[str, str],
) -> dict[str, Any]:
    columns = [name for name in QUALITY_METRICS if any(name in run.metrics for run in runs)]
    rows = []
    for run in runs:
        run_results = results.get(run.id, ())
        latencies = _latencies(run_results)
        # every metric with failures, and the count of questions that ended in an error
        failure_lines = [
            f"{name}: {labels['failed'].format(n=summary.failures)}"
            for name, summary in run.metrics.items()
            if summary.failures > 0
        ]
        errors = sum(1 for result in run_results if result.status == "error")
        if errors:
            failure_lines.append(labels["errors"].format(n=errors))
        rows.append(
            {
                "run": run,
                "colour": colours[run.id],
                "access": access_label(run, labels),
                "cells": [(name, run.metrics.get(name)) for name in columns],
                "failure_lines": failure_lines,
                "p50": percentile(latencies, 50.0),
                "p95": percentile(latencies, 95.0),
            }
        )
    return {"columns": columns, "rows": rows}


def _all_metrics(runs: Sequence[RunSummary]) -> list[str]:
    """The metric names of the "All metrics" table: the known ones in order, then the
    others sorted."""
    known = QUALITY_METRICS + PERFORMANCE_METRICS
    present = {name for run in runs for name in run.metrics}
    return [name for name in known if name in present] + sorted(present - set(known))


def _kpi_section(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    use_case: Mapping[str, Any] | None,
    kpis: Sequence[tuple[str, str, float]],
    labels: dict[str, str],
) -> dict[str, Any]:
    about = []
    for key in ("name", "purpose", "users"):
        value = (use_case or {}).get(key)
        if value:
            about.append((labels["use_case"] if key == "name" else labels[key], str(value)))
    rows = [
        {
            "name": name,
            "op": op,
            "target": _format_kpi(name, target, None),
            "verdicts": [
                (run, KpiVerdict(name, op, target, kpi_value(name, run, results.get(run.id, ()))))
                for run in runs
            ],
        }
        for name, op, target in kpis
    ]
    return {"about": about, "rows": rows}


def _worst_section(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    items: Mapping[str, EvalItem],
    main: str | None,
    worst: int,
    labels: dict[str, str],
) -> dict[str, Any]:
    """Each run with its worst questions' details (None when the run has no results)."""
    shown = []
    for run in runs:
        run_results = results.get(run.id)
        questions = [
            _question_details(result, items.get(result.item_id), main, labels)
            for result in worst_questions(run_results or (), main, worst)
        ]
        shown.append((run, questions if run_results else None))
    return {"count": worst, "metric": main or "—", "runs": shown}


def worst_questions(
    results: Sequence[QuestionResult], metric: str | None, count: int
) -> list[QuestionResult]:
    """The ``count`` worst of ``results`` by ``metric``: questions that ended in an error
    first, then the lowest scores, then questions the metric could not score (a judge
    failure is not a low score); ties keep the set's order."""

    def rank(result: QuestionResult) -> tuple[int, float]:
        if result.status == "error":
            return (0, 0.0)
        value = _finite(result.metrics.get(metric)) if metric else None
        return (2, 0.0) if value is None else (1, value)

    return sorted(results, key=rank)[:count]


def _question_details(
    result: QuestionResult, item: EvalItem | None, main: str | None, labels: dict[str, str]
) -> dict[str, Any]:
    question = item.question if item else result.item_id
    preview = (
        question
        if len(question) <= QUESTION_PREVIEW_CHARS
        else question[:QUESTION_PREVIEW_CHARS] + "…"
    )
    if result.status == "error":
        score = labels["status_error"]
    elif main is None:
        score = "—"
    elif main in result.failures:
        score = f"{main}: {labels['failed_reason'].format(reason=result.failures[main])}"
    else:
        score = f"{main}: {_format_value(main, _finite(result.metrics.get(main)))}"
    return {
        "result": result,
        "item": item,
        "question": question,
        "preview": preview,
        "score": score,
        "sources": set(item.sources) if item else set(),
        "metrics": _question_metrics(result, labels),
    }


def _question_metrics(result: QuestionResult, labels: dict[str, str]) -> list[tuple[str, str, str]]:
    """One question's metrics, failures (with why), timings and token counts: the
    ``(name, text, css class)`` of each row."""
    rows = []
    names = list(result.metrics) + [name for name in result.failures if name not in result.metrics]
    for name in names:
        if name in result.failures:
            text = labels["failed_reason"].format(reason=result.failures[name])
            rows.append((name, text, "fail"))
        else:
            rows.append((name, _format_value(name, _finite(result.metrics.get(name))), "num"))
    for name, number in list(result.timings.items()) + list(result.usage.items()):
        rows.append((name, _format_value(name, float(number)), "num"))
    return rows


# -- charts --------------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 760, 400
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 24, 16, 56
OFF_SCALE_FACTOR = 2.0  # the latency axis ends at this times the highest whisker


@dataclass(frozen=True, slots=True)
class _Axis:
    """A linear scale from ``lo``..``hi`` onto pixels ``start``..``end``, with its ticks."""

    lo: float
    hi: float
    start: float
    end: float
    ticks: tuple[float, ...]

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


def _axis(lo: float, hi: float, start: float, end: float, count: int = 5) -> _Axis:
    """A scale covering ``lo``..``hi``, widened to round tick values."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / count
    exponent = math.floor(math.log10(raw))
    fraction = raw / 10**exponent
    step = next(n for n in (1.0, 2.0, 5.0, 10.0) if fraction <= n) * 10**exponent
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = tuple(round(i * step, 10) for i in range(first, last + 1))
    return _Axis(ticks[0], ticks[-1], start, end, ticks)


def _tick_label(value: float, axis: _Axis) -> str:
    step = axis.ticks[1] - axis.ticks[0] if len(axis.ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:,.{decimals}f}"


@dataclass(frozen=True, slots=True)
class _Frame:
    """A chart's size, plot area, ticks ``(pixel, label)`` and axis titles."""

    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    x_title: str
    y_title: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = MARGIN_LEFT
    right: int = CHART_WIDTH - MARGIN_RIGHT
    top: int = MARGIN_TOP
    bottom: int = CHART_HEIGHT - MARGIN_BOTTOM


def _frame(x: _Axis | None, y: _Axis, x_title: str, y_title: str) -> _Frame:
    """Grid lines, tick labels and axis titles of a chart."""
    return _Frame(
        y_ticks=[(y(tick), _tick_label(tick, y)) for tick in y.ticks],
        x_ticks=[(x(tick), _tick_label(tick, x)) for tick in x.ticks] if x is not None else [],
        x_title=x_title,
        y_title=y_title,
    )


def _quality_cost_chart(
    runs: Sequence[RunSummary], main: str | None, colours: Mapping[str, str], labels: dict[str, str]
) -> dict[str, Any] | None:
    """The quality-against-cost chart: one point per run with its confidence interval;
    None when no run has a quality metric."""
    if main is None:
        return None
    currencies = list(dict.fromkeys(run.currency for run in runs if run.currency))
    currency = ", ".join(currencies) or "—"
    plotted = [
        run
        for run in runs
        if _finite(run.cost_per_1000) is not None and _mean(run.metrics.get(main)) is not None
    ]
    warnings = []
    if len(currencies) > 1:
        warnings.append(labels["mixed_currencies"].format(currencies=currency))
    missing = [run.name for run in runs if run not in plotted]
    if missing:
        warnings.append(labels["not_plotted"].format(metric=main, runs=", ".join(missing)))
    costs = [run.cost_per_1000 or 0.0 for run in plotted]
    summaries = [run.metrics[main] for run in plotted]
    lows = [_ci_end(s.ci_low, s.mean) for s in summaries]
    highs = [_ci_end(s.ci_high, s.mean) for s in summaries]
    spread = (max(highs) - min(lows)) if plotted else 1.0
    pad = max(spread * 0.15, 0.02)
    y_lo = max(0.0, (min(lows) if plotted else 0.0) - pad)
    y_hi = min(1.0, (max(highs) if plotted else 1.0) + pad)
    y = _axis(y_lo, y_hi, CHART_HEIGHT - MARGIN_BOTTOM, MARGIN_TOP)
    x = _axis(0.0, max(costs, default=0.0) * 1.08, MARGIN_LEFT + 10, CHART_WIDTH - MARGIN_RIGHT)
    points = []
    for run, cost, summary, low, high in zip(plotted, costs, summaries, lows, highs, strict=True):
        px, py = x(cost), y(summary.mean)
        anchor, dx = ("end", -12) if px > CHART_WIDTH - 200 else ("start", 12)
        tip = (
            f"{run.name}: {main} {_format_summary(main, summary)}, "
            f"{_format_cost(run.cost_per_1000, run.currency)}"
        )
        points.append(
            {
                "run": run,
                "colour": colours[run.id],
                "tip": tip,
                "x": px,
                "y": py,
                "y_low": y(low),
                "y_high": y(high),
                "label_x": px + dx,
                "anchor": anchor,
                "label": f"{_short(run.name)} ({_format_value(main, summary.mean)})",
            }
        )
    return {
        "note": labels["quality_cost_note"].format(metric=main, currency=currency),
        "warnings": warnings,
        "frame": _frame(x, y, labels["cost_axis"].format(currency=currency), main),
        "points": points,
    }


@dataclass(frozen=True, slots=True)
class _Box:
    """A box plot's numbers: quartiles, whisker ends (Tukey: within 1.5 box lengths) and
    the values beyond them."""

    n: int
    q1: float
    median: float
    q3: float
    low: float
    high: float
    outliers: tuple[float, ...]

    @property
    def top(self) -> float:
        """The largest value."""
        return max((self.high, *self.outliers))


def _box(values: Sequence[float]) -> _Box:
    q1, median, q3 = (percentile(values, q) or 0.0 for q in (25.0, 50.0, 75.0))
    reach = 1.5 * (q3 - q1)
    inside = [v for v in values if q1 - reach <= v <= q3 + reach]
    outliers = tuple(v for v in values if not q1 - reach <= v <= q3 + reach)
    return _Box(len(values), q1, median, q3, min(inside), max(inside), outliers)


def _latency_chart(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    colours: Mapping[str, str],
    labels: dict[str, str],
) -> dict[str, Any]:
    """The latency chart: one box plot per run with timings."""
    timed = [(run, _latencies(results.get(run.id, ()))) for run in runs]
    boxes = [(run, _box(values)) for run, values in timed if values]
    missing = [run.name for run, values in timed if not values]
    # A timeout far above the rest would flatten every box: the axis stops at twice the
    # highest whisker, and the values above it are marked at the top with their maximum.
    largest = max((box.top for _, box in boxes), default=1.0)
    whiskers = max((box.high for _, box in boxes), default=1.0)
    y = _axis(
        0.0, min(largest, OFF_SCALE_FACTOR * whiskers), CHART_HEIGHT - MARGIN_BOTTOM, MARGIN_TOP
    )
    left, right = MARGIN_LEFT + 10, CHART_WIDTH - MARGIN_RIGHT
    slot = (right - left) / max(len(boxes), 1)
    half = min(40.0, slot * 0.3)
    shown = []
    for index, (run, box) in enumerate(boxes):
        above = [v for v in box.outliers if v > y.hi]
        shown.append(
            {
                "run": run,
                "colour": colours[run.id],
                "n": box.n,
                "tip": (
                    f"{run.name}: n={box.n}, p25 {box.q1:,.0f} ms, median {box.median:,.0f} ms, "
                    f"p75 {box.q3:,.0f} ms, max {box.top:,.0f} ms"
                ),
                "x": left + slot * (index + 0.5),
                "half": half,
                "y_low": y(box.low),
                "y_high": y(box.high),
                "y_q3": y(box.q3),
                "height": max(y(box.q1) - y(box.q3), 1.0),
                "y_median": y(box.median),
                "outliers": [y(v) for v in box.outliers if v <= y.hi],
                "above": (
                    labels["off_scale"].format(n=len(above), max=f"{max(above):,.0f} ms")
                    if above
                    else ""
                ),
                "label": _short(run.name),
                "summary": f"n={box.n}, p50 {box.median:,.0f} ms",
            }
        )
    return {
        "missing": ", ".join(missing),
        "frame": _frame(None, y, "", labels["latency_axis"]),
        "boxes": shown,
        "top": MARGIN_TOP,
        "label_y": CHART_HEIGHT - MARGIN_BOTTOM + 16,
    }


# -- templates ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The report's templates (``kotae/evaluation/templates``), autoescaped, with the
    formatting functions above them."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("kotae.evaluation", "templates"),
        autoescape=True,
        finalize=_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["f1"] = lambda value: f"{value:.1f}"
    environment.globals.update(
        format_cost=_format_cost,
        format_kpi=_format_kpi,
        format_value=_format_value,
        mean=_mean,
        sort_key=_sort_key,
        summary_parts=_summary_parts,
    )
    return environment


def _escape(value: Any) -> Any:
    """Every ``{{ value }}``, escaped as :func:`html.escape` does (``&quot;``, ``&#x27;``)
    before autoescape sees it; markup made by the templates themselves passes as is."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


# -- formatting ----------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _finite(value: float | None) -> float | None:
    """``value`` as a float, or None for a missing or non-finite one (NaN, inf)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _ci_end(end: float, mean: float) -> float:
    """An interval's end, or the mean when the interval is missing (NaN)."""
    value = _finite(end)
    return mean if value is None else value


def _mean(summary: MetricSummary | None) -> float | None:
    return None if summary is None else _finite(summary.mean)


def _latencies(results: Sequence[QuestionResult]) -> list[float]:
    values = (_finite(result.timings.get("total_ms")) for result in results)
    return [value for value in values if value is not None]


def _decimals(name: str, value: float) -> int:
    """Digits after the point for a value of metric ``name``: scores get 3, times and token
    counts none, speeds 1; unknown metrics by magnitude."""
    if name in QUALITY_METRICS:
        return 3
    if name.endswith("_ms") or name.endswith("_tokens"):
        return 0
    if name == "tokens_per_s":
        return 1
    magnitude = abs(value)
    return 0 if magnitude >= 100 else 1 if magnitude >= 10 else 3


def _format_value(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{_decimals(name, value)}f}"
    return f"{text} ms" if name.endswith("_ms") else text


def _summary_parts(name: str, summary: MetricSummary) -> tuple[str, str]:
    """The mean and the interval as text, e.g. ``("0.812", "(0.78–0.84)")``: the interval
    one digit shorter; the unit after the last part."""
    mean = _finite(summary.mean)
    if mean is None:
        return "—", ""
    unit = " ms" if name.endswith("_ms") else ""
    digits = _decimals(name, mean)
    ci_digits = max(digits - 1, 0)
    low, high = _finite(summary.ci_low), _finite(summary.ci_high)
    if low is None or high is None:
        return f"{mean:,.{digits}f}{unit}", ""
    return f"{mean:,.{digits}f}", f"({low:,.{ci_digits}f}–{high:,.{ci_digits}f}){unit}"


def _format_summary(name: str, summary: MetricSummary) -> str:
    """``mean (low–high)``, e.g. ``0.812 (0.78–0.84)``."""
    return " ".join(part for part in _summary_parts(name, summary) if part)


def _format_cost(cost: float | None, currency: str | None) -> str:
    value = _finite(cost)
    if value is None:
        return "—"
    text = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{text} {currency}" if currency else text


def _format_kpi(name: str, value: float | None, currency: str | None) -> str:
    if name == "cost_per_1000":
        return _format_cost(value, currency)
    if name in ("p50_total_ms", "p95_total_ms"):
        return _format_value("total_ms", value)
    return _format_value(name, value)


def _format_date(created_at: str) -> str:
    try:
        return datetime.fromisoformat(created_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created_at


def _sort_key(value: float | None) -> str:
    value = _finite(value)
    return "" if value is None else repr(value)


def _short(name: str) -> str:
    return name if len(name) <= RUN_LABEL_CHARS else name[: RUN_LABEL_CHARS - 1] + "…"
