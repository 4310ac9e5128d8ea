"""``kotae log list|show|prune``: the query log of a knowledge base.

Who reads decides what is shown: without ``--as``/``--all`` the reader is public. An entry
the reader may not read (not their own as ``--as USER``, or made with more access than the
reader has now) is listed without its text (see :mod:`kotae.querylog`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kotae.cli.common import JsonOption, KbOption, console, fail, print_json
from kotae.kb import Access, KnowledgeBase, open_kb
from kotae.querylog import LogEntry, get_entry, list_entries, prune

log_app = typer.Typer(help="The query log: every search and question.", no_args_is_help=True)

ReaderOption = Annotated[
    str | None,
    typer.Option("--as", help="Read as this user: their own entries' text is shown."),
]
AllOption = Annotated[bool, typer.Option("--all", help="Administrator: show every entry's text.")]


def _reader(base: KnowledgeBase, as_user: str | None, everything: bool) -> Access:
    if as_user is not None and everything:
        fail("use only one of --as and --all")
    return base.access_for(user=as_user, everything=everything)


def _access_label(entry: LogEntry) -> str:
    access = entry.access
    if entry.redacted:
        return "hidden"
    if not access:
        return "unknown"
    if access.get("all"):
        return "all"
    groups = [g for g in access.get("groups") or () if not g.startswith("user:")]
    return ",".join(groups) if groups else "public"


@log_app.command("list")
def list_(
    limit: Annotated[
        int, typer.Option("-n", "--limit", min=1, help="How many, newest first.")
    ] = 20,
    kind: Annotated[str | None, typer.Option("--kind", help="search, ask, chat or eval.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="ok, no_evidence or error.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
    as_user: ReaderOption = None,
    everything: AllOption = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """List logged searches and questions, newest first. Entries the reader may not read
    are listed without their question (shown as "(hidden)").

    Example: kotae log list --kind ask --status error --all
    """
    if kind not in (None, "search", "ask", "chat", "eval"):
        fail(f"unknown --kind {kind!r}: use search, ask, chat or eval")
    if status not in (None, "ok", "no_evidence", "error"):
        fail(f"unknown --status {status!r}: use ok, no_evidence or error")
    with open_kb(kb) as base:
        entries = list_entries(
            base.catalog,
            limit=limit,
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            user=user,
            reader=_reader(base, as_user, everything),
        )
    if json_out:
        print_json([e.to_dict() for e in entries])
        return
    table = Table(box=None)
    for column in ("id", "time", "kind", "status", "user", "access", "question", "ms"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.id),
            (e.created_at or "")[:19],
            e.kind,
            e.status,
            e.user or "-",
            escape(_access_label(e)),
            "(hidden)" if e.redacted else escape(e.question[:50]),
            f"{e.timings.get('total_ms', 0):.0f}",
        )
    console.print(table)


@log_app.command()
def show(
    entry_id: Annotated[int, typer.Argument(help="The id from `kotae log list`.")],
    as_user: ReaderOption = None,
    everything: AllOption = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Show one logged request: retrieved chunks, answer, citations, usage, timings (the
    prompt too with --json). Its text is shown only to a reader who may read it.

    Example: kotae log show 42 --as yamada
    """
    with open_kb(kb) as base:
        entry = get_entry(base.catalog, entry_id, reader=_reader(base, as_user, everything))
    if entry is None:
        fail(f"no log entry {entry_id}: see `kotae log list`")
    if json_out:
        print_json(entry.to_dict())
        return
    console.print(
        f"[bold]#{entry.id}[/bold] {entry.created_at} {entry.kind} [bold]{entry.status}[/bold]"
    )
    if entry.redacted:
        console.print(
            "(text hidden: another user's entry, or made with access this reader lacks; "
            "read it with --as that user or --all)"
        )
    for label, value in (
        ("user", entry.user),
        ("access", _access_label(entry)),
        ("question", entry.question),
        ("query", entry.query if entry.query != entry.question else None),
        ("mode", entry.mode),
        ("generator", entry.generator),
        ("error", entry.error),
    ):
        if value:
            console.print(f"{label}: {escape(str(value))}")
    _print_text(entry)


def _print_text(entry: LogEntry) -> None:
    if entry.retrieved:
        hits = ", ".join(
            f"{r['rank']}:chunk {r['chunk_id']} ({r['score']:.3f})" for r in entry.retrieved
        )
        console.print(f"retrieved: {hits}")
    if entry.answer:
        console.print("answer:")
        console.print(escape(entry.answer))
    if entry.citations:
        cited = ", ".join(f"[{c['number']}] {c['title']}" for c in entry.citations)
        console.print(f"citations: {escape(cited)}")
    if entry.usage:
        console.print(f"usage: {entry.usage}")
    if entry.timings:
        console.print("timings: " + ", ".join(f"{k} {v:.1f}" for k, v in entry.timings.items()))


@log_app.command("prune")
def prune_(
    keep_days: Annotated[
        int | None,
        typer.Option("--keep-days", min=1, help="Default: [log] keep_days of kotae.toml."),
    ] = None,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Delete the log entries older than --keep-days (or [log] keep_days).

    Example: kotae log prune --keep-days 90
    """
    with open_kb(kb) as base:
        days = keep_days or base.settings.log.keep_days
        if days is None:
            fail("no retention set: give --keep-days N or set [log] keep_days in kotae.toml")
        deleted = prune(base.catalog, days)
    if json_out:
        print_json({"deleted": deleted, "keep_days": days})
    else:
        console.print(f"deleted {deleted} log entries older than {days} days")
