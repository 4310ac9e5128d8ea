"""``kotae rekey``: give an encrypted knowledge base a new master key, atomically.

1. Under the write lock, with the catalog open with the old key, every sealed file
   (``uploads/``) gets a whole copy sealed with the new key beside it.
2. ``PRAGMA rekey`` re-encrypts the SQLCipher catalog in one transaction: the switch.
3. The new copies are renamed over the old files (:func:`kotae.security.sealed.settle`).

A kill before step 2 commits leaves the old key working (the new copies are removed by
the next writer); after, the new key works, and the files not yet renamed are read from
their new copy. Run again after a kill, ``rekey`` finishes what the first run began.
The salt of ``[security]`` does not change, so ``kotae.toml`` is not rewritten. Stop the
server first: its connections hold the old key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kotae.config import CONFIG_FILE, load_settings
from kotae.errors import EncryptionKeyError
from kotae.kb import KnowledgeBase
from kotae.security.crypto import Cipher, cipher_from_secret, kb_cipher, kdf_of, read_secret
from kotae.security.sealed import copy_for_rekey, settle

UPLOADS = "uploads"


@dataclass(frozen=True, slots=True)
class RekeyReport:
    files: int  # sealed files re-encrypted
    resumed: bool  # an interrupted rekey had already switched the catalog: finished it


def new_cipher(kb_path: Path, new_key_file: Path | None = None) -> Cipher:
    """The new key: ``new_key_file``, else ``$KOTAE_NEW_MASTER_KEY``, else
    ``$KOTAE_NEW_MASTER_KEY_FILE``."""
    settings = load_settings(kb_path / CONFIG_FILE)
    secret = read_secret(new_key_file, new=True)
    if secret is None:
        raise EncryptionKeyError(
            "give the new master key with KOTAE_NEW_MASTER_KEY, KOTAE_NEW_MASTER_KEY_FILE "
            "or --new-key-file",
            message_ja="新しいマスター鍵を KOTAE_NEW_MASTER_KEY、KOTAE_NEW_MASTER_KEY_FILE "
            "または --new-key-file で指定してください",
        )
    return cipher_from_secret(secret, kdf_of(settings.security))


def rekey_kb(kb_path: Path, new: Cipher, old: Cipher | None = None) -> RekeyReport:
    """Re-encrypt the knowledge base in ``kb_path`` from ``old`` (default: the key of the
    environment) to ``new``."""
    settings = load_settings(kb_path / CONFIG_FILE)
    if not settings.security.encrypted:
        raise EncryptionKeyError(
            f"{kb_path} is not encrypted: there is no key to change",
            message_ja=f"{kb_path} は暗号化されていないため、鍵を変更できません",
        )
    old = kb_cipher(kb_path, settings.security, old)
    assert old is not None
    if old.key_id == new.key_id:
        raise EncryptionKeyError(
            "the new master key is the current one: nothing to change",
            message_ja="新しいマスター鍵が現在の鍵と同じです。変更はありません",
        )
    uploads = kb_path / UPLOADS
    try:
        kb = KnowledgeBase(kb_path, settings, sync=False, cipher=old)
    except EncryptionKeyError as wrong_old:
        try:  # an earlier run was killed after the catalog switched: finish it
            kb = KnowledgeBase(kb_path, settings, sync=False, cipher=new)
        except EncryptionKeyError:
            raise wrong_old from None
        with kb, kb.write_lock():
            settle(uploads, new)
        return RekeyReport(0, resumed=True)
    with kb, kb.write_lock():
        settle(uploads, old)
        count = copy_for_rekey(uploads, old, new)
        con = kb.catalog.con
        con.execute(f"PRAGMA rekey = {new.pragma_key()}")
        # no frame sealed with the old key stays in the write-ahead log
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        kb.catalog.cipher = new
        kb.cipher = new
        settle(uploads, new)
    return RekeyReport(count, resumed=False)
