"""The real app against the session's real PostgreSQL and Redis, and helpers to seed and inspect them."""

from __future__ import annotations

import base64
import json
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.config import Settings
from shared.domain import Contract, Finding, Severity, Source, Trigger
from shared.store.base import Investigation, Store

WRITE_KEY = "test-key-alpha-123"
OTHER_KEY = "test-key-beta-456"
DETECTOR = "api-test-1"


def api_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "api_keys": [WRITE_KEY, OTHER_KEY],
        "api_max_page_size": 50,
        "api_max_window_days": 92,
        "db_pool_max_size": 4,
        # Reads see what a test just stored; the cache has its own tests.
        "api_summary_ttl_seconds": 0,
        "api_list_cache_seconds": 0,
        # Every test request comes from one address; the limiter has its own tests.
        "api_rate_limit_reads": "100000/minute",
        "api_rate_limit_writes": "100000/minute",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="module")
def settings(database_url: str, redis_url: str) -> Settings:
    return api_settings(database_url, redis_url)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    """The app as gunicorn serves it: lifespan on (store pool, Celery client, Redis opened)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[Store]:
    from shared.store import PostgresStore

    backend = PostgresStore(database_url, max_size=2, application_name="vigia-api-tests")
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def orgao() -> str:
    """An órgão code no other test uses, so counts and filters see only this test's rows."""
    return f"{random.randint(10000, 99999)}"


def write_headers(key: str = WRITE_KEY) -> dict[str, str]:
    return {"X-API-Key": key}


def make_contract(orgao: str, **fields: Any) -> Contract:
    values: dict[str, Any] = {
        "id": random.randint(10**9, 10**12),
        "source": Source.SIMULATOR,
        "numero": "00012/2024",
        "objeto": "Aquisição de material de expediente",
        "orgao_codigo": orgao,
        "orgao_nome": f"Órgão {orgao}",
        "fornecedor_documento": "12345678000190",
        "fornecedor_nome": "Fornecedora Ltda",
        "modalidade_compra": "Dispensa de Licitação",
    }
    values.update(fields)
    return Contract(**values)


def make_finding(contract: Contract, indicator: str = "direct_award", severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        indicator=indicator,
        severity=severity,
        score=0.8,
        subject_type="contract",
        subject_id=str(contract.id),
        explanation=f"Contrato {contract.id}: sinal de {indicator}.",
        contract_id=contract.id,
        orgao_codigo=contract.orgao_codigo,
        value=3.5,
        threshold=2.0,
        baseline={"median": 1.2},
        fields={"valor_inicial": "1000.00"},
    )


@dataclass
class Seeded:
    investigation: Investigation
    contract: Contract
    findings: list[Finding]


def seed_investigation(
    store: Store,
    orgao: str,
    *,
    risk: float | None = 0.5,
    findings: list[tuple[str, Severity]] | None = None,
    trigger: Trigger = Trigger.SCHEDULED,
    complete: bool = True,
) -> Seeded:
    contract = make_contract(orgao)
    store.upsert_contracts([contract])
    investigation, created = store.create_or_get_investigation(
        contract_id=contract.id, orgao_codigo=orgao, trigger=trigger, detector_version=DETECTOR
    )
    assert created
    made = [make_finding(contract, code, severity) for code, severity in (findings or [("direct_award", Severity.HIGH)])]
    if complete:
        investigation = store.complete_investigation(
            investigation.id, findings=made, risk_score=risk, summary="Resumo de teste.", summary_source="template"
        )
    return Seeded(investigation, contract, made)


def queued_tasks(client: redis.Redis, queue: str = "analysis") -> list[tuple[bytes, dict[str, Any]]]:
    """Messages waiting in a Celery queue: (raw message, {"task", "kwargs"})."""
    tasks = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        tasks.append((raw, {"task": message["headers"]["task"], "kwargs": kwargs}))
    return tasks


def remove_queued(client: redis.Redis, investigation_ids: set[str], queue: str = "analysis") -> None:
    """Take this test's messages out of the queue so no worker of a later test runs them."""
    for raw, task in queued_tasks(client, queue):
        if task["kwargs"].get("investigation_id") in investigation_ids:
            client.lrem(queue, 0, raw)


@dataclass
class WebServer:
    process: Any  # tests.support.processes.ManagedProcess
    base_url: str
    broker_url: str


@pytest.fixture(scope="module")
def web_server(redis_url: str, database_url: str) -> Iterator[WebServer]:
    """gunicorn started exactly as the Procfile's ``web`` line, with one uvicorn worker.

    Its broker is a Redis database of its own, so the tasks its requests queue are never run by
    the worker another test starts on the session's Redis.
    """
    import httpx

    from services.dev.embedded import free_port
    from tests.support.processes import RedisDb, redis_db, start, wait_for

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    broker = redis_db(redis_url, RedisDb.API_WEB)
    env.update(
        ENVIRONMENT="test", REDIS_URL=broker, DATABASE_URL=database_url, LOG_FORMAT="json", PYTHONUNBUFFERED="1",
        PORT=str(free_port()), WEB_CONCURRENCY="1", API_KEYS=f"{WRITE_KEY},{OTHER_KEY}", API_MAX_PAGE_SIZE="50",
        # The property run sends hundreds of requests from one address; the limiter has its own tests.
        API_RATE_LIMIT_READS="1000000/minute", API_RATE_LIMIT_WRITES="1000000/minute",
        API_LIST_CACHE_SECONDS="0", API_SUMMARY_TTL_SECONDS="0",
        PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{env.get('PATH', '')}",
    )
    base_url = f"http://127.0.0.1:{env['PORT']}"
    with start("web", env) as process:
        wait_for(lambda: httpx.get(f"{base_url}/health", timeout=2).status_code == 200, timeout=60,
                 what="gunicorn to answer /health")
        yield WebServer(process=process, base_url=base_url, broker_url=broker)
    cleanup = redis.Redis.from_url(broker)
    cleanup.flushdb()
    cleanup.close()
