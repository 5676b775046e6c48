"""What every Vigia task module shares: the process context, time budgets, and the retry rule.

Retry only what may succeed later (:func:`shared.pipeline.errors.is_retryable`), with the
countdown the error asks for, a bounded number of times; otherwise the caller records the
failure (a failed run, a failed investigation) and gives up. Inline runs (``vigia run
--inline``, where Celery executes tasks eagerly) have no time budget and wait out a retry's
countdown in-process instead of scheduling it.

Redis unreachable is different: a retry is a new message on the broker that cannot be reached
(Celery then drops the task), and a failure would be acknowledged once Redis is back — the task
lost either way. So a Redis outage anywhere in a task (:class:`VigiaTask`) rejects the message
with requeue: it goes back to its queue when the worker reaches Redis again (or, if Redis is
still away then, comes back after the visibility timeout), and the task resumes from the state it
kept in Redis.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject
from kombu.exceptions import OperationalError

from services.worker import resources
from shared.observability import hooks
from shared.pipeline.context import Budget, PipelineContext, Step, lease_seconds
from shared.pipeline.errors import describe, is_retryable, retry_countdown
from shared.portal.errors import PermanentRequestError

log = logging.getLogger("vigia.tasks")

# Redis did not answer: a connection refused or cut, a timeout, Redis still loading its data after
# a restart (a ConnectionError too), or a publish that gave up. Wrong credentials are no outage.
BROKER_OUTAGE: tuple[type[BaseException], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                                                  OperationalError)
_NOT_OUTAGE = (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)


def is_broker_outage(error: BaseException) -> bool:
    return isinstance(error, BROKER_OUTAGE) and not isinstance(error, _NOT_OUTAGE)


def requeue_if_broker_down(task: Any, error: BaseException) -> None:
    """Raise :class:`Reject` (requeue) when ``error`` is a Redis outage; return otherwise."""
    if not is_broker_outage(error) or task.request.is_eager:
        return
    log.warning("Redis is unreachable; the task goes back to its queue",
                extra={"reason": describe(error), "attempt": task.request.retries + 1})
    raise Reject(describe(error), requeue=True) from error


class VigiaTask(Task):
    """Every Vigia task: a Redis outage that escapes the task requeues its message."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except BROKER_OUTAGE as error:
            requeue_if_broker_down(self, error)
            raise


# Options every task shares; retry counts are per task.
TASK_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "base": VigiaTask}


def context() -> PipelineContext:
    return resources.get_context()


def budget(task: Any) -> Budget:
    if task.request.is_eager:
        return Budget.unlimited()
    return Budget.for_task(context().settings)


def retry_if_worth_it(task: Any, error: BaseException) -> None:
    """Raise ``task.retry`` when ``error`` may pass and attempts remain; return to give up.

    A Redis outage raises :class:`Reject` instead (see the module docstring). A Portal 401/403
    (the key refused) also raises an alert."""
    requeue_if_broker_down(task, error)
    if isinstance(error, PermanentRequestError) and error.status in (401, 403):
        _alert_key_refused(error)
    if not is_retryable(error) or task.request.retries >= task.max_retries:
        return
    countdown = retry_countdown(error, task.request.retries)
    log.warning("task will retry", extra={"reason": describe(error), "countdown_s": round(countdown, 1),
                                          "attempt": task.request.retries + 1, "max_retries": task.max_retries})
    if task.request.is_eager:
        time.sleep(min(countdown, 60.0))
    raise task.retry(exc=error, countdown=countdown)


def _alert_key_refused(error: PermanentRequestError) -> None:
    try:
        hooks.portal_key_refused(context().settings, resources.get_redis(), error)
    except Exception as failure:  # an alert must never change what the task does
        log.warning("key-refused alert not raised: %s", failure)


def follow_up(task: Any, *, countdown: float | None = None, **kwargs: Any) -> None:
    """Continue this task's work in a fresh message (its budget is spent, or a step remains)."""
    task.signature(kwargs=kwargs).apply_async(countdown=countdown)


def continue_or_wait(task: Any, status: Step, *, retry_in: int | None = None, **kwargs: Any) -> None:
    """Send the follow-up a resumable step asks for: at once on CONTINUE (its budget ran out, the
    state in Redis says where to resume); on BUSY once the other copy's lease has expired —
    ``retry_in`` seconds when the step knows, a whole lease otherwise — since the holder may
    have died past its time limit with its message acknowledged. DONE needs nothing."""
    if status is Step.CONTINUE:
        follow_up(task, **kwargs)
    elif status is Step.BUSY:
        wait = lease_seconds(context().settings) if retry_in is None else retry_in
        follow_up(task, countdown=wait + 1, **kwargs)
