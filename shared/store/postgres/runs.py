"""Runs and datasets on PostgreSQL (closing a run, its counters and the reports are SQL functions the front calls)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from shared.store import commands
from shared.store.postgres.core import PostgresCore, where


class RunsMixin(PostgresCore):
    def _insert_run(self, task: str, parameters: dict[str, Any]) -> commands.Row:
        row = self._one(
            "open_run", task, "INSERT INTO monitor_runs (task, parameters) VALUES (%s, %s) RETURNING *",
            (task, Jsonb(parameters)),
        )
        assert row is not None
        return row

    def _run_row(self, run_id: int) -> commands.Row | None:
        return self._one("get_run", str(run_id), "SELECT * FROM monitor_runs WHERE id = %s", (run_id,))

    def _run_rows(self, query: commands.RunQuery) -> list[commands.Row]:
        clauses, params = [], []
        for column, value in (("task", query.task), ("status", query.status)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(str(value))
        sql = f"SELECT * FROM monitor_runs{where(clauses)} ORDER BY started_at DESC, id DESC LIMIT %s"
        return self._all("last_runs", query.task or "", sql, (*params, query.limit))

    # -- datasets ----------------------------------------------------------------------------------
    def _insert_dataset(self, row: commands.Row) -> commands.Row:
        columns = ("feature_version", "total", "positive", "negative", "samples", "checksum")
        inserted = self._one(
            "save_dataset",
            f"{row['total']} samples",
            f"INSERT INTO ml_training_datasets ({', '.join(columns)}) VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
            tuple(Jsonb(row[c]) if c == "samples" else row[c] for c in columns),
        )
        assert inserted is not None
        return inserted

    def _latest_dataset_row(self) -> commands.Row | None:
        return self._one(
            "latest_dataset", "", "SELECT * FROM ml_training_datasets ORDER BY created_at DESC, id DESC LIMIT 1"
        )
