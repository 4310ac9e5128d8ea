"""The audit log: who did what, when, with which access; append-only and hash-chained.

Each entry holds the SHA-256 of the one before it (``prev_hash``) and its own hash over
its sequence number, time, actor, action, target, detail and ``prev_hash``
(:func:`entry_hash`). :func:`verify` recomputes the chain and names the first entry that
does not hold: an edited entry (its hash no longer matches), a deleted or inserted one
(a gap or a repeat in the sequence, or a ``prev_hash`` that is not the previous entry's
hash), a reordering (both). Deleting the last entries leaves a shorter chain that is still
whole: an *anchor*, the head (sequence number and hash) kept outside the knowledge base
(``[audit] anchor_file``, rewritten after every entry, or ``kotae audit head`` saved
elsewhere), catches that too. Someone who can rewrite the whole database can also rewrite
the whole chain: the anchor, or an export kept elsewhere, is what shows it.

What is recorded (``action``): ``auth.failed`` and ``key.used`` (a login: the first use of
a key in a minute), ``key.created``, ``key.revoked``, ``user.set`` (groups and role),
``user.removed``, ``acl.set``, ``acl.removed``, ``documents.ingested``,
``documents.uploaded``, ``documents.removed``, ``service.started`` (with the hash of the
settings and the models) and ``config.changed`` (the settings' hash differs from the last
one recorded), and one ``query.<kind>`` per search, question, chat or passthrough: who,
with which access, when, the documents returned and the query-log entry. Queries are not
copied here (the query log holds them, masked); every text that is recorded is masked
(:func:`kotae.privacy.pii.mask_pii`).

Entries are never updated or deleted (the table's triggers refuse it); ``kotae audit
export`` writes them out for archiving.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kotae.index.store import Store
    from kotae.kb import Access

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "action", "target", "detail", "prev_hash", "hash")
# detail keys whose values are identifiers, never free text: not masked
_PLAIN_KEYS = frozenset(
    {"log_id", "documents", "key_id", "prefix", "config_sha256", "status", "job", "kind", "n"}
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def cli_actor() -> str:
    """The actor of a command-line change: ``cli:<the operating-system user>``."""
    try:
        name = getpass.getuser()
    except Exception:
        name = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{name}"


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers: every field but ``hash``, as sorted compact JSON."""
    body = {name: row[name] for name in FIELDS if name != "hash"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def _masked(value: Any, key: str = "") -> Any:
    if key in _PLAIN_KEYS:
        return value
    if isinstance(value, str):
        from kotae.privacy.pii import mask_pii

        return mask_pii(value)
    if isinstance(value, Mapping):
        return {str(k): _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, key) for v in value]
    return value


def record(
    store: Store,
    action: str,
    *,
    actor: str | None = None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    anchor_file: str | Path | None = None,
) -> dict[str, Any]:
    """Append one entry (texts masked) and return it; with ``anchor_file``, write the new
    head there (atomically) so that a truncated tail is caught by ``verify``."""
    entry = {
        "at": now(),
        "actor": _masked(actor or cli_actor()),
        "action": action,
        "target": _masked(target),
        "detail": _masked(dict(detail or {})),
    }
    row = store.audit_append(entry, entry_hash, GENESIS)
    if anchor_file:
        write_anchor(Path(anchor_file), row)
    return row


def access_detail(access: Access) -> dict[str, Any]:
    """How an entry records a reader's access (the query log's form)."""
    from kotae.querylog import access_record

    return access_record(access)


def record_query(
    store: Store,
    kind: str,
    access: Access,
    documents: Iterable[int],
    *,
    status: str,
    log_id: int | None = None,
    anchor_file: str | Path | None = None,
) -> dict[str, Any]:
    """One ``query.<kind>`` entry: who (``access.user`` or ``public``/``admin``), with
    which access, the documents returned (ids, first appearance order) and the query-log
    entry."""
    seen: dict[int, None] = {}
    for doc in documents:
        seen.setdefault(int(doc), None)
    actor = access.user or ("admin" if access.groups is None else "public")
    detail: dict[str, Any] = {
        "access": access_detail(access),
        "documents": list(seen),
        "status": status,
    }
    if log_id is not None:
        detail["log_id"] = log_id
    return record(store, f"query.{kind}", actor=actor, detail=detail, anchor_file=anchor_file)


# -- the anchor -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


def write_anchor(path: Path, row: Mapping[str, Any]) -> None:
    """Write the head ``row`` to ``path`` (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"seq": row["seq"], "hash": row["hash"], "at": row["at"]}) + "\n",
        encoding="utf-8",
    )
    os.replace(tmp, path)


def read_anchor(path: Path) -> Anchor:
    """The anchor saved at ``path`` (:class:`ValueError` when it is not one)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    seq, digest = data.get("seq"), data.get("hash")
    if not isinstance(seq, int) or not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"{path} is not an audit anchor (seq and hash)")
    return Anchor(seq, digest)


