"""Query -> ranked, ACL-filtered chunks: lexical BM25, dense vectors, fusion, reranking.

The ACL is applied inside each retriever (a filter clause in tantivy, a mask in the vector
search), never by dropping results from a truncated top-k: a reader who can see k
matching chunks always gets k.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from kotae.errors import QueryError
from kotae.index.catalog import ChunkRow
from kotae.text.language import JAPANESE_SCRIPT
from kotae.text.normalize import normalize_text

if TYPE_CHECKING:
    from kotae.backends.rerankers import Reranker
    from kotae.kb import Access, KnowledgeBase

SNIPPET_CHARS = 160
MAX_QUERY_CHARS = 4000


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One retrieved chunk, with what a citation needs."""

    rank: int
    score: float
    document_id: int
    chunk_id: int
    title: str
    source: str
    text: str
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)  # offsets in snippet
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    start: int = 0
    end: int = 0

    @property
    def location(self) -> str:
        """Human-readable place in the document: page / slide / sheet and headings."""
        parts = []
        if self.page is not None:
            parts.append(f"p.{self.page}")
        if self.slide is not None:
            parts.append(f"slide {self.slide}")
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        headings = [h for h in self.heading_path if h != self.title]
        if headings:
            parts.append(" > ".join(headings))
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["location"] = self.location
        data["heading_path"] = list(self.heading_path)
        data["highlights"] = [list(h) for h in self.highlights]
        return data


def search(kb: KnowledgeBase, query: str, k: int, access: Access) -> list[SearchResult]:
    """The top ``k`` chunks ``access`` may read, best first."""
    query = normalize_text(query)
    if not query:
        raise QueryError(
            "empty query: type some words to search for",
            message_ja="検索語が空です。探したい言葉を入力してください",
        )
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(query)} chars, at most {MAX_QUERY_CHARS})")
    if k < 1:
        raise QueryError("k must be at least 1")
    top = rank_chunks(kb, query, k, access)
    rows = kb.catalog.chunks_by_id([cid for cid, _ in top])
    terms = query_surfaces(query)
    results: list[SearchResult] = []
    for chunk_id, score in top:
        row = rows.get(chunk_id)
        if row is None:  # removed between the index read and the catalog read
            continue
        results.append(_result(len(results) + 1, score, row, terms))  # ranks without gaps
    return results


def rank_chunks(
    kb: KnowledgeBase, query: str, limit: int, access: Access
) -> list[tuple[int, float]]:
    """(chunk id, score) best first, at most ``limit``: the one ranking path of kotae.

    ``search``, ``ask``, ``bench retrieval``, ``bench qa`` and ``eval run`` all rank
    through here: the configured retrievers, fused, then the ``[reranker]`` when one is
    configured, which reorders the first ``retrieval.rerank_candidates`` (their scores
    become the reranker's; the rest keep their first-stage order and scores). With a dense
    retriever or a reranker, each retriever fetches at least ``retrieval.candidates``.
    """
    reranking = bool(kb.settings.reranker.backend)
    depth = limit
    if reranking or kb.dense_enabled:
        depth = max(limit, kb.settings.retrieval.candidates)
    ranked = _first_stage(kb, query, depth, access)
    if reranking and ranked:
        ranked = _rerank(kb, query, ranked)
    return ranked[:limit]


def _first_stage(
    kb: KnowledgeBase, query: str, limit: int, access: Access
) -> list[tuple[int, float]]:
    """(chunk id, score) best first from the configured retrievers, fused."""
    settings = kb.settings.retrieval
    lexical: list[tuple[int, float]] = []
    if settings.mode != "dense" or not kb.dense_enabled:
        terms = kb.tokenizer.analyze(query)
        lexical = kb.lexical.search(terms, limit, kb.field_weights(), access.acl_terms())
    if not kb.dense_enabled:
        return lexical
    dense: list[tuple[int, float]] = kb.dense.search(query, limit, access)
    if settings.mode == "dense":
        return dense
    from kotae.index.fusion import reciprocal_rank_fusion

    fused = reciprocal_rank_fusion(
        [[c for c, _ in lexical], [c for c, _ in dense]],
        weights=[settings.lexical_weight, settings.dense_weight],
        k=settings.rrf_k,
    )
    return fused[:limit]


