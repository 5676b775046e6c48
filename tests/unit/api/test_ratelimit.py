"""Limits kept in each worker's memory (no Redis) add up to the setting across the process group."""

from __future__ import annotations

import asyncio

from limits import parse

from services.api.quota import OnDemandQuota
from services.api.ratelimit import RateLimiter, worker_share
from shared.config import Settings


def _no_redis(workers: int, reads: str = "8/minute") -> Settings:
    return Settings(_env_file=None, environment="test", enable_celery_workers=False, web_concurrency=workers,
                    api_rate_limit_reads=reads)


def test_it_gives_each_worker_its_share_of_a_limit() -> None:
    assert worker_share(parse("600/minute"), 4) == parse("150/minute")
    assert worker_share(parse("600/minute"), 1) == parse("600/minute")
    assert worker_share(parse("3/hour"), 8) == parse("1/hour")  # never below one


def test_it_lets_a_group_of_workers_without_redis_pass_the_limit_once_between_them() -> None:
    settings = _no_redis(4)

    async def passed_in_one_worker() -> int:
        limiter = RateLimiter(settings)  # one per worker, as app.py builds it
        return sum([await limiter.check("GET", "203.0.113.7", None) is None for _ in range(20)])

    passed = [asyncio.run(passed_in_one_worker()) for _ in range(settings.web_concurrency)]
    assert passed == [2, 2, 2, 2]  # 8/minute for the whole group


def test_it_keeps_the_whole_limit_per_worker_when_redis_shares_the_counters() -> None:
    settings = Settings(_env_file=None, environment="test", web_concurrency=4, api_rate_limit_reads="8/minute")
    assert RateLimiter(settings).reads == parse("8/minute")


def test_it_divides_the_daily_quota_among_workers_without_redis() -> None:
    quota = OnDemandQuota(10, None, workers=2)
    for _ in range(5):
        assert quota.retry_after("key:abc") is None
        quota.spend("key:abc")
    assert quota.retry_after("key:abc") is not None
