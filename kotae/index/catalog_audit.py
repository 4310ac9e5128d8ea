"""The catalog's audit-log table (``audit_log``) as typed methods.

The table is append-only: triggers refuse ``UPDATE`` and ``DELETE``, and each row holds the
hash of the row before it (:mod:`kotae.security.audit` computes the hashes and verifies the
chain). An append reads the head and inserts the next row in one ``BEGIN IMMEDIATE``
transaction, so concurrent writers (the service and the command line) never fork the chain.
The catalog's connection is shared by threads (an evaluation run's workers): appends take
a lock of their own, one at a time per catalog, and an append made while the connection is
already inside a transaction (another writer's) joins it through a savepoint. (A second
connection for appends would make the shared one's open reads stale: its next write would
fail with "database is locked".)
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kotae.index.catalog_vectors import transaction

COLUMNS = ("seq", "at", "actor", "action", "target", "detail", "prev_hash", "hash")


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(COLUMNS, values, strict=True))
    row["detail"] = json.loads(row["detail"])
    return row


_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_of(con: sqlite3.Connection) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(con), threading.Lock())


@contextmanager
def _appending(con: sqlite3.Connection) -> Iterator[None]:
    """One append at a time on ``con``: its own ``BEGIN IMMEDIATE`` transaction, or a
    savepoint inside the transaction the connection is already in."""
    with _lock_of(con):
        if not con.in_transaction:
            with transaction(con):
                yield
            return
        con.execute("SAVEPOINT audit_append")
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK TO audit_append")
            con.execute("RELEASE audit_append")
            raise
        con.execute("RELEASE audit_append")


class AuditTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    def close_audit(self) -> None:
        with _LOCKS_GUARD:
            _LOCKS.pop(id(self.con), None)

    def audit_append(
        self, entry: Mapping[str, Any], seal: Callable[[dict[str, Any]], str], genesis: str
    ) -> dict[str, Any]:
        """Append ``entry`` (``at``, ``actor``, ``action``, ``target``, ``detail``) after the
        current head: ``seq`` and ``prev_hash`` are set here, ``hash`` is ``seal(row)``.
        Returns the stored row."""
        con = self.con
        with _appending(con):
            head = con.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            row: dict[str, Any] = {
                "seq": 1 if head is None else int(head[0]) + 1,
                "at": entry["at"],
                "actor": entry["actor"],
                "action": entry["action"],
                "target": entry["target"],
                "detail": dict(entry["detail"]),
                "prev_hash": genesis if head is None else str(head[1]),
            }
            row["hash"] = seal(row)
            con.execute(
                f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in COLUMNS)})",
                tuple(
                    json.dumps(row[c], ensure_ascii=False, sort_keys=True)
                    if c == "detail"
                    else row[c]
                    for c in COLUMNS
                ),
            )
        return row

    def audit_rows(self, since: str | None = None) -> Iterator[dict[str, Any]]:
        """Every row in ``seq`` order (``since``: made at or after that ISO time)."""
        if since is None:
            cursor = self.con.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq")
        else:
            cursor = self.con.execute(
                f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE at >= ? ORDER BY seq",
                (since,),
            )
        for values in cursor:
            yield _row(values)

    def audit_head(self) -> dict[str, Any] | None:
        """The last row, or None when the log is empty."""
        values = self.con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if values is None else _row(values)
