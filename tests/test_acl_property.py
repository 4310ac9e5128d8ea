"""ACL inside retrieval, as properties over random users, groups and documents.

(a) No search ever returns a chunk its reader may not read.
(b) The ACL filter removes and never reorders: a reader's top-k equals the unfiltered ranking
    (``Access.everything()``, deep enough to hold every matching chunk) restricted to the
    chunks the reader may read, truncated to k. So a reader who can see k matching chunks
    gets k.

Texts come from a small ja/en vocabulary, so queries match many chunks and equal scores are
common. The order tantivy gives to equal scores is not part of the contract, so rankings are
compared score level by score level: the scores must be identical position by position, every
level above the last one must hold exactly the same chunks, and the last (cut) level may hold
any subset of the readable chunks that have that score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kotae.ingest import Record, ingest_records
from kotae.kb import Access, KnowledgeBase, init_kb
from kotae.retrieval import SearchResult

VOCAB = (
    "経費", "申請", "出張", "宿泊費", "上限", "承認", "会議", "予算", "契約", "セキュリティ",
    "規程", "領収書", "budget", "travel", "expense", "policy", "approval", "meeting",
    "contract", "security", "invoice", "deadline",
)  # fmt: skip
GROUPS = ("総務部", "経理部", "sales")
USERS = ("alice", "bob", "carol")
# A small pool of document ACLs (empty = public) keeps the ingest calls per example few.
ACLS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"総務部"}),
    frozenset({"経理部"}),
    frozenset({"sales", "経理部"}),
    frozenset({"user:alice"}),
    frozenset({"user:bob", "総務部"}),
)

words = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=10).map(" ".join)
# Up to four ACLs per knowledge base: each one is an ingest call (a tantivy commit).
documents = st.lists(st.sampled_from(ACLS), min_size=1, max_size=4, unique=True).flatmap(
    lambda acls: st.lists(st.tuples(words, st.sampled_from(acls)), min_size=1, max_size=20)
)
queries = st.lists(
    st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3).map(" ".join),
    min_size=1,
    max_size=3,
)
user_groups = st.dictionaries(
    st.sampled_from(USERS), st.frozensets(st.sampled_from(GROUPS), max_size=2), min_size=1
)
ad_hoc_groups = st.lists(
    st.frozensets(st.sampled_from((*GROUPS, "user:alice", "other")), max_size=3), max_size=2
)
depths = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=3)


def build_kb(path: Path, docs: Sequence[tuple[str, frozenset[str]]]) -> dict[str, frozenset[str]]:
    """Ingest ``docs`` (one call per distinct ACL); return record source -> its ACL."""
    by_acl: dict[frozenset[str], list[Record]] = defaultdict(list)
    acl_of: dict[str, frozenset[str]] = {}
    for i, (text, acl) in enumerate(docs):
        by_acl[acl].append(Record(f"d{i}", f"doc {i}", text))
        acl_of[f"mem#d{i}"] = acl
    kb = init_kb(path)
    try:
        for acl, records in by_acl.items():
            report = ingest_records(kb, "mem", records, groups=sorted(acl))
            assert report.ok, report.failures
    finally:
        kb.close()
    return acl_of


def may_read(acl: frozenset[str], reader: frozenset[str]) -> bool:
    return not acl or bool(acl & reader)


def assert_filtered_ranking(
    got: list[SearchResult], expected: list[SearchResult], k: int, context: str
) -> None:
    """``got`` is ``expected`` truncated to k, up to the order of equal scores."""
    n = min(k, len(expected))
    assert len(got) == n, f"{context}: {len(got)} results, {n} readable matches in the top {k}"
    assert [r.score for r in got] == [r.score for r in expected[:n]], context
    assert len({r.chunk_id for r in got}) == n, f"{context}: duplicate chunks"
    if not got:
        return
    cut = got[-1].score
    got_at: dict[float, set[int]] = defaultdict(set)
    expected_at: dict[float, set[int]] = defaultdict(set)
    for r in got:
        got_at[r.score].add(r.chunk_id)
    for r in expected:
        expected_at[r.score].add(r.chunk_id)
    for score, ids in got_at.items():
        if score > cut:
            assert ids == expected_at[score], f"{context}: level {score} differs"
        else:
            assert ids <= expected_at[score], f"{context}: cut level {score} not readable"


def check_reader(
    kb: KnowledgeBase,
    query: str,
    access: Access,
    reader: frozenset[str],
    unfiltered: list[SearchResult],
    acl_of: dict[str, frozenset[str]],
    ks: Sequence[int],
) -> None:
    readable = [r for r in unfiltered if may_read(acl_of[r.source], reader)]
    for k in ks:
        got = kb.search(query, k, access)
        context = f"query={query!r} reader={sorted(reader)} k={k}"
        for r in got:
            doc = kb.catalog.document(r.document_id)
            assert doc is not None, context
            assert frozenset(doc.groups) == acl_of[r.source], context
            assert may_read(frozenset(doc.groups), reader), f"{context}: leaked {r.source}"
        assert_filtered_ranking(got, readable, k, context)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    docs=documents,
    users=user_groups,
    groups=ad_hoc_groups,
    query_list=queries,
    ks=depths,
)
def test_acl_filter_never_leaks_and_never_reorders(
    tmp_path_factory: pytest.TempPathFactory,
    docs: list[tuple[str, frozenset[str]]],
    users: dict[str, frozenset[str]],
    groups: list[frozenset[str]],
    query_list: list[str],
    ks: list[int],
) -> None:
    path = tmp_path_factory.mktemp("acl") / "kb"
    acl_of = build_kb(path, docs)
    with KnowledgeBase(path) as kb:
        for name, member_of in users.items():
            kb.catalog.set_user(name, member_of)
        total_chunks = kb.catalog.counts()["chunks"]
        readers: list[tuple[Access, frozenset[str]]] = [(Access.public(), frozenset())]
        readers += [(Access(g), g) for g in groups]
        readers += [
            (kb.access_for(user=name), member_of | {f"user:{name}"})
            for name, member_of in users.items()
        ]
        for query in query_list:
            unfiltered = kb.search(query, total_chunks + 1, Access.everything())
            assert len(unfiltered) <= total_chunks  # deep enough: every match is in it
            for access, reader in readers:
                check_reader(kb, query, access, reader, unfiltered, acl_of, ks)


def test_private_chunks_ranking_first_do_not_starve_a_public_reader(tmp_path: Path) -> None:
    strong = "出張 宿泊費 上限 出張 宿泊費 上限 travel expense"
    docs = [(strong, frozenset({"役員"})) for _ in range(30)]
    docs += [
        (f"出張 の 連絡 {word}", frozenset())
        for word in ("meeting", "budget", "会議", "予算", "contract")
    ]
    acl_of = build_kb(tmp_path / "kb", docs)
    with KnowledgeBase(tmp_path / "kb") as kb:
        everything = kb.search("出張の宿泊費の上限", 100, Access.everything())
        assert len(everything) == 35
        assert all(acl_of[r.source] for r in everything[:30])  # the private ones rank first
        public = kb.search("出張の宿泊費の上限", 5, Access.public())
        assert sorted(r.source for r in public) == sorted(
            source for source, acl in acl_of.items() if not acl
        )
        assert [r.rank for r in public] == [1, 2, 3, 4, 5]
        executive = kb.search("出張の宿泊費の上限", 5, kb.access_for(groups=["役員"]))
        assert len(executive) == 5 and all(acl_of[r.source] for r in executive)
