"""``kotae rekey``: change the master key of an encrypted knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kotae.cli.common import KbOption, console
from kotae.kb import find_kb_dir
from kotae.messages import t


def register(app: typer.Typer) -> None:
    app.command()(rekey)


def rekey(
    kb: KbOption = None,
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="A file holding the new master key (else KOTAE_NEW_MASTER_KEY or "
            "KOTAE_NEW_MASTER_KEY_FILE).",
        ),
    ] = None,
) -> None:
    """Re-encrypt an encrypted knowledge base with a new master key, atomically: a kill
    at any point leaves it readable with the old key or the new one (run it again to
    finish). The current key comes from KOTAE_MASTER_KEY / KOTAE_MASTER_KEY_FILE /
    [security] key_file. Stop `kotae serve` first.

    Example: KOTAE_NEW_MASTER_KEY_FILE=new.key kotae rekey --kb ./kb
    """
    from kotae.security.rekey import new_cipher, rekey_kb

    path = find_kb_dir(kb)
    report = rekey_kb(path, new_cipher(path, new_key_file))
    key = "rekey_resumed" if report.resumed else "rekey_done"
    console.print(t(key, path=str(path), files=report.files))
