"""Retry only what may pass later, after the wait the error asks for, and give budgets that end."""

from __future__ import annotations

from shared.pipeline.context import Budget
from shared.pipeline.errors import describe, is_retryable, retry_countdown
from shared.portal.errors import (
    CircuitOpen,
    InvalidResponse,
    PermanentRequestError,
    PortalUnavailable,
    RateLimited,
)
from shared.store.base import Conflict, StoreUnavailable


def test_it_retries_only_transient_failures() -> None:
    assert is_retryable(PortalUnavailable("503"))
    assert is_retryable(RateLimited("429", retry_after=30))
    assert is_retryable(CircuitOpen("open", retry_in=10))
    assert is_retryable(StoreUnavailable("down"))
    assert not is_retryable(PermanentRequestError("403"))
    assert not is_retryable(InvalidResponse("not json"))
    assert not is_retryable(Conflict("cancelled"))
    assert not is_retryable(ValueError("bug"))


def test_it_waits_what_a_429_asks_and_backs_off_otherwise() -> None:
    assert retry_countdown(RateLimited("429", retry_after=42), 0) == 42
    assert retry_countdown(RateLimited("429", retry_after=5000), 0) == 600
    assert 10 <= retry_countdown(CircuitOpen("open", retry_in=10), 0) <= 15
    first, third = retry_countdown(PortalUnavailable("503"), 0), retry_countdown(PortalUnavailable("503"), 2)
    assert 12 <= first <= 18 and 48 <= third <= 72
    assert retry_countdown(StoreUnavailable("down"), 10) <= 600 * 1.2


def test_it_describes_errors_in_one_line() -> None:
    assert describe(PortalUnavailable("GET /contratos 503\nbody")) == "PortalUnavailable: GET /contratos 503"
    assert describe(ValueError()) == "ValueError"


def test_it_ends_a_budget_and_never_ends_an_unlimited_one() -> None:
    now = [0.0]
    budget = Budget(10, clock=lambda: now[0])
    assert not budget.exhausted()
    now[0] = 10.0
    assert budget.exhausted()
    assert not Budget.unlimited().exhausted()


def test_it_keeps_a_lease_between_the_time_limit_and_the_visibility_timeout() -> None:
    from shared.config import Settings
    from shared.pipeline.context import lease_seconds, visibility_timeout

    for limit, visibility in ((660, 0), (8, 12), (100, 103), (3000, 0)):
        settings = Settings(_env_file=None, task_time_limit=limit, task_soft_time_limit=limit - 1,
                            broker_visibility_timeout_seconds=visibility)
        assert limit < lease_seconds(settings) < visibility_timeout(settings)
