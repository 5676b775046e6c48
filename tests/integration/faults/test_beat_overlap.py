"""Fault scenario 5: beats overlapping in a zero-downtime deploy, and a beat restarted between slots.

Real ``celery -A services.beat beat`` processes from the Procfile, at their production settings
(RedBeat lock polled every ``beat_max_loop_interval`` = 5 s), on real Redis. A probe entry is
written into RedBeat's schedule as any dynamic entry: slots a few seconds apart, sending to a
queue no worker consumes, so the queue's length counts the firings and each arrival time tells
its slot. The rule:

* a slot fires exactly once whichever beat holds the lock, however the beats come and go;
* a slot that falls while no beat runs fires once, as soon as a beat is back (RedBeat keeps each
  entry's ``last_run_at`` in Redis, and a crontab or rrule entry whose next slot after it has
  passed is due now). Several slots missed in one outage fire once, not once each: the
  monitoring window reaches back to the last successful run, so one catch-up covers them all.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from celery.schedules import crontab

from services.beat.schedule import build_schedule
from tests.integration.faults.support import (
    ONE_POOL_PROCESS,
    PROBE_QUEUE,
    Firings,
    lock_waiters,
    sent_by,
    sent_times,
    slots_of,
)
from tests.support.processes import RedisDb, process_env, settings_for, start, wait_for
from tests.support.redbeat import entry_meta, entry_score, rrule_secondly, save_entry

pytestmark = pytest.mark.integration
log = logging.getLogger("vigia.tests.faults")

PING = "vigia.system.ping"
LOCK_POLL = 5  # beat_max_loop_interval: how often a standby beat tries the lock


@pytest.fixture
def beat_env(service_env: dict[str, str], redis_url: str, database_url: str) -> dict[str, str]:
    return process_env(service_env, redis_url=redis_url, database_url=database_url,
                       redis_database=RedisDb.FAULTS_BEAT_OVERLAP, **ONE_POOL_PROCESS)


def _probe(env: dict[str, str], name: str, *, interval: int, slots: int, lead: float = 3) -> float:
    """A probe entry of ``slots`` slots ``interval`` s apart from ``lead`` s on; returns slot 0's time."""
    dtstart = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
    schedule = rrule_secondly(dtstart, interval=interval, count=slots)
    save_entry(env["REDIS_URL"], name, PING, schedule, kwargs={"payload": name}, queue=PROBE_QUEUE)
    return dtstart.timestamp()


def _assert_each_slot_once(client: redis.Redis, firings: Firings, beats: list[Any], name: str, start: float,
                           interval: int, slots: int) -> None:
    wait_for(lambda: entry_score(client, name) == -1, timeout=15, what=f"{name} to be exhausted")
    assert firings.count() == slots
    assert entry_meta(client, name)["total_run_count"] == slots
    # Each firing, timed by the beat that sent it, falls in its own slot: a duplicate would share
    # one, a skipped slot would leave a gap.
    by_slot = slots_of([t for beat in beats for t in sent_times(beat, name)], start, interval)
    assert by_slot == list(range(slots)), f"firings by slot: {by_slot}"
    messages = firings.messages()
    assert len({m["headers"]["id"] for m in messages}) == slots
    assert {m["headers"]["task"] for m in messages} == {PING}


def test_it_fires_each_slot_once_while_a_new_beat_overlaps_the_old_one(beat_env: dict[str, str]) -> None:
    interval, slots, name = 7, 6, "overlap-probe"
    client = redis.Redis.from_url(beat_env["REDIS_URL"])
    statics = sorted(build_schedule(settings_for(beat_env)))
    firings = Firings(client)
    old = start("beat-old", beat_env)
    new = None
    try:
        old.wait_for_line("Acquired lock", timeout=60)
        static_before = {entry: entry_meta(client, entry) for entry in statics}
        assert all(meta["last_run_at"] for meta in static_before.values()), static_before
        start_at = _probe(beat_env, name, interval=interval, slots=slots)
        firings.wait(2, timeout=30, what="two slots from the old beat")

        # The deploy starts the new beat while the old one still runs and holds the lock.
        known = {int(c["id"]) for c in client.client_list()}
        new = start("beat-new", beat_env)
        wait_for(lambda: lock_waiters(client, known), timeout=60, what="the new beat to wait for the lock")
        firings.wait(4, timeout=30, what="two more slots while both beats run")
        assert "Acquired lock" not in new.output and sent_by(new, name) == 0
        # The new beat wrote the schedule's definitions but kept every entry's last run: resetting
        # it to "now" would silently skip a slot that fell during the handover.
        for entry, before in static_before.items():
            if sent_by(old, entry) == 0:
                assert entry_meta(client, entry) == before, entry

        # Then the platform stops the old one: it releases the lock, the new one takes over.
        stopped_at = time.time()
        old.signal(signal.SIGTERM)
        assert old.proc.wait(30) == 0
        assert "Releasing lock" in old.output
        new.wait_for_line("Acquired lock", timeout=LOCK_POLL + 30)
        handover = time.time() - stopped_at
        firings.wait(slots, timeout=slots * interval + 30, what=f"all {slots} slots")

        _assert_each_slot_once(client, firings, [old, new], name, start_at, interval, slots)
        assert sent_by(old, name) + sent_by(new, name) == slots and sent_by(new, name) >= 1
        log.info("beat overlap: %d slots, %d from the old beat and %d from the new; lock handed over in %.1f s",
                 slots, sent_by(old, name), sent_by(new, name), handover)
    finally:
        for beat in (old, new):
            if beat is not None:
                beat.stop()
        client.close()


