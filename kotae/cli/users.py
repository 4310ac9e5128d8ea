"""``kotae users add|list|remove``: users, their groups (what they read, for ``--as`` and
the server) and their role (what they may do on the server: :mod:`kotae.security.auth`)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import JsonOption, KbOption, console, fail, print_json, print_table
from kotae.kb import open_kb
from kotae.messages import t
from kotae.security.audit import record_kb
from kotae.security.auth import ROLES, check_role, get_user, list_keys, list_users, now_utc
from kotae.security.auth import set_role as store_role
from kotae.security.passwords import hash_password

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="User name.")]
ResultJson = Annotated[bool, typer.Option("--json", help="Print the user as JSON.")]


def register(app: typer.Typer) -> None:
    """Add the ``kotae users`` group to ``app``."""
    users_app = typer.Typer(
        help="Users: their groups (for --as) and their role (admin, editor or reader).",
        no_args_is_help=True,
    )
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    users_app.command("remove")(users_remove)
    users_app.command("passwd")(users_passwd)
    app.add_typer(users_app, name="users")


def users_add(
    name: NameArgument,
    groups: Annotated[
        str | None,
        typer.Option(
            "--groups",
            metavar="GROUPS",
            help="The user's groups (a,b), replacing theirs; --groups '' leaves none "
            "(default: keep an existing user's groups).",
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help=f"{', '.join(ROLES[:-1])} or {ROLES[-1]} (default: keep an existing "
            "user's role; a new user is a reader).",
        ),
    ] = None,
    json_out: ResultJson = False,
    kb: KbOption = None,
) -> None:
    """Add a user, or change the groups or the role of an existing one (group names are
    case-insensitive).

    Example: kotae users add sato --groups sales,tokyo --role editor
    """
    checked = None if role is None else check_role(role.strip())  # before anything is written
    with open_kb(kb) as base:
        existing = get_user(base.catalog, name)
        if groups is not None:
            wanted = [groups] if groups.strip() else []
        else:
            wanted = list(existing.groups) if existing is not None else []
        base.set_user(name, wanted)
        catalog = base.catalog
        user = store_role(catalog, name, checked) if checked else get_user(catalog, name)
        assert user is not None
        before = (
            None if existing is None else {"groups": list(existing.groups), "role": existing.role}
        )
        after = {"groups": list(user.groups), "role": user.role}
        if before != after:
            record_kb(base, "user.set", target=user.name, detail={"before": before, "after": after})
    if json_out:
        print_json(user.to_dict())
        return
    shown = ", ".join(user.groups) or t("no_groups")
    console.print(t("user_set", name=escape(user.name), role=user.role, groups=escape(shown)))


def users_list(json_out: JsonOption = False, kb: KbOption = None) -> None:
    """List users with their role, their groups and how many valid API keys they hold."""
    now = now_utc()
    with open_kb(kb) as base:
        users = list_users(base.catalog)
        valid: dict[str, int] = {}
        for key in list_keys(base.catalog):
            if key.state(now) == "valid":
                valid[key.user] = valid.get(key.user, 0) + 1
    if json_out:
        print_json([{**u.to_dict(), "valid_keys": valid.get(u.name, 0)} for u in users])
        return
    if not users:
        console.print(t("no_users"))
        return
    print_table(
        ("name", "role", "groups", "valid keys"),
        ((u.name, u.role, ",".join(u.groups), str(valid.get(u.name, 0))) for u in users),
    )


def users_remove(name: NameArgument, kb: KbOption = None) -> None:
    """Remove a user, with their API keys.

    Example: kotae users remove kimura
    """
    with open_kb(kb) as base:
        keys = len(list_keys(base.catalog, name))
        if not base.catalog.remove_user(name):  # their keys go too (foreign key cascade)
            fail(t("no_user", name=name))
        record_kb(base, "user.removed", target=name, detail={"keys_removed": keys})
    if keys:
        console.print(t("removed_user_keys", name=escape(name), n=keys))
    else:
        console.print(t("removed_user", name=escape(name)))


def _read_password(name: str) -> str:
    """The new password: typed twice at a terminal (not echoed), else one line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(t("password_prompt", name=name))
        if getpass.getpass(t("password_again")) != first:
            fail(t("password_mismatch"))
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail(t("password_empty"))
    return line


def users_passwd(
    name: NameArgument,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the password (no password login).")
    ] = False,
    kb: KbOption = None,
) -> None:
    """Set a user's web-login password (at least 12 characters): typed twice at a
    terminal, or one line on stdin. Only its argon2 hash is stored.

    Example: kotae users passwd sato
    """
    with open_kb(kb) as base:
        if get_user(base.catalog, name) is None:
            fail(t("no_user", name=name))
        if clear:
            base.catalog.set_password_hash(name, None)
            record_kb(base, "user.password", target=name, detail={"status": "cleared"})
            console.print(t("password_cleared", name=escape(name)))
            return
        hashed = hash_password(_read_password(name))  # checks the length first
        base.catalog.set_password_hash(name, hashed)
        record_kb(base, "user.password", target=name, detail={"status": "set"})
    console.print(t("password_set", name=escape(name)))
