"""Run kotae's retrieval benchmark and the two anchors on the shared sets, one run at a time.

Usage:
    .venv/bin/python benchmarks/run_retrieval.py [--sets jsquad,jaquad,squad,beir-scifact]
        [--skip-anchors] [--skip-kotae] [--bench-dir ../shared/bench] [--anchors-dir DIR]
        [--k 100] [--config FILE]

For each set it runs, serially:
  * kotae:   ``kotae bench retrieval DIR --k K [--config FILE] --json OUT``
  * lucene:  ``$ANCHORS/lucene/bin/python $SHARED/anchors/lucene_bm25.py DIR LANG --jar JAR``
             (Lucene 9.9.1 BM25, Kuromoji JapaneseAnalyzer / EnglishAnalyzer, k1=1.2 b=0.75)
  * bm25s:   ``$ANCHORS/bm25s/bin/python $SHARED/anchors/bm25_baseline.py DIR LANG``
             (bm25s over character bigrams for ja, ``\\w\\w+`` words for en)
and writes ``benchmarks/results/retrieval-<set>.json``. kotae's result holds, beside the
full set's figures, those of the report half of the queries (``held_out``: the half that
``kotae.bench.split_half`` never gives to tuning); the log line shows both nDCG@10. A part
that is skipped keeps the entry of the previous results file (each entry has its own date);
a part that cannot run is recorded as "not run" with the reason, and the other parts still
run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_harness import (
    DEFAULT_ANCHORS_DIR,
    REPO_ROOT,
    RESULTS_DIR,
    JsonDict,
    MeasuredRun,
    git_info,
    kotae_command,
    kotae_env,
    kotae_version,
    last_json_object,
    log,
    machine_info,
    read_json,
    run_measured,
    shared_dir,
    utc_now,
    write_json,
)

SET_LANGUAGES = {"jsquad": "ja", "jaquad": "ja", "squad": "en", "beir-scifact": "en"}
LUCENE_JAR_NAME = "anserini-0.25.0-fatjar.jar"
ANCHOR_NAMES = ("lucene", "bm25s")


def not_run(reason: str) -> JsonDict:
    return {"status": "not run", "reason": reason, "date": utc_now()}


def kept_if_ok(previous: JsonDict | None, reason: str) -> JsonDict:
    """A skipped part keeps its previous successful entry; otherwise it is "not run"."""
    return previous if previous and previous.get("status") == "ok" else not_run(reason)


def loadavg_1min() -> float:
    return round(os.getloadavg()[0], 2)


def failed(run: MeasuredRun, what: str) -> JsonDict:
    reason = "timed out" if run.timed_out else f"exit code {run.returncode}"
    return {
        "status": "failed",
        "reason": f"{what}: {reason}",
        "stderr_tail": run.stderr_tail(),
        "command": run.command,
        "wall_s": run.wall_s,
        "date": utc_now(),
    }


def kotae_cli_problem() -> str | None:
    """None when ``kotae bench retrieval --help`` works, else why it does not."""
    probe = subprocess.run(
        [*kotae_command(), "bench", "retrieval", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=kotae_env(),
        cwd=REPO_ROOT,
        timeout=120,
    )
    if probe.returncode == 0:
        return None
    tail = (probe.stderr or probe.stdout).strip().splitlines()[-3:]
    return "`kotae bench retrieval` is not available: " + " | ".join(tail)


def run_kotae(dataset_dir: Path, k: int, config: Path | None, timeout_s: float) -> JsonDict:
    problem = kotae_cli_problem()
    if problem:
        return not_run(problem)
    with tempfile.TemporaryDirectory(prefix="kotae-bench-") as tmp:
        out_json = Path(tmp) / "result.json"
        command = [*kotae_command(), "bench", "retrieval", str(dataset_dir), "--k", str(k)]
        if config:
            command += ["--config", str(config)]
        command += ["--json", str(out_json)]
        load_at_start = loadavg_1min()
        run = run_measured(command, timeout_s=timeout_s, env=kotae_env(), cwd=REPO_ROOT)
        if run.returncode != 0:
            return failed(run, "kotae bench retrieval")
        result = read_json(out_json) or last_json_object(run.stdout)
    if result is None:
        entry = failed(run, "kotae bench retrieval")
        entry["reason"] = "kotae bench retrieval wrote no JSON object (neither --json nor stdout)"
        return entry
    return {
        "status": "ok",
        "date": utc_now(),
        "command": command,
        "wall_s": run.wall_s,
        "process_peak_rss_mb": run.peak_rss_mb,
        "loadavg_1min_at_start": load_at_start,
        "version": kotae_version(),
        "git": git_info(),
        "result": result,
    }


def venv_versions(python: Path, packages: list[str]) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(p):\n"
        "    try: return m.version(p)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({p: v(p) for p in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(python), "-c", code, *packages], capture_output=True, text=True, check=False
    )
    parsed = last_json_object(out.stdout) if out.returncode == 0 else None
    return parsed if parsed is not None else dict.fromkeys(packages)


def java_version() -> str | None:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    lines = out.stderr.strip().splitlines()
    return lines[0] if lines else None


def anchor_command(name: str, anchors_dir: Path, dataset_dir: Path, lang: str) -> list[str]:
    scripts = shared_dir() / "anchors"
    if name == "lucene":
        jar = anchors_dir / "jars" / LUCENE_JAR_NAME
        python = anchors_dir / "lucene" / "bin" / "python"
        return [
            str(python),
            str(scripts / "lucene_bm25.py"),
            str(dataset_dir),
            lang,
            "--jar",
            str(jar),
        ]
    python = anchors_dir / "bm25s" / "bin" / "python"
    return [str(python), str(scripts / "bm25_baseline.py"), str(dataset_dir), lang]


def anchor_problem(name: str, anchors_dir: Path) -> str | None:
    """Why an anchor cannot run here, or None."""
    python = anchors_dir / name / "bin" / "python"
    setup = "run `bash benchmarks/setup_anchors.sh` first"
    if not python.exists():
        return f"anchor venv {anchors_dir / name} is missing; {setup}"
    if not (shared_dir() / "anchors").is_dir():
        return f"anchor scripts not found in {shared_dir() / 'anchors'}; set KOTAE_SHARED"
    if name == "lucene":
        if not (anchors_dir / "jars" / LUCENE_JAR_NAME).exists():
            return f"Lucene jar {anchors_dir / 'jars' / LUCENE_JAR_NAME} is missing; {setup}"
        if java_version() is None:
            return "java is not on PATH (install openjdk-17-jdk-headless)"
    return None


def anchor_description(name: str, lang: str, anchors_dir: Path) -> JsonDict:
    if name == "lucene":
        analyzer = "Kuromoji JapaneseAnalyzer (search mode)" if lang == "ja" else "EnglishAnalyzer"
        return {
            "label": "Lucene-Kuromoji" if lang == "ja" else "Lucene-English",
            "engine": "Lucene 9.9.1 BM25 (k1=1.2, b=0.75), query = ES match (OR)",
            "analyzer": analyzer,
            "versions": {"lucene": "9.9.1", "jar": LUCENE_JAR_NAME, "java": java_version()},
        }
    python = anchors_dir / "bm25s" / "bin" / "python"
    return {
        "label": "bm25s",
        "engine": "bm25s BM25 (defaults), numpy backend",
        "analyzer": "character bigrams, whitespace removed" if lang == "ja" else r"\w\w+ words",
        "versions": venv_versions(python, ["bm25s", "scipy", "numpy"]),
    }


def run_anchor(
    name: str, anchors_dir: Path, dataset_dir: Path, lang: str, timeout_s: float
) -> JsonDict:
    problem = anchor_problem(name, anchors_dir)
    if problem:
        return not_run(problem)
    command = anchor_command(name, anchors_dir, dataset_dir, lang)
    load_at_start = loadavg_1min()
    run = run_measured(command, timeout_s=timeout_s, cwd=REPO_ROOT)
    if run.returncode != 0:
        return failed(run, f"{name} anchor")
    result = last_json_object(run.stdout)
    if result is None:
        entry = failed(run, f"{name} anchor")
        entry["reason"] = f"{name} anchor printed no JSON line"
        return entry
    return {
        "status": "ok",
        "date": utc_now(),
        **anchor_description(name, lang, anchors_dir),
        "command": command,
        "wall_s": run.wall_s,
        "process_peak_rss_mb": run.peak_rss_mb,
        "loadavg_1min_at_start": load_at_start,
        "result": result,
    }


def entry_summary(entry: JsonDict) -> str:
    if entry.get("status") != "ok":
        return f"{entry.get('status')}: {entry.get('reason')}"
    result = entry["result"]
    metrics = result.get("metrics", result)
    timing = result.get("timing", result)
    held_out = (result.get("held_out") or {}).get("metrics") or {}
    report_half = f" (report half {held_out['ndcg@10']})" if "ndcg@10" in held_out else ""
    return (
        f"nDCG@10={metrics.get('ndcg@10')}{report_half} p50={timing.get('query_p50_ms')} ms "
        f"index={timing.get('index_s')} s"
    )


def benchmark_set(name: str, args: argparse.Namespace, previous: JsonDict | None) -> JsonDict:
    lang = SET_LANGUAGES[name]
    dataset_dir = (args.bench_dir / name).resolve()
    previous = previous or {}
    machine = machine_info()
    if args.skip_kotae:
        kotae = kept_if_ok(previous.get("kotae"), "skipped with --skip-kotae")
    else:
        log(f"{name}: kotae bench retrieval")
        kotae = run_kotae(dataset_dir, args.k, args.config, args.timeout)
        log(f"{name}: kotae -> {entry_summary(kotae)}")
    anchors: JsonDict = dict(previous.get("anchors") or {})
    for anchor in ANCHOR_NAMES:
        if args.skip_anchors:
            anchors[anchor] = kept_if_ok(anchors.get(anchor), "skipped with --skip-anchors")
            continue
        log(f"{name}: anchor {anchor}")
        anchors[anchor] = run_anchor(anchor, args.anchors_dir, dataset_dir, lang, args.timeout)
        log(f"{name}: {anchor} -> {entry_summary(anchors[anchor])}")
    return {
        "set": name,
        "lang": lang,
        "dataset_dir": str(dataset_dir),
        "date": utc_now(),
        "machine": machine,
        "python": platform.python_version(),
        "conditions": "serial runs; queries one at a time, single-threaded, top 100 ranked",
        "kotae": kotae,
        "anchors": anchors,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SET_LANGUAGES), help="comma-separated set names")
    parser.add_argument("--bench-dir", type=Path, default=shared_dir() / "bench")
    parser.add_argument("--anchors-dir", type=Path, default=DEFAULT_ANCHORS_DIR)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--skip-anchors", action="store_true", help="run kotae only")
    parser.add_argument("--skip-kotae", action="store_true", help="run the anchors only")
    parser.add_argument("--k", type=int, default=100, help="documents ranked per query")
    parser.add_argument("--config", type=Path, default=None, help="passed to kotae --config")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.sets if s not in SET_LANGUAGES]
    if unknown:
        parser.error(f"unknown set(s) {unknown}; choose from {sorted(SET_LANGUAGES)}")
    missing = [s for s in args.sets if not (args.bench_dir / s / "corpus.jsonl").exists()]
    if missing:
        parser.error(f"no corpus.jsonl for {missing} under {args.bench_dir}; pass --bench-dir")
    args.anchors_dir = args.anchors_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in args.sets:
        out_path = args.out_dir / f"retrieval-{name}.json"
        result = benchmark_set(name, args, read_json(out_path))
        write_json(out_path, result)
        log(f"{name}: wrote {out_path}")
    print(json.dumps({"written": [f"retrieval-{s}.json" for s in args.sets]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
