"""Crash safety: ingestion SIGKILLed at random points never leaves a document half in.

A worker process (``tests/crash_worker.py``) ingests a folder of Markdown files while the test
kills it: sometimes by time (during start-up, while opening and catching up indexes, early in
the run), mostly after a random number of files (before, during or after a catalog or lexical
commit), sometimes near the end. Runs alternate between adding new files and changing every
existing one. Every version of a file carries a marker word of its own in every sentence, so
a torn document (chunks of two versions) is visible in the catalog and in the index.

After each kill the knowledge base must open (catching up the lexical index) and be
consistent: SQLite integrity, every document fully one version that was written to its file
(matching content hash, contiguous ordinals), versions never going back, and the lexical
index holding exactly the catalog's chunks. A last uninterrupted run must bring every file to
its latest version. ``KOTAE_CRASH_SEED`` replays a run.

The worker runs in a session of its own and a kill takes its whole process group, the forked
term-analysis pool included; a kill of the worker alone is the subject of its own test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kotae.documents import load_document
from kotae.documents.chunking import chunk_document
from kotae.index.lexical import FieldWeights
from kotae.kb import DB_FILE, Access, KnowledgeBase, init_kb, open_kb

WORKER = Path(__file__).with_name("crash_worker.py")
COMMON_WORD = "allchunkq"  # in every sentence of every file: a query that matches every chunk
MARKER = re.compile(r"\bzq([a-z]{2})([a-z]{2})q\b")
WORDS_ONLY = FieldWeights(words=1.0, grams=0.0, pairs=0.0)  # exact word terms, no n-grams
PARAGRAPHS = 20
WORKER_TIMEOUT_S = 60.0
FILLER = (
    "経費", "申請", "出張", "宿泊費", "上限", "承認", "会議", "予算", "契約", "規程", "領収書",
    "budget", "travel", "expense", "policy", "approval", "meeting", "contract", "invoice",
)  # fmt: skip


def letters(n: int) -> str:
    """Two letters for 0 <= n < 676: markers stay one Latin word for every analyzer."""
    return chr(97 + n // 26) + chr(97 + n % 26)


def marker(file_no: int, version: int) -> str:
    return f"zq{letters(file_no)}{letters(version)}q"


def parse_marker(text: str) -> set[tuple[int, int]]:
    def number(two: str) -> int:
        return (ord(two[0]) - 97) * 26 + ord(two[1]) - 97

    return {(number(a), number(b)) for a, b in MARKER.findall(text)}


@dataclass
class Corpus:
    """The files on disk and every version ever written to each."""

    root: Path
    rng: random.Random
    chunking: tuple[int, int]  # (max tokens, overlap tokens) of the knowledge base
    hashes: dict[int, dict[int, str]] = field(default_factory=dict)  # file -> version -> sha256
    chunks: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # texts per version
    next_version: int = 1

    def path(self, file_no: int) -> Path:
        return self.root / f"doc_{file_no:03d}.md"

    def latest(self, file_no: int) -> int:
        return max(self.hashes[file_no])

    def _write(self, file_no: int, version: int) -> None:
        tag = marker(file_no, version)
        paragraphs = []
        for _ in range(PARAGRAPHS):
            sentences = [
                f"{tag} {' '.join(self.rng.choices(FILLER, k=8))} {COMMON_WORD} について定める。"
                for _ in range(3)
            ]
            paragraphs.append("".join(sentences))
        text = f"# 文書 {file_no}\n\n" + "\n\n".join(paragraphs) + "\n"
        data = text.encode("utf-8")
        self.path(file_no).write_bytes(data)
        self.hashes.setdefault(file_no, {})[version] = hashlib.sha256(data).hexdigest()
        loaded = load_document(self.path(file_no))
        texts = [c.text for c in chunk_document(loaded, *self.chunking)]
        assert len(texts) > 1, "each file version must make several chunks"
        self.chunks[file_no, version] = texts

    def add_files(self, count: int) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        start = len(self.hashes)
        for file_no in range(start, start + count):
            self._write(file_no, self.next_version)
        self.next_version += 1
        return count

    def change_files(self) -> int:
        for file_no in self.hashes:
            self._write(file_no, self.next_version)
        self.next_version += 1
        return len(self.hashes)


def new_kb(kb_dir: Path) -> tuple[int, int]:
    """Create the knowledge base; returns its chunking settings."""
    with init_kb(kb_dir) as kb:
        return kb.settings.chunking.max_tokens, kb.settings.chunking.overlap_tokens


@dataclass(frozen=True)
class KillPlan:
    after_files: int | None  # kill once this many "file" lines were read, else by time
    delay_s: float  # after the files (or after the start when by time)
    batch_chunks: int = 50
    commit_seconds: float = 0.2
    pool: bool = False  # term analysis in a process pool (forked workers) or in-process


def plan_kill(rng: random.Random, kind: str, files: int) -> KillPlan:
    batch = rng.choice((20, 50, 50, 2000))
    commit = rng.choice((0.0, 0.2, 10.0))
    pool = rng.random() < 0.5
    if kind == "early":
        return KillPlan(None, rng.uniform(0.05, 1.5), batch, commit, pool)
    after = rng.randint(max(1, files - 3), files) if kind == "late" else rng.randint(1, files)
    return KillPlan(after, rng.uniform(0, 0.2 if kind == "late" else 0.03), batch, commit, pool)


def start_worker(kb_dir: Path, docs: Path, plan: KillPlan) -> subprocess.Popen[str]:
    """The worker in a session of its own, so that a kill can take its pool workers too."""
    args = [sys.executable, str(WORKER), str(kb_dir), str(docs)]
    args += [str(plan.batch_chunks), str(plan.commit_seconds), "10000" if plan.pool else "0"]
    env = {**os.environ, "KOTAE_ANALYZER_WORKERS": "2" if plan.pool else "0"}
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip


def read_files(proc: subprocess.Popen[str], count: int) -> int:
    """Read the worker's lines until ``count`` files are done (or it ends); returns the count."""
    assert proc.stdout is not None
    seen = 0
    while seen < count:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line.startswith("file")
    return seen


def kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_worker(kb_dir: Path, docs: Path, plan: KillPlan, *, kill: bool = True) -> int:
    """Run one ingestion; SIGKILL it (and its pool) as ``plan`` says. Returns its exit status."""
    proc = start_worker(kb_dir, docs, plan)
    try:
        if kill:
            if plan.after_files is not None:
                read_files(proc, plan.after_files)
            time.sleep(plan.delay_s)
            kill_group(proc)
        _, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
    finally:
        kill_group(proc)
        proc.wait()
    assert proc.returncode in (0, -signal.SIGKILL), f"worker failed: {err}"
    return proc.returncode


def generations(kb_dir: Path) -> tuple[int, int]:
    """(catalog, lexical index) generations on disk, read without opening the knowledge base."""
    con = sqlite3.connect(kb_dir / DB_FILE)
    try:
        row = con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    finally:
        con.close()
    index_meta = kb_dir / "index" / "lexical" / "index.json"
    lexical = json.loads(index_meta.read_text("utf-8"))["generation"] if index_meta.exists() else -1
    return int(row[0]), int(lexical)


def check_document_versions(kb: KnowledgeBase, corpus: Corpus, seen: dict[int, int]) -> set[int]:
    """Every document fully one written version; returns all catalog chunk ids."""
    all_ids: set[int] = set()
    for doc in kb.documents():
        chunks = list(kb.catalog.chunks_of([doc.id]))
        assert [c.ordinal for c in chunks] == list(range(doc.chunk_count)), doc.source
        per_chunk = [parse_marker(c.text) for c in chunks]
        assert all(len(m) == 1 for m in per_chunk), f"{doc.source}: torn or unmarked chunks"
        versions = set().union(*per_chunk)
        assert len(versions) == 1, f"{doc.source}: torn document, versions {sorted(versions)}"
        ((file_no, version),) = versions
        assert doc.source == str(corpus.path(file_no).resolve())
        assert doc.content_hash == corpus.hashes[file_no][version], f"{doc.source}: hash"
        assert [c.text for c in chunks] == corpus.chunks[file_no, version], f"{doc.source}: torn"
        assert version >= seen.get(file_no, 0), f"{doc.source}: went back to version {version}"
        seen[file_no] = version
        ids = {c.id for c in chunks}
        found = kb.lexical.search(
            kb.tokenizer.analyze(marker(file_no, version)), 10_000, WORDS_ONLY,
            Access.everything().acl_terms(),
        )  # fmt: skip
        assert {chunk_id for chunk_id, _ in found} == ids, f"{doc.source}: index != catalog"
        all_ids |= ids
    return all_ids


def check_consistent(kb_dir: Path, corpus: Corpus, seen: dict[int, int]) -> int:
    """Open the knowledge base after a crash and check it whole; returns its document count."""
    with open_kb(kb_dir) as kb:
        assert kb.catalog.con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert kb.catalog.con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert kb.lexical.generation == kb.catalog.generation()
        catalog_ids = check_document_versions(kb, corpus, seen)
        counts = kb.catalog.counts()
        assert counts["chunks"] == len(catalog_ids)
        assert kb.lexical.num_chunks() == counts["chunks"]
        everything = kb.lexical.search(
            kb.tokenizer.analyze(COMMON_WORD), counts["chunks"] + 100, WORDS_ONLY, None
        )
        assert {chunk_id for chunk_id, _ in everything} == catalog_ids
        hits = kb.search(COMMON_WORD, counts["chunks"] + 100, Access.everything())
        assert {h.chunk_id for h in hits} == catalog_ids
        return counts["documents"]


