"""A knowledge base: one directory with the SQLite catalog and the indexes derived from it.

    KB_DIR/
      kotae.toml        settings (see kotae.config)
      kotae.db          the catalog: documents, chunks, ACLs, users, vectors (source of truth)
      index/lexical/    tantivy BM25 index + index.json (generation, analyzer)
      index/vectors/    vector index + meta (generation, embedder), only with an embedder
      write.lock        held by the one process writing at a time

On open, a derived index whose generation lags the catalog catches up by re-indexing the
documents changed since; one built with another analyzer, or lost, is rebuilt.

An encrypted knowledge base (``kotae init --encrypt``, :mod:`kotae.security.crypto`) keeps
everything in its SQLCipher catalog: its derived indexes live in memory only, built from
the catalog on open and caught up the same way, and ``index/`` is never written.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kotae.acl import PUBLIC, AccessChange, fold_group, parse_groups, remove_rules, set_rules
from kotae.config import CONFIG_FILE, DEFAULT_TOML, Settings, load_settings
from kotae.created import Undo, write_atomically
from kotae.errors import ConfigError, IndexMismatchError, KnowledgeBaseError, QueryError
from kotae.index.catalog import Catalog, ChunkRow, DocumentRow, database_errors
from kotae.index.lexical import FieldWeights, IndexedChunk, LexicalIndex
from kotae.security.crypto import Cipher, kb_cipher
from kotae.text.tokenize import Tokenizer, default_tokenizer

DB_FILE = "kotae.db"
ENV_KB = "KOTAE_KB"
# an encrypted knowledge base keeps this many generations of ``changes`` for the
# in-memory indexes of other processes (a server's readers) to catch up from
KEEP_CHANGES = 1000


@dataclass(frozen=True, slots=True)
class Access:
    """Who is reading: ``groups=None`` reads everything (local administrator).

    Group names are folded (:func:`kotae.acl.fold_group`) as they enter, like every
    group name kotae stores, so ``Access(frozenset({"Sales"}))`` reads what ``sales`` may.
    """

    groups: frozenset[str] | None
    user: str | None = None

    def __post_init__(self) -> None:
        if self.groups is not None:
            object.__setattr__(self, "groups", frozenset(fold_group(g) for g in self.groups))

    @classmethod
    def everything(cls) -> Access:
        return cls(None)

    @classmethod
    def public(cls) -> Access:
        return cls(frozenset())

    def acl_terms(self) -> list[str] | None:
        if self.groups is None:
            return None
        return [PUBLIC, *sorted(self.groups)]

    def can_read(self, groups: Sequence[str]) -> bool:
        """Whether a document with these groups (empty = public) is readable."""
        return self.groups is None or not groups or bool(self.groups.intersection(groups))


def _batches(rows: Iterator[ChunkRow], size: int) -> Iterator[list[ChunkRow]]:
    batch: list[ChunkRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def find_kb_dir(explicit: str | Path | None = None) -> Path:
    """``--kb DIR``, else ``$KOTAE_KB``, else the current directory."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_KB)
    return Path(env) if env else Path.cwd()


def index_text(title: str, heading_path: Sequence[str], text: str) -> str:
    """What the lexical index sees of a chunk: its title and headings lead its text."""
    head = " / ".join(h for h in heading_path if h and h != title)
    return f"{title}\n{head}\n{text}" if head else f"{title}\n{text}"


