"""``kotae log list|show``: the query log of a knowledge base."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kotae.cli.common import JsonOption, KbOption, console, fail, print_json
from kotae.kb import open_kb
from kotae.querylog import get_entry, list_entries

log_app = typer.Typer(help="The query log: every search and question.", no_args_is_help=True)


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
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """List logged searches and questions, newest first.

    Example: kotae log list --kind ask --status error
    """
    if kind not in (None, "search", "ask", "chat", "eval"):
        fail(f"unknown --kind {kind!r}: use search, ask, chat or eval")
    if status not in (None, "ok", "no_evidence", "error"):
        fail(f"unknown --status {status!r}: use ok, no_evidence or error")
    with open_kb(kb) as base:
        entries = list_entries(
            base.catalog.con,
            limit=limit,
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            user=user,
        )
    if json_out:
        print_json([e.to_dict() for e in entries])
        return
    table = Table(box=None)
    for column in ("id", "time", "kind", "status", "user", "question", "ms"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.id),
            (e.created_at or "")[:19],
            e.kind,
            e.status,
            e.user or "-",
            escape(e.question[:50]),
            f"{e.timings.get('total_ms', 0):.0f}",
        )
    console.print(table)


@log_app.command()
def show(
    entry_id: Annotated[int, typer.Argument(help="The id from `kotae log list`.")],
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Show one logged request: retrieved chunks, prompt, answer, usage, timings."""
    with open_kb(kb) as base:
        entry = get_entry(base.catalog.con, entry_id)
    if entry is None:
        fail(f"no log entry {entry_id}: see `kotae log list`")
    if json_out:
        print_json(entry.to_dict())
        return
    console.print(
        f"[bold]#{entry.id}[/bold] {entry.created_at} {entry.kind} [bold]{entry.status}[/bold]"
    )
    for label, value in (
        ("user", entry.user),
        ("question", entry.question),
        ("query", entry.query if entry.query != entry.question else None),
        ("mode", entry.mode),
        ("generator", entry.generator),
        ("error", entry.error),
    ):
        if value:
            console.print(f"{label}: {escape(str(value))}")
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
