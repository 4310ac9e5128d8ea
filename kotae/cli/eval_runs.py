"""``kotae eval run|list|show|compare|gate|report|synth``: runs over an eval set."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kotae.cli.common import (
    JsonOption,
    KbOption,
    check_output,
    console,
    err_console,
    fail,
    print_json,
    print_table,
    show_time,
)
from kotae.evaluation.model import EvalItem, RunSummary
from kotae.kb import find_kb_dir, open_kb
from kotae.messages import header, t


def register(app: typer.Typer) -> None:
    """Add run, list, show, compare, gate, report and synth to the ``kotae eval`` group."""
    app.command()(run)
    app.command("list")(list_)
    app.command()(show)
    app.command()(compare)
    app.command()(gate)
    app.command()(report)
    app.command()(synth)


MAIN_METRICS = (
    "recall@5",
    "mrr",
    "ndcg@10",
    "answer_in_evidence@3",
    "char_f1",
    "token_f1",
    "em",
    "correctness",
    "faithfulness",
    "citation_precision",
    "total_ms",
)


def run(
    eval_set: Annotated[Path, typer.Option("--set", help="The eval set (JSONL).")],
    config: Annotated[
        list[Path] | None,
        typer.Option(
            "--config",
            help="A configuration to evaluate (repeatable): kotae.toml sections laid over "
            "the knowledge base's. Without it, the knowledge base's own settings.",
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the runs' results here.")
    ] = None,
    new: Annotated[
        bool, typer.Option("--new", help="Start over instead of resuming an unfinished run.")
    ] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report of these runs.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="The report's language: ja or en.")] = "ja",
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Answer as this user (their ACL); default: public documents."),
    ] = None,
    groups: Annotated[
        str | None, typer.Option("--groups", help="Answer as a member of these groups (a,b).")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Answer from every document (administrator).")
    ] = False,
    kb: KbOption = None,
) -> None:
    """Run each configuration over the eval set; prints the run ids.

    Like `kotae search`, questions are answered from the public documents only unless
    --as, --groups or --all says otherwise; the run records which. An interrupted run
    resumes where it stopped when you run the same set with the same configuration and
    access again.

    Example: kotae eval run --set questions.jsonl --config llama3-vllm.toml --config gpt-4o.toml
    """
    from kotae.evaluation.datasets import read_eval_set
    from kotae.evaluation.runner import load_config, run_eval

    if lang not in ("ja", "en"):
        fail(t("unknown_lang", lang=lang, choices="ja, en"))
    check_output(json_path, "--json")  # before the run: a finished run is never lost
    check_output(report_path, "--report")
    if sum((as_user is not None, groups is not None, everything)) > 1:
        fail(t("one_access_option"))
    group_list = _groups(groups)
    kb_path = find_kb_dir(kb)
    items = read_eval_set(eval_set)
    if not items:
        fail(t("empty_eval_set", path=eval_set))
    configs = [load_config(kb_path, path) for path in (config or [None])]  # type: ignore[list-item]
    runs: list[RunSummary] = []
    for cfg in configs:
        _warn_unmatched(kb_path, items)
        try:
            with _progress(f"{cfg.name}") as update:
                summary = run_eval(
                    kb_path,
                    items,
                    eval_set.stem,
                    cfg,
                    new=new,
                    progress=update,
                    as_user=as_user,
                    groups=group_list,
                    everything=everything,
                )
        except KeyboardInterrupt:
            fail(t("eval_interrupted", name=cfg.name), code=130)
        errors = summary.metrics.get("success")
        if errors is not None and errors.mean < 1:
            failed = round((1 - errors.mean) * errors.n)
            err_console.print(t("eval_errors", failed=failed, n=errors.n, run=summary.id))
        runs.append(summary)
        console.print(f"{summary.id}  {escape(cfg.name)}  {_headline(summary)}")
        _print_kpis(kb_path, summary, cfg.settings.use_case.model_dump())
    if json_path is not None:
        data = {"set": str(eval_set), "runs": [r.to_dict() for r in runs]}
        json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    if report_path is not None:
        _write_report([r.id for r in runs], report_path, lang, kb)


def _groups(groups: str | None) -> list[str] | None:
    return None if groups is None else [g.strip() for g in groups.split(",") if g.strip()]


def _warn_unmatched(kb_path: Path, items: Sequence[EvalItem]) -> None:
    from kotae.evaluation.runner import unmatched_sources

    with open_kb(kb_path) as base:
        missing = unmatched_sources(base, items)
    if missing:
        shown = ", ".join(f"{item}: {source}" for item, source in missing[:3])
        err_console.print(
            f"warning: {len(missing)} reference sources match no document ({escape(shown)}"
            f"{', ...' if len(missing) > 3 else ''}); those questions can only score 0 on "
            "retrieval"
        )


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr when it is a terminal; a no-op otherwise."""
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not sys.stderr.isatty(),
        transient=True,
    )
    task = bar.add_task(label, total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _print_kpis(kb_path: Path, run: RunSummary, use_case: dict[str, Any]) -> None:
    """One line per KPI of [use_case]: the measured value against the target."""
    from kotae.evaluation.report import evaluate_kpis

    if not use_case.get("kpis"):
        return
    with open_kb(kb_path) as base:
        per_question = base.catalog.eval_results(run.id)
    for verdict in evaluate_kpis(use_case, run, per_question):
        mark = {True: "✅", False: "❌", None: "–"}[verdict.passed]
        value = "not measured" if verdict.value is None else f"{verdict.value:.3g}"
        console.print(f"  {mark} {verdict.name} {value} (target {verdict.op} {verdict.target:g})")


def _headline(run: RunSummary) -> str:
    parts = []
    for name in MAIN_METRICS:
        metric = run.metrics.get(name)
        if metric is not None and metric.n > 0:
            parts.append(
                f"{name} {metric.mean:.3f}" if name != "total_ms" else f"{name} {metric.mean:.0f}"
            )
    if run.cost_per_1000 is not None:
        parts.append(f"cost/1000 {run.cost_per_1000:.2f} {run.currency}")
    return " · ".join(parts)


def list_(json_out: JsonOption = False, kb: KbOption = None) -> None:
    """List evaluation runs, newest first. A run made with --as USER is named NAME@USER.
    Times are shown in the local time zone, with its offset."""

    with open_kb(kb) as base:
        runs = base.catalog.eval_runs(limit=100)
    if json_out:
        print_json([r.to_dict() for r in runs])
        return
    print_table(
        ("id", "created", "name", "set", "status", "questions", "headline"),
        (
            (
                r.id,
                show_time(r.created_at),
                r.name,
                r.set_name,
                r.status,
                str(r.n_questions),
                _headline(r),
            )
            for r in runs
        ),
    )


def show(
    run_id: Annotated[
        str, typer.Argument(metavar="RUN", help="A run id (or its first characters).")
    ],
    questions: Annotated[
        bool, typer.Option("--questions", help="Also list every question's result.")
    ] = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Show one run: its configuration and every metric with its 95% interval."""
    from kotae.evaluation.report import access_label

    with open_kb(kb) as base:
        summary = base.catalog.eval_run(run_id)
        results = base.catalog.eval_results(summary.id) if questions or json_out else []
    if json_out:
        print_json({**summary.to_dict(), "results": [r.to_dict() for r in results]})
        return
    console.print(
        f"[bold]{summary.id}[/bold] {escape(summary.name)} on {escape(summary.set_name)} "
        f"({summary.n_questions} questions, {summary.status}, {show_time(summary.created_at)})"
    )
    generator = summary.config.get("generator", {}).get("backend") or "none (extractive)"
    console.print(f"{header('generator')}: {escape(str(generator))}")
    console.print(f"{header('access')}: {escape(access_label(summary))}")
    print_table(
        ("metric", "mean", "95% CI", "n", "failed"),
        (
            (name, f"{m.mean:.4f}", f"{m.ci_low:.4f}–{m.ci_high:.4f}", str(m.n), str(m.failures))
            for name, m in summary.metrics.items()
        ),
    )
    if summary.cost_per_1000 is not None:
        cost = f"{summary.cost_per_1000:.2f} {summary.currency}"
        console.print(f"{header('cost per 1,000 questions')}: {cost}")
    for r in results:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in r.metrics.items() if v is not None)
        console.print(f"{escape(r.item_id)}  {r.status}  {scores}")


def compare(
    run_a: Annotated[
        str, typer.Argument(metavar="RUN_A", help="The first run (baseline; id or prefix).")
    ],
    run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="The second run (id or prefix).")],
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Compare two runs metric by metric, on the questions they share (paired).

    Example: kotae eval compare 3f2a 9c1d
    """
    report = _gate(run_a, run_b, max_drop=0.0, kb=kb)
    if json_out:
        print_json(report.to_dict())
        return
    _print_rows(report.table())


def _print_rows(rows: list[list[str]]) -> None:
    print_table(rows[0], rows[1:])


def _gate(
    baseline: str,
    candidate: str,
    max_drop: float,
    kb: str | None,
    metrics: list[str] | None = None,
    *,
    check_runs: bool = False,
) -> Any:
    """The gate's report on two runs; with ``check_runs``, with its refusals too (runs that
    are incomplete, of different sets, or a gated metric missing from the candidate)."""
    import dataclasses

    from kotae.evaluation.gate import GatedRun, refusals
    from kotae.evaluation.gate import compare as compare_runs
    from kotae.evaluation.runner import set_digest

    with open_kb(kb) as base:
        store = base.catalog
        runs = [
            GatedRun(run, store.eval_results(run.id), set_digest(store.eval_items(run.id)))
            for run in (store.eval_run(baseline), store.eval_run(candidate))
        ]
    a, b = runs
    report = compare_runs(a.results, b.results, max_drop=max_drop, metrics=metrics or None)
    if check_runs:
        report = dataclasses.replace(report, refusals=refusals(a, b, metrics or None))
    return report


def gate(
    baseline: Annotated[
        str, typer.Option("--baseline", metavar="RUN", help="The run to defend (id or prefix).")
    ],
    candidate: Annotated[
        str,
        typer.Option("--candidate", metavar="RUN", help="The run of the change (id or prefix)."),
    ],
    max_drop: Annotated[
        float,
        typer.Option(
            "--max-drop",
            min=0.0,
            metavar="X",
            help="Tolerated drop of a metric: absolute for scores (0.02 = 2 points), "
            "relative for latency and cost (0.02 = 2% slower or dearer).",
        ),
    ] = 0.02,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            metavar="NAME",
            help="Gate only these metrics (repeatable); latency (total_ms, ttft_ms) and "
            "tokens_per_s are gated only when named. Default: every quality metric.",
        ),
    ] = None,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Exit 1 when a metric of the candidate drops beyond --max-drop, significantly
    (paired bootstrap), or when the runs cannot be compared: either run incomplete, the
    runs over different question sets, or a gated metric missing from the candidate (one
    "gate: FAIL: ..." line each). Use it in CI and before every model switch.

    Example: kotae eval gate --baseline 3f2a --candidate 9c1d --max-drop 0.02
    """
    report = _gate(baseline, candidate, max_drop=max_drop, kb=kb, metrics=metric, check_runs=True)
    if json_out:
        print_json(report.to_dict())
    else:
        _print_rows(report.table())
        for reason in report.refusals:
            console.print(escape(t("gate_fail", reason=reason)))
        console.print("gate: PASS" if report.passed else "gate: FAIL")
    if not report.passed:
        raise typer.Exit(1)


DEFAULT_REPORT = Path("eval-report.html")


def report(
    run_ids: Annotated[
        list[str],
        typer.Argument(metavar="RUN...", help="Runs to put in the report (ids or prefixes)."),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FILE",
            help=f"The HTML file to write (default: {DEFAULT_REPORT} in the current folder).",
        ),
    ] = DEFAULT_REPORT,
    lang: Annotated[str, typer.Option("--lang", metavar="LANG", help="ja or en.")] = "ja",
    kb: KbOption = None,
) -> None:
    """Write one self-contained HTML report (no network): the comparison table, quality
    against cost, latency, the worst questions, and a verdict for each KPI of [use_case].
    It prints the path it wrote (default: eval-report.html in the current folder).

    Example: kotae eval report 3f2a 9c1d --out poc-report.html
    """
    _write_report(run_ids, out, lang, kb)


def _write_report(run_ids: list[str], out: Path, lang: str, kb: str | None) -> None:
    from kotae.evaluation.report import render_report, write_report

    if lang not in ("ja", "en"):
        fail(t("unknown_lang", lang=lang, choices="ja, en"))
    with open_kb(kb) as base:
        store = base.catalog
        runs = [store.eval_run(run_id) for run_id in run_ids]
        results = {r.id: store.eval_results(r.id) for r in runs}
        items = {item.id: item for r in runs for item in store.eval_items(r.id)}
        use_case = base.settings.use_case.model_dump()
    html = render_report(runs, results, items, use_case=use_case, language=lang)  # type: ignore[arg-type]
    write_report(out, html)
    console.print(t("wrote", path=escape(str(out.resolve()))))


def synth(
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="The eval set (JSONL) to write.")
    ],
    n: Annotated[
        int,
        typer.Option(
            "-n", "--questions", min=1, max=10_000, metavar="N", help="How many questions."
        ),
    ] = 50,
    lang: Annotated[
        str,
        typer.Option("--lang", metavar="LANG", help="auto (each chunk's language), ja or en."),
    ] = "auto",
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Which chunks are sampled.")] = 0,
    as_user: Annotated[
        str | None,
        typer.Option("--as", metavar="USER", help="Sample only chunks this user may read."),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option(
            "--groups", metavar="GROUPS", help="Sample only chunks these groups may read."
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Sample every chunk (administrator).")
    ] = False,
    allow_external: Annotated[
        bool,
        typer.Option(
            "--allow-external",
            help="Allow sending chunks to a generator outside this machine (not "
            "127.0.0.1/localhost/::1, nor in-process).",
        ),
    ] = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Write a question set from the knowledge base with the configured [generator]: one
    question per sampled chunk, with its reference answer and source; duplicates and
    questions their chunk cannot answer are dropped. Only public chunks are sampled
    unless --as, --groups or --all says otherwise, and chunks go to a remote generator
    only with --allow-external.

    Example: kotae eval synth --out questions.jsonl -n 100 --as yamada
    """
    from kotae.cli.ask import configured_generator, settings_for
    from kotae.evaluation.datasets import write_eval_set
    from kotae.evaluation.synth import synthesize
    from kotae.kb import KnowledgeBase

    if lang not in ("auto", "ja", "en"):
        fail(t("unknown_lang", lang=lang, choices="auto, ja, en"))
    if sum((as_user is not None, groups is not None, everything)) > 1:
        fail(t("one_access_option"))
    path, settings = settings_for(kb)
    generator = configured_generator(settings)
    if generator is None:
        fail(t("synth_needs_generator"))
    try:
        with KnowledgeBase(path, settings) as base:
            access = base.access_for(user=as_user, groups=_groups(groups), everything=everything)
            report = synthesize(
                base,
                generator,
                n,
                language=lang,
                seed=seed,
                access=access,
                allow_external=allow_external,
            )
    finally:
        generator.close()
    if report.items:
        write_eval_set(report.items, out)
    summary = {
        "out": str(out) if report.items else None,
        "kept": len(report.items),
        "chunks_tried": report.chunks_tried,
        "dropped": dict(report.dropped),
    }
    if json_out:
        print_json(summary)
    else:
        dropped = ", ".join(f"{why}: {count}" for why, count in report.dropped.items()) or "none"
        where = f" to {escape(str(out))}" if report.items else ""
        console.print(
            f"wrote {len(report.items)} questions{where} from {report.chunks_tried} chunks; "
            f"dropped: {escape(dropped)}"
        )
    if not report.items:
        raise typer.Exit(1)
