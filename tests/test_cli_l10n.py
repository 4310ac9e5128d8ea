"""Localized messages: the CLI speaks Japanese under a Japanese locale (or KOTAE_LANG=ja)
and English otherwise; ask and chat follow the question's language; the note that no
generator is configured is shown once per knowledge base and language.

The locale tests run the real CLI in a real pseudo-terminal, as a person types it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kotae.messages import MESSAGES, t, ui_language

CLI = [sys.executable, "-m", "kotae.cli.main"]
LOCALE_VARS = ("KOTAE_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE", "KOTAE_KB")


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    return {**env, "COLUMNS": "200", **values}


def in_terminal(args: list[str], cwd: Path, **env: str) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal; (exit code, output)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env=_env(**env),
        close_fds=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", "replace")


def piped(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, env=_env(**env), timeout=120
    )


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("l10n")
    docs = root / "docs"
    docs.mkdir()
    (docs / "経費精算規程.md").write_text(
        "# 経費精算規程\n\n経費の申請期限は、支出した月の翌月10日までとする。\n", "utf-8"
    )
    assert piped(["init", str(root / "kb")], root).returncode == 0
    return root / "kb"


def test_ui_language_follows_kotae_lang_then_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LOCALE_VARS:
        monkeypatch.delenv(name, raising=False)
    assert ui_language() == "en"
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert ui_language() == "ja"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL wins over LANG
    assert ui_language() == "en"
    monkeypatch.setenv("KOTAE_LANG", "ja")  # KOTAE_LANG wins over the locale
    assert ui_language() == "ja"
    monkeypatch.setenv("KOTAE_LANG", "en")
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")
    assert ui_language() == "en"


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    import string

    for key, (english, japanese) in MESSAGES.items():
        fields = [
            {f for _, f, _, _ in string.Formatter().parse(text) if f}
            for text in (english, japanese)
        ]
        assert fields[0] == fields[1], key
        assert japanese != english or key == "usage_error", key
    assert t("removed_documents", "ja", n=2) == "2 件の文書を削除しました"


def test_japanese_locale_in_a_terminal(kb_dir: Path) -> None:
    root = kb_dir.parent
    ja = {"LANG": "ja_JP.UTF-8"}
    code, out = in_terminal(["status", "--kb", str(root / "missing")], root, **ja)
    assert code == 2 and "kotae: エラー:" in out and "ナレッジベースがありません" in out
    code, out = in_terminal(["status"], root, **ja)  # no --kb: the library's error
    assert code == 2 and "ナレッジベースがありません" in out and "no knowledge base" not in out
    code, out = in_terminal(["search", "経費", "--kb", str(kb_dir)], root, **ja)
    assert code == 2 and "資料がありません" in out
    code, out = in_terminal(["ingest", str(root / "nothere"), "--kb", str(kb_dir)], root, **ja)
    assert code == 2 and "ファイルまたはフォルダーがありません" in out
    code, out = in_terminal(["ingest", str(root / "docs"), "--kb", str(kb_dir)], root, **ja)
    assert code == 0 and "追加 1、" in out and "added" not in out
    code, out = in_terminal(["docs", "list", "--kb", str(kb_dir)], root, **ja)
    assert code == 0 and "タイトル" in out and "経費精算規程" in out and "title" not in out
    code, out = in_terminal(["docs", "remove", "999", "--kb", str(kb_dir)], root, **ja)
    assert code == 2 and "の文書はありません" in out
    code, out = in_terminal(["search", "経費", "--as", "nobody", "--kb", str(kb_dir)], root, **ja)
    assert code == 2 and "ユーザー 'nobody' は登録されていません" in out
    code, out = in_terminal(["status", "--kb", str(kb_dir)], root, **ja)
    assert code == 0 and "文書数" in out and "全文索引" in out and "documents" not in out
    code, out = in_terminal(["search", "x", "--as", "a", "--all", "--kb", str(kb_dir)], root, **ja)
    assert code == 2 and "どれか 1 つだけ" in out
    code, out = in_terminal(["search", "--bogus", "x"], root, **ja)
    assert code == 2 and "kotae: エラー:" in out and "--bogus" in out


def test_english_locale_in_a_terminal(kb_dir: Path) -> None:
    root = kb_dir.parent
    code, out = in_terminal(["status", "--kb", str(root / "missing")], root, LANG="C.UTF-8")
    assert code == 2 and "kotae: error: " in out and "no knowledge base in" in out
    assert "エラー" not in out
    code, out = in_terminal(["docs", "list", "--kb", str(kb_dir)], root, LANG="C.UTF-8")
    assert code == 0 and "title" in out and "タイトル" not in out


def test_kotae_lang_ja_without_a_terminal(kb_dir: Path, tmp_path: Path) -> None:
    result = piped(["search", " ", "--kb", str(kb_dir)], tmp_path, KOTAE_LANG="ja", LANG="C")
    assert result.returncode == 2
    assert result.stderr.startswith("kotae: エラー: 検索語が空です")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = piped(["ingest", str(empty), "--kb", str(kb_dir)], tmp_path, KOTAE_LANG="ja")
    assert (
        "取り込める文書がありません" in result.stderr and "nothing to ingest" not in result.stderr
    )
    assert result.stdout.startswith("追加 0、")


@pytest.mark.parametrize(
    ("args", "japanese"),
    [
        (["log", "list", "--kind", "bogus"], "--kind 'bogus' は使えません"),
        (["log", "list", "--since", "yesterday"], "期間（30m、24h、7d、2w）"),
        (["log", "show", "999"], "ログ 999 はありません"),
        (["log", "list", "--as", "x", "--all"], "どちらか 1 つだけ"),
        (["log", "prune"], "保存期間が未設定です"),
        (["models", "ping"], "生成モデルが未設定です"),
        (["eval", "run", "--set", "q.jsonl", "--json", "no/such/out.json"], "フォルダー no/such"),
        (["eval", "report", "abc", "--lang", "fr"], "--lang 'fr' は使えません"),
        (["reindex", "--vectors"], "埋め込みモデルが未設定です"),
    ],
)
def test_command_errors_speak_japanese(
    kb_dir: Path, tmp_path: Path, args: list[str], japanese: str
) -> None:
    result = piped([*args, "--kb", str(kb_dir)], tmp_path, KOTAE_LANG="ja")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("kotae: エラー: ") and japanese in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ask_errors_follow_the_questions_language(kb_dir: Path, tmp_path: Path) -> None:
    args = ["--generator", "foo", "--kb", str(kb_dir)]
    ja = piped(["ask", "経費の申請期限は？", *args], tmp_path, LANG="C.UTF-8")
    assert ja.returncode == 2
    assert ja.stderr.startswith("kotae: エラー: 生成モデルのバックエンド 'foo' はありません")
    en = piped(["ask", "When is the deadline?", *args], tmp_path, LANG="ja_JP.UTF-8")
    assert en.returncode == 2
    assert en.stderr.startswith("kotae: error: unknown generator backend 'foo'")


def test_no_generator_notice_once_per_knowledge_base_and_language(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rules.md").write_text(
        "# 経費精算規程\n\n経費の申請期限は翌月10日までとする。\n\n"
        "# Expenses\n\nThe expense claim deadline is the 10th of the next month.\n",
        "utf-8",
    )
    kb = str(tmp_path / "kb")
    assert piped(["init", kb], tmp_path).returncode == 0
    assert piped(["ingest", str(docs), "--kb", kb], tmp_path).returncode == 0

    def notes(question: str, *flags: str) -> str:
        result = piped(["ask", question, "--kb", kb, *flags], tmp_path, KOTAE_LANG="en")
        assert result.returncode == 0, result.stderr
        return result.stderr

    as_json = piped(["ask", "経費の申請期限は？", "--json", "--kb", kb], tmp_path)
    assert '"notice": "生成モデルが未設定' in as_json.stdout  # the data always holds it
    assert "生成モデルが未設定" in notes("経費の申請期限は？")
    assert notes("経費の申請期限は？") == ""
    assert "No generator is configured" in notes("What is the expense claim deadline?")
    assert notes("What is the expense claim deadline?") == ""
    assert "生成モデルが未設定" in notes("経費の申請期限は？", "--notice")


def test_search_lines_and_log_labels_speak_japanese(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "規程.md").write_text(
        "# 経費精算規程\n\n経費の申請期限は翌月10日までとする。\n", "utf-8"
    )
    kb = tmp_path / "kb"
    assert piped(["init", str(kb)], tmp_path).returncode == 0
    assert piped(["ingest", str(docs), "--kb", str(kb)], tmp_path).returncode == 0
    found = piped(["search", "申請期限", "--kb", str(kb)], tmp_path, KOTAE_LANG="ja")
    assert found.returncode == 0 and "スコア" in found.stdout and "チャンク" in found.stdout
    english = piped(["search", "申請期限", "--kb", str(kb)], tmp_path, KOTAE_LANG="en")
    assert "score" in english.stdout and "スコア" not in english.stdout
    shown = piped(["log", "show", "1", "--all", "--kb", str(kb)], tmp_path, KOTAE_LANG="ja")
    assert shown.returncode == 0 and "質問: 申請期限" in shown.stdout
    assert "取り出した資料:" in shown.stdout
