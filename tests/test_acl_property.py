"""ACL inside retrieval, as properties over random users, groups and documents.

(a) No search ever returns a chunk its reader may not read.
(b) The ACL filter removes and never reorders: a reader's top-k equals the unfiltered ranking
    (``Access.everything()``, deep enough to hold every matching chunk) restricted to the
    chunks the reader may read, truncated to k. So a reader who can see k matching chunks
    gets k.
(c) Access follows the rules: random sequences of ingestions with and without ``--acl``,
    ``acl set`` and ``acl remove`` over nested folders and a JSONL file, checked after every
    step against a model of the rules (the most specific one wins) in the catalog, lexical,
    dense, hybrid and reranked search, and ``docs`` reads, then in ``eval run`` and the query
    log; and the check catches six deliberately broken variants of the implementation.

Texts come from a small ja/en vocabulary, so queries match many chunks and equal scores are
common. The order tantivy gives to equal scores is not part of the contract, so rankings are
compared score level by score level: the scores must be identical position by position, every
level above the last one must hold exactly the same chunks, and the last (cut) level may hold
any subset of the readable chunks that have that score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from kotae import acl as acl_module
from kotae import ingest as ingest_module
from kotae import querylog as querylog_module
from kotae.acl import parse_groups
from kotae.config import Settings
from kotae.dense import DenseIndex
from kotae.errors import AccessError
from kotae.evaluation import runner as runner_module
from kotae.evaluation.datasets import document_key
from kotae.evaluation.model import EvalItem
from kotae.evaluation.runner import load_config, run_eval
from kotae.index.catalog import DocumentRow
from kotae.ingest import Record, ingest_records
from kotae.kb import Access, KnowledgeBase, init_kb
from kotae.querylog import list_entries
from kotae.retrieval import SearchResult

VOCAB = (
    "経費", "申請", "出張", "宿泊費", "上限", "承認", "会議", "予算", "契約", "セキュリティ",
    "規程", "領収書", "budget", "travel", "expense", "policy", "approval", "meeting",
    "contract", "security", "invoice", "deadline",
)  # fmt: skip
GROUPS = ("総務部", "経理部", "sales")
USERS = ("alice", "bob", "carol")
# A small pool of document ACLs (empty = public) keeps the ingest calls per example few.
# Group names are case-insensitive: "Sales" and "sales" are one group.
ACLS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"総務部"}),
    frozenset({"経理部"}),
    frozenset({"Sales", "経理部"}),
    frozenset({"sales"}),
    frozenset({"legal", "総務部"}),
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
    st.frozensets(st.sampled_from((*GROUPS, "SALES", "legal", "other")), max_size=3), max_size=2
)
depths = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=3)


def build_kb(path: Path, docs: Sequence[tuple[str, frozenset[str]]]) -> dict[str, frozenset[str]]:
    """Ingest ``docs`` (one call and one source prefix, the rule's path, per distinct ACL);
    return record source -> its ACL."""
    by_acl: dict[frozenset[str], list[Record]] = defaultdict(list)
    acl_of: dict[str, frozenset[str]] = {}
    prefix = {acl: f"mem{i}" for i, acl in enumerate(dict.fromkeys(acl for _, acl in docs))}
    for i, (text, acl) in enumerate(docs):
        by_acl[acl].append(Record(f"d{i}", f"doc {i}", text))
        acl_of[f"{prefix[acl]}#d{i}"] = acl
    kb = init_kb(path)
    try:
        for acl, records in by_acl.items():
            report = ingest_records(kb, prefix[acl], records, groups=sorted(acl))
            assert report.ok, report.failures
    finally:
        kb.close()
    return acl_of


def may_read(acl: frozenset[str], reader: frozenset[str]) -> bool:
    folded = {g.casefold() for g in reader}
    return not acl or any(g.casefold() in folded for g in acl)


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
            assert frozenset(doc.groups) == {g.casefold() for g in acl_of[r.source]}, context
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


# -- (c) access follows the rules, over sequences of ingestions and rule changes ---------

TREE = ("a.md", "x/b.md", "x/y/c.md", "x/y/d.md", "z/e.md")
JSONL = "x/f.jsonl"
RECORDS = ("r1", "r2")
TARGETS = ("", "x", "x/y", "z", "a.md", "x/y/c.md", JSONL)  # relative to the root ("" = it)
RULE_TARGETS = (*TARGETS, f"{JSONL}#r1")
RULE_GROUPS: tuple[tuple[str, ...], ...] = ((), ("g1",), ("G1",), ("g2",), ("g1", "経理部"))
COMMON = "規程"  # in every text: the lexical query matches every chunk
READERS = (frozenset(), frozenset({"g1"}), frozenset({"G2"}), frozenset({"経理部", "g2"}))
MODES = ("lexical", "dense", "hybrid", "reranked")
EMBEDDER_TOML = '[embedder]\nbackend = "fake"\ndim = 32\n'

Op = tuple[str, str, tuple[str, ...]]  # (kind, target, groups); ingest with () = no --acl
operations = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.sampled_from(TARGETS), st.sampled_from(RULE_GROUPS)),
        st.tuples(st.just("set"), st.sampled_from(RULE_TARGETS), st.sampled_from(RULE_GROUPS)),
        st.tuples(st.just("remove"), st.sampled_from(RULE_TARGETS), st.just(())),
        st.tuples(st.just("edit"), st.sampled_from(TREE), st.just(())),
    ),
    min_size=1,
    max_size=8,
)
tree_texts = st.lists(words, min_size=len(TREE) + 2, max_size=len(TREE) + 2)


class RulesModel:
    """What access should be: rules (path -> folded groups) and what was ingested."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.rules: dict[str, frozenset[str]] = {}
        self.ingested: set[str] = set()

    def path(self, target: str) -> str:
        return f"{self.root}/{target}" if target else self.root

    def sources_under(self, target: str) -> set[str]:
        files = [t for t in TREE if not target or t == target or t.startswith(target + "/")]
        out = {self.path(t) for t in files}
        if not target or target == JSONL or JSONL.startswith(target + "/"):
            out |= {f"{self.path(JSONL)}#{r}" for r in RECORDS}
        return out

    def expected(self) -> dict[str, frozenset[str]]:
        """Each ingested source -> the groups of the most specific rule over it."""
        out = {}
        for source in self.ingested:
            file = source.split("#")[0]
            chain = [source, file, *map(str, Path(file).parents)]
            out[source] = next((self.rules[p] for p in chain if p in self.rules), frozenset())
        return out


def _write_tree(root: Path, texts: Sequence[str]) -> None:
    for rel, text in zip(TREE, texts, strict=False):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n\n{COMMON} {text}", "utf-8")
    records = zip(RECORDS, texts[-2:], strict=True)
    lines = [f'{{"id": "{r}", "text": "{COMMON} {t}"}}' for r, t in records]
    (root / JSONL).write_text("\n".join(lines) + "\n", "utf-8")


def _apply(kb: KnowledgeBase, root: Path, model: RulesModel, op: Op, step: int) -> None:
    kind, target, groups = op
    folded = frozenset(g.casefold() for g in groups)
    rule = model.path(target)
    if kind == "ingest":
        report = kb.ingest([root / target], groups=list(groups))
        assert report.ok, report.failures
        if groups:
            model.rules[rule] = folded
        model.ingested |= model.sources_under(target)
    elif kind == "set":
        kb.set_acl([rule], list(groups))
        model.rules[rule] = folded
    elif kind == "remove" and rule in model.rules:
        kb.remove_acl([rule])
        del model.rules[rule]
    elif kind == "remove":
        with pytest.raises(AccessError):
            kb.remove_acl([rule])
    else:
        with (root / target).open("a", encoding="utf-8") as handle:
            handle.write(f"\n\n改訂 {step}")


def _mode(base: Settings, mode: str) -> Settings:
    retrieval = base.retrieval.model_copy(update={"mode": "hybrid" if mode == "reranked" else mode})
    reranker = base.reranker.model_copy(update={"backend": "fake" if mode == "reranked" else ""})
    return base.model_copy(update={"retrieval": retrieval, "reranker": reranker})


def check_rules_state(kb: KnowledgeBase, model: RulesModel, context: str) -> None:
    """Catalog, every search mode and docs reads agree with the model, for every reader."""
    expected = model.expected()
    listed = kb.documents()
    groups = {d.source: frozenset(d.groups) for d in listed}
    assert groups == expected, f"{context}: documents' groups differ from the rules"
    readers = [(Access(g), g) for g in READERS]
    readers.append((kb.access_for(user="u"), frozenset({"g1", "user:u"})))
    total = kb.catalog.counts()["chunks"]
    base = kb.settings
    try:
        for mode in MODES:
            kb.settings = _mode(base, mode)
            everything = kb.search(COMMON, total + 5, Access.everything(), log=False)
            assert {r.source for r in everything} == set(expected), f"{context} {mode}"
            for access, reader in readers:
                readable = {s for s, g in expected.items() if may_read(g, reader)}
                got = kb.search(COMMON, total + 5, access, log=False)
                where = f"{context} mode={mode} reader={sorted(reader)}"
                assert {r.source for r in got} <= readable, f"{where}: leaked"
                wanted = {r.chunk_id for r in everything if r.source in readable}
                assert {r.chunk_id for r in got} == wanted, f"{where}: readable chunks missing"
    finally:
        kb.settings = base
    for access, reader in readers:
        readable = {s for s, g in expected.items() if may_read(g, reader)}
        where = f"{context} docs reader={sorted(reader)}"
        assert {d.source for d in kb.documents(access)} == readable, where
        for doc in listed:
            shown = kb.document(doc.id, access) is not None
            assert shown == (doc.source in readable), f"{where}: docs show {doc.source}"


def check_log_and_eval(kb: KnowledgeBase, model: RulesModel, context: str) -> None:
    """The query log and ``eval run`` apply the same access as search.

    - ``eval run`` as each reader retrieves exactly the documents that reader may read;
    - every eval question and search is logged; a reader other than an administrator sees
      the text of no entry but its own (``--as`` the user who asked, whose groups still
      cover it), and such an entry shows only documents that user could read when asking.
    """
    expected = model.expected()
    keys = {document_key(d): d.source for d in kb.documents()}
    readers = [
        (Access.public(), frozenset(), {}),
        (Access(frozenset({"g1"})), frozenset({"g1"}), {"groups": ["g1"]}),
        (kb.access_for(user="u"), frozenset({"g1", "user:u"}), {"as_user": "u"}),
    ]
    item = EvalItem("q", COMMON)
    config = load_config(kb.path, None)
    for access, reader, flags in readers:
        readable = {s for s, g in expected.items() if may_read(g, reader)}
        run = run_eval(kb.path, [item], "acl", config, new=True, **flags)  # type: ignore[arg-type]
        [result] = kb.catalog.eval_results(run.id)
        got = {keys[k] for k in result.retrieved}
        assert got == readable, f"{context} eval reader={sorted(reader)}: {got} != {readable}"
        kb.search(COMMON, 50, access, log=True)
        own = list_entries(kb.catalog, limit=1, reader=access)[0]
        if access.user is not None:
            assert not own.redacted, f"{context}: u cannot read its own entry"
            seen = {kb.catalog.document(r["document_id"]).source for r in own.retrieved}  # type: ignore[union-attr]
            assert seen == readable, f"{context}: u's own entry shows {seen}"
    for access, reader, _ in readers:
        for entry in list_entries(kb.catalog, limit=1000, reader=access):
            mine = entry.user is not None and entry.user == access.user
            if not mine:
                assert entry.redacted and not entry.retrieved and entry.prompt is None, (
                    f"{context} log reader={sorted(reader)}: entry {entry.id} of "
                    f"{entry.user or 'nobody'} shown"
                )


def run_rules_property(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], sequence: list[Op]
) -> None:
    base = tmp_path_factory.mktemp("rules")
    root = base / "docs"
    _write_tree(root, texts)
    init_kb(base / "kb").close()
    (base / "kb" / "kotae.toml").write_text(EMBEDDER_TOML, "utf-8")
    model = RulesModel(str(root.resolve()))
    with KnowledgeBase(base / "kb") as kb:
        kb.set_user("u", ["G1"])  # read as {"g1", "user:u"}
        for step, op in enumerate(sequence):
            _apply(kb, root, model, op, step)
            check_rules_state(kb, model, f"after {sequence[: step + 1]}")
        check_log_and_eval(kb, model, f"after {sequence}")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(texts=tree_texts, sequence=operations)
