"""Evaluation runs in the knowledge base's catalog (tables ``eval_runs``, ``eval_results``).

Each finished question is committed on its own, so a run that is killed keeps every
question it finished; running the same set with the same configuration again resumes it
(:func:`find_resumable`) and computes only the questions that are missing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kotae.errors import QueryError
from kotae.evaluation.model import EvalItem, MetricSummary, QuestionResult, RunSummary


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_run(
    con: sqlite3.Connection,
    run: RunSummary,
    set_hash: str,
    config_hash: str,
    items: Sequence[EvalItem],
) -> None:
    """Record a new run with its eval set (kept so reports can show questions later)."""
    con.execute(
        "INSERT INTO eval_runs (id, name, set_name, set_hash, config_hash, created_at, "
        "updated_at, status, n_questions, config, items) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.id,
            run.name,
            run.set_name,
            set_hash,
            config_hash,
            run.created_at,
            run.created_at,
            run.status,
            run.n_questions,
            json.dumps(run.config, ensure_ascii=False),
            json.dumps([item.to_dict() for item in items], ensure_ascii=False),
        ),
    )


def items(con: sqlite3.Connection, run_id: str) -> list[EvalItem]:
    """The eval set the run was made on."""
    row = con.execute("SELECT items FROM eval_runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return []
    return [
        EvalItem(
            id=d["id"],
            question=d["question"],
            answers=tuple(d.get("answers", ())),
            sources=tuple(d.get("sources", ())),
            tags=tuple(d.get("tags", ())),
            language=d.get("language"),
            source_chunk=d.get("source_chunk"),
        )
        for d in json.loads(row[0])
    ]


def find_resumable(con: sqlite3.Connection, set_hash: str, config_hash: str) -> RunSummary | None:
    """The latest unfinished run of this set with this configuration, if any."""
    row = con.execute(
        "SELECT * FROM eval_runs WHERE set_hash = ? AND config_hash = ? AND status != 'done' "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (set_hash, config_hash),
    ).fetchone()
    return _run(con, row) if row else None


def save_result(
    con: sqlite3.Connection, run_id: str, position: int, result: QuestionResult
) -> None:
    """Commit one question's result (autocommit: survives a kill right after)."""
    con.execute(
        "INSERT OR REPLACE INTO eval_results (run_id, item_id, position, created_at, result) "
        "VALUES (?, ?, ?, ?, ?)",
        (run_id, result.item_id, position, now(), json.dumps(result.to_dict(), ensure_ascii=False)),
    )


def add_wall_time(con: sqlite3.Connection, run_id: str, seconds: float) -> float:
    """Add the wall time of one session of the run; returns the run's total so far (a
    resumed run's cost counts every session, not only the last)."""
    con.execute("UPDATE eval_runs SET wall_s = wall_s + ? WHERE id = ?", (seconds, run_id))
    row = con.execute("SELECT wall_s FROM eval_runs WHERE id = ?", (run_id,)).fetchone()
    return float(row[0]) if row else seconds


def done_ids(con: sqlite3.Connection, run_id: str) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT item_id FROM eval_results WHERE run_id = ?", (run_id,))
    }


def results(con: sqlite3.Connection, run_id: str) -> list[QuestionResult]:
    """The run's per-question results, in eval-set order."""
    rows = con.execute(
        "SELECT result FROM eval_results WHERE run_id = ? ORDER BY position", (run_id,)
    )
    return [QuestionResult(**json.loads(r[0])) for r in rows]


def finish_run(
    con: sqlite3.Connection,
    run_id: str,
    status: str,
    summary: RunSummary | None = None,
) -> None:
    data = json.dumps(summary.to_dict(), ensure_ascii=False) if summary else None
    con.execute(
        "UPDATE eval_runs SET status = ?, updated_at = ?, summary = COALESCE(?, summary) "
        "WHERE id = ?",
        (status, now(), data, run_id),
    )


def get_run(con: sqlite3.Connection, run_id: str) -> RunSummary:
    """The run with this id, or the only one whose id starts with it."""
    rows = con.execute(
        "SELECT * FROM eval_runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id",
        (run_id, run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"),
    ).fetchall()
    exact = [r for r in rows if r[0] == run_id]
    if exact:
        return _run(con, exact[0])
    if not rows:
        raise QueryError(f"no evaluation run {run_id!r}: see `kotae eval list`")
    if len(rows) > 1:
        ids = ", ".join(r[0] for r in rows[:5])
        raise QueryError(f"run id {run_id!r} is ambiguous ({ids}): give more characters")
    return _run(con, rows[0])


def list_runs(con: sqlite3.Connection, limit: int = 20) -> list[RunSummary]:
    rows = con.execute(
        "SELECT * FROM eval_runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
    ).fetchall()
    return [_run(con, row) for row in rows]


def _run(con: sqlite3.Connection, row: Sequence[Any]) -> RunSummary:
    names = [d[0] for d in con.execute("SELECT * FROM eval_runs LIMIT 0").description]
    data = dict(zip(names, row, strict=True))
    data.pop("items", None)
    data.pop("wall_s", None)
    summary = json.loads(data["summary"]) if data["summary"] else {}
    metrics = {
        name: MetricSummary.from_dict(values)
        for name, values in (summary.get("metrics") or {}).items()
    }
    return RunSummary(
        id=data["id"],
        name=data["name"],
        set_name=data["set_name"],
        created_at=data["created_at"],
        status=data["status"],
        n_questions=data["n_questions"],
        config=json.loads(data["config"]),
        metrics=metrics,
        cost_per_1000=summary.get("cost_per_1000"),
        currency=summary.get("currency"),
    )
