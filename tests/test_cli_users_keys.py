"""``kotae users`` and ``kotae keys`` as an administrator runs them: roles, API keys shown
once and stored only as a hash, their states, a removed user's keys gone with them, wrong
input as one line and exit code 2, messages in English and Japanese."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kotae.errors import AuthenticationError
from kotae.security.auth import authenticate
from tests.conftest import catalog_of
from tests.test_cli import kotae

KEY = re.compile(r"kotae_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
KEY_FIELDS = {
    "id",
    "prefix",
    "user",
    "name",
    "state",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    return kb


def ok(*args: str, kb: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    run = kotae(*args, kb=kb, env=env)
    assert run.returncode == 0, (args, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    return run


def as_json(*args: str, kb: Path) -> Any:
    return json.loads(ok(*args, "--json", kb=kb).stdout)


def test_users_have_a_role_kept_unless_changed_and_groups_kept_unless_given(kb: Path) -> None:
    added = ok("users", "add", "sato", "--groups", "Sales,tokyo", kb=kb)
    assert added.stdout == "user sato (reader): sales, tokyo\n"
    assert ok("users", "add", "sato", "--role", "editor", kb=kb).stdout == (
        "user sato (editor): sales, tokyo\n"  # the groups are kept
    )
    moved = as_json("users", "add", "sato", "--groups", "hr", kb=kb)
    assert isinstance(moved, dict)
    assert set(moved) == {"name", "role", "groups", "created_at"}
    assert (moved["role"], moved["groups"]) == ("editor", ["hr"])  # the role is kept
    assert ok("users", "add", "sato", "--groups", "", kb=kb).stdout == (
        "user sato (editor): (no groups)\n"
    )
    ok("users", "add", "sato", "--groups", "hr,sales", kb=kb)
    admin = as_json("users", "add", "kimura", "--role", "admin", kb=kb)
    assert admin == {
        "name": "kimura",
        "role": "admin",
        "groups": [],
        "created_at": admin["created_at"],
    }
    ok("users", "add", "yamada", "--groups", "sales", kb=kb)
    ok("keys", "create", "sato", kb=kb)
    listed = as_json("users", "list", kb=kb)
    assert [(u["name"], u["role"], u["groups"], u["valid_keys"]) for u in listed] == [
        ("kimura", "admin", [], 0),
        ("sato", "editor", ["hr", "sales"], 1),
        ("yamada", "reader", ["sales"], 0),
    ]
    table = ok("users", "list", kb=kb).stdout.splitlines()  # piped: tab-separated
    assert table == [
        "name\trole\tgroups\tvalid keys",
        "kimura\tadmin\t\t0",
        "sato\teditor\thr,sales\t1",
        "yamada\treader\tsales\t0",
    ]
    groups = as_json("groups", "list", kb=kb)
    assert groups == [
        {"name": "hr", "members": ["sato"], "rules": 0, "documents": 0},
        {"name": "sales", "members": ["sato", "yamada"], "rules": 0, "documents": 0},
    ]
    assert "sales\tsato, yamada\t0\t0" in ok("groups", "list", kb=kb).stdout
    with catalog_of(kb) as catalog:  # a role change is what the server sees
        sato = catalog.user_record("sato")
    assert sato is not None and sato["role"] == "editor"


def test_a_key_is_printed_once_on_stdout_and_only_its_hash_is_stored(kb: Path) -> None:
    ok("users", "add", "sato", "--groups", "sales", kb=kb)
    created = ok("keys", "create", "sato", "--name", "laptop", kb=kb)
    secret = created.stdout.strip()
    assert KEY.fullmatch(secret) and created.stdout == secret + "\n"  # KEY=$(kotae keys create)
    assert "will not be shown again" in created.stderr and secret not in created.stderr
    digest = hashlib.sha256(secret.encode()).hexdigest()
    listings = [ok("keys", "list", *extra, kb=kb).stdout for extra in ((), ("--json",))]
    listings += [ok("users", "list", "--json", kb=kb).stdout]
    for listing in listings:
        assert secret not in listing and secret[19:] not in listing and digest not in listing
    stored = b"".join(p.read_bytes() for p in sorted(kb.rglob("*")) if p.is_file())
    assert digest.encode() in stored  # the right files were read
    assert secret.encode() not in stored and secret[19:].encode() not in stored
    with catalog_of(kb) as catalog:  # the key printed is the key the server accepts
        assert authenticate(catalog, secret).user.name == "sato"
    shown = as_json("keys", "list", kb=kb)
    assert isinstance(shown, list) and set(shown[0]) == KEY_FIELDS
    assert shown[0]["last_used_at"] is not None  # recorded by authenticate


def test_key_json_states_and_revocation(kb: Path) -> None:
    ok("users", "add", "sato", kb=kb)
    ok("users", "add", "kimura", "--role", "admin", kb=kb)
    made = as_json("keys", "create", "sato", "--name", "ci", "--expires", "30d", kb=kb)
    assert isinstance(made, dict) and set(made) == KEY_FIELDS | {"key"}
    assert KEY.fullmatch(made["key"]) and made["key"].startswith(f"kotae_{made['prefix']}_")
    assert (made["user"], made["name"], made["state"], made["revoked_at"]) == (
        "sato",
        "ci",
        "valid",
        None,
    )
    expires = datetime.fromisoformat(made["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    dated = as_json("keys", "create", "sato", "--expires", "2099-03-31", kb=kb)
    assert dated["expires_at"] == "2099-03-31T00:00:00+00:00"
    old = as_json("keys", "create", "sato", "--expires", "1h", kb=kb)
    admin = as_json("keys", "create", "kimura", kb=kb)
    assert admin["expires_at"] is None
    with sqlite3.connect(kb / "kotae.db") as con:  # an hour later for this key
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
        con.execute("UPDATE api_keys SET expires_at=? WHERE id=?", (past, old["id"]))

    revoked = ok("keys", "revoke", str(made["id"]), kb=kb)
    assert revoked.stdout == f"revoked API key {made['id']} ({made['prefix']}) of sato\n"
    again = ok("keys", "revoke", f"kotae_{made['prefix']}", kb=kb)
    assert again.stdout.startswith(f"API key {made['id']} ({made['prefix']}) of sato was already")
    by_key = as_json("keys", "revoke", made["key"], kb=kb)
    assert isinstance(by_key, dict) and set(by_key) == KEY_FIELDS
    assert by_key["state"] == "revoked" and by_key["revoked_at"] is not None
    with catalog_of(kb) as catalog, pytest.raises(AuthenticationError, match="revoked"):
        authenticate(catalog, made["key"])

    states = as_json("keys", "list", kb=kb)
    assert [(k["user"], k["state"]) for k in states] == [
        ("sato", "revoked"),
        ("sato", "valid"),
        ("sato", "expired"),
        ("kimura", "valid"),
    ]
    only = as_json("keys", "list", "--user", "kimura", kb=kb)
    assert [k["id"] for k in only] == [admin["id"]]
    table = ok("keys", "list", kb=kb).stdout.splitlines()
    assert table[0] == "id\tprefix\tuser\tname\tstate\tcreated\texpires\tlast used\trevoked"
    first = table[1].split("\t")
    assert first[:5] == [str(made["id"]), made["prefix"], "sato", "ci", "revoked"]
    assert first[7] == "-" and first[8] != "-"  # never used, revoked
    assert [row.split("\t")[6] for row in table[1:]][3] == "-"  # never expires
    valid = {u["name"]: u["valid_keys"] for u in as_json("users", "list", kb=kb)}
    assert valid == {"kimura": 1, "sato": 1}


def test_removing_a_user_removes_their_keys(kb: Path) -> None:
    ok("users", "add", "sato", kb=kb)
    ok("users", "add", "kimura", kb=kb)
    gone = [ok("keys", "create", "sato", kb=kb).stdout.strip() for _ in range(2)]
    kept = ok("keys", "create", "kimura", kb=kb).stdout.strip()
    removed = ok("users", "remove", "sato", kb=kb)
    assert removed.stdout == "removed user sato and their 2 API key(s)\n"
    assert [k["user"] for k in as_json("keys", "list", kb=kb)] == ["kimura"]
    with sqlite3.connect(kb / "kotae.db") as con:
        left = con.execute("SELECT user, COUNT(*) FROM api_keys GROUP BY user").fetchall()
    assert left == [("kimura", 1)]
    ok("users", "add", "sato", kb=kb)  # the same name again does not bring the keys back
    with catalog_of(kb) as catalog:
        for secret in gone:
            with pytest.raises(AuthenticationError):
                authenticate(catalog, secret)
        assert authenticate(catalog, kept).user.name == "kimura"
    assert ok("users", "remove", "kimura", kb=kb).stdout == (
        "removed user kimura and their 1 API key(s)\n"
    )
    assert ok("users", "remove", "sato", kb=kb).stdout == "removed user sato\n"
    assert ok("keys", "list", kb=kb).stdout == (
        "no API keys: create one with `kotae keys create USER`\n"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("users", "add", "ito", "--role", "boss"), "unknown role 'boss'"),
        (("users", "add", "ito", "--role", "Admin"), "unknown role 'Admin'"),
        (("users", "add", " "), "the user name is empty"),
        (("users", "remove", "ghost"), "no user 'ghost'"),
        (("keys", "create", "ghost"), "unknown user 'ghost'"),
        (("keys", "create", "sato", "--expires", "yesterday"), "invalid expiry 'yesterday'"),
        (("keys", "create", "sato", "--expires", "30s"), "invalid expiry '30s'"),
        (("keys", "create", "sato", "--expires", "2001-01-01"), "already past"),
        (("keys", "create", "sato", "--expires", "0d"), "already past"),
        (("keys", "list", "--user", "ghost"), "unknown user 'ghost'"),
        (("keys", "revoke", "999"), "no API key '999'"),
        (("keys", "revoke", "kotae_0123456789ab"), "no API key '0123456789ab'"),
        (("keys", "revoke", "nothing"), "no API key 'nothing'"),
        (("keys", "revoke", "9" * 30), "no API key"),
        (("keys", "revoke", "²"), "no API key"),
    ],
)
def test_wrong_input_is_one_line_exit_2_and_changes_nothing(
    kb: Path, args: tuple[str, ...], words: str
) -> None:
    ok("users", "add", "sato", "--groups", "sales", kb=kb)
    before = ok("users", "list", "--json", kb=kb).stdout
    run = kotae(*args, kb=kb)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.startswith("kotae: error: ") and run.stderr.count("\n") == 1
    assert words in run.stderr
    assert ok("users", "list", "--json", kb=kb).stdout == before
    assert as_json("keys", "list", kb=kb) == []


def test_japanese_messages(kb: Path) -> None:
    ja = {"KOTAE_LANG": "ja"}
    added = ok("users", "add", "sato", "--groups", "営業部", "--role", "editor", kb=kb, env=ja)
    assert added.stdout == "ユーザー sato（editor）: 営業部\n"
    created = ok("keys", "create", "sato", "--expires", "2099-03-31", kb=kb, env=ja)
    assert KEY.fullmatch(created.stdout.strip())
    assert "二度と表示されません" in created.stderr and "有効期限: 2099-03-" in created.stderr
    listed = ok("keys", "list", kb=kb, env=ja).stdout.splitlines()[0].split("\t")
    assert listed[:5] == ["ID", "接頭辞", "ユーザー", "名前", "状態"]
    users = ok("users", "list", kb=kb, env=ja).stdout.splitlines()[0].split("\t")
    assert users == ["名前", "ロール", "グループ", "有効なキー数"]
    revoked = ok("keys", "revoke", "1", kb=kb, env=ja)
    assert revoked.stdout.startswith("sato の API キー 1（") and "無効化しました" in revoked.stdout
    removed = ok("users", "remove", "sato", kb=kb, env=ja)
    assert removed.stdout == "ユーザー sato とその API キー 1 件を削除しました\n"
    for args, words in (
        (("users", "add", "sato", "--role", "boss"), "ロール 'boss' はありません"),
        (("keys", "create", "ghost"), "ユーザー 'ghost' は登録されていません"),
        (("keys", "create", "sato", "--expires", "明日"), "有効期限 '明日' が読めません"),
        (("keys", "list", "--user", "ghost"), "ユーザー 'ghost' は登録されていません"),
        (("keys", "revoke", "42"), "API キー '42' はありません"),
        (("keys", "revoke", "9" * 30), "はありません"),
    ):
        run = kotae(*args, kb=kb, env=ja)
        assert run.returncode == 2 and run.stderr.startswith("kotae: エラー: "), (args, run.stderr)
        assert words in run.stderr and run.stderr.count("\n") == 1, (args, run.stderr)
    assert ok("users", "list", kb=kb, env=ja).stdout.startswith("ユーザーはいません")


def test_users_passwd_sets_checks_and_clears_a_password(tmp_path: Path) -> None:
    from kotae.security.passwords import verify_password

    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    assert kotae("users", "add", "sato", kb=kb).returncode == 0

    def passwd(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "kotae.cli.main", "users", "passwd", *args, "--kb", str(kb)]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)

    def stored() -> str | None:
        con = sqlite3.connect(kb / "kotae.db")
        try:
            row = con.execute("SELECT password_hash FROM users WHERE name='sato'").fetchone()
        finally:
            con.close()
        return None if row[0] is None else str(row[0])

    short = passwd("sato", stdin="short\n")
    assert short.returncode == 2 and len(short.stderr.strip().splitlines()) == 1
    assert stored() is None
    unknown = passwd("kimura", stdin="a long enough password\n")
    assert unknown.returncode == 2
    done = passwd("sato", stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    hashed = stored()
    assert (
        hashed and hashed.startswith("$argon2") and "correct horse" not in done.stdout + done.stderr
    )
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "wrong horse battery")
    assert passwd("sato", "--clear", stdin="").returncode == 0
    assert stored() is None
