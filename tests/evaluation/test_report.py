"""The HTML evaluation report: structure, escaping, KPI verdicts and labels on the rendered
text, then the page opened in real headless Chromium (Debian's ``chromium``): a screenshot
that shows the table and both charts, and the DOM after the page's script ran."""

from __future__ import annotations

import hashlib
import math
import random
import re
import struct
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from kotae.errors import ConfigError
from kotae.evaluation.model import EvalItem, MetricSummary, QuestionResult, RunSummary
from kotae.evaluation.report import (
    CSS,
    LABELS,
    METRIC_MEANINGS,
    RUN_COLOURS,
    SCRIPT,
    evaluate_kpis,
    main_metric,
    percentile,
    render_report,
    worst_questions,
    write_report,
)
from tests.browser import run_chromium

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
JUDGE_FAILURE = "judge returned no JSON verdict after 2 retries"

TOPICS = [
    ("経費の申請期限はいつですか？", "翌月10日", "経費精算規程.md"),
    ("出張の宿泊費の上限はいくらですか？", "1泊12,000円", "出張旅費規程.md"),
    ("在宅勤務は週に何日までできますか？", "週3日", "在宅勤務規程.md"),
    ("有給休暇は年に何日付与されますか？", "20日", "就業規則.md"),
    ("APIのレート制限は？", "毎分600リクエスト", "api-guide.md"),
    ("パスワードの有効期限は？", "90日", "情報セキュリティ規程.md"),
    ("交通費の精算に必要なものは？", "領収書の原本", "経費精算規程.md"),
    ("育児休業は最長いつまで取れますか？", "子が2歳になるまで", "育児介護休業規程.md"),
    ("SP-200の保証期間は？", "購入から3年", "製品保証.md"),
    ("会議室の予約は何日前から？", "30日前", "総務手順書.md"),
]


# -- building realistic runs ---------------------------------------------------------------


def make_items() -> dict[str, EvalItem]:
    """20 questions over 10 documents (each topic asked twice, in two phrasings)."""
    items = {}
    for i in range(20):
        question, answer, source = TOPICS[i % len(TOPICS)]
        if i >= len(TOPICS):
            question = "念のため確認です。" + question
        items[f"q{i + 1:02d}"] = EvalItem(
            id=f"q{i + 1:02d}",
            question=question,
            answers=(answer,),
            sources=(source,),
            tags=("規程",),
            language="ja",
        )
    return items


def make_results(
    items: dict[str, EvalItem],
    *,
    seed: int,
    skill: float,
    latency_ms: float,
    judge_failures: tuple[int, ...] = (),
    errors: tuple[int, ...] = (),
) -> list[QuestionResult]:
    """Per-question results of a configuration that gets about ``skill`` of the questions
    right at a median latency of ``latency_ms``; the questions at ``judge_failures`` have no
    correctness (the judge failed) and those at ``errors`` ended in a backend error."""
    rng = random.Random(seed)
    documents = sorted({source for _, _, source in TOPICS})
    results = []
    for index, item in enumerate(items.values()):
        others = [d for d in documents if d not in item.sources]
        rng.shuffle(others)
        hit = rng.random() < skill + 0.1
        retrieved = others[:5]
        if hit:
            retrieved.insert(rng.randrange(0, 3), item.sources[0])
            retrieved = retrieved[:5]
        if index in errors:
            results.append(
                QuestionResult(
                    item_id=item.id,
                    status="error",
                    retrieved=retrieved,
                    error="BackendTimeoutError: no answer within 60 s",
                    timings={"total_ms": 60000.0},
                )
            )
            continue
        correct = rng.random() < skill
        answer = f"{item.answers[0]}です。[1]" if correct else "資料からは分かりませんでした。"
        metrics: dict[str, float | None] = {
            "recall@5": 1.0 if hit else 0.0,
            "mrr": 1.0 / (retrieved.index(item.sources[0]) + 1) if hit else 0.0,
            "char_f1": round(rng.uniform(0.7, 1.0) if correct else rng.uniform(0.0, 0.3), 3),
            "correctness": 1.0 if correct else rng.choice([0.0, 0.5]),
            "faithfulness": round(rng.uniform(0.6, 1.0), 3),
            "citation_precision": 1.0 if correct and hit else 0.0,
            "custom_score": round(rng.uniform(10, 40), 1),  # a metric the report does not know
        }
        failures = {}
        if index in judge_failures:
            metrics["correctness"] = None
            failures["correctness"] = JUDGE_FAILURE
        total = latency_ms * math.exp(rng.gauss(0.0, 0.35))
        results.append(
            QuestionResult(
                item_id=item.id,
                status="ok",
                answer=answer,
                retrieved=retrieved,
                cited=retrieved[:1] if correct else [],
                metrics=metrics,
                failures=failures,
                timings={
                    "ttft_ms": round(total * 0.2, 1),
                    "total_ms": round(total, 1),
                    "tokens_per_s": round(rng.uniform(25, 45), 1),
                },
                usage={"prompt_tokens": rng.randint(900, 1400), "completion_tokens": 40},
            )
        )
    return results


