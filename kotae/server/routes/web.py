"""The web UI: ``GET /`` (the single page) and ``GET /static/{path}`` (its CSS and scripts).

The files are package data under ``kotae/server/web/``: plain HTML, CSS and JavaScript
modules, with no build step and no asset from another host (docs/decisions/0006). Every
response carries a Content-Security-Policy that allows this server only: no inline script,
no external font or CDN, so the UI works on an isolated network.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import PurePosixPath

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kotae.server.errors import not_found

router = APIRouter(include_in_schema=False)

WEB_CSP = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
    "frame-ancestors 'none'"
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# the page is revalidated on each visit (it names the scripts); the scripts and styles may be
# kept an hour, then revalidated by their ETag: an upgrade of kotae shows within the hour,
# with no fingerprinted names (which would need a build)
PAGE_CACHE = "no-cache"
STATIC_CACHE = "public, max-age=3600, must-revalidate"


def _read(relative: str) -> bytes | None:
    """A file of the web folder, or None: no folder part may leave it, no hidden file."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") or "\\" in p for p in parts):
        return None
    node = files("kotae.server").joinpath("web", *parts)
    if not node.is_file():
        return None
    return node.read_bytes()


def _response(request: Request, relative: str, cache: str) -> Response:
    suffix = PurePosixPath(relative).suffix.lower()
    body = _read(relative) if suffix in TYPES else None
    if body is None:
        raise not_found("file", "ファイル")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "Content-Security-Policy": WEB_CSP,
        "Cache-Control": cache,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=TYPES[suffix], headers=headers)


@router.get("/")
def index(request: Request) -> Response:
    """The web UI's single page (its routes are hash routes: #/search, #/chat …)."""
    return _response(request, "index.html", PAGE_CACHE)


@router.get("/static/{path:path}")
def static(request: Request, path: str) -> Response:
    """A stylesheet, script or image of the web UI."""
    return _response(request, path, STATIC_CACHE)
