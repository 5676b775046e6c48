"""Monitoring tasks: the 6-hourly and 4-hourly cycles and the per-órgão sweep they fan out.

Thin by design: :mod:`shared.pipeline.monitoring` does the work; these tasks pass ids and
windows, send the sweeps, continue a sweep whose budget ran out, and decide retries.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from services.worker.tasks.common import (
    TASK_OPTIONS,
    budget,
    context,
    continue_or_wait,
    follow_up,
    retry_if_worth_it,
)
from shared import task_names
from shared.domain import Trigger
from shared.observability import hooks
from shared.pipeline import monitoring, state
from shared.pipeline.errors import describe
from shared.pipeline.runs import close_if_complete
from shared.pipeline.state import RunState
from shared.pipeline.windows import Window

log = logging.getLogger("vigia.tasks.monitoring")


@shared_task(name=task_names.MONITOR_NEW_CONTRACTS, max_retries=4, **TASK_OPTIONS)
def monitor_new_contracts(self: Any, lookback_hours: int | None = None) -> dict[str, Any]:
    """Sweep every watched órgão (WATCHED_ORGAOS, or all of /orgaos-siafi)."""
    settings = context().settings
    return _cycle(self, Trigger.SCHEDULED, lookback_hours or settings.monitor_lookback_hours,
                  list(settings.watched_orgaos))


@shared_task(name=task_names.MONITOR_PRIORITY_ORGS, max_retries=4, **TASK_OPTIONS)
def monitor_priority_orgs(self: Any, lookback_hours: int | None = None) -> dict[str, Any]:
    """Sweep the PRIORITY_ORGAOS codes (validated against /orgaos-siafi)."""
    settings = context().settings
    if not settings.priority_orgaos:
        log.info("PRIORITY_ORGAOS is empty; nothing to sweep")
        return {"status": "skipped", "reason": "PRIORITY_ORGAOS is empty"}
    return _cycle(self, Trigger.PRIORITY, lookback_hours or settings.priority_lookback_hours,
                  list(settings.priority_orgaos))


def _cycle(task: Any, trigger: Trigger, lookback_hours: int, configured: list[str]) -> dict[str, Any]:
    ctx = context()
    try:
        plan = monitoring.start_cycle(ctx, task=task.name, task_id=task.request.id, trigger=trigger,
                                      lookback_hours=lookback_hours, configured=configured)
    except monitoring.NothingToSweep as error:
        return {"status": "failed", "error": str(error)}
    except Exception as error:
        retry_if_worth_it(task, error)
        run_id = state.task_run(ctx.redis, task.request.id)
        if run_id is not None:
            monitoring.fail_cycle(ctx, run_id, f"could not start the cycle: {describe(error)}")
        raise
    if plan.closed:
        return {"status": "already_closed", "run_id": plan.run_id}
    hooks.cycle_started(ctx.settings, plan.run_id)
    runs = RunState(ctx.redis, plan.run_id)
    sweep = task.app.tasks[sweep_orgao.name]  # this task's app, whichever is current in this thread
    sent = 0
    for orgao in plan.orgaos:
        # Sent before marked: a crash in between sends one sweep twice (harmless), never none.
        if runs.was_dispatched(orgao):
            continue
        sweep.apply_async(kwargs={"run_id": plan.run_id, "orgao": orgao, "trigger": str(trigger),
                                  **plan.window.as_params()})
        runs.mark_dispatched(orgao)
        sent += 1
    log.info("sweeps sent", extra={"run_id": plan.run_id, "orgaos": len(plan.orgaos), "sent": sent})
    return {"status": "dispatched", "run_id": plan.run_id, "orgaos": len(plan.orgaos), "sent": sent,
            **plan.window.as_params()}


@shared_task(name=task_names.SWEEP_ORGAO, max_retries=8, **TASK_OPTIONS)
def sweep_orgao(self: Any, run_id: int, orgao: str, data_inicial: str, data_final: str,
                trigger: str = "scheduled") -> dict[str, Any]:
    """Page one órgão's contracts for the window, store them, analyse the new and changed ones."""
    ctx = context()
    kwargs: dict[str, Any] = {"run_id": run_id, "orgao": orgao, "data_inicial": data_inicial,
                              "data_final": data_final, "trigger": trigger}
    window = Window.from_params({"data_inicial": data_inicial, "data_final": data_final})
    advance = partial(monitoring.sweep, ctx, run_id=int(run_id), orgao=orgao, window=window, trigger=Trigger(trigger),
                      owner=self.request.id or f"inline-{run_id}-{orgao}")
    try:
        step = advance(budget=budget(self))
    except SoftTimeLimitExceeded:
        follow_up(self, **kwargs)  # the cursor is in Redis: the next task resumes at the next page
        return {"status": "continued"}
    except Exception as error:
        retry_if_worth_it(self, error)
        reason = describe(error)
        log.error("sweep gives up reading; analysing what it stored", extra={"orgao": orgao, "reason": reason})
        try:
            step = advance(budget=budget(self), error=reason)
        except Exception as second:
            RunState(ctx.redis, run_id).finish_part(orgao, f"{reason}; then {describe(second)}")
            close_if_complete(ctx, int(run_id))
            raise
    # A BUSY sweep whose holder finished meanwhile ends at ALREADY_DONE when it looks again.
    continue_or_wait(self, step.status, retry_in=step.retry_in, **kwargs)
    return {"status": str(step.status), "orgao": orgao, **step.counters}
