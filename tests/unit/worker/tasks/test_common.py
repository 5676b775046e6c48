"""A Redis outage inside a task puts its message back in the queue; other errors keep their path."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery.exceptions import Reject
from kombu.exceptions import OperationalError

from services.worker.tasks.common import is_broker_outage, requeue_if_broker_down, retry_if_worth_it
from shared.store.base import StoreUnavailable


def fake_task(*, eager: bool = False, retries: int = 0) -> Any:
    def retry(exc: BaseException, countdown: float) -> Exception:
        return RuntimeError(f"retry in {countdown:.0f} s after {exc}")

    return SimpleNamespace(request=SimpleNamespace(is_eager=eager, retries=retries), max_retries=3, retry=retry)


@pytest.mark.parametrize("error", [
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
    OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
])
def test_it_requeues_the_message_when_redis_is_unreachable(error: BaseException) -> None:
    assert is_broker_outage(error)
    with pytest.raises(Reject) as raised:
        requeue_if_broker_down(fake_task(), error)
    assert raised.value.requeue is True
    assert "Connection refused" in str(raised.value.reason) or type(error).__name__ in str(raised.value.reason)


def test_it_requeues_before_trying_a_retry_through_the_unreachable_broker() -> None:
    with pytest.raises(Reject):
        retry_if_worth_it(fake_task(), redis.exceptions.ConnectionError("Connection refused"))


@pytest.mark.parametrize("error", [
    redis.exceptions.AuthenticationError("invalid username-password pair"),
    redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    StoreUnavailable("open_run(x): no database connection available"),
    ValueError("a bug"),
])
def test_it_leaves_other_errors_to_the_retry_rule(error: BaseException) -> None:
    assert not is_broker_outage(error)
    requeue_if_broker_down(fake_task(), error)  # returns: the caller retries or records the failure


def test_it_does_not_requeue_an_inline_run() -> None:
    # ``vigia run --inline`` has no broker message to put back: the error propagates as it is.
    requeue_if_broker_down(fake_task(eager=True), redis.exceptions.ConnectionError("Connection refused"))
