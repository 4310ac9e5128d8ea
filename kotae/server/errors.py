"""kotae's errors as HTTP responses, in OpenAI's error shape on every route.

``{"error": {"message", "type", "param", "code"}}`` with the status OpenAI uses for the
same case, so that the ``openai`` client raises its usual exception classes and retries
what it should (429, 5xx) and nothing else. The message is Japanese when the request's
``Accept-Language`` prefers Japanese and the error has a Japanese message.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from kotae.errors import (
    AccessError,
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    ContextOverflowError,
    EmptyKnowledgeBaseError,
    KnowledgeBaseError,
    KotaeError,
    ModelNotFoundError,
    PermissionDeniedError,
    QuestionTooLongError,
    localized,
)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorDetail


class ApiError(Exception):
    """An HTTP error raised by a route: status, OpenAI type and code, message (en, ja)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        message_ja: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.code = code
        self.message_ja = message_ja
        self.headers = headers


def not_found(what: str, what_ja: str) -> ApiError:
    return ApiError(
        404, f"{what} not found", kind="not_found_error", message_ja=f"{what_ja}が見つかりません"
    )


def status_of(exc: KotaeError) -> tuple[int, str, str | None]:
    """(HTTP status, OpenAI error type, code) for one of kotae's errors."""
    if isinstance(exc, AuthenticationError):
        return 401, "authentication_error", "invalid_api_key"
    if isinstance(exc, PermissionDeniedError):
        return 403, "permission_error", None
    if isinstance(exc, QuestionTooLongError | ContextOverflowError):
        return 400, "invalid_request_error", "context_length_exceeded"
    if isinstance(exc, EmptyKnowledgeBaseError):
        return 409, "invalid_request_error", "empty_knowledge_base"
    if isinstance(exc, ModelNotFoundError):
        return 502, "api_error", "upstream_model_not_found"
    if isinstance(exc, BackendTimeoutError):
        return 504, "api_error", "upstream_timeout"
    if isinstance(exc, BackendUnavailableError):
        return 503, "api_error", "upstream_unavailable"
    if isinstance(exc, BackendError):
        return 502, "api_error", "upstream_error"
    if isinstance(exc, KnowledgeBaseError):
        return 503, "api_error", "knowledge_base_unavailable"
    if isinstance(exc, AccessError):
        return 400, "invalid_request_error", None
    return 400, "invalid_request_error", None


def wants_japanese(request: Request) -> bool:
    accepted = request.headers.get("accept-language", "")
    first = accepted.split(",")[0].strip().lower()
    return first.startswith("ja")


def error_response(
    request: Request,
    status: int,
    kind: str,
    message: str,
    *,
    code: str | None = None,
    message_ja: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    text = message_ja if message_ja and wants_japanese(request) else message
    body: dict[str, Any] = {"error": {"message": text, "type": kind, "param": None, "code": code}}
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return f"invalid request: {where}: {first.get('msg', 'invalid value')}"


def served_routes(app: FastAPI) -> list[Any]:
    """Every route of ``app``, those of the included routers too."""
    try:  # recent FastAPI keeps an included router whole in app.routes: walk into it
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI copies the routes into app.routes
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of every route on ``path``: a 405's ``Allow`` header (RFC 9110)."""
    methods: set[str] = set()
    for route in served_routes(app):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KotaeError)
    async def kotae_error(request: Request, exc: KotaeError) -> JSONResponse:
        status, kind, code = status_of(exc)
        message = localized(exc, "ja" if wants_japanese(request) else "en")
        return error_response(request, status, kind, message, code=code)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            request,
            exc.status,
            exc.kind,
            str(exc),
            code=exc.code,
            message_ja=exc.message_ja,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 400, "invalid_request_error", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # the router names only the methods of the first route on the path
            allowed = ", ".join(allowed_methods(app, request.scope["path"]))
            headers = {**(headers or {}), "Allow": allowed}
        return error_response(request, exc.status_code, kind, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # the message of an unexpected error may hold anything: it stays in the server's log
        return error_response(request, 500, "api_error", "internal error: see the server's log")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "Invalid request"),
        (401, "No API key, or an unknown, expired or revoked one"),
        (403, "The caller's role or groups do not allow it"),
        (404, "Not found (or not readable by the caller)"),
        (413, "Body too large"),
        (429, "Rate limit: retry after the Retry-After header's seconds"),
    )
}
