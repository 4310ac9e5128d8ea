"""Who may do what, over every route of the app: route × caller × document ACL.

The matrix names every route the app serves (its routes and its OpenAPI paths: a route
added without an entry here fails ``test_every_route_is_in_the_matrix``), and for each
case what each caller gets:

- no key, or an expired, revoked or unknown one: 401 with ``WWW-Authenticate: Bearer`` and
  the OpenAI error body, on every route but the public ones (health, ready, the docs and
  the spec), which answer everyone;
- what the caller's role or groups forbid: 403, except that a document or job the caller
  may not see is not found (404), never 403. One rule comes before visibility: a delete
  needs the editor role, so a reader's delete is 403 whatever the id (hidden, visible or
  none at all: the answer tells nothing, see ``test_a_refusal_tells_nothing_of_a_hidden_
  document``);
- everything else succeeds.

Every response to a caller outside the executives group is free of the executives-only
minutes (title and text), and those who may read them do find them in the same reads (so
that the check can fail). After each refused write the documents (read as the admin) are
unchanged; after each allowed one, changed as asked.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kotae.server.errors import served_routes
from tests.server.conftest import (
    GENERATOR_MODEL,
    KB_NAME,
    MODEL,
    SECRET_DOC,
    SECRET_QUERY,
    Service,
    start,
)

ADMIN = "aoki"
CALLERS = ("aoki", "eto", "endo", "sato", "rita")
UNAUTHENTICATED: tuple[str | None, ...] = ("sato:expired", "sato:revoked", "nobody", None)
EVERYONE: tuple[str | None, ...] = (*CALLERS, *UNAUTHENTICATED)
READS_SECRET = frozenset({"aoki", "eto", "sato"})  # the admin, and the executives group
# the minutes' title, figures only they hold, and the executives' upload of the read world
SECRET_MARKERS = (SECRET_DOC, "1,998万円", "42億円", "第二浜松工場", "着工延期")
ADDENDUM = ("役員会議事録_追補.md", "# 役員会議事録 追補\n\n第二浜松工場は着工延期とする。")
NOTICE = ("社内行事.md", "# 社内行事\n\n社員旅行は10月に実施します。")
EMBEDDER_TOML = '\n[embedder]\nbackend = "fake"\ndim = 32\n'


# -- the knowledge base the cases run against ------------------------------------------------
@dataclass
class World:
    service: Service
    docs: dict[str, int]  # "public" / "secret": a document's id
    jobs: dict[str, str] = field(default_factory=dict)  # "public": the admin's; "secret": eto's
    answers: dict[str, int] = field(default_factory=dict)  # "public": rita's; "secret": eto's
    embedding_model: str = ""

    @property
    def client(self) -> Any:
        return self.service.client

    def send(self, method: str, url: str, who: str | None, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.client.request(
            method, url, headers=self.service.auth(who), **kwargs
        )
        return response

    def documents(self) -> list[dict[str, Any]]:
        r = self.send("GET", "/api/documents", ADMIN)
        assert r.status_code == 200, r.text
        return list(r.json()["documents"])

    def upload(self, who: str | None, name: str, text: str, groups: str) -> httpx.Response:
        files = [("files", (name, text.encode()))]
        return self.send("POST", "/api/documents", who, files=files, data={"groups": groups})

    def wait_job(self, job: str, who: str) -> dict[str, Any]:
        for _ in range(400):
            r = self.send("GET", f"/api/jobs/{job}", who)
            assert r.status_code == 200, r.text
            if r.json()["status"] not in ("queued", "running"):
                return dict(r.json())
            time.sleep(0.02)
        raise AssertionError(f"job {job} did not end")

    def ask(self, who: str, question: str) -> int:
        r = self.send("POST", "/api/ask", who, json={"question": question})
        assert r.status_code == 200, r.text
        return int(r.json()["log_id"])


def sample_documents(world: World) -> dict[str, int]:
    docs = world.documents()
    secret = [d for d in docs if SECRET_DOC in d["title"] and d["groups"] == ["executives"]]
    public = [d for d in docs if d["name"] == "経費精算規程.md" and not d["groups"]]
    assert len(secret) == 1 and len(public) == 1, docs
    return {"public": public[0]["id"], "secret": secret[0]["id"]}


def _copy(template: tuple[Path, dict[str, str]], folder: Path, config: str) -> Path:
    path = folder / KB_NAME
    shutil.copytree(template[0], path)
    toml = path / "kotae.toml"
    toml.write_text(toml.read_text("utf-8") + config, "utf-8")
    return path


@pytest.fixture(scope="module")
def reads(
    service_template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One knowledge base for every read (and feedback): the samples, a fake embedder (so
    that dense retrieval's filter is exercised too), an upload job of the admin's (public)
    and one of eto's (executives), and an answer of rita's and one of eto's."""
    path = _copy(service_template, tmp_path_factory.mktemp("matrix"), EMBEDDER_TOML)
    for service in start(path, service_template[1]):
        world = World(service, {})
        world.docs = sample_documents(world)
        for key, who, (name, text), groups in (
            ("public", ADMIN, NOTICE, ""),
            ("secret", "eto", ADDENDUM, "executives"),
        ):
            r = world.upload(who, name, text, groups)
            assert r.status_code == 202, r.text
            world.jobs[key] = r.json()["job"]
            assert world.wait_job(world.jobs[key], who)["status"] == "done"
        world.answers = {"public": world.ask("rita", "経費の申請期限は？")}
        world.answers["secret"] = world.ask("eto", SECRET_QUERY)
        models = world.send("GET", "/v1/models", ADMIN).json()["data"]
        world.embedding_model = next(m["id"] for m in models if m["kind"] == "embeddings")
        yield world


