"""The catalog's audit-log table (``audit_log``) as typed methods.

The table is append-only: triggers refuse ``UPDATE`` and ``DELETE``, and each row holds the
hash of the row before it (:mod:`kotae.security.audit` computes the hashes and verifies the
chain). An append reads the head and inserts the next row in one ``BEGIN IMMEDIATE``
transaction, so concurrent writers (the service and the command line) never fork the chain.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kotae.index.catalog_vectors import transaction

COLUMNS = ("seq", "at", "actor", "action", "target", "detail", "prev_hash", "hash")


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(COLUMNS, values, strict=True))
    row["detail"] = json.loads(row["detail"])
    return row


class AuditTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    def audit_append(
        self, entry: Mapping[str, Any], seal: Callable[[dict[str, Any]], str], genesis: str
    ) -> dict[str, Any]:
        """Append ``entry`` (``at``, ``actor``, ``action``, ``target``, ``detail``) after the
        current head: ``seq`` and ``prev_hash`` are set here, ``hash`` is ``seal(row)``.
        Returns the stored row."""
        with transaction(self.con):
            head = self.con.execute(
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
            self.con.execute(
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
