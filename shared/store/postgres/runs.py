"""Runs, datasets and reports on PostgreSQL (the aggregates are SQL functions of the migrations)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from shared.domain import Finding, RunStatus
from shared.store.base import Dataset, OrgaoRanking, Run, Stats, StoreError, TrainingSample
from shared.store.postgres.core import PostgresCore
from shared.store.records import (
    counters_json,
    dataset_from_row,
    dataset_payload,
    finding_to_json,
    orgao_ranking_from_json,
    run_from_row,
    run_json,
    training_sample_from_json,
    training_sample_to_json,
)


class RunsMixin(PostgresCore):
    def open_run(self, task: str, parameters: dict[str, Any]) -> Run:
        params = run_json(parameters, f"open_run({task}) parameters") or {}
        row = self._one(
            "open_run", task, "INSERT INTO monitor_runs (task, parameters) VALUES (%s, %s) RETURNING *", (task, Jsonb(params))
        )
        assert row is not None
        return run_from_row(row)

    def close_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counters: dict[str, int] | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> Run:
        what = f"close_run({run_id})"
        status = RunStatus(status)
        if status is RunStatus.RUNNING:
            raise StoreError(f"{what}: a run closes as succeeded or failed")
        delta, report = counters_json(counters, what), run_json(result, f"{what} result")
        row = self._one(
            "close_run",
            str(run_id),
            "SELECT * FROM vigia_close_run(%s, %s, %s, %s, %s)",
            (int(run_id), str(status), None if delta is None else Jsonb(delta),
             None if report is None else Jsonb(report), error),
        )
        assert row is not None
        return run_from_row(row)

    def add_run_counters(self, run_id: int, counters: dict[str, int]) -> None:
        delta = counters_json(counters, f"add_run_counters({run_id})") or {}
        self._one("add_run_counters", str(run_id), "SELECT id FROM vigia_add_run_counters(%s, %s)", (int(run_id), Jsonb(delta)))

    def get_run(self, run_id: int) -> Run | None:
        row = self._one("get_run", str(run_id), "SELECT * FROM monitor_runs WHERE id = %s", (int(run_id),))
        return None if row is None else run_from_row(row)

    def last_runs(self, *, task: str | None = None, status: RunStatus | None = None, limit: int = 20) -> list[Run]:
        where, params = [], []
        if task is not None:
            where.append("task = %s")
            params.append(task)
        if status is not None:
            where.append("status = %s")
            params.append(str(RunStatus(status)))
        query = "SELECT * FROM monitor_runs" + (" WHERE " + " AND ".join(where) if where else "")
        query += " ORDER BY started_at DESC, id DESC LIMIT %s"
        rows = self._all("last_runs", task or "", query, (*params, max(int(limit), 0)))
        return [run_from_row(r) for r in rows]

    # -- datasets ----------------------------------------------------------------------------------
    def training_samples(self) -> list[TrainingSample]:
        row = self._one("training_samples", "", "SELECT vigia_training_samples() AS s")
        assert row is not None
        return [training_sample_from_json(s) for s in row["s"]]

    def save_dataset(self, *, feature_version: str, samples: Sequence[TrainingSample]) -> Dataset:
        stored, checksum, positive, negative = dataset_payload([training_sample_to_json(s) for s in samples])
        row = self._one(
            "save_dataset",
            f"{len(stored)} samples",
            "INSERT INTO ml_training_datasets (feature_version, total, positive, negative, samples, checksum) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
            (feature_version, len(stored), positive, negative, Jsonb(stored), checksum),
        )
        assert row is not None
        return dataset_from_row(row)

    def latest_dataset(self) -> Dataset | None:
        row = self._one(
            "latest_dataset", "", "SELECT * FROM ml_training_datasets ORDER BY created_at DESC, id DESC LIMIT 1"
        )
        return None if row is None else dataset_from_row(row)

    # -- reporting ---------------------------------------------------------------------------------
    def stats(self) -> Stats:
        row = self._one("stats", "", "SELECT vigia_stats() AS s")
        assert row is not None
        data = row["s"]
        return Stats(
            investigations_by_status={k: int(v) for k, v in data["investigations_by_status"].items()},
            findings_by_indicator={k: int(v) for k, v in data["findings_by_indicator"].items()},
            investigations_by_orgao={k: int(v) for k, v in data["investigations_by_orgao"].items()},
            last_runs=self.last_runs(limit=10),
        )

    def orgao_ranking(self, *, limit: int = 100) -> list[OrgaoRanking]:
        row = self._one("orgao_ranking", f"limit={limit}", "SELECT vigia_orgao_ranking(%s) AS r", (int(limit),))
        assert row is not None
        return [orgao_ranking_from_json(item) for item in row["r"]]

    def save_orgao_findings(
        self, orgao_codigo: str, year: int, findings: Sequence[Finding], detector_version: str
    ) -> None:
        payload = [finding_to_json(f) for f in findings]
        self._one(
            "save_orgao_findings",
            f"{orgao_codigo}/{year}, {len(payload)} findings",
            "SELECT vigia_save_orgao_findings(%s, %s, %s, %s) AS n",
            (orgao_codigo, int(year), Jsonb(payload), detector_version),
        )
