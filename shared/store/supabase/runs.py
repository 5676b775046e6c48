"""Runs, datasets and reports through Supabase's REST API (aggregates are ``rpc`` calls)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain import Finding, RunStatus
from shared.store.base import Dataset, OrgaoRanking, Run, Stats, StoreError, TrainingSample
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
from shared.store.supabase.core import SupabaseCore


class RunsMixin(SupabaseCore):
    def open_run(self, task: str, parameters: dict[str, Any]) -> Run:
        params = run_json(parameters, f"open_run({task}) parameters") or {}
        response = self._call(
            "open_run", task, lambda: self.table("monitor_runs").insert({"task": task, "parameters": params}).execute()
        )
        return run_from_row(response.data[0])

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
        data = self._rpc("close_run", str(run_id), "vigia_close_run", {
            "p_run_id": int(run_id), "p_status": str(status), "p_counters": counters_json(counters, what),
            "p_result": run_json(result, f"{what} result"), "p_error": error,
        })
        return run_from_row(data)

    def add_run_counters(self, run_id: int, counters: dict[str, int]) -> None:
        delta = counters_json(counters, f"add_run_counters({run_id})") or {}
        self._rpc("add_run_counters", str(run_id), "vigia_add_run_counters", {"p_run_id": int(run_id), "p_counters": delta})

    def get_run(self, run_id: int) -> Run | None:
        response = self._call(
            "get_run", str(run_id), lambda: self.table("monitor_runs").select("*").eq("id", int(run_id)).execute()
        )
        return run_from_row(response.data[0]) if response.data else None

    def last_runs(self, *, task: str | None = None, status: RunStatus | None = None, limit: int = 20) -> list[Run]:
        def request() -> Any:
            query = self.table("monitor_runs").select("*")
            if task is not None:
                query = query.eq("task", task)
            if status is not None:
                query = query.eq("status", str(RunStatus(status)))
            return query.order("started_at", desc=True).order("id", desc=True).limit(max(int(limit), 0)).execute()

        return [run_from_row(r) for r in self._call("last_runs", task or "", request).data]

    # -- datasets ----------------------------------------------------------------------------------
    def training_samples(self) -> list[TrainingSample]:
        data = self._rpc("training_samples", "", "vigia_training_samples", {})
        return [training_sample_from_json(s) for s in data]

    def save_dataset(self, *, feature_version: str, samples: Sequence[TrainingSample]) -> Dataset:
        stored, checksum, positive, negative = dataset_payload([training_sample_to_json(s) for s in samples])
        row = {"feature_version": feature_version, "total": len(stored), "positive": positive, "negative": negative,
               "samples": stored, "checksum": checksum}
        response = self._call(
            "save_dataset", f"{len(stored)} samples", lambda: self.table("ml_training_datasets").insert(row).execute()
        )
        return dataset_from_row(response.data[0])

    def latest_dataset(self) -> Dataset | None:
        response = self._call(
            "latest_dataset", "",
            lambda: self.table("ml_training_datasets").select("*").order("created_at", desc=True)
            .order("id", desc=True).limit(1).execute(),
        )
        return dataset_from_row(response.data[0]) if response.data else None

    # -- reporting ---------------------------------------------------------------------------------
    def stats(self) -> Stats:
        data = self._rpc("stats", "", "vigia_stats", {})
        return Stats(
            investigations_by_status={k: int(v) for k, v in data["investigations_by_status"].items()},
            findings_by_indicator={k: int(v) for k, v in data["findings_by_indicator"].items()},
            investigations_by_orgao={k: int(v) for k, v in data["investigations_by_orgao"].items()},
            last_runs=self.last_runs(limit=10),
        )

    def orgao_ranking(self, *, limit: int = 100) -> list[OrgaoRanking]:
        data = self._rpc("orgao_ranking", f"limit={limit}", "vigia_orgao_ranking", {"p_limit": int(limit)})
        return [orgao_ranking_from_json(item) for item in data]

    def save_orgao_findings(
        self, orgao_codigo: str, year: int, findings: Sequence[Finding], detector_version: str
    ) -> None:
        payload = [finding_to_json(f) for f in findings]
        self._rpc("save_orgao_findings", f"{orgao_codigo}/{year}, {len(payload)} findings", "vigia_save_orgao_findings", {
            "p_orgao_codigo": orgao_codigo, "p_year": int(year), "p_findings": payload,
            "p_detector_version": detector_version,
        })
