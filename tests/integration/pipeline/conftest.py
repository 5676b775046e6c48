"""Fixtures for the pipeline tests: a fresh migrated database, a Redis database of their own,
a Portal simulator serving a small seeded data set over real HTTP, and a pipeline context on them.

The data set (seed 3, scale 0.04) has 9 órgãos, 4 of them with ~2 300 contracts in all (1 050 in the Benford órgão-year) and every
kind of planted anomaly, so a whole monitoring cycle runs in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from shared.config import Settings
from shared.portal.simulator.data import SimDataset
from tests.support.databases import temporary_database
from tests.support.processes import RedisDb, flushed_redis_db

SEED, SCALE = 3, 0.04
EVERYTHING_HOURS = 24 * 365 * 8  # a lookback reaching every contract of the data set


@pytest.fixture(scope="session")
def sim_dataset() -> SimDataset:
    from shared.portal.simulator.dataset import generate_dataset

    return generate_dataset(seed=SEED, scale=SCALE)


@pytest.fixture
def simulator(sim_dataset: SimDataset) -> Iterator[Any]:
    import copy

    from shared.portal.simulator.server import running_simulator

    # A copy: tests amend contracts, and the next test must see the original data set.
    with running_simulator(copy.deepcopy(sim_dataset)) as server:
        yield server


@pytest.fixture
def pipeline_database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="vigia_pipeline", migrated=True) as url:
        yield url


@pytest.fixture
def pipeline_redis(redis_url: str) -> Iterator[str]:
    yield flushed_redis_db(redis_url, RedisDb.PIPELINE_IN_PROCESS)


def pipeline_settings(database_url: str, redis_url: str, portal_url: str, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "environment": "test", "database_url": database_url, "redis_url": redis_url,
        "transparency_api_url": portal_url, "portal_rate_day_per_min": 100_000,
        "portal_rate_night_per_min": 100_000, "portal_max_retries": 1, "log_format": "json",
    }
    return Settings(_env_file=None, **(base | values))


@pytest.fixture
def make_context(pipeline_database: str, pipeline_redis: str, simulator: Any) -> Iterator[Any]:
    """Build a PipelineContext on the test servers; every one built is closed at the end."""
    from shared.llm import SummaryWriter
    from shared.pipeline.context import PipelineContext
    from shared.portal.client import PortalClient
    from shared.portal.transport import RetryPolicy
    from shared.store import get_store

    built: list[Any] = []

    def make(**values: Any) -> PipelineContext:
        settings = pipeline_settings(pipeline_database, pipeline_redis, simulator.base_url, **values)
        client = redis.Redis.from_url(pipeline_redis)
        ctx = PipelineContext(
            settings=settings,
            store=get_store(settings, application_name="vigia-test-pipeline"),
            redis=client,
            summaries=SummaryWriter.from_settings(settings),
            portal_factory=lambda: PortalClient.from_settings(
                settings, client, retry=RetryPolicy(max_retries=settings.portal_max_retries, base_delay=0.01,
                                                     max_delay=0.05)),
        )
        built.append(ctx)
        return ctx

    yield make
    for ctx in built:
        ctx.close()
        ctx.store.close()
        ctx.redis.close()
