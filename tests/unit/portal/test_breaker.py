"""The circuit breaker: opens after consecutive failures, probes once, closes on success."""

from __future__ import annotations

import pytest

from shared.portal.breaker import BreakerState, CircuitBreaker
from shared.portal.errors import CircuitOpen, PortalUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_the_threshold_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=30, clock=Clock())
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure("503")
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call()
    breaker.record_failure("503 again")
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen, match="3 times in a row.*503 again") as caught:
        breaker.before_call()
    assert isinstance(caught.value, PortalUnavailable)
    assert 0 < caught.value.retry_in <= 30


def test_it_forgets_failures_after_a_success() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=30, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_it_lets_exactly_one_probe_through_after_the_reset_period() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 30
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # everyone else waits for the probe's verdict
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call()


def test_it_reopens_for_a_full_period_when_the_probe_fails() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=5, reset_seconds=30, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 31
    breaker.before_call()
    breaker.record_failure("probe 503")
    clock.now += 29
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_it_hands_back_a_probe_that_ended_without_a_verdict() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=1, clock=clock)
    breaker.record_failure()
    clock.now += 2
    breaker.before_call()
    breaker.cancel_probe()
    breaker.before_call()  # another caller may probe now
