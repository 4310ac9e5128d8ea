"""Creating files and folders so that a failure leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Undo:
    """What to remove when creating ``path`` fails: the first missing folder on the way to
    it (with everything in it), or, in an existing ``path``, the ``names`` not there yet."""

    new_root: Path | None
    new_items: tuple[Path, ...]

    @classmethod
    def before(cls, path: Path, names: Sequence[str]) -> Undo:
        root = None
        for folder in (path, *path.parents):
            if folder.exists():
                break
            root = folder
        items = () if root is not None else tuple(path / n for n in names)
        return cls(root, tuple(p for p in items if not p.exists()))

    def run(self) -> None:
        if self.new_root is not None:
            shutil.rmtree(self.new_root, ignore_errors=True)
        for item in self.new_items:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)


def write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target``, then rename it over ``target``."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
