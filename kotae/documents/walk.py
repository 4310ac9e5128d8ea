"""The files to ingest under the given paths, and what stops a walk.

A stable order, hidden files and the knowledge base itself left out. A symbolic link whose
target lies outside the folder being walked is not followed unless asked (a private file
linked into a shared folder would otherwise be indexed with that folder's ACL); a folder that
cannot be listed is reported, so that ``--sync`` keeps the documents it had.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Found", "iter_files", "walk"]


@dataclass(frozen=True, slots=True)
class Found:
    """What a walk over the ingested paths met: a file to ingest, or a ``problem``
    (a symbolic link that leaves its folder, a folder that cannot be listed)."""

    path: Path
    problem: str = ""  # "" = a file to ingest, else "refused" or "unreadable"
    message: str = ""


def iter_files(paths: Sequence[Path], skip: Path | None = None) -> Iterator[Path]:
    """Files under ``paths`` in a stable order, hidden files and the KB itself left out."""
    return (f.path for f in walk(paths, skip) if not f.problem)


def walk(
    paths: Sequence[Path], skip: Path | None = None, follow_symlinks: bool = False
) -> Iterator[Found]:
    """Files under ``paths`` (stable order, hidden files and ``skip`` left out) and problems.

    A symbolic link whose target lies outside the folder being walked is not followed
    (a ``refused`` problem) unless ``follow_symlinks``; a folder that cannot be listed is an
    ``unreadable`` problem. A path given itself is always read, link or not.
    """
    for root in paths:
        if root.is_file():
            yield Found(root.resolve())
            continue
        yield from _walk_folder(root, skip, follow_symlinks)


def _walk_folder(root: Path, skip: Path | None, follow_symlinks: bool) -> Iterator[Found]:
    top = root.resolve()
    errors: list[OSError] = []
    visited: set[Path] = {top}
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=True):
        yield from (_unlisted(e) for e in errors)
        errors.clear()
        here = top / os.path.relpath(dirpath, root)  # a followed link's files stay under top
        kept = []
        for d in sorted(dirnames):
            if d.startswith(".") or (skip is not None and here / d == skip):
                continue
            link = Path(dirpath) / d
            if not link.is_symlink():
                kept.append(d)
                continue
            target = link.resolve()
            if not follow_symlinks and not target.is_relative_to(top):
                yield _refused_link(here / d, target, top)
            elif follow_symlinks and target not in visited and not target.is_relative_to(top):
                visited.add(target)  # inside links are skipped: their files are walked anyway
                kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            link = Path(dirpath) / name
            if link.is_symlink() and not follow_symlinks:
                target = link.resolve()
                if not target.is_relative_to(top):
                    yield _refused_link(here / name, target, top)
                    continue
            yield Found(here / name)
    yield from (_unlisted(e) for e in errors)


def _refused_link(path: Path, target: Path, top: Path) -> Found:
    return Found(
        path,
        "refused",
        f"{path.name}: refused: symbolic link to {target}, outside {top}; "
        "use --follow-symlinks to read it",
    )


def _unlisted(error: OSError) -> Found:
    path = Path(str(error.filename or "")).resolve()
    return Found(
        path,
        "unreadable",
        f"cannot list the folder ({error.strerror or error}): its documents are kept",
    )