@pytest.fixture
def writes(service: Service) -> World:
    """A fresh copy of the samples for each write."""
    world = World(service, {})
    world.docs = sample_documents(world)
    return world


# -- the matrix ------------------------------------------------------------------------------
Expect = Callable[[str], int]  # an authenticated caller -> the status they get


def everyone(status: int) -> Expect:
    return lambda who: status


def only(allowed: frozenset[str] | set[str], status: int, otherwise: int) -> Expect:
    return lambda who: status if who in allowed else otherwise


def by_caller(table: dict[str, int]) -> Expect:
    assert set(table) == set(CALLERS)
    return table.__getitem__


Send = Callable[[World, str | None], httpx.Response]


def request(method: str, url: str, body: Callable[[World], Any] | None = None, **kw: Any) -> Send:
    """A request to ``url``, where ``{public}`` and ``{secret}`` are the documents' ids and
    ``{job_public}`` and ``{job_secret}`` the jobs'; ``body``: its JSON, from the world."""

    def send(world: World, who: str | None) -> httpx.Response:
        names = {**world.docs, **{f"job_{key}": job for key, job in world.jobs.items()}}
        extra = kw if body is None else {**kw, "json": body(world)}
        return world.send(method, url.format(**names), who, **extra)

    return send


def feedback_on_own_answer(world: World, who: str | None) -> httpx.Response:
    log_id = world.ask(who, "出張の宿泊費の上限は？") if who in CALLERS else world.answers["public"]
    return world.send("POST", "/api/feedback", who, json={"log_id": log_id, "rating": "up"})


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the route's path as the app and the spec write it
    acl: str  # the document ACL the case is about: "public", "secret", or "-"
    send: Send
    expect: Expect
    variant: str = ""
    public: bool = False  # answers without credentials
    reveals: bool = False  # shows the minutes to a caller who may read them
    upload: str | None = None  # the groups of an upload (a write case)
    delete: str | None = None  # the document deleted (a write case)

    @property
    def id(self) -> str:
        detail = "/".join(p for p in (self.acl, self.variant) if p and p != "-")
        return f"{self.method} {self.route}" + (f" [{detail}]" if detail else "")


def ask_secret(stream: bool) -> Send:
    return request("POST", "/api/ask", lambda w: {"question": SECRET_QUERY, "stream": stream})


def feedback_on(answer: str) -> Send:
    return request("POST", "/api/feedback", lambda w: {"log_id": w.answers[answer], "rating": "up"})


def chat(stream: bool, model: str = MODEL, question: str = SECRET_QUERY) -> Send:
    messages = [{"role": "user", "content": question}]
    body = {"model": model, "messages": messages, "stream": stream}
    return request("POST", "/v1/chat/completions", lambda w: body)


