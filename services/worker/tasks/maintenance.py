"""Maintenance tasks: sanctions mirror, health check, stuck work, training dataset, metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task

from services.worker.tasks.common import TASK_OPTIONS, budget, context, continue_or_wait, retry_if_worth_it
from shared import task_names
from shared.observability import hooks
from shared.pipeline import health, maintenance, runs, sanctions
from shared.pipeline.context import Budget, PipelineContext, Step
from shared.pipeline.errors import describe, is_retryable

log = logging.getLogger("vigia.tasks.maintenance")

HEALTH_CHECK = task_names.HEALTH_CHECK


@shared_task(name=task_names.REFRESH_SANCTIONS, max_retries=6, **TASK_OPTIONS)
def refresh_sanctions(self: Any, run_id: int | None = None) -> dict[str, Any]:
    """Refresh the CEIS/CNEP mirror, continuing in a new task when the budget runs out."""
    ctx = context()
    if run_id is None:
        run_id = sanctions.start_refresh(ctx, task=self.name, task_id=self.request.id)
        if run_id is None:
            return {"status": "already_done"}
    owner = self.request.id or f"inline-{run_id}"
    try:
        status = sanctions.refresh(ctx, run_id=run_id, owner=owner, budget=budget(self))
    except Exception as error:
        retry_if_worth_it(self, error)
        status = _fail_and_go_on(ctx, run_id, owner, budget(self), error)
    continue_or_wait(self, status, run_id=run_id)
    return {"status": str(status), "run_id": run_id}


def _fail_and_go_on(ctx: PipelineContext, run_id: int, owner: str, step_budget: Budget, error: BaseException) -> Step:
    """Record the list being read as failed for good and go on with the next one.

    An error that no list can escape (no Portal configured, a refused key) fails each list in
    turn, so the run still closes as failed instead of staying open.
    """
    for _ in sanctions.LISTAS:
        try:
            return sanctions.refresh(ctx, run_id=run_id, owner=owner, budget=step_budget, error=describe(error))
        except Exception as again:
            if is_retryable(again):
                raise
            error = again
    return sanctions.refresh(ctx, run_id=run_id, owner=owner, budget=step_budget, error=describe(error))


@shared_task(name=HEALTH_CHECK, max_retries=0, **TASK_OPTIONS)
def health_check(self: Any) -> dict[str, Any]:
    """Check Redis, the database, the Portal, Groq and the schedules; store and log the report."""
    from services.beat.schedule import expected_periods

    ctx = context()
    hooks.health_started(ctx.settings, self.request.id)
    portal = _portal_or_none(ctx)
    try:
        checks = health.run_health_checks(redis=ctx.redis, store=ctx.store, portal=portal,
                                          groq=ctx.summaries.chat, periods=expected_periods(ctx.settings),
                                          now=ctx.clock())
    finally:
        if portal is not None:
            portal.close()
    report = health.report(checks)
    level = logging.INFO if report["status"] == "healthy" else logging.WARNING
    log.log(level, "health check", extra=report)
    hooks.health_reported(ctx.settings, ctx.redis, self.request.id, report)
    if checks["database"].status == "ok":
        try:
            run = runs.begin(ctx, self.name, self.request.id, {})
            if run is not None:
                runs.succeed(ctx, run.id, result=report)
        except Exception as error:  # the report is logged; storing it is best effort
            log.error("health report not stored: %s", describe(error))
    return report


def _portal_or_none(ctx: PipelineContext) -> Any | None:
    """A client for one probe: short timeout, one retry, so a Portal outage reports in seconds."""
    from shared.portal.client import PortalClient

    try:
        return PortalClient.from_settings(ctx.settings, ctx.redis, timeout=10, max_retries=1)
    except Exception as error:  # e.g. production refusing the simulator: the check says so
        log.error("no Portal client: %s", describe(error))
        return None


def _recorded(task: Any, work: Callable[[PipelineContext], tuple[dict[str, int], dict[str, Any]]]) -> dict[str, Any]:
    ctx = context()
    run = runs.begin(ctx, task.name, task.request.id, {})
    if run is None:
        return {"status": "already_done"}
    try:
        counters, result = work(ctx)
        # Inside: a database away at the close is retried like any step, not left an open run.
        runs.succeed(ctx, run.id, counters=counters, result=result)
    except Exception as error:
        retry_if_worth_it(task, error)
        runs.fail(ctx, run.id, describe(error))
        raise
    return {"status": "succeeded", "run_id": run.id, **counters}


@shared_task(name=task_names.CLEANUP_STUCK, max_retries=3, **TASK_OPTIONS)
def cleanup_stuck(self: Any) -> dict[str, Any]:
    """Fail investigations and runs stuck past their threshold, with the reason."""
    return _recorded(self, maintenance.cleanup_stuck)


@shared_task(name=task_names.BUILD_TRAINING_DATASET, max_retries=3, **TASK_OPTIONS)
def build_training_dataset(self: Any) -> dict[str, Any]:
    """Snapshot feedback-labelled findings with their features into ml_training_datasets."""
    return _recorded(self, maintenance.build_training_dataset)


@shared_task(name=task_names.METRICS_REPORT, max_retries=3, **TASK_OPTIONS)
def metrics_report(self: Any) -> dict[str, Any]:
    """Runs, investigations by status, findings by indicator and success rate of the last day."""
    return _recorded(self, maintenance.metrics_report)
