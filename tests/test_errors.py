"""The KotaeError tree: every error kotae raises on purpose is in it, and drawn."""

from __future__ import annotations

import inspect
import re

from kotae import errors


def _tree() -> dict[str, int]:
    """Each class name drawn in the module docstring, with its depth."""
    drawn = {}
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"\s*((?:│   |    )*)(?:├── |└── )?([A-Z]\w+Error)\b", line)
        if match:
            drawn[match.group(2)] = len(match.group(1)) // 4 + (1 if "── " in line else 0)
    return drawn


def test_every_kotae_error_is_drawn_under_its_parent() -> None:
    drawn = _tree()
    classes = {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.KotaeError)
    }
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        depth = len([c for c in cls.__mro__ if issubclass(c, errors.KotaeError)]) - 1
        assert drawn[name] == depth, name


def test_the_judge_and_a_too_long_question_are_in_the_tree() -> None:
    assert issubclass(errors.JudgeFormatError, errors.BackendError)
    assert errors.JudgeFormatError.exit_code == 3
    assert issubclass(errors.QuestionTooLongError, errors.QueryError)
    assert errors.QuestionTooLongError.exit_code == 2
