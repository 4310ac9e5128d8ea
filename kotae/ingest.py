"""Ingestion: files and JSONL records -> chunks -> catalog (atomic per document) -> indexes.

- A content hash per file (per record for JSONL corpora): unchanged documents with the same
  ACL are skipped, changed ones replaced, ``sync=True`` removes documents whose files are gone.
- Each batch of whole documents is written in ONE catalog transaction; the derived indexes
  follow, and catch up on the next open if the process dies in between. A crash therefore
  never leaves a document half old and half new.
- A file that fails is reported with its reason and the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kotae.documents import load_document
from kotae.documents.chunking import chunk_document
from kotae.documents.model import Block, LoadedDocument
from kotae.errors import DocumentError, EmptyDocumentError, KotaeError
from kotae.index.catalog import NewDocument
from kotae.index.lexical import IndexedChunk
from kotae.kb import acl_terms_of, index_text
from kotae.text.analysis import BatchAnalyzer
from kotae.text.normalize import normalize_inline, normalize_text
from kotae.text.tokenize import Analyzed

if TYPE_CHECKING:
    from kotae.kb import KnowledgeBase

BATCH_CHUNKS = 2000  # chunks per catalog transaction
COMMIT_SECONDS = 10.0  # how often the lexical index commits during a long run


@dataclass(frozen=True, slots=True)
class Record:
    """One document of a JSONL corpus: ``{"id", "title", "text"}``."""

    id: str
    title: str
    text: str


@dataclass(slots=True)
class Failure:
    source: str
    reason: str
    message: str


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    bytes: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "failed": [asdict(f) for f in self.failures],
        }


Progress = Callable[[str, int], None]  # (current source, bytes done)


@dataclass(slots=True)
class _Batch:
    docs: list[tuple[NewDocument, bool]]  # (document, replaces an existing one)
    terms: Any  # a pending result: .result() -> list[Analyzed], one per chunk in order


class _Writer:
    """Buffers prepared documents and writes them batch by batch.

    Term analysis of batch N runs in worker processes while the caller loads and chunks
    batch N+1; batches are written to the catalog (one transaction each) in order.
    """

    def __init__(self, kb: KnowledgeBase, report: IngestReport) -> None:
        self.kb = kb
        self.report = report
        self.pending: list[tuple[NewDocument, bool]] = []
        self.pending_chunks = 0
        self.inflight: _Batch | None = None
        self.last_commit = time.monotonic()
        self.generation = kb.catalog.generation()
        self.embedder = kb.dense.embedder if kb.dense_enabled else None
        self.analyzer = BatchAnalyzer(kb.tokenizer)

    def add(self, new: NewDocument, replacing: bool) -> None:
        if self.embedder is not None:
            vectors = self.embedder.embed([c.text for c in new.chunks], kind="passage")
            new.vectors = [v.astype("float32").tobytes() for v in vectors]
            new.vector_model = self.embedder.name
        self.pending.append((new, replacing))
        self.pending_chunks += len(new.chunks)
        if self.pending_chunks >= BATCH_CHUNKS:
            self._submit()

    def _submit(self) -> None:
        docs, self.pending, self.pending_chunks = self.pending, [], 0
        texts = [index_text(d.title, c.heading_path, c.text) for d, _ in docs for c in d.chunks]
        batch = _Batch(docs, self.analyzer.submit(texts))
        if self.inflight is not None:
            self._write(self.inflight)
        self.inflight = batch

    def _write(self, batch: _Batch, remove_ids: Sequence[int] = ()) -> None:
        terms = batch.terms.result() if batch.docs else []
        generation, written = self.kb.catalog.write_documents(
            [d for d, _ in batch.docs], remove_ids=remove_ids
        )
        self.generation = generation
        lexical = self.kb.lexical
        lexical.delete_documents(
            [
                doc_id
                for (doc_id, _), (_, replacing) in zip(written, batch.docs, strict=True)
                if replacing
            ]
        )
        lexical.delete_documents(remove_ids)
        lexical.add_chunks(self._indexed(batch.docs, written, terms))
        if time.monotonic() - self.last_commit > COMMIT_SECONDS:
            self._commit()

    def _commit(self) -> None:
        self.kb.lexical.commit(self.generation)
        self.kb.catalog.prune_changes(self.generation)
        if self.kb.dense_enabled:
            self.kb.dense.sync(self.generation)
        self.last_commit = time.monotonic()

    def finish(self, remove_ids: Sequence[int] = ()) -> None:
        """Write everything still buffered, remove ``remove_ids``, commit every index."""
        if self.pending:
            self._submit()
        if self.inflight is not None:
            self._write(self.inflight)
            self.inflight = None
        if remove_ids:
            self._write(_Batch([], None), remove_ids)
        self._commit()
        self.analyzer.close()

    def abort(self) -> None:
        self.analyzer.close()
        self.kb.lexical.rollback()

    @staticmethod
    def _indexed(
        docs: list[tuple[NewDocument, bool]],
        written: list[tuple[int, list[int]]],
        terms: list[Analyzed],
    ) -> Iterator[IndexedChunk]:
        position = 0
        for (doc, _), (doc_id, chunk_ids) in zip(docs, written, strict=True):
            acl = acl_terms_of(doc.groups)
            for chunk_id in chunk_ids:
                yield IndexedChunk(chunk_id, doc_id, acl, terms[position])
                position += 1


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def iter_files(paths: Sequence[Path], skip: Path | None = None) -> Iterator[Path]:
    """Files under ``paths`` in a stable order, hidden files and the KB itself left out."""
    for root in paths:
        if root.is_file():
            yield root.resolve()
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath).resolve()
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and (skip is None or here / d != skip)
            )
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield here / name


def ingest_paths(
    kb: KnowledgeBase,
    paths: Sequence[Path],
    groups: Sequence[str] = (),
    sync: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders. ``groups`` empty = public documents."""
    for path in paths:
        if not path.exists():
            raise DocumentError(f"no such file or folder: {path}")
    report = IngestReport()
    started = time.perf_counter()
    groups = tuple(sorted(set(groups)))
    with kb.write_lock():
        known = kb.catalog.fingerprints()
        writer = _Writer(kb, report)
        seen: set[str] = set()
        try:
            for path in iter_files(paths, skip=kb.path.resolve()):
                _ingest_file(kb, writer, path, groups, known, seen, report)
                if progress is not None:
                    progress(str(path), report.bytes)
            removed = _gone(paths, known, seen) if sync else []
            report.removed = len(removed)
            writer.finish(remove_ids=removed)
        except BaseException:
            writer.abort()
            raise
    report.seconds = time.perf_counter() - started
    return report


