"""Web login (issue 14): passwords and API keys, the session cookie, CSRF, expiry, limits.

The service runs in-process over the sample knowledge base (``service``); the client talks
to ``http://127.0.0.1`` so that the cookie's ``auto`` Secure policy leaves it usable over
plain http, as a browser on the same machine would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kotae.kb import KnowledgeBase
from kotae.security.auth import now_utc, revoke_key, stamp
from kotae.security.passwords import hash_password, needs_rehash, verify_password
from kotae.security.sessions import list_sessions
from tests.server.conftest import SECRET_DOC, Service

PASSWORD = "correct horse battery staple"
LOCAL = "http://127.0.0.1"


@pytest.fixture
def web(service: Service) -> Iterator[Service]:
    service.client.base_url = LOCAL  # type: ignore[assignment]
    with service.kb() as kb:
        for name in ("aoki", "sato"):
            kb.catalog.set_password_hash(name, hash_password(PASSWORD))
    yield service


def login(client: TestClient, user: str = "sato", password: str = PASSWORD) -> Any:
    return client.post("/ui/login", json={"user": user, "password": password})


def logged_in(web: Service, user: str = "sato") -> dict[str, Any]:
    response = login(web.client, user)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def audit_actions(path: Path) -> list[tuple[str, dict[str, Any]]]:
    with KnowledgeBase(path, sync=False) as kb:
        return [(row["action"], row["detail"]) for row in kb.catalog.audit_rows()]


def documents_as_admin(web: Service) -> list[int]:
    response = web.client.get("/api/documents", headers=web.auth("aoki"))
    return sorted(d["id"] for d in response.json()["documents"])


# -- passwords ----------------------------------------------------------------------------
def test_passwords_are_argon2_hashes() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not a hash", PASSWORD)
    assert not needs_rehash(stored)
    assert needs_rehash("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")


# -- login ----------------------------------------------------------------------------------
def test_password_login_opens_a_session(web: Service) -> None:
    response = login(web.client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == "sato" and body["role"] == "reader"
    assert body["groups"] == ["executives"] and body["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("kotae_session=")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http to 127.0.0.1: auto leaves it off
    # the cookie authenticates /api and /v1 as sato, with sato's groups
    search = web.client.get("/api/search", params={"q": "役員会議事録 価格改定"})
    assert search.status_code == 200, search.text
    assert any(SECRET_DOC in hit["title"] for hit in search.json()["results"])
    assert web.client.get("/api/documents").status_code == 200
    assert web.client.get("/v1/models").status_code == 200
    session = web.client.get("/ui/session")
    assert session.status_code == 200
    assert session.json()["user"] == "sato" and session.json()["csrf_token"] == body["csrf_token"]
    actions = audit_actions(web.path)
    assert ("auth.login", {"via": "password"}) in actions


def test_api_key_login(web: Service) -> None:
    response = web.client.post("/ui/login", json={"api_key": web.keys["eto"]})
    assert response.status_code == 200, response.text
    assert response.json()["user"] == "eto" and response.json()["role"] == "editor"
    assert web.client.get("/api/documents").status_code == 200
    # revoking the key ends the session opened with it
    with web.kb() as kb:
        prefix = web.keys["eto"][6:18]
        revoke_key(kb.catalog, prefix)
    assert web.client.get("/api/documents").status_code == 401
    with web.kb() as kb:
        assert list_sessions(kb.catalog, "eto") == []


def test_wrong_password_and_unknown_user_look_alike(web: Service) -> None:
    wrong = login(web.client, "sato", "wrong password 123")
    unknown = login(web.client, "nobody", "wrong password 123")
    no_password = login(web.client, "rita", PASSWORD)  # rita has no password
    for response in (wrong, unknown, no_password):
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
    assert wrong.json() == unknown.json() == no_password.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    bad_key = web.client.post("/ui/login", json={"api_key": web.keys["sato:revoked"]})
    assert bad_key.status_code == 401
    assert web.client.get("/ui/session").status_code == 401
    failed = [d for a, d in audit_actions(web.path) if a == "auth.failed"]
    assert len(failed) == 4 and all(PASSWORD not in str(d) for d in failed)


def test_failed_logins_are_rate_limited(web: Service) -> None:
    for _ in range(5):
        assert login(web.client, "sato", "wrong password 123").status_code == 401
    limited = login(web.client, "sato", "wrong password 123")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    right = login(web.client)  # the right password is refused too while limited
    assert right.status_code == 429 and "set-cookie" not in right.headers
    assert any(a == "auth.rate_limited" for a, _ in audit_actions(web.path))


def test_invalid_login_bodies(web: Service) -> None:
    for body in ({}, {"user": "sato"}, {"api_key": "x", "user": "sato", "password": "p"}):
        assert web.client.post("/ui/login", json=body).status_code == 400, body
    form = web.client.post("/ui/login", data={"user": "sato", "password": PASSWORD})
    assert form.status_code == 400
    foreign = web.client.post(
        "/ui/login",
        json={"user": "sato", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize(
    ("base", "policy", "secure"),
    [
        ("http://testserver", "auto", True),
        ("https://127.0.0.1", "auto", True),
        ("http://localhost", "auto", False),
        ("http://127.0.0.1", "true", True),
        ("http://testserver", "false", False),
    ],
)
def test_secure_flag(web: Service, base: str, policy: str, secure: bool) -> None:
    web.client.app.state.kotae.settings.server.cookie_secure = {  # type: ignore[attr-defined]
        "auto": "auto",
        "true": True,
        "false": False,
    }[policy]
    web.client.base_url = base  # type: ignore[assignment]
    response = login(web.client)
    assert response.status_code == 200
    flags = [p.strip().lower() for p in response.headers["set-cookie"].split(";")]
    assert ("secure" in flags) is secure


# -- logout and expiry --------------------------------------------------------------------
def test_logout_ends_the_session(web: Service) -> None:
    csrf = logged_in(web)["csrf_token"]
    cookie = web.client.cookies["kotae_session"]
    assert web.client.post("/ui/logout").status_code == 403  # no CSRF token
    response = web.client.post("/ui/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert "kotae_session=" in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    web.client.cookies.set("kotae_session", cookie)  # the old cookie, kept by an attacker
    again = web.client.get("/api/documents")
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_session"
    assert any(a == "auth.logout" for a, _ in audit_actions(web.path))


def test_an_expired_session_is_refused_and_deleted(web: Service) -> None:
    logged_in(web)
    with web.kb() as kb:
        past = stamp(now_utc() - timedelta(seconds=1))
        kb.catalog.con.execute("UPDATE sessions SET expires_at=? WHERE user='sato'", (past,))
    response = web.client.get("/api/search", params={"q": "経費"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert web.client.get("/ui/session").status_code == 401
    with web.kb() as kb:
        assert list_sessions(kb.catalog, "sato") == []


def test_session_hours_set_the_expiry(web: Service) -> None:
    web.client.app.state.kotae.settings.server.session_hours = 0.5  # type: ignore[attr-defined]
    body = logged_in(web)
    left = (datetime.fromisoformat(body["expires_at"]) - now_utc()).total_seconds()
    assert 1700 < left <= 1800


def test_removing_a_user_removes_their_sessions(web: Service) -> None:
    logged_in(web)
    with web.kb() as kb:
        assert len(list_sessions(kb.catalog, "sato")) == 1
        assert kb.catalog.remove_user("sato")
        assert list_sessions(kb.catalog, "sato") == []
    assert web.client.get("/api/documents").status_code == 401


# -- CSRF ---------------------------------------------------------------------------------
def test_a_cross_site_post_is_refused(web: Service) -> None:
    csrf = logged_in(web, "aoki")["csrf_token"]
    before = documents_as_admin(web)
    doc = before[0]
    # a form a foreign page posts with the browser's cookie: no token
    forged = web.client.delete(f"/api/documents/{doc}")
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "csrf_failed"
    form = web.client.post("/api/feedback", data={"log_id": "1", "rating": "up"})
    assert form.status_code == 403 and form.json()["error"]["code"] == "csrf_failed"
    wrong = web.client.delete(f"/api/documents/{doc}", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    foreign = web.client.delete(
        f"/api/documents/{doc}",
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "csrf_failed"
    assert documents_as_admin(web) == before  # nothing changed
    # the same request from the server's own page, with the token
    ok = web.client.delete(f"/api/documents/{doc}", headers={"X-CSRF-Token": csrf, "Origin": LOCAL})
    assert ok.status_code == 200, ok.text
    assert documents_as_admin(web) == [d for d in before if d != doc]


def test_a_json_post_with_the_token_works(web: Service) -> None:
    csrf = logged_in(web)["csrf_token"]
    asked = web.client.post(
        "/api/ask", json={"question": "出張の宿泊費の上限は？"}, headers={"X-CSRF-Token": csrf}
    )
    assert asked.status_code == 200, asked.text
    refused = web.client.post("/api/ask", json={"question": "出張の宿泊費の上限は？"})
    assert refused.status_code == 403


def test_bearer_wins_over_the_cookie(web: Service) -> None:
    logged_in(web)  # sato's cookie, then a request with aoki's key and no CSRF token
    response = web.client.post(
        "/api/ask", json={"question": "出張の宿泊費の上限は？"}, headers=web.auth("rita")
    )
    assert response.status_code == 200
    bad = web.client.get("/api/documents", headers=web.auth("nobody"))
    assert bad.status_code == 401  # a bad key is not rescued by the cookie


def test_config_without_oidc(web: Service) -> None:
    assert web.client.get("/ui/config").json() == {"oidc": False, "oidc_label": ""}
    missing = web.client.get("/ui/oidc/login", follow_redirects=False)
    assert missing.status_code == 404 and "error" in missing.json()
