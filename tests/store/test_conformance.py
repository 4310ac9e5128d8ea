"""The Store conformance suite: one class per behaviour, run against every store in
``conftest.STORES`` (SQLite today). See :mod:`kotae.index.store` for the promises."""

from __future__ import annotations

import numpy as np
import pytest

from kotae.documents.model import Chunk
from kotae.errors import QueryError
from kotae.evaluation.model import EvalItem, QuestionResult, RunSummary
from kotae.index.catalog import NewDocument
from kotae.index.store import Store


def doc(
    source: str,
    texts: list[str],
    groups: tuple[str, ...] = (),
    digest: str = "h1",
    vectors: list[bytes] | None = None,
) -> NewDocument:
    chunks = [
        Chunk(t, i, i * 100, i * 100 + len(t), ("見出し",), page=i + 1) for i, t in enumerate(texts)
    ]
    return NewDocument(
        source=source,
        title=source.rsplit("/", 1)[-1],
        format="md",
        content_hash=digest,
        size_bytes=sum(len(t) for t in texts),
        groups=groups,
        chunks=chunks,
        metadata={"k": "v"},
        vectors=vectors,
        vector_model="m" if vectors is not None else "",
    )


def blob(*values: float) -> bytes:
    return np.array(values, dtype=np.float32).tobytes()


def snapshot(store: Store) -> tuple[object, ...]:
    return (
        store.generation(),
        [(d.id, d.source, d.version, d.groups, d.chunk_count) for d in store.documents()],
        sorted((c.id, c.text) for c in store.all_chunks()),
        store.vector_ids("m").tolist(),
    )


class TestGeneration:
    def test_a_new_store_is_empty_at_generation_zero(self, store: Store) -> None:
        assert store.generation() == 0
        assert store.is_empty()
        assert store.counts() == {"documents": 0, "chunks": 0, "vectors": 0, "users": 0}

    def test_each_write_bumps_the_generation_and_logs_its_documents(self, store: Store) -> None:
        g1, [(a, _)] = store.write_documents([doc("/d/a.md", ["一"])])
        g2, [(b, _)] = store.write_documents([doc("/d/b.md", ["二"])])
        assert (g1, g2) == (1, 2)
        assert sorted(store.changed_since(0)) == sorted([a, b])
        assert store.changed_since(1) == [b]
        assert store.oldest_change() == 1
        store.prune_changes(1)
        assert store.oldest_change() == 2
        store.prune_changes(2)
        assert store.changed_since(0) == []
        assert store.oldest_change() == store.generation() + 1

    def test_meta_round_trips(self, store: Store) -> None:
        assert store.get_meta("x") is None
        store.set_meta("x", "1")
        store.set_meta("x", "2")
        assert store.get_meta("x") == "2"


class TestDocumentWrites:
    def test_ids_come_back_in_order_with_chunk_ids_by_ordinal(self, store: Store) -> None:
        _, written = store.write_documents([doc("/d/a.md", ["一", "二"]), doc("/d/b.md", ["三"])])
        (a, a_chunks), (b, b_chunks) = written
        assert [c.text for c in store.chunks_of([a])] == ["一", "二"]
        assert [c.id for c in store.chunks_of([a])] == a_chunks
        assert [c.id for c in store.chunks_of([b])] == b_chunks
        assert [c.text for c in store.chunks_of([b, a])] == ["一", "二", "三"]

    def test_replacing_keeps_the_id_bumps_the_version_and_never_reuses_chunk_ids(
        self, store: Store
    ) -> None:
        _, [(a, old_chunks)] = store.write_documents([doc("/d/a.md", ["一", "二"])])
        _, [(a2, new_chunks)] = store.write_documents([doc("/d/a.md", ["三"], digest="h2")])
        assert a2 == a
        row = store.document(a)
        assert row is not None and (row.version, row.content_hash, row.chunk_count) == (2, "h2", 1)
        assert not set(old_chunks) & set(new_chunks)
        assert store.chunks_by_id(old_chunks) == {}

    def test_removal_takes_chunks_acl_and_vectors_with_it(self, store: Store) -> None:
        _, [(a, chunks)] = store.write_documents(
            [doc("/d/a.md", ["一"], groups=("hr",), vectors=[blob(1, 0)])]
        )
        store.write_documents([], remove_ids=[a])
        assert store.document(a) is None
        assert store.chunks_by_id(chunks) == {}
        assert store.vector_ids("m").tolist() == []
        assert store.readable_document_ids(["hr"]).tolist() == []

    def test_a_write_that_fails_midway_changes_nothing(self, store: Store) -> None:
        store.write_documents([doc("/d/a.md", ["一"], vectors=[blob(1, 0)])])
        before = snapshot(store)
        broken = doc("/d/b.md", ["二", "三"], vectors=[blob(0, 1)])  # one vector short
        with pytest.raises(IndexError):
            store.write_documents(
                [doc("/d/a.md", ["改"], digest="h2", vectors=[blob(1, 1)]), broken]
            )
        assert snapshot(store) == before
        store.write_documents([doc("/d/c.md", ["四"])])  # the store is still writable
        assert store.document_by_source("/d/c.md") is not None


