"""Single sign-on for the web UI: the OpenID Connect code flow with PKCE (Authlib, joserfc).

:func:`begin` records a login under way (the SHA-256 of a random ``state``, a ``nonce`` and
the PKCE verifier, for 10 minutes) and returns the provider's authorization URL;
:func:`finish` takes that record back once (state checked), exchanges the code for tokens,
validates the ID token (signature from the provider's JWKS, issuer, audience, expiry,
nonce) and returns its claims, with the userinfo endpoint's claims for the same subject.
:func:`map_user` turns claims into a kotae user name, groups (``group_map``) and role.

The provider's discovery document and keys are fetched from ``[server.oidc] issuer`` and
kept for an hour. The client secret comes from the variable ``client_secret_env`` names.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kotae.config import OidcSettings
from kotae.errors import AuthenticationError, ConfigError
from kotae.index.store import Store
from kotae.security.auth import Role, now_utc, stamp

LOGIN_TTL = timedelta(minutes=10)
DISCOVERY_TTL_S = 3600.0
HTTP_TIMEOUT_S = 10.0
ROLE_ORDER: tuple[Role, ...] = ("admin", "editor", "reader")


@dataclass(frozen=True, slots=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OidcUser:
    name: str
    subject: str  # "ISSUER SUB": the identity a kotae user is linked to
    groups: tuple[str, ...]
    role: Role | None  # None: keep the user's role (a new user is a reader)


def failed(message: str, message_ja: str) -> AuthenticationError:
    return AuthenticationError(f"single sign-on failed: {message}", message_ja=message_ja)


def _secure(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme == "https" or (
        parts.scheme == "http" and host in ("localhost", "127.0.0.1", "::1")
    )


_cache: dict[str, tuple[float, Provider, KeySet]] = {}
_cache_lock = threading.Lock()


def provider(settings: OidcSettings) -> tuple[Provider, KeySet]:
    """The provider's endpoints and keys (discovery, then JWKS), cached for an hour.
    :class:`ConfigError` when the issuer does not answer or answers for another issuer."""
    issuer = settings.issuer.rstrip("/")
    with _cache_lock:
        cached = _cache.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL_S:
        return cached[1], cached[2]
    if not _secure(issuer):
        raise ConfigError(
            f"[server.oidc] issuer {issuer} must be https (http only on loopback)",
            message_ja=f"[server.oidc] issuer {issuer} は https にしてください"
            "（http はループバックのみ）",
        )
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT_S) as client:
            meta = client.get(url).raise_for_status().json()
            if str(meta.get("issuer", "")).rstrip("/") != issuer:
                raise ValueError("the discovery document names another issuer")
            keys = KeySet.import_key_set(client.get(meta["jwks_uri"]).raise_for_status().json())
        found = Provider(
            issuer=str(meta["issuer"]),
            authorization_endpoint=str(meta["authorization_endpoint"]),
            token_endpoint=str(meta["token_endpoint"]),
            jwks_uri=str(meta["jwks_uri"]),
            userinfo_endpoint=meta.get("userinfo_endpoint"),
            algorithms=tuple(meta.get("id_token_signing_alg_values_supported") or ("RS256",)),
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as exc:
        raise ConfigError(
            f"the OIDC provider {issuer} did not answer as expected: {type(exc).__name__}",
            message_ja=f"OIDC プロバイダー {issuer} から正しい応答がありません: "
            f"{type(exc).__name__}",
        ) from None
    with _cache_lock:
        _cache[issuer] = (time.monotonic(), found, keys)
    return found, keys


def _client(settings: OidcSettings, redirect_url: str) -> OAuth2Client:
    secret = os.environ.get(settings.client_secret_env) if settings.client_secret_env else None
    return OAuth2Client(
        client_id=settings.client_id,
        client_secret=secret,
        scope=" ".join(settings.scopes),
        redirect_uri=redirect_url,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=HTTP_TIMEOUT_S,
    )


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def begin(store: Store, settings: OidcSettings, redirect_url: str) -> tuple[str, str]:
    """Start a login: ``(state, the provider's authorization URL)``. The state goes in a
    short-lived cookie, to be matched at the callback."""
    found, _ = provider(settings)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    now = now_utc()
    store.oidc_login_insert(
        {
            "id": hash_state(state),
            "nonce": nonce,
            "code_verifier": verifier,
            "redirect_url": redirect_url,
            "created_at": stamp(now),
            "expires_at": stamp(now + LOGIN_TTL),
        }
    )
    with _client(settings, redirect_url) as client:
        url, _ = client.create_authorization_url(
            found.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier
        )
    return state, str(url)


def finish(
    store: Store, settings: OidcSettings, *, state: str, code: str, cookie_state: str | None
) -> dict[str, Any]:
    """The validated claims of a login coming back from the provider, or
    :class:`AuthenticationError` (a state that is not this browser's, unknown or used,
    a code the provider refuses, an ID token that does not hold)."""
    if not cookie_state or not hmac.compare_digest(cookie_state, state):
        raise failed(
            "the login's state does not match this browser's: start again",
            "ログインの state がこのブラウザーのものと一致しません。最初からやり直してください",
        )
    login = store.oidc_login_take(hash_state(state), stamp(now_utc()))
    if login is None:
        raise failed(
            "unknown or expired login: start again",
            "ログインが見つからないか期限切れです。最初からやり直してください",
        )
    found, keys = provider(settings)
    try:
        with _client(settings, login["redirect_url"]) as client:
            token = client.fetch_token(
                found.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=login["code_verifier"],
            )
            claims = _id_token_claims(token, found, keys, settings, login["nonce"])
            if found.userinfo_endpoint and token.get("access_token"):
                info = client.get(found.userinfo_endpoint).raise_for_status().json()
                if isinstance(info, dict) and info.get("sub") == claims["sub"]:
                    claims = {**info, **claims}
    except AuthenticationError:
        raise
    except Exception as exc:  # the provider's errors, in many classes: none is shown
        raise failed(
            f"the provider refused the login ({type(exc).__name__})",
            f"プロバイダーがログインを拒否しました（{type(exc).__name__}）",
        ) from None
    return claims


def _id_token_claims(
    token: dict[str, Any], found: Provider, keys: KeySet, settings: OidcSettings, nonce: str
) -> dict[str, Any]:
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise failed("the provider sent no ID token", "プロバイダーが ID トークンを返しません")
    try:
        decoded = jwt.decode(id_token, keys, algorithms=list(found.algorithms))
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": found.issuer},
            aud={"essential": True, "value": settings.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
            leeway=60,
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise failed(
            f"the ID token does not hold ({type(exc).__name__})",
            f"ID トークンが正しくありません（{type(exc).__name__}）",
        ) from None
    return dict(decoded.claims)


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, list | tuple):
        return [str(v) for v in claim if isinstance(v, str | int)]
    return []


def map_user(settings: OidcSettings, claims: dict[str, Any]) -> OidcUser:
    """The kotae user of validated claims: the name from ``user_claim`` (else ``sub``),
    the groups from ``groups_claim`` through ``group_map`` (unmapped values dropped unless
    ``keep_unmapped``), the most powerful role ``role_map`` gives (None: none given)."""
    sub = str(claims["sub"])
    name = claims.get(settings.user_claim) or sub
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise failed(f"no usable {settings.user_claim!r} claim", "ユーザー名の claim がありません")
    groups: list[str] = []
    for value in _values(claims.get(settings.groups_claim)):
        mapped = settings.group_map.get(value)
        if mapped is None and settings.keep_unmapped:
            mapped = value
        if mapped is not None and mapped not in groups:
            groups.append(mapped)
    roles = {
        settings.role_map[v]
        for v in (_values(claims.get(settings.role_claim)) if settings.role_claim else [])
        if v in settings.role_map
    }
    role = next((r for r in ROLE_ORDER if r in roles), None)
    subject = f"{claims.get('iss', settings.issuer)} {sub}"
    return OidcUser(name.strip(), subject, tuple(groups), role)
