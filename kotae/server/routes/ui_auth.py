"""The web UI's login: ``/ui/login``, ``/ui/session``, ``/ui/logout``, ``/ui/config`` and
single sign-on (``/ui/oidc/login``, ``/ui/oidc/callback``).

A login (an API key, a user's password, or the OIDC provider) opens a server-side session
(:mod:`kotae.security.sessions`) and sets the ``kotae_session`` cookie
(:mod:`kotae.server.web_auth`); with it, every ``/api`` and ``/v1`` route authenticates as
that user (:func:`kotae.server.deps.get_caller`), CSRF-checked on unsafe methods. Logins,
logouts, failures and refusals for too many failures go to the audit log.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from kotae.errors import AuthenticationError, KotaeError, localized
from kotae.security.audit import record_kb
from kotae.security.auth import Identity, authenticate, get_user, key_prefix, set_role
from kotae.security.passwords import hash_password, needs_rehash, verify_password
from kotae.security.sessions import (
    Session,
    Via,
    csrf_token,
    end_session,
    find_session,
    open_session,
)
from kotae.server import oidc
from kotae.server.deps import State
from kotae.server.errors import ApiError
from kotae.server.state import ServerState
from kotae.server.web_auth import (
    SESSION_COOKIE,
    client_address,
    csrf_refused,
    foreign_origin,
    login_limiter,
    session_caller,
    session_refused,
    set_session_cookie,
    too_many_logins,
)
from kotae.server.web_auth import clear_session_cookie as clear_cookie

router = APIRouter(prefix="/ui", tags=["web login"], include_in_schema=False)

OIDC_COOKIE = "kotae_oidc"  # the state of a single sign-on under way (SameSite=Lax)
OIDC_COOKIE_PATH = "/ui/oidc"


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str | None = Field(default=None, max_length=256)
    user: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, max_length=1024)


def session_body(identity: Identity, session: Session, token: str) -> dict[str, Any]:
    return {
        "user": identity.user.name,
        "role": identity.role,
        "groups": list(identity.user.groups),
        "csrf_token": csrf_token(token),
        "via": session.via,
        "expires_at": session.expires_at,
    }


def _bad_credentials(api_key: bool) -> ApiError:
    if api_key:
        return ApiError(
            401,
            "invalid API key",
            kind="authentication_error",
            code="invalid_credentials",
            message_ja="API キーが正しくありません",
        )
    return ApiError(
        401,
        "wrong user name or password",
        kind="authentication_error",
        code="invalid_credentials",
        message_ja="ユーザー名またはパスワードが正しくありません",
    )


def _opened(
    request: Request, state: ServerState, identity: Identity, via: str, token: str, s: Session
) -> JSONResponse:
    response = JSONResponse(session_body(identity, s, token))
    set_session_cookie(response, request, state.settings, token, s.expires_at)
    return response


@router.post("/login")
def login(request: Request, body: Login, state: State) -> JSONResponse:
    """Log in with ``{"api_key"}`` or ``{"user", "password"}``: a session cookie."""
    if foreign_origin(request):
        raise csrf_refused()
    by_key = body.api_key is not None
    if by_key == (body.user is not None or body.password is not None) or (
        not by_key and (body.user is None or body.password is None)
    ):
        raise ApiError(
            400,
            'send {"api_key"} or {"user", "password"}',
            message_ja='{"api_key"} か {"user", "password"} を送ってください',
        )
    via: Via = "api_key" if by_key else "password"
    name = (body.user or "").strip()
    keys: list[tuple[str, str]] = [("ip", client_address(request))]
    if not by_key:
        keys.append(("user", name.casefold()))
    limiter = login_limiter(request, state.settings)
    hours = state.settings.server.session_hours
    with state.reading() as kb:
        wait = limiter.blocked(keys)
        if wait > 0:
            limited: dict[str, str] = {"via": via, "user": name} if name else {"via": via}
            record_kb(kb, "auth.rate_limited", actor="unknown", detail=limited)
            raise too_many_logins(wait)
        identity: Identity | None = None
        reason = ""
        if by_key:
            try:
                identity = authenticate(kb.catalog, body.api_key)
            except AuthenticationError as exc:
                reason = localized(exc, "en")
        else:
            user = get_user(kb.catalog, name)
            stored = kb.catalog.password_hash(name) if user is not None else None
            password = body.password or ""
            if verify_password(stored, password) and user is not None and stored is not None:
                identity = Identity(user)
                if needs_rehash(stored):
                    kb.catalog.set_password_hash(name, hash_password(password))
            else:
                reason = "unknown user" if user is None else "wrong or no password"
        if identity is None:
            limiter.failed(keys)
            detail: dict[str, str] = {"reason": reason, "via": via, "path": request.url.path}
            prefix = key_prefix(body.api_key)
            if prefix is not None:
                detail["prefix"] = prefix
            if name:
                detail["user"] = name
            record_kb(kb, "auth.failed", actor="unknown", detail=detail)
            raise _bad_credentials(by_key)
        if not by_key:
            limiter.succeeded(("user", name.casefold()))
        key_id = identity.key.id if identity.key is not None else None
        token, session = open_session(
            kb.catalog, identity.user.name, via, hours=hours, key_id=key_id
        )
        opened: dict[str, str] = {"via": via}
        if identity.key is not None:
            opened["prefix"] = identity.key.prefix
        record_kb(kb, "auth.login", actor=identity.user.name, detail=opened)
    return _opened(request, state, identity, via, token, session)


@router.get("/session")
def current_session(request: Request, state: State) -> JSONResponse:
    """The session of the cookie: 200 with the user and the CSRF token, else 401."""
    token = request.cookies.get(SESSION_COOKIE)
    with state.reading() as kb:
        try:
            identity, session = find_session(kb.catalog, token)
        except AuthenticationError as exc:
            raise session_refused(request, state.settings, exc) from None
    assert token is not None
    return JSONResponse(session_body(identity, session, token))


@router.post("/logout", status_code=204)
def logout(request: Request, state: State) -> Response:
    """End the session of the cookie (CSRF token required) and clear the cookie."""
    identity, session = session_caller(request, state)
    with state.reading() as kb:
        end_session(kb.catalog, session.id)
        record_kb(kb, "auth.logout", actor=identity.user.name, detail={"via": session.via})
    response = Response(status_code=204)
    clear_cookie(response, request, state.settings)
    return response


@router.get("/config")
def config(state: State) -> dict[str, Any]:
    """What the login page offers (no key needed)."""
    settings = state.settings.server.oidc
    return {"oidc": settings is not None, "oidc_label": settings.label if settings else ""}


# -- single sign-on ------------------------------------------------------------------------------
def _oidc_settings(state: ServerState) -> Any:
    settings = state.settings.server.oidc
    if settings is None:
        raise ApiError(
            404,
            "single sign-on is not configured: see [server.oidc]",
            kind="not_found_error",
            message_ja="シングルサインオンは設定されていません（[server.oidc] を参照）",
        )
    return settings


def _redirect_url(request: Request, state: ServerState) -> str:
    settings = _oidc_settings(state)
    return settings.redirect_url or str(request.url_for("oidc_callback"))


@router.get("/oidc/login")
def oidc_login(request: Request, state: State) -> RedirectResponse:
    """Off to the identity provider (302)."""
    settings = _oidc_settings(state)
    redirect_url = _redirect_url(request, state)
    with state.reading() as kb:
        login_state, url = oidc.begin(kb.catalog, settings, redirect_url)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        OIDC_COOKIE,
        login_state,
        max_age=int(oidc.LOGIN_TTL.total_seconds()),
        path=OIDC_COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",  # the provider's redirect back is a cross-site navigation
    )
    return response


def _sso_failed(exc: KotaeError, status: int = 401) -> ApiError:
    return ApiError(
        status,
        localized(exc, "en"),
        kind="authentication_error" if status == 401 else "permission_error",
        code="oidc_failed",
        message_ja=localized(exc, "ja"),
    )


@router.get("/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    state: State,
    code: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    """Back from the identity provider: the user made or updated, a session, 302 to ``/``."""
    settings = _oidc_settings(state)
    login_state = request.query_params.get("state") or ""
    with state.reading() as kb:
        try:
            if error is not None or not code or not login_state:
                raise oidc.failed(
                    "the provider sent no code", "プロバイダーから認可コードが届きません"
                )
            claims = oidc.finish(
                kb.catalog,
                settings,
                state=login_state,
                code=code,
                cookie_state=request.cookies.get(OIDC_COOKIE),
            )
            user = oidc.map_user(settings, claims)
        except AuthenticationError as exc:
            record_kb(
                kb,
                "auth.failed",
                actor="unknown",
                detail={"reason": localized(exc, "en"), "via": "oidc", "path": request.url.path},
            )
            raise _sso_failed(exc) from None
        identity = _sso_user(kb, user)
        token, session = open_session(
            kb.catalog, identity.user.name, "oidc", hours=state.settings.server.session_hours
        )
        record_kb(kb, "auth.login", actor=identity.user.name, detail={"via": "oidc"})
    response = RedirectResponse("/", status_code=302)
    set_session_cookie(response, request, state.settings, token, session.expires_at)
    response.delete_cookie(OIDC_COOKIE, path=OIDC_COOKIE_PATH, httponly=True, samesite="lax")
    return response


def _sso_user(kb: Any, user: oidc.OidcUser) -> Identity:
    """Make or update the kotae user of a single sign-on: groups from the provider, the
    role it maps (else the user's own; a new user is a reader), linked to its subject."""
    catalog = kb.catalog
    linked = catalog.oidc_subject(user.name)
    if linked is not None and not hmac.compare_digest(linked, user.subject):
        exc = oidc.failed(
            f"the kotae user {user.name!r} belongs to another identity",
            f"kotae のユーザー {user.name!r} は別の ID に紐付いています",
        )
        record_kb(kb, "auth.failed", actor="unknown", detail={"reason": str(exc), "via": "oidc"})
        raise ApiError(
            403,
            localized(exc, "en"),
            kind="permission_error",
            code="oidc_failed",
            message_ja=localized(exc, "ja"),
        )
    existing = get_user(catalog, user.name)
    kb.set_user(user.name, list(user.groups))
    role = user.role or (existing.role if existing is not None else "reader")
    updated = set_role(catalog, user.name, role)
    catalog.set_oidc_subject(user.name, user.subject)
    before = None if existing is None else {"groups": list(existing.groups), "role": existing.role}
    after = {"groups": list(updated.groups), "role": updated.role}
    if before != after:
        record_kb(
            kb,
            "user.set",
            actor="oidc",
            target=updated.name,
            detail={"before": before, "after": after},
        )
    return Identity(updated)
