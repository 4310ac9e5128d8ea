"""Issue 9: every ``kotae`` command line in README.md and docs/*.md works as written.

Each command line of a fenced ``bash``/``sh``/plain code block is one test (id ``file:line``):

- **run**: it runs for real with the ``kotae`` CLI in a subprocess, in the prepared folder restored
  to its first state (a knowledge base ``kb`` with ``samples/docs`` ingested, ``confidential``
  for the ``executives`` group, users sato/kimura/yamada, aoki (admin) and eto (editor), 43 log
  entries, and the folders and
  files the docs name; absolute paths mapped by ``PATH_MAP``), and must exit 0 (or the code a
  trailing ``# exits N`` comment documents) without a traceback;
- **syntax**: a syntax summary (``PATH...``, ``[--json]``, ``ID|PATH``, ALL-CAPS words) or a line
  naming an eval run of the author's own knowledge base (``EXAMPLE_IDS``) is checked only: its
  command exists and every ``--option`` it names is an option of that command;
- **skip** (by ``skip_reason``, after the same syntax check): lines that need a model server or
  model files (``NEEDS_MODEL``, ``KOTAE_GENERATOR__*`` variables, ``--config``, ``--vectors``),
  ``kotae serve`` (it runs until stopped),
  benchmark sets of ``../shared`` without ``--limit``, and shell command substitution.

Only lines whose command is ``kotae`` are collected: ``make``, ``pip``, ``export`` are not.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from kotae.cli.main import app
from kotae.kb import open_kb
from tests.conftest import REPO, SAMPLES, SHARED

DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_BLOCKS = {"bash", "sh", "shell", ""}

# Absolute paths the docs use, mapped into the test folder (anything else absolute fails).
PATH_MAP = {
    "/tmp/kb": "kb",  # guide §1: `kotae init /tmp/kb` then `export KOTAE_KB=/tmp/kb`
    "/mnt/share": "mnt/share",  # a file share: copies of samples/docs, made by `prepared`
    "../shared": str(SHARED),  # the bench data sets next to the checkout (tests/conftest.py)
}
# Eval run ids from the author's knowledge base (random): those lines are syntax-checked.
# (Log entry 42 exists: `prepared` logs 42 searches by yamada.)
EXAMPLE_IDS = {"3f2a", "9c1d", "91f5"}
# Subcommands that call a generation server or load model weights.
NEEDS_MODEL = {("models", "ping"), ("eval", "synth"), ("eval", "run")}
MODEL_ENV = re.compile(r"^KOTAE_(GENERATOR|EMBEDDER|RERANKER|JUDGE)__")
PLACEHOLDER = re.compile(r"…|\.\.\.|\[|\]|(?<![\w-])[A-Z][A-Z_]*(?![\w-])")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
EXITS = re.compile(r"exits? (?:with )?(?:code )?(\d+)")


@dataclass(frozen=True)
class DocCommand:
    """One ``kotae`` command of a docs code block."""

    file: str
    line: int
    text: str  # the command as written, continuations joined, comment dropped
    comment: str
    env: tuple[str, ...]  # leading VAR=value assignments
    args: tuple[str, ...]  # the words after ``kotae``
    part: int  # 1, 2, ... for the commands of a ``;``/``&&`` chain

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}" + (f"#{self.part}" if self.part > 1 else "")


def split_shell(line: str) -> tuple[list[str], str]:
    """``line`` cut into ``;``/``&&`` pieces and its trailing comment, outside quotes only."""
    pieces, current, quote, i = [], "", "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (not current or current[-1].isspace()):
            pieces.append(current)
            return [p.strip() for p in pieces if p.strip()], line[i + 1 :].strip()
        elif ch == ";" or line.startswith("&&", i):
            pieces.append(current)
            current, i = "", i + (2 if ch == "&" else 1)
            continue
        current += ch
        i += 1
    pieces.append(current)
    return [p.strip() for p in pieces if p.strip()], ""


def block_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line with continuations joined) of the shell code blocks of ``path``."""
    out: list[tuple[int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    lang: str | None = None
    i = 0
    while i < len(lines):
        fence = re.match(r"\s*```\s*(\w*)", lines[i])
        if fence:
            lang = fence.group(1) if lang is None else None
        elif lang in SHELL_BLOCKS:
            start, text = i + 1, lines[i]
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + " " + lines[i].strip()
            out.append((start, text))
        i += 1
    return out


def doc_commands() -> list[DocCommand]:
    commands: list[DocCommand] = []
    for path in DOC_FILES:
        name = path.relative_to(REPO).as_posix()
        for number, text in block_lines(path):
            pieces, comment = split_shell(text)
            part = 0
            for piece in pieces:
                if not re.match(r"(\w+=\S*\s+)*kotae(\s|$)", piece):
                    continue
                words = shlex.split(piece)
                env = list(words[: next((k for k, w in enumerate(words) if "=" not in w), 0)])
                if words[len(env) : len(env) + 1] != ["kotae"]:
                    continue
                args = tuple(words[len(env) + 1 :])
                part += 1
                commands.append(DocCommand(name, number, piece, comment, tuple(env), args, part))
    return commands


COMMANDS = doc_commands()


def resolve(args: tuple[str, ...]) -> tuple[list[str], Any, list[Any]]:
    """The command path the words name, the command, and its parent groups."""
    root = typer.main.get_command(app)
    command: Any = root
    parents: list[Any] = []
    path: list[str] = []
    words = list(args)
    while words:
        word = words.pop(0)
        if word.startswith("-"):
            if word == "--kb" and hasattr(command, "commands"):
                words.pop(0)
            continue
        if not hasattr(command, "commands"):
            break
        sub = command.commands.get(word)
        assert sub is not None, f"'kotae {' '.join([*path, word])}' is not a command"
        parents.append(command)
        command, path = sub, [*path, word]
    assert not hasattr(command, "commands"), f"'kotae {' '.join(path)}' needs a subcommand"
    return path, command, parents


def option_names(text: str) -> list[str]:
    """The ``-x``/``--name`` options a line names, outside quoted strings."""
    names = []
    for word in QUOTED.sub(" ", text).split():
        for part in word.strip("[]").split("/"):
            if re.match(r"--?[a-zA-Z]", part):
                names.append(part.split("=")[0].rstrip("]"))
    return names


def check_syntax(cmd: DocCommand) -> list[str]:
    path, command, parents = resolve(cmd.args)
    known = {"--help"}
    for owner in [command, parents[0]]:
        for param in owner.params:
            known.update(param.opts, param.secondary_opts)
    unknown = [name for name in option_names(cmd.text) if name not in known]
    assert not unknown, f"{cmd.id}: kotae {' '.join(path)} has no option {', '.join(unknown)}"
    return path


def is_placeholder(cmd: DocCommand) -> bool:
    command = cmd.text[cmd.text.index("kotae") :]  # not the VAR=value before it
    return bool(PLACEHOLDER.search(QUOTED.sub(" ", command))) or bool(EXAMPLE_IDS & set(cmd.args))


def skip_reason(cmd: DocCommand, path: list[str]) -> str | None:
    """Why a line is not run, by rule (None: run it)."""
    if any(MODEL_ENV.match(v) for v in cmd.env) or tuple(path[:2]) in NEEDS_MODEL:
        return "needs a model server"
    if path[:1] == ["serve"]:
        return "starts a server that runs until stopped (tests/server/ start it for real)"
    if "--vectors" in cmd.args or "--config" in cmd.args:
        return "needs model settings or model files (an embedder, a server)"
    shared = any(a.startswith("../shared/") for a in cmd.args)
    if shared and ("--limit" not in cmd.args or not SHARED.is_dir()):
        return "a full benchmark set of ../shared (minutes) without --limit, or absent"
    if "$(" in cmd.text or "`" in cmd.text:
        return "shell command substitution"
    return None


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the docs' commands assume, with a knowledge base ``kb``, and a pristine copy.

    The knowledge base stores absolute paths, so each test restores the folder in place."""
    root = tmp_path_factory.mktemp("docs") / "world"
    confidential = SAMPLES / "confidential"
    public = [p for p in SAMPLES.iterdir() if p.is_file()]
    shutil.copytree(SAMPLES, root / "samples" / "docs")
    shutil.copytree(SAMPLES, root / "docs")
    governance = SAMPLES.parent / "governance"  # docs/governance*.md: the answers template
    shutil.copytree(governance, root / "samples" / "governance")
    for folder in ["社内規程", "mnt/share/規程集", "mnt/share/総務"]:
        (root / folder).mkdir(parents=True)
        for file in public:
            shutil.copy(file, root / folder / file.name)
    shutil.copytree(confidential, root / "役員会")
    shutil.copytree(confidential, root / "mnt/share/役員会")
    faq = '{"id": "faq-12", "title": "有給休暇", "text": "有給休暇は入社半年後に10日付与。"}\n'
    (root / "export").mkdir()
    (root / "export" / "faq.jsonl").write_text(faq, encoding="utf-8")
    qa = root / "helpdesk-qa"
    qa.mkdir()
    (qa / "corpus.jsonl").write_text(faq, encoding="utf-8")
    query = '{"id": "q1", "text": "有給休暇は何日？", "answers": ["10日"]}\n'
    (qa / "queries.jsonl").write_text(query, encoding="utf-8")
    (qa / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tfaq-12\t1\n", encoding="utf-8")
    shutil.copytree(qa, root / "datasets" / "soumu-faq")  # guide §8: "your help desk" data set
    setup = [
        ["init", "kb"],
        ["ingest", *sorted(f"samples/docs/{p.name}" for p in public)],
        ["ingest", "samples/docs/confidential", "--acl", "executives"],
        ["users", "add", "sato", "--groups", "executives"],
        ["users", "add", "kimura", "--groups", "executives"],
        ["users", "add", "yamada", "--groups", "sales"],
        ["users", "add", "aoki", "--role", "admin"],  # docs/server*.md: keys of these two
        ["users", "add", "eto", "--groups", "sales", "--role", "editor"],
        # guide §5 sets this rule on the line before `kotae acl remove ./docs/confidential`
        ["acl", "set", "docs/confidential", "--groups", "executives,auditors"],
        ["search", "出張の宿泊費の上限はいくら？"],
    ]
    for args in setup:
        result = kotae(root, args)
        assert result.returncode == 0, result.stderr
    with open_kb(root / "kb") as base:  # log entries up to 42 and beyond, by yamada
        for _ in range(42):
            base.search("有給休暇は何日？", access=base.access_for(user="yamada"))
    shutil.copytree(root, root.with_name("pristine"))
    return root


def restored(prepared: Path) -> Path:
    """``prepared`` as it was before any test ran."""
    shutil.rmtree(prepared)
    shutil.copytree(prepared.with_name("pristine"), prepared)
    return prepared


def kotae(
    cwd: Path, args: list[str], stdout: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTAE_")}
    env |= {"KOTAE_LANG": "en", "KOTAE_KB": str(cwd / "kb"), "PYTHONPATH": str(REPO)}
    with open(stdout, "w") if stdout else open(os.devnull, "w") as sink:
        result = subprocess.run(
            [sys.executable, "-m", "kotae.cli.main", *args],
            cwd=cwd,
            env=env,
            input="",
            capture_output=True,
            text=True,
            timeout=120,
        )
        if stdout:
            sink.write(result.stdout)
    return result


def as_run(cmd: DocCommand, cwd: Path) -> tuple[list[str], Path | None]:
    """The words to run: paths mapped, unquoted globs expanded, ``> FILE`` taken out."""
    words, out = list(cmd.args), None
    if ">" in words:
        at = words.index(">")
        out, words = cwd / words[at + 1], words[:at] + words[at + 2 :]
    run: list[str] = []
    for word in words:
        mapped = [str(cwd / t) + word[len(p) :] for p, t in PATH_MAP.items() if word.startswith(p)]
        if mapped:
            word = mapped[0]
        elif word.startswith("/"):
            pytest.fail(f"{cmd.id}: absolute path {word} is not in PATH_MAP")
        quoted = f"'{word}'" in cmd.text or f'"{word}"' in cmd.text
        matches = sorted(glob.glob(word, root_dir=cwd)) if "*" in word and not quoted else []
        run.extend(matches or [word])
    return run, out


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.id for c in COMMANDS])
def test_documented_command(cmd: DocCommand, prepared: Path) -> None:
    path = check_syntax(cmd)
    if is_placeholder(cmd):
        return
    reason = skip_reason(cmd, path)
    if reason:
        pytest.skip(reason)
    cwd = restored(prepared)
    args, out = as_run(cmd, cwd)
    result = kotae(cwd, args, out)
    documented = EXITS.search(cmd.comment)
    expected = int(documented.group(1)) if documented else 0
    said = f"{cmd.id}: {cmd.text}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    assert result.returncode == expected, said
    assert "Traceback" not in result.stderr + result.stdout, said


def test_the_docs_have_commands() -> None:
    """The extraction finds the commands (an empty list would make every test pass)."""
    files = {c.file for c in COMMANDS}
    assert {"README.md", "docs/guide.md", "docs/guide.ja.md", "docs/poc.md"} <= files
    assert len(COMMANDS) > 80
    line = next(
        c.line for c in COMMANDS if c.file == "README.md" and c.args[:2] == ("docs", "list")
    )
    readme = [c.args for c in COMMANDS if c.file == "README.md" and c.line == line]
    assert readme == [("docs", "list", "--all", "--kb", "./kb"), ("status", "--kb", "./kb"),
                      ("log", "list", "--all", "--kb", "./kb")]  # fmt: skip


def test_split_shell_keeps_quotes_and_sources() -> None:
    assert split_shell("kotae search 'a # b; c' --json  # note; x") == (
        ["kotae search 'a # b; c' --json"],
        "note; x",
    )
    assert split_shell("kotae docs show corpus.jsonl#faq-12 && kotae status") == (
        ["kotae docs show corpus.jsonl#faq-12", "kotae status"],
        "",
    )
