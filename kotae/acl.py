"""Access rules: which groups may read a document, decided by where the document comes from.

A *rule* maps a path to the groups that may read what lies under it: a file, a folder, or
one record ``FILE#ID`` of a JSONL corpus. A rule with no groups makes its path public on
purpose (it overrides a rule on a folder above). A document's groups are those of the
most specific rule that covers its source: the source itself, then (for a record) its
file, then each folder above it. No rule at all: the document is public.

Rules live in the catalog (``acl_rules``), so access belongs to the source and a later
ingestion without ``--acl`` keeps it. ``kotae ingest --acl`` and ``kotae acl set|remove``
change rules, and a change reaches the documents already ingested at once: their
``document_acl`` rows in the same transaction as the rule, then the lexical index by
replaying them from the change log (no file is parsed again); the vector search's mask
reads ``document_acl`` itself.

Group names are normalized wherever they enter (users' groups, ``--acl``, ``--groups``,
rules): NFKC, then case-folded, so ``Sales``, ``sales`` and ``ＳＡＬＥＳ`` are one group.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kotae.errors import AccessError

if TYPE_CHECKING:
    from kotae.kb import KnowledgeBase

PUBLIC = "__public__"  # the ACL term every reader may see (lexical index)
USER_PREFIX = "user:"  # ``user:NAME``: the term only user NAME carries
MAX_GROUP_CHARS = 64
_COMMAS = (",", "、")  # NFKC maps the full-width and half-width forms onto these

Rules = Mapping[str, tuple[str, ...]]  # rule path -> groups (empty = public)


# -- group names ------------------------------------------------------------------------
def fold_group(name: str) -> str:
    """The normal form of a group name: NFKC, case-folded (``user:NAME`` keeps NAME's case)."""
    nfkc = unicodedata.normalize("NFKC", name)
    if nfkc[: len(USER_PREFIX)].casefold() == USER_PREFIX:
        return USER_PREFIX + nfkc[len(USER_PREFIX) :]
    return unicodedata.normalize("NFKC", nfkc.casefold())


def _problem(name: str) -> tuple[str, str] | None:
    """What is wrong with a folded group name (English, Japanese), or None."""
    if not name:
        return "it is empty", "空です"
    if len(name) > MAX_GROUP_CHARS:
        return f"longer than {MAX_GROUP_CHARS} characters", f"{MAX_GROUP_CHARS}文字を超えています"
    if any(c in name for c in _COMMAS):
        return "separate groups with ','", "グループは ',' で区切ってください"
    if any(c.isspace() for c in name):
        return "no spaces allowed", "空白は使えません"
    if any(unicodedata.category(c).startswith("C") for c in name):
        return "no control characters allowed", "制御文字は使えません"
    if name == PUBLIC or name.startswith(USER_PREFIX):
        return (
            f"{PUBLIC!r} and 'user:…' are reserved",
            f"{PUBLIC!r} と 'user:…' は予約されています",
        )
    return None


def check_group(name: str) -> str:
    """``name`` folded, or :class:`AccessError` when it is not a valid group name."""
    folded = fold_group(name.strip())
    problem = _problem(folded)
    if problem is not None:
        raise AccessError(
            f"invalid group name {name!r}: {problem[0]}",
            message_ja=f"グループ名 {name!r} は使えません: {problem[1]}",
        )
    return folded


def parse_groups(values: Iterable[str]) -> tuple[str, ...]:
    """Comma-separated group lists (``--acl a --acl b,c``) -> sorted, folded, unique names."""
    names = set()
    for value in values:
        for piece in value.split(","):
            if not piece.strip() and value.strip():
                raise AccessError(
                    f"empty group name in {value!r}: separate group names with one ','",
                    message_ja=f"{value!r} に空のグループ名があります",
                )
            names.add(check_group(piece))
    return tuple(sorted(names))


# -- rules ------------------------------------------------------------------------------
def rule_path(path: str) -> str:
    """How a rule's path is stored: without a trailing slash (the root stays ``/``)."""
    stripped = path.rstrip("/")
    return stripped or ("/" if path else "")


def file_of(source: str, format: str, metadata: Mapping[str, str]) -> str:
    """The file a document comes from: ``FILE`` for a record ``FILE#ID``, else its source."""
    record_id = metadata.get("id")
    if format == "record" and record_id is not None and source.endswith(f"#{record_id}"):
        return source[: -len(record_id) - 1]
    return source


def candidates(source: str, file: str | None = None) -> Iterator[str]:
    """Rule paths that cover a document, most specific first."""
    yield source
    path = source if file is None else file
    if path != source:
        yield path
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path or "/"


def rule_for(rules: Rules, source: str, file: str | None = None) -> str | None:
    """The path of the most specific rule that covers the document, or None."""
    return next((path for path in candidates(source, file) if path in rules), None)


def groups_for(rules: Rules, source: str, file: str | None = None) -> tuple[str, ...]:
    """The groups that may read the document (empty = public)."""
    path = rule_for(rules, source, file)
    return () if path is None else rules[path]


@dataclass(frozen=True, slots=True)
class AccessChange:
    """A document whose readers changed with a rule."""

    document_id: int
    source: str
    before: tuple[str, ...]  # empty = public
    after: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.document_id,
            "source": self.source,
            "before": list(self.before),
            "after": list(self.after),
        }


