from __future__ import annotations

import json
from pathlib import Path

from kotae.documents import load_document


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_txt_in_shift_jis_splits_paragraphs(tmp_path: Path) -> None:
    text = (
        "経費精算の手引き\n\n申請は翌月５日までに行います。\n領収書を添付します。"
        "\n\n\nSecond paragraph in English."
    )
    doc = load_document(_write(tmp_path / "guide.TXT", text, "cp932"))
    assert doc.format == "txt"
    assert doc.title == "guide"
    assert [b.text for b in doc.blocks] == [
        "経費精算の手引き",
        "申請は翌月5日までに行います。\n領収書を添付します。",  # NFKC: ５ -> 5
        "Second paragraph in English.",
    ]
    assert all(b.kind == "paragraph" for b in doc.blocks)


def test_markdown_structure(tmp_path: Path) -> None:
    md = """# 就業規則

前文です。**重要**な[リンク](https://example.com)を含みます。

Setext Heading
--------------

- 項目1
  - 入れ子の項目
- 項目2
1. first

```python
print("code")
```

| 名前 | 部署 |
|------|------|
| 佐藤 | 総務 |
| Smith | IT |

## 第2章 ##
終わり。
"""
    doc = load_document(_write(tmp_path / "rules.md", md))
    kinds = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert doc.title == "就業規則"
    assert kinds == [
        ("heading", 1, "就業規則"),
        ("paragraph", 0, "前文です。重要なリンクを含みます。"),
        ("heading", 2, "Setext Heading"),
        ("list_item", 1, "項目1"),
        ("list_item", 2, "入れ子の項目"),
        ("list_item", 1, "項目2"),
        ("list_item", 1, "first"),
        ("code", 0, 'print("code")'),
        ("table", 0, "名前 | 部署\n佐藤 | 総務\nSmith | IT"),
        ("heading", 2, "第2章"),
        ("paragraph", 0, "終わり。"),
    ]


def test_markdown_soft_wrapped_english_lines_are_joined_with_a_space(tmp_path: Path) -> None:
    doc = load_document(_write(tmp_path / "a.markdown", "one line\nnext line\n\n日本語の\n文章"))
    assert [b.text for b in doc.blocks] == ["one line next line", "日本語の文章"]


def test_csv_semicolon_with_header_repeated_per_block(tmp_path: Path) -> None:
    rows = ["氏名;部署;内線"] + [f"社員{i};総務;{1000 + i}" for i in range(100)]
    doc = load_document(_write(tmp_path / "staff.csv", "\n".join(rows), "cp932"))
    tables = [b for b in doc.blocks if b.kind == "table"]
    assert len(tables) == 3  # 100 rows in blocks of 40
    assert all(t.text.startswith("氏名 | 部署 | 内線\n") for t in tables)
    assert "社員99 | 総務 | 1099" in tables[-1].text


def test_tsv_uses_tabs(tmp_path: Path) -> None:
    doc = load_document(_write(tmp_path / "a.tsv", "name\tteam\nAlice\tSales\n"))
    assert doc.blocks[0].text == "name | team\nAlice | Sales"


def test_json_is_flattened_into_path_lines(tmp_path: Path) -> None:
    data = {"policies": [{"name": "経費", "limit": 5000, "active": True, "tags": ["a", "b"]},
                         {"name": "出張", "limit": None, "note": "line1\nline2"}]}  # fmt: skip
    doc = load_document(_write(tmp_path / "p.json", json.dumps(data, ensure_ascii=False)))
    assert [b.text for b in doc.blocks] == [
        "policies[0].name: 経費\npolicies[0].limit: 5000\npolicies[0].active: true\n"
        "policies[0].tags[0]: a\npolicies[0].tags[1]: b",
        "policies[1].name: 出張\npolicies[1].note: line1 line2",
    ]


def test_html_drops_boilerplate_and_keeps_structure(tmp_path: Path) -> None:
    html = """<html><head><meta charset="shift_jis"><title>社内規程</title>
    <style>p {color: red}</style><script>var x = "悪い";</script></head><body>
    <nav><ul><li>ホーム</li></ul></nav><header>サイト名</header>
    <h1>経費規程</h1><p>本規程は<b>全社員</b>に適用する。</p>
    <ul><li>交通費<ul><li>定期券</li></ul></li><li>宿泊費</li></ul>
    <table><tr><th rowspan="2">区分</th><th colspan="2">上限</th></tr>
    <tr><td>国内</td><td>海外</td></tr></table>
    <pre>code  line</pre><footer>Copyright</footer></body></html>"""
    doc = load_document(_write(tmp_path / "rule.htm", html, "cp932"))
    assert doc.title == "社内規程"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "経費規程"),
        ("paragraph", 0, "本規程は全社員に適用する。"),
        ("list_item", 1, "交通費"),
        ("list_item", 2, "定期券"),
        ("list_item", 1, "宿泊費"),
        ("table", 0, "区分 | 上限\n区分 | 国内 | 海外"),
        ("code", 0, "code line"),
    ]
