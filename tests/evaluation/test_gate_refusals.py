"""``kotae eval gate`` refuses runs it cannot compare honestly: exit 1, one line each.

Runs are made for real (``run_eval`` over a knowledge base of a tiny corpus), then gated
through the CLI in a subprocess, as CI runs it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kotae.evaluation.datasets import import_dataset, ingest_corpus
from kotae.evaluation.model import EvalItem
from kotae.evaluation.runner import load_config, run_eval
from kotae.kb import init_kb, open_kb
from tests.test_cli import kotae
from tests.test_rerank_metrics import make_dataset


@pytest.fixture
def kb_and_items(tmp_path: Path) -> tuple[Path, list[EvalItem]]:
    folder = make_dataset(tmp_path / "tiny")
    kb_path = tmp_path / "kb"
    with init_kb(kb_path) as kb:
        ingest_corpus(kb, folder)
    return kb_path, import_dataset(folder).items


def run(kb: Path, items: list[EvalItem]) -> str:
    return run_eval(kb, items, "tiny", load_config(kb, None), new=True).id


def gate(
    kb: Path, baseline: str, candidate: str, *extra: str
) -> tuple[int, str, dict[str, object]]:
    """(exit code, the table's output, the JSON report) of ``kotae eval gate``."""
    args = ("eval", "gate", "--baseline", baseline, "--candidate", candidate, *extra)
    shown = kotae(*args, kb=kb)
    as_json = kotae(*args, "--json", kb=kb)
    assert shown.returncode == as_json.returncode, shown.stderr + as_json.stderr
    return shown.returncode, shown.stdout, json.loads(as_json.stdout)


def test_equal_complete_runs_of_one_set_pass(kb_and_items: tuple[Path, list[EvalItem]]) -> None:
    kb, items = kb_and_items
    code, out, report = gate(kb, run(kb, items), run(kb, items))
    assert code == 0 and "gate: PASS" in out
    assert report["passed"] is True and report["refusals"] == []


def test_a_gated_metric_missing_from_the_candidate_fails_the_gate(
    kb_and_items: tuple[Path, list[EvalItem]],
) -> None:
    kb, items = kb_and_items
    baseline, candidate = run(kb, items), run(kb, items)
    # the candidate stopped producing mrr (as a judge that fails on every question would)
    with sqlite3.connect(kb / "kotae.db") as con:
        rows = con.execute(
            "SELECT item_id, result FROM eval_results WHERE run_id = ?", (candidate,)
        ).fetchall()
        for item_id, blob in rows:
            data = json.loads(blob)
            del data["metrics"]["mrr"]
            con.execute(
                "UPDATE eval_results SET result = ? WHERE run_id = ? AND item_id = ?",
                (json.dumps(data), candidate, item_id),
            )
    expected = (
        f"metric mrr is missing from the candidate {candidate}: none of its questions has a "
        "value for it"
    )
    code, out, report = gate(kb, baseline, candidate)
    assert code == 1
    assert f"gate: FAIL: {expected}" in " ".join(out.split())  # the terminal may wrap it
    assert report["passed"] is False and report["refusals"] == [expected]
    # named with --metric, a metric neither run has is missing too
    code, _, report = gate(kb, baseline, baseline, "--metric", "correctness")
    assert code == 1 and report["refusals"] == [
        f"metric correctness is missing from the candidate {baseline}: none of its questions "
        "has a value for it"
    ]


def test_runs_over_different_question_sets_fail_the_gate(
    kb_and_items: tuple[Path, list[EvalItem]],
) -> None:
    kb, items = kb_and_items
    baseline, candidate = run(kb, items), run(kb, items[:-1])  # one question fewer
    code, out, report = gate(kb, baseline, candidate)
    expected = (
        f"different question sets: the baseline {baseline} ran 'tiny' (12 questions), the "
        f"candidate {candidate} ran 'tiny' (11 questions); gate two runs of the same eval set"
    )
    assert code == 1 and "gate: FAIL: different question sets" in out
    assert report["passed"] is False and report["refusals"] == [expected]
    # the same number of questions, one of them reworded: still another set
    reworded = [*items[:-1], EvalItem(items[-1].id, "office policy?", items[-1].answers)]
    code, _, report = gate(kb, baseline, run(kb, reworded))
    assert code == 1 and str(report["refusals"]).count("different question sets") == 1


def test_an_interrupted_run_fails_the_gate(kb_and_items: tuple[Path, list[EvalItem]]) -> None:
    kb, items = kb_and_items
    baseline = run(kb, items)

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt  # Ctrl-C after three questions were saved

    config = load_config(kb, None)
    with pytest.raises(KeyboardInterrupt):
        run_eval(kb, items, "tiny", config, new=True, progress=stop_after_three)
    with open_kb(kb) as base:
        con = base.catalog.con
        candidate = con.execute("SELECT id FROM eval_runs WHERE status = 'interrupted'").fetchone()[
            0
        ]
        assert base.catalog.eval_run(candidate).status == "interrupted"
    code, out, report = gate(kb, baseline, candidate)
    expected = (
        f"the candidate {candidate} is incomplete (status interrupted, 3 of 12 questions): run "
        "the same `kotae eval run` command again to finish it"
    )
    assert code == 1 and "gate: FAIL: the candidate" in out
    assert report["passed"] is False and report["refusals"] == [expected]
    # as the baseline, it is refused the same way
    _, _, report = gate(kb, candidate, baseline)
    assert report["refusals"] == [expected.replace("the candidate", "the baseline")]
