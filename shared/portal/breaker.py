"""A circuit breaker, so a process stops hammering a Portal that keeps failing.

Closed: calls pass; every failed attempt (5xx, timeout, empty or non-JSON body) counts, every
answer from a working API resets the count. After ``failure_threshold`` failures in a row it
opens: calls fail at once with :class:`CircuitOpen` for ``reset_seconds``. Then it lets exactly
one probe through (half-open): success closes it, failure opens it for another period. It is
per process and thread-safe; the clock is injectable so tests need no sleeps to cross a period.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.portal.errors import CircuitOpen

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("vigia.portal.breaker")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        name: str = "portal",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._last_failure = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> CircuitBreaker:
        """The breaker ``PORTAL_BREAKER_FAILURES`` and ``PORTAL_BREAKER_RESET_SECONDS`` describe."""
        return cls(failure_threshold=settings.portal_breaker_failures,
                   reset_seconds=float(settings.portal_breaker_reset_seconds))

    @property
    def state(self) -> BreakerState:
        with self._lock:
            if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_seconds:
                return BreakerState.HALF_OPEN
            return self._state

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go out now."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return
            elapsed = self._clock() - self._opened_at
            if self._state is BreakerState.OPEN and elapsed >= self.reset_seconds:
                self._state = BreakerState.HALF_OPEN
                self._probe_in_flight = False
            if self._state is BreakerState.HALF_OPEN and not self._probe_in_flight:
                self._probe_in_flight = True  # exactly one probe; the others wait for its verdict
                log.info("circuit half-open: probing the Portal", extra={"breaker": self.name})
                return
            retry_in = max(0.0, self.reset_seconds - elapsed)
            raise CircuitOpen(
                f"the Portal failed {self._failures} times in a row (last: {self._last_failure}); "
                f"calls are suspended for another {retry_in:.0f} s",
                retry_in=retry_in,
            )

    def record_success(self) -> None:
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                log.info("circuit closed: the Portal answers again", extra={"breaker": self.name})
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def cancel_probe(self) -> None:
        """A call ended without a verdict on the API's health (interrupted, or never sent)."""
        with self._lock:
            self._probe_in_flight = False

    def record_failure(self, description: str = "") -> None:
        with self._lock:
            self._failures += 1
            self._last_failure = description or self._last_failure
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                if self._state is not BreakerState.OPEN:
                    log.warning(
                        "circuit open: the Portal keeps failing",
                        extra={"breaker": self.name, "failures": self._failures,
                               "last_failure": self._last_failure, "reset_seconds": self.reset_seconds},
                    )
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probe_in_flight = False
