"""Fault scenario 4: the Portal misbehaves in every way it does, against a real worker.

The simulator answers over real HTTP with a scripted storm — 429 bursts carrying
``Retry-After``, 500/502/503/504, answers slower than the client's timeout, empty and HTML
bodies, 403 — and corrupts a fixed share of the contract records. The Procfile's worker (one
pool process, so the script's tokens reach the requests in a known order) runs monitoring
cycles on real Redis and PostgreSQL. Sweeps must either finish with every readable record
stored, or fail with the reason in the run; the health check must say ``degraded``; and no
``monitor_runs`` row may ever be a successful run that read nothing.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.domain import RunStatus
from shared.portal.simulator.admin import SimulatorAdmin
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.faults import FaultConfig, FaultState
from shared.store import get_store
from tests.integration.faults.support import (
    HEALTH,
    MONITOR,
    ONE_POOL_PROCESS,
    closed_runs,
    monitor_rows,
    successful_empty_runs,
)
from tests.integration.pipeline.conftest import EVERYTHING_HOURS, SCALE, SEED
from tests.support.processes import RedisDb, celery_client, process_env, settings_for, start, wait_for

pytestmark = pytest.mark.integration
log = logging.getLogger("vigia.tests.faults")

MAX_RETRIES = 3  # PORTAL_MAX_RETRIES: 4 attempts per request
MALFORMED_RATIO = 0.03

# Each fault alone is absorbed by the client's retries; the two bursts outlast them, so the task
# itself retries: after the 429's Retry-After, and after a backoff for the 503s, whose fifth in a
# row opens the circuit breaker (the task then waits for its half-open probe).
STORM = [
    "429:1", "429:1", "429:1", "ok",
    "503", "ok", "500", "ok", "502", "ok", "504", "ok",
    "slow:3", "ok",  # slower than PORTAL_TIMEOUT_SECONDS=1
    "empty", "ok", "html", "ok", "empty", "html", "ok",
    "429:1", "429:1", "429:1", "429:1", "ok",
    "503", "503", "503", "503", "503", "ok",  # the fifth failure in a row opens the breaker
    "slow:3", "502", "ok",
]


@pytest.fixture(scope="module")
def dataset() -> SimDataset:
    from shared.portal.simulator.dataset import generate_dataset

    return generate_dataset(seed=SEED, scale=SCALE)


@dataclass
class Storm:
    """A migrated database, a simulator with its admin client, and the processes' environment."""

    base_env: dict[str, str]
    store: Any
    admin: SimulatorAdmin

    def env(self, **values: str) -> dict[str, str]:
        return {**self.base_env, **values}


@pytest.fixture
def storm(service_env: dict[str, str], redis_url: str, postgres_admin_url: str, dataset: SimDataset) -> Iterator[Storm]:
    from shared.portal.simulator.server import running_simulator
    from shared.store.migrate import migrate
    from tests.conftest import create_database, drop_database

    database = create_database(postgres_admin_url, prefix="vigia_storm")
    migrate(database)
    faults = FaultConfig(malformed_ratio=MALFORMED_RATIO)
    with running_simulator(copy.deepcopy(dataset), faults=faults) as server, SimulatorAdmin(server.url) as admin:
        env = process_env(service_env, redis_url=redis_url, database_url=database, portal_url=server.base_url,
                          redis_database=RedisDb.FAULTS_PORTAL_STORM, **ONE_POOL_PROCESS,
                          PORTAL_MAX_RETRIES=str(MAX_RETRIES), PORTAL_TIMEOUT_SECONDS="1",
                          PORTAL_BREAKER_RESET_SECONDS="5")
        store = get_store(settings_for(env), application_name="vigia-test-storm")
        try:
            yield Storm(env, store, admin)
        finally:
            store.close()
    drop_database(postgres_admin_url, database)


def _cycle(client: Any, store: Any, *, timeout: float = 90) -> Any:
    before = {r.id for r in store.last_runs(task=MONITOR, limit=50)}
    client.send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
    return wait_for(lambda: next((r for r in closed_runs(store, MONITOR) if r.id not in before), None),
                    timeout=timeout, interval=0.25, what="the monitoring run to close")


def _health(client: Any, store: Any) -> tuple[dict[str, Any], Any]:
    report = client.send_task(HEALTH).get(timeout=60)
    stored = store.last_runs(task=HEALTH, limit=1)[0]
    return report, stored