def test_it_fires_a_slot_missed_during_a_restart_once_and_never_repeats_one(beat_env: dict[str, str]) -> None:
    interval, slots, name = 8, 5, "restart-probe"
    client = redis.Redis.from_url(beat_env["REDIS_URL"])
    firings = Firings(client)
    beats = [start("beat-1", beat_env)]
    try:
        beats[0].wait_for_line("Acquired lock", timeout=60)
        start_at = _probe(beat_env, name, interval=interval, slots=slots)
        firings.wait(1, timeout=20, what="slot 0")

        # A quick restart between two slots: slot 0 is not fired again, slot 1 fires on time.
        assert beats[0].stop() == 0
        beats.append(start("beat-2", beat_env))
        beats[1].wait_for_line("Acquired lock", timeout=30)
        firings.wait(2, timeout=interval + 10, what="slot 1")

        # A restart with slot 2 falling while no beat runs: nothing fires meanwhile, then slot 2
        # fires once as soon as the beat is back, before slot 3; slots 3 and 4 follow on time.
        assert beats[1].stop() == 0
        down_at = time.time()
        wait_for(lambda: time.time() > start_at + 2 * interval + 1, timeout=2 * interval + 5,
                 what="slot 2 to pass with no beat running")
        assert firings.count() == 2
        beats.append(start("beat-3", beat_env))
        beats[2].wait_for_line("Acquired lock", timeout=30)
        downtime = time.time() - down_at
        firings.wait(3, timeout=interval, what="the missed slot 2 to fire")
        late = sent_times(beats[2], name)[0] - (start_at + 2 * interval)
        firings.wait(slots, timeout=3 * interval, what=f"all {slots} slots")

        _assert_each_slot_once(client, firings, beats, name, start_at, interval, slots)
        assert [sent_by(beat, name) for beat in beats] == [1, 1, 3]
        log.info("beat restart: slot 2 fell in a %.1f s downtime and fired %.1f s late, once", downtime, late)
    finally:
        for beat in beats:
            beat.stop()
        client.close()


def test_it_catches_up_a_crontab_slot_missed_while_no_beat_ran(beat_env: dict[str, str]) -> None:
    """The production entries are crontabs: their missed slot is fired once on start, too."""
    name = "crontab-probe"
    client = redis.Redis.from_url(beat_env["REDIS_URL"])
    firings = Firings(client)
    first = start("beat-1", beat_env)
    second: Any = None
    try:
        first.wait_for_line("Acquired lock", timeout=60)
        # Every minute at :00. A new entry's last run is its creation (as for the static entries a
        # beat writes at start), so its first slot is the next minute; leave time to stop the beat.
        wait_for(lambda: 5 < time.time() % 60 < 50, timeout=15, what="a few seconds clear of a minute boundary")
        save_entry(beat_env["REDIS_URL"], name, PING, crontab(minute="*"), kwargs={"payload": name},
                   queue=PROBE_QUEUE)
        created = entry_meta(client, name)["last_run_at"]
        missed = (created.replace(second=0, microsecond=0) + timedelta(minutes=1)).timestamp()
        assert first.stop() == 0 and time.time() < missed
        assert firings.count() == 0

        wait_for(lambda: time.time() > missed + 1, timeout=75, what="the next minute to pass with no beat running")
        assert firings.count() == 0
        second = start("beat-2", beat_env)
        second.wait_for_line("Acquired lock", timeout=30)
        firings.wait(1, timeout=15, what="the missed minute to fire")
        meta = entry_meta(client, name)
        assert meta["total_run_count"] == 1 and meta["last_run_at"].timestamp() >= missed
        # Fired once: RedBeat's next look at the entry is about the next minute, not now.
        score = entry_score(client, name)
        assert score is not None and missed + 50 < score <= missed + 60, score - missed if score else score
        assert firings.count() == 1 and sent_by(second, name) == 1
        log.info("crontab catch-up: the missed %s slot fired %.1f s after it, once",
                 datetime.fromtimestamp(missed, UTC).strftime("%H:%M"), sent_times(second, name)[0] - missed)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        client.close()
