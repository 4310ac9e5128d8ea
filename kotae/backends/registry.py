"""Backends chosen by name: a small registry shared by embedders, rerankers and generators.

Built-in backends register a factory ``(options) -> backend`` under a name. Third-party
packages add theirs through the ``kotae.backends`` entry-point group; the entry-point name
is ``<kind>.<backend name>`` and its value a factory with the same signature, e.g. in the
plugin's ``pyproject.toml``::

    [project.entry-points."kotae.backends"]
    "embedder.my-embedder" = "my_plugin.embed:create"
    "reranker.my-reranker" = "my_plugin.rerank:create"

Each backend validates its options with a pydantic model (``extra="forbid"``) through
:func:`parse_options`, which turns validation errors into :class:`~kotae.errors.ConfigError`.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping
from difflib import get_close_matches
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from kotae.errors import ConfigError

ENTRY_POINT_GROUP = "kotae.backends"

BackendT = TypeVar("BackendT")
OptionsT = TypeVar("OptionsT", bound=BaseModel)

BackendFactory = Callable[[Mapping[str, Any]], BackendT]


_KIND_JA = {"generator": "生成モデル", "embedder": "埋め込みモデル", "reranker": "リランカー"}


class BackendRegistry(Generic[BackendT]):
    """Factories for one kind of backend (``"embedder"``, ``"reranker"``...), by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, BackendFactory[BackendT]] = {}
        self._entry_points_loaded = False

    def register(self, name: str, factory: BackendFactory[BackendT]) -> None:
        """Register ``factory`` under ``name``; a later registration replaces an earlier one."""
        self._factories[name] = factory

    def names(self) -> list[str]:
        """All registered backend names, plug-ins included, sorted."""
        self._load_entry_points()
        return sorted(self._factories)

    def create(self, name: str, options: Mapping[str, Any] | None = None) -> BackendT:
        """Build the backend ``name`` with ``options``; ConfigError if unknown or misconfigured."""
        factory = self._factories.get(name)
        if factory is None:
            self._load_entry_points()
            factory = self._factories.get(name)
        if factory is None:
            known = ", ".join(repr(n) for n in self.names()) or "none"
            raise ConfigError(
                f"unknown {self.kind} backend {name!r}; known backends: {known}. "
                f"Install the plug-in that provides it (entry-point group {ENTRY_POINT_GROUP!r}).",
                message_ja=f"{_KIND_JA.get(self.kind, self.kind)}のバックエンド {name!r} は"
                f"ありません。使えるもの: {known}。"
                f"提供するプラグインをインストールしてください（entry-point グループ "
                f"{ENTRY_POINT_GROUP!r}）。",
            )
        return factory(dict(options or {}))

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        prefix = f"{self.kind}."
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if not entry_point.name.startswith(prefix):
                continue
            backend_name = entry_point.name[len(prefix) :]
            if backend_name in self._factories:
                continue  # built-ins win over plug-ins of the same name
            self._factories[backend_name] = _lazy_entry_point_factory(entry_point)


def _lazy_entry_point_factory(
    entry_point: importlib.metadata.EntryPoint,
) -> BackendFactory[Any]:
    def factory(options: Mapping[str, Any]) -> Any:
        try:
            loaded = entry_point.load()
        except Exception as exc:
            raise ConfigError(
                f"could not load backend plug-in {entry_point.name!r} ({entry_point.value}): "
                f"{exc}. Reinstall the package that provides it."
            ) from exc
        if not callable(loaded):
            raise ConfigError(
                f"backend plug-in {entry_point.name!r} ({entry_point.value}) is not a factory; "
                "it must be a callable taking the options mapping."
            )
        return loaded(options)

    return factory


def parse_options(model: type[OptionsT], options: Mapping[str, Any], backend: str) -> OptionsT:
    """Validate ``options`` with ``model``; ConfigError naming each bad option.

    Input values are never echoed in the message: an option may hold a secret.
    """
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(options)'}: {error['msg']}"
            + _did_you_mean(error["loc"], list(model.model_fields), error["type"])
            for error in exc.errors(include_input=False, include_url=False)
        )
        allowed = ", ".join(sorted(model.model_fields))
        raise ConfigError(
            f"invalid options for backend {backend!r}: {problems}. Allowed options: {allowed}."
        ) from None


def _did_you_mean(loc: tuple[int | str, ...], known: list[str], kind: str) -> str:
    """`` (did you mean "timeout_s"?)`` for an unknown option close to a known one."""
    if kind != "extra_forbidden" or len(loc) != 1:
        return ""
    match = get_close_matches(str(loc[0]).lower(), known, n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""
