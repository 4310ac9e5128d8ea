"""Rewrite the result tables of docs/benchmarks.md from benchmarks/results/*.json.

Usage: .venv/bin/python benchmarks/render.py [--results DIR] [--doc docs/benchmarks.md]

Only the text between the markers ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` for NAME in
retrieval, scale, ingest, qa, ask-overhead, eval-run, real-model, server-load, sizing, pii and
web-ui is replaced; the prose around them is left as written.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_harness import REPO_ROOT, RESULTS_DIR, JsonDict, read_json

SET_ORDER = ["jsquad", "jaquad", "squad", "beir-scifact"]
NDCG_TARGETS = {"jaquad": 0.915, "jsquad": 0.95, "squad": 0.86, "beir-scifact": 0.69}
LATENCY_TARGETS_MS = {"jaquad": {"p50": 5.0, "p95": 20.0}}
INGEST_TARGET_S = 60.0
ANCHOR_ORDER = ["lucene", "bm25s"]
NOT_MEASURED = "not measured"


@dataclass
class EngineRow:
    """One engine's figures on one set; ``status`` is "ok", "not run" or "failed"."""

    label: str
    status: str
    reason: str = ""
    ndcg10: float | None = None
    held_out_ndcg10: float | None = None  # kotae only: the report half (kotae.bench.split_half)
    recall10: float | None = None
    mrr10: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    index_s: float | None = None


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def lowercase_keys(mapping: JsonDict) -> JsonDict:
    return {str(key).lower(): value for key, value in mapping.items()}


def engine_row(label: str, entry: JsonDict | None) -> EngineRow:
    """Normalize kotae's nested JSON (metrics/timing) and the anchors' flat JSON lines."""
    if not entry or entry.get("status") != "ok":
        entry = entry or {}
        return EngineRow(label, str(entry.get("status", "not run")), str(entry.get("reason", "")))
    result: JsonDict = entry.get("result") or {}
    metrics = lowercase_keys(result.get("metrics") or result)
    timing = lowercase_keys(result.get("timing") or result)
    return EngineRow(
        label=label,
        status="ok",
        ndcg10=number(metrics.get("ndcg@10")),
        held_out_ndcg10=number(held_out_metrics(result).get("ndcg@10")),
        recall10=number(metrics.get("recall@10")),
        mrr10=number(metrics.get("mrr@10")),
        p50_ms=number(timing.get("query_p50_ms")),
        p95_ms=number(timing.get("query_p95_ms")),
        index_s=number(timing.get("index_s")),
    )


def held_out_metrics(result: JsonDict) -> JsonDict:
    """The figures of the report half of the queries, never used for tuning (``{}`` when
    the result predates them)."""
    held_out = result.get("held_out")
    metrics = held_out.get("metrics") if isinstance(held_out, dict) else None
    return lowercase_keys(metrics) if isinstance(metrics, dict) else {}


def set_rows(data: JsonDict) -> list[EngineRow]:
    anchors: JsonDict = data.get("anchors") or {}
    rows = [engine_row("**kotae**", data.get("kotae"))]
    for name in ANCHOR_ORDER:
        entry = anchors.get(name)
        label = str((entry or {}).get("label") or name)
        if name == "bm25s":
            label += " (char bigrams)" if data.get("lang") == "ja" else " (words)"
        rows.append(engine_row(label, entry))
    return rows


