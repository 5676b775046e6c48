"""A worker killed with SIGKILL in the middle of a sweep: after a restart the sweep completes,
no contract is lost and no investigation is written twice.

The worker runs one task at a time with a short time budget and a rate limit that makes each
sweep take several tasks; the visibility timeout is 12 s here (an hour in production), so the
message of the killed sweep comes back to the restarted worker within the test.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Any

import pytest
import redis

from shared.domain import InvestigationStatus, RunStatus
from shared.store import get_store
from shared.store.base import ContractFilter, InvestigationFilter
from tests.integration.pipeline.conftest import EVERYTHING_HOURS, pipeline_settings
from tests.integration.pipeline.expected import expected_flags, parsed_contracts
from tests.support.processes import pipeline_env, start, wait_for

pytestmark = pytest.mark.integration

ORGAOS = ("26201", "36202")  # the two big órgãos: ~44 pages each
MONITOR = "vigia.monitoring.monitor_new_contracts"


def test_it_completes_a_sweep_killed_mid_way_without_losing_or_duplicating(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, simulator: Any, sim_dataset: Any
) -> None:
    from services.celery_app import create_app

    env = pipeline_env(
        service_env, redis_url=redis_url, database_url=pipeline_database, portal_url=simulator.base_url,
        WATCHED_ORGAOS=",".join(ORGAOS), WORKER_CONCURRENCY="1",
        PORTAL_RATE_DAY_PER_MIN="600", PORTAL_RATE_NIGHT_PER_MIN="600",
        TASK_SOFT_TIME_LIMIT="6", TASK_TIME_LIMIT="8", BROKER_VISIBILITY_TIMEOUT_SECONDS="12",
        WORKER_SOFT_SHUTDOWN_TIMEOUT="0",
    )
    settings = pipeline_settings(pipeline_database, env["REDIS_URL"], simulator.base_url)
    store = get_store(settings, application_name="vigia-test-kill")
    client = create_app(settings, process="cli")
    wanted = [c for c in parsed_contracts(sim_dataset) if c.orgao_codigo in ORGAOS]
    broker = redis.Redis.from_url(env["REDIS_URL"])
    worker = start("worker", env)
    restarted = None
    try:
        worker.wait_for_line("worker ready", timeout=60)
        client.send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
        # Mid-sweep: some batches stored, the first órgão not finished.
        wait_for(lambda: 0 < store.count_contracts() < len(wanted) and "sweep progress" in worker.output,
                 timeout=60, interval=0.05, what="a sweep to be half-way")
        # The whole worker at once, main process and pool child: no chance to requeue anything.
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(10)
        assert store.count_contracts() < len(wanted)
        # The sweep's message was taken and never acknowledged: Redis holds it for redelivery.
        assert broker.hlen("unacked") >= 1

        restarted = start("worker-restarted", env)
        restarted.wait_for_line("worker ready", timeout=60)
        run = wait_for(lambda: next((r for r in store.last_runs(task=MONITOR, limit=5)
                                     if r.status is not RunStatus.RUNNING), None),
                       timeout=80, interval=0.5, what="the monitoring run to close after the restart")
        assert run.status is RunStatus.SUCCEEDED, run
        assert run.counters["orgaos_done"] == len(ORGAOS) and run.counters["orgaos_failed"] == 0

        stored = {c.id for orgao in ORGAOS for c in store.iter_contracts(ContractFilter(orgao_codigo=orgao))}
        assert stored == {c.id for c in wanted}, "a contract was lost"
        investigations = store.list_investigations(InvestigationFilter(), limit=5000).items
        per_contract = Counter(i.contract_id for i in investigations)
        assert not [cid for cid, n in per_contract.items() if n > 1], "an investigation was duplicated"
        expected = {cid for cid in expected_flags(sim_dataset, with_sanctions=False) if cid in stored}
        assert set(per_contract) == expected, "a flagged contract was not investigated"
        assert all(i.status is InvestigationStatus.COMPLETED for i in investigations)
        # The killed sweep really was redelivered and resumed, not started over by something else.
        assert "sweep finished" in restarted.output
        wait_for(lambda: broker.hlen("unacked") == 0, timeout=20, what="every message to be acknowledged")
    finally:
        worker.stop()
        if restarted is not None:
            restarted.stop()
        store.close()
        broker.close()
