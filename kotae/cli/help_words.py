"""Placeholders in ``--help`` read as words, not as Python types.

Typer shows an argument as ``QUERY <str>`` and an option without a metavar as
``--config <list[Path]>``. kotae shows words instead: an argument by its name in capitals
(``QUERY``, ``PATHS...``), an option by its metavar, else by what it takes: ``N`` for a
whole number, ``X`` for a decimal, ``FILE``/``DIR``/``PATH``, or a word for its meaning
(``USER``, ``GROUPS``, ``GLOB``...); ``...`` when it can be repeated. :func:`use_words`
installs this on Typer's parameter classes; the CLI calls it once when it builds the app.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

# options whose value is best named by its meaning rather than its type
_WORDS = {
    "as": "USER",
    "groups": "GROUPS",
    "acl": "GROUPS",
    "include": "GLOB",
    "exclude": "GLOB",
    "config": "FILE",
    "set": "FILE",
    "json": "FILE",
    "report": "FILE",
    "out": "FILE",
    "lang": "LANG",
    "use_case": "NAME",
}


def _argument_name(self: TyperArgument) -> str:
    return self.metavar if self.metavar is not None else str(self.name).upper()


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    return None  # the name in capitals is the word


def _option_word(self: TyperOption, ctx: Any) -> str | None:
    if self.metavar is not None:
        return str(self.metavar)
    if self.is_flag:
        return None
    desc = self.type_descriptor
    annotation = desc.annotation
    element = getattr(annotation, "__args__", (annotation,))[0] if desc.is_list else annotation
    if self.name in _WORDS:
        word = _WORDS[str(self.name)]
    elif element is int:
        word = "N"
    elif element is float:
        word = "X"
    elif desc.is_path:
        word = "PATH"
    else:
        word = str(self.name).upper()
    return f"{word}..." if desc.is_list else word


def use_words() -> None:
    """Make Typer's help show words for arguments and option values (idempotent)."""
    TyperArgument.display_name_raw = property(_argument_name)  # type: ignore[assignment,method-assign]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]
    TyperOption.display_type_rich = _option_word  # type: ignore[method-assign]
