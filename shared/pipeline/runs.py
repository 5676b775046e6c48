"""Run rows for tasks that are one step (maintenance): opened once per task id, closed once.

A redelivered task finds the run its first delivery opened (Redis maps task id -> run id): it
continues it while it is running and does nothing once it is closed, so no task records two runs
or does its work twice after finishing. A failure that will be retried leaves the run open; the
task closes it as failed when it gives up.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.domain import RunStatus
from shared.observability import hooks
from shared.pipeline import state
from shared.pipeline.context import PipelineContext
from shared.pipeline.state import RunState
from shared.store.base import Run, StoreError

log = logging.getLogger("vigia.pipeline.runs")
# The error of a run row opened by a second delivery of a task and closed at once: not a failure
# of the work (the first delivery's run carries on), so the health check looks past it.
DUPLICATE_DELIVERY = "duplicate delivery of task"


def begin(ctx: PipelineContext, task: str, task_id: str | None, parameters: dict[str, Any]) -> Run | None:
    """The run of this task id, opened now or by an earlier delivery; None when it already closed."""
    existing = state.task_run(ctx.redis, task_id)
    if existing is not None:
        run = ctx.store.get_run(existing)
        if run is not None:
            return run if run.status is RunStatus.RUNNING else None
    run = ctx.store.open_run(task, {**parameters, "task_id": task_id})
    bound = state.remember_task_run(ctx.redis, task_id, run.id)
    if bound != run.id:
        ctx.store.close_run(run.id, status=RunStatus.FAILED, error=f"{DUPLICATE_DELIVERY} {task_id}")
        other = ctx.store.get_run(bound)
        return other if other is not None and other.status is RunStatus.RUNNING else None
    return run


def _close(ctx: PipelineContext, runs: RunState, run_id: int, **fields: Any) -> Run:
    """Close a claimed run; a failed close gives the claim back, or the retry of the task (seconds
    later) would find it taken and leave the run open until the claim expires."""
    try:
        return ctx.store.close_run(run_id, **fields)
    except StoreError:
        runs.release_close()
        raise


def succeed(ctx: PipelineContext, run_id: int, *, counters: dict[str, int] | None = None,
            result: dict[str, Any] | None = None) -> Run | None:
    runs = RunState(ctx.redis, run_id)
    if not runs.claim_close():
        return None
    return _close(ctx, runs, run_id, status=RunStatus.SUCCEEDED, counters=counters, result=result)


def fail(ctx: PipelineContext, run_id: int, error: str, *, result: dict[str, Any] | None = None) -> Run | None:
    runs = RunState(ctx.redis, run_id)
    if not runs.claim_close():
        return None
    log.error("run failed", extra={"run_id": run_id, "error": error})
    return _close(ctx, runs, run_id, status=RunStatus.FAILED, error=error[:1000], result=result)


def close_if_complete(ctx: PipelineContext, run_id: int, *, seen_counter: str = "contracts_seen") -> Run | None:
    """Close a fanned-out run once every planned part finished, deciding its status.

    *failed* when every part failed, or when nothing was read (``seen_counter`` is 0) and some
    part failed: a run that read nothing because of errors is never a silent success.
    """
    runs = RunState(ctx.redis, run_id)
    done, total = runs.progress()
    if total is None or done < total:
        return None
    run = ctx.store.get_run(run_id)
    if run is None or run.status is not RunStatus.RUNNING:
        return run
    if not runs.claim_close():
        return None
    failures = runs.failures()
    seen = int(run.counters.get(seen_counter, 0))
    status, error = RunStatus.SUCCEEDED, None
    if total and len(failures) >= total:
        status, error = RunStatus.FAILED, f"every part failed ({len(failures)}): " + _sample(failures)
    elif seen == 0 and failures:
        status, error = RunStatus.FAILED, f"read nothing; {len(failures)} part(s) failed: " + _sample(failures)
    result = {"parts": total, "parts_failed": dict(list(failures.items())[:50])}
    unknown = runs.field("unknown")
    if unknown:
        result["unknown_orgaos"] = unknown
    closed = _close(ctx, runs, run_id, status=status, result=result, error=error)
    log.info("run closed", extra={"run_id": run_id, "task": run.task, "status": str(status), "error": error,
                                  **closed.counters})
    hooks.cycle_closed(ctx.settings, ctx.redis, closed)
    return closed


def _sample(failures: dict[str, str], limit: int = 3) -> str:
    return "; ".join(f"{part}: {reason}" for part, reason in list(failures.items())[:limit])
