"""Redis restarted in the middle of a monitoring run: worker, beat and API reconnect on their own.

The test owns the Redis server, with its append-only file on: a managed Redis with persistence
(Render Key Value on a paid plan, Upstash, Railway's volume) comes back from a restart with its
data, and without that a restart is a data loss, not a blip — the queues, the unacknowledged
messages, each run's fan-out state and RedBeat's schedule and lock all live in Redis. Beat fires a
monitoring cycle over the simulator; while the sweeps page, Redis is stopped (SIGTERM: it writes
its file and exits) for ``DOWN_SECONDS`` and started again on the same port and folder. Nothing
else is restarted:

* the API (gunicorn as the Procfile starts it) answers ``/health/ready`` 503 while Redis is
  down and refuses an on-demand request with 503 (failing the investigation it could not queue),
  then says 200 again and queues the next request;
* the worker puts the sweeps that met the outage back in their queue, reconnects, and finishes
  the run: every órgão swept, every contract stored and counted once, one investigation per
  flagged contract, no task lost;
* beat keeps running, and fires a slot scheduled after the restart.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis

from shared.domain import InvestigationStatus, RunStatus, Trigger
from shared.store import get_store
from shared.store.base import InvestigationFilter
from tests.integration.faults.support import (
    MONITOR,
    closed_run,
    contract_requests,
    dataset,
    figure,
    owned_redis,
    records,
    start_web,
)
from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.integration.pipeline.expected import expected_flags, parsed_contracts
from tests.support.databases import temporary_database
from tests.support.processes import (
    ManagedProcess,
    RedisDb,
    flushed_redis_db,
    process_env,
    settings_for,
    start,
    wait_for,
)
from tests.support.redbeat import schedule_once

pytestmark = pytest.mark.integration

DOWN_SECONDS = 10  # past redis-py's own reconnection retries, so every process meets the outage
WRITE_KEY = "fault-test-write-key-1"
REQUEUED = "Redis is unreachable; the task goes back to its queue"


def logged_after(process: ManagedProcess, message: str, since: float) -> float | None:
    """Seconds from ``since`` (epoch) to the first record ``message`` logged after it."""
    for record in records(process, message):
        at = datetime.fromisoformat(record["timestamp"]).timestamp()
        if at >= since:
            return at - since
    return None


def seconds(value: float | None) -> str:
    return "not logged" if value is None else f"{value:.1f} s"


def post_investigation(web: Any, contract_id: int) -> httpx.Response:
    return httpx.post(f"{web.base_url}/api/v1/investigations", json={"contract_id": contract_id},
                      headers={"X-API-Key": WRITE_KEY}, timeout=30)


def test_it_survives_a_redis_restart_in_the_middle_of_a_monitoring_run(
    service_env: dict[str, str], postgres_admin_url: str
) -> None:
    from shared.portal.simulator.server import running_simulator

    data = dataset()
    contracts = parsed_contracts(data)
    with owned_redis() as redis_server, \
            temporary_database(postgres_admin_url, prefix="vigia_redis_restart", migrated=True) as database_url, \
            running_simulator(copy.deepcopy(data)) as simulator:
        # 5 pages a second for every sweep together: the cycle takes ~25 s, long enough to cut.
        env = process_env(service_env, redis_url=redis_server.url, database_url=database_url,
                          portal_url=simulator.base_url, PORTAL_RATE_DAY_PER_MIN="300",
                          PORTAL_RATE_NIGHT_PER_MIN="300", API_KEYS=WRITE_KEY)
        store = get_store(settings_for(env), application_name="vigia-test-redis-restart")
        probe = redis.Redis.from_url(redis_server.url)
        worker, beat = start("worker", env), start("beat", env, "--max-interval", "1")
        web = None
        try:
            web = start_web(env)
            worker.wait_for_line("worker ready", timeout=60)
            beat.wait_for_line("Acquired lock", timeout=60)
            assert web.ready_status() == 200

            schedule_once(redis_server.url, "fault-cycle", MONITOR, {"lookback_hours": EVERYTHING_HOURS})
            wait_for(lambda: contract_requests(simulator) >= 15, timeout=60, interval=0.05,
                     what="the sweeps to be paging")
            stopped = time.monotonic()
            redis_server.stop()
            wait_for(lambda: web.ready_status() == 503, timeout=30, interval=0.2, what="/health/ready to say 503")
            figure("/health/ready 503 after Redis stopped", f"{time.monotonic() - stopped:.1f} s")
            asked = time.monotonic()
            refused = post_investigation(web, contracts[0].id)
            figure("POST refused while Redis is down", f"{refused.status_code} in {time.monotonic() - asked:.1f} s")
            assert refused.status_code == 503 and refused.headers["Retry-After"], refused.text
            wait_for(lambda: time.monotonic() - stopped >= DOWN_SECONDS, timeout=DOWN_SECONDS + 5, interval=0.2,
                     what="the outage to last")
            pages_during_outage = contract_requests(simulator)
            redis_server.start()
            restarted, restarted_at = time.monotonic(), time.time()

            wait_for(lambda: web.ready_status() == 200, timeout=60, interval=0.2, what="/health/ready to say 200 again")
            figure("/health/ready 200 after Redis restarted", f"{time.monotonic() - restarted:.1f} s")
            wait_for(lambda: contract_requests(simulator) > pages_during_outage, timeout=60, interval=0.1,
                     what="the sweeps to page again")
            figure("sweeps paging again after Redis restarted", f"{time.monotonic() - restarted:.1f} s")
            schedule_once(redis_server.url, "fault-ping", "vigia.system.ping", {"payload": "after-restart"})
            run = wait_for(lambda: closed_run(store, lookback_hours=EVERYTHING_HOURS), timeout=120, interval=0.5,
                           what="the monitoring run to close")
            figure("run closed after Redis restarted", f"{time.monotonic() - restarted:.1f} s")
            connected = f"Connected to redis://:***@127.0.0.1:{redis_server.port}/0"
            figure("worker consumer reconnected after Redis restarted", seconds(logged_after(worker, connected, restarted_at)))
            figure("beat resumed after Redis restarted",
                   seconds(logged_after(beat, "Redis is reachable again; beat resumes", restarted_at)))

            # The outage met running sweeps, which went back to their queue instead of failing.
            requeued = records(worker, REQUEUED)
            figure("tasks requeued by the outage", len(requeued))
            assert requeued, "no task met the outage; the test proved nothing"
            assert run.status is RunStatus.SUCCEEDED, run
            assert run.counters["orgaos_done"] == len(data.orgaos) and run.counters["orgaos_failed"] == 0
            assert run.counters["contracts_seen"] == len(contracts)
            assert run.counters["contracts_new"] + run.counters.get("contracts_unchanged", 0) == len(contracts)
            assert store.count_contracts() == len(contracts), "a contract was lost"
            scheduled = [i for i in store.list_investigations(InvestigationFilter(), limit=5000).items
                         if i.trigger is not Trigger.ON_DEMAND]
            per_contract = Counter(i.contract_id for i in scheduled)
            assert not [cid for cid, n in per_contract.items() if n > 1], "an investigation was duplicated"
            assert set(per_contract) == set(expected_flags(data, with_sanctions=False))
            assert all(i.status is InvestigationStatus.COMPLETED for i in scheduled)

            # Beat rode out the outage: still the same process, still firing.
            assert beat.proc.poll() is None and "Redis is unreachable; beat keeps trying" in beat.output
            wait_for(lambda: "after-restart" in worker.output, timeout=30, what="beat's slot after the restart")

            # The API was never restarted, and queues again; the request it refused was failed, not left pending.
            assert web.process.output.count("Booting worker") == 1
            on_demand = store.list_investigations(InvestigationFilter(trigger=Trigger.ON_DEMAND), limit=10).items
            assert [i.status for i in on_demand] == [InvestigationStatus.FAILED]
            accepted = post_investigation(web, contracts[0].id)
            assert accepted.status_code == 202, accepted.text
            wait_for(lambda: (d := store.get_investigation(accepted.json()["id"])) is not None
                     and d.investigation.status is InvestigationStatus.COMPLETED, timeout=60, interval=0.5,
                     what="the on-demand request queued after the restart to complete")
            wait_for(lambda: probe.hlen("unacked") == 0 and not any(probe.llen(q) for q in
                                                                     ("default", "monitoring", "analysis", "maintenance")),
                     timeout=30, what="every message to be acknowledged")
        finally:
            for process in (worker, beat):
                process.stop()
            if web is not None:
                web.process.stop()
            store.close()
            probe.close()


def test_it_stands_by_while_another_beat_holds_the_lock_it_lost_in_an_outage(redis_url: str) -> None:
    """An outage longer than the lock's timeout lets the lock expire; when the new beat of a deploy
    took it meanwhile, the old one fires nothing until the lock is free again, then takes it back."""
    from celery import Celery
    from redbeat.schedulers import RedBeatSchedulerEntry, get_redis
    from redbeat.schedules import rrule

    from services.beat.scheduler import ReconnectingRedBeatScheduler

    url = flushed_redis_db(redis_url, RedisDb.FAULTS_BEAT_LOCK)
    app = Celery("beat-lock-probe")
    app.conf.update(broker_url=url, redbeat_redis_url=url, redbeat_key_prefix="vigia:fault-redbeat:",
                    redbeat_lock_key="vigia:fault-redbeat::lock", redbeat_lock_timeout=30, beat_max_loop_interval=1,
                    timezone="UTC", beat_schedule={})
    scheduler = ReconnectingRedBeatScheduler(app=app)
    client = get_redis(app)
    queued = redis.Redis.from_url(url)
    try:
        # As RedBeat's beat_init handler takes it.
        scheduler.lock = client.lock(scheduler.lock_key, timeout=30, sleep=1)
        assert scheduler.lock.acquire(blocking=False)
        due = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
        RedBeatSchedulerEntry("fault-lock-slot", "vigia.system.ping", rrule("SECONDLY", dtstart=due, count=1, app=app),
                              app=app).save()

        client.delete(scheduler.lock_key)  # expired while Redis was away...
        other = client.lock(scheduler.lock_key, timeout=30)
        assert other.acquire(blocking=False)  # ...and the new beat holds it now
        # Ticks past the slot's time: standing by, it fires nothing.
        wait_for(lambda: datetime.now(UTC) > due + timedelta(seconds=1) and scheduler.tick() == scheduler.max_interval,
                 timeout=10, interval=0.2, what="the slot's time to pass")
        assert queued.llen("celery") == 0, "a beat without the lock fired a slot"

        other.release()
        wait_for(lambda: scheduler.tick() is not None and queued.llen("celery") == 1, timeout=10, interval=0.2,
                 what="the old beat to take the free lock back and fire the slot")
        assert scheduler.lock.owned()
    finally:
        scheduler.close()
        queued.close()