def _gone(paths: Sequence[Path], known: dict[str, Any], seen: set[str]) -> list[int]:
    """Documents under the ingested roots that were not seen in this run."""
    roots = [str(p.resolve()) for p in paths]
    out = []
    for source, (doc_id, _, _) in known.items():
        file_part = source.split("#", 1)[0]
        under = any(file_part == r or file_part.startswith(r.rstrip("/") + "/") for r in roots)
        if under and source not in seen:
            out.append(doc_id)
    return out


def _ingest_file(
    kb: KnowledgeBase,
    writer: _Writer,
    path: Path,
    groups: tuple[str, ...],
    known: dict[str, tuple[int, str, tuple[str, ...]]],
    seen: set[str],
    report: IngestReport,
) -> None:
    source = str(path)
    try:
        size = path.stat().st_size
        report.bytes += size
        if path.suffix.lower() == ".jsonl":
            _ingest_jsonl(kb, writer, path, groups, known, seen, report)
            return
        seen.add(source)
        digest = file_hash(path)
        old = known.get(source)
        if old is not None and old[1] == digest and old[2] == groups:
            report.unchanged += 1
            return
        doc = load_document(path)
        new = prepare_document(kb, doc, source, digest, size, groups)
    except DocumentError as exc:
        report.failures.append(Failure(source, exc.reason, str(exc)))
        return
    except OSError as exc:
        report.failures.append(Failure(source, "unreadable", str(exc)))
        return
    except Exception as exc:  # a parser bug must not stop the run; the reason is kept
        report.failures.append(Failure(source, "error", f"{type(exc).__name__}: {exc}"))
        return
    _count(report, old is not None, len(new.chunks))
    writer.add(new, replacing=old is not None)


