"""The store under test. A new store (PostgreSQL) adds itself to ``STORES``; every class of
``test_conformance.py`` then runs against it too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kotae.index.catalog import Catalog
from kotae.index.store import Store


def _sqlite(tmp_path: Path) -> Store:
    return Catalog(tmp_path / "kotae.db")


STORES: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = STORES[request.param](tmp_path)
    yield made
    made.close()
