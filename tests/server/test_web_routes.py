"""The web UI's files as ``kotae serve`` sends them (kotae/server/routes/web.py): the page
and its scripts with their content types, caching and a Content-Security-Policy that allows
this server only; nothing outside kotae/server/web/ is ever read. The pages themselves are
tested in a browser: tests/integration/test_web_ui.py."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from tests.server.conftest import Service

WEB = files("kotae.server").joinpath("web")


def test_the_page_is_served_at_the_root(service: Service) -> None:
    response = service.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'self'") and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/static/js/app.js">' in response.text


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("app.css", "text/css; charset=utf-8"),
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("js/api.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_static_files_have_their_type_and_cache(service: Service, path: str, kind: str) -> None:
    response = service.client.get(f"/static/{path}")
    assert response.status_code == 200
    assert response.headers["content-type"] == kind
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.content == WEB.joinpath(*path.split("/")).read_bytes()


def test_a_cached_file_is_revalidated_by_its_etag(service: Service) -> None:
    first = service.client.get("/static/js/chat.js")
    etag = first.headers["etag"]
    again = service.client.get("/static/js/chat.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = service.client.get("/static/js/chat.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content


@pytest.mark.parametrize(
    "path",
    [
        "../routes/web.py",
        "..%2F..%2Fapp.py",
        "js/../../app.py",
        "missing.js",
        ".hidden.js",
        "index.py",
        "js/",
        "%00.js",
    ],
)
def test_nothing_outside_the_web_folder(service: Service, path: str) -> None:
    response = service.client.get(f"/static/{path}")
    assert response.status_code == 404
    assert "error" in response.json()


def test_no_inline_script_no_inline_style_no_external_asset() -> None:
    """The CSP would block them: the files must not need them."""
    page = WEB.joinpath("index.html").read_text("utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert " style=" not in page and "<style" not in page and " on" not in page.lower()
    texts = [page]
    for node in [WEB.joinpath("app.css"), *WEB.joinpath("js").iterdir()]:
        texts.append(node.read_text("utf-8"))
    for text in texts:
        assert not re.search(r"https?://", text), "an asset from another host"
        assert "innerHTML" not in text and "eval(" not in text
    css = WEB.joinpath("app.css").read_text("utf-8")
    assert '"Hiragino Sans", "Noto Sans JP", "IPAexGothic", "IPAGothic", sans-serif' in css
    assert "@font-face" not in css and "@import" not in css


def test_the_api_keeps_its_own_strict_policy(service: Service) -> None:
    response = service.client.get("/api/health")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
