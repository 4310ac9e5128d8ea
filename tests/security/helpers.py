"""Helpers of the encryption tests: keys, a CLI runner, canary scans, file snapshots."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

PASSPHRASE = "correct horse battery staple 正しい馬"
RAW_KEY = "5f" * 32
OTHER_KEY = "a1" * 32

# a distinctive text in every document of the canary tests: ASCII, Japanese, full width
CANARY = "QZXCANARY7731"
CANARY_JA = "極秘合言葉ほしぞらカナリア"
CANARY_WIDE = "ＷＩＤＥＣＡＮＡＲＹ４２"  # NFKC: WIDECANARY42


def needles() -> dict[str, bytes]:
    """Every byte form a canary could take on disk: UTF-8, UTF-16 (LE/BE), NFKC, lower case
    (the analyzer's form of an ASCII word)."""
    texts = {
        CANARY,
        CANARY.lower(),
        CANARY_JA,
        CANARY_WIDE,
        unicodedata.normalize("NFKC", CANARY_WIDE),
    }
    texts.add(unicodedata.normalize("NFKC", CANARY_WIDE).lower())
    texts.add(CANARY_JA[:6])  # a piece, as a chunk or term may split it
    out: dict[str, bytes] = {}
    for text in texts:
        for codec in ("utf-8", "utf-16-le", "utf-16-be"):
            out[f"{text}/{codec}"] = text.encode(codec)
    return out


def canaries_in(folder: Path) -> list[str]:
    """``file: form`` for every canary form found in any file under ``folder``."""
    found = []
    forms = needles()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found += [f"{path.relative_to(folder)}: {name}" for name, b in forms.items() if b in data]
    return found


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def kotae(
    *args: str, kb: Path | None = None, key: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kotae.cli.main", *args]
    if kb is not None:
        cmd += ["--kb", str(kb)]
    full = {k: v for k, v in os.environ.items() if not k.startswith(("KOTAE_MASTER", "KOTAE_NEW"))}
    full.pop("KOTAE_KB", None)
    if key is not None:
        full["KOTAE_MASTER_KEY"] = key
    full.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=180)
