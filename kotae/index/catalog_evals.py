"""The catalog's evaluation tables (``eval_runs``, ``eval_results``) as typed methods.

Each finished question is committed on its own, so a run that is killed keeps every
question it finished; running the same set with the same configuration again resumes it
(:meth:`EvalTables.resumable_eval_run`) and computes only the questions that are missing.
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


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class EvalTables:
    """Mixed into :class:`kotae.index.catalog.Catalog`."""

    con: sqlite3.Connection

    def create_eval_run(
        self, run: RunSummary, set_hash: str, config_hash: str, items: Sequence[EvalItem]
    ) -> None:
        """Record a new run with its eval set (kept so reports can show questions later)."""
        self.con.execute(
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

    def eval_items(self, run_id: str) -> list[EvalItem]:
        """The eval set the run was made on."""
        row = self.con.execute("SELECT items FROM eval_runs WHERE id = ?", (run_id,)).fetchone()
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

    def resumable_eval_run(self, set_hash: str, config_hash: str) -> RunSummary | None:
        """The latest unfinished run of this set with this configuration, if any."""
        row = self.con.execute(
            "SELECT * FROM eval_runs WHERE set_hash = ? AND config_hash = ? AND status != 'done' "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (set_hash, config_hash),
        ).fetchone()
        return self._eval_run(row) if row else None

    def save_eval_result(self, run_id: str, position: int, result: QuestionResult) -> None:
        """Commit one question's result (autocommit: survives a kill right after)."""
        self.con.execute(
            "INSERT OR REPLACE INTO eval_results (run_id, item_id, position, created_at, result) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                run_id,
                result.item_id,
                position,
                now(),
                json.dumps(result.to_dict(), ensure_ascii=False),
            ),
        )

    def add_eval_wall_time(self, run_id: str, seconds: float) -> float:
        """Add the wall time of one session of the run; returns the run's total so far (a
        resumed run's cost counts every session, not only the last)."""
        self.con.execute("UPDATE eval_runs SET wall_s = wall_s + ? WHERE id = ?", (seconds, run_id))
        row = self.con.execute("SELECT wall_s FROM eval_runs WHERE id = ?", (run_id,)).fetchone()
        return float(row[0]) if row else seconds

    def eval_done_ids(self, run_id: str) -> set[str]:
        rows = self.con.execute("SELECT item_id FROM eval_results WHERE run_id = ?", (run_id,))
        return {r[0] for r in rows}

    def eval_results(self, run_id: str) -> list[QuestionResult]:
        """The run's per-question results, in eval-set order."""
        rows = self.con.execute(
            "SELECT result FROM eval_results WHERE run_id = ? ORDER BY position", (run_id,)
        )
        return [QuestionResult(**json.loads(r[0])) for r in rows]

    def finish_eval_run(self, run_id: str, status: str, summary: RunSummary | None = None) -> None:
        data = json.dumps(summary.to_dict(), ensure_ascii=False) if summary else None
        self.con.execute(
            "UPDATE eval_runs SET status = ?, updated_at = ?, summary = COALESCE(?, summary) "
            "WHERE id = ?",
            (status, now(), data, run_id),
        )

    def eval_run(self, run_id: str) -> RunSummary:
        """The run with this id, or the only one whose id starts with it."""
        rows = self.con.execute(
            "SELECT * FROM eval_runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id",
            (run_id, _like_prefix(run_id)),
        ).fetchall()
        exact = [r for r in rows if r[0] == run_id]
        if exact:
            return self._eval_run(exact[0])
        if not rows:
            raise QueryError(f"no evaluation run {run_id!r}: see `kotae eval list`")
        if len(rows) > 1:
            ids = ", ".join(r[0] for r in rows[:5])
            raise QueryError(f"run id {run_id!r} is ambiguous ({ids}): give more characters")
        return self._eval_run(rows[0])

    def eval_runs(self, limit: int = 20) -> list[RunSummary]:
        rows = self.con.execute(
            "SELECT * FROM eval_runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._eval_run(row) for row in rows]

    def _eval_run(self, row: Sequence[Any]) -> RunSummary:
        names = [d[0] for d in self.con.execute("SELECT * FROM eval_runs LIMIT 0").description]
        data = dict(zip(names, row, strict=True))
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
