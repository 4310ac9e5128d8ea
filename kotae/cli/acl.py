"""Access commands: ``kotae acl set|list|remove`` and ``kotae groups list``, plus the
reader options (``--as`` / ``--groups`` / ``--all``) that reading commands share."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kotae.acl import AccessChange, file_of, list_groups, rule_for
from kotae.cli.common import (
    JsonOption,
    KbOption,
    console,
    err_console,
    fail,
    print_json,
    print_table,
)
from kotae.kb import Access, KnowledgeBase, open_kb
from kotae.messages import t
from kotae.security.audit import record_kb

acl_app = typer.Typer(
    help="Access rules: which groups may read the documents under a path.",
    no_args_is_help=True,
)
groups_app = typer.Typer(help="Groups: their members and what they may read.", no_args_is_help=True)

AsOption = Annotated[
    str | None, typer.Option("--as", metavar="USER", help="Read as this user (see `kotae users`).")
]
GroupsOption = Annotated[
    str | None,
    typer.Option("--groups", metavar="GROUPS", help="Read as a member of these groups (a,b)."),
]
AllOption = Annotated[bool, typer.Option("--all", help="Administrator: every document.")]
PathsArgument = Annotated[
    list[Path], typer.Argument(help="Files, folders or JSONL records (FILE#ID).")
]


def reader_access(
    base: KnowledgeBase, as_user: str | None, groups: str | None, everything: bool
) -> Access:
    """The reader the options name; none of them: a public reader (as `kotae search`)."""
    if sum(x is not None and x is not False for x in (as_user, groups, everything)) > 1:
        fail(t("one_access_option"))
    group_list = [g for g in (groups or "").split(",") if g.strip()]
    return base.access_for(user=as_user, groups=group_list, everything=everything)


def _label(groups: tuple[str, ...]) -> str:
    return ",".join(groups) or "public"


def print_access_changes(changes: list[AccessChange]) -> None:
    """One line per document whose readers changed."""
    for c in changes:
        console.print(
            t(
                "access_line",
                before=escape(_label(c.before)),
                after=escape(_label(c.after)),
                id=c.document_id,
                source=escape(c.source),
            )
        )


def _sources(paths: list[Path]) -> list[str]:
    """Rule paths as document sources are stored: resolved (``FILE#ID`` kept whole)."""
    return [str(p.resolve()) for p in paths]


@acl_app.command("set")
def acl_set(
    paths: PathsArgument,
    groups: Annotated[
        list[str] | None,
        typer.Option("--groups", metavar="GROUPS", help="Groups that may read (a,b; repeatable)."),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Public on purpose (overrides a rule above).")
    ] = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Set the access rule of each path and apply it now to the documents under it.

    The most specific rule wins: a rule on a file beats one on its folder. Later ingestions
    keep the rule (with or without --acl they never widen access silently).

    Example: kotae acl set ./docs/confidential --groups executives,auditors
    """
    if public == bool(groups):
        fail(t("acl_groups_or_public"))
    for path in paths:
        if not path.exists() and not Path(str(path).split("#")[0]).exists():
            err_console.print(escape(t("acl_path_missing", path=str(path))))
    with open_kb(kb) as base:
        sources = _sources(paths)
        wanted = [] if public else list(groups or ())
        changes = base.set_acl(sources, wanted)
        _audit(base, "acl.set", sources, changes, wanted)
    _report(changes, json_out)


@acl_app.command("remove")
def acl_remove(paths: PathsArgument, json_out: JsonOption = False, kb: KbOption = None) -> None:
    """Remove the access rule of each path; what it covered falls back to the rule above
    (no rule above: public), applied now.

    Example: kotae acl remove ./docs/confidential/press-release.md
    """
    with open_kb(kb) as base:
        sources = _sources(paths)
        changes = base.remove_acl(sources)
        _audit(base, "acl.removed", sources, changes, None)
    _report(changes, json_out)


def _audit(
    base: KnowledgeBase,
    action: str,
    sources: list[str],
    changes: list[AccessChange],
    groups: list[str] | None,
) -> None:
    detail: dict[str, object] = {
        "paths": sources,
        "documents": [c.document_id for c in changes],
    }
    if groups is not None:
        detail["groups"] = groups
    record_kb(base, action, target=",".join(sources), detail=detail)


def _report(changes: list[AccessChange], json_out: bool) -> None:
    if json_out:
        print_json({"changed": [c.to_dict() for c in changes]})
        return
    print_access_changes(changes)
    console.print(t("access_changed", n=len(changes)))


@acl_app.command("list")
def acl_list(json_out: JsonOption = False, kb: KbOption = None) -> None:
    """List the access rules, with how many documents each one decides."""
    with open_kb(kb) as base:
        rules = base.catalog.acl_rules()
        decided: Counter[str] = Counter()
        for d in base.documents():
            path = rule_for(rules, d.source, file_of(d.source, d.format, d.metadata))
            if path is not None:
                decided[path] += 1
    ordered = sorted(rules)
    if json_out:
        print_json(
            [{"path": p, "groups": list(rules[p]), "documents": decided[p]} for p in ordered]
        )
        return
    if not ordered:
        console.print(t("no_access_rules"))
        return
    print_table(
        ("path", "groups", "documents"), ((p, _label(rules[p]), str(decided[p])) for p in ordered)
    )


@groups_app.command("list")
def groups_list(json_out: JsonOption = False, kb: KbOption = None) -> None:
    """List groups with their members, and the rules and documents that name them."""
    with open_kb(kb) as base:
        groups = list_groups(base)
    if json_out:
        print_json([g.to_dict() for g in groups])
        return
    print_table(
        ("group", "members", "rules", "documents"),
        ((g.name, ", ".join(g.members), str(g.rules), str(g.documents)) for g in groups),
    )
