"""The SQLite catalog: the source of truth of a knowledge base.

Documents, their chunks, ACLs, users and groups live here; the lexical and vector indexes
are derived from it. Every write transaction bumps the catalog *generation* and records
which documents it touched in ``changes``, so a derived index that remembers the
generation it was built from can catch up by replaying the changed documents.

A document is replaced in one transaction (old chunks deleted, new chunks inserted with
new ids), so after a crash at any point every document is either fully old or fully new.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kotae.acl import PUBLIC as PUBLIC  # the ACL term every reader may see (re-exported)
from kotae.acl import file_of, fold_group
from kotae.documents.model import Chunk
from kotae.errors import KnowledgeBaseError
from kotae.index.catalog_audit import AuditTables
from kotae.index.catalog_evals import EvalTables
from kotae.index.catalog_log import LogTables
from kotae.index.catalog_service import ServiceTables
from kotae.index.catalog_vectors import VectorTables
from kotae.index.catalog_web import WebTables

if TYPE_CHECKING:
    from kotae.security.crypto import Cipher


def _migrate_acl_rules(con: sqlite3.Connection) -> None:
    """0004: access rules (path -> groups); group names folded; rules for existing ACLs.

    Every document ingested with ``--acl`` before rules existed gets a rule for its file
    (or, when the records of one JSONL file differ, for each restricted record), so the
    next ingestion without ``--acl`` keeps its access instead of making it public.
    """
    for statement in (
        "CREATE TABLE acl_rules (path TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)",
        "CREATE TABLE acl_rule_groups (path TEXT NOT NULL REFERENCES acl_rules(path) "
        "ON DELETE CASCADE, grp TEXT NOT NULL, PRIMARY KEY (path, grp)) WITHOUT ROWID",
        "CREATE INDEX document_acl_by_group ON document_acl(grp)",
    ):
        con.execute(statement)
    _fold_stored_groups(con)
    by_file: dict[str, dict[str, tuple[str, ...]]] = {}
    for source, fmt, meta, groups in con.execute(
        "SELECT d.source, d.format, d.metadata, (SELECT group_concat(grp, char(31)) "
        "FROM document_acl a WHERE a.document_id=d.id) FROM documents d"
    ):
        file = file_of(str(source), str(fmt), json.loads(str(meta)))
        by_file.setdefault(file, {})[str(source)] = _split(groups)
    now = _now()
    for file, docs in by_file.items():
        distinct = set(docs.values())
        rules = {file: distinct.pop()} if len(distinct) == 1 else docs
        for path, groups in rules.items():
            if groups:
                con.execute("INSERT INTO acl_rules VALUES (?, ?, ?)", (path, now, now))
                con.executemany(
                    "INSERT INTO acl_rule_groups VALUES (?, ?)", [(path, g) for g in groups]
                )


def _fold_stored_groups(con: sqlite3.Connection) -> None:
    """Fold the group names stored before names were folded; the documents whose ACL
    changed are recorded as changes so the lexical index re-indexes them."""
    users = con.execute("SELECT user, grp FROM user_groups").fetchall()
    if any(fold_group(g) != g for _, g in users):
        con.execute("DELETE FROM user_groups")
        con.executemany(
            "INSERT OR IGNORE INTO user_groups VALUES (?, ?)",
            [(u, fold_group(g)) for u, g in users],
        )
    acl = con.execute("SELECT document_id, grp FROM document_acl").fetchall()
    moved = {d for d, g in acl if fold_group(g) != g}
    if not moved:
        return
    changed = sorted(moved)
    row = con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    generation = int(row[0]) + 1
    con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(generation),))
    con.executemany("DELETE FROM document_acl WHERE document_id=?", [(d,) for d in changed])
    con.executemany(
        "INSERT OR IGNORE INTO document_acl VALUES (?, ?)",
        [(d, fold_group(g)) for d, g in acl if d in moved],
    )
    con.executemany("INSERT INTO changes VALUES (?, ?)", [(generation, d) for d in changed])


def _split(groups: object) -> tuple[str, ...]:
    """``group_concat(grp, char(31))`` -> sorted names (NULL = public = ())."""
    return tuple(sorted(str(groups).split("\x1f"))) if groups else ()


AUDIT_SCHEMA = (
    """CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX audit_log_by_time ON audit_log(at)",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)


