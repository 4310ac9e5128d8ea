"""Sealed files: the files an encrypted knowledge base keeps beside its catalog (uploads).

``FILE.kenc`` holds ``FILE``'s bytes sealed with the knowledge base's file key
(:meth:`kotae.security.crypto.Cipher.seal`: AES-256-GCM, the key's id in the header).
Every write goes to a temporary name, is flushed to disk, then renamed, so a file is
always whole.

During ``kotae rekey`` each ``FILE.kenc`` first gets a copy sealed with the new key,
``FILE.kenc.rekey``; the catalog then switches key in one transaction; then each copy is
renamed over its file. Whatever the point a kill stops it at, each file has a whole copy
sealed with the key that opens the catalog: :func:`read_sealed` picks the copy whose
header names the key in use, and :func:`settle` (run by every writer) keeps that copy
and removes the other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from kotae.security.crypto import SEALED_SUFFIX, Cipher

REKEY_SUFFIX = ".rekey"
TMP_SUFFIX = ".tmp"


def _write_whole(target: Path, data: bytes) -> None:
    tmp = target.with_name(target.name + TMP_SUFFIX)
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sealed_path(path: Path) -> Path:
    return path.with_name(path.name + SEALED_SUFFIX)


def seal_file(path: Path, cipher: Cipher) -> Path:
    """Replace the plaintext ``path`` by ``path.kenc`` (the sealed copy is on disk before
    the plaintext goes); returns the sealed path."""
    target = sealed_path(path)
    _write_whole(target, cipher.seal(path.read_bytes()))
    _sync_dir(target.parent)
    path.unlink()
    return target


def read_sealed(path: Path, cipher: Cipher) -> bytes:
    """The plaintext of ``path`` (a ``.kenc`` file, or the plain name it seals), from
    whichever copy ``cipher`` sealed."""
    if not path.name.endswith(SEALED_SUFFIX):
        path = sealed_path(path)
    rekeyed = path.with_name(path.name + REKEY_SUFFIX)
    for candidate in (path, rekeyed):
        try:
            blob = candidate.read_bytes()
        except FileNotFoundError:
            continue
        if cipher.sealed_by_me(blob):
            return cipher.unseal(blob)
    return cipher.unseal(path.read_bytes())  # the error that says why


def sealed_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(root.rglob(f"*{SEALED_SUFFIX}"))


def plain_files(root: Path) -> list[Path]:
    """Files under ``root`` that are neither sealed nor a sealing's leftovers."""
    if not root.is_dir():
        return []
    leftovers = (SEALED_SUFFIX, REKEY_SUFFIX, TMP_SUFFIX)
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(leftovers))


def settle(root: Path, cipher: Cipher) -> None:
    """After an interrupted sealing or rekey: keep, of each file, the copy ``cipher``
    sealed (renamed into place), remove the other and any half-written temporary."""
    if not root.is_dir():
        return
    for tmp in sorted(root.rglob(f"*{TMP_SUFFIX}")):
        tmp.unlink(missing_ok=True)
    for copy in sorted(root.rglob(f"*{SEALED_SUFFIX}{REKEY_SUFFIX}")):
        target = copy.with_name(copy.name[: -len(REKEY_SUFFIX)])
        if cipher.sealed_by_me(copy.read_bytes()[:64]):
            os.replace(copy, target)
        else:
            copy.unlink()
        _sync_dir(copy.parent)
    for path in plain_files(root):
        if sealed_path(path).exists():  # sealed, killed before the plaintext was removed
            path.unlink()


def seal_all(root: Path, cipher: Cipher) -> int:
    """Settle, then seal every plaintext file under ``root``; returns how many."""
    settle(root, cipher)
    files = plain_files(root)
    for path in files:
        seal_file(path, cipher)
    return len(files)


def copy_for_rekey(root: Path, old: Cipher, new: Cipher) -> int:
    """Step 1 of a rekey: beside each file sealed by ``old``, a whole copy sealed by
    ``new`` (``FILE.kenc.rekey``); returns how many."""
    count = 0
    for path in sealed_files(root):
        blob = path.read_bytes()
        if new.sealed_by_me(blob):
            continue
        rekeyed = path.with_name(path.name + REKEY_SUFFIX)
        _write_whole(rekeyed, new.seal(old.unseal(blob)))
        count += 1
    for folder in {p.parent for p in sealed_files(root)}:
        _sync_dir(folder)
    return count
