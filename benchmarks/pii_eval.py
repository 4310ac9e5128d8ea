"""Precision and recall of kotae's PII recognizers (kotae.privacy) on the labelled set of
tests/privacy/pii_cases.py, and of Presidio's default recognizers when it is installed.

Usage:
    .venv/bin/python benchmarks/pii_eval.py [--no-presidio]

The set is cut in two halves by a seeded shuffle (``split_halves``): the recognizers were
tuned on the first ("tune"), the second ("report") is the honest figure. Each is scored per
kind and overall, by exact span (same kind, same start and end) and by overlap (same kind,
spans overlap). Presidio (``pip install presidio-analyzer``; not a kotae dependency) runs
with its predefined English recognizers and no NLP model (``NoOpNlpEngine``, the
SpacyRecognizer removed: no download), so it covers e-mail, phone and credit card here; it is
compared on those three kinds only, kotae beside it on the same kinds. Also measured: the
time per text (kotae's recognizers, all kinds, after a warm-up) and Presidio's load time.

Writes benchmarks/results/pii.json; ``benchmarks/render.py`` puts it in docs/benchmarks.md
(section ``pii``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench_harness import REPO_ROOT, RESULTS_DIR, git_info, log, machine_info, utc_now, write_json

sys.path.insert(0, str(REPO_ROOT))

from kotae.privacy import PII_KINDS, find_pii
from tests.privacy.pii_cases import Case, build_cases, score, split_halves

Predict = Callable[[str], Iterable[tuple[str, int, int]]]
PRESIDIO_KINDS = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card"}


def kotae_predict(text: str) -> list[tuple[str, int, int]]:
    return [(f.kind, f.start, f.end) for f in find_pii(text)]


def presidio_predict() -> tuple[Predict | None, dict[str, Any]]:
    """Presidio's default pattern recognizers, or None and why not."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    started = time.perf_counter()
    try:
        from importlib.metadata import version

        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
    except ImportError as exc:
        return None, {"status": "not run", "reason": f"presidio-analyzer not installed ({exc})"}
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    registry.remove_recognizer("SpacyRecognizer")
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
        supported_languages=["en"],
    )

    def predict(text: str) -> list[tuple[str, int, int]]:
        out = []
        for r in engine.analyze(text, language="en"):
            kind = PRESIDIO_KINDS.get(r.entity_type)
            if kind is not None:
                out.append((kind, r.start, r.end))
        return out

    info = {
        "status": "ok",
        "version": version("presidio-analyzer"),
        "setup": "predefined English recognizers, NoOpNlpEngine, SpacyRecognizer removed, "
        "default score threshold",
        "load_s": round(time.perf_counter() - started, 2),
        "kinds": sorted(PRESIDIO_KINDS.values()),
    }
    return predict, info


def scores(cases: list[Case], predict: Predict, kinds: list[str] | None = None) -> dict[str, Any]:
    return {mode: score(cases, predict, mode, kinds) for mode in ("exact", "overlap")}


def time_per_text(cases: list[Case], predict: Predict, rounds: int = 5) -> dict[str, float]:
    for case in cases[:20]:
        predict(case.text)  # warm-up: Sudachi's dictionary
    per_round = []
    for _ in range(rounds):
        started = time.perf_counter()
        for case in cases:
            predict(case.text)
        per_round.append((time.perf_counter() - started) / len(cases))
    chars = sum(len(c.text) for c in cases) / len(cases)
    return {
        "ms_per_text": round(min(per_round) * 1000, 3),
        "median_ms_per_text": round(statistics.median(per_round) * 1000, 3),
        "mean_chars": round(chars, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-presidio", action="store_true", help="Score kotae only.")
    args = parser.parse_args(argv)
    cases = build_cases()
    tune, report = split_halves(cases)
    halves = {"tune": tune, "report": report, "all": cases}
    log(
        f"{len(cases)} cases ({sum(1 for c in cases if not c.gold)} without PII), "
        f"{sum(len(c.gold) for c in cases)} gold spans"
    )
    result: dict[str, Any] = {
        "benchmark": "pii",
        "date": utc_now(),
        "machine": machine_info(),
        "git": git_info(),
        "set": {
            "cases": len(cases),
            "negatives": sum(1 for c in cases if not c.gold),
            "spans": {k: sum(1 for c in cases for g in c.gold if g[0] == k) for k in PII_KINDS},
            "languages": {lang: sum(1 for c in cases if c.lang == lang) for lang in ("ja", "en")},
            "halves": {"tune": len(tune), "report": len(report)},
        },
        "kotae": {name: scores(part, kotae_predict) for name, part in halves.items()},
        "kotae_speed": time_per_text(cases, kotae_predict),
    }
    info: dict[str, Any]
    if args.no_presidio:
        presidio, info = None, {"status": "not run", "reason": "--no-presidio"}
    else:
        presidio, info = presidio_predict()
    result["presidio"] = info
    if presidio is not None:
        kinds = info["kinds"]
        result["comparison"] = {
            name: {
                "presidio": scores(part, presidio, kinds),
                "kotae": scores(part, kotae_predict, kinds),
            }
            for name, part in halves.items()
        }
        result["presidio_speed"] = time_per_text(cases, presidio, rounds=2)
    write_json(RESULTS_DIR / "pii.json", result)
    for name in ("tune", "report"):
        for mode in ("exact", "overlap"):
            overall = result["kotae"][name][mode]["all"]
            log(f"kotae {name} {mode}: P {overall['precision']:.3f} R {overall['recall']:.3f}")
    log(f"wrote {RESULTS_DIR / 'pii.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
