"""The served OpenAPI document against the server, with schemathesis, in-process.

Every operation of ``/openapi.json`` is called with generated requests, valid and invalid
(schemathesis' positive and negative modes), as an administrator, and every default check
applies: no 5xx, every status, content type, header and body as documented (SSE events
included), invalid requests refused and valid ones accepted, 405s with a true ``Allow``.

How it is wired:

- The schema is read at import (collection needs it) from an app over an empty knowledge
  base: schemathesis' lazy ``from_fixture`` loader does not run under pytest 9. The
  ``served`` fixture checks that the app under test serves the very same document.
- Requests go to the app under test (``app=``), whose lifespan schemathesis runs itself and
  ends after each operation's test (so each operation restarts it: a restart must work).
- The generated requests are bounded and derandomized: the same examples on every run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from kotae.config import Settings, load_settings
from kotae.kb import init_kb
from kotae.server.app import create_app
from kotae.server.state import ServerState
from tests.server.conftest import KB_NAME, _config


def served_spec(settings: Settings | None = None) -> dict[str, Any]:
    """The document an app over an (empty) knowledge base serves."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / KB_NAME
        init_kb(path).close()
        return create_app(settings or Settings(), path, check=False).openapi()


SPEC = served_spec()
schema = schemathesis.openapi.from_dict(SPEC)
# The test sends the API key itself (headers=): schemathesis must not generate the
# Authorization header, nor count its absence as what makes a request invalid.
schema.config.generation.update(with_security_parameters=False)

# The checks left out, by operation, and why (nothing else is left out):
EXCLUDED = {
    # A schema-valid upload is any file under any name, but the server takes only documents
    # its loaders read (by extension, then content): a random file is a documented 400, which
    # OpenAPI cannot tell from a wrong one. Valid uploads are tested in test_api.py.
    "POST /api/documents": [positive_data_acceptance],
    # Group names are valid after NFKC folding, with reserved names ('__public__', 'user:…')
    # and no spaces or commas; a user name must not be blank: documented 400s that a JSON
    # schema cannot state. The valid and invalid cases are in test_admin_api.py.
    "PUT /api/admin/users/{name}": [positive_data_acceptance],
    # A key's expiry is a duration or a future date ("30d", "2027-03-31"): a past or
    # unreadable one is a documented 400 (test_admin_api.py).
    "POST /api/admin/keys": [positive_data_acceptance],
}


@pytest.fixture(scope="module")
def served(
    service_template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[FastAPI, str]:
    """The app under test (the sample knowledge base, the fake generator) and an admin key."""
    template, keys = service_template
    path = tmp_path_factory.mktemp("schema") / KB_NAME
    shutil.copytree(template, path)
    config = path / "kotae.toml"
    config.write_text(config.read_text("utf-8") + "\n" + _config(True), "utf-8")
    app = create_app(load_settings(config), path)
    assert app.openapi() == SPEC, "the app under test serves another document"
    return app, keys["aoki"]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    # the examples are bounded and the fixture is the app, shared on purpose
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_api_does_what_its_schema_says(case: Any, served: tuple[FastAPI, str]) -> None:
    app, key = served
    # the checks that send requests of their own (unsupported methods, no auth, deleted
    # resources) send them through the schema's transport: the app under test
    case.operation.schema.app = app
    case.call_and_validate(
        headers={"Authorization": f"Bearer {key}"},
        app=app,
        excluded_checks=EXCLUDED.get(case.operation.label, []),
    )


# -- what the run above found, pinned --------------------------------------------------


def test_invalid_requests_are_documented_as_400_not_422() -> None:
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method.upper()} {path}"
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, f"{method.upper()} {path}"
    assert "HTTPValidationError" not in SPEC["components"]["schemas"]


def test_search_k_is_documented_up_to_max_k() -> None:
    spec = served_spec(Settings.model_validate({"server": {"max_k": 7}}))
    [k] = [p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "k"]
    assert k["schema"]["maximum"] == 7


def test_streams_document_their_events() -> None:
    for path in ("/api/ask", "/v1/chat/completions"):
        content = SPEC["paths"][path]["post"]["responses"]["200"]["content"]
        event = content["text/event-stream"]["schema"]
        assert event["type"] == "object" and "data" in event["required"], path


def test_a_405_names_every_method_of_the_path(served: tuple[FastAPI, str]) -> None:
    app, key = served
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        for path, allowed in (("/api/documents", "GET, POST"), ("/api/documents/1", "DELETE, GET")):
            r = client.put(path, headers=headers)
            assert r.status_code == 405 and r.headers["allow"] == allowed, path
            assert r.json()["error"]["type"] == "invalid_request_error"


def test_ids_beyond_json_integers_are_refused_not_crashed(served: tuple[FastAPI, str]) -> None:
    app, key = served
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        for response in (
            client.get(f"/api/documents/{2**63}", headers=headers),
            client.delete(f"/api/documents/{2**63}", headers=headers),
            client.post("/api/feedback", json={"log_id": 2**63, "rating": "up"}, headers=headers),
        ):
            assert response.status_code == 400, response.text
        # JSON has one number type: 1.0 is the integer 1 (here: an answer nobody logged)
        r = client.post("/api/feedback", json={"log_id": 1e6, "rating": "up"}, headers=headers)
        assert r.status_code == 404, r.text


def test_blank_queries_are_refused_by_the_schema(served: tuple[FastAPI, str]) -> None:
    app, key = served
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        for blank in (" ", "\u3000", "\x07", "\x85", "\u200b"):
            r = client.get("/api/search", params={"q": blank}, headers=headers)
            assert r.status_code == 400, repr(blank)
            r = client.post("/api/ask", json={"question": blank}, headers=headers)
            assert r.status_code == 400, repr(blank)


def test_a_restarted_state_opens_new_readers(tmp_path: Path) -> None:
    """A lifespan's end closes the readers; the same threads serve the next lifespan."""
    init_kb(tmp_path / KB_NAME).close()
    state = ServerState(tmp_path / KB_NAME, Settings(), name=KB_NAME)
    first = state.reader()
    state.close()
    second = state.reader()
    try:
        assert second is not first
        assert second.catalog.counts()["documents"] == 0  # open
    finally:
        state.close()
