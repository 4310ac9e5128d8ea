"""Evaluation keeps restricted text behind the ACL: ``eval run`` reads public documents
unless told otherwise and says which access it used; ``eval synth`` samples only readable
chunks and sends none to a generator outside this machine without ``--allow-external``.

The sample knowledge base (board minutes for ``executives`` only), real subprocesses;
the generator is the scripted fake, made "external" by giving it a remote ``base_url``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kotae.errors import ConfigError
from kotae.evaluation.datasets import read_eval_set
from kotae.evaluation.runner import load_config, run_eval
from kotae.evaluation.synth import external_destination, synthesize
from kotae.kb import Access, KnowledgeBase
from kotae.testing import FakeGenerator
from tests.conftest import catalog_of, write
from tests.evaluation.test_runner import EVAL_SET, copy_kb, sample_kb  # noqa: F401 (fixture)
from tests.test_cli import kotae

MINUTES = "役員会議事録_2026Q3.md"
SECRET = "1,998万円"  # the new price, in the board minutes only
BOARD_ITEM = "ja-sp200-price-revision"


def _board_result(kb: Path, run_id: str) -> Any:
    with catalog_of(kb) as store:
        return next(r for r in store.eval_results(run_id) if r.item_id == BOARD_ITEM)


def test_eval_run_reads_public_documents_by_default_and_everything_with_all(
    sample_kb: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    items = read_eval_set(EVAL_SET)
    public = run_eval(kb, items, "questions", load_config(kb, None))
    hidden = _board_result(kb, public.id)
    assert MINUTES not in hidden.retrieved and hidden.metrics["recall@5"] == 0.0
    assert SECRET not in json.dumps(hidden.to_dict(), ensure_ascii=False)
    assert public.config["access"] == {"groups": []}
    admin = run_eval(kb, items, "questions", load_config(kb, None), everything=True)
    assert admin.id != public.id  # the resume key holds the access: a run of its own
    assert admin.config["access"] == {"all": True}
    seen = _board_result(kb, admin.id)
    assert seen.retrieved[0] == MINUTES and SECRET in " ".join(seen.passages)
    with sqlite3.connect(kb / "kotae.db") as con:
        logged = con.execute(
            "SELECT access, COUNT(*) FROM query_log WHERE kind = 'eval' GROUP BY access"
        ).fetchall()
    assert sorted(logged) == [('{"all": true}', 14), ('{"groups": []}', 14)]
    with pytest.raises(ConfigError, match="only one of"):
        run_eval(kb, items, "q", load_config(kb, None), as_user="x", everything=True)


def test_eval_show_and_the_report_say_which_access_a_run_used(
    sample_kb: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    assert kotae("users", "add", "sato", "--groups", "executives", kb=kb).returncode == 0
    ids = []
    for flags in ((), ("--all",), ("--as", "sato")):
        out = kotae("eval", "run", "--set", str(EVAL_SET), *flags, kb=kb)
        assert out.returncode == 0, out.stderr
        ids.append(out.stdout.split()[0])
    shown = [kotae("eval", "show", run_id, kb=kb).stdout for run_id in ids]
    assert "access: public documents only" in shown[0]
    assert "access: every document (--all)" in shown[1]
    assert "access: as user sato" in shown[2]
    report = tmp_path / "report.html"
    assert kotae("eval", "report", *ids, "--out", str(report), kb=kb).returncode == 0
    html = report.read_text("utf-8")
    for label in ("公開資料のみ", "すべての資料（--all）", "ユーザー sato として"):
        assert f"閲覧範囲: {label}" in html
    both = kotae("eval", "run", "--set", str(EVAL_SET), "--all", "--as", "sato", kb=kb)
    assert both.returncode == 2 and "only one of" in both.stderr


class RemoteFake(FakeGenerator):
    """The scripted generator posing as an API on another machine."""

    def __init__(self, base_url: str, responses: tuple[str, ...] = ()) -> None:
        super().__init__(responses)
        self.base_url = base_url


class InProcess:
    name = "llamacpp:/models/x.gguf"


@pytest.mark.parametrize(
    ("base_url", "external"),
    [
        ("http://127.0.0.1:8000/v1", None),
        ("http://localhost:11434/v1", None),
        ("http://[::1]:8000/v1", None),
        ("https://api.openai.com/v1", "api.openai.com"),
        ("http://10.0.0.5:8000/v1", "10.0.0.5"),
        ("http://127.0.0.1.example.com/v1", "127.0.0.1.example.com"),
    ],
)
def test_which_generators_are_outside_this_machine(base_url: str, external: str | None) -> None:
    assert external_destination(RemoteFake(base_url)) == external
    assert external_destination(FakeGenerator()) is None
    assert external_destination(InProcess()) is None  # type: ignore[arg-type]


LONG = "この段落は抽出の対象になるだけの長さを持つ説明文であり、{marker} について詳しく述べる。" * 3


@pytest.fixture
def three_kinds(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    kb.ingest([write(tmp_path / "p" / "public.md", "# 公開\n\n" + LONG.format(marker="PUBX1"))])
    kb.ingest(
        [write(tmp_path / "h" / "hr.md", "# 人事\n\n" + LONG.format(marker="HRX22"))], groups=["hr"]
    )
    kb.ingest(
        [write(tmp_path / "e" / "exec.md", "# 役員\n\n" + LONG.format(marker="EXX33"))],
        groups=["exec"],
    )
    kb.catalog.set_user("alice", ["hr"])
    return kb


def _sent(generator: FakeGenerator) -> str:
    return " ".join(m.content for call in generator.calls for m in call)


def test_synth_samples_only_chunks_the_access_may_read(three_kinds: KnowledgeBase) -> None:
    kb = three_kinds
    cases = [
        (None, {"PUBX1"}),
        (kb.access_for(user="alice"), {"PUBX1", "HRX22"}),
        (Access.everything(), {"PUBX1", "HRX22", "EXX33"}),
    ]
    for access, readable in cases:
        generator = FakeGenerator(['{"question": "何について？", "answer": "説明文"}'])
        report = synthesize(kb, generator, 10, access=access)
        sent = _sent(generator)
        assert {m for m in ("PUBX1", "HRX22", "EXX33") if m in sent} == readable
        assert report.chunks_tried == len(readable)


def test_synth_refuses_an_external_generator_unless_allowed(three_kinds: KnowledgeBase) -> None:
    remote = RemoteFake("https://api.example.com/v1", ('{"question": "何？", "answer": "説明文"}',))
    with pytest.raises(ConfigError, match="--allow-external") as info:
        synthesize(three_kinds, remote, 3)
    assert "api.example.com" in str(info.value) and remote.calls == []  # nothing was sent
    report = synthesize(three_kinds, remote, 3, allow_external=True)
    assert remote.calls and report.chunks_tried == 1


def test_synth_cli_refuses_an_external_base_url_in_one_line(
    sample_kb: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    config = kb / "kotae.toml"
    config.write_text(
        config.read_text("utf-8")
        + '\n[generator]\nbackend = "openai"\nbase_url = "https://llm.example.com/v1"\n'
        'model = "gpt-4o"\n',
        "utf-8",
    )
    out = tmp_path / "set.jsonl"
    refused = kotae("eval", "synth", "--out", str(out), "-n", "2", kb=kb)
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "llm.example.com" in refused.stderr and "--allow-external" in refused.stderr
    assert not out.exists()
    both = kotae("eval", "synth", "--out", str(out), "--as", "a", "--all", kb=kb)
    assert both.returncode == 2 and "only one of" in both.stderr


def test_synth_cli_as_a_user_samples_their_chunks_only(
    sample_kb: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    kb = copy_kb(sample_kb, tmp_path / "kb")
    assert kotae("users", "add", "tanaka", kb=kb).returncode == 0
    config = kb / "kotae.toml"
    # the fake quotes the passage's first line: an "answer" always found in its chunk
    reply = json.dumps({"question": "この資料には何が書かれていますか？", "answer": "の"})
    config.write_text(
        config.read_text("utf-8")
        + f'\n[generator]\nbackend = "fake"\nresponses = [{json.dumps(reply)}]\n',
        "utf-8",
    )
    out = tmp_path / "set.jsonl"
    tried = {}
    for flags in (("--as", "tanaka"), ("--all",)):
        result = kotae("eval", "synth", "--out", str(out), "-n", "500", "--json", *flags, kb=kb)
        assert result.returncode == 0, result.stderr
        tried[flags[0]] = json.loads(result.stdout)["chunks_tried"]
    with sqlite3.connect(kb / "kotae.db") as con:
        long_chunks = (
            "FROM chunks c JOIN documents d ON d.id = c.document_id WHERE length(c.text) >= 80"
        )
        every = con.execute(f"SELECT COUNT(*) {long_chunks}").fetchone()[0]
        minutes = con.execute(
            f"SELECT COUNT(*) {long_chunks} AND d.source LIKE ?", (f"%{MINUTES}",)
        ).fetchone()[0]
    assert minutes > 0 and every < 500
    assert tried == {"--all": every, "--as": every - minutes}  # tanaka never gets the minutes
