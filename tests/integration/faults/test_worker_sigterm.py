"""SIGTERM to the worker while it runs a task, as a redeploy sends it (to the main process only).

The worker must stop inside its grace (``WORKER_SOFT_SHUTDOWN_TIMEOUT``, 3 s here). A sweep that
needs longer is cancelled when the grace ends and its message goes back to the queue at once —
not an hour later, when the broker's visibility timeout would restore it — so the next worker
resumes the sweep from its cursor; the run then closes once, every contract counted once and one
investigation per flagged contract. A task that finishes inside the grace is done: it is not run
again by the next worker.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from shared.detection import DETECTOR_VERSION
from shared.domain import InvestigationStatus, RunStatus, Trigger
from shared.portal.simulator.faults import FaultConfig
from shared.portal.wire import PAGE_SIZE
from shared.store import get_store
from shared.store.base import ContractFilter, InvestigationFilter
from tests.integration.faults.support import (
    MONITOR,
    closed_run,
    contract_requests,
    dataset,
    figure,
    records,
    terminate_main,
)
from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.integration.pipeline.expected import expected_flags, parsed_contracts
from tests.support.databases import temporary_database
from tests.support.processes import ManagedProcess, RedisDb, process_env, settings_for, start, wait_for

pytestmark = pytest.mark.integration

ORGAO = "26201"  # ~1 400 contracts, ~94 pages; the first batch (100 contracts or more) is stored after page 7
GRACE = 3
# Past the grace, the platform's SIGKILL (Render and Railway give 60 s; a test need not wait that long).
EXIT_DEADLINE = GRACE + 15


@dataclass
class Setup:
    env: dict[str, str]
    store: Any
    client: Any
    broker: redis.Redis
    simulator: Any


@pytest.fixture
def setup(service_env: dict[str, str], redis_url: str, postgres_admin_url: str) -> Iterator[Setup]:
    from services.celery_app import create_app
    from shared.portal.simulator.server import running_simulator

    with temporary_database(postgres_admin_url, prefix="vigia_sigterm", migrated=True) as database_url, \
            running_simulator(copy.deepcopy(dataset())) as simulator:
        # 1.5 pages a second: the sweep takes ~30 s, far longer than the grace.
        env = process_env(service_env, redis_url=redis_url, database_url=database_url,
                          portal_url=simulator.base_url, redis_database=RedisDb.FAULTS_WORKER_SIGTERM,
                          WATCHED_ORGAOS=ORGAO, WORKER_CONCURRENCY="1",
                          PORTAL_RATE_DAY_PER_MIN="95", PORTAL_RATE_NIGHT_PER_MIN="95",
                          WORKER_SOFT_SHUTDOWN_TIMEOUT=str(GRACE))
        settings = settings_for(env)
        store = get_store(settings, application_name="vigia-test-sigterm")
        broker = redis.Redis.from_url(env["REDIS_URL"])
        try:
            yield Setup(env, store, create_app(settings, process="cli"), broker, simulator)
        finally:
            store.close()
            broker.close()


def stop_with_sigterm(worker: ManagedProcess) -> tuple[float, int]:
    """SIGTERM the worker's main process; (seconds until it exited, exit code)."""
    sent = terminate_main(worker)
    try:
        code = worker.proc.wait(timeout=EXIT_DEADLINE)
    except Exception:
        raise AssertionError(f"the worker still ran {EXIT_DEADLINE} s after SIGTERM (grace {GRACE} s):\n"
                             f"{worker.output[-3000:]}") from None
    return time.monotonic() - sent, code


def received(process: ManagedProcess, task_id: str) -> bool:
    return any(r.get("logger") == "celery.worker.strategy" and task_id in r.get("message", "")
               for r in process.json_lines())


