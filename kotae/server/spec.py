"""The OpenAPI document the server serves, made to say what the server does.

FastAPI's generated document needs two corrections:

- **400, not 422.** An invalid request is answered 400 in OpenAI's error shape (see
  :mod:`kotae.server.errors`), so FastAPI's automatic 422 ``HTTPValidationError`` responses
  are dropped, and 400 is documented wherever they were.
- **Configured limits.** ``k`` of ``/api/search`` is at most ``[server] max_k``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from kotae.config import Settings

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` by one that serves the corrected document (built once)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(build(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def corrected(spec: dict[str, Any], settings: Settings) -> dict[str, Any]:
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "Invalid request",
                    "content": {"application/json": {"schema": ERROR_REF}},
                }
            if path == "/api/search":
                for parameter in operation.get("parameters", []):
                    if parameter.get("name") == "k":
                        parameter["schema"]["maximum"] = settings.server.max_k
    schemas = spec.get("components", {}).get("schemas", {})
    for name in VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return spec
