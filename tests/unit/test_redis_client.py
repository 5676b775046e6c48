"""A ``rediss://`` REDIS_URL reaches every Redis client of every process with REDIS_SSL_CERT_REQS.

Each client is built the way its process builds it; none connects (no TLS Redis runs here), so
the tests read what each would connect with: the redis-py connection it would open, kombu's
broker TLS options, Celery's result-backend connection parameters, RedBeat's client.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from services.api.quota import OnDemandQuota
from services.api.ratelimit import _storage
from services.api.resources import _celery_client
from services.api.resources import _redis_client as web_redis
from services.beat import configure_redbeat
from services.celery_app import create_app
from services.commands.doctor.checks import _Context
from services.commands.schedule import redis_for_schedule
from services.worker import resources, signals
from shared.config import Settings, override_settings
from shared.redis_client import redis_client

TLS_URL = "rediss://:secret@redis.example.test:6380/0"
POLICIES = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def _settings(policy: str, url: str = TLS_URL) -> Settings:
    return Settings(_env_file=None, redis_url=SecretStr(url), redis_ssl_cert_reqs=policy,
                    enable_celery_workers=True)


def _verify_mode(client: Any) -> ssl.VerifyMode:
    """The certificate policy of the connection ``client`` would open next (redis-py or asyncio)."""
    pool = client.connection_pool
    assert issubclass(pool.connection_class, (redis.SSLConnection, redis.asyncio.SSLConnection)), \
        f"{pool.connection_class.__name__} would talk to a rediss:// URL without TLS"
    connection = pool.connection_class(**pool.connection_kwargs)
    mode = connection.cert_reqs
    assert isinstance(mode, ssl.VerifyMode)
    return mode


@pytest.fixture
def worker_settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The worker process's settings, as ``get_settings()`` hands them to its resources."""
    policy = request.param
    with override_settings(redis_url=SecretStr(TLS_URL), redis_ssl_cert_reqs=policy) as settings:
        resources.close_process_resources()
        yield settings
        resources.close_process_resources()


@pytest.mark.parametrize("worker_settings", list(POLICIES), indirect=True)
def test_it_gives_the_worker_resources_and_heartbeat_the_certificate_policy(worker_settings: Settings) -> None:
    expected = POLICIES[worker_settings.redis_ssl_cert_reqs]
    # The client the tasks, the run state and the alerts' de-duplication share.
    assert _verify_mode(resources.get_redis()) == expected
    heartbeat = signals.heartbeat_client()
    try:
        assert _verify_mode(heartbeat) == expected
    finally:
        heartbeat.close()


@pytest.mark.parametrize("policy", list(POLICIES))
def test_it_gives_every_command_and_web_client_the_certificate_policy(policy: str) -> None:
    settings = _settings(policy)
    clients = {
        "vigia schedule": redis_for_schedule(settings),
        "web": web_redis(settings),
        "doctor": _Context(settings=settings, processes=(), timeout=2).redis(),
        "factory": redis_client(settings, timeout=2),
    }
    for where, client in clients.items():
        try:
            assert _verify_mode(client) == POLICIES[policy], where
        finally:
            client.close()


@pytest.mark.parametrize("policy", list(POLICIES))
def test_it_gives_the_on_demand_quota_the_web_clients_certificate_policy(policy: str) -> None:
    client = web_redis(_settings(policy))
    try:
        storage: Any = OnDemandQuota(5, client).limiter.storage
        assert _verify_mode(storage.storage) == POLICIES[policy]
    finally:
        client.close()


@pytest.mark.parametrize("policy", list(POLICIES))
def test_it_gives_the_api_rate_limiter_storage_the_certificate_policy(policy: str) -> None:
    async def verify_mode() -> ssl.VerifyMode:
        # The storage is built inside the web worker's event loop, as the middleware does.
        storage: Any = _storage(_settings(policy))
        return _verify_mode(storage.bridge.storage)

    assert asyncio.run(verify_mode()) == POLICIES[policy]


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("process", ["worker", "beat", "cli", "flower"])
def test_it_gives_celery_broker_and_result_backend_the_certificate_policy(policy: str, process: str) -> None:
    app = create_app(_settings(policy), process=process, include_tasks=False)
    expected = POLICIES[policy]
    assert app.connection_for_write().ssl == {"ssl_cert_reqs": expected}
    backend: Any = app.backend
    assert issubclass(backend.connparams["connection_class"], redis.SSLConnection)
    assert backend.connparams["ssl_cert_reqs"] == expected


@pytest.mark.parametrize("policy", list(POLICIES))
def test_it_gives_the_web_broker_the_certificate_policy(policy: str) -> None:
    app = _celery_client(_settings(policy))
    assert app.connection_for_write().ssl == {"ssl_cert_reqs": POLICIES[policy]}


@pytest.mark.parametrize("policy", list(POLICIES))
def test_it_gives_redbeat_the_certificate_policy(policy: str) -> None:
    from redbeat.schedulers import get_redis

    settings = _settings(policy)
    app = create_app(settings, process="beat", include_tasks=False)
    configure_redbeat(app, settings)
    client = get_redis(app)
    try:
        assert _verify_mode(client) == POLICIES[policy]
    finally:
        client.close()


def test_it_opens_plain_connections_for_a_redis_url() -> None:
    settings = _settings("none", url="redis://127.0.0.1:6379/0")
    client = redis_client(settings, timeout=2)
    try:
        assert not issubclass(client.connection_pool.connection_class, redis.SSLConnection)
        assert "ssl_cert_reqs" not in client.connection_pool.connection_kwargs
    finally:
        client.close()
    app = create_app(settings, process="worker", include_tasks=False)
    assert app.conf.broker_use_ssl is None and app.conf.redis_backend_use_ssl is None


def test_it_names_the_process_and_bounds_the_wait() -> None:
    client = redis_client(_settings("required"), timeout=3, name="vigia-test", health_check_interval=25)
    try:
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["client_name"] == "vigia-test"
        assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 3
        assert kwargs["health_check_interval"] == 25
    finally:
        client.close()
