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
import math
import operator
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

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

CSS = """
:root { color-scheme: light; }
body { font-family: "Hiragino Sans", "Noto Sans CJK JP", "Yu Gothic", Meiryo, "IPAexGothic",
  "DejaVu Sans", sans-serif; margin: 20px 24px; color: #1a1a1a; background: #fff;
  line-height: 1.5; max-width: 1400px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 32px 0 8px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 20px 0 6px; }
.meta { color: #444; margin: 0; }
.meta span { margin-right: 1.5em; }
.note { color: #555; font-size: 0.9em; margin: 4px 0 10px; }
.warn { color: #a40000; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.92em; margin: 6px 0; }
th, td { border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f0f3f7; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.metric { white-space: normal; }
.ci { white-space: nowrap; }
td.run-name { white-space: nowrap; }
.scroll { overflow-x: auto; }
.js table.sortable th { cursor: pointer; }
.failed { display: block; color: #a40000; font-weight: bold; font-size: 0.9em; }
.id { display: block; color: #777; font-size: 0.8em; }
.pass { color: #0a6b1f; font-weight: bold; }
.fail { color: #a40000; font-weight: bold; }
.unmeasured { color: #777; }
svg.chart { display: block; margin: 8px 0; background: #fff; }
svg.chart text { font-size: 12px; fill: #222; }
svg.chart .axis line, svg.chart .axis path { stroke: #888; }
svg.chart .grid { stroke: #e6e6e6; }
details { border: 1px solid #ddd; border-radius: 4px; margin: 4px 0; padding: 4px 8px; }
details[open] { background: #fafbfc; }
summary { cursor: pointer; }
summary .score { display: inline-block; min-width: 9em; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 8px 0; }
dt { font-weight: bold; }
dd { margin: 0; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
ul, ol { margin: 2px 0; padding-left: 1.4em; }
"""