def passage_of(acl: str) -> Send:
    """``GET /api/chunks/{id}`` of the first chunk of the ``acl`` document (found by the
    admin, whose reads are not under test here)."""

    def send(world: World, who: str | None) -> httpx.Response:
        doc = world.docs[acl]
        with world.service.kb() as kb:
            chunk = next(iter(kb.catalog.chunks_of([doc])))
        return world.send("GET", f"/api/chunks/{chunk.id}", who)

    return send


PUBLIC_ROUTES = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
PUBLIC_API = ("/api/health", "/api/ready")

READS: list[Case] = [
    *(
        Case("GET", path, "-", request("GET", path), everyone(200), public=True)
        for path in (*PUBLIC_ROUTES, *PUBLIC_API)
    ),
    Case("GET", "/v1/models", "-", request("GET", "/v1/models"), everyone(200)),
    Case("GET", "/v1/models/{model_id}", "-", request("GET", f"/v1/models/{MODEL}"), everyone(200)),
    Case("POST", "/v1/chat/completions", "secret", chat(False), everyone(200), reveals=True),
    Case(
        "POST", "/v1/chat/completions", "secret", chat(True), everyone(200), "stream", reveals=True
    ),
    Case(
        "POST",
        "/v1/chat/completions",
        "-",
        chat(False, GENERATOR_MODEL, "こんにちは"),
        everyone(200),
        "passthrough",
    ),
    Case(
        "POST",
        "/v1/embeddings",
        "-",
        request(
            "POST",
            "/v1/embeddings",
            lambda w: {"model": w.embedding_model, "input": ["経費", "SP-200"]},
        ),
        everyone(200),
    ),
    *(
        Case(
            "GET",
            "/api/search",
            "secret",
            request("GET", "/api/search", params={"q": query, "k": 10}),
            everyone(200),
            query,
            reveals=True,
        )
        for query in (SECRET_QUERY, "新工場の建設投資額")  # no marker: a query is echoed
    ),
    *(
        Case(
            "POST",
            "/api/ask",
            "secret",
            ask_secret(stream),
            everyone(200),
            "stream" if stream else "",
            reveals=True,
        )
        for stream in (False, True)
    ),
    Case("POST", "/api/feedback", "-", feedback_on_own_answer, everyone(201), "own answer"),
    *(
        Case(
            "POST",
            "/api/feedback",
            acl,
            feedback_on(acl),
            only({ADMIN, asker}, 201, 404),
            f"{asker}'s answer",
        )
        for acl, asker in (("public", "rita"), ("secret", "eto"))
    ),
    Case(
        "GET", "/api/documents", "-", request("GET", "/api/documents"), everyone(200), reveals=True
    ),
    Case(
        "GET",
        "/api/documents/{doc_id}",
        "public",
        request("GET", "/api/documents/{public}"),
        everyone(200),
    ),
    Case(
        "GET",
        "/api/documents/{doc_id}",
        "secret",
        request("GET", "/api/documents/{secret}"),
        only(READS_SECRET, 200, 404),
        reveals=True,
    ),
    Case(
        "GET",
        "/api/jobs/{job_id}",
        "public",
        request("GET", "/api/jobs/{job_public}"),
        only({ADMIN}, 200, 404),
        "the admin's job",
    ),
    Case(
        "GET",
        "/api/jobs/{job_id}",
        "secret",
        request("GET", "/api/jobs/{job_secret}"),
        only({ADMIN, "eto"}, 200, 404),
        "eto's job",
        reveals=True,
    ),
]

# the web UI's page and assets: public (they hold no data; the page logs in through /ui/*)
WEB_PAGES = (("/", "/"), ("/static/{path}", "/static/app.css"))