def summarize(
    run_id: str,
    name: str,
    results: list[QuestionResult],
    *,
    cost: float | None,
    currency: str | None = "JPY",
) -> RunSummary:
    """A run summary with means and normal-approximation 95% intervals: enough for the
    report, which only displays the aggregates it is given."""
    names = dict.fromkeys(n for r in results for n in [*r.metrics, *r.timings, *r.usage])
    metrics = {}
    for metric in names:
        values = []
        for r in results:
            value = r.metrics.get(metric, r.timings.get(metric, r.usage.get(metric)))
            if value is not None:
                values.append(float(value))
        failures = sum(1 for r in results if metric in r.failures)
        mean = sum(values) / len(values)
        half = 1.96 * float(np.std(values)) / math.sqrt(len(values))
        metrics[metric] = MetricSummary(mean, mean - half, mean + half, len(values), failures)
    return RunSummary(
        id=run_id,
        name=name,
        set_name="社内規程QA",
        created_at="2025-06-02T10:15:00+09:00",
        status="done",
        n_questions=len(results),
        metrics=metrics,
        cost_per_1000=cost,
        currency=currency,
    )


@dataclass
class Fixture:
    items: dict[str, EvalItem]
    runs: list[RunSummary]
    results: dict[str, list[QuestionResult]]


@pytest.fixture
def two_runs() -> Fixture:
    """A clearly better run (GPT-4o-like: more correct, faster, dearer) and a weaker local
    one with three judge failures and one timeout."""
    items = make_items()
    good = make_results(items, seed=1, skill=0.85, latency_ms=900.0)
    weak = make_results(
        items, seed=2, skill=0.45, latency_ms=2600.0, judge_failures=(2, 5, 9), errors=(13,)
    )
    runs = [
        summarize("run-good", "gpt-4o", good, cost=310.0),
        summarize("run-weak", "llama3-8b-ollama", weak, cost=95.0),
    ]
    return Fixture(items, runs, {"run-good": good, "run-weak": weak})


# -- a small DOM to query the rendered page and the browser's DOM --------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, cls: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if n.tag == tag
            and (cls is None or cls in n.classes())
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} class={cls} {attrs}>"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def check_structure(dom: Node, fixture: Fixture) -> None:
    """What both the rendered text and the browser's DOM must hold: a table row and a
    drill-down per run, and two charts with one point and one box per run."""
    rows = dom.find("table", "comparison").find_all("tr", "run-row")
    assert [row.attrs["data-run"] for row in rows] == ["run-good", "run-weak"]
    assert "gpt-4o" in rows[0].text() and "llama3-8b-ollama" in rows[1].text()
    charts = dom.find_all("svg", "chart")
    assert [c.attrs["id"] for c in charts] == ["chart-quality-cost", "chart-latency"]
    points = charts[0].find_all("g", "point")
    assert [p.attrs["data-run"] for p in points] == ["run-good", "run-weak"]
    assert all(len(p.find_all("circle")) == 1 for p in points)
    assert all(len(p.find_all("line", "errorbar")) == 1 for p in points)
    boxes = charts[1].find_all("g", "box")
    assert [(b.attrs["data-run"], b.attrs["data-n"]) for b in boxes] == [
        ("run-good", "20"),
        ("run-weak", "20"),
    ]
    assert all(len(b.find_all("rect")) == 1 for b in boxes)
    for run in fixture.runs:
        drill = dom.find("div", "run-worst", data_run=run.id)
        assert len(drill.find_all("details", "question")) == 10


# -- the rendered text -----------------------------------------------------------------------