# Sortable tables: a click on a header sorts by the cells' data-sort value (else their text).
SCRIPT = """
document.documentElement.classList.add("js");
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var up = th.getAttribute("data-order") !== "asc";
      th.setAttribute("data-order", up ? "asc" : "desc");
      var key = function (row) {
        var cell = row.cells[col];
        var v = cell ? (cell.getAttribute("data-sort") || cell.textContent) : "";
        var n = parseFloat(v);
        return isNaN(n) ? v : n;
      };
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = typeof x === "number" && typeof y === "number"
          ? x - y : String(x).localeCompare(String(y));
        return up ? c : -c;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


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
    sections = [
        _header(runs, items, labels),
        _comparison(runs, results, colours, labels),
        _quality_cost_chart(runs, main, colours, labels),
        _latency_chart(runs, results, colours, labels),
        _kpi_section(runs, results, use_case, kpis, labels),
        _all_metrics(runs, labels, METRIC_MEANINGS[language]),
        _worst_section(runs, results, items, main, worst, labels),
    ]
    return _page(labels["title"], language, "\n".join(sections))


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


# -- page and sections -------------------------------------------------------------------


def _page(title: str, language: str, body: str) -> str:
    csp = (
        f"default-src 'none'; style-src '{_sha256(CSS)}'; script-src '{_sha256(SCRIPT)}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _header(
    runs: Sequence[RunSummary], items: Mapping[str, EvalItem], labels: dict[str, str]
) -> str:
    set_names = ", ".join(dict.fromkeys(run.set_name for run in runs))
    date = _format_date(max(run.created_at for run in runs))
    questions = len(items) if items else max(run.n_questions for run in runs)
    names = ", ".join(run.name for run in runs)
    return (
        f'<header>\n<h1>{_e(labels["title"])}: {_e(set_names)}</h1>\n<p class="meta">'
        f"<span>{_e(labels['set'])}: <b>{_e(set_names)}</b></span>"
        f"<span>{_e(labels['date'])}: <b>{_e(date)}</b></span>"
        f'<span>{_e(labels["questions"])}: <b class="n-questions">{questions}</b></span>'
        f"<span>{_e(labels['runs_compared'])}: <b>{len(runs)}</b> ({_e(names)})</span>"
        "</p>\n</header>"
    )


def _comparison(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    colours: Mapping[str, str],
    labels: dict[str, str],
) -> str:
    columns = [name for name in QUALITY_METRICS if any(name in run.metrics for run in runs)]
    # metric names may break after an underscore (citation_precision), to keep the table narrow
    head = "".join(f"<th>{_e(name).replace('_', '_<wbr>')}</th>" for name in columns)
    rows = []
    for run in runs:
        run_results = results.get(run.id, ())
        latencies = _latencies(run_results)
        p50, p95 = percentile(latencies, 50.0), percentile(latencies, 95.0)
        cells = [_metric_cell(name, run.metrics.get(name), labels) for name in columns]
        rows.append(
            f'<tr class="run-row" data-run="{_e(run.id)}">'
            f'<td class="run-name" data-sort="{_e(run.name)}">{_swatch(colours[run.id])} '
            f"{_e(run.name)}"
            f'<span class="id">{_e(run.id)}</span>'
            f'<span class="id access">{_e(labels["access"])}: '
            f"{_e(access_label(run, labels))}</span></td>{''.join(cells)}"
            f'<td class="num">{run.n_questions}</td>'
            f"<td>{_failures_summary(run, run_results, labels)}</td>"
            f"{_latency_cell(p50)}{_latency_cell(p95)}"
            f'<td class="num" data-sort="{_sort_key(run.cost_per_1000)}">'
            f"{_e(_format_cost(run.cost_per_1000, run.currency))}</td></tr>"
        )
    return (
        f'<section id="comparison">\n<h2>{_e(labels["comparison"])}</h2>\n'
        f'<p class="note">{_e(labels["comparison_note"])}</p>\n'
        '<div class="scroll"><table class="sortable comparison">\n'
        f"<thead><tr><th>{_e(labels['run'])}</th>{head}"
        f"<th>{_e(labels['n'])}</th><th>{_e(labels['failures'])}</th>"
        f"<th>{_e(labels['p50'])}</th><th>{_e(labels['p95'])}</th>"
        f"<th>{_e(labels['cost'])}</th></tr></thead>\n"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table></div>\n</section>"
    )


def _all_metrics(
    runs: Sequence[RunSummary], labels: dict[str, str], meanings: Mapping[str, str]
) -> str:
    known = QUALITY_METRICS + PERFORMANCE_METRICS
    present = {name for run in runs for name in run.metrics}
    names = [name for name in known if name in present] + sorted(present - set(known))
    head = "".join(f"<th>{_e(run.name)}</th>" for run in runs)
    rows = []
    for name in names:
        cells = []
        for run in runs:
            summary = run.metrics.get(name)
            if summary is None:
                cells.append('<td class="num">—</td>')
                continue
            cells.append(
                f'<td class="num" data-sort="{_sort_key(_mean(summary))}">'
                f"{_summary_html(name, summary)}"
                f'<span class="id">{_e(labels["n"])}={summary.n}</span>'
                f"{_failed_badge(summary.failures, labels)}</td>"
            )
        rows.append(
            f'<tr class="metric-row" data-metric="{_e(name)}"><td>{_e(name)}</td>'
            f"<td>{_e(meanings.get(name, ''))}</td>{''.join(cells)}</tr>"
        )
    return (
        f'<section id="all-metrics">\n<h2>{_e(labels["all_metrics"])}</h2>\n'
        f'<table class="sortable all-metrics">\n<thead><tr><th>{_e(labels["metric"])}</th>'
        f"<th>{_e(labels['meaning'])}</th>{head}</tr></thead>\n"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</section>"
    )


def _kpi_section(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    use_case: Mapping[str, Any] | None,
    kpis: Sequence[tuple[str, str, float]],
    labels: dict[str, str],
) -> str:
    about = []
    for key in ("name", "purpose", "users"):
        value = (use_case or {}).get(key)
        if value:
            label = labels["use_case"] if key == "name" else labels[key]
            about.append(f"<dt>{_e(label)}</dt><dd>{_e(str(value))}</dd>")
    intro = f"<dl>{''.join(about)}</dl>\n" if about else ""
    if not kpis:
        return (
            f'<section id="kpis">\n<h2>{_e(labels["kpis"])}</h2>\n{intro}'
            f'<p class="note">{_e(labels["no_kpis"])}</p>\n</section>'
        )
    head = "".join(f"<th>{_e(run.name)}</th>" for run in runs)
    rows = []
    for name, op, target in kpis:
        cells = []
        for run in runs:
            verdict = KpiVerdict(name, op, target, kpi_value(name, run, results.get(run.id, ())))
            cells.append(_verdict_cell(verdict, run, labels))
        rows.append(
            f'<tr class="kpi-row" data-kpi="{_e(name)}"><td>{_e(name)}</td>'
            f'<td class="num">{_e(op)} {_e(_format_kpi(name, target, None))}</td>'
            f"{''.join(cells)}</tr>"
        )
    return (
        f'<section id="kpis">\n<h2>{_e(labels["kpis"])}</h2>\n{intro}'
        f'<p class="note">{_e(labels["kpi_note"])}</p>\n'
        f'<table class="kpis">\n<thead><tr><th>{_e(labels["kpi"])}</th>'
        f"<th>{_e(labels['target'])}</th>{head}</tr></thead>\n"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</section>"
    )


def _verdict_cell(verdict: KpiVerdict, run: RunSummary, labels: dict[str, str]) -> str:
    passed = verdict.passed
    if passed is None:
        return (
            f'<td class="verdict unmeasured" data-run="{_e(run.id)}">'
            f"{_e(labels['not_measured'])}</td>"
        )
    mark, css = ("✅", "pass") if passed else ("❌", "fail")
    value = _format_kpi(verdict.name, verdict.value, run.currency)
    return (
        f'<td class="verdict {css}" data-run="{_e(run.id)}">{mark} '
        f'<span class="value">{_e(value)}</span></td>'
    )


def _worst_section(
    runs: Sequence[RunSummary],
    results: Mapping[str, Sequence[QuestionResult]],
    items: Mapping[str, EvalItem],
    main: str | None,
    worst: int,
    labels: dict[str, str],
) -> str:
    metric = main or "—"
    parts = [
        f'<section id="worst">\n<h2>{_e(labels["worst"])}</h2>',
        f'<p class="note">{_e(labels["worst_note"].format(n=worst, metric=metric))}</p>',
    ]
    for run in runs:
        parts.append(f'<div class="run-worst" data-run="{_e(run.id)}">\n<h3>{_e(run.name)}</h3>')
        run_results = results.get(run.id)
        if not run_results:
            parts.append(f'<p class="note">{_e(labels["no_results"])}</p>')
        for result in worst_questions(run_results or (), main, worst):
            parts.append(_question_details(result, items.get(result.item_id), main, labels))
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


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
) -> str:
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
    sources = set(item.sources) if item else set()
    fields = [
        (
            labels["question"],
            f'<div class="text">{_e(question)}</div>'
            + ("" if item else f" {_e(labels['not_in_set'])}"),
        ),
    ]
    if item:
        fields += [
            (labels["reference_answers"], _list(item.answers)),
            (labels["reference_sources"], _list(item.sources)),
        ]
        if item.tags:
            fields.append((labels["tags"], _e(", ".join(item.tags))))
    retrieved = "".join(
        f"<li>{_e(key)}"
        + (f' <span class="pass" title="{_e(labels["hit"])}">✓</span>' if key in sources else "")
        + "</li>"
        for key in result.retrieved
    )
    passages = "".join(f'<li><div class="text">{_e(text)}</div></li>' for text in result.passages)
    fields += [
        (labels["retrieved"], f"<ol>{retrieved}</ol>" if retrieved else "—"),
        (labels["passages"], f"<ul>{passages}</ul>" if passages else "—"),
        (labels["cited"], _list(result.cited)),
        (labels["answer"], f'<div class="text answer">{_e(result.answer) or "—"}</div>'),
        (labels["status"], _e(labels[f"status_{result.status}"])),
    ]
    if result.error:
        fields.append((labels["error"], f'<div class="text fail">{_e(result.error)}</div>'))
    fields.append((labels["scores"], _question_metrics(result, labels)))
    body = "".join(f"<dt>{_e(label)}</dt><dd>{value}</dd>" for label, value in fields)
    return (
        f'<details class="question" data-item="{_e(result.item_id)}">'
        f'<summary><span class="score">{_e(score)}</span> {_e(preview)}</summary>'
        f"<dl>{body}</dl></details>"
    )


def _question_metrics(result: QuestionResult, labels: dict[str, str]) -> str:
    """One question's metrics, failures (with why), timings and token counts as a table."""
    rows = []
    names = list(result.metrics) + [name for name in result.failures if name not in result.metrics]
    for name in names:
        if name in result.failures:
            text = labels["failed_reason"].format(reason=result.failures[name])
            rows.append(f'<tr><td>{_e(name)}</td><td class="fail">{_e(text)}</td></tr>')
        else:
            value = _format_value(name, _finite(result.metrics.get(name)))
            rows.append(f'<tr><td>{_e(name)}</td><td class="num">{_e(value)}</td></tr>')
    for name, number in list(result.timings.items()) + list(result.usage.items()):
        value = _format_value(name, float(number))
        rows.append(f'<tr><td>{_e(name)}</td><td class="num">{_e(value)}</td></tr>')
    if not rows:
        return "—"
    return f'<table class="question-metrics"><tbody>{"".join(rows)}</tbody></table>'


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