def _count(report: IngestReport, replacing: bool, chunks: int) -> None:
    if replacing:
        report.updated += 1
    else:
        report.added += 1
    report.chunks += chunks


def prepare_document(
    kb: KnowledgeBase,
    doc: LoadedDocument,
    source: str,
    digest: str,
    size: int,
    groups: tuple[str, ...],
) -> NewDocument:
    chunking = kb.settings.chunking
    chunks = chunk_document(doc, chunking.max_tokens, chunking.overlap_tokens)
    if not chunks:
        raise EmptyDocumentError(f"{source}: no text to index")
    return NewDocument(
        source=source,
        title=doc.title,
        format=doc.format,
        content_hash=digest,
        size_bytes=size,
        groups=groups,
        chunks=chunks,
        metadata=doc.metadata,
    )


def read_records(path: Path) -> Iterator[Record]:
    """Records of a JSONL corpus; ``_id`` (BEIR) is accepted for ``id``."""
    with path.open("r", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                rid = obj.get("id", obj.get("_id"))
                text = obj["text"]
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                raise DocumentError(
                    f"{path}:{line_no}: each line must be a JSON object with "
                    f'"id" and "text" ({exc})'
                ) from exc
            if rid is None or not isinstance(text, str):
                raise DocumentError(f'{path}:{line_no}: "id" missing or "text" not a string')
            yield Record(str(rid), str(obj.get("title") or ""), text)


def record_document(record: Record) -> LoadedDocument:
    """A corpus record as a document: its text split into paragraphs on blank lines."""
    text = normalize_text(record.text)
    blocks = [Block(p) for p in text.split("\n\n") if p.strip()]
    title = normalize_inline(record.title) or record.id
    return LoadedDocument(title=title, blocks=blocks, format="record", metadata={"id": record.id})


def _ingest_jsonl(
    kb: KnowledgeBase,
    writer: _Writer,
    path: Path,
    groups: tuple[str, ...],
    known: dict[str, tuple[int, str, tuple[str, ...]]],
    seen: set[str],
    report: IngestReport,
) -> None:
    for _ in read_records(path):  # a malformed file fails whole, before any write
        pass
    for record in read_records(path):
        source = f"{path}#{record.id}"
        seen.add(source)
        payload = f"{record.title}\x00{record.text}".encode()
        digest = hashlib.sha256(payload).hexdigest()
        old = known.get(source)
        if old is not None and old[1] == digest and old[2] == groups:
            report.unchanged += 1
            continue
        try:
            new = prepare_document(
                kb, record_document(record), source, digest, len(payload), groups
            )
        except KotaeError as exc:
            reason = getattr(exc, "reason", "error")
            report.failures.append(Failure(source, reason, str(exc)))
            continue
        _count(report, old is not None, len(new.chunks))
        writer.add(new, replacing=old is not None)


def ingest_records(
    kb: KnowledgeBase, source_prefix: str, records: Iterable[Record], groups: Sequence[str] = ()
) -> IngestReport:
    """Ingest in-memory records (the benchmark path) exactly as a JSONL file would be."""
    report = IngestReport()
    started = time.perf_counter()
    grp = tuple(sorted(set(groups)))
    with kb.write_lock():
        writer = _Writer(kb, report)
        try:
            _add_records(kb, writer, source_prefix, records, grp, report)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
    report.seconds = time.perf_counter() - started
    return report


def _add_records(
    kb: KnowledgeBase,
    writer: _Writer,
    source_prefix: str,
    records: Iterable[Record],
    grp: tuple[str, ...],
    report: IngestReport,
) -> None:
    for record in records:
        payload = f"{record.title}\x00{record.text}".encode()
        digest = hashlib.sha256(payload).hexdigest()
        try:
            new = prepare_document(
                kb,
                record_document(record),
                f"{source_prefix}#{record.id}",
                digest,
                len(payload),
                grp,
            )
        except KotaeError as exc:
            report.failures.append(Failure(record.id, getattr(exc, "reason", "error"), str(exc)))
            continue
        report.bytes += len(payload)
        _count(report, False, len(new.chunks))
        writer.add(new, replacing=False)