class TestReads:
    def test_documents_and_their_fingerprints(self, store: Store) -> None:
        store.write_documents(
            [doc("/d/a.md", ["一"], groups=("hr", "exec")), doc("/e/b.md", ["二"], digest="h9")]
        )
        rows = store.documents()
        assert [r.source for r in rows] == ["/d/a.md", "/e/b.md"]
        assert rows[0].groups == ("exec", "hr") and rows[1].public
        assert rows[0].metadata == {"k": "v"}
        by_source = store.document_by_source("/e/b.md")
        assert by_source is not None and by_source.content_hash == "h9"
        prints = store.fingerprints("/d/")
        assert list(prints) == ["/d/a.md"]
        assert prints["/d/a.md"][1:] == ("h1", ("exec", "hr"))

    def test_chunk_rows_carry_what_a_citation_needs(self, store: Store) -> None:
        _, [(a, [c0, c1])] = store.write_documents([doc("/d/a.md", ["一", "二"], ("hr",))])
        row = store.chunks_by_id([c1])[c1]
        assert (row.document_id, row.ordinal, row.text, row.page) == (a, 1, "二", 2)
        assert (row.heading_path, row.source, row.groups) == (("見出し",), "/d/a.md", ("hr",))
        assert sorted(c.id for c in store.all_chunks()) == [c0, c1]

    def test_chunk_maps(self, store: Store) -> None:
        _, [(a, ca), (b, cb)] = store.write_documents(
            [doc("/d/a.md", ["短", "十分に長い本文です"]), doc("/d/b.md", ["長い本文がここにある"])]
        )
        ids, docs = store.chunk_document_map()
        assert dict(zip(ids.tolist(), docs.tolist(), strict=True)) == {
            ca[0]: a,
            ca[1]: a,
            cb[0]: b,
        }
        assert store.chunk_ids_by_document(min_chars=5) == {a: [ca[1]], b: cb}
        assert store.chunk_ids_by_document(document_ids=[b]) == {b: cb}


class TestAccess:
    def test_readable_documents_are_public_ones_and_shared_ones(self, store: Store) -> None:
        _, written = store.write_documents(
            [
                doc("/d/public.md", ["一"]),
                doc("/d/hr.md", ["二"], ("hr",)),
                doc("/d/exec.md", ["三"], ("exec", "hr")),
            ]
        )
        public, hr, execs = (doc_id for doc_id, _ in written)
        assert store.readable_document_ids([]).tolist() == [public]
        assert store.readable_document_ids(["exec"]).tolist() == [public, execs]
        assert store.readable_document_ids(["hr", "other"]).tolist() == [public, hr, execs]

    def test_users_and_their_groups(self, store: Store) -> None:
        assert store.user_groups("sato") is None
        store.set_user("sato", ["hr", "exec", "hr"])
        store.set_user("suzuki", [])
        assert store.user_groups("sato") == ("exec", "hr")
        store.set_user("sato", ["sales"])
        assert store.users() == [("sato", ("sales",)), ("suzuki", ())]
        assert store.remove_user("sato") and not store.remove_user("sato")
        assert store.user_groups("sato") is None


