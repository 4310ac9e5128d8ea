"""``--sync`` loses no document: random sequences of edits, injected failures and syncs
(folder, single file, JSONL corpus) compared with a model of what must remain, and a sync
SIGKILLed part-way.

The model: after a sync over a path, a file that reads holds its current version, a file
that fails to read (invalid JSON, a malformed JSONL line) keeps the version it had, and a
file deleted from the folder is gone. Injections are parser failures, which work as root.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kotae.kb import KnowledgeBase, init_kb, open_kb

MARKER = re.compile(r"zq(\d+)v(\d+)q")
N_FILES = 4
N_RECORDS = 3


@dataclass
class Folder:
    """The files on disk and, per source, the version the knowledge base must hold."""

    root: Path
    json_versions: dict[int, int] = field(default_factory=dict)  # file -> version on disk
    broken: set[int] = field(default_factory=set)  # files whose JSON does not parse
    records: dict[int, int] = field(default_factory=dict)  # JSONL record -> version
    jsonl_broken: bool = False
    expected: dict[str, int] = field(default_factory=dict)  # source -> version held
    clock: int = 0

    def json_path(self, n: int) -> Path:
        return self.root / f"f{n}.json"

    @property
    def jsonl_path(self) -> Path:
        return self.root / "corpus.jsonl"

    def write_json(self, n: int) -> None:
        self.clock += 1
        self.json_versions[n] = self.clock
        self.broken.discard(n)
        self.json_path(n).write_text(json.dumps({"本文": f"規程 zq{n}v{self.clock}q"}), "utf-8")

    def break_json(self, n: int) -> None:
        if n in self.json_versions:
            self.broken.add(n)
            self.json_path(n).write_text('{"本文": "truncated', "utf-8")

    def delete_json(self, n: int) -> None:
        if n in self.json_versions:
            del self.json_versions[n]
            self.broken.discard(n)
            self.json_path(n).unlink()

    def write_record(self, r: int, delete: bool) -> None:
        self.clock += 1
        if delete:
            self.records.pop(r, None)
        else:
            self.records[r] = self.clock
        self._write_jsonl()

    def set_jsonl_broken(self, broken: bool) -> None:
        self.jsonl_broken = broken
        self._write_jsonl()

    def _write_jsonl(self) -> None:
        lines = [
            json.dumps({"id": f"r{r}", "text": f"記録 zq{100 + r}v{v}q"})
            for r, v in sorted(self.records.items())
        ]
        if self.jsonl_broken:
            lines.insert(len(lines) // 2, "{malformed")
        if lines:
            self.jsonl_path.write_text("\n".join(lines) + "\n", "utf-8")
        else:
            self.jsonl_path.unlink(missing_ok=True)

    def synced(self, target: Path) -> None:
        """What a successful ``ingest TARGET --sync`` must leave for TARGET's sources."""
        for n in range(N_FILES):
            path = str(self.json_path(n).resolve())
            if target != self.root and target != self.json_path(n):
                continue
            if n not in self.json_versions:
                self.expected.pop(path, None)
            elif n not in self.broken:
                self.expected[path] = self.json_versions[n]
        if target in (self.root, self.jsonl_path) and not self.jsonl_broken:
            prefix = str(self.jsonl_path.resolve())
            for source in [s for s in self.expected if s.startswith(prefix + "#")]:
                del self.expected[source]
            for r, v in self.records.items():
                self.expected[f"{prefix}#r{r}"] = v


def held(kb: KnowledgeBase) -> dict[str, int]:
    """source -> the version its chunks carry (every chunk must carry the same one)."""
    out: dict[str, int] = {}
    rows = kb.catalog.con.execute(
        "SELECT d.source, c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
    ).fetchall()
    for source, text in rows:
        versions = {int(v) for _, v in MARKER.findall(text)}
        assert len(versions) == 1, (source, text)
        version = versions.pop()
        assert out.setdefault(source, version) == version
    return out


