"""The shared limiter on a real Redis: spacing across threads and clients, 429 pauses, cool-downs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from shared.config import Settings
from shared.portal.errors import RateLimited
from shared.portal.ratelimit import LimiterPolicy, RateLimiter, RateSchedule

pytestmark = pytest.mark.integration

PER_MIN = 1200
INTERVAL = 60 / (PER_MIN * 0.95)


@pytest.fixture
def make_limiter(redis_url: str, request: pytest.FixtureRequest) -> Iterator[object]:
    clients: list[redis.Redis] = []
    key_id = f"test-{request.node.name[-40:]}"

    def make(**overrides: object) -> RateLimiter:
        client = redis.Redis.from_url(redis_url)  # a connection of its own, as another process would have
        clients.append(client)
        limiter_options = {name: overrides.pop(name) for name in ("key_id", "now") if name in overrides}
        settings = Settings(_env_file=None, portal_rate_day_per_min=PER_MIN, portal_rate_night_per_min=PER_MIN)  # type: ignore[call-arg]
        policy = LimiterPolicy.from_settings(settings, **overrides)
        return RateLimiter(client, policy, **{"key_id": key_id, **limiter_options})  # type: ignore[arg-type]

    make(key_id=key_id).reset()
    yield make
    for client in clients:
        client.close()


def test_it_spaces_callers_on_many_threads_and_connections_by_the_budget(make_limiter) -> None:  # type: ignore[no-untyped-def]
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        limiter = make_limiter()
        for _ in range(10):
            limiter.acquire()
            with lock:
                granted.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    granted.sort()
    assert len(granted) == 40
    # 40 grants need 39 intervals; any 11 consecutive grants span at least 10 intervals (less one for jitter).
    assert granted[-1] - granted[0] >= 39 * INTERVAL * 0.98
    assert all(granted[i + 10] - granted[i] >= 9 * INTERVAL for i in range(len(granted) - 10))


def test_it_pauses_every_caller_for_the_retry_after_of_a_429_then_runs_slower(make_limiter) -> None:  # type: ignore[no-untyped-def]
    limiter, other = make_limiter(cooldown_seconds=30, cooldown_factor=0.5), make_limiter()
    limiter.acquire()
    limiter.penalize(0.5)
    assert other.cooling_down()
    started = time.monotonic()
    other.acquire()  # another process's limiter: it waits too
    assert time.monotonic() - started >= 0.45
    first = time.monotonic()
    other.acquire()
    assert time.monotonic() - first >= 2 * INTERVAL * 0.9  # half the rate during the cool-down


def test_it_refuses_to_book_a_wait_longer_than_max_wait(make_limiter) -> None:  # type: ignore[no-untyped-def]
    limiter = make_limiter(max_wait=0.2, cooldown_seconds=0)
    limiter.penalize(1.0)
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert 0.8 < caught.value.retry_after <= 1.0
    patient = make_limiter(max_wait=5)
    started = time.monotonic()
    patient.acquire()
    assert time.monotonic() - started < 1.0 + INTERVAL  # the refused call booked no slot


def test_it_chooses_the_rate_by_the_hour_in_sao_paulo(make_limiter) -> None:  # type: ignore[no-untyped-def]
    schedule = RateSchedule.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert (schedule.day_per_min, schedule.night_per_min) == (90, 300)
    night = make_limiter(schedule=schedule, now=lambda: datetime(2024, 5, 1, 5, 0, tzinfo=UTC))  # 02:00 local
    day = make_limiter(schedule=schedule, now=lambda: datetime(2024, 5, 1, 15, 0, tzinfo=UTC))  # 12:00 local
    assert night.budget_per_minute() == 300 and day.budget_per_minute() == 90
    assert night.interval_seconds() == pytest.approx(60 / (300 * 0.95))
    assert day.interval_seconds() == pytest.approx(60 / (90 * 0.95))