# -- verification ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Verification:
    """The result of :func:`verify`: ``bad_seq``/``bad_position`` name the first entry that
    does not hold (position = 0-based index in the log as read), ``reason`` says why."""

    ok: bool
    checked: int
    head: Anchor | None
    bad_position: int | None = None
    bad_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": None if self.head is None else self.head.to_dict(),
            "bad_position": self.bad_position,
            "bad_seq": self.bad_seq,
            "reason": self.reason,
        }


def verify(rows: Iterable[Mapping[str, Any]], anchor: Anchor | None = None) -> Verification:
    """Walk the chain from the first entry; stop at the first one that does not hold."""
    previous, expected, checked = GENESIS, 1, 0
    head: Anchor | None = None
    anchored = anchor is None
    for position, row in enumerate(rows):
        seq = row.get("seq")
        reason = ""
        if seq != expected:
            what = "missing" if isinstance(seq, int) and seq > expected else "out of order"
            reason = f"expected entry {expected} here, found {seq}: an entry is {what}"
        elif row.get("prev_hash") != previous:
            reason = "its prev_hash is not the previous entry's hash (deleted, inserted, moved)"
        elif entry_hash(row) != row.get("hash"):
            reason = "its content does not match its hash (edited)"
        elif anchor is not None and seq == anchor.seq:
            if row["hash"] != anchor.hash:
                reason = "it differs from the anchor's hash"
            anchored = True
        if reason:
            bad_seq = seq if isinstance(seq, int) else None
            return Verification(False, checked, head, position, bad_seq, reason)
        previous, expected, checked = str(row["hash"]), expected + 1, checked + 1
        head = Anchor(expected - 1, previous)
    if not anchored:
        assert anchor is not None
        return Verification(
            False,
            checked,
            head,
            checked,
            None,
            f"the log ends at entry {expected - 1} but the anchor names entry {anchor.seq}: "
            "entries were removed from the end",
        )
    return Verification(True, checked, head)


# -- export -------------------------------------------------------------------------------------
def export_rows(rows: Iterable[Mapping[str, Any]], fmt: str) -> Iterator[str]:
    """The rows as JSON lines or CSV (``detail`` as JSON text), chunk by chunk."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({n: row[n] for n in FIELDS}, ensure_ascii=False) + "\n"
        return
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}: jsonl or csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow(
            [
                json.dumps(row[n], ensure_ascii=False, sort_keys=True) if n == "detail" else row[n]
                for n in FIELDS
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def parse_export(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Rows back from a JSON-lines export (to verify a copy kept elsewhere)."""
    return [json.loads(line) for line in lines if line.strip()]


# -- a knowledge base's log ---------------------------------------------------------------------
def anchor_path(kb: Any) -> Path | None:
    """``[audit] anchor_file`` of ``kb`` (relative to the knowledge base's directory)."""
    name = kb.settings.audit.anchor_file
    if not name:
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(kb.path) / path


def record_kb(kb: Any, action: str, **kwargs: Any) -> dict[str, Any] | None:
    """:func:`record` into knowledge base ``kb`` unless ``[audit] enabled = false``."""
    if not kb.settings.audit.enabled:
        return None
    return record(kb.catalog, action, anchor_file=anchor_path(kb), **kwargs)


def record_kb_query(
    kb: Any,
    kind: str,
    access: Access,
    documents: Iterable[int],
    *,
    status: str,
    log_id: int | None = None,
) -> dict[str, Any] | None:
    """:func:`record_query` into ``kb`` unless ``[audit] enabled = false``."""
    if not kb.settings.audit.enabled:
        return None
    return record_query(
        kb.catalog,
        kind,
        access,
        documents,
        status=status,
        log_id=log_id,
        anchor_file=anchor_path(kb),
    )


_CONFIG_KEY = "audit_config_sha256"


def settings_digest(settings: Any) -> str:
    """SHA-256 of the effective settings (secrets included only as their hash)."""
    text = settings.model_dump_json(exclude_none=False)
    return hashlib.sha256(text.encode()).hexdigest()


def record_start(kb: Any, models: Mapping[str, str | None]) -> None:
    """``service.started`` with the settings' digest and the models; ``config.changed``
    first when the digest differs from the one last recorded."""
    if not kb.settings.audit.enabled:
        return
    digest = settings_digest(kb.settings)
    last = kb.catalog.get_meta(_CONFIG_KEY)
    if last is not None and last != digest:
        record_kb(
            kb,
            "config.changed",
            target="kotae.toml",
            detail={"config_sha256": digest, "previous_sha256": last},
        )
    record_kb(kb, "service.started", detail={"config_sha256": digest, "models": dict(models)})
    kb.catalog.set_meta(_CONFIG_KEY, digest)


def record_key(kb: Any, action: str, key: Any, *, actor: str | None = None) -> None:
    """``key.created`` or ``key.revoked`` for API key ``key`` (never the key itself)."""
    detail: dict[str, Any] = {"key_id": key.id, "prefix": key.prefix, "user": key.user}
    if action == "key.created":
        detail.update(name=key.name, expires_at=key.expires_at)
    record_kb(kb, action, actor=actor, target=key.prefix, detail=detail)
