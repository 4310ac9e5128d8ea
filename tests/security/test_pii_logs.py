"""No personal data in the query log or the audit log, and none in prompts sent out when
``[privacy] mask_outgoing = true`` (the answer still shows it to the user)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kotae.config import load_settings
from kotae.kb import init_kb
from kotae.security.auth import create_key, set_role
from tests.conftest import write
from tests.test_cli import kotae


def my_number(base: str) -> str:
    """A valid My Number: 11 digits + the check digit (written here, not kotae's code)."""
    digits = [int(c) for c in reversed(base)]
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(digits, start=1))
    rest = total % 11
    return base + str(0 if rest <= 1 else 11 - rest)


def corporate_number(base: str) -> str:
    digits = [int(c) for c in reversed(base)]
    total = sum(p * (1 if n % 2 else 2) for n, p in enumerate(digits, start=1))
    return str(9 - total % 9) + base


SEEDED = {
    "person": "山田太郎",
    "email": "taro.yamada@example.co.jp",
    "phone": "090-1234-5678",
    "my_number": my_number("12345678901"),
    "corporate_number": corporate_number("700110005901"),
    "card": "4111 1111 1111 1111",
    "address": "東京都千代田区丸の内1-2-3",
}
CONTACT = (
    "経理担当は{person}さん（{email}、{phone}）です。個人番号 {my_number}、"
    "法人番号 {corporate_number}、カード {card}、住所 {address}。".format(**SEEDED)
)
MODEL = "kotae/kb"


def leaks(text: str) -> list[str]:
    """Seeded values found in ``text``, as written or with their separators removed."""
    found = []
    for kind, value in SEEDED.items():
        forms = {value, value.replace("-", "").replace(" ", "")}
        if any(form in text for form in forms):
            found.append(kind)
    return found


def raw_logs(kb_dir: Path) -> str:
    """Every byte of both logs as text (all columns, JSON unescaped)."""
    con = sqlite3.connect(kb_dir / "kotae.db")
    try:
        rows = [
            *con.execute("SELECT * FROM query_log"),
            *con.execute("SELECT * FROM audit_log"),
        ]
    finally:
        con.close()
    text = json.dumps([list(r) for r in rows], ensure_ascii=False)
    return text + json.dumps(json.loads(text), ensure_ascii=False)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Path, str]]:
    path = tmp_path / "kb"
    docs = tmp_path / "docs"
    write(docs / "経理.md", f"# 経理の連絡先\n\n{CONTACT}\n\n経費の申請期限は翌月10日までです。")
    write(docs / "出張.md", "# 出張規程\n\n宿泊費の上限は一泊一万二千円です。")
    kb = init_kb(path)
    try:
        kb.ingest([docs])
        kb.set_user("yamada", ["keiri"])
        set_role(kb.catalog, "yamada", "editor")
        key = create_key(kb.catalog, "yamada")[0]
    finally:
        kb.close()
    config = path / "kotae.toml"
    config.write_text(
        config.read_text("utf-8")
        + '\n[server]\nrate_limit_per_minute = 0\n[generator]\nbackend = "fake"\n'
        'model = "fake-chat"\n[privacy]\nmask_outgoing = true\n',
        "utf-8",
    )
    from kotae.server.app import create_app

    app = create_app(load_settings(config), path)
    with TestClient(app) as client:
        yield client, path, key


def test_a_session_leaves_no_personal_data_in_either_log(
    served: tuple[TestClient, Path, str],
) -> None:
    client, path, key = served
    auth = {"Authorization": f"Bearer {key}"}
    question = f"{SEEDED['person']}さん（{SEEDED['email']}）の電話 {SEEDED['phone']} は？"
    assert client.get("/api/search", params={"q": question}, headers=auth).status_code == 200
    assert client.get("/api/search", params={"q": "経理の連絡先"}, headers=auth).status_code == 200
    asked = client.post("/api/ask", json={"question": "経理の連絡先は？"}, headers=auth)
    assert asked.status_code == 200
    asked = client.post("/api/ask", json={"question": question}, headers=auth)
    assert asked.status_code == 200
    chat = client.post(
        "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": question}]},
        headers=auth,
    )
    assert chat.status_code == 200
    proxy = client.post(
        "/v1/chat/completions",
        json={"model": "fake-chat", "messages": [{"role": "user", "content": CONTACT}]},
        headers=auth,
    )
    assert proxy.status_code == 200
    upload = client.post(
        "/api/documents",
        files={
            "files": (f"{SEEDED['person']}_{SEEDED['phone']}.md", CONTACT.encode(), "text/markdown")
        },
        data={"groups": "keiri"},
        headers=auth,
    )
    assert upload.status_code in (200, 202), upload.text
    wrong = client.get(
        "/api/search", params={"q": "x"}, headers={"Authorization": f"Bearer {SEEDED['email']}"}
    )
    assert wrong.status_code == 401
    job = upload.json()["status_url"]
    for _ in range(200):  # the upload is a job: wait for it (its audit entry is written first)
        if client.get(job, headers=auth).json()["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    logs = raw_logs(path)
    assert '"documents.uploaded"' in logs
    assert '"query.search"' in logs and '"query.ask"' in logs and '"auth.failed"' in logs
    assert "[PERSON]" in logs and "[EMAIL]" in logs  # the texts are there, masked
    assert leaks(logs) == []


def test_the_cli_logs_are_masked_too(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    docs = tmp_path / "docs"
    write(docs / "経理.md", f"# 経理の連絡先\n\n{CONTACT}")
    assert kotae("init", str(kb)).returncode == 0
    assert kotae("ingest", str(docs), kb=kb).returncode == 0
    asked = kotae("ask", f"{SEEDED['person']}さんの連絡先は？ {SEEDED['my_number']}", kb=kb)
    assert asked.returncode == 0, asked.stderr
    assert SEEDED["email"] in asked.stdout  # the user reads the document as it is
    assert kotae("search", f"{SEEDED['card']} {SEEDED['address']}", kb=kb).returncode == 0
    assert leaks(raw_logs(kb)) == []


def test_prompts_leave_masked_and_the_answer_is_restored(
    served: tuple[TestClient, Path, str],
) -> None:
    client, _, key = served
    auth = {"Authorization": f"Bearer {key}"}
    asked = client.post("/api/ask", json={"question": "経理の連絡先は？"}, headers=auth)
    assert asked.status_code == 200, asked.text
    generator = client.app.state.kotae.generator  # type: ignore[attr-defined]
    sent = json.dumps(
        [[m.to_dict() for m in call] for call in generator.inner.calls], ensure_ascii=False
    )
    assert generator.inner.calls and leaks(sent) == []
    assert "[PERSON_1]" in sent and "[EMAIL_1]" in sent
    answer = asked.json()["answer"]
    assert SEEDED["person"] in answer and SEEDED["email"] in answer  # restored for the user
    streamed = client.post(
        "/api/ask", json={"question": "経理の連絡先は？", "stream": True}, headers=auth
    )
    assert streamed.status_code == 200
    assert "[PERSON_" not in streamed.text and SEEDED["person"] in streamed.text