def acl_terms_of(groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(groups) if groups else (PUBLIC,)


class KnowledgeBase:
    """Open with :func:`open_kb` or create with :func:`init_kb`."""

    def __init__(
        self,
        path: Path,
        settings: Settings | None = None,
        *,
        sync: bool = True,
        cipher: Cipher | None = None,
    ):
        self.path = path
        if not (path / DB_FILE).exists():
            raise KnowledgeBaseError(
                f"no knowledge base in {path}: create one with `kotae init {path}` "
                "or point to one with --kb DIR / KOTAE_KB",
                message_ja=f"{path} にナレッジベースがありません。"
                f"`kotae init {path}` で作成するか、--kb DIR / KOTAE_KB で指定してください",
            )
        self.settings = settings or load_settings(path / CONFIG_FILE)
        # the key is checked (and the catalog opened) before anything is written
        self.cipher = kb_cipher(path, self.settings.security, cipher)
        self.catalog = Catalog(path / DB_FILE, self.cipher)
        self.tokenizer: Tokenizer = default_tokenizer()
        self._lexical: LexicalIndex | None = None
        self._lock_depth = 0
        self._dense: Any = None  # kotae.dense.DenseIndex, created on first use
        if sync:
            self.sync_indexes()

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        if self._lexical is not None:
            self._lexical.rollback()
        self.catalog.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write_lock(self, wait: float = 0.0) -> Iterator[None]:
        """One writer at a time per knowledge base (an advisory file lock); ``wait``: how
        many seconds to wait for another writer to finish before giving up."""
        deadline = time.monotonic() + wait
        with self._try_write_lock(deadline) as locked:
            if not locked:
                raise KnowledgeBaseError(
                    f"another kotae process is writing to {self.path}; try again when it ends",
                    message_ja=f"別の kotae が {self.path} に書き込み中です。"
                    "終わってから再実行してください",
                )
            yield

    @contextmanager
    def _try_write_lock(self, deadline: float = 0.0) -> Iterator[bool]:
        if self._lock_depth:  # already held by this object (re-entrant)
            self._lock_depth += 1
            try:
                yield True
            finally:
                self._lock_depth -= 1
            return
        handle: IO[str] = open(self.path / "write.lock", "a")  # noqa: SIM115
        try:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            self._lock_depth = 1
            try:
                yield True
            finally:
                self._lock_depth = 0
        finally:
            handle.close()

    # -- derived indexes --------------------------------------------------------------
    @property
    def lexical_dir(self) -> Path:
        return self.path / "index" / "lexical"

    @property
    def encrypted(self) -> bool:
        """Whether the knowledge base is encrypted: its derived indexes stay in memory."""
        return self.cipher is not None

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None and self.encrypted:
            self._lexical = self._rebuild_lexical(self.catalog.generation())
        if self._lexical is None:
            try:
                self._lexical = LexicalIndex(self.lexical_dir, self.analyzer_id)
            except IndexMismatchError:
                self.sync_indexes()
                assert self._lexical is not None
        return self._lexical

    @property
    def analyzer_id(self) -> str:
        return f"{self.tokenizer.name}/{self.tokenizer.version}"

    def field_weights(self) -> FieldWeights:
        r = self.settings.retrieval
        return FieldWeights(r.words_weight, r.grams_weight, r.pairs_weight)

    def sync_indexes(self) -> None:
        """Bring every derived index up to the catalog generation (catch up or rebuild).

        Only one process writes at a time: while another one holds the write lock (an
        ingestion in progress), readers use the index as it stands. An encrypted knowledge
        base builds or catches up its in-memory indexes (no lock: nothing is written).
        """
        if self.encrypted:
            self._sync_in_memory()
            return
        meta = LexicalIndex.read_meta(self.lexical_dir)
        target = self.catalog.generation()
        up_to_date = (
            meta is not None
            and LexicalIndex.matches(meta, self.analyzer_id)
            and meta.get("generation") == target
        )
        if up_to_date and not self.dense_enabled:
            return
        with self._try_write_lock() as locked:
            if locked:
                self._sync_locked()
            elif meta is None:
                raise KnowledgeBaseError(
                    f"{self.path} is being written by another process and has no index yet; "
                    "try again when the ingestion ends"
                )

    def _sync_locked(self) -> None:
        target = self.catalog.generation()
        try:
            lexical = LexicalIndex(self.lexical_dir, self.analyzer_id)
        except IndexMismatchError:
            lexical = None
        self._lexical = self._caught_up(lexical, target)
        self.catalog.prune_changes(target)
        if self.dense_enabled:
            self.dense.sync(target)

    def _caught_up(self, lexical: LexicalIndex | None, target: int) -> LexicalIndex:
        """``lexical`` at generation ``target``: changes replayed, or rebuilt."""
        if (
            lexical is None
            or lexical.generation > target
            or (
                lexical.generation < target
                and self.catalog.oldest_change() > lexical.generation + 1
            )
        ):
            if lexical is not None:
                lexical.rollback()
            return self._rebuild_lexical(target)
        if lexical.generation < target:
            changed = self.catalog.changed_since(lexical.generation)
            lexical.delete_documents(changed)
            lexical.add_chunks(self.indexed_chunks(self.catalog.chunks_of(changed)))
            lexical.commit(target)
        return lexical

    def _sync_in_memory(self) -> None:
        """An encrypted knowledge base: bring the in-memory indexes to the catalog."""
        target = self.catalog.generation()
        if self._lexical is None or self._lexical.generation != target:
            self._lexical = self._caught_up(self._lexical, target)
        if self.dense_enabled and (self._dense is None or self._dense.generation != target):
            self.dense.sync(target)

    def prune_changes(self, generation: int) -> None:
        """Forget the changes the derived indexes have applied (an encrypted knowledge
        base keeps :data:`KEEP_CHANGES` generations for other processes' in-memory
        indexes to catch up from)."""
        keep = KEEP_CHANGES if self.encrypted else 0
        if generation - keep > 0:
            self.catalog.prune_changes(generation - keep)

    def refresh(self) -> None:
        """Follow what another connection or process wrote (a server's reader): reload the
        lexical index when its ``index.json`` moved to another generation, and reload the
        vectors when the catalog did. A reader never writes an index (an encrypted knowledge
        base's in-memory indexes catch up with the catalog)."""
        if self.encrypted:
            if self._lexical is not None or self._dense is not None:
                self._sync_in_memory()
            return
        meta = LexicalIndex.read_meta(self.lexical_dir)
        lexical = self._lexical
        if (
            lexical is not None
            and meta is not None
            and meta.get("generation") != lexical.generation
        ):
            lexical.index.reload()
            lexical.generation = int(meta["generation"])
        if self._dense is not None and self._dense.generation >= 0:
            from kotae.index.vectors import read_vector_index_info

            try:
                saved = read_vector_index_info(self._dense.path).meta.get("generation")
            except KnowledgeBaseError:
                saved = None
            if saved is not None and saved != self._dense.generation:
                self._dense.reload()

    def rebuild_lexical(self) -> None:
        """Rebuild the lexical index from the catalog (the caller holds the write lock)."""
        if self._lexical is not None:
            self._lexical.rollback()
        self._lexical = self._rebuild_lexical(self.catalog.generation())

    def _rebuild_lexical(self, target: int) -> LexicalIndex:
        if self.encrypted:
            lexical = LexicalIndex(None, self.analyzer_id)
        else:
            LexicalIndex.destroy(self.lexical_dir)
            lexical = LexicalIndex(self.lexical_dir, self.analyzer_id, create=True)
        lexical.add_chunks(self.indexed_chunks(self.catalog.all_chunks()))
        lexical.commit(target)
        return lexical

    def indexed_chunks(self, rows: Iterator[ChunkRow]) -> Iterator[IndexedChunk]:
        """``rows`` as the lexical index takes them. An encrypted knowledge base reads the
        fields its ingestion analyzed (``chunk_terms``, when this analyzer made them) and
        analyzes only the chunks without: its in-memory index is rebuilt on every open."""
        for batch in _batches(rows, 500):
            stored = (
                self.catalog.chunk_terms([r.id for r in batch], self.analyzer_id)
                if self.encrypted
                else {}
            )
            for row in batch:
                saved = stored.get(row.id)
                if saved is not None and len(saved) == 3:
                    fields = (saved[0], saved[1], saved[2])
                else:
                    text = index_text(row.title, row.heading_path, row.text)
                    fields = self.tokenizer.analyze(text, normalized=True).joined()
                yield IndexedChunk(row.id, row.document_id, acl_terms_of(row.groups), fields)

    @property
    def dense_enabled(self) -> bool:
        return bool(self.settings.embedder.backend) and self.settings.retrieval.mode != "lexical"

    @property
    def dense(self) -> Any:
        if self._dense is None:
            from kotae.dense import DenseIndex

            self._dense = DenseIndex(self)
        return self._dense

    # -- access -----------------------------------------------------------------------
    def access_for(
        self, user: str | None = None, groups: Sequence[str] | None = None, everything: bool = False
    ) -> Access:
        """A user's access (their groups + ``user:NAME``), ad hoc groups (``a,b`` lists too;
        validated and folded: :class:`kotae.errors.AccessError` for a bad name), everything,
        or public."""
        if everything:
            return Access.everything()
        if user is not None:
            user_groups = self.catalog.user_groups(user)
            if user_groups is None:
                raise QueryError(
                    f"unknown user {user!r}: add it with `kotae users add {user}`",
                    message_ja=f"ユーザー {user!r} は登録されていません。"
                    f"`kotae users add {user}` で追加してください",
                )
            return Access(frozenset(user_groups) | {f"user:{user}"}, user)
        return Access(frozenset(parse_groups(groups or ())))

    def set_user(self, name: str, groups: Sequence[str]) -> tuple[str, ...]:
        """Add a user or replace their groups (validated and folded); returns the groups."""
        if not name.strip():
            raise QueryError("the user name is empty", message_ja="ユーザー名が空です")
        folded = parse_groups(groups)
        self.catalog.set_user(name, folded)
        return folded

    def set_acl(self, paths: Sequence[str], groups: Sequence[str]) -> list[AccessChange]:
        """Set the access rule of each path (a source: resolved file/folder, or ``FILE#ID``)
        to ``groups`` (none = public on purpose) and apply it to the documents already in."""
        return set_rules(self, paths, groups)

    def remove_acl(self, paths: Sequence[str]) -> list[AccessChange]:
        """Remove the access rule of each path and apply the rules left."""
        return remove_rules(self, paths)

    def document(self, doc_id: int, access: Access) -> DocumentRow | None:
        """Document ``doc_id`` if it exists AND ``access`` may read it: a reader cannot tell a
        hidden document from a missing one."""
        doc = self.catalog.document(doc_id)
        return doc if doc is not None and access.can_read(doc.groups) else None

    # -- operations (thin wrappers over the modules that do the work) -----------------
    def search(
        self, query: str, k: int = 10, access: Access | None = None, *, log: bool | None = None
    ) -> list[Any]:
        """The top ``k`` chunks ``access`` may read; logged unless ``log=False`` or the
        knowledge base has ``query_log = false``."""
        from kotae.querylog import log_search
        from kotae.retrieval import search
        from kotae.security.audit import record_kb_query

        access = access or Access.public()
        logging = self.settings.query_log if log is None else log
        started = time.perf_counter()
        keep_days = self.settings.log.keep_days
        audited = log is not False  # log=False: a caller that logs the request itself
        try:
            results = search(self, query, k=k, access=access)
        except Exception as exc:
            log_id = None
            if logging:
                log_id = log_search(
                    self.catalog, query, access, [], started, exc, keep_days=keep_days
                )
            if audited:
                record_kb_query(self, "search", access, [], status="error", log_id=log_id)
            raise
        log_id = None
        if logging:
            log_id = log_search(self.catalog, query, access, results, started, keep_days=keep_days)
        if audited:
            status = "ok" if results else "no_evidence"
            documents = (r.document_id for r in results)
            record_kb_query(self, "search", access, documents, status=status, log_id=log_id)
        return results

    def ingest(self, paths: Sequence[Path], **kwargs: Any) -> Any:
        from kotae.ingest import ingest_paths

        return ingest_paths(self, paths, **kwargs)

    def documents(self, access: Access | None = None) -> list[DocumentRow]:
        """The documents ``access`` may read; ``None``: every one (library administrator)."""
        docs = self.catalog.documents()
        return docs if access is None else [d for d in docs if access.can_read(d.groups)]

    def find_documents(self, target: str) -> list[DocumentRow]:
        """The documents ``target`` names (every reader; removal and administration): an
        id; a source path, with every record ``FILE#id`` of that file and every document
        under that folder; or one record ``FILE#id``."""
        target = target.strip()
        if not target:
            return []
        if target.isdigit():
            doc = self.catalog.document(int(target))
            return [] if doc is None else [doc]
        found = self.catalog.documents_under([str(Path(target).resolve())])
        if not found and "#" in target:
            file, _, record = target.rpartition("#")
            doc = self.catalog.document_by_source(f"{Path(file).resolve()}#{record}")
            found = [] if doc is None else [doc]
        return found

    def remove_documents(self, doc_ids: Sequence[int], *, all_or_nothing: bool = False) -> int:
        """Delete documents from the catalog and every index, and their text from the query
        log (before, so a crash cannot leave it there, and after, for the asks logged
        meanwhile); returns how many existed. With ``all_or_nothing``, an id that does not
        exist is a :class:`QueryError` and nothing is removed."""
        from kotae.querylog import purge_documents

        with self.write_lock():
            existing = [d for d in dict.fromkeys(doc_ids) if self.catalog.document(d) is not None]
            missing = [d for d in dict.fromkeys(doc_ids) if d not in existing]
            if all_or_nothing and missing:
                shown = ", ".join(str(d) for d in missing[:5])
                raise QueryError(
                    f"no document with id {shown}: nothing was removed",
                    message_ja=f"ID {shown} の文書はありません。何も削除していません",
                )
            if not existing:
                return 0
            purge_documents(self.catalog, existing)
            generation, _ = self.catalog.write_documents([], remove_ids=existing)
            purge_documents(self.catalog, existing)
            self.lexical.delete_documents(existing)
            self.lexical.commit(generation)
            if self.dense_enabled:
                self.dense.sync(generation)
        return len(existing)

    def status(self) -> dict[str, Any]:
        counts = self.catalog.counts()
        return {
            "path": str(self.path),
            **counts,
            "generation": self.catalog.generation(),
            "lexical": {
                "analyzer": self.analyzer_id,
                "generation": self.lexical.generation,
                "chunks": self.lexical.num_chunks(),
            },
            "embedder": self.settings.embedder.backend or None,
            "dense": self.dense.status() if self.dense_enabled else None,
        }


USE_CASES = ("knowledge-search", "faq-support", "drafting")


def use_case_template(name: str) -> str:
    """The commented ``[use_case]`` template (Japanese and English) for ``name``."""
    if name not in USE_CASES:
        raise ConfigError(
            f"unknown use case {name!r}: choose one of {', '.join(USE_CASES)}",
            message_ja=f"ユースケース {name!r} はありません。"
            f"{', '.join(USE_CASES)} から選んでください",
        )
    return (Path(__file__).parent / "use_cases" / f"{name}.toml").read_text("utf-8")


def init_kb(
    path: Path,
    use_case: str | None = None,
    *,
    encrypt: bool = False,
    key_file: Path | None = None,
) -> KnowledgeBase:
    """Create a knowledge base in ``path`` (an existing one is opened, not overwritten).

    ``use_case`` appends that use case's ``[use_case]`` template with its KPIs to
    ``kotae.toml`` (once: a file that already has a ``[use_case]`` section is an error).
    ``encrypt`` creates it encrypted (docs/security.md) with the master key of
    ``key_file`` (recorded in ``[security] key_file``), else of ``$KOTAE_MASTER_KEY`` /
    ``$KOTAE_MASTER_KEY_FILE``; a plain knowledge base already there is an error.
    A path that is a file, or cannot be created, is a :class:`KnowledgeBaseError`, and
    whatever this call created before the failure is removed again.
    """
    template = use_case_template(use_case) if use_case else None
    if not str(path).strip():
        raise KnowledgeBaseError(
            "the knowledge-base directory is empty: give a folder",
            message_ja="ナレッジベースのフォルダー名が空です。フォルダーを指定してください",
        )
    if path.exists() and not path.is_dir():
        raise KnowledgeBaseError(
            f"{path} is a file, not a folder: choose another path",
            message_ja=f"{path} はフォルダーではなくファイルです。別のパスを指定してください",
        )
    config = path / CONFIG_FILE
    current = config.read_text("utf-8") if config.is_file() else None
    if template is not None and current and re.search(r"^\s*\[use_case\]", current, re.M):
        raise ConfigError(f"{config} already has a [use_case] section: edit it there")
    text = current if current is not None else DEFAULT_TOML
    if template is not None:
        text = text.rstrip("\n") + "\n\n" + template
    cipher = None
    if encrypt:
        from kotae.security.crypto import encrypted_kb_settings

        cipher, text = encrypted_kb_settings(path, text, key_file)
        if (path / DB_FILE).exists():
            return KnowledgeBase(path)
    made = (CONFIG_FILE, DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", "index", "write.lock")
    undo = Undo.before(path, made)
    failures: tuple[type[BaseException], ...] = (OSError, *database_errors())
    try:
        path.mkdir(parents=True, exist_ok=True)
        if text != current:
            write_atomically(config, text)
        Catalog(path / DB_FILE, cipher).close()
        return KnowledgeBase(path, cipher=cipher)
    except failures as exc:
        undo.run()
        reason = getattr(exc, "strerror", None) or str(exc)
        raise KnowledgeBaseError(f"cannot create a knowledge base in {path}: {reason}") from exc
    except BaseException:
        undo.run()
        raise


def open_kb(path: str | Path | None = None, settings: Settings | None = None) -> KnowledgeBase:
    """Open the knowledge base at ``path`` (or ``$KOTAE_KB``, or the current directory)."""
    return KnowledgeBase(find_kb_dir(path), settings)
