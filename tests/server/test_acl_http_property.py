"""ACL through the HTTP API, as a property over random documents, users and queries.

The library's property (tests/test_acl_property.py) seen from outside: documents with
random groups are uploaded through ``POST /api/documents`` (as the admin, then each job
awaited at ``/api/jobs/{id}``); users with random roles and groups get API keys (set up on
the knowledge base directly: setup, not the code under test); then, for random queries,
as each user:

(a) every hit of ``/api/search``, and every source and citation of ``/api/ask`` and of
    ``/v1/chat/completions`` (model ``kotae/kb``, its ``kotae`` object), is a document the
    user's groups may read (public, or a group in common; an admin reads everything);
(b) the filter removes and never reorders: the user's top k is the admin's ranking
    restricted to what the user may read, cut at k (equal scores may come in any order);
(c) ``/api/documents`` lists exactly the documents the user may read.

Each example gets a knowledge base of its own and a server over it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kotae.kb import KnowledgeBase, init_kb
from kotae.security.auth import create_key, set_role
from tests.server.conftest import MODEL, Service, start

VOCAB = (
    "経費", "申請", "出張", "宿泊費", "上限", "承認", "会議", "予算", "契約", "セキュリティ",
    "規程", "領収書", "budget", "travel", "expense", "policy", "approval", "meeting",
    "contract", "security", "invoice", "deadline",
)  # fmt: skip
# Document ACLs (empty = public); group names are case-insensitive ("Sales" is "sales").
ACLS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"総務部"}),
    frozenset({"経理部"}),
    frozenset({"Sales", "経理部"}),
    frozenset({"sales"}),
    frozenset({"legal", "総務部"}),
)
USER_GROUPS = ("総務部", "経理部", "sales", "SALES", "legal", "other")
ROLES = ("reader", "editor", "admin")
ADMIN = "root"

words = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=10).map(" ".join)
# up to four ACLs per knowledge base: each is one upload, one job
documents = st.lists(st.sampled_from(ACLS), min_size=1, max_size=4, unique=True).flatmap(
    lambda acls: st.lists(st.tuples(words, st.sampled_from(acls)), min_size=1, max_size=8)
)
users = st.lists(
    st.tuples(st.sampled_from(ROLES), st.frozensets(st.sampled_from(USER_GROUPS), max_size=2)),
    min_size=1,
    max_size=3,
)
queries = st.lists(
    st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3).map(" ".join),
    min_size=1,
    max_size=2,
)


def may_read(acl: frozenset[str], role: str, groups: frozenset[str]) -> bool:
    folded = {g.casefold() for g in groups}
    return role == "admin" or not acl or any(g.casefold() in folded for g in acl)


def make_kb(path: Any, people: Sequence[tuple[str, frozenset[str]]]) -> dict[str, str]:
    """A knowledge base with no document, the admin and ``people`` (u0, u1...): their keys."""
    kb = init_kb(path)
    try:
        keys = {}
        for name, role, groups in [
            (ADMIN, "admin", frozenset[str]()),
            *((f"u{i}", role, groups) for i, (role, groups) in enumerate(people)),
        ]:
            kb.set_user(name, sorted(groups))
            set_role(kb.catalog, name, role)
            keys[name] = create_key(kb.catalog, name)[0]
    finally:
        kb.close()
    return keys


def upload_all(service: Service, docs: Sequence[tuple[str, frozenset[str]]]) -> dict[str, int]:
    """Upload ``docs`` as the admin, one request per ACL; return file name -> document id."""
    by_acl: dict[frozenset[str], list[tuple[str, bytes]]] = defaultdict(list)
    for i, (text, acl) in enumerate(docs):
        by_acl[acl].append((f"d{i}.md", f"# doc {i}\n\n{text}\n".encode()))
    jobs = []
    for acl, files in by_acl.items():
        r = service.client.post(
            "/api/documents",
            files=[("files", file) for file in files],
            data={"groups": ",".join(sorted(acl))},
            headers=service.auth(ADMIN),
        )
        assert r.status_code == 202, r.text
        jobs.append(r.json()["job"])
    for job in jobs:
        for _ in range(500):
            status = service.client.get(f"/api/jobs/{job}", headers=service.auth(ADMIN)).json()
            if status["status"] not in ("queued", "running"):
                break
            time.sleep(0.01)
        assert status["status"] == "done", status
    listed = service.client.get("/api/documents", headers=service.auth(ADMIN)).json()
    return {d["name"]: d["id"] for d in listed["documents"]}


def assert_filtered_ranking(
    got: list[dict[str, Any]], expected: list[dict[str, Any]], k: int, context: str
) -> None:
    """``got`` is ``expected`` cut at k, up to the order of equal scores."""
    n = min(k, len(expected))
    assert len(got) == n, f"{context}: {len(got)} hits, {n} readable matches in the top {k}"
    assert [h["score"] for h in got] == [h["score"] for h in expected[:n]], context
    if not got:
        return
    cut = got[-1]["score"]
    got_at: dict[float, set[int]] = defaultdict(set)
    expected_at: dict[float, set[int]] = defaultdict(set)
    for hit in got:
        got_at[hit["score"]].add(hit["chunk_id"])
    for hit in expected:
        expected_at[hit["score"]].add(hit["chunk_id"])
    for score, chunk_ids in got_at.items():
        if score > cut:
            assert chunk_ids == expected_at[score], f"{context}: level {score} differs"
        else:
            assert chunk_ids <= expected_at[score], f"{context}: cut level {score}"


def check_user(service: Service, name: str, readable: set[int], query: str, k: int) -> None:
    c, headers = service.client, service.auth(name)
    context = f"user={name} query={query!r} k={k}"
    everything = c.get("/api/search", params={"q": query, "k": 50}, headers=service.auth(ADMIN))
    assert everything.status_code == 200, everything.text
    r = c.get("/api/search", params={"q": query, "k": k}, headers=headers)
    assert r.status_code == 200, r.text
    hits = r.json()["results"]
    leaked = {h["document_id"] for h in hits} - readable
    assert not leaked, f"{context}: search shows documents {leaked}"
    expected = [h for h in everything.json()["results"] if h["document_id"] in readable]
    assert_filtered_ranking(hits, expected, k, context)

    r = c.post("/api/ask", json={"question": query}, headers=headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    shown = {s["document_id"] for s in answer["sources"] + answer["citations"]}
    assert shown <= readable, f"{context}: ask shows documents {shown - readable}"

    # the web UI's paths: a passage opens for its readers only (hidden = not found), and a
    # search filtered to one document (the UI's filter) never reaches an unreadable one
    for hit in everything.json()["results"]:
        r = c.get(f"/api/chunks/{hit['chunk_id']}", headers=headers)
        assert r.status_code == (200 if hit["document_id"] in readable else 404), context
        one = c.get(
            "/api/search",
            params={"q": query, "k": k, "document": hit["document_id"]},
            headers=headers,
        )
        assert one.status_code == 200, one.text
        assert {h["document_id"] for h in one.json()["results"]} <= readable, context

    chat = {"model": MODEL, "messages": [{"role": "user", "content": query}]}
    r = c.post("/v1/chat/completions", json=chat, headers=headers)
    assert r.status_code == 200, r.text
    extra = r.json()["kotae"]
    shown = {s["document_id"] for s in extra["sources"] + extra["citations"]}
    assert shown <= readable, f"{context}: chat shows documents {shown - readable}"


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    docs=documents,
    people=users,
    query_list=queries,
    k=st.integers(min_value=1, max_value=6),
)
@example(  # the private documents rank first: the public reader still gets their k
    docs=[("出張 宿泊費 上限 出張 宿泊費", frozenset({"経理部"}))] * 4
    + [("出張 の 会議", frozenset())],
    people=[("reader", frozenset()), ("editor", frozenset({"SALES"}))],
    query_list=["出張の宿泊費"],
    k=1,
)
def test_http_reads_respect_the_acl(
    tmp_path_factory: pytest.TempPathFactory,
    docs: list[tuple[str, frozenset[str]]],
    people: list[tuple[str, frozenset[str]]],
    query_list: list[str],
    k: int,
) -> None:
    path = tmp_path_factory.mktemp("acl-http") / "kb"
    keys = make_kb(path, people)
    with contextmanager(start)(path, keys) as service:
        ids = upload_all(service, docs)
        acl_of = {ids[f"d{i}.md"]: acl for i, (_, acl) in enumerate(docs)}
        assert len(acl_of) == len(docs)
        with KnowledgeBase(path, sync=False) as kb:  # the groups as stored: folded
            for doc_id, acl in acl_of.items():
                stored = kb.catalog.document(doc_id)
                assert stored is not None
                assert set(stored.groups) == {g.casefold() for g in acl}
        for i, (role, groups) in enumerate(people):
            name = f"u{i}"
            readable = {d for d, acl in acl_of.items() if may_read(acl, role, groups)}
            listed = service.client.get("/api/documents", headers=service.auth(name))
            assert {d["id"] for d in listed.json()["documents"]} == readable, name
            for query in query_list:
                check_user(service, name, readable, query, k)
            # the log as the user reads it: others' entries redacted, so no text of a
            # document the user may not read (their own entries only cite readable ones)
            log = service.client.get("/api/log", headers=service.auth(name)).json()["entries"]
            for entry in log:
                if entry["user"] != name and role != "admin":
                    assert entry["redacted"] and not entry["retrieved"], name
                cited = {c["document_id"] for c in entry["citations"]}
                cited |= {r["document_id"] for r in entry["retrieved"]}
                assert cited <= readable, f"{name}: the log shows documents {cited - readable}"
