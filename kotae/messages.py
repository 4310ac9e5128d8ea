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
    "acl_groups_or_public": (
        "give either --groups G,... or --public",
        "--groups G,... か --public のどちらかを指定してください",
    ),
    "acl_path_missing": (
        "note: {path} does not exist (yet): its rule applies once it is ingested",
        "注意: {path} はまだ存在しません。取り込まれた時点でこのルールが適用されます",
    ),
    "output_is_folder": (
        "{option} {path}: give a file name, not a folder",
        "{option} {path}: フォルダーではなくファイル名を指定してください",
    ),
    "output_no_folder": (
        "{option} {path}: the folder {folder} does not exist",
        "{option} {path}: フォルダー {folder} がありません",
    ),
    "output_not_writable": (
        "{option} {path}: not writable",
        "{option} {path}: 書き込めません",
    ),
    "unknown_lang": (
        "unknown --lang {lang!r}: use {choices}",
        "--lang {lang!r} は使えません: {choices} のどれかを指定してください",
    ),
    "empty_eval_set": (
        "{path}: the eval set has no questions",
        "{path}: 評価セットに質問がありません",
    ),
    "eval_interrupted": (
        "interrupted: {name} keeps the questions it finished; run the same command again to resume",
        "中断しました: {name} は終わった質問を保存しています。同じコマンドをもう一度実行すると続"
        "きから再開します",
    ),
    "eval_errors": (
        "warning: {failed} of {n} questions ended in an error; they score 0 (see `kotae eval show "
        "{run} --questions`)",
        "警告: {n} 問中 {failed} 問がエラーで終わり、0 点として数えました（`kotae eval show {ru"
        "n} --questions` を参照）",
    ),
    "synth_needs_generator": (
        "eval synth needs a generator: set [generator] in kotae.toml or KOTAE_GENERATOR__BACKEND "
        "/ __BASE_URL / __MODEL",
        "eval synth には生成モデルが必要です: kotae.toml の [generator] か KOTAE_GENERATOR__BAC"
        "KEND / __BASE_URL "
        "/ __MODEL を設定してください",
    ),
    "init_empty_dir": (
        "the knowledge-base directory is empty: give a folder",
        "ナレッジベースのフォルダー名が空です。フォルダーを指定してください",
    ),
    "init_two_dirs": (
        "two directories given ({directory} and --kb {kb}): give one",
        "フォルダーが 2 つ指定されています（{directory} と --kb {kb}）。1 つだけ指定してください",
    ),
    "no_embedder": (
        "no embedder configured: set [embedder] in kotae.toml first",
        "埋め込みモデルが未設定です。先に kotae.toml の [embedder] を設定してください",
    ),
    "many_documents": (
        "{target!r} holds {n} documents (ids {ids}): show one by id or FILE#id",
        "{target!r} には {n} 件の文書があります（ID {ids}）。ID か FILE#id で 1 件を指定してくだ"
        "さい",
    ),
    "log_as_or_all": (
        "use only one of --as and --all",
        "--as と --all はどちらか 1 つだけ指定してください",
    ),
    "log_bad_since": (
        "--since {text!r}: give a duration (30m, 24h, 7d, 2w), a date (2026-04-01) or an ISO time "
        "(2026-04-01T09:00+09:00)",
        "--since {text!r}: 期間（30m、24h、7d、2w）、日付（2026-04-01）か ISO 形式の時刻（2026-"
        "04-01T09:00+09:00）を"
        "指定してください",
    ),
    "log_bad_choice": (
        "unknown {option} {value!r}: use {choices}",
        "{option} {value!r} は使えません: {choices} のどれかを指定してください",
    ),
    "log_no_entry": (
        "no log entry {id}: see `kotae log list`",
        "ログ {id} はありません（`kotae log list` を参照）",
    ),
    "log_no_retention": (
        "no retention set: give --keep-days N or set [log] keep_days in kotae.toml",
        "保存期間が未設定です: --keep-days N を付けるか kotae.toml の [log] keep_days を設定して"
        "ください",
    ),
    "log_pruned": (
        "deleted {n} log entries older than {days} days",
        "{days} 日より古いログを {n} 件削除しました",
    ),
    "no_generator": (
        "no generator configured: set [generator] backend in kotae.toml or KOTAE_GENERATOR__BAC"
        "KEND "
        "(e.g. openai with KOTAE_GENERATOR__BASE_URL and KOTAE_GENERATOR__MODEL)",
        "生成モデルが未設定です: kotae.toml の [generator] backend か KOTAE_GENERATOR__BACKEND "
        "を設定してください（例: "
        "openai と KOTAE_GENERATOR__BASE_URL、KOTAE_GENERATOR__MODEL）",
    ),
    "gate_fail": (
        "gate: FAIL: {reason}",
        "ゲート: 不合格: {reason}",
    ),
    "stream_or_json": (
        "use either --stream or --json",
        "--stream と --json はどちらか 1 つだけ指定してください",
    ),
    "user_set": ("user {name} ({role}): {groups}", "ユーザー {name}（{role}）: {groups}"),
    "no_groups": ("(no groups)", "（グループなし）"),
    "no_users": (
        "no users: add one with `kotae users add NAME`",
        "ユーザーはいません。`kotae users add 名前` で追加してください",
    ),
    "removed_user_keys": (
        "removed user {name} and their {n} API key(s)",
        "ユーザー {name} とその API キー {n} 件を削除しました",
    ),
    "unknown_user": (
        "unknown user {name!r}: add it with `kotae users add {name}`",
        "ユーザー {name!r} は登録されていません。`kotae users add {name}` で追加してください",
    ),
    "key_created": (
        "created API key {id} ({prefix}) for {user}, expires: {expires}. The key above is "
        "shown this once and will not be shown again: keep it now",
        "{user} の API キー {id}（{prefix}）を作成しました。有効期限: {expires}。上のキーは今回"
        "一度だけ表示され、二度と表示されません。今すぐ保管してください",
    ),
    "never": ("never", "なし"),
    "no_keys": (
        "no API keys: create one with `kotae keys create USER`",
        "API キーはありません。`kotae keys create ユーザー` で作成してください",
    ),
    "no_key": (
        "no API key {ref!r}: list them with `kotae keys list`",
        "API キー {ref!r} はありません。`kotae keys list` で一覧できます",
    ),
    "key_revoked": (
        "revoked API key {id} ({prefix}) of {user}",
        "{user} の API キー {id}（{prefix}）を無効化しました",
    ),
    "key_already_revoked": (
        "API key {id} ({prefix}) of {user} was already revoked at {when}",
        "{user} の API キー {id}（{prefix}）は {when} に無効化済みです",
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
    "score": "スコア",
    "doc": "文書",
    "chunk": "チャンク",
    "query": "検索語",
    "mode": "方式",
    "generator": "生成モデル",
    "error": "エラー",
    "retrieved": "取り出した資料",
    "answer": "回答",
    "citations": "出典",
    "usage": "トークン数",
    "timings": "所要時間",
    "cost per 1,000 questions": "1,000 問あたりのコスト",
    "role": "ロール",
    "valid keys": "有効なキー数",
    "prefix": "接頭辞",
    "state": "状態",
    "expires": "有効期限",
    "last used": "最終使用日時",
    "revoked": "無効化日時",
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