def _frame(x: _Axis | None, y: _Axis, x_title: str, y_title: str) -> list[str]:
    """Grid lines, tick labels and axis titles of a chart."""
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    parts = ['<g class="axis">']
    for tick in y.ticks:
        py = y(tick)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{right}" y1="{py:.1f}" y2="{py:.1f}"/>'
            f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">'
            f"{_e(_tick_label(tick, y))}</text>"
        )
    if x is not None:
        for tick in x.ticks:
            px = x(tick)
            parts.append(
                f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}"/>'
                f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle">'
                f"{_e(_tick_label(tick, x))}</text>"
            )
    parts.append(
        f'<path d="M{left},{top} V{bottom} H{right}" fill="none"/>'
        f'<text x="{(left + right) / 2:.1f}" y="{CHART_HEIGHT - 12}" text-anchor="middle">'
        f"{_e(x_title)}</text>"
        f'<text transform="translate(16,{(top + bottom) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{_e(y_title)}</text></g>'
    )
    return parts


def _svg(chart_id: str, title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" aria-label="{_e(title)}">'
        f"<title>{_e(title)}</title>{''.join(parts)}</svg>"
    )


def _quality_cost_chart(
    runs: Sequence[RunSummary], main: str | None, colours: Mapping[str, str], labels: dict[str, str]
) -> str:
    title = labels["quality_cost"]
    head = f'<section id="quality-cost">\n<h2>{_e(title)}</h2>\n'
    if main is None:
        return f'{head}<p class="note">{_e(labels["no_quality"])}</p>\n</section>'
    currencies = list(dict.fromkeys(run.currency for run in runs if run.currency))
    currency = ", ".join(currencies) or "—"
    plotted = [
        run
        for run in runs
        if _finite(run.cost_per_1000) is not None and _mean(run.metrics.get(main)) is not None
    ]
    note = labels["quality_cost_note"].format(metric=main, currency=currency)
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
    parts = _frame(x, y, labels["cost_axis"].format(currency=currency), main)
    for run, cost, summary, low, high in zip(plotted, costs, summaries, lows, highs, strict=True):
        px, py = x(cost), y(summary.mean)
        colour = colours[run.id]
        anchor, dx = ("end", -12) if px > CHART_WIDTH - 200 else ("start", 12)
        tip = (
            f"{run.name}: {main} {_format_summary(main, summary)}, "
            f"{_format_cost(run.cost_per_1000, run.currency)}"
        )
        parts.append(
            f'<g class="point" data-run="{_e(run.id)}"><title>{_e(tip)}</title>'
            f'<line class="errorbar" x1="{px:.1f}" x2="{px:.1f}" y1="{y(low):.1f}" '
            f'y2="{y(high):.1f}" stroke="{colour}" stroke-width="2"/>'
            f'<line x1="{px - 6:.1f}" x2="{px + 6:.1f}" y1="{y(low):.1f}" y2="{y(low):.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<line x1="{px - 6:.1f}" x2="{px + 6:.1f}" y1="{y(high):.1f}" y2="{y(high):.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="8" fill="{colour}"/>'
            f'<text x="{px + dx:.1f}" y="{py - 8:.1f}" text-anchor="{anchor}">'
            f"{_e(_short(run.name))} ({_e(_format_value(main, summary.mean))})</text></g>"
        )
    return (
        f'{head}<p class="note">{_e(note)}</p>\n'
        + "".join(f'<p class="warn">{_e(warning)}</p>\n' for warning in warnings)
        + f"{_svg('chart-quality-cost', title, parts)}\n</section>"
    )


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
) -> str:
    title = labels["latency"]
    timed = [(run, _latencies(results.get(run.id, ()))) for run in runs]
    boxes = [(run, _box(values)) for run, values in timed if values]
    missing = [run.name for run, values in timed if not values]
    warning = (
        f'<p class="warn">{_e(labels["no_timings"].format(runs=", ".join(missing)))}</p>\n'
        if missing
        else ""
    )
    # A timeout far above the rest would flatten every box: the axis stops at twice the
    # highest whisker, and the values above it are marked at the top with their maximum.
    largest = max((box.top for _, box in boxes), default=1.0)
    whiskers = max((box.high for _, box in boxes), default=1.0)
    y = _axis(
        0.0, min(largest, OFF_SCALE_FACTOR * whiskers), CHART_HEIGHT - MARGIN_BOTTOM, MARGIN_TOP
    )
    parts = _frame(None, y, "", labels["latency_axis"])
    left, right = MARGIN_LEFT + 10, CHART_WIDTH - MARGIN_RIGHT
    slot = (right - left) / max(len(boxes), 1)
    half = min(40.0, slot * 0.3)
    for index, (run, box) in enumerate(boxes):
        centre = left + slot * (index + 0.5)
        colour = colours[run.id]
        tip = (
            f"{run.name}: n={box.n}, p25 {box.q1:,.0f} ms, median {box.median:,.0f} ms, "
            f"p75 {box.q3:,.0f} ms, max {box.top:,.0f} ms"
        )
        shown = [v for v in box.outliers if v <= y.hi]
        above = [v for v in box.outliers if v > y.hi]
        dots = "".join(
            f'<circle class="outlier" cx="{centre:.1f}" cy="{y(v):.1f}" r="3" fill="none" '
            f'stroke="{colour}"/>'
            for v in shown
        )
        if above:
            text = labels["off_scale"].format(n=len(above), max=f"{max(above):,.0f} ms")
            dots += (
                f'<g class="off-scale"><path d="M{centre - 5:.1f},{MARGIN_TOP + 8} '
                f'L{centre:.1f},{MARGIN_TOP} L{centre + 5:.1f},{MARGIN_TOP + 8} Z" '
                f'fill="{colour}"/><text x="{centre + 9:.1f}" y="{MARGIN_TOP + 9}">'
                f"{_e(text)}</text></g>"
            )
        parts.append(
            f'<g class="box" data-run="{_e(run.id)}" data-n="{box.n}">'
            f"<title>{_e(tip)}</title>"
            f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{y(box.low):.1f}" '
            f'y2="{y(box.high):.1f}" stroke="{colour}" stroke-width="1.5"/>'
            f'<line x1="{centre - half / 2:.1f}" x2="{centre + half / 2:.1f}" '
            f'y1="{y(box.low):.1f}" y2="{y(box.low):.1f}" stroke="{colour}" stroke-width="1.5"/>'
            f'<line x1="{centre - half / 2:.1f}" x2="{centre + half / 2:.1f}" '
            f'y1="{y(box.high):.1f}" y2="{y(box.high):.1f}" stroke="{colour}" '
            'stroke-width="1.5"/>'
            f'<rect x="{centre - half:.1f}" y="{y(box.q3):.1f}" width="{2 * half:.1f}" '
            f'height="{max(y(box.q1) - y(box.q3), 1.0):.1f}" fill="{colour}" '
            f'fill-opacity="0.2" stroke="{colour}" stroke-width="1.5"/>'
            f'<line class="median" x1="{centre - half:.1f}" x2="{centre + half:.1f}" '
            f'y1="{y(box.median):.1f}" y2="{y(box.median):.1f}" stroke="{colour}" '
            'stroke-width="4"/>'
            f"{dots}"
            f'<text x="{centre:.1f}" y="{CHART_HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle">{_e(_short(run.name))}</text>'
            f'<text x="{centre:.1f}" y="{CHART_HEIGHT - MARGIN_BOTTOM + 32}" '
            f'text-anchor="middle">n={box.n}, p50 {box.median:,.0f} ms</text></g>'
        )
    return (
        f'<section id="latency">\n<h2>{_e(title)}</h2>\n'
        f'<p class="note">{_e(labels["latency_note"])}</p>\n{warning}'
        f"{_svg('chart-latency', title, parts)}\n</section>"
    )