def test_it_requeues_a_sweep_cut_by_sigterm_and_the_next_worker_completes_it_once(setup: Setup) -> None:
    data = dataset()
    wanted = {c.id for c in parsed_contracts(data) if c.orgao_codigo == ORGAO}
    pages = len(wanted) // PAGE_SIZE + 1  # full pages, then the short (or empty) one that ends the sweep
    worker = start("worker", setup.env)
    restarted = None
    try:
        worker.wait_for_line("worker ready", timeout=60)
        setup.client.send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
        # Past the first stored batch, before the last page: the redelivery must resume, not restart.
        progress = wait_for(lambda: records(worker, "sweep progress"), timeout=90, interval=0.05,
                            what="the sweep to store its first batch")[0]
        sweep_id = progress["task_id"]
        stopped_in, code = stop_with_sigterm(worker)
        pages_served = contract_requests(setup.simulator)
        figure("worker exit after SIGTERM", f"{stopped_in:.1f} s", grace=GRACE, exit_code=code)
        assert code >= 0, f"the worker was killed by signal {-code}"
        assert "Initiating Soft Shutdown" in worker.output
        assert not records(worker, "sweep finished"), "the sweep finished inside the grace; the test needs it cut"
        assert pages_served < pages
        # The cut sweep's message is back in its queue now, not parked until the visibility timeout.
        assert setup.broker.llen("monitoring") == 1 and setup.broker.hlen("unacked") == 0

        restarted = start("worker-2", setup.env)
        restarted.wait_for_line("worker ready", timeout=60)
        run = wait_for(lambda: closed_run(setup.store), timeout=90, interval=0.5,
                       what="the monitoring run to close after the restart")
        assert run.status is RunStatus.SUCCEEDED, run
        assert received(restarted, sweep_id), "the cut sweep was not redelivered"
        finished = records(restarted, "sweep finished")
        assert len(finished) == 1 and finished[0]["task_id"] == sweep_id
        # Resumed from the cursor: only the pages after the stored batch were fetched again.
        assert progress["next_page"] > 1
        assert contract_requests(setup.simulator) - pages_served <= pages - progress["next_page"] + 1
        # Counted once: the batch stored before SIGTERM and the pages after it, no page twice.
        assert run.counters["contracts_seen"] == run.counters["contracts_new"] == len(wanted)
        assert run.counters["pages"] == pages and run.counters["orgaos_done"] == 1

        stored = {c.id for c in setup.store.iter_contracts(ContractFilter(orgao_codigo=ORGAO))}
        assert stored == wanted
        investigations = setup.store.list_investigations(InvestigationFilter(), limit=5000).items
        per_contract = Counter(i.contract_id for i in investigations)
        assert not [cid for cid, n in per_contract.items() if n > 1], "an investigation was duplicated"
        expected = {cid for cid in expected_flags(data, with_sanctions=False) if cid in wanted}
        assert set(per_contract) == expected and run.counters["investigations_created"] == len(expected)
        assert all(i.status is InvestigationStatus.COMPLETED for i in investigations)
        wait_for(lambda: setup.broker.hlen("unacked") == 0 and setup.broker.llen("monitoring") == 0,
                 timeout=20, what="every message to be acknowledged")
    finally:
        worker.stop()
        if restarted is not None:
            restarted.stop()


def test_it_lets_a_task_finish_inside_the_grace_and_does_not_run_it_again(setup: Setup) -> None:
    contract = next(c for c in parsed_contracts(dataset()) if c.orgao_codigo == ORGAO)
    investigation, _ = setup.store.create_or_get_investigation(
        contract_id=contract.id, orgao_codigo=None, trigger=Trigger.ON_DEMAND, detector_version=DETECTOR_VERSION)
    # The Portal answers the contract in 1.5 s: the task is running when SIGTERM comes, and ends
    # well inside the grace.
    setup.simulator.faults.configure(FaultConfig(script=["slow:1.5"]))
    worker = start("worker", setup.env)
    restarted = None
    try:
        worker.wait_for_line("worker ready", timeout=60)
        task_id = setup.client.send_task("vigia.analysis.investigate",
                                         kwargs={"investigation_id": investigation.id}).id
        wait_for(lambda: received(worker, task_id), timeout=30, interval=0.05, what="the worker to take the task")
        stopped_in, code = stop_with_sigterm(worker)
        figure("worker exit after SIGTERM, task inside the grace", f"{stopped_in:.1f} s", grace=GRACE)
        assert code >= 0
        assert f"[{task_id}] succeeded" in worker.output
        detail = setup.store.get_investigation(investigation.id)
        assert detail is not None and detail.investigation.status is InvestigationStatus.COMPLETED
        # Acknowledged: nothing left for the next worker.
        assert setup.broker.llen("analysis") == 0 and setup.broker.hlen("unacked") == 0

        restarted = start("worker-2", setup.env)
        restarted.wait_for_line("worker ready", timeout=60)
        ping = setup.client.send_task("vigia.system.ping", kwargs={"payload": "after"})
        assert ping.get(timeout=30)["payload"] == "after"
        assert not received(restarted, task_id), "a task that finished was run again"
    finally:
        worker.stop()
        if restarted is not None:
            restarted.stop()
