"""The PoC end to end with real (tiny, random-weight) models: synth, two configurations, the
report in headless Chromium, the gate.

- synth with the llama.cpp server: the tiny model writes no usable question (random weights),
  so the test checks that the real path runs and that every chunk is dropped with a reason;
- `eval run` with two configurations over the bundled eval set: the transformers backend
  in-process and the llama.cpp server through the openai backend, the server also as the
  judge (its replies are never a verdict: every judge score is a counted failure);
- the report of both runs opens in Chromium and its screenshot is not blank;
- the gate passes a run against a rerun of itself, and fails a degraded copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES, write
from tests.integration.conftest import MODEL_ALIAS
from tests.test_cli import kotae

pytestmark = pytest.mark.integration

EVAL_SET = REPO / "samples" / "eval" / "questions.jsonl"


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if os.environ.get("KOTAE_REQUIRE_INTEGRATION") and not os.environ.get("KOTAE_NO_BROWSER"):
        pytest.fail("chromium is required by make test-integration")
    return None


@pytest.fixture(scope="module")
def poc_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kb = tmp_path_factory.mktemp("poc") / "kb"
    assert kotae("init", str(kb), "--use-case", "knowledge-search").returncode == 0
    files = [str(p) for p in sorted(SAMPLES.iterdir()) if p.is_file()]
    assert kotae("ingest", *files, kb=kb).returncode == 0
    confidential = str(SAMPLES / "confidential")
    assert kotae("ingest", confidential, "--acl", "executives", kb=kb).returncode == 0
    return kb


def test_poc_with_tiny_models(
    poc_kb: Path, llama_server: str, tiny_gguf: Path, tmp_path: Path
) -> None:
    server = (
        f'backend = "openai"\nbase_url = "{llama_server}"\nmodel = "{MODEL_ALIAS}"\n'
        "context_window = 1024\n"
    )
    # the random models are asked whatever the evidence (no threshold): the pipeline is tested
    env = {"KOTAE_ANSWER__MAX_TOKENS": "24", "KOTAE_ANSWER__EVIDENCE_THRESHOLD": "0"}
    # synth: the real model's replies hold no JSON question: all dropped, with the reason
    synth_kb = tmp_path / "synth-kb"
    shutil.copytree(poc_kb, synth_kb)
    config = synth_kb / "kotae.toml"
    config.write_text(config.read_text("utf-8") + f"\n[generator]\n{server}", "utf-8")
    synth = kotae(
        "eval",
        "synth",
        "--out",
        str(tmp_path / "s.jsonl"),
        "-n",
        "3",
        "--json",
        kb=synth_kb,
        env=env,
    )
    summary = json.loads(synth.stdout)
    assert synth.returncode == 1 and summary["kept"] == 0
    assert sum(summary["dropped"].values()) == summary["chunks_tried"] == 6

    hf = write(
        tmp_path / "hf.toml",
        f'[eval]\nname = "tiny-transformers"\n[generator]\nbackend = "transformers"\n'
        f'model_path = "{tiny_gguf.parent / "hf"}"\n',
    )
    llama = write(
        tmp_path / "llama.toml",
        f'[eval]\nname = "tiny-llamacpp"\nconcurrency = 2\n'
        f'[eval.price]\ncurrency = "JPY"\ngpu_hour = 600\ngpus = 1\n'
        f"[generator]\n{server}[judge]\n{server}",
    )
    report = tmp_path / "report.html"
    run = kotae(
        "eval",
        "run",
        "--all",  # the samples' board minutes are for executives: the PoC reads everything
        "--set",
        str(EVAL_SET),
        "--config",
        str(hf),
        "--config",
        str(llama),
        "--report",
        str(report),
        "--json",
        str(tmp_path / "runs.json"),
        kb=poc_kb,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    runs = json.loads((tmp_path / "runs.json").read_text("utf-8"))["runs"]
    assert [r["name"] for r in runs] == ["tiny-transformers", "tiny-llamacpp"]
    for r in runs:
        assert r["status"] == "done" and r["metrics"]["recall@5"]["mean"] == 1.0
        assert r["metrics"]["char_f1"]["n"] > 0 and r["metrics"]["total_ms"]["n"] == 14
    judged = runs[1]["metrics"]
    # With the one-shot answer prompt, a few of the 14 prompts overflow the 1024-token window
    # of the tiny byte-level tokenizer: kotae packs by its own estimate (no [generator]
    # tokenizer is configured), and llama.cpp's server then ends the stream silently, which
    # kotae reports as a BackendError naming that cause. 3 here, 4 on CI's CPU (the
    # tokenizer is trained in the test). Every question that was answered has a judge
    # failure, never a score.
    answered = round(judged["success"]["mean"] * judged["success"]["n"])
    shown = kotae("eval", "show", runs[1]["id"], "--json", kb=poc_kb, env=env)
    errors = [r["error"] for r in json.loads(shown.stdout)["results"] if r.get("error")]
    assert all(e.startswith("BackendError") and "stopped streaming" in e for e in errors), errors
    assert 1 <= len(errors) <= 5 and answered == 14 - len(errors), errors
    assert judged["correctness"]["n"] == 0 and judged["correctness"]["failures"] == answered
    assert judged["correctness"]["mean"] is None  # never scored as 0 or 1
    assert runs[1]["cost_per_1000"] > 0 and runs[1]["currency"] == "JPY"
    # streamed in-process, the first token is timed (the server's stream of this random
    # model may carry no text at all: its stray bytes are dropped)
    assert runs[0]["metrics"]["ttft_ms"]["n"] == 14
    assert all("tokens_per_s" in r["metrics"] for r in runs)

    html = report.read_text("utf-8")
    assert "tiny-transformers" in html and "tiny-llamacpp" in html and html.count("<svg") >= 2
    browser = chromium()
    if browser is not None:
        png = tmp_path / "report.png"
        subprocess.run(
            [
                browser,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--screenshot={png}",
                "--window-size=1280,2000",
                report.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
        from PIL import Image

        with Image.open(png) as image:
            assert image.size == (1280, 2000)
            colours = image.convert("RGB").resize((128, 200)).getcolors(maxcolors=1 << 16)
        assert colours is not None and len(colours) > 20  # a table and charts, not a blank page

    # the gate: a rerun of the same configuration passes; a degraded copy fails
    rerun = kotae(
        "eval",
        "run",
        "--all",
        "--set",
        str(EVAL_SET),
        "--config",
        str(hf),
        "--new",
        kb=poc_kb,
        env=env,
    )
    assert rerun.returncode == 0, rerun.stderr
    first, second = runs[0]["id"], rerun.stdout.split()[0]
    same = kotae("eval", "gate", "--baseline", first, "--candidate", second, kb=poc_kb)
    assert same.returncode == 0, same.stdout
    with sqlite3.connect(poc_kb / "kotae.db") as con:
        rows = con.execute(
            "SELECT item_id, result FROM eval_results WHERE run_id = ?", (second,)
        ).fetchall()
        for item_id, blob in rows[:10]:
            data = json.loads(blob)
            data["metrics"]["recall@5"] = 0.0
            con.execute(
                "UPDATE eval_results SET result = ? WHERE run_id = ? AND item_id = ?",
                (json.dumps(data), second, item_id),
            )
    worse = kotae("eval", "gate", "--baseline", first, "--candidate", second, kb=poc_kb)
    assert worse.returncode == 1 and "FAIL" in worse.stdout
