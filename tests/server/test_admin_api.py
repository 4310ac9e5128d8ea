"""The routes behind the web UI: passages, the query log, users, keys, groups, the report,
and the search filters; each through real HTTP requests with the callers' keys."""

from __future__ import annotations

from tests.server.conftest import SECRET_DOC, SECRET_QUERY, Service


def _search(service: Service, who: str, **params: object) -> list[dict[str, object]]:
    r = service.client.get("/api/search", params=params, headers=service.auth(who))
    assert r.status_code == 200, r.text
    results: list[dict[str, object]] = r.json()["results"]
    return results


def test_a_passage_opens_for_its_readers_only(service: Service) -> None:
    hit = _search(service, "sato", q=SECRET_QUERY, k=3)[0]
    assert str(hit["title"]).startswith(SECRET_DOC)
    r = service.client.get(f"/api/chunks/{hit['chunk_id']}", headers=service.auth("sato"))
    assert r.status_code == 200
    passage = r.json()
    assert passage["text"] == hit["text"] and passage["document_id"] == hit["document_id"]
    assert passage["location"] == hit["location"] and passage["format"]
    hidden = service.client.get(f"/api/chunks/{hit['chunk_id']}", headers=service.auth("rita"))
    missing = service.client.get("/api/chunks/999999", headers=service.auth("rita"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"] == missing.json()["error"]["message"]


def test_search_filters_by_format_and_document(service: Service) -> None:
    everything = _search(service, "aoki", q="出張", k=20)
    formats = {}
    for hit in everything:
        doc = service.client.get(
            f"/api/documents/{hit['document_id']}", headers=service.auth("aoki")
        ).json()
        formats[hit["document_id"]] = doc["format"]
    assert len(set(formats.values())) > 1  # the filter has something to remove
    fmt = formats[everything[0]["document_id"]]  # type: ignore[index]
    only = _search(service, "aoki", q="出張", k=20, format=fmt)
    assert only and {formats[h["document_id"]] for h in only} == {fmt}  # type: ignore[index]
    assert [h["rank"] for h in only] == list(range(1, len(only) + 1))
    doc_id = everything[-1]["document_id"]
    one = _search(service, "aoki", q="出張", k=5, document=doc_id)
    assert one and {h["document_id"] for h in one} == {doc_id}
    # a reader's filter never reaches a document they may not read
    assert _search(service, "rita", q=SECRET_QUERY, document=hit_secret(service)) == []


def hit_secret(service: Service) -> int:
    return int(_search(service, "sato", q=SECRET_QUERY, k=1)[0]["document_id"])  # type: ignore[arg-type]


def test_the_log_shows_each_caller_what_they_may_read(service: Service) -> None:
    _search(service, "sato", q=SECRET_QUERY)
    _search(service, "rita", q="出張")
    mine = service.client.get("/api/log", headers=service.auth("rita")).json()["entries"]
    assert mine and all(e["user"] == "rita" or e["redacted"] for e in mine)
    assert SECRET_QUERY not in str(mine)
    admin = service.client.get("/api/log", headers=service.auth("aoki")).json()["entries"]
    assert any(e["query"] == SECRET_QUERY for e in admin)


def test_admin_manages_users_and_keys(service: Service) -> None:
    admin = service.auth("aoki")
    r = service.client.put(
        "/api/admin/users/kimura", json={"groups": ["Sales"], "role": "editor"}, headers=admin
    )
    assert r.status_code == 200, r.text
    user = r.json()
    assert {k: user[k] for k in ("name", "role", "groups", "valid_keys")} == {
        "name": "kimura",
        "role": "editor",
        "groups": ["sales"],
        "valid_keys": 0,
    }
    users = service.client.get("/api/admin/users", headers=admin).json()
    assert "kimura" in {u["name"] for u in users}
    created = service.client.post(
        "/api/admin/keys", json={"user": "kimura", "name": "web", "expires": "30d"}, headers=admin
    )
    assert created.status_code == 200, created.text
    key = created.json()["key"]
    assert (
        service.client.get("/api/documents", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    listed = service.client.get("/api/admin/keys", params={"user": "kimura"}, headers=admin).json()
    assert [k["state"] for k in listed] == ["valid"] and key not in str(listed)
    revoked = service.client.delete(f"/api/admin/keys/{listed[0]['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (
        service.client.get("/api/documents", headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )
    assert service.client.delete("/api/admin/users/kimura", headers=admin).json()["deleted"]
    assert service.client.delete("/api/admin/users/kimura", headers=admin).status_code == 404
    groups = service.client.get("/api/admin/groups", headers=admin).json()
    assert "executives" in {g["name"] for g in groups}
    with service.kb() as kb:
        actions = [r["action"] for r in kb.catalog.audit_rows()]
    assert {"user.set", "key.created", "key.revoked", "user.removed"} <= set(actions)


def test_admin_routes_refuse_others_and_bad_input(service: Service) -> None:
    for who in ("eto", "sato"):
        headers = service.auth(who)
        assert service.client.get("/api/admin/users", headers=headers).status_code == 403
        assert service.client.put("/api/admin/users/x", json={}, headers=headers).status_code == 403
        assert (
            service.client.post("/api/admin/keys", json={"user": who}, headers=headers).status_code
            == 403
        )
        assert service.client.get("/api/admin/report", headers=headers).status_code == 403
    admin = service.auth("aoki")
    bad_role = service.client.put("/api/admin/users/x", json={"role": "boss"}, headers=admin)
    assert bad_role.status_code == 400
    bad_group = service.client.put(
        "/api/admin/users/x", json={"groups": ["__public__"]}, headers=admin
    )
    assert bad_group.status_code == 400
    with service.kb() as kb:
        assert kb.catalog.user_record("x") is None  # nothing half-written
    me = service.client.put("/api/admin/users/aoki", json={"role": "reader"}, headers=admin)
    assert me.status_code == 409
    assert (
        service.client.post("/api/admin/keys", json={"user": "nobody"}, headers=admin).status_code
        == 404
    )
    past = service.client.post(
        "/api/admin/keys", json={"user": "sato", "expires": "2001-01-01"}, headers=admin
    )
    assert past.status_code == 400
    assert service.client.get("/api/admin/report", headers=admin).status_code == 404  # no run yet
    own = service.client.get("/api/admin/keys", params={"user": "aoki"}, headers=admin).json()
    assert (
        service.client.delete(f"/api/admin/keys/{own[0]['id']}", headers=admin).status_code == 409
    )
