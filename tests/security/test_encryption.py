"""Encryption at rest (``kotae init --encrypt``): no plaintext on disk, one clear error for a
wrong or missing key, the same results as a plain knowledge base, and a ``kotae rekey``
that a SIGKILL at any point leaves readable with the old key or the new one."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from kotae.config import CONFIG_FILE, load_settings
from kotae.errors import EncryptionKeyError
from kotae.kb import Access, KnowledgeBase, init_kb
from kotae.security.crypto import Cipher, cipher_from_secret, kdf_of
from kotae.security.sealed import plain_files, read_sealed, seal_all, sealed_files
from tests.conftest import SAMPLES, write
from tests.security.helpers import (
    CANARY,
    CANARY_JA,
    CANARY_WIDE,
    OTHER_KEY,
    PASSPHRASE,
    RAW_KEY,
    canaries_in,
    kotae,
    snapshot,
)

pytest.importorskip("sqlcipher3")

REPO = Path(__file__).resolve().parents[2]
CRASH_WORKER = REPO / "tests" / "crash_worker.py"
REKEY_WORKER = Path(__file__).with_name("rekey_worker.py")


def cipher_of(kb_dir: Path, secret: str) -> Cipher:
    return cipher_from_secret(secret, kdf_of(load_settings(kb_dir / CONFIG_FILE).security))


def canary_docs(folder: Path, count: int = 3) -> Path:
    for i in range(count):
        write(
            folder / f"機密{i}.md",
            f"# 機密文書 {i}\n\n{CANARY} は {CANARY_JA} の符号です。{CANARY_WIDE} も同じ。\n\n"
            + "経費の申請期限は翌月10日までです。" * 20,
        )
    return folder


# -- no plaintext on disk ---------------------------------------------------------------
def test_canaries_never_reach_the_disk(tmp_path: Path) -> None:
    kb, docs = tmp_path / "kb", canary_docs(tmp_path / "docs")
    assert kotae("init", str(kb), "--encrypt", key=PASSPHRASE).returncode == 0
    steps = [
        ("ingest", str(docs)),
        ("search", CANARY),
        ("search", CANARY_JA, "--json"),
        ("ask", f"{CANARY_JA} とは何ですか？"),
        ("docs", "list"),
        ("docs", "show", "1"),
        ("status",),
    ]
    for step in steps:
        done = kotae(*step, kb=kb, key=PASSPHRASE)
        assert done.returncode == 0, (step, done.stderr)
    shown = kotae("search", CANARY_JA, "--json", kb=kb, key=PASSPHRASE).stdout
    assert CANARY_JA in shown  # the search works on the decrypted text...
    assert not (kb / "index").exists()  # ...through indexes that exist in memory only
    assert canaries_in(kb) == []
    assert "[security]" in (kb / CONFIG_FILE).read_text("utf-8")


def test_canaries_absent_after_a_kill_in_the_middle_of_an_ingestion(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    docs = canary_docs(tmp_path / "docs", count=60)
    init_kb(kb, encrypt=True, key_file=_key_file(tmp_path, RAW_KEY)).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTAE_MASTER")}
    rng = random.Random(int(os.environ.get("KOTAE_TEST_SEED", "13")))
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(CRASH_WORKER), str(kb), str(docs), "3", "0.01", "100000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "opened"
        for _ in range(rng.randint(1, 20)):
            proc.stdout.readline()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # the -wal and -shm files of the killed writer are still there
        assert canaries_in(kb) == [], sorted(p.name for p in kb.iterdir())
    with KnowledgeBase(kb) as base:
        assert base.catalog.counts()["documents"] >= 1
    assert canaries_in(kb) == []


def _key_file(folder: Path, secret: str) -> Path:
    path = folder / "master.key"
    path.write_text(secret + "\n", "utf-8")
    return path


# -- keys -------------------------------------------------------------------------------
@pytest.fixture
def encrypted_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb), "--encrypt", key=RAW_KEY).returncode == 0
    assert kotae("ingest", str(SAMPLES / "経費精算規程.md"), kb=kb, key=RAW_KEY).returncode == 0
    assert kotae("search", "経費", kb=kb, key=RAW_KEY).returncode == 0  # -wal, -shm as they are
    return kb


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (OTHER_KEY, "does not open"),
        ("a wrong passphrase", "does not open"),
        (None, "is encrypted: give its master key"),
        ("short", "too short"),
    ],
)
def test_a_wrong_or_missing_key_is_one_line_and_touches_nothing(
    encrypted_kb: Path, key: str | None, says: str
) -> None:
    before = snapshot(encrypted_kb)
    for command in (("status",), ("search", "経費"), ("ingest", str(SAMPLES)), ("docs", "list")):
        done = kotae(*command, kb=encrypted_kb, key=key)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr
        assert RAW_KEY not in done.stderr + done.stdout
        assert snapshot(encrypted_kb) == before
    with pytest.raises(EncryptionKeyError):
        KnowledgeBase(encrypted_kb, cipher=Cipher(bytes.fromhex(OTHER_KEY)))
    assert snapshot(encrypted_kb) == before


def test_a_key_for_a_plain_kb_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    assert kotae("ingest", str(SAMPLES / "経費精算規程.md"), kb=kb).returncode == 0
    before = snapshot(kb)
    done = kotae("search", "経費", kb=kb, key=RAW_KEY)
    assert done.returncode == 2 and "not encrypted" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and RAW_KEY not in done.stderr
    assert snapshot(kb) == before
    again = kotae("init", str(kb), "--encrypt", key=RAW_KEY)  # not converted in place
    assert again.returncode == 2 and "not encrypted" in again.stderr
    assert snapshot(kb) == before


def test_init_encrypt_without_a_key_creates_nothing(tmp_path: Path) -> None:
    done = kotae("init", str(tmp_path / "kb"), "--encrypt")
    assert done.returncode == 2 and "needs a master key" in done.stderr
    assert not (tmp_path / "kb").exists()


def test_a_key_file_is_recorded_by_path_and_found_again(tmp_path: Path) -> None:
    kb, key_file = tmp_path / "kb", _key_file(tmp_path, PASSPHRASE)
    assert kotae("init", str(kb), "--encrypt", "--key-file", str(key_file)).returncode == 0
    config = (kb / CONFIG_FILE).read_text("utf-8")
    assert str(key_file) in config and PASSPHRASE not in config
    assert kotae("ingest", str(SAMPLES / "経費精算規程.md"), kb=kb).returncode == 0
    assert "経費" in kotae("search", "経費", kb=kb).stdout


# -- same results as a plain knowledge base ---------------------------------------------
QUERIES = ["経費の申請期限", "VPN 接続", "SP-200の価格改定", "paid leave", "情報セキュリティ"]


def _build(path: Path, *, encrypt: bool) -> KnowledgeBase:
    kb = init_kb(path, encrypt=encrypt)
    kb.ingest(sorted(p for p in SAMPLES.glob("*.*")))
    kb.ingest([SAMPLES / "confidential"], groups=["executives"])
    return kb


def test_results_are_those_of_a_plain_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kotae.answer import answer_question

    plain = _build(tmp_path / "plain", encrypt=False)
    monkeypatch.setenv("KOTAE_MASTER_KEY", PASSPHRASE)
    _build(tmp_path / "enc", encrypt=True).close()
    encrypted = KnowledgeBase(tmp_path / "enc")  # reopened: indexes rebuilt in memory
    monkeypatch.delenv("KOTAE_MASTER_KEY")
    try:
        for access in (Access.public(), Access(frozenset({"executives"})), Access.everything()):
            for query in QUERIES:
                a = plain.search(query, k=8, access=access, log=False)
                b = encrypted.search(query, k=8, access=access, log=False)
                assert [(r.chunk_id, r.title, r.text) for r in a] == [
                    (r.chunk_id, r.title, r.text) for r in b
                ]
                assert [r.score for r in a] == pytest.approx([r.score for r in b])

        def listed(kb: KnowledgeBase) -> list[dict[str, object]]:
            rows = [asdict(d) for d in kb.documents()]
            return [{k: v for k, v in d.items() if not k.endswith("_at")} for d in rows]

        assert listed(plain) == listed(encrypted)
        for query in ("経費の申請期限はいつ？", "How many days of paid leave?"):
            a1 = answer_question(plain, query, access=Access.public())
            a2 = answer_question(encrypted, query, access=Access.public())
            assert a1.text == a2.text
    finally:
        plain.close()
        encrypted.close()
    assert not (tmp_path / "enc" / "index").exists()


def test_the_in_memory_index_is_rebuilt_from_the_stored_terms_or_by_analyzing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_MASTER_KEY", PASSPHRASE)
    _build(tmp_path / "enc", encrypt=True).close()
    with KnowledgeBase(tmp_path / "enc") as kb:
        chunks = kb.catalog.counts()["chunks"]
        stored = kb.catalog.chunk_terms([r.id for r in kb.catalog.all_chunks()], kb.analyzer_id)
        assert chunks > 0 and len(stored) == chunks  # every chunk's fields, as ingested
        expected = {q: [r.chunk_id for r in kb.search(q, k=8, log=False)] for q in QUERIES}
        kb.catalog.con.execute("DELETE FROM chunk_terms WHERE chunk_id % 2 = 0")
    with KnowledgeBase(tmp_path / "enc") as kb:  # half stored, half analyzed again
        assert {q: [r.chunk_id for r in kb.search(q, k=8, log=False)] for q in QUERIES} == expected
        assert kb.catalog.chunk_terms([1], "another/analyzer") == {}


def test_a_second_connection_follows_the_writer_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_MASTER_KEY", RAW_KEY)
    kb = init_kb(tmp_path / "kb", encrypt=True)
    reader = KnowledgeBase(tmp_path / "kb", sync=False)
    try:
        assert reader.search("経費", log=False) == []
        kb.ingest([SAMPLES / "経費精算規程.md"])
        reader.refresh()
        assert reader.search("経費", log=False)
        kb.remove_documents([d.id for d in kb.documents()])
        reader.refresh()
        assert reader.search("経費", log=False) == []
    finally:
        reader.close()
        kb.close()


# -- the server -------------------------------------------------------------------------
def test_the_server_searches_an_encrypted_kb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from kotae.security.auth import create_key, set_role
    from kotae.server.app import create_app

    monkeypatch.setenv("KOTAE_MASTER_KEY", PASSPHRASE)
    path = tmp_path / "kb"
    with _build(path, encrypt=True) as kb:
        kb.set_user("aoki", [])
        set_role(kb.catalog, "aoki", "admin")
        key = create_key(kb.catalog, "aoki", name="test")[0]
    config = path / CONFIG_FILE
    config.write_text(config.read_text("utf-8") + "\n[server]\nrate_limit_per_minute = 0\n")
    app = create_app(load_settings(config), path)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        found = client.get("/api/search", params={"q": "経費の申請期限"}, headers=auth)
        assert found.status_code == 200, found.text
        assert any("経費" in r["title"] for r in found.json()["results"])
        upload = client.post(
            "/api/documents",
            files={"files": ("canary.md", f"# カナリア\n\n{CANARY} {CANARY_JA}".encode())},
            headers=auth,
        )
        assert upload.status_code == 202, upload.text
        job = upload.json()["status_url"]
        for _ in range(200):
            status = client.get(job, headers=auth).json()["status"]
            if status not in ("queued", "running"):
                break
            time.sleep(0.05)
        assert status == "done"
        hits = client.get("/api/search", params={"q": CANARY}, headers=auth).json()["results"]
        assert hits and CANARY in hits[0]["text"]
    assert not (path / "index").exists()
    assert canaries_in(path) == []  # the upload is kept sealed, not in plaintext
    (sealed,) = list(sealed_files(path / "uploads"))
    cipher = cipher_of(path, PASSPHRASE)
    assert CANARY_JA in read_sealed(sealed, cipher).decode()


# -- rekey ------------------------------------------------------------------------------
def _rekey_kb(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """An encrypted knowledge base (key RAW_KEY) with sealed uploads; their plaintexts."""
    kb_dir = tmp_path / "kb"
    with init_kb(kb_dir, encrypt=True, key_file=_key_file(tmp_path, RAW_KEY)) as kb:
        kb.ingest([SAMPLES])
        rng = random.Random(7)
        originals: dict[str, bytes] = {}
        for i in range(40):
            name = f"uploads/job{i % 4}/file{i}.txt"
            data = f"{CANARY} {i} " + "".join(rng.choice("あいうえお") for _ in range(40_000))
            write(kb_dir / name, data)
            originals[name] = data.encode()
        assert kb.cipher is not None
        seal_all(kb_dir / "uploads", kb.cipher)
    # the key file named in kotae.toml would win over the test's environment: forget it
    config = kb_dir / CONFIG_FILE
    lines = config.read_text("utf-8").splitlines()
    config.write_text("\n".join(line for line in lines if not line.startswith("key_file")))
    return kb_dir, originals


def _opens_with(kb_dir: Path, secret: str, originals: dict[str, bytes]) -> bool:
    try:
        kb = KnowledgeBase(kb_dir, cipher=cipher_of(kb_dir, secret))
    except EncryptionKeyError:
        return False
    with kb:
        assert kb.search("経費の申請期限", log=False)
        assert kb.cipher is not None
        for name, data in originals.items():
            assert read_sealed(kb_dir / name, kb.cipher) == data, name
    return True


def _run_rekey(kb_dir: Path, old: str, new: str, kill_after: float | None) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOTAE_MASTER", "KOTAE_NEW"))}
    env.update(KOTAE_MASTER_KEY=old, KOTAE_NEW_MASTER_KEY=new)
    proc = subprocess.Popen(
        [sys.executable, str(REKEY_WORKER), str(kb_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    started = time.perf_counter()
    if kill_after is None:
        proc.wait(timeout=120)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    else:
        time.sleep(kill_after)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return time.perf_counter() - started


def test_rekey_then_only_the_new_key_opens(tmp_path: Path) -> None:
    kb_dir, originals = _rekey_kb(tmp_path)
    done = kotae("rekey", kb=kb_dir, key=RAW_KEY, env={"KOTAE_NEW_MASTER_KEY": PASSPHRASE})
    assert done.returncode == 0, done.stderr
    assert not _opens_with(kb_dir, RAW_KEY, originals)
    assert _opens_with(kb_dir, PASSPHRASE, originals)
    assert plain_files(kb_dir / "uploads") == []
    assert not list((kb_dir / "uploads").rglob("*.rekey")) and canaries_in(kb_dir) == []
    same = kotae("rekey", kb=kb_dir, key=PASSPHRASE, env={"KOTAE_NEW_MASTER_KEY": PASSPHRASE})
    assert same.returncode == 2 and "is the current one" in same.stderr


def test_rekey_killed_at_random_points_leaves_the_old_or_the_new_key(tmp_path: Path) -> None:
    kb_dir, originals = _rekey_kb(tmp_path)
    spare = tmp_path / "spare"
    shutil.copytree(kb_dir, spare)
    duration = _run_rekey(spare, RAW_KEY, PASSPHRASE, None)  # how long one takes here
    seed = int(os.environ.get("KOTAE_TEST_SEED", str(random.randrange(10**6))))
    rng = random.Random(seed)
    current, other = RAW_KEY, PASSPHRASE
    outcomes = []
    for _ in range(8):
        _run_rekey(kb_dir, current, other, rng.uniform(0, duration * 1.2))
        old_ok = _opens_with(kb_dir, current, originals)
        new_ok = _opens_with(kb_dir, other, originals)
        assert old_ok != new_ok, (seed, outcomes, old_ok, new_ok)  # exactly one: never neither
        outcomes.append("new" if new_ok else "old")
        if new_ok:
            current, other = other, current
    assert canaries_in(kb_dir) == []
    # a writer opening with the current key settles what a kill left: one copy per file
    _run_rekey(kb_dir, current, other, None)
    assert not list((kb_dir / "uploads").rglob("*.rekey"))
    assert _opens_with(kb_dir, other, originals), (seed, outcomes)