def test_report_structure(two_runs: Fixture) -> None:
    html = render_report(two_runs.runs, two_runs.results, two_runs.items, language="en")
    dom = parse(html)
    check_structure(dom, two_runs)
    header = dom.find("header").text()
    assert "社内規程QA" in header and "2025-06-02 10:15" in header
    assert dom.find("b", "n-questions").text() == "20"
    assert "Runs compared: 2 (gpt-4o, llama3-8b-ollama)" in header


def test_comparison_cells_show_mean_interval_failures_latency_and_cost(
    two_runs: Fixture,
) -> None:
    run = two_runs.runs[1]
    run.metrics["recall@5"] = MetricSummary(0.812, 0.781, 0.843, 20)
    html = render_report(two_runs.runs, two_runs.results, two_runs.items, language="en")
    row = parse(html).find("tr", "run-row", data_run="run-weak")
    cells = {c.attrs.get("data-metric"): c.text() for c in row.find_all("td")}
    assert cells["recall@5"] == "0.812 (0.78–0.84)"
    # judge failures are counted in the cell and in the failures column, not hidden
    assert cells["correctness"].endswith("3 failed")
    texts = [c.text() for c in row.find_all("td")]
    assert "correctness: 3 failed" in texts[-4] and "questions with errors: 1" in texts[-4]
    latencies = [r.timings["total_ms"] for r in two_runs.results["run-weak"]]
    assert texts[-3] == f"{np.percentile(latencies, 50):,.0f} ms"
    assert texts[-2] == f"{np.percentile(latencies, 95):,.0f} ms"
    assert texts[-1] == "95.00 JPY"
    good = parse(html).find("tr", "run-row", data_run="run-good").find_all("td")
    assert good[-4].text() == "0" and good[-1].text() == "310 JPY"


def test_user_text_is_escaped_everywhere(two_runs: Fixture) -> None:
    first = next(iter(two_runs.items))
    two_runs.items[first] = EvalItem(
        id=first, question=f"経費 {XSS}", answers=(XSS,), sources=('a"b.md',)
    )
    result = two_runs.results["run-weak"][0]
    result.answer = f"回答 {XSS}"
    result.retrieved = [f"{XSS}.md", *result.retrieved]
    result.status = "error"  # first in the drill-down
    result.error = XSS
    two_runs.runs[1].name = f"<b>{XSS}</b>"
    use_case = {"purpose": XSS, "kpis": [{"name": XSS, "op": ">=", "target": 1}]}
    html = render_report(
        two_runs.runs, two_runs.results, two_runs.items, use_case=use_case, language="en"
    )
    assert XSS not in html
    assert "<b><script" not in html
    assert html.count("<script") == 1  # the report's own, at the end
    assert f'<div class="text">経費 {XSS_ESCAPED}</div>' in html
    assert f"回答 {XSS_ESCAPED}" in html
    assert f"<li>{XSS_ESCAPED}.md</li>" in html
    assert "a&quot;b.md" in html
    assert f'data-kpi="{XSS_ESCAPED}"' in html
    drill = parse(html).find("div", "run-worst", data_run="run-weak")
    details = drill.find("details", "question", data_item=first)
    assert details.find("summary").text() == f"error 経費 {XSS}"
    assert details.find("div", "answer").text() == f"回答 {XSS}"


