"""``kotae audit``: verify and export the append-only, hash-chained audit log."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import JsonOption, KbOption, check_output, console, fail, print_json
from kotae.cli.log import parse_since
from kotae.kb import open_kb
from kotae.messages import t
from kotae.security.audit import (
    Anchor,
    anchor_path,
    export_rows,
    parse_export,
    read_anchor,
    verify,
)

audit_app = typer.Typer(
    help="The audit log: logins, keys, users, access rules, documents, settings and every "
    "query, each entry chained to the one before.",
    no_args_is_help=True,
)

AnchorOption = Annotated[
    Path | None,
    typer.Option(
        "--anchor",
        metavar="FILE",
        help="An anchor saved outside the knowledge base (`kotae audit head`, or [audit] "
        "anchor_file): also catches entries removed from the end.",
    ),
]


@audit_app.command("verify")
def audit_verify(
    anchor: AnchorOption = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            metavar="EXPORT",
            help="Verify a JSON-lines export (kotae audit export) instead of the knowledge "
            "base's log.",
        ),
    ] = None,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """Recompute the chain; name the first entry that was edited, inserted, deleted or
    moved. Exits 1 when the log does not hold. Without --anchor, [audit] anchor_file is used
    when set.

    Example: kotae audit verify --anchor /secure/kotae-audit-head.json
    """
    saved: Anchor | None = None
    if anchor is not None:
        saved = _anchor(anchor)
    if file is not None:
        try:
            rows = parse_export(file.read_text(encoding="utf-8").splitlines())
        except (OSError, ValueError) as exc:
            fail(t("audit_bad_export", path=str(file), reason=str(exc)))
        result = verify(rows, saved)
    else:
        with open_kb(kb) as base:
            if saved is None:
                configured = anchor_path(base)
                if configured is not None and configured.exists():
                    saved = _anchor(configured)
            result = verify(base.catalog.audit_rows(), saved)
    if json_out:
        print_json(result.to_dict())
    elif result.ok:
        head = result.head
        console.print(
            t(
                "audit_ok",
                n=result.checked,
                seq=head.seq if head else 0,
                hash=head.hash[:16] if head else "-",
            )
            + (t("audit_anchored") if saved is not None else "")
        )
    else:
        console.print(
            t(
                "audit_bad",
                n=result.checked,
                seq=result.bad_seq if result.bad_seq else "-",
                position=(result.bad_position or 0) + 1,
                reason=escape(result.reason),
            ),
            soft_wrap=True,
        )
    if not result.ok:
        raise typer.Exit(1)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _anchor(path: Path) -> Anchor:
    try:
        return read_anchor(path)
    except (OSError, ValueError) as exc:
        fail(t("audit_bad_anchor", path=str(path), reason=str(exc)))


@audit_app.command("head")
def audit_head(kb: KbOption = None) -> None:
    """Print the chain's head (sequence number and hash) as JSON: keep it outside the
    knowledge base and pass it to `kotae audit verify --anchor`.

    Example: kotae audit head > /secure/kotae-audit-head.json
    """
    with open_kb(kb) as base:
        row = base.catalog.audit_head()
    print_json(
        {"seq": 0, "hash": None, "at": None}
        if row is None
        else {"seq": row["seq"], "hash": row["hash"], "at": row["at"]}
    )


@audit_app.command("export")
def audit_export(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only entries made since: 30m, 24h, 7d, 2w, a date (2026-12-01) or a time.",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="jsonl (default) or csv.")
    ] = "jsonl",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write to FILE (default: stdout)."),
    ] = None,
    kb: KbOption = None,
) -> None:
    """Write the audit log out, oldest first, with each entry's hashes (a JSON-lines export
    of the whole log can be checked later with `kotae audit verify --file`).

    Example: kotae audit export --since 7d --format csv --out audit.csv
    """
    if fmt not in ("jsonl", "csv"):
        fail(t("audit_bad_format", format=fmt))
    check_output(out, "--out")
    after = None if since is None else _utc(parse_since(since))
    with open_kb(kb) as base:
        chunks = export_rows(base.catalog.audit_rows(after), fmt)
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
            return
        tmp = out.with_name(f".{out.name}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
        tmp.replace(out)
    console.print(t("wrote", path=escape(str(out))))
