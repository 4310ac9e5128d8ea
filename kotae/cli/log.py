"""``kotae log list|show|prune``: the query log of a knowledge base.

Who reads decides what is shown: without ``--as``/``--all`` the reader is public. An entry
the reader may not read (not their own as ``--as USER``, or made with more access than the
reader has now) is listed without its text (see :mod:`kotae.querylog`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import (
    JsonOption,
    KbOption,
    console,
    fail,
    print_json,
    print_table,
    show_time,
)
from kotae.index.catalog import DocumentRow
from kotae.kb import Access, KnowledgeBase, open_kb
from kotae.messages import header, t
from kotae.querylog import LogEntry, get_entry, list_entries, prune

log_app = typer.Typer(help="The query log: every search and question.", no_args_is_help=True)

ReaderOption = Annotated[
    str | None,
    typer.Option(
        "--as", metavar="USER", help="Read as this user: their own entries' text is shown."
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Administrator: show every entry's text.")]


def _reader(base: KnowledgeBase, as_user: str | None, everything: bool) -> Access:
    if as_user is not None and everything:
        fail(t("log_as_or_all"))
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


_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``30m``, ``24h``, ``7d``, ``2w``), a date
    (``2026-04-01``: its local midnight) or an ISO time (``2026-04-01T09:00``, local
    unless it carries a zone: ``...+09:00``, ``...Z``)."""
    value = text.strip()
    duration = _DURATION.fullmatch(value.lower())
    if duration:
        amount, unit = int(duration.group(1)), _UNITS[duration.group(2)]
        return (now or datetime.now().astimezone()) - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(t("log_bad_since", text=text))
    return moment if moment.tzinfo is not None else moment.astimezone()


@log_app.command("list")
def list_(
    limit: Annotated[
        int, typer.Option("-n", "--limit", min=1, metavar="N", help="How many, newest first.")
    ] = 20,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only entries from then on: a duration back from now (30m, 24h, 7d, 2w), "
            "a date (2026-04-01, local midnight) or an ISO time (2026-04-01T09:00+09:00; "
            "local time without a zone).",
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", metavar="KIND", help="search, ask, chat or eval.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", metavar="STATUS", help="ok, no_evidence or error.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", metavar="USER", help="Only this user's.")
    ] = None,
    as_user: ReaderOption = None,
    everything: AllOption = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """List logged searches and questions, newest first. Entries the reader may not read
    are listed without their question (shown as "(hidden)").

    Times are shown in the local time zone, with its offset.

    Example: kotae log list --kind ask --status error --since 7d --all
    """
    after = None if since is None else parse_since(since)
    if kind not in (None, "search", "ask", "chat", "eval", "proxy"):
        choices = "search, ask, chat, eval, proxy"
        fail(t("log_bad_choice", option="--kind", value=kind, choices=choices))
    if status not in (None, "ok", "no_evidence", "error"):
        fail(t("log_bad_choice", option="--status", value=status, choices="ok, no_evidence, error"))
    with open_kb(kb) as base:
        entries = list_entries(
            base.catalog,
            limit=limit,
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            user=user,
            reader=_reader(base, as_user, everything),
            since=after,
        )
    if json_out:
        print_json([e.to_dict() for e in entries])
        return
    print_table(
        ("id", "time", "kind", "status", "user", "access", "question", "ms"),
        (
            (
                str(e.id),
                show_time(e.created_at),
                e.kind,
                e.status,
                e.user or "-",
                _access_label(e),
                "(hidden)" if e.redacted else e.question,
                f"{e.timings.get('total_ms', 0):.0f}",
            )
            for e in entries
        ),
    )


@log_app.command()
def show(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `kotae log list`.")],
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
        reader = _reader(base, as_user, everything)
        entry = get_entry(base.catalog, entry_id, reader=reader)
        if entry is None:
            fail(t("log_no_entry", id=entry_id))
        ids = {int(r["document_id"]) for r in entry.retrieved if r.get("document_id") is not None}
        docs = {i: doc for i in ids if (doc := base.document(i, reader)) is not None}
    if json_out:
        print_json(entry.to_dict())
        return
    console.print(
        f"[bold]#{entry.id}[/bold] {show_time(entry.created_at)} {entry.kind} "
        f"[bold]{entry.status}[/bold]"
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
            console.print(f"{header(label)}: {escape(str(value))}")
    _print_text(entry, docs)


def _print_text(entry: LogEntry, docs: dict[int, DocumentRow]) -> None:
    """The entry's text; each retrieved chunk named by its document's title and source
    when the reader may still read that document."""
    if entry.retrieved:
        console.print(f"{header('retrieved')}:")
    for r in entry.retrieved:
        doc = docs.get(int(r.get("document_id") or -1))
        named = (
            f"{doc.title} ({doc.source})"
            if doc is not None
            else f"document {r.get('document_id', '?')} (removed, or not readable now)"
        )
        console.print(
            f"  {r['rank']}. {escape(named)}  [dim]{header('chunk')} {r['chunk_id']} · "
            f"{header('score')} {r['score']:.3f}[/dim]"
        )
    if entry.answer:
        console.print(f"{header('answer')}:")
        console.print(escape(entry.answer))
    if entry.citations:
        cited = ", ".join(f"[{c['number']}] {c['title']}" for c in entry.citations)
        console.print(f"{header('citations')}: {escape(cited)}")
    if entry.usage:
        console.print(f"{header('usage')}: {entry.usage}")
    if entry.timings:
        console.print(
            f"{header('timings')}: " + ", ".join(f"{k} {v:.1f}" for k, v in entry.timings.items())
        )


@log_app.command("prune")
def prune_(
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days", min=1, metavar="DAYS", help="Default: [log] keep_days of kotae.toml."
        ),
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
            fail(t("log_no_retention"))
        deleted = prune(base.catalog, days)
    if json_out:
        print_json({"deleted": deleted, "keep_days": days})
    else:
        console.print(t("log_pruned", n=deleted, days=days))
