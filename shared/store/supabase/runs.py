"""Runs and datasets through Supabase's REST API (closing a run, its counters and the reports are SQL functions the front calls)."""

from __future__ import annotations

from typing import Any

from shared.store import commands
from shared.store.supabase.core import SupabaseCore


class RunsMixin(SupabaseCore):
    def _insert_run(self, task: str, parameters: dict[str, Any]) -> commands.Row:
        response = self._call(
            "open_run", task, lambda: self.table("monitor_runs").insert({"task": task, "parameters": parameters}).execute()
        )
        return dict(response.data[0])

    def _run_row(self, run_id: int) -> commands.Row | None:
        response = self._call(
            "get_run", str(run_id), lambda: self.table("monitor_runs").select("*").eq("id", run_id).execute()
        )
        return response.data[0] if response.data else None

    def _run_rows(self, query: commands.RunQuery) -> list[commands.Row]:
        def request() -> Any:
            q = self.table("monitor_runs").select("*")
            for column, value in (("task", query.task), ("status", query.status)):
                if value is not None:
                    q = q.eq(column, str(value))
            return q.order("started_at", desc=True).order("id", desc=True).limit(query.limit).execute()

        return list(self._call("last_runs", query.task or "", request).data)

    # -- datasets ----------------------------------------------------------------------------------
    def _insert_dataset(self, row: commands.Row) -> commands.Row:
        response = self._call(
            "save_dataset", f"{row['total']} samples", lambda: self.table("ml_training_datasets").insert(row).execute()
        )
        return dict(response.data[0])

    def _latest_dataset_row(self) -> commands.Row | None:
        response = self._call(
            "latest_dataset", "",
            lambda: self.table("ml_training_datasets").select("*").order("created_at", desc=True)
            .order("id", desc=True).limit(1).execute(),
        )
        return response.data[0] if response.data else None
