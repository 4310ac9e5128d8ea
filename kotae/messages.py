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
    "kb_encrypted": (
        "encrypted at rest: keep the master key safe, it cannot be recovered",
        "保存データを暗号化しました。マスター鍵は復元できないので安全に保管してください",
    ),
    "rekey_done": (
        "re-encrypted {path} with the new master key ({files} sealed file(s))",
        "{path} を新しいマスター鍵で暗号化し直しました（暗号化ファイル {files} 件）",
    ),
    "rekey_resumed": (
        "finished the interrupted key change of {path}: the new master key opens it",
        "{path} の中断された鍵の変更を完了しました。新しいマスター鍵で開けます",
    ),
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
    "audit_ok": (
        "the audit log holds: {n} entries checked, head {seq} ({hash}…)",
        "監査ログは改ざんされていません: {n} 件を検証、先頭 {seq} ({hash}…)",
    ),
    "audit_anchored": (" and it matches the anchor", "。アンカーとも一致します"),
    "audit_bad": (
        "the audit log does NOT hold: entry #{position} (seq {seq}): {reason} "
        "({n} entries before it are intact)",
        "監査ログが改ざんされています: {position} 件目 (seq {seq}): {reason} "
        "(それより前の {n} 件は正常です)",
    ),
    "audit_bad_anchor": (
        "cannot read the anchor {path}: {reason}",
        "アンカー {path} を読めません: {reason}",
    ),
    "audit_bad_export": (
        "cannot read the export {path}: {reason}",
        "エクスポート {path} を読めません: {reason}",
    ),
    "audit_bad_format": (
        "unknown format {format!r}: jsonl or csv",
        "形式 {format!r} は使えません: jsonl か csv です",
    ),
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
    "password_prompt": ("new password for {name}: ", "{name} の新しいパスワード: "),
    "password_again": ("the same password again: ", "もう一度同じパスワード: "),
    "password_mismatch": ("the two passwords differ", "2 回入力したパスワードが一致しません"),
    "password_empty": ("no password was given on stdin", "標準入力にパスワードがありません"),
    "password_set": (
        "password of {name} set: they may log in to the web UI",
        "{name} のパスワードを設定しました。Web UI にログインできます",
    ),
    "password_cleared": (
        "password of {name} removed: they log in with an API key or single sign-on only",
        "{name} のパスワードを削除しました。API キーかシングルサインオンでのみログインできます",
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
    # kotae models license (kotae.planning.licenses, kotae.cli.licenses)
    "license_mau_over": (
        "{mau:,} monthly active users is over this license's limit of {limit:,}: {vendor} must "
        "grant you a separate license before you use the model",
        "月間アクティブユーザー {mau:,} 人はこのライセンスの上限 {limit:,} 人を超えています。利用"
        "の前に {vendor} から別途ライセンスを受ける必要があります",
    ),
    "license_mau_under": (
        "{mau:,} monthly active users is within this license's limit of {limit:,}; check again "
        "as users grow (the condition says how and when users are counted)",
        "月間アクティブユーザー {mau:,} 人はこのライセンスの上限 {limit:,} 人以内です。利用者が"
        "増えたら確認し直してください（数え方と時点は条件を参照）",
    ),
    "license_mau_missing": (
        "this license has a limit of {limit:,} monthly active users and the organization's "
        "number is not known: set monthly_active_users in [organization]",
        "このライセンスには月間アクティブユーザー {limit:,} 人の上限があり、組織の人数が不明で"
        "す。[organization] の monthly_active_users を設定してください",
    ),
    "license_mau_no_limit": (
        "this license limits monthly active users, but the catalog gives no threshold: read the "
        "clause",
        "このライセンスには月間アクティブユーザーの上限がありますが、カタログに数値がありませ"
        "ん。条項を読んで確認してください",
    ),
    "license_redistribute": (
        "you distribute the model or a product or service with it (redistributes = true): do "
        "what this condition asks",
        "モデルまたはそれを含む製品・サービスを提供しています（redistributes = true）。この条件"
        "が求めることを行ってください",
    ),
    "license_redistribute_unknown": (
        "applies if you distribute the model, a derivative, or a product or service that "
        "contains it; not known, so counted as applying: set redistributes in [organization]",
        "モデル、派生モデル、またはそれを含む製品・サービスを提供する場合に適用されます。不明な"
        "ため適用されるものとして扱いました。[organization] の redistributes を設定してください",
    ),
    "license_not_redistributed": (
        "applies only when you distribute the model, a derivative, or a product or service that "
        "contains it (redistributes = false)",
        "モデル、派生モデル、またはそれを含む製品・サービスを提供する場合だけ適用されます"
        "（redistributes = false）",
    ),
    "license_name_prefix_met": (
        "your distributed model {name!r} starts with {prefix!r} as required: keep the prefix",
        "提供するモデル {name!r} は求められているとおり {prefix!r} で始まっています。この接頭辞"
        "を保ってください",
    ),
    "license_name_prefix_rename": (
        "your distributed model {name!r} must start with {prefix!r}: rename it, e.g. "
        "{suggestion!r}",
        "提供するモデル {name!r} の名前は {prefix!r} で始める必要があります。例えば "
        "{suggestion!r} に改名してください",
    ),
    "license_name_prefix_check": (
        "your distributed model {name!r} must carry the name prefix this condition asks for",
        "提供するモデル {name!r} には、この条件が求める名前の接頭辞が必要です",
    ),
    "license_name_prefix_none": (
        "applies to a model you train or fine-tune with this model (or its outputs) and "
        "distribute; none is named: set derivative_name in [organization] if you distribute one",
        "このモデル（またはその出力）で学習・微調整して提供するモデルに適用されます。該当モデル"
        "の指定はありません。提供する場合は [organization] の derivative_name を設定してください",
    ),
    "license_eu_blocked": (
        "no rights are granted for this multimodal model to a company whose principal place of "
        "business is in the EU (eu_domiciled = true), whether or not you send it images; only "
        "end users of a product that incorporates it are exempt",
        "主たる事業所が EU にある企業（eu_domiciled = true）には、このマルチモーダルモデルの権利"
        "が許諾されません。画像を送るかどうかに関係ありません。除外されないのは、モデルを組み込ん"
        "だ製品のエンドユーザーだけです",
    ),
    "license_eu_review": (
        "no rights are granted for this multimodal model to individuals domiciled in, or "
        "companies with a principal place of business in, the EU (end users of a product are "
        "exempt): set eu_domiciled in [organization]",
        "EU に住所のある個人、または主たる事業所が EU にある企業には、このマルチモーダルモデルの"
        "権利が許諾されません（製品のエンドユーザーは除外）。[organization] の eu_domiciled を設"
        "定してください",
    ),
    "license_eu_not_domiciled": (
        "not domiciled in the EU (eu_domiciled = false): the EU exclusion does not apply; end "
        "users in the EU of a product that incorporates the model are exempt",
        "EU に本拠はありません（eu_domiciled = false）。EU の除外条項は適用されません。モデル"
        "を組み込んだ製品の EU のエンドユーザーも対象外です",
    ),
    "license_eu_no_presence": (
        "no presence in the EU (eu_presence = false): the EU exclusion does not apply",
        "EU での拠点・利用者はありません（eu_presence = false）。EU の除外条項は適用されません",
    ),
    "license_eu_text_only": (
        "{model} is not multimodal and the exclusion covers multimodal models only",
        "{model} はマルチモーダルではなく、この除外条項はマルチモーダルモデルだけが対象です",
    ),
    "license_eu_modality_unknown": (
        "the exclusion covers multimodal models only, and the catalog does not say whether "
        "{model} is multimodal: check its model card",
        "この除外条項はマルチモーダルモデルだけが対象ですが、{model} がマルチモーダルかどうかカ"
        "タログにありません。モデルカードを確認してください",
    ),
    "license_non_commercial_blocked": (
        "the license allows non-commercial use only, and the organization's use is commercial "
        "(commercial = true)",
        "このライセンスは非商用の利用だけを認めており、組織の利用は商用です（commercial = true）",
    ),
    "license_non_commercial_keep": (
        "keep the use non-commercial (commercial = false)",
        "非商用の利用にとどめてください（commercial = false）",
    ),
    "license_research_only_blocked": (
        "the license allows research use only, and the organization's use is commercial "
        "(commercial = true)",
        "このライセンスは研究目的の利用だけを認めており、組織の利用は商用です（commercial = true）",
    ),
    "license_research_only_keep": (
        "use the model for research only (commercial = false): other non-commercial use may "
        "also be outside this license",
        "研究目的だけに使ってください（commercial = false）。研究以外の非商用利用もこのライセン"
        "スの範囲外の可能性があります",
    ),
    "license_custom": (
        "a license of its own ({license}): read its full text and follow it; the catalog's "
        "summary may be incomplete",
        "独自のライセンスです（{license}）。全文を読んで従ってください。カタログの要約は不完全な"
        "場合があります",
    ),
    "license_aup": (
        "follow the acceptable use policy: check your use against its prohibited uses",
        "利用規約（Acceptable Use Policy）に従ってください。禁止用途に当たらないか確認してください",
    ),
    "license_aup_industry": (
        "follow the acceptable use policy: check your use in {industry} against its prohibited "
        "uses",
        "利用規約（Acceptable Use Policy）に従ってください。{industry} での利用が禁止用途に当た"
        "らないか確認してください",
    ),
    "license_inherited": (
        "{model} is derived from {base}: their conditions are listed too, each with the model "
        "it comes from",
        "{model} は {base} から派生しています。その条件も、どのモデルのものかを付けて示します",
    ),
    "license_inherited_none": (
        "about licenses carried from one model to another; the catalog names no base model of "
        "{model}: read the condition",
        "ライセンスの継承に関する条件です。カタログには {model} のベースモデルがありません。条件"
        "を読んで確認してください",
    ),
    "license_base_missing": (
        "{model} is derived from {base}, which is not in the catalog: check {base}'s license",
        "{model} は {base} から派生していますが、{base} はカタログにありません。そのライセンスを"
        "確認してください",
    ),
    "license_other": ("for information", "参考情報"),
    "license_unknown_kind": (
        "a condition of a kind kotae does not know ({kind!r}): read it",
        "kotae が知らない種類の条件です（{kind!r}）。読んで確認してください",
    ),
    "license_commercial_no": (
        "the catalog lists {model} as not for commercial use, and the organization's use is "
        "commercial (commercial = true)",
        "カタログでは {model} は商用利用不可で、組織の利用は商用です（commercial = true）",
    ),
    "license_commercial_unknown": (
        "the catalog does not say whether {model} may be used commercially: check its license",
        "{model} を商用利用できるかカタログにありません。ライセンスを確認してください",
    ),
    "license_unknown": (
        "the catalog has no license for {model}: check it before use",
        "カタログに {model} のライセンスがありません。利用前に確認してください",
    ),
    "license_disclaimer": (
        "Not legal advice: a summary of the license conditions in kotae's model catalog, some of "
        "them read from paraphrases (marked unverified). Read the licenses and get legal review "
        "before you ship.",
        "法的助言ではありません: kotae のモデルカタログにあるライセンス条件の要約で、一部は二次情"
        "報によります（unverified と表示）。提供前にライセンス本文を読み、法務の確認を受けてくだ"
        "さい。",
    ),
    "license_heading": (
        "{model}: {license} ({license_id}); commercial use: {commercial}",
        "{model}: {license}（{license_id}）、商用利用: {commercial}",
    ),
    "license_unknown_value": ("unknown", "不明"),
    "license_use_yes": ("yes", "可"),
    "license_use_no": ("no", "不可"),
    "license_use_conditional": ("conditional", "条件付き"),
    "license_verdict": ("verdict: {verdict}", "判定: {verdict}"),
    "license_verdict_ok": ("ok", "問題なし"),
    "license_verdict_ok_with_obligations": ("ok, with obligations", "利用可（義務あり）"),
    "license_verdict_needs_review": ("needs review", "要確認"),
    "license_verdict_blocked": ("blocked", "利用不可"),
    "license_section_blocker": ("blockers (what forbids use)", "利用を妨げる条件"),
    "license_section_obligation": ("obligations (what to do)", "守るべき義務"),
    "license_section_review": ("needs review (fill in or check)", "要確認（記入または確認）"),
    "license_section_note": ("notes", "参考"),
    "license_condition": ("condition: {text}", "条件: {text}"),
    "license_condition_unverified": (
        "condition (unverified in the catalog): {text}",
        "条件（カタログ上で未検証）: {text}",
    ),
    "license_from": ("from {model} (via {chain})", "{model} から継承（経路: {chain}）"),
    "license_source": ("source: {source} ({date})", "出典: {source}（{date}）"),
    "license_no_source": ("source: none in the catalog", "出典: カタログになし"),
    "license_org_from": (
        "organization: [organization] of {path}",
        "組織: {path} の [organization]",
    ),
    "license_org_none": (
        "the organization is not described (no [organization] in kotae.toml here): what depends "
        "on it needs review",
        "組織の情報がありません（kotae.toml に [organization] がありません）。組織に依存する条件"
        "は要確認になります",
    ),
    "license_fill_in": (
        "fill in [organization] in kotae.toml: {fields}",
        "kotae.toml の [organization] に記入してください: {fields}",
    ),
    "license_empty_model": (
        "give a model name: see `kotae models list`",
        "モデル名を指定してください。`kotae models list` で一覧できます",
    ),
    "license_no_catalog": (
        "the model catalog {path} cannot be read ({detail}): reinstall kotae",
        "モデルカタログ {path} を読めません（{detail}）。kotae を入れ直してください",
    ),
    "cost_bad_tokens": (
        "--tokens-per-month {text!r}: give input and output tokens per month as IN,OUT, e.g. "
        "10000000,2000000 or 10M,2M",
        "--tokens-per-month {text!r}: 月あたりの入力と出力のトークン数を IN,OUT で指定してくださ"
        "い（例: 10000000,2000000 または 10M,2M）",
    ),
    "cost_unknown_api": (
        "no API price for {name!r}: use one of {known}",
        "{name!r} の API 価格がありません: {known} のどれかを指定してください",
    ),
    "cost_bad_utilization": (
        "--utilization {value}: give a share of the paid GPU hours above 0 and at most 1 (0.5 = "
        "half)",
        "--utilization {value}: 支払う GPU 時間のうち稼働する割合を 0 より大きく 1 以下で指定して"
        "ください（0.5 = 半分）",
    ),
    "cost_not_positive": (
        "{option} {value}: give a number above 0",
        "{option} {value}: 0 より大きい数を指定してください",
    ),
    "cost_need_rate": (
        "prices are in USD: with --currency {currency} give --usd-rate X ({currency} per USD)",
        "価格は米ドル建てです。--currency {currency} には --usd-rate X（1 米ドルあたりの "
        "{currency}）も指定してください",
    ),
    "cost_price_needs_gpu": (
        "--price-per-hour needs --gpu G (the GPU it is the price of)",
        "--price-per-hour には --gpu G（その価格の GPU）も指定してください",
    ),
    "cost_unknown_gpu": (
        "no rental price for GPU {gpu!r}: give --price-per-hour P, or one of {known}",
        "GPU {gpu!r} のレンタル価格がありません: --price-per-hour P を指定するか、{known} のどれか"
        "を指定してください",
    ),
    "cost_gpus_twice": (
        "--gpu {gpu} says {prefix} GPUs and --gpus says {gpus}: give the number once",
        "--gpu {gpu} は {prefix} 基、--gpus は {gpus} 基です。GPU の数は 1 か所で指定してください",
    ),
    "cost_no_throughput": (
        "no throughput for self-hosting: give --throughput TOK_S (output tokens per second of "
        "the deployment), or run `kotae eval run` with a generator to measure it",
        "自前運用のスループットが不明です: --throughput TOK_S（デプロイ全体の出力トークン/秒）を"
        "指定するか、生成モデルを設定して `kotae eval run` で計測してください",
    ),
    "cost_engineering_twice": (
        "give the engineering overhead once: --engineering-per-month X, or --engineering-fte F "
        "with --fte-monthly-cost X",
        "運用人件費は 1 通りで指定してください: --engineering-per-month X か、--engineering-fte F "
        "と --fte-monthly-cost X",
    ),
    "cost_fte_needs_cost": (
        "--engineering-fte needs --fte-monthly-cost X (what one full-time engineer costs a month)",
        "--engineering-fte には --fte-monthly-cost X（技術者 1 人の月額費用）も指定してください",
    ),
    "cost_kind_api": ("API", "商用 API"),
    "cost_kind_hosted": ("hosted open model", "オープンモデル API"),
    "cost_kind_self": ("self-hosted", "自前運用"),
    "cost_stale": ("stale", "要確認（古い）"),
    "cost_undated": ("undated", "日付なし"),
    "cost_given": ("given", "指定値"),
    "cost_chart_title": ("Monthly cost", "月額費用"),
    "cost_throughput_parameter": (
        "throughput: {decode} output tokens/s, {prefill} (--throughput)",
        "スループット: 出力 {decode} トークン/秒、{prefill}（--throughput で指定）",
    ),
    "cost_throughput_eval_run": (
        "throughput: {decode} output tokens/s, {prefill}, measured per stream by {detail}: a "
        "server that batches streams delivers more (give --throughput)",
        "スループット: 出力 {decode} トークン/秒、{prefill}。{detail} で 1 ストリームあたりに計測"
        "した値で、複数をまとめて処理するサーバーはこれより多く出せます（--throughput で指定可）",
    ),
    "cost_throughput_sizing": (
        "throughput: {decode} output tokens/s, {prefill}, the {detail} (an upper bound from "
        "memory bandwidth)",
        "スループット: 出力 {decode} トークン/秒、{prefill}。{detail}（メモリ帯域からの上限値）",
    ),
    "cost_prefill": ("input {prefill} tokens/s", "入力 {prefill} トークン/秒"),
    "cost_prefill_unknown": (
        "input counted at the output rate (prefill speed not known; overstates the hours)",
        "入力も出力と同じ速さで計算（プリフィル速度が不明なため。時間は多めに出ます）",
    ),
    "cost_model_line": (
        "self-hosting ({setup}): hours = ({output} output / {decode}/s + {input} input / "
        "{prefill}/s) / 3600 / {utilization} utilization = {hours} h; billed {billed} h x {gpus} "
        "GPU x {price}/h = {gpu_cost}, + engineering {engineering}",
        "自前運用（{setup}）: 時間 = (出力 {output} ÷ {decode}/秒 + 入力 {input} ÷ {prefill}/秒)"
        " ÷ 3600 ÷ 稼働率 {utilization} = {hours} 時間。課金 {billed} 時間 × GPU {gpus} 基 × "
        "{price}/時間 = {gpu_cost}、+ 運用人件費 {engineering}",
    ),
    "cost_always_on": (
        "always on: at least 730 h a month per GPU",
        "常時稼働: GPU 1 基あたり月 730 時間以上",
    ),
    "cost_pay_per_use": (
        "pay per use: only the hours needed are billed (serverless, scale to zero); "
        "--always-on bills 730 h a month",
        "従量課金: 必要な時間だけ課金（サーバーレス、ゼロまで縮退）。--always-on で月 730 時間を"
        "課金",
    ),
    "cost_break_even": (
        "break-even against {baseline}: {tokens} tokens a month ({share} input) with {setup}; "
        "at {now} self-hosting is {verdict}",
        "{baseline} との損益分岐点: 月 {tokens} トークン（入力 {share}）、{setup}。現在の {now} "
        "では自前運用の方が{verdict}",
    ),
    "cost_cheaper": ("cheaper", "安い"),
    "cost_dearer": ("dearer", "高い"),
    "cost_break_even_never": (
        "break-even against {baseline}: none: it costs {api} per 1M tokens, less than the GPUs' "
        "{gpu} per 1M at this utilization ({setup})",
        "{baseline} との損益分岐点: なし。API は 100 万トークンあたり {api} で、この稼働率での "
        "GPU の {gpu} より安い（{setup}）",
    ),
    "cost_break_even_zero": (
        "break-even against {baseline}: none needed: {setup} has no fixed monthly cost and costs "
        "less per token",
        "{baseline} との損益分岐点: なし（常に自前運用が安い）。{setup} には月額の固定費がなく、"
        "トークンあたりも安い",
    ),
    "cost_stale_notice": (
        "{n} price(s) are older than {days} days or undated (stale): check the provider's page "
        "before quoting them",
        "{n} 件の価格が {days} 日より古いか日付がありません（要確認）。引用する前に提供元のページ"
        "で確認してください",
    ),
    "cost_no_self_hint": (
        "self-hosting not compared: give --gpu G (and --price-per-hour P, --throughput TOK_S)",
        "自前運用は比較していません: --gpu G（と --price-per-hour P、--throughput TOK_S）を指定"
        "してください",
    ),
    "cost_no_hosted": (
        "no hosted API price for {model}",
        "{model} のオープンモデル API 価格はありません",
    ),
    # kotae models size (kotae.planning.sizing, kotae.planning.gpus, kotae.cli.sizing)
    "size_unknown_gpu": (
        "no GPU {name!r} in kotae's GPU specs{hint}: known GPUs are {known}",
        "GPU {name!r} は kotae の GPU 仕様表にありません{hint}。使える GPU: {known}",
    ),
    "size_bad_gpu_count": (
        "{value!r}: the GPU count must be 1 or more (e.g. 2xH100)",
        "{value!r}: GPU の数は 1 以上で指定してください（例: 2xH100）",
    ),
    "size_unknown_facts": (
        "cannot estimate {purpose} for {model}: {facts} unknown (kotae does not guess them; "
        "add them to the catalog with their source)",
        "{model} の {purpose} を見積もれません: {facts} が不明です（kotae は推測しません。"
        "出典付きでカタログに追加してください）",
    ),
    "size_bad_choice": (
        "{option} {value!r}: use one of {choices}",
        "{option} {value!r} は使えません。次のどれかを指定してください: {choices}",
    ),
    "size_no_catalog": (
        "the model catalog {path} cannot be read ({detail}): reinstall kotae",
        "モデルカタログ {path} を読めません（{detail}）。kotae を入れ直してください",
    ),
    "size_header": (
        "{model} on {gpu}: {dtype} weights, {kv_dtype} KV cache, {context:,} tokens × "
        "{concurrency} sequence(s)",
        "{model}（{gpu}）: 重み {dtype}、KV キャッシュ {kv_dtype}、{context:,} トークン × "
        "{concurrency} 系列",
    ),
    "size_weights": ("weights", "重み"),
    "size_kv": ("KV cache", "KV キャッシュ"),
    "size_overhead": ("overhead (activations, runtime)", "オーバーヘッド（活性化・ランタイム）"),
    "size_total": ("total VRAM", "必要 VRAM 合計"),
    "size_gpus": ("GPUs needed", "必要 GPU 数"),
    "size_tp": ("tensor-parallel degree", "テンソル並列数"),
    "size_decode_one": ("decode bound, one sequence", "デコード上限（1 系列のみ）"),
    "size_decode_each": (
        "decode bound per sequence, all running",
        "デコード上限（全系列実行時の 1 系列あたり）",
    ),
    "size_decode_all": ("decode bound, all sequences", "デコード上限（全系列の合計）"),
    "size_prefill": ("prefill bound", "プリフィル上限"),
    "size_ttft": (
        "prefill of the whole context, at least",
        "コンテキスト全体のプリフィル時間（下限）",
    ),
    "size_tp_none": (
        "none: no power of two ≥ {gpus} divides {heads} attention heads (pipeline parallelism)",
        "なし: {gpus} 以上の 2 の累乗で {heads} 個のアテンションヘッドを割り切れません"
        "（パイプライン並列）",
    ),
    "size_unknown_spec": (
        "unknown ({spec} of {gpu} is not known)",
        "不明（{gpu} の {spec} が不明）",
    ),
    "size_limited": ("limited by {what}", "{what} が律速"),
    "size_memory": ("memory bandwidth", "メモリ帯域"),
    "size_compute": ("compute", "演算性能"),
    "size_over_context": (
        "warning: {context:,} tokens is over {model}'s context window of {limit:,}",
        "警告: {context:,} トークンは {model} のコンテキスト長 {limit:,} を超えています",
    ),
    "size_facts": ("Facts used:", "使った事実:"),
    "size_note": (
        "Decode and prefill figures are upper bounds from memory bandwidth and peak FLOPS; "
        "measured speeds are lower (interconnect, kernels, scheduling). GB = 10^9 bytes.",
        "デコードとプリフィルの数値はメモリ帯域とピーク演算性能から求めた上限です。実測はこれより"
        "低くなります（GPU 間通信・カーネル・スケジューリング）。GB = 10^9 バイト。",
    ),
    # kotae models list / show (kotae.planning.catalog, kotae.cli.catalog)
    "catalog_unknown": ("?", "不明"),
    "catalog_commercial_yes": ("yes", "可"),
    "catalog_commercial_conditional": ("conditional", "条件付き"),
    "catalog_commercial_no": ("no", "不可"),
    "catalog_japanese_tuned": ("tuned for Japanese", "日本語特化"),
    "catalog_japanese_official": ("official", "公式対応"),
    "catalog_japanese_capable": ("capable, not listed", "対応可（公式の記載なし）"),
    "catalog_japanese_not_official": ("not official", "公式対象外"),
    "catalog_no_family": (
        "no model family {family!r} in the catalog; the families: {families}",
        "カタログにモデルファミリー {family!r} はありません。ファミリー: {families}",
    ),
    "catalog_none_match": (
        "no model in the catalog matches these filters",
        "条件に合うモデルはカタログにありません",
    ),
    "catalog_model_heading": ("{id}: {family}, {vendor}", "{id}: {family}、{vendor}"),
    "catalog_aliases": ("aliases: {names}", "別名: {names}"),
    "catalog_base_models": (
        "carries the licenses of: {names}",
        "ライセンスを引き継ぐ元のモデル: {names}",
    ),
    "catalog_from_base": ("from {base}", "{base} から"),
    "catalog_section_facts": (
        "Facts, each with its source and date",
        "事実（それぞれ出典と日付つき）",
    ),
    "catalog_section_unknown": (
        "Not known (never guessed)",
        "不明な事実（推測では埋めません）",
    ),
    "catalog_section_conditions": (
        "License conditions (a summary, not legal advice: `kotae models license MODEL` "
        "checks them against your organization)",
        "ライセンス条件（要約であり法的助言ではありません。`kotae models license MODEL` で"
        "組織の条件と照合します）",
    ),
    "catalog_section_benchmarks": (
        "Benchmarks (compare figures only within one source's table)",
        "ベンチマーク（同じ出典の表の中でだけ比較できます）",
    ),
    "catalog_no_conditions": ("no license conditions recorded", "ライセンス条件の記録はありません"),
    "catalog_no_benchmarks": ("no benchmark figures recorded", "ベンチマークの記録はありません"),
    "governance_unknown_format": (
        "unknown --format {format!r}: use {choices}",
        "--format {format!r} は使えません: {choices} のどれかを指定してください",
    ),
    "governance_needs_answers": (
        "no terminal to ask the questions on: give the answers with --answers FILE "
        "(template: samples/governance/knowledge-search.toml)",
        "質問できる端末がありません。--answers FILE で回答を指定してください"
        "（ひな形: samples/governance/knowledge-search.toml）",
    ),
    "governance_yes_no": ("yes or no", "はい (y) か いいえ (n)"),
    "governance_choose": ("Choose (number or name)", "選択（番号または名前）"),
    "rec_unknown_use_case": (
        "unknown --use-case {name!r}: choose one of {choices}",
        "--use-case {name!r} はありません。{choices} から選んでください",
    ),
    "rec_bad_weights": (
        "bad --weights {value!r} ({detail}): give NAME=NUMBER pairs, e.g. "
        "performance=0.3,license=0.2,community=0.1,finetune=0.1,japanese=0.3",
        "--weights {value!r} が正しくありません（{detail}）。名前=数値 の組で指定してください"
        "（例: performance=0.3,license=0.2,community=0.1,finetune=0.1,japanese=0.3）",
    ),
    "rec_bad_weight_name": (
        "unknown criterion {name!r} in --weights: use {choices}",
        "--weights の基準 {name!r} はありません。{choices} を使ってください",
    ),
    "rec_bad_languages": (
        "bad --languages {value!r}: give language codes separated by commas, e.g. ja,en",
        "--languages {value!r} が正しくありません。言語コードをカンマ区切りで指定してください"
        "（例: ja,en）",
    ),
    "rec_cost_needs_gpu": (
        "--max-monthly-cost needs --gpu (the cost is that of the GPUs)",
        "--max-monthly-cost には --gpu が必要です（費用は GPU の費用です）",
    ),
    "rec_no_price": (
        "no shipped rental price for {gpu}: --max-monthly-cost cannot be checked "
        "(see kotae/planning/data/prices.toml)",
        "{gpu} のレンタル価格が同梱の価格表にないため、--max-monthly-cost を確認できません"
        "（kotae/planning/data/prices.toml を参照）",
    ),
    "rec_perf_none": (
        "no benchmark figure in the catalog",
        "カタログにベンチマークの数値がありません",
    ),
    "rec_perf_alone": (
        "its {n} benchmark figure(s) are reported by no other catalog model: not comparable",
        "{n} 件のベンチマークはどれも他のモデルの報告がなく、比較できません",
    ),
    "rec_perf_rank": (
        "mean percentile in {n} benchmark(s) shared with other models (e.g. {bench}: "
        "{rank} among {of})",
        "他のモデルと共通の {n} 件のベンチマークでの順位（百分位）の平均（例: {bench} で "
        "{of} モデル中 {rank}）",
    ),
    "rec_perf_measured": (
        "measured: {metric} {value} in your eval run {run} (set {set}, {n} questions)",
        "自社測定: 評価ラン {run}（評価セット {set}、{n} 問）の {metric} {value}",
    ),
    "rec_license_ok": ("{license}: ok", "{license}: 問題なし"),
    "rec_license_obligations": (
        "{license}: ok, with {n} obligation(s)",
        "{license}: 利用可（義務 {n} 件）",
    ),
    "rec_license_review": ("{license}: needs review: {detail}", "{license}: 要確認: {detail}"),
    "rec_license_blocked": ("{license}: blocked: {detail}", "{license}: 利用不可: {detail}"),
    "rec_community": ("community figures: {signals}", "コミュニティの指標: {signals}"),
    "rec_community_none": (
        "no community figures in the catalog",
        "カタログにコミュニティの指標がありません",
    ),
    "rec_finetune_peft_recipe": (
        "PEFT supports the architecture; LoRA recipe: {recipe}",
        "PEFT がアーキテクチャに対応。LoRA の手順: {recipe}",
    ),
    "rec_finetune_peft": (
        "PEFT supports the architecture; no LoRA recipe recorded",
        "PEFT がアーキテクチャに対応。LoRA の手順は記録なし",
    ),
    "rec_finetune_no_peft_recipe": (
        "PEFT does not support the architecture; LoRA recipe: {recipe}",
        "PEFT はアーキテクチャに非対応。LoRA の手順: {recipe}",
    ),
    "rec_finetune_no_peft": (
        "PEFT does not support the architecture",
        "PEFT はアーキテクチャに非対応",
    ),
    "rec_finetune_recipe": (
        "PEFT support unknown; LoRA recipe: {recipe}",
        "PEFT の対応は不明。LoRA の手順: {recipe}",
    ),
    "rec_finetune_none": (
        "PEFT support and LoRA recipes not in the catalog",
        "PEFT の対応も LoRA の手順もカタログにありません",
    ),
    "rec_japanese": ("Japanese: {level}", "日本語: {level}"),
    "rec_japanese_none": ("the sources do not say", "出典に記載がありません"),
    "rec_excluded_license": ("license blocked: {detail}", "ライセンス上利用不可: {detail}"),
    "rec_excluded_gpus": (
        "needs {n} GPUs ({gpu}: {vram} GB at {dtype}, {context} tokens × {concurrency} "
        "sequences); --gpu gives {have}",
        "GPU が {n} 枚必要です（{gpu}: {dtype} で {vram} GB、{context} トークン × "
        "{concurrency} 系列）。--gpu の指定は {have} 枚",
    ),
    "rec_excluded_gpus_at_least": (
        "needs at least {n} GPUs ({gpu}: {vram} GB of weights and overhead at {dtype}; the KV "
        "cache is not known: {facts} not in the catalog); --gpu gives {have}",
        "GPU が少なくとも {n} 枚必要です（{gpu}: {dtype} で重みとオーバーヘッドだけで {vram} GB。"
        "KV キャッシュは不明: カタログに {facts} がありません）。--gpu の指定は {have} 枚",
    ),
    "rec_excluded_context": (
        "context window {window} tokens < the {context} tokens needed",
        "コンテキスト長 {window} トークンが、必要な {context} トークンに足りません",
    ),
    "rec_excluded_cost": (
        "{cost} a month (always on) > --max-monthly-cost {limit}",
        "月額 {cost}（常時稼働）が --max-monthly-cost {limit} を超えます",
    ),
    "rec_heading": (
        "Use case {use_case}: {context} tokens × {concurrency} sequences, languages {languages}, "
        "GPU {gpu}",
        "ユースケース {use_case}: {context} トークン × {concurrency} 系列、言語 {languages}、"
        "GPU {gpu}",
    ),
    "rec_no_gpu": ("not given (hardware fit not checked)", "指定なし（ハードウェア適合は未確認）"),
    "rec_weights": (
        "Weights: {weights}{boost}",
        "重み: {weights}{boost}",
    ),
    "rec_boost": (
        " (japanese ×2: ja is among the languages)",
        "（言語に ja を含むため japanese を 2 倍）",
    ),
    "rec_renormalized": (
        "? = unknown: it does not count. Each total is the weighted mean over the criteria "
        "known for that model (the weights renormalized); 'known' is the share of the weight "
        "they hold.",
        "? は不明で、合計に数えません。合計は、そのモデルで分かっている基準だけの加重平均です"
        "（重みを正規化し直します）。「既知」はその基準の重みの割合です。",
    ),
    "rec_measured_notice": (
        "measured = performance from your own eval runs, not the catalog: {models}",
        "自社測定 = 性能はカタログではなく自社の評価ランの値: {models}",
    ),
    "rec_catalog_perf": (
        "Catalog performance is a rank among the models that report the same benchmark "
        "(figures of different tables are not compared).",
        "カタログの性能は、同じベンチマークを報告したモデルの中での順位です"
        "（別の表の数値は比べません）。",
    ),
    "rec_price": (
        "USD/month: {price} per GPU-hour ({provider}, {pricing}, {date}) × 730 h × the GPUs "
        "used, always on",
        "米ドル/月: GPU 1 時間あたり {price}（{provider}、{pricing}、{date}）× 730 時間 × "
        "使う GPU 数、常時稼働",
    ),
    "rec_price_stale": ("the price is stale: check it", "価格が古くなっています。確認してください"),
    "rec_no_price_note": (
        "Cost: no shipped rental price for {gpu}",
        "費用: {gpu} のレンタル価格が同梱の価格表にありません",
    ),
    "rec_org_none": (
        "No [organization] in kotae.toml: license clauses that depend on it need review.",
        "kotae.toml に [organization] がないため、それに依存するライセンス条項は要確認です。",
    ),
    "rec_why": ("Why", "理由"),
    "rec_excluded_heading": ("Excluded", "除外"),
    "rec_none_ranked": ("no model is left to rank", "順位を付けられるモデルが残りません"),
    "rec_more": (
        "… {n} more ranked (--top N, or --json for all)",
        "… ほか {n} モデル（--top N で表示件数、--json ですべて）",
    ),
    "rec_fit_fits": ("{used}× {gpu} ({vram} GB)", "{used}× {gpu}（{vram} GB）"),
    "rec_fit_unknown": ("unknown", "不明"),
    "rec_why_fit": ("fit: {detail}", "適合: {detail}"),
    "rec_why_fit_fits": (
        "{used}× {gpu}: {vram} GB of {usable} GB usable per GPU",
        "{used}× {gpu}: GPU 1 枚あたり使える {usable} GB のうち {vram} GB",
    ),
    "rec_why_fit_unknown": (
        "unknown: {facts} not in the catalog",
        "不明: カタログに {facts} がありません",
    ),
    "rec_note_thin": ("under half the weight known", "既知の重みが半分未満"),
    "rec_fit_not_checked": ("not checked", "未確認"),
    "rec_note_measured": ("measured", "自社測定"),
    "rec_note_fit_unknown": ("fit unknown", "適合不明"),
    # kotae plan: the adoption plan (kotae/planning/plan.py)
    "plan_title": ("Adoption plan", "導入計画書"),
    "plan_subtitle": ("{name} (knowledge base {kb})", "{name}（ナレッジベース {kb}）"),
    "plan_created": ("Created", "作成日"),
    "plan_sources": ("Where the figures come from", "数値の出典"),
    "plan_h_use_case": ("Use case and KPIs", "ユースケースと KPI"),
    "plan_h_models": (
        "Recommended models and license obligations",
        "推奨モデルとライセンス上の義務",
    ),
    "plan_h_cost": ("Hardware and cost against GPT-4o", "ハードウェアと費用（GPT-4o との比較）"),
    "plan_h_poc": ("PoC plan: eval set and success criteria", "PoC 計画: 評価セットと成功基準"),
    "plan_h_governance": (
        "Security and governance checklist",
        "セキュリティとガバナンスのチェックリスト",
    ),
    "plan_h_operations": ("Operations plan", "運用計画"),
    "plan_not_given": ("not given: {what}. {how}", "未指定: {what}。{how}"),
    "plan_src_config": ("[use_case] of {path}", "{path} の [use_case]"),
    "plan_src_run": (
        "eval run {id} ({name}) on set {set}, {n} questions, {date}",
        "評価実行 {id}（{name}）、評価セット {set}、{n} 問、{date}",
    ),
    "plan_measured": ("measured", "自社測定"),
    "plan_catalog": ("catalog", "カタログ値"),
    "plan_sizing": ("sizing model's bound (catalog)", "サイジングモデルの上限値（カタログ）"),
    "plan_kpi_met": ("met", "達成"),
    "plan_kpi_missed": ("not met", "未達"),
    "plan_kpi_unmeasured": ("not measured", "未測定"),
    "plan_kpi_no_run": ("no eval run yet", "評価実行なし"),
    "plan_uc_name": ("name", "名前"),
    "plan_uc_purpose": ("purpose", "目的"),
    "plan_uc_users": ("users", "利用者"),
    "plan_col_item": ("item", "項目"),
    "plan_col_value": ("value", "内容"),
    "plan_col_target": ("target", "目標"),
    "plan_col_measured": ("measured", "測定値"),
    "plan_col_verdict": ("verdict", "判定"),
    "plan_col_rank": ("rank", "順位"),
    "plan_col_model": ("model", "モデル"),
    "plan_col_score": ("score", "スコア"),
    "plan_col_license": ("license", "ライセンス"),
    "plan_col_fit": ("fit", "適合"),
    "plan_col_usd_month": ("USD/month", "米ドル/月"),
    "plan_col_performance_from": ("performance from", "性能の根拠"),
    "plan_col_option": ("option", "選択肢"),
    "plan_col_monthly": ("monthly cost", "月額費用"),
    "plan_col_per_million": ("per 1M tokens", "100 万トークンあたり"),
    "plan_col_source_date": ("source date", "出典の日付"),
    "plan_col_criterion": ("success criterion", "成功基準"),
    "plan_col_when": ("measured", "測定方法"),
    "plan_what_use_case": ("the use case", "ユースケース"),
    "plan_how_use_case": (
        "Add a [use_case] section with kpis to kotae.toml (kotae init DIR --use-case "
        "knowledge-search writes one)",
        "kotae.toml に kpis を含む [use_case] を追加してください（kotae init DIR --use-case "
        "knowledge-search で作成できます）",
    ),
    "plan_what_run": ("a finished eval run", "完了した評価実行"),
    "plan_how_run": (
        "Run `kotae eval run --set samples/eval/questions.jsonl --all` (or your own set)",
        "`kotae eval run --set samples/eval/questions.jsonl --all`（または自社の評価セット）を"
        "実行してください",
    ),
    "plan_src_catalog": (
        "the shipped model catalog (kotae/planning/data/models.toml; each fact's source: "
        "kotae models show MODEL) and [organization] of kotae.toml",
        "同梱のモデルカタログ（kotae/planning/data/models.toml。各事実の出典は kotae models "
        "show MODEL）と kotae.toml の [organization]",
    ),
    "plan_uc_default": (
        "[use_case] matches no template: ranked for {name}, kotae's default",
        "[use_case] がどのテンプレートとも一致しないため、既定の {name} で順位付けしました",
    ),
    "plan_models_request": (
        "Ranked for {use_case}: {context} tokens a request, {concurrency} at once, "
        "languages {languages} (kotae models recommend).",
        "{use_case} 向けに順位付け: 1 リクエスト {context} トークン、同時 {concurrency} 件、"
        "言語 {languages}（kotae models recommend）。",
    ),
    "plan_how_gpu": (
        "Give the GPUs, e.g. --gpu 1xL40S, to check the fit and price self-hosting",
        "--gpu 1xL40S のように GPU を指定すると、適合と自前運用の費用を計算します",
    ),
    "plan_src_measured_models": (
        "performance of {models}: measured by this knowledge base's eval runs",
        "{models} の性能: このナレッジベースの評価実行による自社測定値",
    ),
    "plan_how_organization": (
        "Add [organization] to kotae.toml (monthly active users, EU presence, "
        "redistribution, industry) so that the license check can settle its conditions",
        "kotae.toml に [organization]（月間利用者数、EU 拠点、再配布、業種）を追加すると、"
        "ライセンス条件を確定できます",
    ),
    "plan_license_none": (
        "{model} ({license}): no obligation or blocker found",
        "{model}（{license}）: 義務・利用不可の条件は見つかりません",
    ),
    "plan_license_blocker": ("blocker", "利用不可"),
    "plan_license_obligation": ("obligation", "義務"),
    "plan_license_review": ("needs review", "要確認"),
    "plan_volume_given": (
        "Volume: {input} input and {output} output tokens a month (--tokens-per-month).",
        "月間トークン数: 入力 {input}、出力 {output}（--tokens-per-month で指定）。",
    ),
    "plan_volume_default": (
        "Volume: {input} input and {output} output tokens a month: kotae plan's default "
        "(about 1,000 questions a working day); give yours with --tokens-per-month IN,OUT.",
        "月間トークン数: 入力 {input}、出力 {output}（kotae plan の既定値、営業日あたり約 "
        "1,000 問）。--tokens-per-month IN,OUT で指定できます。",
    ),
    "plan_src_prices": (
        "the shipped price list (kotae/planning/data/prices.toml, compiled {date}); each "
        "row's source date below",
        "同梱の価格表（kotae/planning/data/prices.toml、{date} 作成）。各行の出典日付は下表",
    ),
    "plan_src_throughput": (
        "throughput {decode} output tokens/s: {detail} ({origin})",
        "スループット 毎秒 {decode} 出力トークン: {detail}（{origin}）",
    ),
    "plan_what_gpu_price": ("a rental price of {gpu}", "{gpu} のレンタル価格"),
    "plan_how_gpu_price": (
        "Price it with kotae cost --gpu GPU --price-per-hour PRICE",
        "kotae cost --gpu GPU --price-per-hour PRICE で計算してください",
    ),
    "plan_what_throughput": ("the throughput", "スループット"),
    "plan_how_throughput": (
        "Measure it with an eval run of a generator, or give it to kotae cost --throughput",
        "生成モデルの評価実行で測定するか、kotae cost --throughput で指定してください",
    ),
    "plan_break_even": (
        "Break-even against {baseline}: {tokens} tokens a month on {setup}; at this "
        "volume self-hosting is {now}.",
        "{baseline} との損益分岐点: {setup} で月 {tokens} トークン。この量では自前運用の方が"
        "{now}。",
    ),
    "plan_break_even_never": (
        "Break-even against {baseline}: none; the API is cheaper per token at any volume.",
        "{baseline} との損益分岐点: なし（どの量でも API の方がトークン単価が安い）。",
    ),
    "plan_cheaper_now": ("cheaper", "安い"),
    "plan_dearer_now": ("dearer", "高い"),
    "plan_cost_assumptions": (
        "Self-hosting: always on (730 h a month), utilization {utilization}, no "
        "engineering overhead counted (add it with kotae cost --engineering-per-month).",
        "自前運用の前提: 常時稼働（月 730 時間）、稼働率 {utilization}、技術者の人件費は含み"
        "ません（kotae cost --engineering-per-month で追加できます）。",
    ),
    "plan_what_eval_set": ("the eval set", "評価セット"),
    "plan_poc_set": (
        "Eval set: {set}, {n} questions (latest run {id}).",
        "評価セット: {set}、{n} 問（最新の実行 {id}）。",
    ),
    "plan_when_eval": ("eval run (kotae eval run)", "評価実行（kotae eval run）"),
    "plan_when_operation": (
        "in operation (query log and feedback)",
        "運用中に測定（検索ログとフィードバック）",
    ),
    "plan_poc_step1": (
        "Ingest the PoC documents: kotae ingest DIR --kb DIR",
        "PoC の文書を取り込む: kotae ingest DIR --kb DIR",
    ),
    "plan_poc_step2": (
        "Write 50 to 200 real questions with their source documents (kotae eval synth drafts some)",
        "実際の質問と出典文書を 50〜200 問用意する（kotae eval synth で下書きできます）",
    ),
    "plan_poc_step3": (
        "Evaluate each configuration: kotae eval run --set FILE --all",
        "構成ごとに評価する: kotae eval run --set FILE --all",
    ),
    "plan_poc_step4": (
        "Compare them and share the report: kotae eval compare, kotae eval report",
        "比較してレポートを共有する: kotae eval compare、kotae eval report",
    ),
    "plan_poc_step5": (
        "Decide: every success criterion above met, or the gap and what closes it",
        "判定する: 上の成功基準をすべて満たすか、未達の差と対策を示す",
    ),
    "plan_what_governance": ("the governance answers", "ガバナンスの回答ファイル"),
    "plan_how_governance": (
        "Give --governance FILE (template: samples/governance/knowledge-search.toml; "
        "kotae governance assess asks the questions)",
        "--governance FILE を指定してください（ひな形: samples/governance/knowledge-search.toml。"
        "kotae governance assess で質問に答えられます）",
    ),
    "plan_src_governance": (
        "answers in {path}, assessed {date} against the EU AI Act and Japan's AI Guidelines "
        "for Business (kotae governance assess)",
        "{path} の回答、{date} に EU AI 法と AI 事業者ガイドラインに照らして評価"
        "（kotae governance assess）",
    ),
    "plan_risk": ("EU AI Act risk class: {risk}.", "EU AI 法のリスク区分: {risk}。"),
    "plan_not_legal_advice": (
        "Not legal advice: confirm with your legal team.",
        "法的助言ではありません。法務部門に確認してください。",
    ),
    "plan_security1": (
        "Confidential documents behind access rules: kotae ingest --acl GROUP, kotae acl",
        "機密文書にアクセス制御を設定する: kotae ingest --acl GROUP、kotae acl",
    ),
    "plan_security2": (
        "Every client with its own API key, revoked when it leaves: kotae keys",
        "クライアントごとに API キーを発行し、不要になれば無効化する: kotae keys",
    ),
    "plan_security3": (
        "Query log retention and who may read it decided: kotae log",
        "検索ログの保存期間と閲覧者を決める: kotae log",
    ),
    "plan_security4": (
        "The license obligations of section 2 met before launch",
        "2 章のライセンス上の義務を公開前に満たす",
    ),
    "plan_ops1": (
        "Keep the documents in sync: kotae ingest DIR on a schedule (unchanged files are skipped)",
        "文書を同期する: kotae ingest DIR を定期実行（変更のないファイルは飛ばされます）",
    ),
    "plan_ops2": (
        "Gate every change of model, prompt or settings: kotae eval gate",
        "モデル・プロンプト・設定の変更ごとに回帰判定する: kotae eval gate",
    ),
    "plan_ops3": (
        "Review the query log and unanswered questions every week: kotae log",
        "検索ログと回答できなかった質問を毎週確認する: kotae log",
    ),
    "plan_ops4": (
        "Re-check licenses when [organization] changes: kotae models license MODEL",
        "[organization] が変わったらライセンスを再確認する: kotae models license MODEL",
    ),
    "plan_ops_kpis": (
        "Measure the operational KPIs in operation: {kpis}",
        "運用 KPI を運用中に測定する: {kpis}",
    ),
    "plan_ops_prices": (
        "Re-check prices older than {days} days ([planning] max_price_age_days)",
        "{days} 日より古い価格を再確認する（[planning] max_price_age_days）",
    ),
    "plan_cost_model": (
        "Self-hosting priced for {model}: the best-ranked model that fits and whose shape the "
        "catalog has.",
        "自前運用は {model} で試算: 適合し、カタログに構造の情報がある最上位のモデル。",
    ),
    "plan_unknown_format": (
        "unknown format {format!r}: use {choices}",
        "形式 {format!r} は使えません: {choices}",
    ),
    "plan_no_governance_file": (
        "--governance: no such file {path}",
        "--governance: ファイル {path} がありません",
    ),
    "pii_unknown_kind": (
        "--kind: unknown kind {kind}: use {kinds}",
        "--kind: 種別 {kind} はありません（{kinds} から選択）",
    ),
    "pii_paths_and_kb": (
        "give files and folders to scan, or --kb to scan the knowledge base, not both",
        "スキャンするファイルとフォルダー、またはナレッジベースの --kb の"
        "どちらか一方を指定してください",
    ),
    "pii_nothing_to_scan": (
        "nothing to scan: give files or folders, or --kb DIR for a knowledge base",
        "スキャン対象がありません。ファイルかフォルダー、"
        "またはナレッジベースの --kb DIR を指定してください",
    ),
    "pii_summary": (
        "{documents} document(s) scanned, {with_pii} with personal information, "
        "{findings} finding(s); {failed} failed",
        "{documents} 件の文書をスキャン、個人情報を含む文書 {with_pii} 件、"
        "検出 {findings} 件。失敗 {failed} 件",
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
    "option": "選択肢",
    "monthly cost": "月額費用",
    "per 1M tokens": "100 万トークンあたり",
    "source date": "出典の日付",
    "stale": "要確認",
    "part": "項目",
    "estimate": "見積もり",
    "formula and inputs": "式と入力",
    "fact": "事実",
    "figure": "値",
    "source (date)": "出典（日付）",
    "family": "ファミリー",
    "params (B)": "パラメータ数（B）",
    "context": "コンテキスト長",
    "license": "ライセンス",
    "commercial use": "商用利用",
    "Japanese": "日本語",
    "value": "値",
    "date": "日付",
    "note": "注記",
    "condition": "条件",
    "benchmark": "ベンチマーク",
    "why": "理由",
    "rank": "順位",
    "model": "モデル",
    "total": "合計",
    "performance": "性能",
    "community": "コミュニティ",
    "finetune": "微調整",
    "japanese": "日本語",
    "known": "既知",
    "fit": "適合",
    "USD/month": "米ドル/月",
    "verdict": "判定",
    "findings": "検出数",
    "kinds": "種別ごと",
    "where": "位置",
    "masked context": "前後の文（マスク済み）",
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
