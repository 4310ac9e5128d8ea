"""Prompt and message templates, as TOML files next to this module: ``<name>.<lang>.toml``.

Kept out of the code so that they can be read, reviewed and translated as text:
``answer`` (answers, no-evidence and notice messages, follow-up rewriting), ``judge``
(the LLM judge of ``kotae eval``) and ``synth`` (questions written from chunks).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent


@cache
def load_templates(name: str, language: str) -> dict[str, str]:
    """The templates of ``name`` in ``language`` ("ja" or "en"), by key."""
    with (PROMPTS_DIR / f"{name}.{language}.toml").open("rb") as handle:
        return {key: str(value) for key, value in tomllib.load(handle).items()}
