"""The service under test: ``create_app`` over a real knowledge base (the samples), in-process.

``service`` gives a fresh copy of a knowledge base built once per session, with users of
every role and API keys in every state, served by a :class:`fastapi.testclient.TestClient`
(the app's lifespan runs: backends, writer thread). The generator is the scripted ``fake``
backend (a test double for the model weights, not for kotae's code).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kotae.config import load_settings
from kotae.kb import KnowledgeBase, init_kb
from kotae.security.auth import create_key, now_utc, revoke_key, set_role
from tests.conftest import SAMPLES

KB_NAME = "kb"
MODEL = f"kotae/{KB_NAME}"
GENERATOR_MODEL = "fake-chat"

# name -> (role, groups)
USERS: dict[str, tuple[str, list[str]]] = {
    "aoki": ("admin", []),
    "eto": ("editor", ["executives"]),
    "endo": ("editor", ["sales"]),
    "sato": ("reader", ["executives"]),
    "rita": ("reader", []),
}
SECRET_DOC = "役員会議事録"  # title of the executives-only sample (samples/docs/confidential)
SECRET_QUERY = "SP-200の価格改定"


@dataclass
class Service:
    client: TestClient
    path: Path
    keys: dict[str, str]  # "sato", "sato:expired", "sato:revoked", ...
    extra: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str | None) -> dict[str, str]:
        """Headers of ``who`` (a user, or ``user:state``); ``None``: no credentials."""
        return {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}

    def kb(self) -> KnowledgeBase:
        return KnowledgeBase(self.path, sync=False)


def _config(generator: bool) -> str:
    text = "[server]\nrate_limit_per_minute = 0\n"
    if generator:
        text += f'[generator]\nbackend = "fake"\nmodel = "{GENERATOR_MODEL}"\n'
    return text


@pytest.fixture(scope="session")
def service_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("service") / KB_NAME
    kb = init_kb(path)
    try:
        kb.ingest(sorted(p for p in SAMPLES.glob("*.*")))
        kb.ingest([SAMPLES / "confidential"], groups=["executives"])
        keys: dict[str, str] = {}
        for name, (role, groups) in USERS.items():
            kb.set_user(name, groups)
            set_role(kb.catalog, name, role)
            keys[name] = create_key(kb.catalog, name, name="test")[0]
        past = now_utc() - timedelta(days=1)
        expired, _ = create_key(kb.catalog, "sato", name="old")
        # an expiry in the past cannot be asked for: written through the store directly
        kb.catalog.con.execute(
            "UPDATE api_keys SET expires_at=? WHERE prefix=?", (past.isoformat(), expired[6:18])
        )
        keys["sato:expired"] = expired
        revoked, record = create_key(kb.catalog, "sato", name="leaked")
        revoke_key(kb.catalog, str(record.id))
        keys["sato:revoked"] = revoked
        keys["nobody"] = "kotae_000000000000_" + "A" * 43
    finally:
        kb.close()
    return path, keys


def start(path: Path, keys: dict[str, str], *, generator: bool = True) -> Iterator[Service]:
    from kotae.server.app import create_app

    config = path / "kotae.toml"
    config.write_text(config.read_text("utf-8") + "\n" + _config(generator), "utf-8")
    app = create_app(load_settings(config), path)
    with TestClient(app) as client:
        yield Service(client, path, keys)


@pytest.fixture
def service(service_template: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[Service]:
    template, keys = service_template
    path = tmp_path / KB_NAME
    shutil.copytree(template, path)
    yield from start(path, keys)