@pytest.mark.slow
def test_sigkill_during_ingestion_never_tears_a_document(tmp_path: Path) -> None:
    seed = int(os.environ.get("KOTAE_CRASH_SEED", random.randrange(1 << 32)))
    print(f"KOTAE_CRASH_SEED={seed}")
    rng = random.Random(seed)
    kb_dir = tmp_path / "kb"
    corpus = Corpus(tmp_path / "docs", rng, new_kb(kb_dir))
    corpus.add_files(30)
    kinds = ["early"] * 3 + ["late"] * 3 + ["files"] * 8
    rng.shuffle(kinds)
    seen: dict[int, int] = {}
    outcomes: list[tuple[str, KillPlan, int, int, str]] = []
    documents = 0
    for i, kind in enumerate(kinds):
        files = corpus.change_files() if i % 2 else corpus.add_files(10)
        plan = plan_kill(rng, kind, len(corpus.hashes))
        if i == 1:  # once for sure: catalog batches committed, lexical index not yet
            plan = KillPlan(files // 2, 0.0, batch_chunks=20, commit_seconds=10.0, pool=True)
        before, _ = generations(kb_dir)
        status = run_worker(kb_dir, corpus.root, plan)
        catalog, lexical = generations(kb_dir)
        state = (
            "no commit" if catalog == before else "index behind" if lexical < catalog else "in sync"
        )
        count = check_consistent(kb_dir, corpus, seen)
        assert count >= documents, f"seed {seed}: documents lost"
        documents = count
        outcomes.append((kind, plan, files, status, state))
    for outcome in outcomes:
        print(*outcome)
    killed = [o for o in outcomes if o[3] == -signal.SIGKILL]
    assert len(killed) >= len(kinds) // 2, f"seed {seed}: most runs ended before the kill"
    assert any(o[3] == -signal.SIGKILL and o[4] == "index behind" for o in outcomes), seed

    assert run_worker(kb_dir, corpus.root, KillPlan(None, 0.0, pool=True), kill=False) == 0
    check_consistent(kb_dir, corpus, seen)
    assert seen == {file_no: corpus.latest(file_no) for file_no in corpus.hashes}, seed


def test_a_reader_opens_the_kb_while_an_ingestion_runs(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    corpus = Corpus(tmp_path / "docs", random.Random(0), new_kb(kb_dir))
    corpus.add_files(40)
    proc = start_worker(kb_dir, corpus.root, KillPlan(None, 0.0, 20, commit_seconds=10.0))
    try:
        # several batches in the catalog, none committed to the lexical index yet
        assert read_files(proc, 20) == 20, "the ingestion ended early"
        proc.send_signal(signal.SIGSTOP)  # frozen mid-run, holding tantivy's IndexWriter
        with open_kb(kb_dir) as kb:  # must not try to catch up the index the writer holds
            hits = kb.search(COMMON_WORD, 10_000, Access.everything())
            catalog = {c.id for c in kb.catalog.all_chunks()}
            assert catalog and {h.chunk_id for h in hits} <= catalog
        proc.send_signal(signal.SIGCONT)
        proc.communicate(timeout=WORKER_TIMEOUT_S)
        assert proc.returncode == 0
        check_consistent(kb_dir, corpus, {})
    finally:
        proc.send_signal(signal.SIGCONT)
        kill_group(proc)
        proc.wait()


@pytest.mark.slow
def test_an_ingestion_killed_alone_leaves_no_process_holding_the_kb(tmp_path: Path) -> None:
    import psutil

    kb_dir = tmp_path / "kb"
    corpus = Corpus(tmp_path / "docs", random.Random(0), new_kb(kb_dir))
    corpus.add_files(40)
    proc = start_worker(kb_dir, corpus.root, KillPlan(None, 0.0, 20, pool=True))
    pool: list[psutil.Process] = []
    try:
        assert read_files(proc, 10) == 10, "the ingestion ended early"
        pool = psutil.Process(proc.pid).children(recursive=True)
        assert pool, "no analysis pool was started"
        proc.send_signal(signal.SIGKILL)  # the process only, as the OOM killer does
        proc.wait(timeout=WORKER_TIMEOUT_S)
        _, alive = psutil.wait_procs(pool, timeout=2)
        assert not alive, f"orphaned analysis workers: {[p.pid for p in alive]}"
    finally:
        for worker in pool:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()
        kill_group(proc)
        proc.wait()
    plan = KillPlan(None, 0.0, pool=True)
    assert run_worker(kb_dir, corpus.root, plan, kill=False) == 0
    check_consistent(kb_dir, corpus, {})
