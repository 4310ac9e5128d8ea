"""Every command, walked from the Typer app (a new command is covered by itself), given
wrong input: one line on stderr, exit code 2, never a traceback.

The commands run in-process through :func:`kotae.cli.main.main`, the path that turns a
KotaeError or a usage error into that one line."""

from __future__ import annotations

import traceback
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from kotae.cli.main import app, main
from kotae.kb import init_kb
from tests.conftest import write

MISSING = "<missing>"  # replaced by a path that does not exist
SCRATCH = "<scratch>"  # replaced by an existing regular file
KB = "<kb>"  # replaced by a real knowledge base with one document
ID_NAMES = {"target", "targets", "run_id", "run_a", "run_b", "run_ids", "entry_id"}
ID_NAMES |= {"baseline", "candidate"}


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            yield path, cmd
            return
        for name, sub in sorted(subs.items()):
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def _kind(param: Any) -> type:
    """The parameter's value type (the item type of a list)."""
    annotation = param.type_descriptor.annotation
    for arg in typing.get_args(annotation) or (annotation,):
        if arg is not type(None):
            inner = typing.get_args(arg)
            return inner[0] if inner else arg  # type: ignore[no-any-return]
    return str


def _value(param: Any) -> str:
    kind = _kind(param)
    return SCRATCH if kind is Path else "1" if kind in (int, float) else "x"


def _args(cmd: Any, override: dict[str, str]) -> list[str]:
    """The command's required parameters filled in, ``override`` replacing some."""
    args: list[str] = []
    for param in cmd.params:
        value = override.get(param.name)
        if value is None and not param.required:
            continue
        value = _value(param) if value is None else value
        if param.param_type_name == "argument":
            args.append(value)
        else:
            args += [param.opts[0], value]
    return args


def _cases() -> Iterator[Any]:
    for path, cmd in _commands():
        name = " ".join(path)
        params = {p.name: p for p in cmd.params if p.name != "help"}
        yield pytest.param(path, [*_args(cmd, {}), "--no-such-option"], id=f"{name}:unknown-option")
        if "kb" in params:
            yield pytest.param(path, _args(cmd, {"kb": SCRATCH}), id=f"{name}:kb-is-a-file")
            if path != ("init",):
                missing = _args(cmd, {"kb": MISSING})
                yield pytest.param(path, missing, id=f"{name}:missing-kb")
        for pname, param in params.items():
            kind = _kind(param)
            if getattr(param, "is_flag", False):
                continue
            if kind in (int, float):
                yield pytest.param(path, _args(cmd, {pname: "abc"}), id=f"{name}:{pname}=abc")
            if kind is Path and path != ("init",):
                wrong = _args(cmd, {pname: MISSING})
                yield pytest.param(path, wrong, id=f"{name}:{pname}-missing-path")
            if kind is str and param.required:
                yield pytest.param(path, _args(cmd, {pname: ""}), id=f"{name}:{pname}-empty")
            if pname in ID_NAMES:
                yield pytest.param(path, _args(cmd, {pname: "999999"}), id=f"{name}:{pname}-bad-id")


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wrong-input")
    doc = write(root / "docs" / "規程.md", "# 経費精算\n\n経費の申請期限は翌月10日までです。")
    with init_kb(root / "kb") as base:
        base.ingest([doc])
    return root / "kb"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code, capsys.readouterr().err
    except BaseException:  # the failure this test is about
        return "raised", capsys.readouterr().err + traceback.format_exc()
    return 0, capsys.readouterr().err


@pytest.mark.parametrize(("path", "args"), list(_cases()))
def test_wrong_input_is_one_line_and_exit_2(
    path: tuple[str, ...],
    args: list[str],
    kb_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("KOTAE_KB", raising=False)
    monkeypatch.chdir(tmp_path)  # no knowledge base here
    scratch = write(tmp_path / "scratch.txt", "x\n")
    replace = {MISSING: str(tmp_path / "no" / "such"), SCRATCH: str(scratch), KB: str(kb_dir)}
    argv = [*path, *(replace.get(a, a) for a in args)]
    if "--kb" not in args and "kb" in {p.name for p in _command(path).params}:
        argv += ["--kb", str(kb_dir)]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _run(argv, capsys)
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    assert len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def _command(path: tuple[str, ...]) -> Any:
    return dict(_commands())[path]


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path, _ in _commands()}
    assert {"init", "docs remove", "eval run", "version"} <= names
    covered = {case.values[0] for case in _cases()}
    assert covered == set(dict(_commands()))
