"""Knowledge-base commands: init, ingest, search, status, reindex, docs ..."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.cells import cell_len
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from kotae.cli.acl import AllOption, AsOption, GroupsOption, print_access_changes, reader_access
from kotae.cli.common import (
    JsonOption,
    KbOption,
    NewKbOption,
    console,
    err_console,
    fail,
    print_json,
    print_table,
)
from kotae.kb import find_kb_dir, init_kb, open_kb
from kotae.messages import header, t
from kotae.retrieval import SearchResult
from kotae.security.audit import record_kb

if TYPE_CHECKING:
    from kotae.ingest import IngestReport

docs_app = typer.Typer(help="List, show and remove documents.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(ingest)
    app.command()(search)
    app.command()(status)
    app.command()(reindex)


def init(
    directory: Annotated[str | None, typer.Argument(help="Where to create it.")] = None,
    use_case: Annotated[
        str | None,
        typer.Option(
            "--use-case",
            help="Add a commented [use_case] template with KPIs and targets: "
            "knowledge-search, faq-support or drafting.",
        ),
    ] = None,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt",
            help="Encrypt everything it stores (SQLCipher catalog, indexes in memory only) "
            "with the master key of KOTAE_MASTER_KEY, KOTAE_MASTER_KEY_FILE or --key-file: "
            "a passphrase or 64 hex characters (see docs/security.md).",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="With --encrypt: a file holding the master key; its path (never the key) "
            "is recorded in kotae.toml so later commands find it.",
        ),
    ] = None,
    kb: NewKbOption = None,
) -> None:
    """Create a knowledge base (kotae.toml, kotae.db, index/) in DIRECTORY, else in --kb,
    else in $KOTAE_KB, else in the current folder; an existing one is kept.

    Example: kotae init ./kb --use-case knowledge-search
    """
    if directory is not None and not directory.strip():
        fail(t("init_empty_dir"))
    if directory is not None and kb is not None and Path(kb).resolve() != Path(directory).resolve():
        fail(t("init_two_dirs", directory=directory, kb=kb))
    path = Path(directory) if directory is not None else find_kb_dir(kb)
    if key_file is not None and not encrypt:
        fail(t("usage_error", detail="--key-file needs --encrypt"))
    with init_kb(path, use_case=use_case, encrypt=encrypt, key_file=key_file) as created:
        console.print(t("kb_ready", path=escape(str(created.path))))
        if created.encrypted:
            console.print(t("kb_encrypted"))
        if use_case:
            console.print(
                f"use case {use_case!r}: edit the KPIs and targets in "
                f"{escape(str(created.path / 'kotae.toml'))}"
            )


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest.")],
    acl: Annotated[
        list[str] | None,
        typer.Option(
            "--acl",
            help="Groups allowed to read these paths (a,b; repeatable): sets their access "
            "rule (see `kotae acl`). Without --acl the rules already set are kept; "
            "no rule = public.",
        ),
    ] = None,
    sync: Annotated[
        bool,
        typer.Option("--sync", help="Remove documents whose files are gone or now skipped."),
    ] = False,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            help="Only files matching this glob (repeatable), relative to the folder: "
            "'*.pdf', '規程/**'. Replaces [ingest] include.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Skip files and folders matching this glob (repeatable): 'archive/**', "
            "'*.bak'. Replaces [ingest] exclude. OS junk and hidden files are always skipped.",
        ),
    ] = None,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks",
            help="Also read symbolic links that lead outside the folder (refused by default).",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="List each file: added, updated, unchanged, removed, skipped or failed.",
        ),
    ] = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Ingest files and folders; unchanged files are skipped, changed ones replaced.

    Example: kotae ingest ./規程集 --acl 総務部 --sync --exclude 'archive/**'
    """
    groups = list(acl or [])  # validated and folded with the rules (kotae.acl)
    with open_kb(kb) as base, _ingest_progress(not json_out) as (progress, on_total):
        report = base.ingest(
            paths,
            groups=groups,
            sync=sync,
            progress=progress,
            follow_symlinks=follow_symlinks,
            include=include,
            exclude=exclude,
            on_total=on_total,
        )
        summary = report.to_dict()
        detail = {key: summary[key] for key in ("added", "updated", "removed", "chunks")}
        detail.update(paths=[str(p) for p in paths], groups=groups, failed=len(report.failures))
        record_kb(base, "documents.ingested", target=",".join(map(str, paths)), detail=detail)
    if json_out:
        print_json(report.to_dict(verbose=verbose))
    else:
        _print_ingest(report, verbose)
    if report.failures:
        raise typer.Exit(1)


