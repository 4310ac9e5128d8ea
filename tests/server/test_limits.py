"""[server] limits: rate limit per key with Retry-After, CORS only when configured, uploads'
own size limit, the loopback rule."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kotae.config import load_settings
from kotae.errors import ConfigError
from kotae.kb import KnowledgeBase
from kotae.security.auth import create_key, revoke_key
from kotae.server.app import check_bind, create_app, is_loopback
from kotae.server.limits import RateLimiter
from tests.server.conftest import KB_NAME


@pytest.fixture
def kb_copy(
    service_template: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    template, keys = service_template
    path = tmp_path / KB_NAME
    shutil.copytree(template, path)
    return path, keys


def client_with(path: Path, server: str) -> Iterator[TestClient]:
    config = path / "kotae.toml"
    config.write_text(config.read_text("utf-8") + f"\n[server]\n{server}\n", "utf-8")
    with TestClient(create_app(load_settings(config), path, check=False)) as client:
        yield client


def test_rate_limit_per_key_with_retry_after(kb_copy: tuple[Path, dict[str, str]]) -> None:
    path, keys = kb_copy
    for client in client_with(path, "rate_limit_per_minute = 3"):
        sato = {"Authorization": f"Bearer {keys['sato']}"}
        rita = {"Authorization": f"Bearer {keys['rita']}"}
        codes = [
            client.get("/api/search", params={"q": "経費"}, headers=sato).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/api/search", params={"q": "経費"}, headers=sato)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
        # another key has its own bucket
        assert client.get("/api/search", params={"q": "経費"}, headers=rita).status_code == 200


def test_the_bucket_refills_with_time() -> None:
    limiter = RateLimiter(60)  # one a second
    assert all(limiter.check("k", now=0.0) == 0 for _ in range(60))
    wait = limiter.check("k", now=0.0)
    assert 0.9 < wait <= 1.0 and RateLimiter.retry_after(wait) == "1"
    assert limiter.check("k", now=1.01) == 0.0
    assert RateLimiter(0).check("k") == 0.0  # 0 = no limit


def test_cors_only_for_the_configured_origins(kb_copy: tuple[Path, dict[str, str]]) -> None:
    path, _ = kb_copy
    for client in client_with(path, 'cors_origins = ["https://intra.example.co.jp"]'):
        preflight = {"Access-Control-Request-Method": "POST"}
        ok = client.options(
            "/v1/chat/completions", headers={"Origin": "https://intra.example.co.jp", **preflight}
        )
        assert ok.headers["access-control-allow-origin"] == "https://intra.example.co.jp"
        other = client.options(
            "/v1/chat/completions", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in other.headers


def test_uploads_have_their_own_limit(kb_copy: tuple[Path, dict[str, str]]) -> None:
    path, keys = kb_copy
    for client in client_with(path, "max_body_bytes = 2048\nmax_upload_bytes = 4096"):
        admin = {"Authorization": f"Bearer {keys['aoki']}"}
        small = client.post(
            "/api/documents", files=[("files", ("a.md", "# A\n\n" + "本文。" * 200))], headers=admin
        )
        assert small.status_code == 202, small.text  # over max_body_bytes, within the upload's
        big = client.post(
            "/api/documents",
            files=[("files", ("b.md", "# B\n\n" + "本文。" * 2000))],
            headers=admin,
        )
        assert big.status_code == 413 and "max_upload_bytes" in big.json()["error"]["message"]
        assert not (path / "uploads").exists() or len(list((path / "uploads").iterdir())) == 1


def test_listening_beyond_loopback_needs_an_admin_key(kb_copy: tuple[Path, dict[str, str]]) -> None:
    path, _ = kb_copy
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    with KnowledgeBase(path, sync=False) as kb:
        check_bind("0.0.0.0", kb)  # the template has a valid admin key (aoki)
        for key in kb.catalog.api_keys("aoki"):
            revoke_key(kb.catalog, str(key["id"]))
        check_bind("127.0.0.1", kb)
        with pytest.raises(ConfigError, match="kotae keys create"):
            check_bind("0.0.0.0", kb)
        create_key(kb.catalog, "aoki")
        check_bind("0.0.0.0", kb)
