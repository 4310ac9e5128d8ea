"""The lexical index: BM25 over pre-analyzed terms in tantivy, with the ACL inside the query.

Each chunk is one tantivy document with three term fields (see ``kotae.text.tokenize``),
fed as space-joined terms through tantivy's whitespace tokenizer, plus its chunk id,
document id and ACL terms. A query is a weighted OR of its terms over the three fields;
when the reader is not an administrator it is ANDed with a zero-scoring filter on the ACL
field, so tantivy only ever scores readable chunks and the top-k is exact.

``index.json`` beside the tantivy files records the catalog generation the index reflects
and the analyzer that produced its terms. An index with no path lives in memory only (an
encrypted knowledge base never writes its derived indexes to disk): it is built from the
catalog when the knowledge base opens and its generation is kept in the object.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotae.errors import IndexMismatchError
from kotae.text.tokenize import FIELDS, Analyzed, FieldTexts

SCHEMA_VERSION = 1
META_FILE = "index.json"


@dataclass(frozen=True, slots=True)
class FieldWeights:
    """BM25 weight of each lexical field in the summed score."""

    words: float = 1.0
    grams: float = 0.25
    pairs: float = 0.35

    def of(self, field: str) -> float:
        return float(getattr(self, field))


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    chunk_id: int
    document_id: int
    acl_terms: tuple[str, ...]
    fields: FieldTexts  # space-joined terms of words, grams, pairs


def _schema() -> Any:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("chunk", stored=True, indexed=True, fast=True)
    sb.add_integer_field("doc", stored=False, indexed=True, fast=True)
    sb.add_text_field("acl", tokenizer_name="raw", index_option="basic")
    for name in FIELDS:
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    return sb.build()


class LexicalIndex:
    """A tantivy index in ``path`` plus its ``index.json`` metadata (``path=None``: in
    memory, created empty)."""

    def __init__(self, path: Path | None, analyzer: str, *, create: bool = False) -> None:
        import tantivy

        self.path = path
        self.analyzer = analyzer
        self._writer: Any = None
        self.schema = _schema()
        if path is None:
            self.index = tantivy.Index(self.schema)
            self.generation = 0
            return
        meta = self.read_meta(path)
        if meta is None and not create:
            raise IndexMismatchError(f"no lexical index in {path}")
        if meta is not None and not self.matches(meta, analyzer):
            raise IndexMismatchError(
                f"lexical index in {path} was built with {meta.get('analyzer')!r}, "
                f"this kotae analyzes with {analyzer!r}: it must be rebuilt"
            )
        path.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self.generation = int(meta["generation"]) if meta else 0
        if meta is None:
            self._write_meta(0)

    # -- metadata ---------------------------------------------------------------------
    @staticmethod
    def matches(meta: dict[str, Any], analyzer: str) -> bool:
        """Whether an index with this ``index.json`` can serve queries analyzed by ``analyzer``."""
        return meta.get("analyzer") == analyzer and meta.get("schema_version") == SCHEMA_VERSION

    @staticmethod
    def read_meta(path: Path) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((path / META_FILE).read_text("utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def _write_meta(self, generation: int) -> None:
        if self.path is None:
            self.generation = generation
            return
        tmp = self.path / (META_FILE + ".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "generation": generation,
                    "analyzer": self.analyzer,
                    "schema_version": SCHEMA_VERSION,
                }
            ),
            "utf-8",
        )
        os.replace(tmp, self.path / META_FILE)
        self.generation = generation

    @staticmethod
    def destroy(path: Path) -> None:
        if path.exists():
            # index.json first: a kill mid-rmtree must not leave it over a half-deleted index
            (path / META_FILE).unlink(missing_ok=True)
            shutil.rmtree(path)

    # -- writes -----------------------------------------------------------------------
    def _open_writer(self) -> Any:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        return self._writer

    def delete_documents(self, document_ids: Iterable[int]) -> None:
        writer = self._open_writer()
        for doc_id in document_ids:
            writer.delete_documents_by_term("doc", int(doc_id))

    def add_chunks(self, chunks: Iterable[IndexedChunk]) -> None:
        import tantivy

        writer = self._open_writer()
        for chunk in chunks:
            doc = tantivy.Document()
            doc.add_integer("chunk", chunk.chunk_id)
            doc.add_integer("doc", chunk.document_id)
            for term in chunk.acl_terms:
                doc.add_text("acl", term)
            for name, text in zip(FIELDS, chunk.fields, strict=True):
                doc.add_text(name, text)
            writer.add_document(doc)

    def commit(self, generation: int, *, final: bool = True) -> None:
        """Make the pending writes durable and record the catalog generation they reach.

        ``final=False`` (a checkpoint during a long ingestion) keeps the writer open and lets
        segment merges run on in the background; the final commit waits for them.
        """
        if self._writer is not None:
            self._writer.commit()
            if final:
                self._writer.wait_merging_threads()
                self._writer = None
        self._write_meta(generation)
        self.index.reload()

    def rollback(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None

    # -- reads ------------------------------------------------------------------------
    def search(
        self,
        terms: Analyzed,
        limit: int,
        weights: FieldWeights,
        acl_terms: Sequence[str] | None,
    ) -> list[tuple[int, float]]:
        """Top ``limit`` (chunk id, score); ``acl_terms=None`` searches every chunk."""
        import tantivy

        query = self._text_query(terms, weights)
        if query is None:
            return []
        if acl_terms is not None:
            if not acl_terms:
                return []
            acl = tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(self.schema, "acl", list(acl_terms)), 0.0
            )
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, acl)]
            )
        searcher = self.index.searcher()
        hits = searcher.search(query, limit).hits
        return [(int(searcher.doc(addr)["chunk"][0]), float(score)) for score, addr in hits]

    def _text_query(self, terms: Analyzed, weights: FieldWeights) -> Any:
        import tantivy

        clauses = []
        for field in FIELDS:
            weight = weights.of(field)
            if weight <= 0:
                continue
            for term, count in Counter(getattr(terms, field)).items():
                q = tantivy.Query.term_query(self.schema, field, term)
                clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, weight * count)))
        if not clauses:
            return None
        return tantivy.Query.boolean_query(clauses)

    def document_frequencies(self, field: str, terms: Iterable[str]) -> dict[str, int]:
        """How many chunks hold each of ``terms`` in ``field`` (all chunks, ACL aside: a
        count, never a text, so it shows nothing a reader may not see)."""
        searcher = self.index.searcher()
        return {term: int(searcher.doc_freq(field, term)) for term in set(terms)}

    def num_chunks(self) -> int:
        return int(self.index.searcher().num_docs)