def _rerank(
    kb: KnowledgeBase, query: str, ranked: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    n = kb.settings.retrieval.rerank_candidates
    head = ranked[:n]
    rows = kb.catalog.chunks_by_id([c for c, _ in head])
    ids = [c for c, _ in head if c in rows]
    reranker = shared_reranker(kb.settings.reranker.backend, kb.settings.reranker.options())
    scores = reranker.rerank(query, [rows[c].text for c in ids])
    order = sorted(zip(ids, (float(s) for s in scores), strict=True), key=lambda x: -x[1])
    return order + ranked[n:]


_RERANKERS: dict[tuple[str, str], Reranker] = {}
_RERANKERS_LOCK = threading.Lock()


def shared_reranker(backend: str, options: Mapping[str, Any]) -> Reranker:
    """The process's one reranker for (``backend``, ``options``): built on first use, then
    reused by every query and thread (a cross-encoder loads its model once per process)."""
    from kotae.backends.rerankers import create_reranker

    key = (backend, json.dumps(dict(options), sort_keys=True, default=str))
    with _RERANKERS_LOCK:
        reranker = _RERANKERS.get(key)
        if reranker is None:
            reranker = _RERANKERS[key] = create_reranker(backend, options)
        return reranker


_QUERY_PIECE = re.compile(f"[A-Za-z0-9]+|[{JAPANESE_SCRIPT}]+")
_PARTICLES = set("はがをにでとのもへやかよねな")


def query_surfaces(query: str) -> list[str]:
    """Pieces of the query worth highlighting: words, and kanji/kana runs cut at particles."""
    pieces: set[str] = set()
    for piece in _QUERY_PIECE.findall(query):
        if piece.isascii():
            if len(piece) > 1:
                pieces.add(piece.lower())
            continue
        for part in re.split(f"[{''.join(_PARTICLES)}]", piece):
            if len(part) >= 2:
                pieces.add(part)
    return sorted(pieces, key=len, reverse=True)


def highlight(text: str, pieces: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around the densest match and the match offsets inside it.

    Where the window cuts the text it shows "…", and it never cuts inside a number or a
    Latin word (see :func:`_cut`)."""
    matches: list[tuple[int, int]] = []
    if pieces:
        pattern = re.compile("|".join(re.escape(p) for p in pieces), re.IGNORECASE)
        matches = [(m.start(), m.end()) for m in pattern.finditer(text)]
    if not matches:
        return _window(text, 0, [])
    best_start, best_count = 0, -1
    for start, _ in matches:
        count = sum(1 for s, _ in matches if start <= s < start + SNIPPET_CHARS)
        if count > best_count:
            best_start, best_count = start, count
    begin = _boundary_before(
        text, max(0, min(best_start - SNIPPET_CHARS // 4, len(text) - SNIPPET_CHARS))
    )
    return _window(text, begin, matches)


def _window(
    text: str, begin: int, matches: list[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    begin = _cut(text, begin, floor=max(0, begin - 30))
    end = _cut(text, min(len(text), begin + SNIPPET_CHARS), floor=begin + SNIPPET_CHARS // 2)
    head = ELLIPSIS if begin > 0 else ""
    tail = ELLIPSIS if end < len(text) else ""
    shift = len(head) - begin
    spans = [(s + shift, e + shift) for s, e in matches if s >= begin and e <= end]
    return head + text[begin:end] + tail, spans


ELLIPSIS = "…"
_WORD = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ\u00c0-\u024f]")


def _inside_word(text: str, i: int) -> bool:
    """Whether offset ``i`` falls inside a run of digits or Latin letters (``1,000`` and
    ``3.5`` are one run)."""
    if i <= 0 or i >= len(text):
        return False
    before, after = text[i - 1], text[i]
    if _WORD.match(before) and _WORD.match(after):
        return True
    if before in ",." and i >= 2 and text[i - 2].isdigit() and after.isdigit():
        return True
    return after in ",." and before.isdigit() and i + 1 < len(text) and text[i + 1].isdigit()


def _cut(text: str, i: int, floor: int) -> int:
    """Move offset ``i`` back (not below ``floor``) out of a number or Latin word; when
    the run reaches back past ``floor`` it is left where it was."""
    j = i
    while j > floor and _inside_word(text, j):
        j -= 1
    return i if _inside_word(text, j) else j


_BOUNDARY = re.compile(r"[\s。、!?.,;:|]")


def _boundary_before(text: str, begin: int) -> int:
    """Move a snippet start back (at most 30 chars) to just after a space or punctuation."""
    if begin == 0:
        return 0
    floor = max(0, begin - 30)
    for i in range(begin, floor, -1):
        if _BOUNDARY.match(text[i - 1]):
            return i
    return begin


def _result(rank: int, score: float, row: ChunkRow, pieces: list[str]) -> SearchResult:
    snippet, spans = highlight(row.text.replace("\n", " "), pieces)
    return SearchResult(
        rank=rank,
        score=round(score, 4),
        document_id=row.document_id,
        chunk_id=row.id,
        title=row.title,
        source=row.source,
        text=row.text,
        snippet=snippet,
        highlights=spans,
        heading_path=row.heading_path,
        page=row.page,
        slide=row.slide,
        sheet=row.sheet,
        start=row.start,
        end=row.end,
    )
