"""PostgreSQL unavailable for 30 s while the worker analyses contracts.

The test owns the PostgreSQL server (a temporary data folder, a fixed port). A monitoring cycle
stores every contract of the simulator and starts writing investigations; on-demand requests
are queued too. Right then the server stops (a fast shutdown: every session cut, as in a failover
or a restart of a managed database), stays down ``DOWN_SECONDS``, and starts again on the same
port. The worker is never restarted. Its tasks must retry with backoff (seconds apart, not a hot
loop) and complete afterwards, and no partial investigation may remain: every investigation ends
completed or failed, never pending or running, and its findings are all stored or none are.
"""

from __future__ import annotations

import copy
import time
from collections import Counter, defaultdict
from typing import Any

import psycopg
import pytest
import redis

from shared.detection import DETECTOR_VERSION
from shared.domain import InvestigationStatus, Trigger
from shared.store import get_store
from shared.store.base import StoreUnavailable
from tests.integration.faults.support import (
    MONITOR,
    dataset,
    figure,
    owned_postgres,
    records,
)
from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.integration.pipeline.expected import expected_flags, parsed_contracts
from tests.support.databases import temporary_database
from tests.support.processes import RedisDb, flushed_redis_db, process_env, settings_for, start, wait_for

pytestmark = pytest.mark.integration

DOWN_SECONDS = 30  # the outage the issue names
BIG_ORGAOS = ("26201", "36202")  # ~650 contracts each: their analysis takes seconds


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """One query on a connection of its own: the test's polls must not wait on a pool's backoff."""
    with psycopg.connect(url, connect_timeout=2) as conn:
        return list(conn.execute(sql, params).fetchall())


def monitoring_run(url: str) -> tuple[str, dict[str, Any]] | None:
    rows = query(url, "SELECT status, counters FROM monitor_runs WHERE task = %s ORDER BY id DESC LIMIT 1", (MONITOR,))
    return (rows[0][0], rows[0][1]) if rows else None


def test_it_retries_through_a_30_second_database_outage_and_leaves_no_partial_investigation(
    service_env: dict[str, str], redis_url: str
) -> None:
    from services.celery_app import create_app
    from shared.portal.simulator.server import running_simulator
    from shared.store.migrate import migrate

    data = dataset()
    contracts = parsed_contracts(data)
    broker_url = flushed_redis_db(redis_url, RedisDb.FAULTS_POSTGRES_OUTAGE)
    with owned_postgres() as postgres, running_simulator(copy.deepcopy(data)) as simulator:
        migrate(postgres.url)
        env = process_env(service_env, redis_url=broker_url, database_url=postgres.url,
                          portal_url=simulator.base_url, WORKER_CONCURRENCY="2")
        settings = settings_for(env)
        client = create_app(settings, process="cli")
        broker = redis.Redis.from_url(broker_url)
        # Requested before the outage, run during it: the contract is fetched and stored again.
        store = get_store(settings, application_name="vigia-test-pg-outage")
        on_demand = [store.create_or_get_investigation(contract_id=c.id, orgao_codigo=None, trigger=Trigger.ON_DEMAND,
                                                       detector_version=DETECTOR_VERSION)[0].id
                     for c in contracts[:3]]
        store.close()
        worker = start("worker", env)
        try:
            worker.wait_for_line("worker ready", timeout=60)
            client.send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
            # The big órgãos are being analysed: their first investigations are written, the run is open.
            wait_for(lambda: query(postgres.url, "SELECT count(*) FROM investigations WHERE orgao_codigo = ANY(%s)",
                                   (list(BIG_ORGAOS),))[0][0] > 0, timeout=90, interval=0.05,
                     what="the analysis of a big órgão to be writing investigations")
            stopped = time.monotonic()
            postgres.stop()
            for investigation_id in on_demand:
                client.send_task("vigia.analysis.investigate", kwargs={"investigation_id": investigation_id})
            wait_for(lambda: time.monotonic() - stopped >= DOWN_SECONDS, timeout=DOWN_SECONDS + 5, interval=0.5,
                     what="the outage to last")
            postgres.start()
            restarted = time.monotonic()
            figure("database outage", f"{restarted - stopped:.1f} s")

            closed = wait_for(lambda: (r := monitoring_run(postgres.url)) and r[0] != "running" and r,
                              timeout=150, interval=0.5, what="the monitoring run to close after the outage")
            figure("monitoring run closed after the database came back", f"{time.monotonic() - restarted:.1f} s")
            wait_for(lambda: not query(postgres.url, "SELECT 1 FROM investigations WHERE status IN ('pending', "
                                                     "'running') LIMIT 1"),
                     timeout=90, interval=0.5, what="every investigation to reach a terminal state")
            figure("every investigation terminal after the database came back", f"{time.monotonic() - restarted:.1f} s")

            # Retried with backoff, and only what may pass: the database unavailable.
            retries = [r for r in records(worker, "task will retry") if "StoreUnavailable" in r.get("reason", "")]
            by_task: dict[str, list[float]] = defaultdict(list)
            for record in retries:
                by_task[record["task_id"]].append(float(record["countdown_s"]))
            figure("retries after StoreUnavailable", len(retries), tasks=len(by_task),
                   countdowns_s=sorted(round(c) for c in sum(by_task.values(), [])))
            assert retries, "no task retried: the outage met no work"
            assert all(countdown >= 10 for countdown in sum(by_task.values(), [])), "a retry came without backoff"
            for countdowns in by_task.values():
                assert countdowns == sorted(countdowns) or len(countdowns) == 1 or countdowns[1] > countdowns[0] * 1.3

            status, counters = closed
            assert status == "succeeded", (status, counters)
            # Every sweep counted once, retried or not.
            assert counters["orgaos_done"] == len(data.orgaos) and counters["orgaos_failed"] == 0
            assert counters["contracts_seen"] == counters["contracts_new"] == len(contracts)
            assert counters["investigations_created"] == len(expected_flags(data, with_sanctions=False))
            assert query(postgres.url, "SELECT count(*) FROM contracts")[0][0] == len(contracts)

            rows = query(postgres.url, """
                SELECT i.id::text, i.contract_id, i.trigger, i.status, i.findings_count,
                       (SELECT count(*) FROM findings f WHERE f.investigation_id = i.id)
                FROM investigations i""")
            statuses = Counter(row[3] for row in rows)
            figure("investigations by status", dict(statuses))
            assert set(statuses) <= {str(InvestigationStatus.COMPLETED), str(InvestigationStatus.FAILED)}
            # All or nothing: the findings an investigation counts are the findings stored for it.
            partial = [row for row in rows if row[4] != row[5]]
            assert not partial, f"investigations with partial findings: {partial[:5]}"
            assert not [row for row in rows if row[3] == "failed" and row[5]], "a failed investigation kept findings"
            scheduled = [row for row in rows if row[2] != str(Trigger.ON_DEMAND)]
            per_contract = Counter(row[1] for row in scheduled)
            assert not [cid for cid, n in per_contract.items() if n > 1], "an investigation was duplicated"
            assert set(per_contract) == set(expected_flags(data, with_sanctions=False))
            assert all(row[3] == "completed" and row[4] > 0 for row in scheduled)
            requested = {row[0]: row[3] for row in rows if row[0] in on_demand}
            assert requested == dict.fromkeys(on_demand, "completed"), requested
            wait_for(lambda: broker.hlen("unacked") == 0 and not any(
                broker.llen(q) for q in ("default", "monitoring", "analysis", "maintenance")),
                timeout=30, what="every message to be acknowledged")
        finally:
            worker.stop()
            broker.close()