def test_it_weathers_a_portal_storm_and_stores_every_readable_contract(
    storm: Storm, dataset: SimDataset
) -> None:
    env, store, admin = storm.env(), storm.store, storm.admin
    admin.configure(script=STORM)
    worker = start("worker", env)
    try:
        worker.wait_for_line("worker ready", timeout=60)
        with celery_client(env) as client:
            run = _cycle(client, store)
        requests = admin.requests()
        statuses = Counter(entry["status"] for entry in requests)
        log.info("storm weathered: %d Portal requests by status %s; run %s closed %s in %.1f s", len(requests),
                 dict(sorted(statuses.items())), run.id, run.status, (run.finished_at - run.started_at).total_seconds())

        malformed = {c["id"] for c in dataset.contracts
                     if FaultState(FaultConfig(malformed_ratio=MALFORMED_RATIO)).is_malformed(c["id"])}
        total = len(dataset.contracts)
        assert run.status is RunStatus.SUCCEEDED, run
        assert run.counters["orgaos_done"] == len(dataset.orgaos) and run.counters["orgaos_failed"] == 0
        assert run.counters["contracts_seen"] == total
        assert run.counters["rejected"] == len(malformed) > 0
        assert store.count_contracts() == total - len(malformed)
        assert run.counters.get("investigations_created", 0) > 0

        # Every token of the storm reached the worker: the faults really happened.
        assert statuses[429] == STORM.count("429:1")
        assert sum(n for s, n in statuses.items() if s >= 500) == sum(t[0] == "5" for t in STORM)
        assert statuses[403] == 0
        # Retry-After was obeyed: nothing reached the Portal within 1 s of a 429.
        for before, after in zip(requests, requests[1:], strict=False):
            if before["status"] == 429:
                assert after["monotonic"] - before["monotonic"] >= 0.95, (before, after)
        # The bursts that outlasted the client's retries were retried by the task, as the log says.
        retries = [line for line in worker.json_lines() if line.get("message") == "task will retry"]
        reasons = " ".join(line["reason"] for line in retries)
        assert "RateLimited" in reasons and "PortalUnavailable" in reasons, retries
        messages = [line.get("message") for line in worker.json_lines()]
        assert "circuit open: the Portal keeps failing" in messages
        assert "circuit closed: the Portal answers again" in messages
        rejected = [line for line in worker.json_lines() if line.get("message") == "contract record rejected"]
        # A page fetched again after a task retry logs its rejects again; the counter counts them once.
        assert len(rejected) >= len(malformed) and all(line["reason"] for line in rejected)
        assert successful_empty_runs(env["DATABASE_URL"]) == []
    finally:
        worker.stop()


def test_it_fails_loudly_when_the_storm_does_not_pass_and_health_turns_degraded(
    storm: Storm, dataset: SimDataset
) -> None:
    # One client retry and a breaker that does not open: each sweep meets its own faults and
    # gives its own verdict in seconds. (With the default breaker the sweeps after the fifth
    # failure retry on CircuitOpen for minutes, then fail naming the last failure.)
    env = storm.env(PORTAL_MAX_RETRIES="1", PORTAL_BREAKER_FAILURES="1000")
    store, admin = storm.store, storm.admin
    orgaos = len(dataset.orgaos)
    # A loaded sanction mirror, so that health turns healthy again once the Portal is well.
    from shared.portal.models import parse_sanction

    store.upsert_sanctions([parse_sanction(dataset.ceis[0], "ceis")])
    worker = start("worker", env)
    try:
        worker.wait_for_line("worker ready", timeout=60)
        with celery_client(env) as client:
            # The órgãos are listed (their one page, then the empty page that ends the list), then
            # the key is refused (403) on every sweep: never retried.
            admin.configure(script=["ok", "ok"] + ["403"] * orgaos)
            refused = _cycle(client, store)
            assert refused.status is RunStatus.FAILED, refused
            assert refused.error.startswith(f"every part failed ({orgaos})") and "403" in refused.error
            assert refused.counters.get("contracts_seen", 0) == 0 and refused.counters["orgaos_failed"] == orgaos
            assert len(refused.result["parts_failed"]) == orgaos
            assert all("PermanentRequestError" in why and "403" in why for why in refused.result["parts_failed"].values())

            # The storm is over (the Portal answers again), but the last cycle failed: degraded.
            report, stored = _health(client, store)
            assert report["status"] == "degraded", report
            assert report["checks"]["portal"]["status"] == "ok"
            assert report["checks"]["monitoring_runs"]["status"] == "degraded"
            assert f"run {refused.id} failed" in report["checks"]["monitoring_runs"]["detail"]
            assert stored.status is RunStatus.SUCCEEDED and stored.result == report

            # Bodies that never parse (empty, then HTML, past every client retry): each sweep gives
            # up at once — retrying the task would read the same garbage — and says why.
            admin.configure(script=["empty", "html"] * orgaos)
            garbled = _cycle(client, store)
            assert garbled.status is RunStatus.FAILED and garbled.counters.get("contracts_seen", 0) == 0
            assert all("InvalidResponse" in why for why in garbled.result["parts_failed"].values()), garbled.result

            # One órgão refused, the rest read: the run finishes with the others' contracts and
            # names the one it lost; health stays degraded until a cycle loses nothing.
            admin.configure(script=["403"])
            partial = _cycle(client, store)
            assert partial.status is RunStatus.SUCCEEDED and partial.counters["orgaos_failed"] == 1
            assert partial.counters["contracts_seen"] > 0 and len(partial.result["parts_failed"]) == 1
            report, _ = _health(client, store)
            assert report["status"] == "degraded"
            assert f"run {partial.id}: 1 of {orgaos} órgãos failed" in report["checks"]["monitoring_runs"]["detail"]

            # A revoked key for good: the hourly probe itself is refused and says so.
            admin.configure(script=[], forbidden=True)
            report, stored = _health(client, store)
            assert report["status"] == "degraded" and report["checks"]["portal"]["status"] == "degraded"
            assert "403" in report["checks"]["portal"]["detail"] and stored.result["status"] == "degraded"

            # The Portal is well again and a cycle loses nothing: healthy.
            admin.configure(forbidden=False)
            clean = _cycle(client, store)
            assert clean.status is RunStatus.SUCCEEDED and clean.counters["orgaos_failed"] == 0
            report, _ = _health(client, store)
            assert report["status"] == "healthy", report

        rows = monitor_rows(env["DATABASE_URL"])
        log.info("storm that does not pass: monitor_runs %s",
                 [(row["id"], row["status"], row["counters"].get("contracts_seen")) for row in rows])
        assert [row["status"] for row in rows] == ["failed", "failed", "succeeded", "succeeded"]
        assert successful_empty_runs(env["DATABASE_URL"]) == []
    finally:
        worker.stop()


