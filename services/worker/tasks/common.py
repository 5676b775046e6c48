"""What every Vigia task module shares: the process context, time budgets, and the retry rule.

Retry only what may succeed later (:func:`shared.pipeline.errors.is_retryable`), with the
countdown the error asks for, a bounded number of times; otherwise the caller records the
failure (a failed run, a failed investigation) and gives up. Inline runs (``vigia run
--inline``, where Celery executes tasks eagerly) have no time budget and wait out a retry's
countdown in-process instead of scheduling it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from services.worker import resources
from shared.pipeline.context import Budget, PipelineContext
from shared.pipeline.errors import describe, is_retryable, retry_countdown

log = logging.getLogger("vigia.tasks")

# Options every task shares; retry counts are per task.
TASK_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "reject_on_worker_lost": True}


def context() -> PipelineContext:
    return resources.get_context()


def budget(task: Any) -> Budget:
    if task.request.is_eager:
        return Budget.unlimited()
    return Budget.for_task(context().settings)


def retry_if_worth_it(task: Any, error: BaseException) -> None:
    """Raise ``task.retry`` when ``error`` may pass and attempts remain; return to give up."""
    if not is_retryable(error) or task.request.retries >= task.max_retries:
        return
    countdown = retry_countdown(error, task.request.retries)
    log.warning("task will retry", extra={"reason": describe(error), "countdown_s": round(countdown, 1),
                                          "attempt": task.request.retries + 1, "max_retries": task.max_retries})
    if task.request.is_eager:
        time.sleep(min(countdown, 60.0))
    raise task.retry(exc=error, countdown=countdown)


def follow_up(task: Any, *, countdown: float | None = None, **kwargs: Any) -> None:
    """Continue this task's work in a fresh message (its budget is spent, or a step remains)."""
    task.signature(kwargs=kwargs).apply_async(countdown=countdown)


def lease_wait(settings: Any) -> int:
    """How long a step that found another copy busy waits before it looks again."""
    from shared.pipeline.context import lease_seconds

    return lease_seconds(settings) + 1
