"""kotae's own API in-process: search, ask (JSON and SSE), feedback, documents, jobs."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.server.conftest import SECRET_DOC, SECRET_QUERY, Service


def events(text: str) -> list[tuple[str, Any]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def titles(service: Service, who: str, query: str) -> list[str]:
    r = service.client.get("/api/search", params={"q": query, "k": 5}, headers=service.auth(who))
    assert r.status_code == 200, r.text
    return [hit["title"] for hit in r.json()["results"]]


def wait_job(service: Service, job: str, who: str) -> dict[str, Any]:
    for _ in range(200):
        r = service.client.get(f"/api/jobs/{job}", headers=service.auth(who))
        assert r.status_code == 200, r.text
        if r.json()["status"] not in ("queued", "running"):
            return dict(r.json())
        time.sleep(0.05)
    raise AssertionError("the job did not end")


def test_health_and_ready_need_no_key(service: Service) -> None:
    assert service.client.get("/api/health").json() == {"status": "ok"}
    ready = service.client.get("/api/ready")
    assert ready.status_code == 200 and ready.json()["documents"] == 11


def test_search_applies_the_callers_groups(service: Service) -> None:
    assert not any(SECRET_DOC in t for t in titles(service, "rita", SECRET_QUERY))
    assert any(SECRET_DOC in t for t in titles(service, "sato", SECRET_QUERY))
    assert any(SECRET_DOC in t for t in titles(service, "aoki", SECRET_QUERY))  # admin


def test_security_headers_and_no_cors_by_default(service: Service) -> None:
    r = service.client.get(
        "/api/health", headers={"Origin": "https://evil.example", "Accept": "application/json"}
    )
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "access-control-allow-origin" not in r.headers


def test_ask_json_cites_and_logs_for_the_caller(service: Service) -> None:
    r = service.client.post(
        "/api/ask", json={"question": "出張の宿泊費の上限はいくら？"}, headers=service.auth("rita")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["citations"] and "[1]" in body["answer"]
    assert body["mode"] == "generate" and body["generator"] == "fake:fake-chat"
    with service.kb() as kb:
        entry = kb.catalog.log_row(body["log_id"])
    assert entry is not None and entry["user"] == "rita"


def test_ask_streams_sources_tokens_then_citations(service: Service) -> None:
    r = service.client.post(
        "/api/ask",
        json={"question": "How do I get a higher API rate limit?", "stream": True},
        headers=service.auth("rita"),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    names = [name for name, _ in got]
    assert names[0] == "sources" and names[-1] == "citations" and "token" in names
    assert set(names[1:-1]) == {"token"}
    streamed = "".join(data["text"] for name, data in got if name == "token")
    final = got[-1][1]
    assert streamed.strip() and final["citations"] and final["log_id"]
    assert got[0][1]["sources"][0]["title"] == final["sources"][0]["title"]


def test_ask_stream_reports_an_error_as_an_event(service: Service) -> None:
    r = service.client.post(
        "/api/ask",
        json={"question": "出張の宿泊費の上限はいくら？" * 280, "stream": True},
        headers=service.auth("rita"),
    )
    assert r.status_code == 200
    name, data = events(r.text)[-1]
    assert name == "error" and data["status"] == 400
    assert data["error"]["code"] == "context_length_exceeded"


def test_feedback_only_on_the_callers_own_answers(service: Service) -> None:
    asked = service.client.post(
        "/api/ask", json={"question": "経費の申請期限は？"}, headers=service.auth("sato")
    ).json()
    mine = service.client.post(
        "/api/feedback",
        json={"log_id": asked["log_id"], "rating": "down", "comment": "古い情報"},
        headers=service.auth("sato"),
    )
    assert mine.status_code == 201 and mine.json()["rating"] == "down"
    theirs = service.client.post(
        "/api/feedback",
        json={"log_id": asked["log_id"], "rating": "up"},
        headers=service.auth("rita"),
    )
    assert theirs.status_code == 404
    with service.kb() as kb:
        rows = kb.catalog.feedback_rows(asked["log_id"])
    assert [(r["user"], r["rating"], r["comment"]) for r in rows] == [("sato", -1, "古い情報")]


def test_upload_ingests_as_a_job_in_the_editors_group(service: Service) -> None:
    files = [
        ("files", ("在宅勤務.md", "# 在宅勤務規程\n\n在宅勤務手当は月額5000円です。".encode()))
    ]
    r = service.client.post(
        "/api/documents", files=files, data={"groups": "executives"}, headers=service.auth("eto")
    )
    assert r.status_code == 202, r.text
    job = wait_job(service, r.json()["job"], "eto")
    assert job["status"] == "done" and job["files"][0]["documents"] == 1
    assert "在宅勤務規程" in titles(service, "sato", "在宅勤務手当")
    assert "在宅勤務規程" not in titles(service, "rita", "在宅勤務手当")
    # the job is its user's (and admins'): another user is told it does not exist
    assert (
        service.client.get(f"/api/jobs/{job['id']}", headers=service.auth("sato")).status_code
        == 404
    )
    assert (
        service.client.get(f"/api/jobs/{job['id']}", headers=service.auth("aoki")).status_code
        == 200
    )


def test_a_broken_upload_is_refused_and_nothing_is_written(service: Service) -> None:
    before = service.client.get("/api/documents", headers=service.auth("aoki")).json()
    r = service.client.post(
        "/api/documents",
        files=[("files", ("spec.pdf", b"%PDF-1.7 not really"))],
        data={"groups": "executives"},
        headers=service.auth("eto"),
    )
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("spec.pdf: ")
    assert str(service.path) not in r.json()["error"]["message"]
    assert not any((service.path / "uploads").glob("*/*"))
    assert service.client.get("/api/documents", headers=service.auth("aoki")).json() == before


def test_editors_write_only_in_their_groups(service: Service) -> None:
    md = [("files", ("a.md", "# A\n\n本文です。".encode()))]
    for who, groups, status in (
        ("endo", "executives", 403),  # not their group
        ("eto", "", 403),  # public needs an admin
        ("sato", "executives", 403),  # a reader
        ("aoki", "", 202),  # an admin, public
    ):
        r = service.client.post(
            "/api/documents", files=md, data={"groups": groups}, headers=service.auth(who)
        )
        assert r.status_code == status, (who, groups, r.text)


def test_delete_document(service: Service) -> None:
    docs = service.client.get("/api/documents", headers=service.auth("aoki")).json()["documents"]
    secret = next(d for d in docs if SECRET_DOC in d["title"])
    public = next(d for d in docs if not d["groups"])
    c = service.client
    assert (
        c.delete(f"/api/documents/{secret['id']}", headers=service.auth("rita")).status_code == 403
    )
    assert (
        c.delete(f"/api/documents/{secret['id']}", headers=service.auth("endo")).status_code == 404
    )
    assert (
        c.delete(f"/api/documents/{public['id']}", headers=service.auth("eto")).status_code == 403
    )
    r = c.delete(f"/api/documents/{secret['id']}", headers=service.auth("eto"))
    assert r.status_code == 200 and r.json() == {"id": secret["id"], "deleted": True}
    assert not any(SECRET_DOC in t for t in titles(service, "sato", SECRET_QUERY))
    assert c.get(f"/api/documents/{secret['id']}", headers=service.auth("aoki")).status_code == 404


def test_errors_are_json_with_one_message(service: Service) -> None:
    c = service.client
    for response, status in (
        (c.get("/api/search", params={"q": "x"}), 401),
        (c.get("/api/search", params={"q": "x"}, headers=service.auth("sato:expired")), 401),
        (c.get("/api/search", params={"q": "x"}, headers=service.auth("sato:revoked")), 401),
        (c.get("/api/search", params={"q": "x", "k": "many"}, headers=service.auth("sato")), 400),
        (c.get("/api/search", params={"q": "x", "k": 51}, headers=service.auth("sato")), 400),
        (c.post("/api/ask", content=b"{not json", headers=service.auth("sato")), 400),
        (c.post("/api/ask", json={"question": 3}, headers=service.auth("sato")), 400),
        (c.get("/api/nothing-here", headers=service.auth("sato")), 404),
    ):
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and "\n" not in error["message"]


def test_japanese_error_messages_on_request(service: Service) -> None:
    r = service.client.get(
        "/api/search", params={"q": "x"}, headers={"Accept-Language": "ja,en;q=0.5"}
    )
    assert r.status_code == 401 and "API キー" in r.json()["error"]["message"]


def test_a_huge_body_is_refused_before_it_is_read(service: Service) -> None:
    r = service.client.post(
        "/api/ask",
        content=b'{"question": "' + b"a" * 2_000_000 + b'"}',
        headers={**service.auth("sato"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "max_body_bytes" in r.json()["error"]["message"]


def test_deleting_an_upload_removes_its_file_and_rule(service: Service) -> None:
    files = [("files", ("廃止予定.md", "# 廃止予定の規程\n\n旧端末の貸与は終了します。".encode()))]
    r = service.client.post(
        "/api/documents", files=files, data={"groups": "executives"}, headers=service.auth("eto")
    )
    wait_job(service, r.json()["job"], "eto")
    docs = service.client.get("/api/documents", headers=service.auth("eto")).json()["documents"]
    uploaded = next(d for d in docs if d["name"] == "廃止予定.md")
    folder = service.path / "uploads" / r.json()["job"]
    assert (folder / "廃止予定.md").is_file()
    with service.kb() as kb:
        assert str(folder.resolve()) in kb.catalog.acl_rules()  # one rule per upload
    deleted = service.client.delete(f"/api/documents/{uploaded['id']}", headers=service.auth("eto"))
    assert deleted.status_code == 200 and deleted.json()["deleted"]
    assert not folder.exists()
    with service.kb() as kb:
        assert str(folder.resolve()) not in kb.catalog.acl_rules()
    assert "廃止予定の規程" not in titles(service, "sato", "旧端末の貸与")