class TestVectors:
    def test_vectors_round_trip_per_model(self, store: Store) -> None:
        _, [(_, [c0, c1])] = store.write_documents([doc("/d/a.md", ["一", "二"])])
        assert store.chunks_without_vector("m") == [(c0, "一"), (c1, "二")]
        store.put_vectors("m", [(c0, blob(1, 0)), (c1, blob(0.5, 0.5))])
        assert sorted(store.vector_ids("m").tolist()) == [c0, c1]
        assert store.vector_ids("other").tolist() == []
        ids, matrix = store.vectors_of([c1, c0, 999])
        got = {i: row.tolist() for i, row in zip(ids.tolist(), matrix, strict=True)}
        assert got == {c0: [1.0, 0.0], c1: [0.5, 0.5]}
        assert store.chunks_without_vector("m") == []
        assert store.counts()["vectors"] == 2

    def test_a_failed_vector_batch_rolls_back_and_the_store_stays_writable(
        self, store: Store
    ) -> None:
        _, [(_, [c0])] = store.write_documents([doc("/d/a.md", ["一"])])
        with pytest.raises(Exception):  # noqa: B017 - each store raises its own error type
            store.put_vectors("m", [(c0, blob(1, 0)), (10_000, blob(0, 1))])  # no chunk 10000
        assert store.vector_ids("m").tolist() == []
        store.write_documents([doc("/d/b.md", ["二"])])
        store.put_vectors("m", [(c0, blob(1, 0))])
        assert store.vector_ids("m").tolist() == [c0]


def run_summary(run_id: str, created_at: str = "2026-12-01T00:00:00+00:00") -> RunSummary:
    return RunSummary(
        id=run_id,
        name="extractive",
        set_name="faq",
        created_at=created_at,
        status="running",
        n_questions=2,
        config={"generator": None},
    )


class TestEvalRuns:
    ITEMS = (EvalItem("q1", "申請期限は？", answers=("翌月10日",)), EvalItem("q2", "上限は？"))

    def test_a_run_keeps_its_set_and_its_results_in_set_order(self, store: Store) -> None:
        store.create_eval_run(run_summary("abc123"), "set-h", "cfg-h", self.ITEMS)
        assert store.eval_items("abc123") == list(self.ITEMS)
        store.save_eval_result("abc123", 1, QuestionResult("q2", "ok", metrics={"m": 0.5}))
        store.save_eval_result("abc123", 0, QuestionResult("q1", "error", error="boom"))
        assert [r.item_id for r in store.eval_results("abc123")] == ["q1", "q2"]
        assert store.eval_results("abc123")[1].metrics == {"m": 0.5}
        assert store.eval_done_ids("abc123") == {"q1", "q2"}

    def test_an_unfinished_run_is_found_to_resume_and_a_done_one_is_not(self, store: Store) -> None:
        store.create_eval_run(run_summary("r1"), "set-h", "cfg-h", self.ITEMS)
        assert store.add_eval_wall_time("r1", 1.5) == 1.5
        assert store.add_eval_wall_time("r1", 2.0) == 3.5
        store.finish_eval_run("r1", "interrupted")
        found = store.resumable_eval_run("set-h", "cfg-h")
        assert found is not None and (found.id, found.status) == ("r1", "interrupted")
        assert store.resumable_eval_run("set-h", "other") is None
        done = run_summary("r1")
        done.status = "done"
        store.finish_eval_run("r1", "done", done)
        assert store.resumable_eval_run("set-h", "cfg-h") is None
        assert store.eval_run("r1").status == "done"

    def test_runs_are_found_by_unique_prefix_and_listed_newest_first(self, store: Store) -> None:
        store.create_eval_run(run_summary("abc111", "2026-12-01T00:00:00+00:00"), "s", "c", ())
        store.create_eval_run(run_summary("abd222", "2026-12-02T00:00:00+00:00"), "s", "c", ())
        assert store.eval_run("abd").id == "abd222"
        assert [r.id for r in store.eval_runs()] == ["abd222", "abc111"]
        with pytest.raises(QueryError, match="ambiguous"):
            store.eval_run("ab")
        with pytest.raises(QueryError, match="no evaluation run"):
            store.eval_run("zz")
        with pytest.raises(QueryError, match="no evaluation run"):
            store.eval_run("a_")  # LIKE wildcards are taken literally


