"""Alerts and heartbeat pings from a real worker and beat (started from the Procfile).

Beat fires the monitoring cycles (one-slot RedBeat entries, as in the pipeline tests); the health
check is sent as beat would send it. The Portal simulator is told to refuse the key mid-way, as a
revoked key would. The webhook receiver and the heartbeat receiver are the stand-ins of
``tests/support/webhooks.py``. Every alert the worker queues is counted from its own log lines,
and the test waits until the receiver has that many, so "exactly one" is checked after every
delivery landed, not after a pause. The webhook's first answer is a 503, so one delivery lands
only through the task's retry.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import redis

from shared.config import Settings
from shared.domain import RunStatus
from shared.observability.heartbeat import run_id
from shared.store.base import Run
from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.support.processes import ManagedProcess, pipeline_env, start, wait_for
from tests.support.redbeat import schedule_once
from tests.support.webhooks import HeartbeatReceiver, heartbeat_receiver, webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITOR = "vigia.monitoring.monitor_new_contracts"
HEALTH = "vigia.maintenance.health_check"


def _closed_run(store: Any, *, after: set[int]) -> Run | None:
    return next((r for r in store.last_runs(task=MONITOR, limit=5)
                 if r.id not in after and r.status is not RunStatus.RUNNING), None)


def _pinged(monitor: HeartbeatReceiver, signal: str, rid: str) -> bool:
    return any(p.signal == signal and p.rid == rid for p in monitor.snapshot())


def _queued(worker: ManagedProcess) -> list[str]:
    return [line["alert"] for line in worker.json_lines() if line.get("message") == "alert queued"]


def test_it_pings_each_cycle_and_alerts_once_per_condition(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, simulator: Any,
) -> None:
    from services.celery_app import create_app
    from shared.portal.simulator.admin import SimulatorAdmin
    from shared.store import get_store

    with webhook_receiver("json") as hook, heartbeat_receiver() as monitor:
        env = pipeline_env(service_env, redis_url=redis_url, database_url=pipeline_database,
                           portal_url=simulator.base_url, ALERT_WEBHOOK_URL=hook.url, ALERT_WEBHOOK_FORMAT="json",
                           HEARTBEAT_URL=monitor.url, PUBLIC_API_URL="https://vigia.example")
        broker = env["REDIS_URL"]
        settings = Settings(_env_file=None, environment="test", redis_url=broker, database_url=pipeline_database)
        store = get_store(settings, application_name="vigia-test-alerts")
        client = create_app(settings, process="cli")
        worker = start("worker", env)
        beat = start("beat", env, "--max-interval", "1")
        try:
            worker.wait_for_line("worker ready", timeout=90)
            beat.wait_for_line("Acquired lock", timeout=90)
            # The webhook's first answer is a 503: that alert must arrive anyway, on a retry.
            hook.fail_next.append(503)
            # The sanctions mirror first, so the sweep meets a nationally sanctioned supplier (critical).
            assert client.send_task("vigia.maintenance.refresh_sanctions").get(timeout=120)["status"] == "done"

            # A good cycle, fired by beat: start, then success, under the run's rid; a critical finding.
            schedule_once(broker, "good-cycle", MONITOR, {"lookback_hours": EVERYTHING_HOURS})
            good = wait_for(lambda: _closed_run(store, after=set()), timeout=180, interval=0.5,
                            what="the good cycle to close")
            assert good is not None and good.status is RunStatus.SUCCEEDED, good
            good_rid = run_id("run", good.id)
            wait_for(lambda: _pinged(monitor, "success", good_rid), timeout=30, what="the success ping")
            assert [p.signal for p in monitor.snapshot() if p.rid == good_rid] == ["start", "success"]

            # Health: healthy; degraded twice (one alert); healthy again (one alert).
            with SimulatorAdmin(simulator.url) as admin:
                assert client.send_task(HEALTH).get(timeout=90)["status"] == "healthy"
                admin.configure(forbidden=True)
                for _ in range(2):
                    assert client.send_task(HEALTH).get(timeout=90)["status"] == "degraded"
                admin.configure(forbidden=False)
                assert client.send_task(HEALTH).get(timeout=90)["status"] == "healthy"

                # A failed cycle: the key is refused on every sweep; /fail under the run's rid.
                admin.configure(forbidden=True)
                schedule_once(broker, "failed-cycle", MONITOR, {"lookback_hours": 6})
                failed = wait_for(lambda: _closed_run(store, after={good.id}), timeout=180, interval=0.5,
                                  what="the failed cycle to close")
                assert failed is not None and failed.status is RunStatus.FAILED, failed
                failed_rid = run_id("run", failed.id)
                wait_for(lambda: _pinged(monitor, "fail", failed_rid), timeout=30, what="the fail ping")
                [fail_ping] = [p for p in monitor.snapshot() if p.rid == failed_rid and p.signal == "fail"]
                assert "failed" in fail_ping.body
                admin.configure(forbidden=False)

            # Every alert raised so far is queued (logged); wait until each reached the receiver.
            wait_for(lambda: len(hook.received) == len(_queued(worker)) > 0, timeout=60,
                     what="every queued alert to be delivered")
            assert hook.attempts == len(hook.received) + 1, "the 503 was not retried"
            kinds = Counter(body["kind"] for body in hook.received)
            assert kinds == Counter(critical_finding=1, health_degraded=1, health_recovered=1,
                                    portal_key_refused=1, cycle_failed=1), kinds
            critical = next(body for body in hook.received if body["kind"] == "critical_finding")
            assert critical["link"].startswith("https://vigia.example/api/v1/investigations/")
            assert "achado crítico" in critical["text"]

            # The worker stopped: beat still fires the next cycle, and no ping arrives.
            assert worker.stop() is not None
            before = len(monitor.snapshot())
            queue = redis.Redis.from_url(broker)
            waiting = queue.llen("monitoring")
            schedule_once(broker, "orphan-cycle", MONITOR, {"lookback_hours": 6})
            wait_for(lambda: queue.llen("monitoring") > waiting, timeout=30, what="beat to send the cycle")
            queue.close()
            assert len(monitor.snapshot()) == before
        finally:
            for process in (beat, worker):
                process.stop()
            store.close()
