"""``kotae keys create|list|revoke``: the API keys users call the server with.

A key is shown once, when it is created (on stdout alone, so ``KEY=$(kotae keys create
sato)`` keeps it; the note that it will not be shown again goes to stderr). Only its hash
is stored; listings show its prefix, never the key or the hash (:mod:`kotae.security.auth`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import (
    JsonOption,
    KbOption,
    console,
    err_console,
    fail,
    print_json,
    print_table,
    show_time,
)
from kotae.index.store import Store
from kotae.kb import open_kb
from kotae.messages import t
from kotae.security.audit import record_key
from kotae.security.auth import (
    KEY_START,
    ApiKey,
    create_key,
    find_key,
    get_user,
    list_keys,
    now_utc,
    parse_expiry,
    revoke_key,
)

_LARGEST_ID = 2**63 - 1  # SQLite's largest integer
ResultJson = Annotated[bool, typer.Option("--json", help="Print the key's record as JSON.")]


def register(app: typer.Typer) -> None:
    """Add the ``kotae keys`` group to ``app``."""
    keys_app = typer.Typer(
        help="API keys: create (shown once), list and revoke the keys of users.",
        no_args_is_help=True,
    )
    keys_app.command("create")(keys_create)
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
    app.add_typer(keys_app, name="keys")


def keys_create(
    user: Annotated[str, typer.Argument(metavar="USER", help="Whose key (see `kotae users`).")],
    name: Annotated[
        str,
        typer.Option("--name", metavar="LABEL", help="A label to tell the key apart: laptop."),
    ] = "",
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="WHEN",
            help="Expiry: in 30d, 12h or 90m, or on a date or time (2027-03-31, UTC unless "
            "an offset is given). Default: never.",
        ),
    ] = None,
    json_out: ResultJson = False,
    kb: KbOption = None,
) -> None:
    """Create an API key for USER and print it once: on stdout alone (the key, or with
    --json the key and its record), with a note on stderr that it will not be shown again.

    Example: kotae keys create sato --name laptop --expires 90d
    """
    expires_at = None if expires is None else parse_expiry(expires)  # checked first
    with open_kb(kb) as base:
        secret, key = create_key(base.catalog, user, name=name.strip(), expires_at=expires_at)
        record_key(base, "key.created", key)
    if json_out:
        print_json({"key": secret, **key.to_dict()})
    else:
        sys.stdout.write(secret + "\n")
        sys.stdout.flush()
    err_console.print(
        t(
            "key_created",
            id=key.id,
            prefix=key.prefix,
            user=escape(key.user),
            expires=show_time(key.expires_at) if key.expires_at else t("never"),
        )
    )


def keys_list(
    user: Annotated[
        str | None, typer.Option("--user", metavar="USER", help="Only this user's keys.")
    ] = None,
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """List API keys (never the keys themselves): prefix, user, label, state (valid, expired
    or revoked) and times.

    Example: kotae keys list --user sato
    """
    now = now_utc()
    with open_kb(kb) as base:
        if user is not None and get_user(base.catalog, user) is None:
            fail(t("unknown_user", name=user))
        keys = list_keys(base.catalog, user)
    if json_out:
        print_json([k.to_dict(now) for k in keys])
        return
    if not keys:
        console.print(t("no_keys"))
        return
    columns = ("id", "prefix", "user", "name", "state", "created", "expires", "last used")
    print_table(
        (*columns, "revoked"),
        (
            (
                str(k.id),
                k.prefix,
                k.user,
                k.name,
                k.state(now),
                show_time(k.created_at),
                show_time(k.expires_at),
                show_time(k.last_used_at),
                show_time(k.revoked_at),
            )
            for k in keys
        ),
    )


def keys_revoke(
    target: Annotated[
        str,
        typer.Argument(
            metavar="ID_OR_PREFIX",
            help="The key's id or prefix (see `kotae keys list`); the key itself works too.",
        ),
    ],
    json_out: ResultJson = False,
    kb: KbOption = None,
) -> None:
    """Revoke an API key: it stops working at once and stays listed as revoked.

    Example: kotae keys revoke 3
    """
    with open_kb(kb) as base:
        before = _find(base.catalog, target)
        key = revoke_key(base.catalog, str(before.id))
        if before.revoked_at is None:
            record_key(base, "key.revoked", key)
    if json_out:
        print_json(key.to_dict())
        return
    values = {"id": key.id, "prefix": key.prefix, "user": escape(key.user)}
    if before.revoked_at is not None:
        console.print(t("key_already_revoked", **values, when=show_time(key.revoked_at)))
    else:
        console.print(t("key_revoked", **values))


def _find(store: Store, ref: str) -> ApiKey:
    """:func:`find_key`, where an id that is not a number SQLite can hold (``²``, 20 digits)
    is an unknown key rather than a traceback."""
    bare = ref.strip().removeprefix(KEY_START).split("_")[0]
    if bare.isdigit() and not (bare.isascii() and int(bare) <= _LARGEST_ID):
        fail(t("no_key", ref=bare))
    return find_key(store, ref)