@example(  # the guide's flow: files, then a folder --acl, then the nightly run without --acl
    texts=["経費", "出張", "会議", "予算", "契約", "budget", "travel"],
    sequence=[("ingest", "a.md", ()), ("ingest", "x/y", ("g1",)), ("ingest", "", ())],
)
def test_access_follows_the_rules(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], sequence: list[Op]
) -> None:
    run_rules_property(tmp_path_factory, texts, sequence)


# -- the property catches deliberately broken variants -----------------------------------


def _rules_forgotten_without_acl(patch: pytest.MonkeyPatch) -> None:
    """The old defect: only this run's --acl counts; a run without --acl makes all public."""
    original = ingest_module._Run.__init__

    def init(self: Any, kb: KnowledgeBase, groups: Sequence[str], roots: Sequence[str]) -> None:
        original(self, kb, groups, roots)
        self.rules = {acl_module.rule_path(r): parse_groups(groups) for r in roots}

    patch.setattr(ingest_module._Run, "__init__", init)


def _vector_mask_dropped(patch: pytest.MonkeyPatch) -> None:
    original = DenseIndex.search

    def search(self: DenseIndex, query: str, limit: int, access: Access) -> Any:
        return original(self, query, limit, Access.everything())

    patch.setattr(DenseIndex, "search", search)