READS += [
    *(
        Case("GET", route, "-", request("GET", url), everyone(200), public=True)
        for route, url in WEB_PAGES
    ),
    Case("GET", "/api/chunks/{chunk_id}", "public", passage_of("public"), everyone(200)),
    Case(
        "GET",
        "/api/chunks/{chunk_id}",
        "secret",
        passage_of("secret"),
        only(READS_SECRET, 200, 404),
        reveals=True,
    ),
    Case("GET", "/api/log", "-", request("GET", "/api/log"), everyone(200)),
    *(
        Case("GET", path, "-", request("GET", path), only({ADMIN}, 200, 403))
        for path in ("/api/admin/users", "/api/admin/keys", "/api/admin/groups")
    ),
    # no evaluation run in this knowledge base: the admin's answer is 404
    Case(
        "GET",
        "/api/admin/report",
        "-",
        request("GET", "/api/admin/report"),
        only({ADMIN}, 404, 403),
    ),
    # admin changes, idempotent or on nothing, so that every caller can send them
    Case(
        "PUT",
        "/api/admin/users/{name}",
        "-",
        request("PUT", "/api/admin/users/matrix", lambda w: {"groups": ["sales"]}),
        only({ADMIN}, 200, 403),
    ),
    Case(
        "DELETE",
        "/api/admin/users/{name}",
        "-",
        request("DELETE", "/api/admin/users/nobody-at-all"),
        only({ADMIN}, 404, 403),
    ),
    Case(
        "POST",
        "/api/admin/keys",
        "-",
        request("POST", "/api/admin/keys", lambda w: {"user": "nobody-at-all"}),
        only({ADMIN}, 404, 403),
    ),
    Case(
        "DELETE",
        "/api/admin/keys/{key_id}",
        "-",
        request("DELETE", "/api/admin/keys/999999"),
        only({ADMIN}, 404, 403),
    ),
]

UPLOAD_GROUPS = {"public": "", "secret": "executives", "sales": "sales"}
WRITES: list[Case] = [
    # an upload's groups: the admin any; an editor only their own; no reader; public: admin
    Case(
        "POST",
        "/api/documents",
        "public",
        lambda w, who: w.upload(who, "matrix.md", "# 行程\n\n本文です。", ""),
        only({ADMIN}, 202, 403),
        upload="",
    ),
    Case(
        "POST",
        "/api/documents",
        "secret",
        lambda w, who: w.upload(who, "matrix.md", "# 行程\n\n本文です。", "executives"),
        only({ADMIN, "eto"}, 202, 403),
        "executives",
        upload="executives",
    ),
    Case(
        "POST",
        "/api/documents",
        "sales",
        lambda w, who: w.upload(who, "matrix.md", "# 行程\n\n本文です。", "sales"),
        only({ADMIN, "endo"}, 202, 403),
        upload="sales",
    ),
    # a delete: the admin any; an editor a document all of whose groups are theirs; readers
    # none (403 before anything else); a document the caller cannot see: 404
    Case(
        "DELETE",
        "/api/documents/{doc_id}",
        "public",
        request("DELETE", "/api/documents/{public}"),
        only({ADMIN}, 200, 403),
        delete="public",
    ),
    Case(
        "DELETE",
        "/api/documents/{doc_id}",
        "secret",
        request("DELETE", "/api/documents/{secret}"),
        by_caller({"aoki": 200, "eto": 200, "endo": 404, "sato": 403, "rita": 403}),
        delete="secret",
    ),
]
CASES = [*READS, *WRITES]


# -- the checks ------------------------------------------------------------------------------
ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
}


def visible(response: httpx.Response) -> str:
    """What a response shows: its text, and its JSON (whole or per SSE event) decoded."""
    parts = [response.text]
    for line in response.text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            parts.append(json.dumps(json.loads(line[6:]), ensure_ascii=False))
    if response.headers.get("content-type", "").startswith("application/json"):
        parts.append(json.dumps(response.json(), ensure_ascii=False))
    return "\n".join(parts)


def expected_status(case: Case, who: str | None) -> int:
    if case.public:
        return case.expect(who or "")
    if who not in CALLERS:
        return 401
    return case.expect(who)


def check_response(case: Case, who: str | None, response: httpx.Response) -> None:
    context = f"{case.id} as {who}: {response.status_code} {response.text[:300]}"
    status = expected_status(case, who)
    assert response.status_code == status, context
    if status == 401:
        assert response.headers.get("www-authenticate") == "Bearer", context
    if status >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, context
        assert error["type"] == ERROR_TYPES[status], context
    shown = visible(response)
    if who not in READS_SECRET:
        leaked = [m for m in SECRET_MARKERS if m in shown]
        assert not leaked, f"{context}: shows {leaked}"
    elif case.reveals and status < 300:
        assert SECRET_DOC in shown, f"{context}: the minutes are not shown to {who}"