def log_row(question: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "created_at": "2026-12-01T00:00:00.000+00:00",
        "kind": "ask",
        "status": "ok",
        "question": question,
        "query": question,
        "retrieved": [],
        "citations": [],
        "timings": {"total_ms": 1.5},
    }
    row.update(extra)
    return row


class TestQueryLog:
    def test_rows_round_trip_with_their_json_values(self, store: Store) -> None:
        first = store.log_insert(log_row("一", user="sato", access={"user": "sato"}))
        second = store.log_insert(
            log_row("二", prompt=[{"role": "user", "content": "質問"}], usage={"prompt_tokens": 3})
        )
        assert second > first
        row = store.log_row(second)
        assert row is not None
        assert (row["question"], row["prompt"], row["usage"]) == (
            "二",
            [{"role": "user", "content": "質問"}],
            {"prompt_tokens": 3},
        )
        assert store.log_row(first) == {**store.log_rows({}, 10)[1]}
        assert store.log_row(999) is None

    def test_rows_are_listed_newest_first_and_filtered(self, store: Store) -> None:
        for i, kind in enumerate(["ask", "search", "ask"]):
            store.log_insert(log_row(f"q{i}", kind=kind, user="sato" if i else None))
        assert [r["question"] for r in store.log_rows({}, 10)] == ["q2", "q1", "q0"]
        assert [r["question"] for r in store.log_rows({"kind": "ask"}, 10)] == ["q2", "q0"]
        assert [r["question"] for r in store.log_rows({"user": "sato", "kind": None}, 1)] == ["q2"]
        with pytest.raises(ValueError):
            store.log_rows({"question": "q1"}, 10)

    def test_rows_touching_documents_and_rewriting_them(self, store: Store) -> None:
        hit = store.log_insert(
            log_row("a", session="s", retrieved=[{"rank": 1, "chunk_id": 7, "document_id": 3}])
        )
        cited = store.log_insert(log_row("b", citations=[{"document_id": 3, "snippet": "x"}]))
        store.log_insert(log_row("c", retrieved=[{"rank": 1, "chunk_id": 8, "document_id": 4}]))
        follow = store.log_insert(log_row("d", session="s", query="rewritten from a"))
        assert [r["id"] for r in store.log_rows_touching([3])] == [hit, cited]
        assert store.log_rows_touching([]) == []
        store.log_rewrite([(hit, {"answer": "[removed]", "prompt": None})], [("s", hit, "[x]")])
        row = store.log_row(hit)
        assert row is not None and (row["answer"], row["prompt"]) == ("[removed]", None)
        rewritten = store.log_row(follow)
        assert rewritten is not None and rewritten["query"] == "[x]"

    def test_retention_deletes_only_older_rows(self, store: Store) -> None:
        store.log_insert(log_row("old", created_at="2026-01-01T00:00:00.000+00:00"))
        store.log_insert(log_row("new", created_at="2026-06-01T00:00:00.000+00:00"))
        assert store.log_delete_before("2026-03-01T00:00:00.000+00:00") == 1
        assert [r["question"] for r in store.log_rows({}, 10)] == ["new"]


class TestAclRules:
    def test_rules_and_document_groups_change_in_one_recorded_transaction(
        self, store: Store
    ) -> None:
        _, written = store.write_documents(
            [doc("/d/s/a.md", ["一"]), doc("/d/s.md", ["二"]), doc("/d/f.jsonl#1", ["三"])]
        )
        (a, _), (sibling, _), (record, _) = written
        assert [d.id for d in store.documents_under(["/d/s"])] == [a]
        assert [d.id for d in store.documents_under(["/d/f.jsonl", "/d/s.md"])] == [
            sibling,
            record,
        ]
        store.prune_changes(store.generation())
        generation = store.write_acl({"/d/s": ["hr", "exec"]}, [], {a: ["hr", "exec"]})
        assert generation == 2 and store.changed_since(1) == [a]
        assert store.acl_rules() == {"/d/s": ("exec", "hr")}
        row = store.document(a)
        assert row is not None and row.groups == ("exec", "hr")
        assert store.group_usage() == {"exec": (1, 1), "hr": (1, 1)}
        store.write_acl({"/d/f.jsonl": []}, ["/d/s"], {})
        assert store.acl_rules() == {"/d/f.jsonl": ()}
        assert store.generation() == 2  # no document moved: nothing for the indexes

    def test_a_failed_acl_write_changes_nothing(self, store: Store) -> None:
        _, [(a, _)] = store.write_documents([doc("/d/a.md", ["一"])])
        before = (store.acl_rules(), store.generation(), store.document(a))
        with pytest.raises(Exception):  # noqa: B017 - each store raises its own error type
            store.write_acl({"/d": ["hr"]}, [], {a: ["hr"], 999: ["hr"]})  # no document 999
        assert (store.acl_rules(), store.generation(), store.document(a)) == before