# -- formatting ----------------------------------------------------------------------------


def _e(text: str) -> str:
    return escape(text, quote=True)


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


def _summary_html(name: str, summary: MetricSummary) -> str:
    """:func:`_format_summary` as HTML that wraps before the interval, not inside it."""
    mean, interval = _summary_parts(name, summary)
    if not interval:
        return _e(mean)
    return f'{_e(mean)} <span class="ci">{_e(interval)}</span>'


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


def _metric_cell(name: str, summary: MetricSummary | None, labels: dict[str, str]) -> str:
    if summary is None:
        return '<td class="num">—</td>'
    return (
        f'<td class="num metric" data-metric="{_e(name)}" '
        f'data-sort="{_sort_key(_mean(summary))}">{_summary_html(name, summary)}'
        f"{_failed_badge(summary.failures, labels)}</td>"
    )


def _latency_cell(value: float | None) -> str:
    return (
        f'<td class="num" data-sort="{_sort_key(value)}">'
        f"{_e(_format_value('total_ms', value))}</td>"
    )


def _failed_badge(failures: int, labels: dict[str, str]) -> str:
    if failures <= 0:
        return ""
    return f'<span class="failed">{_e(labels["failed"].format(n=failures))}</span>'


def _failures_summary(
    run: RunSummary, results: Sequence[QuestionResult], labels: dict[str, str]
) -> str:
    """Every metric with failures and the count of questions that ended in an error."""
    lines = [
        f"{_e(name)}: {_e(labels['failed'].format(n=summary.failures))}"
        for name, summary in run.metrics.items()
        if summary.failures > 0
    ]
    errors = sum(1 for result in results if result.status == "error")
    if errors:
        lines.append(_e(labels["errors"].format(n=errors)))
    if not lines:
        return "0"
    return "".join(f'<span class="failed">{line}</span>' for line in lines)


def _sort_key(value: float | None) -> str:
    value = _finite(value)
    return "" if value is None else repr(value)


def _swatch(colour: str) -> str:
    return (
        '<svg width="12" height="12" aria-hidden="true">'
        f'<rect width="12" height="12" fill="{colour}"/></svg>'
    )


def _short(name: str) -> str:
    return name if len(name) <= RUN_LABEL_CHARS else name[: RUN_LABEL_CHARS - 1] + "…"


def _list(values: Sequence[str]) -> str:
    if not values:
        return "—"
    return "<ul>" + "".join(f'<li class="text">{_e(value)}</li>' for value in values) + "</ul>"