def retrieval_table(data: JsonDict) -> list[str]:
    lines = [
        "| engine | nDCG@10 | nDCG@10 report half | recall@10 | MRR@10 | query p50 ms "
        "| query p95 ms | index s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in set_rows(data):
        if row.status != "ok":
            reason = f": {row.reason}" if row.reason else ""
            lines.append(f"| {row.label} | {row.status}{reason} | | | | | | |")
            continue
        lines.append(
            f"| {row.label} | {fmt(row.ndcg10, 3)} | {fmt(row.held_out_ndcg10, 3)} "
            f"| {fmt(row.recall10, 3)} | {fmt(row.mrr10, 3)} "
            f"| {fmt(row.p50_ms, 2)} | {fmt(row.p95_ms, 2)} | {fmt(row.index_s, 2)} |"
        )
    return lines


def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return NOT_MEASURED
    passed = value >= target if higher_is_better else value <= target
    return "✅" if passed else "❌"


def acceptance_rows(results: dict[str, JsonDict]) -> list[str]:
    lines = [
        "| check | target | kotae | Lucene | bm25s | kotae passes |",
        "| --- | --- | ---: | ---: | ---: | :---: |",
    ]
    for name in [s for s in SET_ORDER if s in NDCG_TARGETS]:
        rows = set_rows(results.get(name) or {})
        target = NDCG_TARGETS[name]
        cells = " | ".join(fmt(r.ndcg10, 3) for r in rows)
        lines.append(
            f"| {name} nDCG@10 | ≥ {target} | {cells} | {verdict(rows[0].ndcg10, target, True)} |"
        )
        for pct, limit in LATENCY_TARGETS_MS.get(name, {}).items():
            values = [r.p50_ms if pct == "p50" else r.p95_ms for r in rows]
            cells = " | ".join(fmt(v, 2) for v in values)
            check = verdict(values[0], limit, False)
            lines.append(f"| {name} query {pct} | ≤ {limit:g} ms | {cells} | {check} |")
    return lines


def measured_on(results: list[JsonDict]) -> str:
    """One line naming the machine(s) and dates the tables come from."""
    machines = {
        f"{m.get('cpu_model')}, {m.get('cpu_cores')} cores, {m.get('ram_gb')} GB RAM"
        for data in results
        if (m := data.get("machine"))
    }
    dates = sorted(str(data.get("date", ""))[:10] for data in results if data.get("date"))
    where = "; ".join(sorted(machines)) or "unknown machine"
    if not dates:
        return f"_Measured on {where}._"
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    loads = [x for data in results for x in run_loads(data)]
    low, high = (f"{min(loads):.1f}", f"{max(loads):.1f}") if loads else ("", "")
    spread = low if low == high else f"{low}–{high}"
    load = f" 1-minute load average at the start of runs: {spread}." if loads else ""
    return f"_Measured {when} on {where}.{load}_"


def run_loads(data: JsonDict) -> list[float]:
    """The load averages recorded at the start of each run in one results file."""
    entries = [data.get("kotae") or {}, *(data.get("anchors") or {}).values()]
    loads = [number(e.get("loadavg_1min_at_start")) for e in entries if e.get("status") == "ok"]
    machine_load = (data.get("machine") or {}).get("loadavg_1_5_15") or [None]
    return [x for x in [*loads, number(machine_load[0])] if x is not None]


def render_retrieval(results_dir: Path) -> list[str]:
    results = {
        path.stem.removeprefix("retrieval-"): data
        for path in sorted(results_dir.glob("retrieval-*.json"))
        if (data := read_json(path)) is not None
    }
    if not results:
        return ["_No retrieval results yet: run `benchmarks/run_retrieval.py`._"]
    names = [s for s in SET_ORDER if s in results] + sorted(set(results) - set(SET_ORDER))
    lines = ["### Acceptance", "", *acceptance_rows(results), ""]
    for name in names:
        data = results[name]
        n_docs, n_queries = dataset_counts(data)
        lines += [f"### {name} ({data.get('lang', '?')}): {n_docs} docs, {n_queries} queries", ""]
        lines += [*retrieval_table(data), ""]
    lines.append(measured_on(list(results.values())))
    return lines


def dataset_counts(data: JsonDict) -> tuple[str, str]:
    """Corpus and query counts from whichever engine reported them."""
    entries = [data.get("kotae") or {}, *(data.get("anchors") or {}).values()]
    for entry in entries:
        result = entry.get("result") or {}
        if number(result.get("n_docs")) and number(result.get("n_queries")):
            return f"{int(result['n_docs']):,}", f"{int(result['n_queries']):,}"
    return "?", "?"


def render_scale(results_dir: Path) -> list[str]:
    runs = [
        data
        for path in sorted(results_dir.glob("scale-*.json"))
        if (data := read_json(path)) is not None
    ]
    if not runs:
        return ["_No scale run yet: `.venv/bin/python benchmarks/scale.py --chunks 100000`._"]
    runs.sort(key=lambda d: int(d.get("n_chunks", 0)))
    lines = [
        "| chunks | corpus MB | index s (wall) | kotae's own s | MB/s | ingest peak RSS MB "
        "| query p50 ms | query p95 ms | query process peak RSS MB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for data in runs:
        ingest: JsonDict = data.get("ingest") or {}
        queries: JsonDict = data.get("queries") or {}
        if ingest.get("status") != "ok":
            lines.append(
                f"| {data.get('n_chunks', 0):,} | ingest {ingest.get('status')}: "
                f"{ingest.get('reason', '')} | | | | | | | |"
            )
            continue
        query_cells = (
            f"{fmt(number(queries.get('p50_ms')), 2)} | {fmt(number(queries.get('p95_ms')), 2)} "
            f"| {fmt(number(queries.get('peak_rss_mb')), 0)}"
            if queries.get("status") == "ok"
            else f"queries {queries.get('status', 'not run')} | |"
        )
        lines.append(
            f"| {data.get('n_chunks', 0):,} | {fmt(number(data.get('corpus_mb')), 1)} "
            f"| {fmt(number(ingest.get('index_s')), 1)} | {fmt(own_seconds(ingest), 1)} "
            f"| {fmt(number(ingest.get('mb_per_s')), 2)} "
            f"| {fmt(number(ingest.get('peak_rss_mb')), 0)} | {query_cells} |"
        )
    return [*lines, "", measured_on(runs)]


def own_seconds(ingest: JsonDict) -> float | None:
    """The seconds kotae reported in its own ingest summary (no process start or imports)."""
    summary = ingest.get("summary")
    return number(summary.get("seconds")) if isinstance(summary, dict) else None


def render_ingest(results_dir: Path) -> list[str]:
    data = read_json(results_dir / "ingest-docs.json")
    if data is None:
        return ["_No ingest run yet: `.venv/bin/python benchmarks/ingest_docs.py`._"]
    wall = number(data.get("wall_s")) if data.get("status") == "ok" else None
    check = verdict(wall, INGEST_TARGET_S, False) if data.get("status") == "ok" else data["status"]
    summary = ingest_summary(data)
    if data.get("status") != "ok":
        last_error = str(data.get("stderr_tail") or "").strip().splitlines()[-1:]
        summary = "; ".join([str(data.get("reason", "")), *last_error]).replace("|", "\\|")
    return [
        "| input | files | wall s | target | passes | peak RSS MB | kotae's summary |",
        "| --- | ---: | ---: | --- | :---: | ---: | --- |",
        f"| `bench/docs` | {data.get('n_files', '?')} | {fmt(wall, 1)} | ≤ {INGEST_TARGET_S:g} s "
        f"| {check} | {fmt(number(data.get('peak_rss_mb')), 0)} | {summary[:400]} |",
        "",
        measured_on([data]),
        "",
        *render_jsonl_ingest(results_dir),
    ]


def render_jsonl_ingest(results_dir: Path) -> list[str]:
    """Lexical ingestion speed of the Japanese JSONL corpora (benchmarks/ingest_jsonl.py)."""
    data = read_json(results_dir / "ingest-jsonl.json")
    if data is None:
        return ["_No JSONL ingest run yet: `.venv/bin/python benchmarks/ingest_jsonl.py`._"]
    runs = [r for r in data.get("runs", []) if isinstance(r, dict)]
    lines = [
        "| JSONL corpus (Japanese) | MB | kotae's own s | MB/s | MB/s incl. start-up | target "
        "| passes | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | --- | :---: | ---: |",
    ]
    for run in runs:
        rate = number(run.get("mb_per_s"))
        lines.append(
            f"| {run.get('set')} | {fmt(number(run.get('corpus_mb')), 1)} "
            f"| {fmt(own_seconds(run), 1)} | {fmt(rate, 2)} "
            f"| {fmt(number(run.get('mb_per_s_wall')), 2)} | ≥ 1 MB/s "
            f"| {verdict(rate, 1.0, True) if (number(run.get('corpus_mb')) or 0) >= 10 else 'n/a'} "
            f"| {fmt(number(run.get('peak_rss_mb')), 0)} |"
        )
    note = (
        "The target is judged on the 12.9 MB JaQuAD corpus; on the 1.3 MB JSQuAD corpus fixed "
        "costs "
        "(worker start, the final index commit and merge) weigh more, so it is shown for reference."
    )
    return [*lines, "", note, "", measured_on(runs)]


def ingest_summary(data: JsonDict) -> str:
    """kotae's own summary: the scalar fields of its JSON, else the last lines it printed."""
    parsed = data.get("summary")
    if isinstance(parsed, dict) and parsed:
        parts = [f"{k}: {v}" for k, v in parsed.items() if isinstance(v, str | int | float)]
        failed = parsed.get("failed")
        if isinstance(failed, list):
            reasons = Counter(str(f.get("reason", "?")) for f in failed if isinstance(f, dict))
            detail = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
            parts.append(f"failed: {len(failed)}" + (f" ({detail})" if detail else ""))
        text = ", ".join(parts)
    else:
        text = "<br>".join(str(data.get("summary_text") or "").strip().splitlines()[-3:])
    return text.replace("|", "\\|")[:400]


QA_TARGETS = {"jsquad": 0.85, "squad": 0.80}
QA_LATENCY_TARGET_MS = 20.0
ASK_OVERHEAD_TARGET_MS = 30.0


def render_qa(results_dir: Path) -> list[str]:
    """Extractive answers: answer-in-evidence and latency (benchmarks/run_qa.py)."""
    lines = [
        "| set | questions | answer in evidence @1 | @3 | @3 report half | target @3 | passes "
        "| p50 ms | p95 ms | passes (p50 ≤ 20 ms) |",
        "| --- | ---: | ---: | ---: | ---: | --- | :---: | ---: | ---: | :---: |",
    ]
    runs = []
    for name in ("jsquad", "jaquad", "squad"):
        data = read_json(results_dir / f"qa-{name}.json")
        kotae = data.get("kotae") if data else None
        result = kotae.get("result") if isinstance(kotae, dict) else None
        if data is None or not isinstance(result, dict):
            lines.append(f"| {name} | not run | | | | | | | | |")
            continue
        runs.append(data)
        metrics, timing = result["metrics"], result["timing"]
        at3 = number(metrics.get("answer_in_evidence@3"))
        target = QA_TARGETS.get(name)
        p50 = number(timing.get("query_p50_ms"))
        lines.append(
            f"| {name} | {result.get('n_queries')} "
            f"| {fmt(number(metrics.get('answer_in_evidence@1')), 3)} | **{fmt(at3, 3)}** "
            f"| {fmt(number(held_out_metrics(result).get('answer_in_evidence@3')), 3)} "
            f"| {f'≥ {target:.2f}' if target else '—'} "
            f"| {verdict(at3, target, True) if target else 'n/a'} "
            f"| {fmt(p50, 2)} | {fmt(number(timing.get('query_p95_ms')), 2)} "
            f"| {verdict(p50, QA_LATENCY_TARGET_MS, False)} |"
        )
    return [*lines, "", measured_on(runs) if runs else ""]


def render_ask_overhead(results_dir: Path) -> list[str]:
    """kotae's own time per ask against the bare generator call (benchmarks/ask_overhead.py)."""
    data = read_json(results_dir / "ask-overhead.json")
    if data is None:
        return ["_No run yet: `.venv/bin/python benchmarks/ask_overhead.py`._"]
    kotae, bare, total = data["kotae"], data.get("bare_generator_call") or {}, data["ask_total"]
    generate = data["generate_in_ask"]
    p50 = number(kotae.get("p50_ms"))
    return [
        "| measured | p50 ms | p95 ms | mean ms |",
        "| --- | ---: | ---: | ---: |",
        f"| kotae's own time per ask (everything but the generator call) | **{fmt(p50, 2)}** "
        f"| {fmt(number(kotae.get('p95_ms')), 2)} | {fmt(number(kotae.get('mean_ms')), 2)} |",
        f"| generator call inside ask | {fmt(number(generate.get('p50_ms')), 2)} "
        f"| {fmt(number(generate.get('p95_ms')), 2)} | {fmt(number(generate.get('mean_ms')), 2)} |",
        f"| bare generator call, same messages | {fmt(number(bare.get('p50_ms')), 2)} "
        f"| {fmt(number(bare.get('p95_ms')), 2)} | {fmt(number(bare.get('mean_ms')), 2)} |",
        f"| whole ask | {fmt(number(total.get('p50_ms')), 2)} "
        f"| {fmt(number(total.get('p95_ms')), 2)} | {fmt(number(total.get('mean_ms')), 2)} |",
        "",
        f"Target: kotae's own time ≤ {ASK_OVERHEAD_TARGET_MS:g} ms p50 "
        f"{verdict(p50, ASK_OVERHEAD_TARGET_MS, False)}. {data.get('n_queries')} {data['dataset']} "
        f"questions over {data.get('n_chunks')} chunks, generator `{data.get('generator')}` "
        f"({data.get('max_tokens')} tokens per answer), answer statuses {data.get('statuses')}.",
        "",
        f"_Measured {str(data.get('date', ''))[:10]}; machine: "
        f"{data.get('machine', {}).get('cpu_model', '?')}, "
        f"{data.get('machine', {}).get('cpu_cores', '?')} cores._",
    ]


def render_eval_run(results_dir: Path) -> list[str]:
    """A 1,000-question eval run of the extractive default (benchmarks/eval_run.py)."""
    data = read_json(results_dir / "eval-run-jaquad.json")
    if data is None:
        return ["_No run yet: `.venv/bin/python benchmarks/eval_run.py`._"]
    wall = number(data.get("run_wall_s"))
    metrics = data.get("metrics", {})
    shown = ", ".join(
        f"{name} {value:.3f}"
        for name, value in metrics.items()
        if isinstance(value, int | float) and not name.endswith("_ms")
    )
    return [
        "| set | questions | `kotae eval run` wall s | target | passes "
        "| set-up s (import + ingest) |",
        "| --- | ---: | ---: | --- | :---: | ---: |",
        f"| {data['dataset']} | {data['n_questions']} | {fmt(wall, 1)} "
        f"| ≤ {data['target_s']:g} s | {verdict(wall, float(data['target_s']), False)} "
        f"| {fmt(number(data.get('setup_s')), 1)} |",
        "",
        f"Metrics of the run: {shown}.",
        "",
        measured_on([data]),
    ]


REAL_MODEL_COLUMNS = (
    ("char_f1", "char F1"),
    ("token_f1", "token F1"),
    ("em", "EM"),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("no_answer_rate", "no-answer rate (unanswerable)"),
    ("false_no_answer_rate", "false no-answer (answerable)"),
    ("language_match", "language match"),
    ("prefill_tokens_per_s", "prefill tok/s"),
    ("decode_tokens_per_s", "decode tok/s"),
)


def _ci(metric: JsonDict | None, digits: int = 3) -> str:
    if not metric or metric.get("mean") is None:
        return "—"
    low, high = metric.get("ci_low"), metric.get("ci_high")
    shown = f"{metric['mean']:.{digits}f}"
    if low is not None and high is not None:
        shown += f" ({low:.{digits}f}–{high:.{digits}f})"
    return shown


def render_real_model(results_dir: Path) -> list[str]:
    """The PoC with the real Qwen2.5-Coder-0.5B-Instruct on CPU (benchmarks/real_model.py)."""
    data = read_json(results_dir / "real-model.json")
    if data is None:
        return ["_No run yet: `make bench-real`._"]
    lines = []
    for set_name, entry in data["sets"].items():
        configs = entry["configs"]
        lines += [
            f"**{set_name}**, {entry['half']} half: {entry['answerable']} answerable and "
            f"{entry['unanswerable']} unanswerable questions (their {entry['held_back_articles']} "
            f"articles are not in the knowledge base of {entry['documents_ingested']:,} "
            "paragraphs). Mean (95% bootstrap interval):",
            "",
        ]
        shown = [
            (key, label)
            for key, label in REAL_MODEL_COLUMNS
            if any(key in c["metrics"] for c in configs.values())
        ]
        lines.append("| metric | " + " | ".join(configs) + " |")
        lines.append("| --- |" + " ---: |" * len(configs))
        for key, label in shown:
            digits = 0 if key.endswith("_per_s") else 3
            row = [_ci(c["metrics"].get(key), digits) for c in configs.values()]
            lines.append(f"| {label} | " + " | ".join(row) + " |")
        for key, label in (
            ("latency_ms", "latency p50 / p95, s"),
            ("ttft_ms", "first token p50, s"),
        ):
            row = []
            for c in configs.values():
                p = c.get(key) or {}
                if key == "latency_ms" and p:
                    row.append(f"{p['p50'] / 1000:.2f} / {p['p95'] / 1000:.2f}")
                elif p:
                    row.append(f"{p['p50'] / 1000:.2f}")
                else:
                    row.append("—")
            lines.append(f"| {label} | " + " | ".join(row) + " |")
        cost = [
            f"{c['cost_per_1000']:.2f}" if c.get("cost_per_1000") is not None else "—"
            for c in configs.values()
        ]
        lines.append("| USD per 1,000 questions at 1.006 USD/h | " + " | ".join(cost) + " |")
        before = [c.get("citations_before_cleaning") for c in configs.values()]
        if any(before):
            row = [_ci(b["citation_precision"]) if b else "—" for b in before]
            lines.append("| citation precision, raw replies (before) | " + " | ".join(row) + " |")
        judged = [c.get("judge") for c in configs.values()]
        if any(judged):
            row = []
            for j in judged:
                if not j:
                    row.append("—")
                    continue
                rate = j.get("parse_rate")
                pearson, spearman = j.get("pearson"), j.get("spearman")
                row.append(
                    f"parsed {fmt(rate, 2)}; r {fmt(pearson, 2)}, ρ {fmt(spearman, 2)}"
                    f" (n {j.get('pairs')})"
                )
            lines.append("| local judge vs F1 | " + " | ".join(row) + " |")
        same = entry.get("same_answers")
        if same:
            lines += [
                "",
                f"In-process and server answers identical on {same['identical']} of "
                f"{same['questions']} questions.",
            ]
        lines.append("")
    lines.append(
        f"Wall time of the whole run: {fmt(number(data.get('wall_s')), 0)} s. "
        + measured_on([data])
    )
    return lines


SERVER_SEARCH_TARGET = {"min_rps": 300.0, "max_p99_ms": 100.0}
SERVER_CHAT_TARGET_MS = 5.0


def _cpu_share(entry: JsonDict, who: str) -> str:
    """CPU seconds of ``who`` over the measured seconds, in % of one core."""
    used = number((entry.get("cpu_s") or {}).get(who))
    seconds = number(entry.get("measured_s"))
    return "—" if used is None or not seconds else f"{100 * used / seconds:.0f}%"


def _mark(value: Any) -> str:
    return "✅" if value is True else "❌" if value is False else "—"


def render_server_load(results_dir: Path) -> list[str]:
    """HTTP load on `kotae serve` with wrk (benchmarks/server_load.py)."""
    data = read_json(results_dir / "server-load.json")
    if data is None:
        return ["_No run yet: `.venv/bin/python benchmarks/server_load.py`._"]
    rows = [e for e in data.get("scenarios", []) if isinstance(e, dict)]
    lines = []
    if data.get("trial"):
        lines += [
            f"**Trial run** ({data['conditions']['duration_s']:g} s per measurement): "
            "figures for checking the script, not for acceptance.",
            "",
        ]
    lines += [
        "**Search**, `GET /api/search?q=…&k=10`, the JaQuAD questions in rotation:",
        "",
        "| workers | connections | during upload | requests/s | p50 ms | p90 ms | p99 ms "
        "| non-2xx | docs indexed meanwhile | server CPU | wrk CPU | passes |",
        "| ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for e in rows:
        if e.get("target") != "search":
            continue
        if e.get("status") != "ok":
            upload = "yes" if e.get("ingest") else ""
            lines.append(
                f"| {e.get('workers')} | {e.get('connections')} | {upload} "
                f"| {e.get('status')}: {e.get('reason', '')} | | | | | | | | ❌ |"
            )
            continue
        lat = e["latency_ms"]
        ingestion = e.get("ingestion") or {}
        indexed = ingestion.get("documents_indexed_during_measurement")
        sockets = sum(int(v) for v in (e.get("socket_errors") or {}).values())
        errors = f"{e['non_2xx']:,}" + (f" (+{sockets} socket)" if sockets else "")
        lines.append(
            f"| {e['workers']} | {e['connections']} | {'yes' if e.get('ingest') else ''} "
            f"| {fmt(number(e['rps']), 0)} | {fmt(number(lat['p50']), 1)} "
            f"| {fmt(number(lat['p90']), 1)} | {fmt(number(lat['p99']), 1)} | {errors} "
            f"| {indexed if indexed is not None else ''} "
            f"| {_cpu_share(e, 'server')} | {_cpu_share(e, 'wrk')} "
            f"| {_mark(e.get('passes')) if e.get('judged', True) else 'n/a'} |"
        )
    lines += [
        "",
        "**Chat pass-through**, `POST /v1/chat/completions` to the configured model, against "
        "the same request sent straight to the fake backend, in the same run:",
        "",
        "| workers | connections | during upload | backend direct req/s | direct p50 ms "
        "| direct p99 ms | through kotae req/s | kotae p50 ms | kotae p99 ms | added p50 ms "
        "| added p99 ms | non-2xx | passes |",
        "| ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| :---: |",
    ]
    for p in data.get("chat_overhead", []):
        direct, kotae, added = p["direct"], p["kotae"], p["added"]
        verdict_cell = _mark(p.get("passes")) if p.get("judged") else "n/a"
        lines.append(
            f"| {p['workers']} | {p['connections']} | {'yes' if p.get('ingest') else ''} "
            f"| {fmt(number(direct['rps']), 0)} | {fmt(number(direct['p50']), 2)} "
            f"| {fmt(number(direct['p99']), 2)} | {fmt(number(kotae['rps']), 0)} "
            f"| {fmt(number(kotae['p50']), 2)} | {fmt(number(kotae['p99']), 2)} "
            f"| **{fmt(number(added['p50_ms']), 2)}** | {fmt(number(added['p99_ms']), 2)} "
            f"| {p['kotae_non_2xx']:,} | {verdict_cell} |"
        )
    failed = [e for e in rows if e.get("target") != "search" and e.get("status") != "ok"]
    if failed:
        lines += ["", f"{len(failed)} chat measurement(s) failed: {failed[0].get('reason')}."]
    acceptance = data.get("acceptance") or {}
    search, chat = acceptance.get("search") or {}, acceptance.get("chat") or {}
    conditions = data.get("conditions") or {}
    versions = data.get("versions") or {}
    loads = [x for e in rows if (x := number(e.get("loadavg_1min_at_start"))) is not None]
    load_range = f"{min(loads):.1f}–{max(loads):.1f}" if loads else "?"
    wrk = str(versions.get("wrk") or "wrk").split(" [", 1)[0]
    lines += [
        "",
        f"Targets: search ≥ {SERVER_SEARCH_TARGET['min_rps']:g} requests/s with p99 ≤ "
        f"{SERVER_SEARCH_TARGET['max_p99_ms']:g} ms and no error, judged at "
        f"{search.get('judged_connections')} connections (with N connections always busy, "
        "the mean latency is N ÷ requests/s: more connections measure the queue at "
        "saturation, shown for reference): "
        f"{search.get('rows_passing', 0)} of {search.get('rows', 0)} rows "
        f"{_mark(search.get('passes'))}. Chat: kotae adds ≤ {SERVER_CHAT_TARGET_MS:g} ms at "
        f"p50, judged at {chat.get('judged_connections')} connection(s): "
        f"{chat.get('rows_passing', 0)} of {chat.get('rows', 0)} rows {_mark(chat.get('passes'))}.",
        "",
        f"{conditions.get('duration_s', 0):g} s per measurement after "
        f"{conditions.get('warmup_s_per_route', 0):g} s of warm-up per route (1-minute load "
        f"average at the start of the measurements: {load_range}, the run's own load included); "
        f"{conditions.get('load_generator', '')}. {wrk}, uvicorn "
        f"{versions.get('uvicorn')}, FastAPI {versions.get('fastapi')}. CPU columns: CPU time "
        "over the measured time, in % of one core (the machine has "
        f"{(data.get('machine') or {}).get('cpu_cores', '?')}).",
        "",
        measured_on([data]),
    ]
    return lines


def render_sizing(results_dir: Path) -> list[str]:
    """kotae's sizing model against published figures and this machine (sizing_check.py)."""
    data = read_json(results_dir / "sizing-check.json")
    if data is None:
        return ["_No run yet: `.venv/bin/python benchmarks/sizing_check.py`._"]
    lines = [
        "| model / GPU | engine | VRAM: computed vs published | decode tok/s: published vs "
        "bound (ratio) | source (date) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for pair in data["published"]:
        vram, decode = pair.get("vram"), pair["decode"]
        if vram is None:
            vram_text = "not published"
        elif vram["what"] == "gpus":
            vram_text = (
                f"{vram['computed_gib']:.1f} GiB → {vram['computed_tp']} GPUs (TP) vs "
                f"{vram['published_gpus']} published {_mark(vram['gpus_match'])}"
            )
        else:
            vram_text = (
                f"{vram['what']}: {vram['computed_gib']:.2f} vs {vram['published_gib']:.2f} GiB "
                f"({vram['error']:+.1%}) {_mark(vram['within_10pct'])}"
            )
        decode_text = "not published"
        if decode:
            shown = f"{decode['published_tokens_per_s']:,.1f}"
            if decode.get("published_range"):
                low, high = decode["published_range"]
                shown += f" ({low:,.1f}–{high:,.1f})"
            scope = "per sequence" if decode["kind"] == "per_sequence" else "all sequences"
            decode_text = (
                f"{shown} ≤ {decode['bound_tokens_per_s']:,.1f} ({decode['ratio']:.2f}; "
                f"batch {decode['batch']}, {scope}) {_mark(decode['under_bound'])}"
            )
        source = pair["source"]
        label = source.get("label") or source["url"].split("/")[2]
        gpus = f"{pair['gpus']}× " if pair["gpus"] > 1 else ""
        lines.append(
            f"| {pair['model']} / {gpus}{pair['gpu_id']} | {pair['engine']} | {vram_text} | "
            f"{decode_text} | [{label}]({source['url']}) ({source['date']}) |"
        )
    summary = data["summary"]
    low, high = summary["decode_ratio_range"]
    lines += [
        "",
        f"{summary['pairs']} pairs on {', '.join(summary['gpus'])}: VRAM within 10% on "
        f"{summary['vram_within_10pct']} of {summary['vram_checked']}, GPU count right on "
        f"{summary['gpu_count_match']} of {summary['gpu_count_checked']}; published decode "
        f"under the bound on {summary['decode_under_bound']} of {summary['decode_checked']}, at "
        f"{low:.2f}–{high:.2f} of it.",
    ]
    cpu = data.get("cpu")
    if cpu:
        bandwidth = ", ".join(
            f"{b['gb_s']:.1f} GB/s with {b['threads']} process(es) (median {b['median_gb_s']:.1f})"
            for b in cpu["bandwidth"]
        )
        lines += [
            "",
            f"**This machine** ({cpu['cores']} cores). Measured memory bandwidth: {bandwidth}.",
            "",
            "| model (bytes read per token) | threads | predicted decode tok/s | measured "
            "(median) | measured ÷ predicted |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for model in cpu["models"]:
            for row in model["by_threads"]:
                lines.append(
                    f"| {model['name']} ({model['bytes_per_token'] / 1e6:,.0f} MB) | "
                    f"{row['threads']} | {row['predicted_tokens_per_s']:.1f} | "
                    f"{row['measured_tokens_per_s']:.1f} ({row['median_tokens_per_s']:.1f}) | "
                    f"{row['ratio']:.2f} |"
                )
            recorded = model.get("recorded")
            if recorded:
                where = (
                    "this CPU"
                    if recorded["same_cpu"]
                    else (f"another CPU ({(recorded.get('machine') or {}).get('cpu_model', '?')})")
                )
                lines.append(
                    f"| {model['name']}, recorded in real-model.json on {where} | "
                    f"{recorded.get('threads') or '—'} | "
                    f"{recorded['predicted_tokens_per_s']:.1f} | "
                    f"{recorded['tokens_per_s']:.1f} | {recorded['ratio']:.2f} |"
                )
        lines += [
            "",
            f"Context {cpu['models'][0]['context'] if cpu['models'] else '—'} tokens (a "
            f"{cpu['models'][0]['prompt_tokens'] if cpu['models'] else '—'}-token prompt, "
            "then greedy decoding); best of the runs, medians in brackets. Load average "
            f"{cpu.get('load_average_before')} before the CPU runs, "
            f"{cpu.get('load_average_after')} after.",
        ]
    lines += ["", measured_on([data])]
    return lines


PII_KIND_ORDER = (
    "email",
    "phone",
    "my_number",
    "corporate_number",
    "credit_card",
    "postal_code",
    "address",
    "person",
)


def _pr(entry: JsonDict | None) -> str:
    if not entry:
        return "—"
    return f"{entry['precision']:.3f} / {entry['recall']:.3f}"


def render_pii(results_dir: Path) -> list[str]:
    """kotae's PII recognizers on the labelled set, and Presidio's (pii_eval.py)."""
    data = read_json(results_dir / "pii.json")
    if data is None:
        return ["_No run yet: `.venv/bin/python benchmarks/pii_eval.py`._"]
    kotae, size = data["kotae"], data["set"]
    lines = [
        f"{size['cases']} labelled texts ({size['languages']['ja']} Japanese, "
        f"{size['languages']['en']} English; {size['negatives']} without PII), "
        f"{sum(size['spans'].values())} gold spans; tuned on one half, reported on the other. "
        "Precision / recall:",
        "",
        "| kind (spans) | tuning half, exact | report half, exact | report half, overlap |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind in (*PII_KIND_ORDER, "all"):
        spans = sum(size["spans"].values()) if kind == "all" else size["spans"].get(kind, 0)
        label = f"**all** ({spans})" if kind == "all" else f"{kind} ({spans})"
        lines.append(
            f"| {label} | {_pr(kotae['tune']['exact'].get(kind))} | "
            f"{_pr(kotae['report']['exact'].get(kind))} | "
            f"{_pr(kotae['report']['overlap'].get(kind))} |"
        )
    speed = data["kotae_speed"]
    lines += [
        "",
        f"kotae: {speed['ms_per_text']:.3f} ms per text ({speed['mean_chars']:.0f} "
        "characters on average, all kinds, one core).",
    ]
    presidio = data.get("presidio") or {}
    if presidio.get("status") != "ok":
        lines += [
            "",
            f"Presidio: {presidio.get('status', 'not run')} ({presidio.get('reason', '')}).",
        ]
    else:
        both = data["comparison"]["all"]
        lines += [
            "",
            f"Presidio {presidio['version']} ({presidio['setup']}; "
            f"load {presidio['load_s']:.1f} s, "
            f"{data['presidio_speed']['ms_per_text']:.3f} ms per text) on the kinds it covers, "
            "whole set, exact spans:",
            "",
            "| kind | Presidio | kotae |",
            "| --- | ---: | ---: |",
        ]
        for kind in (*presidio["kinds"], "all"):
            lines.append(
                f"| {kind} | {_pr(both['presidio']['exact'].get(kind))} | "
                f"{_pr(both['kotae']['exact'].get(kind))} |"
            )
    lines += ["", measured_on([data])]
    return lines


def replace_section(text: str, name: str, body: list[str]) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"render.py: markers {start} ... {end} not found; add them to the doc")
    block = "\n".join([start, "", *body, "", end])
    return pattern.sub(lambda _: block, text, count=1)


def render_web_ui(results_dir: Path) -> list[str]:
    """The web UI's first load in Chromium on loopback (benchmarks/web_ui.py)."""
    data = read_json(results_dir / "web-ui.json")
    if data is None:
        return ["_No run yet: `.venv/bin/python benchmarks/web_ui.py`._"]
    targets, passes = data["targets"], data["passes"]

    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    return [
        f"Median of {data['conditions']['runs']} first visits (fresh context: empty cache, "
        "no cookie), after one warm-up:",
        "",
        "| measure | median | slowest | target | passes |",
        "| --- | ---: | ---: | ---: | :---: |",
        f"| navigation start → load event | {data['median_load_ms']:.1f} ms | "
        f"{data['max_load_ms']:.1f} ms | {targets['load_ms']:.0f} ms | "
        f"{mark(passes['load_ms'])} |",
        f"| navigation start → login form usable | {data['median_interactive_ms']:.1f} ms | "
        f"{data['max_interactive_ms']:.1f} ms | {targets['interactive_ms']:.0f} ms | "
        f"{mark(passes['interactive_ms'])} |",
        f"| page weight, transferred ({data['requests']} requests, "
        f"{data['fonts']} fonts) | {data['page_bytes'] / 1024:.1f} KB | | "
        f"{targets['bytes'] / 1024:.0f} KB | {mark(passes['bytes'])} |",
        "",
        measured_on([data]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--doc", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    sections: dict[str, Callable[[Path], list[str]]] = {
        "retrieval": render_retrieval,
        "scale": render_scale,
        "ingest": render_ingest,
        "qa": render_qa,
        "ask-overhead": render_ask_overhead,
        "eval-run": render_eval_run,
        "real-model": render_real_model,
        "server-load": render_server_load,
        "sizing": render_sizing,
        "pii": render_pii,
        "web-ui": render_web_ui,
    }
    for name, render in sections.items():
        text = replace_section(text, name, render(args.results))
    args.doc.write_text(text, encoding="utf-8")
    print(f"rewrote {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
