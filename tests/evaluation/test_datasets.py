"""Eval sets on disk, dataset import, corpus ingestion and the document-key rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from kotae.bench import load_dataset
from kotae.errors import DatasetError
from kotae.evaluation.datasets import (
    ImportedSet,
    document_key,
    import_dataset,
    ingest_corpus,
    matches_source,
    read_eval_set,
    write_eval_set,
)
from kotae.evaluation.model import EvalItem
from kotae.kb import KnowledgeBase, init_kb
from tests.conftest import SHARED, write

GOOD = '{"id": "q1", "question": "経費の申請期限は？"}'


def jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


# -- reading eval sets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "q2", "question": "x"', "not JSON (Expecting ',' delimiter at column 29)"),
        ('["q2", "x"]', "expected a JSON object {...}, got a list"),
        ('"q2"', "expected a JSON object {...}, got a string"),
        ('{"question": "x"}', 'missing "id"'),
        ('{"id": "q2"}', 'missing "question"'),
        (
            '{"id": "q2", "text": "x"}',
            'unknown key "text"; did you mean "question" instead of "text"? '
            "(allowed: id, question, answers, sources, tags, language, source_chunk, unanswerable)",
        ),
        (
            '{"id": "q2", "query": "x", "answer": ["y"]}',
            'unknown keys "query", "answer"; did you mean "question" instead of "query"?; '
            'did you mean "answers" instead of "answer"? '
            "(allowed: id, question, answers, sources, tags, language, source_chunk, unanswerable)",
        ),
        (
            '{"id": "q2", "question": "x", "foo": 1}',
            'unknown key "foo" '
            "(allowed: id, question, answers, sources, tags, language, source_chunk, unanswerable)",
        ),
        ('{"id": 3, "question": "x"}', '"id" must be a string, got a number (write "3")'),
        ('{"id": null, "question": "x"}', '"id" must be a string, got null'),
        ('{"id": " ", "question": "x"}', '"id" is empty'),
        ('{"id": "q2", "question": ["x"]}', '"question" must be a string, got a list'),
        ('{"id": "q2", "question": "  "}', '"question" is empty'),
        (
            '{"id": "q2", "question": "x", "answers": "翌月10日"}',
            '"answers" must be a list of strings, got a string (write ["翌月10日"])',
        ),
        (
            '{"id": "q2", "question": "x", "answers": ["a", 10]}',
            '"answers"[1] must be a string, got a number',
        ),
        ('{"id": "q2", "question": "x", "sources": [""]}', '"sources"[0] is empty'),
        (
            '{"id": "q2", "question": "x", "tags": null}',
            '"tags" must be a list of strings, got null',
        ),
        (
            '{"id": "q2", "question": "x", "tags": {"a": 1}}',
            '"tags" must be a list of strings, got an object',
        ),
        (
            '{"id": "q2", "question": "x", "language": "jp"}',
            '"language" must be "ja" or "en", got "jp"',
        ),
        (
            '{"id": "q2", "question": "x", "source_chunk": "3"}',
            '"source_chunk" must be an integer, got a string',
        ),
        (
            '{"id": "q2", "question": "x", "source_chunk": true}',
            '"source_chunk" must be an integer, got true/false',
        ),
        ('{"id": "q1", "question": "x"}', 'duplicate id "q1" (already on line 1)'),
    ],
)
def test_each_malformed_line_is_named_with_its_line_number(
    tmp_path: Path, line: str, message: str
) -> None:
    # line 2 is blank and still counts: the bad line is line 3
    path = write(tmp_path / "set.jsonl", f"{GOOD}\n\n{line}\n{GOOD.replace('q1', 'q9')}\n")
    with pytest.raises(DatasetError) as caught:
        read_eval_set(path)
    assert str(caught.value) == f"{path}:3: {message}"


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(GOOD.encode() + b"\n" + '{"id": "q2", "question": "経費"}'.encode("cp932"))
    with pytest.raises(DatasetError) as caught:
        read_eval_set(path)
    assert str(caught.value) == f"{path}:2: not UTF-8 text (save the file as UTF-8)"


def test_bom_crlf_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    text = f'{GOOD}\r\n\r\n   \r\n{{"id": "q2", "question": "What?", "language": null}}\r\n'
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert read_eval_set(path) == [
        EvalItem("q1", "経費の申請期限は？"),
        EvalItem("q2", "What?"),
    ]


def test_an_empty_or_missing_set_is_an_error(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.jsonl", "\n\n")
    with pytest.raises(DatasetError, match=r"empty\.jsonl: no questions \(the eval set is empty\)"):
        read_eval_set(empty)
    with pytest.raises(DatasetError, match=r"none\.jsonl: no such file$"):
        read_eval_set(tmp_path / "none.jsonl")


# -- writing eval sets -----------------------------------------------------------------

ITEMS = [
    EvalItem(
        id="q1",
        question="経費の申請期限は？",
        answers=("翌月10日", "翌月10日まで"),
        sources=("経費精算規程.md",),
        tags=("経費", "規程"),
        language="ja",
    ),
    EvalItem(id="q2", question="Who approves travel?", source_chunk=42),
    EvalItem(id="q3", question='He said "hi"\nthen left', sources=("corpus.jsonl#d1", "d2")),
]


def test_write_then_read_gives_the_same_items(tmp_path: Path) -> None:
    path = tmp_path / "sets" / "mine.jsonl"
    write_eval_set(ITEMS, path)
    assert read_eval_set(path) == ITEMS
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0]) == {
        "id": "q1",
        "question": "経費の申請期限は？",
        "answers": ["翌月10日", "翌月10日まで"],
        "sources": ["経費精算規程.md"],
        "tags": ["経費", "規程"],
        "language": "ja",
    }
    assert "経費の申請期限は？" in lines[0]  # Japanese written as is, not \u escapes
    assert os.listdir(path.parent) == ["mine.jsonl"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_set_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    write_eval_set(ITEMS[:1], path)
    before = path.read_bytes()

    def broken() -> Iterator[EvalItem]:
        yield ITEMS[1]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_eval_set(broken(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["mine.jsonl"]


# -- importing datasets ----------------------------------------------------------------

QA_CORPUS: list[dict[str, Any]] = [
    {"id": "d1", "title": "経費", "text": "経費の申請期限は翌月10日です。"},
    {"id": "d2", "title": "VPN", "text": "VPNにはワンタイムパスワードが必要です。"},
    {"id": "d3", "title": "API", "text": "The API allows 600 requests per minute."},
]
QA_QUERIES: list[dict[str, Any]] = [
    {"id": "q1", "text": "経費の申請期限は？", "answers": ["翌月10日"]},
    {"id": "q2", "text": "How many requests does the API allow?"},
    {"id": "q3", "text": "VPNに必要なものは？", "answers": ["ワンタイムパスワード", "OTP"]},
    {"id": "q4", "text": "社員食堂の場所は？"},
]
QA_QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t2\nq2\td1\t0\nq2\td3\t1\nq9\td2\t1\n"


def qa_folder(folder: Path) -> Path:
    write(folder / "corpus.jsonl", jsonl(QA_CORPUS))
    write(folder / "queries.jsonl", jsonl(QA_QUERIES))
    write(folder / "qrels.tsv", QA_QRELS)
    return folder


def test_the_shared_qa_layout_becomes_eval_items(tmp_path: Path) -> None:
    imported = import_dataset(qa_folder(tmp_path / "tinyqa"))
    # q3 has answers but no qrel: kept; q4 has neither: skipped; q9's qrel has no query;
    # q2's score-0 qrel is not a source and its repeated d3 is listed once
    assert imported == ImportedSet(
        name="tinyqa",
        items=[
            EvalItem("q1", "経費の申請期限は？", ("翌月10日",), ("d1",), ("tinyqa",), "ja"),
            EvalItem("q2", "How many requests does the API allow?", (), ("d3",), ("tinyqa",), "en"),
            EvalItem(
                "q3", "VPNに必要なものは？", ("ワンタイムパスワード", "OTP"), (), ("tinyqa",), "ja"
            ),
        ],
        skipped=1,
    )


def test_the_beir_layout_becomes_eval_items(tmp_path: Path) -> None:
    folder = tmp_path / "scifact-mini"
    corpus: list[dict[str, Any]] = [
        {"_id": "101", "title": "Vitamin D", "text": "Vitamin D lowers risk.", "metadata": {}},
        {"_id": "102", "title": "Sleep", "text": "Sleep helps memory.", "metadata": {}},
    ]
    write(folder / "corpus.jsonl", jsonl(corpus))
    queries: list[dict[str, Any]] = [
        {"_id": "1", "text": "Vitamin D reduces risk.", "metadata": {}},
        {"_id": "2", "text": "Sleep improves memory.", "metadata": {}},
        {"_id": 3, "text": "Coffee causes cancer.", "metadata": {}},
    ]
    write(folder / "queries.jsonl", jsonl(queries))
    write(folder / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n2\t102\t1\n1\t101\t1\n")
    imported = import_dataset(folder)
    assert imported.items == [
        EvalItem("1", "Vitamin D reduces risk.", (), ("101",), ("scifact-mini",), "en"),
        EvalItem("2", "Sleep improves memory.", (), ("102",), ("scifact-mini",), "en"),
    ]
    assert imported.skipped == 1


def test_a_folder_of_neither_layout_is_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "half" / "queries.jsonl", jsonl(QA_QUERIES)).parent
    with pytest.raises(DatasetError) as caught:
        import_dataset(folder)
    assert str(caught.value) == (
        f"{folder}: not a dataset folder, missing corpus.jsonl, qrels.tsv (or qrels/test.tsv) "
        "(expected the QA layout corpus.jsonl + queries.jsonl + qrels.tsv, or BEIR with "
        "qrels/test.tsv)"
    )
    with pytest.raises(DatasetError, match=r"nowhere: not a folder$"):
        import_dataset(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("queries.jsonl", '{"id": "q1", "text": "a"}\n{"id": "q2"}\n', '"text" must be'),
        ("queries.jsonl", '{"id": "q1", "text": "a"}\n\n{"text": "b"}\n', 'missing "id"'),
        (
            "queries.jsonl",
            '{"id": "q1", "text": "a"}\n{"id": "q1", "text": "b"}\n',
            'duplicate query id "q1" (already on line 1)',
        ),
        (
            "queries.jsonl",
            '{"id": "q1", "text": "a", "answers": "x"}\n',
            '"answers" must be a list of strings',
        ),
        ("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1 d1 1\n", "separated by tabs"),
        ("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\thigh\n", "an integer score"),
    ],
)
def test_malformed_dataset_lines_are_named(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    folder = qa_folder(tmp_path / "bad")
    path = write(folder / name, text)
    with pytest.raises(DatasetError) as caught:
        import_dataset(folder)
    bad_line = len(text.rstrip("\n").split("\n"))
    assert str(caught.value).startswith(f"{path}:{bad_line}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(("name", "language"), [("jsquad", "ja"), ("squad", "en")])
def test_a_slice_of_a_shared_dataset_imports(tmp_path: Path, name: str, language: str) -> None:
    source = SHARED / "bench" / name
    if not source.is_dir():
        pytest.skip(f"{source} is absent")
    folder = tmp_path / name
    folder.mkdir()
    raw = (source / "queries.jsonl").read_text("utf-8").splitlines()[:50]
    (folder / "queries.jsonl").write_text("\n".join(raw) + "\n", "utf-8")
    (folder / "qrels.tsv").symlink_to(source / "qrels.tsv")
    (folder / "corpus.jsonl").symlink_to(source / "corpus.jsonl")
    imported = import_dataset(folder)
    queries = [json.loads(line) for line in raw]
    assert imported.skipped == 0
    assert [item.id for item in imported.items] == [q["id"] for q in queries]
    assert [item.question for item in imported.items] == [q["text"] for q in queries]
    assert [list(item.answers) for item in imported.items] == [q["answers"] for q in queries]
    qrels = load_dataset(folder).qrels  # the benchmark's own reading of the same files
    assert [set(item.sources) for item in imported.items] == [
        {doc for doc, score in qrels[q["id"]].items() if score > 0} for q in queries
    ]
    assert {item.language for item in imported.items} == {language}
    assert {item.tags for item in imported.items} == {(name,)}


# -- ingesting a corpus and naming documents -------------------------------------------


def test_the_corpus_is_ingested_one_document_per_line_keyed_by_its_ids(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    folder = qa_folder(tmp_path / "tinyqa")
    report = ingest_corpus(kb, folder)
    assert (report.added, report.failures) == (3, [])
    corpus = (folder / "corpus.jsonl").resolve()
    docs = kb.documents()
    assert [(d.source, d.title, d.metadata) for d in docs] == [
        (f"{corpus}#d1", "経費", {"id": "d1"}),
        (f"{corpus}#d2", "VPN", {"id": "d2"}),
        (f"{corpus}#d3", "API", {"id": "d3"}),
    ]
    assert [document_key(d) for d in docs] == ["d1", "d2", "d3"]
    again = ingest_corpus(kb, folder)
    assert (again.added, again.unchanged) == (0, 3)
    # `kotae ingest corpus.jsonl` names the records the same way: nothing new
    same = kb.ingest([folder / "corpus.jsonl"])
    assert (same.added, same.updated, same.unchanged) == (0, 0, 3)


def test_a_malformed_corpus_writes_nothing(tmp_path: Path, kb: KnowledgeBase) -> None:
    folder = qa_folder(tmp_path / "tinyqa")
    path = write(folder / "corpus.jsonl", jsonl([*QA_CORPUS, QA_CORPUS[0]]))
    with pytest.raises(DatasetError) as caught:
        ingest_corpus(kb, folder)
    assert str(caught.value) == f'{path}:4: duplicate corpus id "d1" (already on line 1)'
    write(folder / "corpus.jsonl", jsonl(QA_CORPUS) + '{"id": "d4", "text": 5}\n')
    with pytest.raises(DatasetError, match=r'corpus\.jsonl:4: "text" must be a string$'):
        ingest_corpus(kb, folder)
    assert kb.documents() == []
    with pytest.raises(DatasetError, match=r"no corpus\.jsonl to ingest$"):
        ingest_corpus(kb, tmp_path)


def test_which_references_name_which_documents(tmp_path: Path, kb: KnowledgeBase) -> None:
    docs = tmp_path / "docs"
    write(docs / "規程" / "経費精算規程.md", "# 経費精算\n\n申請期限は翌月10日です。")
    write(docs / "other" / "経費精算規程.md", "# 旧規程\n\n申請期限は月末です。")
    kb.ingest([docs])
    ingest_corpus(kb, qa_folder(tmp_path / "tinyqa"))
    rows = {document_key(d): d for d in kb.documents()}
    main = rows[str((docs / "規程" / "経費精算規程.md").resolve())]
    old = rows[str((docs / "other" / "経費精算規程.md").resolve())]
    record = rows["d1"]

    assert matches_source(main, main.source)
    assert matches_source(main, "経費精算規程.md") and matches_source(old, "経費精算規程.md")
    assert matches_source(main, "規程/経費精算規程.md")
    assert not matches_source(old, "規程/経費精算規程.md")
    assert matches_source(main, "./規程/経費精算規程.md")
    assert matches_source(main, unicodedata.normalize("NFD", " 経費精算規程.md "))
    assert not matches_source(main, "精算規程.md")  # a suffix must start at a "/"
    assert not matches_source(main, "経費精算規程")
    assert not matches_source(main, "")

    assert matches_source(record, "d1")
    assert matches_source(record, record.source)
    assert matches_source(record, "corpus.jsonl#d1") and matches_source(
        record, "tinyqa/corpus.jsonl#d1"
    )
    assert not matches_source(record, "corpus.jsonl")
    assert not matches_source(record, "d2") and not matches_source(rows["d2"], "d1")

    # keys instead of rows: an absolute path key matches like a source, an id only itself
    assert matches_source(document_key(main), "規程/経費精算規程.md")
    assert matches_source(document_key(record), "d1")
    assert not matches_source(document_key(record), "corpus.jsonl#d1")
    assert not matches_source("a/d1", "d1")


# -- the command -----------------------------------------------------------------------


def kotae(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KOTAE_KB"}
    cmd = [sys.executable, "-m", "kotae.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_kotae_eval_import_writes_the_set_and_ingests_the_corpus(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    folder = qa_folder(tmp_path / "tinyqa")
    out = tmp_path / "sets" / "tinyqa.jsonl"
    run = kotae("eval", "import", str(folder), "--out", str(out), "--ingest", "--kb", str(kb))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == (
        f"wrote 3 questions to {out} (2 with answers, 2 with sources; "
        "1 skipped: neither qrels nor answers)"
    )
    assert lines[1].startswith("ingested corpus: added 3, updated 0, unchanged 0, failed 0; ")
    assert read_eval_set(out) == import_dataset(folder).items

    listed = json.loads(kotae("docs", "list", "--json", "--kb", str(kb)).stdout)
    corpus = (folder / "corpus.jsonl").resolve()
    assert [(d["source"], d["title"], d["format"]) for d in listed] == [
        (f"{corpus}#d1", "経費", "record"),
        (f"{corpus}#d2", "VPN", "record"),
        (f"{corpus}#d3", "API", "record"),
    ]
    shown = json.loads(
        kotae("docs", "show", str(listed[0]["id"]), "--json", "--kb", str(kb)).stdout
    )
    assert shown["metadata"] == {"id": "d1"}

    again = kotae("eval", "import", str(folder), "--out", str(out), "--ingest", "--kb", str(kb))
    again_json = kotae(
        "eval", "import", str(folder), "--out", str(out), "--ingest", "--kb", str(kb), "--json"
    )
    assert again.returncode == 0 and "added 0, updated 0, unchanged 3" in again.stdout
    summary = json.loads(again_json.stdout)
    assert {k: v for k, v in summary.items() if k != "ingest"} == {
        "set": str(out),
        "name": "tinyqa",
        "questions": 3,
        "with_answers": 2,
        "with_sources": 2,
        "skipped": 1,
    }
    assert (summary["ingest"]["added"], summary["ingest"]["unchanged"]) == (0, 3)


def test_kotae_eval_import_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    folder = qa_folder(tmp_path / "tinyqa")
    queries = write(folder / "queries.jsonl", '{"id": "q1", "text": "a"}\n{"id": "q2", "text": }\n')
    out = tmp_path / "set.jsonl"
    bad = kotae("eval", "import", str(folder), "--out", str(out))
    assert bad.returncode == 2
    assert bad.stderr == (f"kotae: error: {queries}:2: not JSON (Expecting value at column 22)\n")
    assert not out.exists()
    missing = kotae("eval", "import", str(tmp_path / "nowhere"), "--out", str(out))
    assert (missing.returncode, missing.stderr.count("\n")) == (2, 1)
    assert "nowhere: not a folder" in missing.stderr
    no_kb = kotae(
        "eval",
        "import",
        str(qa_folder(tmp_path / "ok")),
        "--out",
        str(out),
        "--ingest",
        "--kb",
        str(tmp_path / "nokb"),
    )
    assert (no_kb.returncode, no_kb.stderr.count("\n")) == (2, 1)
    assert "kotae init" in no_kb.stderr and not out.exists()
    init_kb(tmp_path / "kb").close()  # a real one: a missing --kb is refused before this check
    stray_kb = kotae(
        "eval", "import", str(tmp_path / "ok"), "--out", str(out), "--kb", str(tmp_path / "kb")
    )
    assert stray_kb.returncode == 2 and "--kb is only used with --ingest" in stray_kb.stderr
