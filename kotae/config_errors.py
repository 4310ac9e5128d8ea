"""Settings errors that name their real source, with a "did you mean" for unknown keys.

A value reaches :class:`kotae.config.Settings` from one of three places, the first winning:
command-line options (or a ``kotae eval run --config`` file), a ``KOTAE_<SECTION>__<KEY>``
environment variable, ``kotae.toml``. :func:`explain` turns pydantic's validation errors
into one message per problem that starts with that place: ``KOTAE_RETRIEVAL__MODE: ...``,
``/kb/kotae.toml: [retrieval] mode: ...``. :func:`environment_problems` reports the
``KOTAE_*`` variables pydantic-settings would silently ignore: a misspelt section.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

ENV_PREFIX = "KOTAE_"
ENV_DELIMITER = "__"
OPTIONS = "command-line option"

Loc = tuple[int | str, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """Where some settings came from: a file (``path``), the command line (no path)."""

    data: Mapping[str, Any]
    path: Path | None = None


def explain(
    errors: Sequence[ErrorDetails],
    schema: type[BaseModel],
    first: Source,
    toml: Source,
    environ: Mapping[str, str],
) -> list[str]:
    """One message per error, naming its source. ``first`` (command-line options or a
    ``--config`` file) wins over ``environ``, which wins over ``toml``."""
    env = {name.lower(): name for name in environ if name.upper().startswith(ENV_PREFIX)}
    return [_explain_one(error, schema, first, toml, env) for error in errors]


def _explain_one(
    error: ErrorDetails, schema: type[BaseModel], first: Source, toml: Source, env: dict[str, str]
) -> str:
    loc: Loc = tuple(error["loc"])
    env_name, env_parts = _env_match(loc, env)
    # the source reaching deepest into ``loc`` set it; on a tie, the one that wins
    reach = [(_depth(first.data, loc), 2), (len(loc) if env_name else 0, 1)]
    _, winner = max([*reach, (_depth(toml.data, loc), 0)])
    if winner == 1 and env_name is not None:
        rest = loc[env_parts:]
        where = env_name + (f": {_key_path(rest)}" if rest else "")
        # the variable's own unknown key: suggest the variable to set instead
        named = env_name if not rest else ""
        return f"{where}: {_problem(error, schema, loc, named, error.get('input'))}"
    source = first if winner == 2 else toml
    label = str(source.path) if source.path is not None else OPTIONS
    value = _value_at(source.data, loc)
    return f"{label}: {_key_path(loc, value)}: {_problem(error, schema, loc, '', value)}"


def environment_problems(schema: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """``KOTAE_<SECTION>__<KEY>`` variables whose SECTION is no section but looks like one.

    Other ``KOTAE_*`` variables (``KOTAE_KB``, ``KOTAE_SHARED``...) are not settings and are
    left alone; unknown keys of a known section are reported by validation (:func:`explain`).
    """
    sections = [name for name, field in schema.model_fields.items() if _model_of(field.annotation)]
    problems = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or ENV_DELIMITER not in name:
            continue
        section, _, rest = name[len(ENV_PREFIX) :].partition(ENV_DELIMITER)
        if not section or section.lower() in schema.model_fields:
            continue
        match = get_close_matches(section.lower(), sections, n=1, cutoff=0.75)
        if match:
            fixed = f"{ENV_PREFIX}{match[0].upper()}{ENV_DELIMITER}{rest.upper()}"
            problems.append(f'{name}: unknown section "{section.lower()}"; did you mean {fixed}?')
    return problems


def _problem(error: ErrorDetails, schema: type[BaseModel], loc: Loc, env: str, value: Any) -> str:
    if error["type"] == "extra_forbidden":
        return _unknown(schema, loc, env, value)
    message = error["msg"].removeprefix("Value error, ")
    shown = _shown_input(error, loc)
    return f"{message}, got {shown}" if shown else message


def _unknown(schema: type[BaseModel], loc: Loc, env: str, value: Any) -> str:
    key = str(loc[-1])
    model = _model_at(schema, loc[:-1])
    known = list(model.model_fields) if model is not None else []
    match = get_close_matches(key.lower(), known, n=1, cutoff=0.6)
    if env:
        head = env[: len(env) - len(key)]
        hint = f"did you mean {head}{match[0].upper()}?" if match else f"known: {', '.join(known)}"
        return f'unknown key "{key}"; {hint}'
    what = "key" if len(loc) > 1 else "section" if isinstance(value, Mapping) else "setting"
    if not match:
        return f"unknown {what} (known: {', '.join(known)})"
    section = len(loc) == 1 and _model_of(schema.model_fields[match[0]].annotation) is not None
    return f"unknown {what}; did you mean " + (f"[{match[0]}]?" if section else f'"{match[0]}"?')


def _shown_input(error: ErrorDetails, loc: Loc) -> str:
    """The offending value when it is short, plain and under no secret-looking key."""
    from kotae.config import is_secret_key

    value = error.get("input")
    if error["type"] == "missing" or not isinstance(value, str | int | float | bool):
        return ""
    if any(isinstance(part, str) and is_secret_key(part) for part in loc):
        return ""
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 60 else ""


def _key_path(loc: Loc, value: Any = None) -> str:
    """``[retrieval] mode``, ``query_log``, ``[eval.price]``, ``[[use_case.kpis]] #1 name``."""
    names: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            tail = " ".join(str(p) for p in loc[index + 1 :])
            table = f"[[{'.'.join(names)}]] " if names else ""
            return f"{table}#{part + 1}" + (f" {tail}" if tail else "")
        names.append(part)
    if isinstance(value, Mapping):
        return f"[{'.'.join(names)}]"
    return names[0] if len(names) == 1 else f"[{'.'.join(names[:-1])}] {names[-1]}"


def _depth(data: Any, loc: Loc) -> int:
    """How many leading parts of ``loc`` lead somewhere in ``data``."""
    return len(_walk(data, loc)) - 1


def _value_at(data: Any, loc: Loc) -> Any:
    path = _walk(data, loc)
    return path[-1] if len(path) == len(loc) + 1 else None


def _walk(data: Any, loc: Loc) -> list[Any]:
    """``data`` and the values ``loc`` leads to in it, as far as it leads."""
    path = [data]
    for part in loc:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif not (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            break
        else:
            data = data[part]
        path.append(data)
    return path


def _env_match(loc: Loc, env: dict[str, str]) -> tuple[str | None, int]:
    """The variable that set ``loc`` (or a table above it, as JSON), and how many parts of
    ``loc`` its name spells."""
    for end in range(len(loc), 0, -1):
        parts = loc[:end]
        if all(isinstance(p, str) for p in parts):
            name = (ENV_PREFIX + ENV_DELIMITER.join(str(p) for p in parts)).lower()
            if name in env:
                return env[name], end
    return None, 0


def _model_at(schema: type[BaseModel], path: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = schema
    for part in path:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_of(model.model_fields[part].annotation)
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``annotation`` (``Model``, ``Model | None``, ``list[Model]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
        typing.Union,
        list,
    ):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None
