"""Two real beat processes on one Redis: RedBeat's lock lets each schedule slot fire exactly once.

The test adds a dynamic RedBeat entry straight into Redis (RedBeat reads every entry of its
schedule from Redis on each tick, so no test-only setting or code path exists in the beat):
an ``rrule`` with a fixed number of slots a few seconds apart, sending to a queue no worker
consumes. Counting the messages in that queue counts the firings. Half-way through, the beat
holding the lock is stopped as a deploy would stop it, and the other must take over without
repeating or skipping a slot.
"""

from __future__ import annotations

import json
import math
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis

from tests.support.processes import ManagedProcess, start, wait_for

pytestmark = pytest.mark.integration

PROBE_QUEUE = "beat-probe"
SLOTS = 5
INTERVAL = 4  # seconds between slots; above a takeover (lock poll of 1 s) with margin


def _beat(name: str, env: dict[str, str]) -> ManagedProcess:
    return start(name, env, "--max-interval", "1")


def _probe_entry(redis_url: str, dtstart: datetime) -> None:
    from celery import Celery
    from redbeat import RedBeatSchedulerEntry
    from redbeat.schedules import rrule

    from services.beat import REDBEAT_KEY_PREFIX

    app = Celery("probe")
    app.conf.update(redbeat_redis_url=redis_url, redbeat_key_prefix=REDBEAT_KEY_PREFIX, timezone="UTC")
    schedule = rrule("SECONDLY", dtstart=dtstart, interval=INTERVAL, count=SLOTS, app=app)
    RedBeatSchedulerEntry(
        "test-probe", "vigia.system.ping", schedule, kwargs={"payload": "slot"},
        options={"queue": PROBE_QUEUE}, app=app,
    ).save()


def test_it_fires_each_slot_exactly_once_with_two_beats(service_env: dict[str, str], redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete(PROBE_QUEUE, "vigia:redbeat:test-probe")
    beats = [_beat("beat-a", service_env), _beat("beat-b", service_env)]
    try:
        for beat in beats:
            beat.wait_for_line("beat: Starting", timeout=60)
        holder = wait_for(lambda: next((b for b in beats if "Acquired lock" in b.output), None),
                          timeout=60, what="one beat to take the lock")
        standby = beats[1 - beats.index(holder)]
        assert client.exists("vigia:redbeat::lock")
        assert "Acquired lock" not in standby.output
        dtstart = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
        _probe_entry(redis_url, dtstart)

        arrivals: list[float] = []

        def count(target: int) -> bool:
            length = client.llen(PROBE_QUEUE)
            while len(arrivals) < length:
                arrivals.append(time.time())
            return length >= target

        wait_for(lambda: count(2), timeout=30, interval=0.05, what="the first two slots to fire")
        # A deploy stops the lock holder with SIGTERM; it releases the lock, the other takes over.
        holder.signal(signal.SIGTERM)
        standby.wait_for_line("Acquired lock", timeout=30)
        wait_for(lambda: count(SLOTS), timeout=40, interval=0.05, what=f"all {SLOTS} slots to fire")

        # The rule is exhausted: RedBeat scores it -1 and will never fire it again.
        wait_for(lambda: client.zscore("vigia:redbeat::schedule", "vigia:redbeat:test-probe") == -1,
                 timeout=15, what="the probe entry to be exhausted")
        meta = json.loads(client.hget("vigia:redbeat:test-probe", "meta"))
        assert meta["total_run_count"] == SLOTS
        assert client.llen(PROBE_QUEUE) == SLOTS

        # Each firing falls in its own slot (a duplicate would share one, a skip leave a gap).
        start = dtstart.timestamp()
        slots = [math.floor((t - start + 0.01) / INTERVAL) for t in arrivals]
        assert slots == list(range(SLOTS)), f"firings by slot: {slots}"
        messages = [json.loads(raw) for raw in client.lrange(PROBE_QUEUE, 0, -1)]
        assert len({m["headers"]["id"] for m in messages}) == SLOTS
        assert {m["headers"]["task"] for m in messages} == {"vigia.system.ping"}
        # RedBeat is configured explicitly (its own Redis options), not by falling back to the broker's.
        assert not any("falling back" in beat.output for beat in beats)
    finally:
        for beat in beats:
            beat.stop()
        client.delete(PROBE_QUEUE)
        # The beats also ran the real schedule on this shared Redis: an entry that fell due meanwhile
        # (the hourly health check at :05) left a last run that later tests must not see.
        from services.beat import REDBEAT_KEY_PREFIX

        for key in client.scan_iter(match=f"{REDBEAT_KEY_PREFIX}*"):
            client.delete(key)
