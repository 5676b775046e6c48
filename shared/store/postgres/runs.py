"""Runs, datasets and reports on PostgreSQL (the aggregates are SQL functions of the migrations)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from shared.store.commands import Row, RunClosing, RunQuery
from shared.store.postgres.core import PostgresCore, where


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


class RunsMixin(PostgresCore):
    def _insert_run(self, task: str, parameters: dict[str, Any]) -> Row:
        row = self._one(
            "open_run", task, "INSERT INTO monitor_runs (task, parameters) VALUES (%s, %s) RETURNING *",
            (task, Jsonb(parameters)),
        )
        assert row is not None
        return row

    def _close_run(self, closing: RunClosing) -> Row:
        c = closing
        row = self._one(
            "close_run",
            str(c.run_id),
            "SELECT * FROM vigia_close_run(%s, %s, %s, %s, %s)",
            (c.run_id, str(c.status), _jsonb(c.counters), _jsonb(c.result), c.error),
        )
        assert row is not None
        return row

    def _add_run_counters(self, run_id: int, counters: dict[str, int]) -> None:
        self._one("add_run_counters", str(run_id), "SELECT id FROM vigia_add_run_counters(%s, %s)", (run_id, Jsonb(counters)))

    def _run_row(self, run_id: int) -> Row | None:
        return self._one("get_run", str(run_id), "SELECT * FROM monitor_runs WHERE id = %s", (run_id,))

    def _run_rows(self, query: RunQuery) -> list[Row]:
        clauses, params = [], []
        for column, value in (("task", query.task), ("status", query.status)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(str(value))
        sql = f"SELECT * FROM monitor_runs{where(clauses)} ORDER BY started_at DESC, id DESC LIMIT %s"
        return self._all("last_runs", query.task or "", sql, (*params, query.limit))

    # -- datasets ----------------------------------------------------------------------------------
    def _training_samples(self) -> list[dict[str, Any]]:
        row = self._one("training_samples", "", "SELECT vigia_training_samples() AS s")
        assert row is not None
        return list(row["s"])

    def _insert_dataset(self, row: Row) -> Row:
        columns = ("feature_version", "total", "positive", "negative", "samples", "checksum")
        inserted = self._one(
            "save_dataset",
            f"{row['total']} samples",
            f"INSERT INTO ml_training_datasets ({', '.join(columns)}) VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
            tuple(Jsonb(row[c]) if c == "samples" else row[c] for c in columns),
        )
        assert inserted is not None
        return inserted

    def _latest_dataset_row(self) -> Row | None:
        return self._one(
            "latest_dataset", "", "SELECT * FROM ml_training_datasets ORDER BY created_at DESC, id DESC LIMIT 1"
        )

    # -- reporting ---------------------------------------------------------------------------------
    def _stats(self) -> dict[str, Any]:
        row = self._one("stats", "", "SELECT vigia_stats() AS s")
        assert row is not None
        return dict(row["s"])

    def _orgao_ranking(self, limit: int) -> list[dict[str, Any]]:
        row = self._one("orgao_ranking", f"limit={limit}", "SELECT vigia_orgao_ranking(%s) AS r", (limit,))
        assert row is not None
        return list(row["r"])

    def _save_orgao_findings(self, orgao_codigo: str, year: int, findings: list[dict[str, Any]],
                             detector_version: str) -> None:
        self._one(
            "save_orgao_findings",
            f"{orgao_codigo}/{year}, {len(findings)} findings",
            "SELECT vigia_save_orgao_findings(%s, %s, %s, %s) AS n",
            (orgao_codigo, year, Jsonb(findings), detector_version),
        )
