"""Ingestion: files and JSONL records -> chunks -> catalog (atomic per document) -> indexes.

- A content hash per file (per record for JSONL corpora): unchanged documents with the same
  ACL are skipped, changed ones replaced, ``sync=True`` removes documents whose files are gone.
- Each batch of whole documents is written in ONE catalog transaction; the derived indexes
  follow, and catch up on the next open if the process dies in between. A crash therefore
  never leaves a document half old and half new.
- A file that fails is reported with its reason and the run goes on.
- What a file share carries besides documents (``Thumbs.db``, ``~$*`` lock files, ``*.tmp``,
  hidden files and folders, what ``include``/``exclude`` leave out) is skipped and counted,
  not failed (:mod:`kotae.documents.walk`). A skipped file is not *seen*: ``sync=True``
  removes a document whose file is now excluded, as it removes one whose file is gone.
- The walk is listed first, so progress knows the number of files; a path that holds
  nothing to ingest is named in ``IngestReport.empty`` (a warning, not a failure).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kotae.acl import AccessChange, groups_for
from kotae.dense import EMBED_BATCH
from kotae.documents import CORPUS_EXTENSIONS, load_document
from kotae.documents.chunking import chunk_document
from kotae.documents.limits import RefusedDocumentError, check_file_size
from kotae.documents.model import Block, LoadedDocument
from kotae.documents.walk import Found, Selection, walk
from kotae.errors import BackendError, DocumentError, EmptyDocumentError, KotaeError
from kotae.index.catalog import NewDocument
from kotae.index.lexical import IndexedChunk
from kotae.kb import acl_terms_of, index_text
from kotae.text.analysis import BatchAnalyzer
from kotae.text.normalize import normalize_inline, normalize_text
from kotae.text.tokenize import FieldTexts

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
class Skip:
    source: str
    reason: str  # e.g. "Office lock file", "hidden folder", "excluded by 'archive/**'"


@dataclass(slots=True)
class Outcome:
    """What happened to one file or record, in the order of the run (``--verbose``)."""

    source: str
    outcome: str  # added, updated, unchanged, removed, skipped or failed
    reason: str = ""


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    bytes: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # paths that held nothing to ingest
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    access: list[AccessChange] = field(default_factory=list)  # documents --acl moved
    stopped: bool = False  # asked to stop before the end: the files not reached are left out

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        out = {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": len(self.skipped),
            "chunks": self.chunks,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "failed": [asdict(f) for f in self.failures],
            "skipped_files": [asdict(s) for s in self.skipped],
            "empty": self.empty,
            "access": [c.to_dict() for c in self.access],
        }
        if verbose:
            out["files"] = [asdict(o) for o in self.outcomes]
        return out


Progress = Callable[[str, int], None]  # (current source, bytes done)


@dataclass(slots=True)
class _Batch:
    docs: list[tuple[NewDocument, bool]]  # (document, replaces an existing one)
    terms: Any  # a pending result: .result() -> list[FieldTexts], one per chunk in order


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
            new.vectors = self._embed([c.text for c in new.chunks])
            new.vector_model = self.embedder.name
        self.pending.append((new, replacing))
        self.pending_chunks += len(new.chunks)
        if self.pending_chunks >= BATCH_CHUNKS:
            self._submit()

    def _embed(self, texts: list[str]) -> list[bytes]:
        """Vectors of ``texts`` in requests of ``EMBED_BATCH``: a long document never sends
        thousands of texts at once. Fails (nothing written) on a wrong count of vectors."""
        assert self.embedder is not None
        out: list[bytes] = []
        for start in range(0, len(texts), EMBED_BATCH):
            part = texts[start : start + EMBED_BATCH]
            vectors = self.embedder.embed(part, kind="passage")
            if len(vectors) != len(part):
                raise BackendError(
                    f"embedder {self.embedder.name} returned {len(vectors)} vectors "
                    f"for {len(part)} texts"
                )
            out.extend(np.asarray(v, dtype=np.float32).tobytes() for v in vectors)
        return out

    def _submit(self) -> None:
        docs, self.pending, self.pending_chunks = self.pending, [], 0
        texts = [index_text(d.title, c.heading_path, c.text) for d, _ in docs for c in d.chunks]
        batch = _Batch(docs, self.analyzer.submit(texts))
        if self.inflight is not None:
            self._write(self.inflight)
        self.inflight = batch

    def _write(self, batch: _Batch, remove_ids: Sequence[int] = ()) -> None:
        terms = batch.terms.result() if batch.docs else []
        if self.kb.encrypted:  # its lexical index is rebuilt from these on every open
            position = 0
            for doc, _ in batch.docs:
                doc.terms = terms[position : position + len(doc.chunks)]
                doc.analyzer = self.kb.analyzer_id
                position += len(doc.chunks)
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
            self._commit(final=False)

    def _commit(self, *, final: bool = True) -> None:
        self.kb.lexical.commit(self.generation, final=final)
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
        """After an error (an embedder failing, an interrupt): drop what is not in the
        catalog, then bring the derived indexes to the catalog, whose batches are each
        whole documents; the error itself is re-raised by the caller."""
        self.analyzer.close()
        self.kb.lexical.rollback()
        with contextlib.suppress(Exception):  # the next open catches up if this fails
            self.kb.sync_indexes()

    @staticmethod
    def _indexed(
        docs: list[tuple[NewDocument, bool]],
        written: list[tuple[int, list[int]]],
        terms: list[FieldTexts],
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


def ingest_paths(
    kb: KnowledgeBase,
    paths: Sequence[Path],
    groups: Sequence[str] = (),
    sync: bool = False,
    progress: Progress | None = None,
    follow_symlinks: bool = False,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    on_total: Callable[[int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> IngestReport:
    """Ingest files and folders. ``groups`` empty = public documents.

    ``stop`` is asked before each file: when it says yes, the files not reached are left
    out, what was read is written (whole documents), and ``sync`` removes nothing
    (``report.stopped``).

    ``sync`` removes the documents under ``paths`` whose files are really gone (or now
    skipped): never one whose file (or folder) failed to read, so a bad input loses nothing.
    ``include`` / ``exclude`` (globs, see :mod:`kotae.documents.walk`) replace ``[ingest]``'s
    when given. ``on_total`` gets the number of files to read, once the walk is listed.
    """
    for path in paths:
        if not path.exists():
            raise DocumentError(
                f"no such file or folder: {path}",
                message_ja=f"ファイルまたはフォルダーがありません: {path}",
            )
    settings = kb.settings.ingest
    selection = Selection(
        settings.include if include is None else include,
        settings.exclude if exclude is None else exclude,
    )
    with kb.write_lock(), _Run(kb, groups, [str(p.resolve()) for p in paths]) as run:
        listed = _listed(kb, paths, selection, follow_symlinks, run.report)
        if on_total is not None:
            on_total(sum(1 for found in listed if not found.problem))
        for found in listed:
            if stop is not None and stop():
                run.report.stopped = True
                break
            if found.problem:
                run.problem(found)
                continue
            run.file(found.path)
            if progress is not None:
                progress(str(found.path), run.report.bytes)
        removing = sync and not run.report.stopped
        if removing:
            run.keep_empty_roots(paths, listed)
        run.finish(run.gone(paths) if removing else [])
    return run.report


def _listed(
    kb: KnowledgeBase,
    paths: Sequence[Path],
    selection: Selection,
    follow_symlinks: bool,
    report: IngestReport,
) -> list[Found]:
    """The walk of every path, listed; a path with nothing but skips goes to ``empty``."""
    out: list[Found] = []
    skip = kb.path.resolve()
    for path in paths:
        found = list(walk([path], skip, follow_symlinks, selection))
        if all(f.problem == "skipped" for f in found):
            report.empty.append(str(path))
        out.extend(found)
    return out


def ingest_records(
    kb: KnowledgeBase, source_prefix: str, records: Iterable[Record], groups: Sequence[str] = ()
) -> IngestReport:
    """Ingest in-memory records (the benchmark path) exactly as a JSONL file would be."""
    with kb.write_lock(), _Run(kb, groups, [source_prefix]) as run:
        for record in records:
            run.record(source_prefix, record)
        run.finish([])
    return run.report


class _Run:
    """One ingestion: what the catalog already holds, what this run saw, the report."""

    def __init__(self, kb: KnowledgeBase, groups: Sequence[str], roots: Sequence[str]) -> None:
        self.kb = kb
        self.report = IngestReport()
        # Access belongs to the source: --acl sets (replaces) the rule of each root and moves
        # the documents already in; every document's groups then come from the rules.
        self.report.access = kb.set_acl(roots, groups) if groups else []
        self.rules = kb.catalog.acl_rules()
        self.known = kb.catalog.fingerprints()
        self.seen: set[str] = set()
        self.kept: set[str] = set()  # files that failed to read: keep all they had
        self.kept_dirs: list[str] = []  # folders that could not be listed: the same
        self.limits = kb.settings.ingest.limits()
        self.started = time.perf_counter()
        self.writer = _Writer(kb, self.report)

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.writer.abort()
        self.report.seconds = time.perf_counter() - self.started

    def finish(self, remove_ids: Sequence[int]) -> None:
        """Write what is buffered and remove ``remove_ids`` (``--sync``), purging their text
        from the query log before (a crash cannot leave it there) and after (for what was
        logged meanwhile), as ``docs remove`` does."""
        from kotae.querylog import purge_documents

        self.report.removed = len(remove_ids)
        if remove_ids:
            purge_documents(self.kb.catalog, remove_ids)
        self.writer.finish(remove_ids=remove_ids)
        if remove_ids:
            purge_documents(self.kb.catalog, remove_ids)

    def _unchanged(self, source: str, digest: str, groups: tuple[str, ...]) -> bool:
        self.seen.add(source)
        old = self.known.get(source)
        if old is not None and old[1] == digest and old[2] == groups:
            self.report.unchanged += 1
            self.report.outcomes.append(Outcome(source, "unchanged"))
            return True
        return False

    def _add(self, new: NewDocument) -> None:
        replacing = new.source in self.known
        if replacing:
            self.report.updated += 1
        else:
            self.report.added += 1
        self.report.outcomes.append(Outcome(new.source, "updated" if replacing else "added"))
        self.report.chunks += len(new.chunks)
        self.writer.add(new, replacing=replacing)

    def _fail(self, source: str, reason: str, message: str) -> None:
        self.report.failures.append(Failure(source, reason, message))
        self.report.outcomes.append(Outcome(source, "failed", f"{reason}: {message}"))

    def problem(self, found: Found) -> None:
        """A skipped file is counted, not failed; like a refused link it is not part of the
        folder (``--sync`` removes what it gave before). A folder that cannot be listed
        keeps every document it had."""
        if found.problem == "skipped":
            self.report.skipped.append(Skip(str(found.path), found.message))
            self.report.outcomes.append(Outcome(str(found.path), "skipped", found.message))
            return
        if found.problem != "refused":
            self.kept_dirs.append(str(found.path))
        self._fail(str(found.path), found.problem, found.message)

    def file(self, path: Path) -> None:
        source = str(path)
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
                raise RefusedDocumentError(f"{path.name}: refused: not a regular file")
            size = info.st_size
            self.report.bytes += size
            if path.suffix.lower() in CORPUS_EXTENSIONS:
                self.jsonl(path)
                return
            check_file_size(path, size, self.limits)  # before the whole file is hashed
            digest = file_hash(path)
            groups = groups_for(self.rules, source)
            if self._unchanged(source, digest, groups):
                return
            doc = load_document(path, self.limits)
            new = prepare_document(self.kb, doc, source, digest, size, groups)
        except DocumentError as exc:
            self._failed_file(source, exc.reason, str(exc))
        except OSError as exc:
            self._failed_file(source, "unreadable", str(exc))
        except Exception as exc:  # a parser bug must not stop the run; the reason is kept
            self._failed_file(source, "error", f"{type(exc).__name__}: {exc}")
        else:
            self._add(new)

    def _failed_file(self, source: str, reason: str, message: str) -> None:
        """A file that failed, wholly or in part, keeps every document it had."""
        self.kept.add(source)
        self._fail(source, reason, message)

    def jsonl(self, path: Path) -> None:
        """A JSONL corpus: one document per record, source ``PATH#ID``."""
        for _ in read_records(path):  # a malformed file fails whole, before any write
            pass
        for record in read_records(path):
            self.record(str(path), record, count_bytes=False)

    def record(self, prefix: str, record: Record, count_bytes: bool = True) -> None:
        source = f"{prefix}#{record.id}"
        payload = f"{record.title}\x00{record.text}".encode()
        if count_bytes:
            self.report.bytes += len(payload)
        digest = hashlib.sha256(payload).hexdigest()
        groups = groups_for(self.rules, source, prefix)
        if self._unchanged(source, digest, groups):
            return
        try:
            doc = record_document(record)
            new = prepare_document(self.kb, doc, source, digest, len(payload), groups)
        except KotaeError as exc:
            self._fail(source, getattr(exc, "reason", "error"), str(exc))
            return
        self._add(new)

    def keep_empty_roots(self, paths: Sequence[Path], listed: Sequence[Found]) -> None:
        """A folder that holds no file to read now while documents came from it (a share
        that is not mounted, a wrong path) is not taken for "everything deleted": ``--sync``
        keeps its documents and reports it. Deleting them is ``kotae docs remove PATH``."""
        files = [str(found.path) for found in listed if not found.problem]
        for path in paths:
            root = str(path.resolve())
            if not path.is_dir() or any(_within(f, root) for f in files):
                continue
            known = sum(1 for s in self.known if _within(s.split("#", 1)[0], root))
            if known:
                self.kept_dirs.append(root)
                self._fail(
                    root,
                    "empty",
                    f"{root}: holds no file to read now; --sync keeps its {known} documents "
                    f"(a share not mounted?). Remove them with `kotae docs remove {root}`",
                )

    def gone(self, paths: Sequence[Path]) -> list[int]:
        """Documents under the ingested roots that this run did not see, except those of
        a file or folder that failed to read (``kept``): only what is really gone."""
        roots = [str(p.resolve()) for p in paths]
        out = []
        for source, (doc_id, _, _) in sorted(self.known.items()):
            file_part = source.split("#", 1)[0]
            if source in self.seen or not any(_within(file_part, r) for r in roots):
                continue
            if source in self.kept or file_part in self.kept:
                continue
            if not any(_within(file_part, d) for d in self.kept_dirs):
                out.append(doc_id)
                self.report.outcomes.append(Outcome(source, "removed"))
        return out


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


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
        title=normalize_inline(doc.title) or Path(source.split("#")[0]).stem,
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
