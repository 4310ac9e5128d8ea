"""The backend registry: built-ins by name, plug-ins (the test fakes included) by entry point."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kotae.backends.registry import ENTRY_POINT_GROUP, BackendRegistry
from kotae.errors import ConfigError
from kotae.testing import FakeReranker

REPO = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_no_production_module_imports_the_test_fakes() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "kotae").rglob("*.py"))
        if path.name != "testing.py" and "kotae.testing" in _imports(path)
    ]
    assert offenders == []


def _declared_entry_points() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return dict(project["entry-points"][ENTRY_POINT_GROUP])


def test_kotae_declares_its_fakes_as_entry_points() -> None:
    declared = _declared_entry_points()
    assert {name: value.split(":")[0] for name, value in declared.items()} == {
        "embedder.fake": "kotae.testing",
        "reranker.fake": "kotae.testing",
        "generator.fake": "kotae.testing",
    }


def test_an_entry_point_is_loaded_only_when_its_name_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded: list[str] = []

    def factory(options: object) -> FakeReranker:
        loaded.append("reranker.fake")
        return FakeReranker()

    class Point(importlib.metadata.EntryPoint):
        def load(self) -> object:
            return factory

    points = [
        Point("reranker.fake", "kotae.testing:create_fake_reranker", ENTRY_POINT_GROUP),
        Point("embedder.other", "elsewhere:create", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    registry: BackendRegistry[FakeReranker] = BackendRegistry("reranker")
    registry.register("built-in", lambda options: FakeReranker())
    assert registry.names() == ["built-in", "fake"]
    assert loaded == []
    assert isinstance(registry.create("fake", {}), FakeReranker)
    assert loaded == ["reranker.fake"]
    with pytest.raises(ConfigError, match="unknown reranker backend 'other'"):
        registry.create("other")


def _run(code: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    paths = ([str(extra_path)] if extra_path else []) + [str(REPO)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def test_importing_the_registries_does_not_import_the_fakes() -> None:
    result = _run(
        "import kotae.backends.rerankers, kotae.backends.embedders, kotae.backends.generators\n"
        "import kotae.cli.main, kotae.answer\n"
        "import sys; assert 'kotae.testing' not in sys.modules, 'kotae.testing imported'"
    )
    assert result.returncode == 0, result.stderr


def test_the_declared_entry_points_build_the_fakes_in_a_fresh_process(tmp_path: Path) -> None:
    """The package metadata as pip writes it from pyproject.toml, first on the path."""
    info = tmp_path / "kotae-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kotae\nVersion: 0.0.0\n")
    lines = [f"{name} = {value}" for name, value in _declared_entry_points().items()]
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n" + "\n".join(lines) + "\n")
    result = _run(
        "import sys\n"
        "from kotae.backends.embedders import create_embedder\n"
        "from kotae.backends.generators import create_generator\n"
        "from kotae.backends.rerankers import create_reranker\n"
        "assert 'kotae.testing' not in sys.modules\n"
        "print(create_embedder('fake', {'dim': 8}).name)\n"
        "assert 'kotae.testing' in sys.modules\n"
        "print(type(create_reranker('fake')).__name__)\n"
        "print(type(create_generator('fake', {'context_window': 512})).__name__)\n",
        extra_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fake:8", "FakeReranker", "FakeGenerator"]
