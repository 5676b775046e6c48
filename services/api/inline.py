"""On-demand investigations run inside the web process, for a deployment without Celery.

With ``ENABLE_CELERY_WORKERS=false`` (the API alone on Hugging Face Spaces: no broker it can
reach) there is nothing to queue ``vigia.analysis.investigate`` on, so the POST hands the id to
:class:`InlineInvestigations`: a small thread pool owned by the FastAPI lifespan that runs
:func:`shared.pipeline.investigate.run_investigation` with a context of this process (the
lifespan's store, no Redis, Portal clients that share one in-process limiter taking this worker's
share of the key's budget, the summary writer a worker builds). Its backlog is bounded: past it a
POST answers 503, as when the broker is down. Each investigation has ``API_INLINE_JOB_SECONDS``:
past that its next store call is refused and it ends failed with that reason (a thread cannot
be killed, so the budget is enforced at every step; a Portal page or a summary in flight finishes
first).
On shutdown, work not yet started and work that does not finish within a grace ends failed with
its reason, and a thread still busy is refused the store and the Portal from then on, so it ends
at its next step; a process killed outright leaves ``running`` rows that ``cleanup_stuck`` fails.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, cast

from shared import task_names
from shared.logging import log_context
from shared.pipeline.errors import describe
from shared.pipeline.investigate import fail, run_investigation
from shared.store.base import StoreUnavailable

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.portal.client import PortalClient
    from shared.store.base import Store

log = logging.getLogger("vigia.api.inline")

# Two at a time: the web's CPU and pool connections stay mostly for requests, and the Portal's
# per-key budget, not threads, bounds how fast investigations go.
MAX_WORKERS = 2
# Accepted but unfinished investigations per process; past it a POST is refused, not queued forever.
MAX_BACKLOG = 16
# How long shutdown waits for running investigations; well inside gunicorn's graceful_timeout (20 s).
SHUTDOWN_GRACE_SECONDS = 10.0
TASK_NAME = task_names.INVESTIGATE


class Busy(Exception):
    """The process cannot take another investigation now (backlog full, or shutting down)."""


class OverBudget(RuntimeError):
    """The investigation ran past ``API_INLINE_JOB_SECONDS``."""


# The monotonic deadline of the investigation running on this thread (None outside one).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("inline_deadline", default=None)
# What an investigation past its budget may still do: record that it failed, and read itself.
_AFTER_DEADLINE = frozenset({"fail_investigation", "get_investigation"})


class _StoreUntilStopped:
    """The lifespan's store as investigation threads see it: refused once the app has stopped, so a
    late thread ends at its next step instead of reopening the pool the lifespan closed."""

    def __init__(self, store: Store, stopped: threading.Event, budget_seconds: float) -> None:
        self._store = store
        self._stopped = stopped
        self._budget_seconds = budget_seconds

    def __getattr__(self, name: str) -> Any:
        if self._stopped.is_set():
            raise StoreUnavailable(f"{name}: the API process has stopped")
        deadline = _deadline.get()
        if deadline is not None and time.monotonic() > deadline and name not in _AFTER_DEADLINE:
            raise OverBudget(f"passou do tempo máximo de {self._budget_seconds:g} s (API_INLINE_JOB_SECONDS)")
        return getattr(self._store, name)


class InlineInvestigations:
    """Nothing here connects until an investigation runs; :meth:`close` ends them all."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        max_workers: int = MAX_WORKERS,
        max_backlog: int = MAX_BACKLOG,
        grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
        budget_seconds: float | None = None,
    ) -> None:
        from shared.llm import SummaryWriter
        from shared.pipeline.context import PipelineContext

        self.max_workers = max_workers
        self.max_backlog = max_backlog
        self.grace_seconds = grace_seconds
        from shared.portal.ratelimit import LocalRateLimiter

        self._stopped = threading.Event()  # set once close() has failed what it could not finish
        self.budget_seconds = float(settings.api_inline_job_seconds if budget_seconds is None else budget_seconds)
        # One limiter for every investigation thread of this process: the Portal key's budget
        # holds however many investigations run at once.
        self.portal_limiter = LocalRateLimiter.from_settings(settings)
        self.ctx = PipelineContext(
            settings=settings,
            store=cast("Store", _StoreUntilStopped(store, self._stopped, self.budget_seconds)),
            # run_investigation never touches Redis; the Portal clients share the in-process limiter.
            redis=None,
            summaries=SummaryWriter.from_settings(settings),
            portal_factory=self._portal_client,
        )
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="vigia-investigate")
        self._lock = threading.Lock()
        self._futures: dict[str, Future[None]] = {}
        self._closed = False

    def _portal_client(self) -> PortalClient:
        from shared.portal.client import PortalClient

        if self._stopped.is_set():  # the context would otherwise build a new client after close
            raise RuntimeError("the API process has stopped")
        return PortalClient.from_settings(self.ctx.settings, limiter=self.portal_limiter)

    def in_progress(self) -> list[str]:
        with self._lock:
            return sorted(self._futures)

    def submit(self, investigation_id: str) -> None:
        """Start the investigation in the background; :class:`Busy` when it cannot be taken now."""
        with self._lock:
            if self._closed:
                raise Busy("the API process is shutting down")
            if len(self._futures) >= self.max_backlog:
                raise Busy(f"{len(self._futures)} on-demand investigations are already in progress in this process")
            # The request's context goes along, so the investigation's log lines carry its request_id.
            future = self._executor.submit(contextvars.copy_context().run, self._run, investigation_id)
            self._futures[investigation_id] = future
        future.add_done_callback(lambda _done: self._forget(investigation_id))

    def _forget(self, investigation_id: str) -> None:
        with self._lock:
            self._futures.pop(investigation_id, None)

    def _run(self, investigation_id: str) -> None:
        _deadline.set(time.monotonic() + self.budget_seconds)  # this thread's copy of the context
        with log_context(task_id=investigation_id, task_name=TASK_NAME):
            try:
                done = run_investigation(self.ctx, investigation_id)
            except Exception as error:
                if self._stopped.is_set():  # close() already failed it, with the reason
                    log.info("investigation thread ended after the API stopped: %s", describe(error),
                             extra={"investigation_id": investigation_id})
                    return
                # No retry here: the Portal client already retried; the caller can ask again.
                reason = describe(error)
                log.error("on-demand investigation failed", extra={"investigation_id": investigation_id,
                                                                     "reason": reason})
                self._fail(investigation_id, f"a investigação falhou: {reason}")
                return
            log.info("on-demand investigation finished", extra={
                "investigation_id": investigation_id, "status": str(done.status) if done else "not_run",
                "findings": done.findings_count if done else 0})

    def _fail(self, investigation_id: str, reason: str) -> None:
        try:
            fail(self.ctx, investigation_id, reason)
        except Exception as error:  # the database away: cleanup_stuck fails it once it is back
            log.error("could not mark the investigation failed: %s", describe(error),
                      extra={"investigation_id": investigation_id})

    def close(self) -> None:
        """Stop taking work; fail what never started and what is still running after the grace."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            futures = dict(self._futures)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for investigation_id, future in futures.items():
            if future.cancelled():
                self._fail(investigation_id, "o processo da API parou antes de começar esta investigação; peça de novo")
        running = {future: investigation_id for investigation_id, future in futures.items() if not future.cancelled()}
        _finished, late = wait(running, timeout=self.grace_seconds)
        for future in late:
            # Its thread may still finish later: the store then refuses to complete a failed row.
            self._fail(running[future], f"o processo da API parou antes do fim desta investigação "
                                        f"(não terminou em {self.grace_seconds:g} s); peça de novo")
        self._stopped.set()
        if futures:
            log.warning("on-demand investigations stopped with the process", extra={
                "not_started": sum(f.cancelled() for f in futures.values()), "unfinished": len(late)})
        for name, closer in (("portal", self.ctx.close), ("summaries", self.ctx.summaries.close)):
            try:
                closer()
            except Exception as error:  # closing must never stop a shutdown
                log.warning("closing the %s client failed: %s", name, error)
