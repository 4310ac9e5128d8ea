"""One vocabulary across the CLI (issue 9, item 4): short options, --version, placeholders,
tables that are never cut when piped, times with their zone, snippets cut at a boundary."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from kotae.cli.main import app
from kotae.retrieval import SNIPPET_CHARS, highlight
from tests.conftest import write
from tests.test_cli import kotae


def _commands() -> Iterator[tuple[list[str], Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    yield from walk(get_command(app), [])


def test_a_short_option_means_one_thing_everywhere() -> None:
    meanings: dict[str, set[str]] = {}
    k_commands = []
    for path, command in _commands():
        for param in command.params:
            shorts = [o for o in param.opts if re.fullmatch(r"-[A-Za-z]", o)]
            longs = [o for o in param.opts if o.startswith("--")]
            for short in shorts:
                meanings.setdefault(short, set()).add(longs[0])
                if short == "-k":
                    k_commands.append(" ".join(path))
                    assert param.type_descriptor.annotation is int, path
    # -k: the number of results (search depth); -n: how many items a command lists or
    # writes (log entries, synthesized questions); -v: --verbose; no other short letters
    assert meanings == {"-k": {"--top"}, "-n": {"--limit", "--questions"}, "-v": {"--verbose"}}
    assert {"search", "ask", "chat", "bench retrieval", "bench qa"} <= set(k_commands)


def test_version_option_and_command_agree() -> None:
    option = kotae("--version")
    assert option.returncode == 0, option.stderr
    assert re.fullmatch(r"kotae \S+\n", option.stdout)
    assert option.stdout == kotae("version").stdout


REPRESENTATIVE = [
    ["search"],
    ["ask"],
    ["log", "list"],
    ["log", "show"],
    ["bench", "qa"],
    ["bench", "retrieval"],
    ["eval", "import"],
    ["eval", "report"],
    ["eval", "gate"],
    ["eval", "synth"],
    ["docs", "list"],
]


PYTHON_TYPE = r"<[a-zA-Z]|\bINTEGER\b|\bFLOAT\b|\bTEXT\b"


def test_help_placeholders_are_words_not_python_types() -> None:
    runner = CliRunner()
    for path in REPRESENTATIVE:
        out = runner.invoke(app, [*path, "--help"]).output
        options = [line.strip() for line in out.splitlines() if line.startswith("  -")]
        assert options, path
        typed = [line for line in options if re.search(PYTHON_TYPE, line)]
        assert typed == [], path
        usage = out.splitlines()[0]
        arguments = re.findall(r"[{\[]([^\]}]+)[}\]]", usage.split("[OPTIONS]", 1)[1])
        assert all(a.rstrip(".").replace("_", "").isupper() for a in arguments), (path, usage)
    search = runner.invoke(app, ["search", "--help"]).output
    assert "-k, --top N" in search and "--as USER" in search and "--kb DIR" in search


def test_no_help_of_any_command_shows_a_python_type() -> None:
    """Every command's --help, arguments and options alike: words, never ``<str>``,
    ``<list[Path]>``, ``INTEGER`` or ``TEXT``."""
    runner = CliRunner()

    def commands(command: Any, path: list[str]) -> Iterator[list[str]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path
            return
        for name, sub in subcommands.items():
            yield from commands(sub, [*path, name])

    checked = 0
    for path in commands(get_command(app), []):
        out = runner.invoke(app, [*path, "--help"]).output
        typed = [line for line in out.splitlines() if re.search(PYTHON_TYPE, line)]
        assert typed == [], path
        checked += 1
    assert checked >= 30
    ingest = runner.invoke(app, ["ingest", "--help"]).output
    assert "PATHS..." in ingest and "--exclude GLOB..." in ingest


def _deep_document(root: Path) -> Path:
    folder = (
        root / "docs" / ("とても長いフォルダの名前" * 4) / ("another-very-long-folder-name" * 3)
    )
    return write(folder / "経費精算規程の詳しい説明.md", "# 経費精算\n\n申請期限は翌月10日です。")


def test_tables_are_not_cut_when_piped_and_listings_have_json(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    doc = _deep_document(tmp_path)
    assert kotae("ingest", str(doc), kb=kb).returncode == 0
    source = str(doc.resolve())
    assert len(source) > 200
    listed = kotae("docs", "list", kb=kb)
    assert listed.returncode == 0, listed.stderr
    assert source in listed.stdout and "…" not in listed.stdout
    long_question = "経費の申請期限について詳しく知りたいのですが " * 6
    assert kotae("search", long_question, kb=kb).returncode == 0
    log = kotae("log", "list", "--all", kb=kb)
    assert long_question.strip() in log.stdout
    for path, command in _commands():
        if path[-1] == "list":
            assert "--json" in {o for p in command.params for o in p.opts}, path


def test_times_show_their_zone(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    assert kotae("ingest", str(_deep_document(tmp_path)), kb=kb).returncode == 0
    assert kotae("search", "申請期限", kb=kb).returncode == 0
    tokyo = {"TZ": "Asia/Tokyo"}
    listed = kotae("log", "list", kb=kb, env=tokyo)
    rows = listed.stdout.splitlines()[1:]
    assert rows and all(re.search(r"\d\d:\d\d:\d\d\+09:00\t", row) for row in rows), rows
    entry_id = rows[0].split("\t")[0]
    shown = kotae("log", "show", entry_id, kb=kb, env=tokyo)
    assert re.search(r"\d\d:\d\d:\d\d\+09:00 search", shown.stdout), shown.stdout
    stored = json.loads(kotae("log", "list", "--json", kb=kb).stdout)[0]["created_at"]
    assert stored.endswith("+00:00")  # stored in UTC, shown in the local zone


def test_a_number_straddling_the_cut_is_kept_whole_and_cuts_show_an_ellipsis() -> None:
    number = "1,234,567円"
    text = "あ" * (SNIPPET_CHARS - 4) + number + "の費用。" + "い" * 100
    snippet, _ = highlight(text, [])
    assert snippet.endswith("…")
    assert snippet[:-1] == text[: SNIPPET_CHARS - 4]  # the number is left out, not cut
    late = "う" * 300 + "合計は98765件です。" + "え" * 300
    around, spans = highlight(late, ["合計"])
    assert around.startswith("…") and around.endswith("…")
    assert [around[s:e] for s, e in spans] == ["合計"]


_PIECES = st.sampled_from(["あいう", "経費", "12,345", "3.5", "ABC", "word", " ", "。", "x9"])


def _inside_number_or_word(text: str, cut: int) -> bool:
    if not 0 < cut < len(text):
        return False
    if re.fullmatch(r"[0-9A-Za-z]{2}", text[cut - 1 : cut + 1]):
        return True
    return bool(
        re.fullmatch(r"\d[,.]\d", text[max(0, cut - 2) : cut + 1])
        or re.fullmatch(r"\d[,.]\d", text[cut - 1 : cut + 2])
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_PIECES, min_size=1, max_size=200).map(lambda p: p * 8),
    st.sampled_from([[], ["経費"], ["word"]]),
)
def test_snippets_never_cut_inside_a_number_or_latin_word(
    parts: list[str], pieces: list[str]
) -> None:
    # no "…" in the text: any in the snippet marks a cut; a "。" after every third piece
    # keeps runs of digits and letters shorter than half a snippet (a longer run is cut)
    text = "".join(p + ("。" if i % 3 == 2 else "") for i, p in enumerate(parts))
    snippet, spans = highlight(text, pieces)
    head, tail = snippet.startswith("…"), len(snippet) > 1 and snippet.endswith("…")
    body = snippet[1 if head else 0 : len(snippet) - 1 if tail else len(snippet)]
    starts = [i for i in range(len(text) - len(body) + 1) if text.startswith(body, i)]
    assert any(
        head == (i > 0)
        and tail == (i + len(body) < len(text))
        and not _inside_number_or_word(text, i)
        and not _inside_number_or_word(text, i + len(body))
        for i in starts
    ), (text, snippet)
    for s, e in spans:
        assert snippet[s:e].lower() in [p.lower() for p in pieces]
