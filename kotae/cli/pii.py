"""``kotae pii scan``: personal information (PII) in documents before they are ingested, or in
the chunks of a knowledge base (kotae.privacy.scan). Exit code 0 when the scan ran, findings
or not; 2 for wrong input (a missing path: one line)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kotae.cli.acl import AllOption, AsOption, GroupsOption, reader_access
from kotae.cli.common import JsonOption, KbOption, console, fail, print_json, print_table
from kotae.messages import t
from kotae.privacy import PII_KINDS
from kotae.privacy.scan import ScanResult, scan_kb, scan_paths, totals

pii_app = typer.Typer(
    help="Personal information (個人情報): find it in documents and knowledge bases.",
    no_args_is_help=True,
)


@pii_app.command("scan")
def scan(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files and folders to scan before ingesting them (or use --kb)."),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="List each finding with its context, masked.")
    ] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", metavar="KIND", help=f"Only this kind (repeatable): {', '.join(PII_KINDS)}."
        ),
    ] = None,
    as_user: AsOption = None,
    groups: GroupsOption = None,
    everything: AllOption = False,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Count the personal information (e-mail, phone, My Number, corporate number, card,
    postal code, address, person) in PATHs, read as `kotae ingest` reads them, or with no
    PATH in the chunks of the knowledge base --kb (else $KOTAE_KB) that the reader may read
    (default: a public reader; --all: every document). Findings are never printed: --show gives each
    one's place and its context with the PII replaced by tags ([EMAIL], [PERSON] ...).

    Example: kotae pii scan ./docs --show
    """
    wanted = list(kind) if kind else None
    unknown = sorted(set(wanted or ()) - set(PII_KINDS))
    if unknown:
        fail(t("pii_unknown_kind", kind=", ".join(unknown), kinds=", ".join(PII_KINDS)))
    if paths:
        if kb is not None:
            fail(t("pii_paths_and_kb"))
        results = scan_paths(paths, wanted)
    elif kb is None and not os.environ.get("KOTAE_KB", "").strip():
        fail(t("pii_nothing_to_scan"))
    else:
        from kotae.kb import open_kb

        with open_kb(kb) as base:
            access = reader_access(base, as_user, groups, everything)
            results = scan_kb(base, access, wanted)
    if json_out:
        print_json(
            {
                "documents": [r.to_dict(show) for r in results],
                "totals": dict(sorted(totals(results).items())),
            }
        )
        return
    _print(results, show)


def _label(result: ScanResult) -> str:
    """A file's path; a knowledge-base document's id and source (see `kotae docs show`)."""
    if result.document_id is None:
        return result.source
    return f"{result.document_id} {result.source}"


def _print(results: list[ScanResult], show: bool) -> None:
    print_table(
        ("source", "findings", "kinds"),
        (
            (
                _label(r),
                t("ingest_failed") if r.error else str(r.total),
                r.error or ", ".join(f"{k} {n}" for k, n in sorted(r.counts.items())),
            )
            for r in results
        ),
    )
    if show and any(r.hits for r in results):
        console.print("")
        print_table(
            ("source", "where", "kind", "masked context"),
            ((_label(r), h.where, h.kind, h.context) for r in results for h in r.hits),
        )
    by_kind = totals(results)
    console.print(
        t(
            "pii_summary",
            documents=len(results),
            with_pii=sum(1 for r in results if r.total),
            findings=sum(by_kind.values()),
            failed=sum(1 for r in results if r.error),
        ),
        markup=False,
    )
