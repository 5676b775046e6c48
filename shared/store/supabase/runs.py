"""Runs, datasets and reports through Supabase's REST API (aggregates are ``rpc`` calls)."""

from __future__ import annotations

from typing import Any

from shared.store.commands import Row, RunClosing, RunQuery
from shared.store.supabase.core import SupabaseCore


class RunsMixin(SupabaseCore):
    def _insert_run(self, task: str, parameters: dict[str, Any]) -> Row:
        response = self._call(
            "open_run", task, lambda: self.table("monitor_runs").insert({"task": task, "parameters": parameters}).execute()
        )
        return dict(response.data[0])

    def _close_run(self, closing: RunClosing) -> Row:
        c = closing
        return dict(self._rpc("close_run", str(c.run_id), "vigia_close_run", {
            "p_run_id": c.run_id, "p_status": str(c.status), "p_counters": c.counters, "p_result": c.result,
            "p_error": c.error,
        }))

    def _add_run_counters(self, run_id: int, counters: dict[str, int]) -> None:
        self._rpc("add_run_counters", str(run_id), "vigia_add_run_counters", {"p_run_id": run_id, "p_counters": counters})

    def _run_row(self, run_id: int) -> Row | None:
        response = self._call(
            "get_run", str(run_id), lambda: self.table("monitor_runs").select("*").eq("id", run_id).execute()
        )
        return response.data[0] if response.data else None

    def _run_rows(self, query: RunQuery) -> list[Row]:
        def request() -> Any:
            q = self.table("monitor_runs").select("*")
            for column, value in (("task", query.task), ("status", query.status)):
                if value is not None:
                    q = q.eq(column, str(value))
            return q.order("started_at", desc=True).order("id", desc=True).limit(query.limit).execute()

        return list(self._call("last_runs", query.task or "", request).data)

    # -- datasets ----------------------------------------------------------------------------------
    def _training_samples(self) -> list[dict[str, Any]]:
        return list(self._rpc("training_samples", "", "vigia_training_samples", {}))

    def _insert_dataset(self, row: Row) -> Row:
        response = self._call(
            "save_dataset", f"{row['total']} samples", lambda: self.table("ml_training_datasets").insert(row).execute()
        )
        return dict(response.data[0])

    def _latest_dataset_row(self) -> Row | None:
        response = self._call(
            "latest_dataset", "",
            lambda: self.table("ml_training_datasets").select("*").order("created_at", desc=True)
            .order("id", desc=True).limit(1).execute(),
        )
        return response.data[0] if response.data else None

    # -- reporting ---------------------------------------------------------------------------------
    def _stats(self) -> dict[str, Any]:
        return dict(self._rpc("stats", "", "vigia_stats", {}))

    def _orgao_ranking(self, limit: int) -> list[dict[str, Any]]:
        return list(self._rpc("orgao_ranking", f"limit={limit}", "vigia_orgao_ranking", {"p_limit": limit}))

    def _save_orgao_findings(self, orgao_codigo: str, year: int, findings: list[dict[str, Any]],
                             detector_version: str) -> None:
        self._rpc("save_orgao_findings", f"{orgao_codigo}/{year}, {len(findings)} findings", "vigia_save_orgao_findings", {
            "p_orgao_codigo": orgao_codigo, "p_year": year, "p_findings": findings,
            "p_detector_version": detector_version,
        })
