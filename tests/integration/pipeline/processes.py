"""Real worker and beat processes for the end-to-end pipeline tests, started from the Procfile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from services.dev.procfile import expand, read_procfile
from tests.integration.pipeline.conftest import PROCESS_REDIS_DB, redis_db
from tests.support.processes import ManagedProcess, venv_bin


def pipeline_env(service_env: dict[str, str], *, redis_url: str, database_url: str, portal_url: str,
                 **values: str) -> dict[str, str]:
    url = redis_db(redis_url, PROCESS_REDIS_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    env = dict(service_env)
    env.update(REDIS_URL=url, DATABASE_URL=database_url, TRANSPARENCY_API_URL=portal_url,
               PORTAL_RATE_DAY_PER_MIN="100000", PORTAL_RATE_NIGHT_PER_MIN="100000", PORTAL_MAX_RETRIES="2",
               WORKER_CONCURRENCY="2", LOG_LEVEL="INFO")
    env.update(values)
    return env


def start(name: str, env: dict[str, str], *extra: str) -> ManagedProcess:
    argv = expand(read_procfile()[name.split("-")[0]], env) + list(extra)
    argv[0] = venv_bin(argv[0])
    return ManagedProcess(name, argv, env)


def schedule_once(redis_url: str, name: str, task: str, kwargs: dict[str, Any], *, in_seconds: float = 2) -> None:
    """A one-slot RedBeat entry, written into Redis as any dynamic entry: the running beat fires it."""
    from celery import Celery
    from redbeat import RedBeatSchedulerEntry
    from redbeat.schedules import rrule

    from services.beat import REDBEAT_KEY_PREFIX

    app = Celery("probe")
    app.conf.update(redbeat_redis_url=redis_url, redbeat_key_prefix=REDBEAT_KEY_PREFIX, timezone="UTC")
    start = (datetime.now(UTC) + timedelta(seconds=in_seconds)).replace(microsecond=0)
    RedBeatSchedulerEntry(name, task, rrule("SECONDLY", dtstart=start, count=1, app=app), kwargs=kwargs,
                          app=app).save()
