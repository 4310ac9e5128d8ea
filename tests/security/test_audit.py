"""The audit log: hash chain, verification (property-based), the events recorded, export."""

from __future__ import annotations

import copy
import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kotae.kb import Access, KnowledgeBase, init_kb
from kotae.security.audit import (
    GENESIS,
    Anchor,
    entry_hash,
    export_rows,
    parse_export,
    record,
    record_query,
    verify,
)
from tests.conftest import write
from tests.test_cli import kotae

# -- the chain, built in memory --------------------------------------------------------------
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
details = st.dictionaries(st.sampled_from(["a", "b", "documents", "n"]), st.integers() | texts)
entries = st.lists(
    st.fixed_dictionaries(
        {
            "actor": texts,
            "action": st.sampled_from(["query.search", "key.created", "user.set", "acl.set"]),
            "target": texts,
            "detail": details,
        }
    ),
    min_size=1,
    max_size=12,
)


def chain(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows, previous = [], GENESIS
    for seq, item in enumerate(items, start=1):
        row = {"seq": seq, "at": f"2026-12-02T00:00:{seq:02d}.000+00:00", **item}
        row["prev_hash"] = previous
        row["hash"] = entry_hash(row)
        previous = row["hash"]
        rows.append(row)
    return rows


@settings(max_examples=300, deadline=None)
@given(items=entries, data=st.data())
def test_verify_names_the_first_bad_entry_of_any_single_tampering(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    rows = chain(items)
    head = Anchor(rows[-1]["seq"], rows[-1]["hash"])
    assert verify(rows).ok and verify(rows, head).ok
    n = len(rows)
    op = data.draw(st.sampled_from(["edit", "insert", "delete", "reorder"]))
    bad = copy.deepcopy(rows)
    if op == "edit":
        i = data.draw(st.integers(0, n - 1))
        field = data.draw(st.sampled_from(["at", "actor", "action", "target", "detail"]))
        before = bad[i][field]
        if field == "detail":
            bad[i]["detail"] = {**before, "tampered": True}
        else:
            bad[i][field] = str(before) + "x"
        expected = i
    elif op == "insert":
        i = data.draw(st.integers(0, n))
        forged = {"actor": "mallory", "action": "user.set", "target": "x", "detail": {}}
        # the most plausible forgery: the next seq, chained to the entry before it
        prev = bad[i - 1] if i > 0 else None
        row = {
            "seq": (prev["seq"] + 1) if prev else 1,
            "at": prev["at"] if prev else "2026-12-02T00:00:00.000+00:00",
            **forged,
            "prev_hash": prev["hash"] if prev else GENESIS,
        }
        row["hash"] = entry_hash(row)
        bad.insert(i, row)
        if i == n:
            return  # an appended, well-chained entry is indistinguishable by design
        expected = i + 1  # the entry it displaced (or the forgery itself, by the anchor)
    elif op == "delete":
        i = data.draw(st.integers(0, n - 1))
        del bad[i]
        expected = i
    else:
        if n < 2:
            return
        i = data.draw(st.integers(0, n - 2))
        j = data.draw(st.integers(i + 1, n - 1))
        bad[i], bad[j] = bad[j], bad[i]
        expected = i
    result = verify(bad, head)
    assert not result.ok, (op, i)
    if op == "insert":
        assert result.bad_position in (expected - 1, expected), (op, i, result)
    else:
        assert result.bad_position == expected, (op, i, result)
    if op == "delete" and i == n - 1:
        assert verify(bad).ok  # without the anchor a cut tail looks whole
        assert "anchor" in result.reason


def test_renumbered_forgery_is_caught_at_the_first_renumbered_entry() -> None:
    rows = chain([{"actor": "a", "action": "x", "target": "", "detail": {}}] * 5)
    forged = copy.deepcopy(rows[:2])
    row = {
        "seq": 3,
        "at": rows[2]["at"],
        "actor": "m",
        "action": "x",
        "target": "",
        "detail": {},
        "prev_hash": rows[1]["hash"],
    }
    row["hash"] = entry_hash(row)
    forged.append(row)
    for old in rows[2:]:
        moved = {**old, "seq": old["seq"] + 1}
        forged.append(moved)
    result = verify(forged)
    assert not result.ok and result.bad_position == 3 and result.bad_seq == 4


# -- in a knowledge base -----------------------------------------------------------------------
@pytest.fixture
def base(tmp_path: Path) -> KnowledgeBase:
    kb = init_kb(tmp_path / "kb")
    yield kb
    kb.close()


def test_rows_are_chained_and_the_table_refuses_updates_and_deletes(base: KnowledgeBase) -> None:
    record(base.catalog, "key.created", actor="aoki", target="abc", detail={"key_id": 1})
    record_query(base.catalog, "search", Access(frozenset({"sales"})), [3, 1, 3], status="ok")
    rows = list(base.catalog.audit_rows())
    assert [r["seq"] for r in rows] == [1, 2]
    assert rows[0]["prev_hash"] == GENESIS and rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[1]["detail"]["documents"] == [3, 1]
    assert rows[1]["detail"]["access"] == {"groups": ["sales"]}
    assert verify(rows).ok
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        base.catalog.con.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        base.catalog.con.execute("DELETE FROM audit_log WHERE seq = 2")


def test_texts_are_masked_but_identifiers_are_not(base: KnowledgeBase) -> None:
    row = record(
        base.catalog,
        "documents.uploaded",
        actor="eto",
        target="job1",
        detail={"files": ["山田太郎の履歴書 taro@example.com.pdf"], "job": "abc", "n": 3},
    )
    assert "taro@example.com" not in json.dumps(row, ensure_ascii=False)
    assert "[EMAIL]" in row["detail"]["files"][0]
    assert row["detail"]["job"] == "abc" and row["detail"]["n"] == 3


def _tamper(kb_dir: Path, sql: str) -> None:
    con = sqlite3.connect(kb_dir / "kotae.db")
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("DROP TRIGGER audit_log_no_delete")
    con.execute(sql)
    con.commit()
    con.close()


def test_cli_records_changes_and_verify_catches_an_edit(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    docs = tmp_path / "docs"
    write(docs / "規程.md", "# 経費\n\n経費の申請期限は翌月10日までです。")
    assert kotae("init", str(kb)).returncode == 0
    assert kotae("ingest", str(docs), kb=kb).returncode == 0
    assert kotae("users", "add", "sato", "--groups", "sales", kb=kb).returncode == 0
    created = kotae("keys", "create", "sato", kb=kb)
    assert created.returncode == 0
    assert kotae("keys", "revoke", created.stdout.strip(), kb=kb).returncode == 0
    assert kotae("acl", "set", str(docs), "--groups", "hr", kb=kb).returncode == 0
    assert kotae("search", "経費", "--as", "sato", kb=kb).returncode == 0
    assert kotae("docs", "remove", str(docs / "規程.md"), kb=kb).returncode == 0
    assert kotae("users", "remove", "sato", kb=kb).returncode == 0
    exported = kotae("audit", "export", kb=kb)
    assert exported.returncode == 0, exported.stderr
    rows = parse_export(exported.stdout.splitlines())
    assert [r["action"] for r in rows] == [
        "documents.ingested",
        "user.set",
        "key.created",
        "key.revoked",
        "acl.set",
        "query.search",
        "documents.removed",
        "user.removed",
    ]
    assert created.stdout.strip() not in exported.stdout  # the key itself never
    search = rows[5]
    assert search["actor"] == "sato"
    assert search["detail"]["access"]["user"] == "sato"
    assert search["detail"]["documents"] == []  # the document is hr's now: none returned
    ok = kotae("audit", "verify", "--json", kb=kb)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    _tamper(kb, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4")
    bad = kotae("audit", "verify", kb=kb)
    assert bad.returncode == 1
    assert "seq 4" in bad.stdout and "edited" in bad.stdout


def test_anchor_file_catches_a_cut_tail_and_exports_verify(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    anchor = tmp_path / "outside" / "head.json"
    assert kotae("init", str(kb)).returncode == 0
    config = kb / "kotae.toml"
    config.write_text(config.read_text("utf-8") + f'\n[audit]\nanchor_file = "{anchor}"\n', "utf-8")
    for name in ("a", "b", "c"):
        assert kotae("users", "add", name, kb=kb).returncode == 0
    assert json.loads(anchor.read_text())["seq"] == 3
    saved = tmp_path / "audit.jsonl"
    assert kotae("audit", "export", "--out", str(saved), kb=kb).returncode == 0
    assert kotae("audit", "verify", "--file", str(saved), "--anchor", str(anchor)).returncode == 0
    _tamper(kb, "DELETE FROM audit_log WHERE seq = 3")
    cut = kotae("audit", "verify", "--json", kb=kb)  # the configured anchor is used
    assert cut.returncode == 1
    assert "removed from the end" in json.loads(cut.stdout)["reason"]


def test_export_since_and_csv(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    assert kotae("users", "add", "sato", kb=kb).returncode == 0
    out = kotae("audit", "export", "--format", "csv", "--since", "1h", kb=kb)
    assert out.returncode == 0
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["action"] for r in table] == ["user.set"]
    assert json.loads(table[0]["detail"])["after"]["role"] == "reader"
    later = kotae("audit", "export", "--since", "2999-01-01", kb=kb)
    assert later.returncode == 0 and later.stdout == ""
    wrong = kotae("audit", "export", "--format", "xml", kb=kb)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1


def test_export_rows_csv_header_without_rows() -> None:
    assert "".join(export_rows([], "csv")).startswith("seq,at,actor")
