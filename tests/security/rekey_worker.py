"""Change the key of an encrypted knowledge base: the victim of the rekey kill test.

    python tests/security/rekey_worker.py KB_DIR   (keys: KOTAE_MASTER_KEY, KOTAE_NEW_MASTER_KEY)

Prints ``ready`` once imported (the test's clock for a random SIGKILL starts there), then
``done`` when the rekey returned.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kotae.config import CONFIG_FILE, load_settings
from kotae.security.crypto import kb_cipher
from kotae.security.rekey import new_cipher, rekey_kb


def main(argv: list[str]) -> int:
    kb_dir = Path(argv[0])
    new = new_cipher(kb_dir)  # both keys derived before the clock starts
    old = kb_cipher(kb_dir, load_settings(kb_dir / CONFIG_FILE).security)
    print("ready", flush=True)
    rekey_kb(kb_dir, new, old)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