def ids(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(case, who, id=f"{case.id} as {who or 'no key'}")
        for case in cases
        for who in EVERYONE
    ]


@pytest.mark.parametrize(("case", "who"), ids(READS))
def test_reads(reads: World, case: Case, who: str | None) -> None:
    check_response(case, who, case.send(reads, who))


@pytest.mark.parametrize(("case", "who"), ids(WRITES))
def test_writes(writes: World, case: Case, who: str | None) -> None:
    before = writes.documents()
    uploads = writes.service.path / "uploads"
    response = case.send(writes, who)
    check_response(case, who, response)
    after = writes.documents()
    if response.status_code >= 300:  # refused: nothing written
        assert after == before, f"{case.id} as {who}: refused, yet the documents changed"
        assert not list(uploads.glob("*/*")), f"{case.id} as {who}: refused, yet files saved"
    elif case.upload is not None:
        assert who is not None
        job = writes.wait_job(response.json()["job"], who)
        assert job["status"] == "done", job
        added = [d for d in writes.documents() if d not in before]
        assert [(d["name"], d["groups"]) for d in added] == [
            ("matrix.md", [case.upload] if case.upload else [])
        ]
        assert len(writes.documents()) == len(before) + 1
    else:
        assert case.delete is not None
        gone = writes.docs[case.delete]
        assert response.json() == {"id": gone, "deleted": True}
        assert after == [d for d in before if d["id"] != gone]


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves and of every operation it documents."""
    served: set[tuple[str, str]] = set()
    for route in served_routes(app):
        methods = set(getattr(route, "methods", None) or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette answers HEAD wherever GET is
        path = str(getattr(route, "path_format", None) or getattr(route, "path", ""))
        served |= {(method, path) for method in methods}
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= served, documented - served
    return served


# the web login's routes (their own rules: no key needed to log in; a session cookie, CSRF):
# tests/server/test_web_auth.py and tests/server/test_oidc.py cover each of them
WEB_LOGIN_ROUTES = {
    ("POST", "/ui/login"),
    ("GET", "/ui/session"),
    ("POST", "/ui/logout"),
    ("GET", "/ui/config"),
    ("GET", "/ui/oidc/login"),
    ("GET", "/ui/oidc/callback"),
}


def test_every_route_is_in_the_matrix(reads: World) -> None:
    served = routes_of(reads.client.app) - WEB_LOGIN_ROUTES
    covered = {(case.method, case.route) for case in CASES}
    assert served - covered == set(), "routes without a matrix entry"
    assert covered - served == set(), "matrix entries for routes the app does not serve"
    public = {(case.method, case.route) for case in CASES if case.public}
    pages = tuple(route for route, _ in WEB_PAGES)
    assert public == {("GET", path) for path in (*PUBLIC_ROUTES, *PUBLIC_API, *pages)}


def test_a_refusal_tells_nothing_of_a_hidden_document(reads: World) -> None:
    """A hidden document and one that does not exist get the same answer, whoever asks."""
    missing = max(d["id"] for d in reads.documents()) + 1000
    hidden = reads.docs["secret"]
    for method, who, status in (
        ("GET", "endo", 404),
        ("GET", "rita", 404),
        ("DELETE", "endo", 404),  # an editor: not found, as for no document at all
        ("DELETE", "rita", 403),  # a reader may delete nothing: the role is checked first
    ):
        answers = [
            reads.send(method, f"/api/documents/{doc_id}", who) for doc_id in (hidden, missing)
        ]
        assert [a.status_code for a in answers] == [status, status], (method, who)
        assert answers[0].json() == answers[1].json(), (method, who)
    # a job: another user's and none at all look alike
    for who in ("sato", "endo"):
        answers = [
            reads.send("GET", f"/api/jobs/{job}", who) for job in (reads.jobs["secret"], "0" * 32)
        ]
        assert [a.status_code for a in answers] == [404, 404]
        assert answers[0].json() == answers[1].json()
