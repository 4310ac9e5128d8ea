"""``kotae models recommend``: the criteria and their reasons, the weights (and their
renormalization over known criteria), the exclusions (blocked license, does not fit, cost),
and the company's eval runs overriding the catalog's performance.

The rules run on an inline catalog, so they hold whatever the shipped one says; the CLI tests
run the shipped catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kotae.cli.main import main
from kotae.config import OrganizationSettings
from kotae.errors import QueryError
from kotae.evaluation.model import MetricSummary, RunSummary
from kotae.kb import init_kb
from kotae.planning import recommend as rec
from kotae.planning.catalog import ModelCatalog, load_catalog, parse_catalog
from kotae.planning.gpus import find_gpu
from kotae.planning.sizing import ModelShape, size_on_gpu
from tests.conftest import catalog_of

SRC = "https://example.org/card"
DATE = "2026-11-28"


def _fact(value: Any) -> dict[str, Any]:
    return {"value": value, "source": SRC, "date": DATE}


def _model(
    mid: str,
    *,
    japanese: str | None = None,
    benchmarks: dict[str, float] | None = None,
    params: float | None = 1.0,
    shape: bool = True,
    peft: bool | None = True,
    conditions: list[dict[str, Any]] | None = None,
    license_known: bool = True,
) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if license_known:
        facts |= {
            "license_name": _fact("Apache License 2.0"),
            "license_id": _fact("Apache-2.0"),
            "commercial_use": _fact("yes"),
        }
    if params is not None:
        facts |= {"params_total_b": _fact(params), "params_active_b": _fact(params)}
    if shape:
        facts |= {
            "num_layers": _fact(16),
            "num_attention_heads": _fact(16),
            "num_kv_heads": _fact(4),
            "head_dim": _fact(64),
            "context_tokens": _fact(32768),
        }
    if japanese is not None:
        facts["japanese"] = _fact(japanese)
    if peft is not None:
        facts["peft_support"] = _fact(peft)
    return {
        "id": mid,
        "family": mid.split("/")[0],
        "vendor": "v",
        "facts": facts,
        "license_conditions": conditions or [],
        "benchmarks": [
            {"name": n, "score": s, "source": SRC, "date": DATE}
            for n, s in (benchmarks or {}).items()
        ],
    }


NON_COMMERCIAL = {
    "kind": "non_commercial",
    "text": "Non-commercial use only",
    "source": SRC,
    "date": DATE,
    "params": {},
}


def _catalog() -> ModelCatalog:
    return parse_catalog(
        {
            "models": [
                _model("en/Strong", japanese="not_official", benchmarks={"X": 90.0, "Y": 80.0}),
                _model("jp/Tuned", japanese="tuned", benchmarks={"X": 70.0, "Y": 60.0}),
                _model("nc/Blocked", japanese="tuned", conditions=[NON_COMMERCIAL]),
                _model("big/Huge", params=400.0, japanese="official"),
                _model("odd/NoShape", shape=False, japanese="capable"),
                _model("lone/Alone", benchmarks={"Z only here": 99.0}, peft=None),
            ]
        }
    )


def _request(
    weights: dict[str, float] | None = None, gpu: str | None = "L40S", count: int = 1, **kw: Any
) -> rec.Request:
    case = rec.find_use_case("knowledge-search")
    hardware = None if gpu is None else rec.Hardware(find_gpu(gpu), count)
    return rec.Request(
        case,
        kw.pop("languages", case.languages),
        kw.pop("context", case.context),
        kw.pop("concurrency", case.concurrency),
        {**rec.DEFAULT_WEIGHTS, **(weights or {})},
        hardware,
        kw.pop("max_monthly_cost", None),
    )


def _run(request: rec.Request, runs: list[RunSummary] | None = None) -> rec.Ranking:
    org = OrganizationSettings(monthly_active_users=1000, redistributes=False)
    return rec.recommend(_catalog(), org, request, runs or [])


def _ranked(ranking: rec.Ranking) -> list[str]:
    return [row.model for row in ranking.ranked]


def _row(ranking: rec.Ranking, model: str) -> rec.Row:
    return next(r for r in (*ranking.ranked, *ranking.excluded) if r.model == model)


def test_raising_the_japanese_weight_moves_the_japanese_model_up() -> None:
    low = _ranked(_run(_request({"japanese": 0.0})))
    assert low.index("en/Strong") < low.index("jp/Tuned")
    high = _ranked(_run(_request({"japanese": 1.0})))
    assert high.index("jp/Tuned") < high.index("en/Strong")


def test_japanese_weight_doubles_when_the_languages_include_ja() -> None:
    assert _request(languages=("ja",)).effective_weights["japanese"] == 0.5
    assert _request(languages=("en",)).effective_weights["japanese"] == 0.25


def test_performance_ranks_only_within_the_same_benchmark() -> None:
    ranking = _run(_request())
    strong = _row(ranking, "en/Strong").criteria["performance"]
    tuned = _row(ranking, "jp/Tuned").criteria["performance"]
    assert (strong.score, tuned.score) == (1.0, 0.0)
    assert strong.sources == (SRC,) and "2 benchmark" in strong.reason("en")
    alone = _row(ranking, "lone/Alone").criteria["performance"]
    assert alone.score is None and "not comparable" in alone.reason("en")


def test_a_blocked_license_is_excluded_with_its_reason() -> None:
    ranking = _run(_request())
    assert "nc/Blocked" not in _ranked(ranking)
    row = _row(ranking, "nc/Blocked")
    assert row.license_verdict == "blocked"
    assert row.exclusions[0].message("en").startswith("license blocked: ")


def test_needs_review_is_penalized() -> None:
    row = _row(_run(_request()), "lone/Alone")
    assert row.license_verdict == "ok"
    org = OrganizationSettings()
    cat = parse_catalog({"models": [_model("x/NoLicense", license_known=False)]})
    review = rec.recommend(cat, org, _request()).ranked[0]
    assert review.license_verdict == "needs_review"
    assert review.criteria["license"].score == rec.LICENSE_SCORES["needs_review"] < 1.0


def test_a_model_that_does_not_fit_is_excluded_with_the_gpus_it_needs() -> None:
    ranking = _run(_request())
    row = _row(ranking, "big/Huge")
    shape = ModelShape.from_entry(_catalog().find("big/Huge"))
    needed = size_on_gpu(shape, find_gpu("L40S"), context=8192, concurrency=8).gpus_needed
    assert needed > 1 and row.fit.status == "too_big"
    assert row.exclusions[0].message("en").startswith(f"needs {needed} GPUs (l40s")
    enough = _run(_request(count=needed))
    assert "big/Huge" in _ranked(enough)
    assert _row(enough, "big/Huge").fit.gpus_used == needed


def test_an_unknown_shape_is_listed_with_fit_unknown() -> None:
    ranking = _run(_request())
    assert "odd/NoShape" in _ranked(ranking)
    fit = _row(ranking, "odd/NoShape").fit
    assert fit.status == "unknown" and "num_layers" in fit.missing


def test_unknown_criteria_do_not_count_and_the_weights_are_renormalized() -> None:
    ranking = _run(_request(languages=("en",)))
    row = _row(ranking, "odd/NoShape")  # performance and community unknown
    assert row.criteria["performance"].score is None
    assert row.criteria["community"].score is None
    w = rec.DEFAULT_WEIGHTS
    known = {"license": 1.0, "finetune": 0.7, "japanese": 1 / 3}
    expected = sum(w[n] * s for n, s in known.items()) / sum(w[n] for n in known)
    assert row.total == pytest.approx(expected)
    assert row.known_weight == pytest.approx(sum(w[n] for n in known) / sum(w.values()))


def test_the_cost_limit_excludes_dearer_models() -> None:
    ranking = _run(_request(max_monthly_cost=100.0))
    row = _row(ranking, "en/Strong")
    assert row.monthly_cost is not None and row.monthly_cost > 100
    assert "--max-monthly-cost" in row.exclusions[0].message("en")
    assert "en/Strong" in _ranked(_run(_request(max_monthly_cost=1e6)))


def _summary(run_id: str, model: str, metrics: dict[str, float]) -> RunSummary:
    return RunSummary(
        run_id, "cfg", "faq", "2026-12-01T00:00:00+00:00", "done", 20,
        {"generator": {"backend": "openai", "model": model}},
        {n: MetricSummary(v, v - 0.05, v + 0.05, 20) for n, v in metrics.items()},
    )  # fmt: skip


def test_an_eval_run_overrides_the_catalog_performance() -> None:
    runs = [_summary("r1", "jp/tuned", {"char_f1": 0.93, "correctness": 0.95})]
    ranking = _run(_request(), runs)
    perf = _row(ranking, "jp/Tuned").criteria["performance"]
    assert perf.measured and perf.score == 0.95  # correctness before char_f1
    assert "r1" in perf.reason("en") and perf.sources[0].startswith("eval run r1")
    assert not _row(ranking, "en/Strong").criteria["performance"].measured


def test_an_eval_run_matches_the_longest_catalog_name() -> None:
    catalog = load_catalog()
    assert rec.match_model(catalog, "deepseek-r1-distill-qwen-7b").id.endswith(  # type: ignore[union-attr]
        "DeepSeek-R1-Distill-Qwen-7B"
    )
    assert rec.match_model(catalog, "qwen0.5b").id == "Qwen/Qwen2.5-Coder-0.5B-Instruct"  # type: ignore[union-attr]
    assert rec.match_model(catalog, "gpt-4o") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "performance",
        "speed=1",
        "license=-1",
        "license=x",
        "license=1,license=2",
        "japanese=0,performance=0,license=0,community=0,finetune=0",
    ],
)
def test_bad_weights(text: str) -> None:
    with pytest.raises(QueryError):
        rec.parse_weights(text)


def test_weights_not_named_keep_their_default() -> None:
    weights = rec.parse_weights("japanese=1, performance=0")
    assert weights == {**rec.DEFAULT_WEIGHTS, "japanese": 1.0, "performance": 0.0}


# -- the command ------------------------------------------------------------------------------
@pytest.fixture
def no_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("KOTAE_KB", raising=False)
    monkeypatch.setenv("KOTAE_LANG", "en")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int | str | None, str, str]:
    try:
        main(["models", "recommend", *args])
    except SystemExit as exc:
        out = capsys.readouterr()
        return exc.code, out.out, out.err
    out = capsys.readouterr()
    return 0, out.out, out.err


def test_recommend_table(no_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(
        capsys, "--use-case", "knowledge-search", "--languages", "ja", "--gpu", "1xL40S"
    )
    assert code == 0, err
    assert "rank\tmodel\ttotal\tperformance\tlicense" in out
    assert "Why:" in out and "Excluded:" in out
    assert "needs 5 GPUs (l40s" in out  # Llama 3.1 70B on one L40S
    assert "license blocked" in out  # Qwen2.5-3B's research-only license, commercial use


def test_recommend_json_and_the_measured_run(
    no_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_dir = no_kb / "kb"
    init_kb(kb_dir).close()
    summary = _summary("run1", "qwen2.5-7b-instruct", {"char_f1": 0.42})
    with catalog_of(kb_dir) as catalog:
        catalog.create_eval_run(summary, "s", "c", ())
        catalog.finish_eval_run("run1", "done", summary)
    args = ("--gpu", "1xL40S", "--kb", str(kb_dir))
    code, out, err = _cli(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    row = next(r for r in data["ranked"] if r["model"] == "Qwen/Qwen2.5-7B-Instruct")
    assert row["measured"] and row["criteria"]["performance"]["score"] == 0.42
    assert data["gpu"] == {"id": "l40s", "count": 1, "dtype": "bf16", "kv_dtype": "bf16"}
    assert all(r["excluded"] for r in data["excluded"])
    code, out, err = _cli(capsys, *args, "--top", "50")
    assert code == 0, err
    line = next(x for x in out.splitlines() if "\tQwen/Qwen2.5-7B-Instruct\t" in x)
    assert line.endswith("measured") or "\tmeasured" in line
    assert "measured = performance from your own eval runs" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--weights", "speed=1"],
        ["--weights", "performance"],
        ["--use-case", "chat"],
        ["--languages", "日本語"],
        ["--gpu", "Z999"],
        ["--max-monthly-cost", "100"],  # without --gpu
        ["--gpu", "L40S", "--dtype", "fp4"],
    ],
)
def test_wrong_input_is_one_line_exit_2(
    no_kb: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = _cli(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