class FlakyStore:
    """The real store, except that the named operations raise StoreUnavailable the next N times:
    the database going away at exactly that step, which a whole-server outage hits only by chance."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.failures: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.failures[name] > 0:
                self.failures[name] -= 1
                raise StoreUnavailable(f"{name}(...): terminating connection due to administrator command")
            return method(*args, **kwargs)

        return call


def test_it_counts_a_sweep_once_and_closes_the_run_when_the_database_fails_at_those_steps(
    redis_url: str, postgres_admin_url: str
) -> None:
    from shared.llm import SummaryWriter
    from shared.pipeline import monitoring
    from shared.pipeline.context import Budget, PipelineContext
    from shared.portal.client import PortalClient
    from shared.portal.simulator.server import running_simulator
    from shared.portal.transport import RetryPolicy

    orgao = "30204"  # 97 contracts
    wanted = [c for c in parsed_contracts(dataset()) if c.orgao_codigo == orgao]
    state_url = flushed_redis_db(redis_url, RedisDb.FAULTS_POSTGRES_OUTAGE)
    with temporary_database(postgres_admin_url, prefix="vigia_pg_steps", migrated=True) as database_url, \
            running_simulator(copy.deepcopy(dataset())) as simulator:
        settings = settings_for({"DATABASE_URL": database_url, "REDIS_URL": state_url,
                                 "TRANSPARENCY_API_URL": simulator.base_url})
        store = FlakyStore(get_store(settings, application_name="vigia-test-pg-steps"))
        client = redis.Redis.from_url(state_url)
        ctx = PipelineContext(settings=settings, store=store, redis=client,  # type: ignore[arg-type]
                              summaries=SummaryWriter.from_settings(settings),
                              portal_factory=lambda: PortalClient.from_settings(
                                  settings, client, retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.05)))
        try:
            plan = monitoring.start_cycle(ctx, task=MONITOR, task_id="fault-cycle", trigger=Trigger.SCHEDULED,
                                          lookback_hours=EVERYTHING_HOURS, configured=[orgao])

            def sweep() -> Any:
                return monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window,
                                        trigger=Trigger.SCHEDULED, owner="fault-sweep", budget=Budget.unlimited())

            # The database goes away as the sweep adds its counters to the run: the retry adds them.
            store.failures["add_run_counters"] = 1
            with pytest.raises(StoreUnavailable):
                sweep()
            # Then as the last part closes the run: the retry closes it (the claim was given back).
            store.failures["close_run"] = 1
            with pytest.raises(StoreUnavailable):
                sweep()
            assert store.get_run(plan.run_id).status.value == "running"
            step = sweep()
            assert step.status == "already_done" and step.run is not None
            run = store.get_run(plan.run_id)
            assert run.status.value == "succeeded", run
            assert run.counters["orgaos_done"] == 1
            assert run.counters["contracts_seen"] == run.counters["contracts_new"] == len(wanted)
        finally:
            ctx.close()
            store.close()
            client.close()