class TestService:
    """Roles, API keys (only hashes), feedback and jobs: the service's tables."""

    def test_roles_default_to_reader_and_survive_a_group_change(self, store: Store) -> None:
        store.set_user("sato", ["exec"])
        record = store.user_record("sato")
        assert record is not None and record["role"] == "reader" and record["groups"] == ("exec",)
        assert store.set_role("sato", "editor") and not store.set_role("nobody", "admin")
        store.set_user("sato", ["hr"])
        assert [(r["name"], r["role"], r["groups"]) for r in store.user_records()] == [
            ("sato", "editor", ("hr",))
        ]

    def test_keys_are_found_by_prefix_revoked_once_and_removed_with_their_user(
        self, store: Store
    ) -> None:
        store.set_user("aoki", [])
        store.set_role("aoki", "admin")
        row = {"prefix": "0123456789ab", "hash": "h" * 64, "user": "aoki", "name": "ops"}
        key_id = store.insert_api_key({**row, "created_at": "2026-12-01T00:00:00+00:00"})
        found = store.api_key("0123456789ab")
        assert found is not None and found["id"] == key_id and found["hash"] == "h" * 64
        assert store.api_key_by_id(key_id) == found and store.api_keys("aoki") == [found]
        assert store.admin_keys("2026-12-02T00:00:00+00:00") == 1
        store.touch_api_key(key_id, "2026-12-02T00:00:00+00:00")
        assert store.revoke_api_key(key_id, "2026-12-03T00:00:00+00:00")
        assert store.revoke_api_key(key_id, "2026-12-04T00:00:00+00:00")  # the first time stays
        after = store.api_key_by_id(key_id)
        assert after is not None and after["revoked_at"] == "2026-12-03T00:00:00+00:00"
        assert after["last_used_at"] == "2026-12-02T00:00:00+00:00"
        assert store.admin_keys("2026-12-05T00:00:00+00:00") == 0
        assert store.remove_user("aoki") and store.api_keys() == []

    def test_an_expired_admin_key_does_not_count(self, store: Store) -> None:
        store.set_user("aoki", [])
        store.set_role("aoki", "admin")
        store.insert_api_key(
            {
                "prefix": "aaaaaaaaaaaa",
                "hash": "h" * 64,
                "user": "aoki",
                "created_at": "2026-12-01T00:00:00+00:00",
                "expires_at": "2026-12-02T00:00:00+00:00",
            }
        )
        assert store.admin_keys("2026-12-01T12:00:00+00:00") == 1
        assert store.admin_keys("2026-12-02T00:00:00+00:00") == 0

    def test_feedback_and_jobs(self, store: Store) -> None:
        first = store.feedback_insert(
            {"log_id": 7, "user": "sato", "rating": -1, "comment": "古い", "created_at": "t1"}
        )
        store.feedback_insert(
            {"log_id": 8, "user": "sato", "rating": 1, "comment": "", "created_at": "t2"}
        )
        assert [r["id"] for r in store.feedback_rows(7)] == [first]
        assert [r["log_id"] for r in store.feedback_rows()] == [8, 7]
        detail = {"files": [{"name": "規程.md", "status": "queued"}]}
        store.job_insert(
            {
                "id": "j1",
                "kind": "ingest",
                "user": "sato",
                "status": "queued",
                "detail": detail,
                "created_at": "t1",
            }
        )
        store.job_update("j1", "running", {**detail, "done": 0}, "t2")
        job = store.job_row("j1")
        assert job is not None and job["status"] == "running" and job["detail"]["done"] == 0
        assert store.interrupt_jobs("t3") == 1 and store.interrupt_jobs("t4") == 0
        final = store.job_row("j1")
        assert final is not None and final["status"] == "interrupted"
        assert store.job_row("nope") is None
