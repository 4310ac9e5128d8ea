"""The demo corpus: every sample query finds its document in the top 3, ACL respected."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kotae.kb import Access, KnowledgeBase, init_kb
from tests.conftest import SAMPLES

QUERIES = json.loads((SAMPLES.parent / "queries.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    kb = init_kb(tmp_path_factory.mktemp("samples") / "kb")
    public = [p for p in sorted(SAMPLES.iterdir()) if p.is_file()]
    report = kb.ingest(public)
    assert report.failures == [], report.failures
    for folder, groups in QUERIES["acl"].items():
        assert kb.ingest([SAMPLES / folder], groups=groups).failures == []
    yield kb
    kb.close()


@pytest.mark.parametrize("case", QUERIES["queries"], ids=lambda c: c["id"])
def test_sample_query_finds_its_document(sample_kb: KnowledgeBase, case: dict[str, object]) -> None:
    expected = str((SAMPLES / str(case["expected"])).resolve())
    groups = list(case["groups"])  # type: ignore[call-overload]
    hits = sample_kb.search(str(case["query"]), k=3, access=Access(frozenset(groups)))
    assert expected in [h.source for h in hits], [h.source for h in hits]
    if groups:
        hidden = sample_kb.search(str(case["query"]), k=10, access=Access.public())
        assert expected not in [h.source for h in hidden]


def test_every_sample_format_was_ingested(sample_kb: KnowledgeBase) -> None:
    formats = {d.format for d in sample_kb.documents()}
    assert {"md", "html", "docx", "pdf", "pptx", "xlsx", "txt"} <= formats