def _migrate_audit(con: sqlite3.Connection) -> None:
    """0007: the append-only, hash-chained audit log (its triggers hold semicolons, so the
    statements are run one by one rather than split)."""
    for statement in AUDIT_SCHEMA:
        con.execute(statement)


Migration = tuple[str, str | Callable[[sqlite3.Connection], None]]

MIGRATIONS: list[Migration] = [
    (
        "0001_initial",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            format TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            generation INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE document_acl (
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            grp TEXT NOT NULL,
            PRIMARY KEY (document_id, grp)
        ) WITHOUT ROWID;
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            heading_path TEXT NOT NULL DEFAULT '[]',
            page INTEGER,
            slide INTEGER,
            sheet TEXT,
            start_char INTEGER NOT NULL,
            end_char INTEGER NOT NULL
        );
        CREATE INDEX chunks_by_document ON chunks(document_id, ordinal);
        CREATE TABLE chunk_vectors (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE TABLE changes (
            generation INTEGER NOT NULL,
            document_id INTEGER NOT NULL
        );
        CREATE INDEX changes_by_generation ON changes(generation);
        CREATE TABLE users (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
        CREATE TABLE user_groups (
            user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
            grp TEXT NOT NULL,
            PRIMARY KEY (user, grp)
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('generation', '0');
        """,
    ),
    (
        "0002_query_log",
        """
        CREATE TABLE query_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            user TEXT,
            session TEXT,
            question TEXT NOT NULL,
            query TEXT NOT NULL,
            language TEXT,
            mode TEXT,
            generator TEXT,
            retrieved TEXT NOT NULL DEFAULT '[]',
            prompt TEXT,
            answer TEXT,
            citations TEXT NOT NULL DEFAULT '[]',
            usage TEXT,
            timings TEXT NOT NULL DEFAULT '{}',
            error TEXT
        );
        CREATE INDEX query_log_by_time ON query_log(created_at);
        CREATE INDEX query_log_by_session ON query_log(session)
        """,
    ),
    (
        "0003_eval_runs",
        """
        CREATE TABLE eval_runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            set_name TEXT NOT NULL,
            set_hash TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status TEXT NOT NULL,
            n_questions INTEGER NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',
            items TEXT NOT NULL DEFAULT '[]',
            wall_s REAL NOT NULL DEFAULT 0,
            summary TEXT
        );
        CREATE INDEX eval_runs_by_key ON eval_runs(set_hash, config_hash, status);
        CREATE TABLE eval_results (
            run_id TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (run_id, item_id)
        ) WITHOUT ROWID
        """,
    ),
    ("0004_acl_rules", _migrate_acl_rules),
    (
        # who asked with what access ({"all": true} | {"groups": [...]} | {"user", "groups"});
        # NULL for older entries: their text is readable with --all only (kotae.querylog)
        "0005_query_log_access",
        """
        ALTER TABLE query_log ADD COLUMN access TEXT
        """,
    ),
    (
        "0006_service",
        """
        ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'reader'
            CHECK (role IN ('admin', 'editor', 'reader'));
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            prefix TEXT NOT NULL UNIQUE,
            hash TEXT NOT NULL,
            user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            last_used_at TEXT
        );
        CREATE INDEX api_keys_by_user ON api_keys(user);
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            log_id INTEGER NOT NULL,
            user TEXT,
            rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
            comment TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX feedback_by_log ON feedback(log_id);
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            user TEXT,
            status TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
    ),
    ("0007_audit", _migrate_audit),
    (
        # web login (kotae.security.sessions): a password per user (argon2, optional), the
        # OIDC subject a user is linked to, sessions keyed by the SHA-256 of the cookie's
        # token, and the OIDC logins under way (state -> nonce, PKCE verifier)
        "0008_web",
        """
        ALTER TABLE users ADD COLUMN password_hash TEXT;
        ALTER TABLE users ADD COLUMN oidc_subject TEXT;
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
            csrf_hash TEXT NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('password', 'api_key', 'oidc')),
            key_id INTEGER REFERENCES api_keys(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        );
        CREATE INDEX sessions_by_user ON sessions(user);
        CREATE INDEX sessions_by_expiry ON sessions(expires_at);
        CREATE TABLE oidc_logins (
            id TEXT PRIMARY KEY,
            nonce TEXT NOT NULL,
            code_verifier TEXT NOT NULL,
            redirect_url TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )
        """,
    ),
    (
        # the analyzed fields of each chunk of an encrypted knowledge base (its lexical
        # index lives in memory and is rebuilt from these on open)
        "0009_chunk_terms",
        """
        CREATE TABLE chunk_terms (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            analyzer TEXT NOT NULL,
            fields BLOB NOT NULL
        )
        """,
    ),
]


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: int
    source: str
    title: str
    format: str
    content_hash: str
    size_bytes: int
    version: int
    generation: int
    created_at: str
    updated_at: str
    groups: tuple[str, ...]  # empty = public
    chunk_count: int
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return not self.groups