def test_the_page_fetches_nothing_and_only_its_own_script_may_run(two_runs: Fixture) -> None:
    html = render_report(two_runs.runs, two_runs.results, two_runs.items)
    # the only URL is the SVG namespace, which is a name, not a fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"\bsrc=", html)
    csp = parse(html).find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp
    script = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert script == [SCRIPT]
    digest = b64encode(hashlib.sha256(script[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    style = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert style == [CSS] and not re.search(r"\sstyle=", html)  # no style attribute to block
    digest = b64encode(hashlib.sha256(style[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp


def test_kpi_verdicts(two_runs: Fixture) -> None:
    use_case = {
        "name": "社内ナレッジ検索",
        "purpose": "規程から出典付きで答える",
        "users": "全社員",
        "kpis": [
            {"name": "recall@5", "op": ">=", "target": 0.8},
            {"name": "p95_total_ms", "op": "<=", "target": 3000},
            {"name": "cost_per_1000", "op": "<=", "target": 300},
            {"name": "handling_time_saved", "op": ">=", "target": 0.2},
            {"name": "ttft_ms", "op": "<", "target": 1000},
        ],
    }
    good, weak = two_runs.runs
    good_recall, weak_recall = good.metrics["recall@5"].mean, weak.metrics["recall@5"].mean
    assert good_recall >= 0.8 > weak_recall  # the data behave as designed
    verdicts = evaluate_kpis(use_case, weak, two_runs.results["run-weak"])
    weak_p95 = float(
        np.percentile([r.timings["total_ms"] for r in two_runs.results["run-weak"]], 95)
    )
    assert [(v.name, v.value, v.passed) for v in verdicts] == [
        ("recall@5", weak_recall, False),
        ("p95_total_ms", pytest.approx(weak_p95), False),
        ("cost_per_1000", 95.0, True),
        ("handling_time_saved", None, None),
        ("ttft_ms", weak.metrics["ttft_ms"].mean, weak.metrics["ttft_ms"].mean < 1000),
    ]

    html = render_report(
        two_runs.runs, two_runs.results, two_runs.items, use_case=use_case, language="en"
    )
    section = parse(html).find("section", id="kpis")
    assert "社内ナレッジ検索" in section.text() and "全社員" in section.text()

    def cells(kpi: str) -> list[tuple[str, str]]:
        row = section.find("tr", "kpi-row", data_kpi=kpi)
        return [
            (sorted(c.classes() - {"verdict"})[0], c.text()) for c in row.find_all("td", "verdict")
        ]

    assert cells("recall@5") == [
        ("pass", f"✅ {good_recall:.3f}"),
        ("fail", f"❌ {weak_recall:.3f}"),
    ]
    assert cells("p95_total_ms")[0][0] == "pass"
    assert cells("p95_total_ms")[1] == ("fail", f"❌ {weak_p95:,.0f} ms")
    assert cells("cost_per_1000") == [("fail", "❌ 310 JPY"), ("pass", "✅ 95.00 JPY")]
    assert cells("handling_time_saved") == [("unmeasured", "not measured")] * 2
    target = section.find("tr", "kpi-row", data_kpi="p95_total_ms").find_all("td")[1]
    assert target.text() == "<= 3,000 ms"


@pytest.mark.parametrize(
    ("kpi", "message"),
    [
        ({"name": "recall@5", "op": "=>", "target": 0.9}, "KPI #2 (recall@5): unknown op '=>'"),
        ({"name": "p95_total_ms", "op": "<=", "target": "3 s"}, "KPI #2 (p95_total_ms): target"),
        ({"op": "<=", "target": 1}, "KPI #2 has no name"),
    ],
)
def test_a_malformed_kpi_is_a_config_error_naming_it(
    two_runs: Fixture, kpi: dict[str, object], message: str
) -> None:
    use_case = {"kpis": [{"name": "mrr", "op": ">=", "target": 0.5}, kpi]}
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        render_report(two_runs.runs, two_runs.results, two_runs.items, use_case=use_case)
    assert caught.value.message_ja and "KPI #2" in caught.value.message_ja


def test_japanese_and_english_labels(two_runs: Fixture) -> None:
    assert LABELS["ja"].keys() == LABELS["en"].keys()
    assert METRIC_MEANINGS["ja"].keys() == METRIC_MEANINGS["en"].keys()
    use_case = {"kpis": [{"name": "handling_time_saved", "op": ">=", "target": 0.2}]}
    ja = render_report(two_runs.runs, two_runs.results, two_runs.items, use_case=use_case)
    en = render_report(
        two_runs.runs, two_runs.results, two_runs.items, use_case=use_case, language="en"
    )
    assert '<html lang="ja">' in ja and '<html lang="en">' in en
    for text in ("評価レポート", "比較表", "品質と費用", "応答時間の分布", "KPI の判定", "未測定"):
        assert text in ja and text not in en
    for text in ("Evaluation report", "Comparison", "Quality against cost", "not measured"):
        assert text in en and text not in ja
    row = parse(ja).find("tr", "run-row", data_run="run-weak")
    assert "correctness: 3件失敗" in row.text() and "エラーの質問: 1件" in row.text()


def test_judge_failures_are_shown_and_never_ranked_as_low_scores(two_runs: Fixture) -> None:
    html = render_report(two_runs.runs, two_runs.results, two_runs.items, language="en", worst=20)
    drill = parse(html).find("div", "run-worst", data_run="run-weak")
    order = [d.attrs["data-item"] for d in drill.find_all("details", "question")]
    assert order[0] == "q14"  # the timeout first
    assert order[-3:] == ["q03", "q06", "q10"]  # unscored by the judge last, not as zeros
    failed = drill.find("details", "question", data_item="q06")
    assert f"correctness: failed: {JUDGE_FAILURE}" in failed.find("summary").text()
    metrics = failed.find("table", "question-metrics")
    assert f"failed: {JUDGE_FAILURE}" in metrics.text()
    timeout = drill.find("details", "question", data_item="q14")
    assert "BackendTimeoutError: no answer within 60 s" in timeout.text()
    cell = (
        parse(html).find("tr", "run-row", data_run="run-weak").find("td", data_metric="correctness")
    )
    assert cell.find("span", "failed").text() == "3 failed"


def test_drill_down_shows_references_retrieval_answer_and_metrics(two_runs: Fixture) -> None:
    html = render_report(two_runs.runs, two_runs.results, two_runs.items, language="en", worst=3)
    drill = parse(html).find("div", "run-worst", data_run="run-good")
    details = drill.find_all("details", "question")
    assert len(details) == 3
    scores = [float(d.find("span", "score").text().split(": ")[1]) for d in details]
    lowest = sorted(r.metrics["correctness"] or 0.0 for r in two_runs.results["run-good"])[:3]
    assert scores == lowest
    first = details[0]
    result = next(r for r in two_runs.results["run-good"] if r.item_id == first.attrs["data-item"])
    item = two_runs.items[result.item_id]
    text = first.text()
    assert item.question in text and item.answers[0] in text and item.sources[0] in text
    assert [li.text().rstrip(" ✓") for li in first.find("ol").find_all("li")] == result.retrieved
    assert first.find("div", "answer").text() == result.answer
    assert f"{result.timings['total_ms']:,.0f} ms" in text


def test_unknown_metrics_are_listed_generically(two_runs: Fixture) -> None:
    html = render_report(two_runs.runs, two_runs.results, two_runs.items, language="en")
    table = parse(html).find("table", "all-metrics")
    names = [row.attrs["data-metric"] for row in table.find_all("tr", "metric-row")]
    assert names[-1] == "custom_score"
    assert names[:3] == ["recall@5", "mrr", "char_f1"]
    summary = two_runs.runs[0].metrics["custom_score"]
    row = table.find("tr", "metric-row", data_metric="custom_score")
    assert f"{summary.mean:.1f} ({summary.ci_low:.0f}–{summary.ci_high:.0f})" in row.text()


def test_runs_without_cost_timings_or_results_are_named_not_dropped(two_runs: Fixture) -> None:
    two_runs.runs[1].cost_per_1000 = None
    del two_runs.results["run-weak"]
    html = render_report(two_runs.runs, two_runs.results, two_runs.items, language="en")
    dom = parse(html)
    assert len(dom.find("svg", id="chart-quality-cost").find_all("g", "point")) == 1
    assert len(dom.find("svg", id="chart-latency").find_all("g", "box")) == 1
    assert "Not plotted (no cost or no correctness): llama3-8b-ollama" in html
    assert "No timings for: llama3-8b-ollama" in html
    drill = dom.find("div", "run-worst", data_run="run-weak")
    assert "No per-question results." in drill.text()


def test_main_metric_prefers_the_judge_then_answer_f1_then_recall(two_runs: Fixture) -> None:
    runs = two_runs.runs
    assert main_metric(runs) == "correctness"
    for run in runs:
        del run.metrics["correctness"]
    assert main_metric(runs) == "char_f1"
    for run in runs:
        del run.metrics["char_f1"]
    assert main_metric(runs) == "recall@5"
    for run in runs:
        del run.metrics["recall@5"]
    assert main_metric(runs) is None
    html = render_report(runs, two_runs.results, two_runs.items, language="en")
    assert "No run has a quality metric to plot." in html


def test_worst_questions_order() -> None:
    def result(item_id: str, status: str = "ok", score: float | None = None) -> QuestionResult:
        return QuestionResult(item_id, status, metrics={"char_f1": score})  # type: ignore[arg-type]

    results = [
        result("a", score=0.9),
        result("b", score=None),
        result("c", status="error"),
        result("d", score=0.1),
        result("e", score=0.1),
        result("f", score=float("nan")),
    ]
    assert [r.item_id for r in worst_questions(results, "char_f1", 10)] == list("cdeabf")
    assert [r.item_id for r in worst_questions(results, "char_f1", 2)] == ["c", "d"]
    assert [r.item_id for r in worst_questions(results, None, 2)] == ["c", "a"]


@pytest.mark.parametrize(
    "values",
    [[5.0], [3.0, 1.0], [120.0, 80.0, 95.5, 3000.0, 410.0, 77.0, 1200.0]],
)
def test_percentile_matches_numpy(values: list[float]) -> None:
    for q in (0.0, 25.0, 50.0, 95.0, 100.0):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50.0) is None


def test_bad_arguments_are_config_errors(two_runs: Fixture) -> None:
    with pytest.raises(ConfigError, match="no run to report"):
        render_report([], {}, {})
    with pytest.raises(ConfigError, match="unknown report language 'fr'"):
        render_report(two_runs.runs, {}, {}, language="fr")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="worst must be 0 or more"):
        render_report(two_runs.runs, {}, {}, worst=-1)


def test_write_report_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.html"
    assert write_report(path, "<p>一</p>") == path
    assert write_report(path, "<p>二</p>") == path
    assert path.read_bytes() == "<p>二</p>".encode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


# -- in real headless Chromium ---------------------------------------------------------------

WIDTH, HEIGHT = 1280, 2400


@pytest.fixture
def report_file(two_runs: Fixture, tmp_path: Path) -> Path:
    use_case = {"kpis": [{"name": "recall@5", "op": ">=", "target": 0.8}]}
    first = two_runs.results["run-weak"][0]
    first.answer = XSS
    first.status = "error"  # so that it is in the drill-down
    html = render_report(
        two_runs.runs, two_runs.results, two_runs.items, use_case=use_case, language="en"
    )
    return write_report(tmp_path / "report.html", html)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def colour_bands(pixels: np.ndarray, colour: str, tolerance: int = 12) -> list[int]:
    """Where ``colour`` (#rrggbb) shows in a screenshot (H x W x 3): the pixel count of each
    horizontal band of rows that hold it, bands being split by 40 rows without it."""
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    per_row = (np.abs(pixels.astype(int) - target) <= tolerance).all(axis=-1).sum(axis=1)
    rows = np.flatnonzero(per_row)
    if rows.size == 0:
        return []
    splits = np.flatnonzero(np.diff(rows) > 40) + 1
    return [int(per_row[band].sum()) for band in np.split(rows, splits)]


@pytest.mark.integration
def test_screenshot_shows_the_table_and_both_charts(
    chromium: str, report_file: Path, tmp_path: Path
) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    run_chromium(
        chromium,
        tmp_path,
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        report_file.as_uri(),
    )
    assert png_size(shot) == (WIDTH, HEIGHT)
    with Image.open(shot) as image:
        image.load()
        pixels = np.asarray(image.convert("RGB"))
    # the table and both charts end near 1,400 px at this width; the KPI table that follows
    # them uses no run colour
    top = pixels[:1700]
    non_white = int((top.min(axis=-1) < 240).sum())
    assert non_white > 0.03 * top.shape[0] * WIDTH, non_white
    colours = len(np.unique(top.reshape(-1, 3), axis=0))
    assert colours > 100, colours  # antialiased text, two run colours and their tints
    # each run's colour shows, top to bottom, in its swatch in the table (12 x 12 px), its
    # point and error bar in the quality chart (~250 px) and its box plot (~500 px; the weak
    # run also has the off-scale marker of its timeout above its box)
    for colour in RUN_COLOURS[:2]:
        bands = colour_bands(top, colour)
        assert len(bands) >= 3 and 100 <= bands[0] <= 200, (colour, bands)
        assert bands[1] > 150 and bands[-1] > 300, (colour, bands)


@pytest.mark.integration
def test_dom_in_chromium_has_the_rows_charts_and_ran_its_script(
    chromium: str, report_file: Path, tmp_path: Path, two_runs: Fixture
) -> None:
    done = run_chromium(chromium, tmp_path, "--dump-dom", report_file.as_uri())
    dom = parse(done.stdout)
    check_structure(dom, two_runs)
    # the inline script ran under the page's Content-Security-Policy
    assert "js" in dom.find("html").classes()
    # the injected script is text in the answer, not an element
    assert len(dom.find_all("script")) == 1
    answers = [d.text() for d in dom.find_all("div", "answer")]
    assert XSS in answers