def set_rules(kb: KnowledgeBase, paths: Sequence[str], groups: Sequence[str]) -> list[AccessChange]:
    """Set (replace) the rule of each path: ``groups`` may read under it (none = public)."""
    folded = parse_groups(groups)
    if not all(paths):
        raise AccessError("an access rule needs a path", message_ja="規則にはパスが必要です")
    return _change_rules(kb, {rule_path(p): folded for p in paths}, ())


def remove_rules(kb: KnowledgeBase, paths: Sequence[str]) -> list[AccessChange]:
    """Remove the rule of each path; what it covered falls back to the next rule up."""
    wanted = [rule_path(p) for p in paths]
    rules = kb.catalog.acl_rules()
    missing = [p for p in wanted if p not in rules]
    if missing:
        raise AccessError(
            f"no access rule for {missing[0]}: see `kotae acl list`",
            message_ja=f"{missing[0]} のアクセス規則はありません(`kotae acl list` で確認)",
        )
    return _change_rules(kb, {}, wanted)


def _change_rules(kb: KnowledgeBase, changed: Rules, removed: Sequence[str]) -> list[AccessChange]:
    """Write the rules and the new groups of every document they move, in ONE transaction,
    then bring the lexical index up to date (it replays the changed documents)."""
    with kb.write_lock():
        rules = dict(kb.catalog.acl_rules())
        rules.update(changed)
        for path in removed:
            rules.pop(path, None)
        changes = []
        for doc in kb.catalog.documents_under([*changed, *removed]):
            after = groups_for(rules, doc.source, file_of(doc.source, doc.format, doc.metadata))
            if after != doc.groups:
                changes.append(AccessChange(doc.id, doc.source, doc.groups, after))
        kb.catalog.write_acl(changed, removed, {c.document_id: c.after for c in changes})
        if changes:
            kb.sync_indexes()
    return changes


# -- groups -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GroupInfo:
    name: str
    members: tuple[str, ...]  # users
    rules: int  # access rules that name it
    documents: int  # documents it may read that are not public

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "members": list(self.members),
            "rules": self.rules,
            "documents": self.documents,
        }


def list_groups(kb: KnowledgeBase) -> list[GroupInfo]:
    """Every group named by a user, a rule or a document, with its use."""
    members: dict[str, list[str]] = {}
    for user, groups in kb.catalog.users():
        for group in groups:
            members.setdefault(group, []).append(user)
    usage = kb.catalog.group_usage()
    out = []
    for name in sorted(set(members) | set(usage)):
        rules, documents = usage.get(name, (0, 0))
        out.append(GroupInfo(name, tuple(members.get(name, ())), rules, documents))
    return out
