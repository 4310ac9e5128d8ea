"""Encryption at rest: the master key, the keys derived from it, and sealed files.

A knowledge base created with ``kotae init --encrypt`` records ``[security] encrypted =
true`` and a random KDF salt in its ``kotae.toml``. Its master key comes from (first set):
a ``--key-file`` option, ``KOTAE_MASTER_KEY`` (the key itself) or ``KOTAE_MASTER_KEY_FILE``
(a file holding it). A key is either 64 hexadecimal characters (a raw 256-bit key, used
as is) or a passphrase (stretched with scrypt over the knowledge base's salt).

From the master key, HKDF-SHA256 derives one key per use, so no two uses share a key:

- ``db_key``: SQLCipher's raw key for ``kotae.db`` (``PRAGMA key = "x'…'"``: SQLCipher
  skips its own per-connection PBKDF2, the stretching was done once here);
- ``file_key``: AES-256-GCM for the files kotae keeps beside the catalog (uploads);
- ``key_id``: 8 public bytes naming the key in each sealed file's header, so a file
  sealed with another key (an interrupted ``kotae rekey``) is recognised, never
  mistaken for a damaged one.

A key is never logged, echoed or put in an error message: :class:`Cipher`'s ``repr``
shows its id only.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from kotae.errors import EncryptionKeyError, KnowledgeBaseError

if TYPE_CHECKING:
    from kotae.config import SecuritySettings

ENV_KEY = "KOTAE_MASTER_KEY"
ENV_KEY_FILE = "KOTAE_MASTER_KEY_FILE"
ENV_NEW_KEY = "KOTAE_NEW_MASTER_KEY"
ENV_NEW_KEY_FILE = "KOTAE_NEW_MASTER_KEY_FILE"

MAGIC = b"KOTAEENC1"  # sealed-file format, version 1
KEY_ID_BYTES = 8
NONCE_BYTES = 12
SEALED_SUFFIX = ".kenc"  # a sealed upload: FILE.kenc holds FILE's bytes
MIN_PASSPHRASE = 8
_RAW_KEY = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class KdfParams:
    """How a passphrase becomes a key: scrypt over this salt (recorded in kotae.toml)."""

    salt: str  # hex, 16 random bytes per knowledge base, kept across rekeys
    n: int = 2**15
    r: int = 8
    p: int = 1

    @classmethod
    def new(cls) -> KdfParams:
        return cls(secrets.token_hex(16))


def _hkdf(master: bytes, info: bytes, length: int = 32) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master)


@dataclass(frozen=True, slots=True)
class Cipher:
    """A knowledge base's master key and the keys derived from it."""

    master: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Cipher(key_id={self.key_id.hex()})"

    @property
    def key_id(self) -> bytes:
        return _hkdf(self.master, b"kotae/key-id/v1", KEY_ID_BYTES)

    @property
    def db_key(self) -> bytes:
        return _hkdf(self.master, b"kotae/sqlcipher/v1")

    @property
    def file_key(self) -> bytes:
        return _hkdf(self.master, b"kotae/files/v1")

    def pragma_key(self) -> str:
        """The value of ``PRAGMA key`` / ``PRAGMA rekey`` (a raw key: no per-open KDF)."""
        return f"\"x'{self.db_key.hex()}'\""

    # -- sealed files -----------------------------------------------------------------
    def seal(self, data: bytes) -> bytes:
        """``MAGIC | key id | nonce | AES-256-GCM(data)``, the header authenticated too."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        header = MAGIC + self.key_id
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + AESGCM(self.file_key).encrypt(nonce, data, header)

    def sealed_by_me(self, blob: bytes) -> bool:
        """Whether ``blob`` is a sealed file of this key (by its header; not verified)."""
        return blob[: len(MAGIC) + KEY_ID_BYTES] == MAGIC + self.key_id

    def unseal(self, blob: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not blob.startswith(MAGIC):
            raise KnowledgeBaseError("not a file sealed by kotae")
        if not self.sealed_by_me(blob):
            raise EncryptionKeyError(
                "this file was sealed with another key",
                message_ja="このファイルは別の鍵で暗号化されています",
            )
        start = len(MAGIC) + KEY_ID_BYTES
        nonce, body = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            return AESGCM(self.file_key).decrypt(nonce, body, blob[:start])
        except InvalidTag:
            raise KnowledgeBaseError(
                "a sealed file is damaged (its authentication tag does not match)",
                message_ja="暗号化されたファイルが破損しています（認証タグが一致しません）",
            ) from None


@lru_cache(maxsize=8)  # one scrypt per process, not one per connection or thread
def cipher_from_secret(secret: str, kdf: KdfParams) -> Cipher:
    """A raw key (64 hex characters) as is, else a passphrase stretched with scrypt."""
    secret = secret.strip("\r\n")
    if _RAW_KEY.fullmatch(secret.strip()):
        return Cipher(bytes.fromhex(secret.strip()))
    if len(secret) < MIN_PASSPHRASE:
        raise EncryptionKeyError(
            f"the master key is too short: give a passphrase of at least {MIN_PASSPHRASE} "
            "characters or 64 hexadecimal characters",
            message_ja=f"マスター鍵が短すぎます。{MIN_PASSPHRASE} 文字以上のパスフレーズか、"
            "64 桁の 16 進数を指定してください",
        )
    derived = hashlib.scrypt(
        secret.encode("utf-8"),
        salt=bytes.fromhex(kdf.salt),
        n=kdf.n,
        r=kdf.r,
        p=kdf.p,
        maxmem=256 * kdf.n * kdf.r + 2**20,
        dklen=32,
    )
    return Cipher(derived)


def read_secret(key_file: Path | str | None = None, *, new: bool = False) -> str | None:
    """The key text: ``key_file``, else ``$KOTAE_MASTER_KEY``, else the file named by
    ``$KOTAE_MASTER_KEY_FILE`` (``new``: the ``KOTAE_NEW_…`` pair); ``None`` when none."""
    env_key, env_file = (ENV_NEW_KEY, ENV_NEW_KEY_FILE) if new else (ENV_KEY, ENV_KEY_FILE)
    if key_file:
        return _read_key_file(Path(key_file))
    value = os.environ.get(env_key)
    if value:
        if os.environ.get(env_file):
            raise EncryptionKeyError(
                f"both {env_key} and {env_file} are set: keep one",
                message_ja=f"{env_key} と {env_file} の両方が設定されています。"
                "どちらか一方にしてください",
            )
        return value
    named = os.environ.get(env_file)
    return _read_key_file(Path(named)) if named else None


def _read_key_file(path: Path) -> str:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise EncryptionKeyError(
            f"cannot read the key file {path}: {reason}",
            message_ja=f"鍵ファイル {path} を読めません: {reason}",
        ) from None
    return text.rstrip("\r\n")


def kdf_of(security: SecuritySettings) -> KdfParams:
    return KdfParams(security.salt, security.scrypt_n, security.scrypt_r, security.scrypt_p)


def kb_cipher(
    kb_path: Path, security: SecuritySettings, given: Cipher | None = None
) -> Cipher | None:
    """The cipher of the knowledge base in ``kb_path`` (``None``: a plain one).

    The key comes from ``given``, else ``$KOTAE_MASTER_KEY``, else
    ``$KOTAE_MASTER_KEY_FILE``, else ``[security] key_file`` (relative to ``kb_path``).
    A key for a plain knowledge base, or none for an encrypted one, is an
    :class:`EncryptionKeyError`.
    """
    if not security.encrypted:
        if given is not None or read_secret() is not None:
            raise key_for_plain(kb_path)
        return None
    require_crypto_libraries()
    if given is not None:
        return given
    secret = read_secret()
    if secret is None and security.key_file:
        secret = _read_key_file(kb_path / Path(security.key_file).expanduser())
    if secret is None:
        raise missing_key(kb_path)
    return cipher_from_secret(secret, kdf_of(security))


def missing_key(path: Path) -> EncryptionKeyError:
    return EncryptionKeyError(
        f"{path} is encrypted: give its master key with {ENV_KEY}, {ENV_KEY_FILE} "
        "or [security] key_file",
        message_ja=f"{path} は暗号化されています。マスター鍵を {ENV_KEY}、{ENV_KEY_FILE} "
        "または [security] key_file で指定してください",
    )


def wrong_key(path: Path) -> EncryptionKeyError:
    return EncryptionKeyError(
        f"the master key does not open {path}: check {ENV_KEY} / {ENV_KEY_FILE} / "
        "[security] key_file (nothing was changed)",
        message_ja=f"マスター鍵が {path} に合いません。{ENV_KEY} / {ENV_KEY_FILE} / "
        "[security] key_file を確認してください（何も変更していません）",
    )


def key_for_plain(path: Path) -> EncryptionKeyError:
    return EncryptionKeyError(
        f"{path} is not encrypted but a master key was given: unset {ENV_KEY} / "
        f"{ENV_KEY_FILE} (or create an encrypted one with `kotae init DIR --encrypt`)",
        message_ja=f"{path} は暗号化されていませんが、マスター鍵が指定されています。"
        f"{ENV_KEY} / {ENV_KEY_FILE} を外してください"
        "（暗号化するには `kotae init DIR --encrypt` で作成します）",
    )


def require_crypto_libraries() -> None:
    """Fail clearly when the ``encrypt`` extra is not installed."""
    try:
        import cryptography  # noqa: F401
        import sqlcipher3  # noqa: F401
    except ImportError:
        raise EncryptionKeyError(
            "encrypted knowledge bases need SQLCipher: pip install 'kotae[encrypt]'",
            message_ja="暗号化されたナレッジベースには SQLCipher が必要です: "
            "pip install 'kotae[encrypt]'",
        ) from None


def encrypted_kb_settings(
    kb_path: Path, toml_text: str, key_file: Path | None
) -> tuple[Cipher | None, str]:
    """For ``kotae init --encrypt``: the new knowledge base's cipher and its ``kotae.toml``
    text with a ``[security]`` section (a fresh salt; ``key_file`` recorded when given).

    An existing encrypted knowledge base gives ``(None, toml_text)`` (it is opened with
    its key as usual); an existing plain one is an error: it is not converted in place.
    """
    import json

    from kotae.config import CONFIG_FILE, load_settings
    from kotae.errors import ConfigError

    require_crypto_libraries()
    if (kb_path / "kotae.db").exists():
        if load_settings(kb_path / CONFIG_FILE).security.encrypted:
            return None, toml_text
        raise KnowledgeBaseError(
            f"{kb_path} already holds a knowledge base that is not encrypted: create an "
            "encrypted one in another folder and ingest the documents there",
            message_ja=f"{kb_path} には暗号化されていないナレッジベースがあります。"
            "別のフォルダーに暗号化したものを作成し、文書を取り込み直してください",
        )
    if re.search(r"^\s*\[security\]", toml_text, re.M):
        raise ConfigError(f"{kb_path / CONFIG_FILE} already has a [security] section")
    secret = read_secret(key_file)
    if secret is None:
        raise EncryptionKeyError(
            f"--encrypt needs a master key: set {ENV_KEY} or {ENV_KEY_FILE}, or give --key-file",
            message_ja=f"--encrypt にはマスター鍵が必要です。{ENV_KEY} か {ENV_KEY_FILE} を"
            "設定するか、--key-file を指定してください",
        )
    kdf = KdfParams.new()
    cipher = cipher_from_secret(secret, kdf)
    lines = [
        "# Encryption at rest (docs/security.md). The master key is NOT stored here: it comes",
        f"# from {ENV_KEY}, {ENV_KEY_FILE} or key_file. The salt turns a passphrase into",
        "# the key: keep it (changing it makes the knowledge base unreadable).",
        "[security]",
        "encrypted = true",
        f'kdf = "scrypt"\nsalt = "{kdf.salt}"',
        f"scrypt_n = {kdf.n}\nscrypt_r = {kdf.r}\nscrypt_p = {kdf.p}",
    ]
    if key_file is not None:
        lines.append(f"key_file = {json.dumps(str(Path(key_file).resolve()))}")
    return cipher, toml_text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
