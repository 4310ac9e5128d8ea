"""Text of the generated sample documents (docx, pdf, pptx, xlsx) for make_samples.py.

Everything here is fictional: 株式会社サクラ精機 / Sakura Precision Co., Ltd., its people,
products, hosts and numbers were invented for kotae's demo. Released under Apache-2.0 and CC0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]  # the first row is the header
    widths_mm: tuple[float, ...] = ()


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Paragraph | Bullets | Table | PageBreak


VPN_MANUAL_TITLE = "VPN接続マニュアル（SakuraConnect 7.2）"
VPN_MANUAL: tuple[Block, ...] = (
    Paragraph("文書番号 IT-MAN-012　第3版　2026年1月　株式会社サクラ精機 情報システム部"),
    Heading("1. はじめに"),
    Paragraph(
        "自宅や出張先から社内システム（ファイルサーバー、経費精算システム e-Keihi、"
        "勤怠システム サクラタイム、基幹システム）を利用するには、VPN 接続が必要です。"
        "このマニュアルは、会社支給PC（Windows 11）に導入済みの VPN クライアント"
        "「SakuraConnect」で接続する手順と、接続できないときの対処方法を説明します。"
    ),
    Heading("2. 事前に準備するもの"),
    Bullets(
        (
            "会社支給PC（私物のPCからは接続できません）",
            "社員番号（例: S012345）と社内システムのパスワード",
            "ワンタイムコードを表示する認証アプリを登録したスマートフォン",
        )
    ),
    Heading("3. 接続手順"),
    Bullets(
        (
            "インターネットに接続し、ブラウザで社外のWebサイトが表示できることを確認します。",
            "タスクバーの通知領域にある SakuraConnect のアイコン（桜の花の形）をクリックします。",
            "接続先の一覧から「本社VPN（vpn.sakura-seiki.example）」を選択します。",
            "ユーザー名に社員番号、パスワードに社内システムのパスワードを入力します。",
            "スマートフォンの認証アプリに表示された6桁のワンタイムコードを入力します。",
            "「接続」をクリックします。状態が「接続済み」になり、アイコンが緑色になれば完了です。",
            "作業が終わったら、アイコンを右クリックして「切断」を選択します。",
        ),
        numbered=True,
    ),
    Heading("4. 利用上の注意"),
    Bullets(
        (
            "無操作の状態が8時間続くと自動的に切断されます。",
            "同時に接続できるのは1人あたり2台までです。",
            "海外から接続する場合は、渡航の2週間前までに情報システム部へ申請してください。",
        )
    ),
    Heading("5. トラブルシューティング"),
    Paragraph(
        "接続に失敗すると、画面にエラーコードが表示されます。"
        "次の表でエラーコードを探し、対処方法を試してください。"
    ),
    Table(
        (
            ("エラーコード", "表示メッセージ", "原因", "対処方法"),
            (
                "E-101",
                "認証に失敗しました",
                "パスワードの誤り。5回続けて誤るとアカウントが30分間ロックされる",
                "30分待ってから再入力する。急ぐ場合はヘルプデスクでロック解除",
            ),
            (
                "E-203",
                "証明書の有効期限が切れています",
                "PCのクライアント証明書（有効期間1年）の期限切れ",
                "社内で有線LANに接続し「証明書更新ツール」を実行する",
            ),
            (
                "E-310",
                "VPNサーバーに接続できません",
                "インターネットに未接続、またはホテルや公衆Wi-Fiでポート443が遮断されている",
                "Wi-Fiのログイン画面で利用規約に同意する。"
                "解決しない場合はスマートフォンのテザリングで再接続する",
            ),
            (
                "E-412",
                "同時接続数の上限に達しました",
                "同じアカウントで3台目の端末から接続しようとした",
                "使っていない端末のVPNを切断してから接続する",
            ),
            (
                "E-508",
                "セッションがタイムアウトしました",
                "8時間の無操作、またはネットワークの切り替え",
                "もう一度接続手順の2から行う",
            ),
        ),
        widths_mm=(22, 40, 50, 50),
    ),
    Heading("6. 問い合わせ先"),
    Paragraph(
        "解決しない場合は、エラーコードと発生時刻を控えて、情報システム部 ヘルプデスク"
        "（内線 1234、平日 8:30〜17:30）に連絡してください。時間外は当番者が対応します。"
    ),
)


QUALITY_MANUAL_TITLE = "Quality Procedure QP-08: Control of Nonconforming Product"
QUALITY_MANUAL: tuple[Block, ...] = (
    Paragraph(
        "Sakura Precision Co., Ltd. · Quality Assurance Department · Revision 4 · "
        "Effective 15 January 2026 · Approved by the Quality Manager"
    ),
    Heading("1. Purpose"),
    Paragraph(
        "This procedure makes sure that product which does not conform to its requirements is "
        "identified and controlled so that it is not used or delivered by mistake. It implements "
        "clause 8.7 (control of nonconforming outputs) of ISO 9001:2015."
    ),
    Heading("2. Scope"),
    Paragraph(
        "It applies to purchased materials, in-process parts, finished servo presses and feeders, "
        "and products returned by customers, at the Hamamatsu, Kosai and Iwata factories."
    ),
    Heading("3. Responsibilities"),
    Table(
        (
            ("Role", "Responsibility"),
            ("Any employee", "Stops the work and tags the suspect product as HOLD."),
            ("Inspector", "Records the nonconformance report (NCR) and moves the product."),
            ("Material Review Board", "Decides the disposition of the nonconforming product."),
            ("Quality Manager", "Approves NCR closure and starts corrective action."),
        ),
        widths_mm=(45, 115),
    ),
    Heading("4. Procedure"),
    Heading("4.1 Identification and segregation", level=2),
    Paragraph(
        "Attach a red HOLD tag to the nonconforming product and move it to the quarantine area Q1 "
        "within one hour. Product in quarantine must not be used until a disposition is made."
    ),
    Heading("4.2 Nonconformance report", level=2),
    Paragraph(
        "The inspector records a nonconformance report (NCR) in the quality management system "
        "within 24 hours. NCR numbers have the form NCR-YYYY-NNNN, for example NCR-2026-0142."
    ),
    Heading("4.3 Review and disposition", level=2),
    Paragraph(
        "The Material Review Board (MRB) - the QA manager, a production engineer and a design "
        "engineer - reviews every NCR within 5 working days and chooses one disposition:"
    ),
    Bullets(
        (
            "Use as is: needs design engineering approval, and a customer concession for "
            "customer-specific parts.",
            "Rework: the reworked product is re-inspected 100% before release.",
            "Regrade: the product is released for a different, less demanding use.",
            "Scrap: the product is marked and destroyed so it cannot be reused.",
            "Return to supplier: purchasing sends a supplier corrective action request.",
        )
    ),
    Heading("4.4 Nonconforming product after delivery", level=2),
    Paragraph(
        "If nonconforming product has already been shipped, the Quality Manager notifies the "
        "customer within 48 hours. Customer complaints are handled with the 8D method under "
        "QP-10 Corrective Action."
    ),
    Heading("5. Records"),
    Paragraph(
        "NCRs, MRB decisions and re-inspection results are quality records. Nonconformance "
        "records are retained for 10 years after the product's last delivery."
    ),
    Heading("6. Performance indicator"),
    Paragraph(
        "The nonconformance rate (lots with an NCR divided by lots inspected) is reported each "
        "month to management review. The target for 2026 is below 0.8%."
    ),
)


SP200_TITLE = "サーボプレス SP-200 製品仕様書"
SP200_SPEC: tuple[Block, ...] = (
    Paragraph("文書番号 ENG-SP200-001　第1.2版　2026年2月　株式会社サクラ精機 技術本部"),
    Heading("1. 製品概要"),
    Paragraph(
        "SP-200 は、AC サーボモーターとボールねじでスライドを駆動する、定格荷重 200 kN の"
        "サーボプレスです。精密部品の圧入、かしめ、曲げ・成形に使用します。"
        "加圧中の荷重と位置をリアルタイムで監視し、加工ごとに良否を判定します。"
        "油圧プレスと比べて作動油が不要で、待機時の消費電力を大幅に削減できます。"
    ),
    Heading("2. 主な仕様"),
    Table(
        (
            ("項目", "仕様"),
            ("型式", "SP-200"),
            ("定格荷重", "200 kN（約 20 tf）"),
            ("ストローク", "250 mm"),
            ("ダイハイト", "400 mm"),
            ("スライド速度", "早送り 最大 300 mm/s、加圧時 0.1〜50 mm/s"),
            ("加圧精度", "±0.5% F.S."),
            ("位置決め精度", "±0.01 mm"),
            ("ボルスタ寸法", "800 × 600 mm"),
            ("電源", "三相 AC200V ±10%、50/60 Hz"),
            ("消費電力", "定格 7.5 kW（待機時 0.4 kW）"),
            ("使用空気圧", "0.5 MPa（バランサー用）"),
            ("外形寸法", "幅 1,200 × 奥行 1,500 × 高さ 2,600 mm"),
            ("本体質量", "2,800 kg"),
            ("使用環境", "周囲温度 5〜40℃、湿度 85% RH 以下（結露のないこと）"),
        ),
        widths_mm=(45, 115),
    ),
    PageBreak(),
    Heading("3. 構成と機能"),
    Bullets(
        (
            "コントローラー SPC-3: 12インチのタッチパネルで加工条件を 200 種類まで登録できます。",
            "荷重モニター: 荷重・位置の波形を最大 1,000 点で判定し、不良品を自動で排出します。",
            "データ保存: 直近 10 万サイクル分の加工データを本体に保存し、CSV で出力できます。",
            "外部通信: Ethernet（Modbus/TCP）で上位の生産管理システムと接続できます。",
        )
    ),
    Heading("4. 安全装置"),
    Bullets(
        (
            "光線式安全装置（タイプ4）: 手や体が危険区域に入るとスライドを即時停止します。",
            "非常停止ボタン: 本体前面・後面・操作盤の 3 か所に設置しています。",
            "両手操作式押しボタン: 段取り時の寸動運転は両手操作でのみ行えます。",
            "安全 PLC: ブレーキの停止性能を毎サイクル監視し、異常時は運転を禁止します。",
        )
    ),
    Paragraph(
        "安全装置を無効にした状態での運転は禁止です。安全装置の設定を変更できるのは、"
        "当社の講習を修了した保全責任者に限ります。"
    ),
    PageBreak(),
    Heading("5. 保守点検周期"),
    Paragraph(
        "SP-200 の性能と安全を保つため、次の保守点検周期で点検を行ってください。"
        "点検の結果は付属の保守点検記録表に記入し、3 年間保管してください。"
    ),
    Table(
        (
            ("点検区分", "周期", "主な点検項目", "実施者"),
            (
                "日常点検",
                "毎日 始業前",
                "非常停止ボタンと光線式安全装置の作動確認、異音・異臭の有無",
                "オペレーター",
            ),
            (
                "月次点検",
                "1 か月ごと",
                "ボールねじ・ガイドの潤滑状態、ボルトの緩み、ケーブルの損傷",
                "保全担当者",
            ),
            (
                "グリース補給",
                "稼働 500 時間ごと（または 3 か月ごとの早い方）",
                "ボールねじとスライドガイドへ指定グリース SG-2 を補給",
                "保全担当者",
            ),
            (
                "定期点検",
                "6 か月ごと",
                "ロードセルのゼロ点確認、ブレーキ保持力の確認",
                "保全担当者",
            ),
            (
                "年次点検",
                "12 か月ごと",
                "ロードセルの校正、ボールねじのバックラッシ測定、安全装置の停止性能試験",
                "当社サービス技術者",
            ),
        ),
        widths_mm=(25, 38, 72, 30),
    ),
    Heading("6. 消耗部品の交換目安", level=2),
    Bullets(
        (
            "ボールねじ: 稼働 20,000 時間または 2,000 万ショットの早い方",
            "サーボアンプのバックアップ電池: 3 年",
            "制御盤の冷却ファン: 5 年",
        )
    ),
    Heading("7. 保証とサービス", level=2),
    Paragraph(
        "保証期間は納入後 1 年間または稼働 4,000 時間の早い方です。年次点検と修理の依頼は、"
        "サービスセンター（service@sakura-seiki.example）で受け付けます。"
    ),
)
