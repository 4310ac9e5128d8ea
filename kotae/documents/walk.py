"""The files to ingest under the given paths, what is skipped, and what stops a walk.

A stable order; the knowledge base itself left out. What a file share carries besides
documents is **skipped and counted**, never failed (:class:`Selection`): OS and editor junk
(``Thumbs.db``, ``desktop.ini``, ``.DS_Store``, ``~$*`` Office lock files, ``*.tmp``), hidden
files and folders (a hidden folder is one skip, not walked), and what ``--exclude`` /
``--include`` leave out. A symbolic link whose target lies outside the folder being walked is
not followed unless asked (a private file linked into a shared folder would otherwise be
indexed with that folder's ACL); a folder that cannot be listed is reported, so that
``--sync`` keeps the documents it had.

Patterns (:func:`compile_glob`) are matched case-insensitively against the path relative to
the ingested folder, with ``/`` separators: ``*`` and ``?`` stay within one folder level,
``**`` spans any number of levels (``**/`` also none), ``[abc]`` / ``[!abc]`` are classes. A
pattern without ``/`` is matched against the file or folder name at any depth (``*.pdf``,
``~$*``); one with ``/`` against the whole relative path (``archive/**``, ``**/old/*.xls``,
``/notes.txt``: only at the top). A trailing ``/`` is ignored (``archive/`` = ``archive``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kotae.errors import ConfigError

__all__ = ["Found", "Selection", "compile_glob", "iter_files", "walk"]

# Lower-case names of OS and editor files that are never documents.
JUNK_NAMES = {
    "thumbs.db": "Windows thumbnail cache",
    "ehthumbs.db": "Windows thumbnail cache",
    "desktop.ini": "Windows folder settings",
    ".ds_store": "macOS folder settings",
}


@dataclass(frozen=True, slots=True)
class Found:
    """What a walk over the ingested paths met: a file to ingest, or a ``problem``
    (a symbolic link that leaves its folder, a folder that cannot be listed, or a file or
    folder skipped on purpose: ``message`` then says why)."""

    path: Path
    problem: str = ""  # "" = a file to ingest, else "refused", "unreadable" or "skipped"
    message: str = ""


def _normal(pattern: str) -> str:
    """``\\`` as ``/``; no ``./``, no leading or trailing ``/`` (a leading one anchors)."""
    return pattern.strip().replace("\\", "/").removeprefix("./").strip("/")


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A glob (see the module docstring) as a case-insensitive regular expression."""
    text = _normal(pattern)
    if not text:
        raise ConfigError(f"empty include/exclude pattern {pattern!r} / 空のパターンです")
    out, i = [], 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        elif text[i] == "[" and (end := text.find("]", i + 2)) != -1:
            body = text[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(out), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Glob:
    text: str
    regex: re.Pattern[str]
    by_name: bool  # no "/": matched against the name at any depth

    def matches(self, rel: str, folder: bool = False) -> bool:
        if self.by_name:
            return self.regex.fullmatch(rel.rsplit("/", 1)[-1]) is not None
        if self.regex.fullmatch(rel):
            return True
        return folder and self.regex.fullmatch(rel + "/") is not None  # "a/**" takes "a"


def _globs(patterns: Sequence[str]) -> tuple[_Glob, ...]:
    return tuple(
        _Glob(p, compile_glob(p), "/" not in p.strip().replace("\\", "/").rstrip("/"))
        for p in patterns
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """Which files of a walk are ingested; the others are skipped with a reason."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    _include: tuple[_Glob, ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[_Glob, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include", _globs(self.include))
        object.__setattr__(self, "_exclude", _globs(self.exclude))

    def skip_file(self, rel: str, given: bool = False) -> str:
        """Why the file at ``rel`` is skipped, or ``""``. A file named on the command line
        (``given``) is read even if hidden, but junk and patterns still apply."""
        name = rel.rsplit("/", 1)[-1]
        lower = name.lower()
        if lower in JUNK_NAMES:
            return f"system file ({JUNK_NAMES[lower]})"
        if name.startswith("~$"):
            return "Office lock file"
        if lower.endswith(".tmp"):
            return "temporary file"
        if name.startswith(".") and not given:
            return "hidden file"
        for glob in self._exclude:
            if glob.matches(rel):
                return f"excluded by {glob.text!r}"
        if self._include and not any(g.matches(rel) for g in self._include):
            return "not matched by --include"
        return ""

    def skip_folder(self, rel: str) -> str:
        """Why the folder at ``rel`` is not walked at all, or ``""``."""
        if rel.rsplit("/", 1)[-1].startswith("."):
            return "hidden folder"
        for glob in self._exclude:
            if glob.matches(rel, folder=True):
                return f"excluded by {glob.text!r}"
        return ""


def iter_files(paths: Sequence[Path], skip: Path | None = None) -> Iterator[Path]:
    """Files under ``paths`` in a stable order, junk, hidden files and the KB left out."""
    return (f.path for f in walk(paths, skip) if not f.problem)


def walk(
    paths: Sequence[Path],
    skip: Path | None = None,
    follow_symlinks: bool = False,
    selection: Selection | None = None,
) -> Iterator[Found]:
    """Files under ``paths`` (stable order, ``skip`` left out), skipped files and problems.

    A symbolic link whose target lies outside the folder being walked is not followed
    (a ``refused`` problem) unless ``follow_symlinks``; a folder that cannot be listed is an
    ``unreadable`` problem. A path given itself is always read, link or not, unless junk or
    excluded.
    """
    chosen = selection or Selection()
    for root in paths:
        if root.is_file():
            reason = chosen.skip_file(root.name, given=True)
            yield Found(root.resolve(), "skipped" if reason else "", reason)
            continue
        yield from _walk_folder(root, skip, follow_symlinks, chosen)


def _walk_folder(
    root: Path, skip: Path | None, follow_symlinks: bool, chosen: Selection
) -> Iterator[Found]:
    top = root.resolve()
    errors: list[OSError] = []
    visited: set[Path] = {top}
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=True):
        yield from (_unlisted(e) for e in errors)
        errors.clear()
        here = top / os.path.relpath(dirpath, root)  # a followed link's files stay under top
        kept = []
        for d in sorted(dirnames):
            if skip is not None and here / d == skip:
                continue
            if reason := chosen.skip_folder((here / d).relative_to(top).as_posix()):
                yield Found(here / d, "skipped", reason)
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
            yield from _file(Path(dirpath) / name, here / name, top, follow_symlinks, chosen)
    yield from (_unlisted(e) for e in errors)


def _file(
    link: Path, path: Path, top: Path, follow_symlinks: bool, chosen: Selection
) -> Iterator[Found]:
    if reason := chosen.skip_file(path.relative_to(top).as_posix()):
        yield Found(path, "skipped", reason)
        return
    if link.is_symlink() and not follow_symlinks:
        target = link.resolve()
        if not target.is_relative_to(top):
            yield _refused_link(path, target, top)
            return
    yield Found(path)


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