@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: int
    document_id: int
    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    slide: int | None
    sheet: str | None
    start: int
    end: int
    title: str
    source: str
    groups: tuple[str, ...]


@dataclass(slots=True)
class NewDocument:
    """Everything needed to write one document version into the catalog."""

    source: str
    title: str
    format: str
    content_hash: str
    size_bytes: int
    groups: tuple[str, ...]
    chunks: Sequence[Chunk]
    metadata: dict[str, str] = field(default_factory=dict)
    vectors: Sequence[bytes] | None = None  # one float32 blob per chunk
    vector_model: str = ""
    # an encrypted knowledge base keeps each chunk's analyzed fields, so that its in-memory
    # lexical index is rebuilt on open without analyzing again (``chunk_terms``)
    terms: Sequence[Sequence[str]] | None = None
    analyzer: str = ""


def _packed_terms(fields: Sequence[str]) -> bytes:
    """A chunk's analyzed fields as stored: JSON, zlib-compressed (the character bigrams
    repeat: about a quarter of the size)."""
    return zlib.compress(json.dumps(list(fields), ensure_ascii=False).encode(), 1)


def _unpacked_terms(blob: bytes) -> tuple[str, ...]:
    return tuple(json.loads(zlib.decompress(blob)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: Path, cipher: Cipher | None = None) -> sqlite3.Connection:
    """Open the catalog with the settings kotae relies on (WAL, foreign keys).

    With ``cipher`` (an encrypted knowledge base) the connection is SQLCipher's, keyed
    before anything is read, with temporary tables and indexes kept in memory; a wrong
    key is an :class:`~kotae.errors.EncryptionKeyError` raised before anything is written.
    SQLCipher's connection and cursor follow the same DB-API as :mod:`sqlite3` (its
    exceptions are other classes: catch :func:`database_errors`).
    """
    if cipher is None:
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            con.close()
            if "not a database" in str(exc):
                raise _unreadable(path) from None
            raise
    else:
        con = _connect_encrypted(path, cipher)
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=30000")
    return con


def _connect_encrypted(path: Path, cipher: Cipher) -> sqlite3.Connection:
    from kotae.security.crypto import require_crypto_libraries, wrong_key

    require_crypto_libraries()
    from sqlcipher3 import dbapi2

    con: Any = dbapi2.connect(
        str(path), timeout=30.0, isolation_level=None, check_same_thread=False
    )
    try:
        con.execute("PRAGMA cipher_log_level = NONE")
        con.execute(f"PRAGMA key = {cipher.pragma_key()}")
        con.execute("PRAGMA temp_store = MEMORY")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # checks the key
        con.execute("PRAGMA journal_mode=WAL")
    except dbapi2.DatabaseError:
        con.close()
        raise wrong_key(path.parent) from None
    return con  # type: ignore[no-any-return]


def _unreadable(path: Path) -> KnowledgeBaseError:
    return KnowledgeBaseError(
        f"{path} is not a readable catalog: it is damaged, or encrypted while "
        f"{path.parent}/kotae.toml lacks `[security] encrypted = true`",
        message_ja=f"{path} を読めません。壊れているか、暗号化されているのに "
        f"{path.parent}/kotae.toml に `[security] encrypted = true` がありません",
    )


def database_errors() -> tuple[type[Exception], ...]:
    """The exception classes of a catalog connection: :mod:`sqlite3`'s and, when
    installed, SQLCipher's (another class tree with the same names)."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, dbapi2.Error)


def migrate(con: sqlite3.Connection) -> list[str]:
    """Apply the named migrations not yet applied; return their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations")}
    known = {name for name, _ in MIGRATIONS}
    if done - known:
        raise KnowledgeBaseError(
            f"this knowledge base has migrations unknown to this kotae ({sorted(done - known)}): "
            "upgrade kotae"
        )
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN IMMEDIATE")
        try:
            if callable(step):  # a migration that needs Python (one transaction all the same)
                step(con)
            else:
                for statement in step.split(";"):
                    if statement.strip():
                        con.execute(statement)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, _now()))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