def _docs_show_unchecked(patch: pytest.MonkeyPatch) -> None:
    def document(self: KnowledgeBase, doc_id: int, access: Access) -> DocumentRow | None:
        return self.catalog.document(doc_id)

    patch.setattr(KnowledgeBase, "document", document)


def _least_specific_rule_wins(patch: pytest.MonkeyPatch) -> None:
    def rule_for(rules: Any, source: str, file: str | None = None) -> str | None:
        found = [p for p in acl_module.candidates(source, file) if p in rules]
        return found[-1] if found else None

    patch.setattr(acl_module, "rule_for", rule_for)


def _log_shown_to_everyone(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(querylog_module, "can_read_entry", lambda entry_access, reader: True)


def _eval_reads_everything(patch: pytest.MonkeyPatch) -> None:
    original = runner_module._Evaluator.__init__

    def init(self: Any, kb: KnowledgeBase, settings: Settings, access: Access) -> None:
        original(self, kb, settings, Access.everything())

    patch.setattr(runner_module._Evaluator, "__init__", init)


# variant -> (the monkeypatch that breaks kotae, what the property check must report)
BROKEN: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "rules forgotten without --acl": (_rules_forgotten_without_acl, "differ from the rules"),
    "vector mask dropped": (_vector_mask_dropped, "mode=(dense|hybrid|reranked) .*leaked"),
    "docs show unchecked": (_docs_show_unchecked, "docs show"),
    "least specific rule wins": (_least_specific_rule_wins, "differ from the rules"),
    "log shown to everyone": (_log_shown_to_everyone, "log reader=.*shown"),
    "eval reads everything": (_eval_reads_everything, "eval reader="),
}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_the_property_catches_a_broken_variant(
    variant: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,  # the same examples every run: a stable verdict
        database=None,
        phases=[Phase.generate],  # a counterexample is enough, no shrinking
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(texts=tree_texts, sequence=operations)
    def hunt(texts: list[str], sequence: list[Op]) -> None:
        run_rules_property(tmp_path_factory, texts, sequence)

    patch, symptom = BROKEN[variant]
    patch(monkeypatch)
    with pytest.raises(AssertionError, match=symptom):
        hunt()
