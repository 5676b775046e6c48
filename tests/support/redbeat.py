"""RedBeat schedule entries written and read by tests, as an operator or a beat would.

A running beat fires any entry that appears under its key prefix, so a test schedules a task
"now" by writing an entry with a one-slot rule a few seconds ahead, and reads an entry's
``last_run_at``, run count and next-look time where RedBeat keeps them in Redis.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import redis


def rrule_secondly(dtstart: datetime, *, interval: int, count: int) -> Any:
    """A RedBeat rule of ``count`` slots ``interval`` seconds apart from ``dtstart`` on."""
    from celery import Celery
    from redbeat.schedules import rrule

    app = Celery("probe")
    app.conf.update(timezone="UTC")
    return rrule("SECONDLY", dtstart=dtstart, interval=interval, count=count, app=app)


def save_entry(redis_url: str, name: str, task: str, schedule: Any, *, kwargs: dict[str, Any] | None = None,
               queue: str | None = None, last_run_at: datetime | None = None) -> None:
    """A dynamic RedBeat entry written into Redis as an operator would add one; the beat fires it.

    ``last_run_at`` as the beat itself records it when it creates a static entry (now), so the
    entry waits for its next slot instead of firing at once as a never-run entry does.
    """
    from celery import Celery
    from redbeat import RedBeatSchedulerEntry

    from services.beat import REDBEAT_KEY_PREFIX

    app = Celery("probe")
    app.conf.update(redbeat_redis_url=redis_url, redbeat_key_prefix=REDBEAT_KEY_PREFIX,
                    redbeat_redis_options={}, timezone="UTC")
    options = {"queue": queue} if queue else {}
    entry = RedBeatSchedulerEntry(name, task, schedule, kwargs=kwargs or {}, options=options, app=app)
    if last_run_at is not None:
        entry.last_run_at = last_run_at
    entry.save()


def schedule_once(redis_url: str, name: str, task: str, kwargs: dict[str, Any], *, in_seconds: float = 2) -> None:
    """A one-slot entry ``in_seconds`` from now: the running beat fires ``task`` once."""
    start = (datetime.now(UTC) + timedelta(seconds=in_seconds)).replace(microsecond=0)
    save_entry(redis_url, name, task, rrule_secondly(start, interval=1, count=1), kwargs=kwargs)


def entry_meta(client: redis.Redis, name: str) -> dict[str, Any]:
    """RedBeat's record of an entry: ``last_run_at`` (aware datetime) and ``total_run_count``."""
    from redbeat.decoder import RedBeatJSONDecoder

    from services.beat import REDBEAT_KEY_PREFIX

    raw = client.hget(REDBEAT_KEY_PREFIX + name, "meta")
    meta = json.loads(raw, cls=RedBeatJSONDecoder) if raw else {}
    return {"last_run_at": meta.get("last_run_at"), "total_run_count": int(meta.get("total_run_count") or 0)}


def entry_score(client: redis.Redis, name: str) -> float | None:
    """When RedBeat will next look at an entry (a UNIX time; -1 once a finite rule is exhausted)."""
    from services.beat import REDBEAT_KEY_PREFIX

    return client.zscore(REDBEAT_KEY_PREFIX + ":schedule", REDBEAT_KEY_PREFIX + name)
