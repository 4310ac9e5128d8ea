"""Single sign-on end to end against a real OpenID Connect provider on 127.0.0.1.

The provider is ``oidc-provider-mock`` (Authlib + Flask), started as a process by the test:
discovery, JWKS, the code flow with PKCE, signed ID tokens and userinfo are its own. The
browser is played by the test: kotae's ``/ui/oidc/login`` redirects to the provider, the
login form is posted there (the mock logs in whoever's ``sub`` is posted), the provider
redirects back to kotae's callback, which validates and opens a session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kotae.kb import KnowledgeBase
from kotae.security.auth import get_user
from tests.server.conftest import KB_NAME, Service, start
from tests.server.running import free_port

SUB = "yamada-0001"
CLAIMS: dict[str, object] = {
    "sub": SUB,
    "preferred_username": "yamada",
    "name": "山田太郎",
    "groups": ["exec-team", "everyone"],
    "kotae_role": ["kotae-editors"],
}
LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("oidc") / "provider.log").open("wb")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "oidc_provider_mock", "-p", str(port)),
            *("--user-claims", json.dumps(CLAIMS, ensure_ascii=False)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the OIDC provider did not start: {log.name}")
            time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def sso(
    provider: str,
    service_template: tuple[Path, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Service]:
    template, keys = service_template
    path = tmp_path / KB_NAME
    shutil.copytree(template, path)
    monkeypatch.setenv("KOTAE_TEST_OIDC_SECRET", "s3cret-for-the-mock")
    config = path / "kotae.toml"
    config.write_text(
        config.read_text("utf-8")
        + f"""
[server.oidc]
issuer = "{provider}"
client_id = "kotae-test"
client_secret_env = "KOTAE_TEST_OIDC_SECRET"
label = "社内 SSO"
groups_claim = "groups"
group_map = {{ "exec-team" = "executives" }}
role_claim = "kotae_role"
role_map = {{ "kotae-editors" = "editor" }}
""",
        "utf-8",
    )
    for service in start(path, keys):
        service.client.base_url = LOCAL  # type: ignore[assignment]
        yield service


def provider_login(authorize_url: str, sub: str) -> httpx.Response:
    """What the person does at the provider: post the login form (the mock's ``sub``)."""
    return httpx.post(authorize_url, data={"sub": sub}, follow_redirects=False)


def test_config_names_the_provider(sso: Service) -> None:
    assert sso.client.get("/ui/config").json() == {"oidc": True, "oidc_label": "社内 SSO"}


def test_sso_login_end_to_end(sso: Service, provider: str) -> None:
    client = sso.client
    start_login = client.get("/ui/oidc/login", follow_redirects=False)
    assert start_login.status_code == 302
    authorize = start_login.headers["location"]
    assert authorize.startswith(provider)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == [f"{LOCAL}/ui/oidc/callback"]
    back = provider_login(authorize, SUB)
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(f"{LOCAL}/ui/oidc/callback?")
    done = client.get(callback, follow_redirects=False)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/"
    assert "kotae_session=" in done.headers["set-cookie"]
    session = client.get("/ui/session")
    assert session.status_code == 200, session.text
    body = session.json()
    assert body["user"] == "yamada" and body["via"] == "oidc"
    assert body["groups"] == ["executives"]  # "everyone" is not mapped: dropped
    assert body["role"] == "editor"
    # the session works on the API, as yamada
    assert client.get("/api/documents").status_code == 200
    with KnowledgeBase(sso.path, sync=False) as kb:
        user = get_user(kb.catalog, "yamada")
        assert user is not None and user.groups == ("executives",)
        assert kb.catalog.oidc_subject("yamada") == f"{provider} {SUB}"
        actions = [(r["action"], r["detail"]) for r in kb.catalog.audit_rows()]
    assert ("auth.login", {"via": "oidc"}) in actions
    # the code was used once: replaying the callback fails
    client.cookies.clear()
    assert client.get(callback, follow_redirects=False).status_code == 401


def test_a_wrong_state_is_refused(sso: Service) -> None:
    client = sso.client
    start_login = client.get("/ui/oidc/login", follow_redirects=False)
    back = provider_login(start_login.headers["location"], SUB)
    callback = urlsplit(back.headers["location"])
    code = parse_qs(callback.query)["code"][0]
    wrong = client.get(
        "/ui/oidc/callback", params={"code": code, "state": "forged"}, follow_redirects=False
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "oidc_failed"
    assert "kotae_session" not in client.cookies
    # the right state from another browser (without the state cookie) fails too
    client.cookies.clear()
    other = client.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert other.status_code == 401
    assert client.get("/ui/session").status_code == 401


def test_a_user_linked_to_another_subject_is_refused(sso: Service, provider: str) -> None:
    with KnowledgeBase(sso.path, sync=False) as kb:
        kb.set_user("yamada", [])
        kb.catalog.set_oidc_subject("yamada", f"{provider} someone-else")
    client = sso.client
    start_login = client.get("/ui/oidc/login", follow_redirects=False)
    back = provider_login(start_login.headers["location"], SUB)
    done = client.get(back.headers["location"], follow_redirects=False)
    assert done.status_code == 403 and done.json()["error"]["code"] == "oidc_failed"
    assert client.get("/ui/session").status_code == 401
