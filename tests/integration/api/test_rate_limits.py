"""Rate limits under gunicorn with two workers sharing their counters in the real Redis.

One client floods and gets 429s with Retry-After; another client, and the same flood under a
second address with a key, are judged on their own counters. Counts, not timings, are asserted
(the latency a second client sees during a flood is measured by ``benchmarks/flood.py``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from tests.integration.api.conftest import WRITE_KEY
from tests.support.processes import RedisDb, redis_db

pytestmark = pytest.mark.integration

READS_PER_HOUR = 20
WRITES_PER_HOUR = 3


@pytest.fixture(scope="module")
def limited_server(redis_url: str, database_url: str) -> Iterator[str]:
    from services.dev.embedded import free_port
    from tests.support.processes import start, wait_for

    broker = redis_db(redis_url, RedisDb.API_RATE_LIMITS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        ENVIRONMENT="test", REDIS_URL=broker, DATABASE_URL=database_url, LOG_FORMAT="json", PYTHONUNBUFFERED="1",
        PORT=str(free_port()), WEB_CONCURRENCY="2", API_KEYS=WRITE_KEY,
        # As behind Railway's edge: the rightmost X-Forwarded-For entry is the one a proxy wrote.
        API_TRUSTED_PROXY_HOPS="1",
        # Per hour, so a flood never straddles enough of a window for the counts to drift.
        API_RATE_LIMIT_READS=f"{READS_PER_HOUR}/hour", API_RATE_LIMIT_WRITES=f"{WRITES_PER_HOUR}/hour",
        PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{env.get('PATH', '')}",
    )
    base_url = f"http://127.0.0.1:{env['PORT']}"
    with start("web", env):
        wait_for(lambda: httpx.get(f"{base_url}/health", timeout=2).status_code == 200, timeout=60,
                 what="gunicorn to answer /health")
        yield base_url
    cleanup = redis.Redis.from_url(broker)
    cleanup.flushdb()
    cleanup.close()


def _flood(url: str, headers: dict[str, str], count: int, *, method: str = "GET") -> list[httpx.Response]:
    # Several connections at once, so both gunicorn workers take part of the flood.
    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            if method == "GET":
                return client.get(url, headers=headers)
            return client.post(url, headers=headers, json={"contract_id": 0})

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def test_it_refuses_a_flooding_client_with_429_and_retry_after_while_another_is_served(limited_server: str) -> None:
    url = f"{limited_server}/api/v1/stats"
    flood = _flood(url, {"X-Forwarded-For": "203.0.113.7"}, 3 * READS_PER_HOUR)
    statuses = Counter(r.status_code for r in flood)
    # Counted once for both workers: per-worker counters would let through up to twice as many.
    assert statuses[200] in (READS_PER_HOUR, READS_PER_HOUR + 1), statuses
    assert statuses[429] == len(flood) - statuses[200]
    refused = next(r for r in flood if r.status_code == 429)
    assert refused.json()["error"] == "rate_limited" and "client address" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    other = _flood(url, {"X-Forwarded-For": "198.51.100.20"}, READS_PER_HOUR // 2)
    assert [r.status_code for r in other] == [200] * (READS_PER_HOUR // 2)
    # Probes stay outside the limit: a platform must see the flooded API as alive.
    assert httpx.get(f"{limited_server}/health", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10).status_code == 200


def test_it_keeps_counting_a_flooding_client_that_changes_the_leftmost_forwarded_address(limited_server: str) -> None:
    # The client writes everything left of what the proxy appended; a fresh value per request
    # must not open a fresh bucket.
    url = f"{limited_server}/api/v1/stats"
    responses = [
        httpx.get(url, headers={"X-Forwarded-For": f"10.9.{n}.1, 203.0.113.45"}, timeout=30)
        for n in range(READS_PER_HOUR + 5)
    ]
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) in (READS_PER_HOUR, READS_PER_HOUR + 1), statuses
    assert statuses[-1] == 429 and "client address" in responses[-1].json()["message"]


def test_it_limits_a_key_across_client_addresses(limited_server: str) -> None:
    url = f"{limited_server}/api/v1/orgaos"
    responses = [
        httpx.get(url, headers={"X-API-Key": WRITE_KEY, "X-Forwarded-For": f"192.0.2.{n}"}, timeout=30)
        for n in range(READS_PER_HOUR + 5)
    ]
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) in (READS_PER_HOUR, READS_PER_HOUR + 1), statuses
    assert responses[-1].status_code == 429 and "API key" in responses[-1].json()["message"]


def test_it_counts_writes_apart_from_reads(limited_server: str) -> None:
    headers = {"X-Forwarded-For": "203.0.113.99", "X-API-Key": "not-a-key"}
    posts = _flood(f"{limited_server}/api/v1/investigations", headers, WRITES_PER_HOUR + 4, method="POST")
    statuses = Counter(r.status_code for r in posts)
    # Refused as unauthorised while under the limit, then as too many: the limit comes first.
    assert statuses[401] in (WRITES_PER_HOUR, WRITES_PER_HOUR + 1) and statuses[429] == len(posts) - statuses[401]
    read = httpx.get(f"{limited_server}/api/v1/stats", headers={"X-Forwarded-For": "203.0.113.99"}, timeout=30)
    assert read.status_code == 200


# -- leases: each worker takes its hits from Redis in batches -----------------------------------
def _workers(redis_url: str, reads: str, count: int = 2) -> list[Any]:
    from services.api.ratelimit import RateLimiter
    from shared.config import Settings

    settings = Settings(_env_file=None, environment="test", redis_url=redis_db(redis_url, RedisDb.API_RATE_LIMITS),
                        web_concurrency=count, api_rate_limit_reads=reads)
    return [RateLimiter(settings) for _ in range(count)]


def _fresh_client() -> str:
    """An address no earlier run has counted (the counters outlive a test run for an hour)."""
    return f"lease-test-{uuid.uuid4()}"


async def _spend(limiter: Any, client: str, requests: int, at_once: int = 16) -> tuple[int, int]:
    """(requests let through, store calls) for ``requests`` reads from ``client``, ``at_once`` at a time."""
    storage_calls = 0
    strategy = limiter._strategy()
    acquire = strategy.storage.acquire_sliding_window_entry

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal storage_calls
        storage_calls += 1
        return await acquire(*args, **kwargs)

    strategy.storage.acquire_sliding_window_entry = counted
    passed = 0
    for start in range(0, requests, at_once):
        answers = await asyncio.gather(*(limiter.check("GET", client, None)
                                         for _ in range(min(at_once, requests - start))))
        passed += sum(answer is None for answer in answers)
    return passed, storage_calls


def test_two_workers_leasing_hits_never_pass_more_than_the_limit_between_them(redis_url: str) -> None:
    limit, client = 2000, _fresh_client()  # a lease is then at most 20 hits
    first, second = _workers(redis_url, f"{limit}/hour")

    async def both() -> list[tuple[int, int]]:
        return list(await asyncio.gather(_spend(first, client, 3000), _spend(second, client, 3000)))

    (passed_1, calls_1), (passed_2, calls_2) = asyncio.run(both())
    # Counted in Redis before they are spent: never over; unspent leases lose at most one lease a worker.
    assert limit - 2 * (limit // 100) <= passed_1 + passed_2 <= limit, (passed_1, passed_2)
    # 2000 hits at up to 20 a lease, plus the single hits tried once a whole lease no longer fits.
    assert calls_1 + calls_2 < 400, (calls_1, calls_2)


def test_a_busy_client_costs_a_few_redis_calls_a_second_not_one_a_request(redis_url: str) -> None:
    (worker,), client = _workers(redis_url, "100000000/hour", count=1), _fresh_client()
    passed, calls = asyncio.run(_spend(worker, client, 5000))
    assert passed == 5000
    # Leases double from 1 while they are spent within their second: 1+2+4+...+4096 > 5000.
    assert calls <= 20, calls


def test_a_refused_client_is_refused_from_memory_with_a_current_retry_after(redis_url: str) -> None:
    (worker,), client = _workers(redis_url, "5/hour", count=1), _fresh_client()

    async def flood() -> tuple[list[Any], int]:
        answers = [await worker.check("GET", client, None) for _ in range(5)]
        passed, calls = await _spend(worker, client, 50, at_once=1)
        return answers + [passed], calls

    answers, calls = asyncio.run(flood())
    assert answers[:5] == [None] * 5 and answers[5] == 0
    assert calls == 1  # the first refusal asked Redis; the next 49 within the second did not
    refusal = asyncio.run(worker.check("GET", client, None))
    assert refusal is not None and refusal.who == "client" and 1 <= refusal.retry_after <= 3600