@contextmanager
def _ingest_progress(
    wanted: bool,
) -> Iterator[tuple[Callable[[str, int], None], Callable[[int], None]]]:
    """A bar with n/N files and MB/s on stderr, only when stderr is a terminal (transient:
    nothing of it stays in a log or a pipe)."""
    started = time.monotonic()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[name]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not (wanted and sys.stderr.isatty()),
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None, name="", rate="")

        def progress(source: str, done: int) -> None:
            rate = done / 1e6 / max(time.monotonic() - started, 1e-3)
            name = Path(source.split("#")[0]).name[-40:]
            bar.update(task, advance=1, name=escape(name), rate=f"{rate:.1f} MB/s")

        def on_total(total: int) -> None:
            bar.update(task, total=total)

        yield progress, on_total


def _print_ingest(report: IngestReport, verbose: bool) -> None:
    print_access_changes(report.access)
    if verbose:
        for item in report.outcomes:
            reason = f"  ({escape(item.reason)})" if item.reason else ""
            console.print(f"{item.outcome:<9} {escape(item.source)}{reason}", soft_wrap=True)
    for failure in report.failures:
        err_console.print(
            f"[red]{t('ingest_failed')}[/red] {escape(failure.source)}: {failure.reason}: "
            f"{escape(failure.message)}"
        )
    for path in report.empty:
        err_console.print(
            f"[yellow]{t('warning')}[/yellow]: {t('nothing_to_ingest', path=escape(path))}"
        )
    console.print(
        t(
            "ingest_summary",
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            removed=report.removed,
            skipped=len(report.skipped),
            failed=len(report.failures),
            chunks=report.chunks,
            mb=report.bytes / 1e6,
            seconds=report.seconds,
        )
    )


