"""The catalog's vector and chunk-map tables, as typed methods (SQL stays in the store).

``chunk_vectors`` holds one float32 blob per chunk, tagged with the embedder's name; the
vector index under ``index/vectors`` is derived from it (see :mod:`kotae.dense`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.int64]
_PART = 500  # ids per IN (...) clause: far below SQLite's variable limit


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls back, so the shared
    connection is never left inside a transaction."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class VectorTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    def vector_ids(self, model: str) -> IdArray:
        """Ids of the chunks that have a vector of ``model``."""
        rows = self.con.execute("SELECT chunk_id FROM chunk_vectors WHERE model=?", (model,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def vectors_of(self, chunk_ids: Sequence[int]) -> tuple[IdArray, npt.NDArray[np.float32]]:
        """The stored vectors of ``chunk_ids`` (those that have one): ids and a matrix."""
        ids: list[int] = []
        vectors: list[npt.NDArray[np.float32]] = []
        for start in range(0, len(chunk_ids), _PART):
            part = list(chunk_ids[start : start + _PART])
            marks = ",".join("?" * len(part))
            for chunk_id, blob in self.con.execute(
                f"SELECT chunk_id, vector FROM chunk_vectors WHERE chunk_id IN ({marks})", part
            ):
                ids.append(int(chunk_id))
                vectors.append(np.frombuffer(blob, dtype=np.float32))
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.array(ids, dtype=np.int64), np.stack(vectors)

    def chunks_without_vector(self, model: str) -> list[tuple[int, str]]:
        """``(chunk id, text)`` of every chunk that has no vector of ``model``."""
        rows = self.con.execute(
            "SELECT c.id, c.text FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v "
            "WHERE v.chunk_id = c.id AND v.model = ?) ORDER BY c.id",
            (model,),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def put_vectors(self, model: str, rows: Sequence[tuple[int, bytes]]) -> None:
        """Store ``(chunk id, float32 blob)`` rows of ``model`` in one transaction."""
        with transaction(self.con):
            self.con.executemany(
                "INSERT OR REPLACE INTO chunk_vectors VALUES (?, ?, ?)",
                [(chunk_id, model, blob) for chunk_id, blob in rows],
            )

    def chunk_document_map(self) -> tuple[IdArray, IdArray]:
        """Every chunk id (ascending) and its document id, as two aligned arrays."""
        rows = self.con.execute("SELECT id, document_id FROM chunks ORDER BY id").fetchall()
        return (
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
        )

    def readable_document_ids(self, groups: Sequence[str]) -> IdArray:
        """Ids of the documents a reader of ``groups`` may read: public ones and those
        shared with one of the groups (ascending)."""
        marks = ",".join("?" * len(groups)) or "NULL"
        rows = self.con.execute(
            "SELECT id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM document_acl a WHERE "
            "a.document_id = d.id) OR EXISTS (SELECT 1 FROM document_acl a WHERE "
            f"a.document_id = d.id AND a.grp IN ({marks})) ORDER BY id",
            list(groups),
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def chunk_ids_by_document(
        self, min_chars: int = 0, document_ids: Sequence[int] | None = None
    ) -> dict[int, list[int]]:
        """document id -> its chunk ids (ascending) of at least ``min_chars`` characters,
        optionally only for ``document_ids``."""
        out: dict[int, list[int]] = {}
        rows = self.con.execute(
            "SELECT id, document_id FROM chunks WHERE length(text) >= ? ORDER BY id", (min_chars,)
        )
        wanted = None if document_ids is None else set(document_ids)
        for chunk_id, document_id in rows:
            if wanted is None or document_id in wanted:
                out.setdefault(int(document_id), []).append(int(chunk_id))
        return out
