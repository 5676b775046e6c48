"""Analysis tasks: on-demand investigations, a batch of stored contracts, the weekly re-analysis."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from services.worker.tasks.common import TASK_OPTIONS, budget, context, continue_or_wait, retry_if_worth_it
from shared import task_names
from shared.domain import Trigger
from shared.pipeline import investigate as on_demand
from shared.pipeline import reanalysis, runs
from shared.pipeline.analysis import analyze_contracts as analyze
from shared.pipeline.errors import describe

log = logging.getLogger("vigia.tasks.analysis")


@shared_task(name=task_names.INVESTIGATE, max_retries=5, **TASK_OPTIONS)
def investigate(self: Any, investigation_id: str) -> dict[str, Any]:
    """Serve one on-demand request; the investigation always ends completed or failed."""
    ctx = context()
    try:
        done = on_demand.run_investigation(ctx, investigation_id)
    except Exception as error:
        retry_if_worth_it(self, error)
        on_demand.fail(ctx, investigation_id, f"a investigação falhou: {describe(error)}")
        raise
    if done is None:
        return {"investigation_id": investigation_id, "status": "not_run"}
    return {"investigation_id": investigation_id, "status": str(done.status), "findings": done.findings_count}


@shared_task(name=task_names.ANALYZE_CONTRACTS, max_retries=5, **TASK_OPTIONS)
def analyze_contracts(self: Any, contract_ids: list[int], trigger: str = "scheduled") -> dict[str, Any]:
    """Analyse stored contracts by id (with their órgão's peers) and record it as a run."""
    ctx = context()
    run = runs.begin(ctx, self.name, self.request.id, {"contracts": len(contract_ids), "trigger": trigger})
    if run is None:
        return {"status": "already_done"}
    try:
        outcome = analyze(ctx, [int(i) for i in contract_ids], trigger=Trigger(trigger))
        # Inside: a database away at the close is retried like any step, not left an open run.
        runs.succeed(ctx, run.id, counters=outcome.counters())
    except Exception as error:
        retry_if_worth_it(self, error)
        runs.fail(ctx, run.id, describe(error))
        raise
    return {"status": "succeeded", "run_id": run.id, **outcome.counters()}


@shared_task(name=task_names.REANALYZE_HISTORICAL, max_retries=5, **TASK_OPTIONS)
def reanalyze_historical(self: Any, months: int | None = None, run_id: int | None = None) -> dict[str, Any]:
    """Re-run the current detector version over the last months, one 7-day window after another."""
    ctx = context()
    months = months or ctx.settings.reanalysis_months
    try:
        if run_id is None:
            run_id = reanalysis.start_reanalysis(ctx, task=self.name, task_id=self.request.id, months=months)
            if run_id is None:
                return {"status": "already_done"}
        status = reanalysis.reanalyze(ctx, run_id=run_id, owner=self.request.id or f"inline-{run_id}",
                                      budget=budget(self))
    except Exception as error:
        retry_if_worth_it(self, error)
        if run_id is not None:
            runs.fail(ctx, run_id, describe(error))
        raise
    continue_or_wait(self, status, months=months, run_id=run_id)
    return {"status": str(status), "run_id": run_id}