def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="The question or keywords.")],
    k: Annotated[
        int, typer.Option("-k", "--top", min=1, max=1000, metavar="N", help="Results.")
    ] = 10,
    as_user: Annotated[
        str | None,
        typer.Option("--as", metavar="USER", help="Search as this user (see `kotae users`)."),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option(
            "--groups", metavar="GROUPS", help="Search as a member of these groups (a,b)."
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Administrator: search every document.")
    ] = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Search the knowledge base. Without --as/--groups/--all only public documents are seen.
    On an empty knowledge base it says so and exits 2, as `ask` does.

    Example: kotae search "PCを紛失したときの連絡先" --as yamada
    """
    from kotae.errors import EmptyKnowledgeBaseError, localized
    from kotae.text.language import detect_language

    if sum(x is not None and x is not False for x in (as_user, groups, everything)) > 1:
        fail(t("one_access_option"))
    group_list = [g.strip() for g in (groups or "").split(",") if g.strip()]
    with open_kb(kb) as base:
        access = base.access_for(user=as_user, groups=group_list, everything=everything)
        results = base.search(query, k=k, access=access)
        if not results and base.catalog.is_empty():
            empty = EmptyKnowledgeBaseError(
                f"the knowledge base {base.path} is empty: add documents with `kotae ingest`",
                message_ja=f"ナレッジベース {base.path} に資料がありません。"
                "`kotae ingest` で資料を登録してください。",
            )
            fail(localized(empty, detect_language(query)), code=empty.exit_code)
    if json_out:
        print_json([r.to_dict() for r in results])
        return
    if not results:
        console.print(t("no_results"))
        return
    for r in results:
        _print_result(r)


def _print_result(r: SearchResult) -> None:
    where = f" ({escape(r.location)})" if r.location else ""
    console.print(
        f"[bold]{r.rank}. {escape(r.title)}[/bold]{where}  [dim]{header('score')} "
        f"{r.score:.3f} · {header('doc')} {r.document_id} · {header('chunk')} {r.chunk_id}[/dim]"
    )
    console.print(f"   [cyan]{escape(r.source)}[/cyan]")
    snippet = Text("   " + r.snippet)
    for start, end in r.highlights:
        snippet.stylize("bold yellow", start + 3, end + 3)
    console.print(snippet)


def status(json_out: JsonOption = False, kb: KbOption = None) -> None:
    """Show counts, generations and the analyzer of the knowledge base."""
    with open_kb(kb) as base:
        info = base.status()
    if json_out:
        print_json(info)
        return
    lexical = info["lexical"]
    rows = [
        (t("status_kb"), escape(info["path"])),
        (t("status_documents"), str(info["documents"])),
        (t("status_chunks"), str(info["chunks"])),
        (t("status_generation"), str(info["generation"])),
        (
            t("status_lexical"),
            t(
                "status_lexical_value",
                chunks=lexical["chunks"],
                generation=lexical["generation"],
                analyzer=escape(lexical["analyzer"]),
            ),
        ),
        (t("status_embedder"), escape(info["embedder"] or t("status_no_embedder"))),
    ]
    if info["dense"]:
        rows.append((t("status_vectors"), escape(str(info["dense"]))))
    width = max(cell_len(label) for label, _ in rows)
    for label, value in rows:
        console.print(f"{label}{' ' * (width - cell_len(label))}  {value}")


def reindex(
    vectors: Annotated[
        bool, typer.Option("--vectors", help="Embed chunks that have no vector yet.")
    ] = False,
    kb: KbOption = None,
) -> None:
    """Rebuild the lexical index from the catalog; with --vectors, also embed chunks."""
    with open_kb(kb) as base, base.write_lock():
        base.rebuild_lexical()
        if vectors:
            if not base.dense_enabled:
                fail(t("no_embedder"))
            n = base.dense.embed_missing()
            console.print(t("embedded", n=n))
        console.print(t("reindexed"))


@docs_app.command("list")
def docs_list(
    as_user: AsOption = None,
    groups: GroupsOption = None,
    everything: AllOption = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """List the documents the reader may read (default: a public reader, as `search`).

    Example: kotae docs list --as sato
    """
    with open_kb(kb) as base:
        docs = base.documents(reader_access(base, as_user, groups, everything))
    if json_out:
        print_json(
            [
                {
                    "id": d.id,
                    "source": d.source,
                    "title": d.title,
                    "format": d.format,
                    "groups": list(d.groups),
                    "public": d.public,
                    "chunks": d.chunk_count,
                    "version": d.version,
                    "updated_at": d.updated_at,
                    "content_hash": d.content_hash,
                }
                for d in docs
            ]
        )
        return
    print_table(
        ("id", "title", "format", "groups", "chunks", "source"),
        (
            (
                str(d.id),
                d.title,
                d.format,
                ",".join(d.groups) or "public",
                str(d.chunk_count),
                d.source,
            )
            for d in docs
        ),
    )


@docs_app.command("show")
def docs_show(
    target: Annotated[
        str, typer.Argument(help="Document id (see `kotae docs list`), source path or FILE#id.")
    ],
    as_user: AsOption = None,
    groups: GroupsOption = None,
    everything: AllOption = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Show one document and its chunks, if the reader may read it (default: public).

    Example: kotae docs show 12 --all
    """
    with open_kb(kb) as base:
        access = reader_access(base, as_user, groups, everything)
        found = [d for d in base.find_documents(target) if access.can_read(d.groups)]
        if not found:  # hidden and missing look the same
            fail(t("no_document", target=target))
        if len(found) > 1:
            shown = ", ".join(str(d.id) for d in found[:5])
            more = ", ..." if len(found) > 5 else ""
            fail(t("many_documents", target=target, n=len(found), ids=shown + more))
        doc = found[0]
        chunks = list(base.catalog.chunks_of([doc.id]))
    if json_out:
        print_json(
            {
                "id": doc.id,
                "source": doc.source,
                "title": doc.title,
                "format": doc.format,
                "groups": list(doc.groups),
                "version": doc.version,
                "metadata": doc.metadata,
                "chunks": [
                    {
                        "id": c.id,
                        "ordinal": c.ordinal,
                        "text": c.text,
                        "heading_path": list(c.heading_path),
                        "page": c.page,
                        "slide": c.slide,
                        "sheet": c.sheet,
                        "start": c.start,
                        "end": c.end,
                    }
                    for c in chunks
                ],
            }
        )
        return
    console.print(
        f"[bold]{escape(doc.title)}[/bold]  ({doc.format}, v{doc.version}, "
        f"{escape(','.join(doc.groups) or 'public')})"
    )
    console.print(f"source {escape(doc.source)}")
    for c in chunks:
        loc = " > ".join(c.heading_path)
        console.print(f"[dim]-- chunk {c.id} #{c.ordinal} {escape(loc)}[/dim]")
        console.print(escape(c.text))


@docs_app.command("remove")
def docs_remove(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="Document ids, source paths (a file with all its records FILE#id, a folder "
            "with everything under it) or records FILE#id."
        ),
    ],
    kb: KbOption = None,
) -> None:
    """Remove documents from the knowledge base: all of them, or none if one is not found.

    Example: kotae docs remove 12 ./規程集/旧規程.pdf ./faq.jsonl
    """
    with open_kb(kb) as base:
        ids: list[int] = []
        for target in targets:
            found = base.find_documents(target)
            if not found:
                fail(t("no_document_removed", target=target))
            ids.extend(d.id for d in found)
        removed = base.remove_documents(ids, all_or_nothing=True)
        record_kb(base, "documents.removed", target=",".join(targets), detail={"documents": ids})
    console.print(t("removed_documents", n=removed))
