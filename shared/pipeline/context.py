"""What a pipeline step works with: one process's store, Portal client, Redis and summary writer.

Workers build one :class:`PipelineContext` per pool process (``services.worker.resources``); the
Portal client is built on first use, since many maintenance steps never call the Portal.
:class:`Budget` is how long a step may keep going before it hands the rest to a fresh task:
half the soft time limit, so a sweep of a huge órgão never meets the hard limit. :class:`Step`
is what a resumable step (a sweep, the sanctions refresh, the re-analysis) says when it returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.domain import Source, utcnow

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.llm import SummaryWriter
    from shared.portal.client import PortalClient
    from shared.store.base import Store


@dataclass
class PipelineContext:
    settings: Settings
    store: Store
    redis: Any
    summaries: SummaryWriter
    portal_factory: Callable[[], PortalClient]
    clock: Callable[[], datetime] = utcnow
    _portal: PortalClient | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def portal(self) -> PortalClient:
        with self._lock:
            if self._portal is None:
                self._portal = self.portal_factory()
            return self._portal

    @property
    def source(self) -> Source:
        """Which data this deployment reads: simulated contracts are never analysed with real ones."""
        return Source.SIMULATOR if self.settings.uses_simulator else Source.PORTAL

    def close(self) -> None:
        with self._lock:
            portal, self._portal = self._portal, None
        if portal is not None:
            portal.close()


class Step(StrEnum):
    """How a resumable step ended; the task continues or waits on :attr:`CONTINUE` and :attr:`BUSY`."""

    DONE = "done"
    CONTINUE = "continue"  # the budget ran out: a fresh task resumes from the state kept in Redis
    BUSY = "busy"  # another copy holds the lease: look again once it has expired
    ALREADY_DONE = "already_done"  # a redelivery of a part that had finished


class Budget:
    """Seconds a step may run before handing over; ``None`` seconds never runs out (inline runs)."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._deadline = None if seconds is None else clock() + seconds

    @classmethod
    def for_task(cls, settings: Settings) -> Budget:
        return cls(max(1.0, settings.task_soft_time_limit * 0.5))

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(None)

    def exhausted(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline


def visibility_timeout(settings: Settings) -> int:
    """Seconds before Redis hands an unacknowledged task to another worker (as the Celery app sets it)."""
    return settings.broker_visibility_timeout_seconds or max(settings.task_time_limit * 2, 3600)


def lease_seconds(settings: Settings) -> int:
    """How long a sweep's lease lasts: past the hard time limit (so two copies never overlap),
    yet short of the visibility timeout (so a lost holder's work is free before redelivery)."""
    margin = min(30, max(1, (visibility_timeout(settings) - settings.task_time_limit) // 2))
    return int(settings.task_time_limit + margin)
