"""/stats and /orgaos from summaries loaded before the first request and shared through Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.summaries import SharedSummaries, Summary
from shared.store import PostgresStore
from shared.store.base import Store
from tests.integration.api.conftest import api_settings, seed_investigation
from tests.support.processes import RedisDb, flushed_redis_db

pytestmark = pytest.mark.integration


@pytest.fixture
def summaries_redis(redis_url: str) -> Iterator[str]:
    """A Redis database of this module's own, empty: no copy from another test to start from."""
    url = flushed_redis_db(redis_url, RedisDb.API_SUMMARIES)
    yield url
    flushed_redis_db(redis_url, RedisDb.API_SUMMARIES)


@pytest.fixture
def aggregates(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times the store ran each summary's aggregate, in every app of the test."""
    calls = {"stats": 0, "orgao_ranking": 0}
    for name in calls:
        original = getattr(PostgresStore, name)

        def counted(self: Any, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PostgresStore, name, counted)
    return calls


def cached_client(database_url: str, redis_url: str) -> TestClient:
    return TestClient(create_app(api_settings(database_url, redis_url, api_summary_ttl_seconds=300)),
                      raise_server_exceptions=False)


def test_it_loads_the_summaries_before_the_first_request(
    database_url: str, summaries_redis: str, aggregates: dict[str, int], client: TestClient,
) -> None:
    with cached_client(database_url, summaries_redis) as cached:
        summaries = cached.app.state.resources.summaries  # type: ignore[attr-defined]
        assert summaries.peek("stats") is not None and summaries.peek("orgaos") is not None
        assert aggregates == {"stats": 1, "orgao_ranking": 1}
        for _ in range(3):
            assert cached.get("/api/v1/stats").json() == client.get("/api/v1/stats").json()
        assert aggregates["stats"] == 1 + 3  # the read-through client's three, none for the cached app


def test_it_answers_every_limit_from_one_ranking(
    database_url: str, summaries_redis: str, store: Store, orgao: str, aggregates: dict[str, int], client: TestClient,
) -> None:
    for n in range(3):
        seed_investigation(store, f"{orgao}{n}")
    with cached_client(database_url, summaries_redis) as cached:
        widest = cached.get("/api/v1/orgaos", params={"limit": 50})
        assert widest.status_code == 200 and len(widest.json()) >= 3
        for limit in (1, 2, 7, 49):
            answer = cached.get("/api/v1/orgaos", params={"limit": limit})
            assert answer.json() == widest.json()[:limit]
        assert cached.get("/api/v1/orgaos").json() == widest.json()[:50]  # the default, capped by the page size
        assert cached.get("/api/v1/orgaos", params={"limit": 51}).status_code == 422
        assert aggregates["orgao_ranking"] == 1
        assert cached.get("/api/v1/orgaos", params={"limit": 7}).content == client.get(
            "/api/v1/orgaos", params={"limit": 7}).content  # the same bytes as a read-through answer


def test_it_aggregates_once_for_two_apps_sharing_redis(
    database_url: str, summaries_redis: str, aggregates: dict[str, int],
) -> None:
    with cached_client(database_url, summaries_redis) as first, cached_client(database_url, summaries_redis) as second:
        assert aggregates == {"stats": 1, "orgao_ranking": 1}  # the second started from the first's copies
        assert first.get("/api/v1/stats").content == second.get("/api/v1/stats").content
        assert first.get("/api/v1/orgaos").content == second.get("/api/v1/orgaos").content


def test_it_hands_copies_and_one_lock_between_workers(summaries_redis: str) -> None:
    client = redis.Redis.from_url(summaries_redis)
    try:
        shared, key = SharedSummaries(client), f"test-{uuid.uuid4().hex}"
        assert shared.read(key) is None
        parts = (b'{"orgao_codigo":"26000","n":1}', b'{"orgao_codigo":"26001","text":"linha\\nquebrada"}')
        shared.publish(key, Summary(parts, computed_at=1234.5), keep_seconds=30)
        assert shared.read(key) == Summary(parts, computed_at=1234.5)
        assert 0 < client.pttl(f"vigia:summary:{key}") <= 30_000
        shared.publish(key, Summary((), computed_at=1300.0), keep_seconds=30)  # no órgão yet
        assert shared.read(key) == Summary((), computed_at=1300.0)
        held = shared.claim(key)
        assert held is not None
        assert shared.claim(key) is None  # another worker aggregates meanwhile
        held.release()
        again = shared.claim(key)
        assert again is not None
        again.release()
    finally:
        client.close()
