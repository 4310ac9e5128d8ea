"""TCO (issue 12, item 5): the cost model reproduces a hand calculation, the break-even moves
the right way with utilization and GPU price, prices carry their source and date and are
flagged stale, and ``kotae cost`` answers in a table, in JSON, and with one line on bad
input."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from kotae.cli.main import main
from kotae.errors import QueryError
from kotae.evaluation.model import MetricSummary, RunSummary
from kotae.kb import init_kb
from kotae.planning import tco
from tests.conftest import REPO, SHARED, catalog_of

TODAY = date(2026, 12, 2)
GPT_4O = tco.TokenPrice(
    "api", "OpenAI", "gpt-4o", 2.50, 10.00, "https://example.com/openai", "2026-05-27"
)
VOLUME = tco.Volume(10_000_000, 2_000_000)
SPEED = tco.Throughput(decode=500.0, prefill=5_000.0, source="parameter")


def setup(**changes: object) -> tco.SelfHosting:
    values: dict[str, object] = {
        "gpu": "L40S",
        "gpus": 2,
        "price_per_gpu_hour": 0.79,
        "throughput": SPEED,
        "utilization": 0.5,
        "always_on": False,
        "engineering_per_month": 300.0,
    }
    values |= changes
    return tco.SelfHosting(**values)  # type: ignore[arg-type]


def test_a_hand_calculation_is_reproduced_exactly() -> None:
    """10M input and 2M output tokens a month.

    GPT-4o at $2.50 / $10.00 per 1M: 10 × 2.50 + 2 × 10.00 = 25 + 20 = $45.00 a month,
    $45 / 12M tokens = $3.75 per 1M.

    2 L40S at $0.79 per GPU-hour, 500 output tokens/s and 5,000 input tokens/s for the
    deployment, 50% utilization, $300 engineering a month:
    seconds = 2,000,000 / 500 + 10,000,000 / 5,000 = 4,000 + 2,000 = 6,000 s;
    hours needed = 6,000 / 3,600 / 0.5 = 3.333… h.
    Pay per use: 3.333… h × 2 GPUs × $0.79 = $5.2666…; + $300 = $305.2666….
    Always on: max(3.333…, 730) = 730 h × 2 × $0.79 = $1,153.40; + $300 = $1,453.40.

    Break-even (input share r = 10/12 = 5/6):
    API per token p = (5/6 × 2.50 + 1/6 × 10.00) / 1M = $3.75e-6;
    GPU per token c = (5/6 / 5,000 + 1/6 / 500) s / 3,600 / 0.5 × 2 × $0.79
                    = 5e-4 / 1,800 × 1.58 = $4.3888…e-7.
    Pay per use: V = E / (p − c) = 300 / (3.75e-6 − 7.9e-4 / 1,800)
                   = 540,000 / 0.00596 = 90,604,026.8… tokens a month.
    Always on: V = (F + E) / p = (1,153.40 + 300) / 3.75e-6 = 387,573,333.3… tokens, and the
    floor still covers it (V × c = $170.1 ≤ $1,153.40).
    """
    assert tco.api_cost(VOLUME, GPT_4O) == pytest.approx(45.00, rel=1e-12)
    per_use = tco.self_hosting_cost(VOLUME, setup())
    assert per_use["hours_needed"] == pytest.approx(6_000 / 3_600 / 0.5, rel=1e-12)
    assert per_use["hours_billed"] == pytest.approx(10 / 3, rel=1e-12)
    assert per_use["gpu_cost"] == pytest.approx(10 / 3 * 2 * 0.79, rel=1e-12)
    assert per_use["total"] == pytest.approx(305.26666666666665, rel=1e-12)
    assert per_use["replicas"] == 1
    always = tco.self_hosting_cost(VOLUME, setup(always_on=True))
    assert always["hours_billed"] == 730
    assert always["total"] == pytest.approx(1_453.40, rel=1e-12)

    share = VOLUME.input_share
    api = tco.api_per_token(GPT_4O, share)
    assert api == pytest.approx(3.75e-6, rel=1e-12)
    assert setup().cost_per_token(share) == pytest.approx(7.9e-4 / 1_800, rel=1e-12)
    assert tco.break_even_tokens(share, api, setup()) == pytest.approx(540_000 / 0.00596, rel=1e-12)
    assert tco.break_even_tokens(share, api, setup(always_on=True)) == pytest.approx(
        1_453.40 / 3.75e-6, rel=1e-12
    )

    result = tco.compare(
        VOLUME, apis=[GPT_4O], setups=[setup(always_on=True)], baseline=GPT_4O, today=TODAY
    )
    by_kind = {row.kind: row for row in result.rows}
    assert by_kind["api"].per_million_tokens == pytest.approx(3.75, rel=1e-12)
    assert by_kind["self"].monthly_cost == pytest.approx(1_453.40, rel=1e-12)
    assert [row.kind for row in result.rows] == ["api", "self"]  # cheapest first
    assert result.break_even is not None
    assert result.break_even["tokens_per_month"] == pytest.approx(387_573_333.33, rel=1e-9)
    assert result.break_even["self_hosting_cheaper_now"] is False


@pytest.mark.parametrize("always_on", [False, True])
def test_at_the_break_even_both_cost_the_same(always_on: bool) -> None:
    hosting = setup(always_on=always_on)
    share = VOLUME.input_share
    tokens = tco.break_even_tokens(share, tco.api_per_token(GPT_4O, share), hosting)
    assert tokens is not None
    inp, out = VOLUME.scaled(tokens)
    volume = tco.Volume(round(inp), round(out))
    api = tco.api_cost(volume, GPT_4O)
    assert tco.self_hosting_cost(volume, hosting)["total"] == pytest.approx(api, rel=1e-6)


def test_break_even_rises_when_utilization_falls() -> None:
    share = VOLUME.input_share
    api = tco.api_per_token(GPT_4O, share)
    levels = [1.0, 0.8, 0.6, 0.4, 0.2, 0.1]
    per_use = [tco.break_even_tokens(share, api, setup(utilization=u)) for u in levels]
    assert all(v is not None for v in per_use)
    assert per_use == sorted(per_use)  # type: ignore[type-var]
    assert len(set(per_use)) == len(per_use)  # strictly
    # always on, the floor decides while it covers the volume: never lower as it falls
    always = [
        tco.break_even_tokens(share, api, setup(utilization=u, always_on=True, gpus=1))
        for u in [1.0, 0.5, 0.1, 0.05, 0.04]
    ]
    assert all(v is not None for v in always)
    assert always == sorted(always)  # type: ignore[type-var]
    assert always[0] == always[3]  # down to 5%, the floor covers the volume
    assert always[-1] > always[0]  # type: ignore[operator]  # at 4% it does not


@pytest.mark.parametrize("always_on", [False, True])
def test_break_even_rises_with_the_gpu_price(always_on: bool) -> None:
    share = VOLUME.input_share
    api = tco.api_per_token(GPT_4O, share)
    prices = [0.34, 0.79, 1.55, 2.25, 4.0]
    volumes = [
        tco.break_even_tokens(share, api, setup(price_per_gpu_hour=p, always_on=always_on))
        for p in prices
    ]
    assert all(v is not None for v in volumes)
    assert volumes == sorted(volumes)  # type: ignore[type-var]
    assert len(set(volumes)) == len(volumes)


def test_no_break_even_when_the_gpus_cost_more_per_token() -> None:
    slow = tco.Throughput(decode=5.0, prefill=None, source="parameter")
    share = VOLUME.input_share
    api = tco.api_per_token(GPT_4O, share)
    assert tco.break_even_tokens(share, api, setup(throughput=slow)) is None
    free = setup(engineering_per_month=0.0)  # no fixed cost, cheaper per token
    assert tco.break_even_tokens(share, api, free) == 0.0


def test_unknown_prefill_counts_input_at_the_decode_rate() -> None:
    speed = tco.Throughput(decode=1_000.0, prefill=None, source="parameter")
    assert speed.seconds(10_000_000, 2_000_000) == pytest.approx(12_000.0)


def test_stale_flags() -> None:
    assert tco.date_floor("2026-09") == date(2026, 9, 1)
    assert tco.date_floor("2024") == date(2024, 1, 1)
    assert tco.date_floor("undated") is None
    assert tco.price_age_days("2026-05-27", TODAY) == 189
    assert tco.is_stale("2026-05-27", TODAY, 180)
    assert not tco.is_stale("2026-05-27", TODAY, 200)
    assert not tco.is_stale("2026-09-25", TODAY, 180)
    assert tco.is_stale("undated", TODAY, 10_000)  # undated is always stale
    assert tco.is_stale("2026-06", TODAY, 180)  # a month counts from its first day

    fresh = tco.TokenPrice("hosted", "X", "m", 1.0, 1.0, "https://x", "2026-11-01")
    undated = tco.TokenPrice("hosted", "Y", "m", 1.0, 1.0, "https://y", "undated")
    given = setup()  # a price given on the command line has no date to age
    rented = setup(provider="RunPod", pricing="on-demand", source="https://r", source_date="2024")
    result = tco.compare(VOLUME, apis=[GPT_4O, fresh, undated], setups=[given, rented], today=TODAY)
    stale = {row.option: row.stale for row in result.rows}
    assert stale == {
        "OpenAI gpt-4o": True,
        "X m": False,
        "Y m": True,
        "2x L40S": False,
        "2x L40S · RunPod on-demand": True,
    }
    assert result.stale_count == 3
    later = tco.compare(VOLUME, apis=[GPT_4O], today=TODAY, max_price_age_days=365)
    assert [row.stale for row in later.rows] == [False]


def test_every_shipped_price_has_a_source_and_a_date() -> None:
    data = tomllib.loads(tco.PRICES_FILE.read_text("utf-8"))
    rows = [*data["api"], *data["hosted"], *data["gpu"]]
    assert len(data["api"]) >= 15 and len(data["hosted"]) >= 20 and len(data["gpu"]) >= 30
    for row in rows:
        assert row["source"].startswith(("https://", "http://")), row
        date_text = row["source_date"]
        assert date_text == "undated" or tco.date_floor(date_text) is not None, row
        assert row["date_note"], row
    prices = tco.load_prices()
    gpt = tco.find_api(prices, "gpt-4o")
    assert (gpt.input_per_million, gpt.output_per_million) == (2.50, 10.00)
    assert {p.provider for p in prices.api} >= {"OpenAI", "Anthropic", "Google"}
    assert all(p.per_gpu_hour > 0 for p in prices.gpu)
    assert tco.gpu_prices_for(prices, "L40S")
    assert any(p.source_date == "undated" for p in prices.hosted)  # undated stays undated


def test_the_builder_reproduces_the_shipped_prices_byte_for_byte() -> None:
    sheet = SHARED / "reference" / "pricing.yaml"
    if not sheet.is_file():
        pytest.skip(f"no reference sheet at {sheet}")
    pytest.importorskip("yaml")
    script = REPO / "benchmarks" / "build_prices.py"
    run = subprocess.run(
        [sys.executable, str(script), "--sheet", str(sheet), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_dates_are_read_from_the_sheets_words() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        pytest.importorskip("yaml")
        from build_prices import parse_date  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    assert parse_date("wiki page edited 2026-05-27; 'Rates from …'") == "2026-05-27"
    assert parse_date("price history Jan 10 – Mar 12, 2026 all $2.00") == "2026-03-12"
    assert parse_date("'verified … as of April 2026'") == "2026-04"
    assert parse_date("crate table 'as of 2026-Q2' (us-east-1)") == "2026-04"
    assert parse_date("2026-04 blog (screenshots)") == "2026-04"
    assert parse_date("stored copy says 'January 1, 2025' (i.e. late-2024 rates)") == "2024"
    assert parse_date("undated snapshot (model IDs as late as 2026-04-21)") == "undated"
    assert parse_date("undated (© 2026 page)") == "undated"
    assert parse_date("") == "undated"


def test_parse_tokens() -> None:
    assert tco.parse_tokens("10000000,2000000") == tco.Volume(10_000_000, 2_000_000)
    assert tco.parse_tokens("10M, 2m") == tco.Volume(10_000_000, 2_000_000)
    assert tco.parse_tokens("1_500k,0") == tco.Volume(1_500_000, 0)
    for bad in ("", "10M", "1,2,3", "x,1", "-1,2", "0,0", "1e6,1"):
        with pytest.raises(QueryError):
            tco.parse_tokens(bad)


def test_throughput_from_the_latest_matching_eval_run() -> None:
    def run(run_id: str, model: str, decode: float | None, status: str = "done") -> RunSummary:
        metrics = {}
        if decode is not None:
            metrics["decode_tokens_per_s"] = MetricSummary(decode, decode, decode, 10)
            metrics["prefill_tokens_per_s"] = MetricSummary(900.0, 850.0, 950.0, 10)
        config = {"generator": {"backend": "openai", "model": model}}
        return RunSummary(run_id, "cfg", "set", "2026-12-01", status, 10, config, metrics)  # type: ignore[arg-type]

    runs = [
        run("r4", "qwen2.5:7b-instruct", 99.0, status="interrupted"),
        run("r3", "llama3.1:8b", 55.0),
        run("r2", "qwen2.5:7b-instruct", None),
        run("r1", "qwen2.5:7b-instruct", 42.0),
    ]
    newest = tco.throughput_from_runs(runs)
    assert newest is not None and newest.decode == 55.0 and newest.source == "eval_run"
    qwen = tco.throughput_from_runs(runs, "Qwen2.5-7B")
    assert qwen is not None and (qwen.decode, qwen.prefill) == (42.0, 900.0)
    assert "r1" in qwen.detail
    assert tco.throughput_from_runs(runs, "gemma-3-27b") is None


def test_chart_is_inline_svg_with_a_bar_per_row() -> None:
    result = tco.compare(
        VOLUME, apis=[GPT_4O], setups=[setup(always_on=True)], baseline=GPT_4O, today=TODAY
    )
    svg = tco.cost_chart_svg(result.rows, "USD", "ja")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in svg and "月額費用" in svg and "自前運用" in svg
    assert "USD 1,453.40" in svg and "USD 45.00 *" in svg  # the stale price is marked
    bars = [r for r in root.findall("{http://www.w3.org/2000/svg}rect") if r.get("y") != "26"]
    assert len([b for b in bars if b.get("fill", "").startswith("#")]) == 2


# -- the command ------------------------------------------------------------------------------
def cost(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int | str | None, str, str]:
    try:
        main(["cost", *args])
    except SystemExit as exc:
        out = capsys.readouterr()
        return exc.code, out.out, out.err
    out = capsys.readouterr()
    return 0, out.out, out.err


@pytest.fixture
def no_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("KOTAE_KB", raising=False)
    monkeypatch.delenv("KOTAE_PLANNING__MAX_PRICE_AGE_DAYS", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cost_json_shape(no_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cost(
        capsys, "--tokens-per-month", "10M,2M", "--gpu", "L40S", "--price-per-hour", "0.79",
        "--throughput", "500", "--prefill-throughput", "5000", "--always-on",
        "--engineering-per-month", "300", "--gpus", "2", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {
        "tokens_per_month", "currency", "usd_rate", "today", "max_price_age_days",
        "stale_prices", "rows", "self_hosting", "break_even",
    }  # fmt: skip
    assert data["tokens_per_month"] == {"input": 10_000_000, "output": 2_000_000}
    assert data["max_price_age_days"] == 180
    costs = [row["monthly_cost"] for row in data["rows"]]
    assert costs == sorted(costs)
    for row in data["rows"]:
        assert set(row) == {
            "kind", "option", "monthly_cost", "per_million_tokens", "source", "source_date",
            "stale", "details",
        }  # fmt: skip
        if row["kind"] != "self":
            today = date.fromisoformat(data["today"])
            assert row["stale"] == tco.is_stale(row["source_date"], today, 180)
    mine = [row for row in data["rows"] if row["kind"] == "self"]
    assert len(mine) == 1 and mine[0]["monthly_cost"] == pytest.approx(1_453.40)
    gpt = next(row for row in data["rows"] if row["option"] == "OpenAI gpt-4o")
    assert gpt["monthly_cost"] == pytest.approx(45.0)
    assert data["break_even"]["baseline"] == "OpenAI gpt-4o"
    assert data["break_even"]["tokens_per_month"] == pytest.approx(387_573_333.33, rel=1e-9)
    assert data["self_hosting"]["throughput"]["source"] == "parameter"
    kinds = {row["kind"] for row in data["rows"]}
    assert kinds == {"api", "hosted", "self"}


def test_cost_table_lists_rental_prices_and_the_break_even(
    no_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = no_kb / "cost.svg"
    code, out, err = cost(
        capsys, "--tokens-per-month", "10M,2M", "--gpu", "L40S", "--throughput", "800",
        "--model", "Llama-3.3-70B", "--always-on", "--chart", str(chart),
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split("\t") == [
        "option",
        "monthly cost",
        "per 1M tokens",
        "source date",
        "stale",
    ]
    assert any(line.startswith("self-hosted: 1x L40S · RunPod") for line in lines)
    assert any("hosted open model: Groq llama-3.3-70b-versatile" in line for line in lines)
    assert not any("qwen" in line.casefold() for line in lines[1:])  # --model filters hosted
    assert any(line.startswith("break-even against OpenAI gpt-4o:") for line in lines)
    assert any("throughput: 800 output tokens/s" in line for line in lines)
    assert ET.parse(chart).getroot().tag.endswith("svg")


def test_cost_in_another_currency_and_in_japanese(
    no_kb: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "ja")
    code, out, err = cost(
        capsys, "--tokens-per-month", "10M,2M", "--currency", "JPY", "--usd-rate", "150",
    )  # fmt: skip
    assert code == 0, err
    assert "商用 API: OpenAI gpt-4o\tJPY 6,750\t" in out  # 45 USD × 150
    assert "選択肢\t月額費用" in out and "自前運用は比較していません" in out


def test_max_price_age_comes_from_the_knowledge_base(
    no_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_dir = no_kb / "kb"
    init_kb(kb_dir).close()
    toml = kb_dir / "kotae.toml"
    toml.write_text(toml.read_text("utf-8") + "\n[planning]\nmax_price_age_days = 30\n", "utf-8")
    code, out, err = cost(capsys, "--tokens-per-month", "1M,1M", "--json", "--kb", str(kb_dir))
    assert code == 0, err
    assert json.loads(out)["max_price_age_days"] == 30
    toml.write_text(toml.read_text("utf-8") + "no_such_key = 1\n", "utf-8")
    code, out, err = cost(capsys, "--tokens-per-month", "1M,1M", "--kb", str(kb_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_cost_uses_the_measured_throughput_of_the_knowledge_base(
    no_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_dir = no_kb / "kb"
    init_kb(kb_dir).close()
    summary = RunSummary(
        "run1", "vllm", "faq", "2026-12-01T00:00:00+00:00", "running", 3,
        {"generator": {"backend": "openai", "model": "qwen2.5-7b-instruct"}},
    )  # fmt: skip
    with catalog_of(kb_dir) as catalog:
        catalog.create_eval_run(summary, "s", "c", ())
        summary.status = "done"
        summary.metrics = {"decode_tokens_per_s": MetricSummary(40.0, 38.0, 42.0, 3)}
        catalog.finish_eval_run("run1", "done", summary)
    code, out, err = cost(
        capsys, "--tokens-per-month", "1M,1M", "--gpu", "L40S", "--price-per-hour", "1",
        "--kb", str(kb_dir), "--json",
    )  # fmt: skip
    assert code == 0, err
    speed = json.loads(out)["self_hosting"]["throughput"]
    assert speed["source"] == "eval_run" and speed["decode"] == 40.0
    assert "run1" in speed["detail"]


@pytest.mark.parametrize(
    "args",
    [
        ["--tokens-per-month", "lots"],
        ["--tokens-per-month", "10M"],
        ["--tokens-per-month", ""],
        ["--tokens-per-month", "1M,1M", "--utilization", "0"],
        ["--tokens-per-month", "1M,1M", "--utilization", "1.5"],
        ["--tokens-per-month", "1M,1M", "--currency", "JPY"],
        ["--tokens-per-month", "1M,1M", "--price-per-hour", "1"],
        ["--tokens-per-month", "1M,1M", "--gpu", "TPU9", "--throughput", "100"],
        ["--tokens-per-month", "1M,1M", "--gpu", "L40S"],  # no throughput anywhere
        ["--tokens-per-month", "1M,1M", "--gpu", "2xL40S", "--gpus", "3", "--throughput", "9"],
        ["--tokens-per-month", "1M,1M", "--throughput", "0", "--gpu", "L40S"],
        ["--tokens-per-month", "1M,1M", "--engineering-fte", "0.5"],
        ["--tokens-per-month", "1M,1M", "--engineering-per-month", "1", "--engineering-fte", "1"],
        ["--tokens-per-month", "1M,1M", "--baseline", "gpt-99"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], no_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cost(capsys, *args)
    assert code == 2, (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert out == ""


def test_throughput_falls_back_to_the_sizing_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from kotae.planning import catalog
    from kotae.planning.gpus import find_gpu
    from kotae.planning.sizing import ModelShape, size_on_gpu

    shape = {
        "params_total_b": 8.03,
        "params_active_b": 8.03,
        "num_layers": 32,
        "num_attention_heads": 32,
        "num_kv_heads": 8,
        "head_dim": 128,
        "context_tokens": 131072,
    }
    facts = {
        k: catalog.Fact(v, "https://example.com/config.json", "2024-07-23")
        for k, v in shape.items()
    }
    entry = catalog.ModelEntry("example/Llama-8B", "llama", "example", facts=facts)
    monkeypatch.setattr(catalog, "load_catalog", lambda: catalog.ModelCatalog((entry,)))
    bound = size_on_gpu(ModelShape.from_entry(entry), find_gpu("L40S"))
    speed = tco.throughput_from_sizing("example/Llama-8B", "L40S", 2)
    assert speed is not None and speed.source == "sizing"
    # two GPUs each hold a copy of the 8B model: twice one copy's bound
    assert speed.decode == pytest.approx(2 * bound.decode_single.per_sequence_tokens_per_s)
    assert 30 < speed.decode / 2 < 60  # 864 GB/s over ~17 GB read per token
    assert tco.throughput_from_sizing("example/unknown", "L40S", 1) is None
    assert tco.throughput_from_sizing("example/Llama-8B", "TPU9", 1) is None