OPS = st.one_of(
    st.tuples(st.just("write"), st.integers(0, N_FILES - 1)),
    st.tuples(st.just("break"), st.integers(0, N_FILES - 1)),
    st.tuples(st.just("delete"), st.integers(0, N_FILES - 1)),
    st.tuples(st.just("record"), st.integers(0, N_RECORDS - 1)),
    st.tuples(st.just("unrecord"), st.integers(0, N_RECORDS - 1)),
    st.tuples(st.just("jsonl_broken"), st.booleans()),
    st.tuples(st.just("sync"), st.sampled_from(["folder", "jsonl", "file0", "file1"])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=14))
def test_sync_never_loses_what_failed_to_read(ops: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory(prefix="kotae-sync-prop-") as tmp:
        root = Path(tmp) / "docs"
        root.mkdir()
        folder = Folder(root)
        for n in range(N_FILES):  # start from a folder ingested whole
            folder.write_json(n)
        for r in range(N_RECORDS):
            folder.write_record(r, delete=False)
        with init_kb(Path(tmp) / "kb") as kb:
            for op, arg in [("sync", "folder"), *ops, ("sync", "folder")]:
                if op == "sync":
                    target = {
                        "folder": root,
                        "jsonl": folder.jsonl_path,
                        "file0": folder.json_path(0),
                        "file1": folder.json_path(1),
                    }[str(arg)]
                    if not target.exists():
                        continue
                    report = kb.ingest([target], sync=True)
                    folder.synced(target)
                    assert held(kb) == folder.expected, (ops, report.to_dict())
                elif op == "write":
                    folder.write_json(int(str(arg)))
                elif op == "break":
                    folder.break_json(int(str(arg)))
                elif op == "delete":
                    folder.delete_json(int(str(arg)))
                elif op in ("record", "unrecord"):
                    folder.write_record(int(str(arg)), delete=op == "unrecord")
                else:
                    folder.set_jsonl_broken(bool(arg))


# ---------------------------------------------------------------- a sync killed part-way

WORKER = """
import sys
from pathlib import Path
import kotae.ingest
from kotae.kb import open_kb
kotae.ingest.BATCH_CHUNKS = 1
with open_kb(sys.argv[1]) as kb:
    kb.ingest([Path(sys.argv[2])], sync=True, progress=lambda s, d: print("file", flush=True))
print("done", flush=True)
"""


def run_sync_killed_after(kb_dir: Path, docs: Path, files: int) -> bool:
    """Run a sync in its own process; SIGKILL it (and its pool) after ``files`` files.
    Returns whether the kill landed before the run ended."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(kb_dir), str(docs)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen = 0
    killed = False
    for line in proc.stdout:
        seen += line.startswith("file")
        if seen >= files:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
    proc.wait(timeout=60)
    return killed


def test_a_killed_sync_loses_no_document(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    folder = Folder(docs)
    docs.mkdir()
    for n in range(N_FILES):
        folder.write_json(n)
    for r in range(N_RECORDS):
        folder.write_record(r, delete=False)
    kb_dir = tmp_path / "kb"
    with init_kb(kb_dir) as kb:
        kb.ingest([docs])
    folder.synced(docs)
    before = dict(folder.expected)
    folder.write_json(0)  # changed
    folder.break_json(1)  # fails to read: keeps its version
    folder.delete_json(2)  # really gone
    folder.write_record(0, delete=False)
    folder.set_jsonl_broken(True)  # the corpus fails whole: keeps every record
    for stop in (1, 2, 3):
        assert run_sync_killed_after(kb_dir, docs, stop)
        with open_kb(kb_dir) as kb:
            now = held(kb)
        # nothing removed before the run ends, each document one whole version
        assert set(now) == set(before)
        assert all(now[s] in (v, folder.json_versions.get(0)) for s, v in before.items())
    with open_kb(kb_dir) as kb:
        report = kb.ingest([docs], sync=True)
        folder.synced(docs)
        assert report.removed == 1 and held(kb) == folder.expected
        assert str(folder.json_path(1).resolve()) in held(kb)
        assert len([s for s in held(kb) if "#r" in s]) == N_RECORDS
