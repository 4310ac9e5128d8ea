"""Issue 9, items 1-2: the documented command lines work (one --kb everywhere, docs by
path, atomic removal, bench depth) and wrong input leaves nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kotae.cli.main import main
from kotae.kb import init_kb, open_kb
from tests.conftest import catalog_of, write
from tests.test_rerank_metrics import jsonl


@pytest.fixture(autouse=True)
def _no_env_kb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KOTAE_KB", raising=False)
    monkeypatch.chdir(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out = capsys.readouterr()
    code = exc.value.code
    return code if isinstance(code, int) else 0, out.out, out.err


def one_line_error(code: int, err: str) -> bool:
    return code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def faq_kb(root: Path) -> tuple[Path, Path, Path]:
    """A knowledge base with a Markdown file and a JSONL file of three records."""
    md = write(root / "docs" / "規程.md", "# 経費精算\n\n経費の申請期限は翌月10日までです。")
    rows = [{"id": f"q{i}", "title": f"FAQ {i}", "text": f"質問{i}の答えです。"} for i in range(3)]
    faq = write(root / "docs" / "faq.jsonl", jsonl(rows))
    with init_kb(root / "kb") as base:
        base.ingest([md, faq])
        assert len(base.documents()) == 4
    return root / "kb", md, faq


def sources(kb: Path) -> list[str]:
    with open_kb(kb) as base:
        return sorted(Path(d.source).name for d in base.documents())


# -- one --kb --------------------------------------------------------------------------
def test_kb_before_the_command_works_for_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "kb"
    code, _, err = cli(capsys, "--kb", str(kb), "init")
    assert code == 0, err
    assert (kb / "kotae.db").is_file() and not (tmp_path / "kotae.db").exists()
    code, out, err = cli(capsys, "--kb", str(kb), "status", "--json")
    assert code == 0, err
    assert json.loads(out)["path"] == str(kb)
    # the same directory given twice is fine; two different ones are refused
    assert cli(capsys, "--kb", str(kb), "status", "--kb", str(kb))[0] == 0
    assert cli(capsys, "--kb", "kb", "status", "--kb", "./kb")[0] == 0  # cwd is tmp_path
    assert one_line_error(*cli(capsys, "--kb", str(kb), "status", "--kb", "other")[::2])
    assert one_line_error(*cli(capsys, "init", str(tmp_path / "a"), "--kb", str(kb))[::2])
    assert not (tmp_path / "a").exists()


def test_init_takes_dir_then_kb_then_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "init", "--kb", "by-option")[0] == 0
    assert (tmp_path / "by-option" / "kotae.toml").is_file()
    monkeypatch.setenv("KOTAE_KB", str(tmp_path / "by-env"))
    assert cli(capsys, "init")[0] == 0
    assert (tmp_path / "by-env" / "kotae.db").is_file()
    assert cli(capsys, "--kb", "by-global", "init")[0] == 0
    assert (tmp_path / "by-global" / "kotae.db").is_file()
    assert cli(capsys, "init", "by-arg")[0] == 0
    assert (tmp_path / "by-arg" / "kotae.db").is_file()


# -- init never leaves half a knowledge base -------------------------------------------
def test_init_on_a_file_or_under_one_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "somefile", "data\n")
    for target in (file, file / "kb"):
        assert one_line_error(*cli(capsys, "init", str(target))[::2])
        assert one_line_error(*cli(capsys, "--kb", str(target), "init")[::2])
    assert file.read_text() == "data\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefile"]


def test_a_failed_init_removes_what_it_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "existing"
    (existing / "kotae.db").mkdir(parents=True)  # the catalog cannot be created
    code, _, err = cli(capsys, "init", str(existing))
    assert one_line_error(code, err), err
    assert sorted(p.name for p in existing.iterdir()) == ["kotae.db"]


# -- eval run checks its output paths first --------------------------------------------
@pytest.mark.parametrize("option", ["--json", "--report"])
def test_eval_run_into_a_missing_folder_stores_no_run(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, _, _ = faq_kb(tmp_path)
    questions = [{"id": "a", "question": "経費の申請期限は？", "answers": ["翌月10日"]}]
    eval_set = write(tmp_path / "set.jsonl", jsonl(questions))
    target = str(tmp_path / "missing" / "out.json")
    code, _, err = cli(
        capsys, "eval", "run", "--set", str(eval_set), option, target, "--kb", str(kb)
    )
    assert one_line_error(code, err), err
    assert "missing" in err
    with catalog_of(kb) as catalog:
        assert catalog.eval_runs() == []
    assert not (tmp_path / "missing").exists()


# -- docs by path, atomic removal ------------------------------------------------------
def test_docs_remove_by_path_removes_every_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, _, faq = faq_kb(tmp_path)
    code, out, err = cli(capsys, "docs", "remove", f"{faq}#q1", "--kb", str(kb))
    assert code == 0, err
    assert sources(kb) == ["faq.jsonl#q0", "faq.jsonl#q2", "規程.md"]
    code, out, err = cli(capsys, "docs", "remove", str(faq), "--kb", str(kb))
    assert code == 0, err
    assert "removed 2" in out
    assert sources(kb) == ["規程.md"]


def test_docs_remove_by_folder_removes_everything_under_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, md, _ = faq_kb(tmp_path)
    assert cli(capsys, "docs", "remove", str(md.parent), "--kb", str(kb))[0] == 0
    assert sources(kb) == []


@pytest.mark.parametrize("bad", ["999", "no-such-file.md"])
def test_a_batch_with_one_missing_target_removes_nothing(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, md, _ = faq_kb(tmp_path)
    with open_kb(kb) as base:
        first = min(d.id for d in base.documents())
    before = sources(kb)
    code, _, err = cli(capsys, "docs", "remove", str(first), str(md), bad, "--kb", str(kb))
    assert one_line_error(code, err), err
    assert sources(kb) == before


def test_remove_documents_all_or_nothing(tmp_path: Path) -> None:
    kb, _, _ = faq_kb(tmp_path)
    from kotae.errors import QueryError

    with open_kb(kb) as base:
        ids = [d.id for d in base.documents()]
        with pytest.raises(QueryError):
            base.remove_documents([ids[0], 10_000], all_or_nothing=True)
        assert len(base.documents()) == 4
        assert base.remove_documents([ids[0], 10_000]) == 1  # the lenient form is kept


def test_docs_show_takes_an_id_or_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, md, faq = faq_kb(tmp_path)
    by_path = cli(capsys, "docs", "show", str(md), "--json", "--kb", str(kb))
    assert by_path[0] == 0, by_path[2]
    doc = json.loads(by_path[1])
    assert doc["title"] == "経費精算"
    by_id = cli(capsys, "docs", "show", str(doc["id"]), "--json", "--kb", str(kb))
    assert json.loads(by_id[1]) == doc
    record = cli(capsys, "docs", "show", f"{faq}#q2", "--json", "--kb", str(kb))
    assert json.loads(record[1])["title"] == "FAQ 2"
    # a file of several records names no single document: one line says which ids
    code, _, err = cli(capsys, "docs", "show", str(faq), "--kb", str(kb))
    assert one_line_error(code, err) and "3 documents" in err


# -- bench retrieval -k ----------------------------------------------------------------
def test_bench_retrieval_k_sets_the_ranking_depth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "set"
    corpus = [
        {"id": f"d{i}", "title": f"経費 {i}", "text": f"経費の規程その{i}。"} for i in range(5)
    ]
    write(folder / "corpus.jsonl", jsonl(corpus))
    write(folder / "queries.jsonl", jsonl([{"id": "q0", "text": "経費"}]))
    qrels = "".join(f"q0\td{i}\t1\n" for i in range(5))
    write(folder / "qrels.tsv", "query-id\tcorpus-id\tscore\n" + qrels)
    results = {}
    for k in ("1", "5"):
        out = tmp_path / f"k{k}.json"
        code, _, err = cli(capsys, "bench", "retrieval", str(folder), "-k", k, "--json", str(out))
        assert code == 0, err
        results[k] = json.loads(out.read_text())
        assert results[k]["k"] == int(k)
    assert results["5"]["metrics"]["recall@5"] == 1.0
    assert results["1"]["metrics"]["recall@5"] == pytest.approx(0.2)