def test_it_judges_the_latest_cycle_past_a_row_closed_for_a_duplicate_delivery(storm: Storm) -> None:
    from shared.pipeline import health
    from shared.pipeline.runs import DUPLICATE_DELIVERY

    store = storm.store
    good = store.open_run(MONITOR, {})
    store.close_run(good.id, status=RunStatus.SUCCEEDED, counters={"contracts_seen": 5, "orgaos_failed": 0},
                    result={"parts": 1, "parts_failed": {}})
    duplicate = store.open_run(MONITOR, {})
    store.close_run(duplicate.id, status=RunStatus.FAILED, error=f"{DUPLICATE_DELIVERY} abc")
    assert health.check_monitoring_runs(store).status == "ok"
    lost = store.open_run(MONITOR, {})
    store.close_run(lost.id, status=RunStatus.SUCCEEDED, counters={"contracts_seen": 5, "orgaos_failed": 1},
                    result={"parts": 2, "parts_failed": {"26201": "PermanentRequestError: 403"}})
    check = health.check_monitoring_runs(store)
    assert check.status == "degraded" and check.detail.endswith(f"run {lost.id}: 1 of 2 órgãos failed (26201)")


def test_it_reaches_the_next_window_back_past_a_cycle_that_lost_an_orgao(storm: Storm) -> None:
    """After a storm cost one órgão its sweep, the next cycle reads from the last cycle that lost none."""
    import psycopg
    import redis

    from shared.domain import Trigger, utcnow
    from shared.llm import SummaryWriter
    from shared.pipeline import monitoring
    from shared.pipeline.context import PipelineContext
    from shared.pipeline.windows import CATCH_UP_MARGIN
    from shared.portal.client import PortalClient

    env, store = storm.env(), storm.store
    settings = settings_for(env)
    now = utcnow()
    complete = store.open_run(MONITOR, {})
    store.close_run(complete.id, status=RunStatus.SUCCEEDED, counters={"contracts_seen": 9, "orgaos_failed": 0})
    lost = store.open_run(MONITOR, {})
    store.close_run(lost.id, status=RunStatus.SUCCEEDED, counters={"contracts_seen": 5, "orgaos_failed": 1})
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        for run_id, days in ((complete.id, 3), (lost.id, 1)):
            conn.execute("UPDATE monitor_runs SET started_at = %s WHERE id = %s", (now - timedelta(days=days), run_id))

    client = redis.Redis.from_url(env["REDIS_URL"])
    ctx = PipelineContext(settings=settings, store=store, redis=client, summaries=SummaryWriter.from_settings(settings),
                          portal_factory=lambda: PortalClient.from_settings(settings, client), clock=lambda: now)
    try:
        assert monitoring.catch_up_reference(ctx, MONITOR).id == complete.id
        plan = monitoring.start_cycle(ctx, task=MONITOR, task_id="catch-up", trigger=Trigger.SCHEDULED,
                                      lookback_hours=6, configured=[])
    finally:
        ctx.close()
        client.close()
    expected = (now - timedelta(days=3) - CATCH_UP_MARGIN).astimezone(ZoneInfo(settings.timezone)).date()
    assert plan.window.data_inicial == expected
