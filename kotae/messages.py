"""The CLI's message catalog: what kotae says to a person, in English and Japanese.

:func:`ui_language` picks the language of the interface: ``KOTAE_LANG`` first, then the
locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the first one set): Japanese when it starts
with ``ja``, English otherwise. :func:`t` looks a message up by key and fills it in.
``ask`` and ``chat`` answer in the question's language instead (:mod:`kotae.cli.ask`).
Table headers are looked up by their English text (:func:`header`).
"""

from __future__ import annotations

import os
from typing import Literal

UiLanguage = Literal["ja", "en"]

# key: (English, Japanese); placeholders in str.format style, the same in both.
MESSAGES: dict[str, tuple[str, str]] = {
    "error_prefix": ("kotae: error: ", "kotae: エラー: "),
    "usage_error": ("{detail}", "コマンドの指定に誤りがあります（kotae --help を参照）: {detail}"),
    "aborted": ("aborted", "中断しました"),
    "no_kb_option": (
        "no knowledge base in {kb}: create one with `kotae init {kb}`",
        "{kb} にナレッジベースがありません。`kotae init {kb}` で作成してください",
    ),
    "one_access_option": (
        "use only one of --as, --groups and --all",
        "--as、--groups、--all はどれか 1 つだけ指定してください",
    ),
    "status_kb": ("knowledge base", "ナレッジベース"),
    "status_documents": ("documents", "文書数"),
    "status_chunks": ("chunks", "チャンク数"),
    "status_generation": ("generation", "世代"),
    "status_lexical": ("lexical index", "全文索引"),
    "status_lexical_value": (
        "{chunks} chunks, generation {generation}, {analyzer}",
        "{chunks} チャンク、世代 {generation}、{analyzer}",
    ),
    "status_embedder": ("embedder", "埋め込みモデル"),
    "status_no_embedder": ("none (lexical search only)", "なし（全文検索のみ）"),
    "status_vectors": ("vector index", "ベクトル索引"),
    "kb_ready": ("knowledge base ready in {path}", "ナレッジベースを用意しました: {path}"),
    "ingest_summary": (
        "added {added}, updated {updated}, unchanged {unchanged}, removed {removed}, "
        "skipped {skipped}, failed {failed}; {chunks} chunks, {mb:.1f} MB in {seconds:.1f} s",
        "追加 {added}、更新 {updated}、変更なし {unchanged}、削除 {removed}、"
        "スキップ {skipped}、失敗 {failed}。チャンク {chunks}、{mb:.1f} MB、{seconds:.1f} 秒",
    ),
    "ingest_failed": ("failed", "失敗"),
    "nothing_to_ingest": (
        "nothing to ingest in {path} (no supported file, or only skipped ones)",
        "{path} に取り込める文書がありません（対応形式のファイルがないか、すべてスキップ）",
    ),
    "warning": ("warning", "警告"),
    "no_results": ("no results", "見つかりませんでした"),
    "reindexed": ("reindexed", "索引を再構築しました"),
    "embedded": ("embedded {n} chunks", "{n} チャンクをベクトル化しました"),
    "removed_documents": ("removed {n} document(s)", "{n} 件の文書を削除しました"),
    "removed_user": ("removed user {name}", "ユーザー {name} を削除しました"),
    "wrote": ("wrote {path}", "書き出しました: {path}"),
    "access_changed": (
        "access changed for {n} document(s)",
        "{n} 件の文書のアクセス権を変更しました",
    ),
    "no_access_rules": (
        "no access rules: every document is public",
        "アクセス規則はありません（すべての文書が公開）",
    ),
    "no_document": (
        "no document with id or source {target!r}",
        "ID またはソースが {target!r} の文書はありません",
    ),
    "no_document_removed": (
        "no document with id or source {target!r}: nothing was removed",
        "ID またはソースが {target!r} の文書はありません。何も削除していません",
    ),
    "no_user": ("no user {name!r}", "ユーザー {name!r} はいません"),
    "access_line": (
        "access {before} -> {after}: doc {id} {source}",
        "アクセス {before} -> {after}: 文書 {id} {source}",
    ),
}

# Table headers: the English header as given to print_table, and its Japanese.
HEADERS: dict[str, str] = {
    "id": "ID",
    "title": "タイトル",
    "format": "形式",
    "groups": "グループ",
    "group": "グループ",
    "chunks": "チャンク数",
    "source": "ソース",
    "path": "パス",
    "documents": "文書数",
    "members": "メンバー",
    "rules": "規則数",
    "time": "日時",
    "kind": "種別",
    "status": "状態",
    "user": "ユーザー",
    "access": "アクセス",
    "question": "質問",
    "ms": "ミリ秒",
    "created": "作成日時",
    "name": "名前",
    "set": "評価セット",
    "questions": "質問数",
    "headline": "主な結果",
    "metric": "指標",
    "mean": "平均",
    "95% CI": "95% 信頼区間",
    "n": "件数",
    "failed": "失敗",
}


def ui_language() -> UiLanguage:
    """``ja`` when ``KOTAE_LANG`` (else the locale: LC_ALL, LC_MESSAGES, LANG) says so."""
    wanted = os.environ.get("KOTAE_LANG", "").strip().lower()
    if wanted:
        return "ja" if wanted.startswith("ja") else "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").strip()
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def t(key: str, language: str | None = None, /, **values: object) -> str:
    """The message ``key`` in ``language`` (default: :func:`ui_language`), filled in."""
    english, japanese = MESSAGES[key]
    text = japanese if (language or ui_language()) == "ja" else english
    return text.format(**values)


def header(name: str, language: str | None = None) -> str:
    """A table header in the interface language (unknown headers stay as given)."""
    if (language or ui_language()) != "ja":
        return name
    return HEADERS.get(name, name)
