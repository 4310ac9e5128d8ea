"""Hostile and huge files through ``kotae ingest`` as a user runs it: each refused with one
line, the other files ingested, peak memory of the process measured and bounded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kotae.kb import Access, open_kb
from tests import bombs
from tests.conftest import write

MAX_RSS_MB = 500
SECRET = "TOPSECRET-zqleakq"
# Runs the command as its only child and prints the child's peak RSS (KiB) last on stderr.
MEASURE = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(p.stdout)\n"
    "sys.stderr.write(p.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(p.returncode)\n"
)


def kotae(*args: str, measure: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "kotae.cli.main", *args]
    if measure:
        command = [sys.executable, "-c", MEASURE, *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_hostile_folder_is_refused_file_by_file_within_500_mb(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    secret_txt = write(outside / "secret.txt", SECRET)
    secret_md = write(outside / "secret.md", f"# 秘密\n\n{SECRET}")
    docs = tmp_path / "docs"
    write(docs / "ok.md", "# 普通\n\n普通の文書です zqokq")
    bombs.real_docx(docs / "ok.docx", "普通のWord文書です zqwordq")
    bad = {
        "bomb.docx": bombs.zip_bomb_docx(docs / "bomb.docx", 1 << 30),  # 1 GB inflated
        "pad.xlsx": bombs.ratio_bomb_xlsx(docs / "pad.xlsx", 50 << 20),
        "deep.docx": bombs.deep_docx(docs / "deep.docx", 60_000),
        "xxe.docx": bombs.xxe_docx(docs / "xxe.docx", secret_txt),
        "xxe.odt": bombs.xxe_odt(docs / "xxe.odt", secret_txt),
        "deep.html": write(docs / "deep.html", "<div>" * 100_000 + "x" + "</div>" * 100_000),
    }
    (docs / "link.md").symlink_to(secret_md)
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0

    run = kotae("ingest", str(docs), "--kb", str(kb), measure=True)
    *lines, rss_line = run.stderr.strip().splitlines()
    peak_mb = int(rss_line) / 1024
    print(f"peak RSS of kotae ingest over the hostile folder: {peak_mb:.0f} MB")
    assert run.returncode == 1, run.stderr
    assert "added 2," in run.stdout and f"failed {len(bad) + 1};" in run.stdout
    assert len(lines) == len(bad) + 1  # one line per refused file, nothing else
    for name in [*bad, "link.md"]:
        (line,) = [x for x in lines if f"/docs/{name}:" in x]
        assert line.startswith("failed ") and ": refused: " in line, line
    assert "exceeds [ingest] max_uncompressed_bytes" in next(x for x in lines if "bomb" in x)
    assert "--follow-symlinks" in next(x for x in lines if "link.md" in x)
    assert peak_mb < MAX_RSS_MB

    with open_kb(kb) as base:
        texts = [r.text for r in base.catalog.all_chunks()]
        assert len(base.documents()) == 2 and not any(SECRET in t for t in texts)
        assert base.search(SECRET, k=5, access=Access.everything()) == []
        assert base.search("zqwordq", k=1)[0].source.endswith("ok.docx")


def test_follow_symlinks_reads_a_link_out_of_the_folder(tmp_path: Path) -> None:
    secret = write(tmp_path / "outside" / "linked.md", "# 外部\n\n外のファイル zqlinkedq")
    docs = tmp_path / "docs"
    write(docs / "ok.md", "# 普通\n\n普通の文書です")
    (docs / "link.md").symlink_to(secret)
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    refused = kotae("ingest", str(docs), "--kb", str(kb))
    assert refused.returncode == 1 and "added 1," in refused.stdout
    (line,) = refused.stderr.strip().splitlines()
    assert "link.md: refused: symbolic link to" in line and "--follow-symlinks" in line
    followed = kotae("ingest", str(docs), "--kb", str(kb), "--follow-symlinks")
    assert followed.returncode == 0 and "added 1," in followed.stdout, followed.stderr
    with open_kb(kb) as base:
        assert base.search("zqlinkedq", k=1)[0].source == str(docs.resolve() / "link.md")