class Catalog(VectorTables, EvalTables, LogTables, ServiceTables, AuditTables, WebTables):
    """Typed access to the catalog tables. Writes go through :meth:`write_documents`."""

    def __init__(self, path: Path, cipher: Cipher | None = None) -> None:
        self.path = path
        self.cipher = cipher
        self.con = connect(path, cipher)
        migrate(self.con)

    def close(self) -> None:
        self.close_audit()
        self.con.close()

    # -- generation and changes -------------------------------------------------------
    def generation(self) -> int:
        row = self.con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0])

    def changed_since(self, generation: int) -> list[int]:
        """Ids of documents touched by transactions after ``generation``."""
        rows = self.con.execute(
            "SELECT DISTINCT document_id FROM changes WHERE generation > ?", (generation,)
        )
        return [r[0] for r in rows]

    def oldest_change(self) -> int:
        row = self.con.execute("SELECT MIN(generation) FROM changes").fetchone()
        return int(row[0]) if row[0] is not None else self.generation() + 1

    def prune_changes(self, up_to: int) -> None:
        """Forget changes every derived index has already applied."""
        self.con.execute("DELETE FROM changes WHERE generation <= ?", (up_to,))

    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # -- writes -----------------------------------------------------------------------
    def write_documents(
        self, new: Sequence[NewDocument], remove_ids: Iterable[int] = ()
    ) -> tuple[int, list[tuple[int, list[int]]]]:
        """Insert/replace ``new`` and delete ``remove_ids`` in ONE transaction.

        Returns the new generation and, per written document (same order), its id and the
        ids of its chunks in ordinal order.
        """
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            generation = self.generation() + 1
            con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(generation),))
            ids = [self._write_one(doc, generation) for doc in new]
            for doc_id in remove_ids:
                con.execute("DELETE FROM documents WHERE id=?", (doc_id,))
                con.execute("INSERT INTO changes VALUES (?, ?)", (generation, doc_id))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return generation, ids

    def _write_one(self, doc: NewDocument, generation: int) -> tuple[int, list[int]]:
        con = self.con
        now = _now()
        row = con.execute("SELECT id, version FROM documents WHERE source=?", (doc.source,))
        old = row.fetchone()
        meta = json.dumps(doc.metadata, ensure_ascii=False)
        if old is None:
            cur = con.execute(
                "INSERT INTO documents (source, title, format, content_hash, size_bytes, "
                "version, generation, created_at, updated_at, metadata) "
                "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    doc.source,
                    doc.title,
                    doc.format,
                    doc.content_hash,
                    doc.size_bytes,
                    generation,
                    now,
                    now,
                    meta,
                ),
            )
            doc_id = int(cur.lastrowid or 0)
        else:
            doc_id = int(old[0])
            con.execute("DELETE FROM chunks WHERE document_id=?", (doc_id,))
            con.execute("DELETE FROM document_acl WHERE document_id=?", (doc_id,))
            con.execute(
                "UPDATE documents SET title=?, format=?, content_hash=?, size_bytes=?, "
                "version=version+1, generation=?, updated_at=?, metadata=? WHERE id=?",
                (
                    doc.title,
                    doc.format,
                    doc.content_hash,
                    doc.size_bytes,
                    generation,
                    now,
                    meta,
                    doc_id,
                ),
            )
        con.executemany(
            "INSERT INTO document_acl VALUES (?, ?)", [(doc_id, g) for g in sorted(set(doc.groups))]
        )
        chunk_ids = self._insert_chunks(doc_id, doc)
        con.execute("INSERT INTO changes VALUES (?, ?)", (generation, doc_id))
        return doc_id, chunk_ids

    def _insert_chunks(self, doc_id: int, doc: NewDocument) -> list[int]:
        con = self.con
        ids: list[int] = []
        for i, chunk in enumerate(doc.chunks):
            cur = con.execute(
                "INSERT INTO chunks (document_id, ordinal, text, heading_path, page, slide, "
                "sheet, start_char, end_char) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_id,
                    chunk.ordinal,
                    chunk.text,
                    json.dumps(list(chunk.heading_path), ensure_ascii=False),
                    chunk.page,
                    chunk.slide,
                    chunk.sheet,
                    chunk.start,
                    chunk.end,
                ),
            )
            ids.append(int(cur.lastrowid or 0))
            if doc.vectors is not None:
                con.execute(
                    "INSERT INTO chunk_vectors VALUES (?, ?, ?)",
                    (cur.lastrowid, doc.vector_model, doc.vectors[i]),
                )
            if doc.terms is not None:
                con.execute(
                    "INSERT INTO chunk_terms VALUES (?, ?, ?)",
                    (
                        cur.lastrowid,
                        doc.analyzer,
                        _packed_terms(doc.terms[i]),
                    ),
                )
        return ids

    # -- reads ------------------------------------------------------------------------
    _DOC_SELECT = (
        "SELECT d.id, d.source, d.title, d.format, d.content_hash, d.size_bytes, d.version, "
        "d.generation, d.created_at, d.updated_at, "
        "(SELECT group_concat(grp, char(31)) FROM document_acl a WHERE a.document_id=d.id), "
        "(SELECT COUNT(*) FROM chunks c WHERE c.document_id=d.id), d.metadata FROM documents d"
    )

    @staticmethod
    def _doc(row: Any) -> DocumentRow:
        groups = tuple(sorted(str(row[10]).split("\x1f"))) if row[10] else ()
        return DocumentRow(
            int(row[0]),
            str(row[1]),
            str(row[2]),
            str(row[3]),
            str(row[4]),
            int(row[5]),
            int(row[6]),
            int(row[7]),
            str(row[8]),
            str(row[9]),
            groups,
            int(row[11]),
            json.loads(str(row[12])),
        )

    def documents(self) -> list[DocumentRow]:
        return [self._doc(r) for r in self.con.execute(self._DOC_SELECT + " ORDER BY d.id")]

    def document(self, doc_id: int) -> DocumentRow | None:
        row = self.con.execute(self._DOC_SELECT + " WHERE d.id=?", (doc_id,)).fetchone()
        return None if row is None else self._doc(row)

    def document_by_source(self, source: str) -> DocumentRow | None:
        row = self.con.execute(self._DOC_SELECT + " WHERE d.source=?", (source,)).fetchone()
        return None if row is None else self._doc(row)

    def fingerprints(self, prefix: str = "") -> dict[str, tuple[int, str, tuple[str, ...]]]:
        """source -> (id, content hash, groups) for documents whose source starts with prefix."""
        rows = self.con.execute(
            "SELECT d.id, d.source, d.content_hash, (SELECT group_concat(grp, char(31)) "
            "FROM document_acl a WHERE a.document_id=d.id) FROM documents d "
            "WHERE substr(d.source, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return {
            str(r[1]): (int(r[0]), str(r[2]), tuple(sorted(r[3].split("\x1f"))) if r[3] else ())
            for r in rows
        }

    _CHUNK_SELECT = (
        "SELECT c.id, c.document_id, c.ordinal, c.text, c.heading_path, c.page, c.slide, "
        "c.sheet, c.start_char, c.end_char, d.title, d.source, "
        "(SELECT group_concat(grp, char(31)) FROM document_acl a WHERE a.document_id=d.id) "
        "FROM chunks c JOIN documents d ON d.id = c.document_id"
    )

    @staticmethod
    def _chunk(r: Any) -> ChunkRow:
        groups = tuple(sorted(str(r[12]).split("\x1f"))) if r[12] else ()
        return ChunkRow(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            str(r[3]),
            tuple(json.loads(str(r[4]))),
            r[5],
            r[6],
            r[7],
            int(r[8]),
            int(r[9]),
            str(r[10]),
            str(r[11]),
            groups,
        )

    def chunks_of(self, doc_ids: Sequence[int]) -> Iterator[ChunkRow]:
        for start in range(0, len(doc_ids), 500):
            part = list(doc_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            yield from (
                self._chunk(r)
                for r in self.con.execute(
                    f"{self._CHUNK_SELECT} WHERE c.document_id IN ({marks}) "
                    "ORDER BY c.document_id, c.ordinal",
                    part,
                )
            )

    def chunk_terms(self, chunk_ids: Sequence[int], analyzer: str) -> dict[int, tuple[str, ...]]:
        """The stored analyzed fields of these chunks, when ``analyzer`` made them."""
        out: dict[int, tuple[str, ...]] = {}
        ids = list(chunk_ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = self.con.execute(
                f"SELECT chunk_id, fields FROM chunk_terms WHERE analyzer = ? "
                f"AND chunk_id IN ({','.join('?' * len(part))})",
                (analyzer, *part),
            )
            out.update((int(r[0]), _unpacked_terms(r[1])) for r in rows)
        return out

    def all_chunks(self) -> Iterator[ChunkRow]:
        yield from (self._chunk(r) for r in self.con.execute(self._CHUNK_SELECT))

    def chunks_by_id(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        for start in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for r in self.con.execute(f"{self._CHUNK_SELECT} WHERE c.id IN ({marks})", part):
                row = self._chunk(r)
                out[row.id] = row
        return out

    def is_empty(self) -> bool:
        """Whether no document was ingested (cheap at any size)."""
        return self.con.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is None

    def counts(self) -> dict[str, int]:
        one = self.con.execute
        return {
            "documents": int(one("SELECT COUNT(*) FROM documents").fetchone()[0]),
            "chunks": int(one("SELECT COUNT(*) FROM chunks").fetchone()[0]),
            "vectors": int(one("SELECT COUNT(*) FROM chunk_vectors").fetchone()[0]),
            "users": int(one("SELECT COUNT(*) FROM users").fetchone()[0]),
        }

    # -- users and groups -------------------------------------------------------------
    def set_user(self, name: str, groups: Iterable[str]) -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute(
                "INSERT OR IGNORE INTO users (name, created_at) VALUES (?, ?)", (name, _now())
            )
            con.execute("DELETE FROM user_groups WHERE user=?", (name,))
            con.executemany(
                "INSERT INTO user_groups VALUES (?, ?)", [(name, g) for g in sorted(set(groups))]
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def remove_user(self, name: str) -> bool:
        return self.con.execute("DELETE FROM users WHERE name=?", (name,)).rowcount > 0

    def user_groups(self, name: str) -> tuple[str, ...] | None:
        if self.con.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone() is None:
            return None
        rows = self.con.execute("SELECT grp FROM user_groups WHERE user=? ORDER BY grp", (name,))
        return tuple(r[0] for r in rows)

    def users(self) -> list[tuple[str, tuple[str, ...]]]:
        names = [r[0] for r in self.con.execute("SELECT name FROM users ORDER BY name")]
        return [(n, self.user_groups(n) or ()) for n in names]

    # -- access rules -----------------------------------------------------------------
    def acl_rules(self) -> dict[str, tuple[str, ...]]:
        """Rule path -> the groups that may read under it (empty = public on purpose)."""
        rows = self.con.execute(
            "SELECT r.path, (SELECT group_concat(grp, char(31)) FROM acl_rule_groups g "
            "WHERE g.path = r.path) FROM acl_rules r"
        )
        return {str(r[0]): _split(r[1]) for r in rows}

    def documents_under(self, paths: Iterable[str]) -> list[DocumentRow]:
        """Documents whose source is a path, lies under it (``/``) or is a record of it
        (``#``): every document a rule on one of ``paths`` may cover."""
        found: dict[int, DocumentRow] = {}
        for path in paths:
            folder = path if path.endswith("/") else path + "/"
            rows = self.con.execute(
                self._DOC_SELECT + " WHERE d.source = ? OR substr(d.source, 1, ?) = ? "
                "OR substr(d.source, 1, ?) = ?",
                (path, len(folder), folder, len(path) + 1, path + "#"),
            )
            for row in rows:
                doc = self._doc(row)
                found[doc.id] = doc
        return [found[i] for i in sorted(found)]

    def write_acl(
        self,
        rules: Mapping[str, Sequence[str]],
        removed: Iterable[str],
        documents: Mapping[int, Sequence[str]],
    ) -> int:
        """Set ``rules``, delete the ``removed`` ones and give ``documents`` their new groups,
        in ONE transaction; the documents are recorded as changes (generation + 1) so the
        lexical index re-indexes them. Returns the catalog generation."""
        con = self.con
        now = _now()
        con.execute("BEGIN IMMEDIATE")
        try:
            for path, groups in rules.items():
                con.execute(
                    "INSERT INTO acl_rules VALUES (?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET updated_at=excluded.updated_at",
                    (path, now, now),
                )
                con.execute("DELETE FROM acl_rule_groups WHERE path=?", (path,))
                con.executemany(
                    "INSERT INTO acl_rule_groups VALUES (?, ?)",
                    [(path, g) for g in sorted(set(groups))],
                )
            con.executemany("DELETE FROM acl_rules WHERE path=?", [(p,) for p in removed])
            if documents:
                generation = self.generation() + 1
                con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(generation),))
                for doc_id, groups in documents.items():
                    con.execute("DELETE FROM document_acl WHERE document_id=?", (doc_id,))
                    con.executemany(
                        "INSERT INTO document_acl VALUES (?, ?)",
                        [(doc_id, g) for g in sorted(set(groups))],
                    )
                    con.execute("INSERT INTO changes VALUES (?, ?)", (generation, doc_id))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return self.generation()

    def group_usage(self) -> dict[str, tuple[int, int]]:
        """Group -> (rules that name it, documents it may read)."""
        usage: dict[str, list[int]] = {}
        for column, sql in (
            (0, "SELECT grp, COUNT(*) FROM acl_rule_groups GROUP BY grp"),
            (1, "SELECT grp, COUNT(*) FROM document_acl GROUP BY grp"),
        ):
            for grp, count in self.con.execute(sql):
                usage.setdefault(str(grp), [0, 0])[column] = int(count)
        return {g: (c[0], c[1]) for g, c in usage.items()}
