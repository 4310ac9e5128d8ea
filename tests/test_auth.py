"""kotae.security.auth on a real catalog: API keys (valid, expired, revoked, unknown,
malformed, missing), their last use, what each role reads and may do, and expiries."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from kotae.errors import AuthenticationError, PermissionDeniedError, QueryError
from kotae.index.catalog import Catalog
from kotae.kb import Access, KnowledgeBase
from kotae.security.auth import (
    TOUCH_EVERY,
    Identity,
    User,
    authenticate,
    create_key,
    find_key,
    get_user,
    list_keys,
    list_users,
    parse_expiry,
    revoke_key,
    set_role,
    stamp,
)

NOW = datetime(2030, 4, 1, 9, 0, 0, tzinfo=UTC)  # after every key's creation time


@pytest.fixture
def store(kb: KnowledgeBase) -> Catalog:
    kb.set_user("sato", ["sales", "tokyo"])
    kb.set_user("kimura", ["executives"])
    kb.set_user("root", [])
    set_role(kb.catalog, "sato", "editor")
    set_role(kb.catalog, "root", "admin")
    return kb.catalog


def _user(name: str, role: str, *groups: str) -> User:
    return User(name, role, groups, "2026-01-01T00:00:00+00:00")  # type: ignore[arg-type]


def _refused(store: Catalog, secret: str | None, *words: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        authenticate(store, secret, now=NOW)
    error = caught.value
    assert error.message_ja, secret
    for word in words:
        assert word in str(error), (secret, str(error))
    if secret:  # the message never repeats the key
        assert secret.strip() not in str(error) and secret.strip() not in error.message_ja
    return error


# -- keys ----------------------------------------------------------------------------------
def test_a_new_key_authenticates_its_user_and_only_its_hash_is_stored(store: Catalog) -> None:
    secret, key = create_key(store, "sato", name="laptop")
    assert re.fullmatch(r"kotae_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", secret)
    assert secret.startswith(f"kotae_{key.prefix}_")
    assert (key.user, key.name, key.state(NOW), key.expires_at) == ("sato", "laptop", "valid", None)
    row = store.api_key(key.prefix)
    assert row is not None
    assert row["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in [str(v) for v in row.values()]
    assert secret[len("kotae_") + 13 :] not in "".join(str(v) for v in row.values())
    who = authenticate(store, secret, now=NOW)
    assert (who.user.name, who.role, who.user.groups) == ("sato", "editor", ("sales", "tokyo"))
    assert who.key is not None and who.key.id == key.id
    assert authenticate(store, f"  {secret}\n", now=NOW).user.name == "sato"  # pasted with space
    assert "hash" not in key.to_dict()


def test_missing_malformed_and_unknown_keys_are_refused(store: Catalog) -> None:
    secret, key = create_key(store, "sato")
    for missing in (None, ""):
        _refused(store, missing, "no API key", "Authorization: Bearer")
    tail = secret.split("_", 2)[2]
    other_tail = ("A" if tail[0] != "A" else "B") + tail[1:]
    for wrong in (
        "x",
        "kotae_",
        secret[:-1],  # one character short
        secret + "x",
        f"Bearer {secret}",
        secret.upper(),
        f"kotae_{key.prefix}_{other_tail}",  # the right prefix, another secret
        f"kotae_{'0' * 12}_{tail}",  # no such prefix
        f"kotae_{key.prefix}_{tail[:-1]}=",
        secret.replace("kotae_", "kotea_"),
    ):
        assert wrong != secret
        _refused(store, wrong, "invalid API key")


def test_expired_and_revoked_keys_are_refused(store: Catalog) -> None:
    secret, key = create_key(store, "sato", expires_at=NOW + timedelta(hours=1))
    assert authenticate(store, secret, now=NOW).user.name == "sato"
    assert key.state(NOW + timedelta(minutes=59)) == "valid"
    assert key.state(NOW + timedelta(hours=1)) == "expired"  # expired at the instant
    with pytest.raises(AuthenticationError, match="expired"):
        authenticate(store, secret, now=NOW + timedelta(hours=1))
    other, other_key = create_key(store, "kimura")
    revoked = revoke_key(store, str(other_key.id))
    assert revoked.state(NOW) == "revoked" and revoked.revoked_at is not None
    error = _refused(store, other, "revoked")
    assert error.message_ja is not None and "無効化" in error.message_ja
    again = revoke_key(store, other_key.prefix)  # revoking twice keeps the first time
    assert again.revoked_at == revoked.revoked_at
    expired_and_revoked = revoke_key(store, f"kotae_{key.prefix}")
    assert expired_and_revoked.state(NOW + timedelta(days=1)) == "revoked"


def test_the_key_of_a_removed_user_is_gone_with_them(store: Catalog) -> None:
    secret, _ = create_key(store, "kimura")
    create_key(store, "sato")
    assert store.remove_user("kimura")
    assert [k.user for k in list_keys(store)] == ["sato"]
    assert list_keys(store, "kimura") == []
    _refused(store, secret, "invalid API key")
    store.set_user("kimura", [])  # the same name again: the old key stays dead
    _refused(store, secret, "invalid API key")


def test_last_use_is_recorded_at_most_once_a_minute(store: Catalog) -> None:
    secret, key = create_key(store, "sato")
    assert key.last_used_at is None

    def last_used() -> str | None:
        return find_key(store, str(key.id)).last_used_at

    authenticate(store, secret, now=NOW)
    assert last_used() == stamp(NOW)
    authenticate(store, secret, now=NOW + TOUCH_EVERY - timedelta(seconds=1))
    assert last_used() == stamp(NOW)  # throttled
    authenticate(store, secret, now=NOW + TOUCH_EVERY)
    assert last_used() == stamp(NOW + TOUCH_EVERY)
    with pytest.raises(AuthenticationError):
        authenticate(store, secret[:-1] + "?", now=NOW + 10 * TOUCH_EVERY)
    assert last_used() == stamp(NOW + TOUCH_EVERY)  # a refused key is no use


def test_keys_are_found_by_id_prefix_or_the_key_and_listed_per_user(store: Catalog) -> None:
    secret, key = create_key(store, "sato")
    _, other = create_key(store, "kimura", name="ci")
    for ref in (str(key.id), key.prefix, f"kotae_{key.prefix}", secret, f" {key.prefix} "):
        assert find_key(store, ref).id == key.id, ref
    for unknown in ("999", "", "kotae_", "abcdef", f"kotae_{'f' * 12}"):
        with pytest.raises(QueryError, match="no API key"):
            find_key(store, unknown)
    assert [k.id for k in list_keys(store)] == [key.id, other.id]
    assert [k.name for k in list_keys(store, "kimura")] == ["ci"]
    with pytest.raises(QueryError, match="unknown user"):
        create_key(store, "ghost")


# -- users and roles -----------------------------------------------------------------------
def test_roles_are_set_on_existing_users_only(store: Catalog) -> None:
    assert [(u.name, u.role) for u in list_users(store)] == [
        ("kimura", "reader"),
        ("root", "admin"),
        ("sato", "editor"),
    ]
    assert set_role(store, "kimura", "admin").role == "admin"
    with pytest.raises(QueryError, match="unknown role 'boss'") as caught:
        set_role(store, "kimura", "boss")
    assert caught.value.message_ja and "ロール" in caught.value.message_ja
    with pytest.raises(QueryError, match="unknown role"):
        set_role(store, "kimura", "Admin")
    kimura = get_user(store, "kimura")
    assert kimura is not None and (kimura.role, kimura.groups) == ("admin", ("executives",))
    with pytest.raises(QueryError, match="unknown user 'ghost'"):
        set_role(store, "ghost", "reader")
    assert get_user(store, "ghost") is None


# -- what a role reads and may do ----------------------------------------------------------
def test_access_admin_reads_everything_others_their_groups_and_their_name(
    store: Catalog, kb: KnowledgeBase
) -> None:
    admin = Identity(_user("root", "admin", "sales"))
    assert admin.access.groups is None and admin.access.user == "root"
    assert admin.access.can_read(("executives",))
    for role in ("reader", "editor"):
        who = Identity(_user("sato", role, "sales", "tokyo"))
        assert who.access == Access(frozenset({"sales", "tokyo", "user:sato"}), "sato")
        assert who.access.can_read(()) and who.access.can_read(("sales", "hr"))
        assert who.access.can_read(("user:sato",))
        assert not who.access.can_read(("executives",))
        assert not who.access.can_read(("user:kimura",))
    sato = get_user(store, "sato")
    assert sato is not None
    assert Identity(sato).access == kb.access_for(user="sato")  # the same as --as sato


def test_require_orders_the_roles_admin_editor_reader() -> None:
    ranks = {"admin": 0, "editor": 1, "reader": 2}
    for have, have_rank in ranks.items():
        who = Identity(_user("sato", have))
        for need, need_rank in ranks.items():
            if have_rank <= need_rank:
                who.require(need)  # type: ignore[arg-type]
                continue
            with pytest.raises(PermissionDeniedError, match=f"needs the {need} role") as caught:
                who.require(need)  # type: ignore[arg-type]
            assert caught.value.message_ja and need in caught.value.message_ja


def test_may_write_admins_anywhere_editors_within_their_groups_readers_never() -> None:
    admin = Identity(_user("root", "admin"))
    editor = Identity(_user("sato", "editor", "sales", "tokyo"))
    reader = Identity(_user("kimura", "reader", "sales"))
    for groups in ([], ["sales"], ["executives"], ["sales", "executives"]):
        assert admin.may_write(groups), groups
        assert not reader.may_write(groups), groups
    assert editor.may_write(["sales"]) and editor.may_write(("tokyo", "sales"))
    assert not editor.may_write([])  # public needs an admin
    assert not editor.may_write(["executives"])
    assert not editor.may_write(["sales", "executives"])
    lonely = Identity(_user("ito", "editor"))
    assert not lonely.may_write([]) and not lonely.may_write(["sales"])


# -- expiries ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW + timedelta(days=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("90m", NOW + timedelta(minutes=90)),
        (" 7d ", NOW + timedelta(days=7)),
        ("99999d", NOW + timedelta(days=99999)),
        ("2031-03-31", datetime(2031, 3, 31, tzinfo=UTC)),  # UTC when no offset is given
        ("2030-04-01T18:00", datetime(2030, 4, 1, 18, 0, tzinfo=UTC)),
        ("2030-04-01T19:00+09:00", NOW + timedelta(hours=1)),
    ],
)
def test_parse_expiry_forms(text: str, expected: datetime) -> None:
    when = parse_expiry(text, now=NOW)
    assert when == expected and when.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "30",
        "30s",
        "30 d",
        "-1d",
        "1.5d",
        "100000d",
        "2030-13-01",
        "d",
        "next week",
    ],
)
def test_parse_expiry_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(QueryError, match="invalid expiry") as caught:
        parse_expiry(text, now=NOW)
    assert caught.value.message_ja and "有効期限" in caught.value.message_ja


@pytest.mark.parametrize("text", ["0d", "0m", "2030-04-01", "2030-04-01T09:00:00", "2001-01-01"])
def test_parse_expiry_refuses_a_time_already_past(text: str) -> None:
    with pytest.raises(QueryError, match="already past") as caught:
        parse_expiry(text, now=NOW)
    assert caught.value.message_ja and "過ぎています" in caught.value.message_ja


def test_parse_expiry_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    when = parse_expiry("1h")
    assert before + timedelta(hours=1) <= when <= datetime.now(UTC) + timedelta(hours=1)
