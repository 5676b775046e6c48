"""Fault scenario 6: a restart on an ephemeral filesystem loses nothing, because nothing needed is on disk.

The Procfile's worker and beat run as a platform runs them on a fresh container: an empty working
directory, an empty ``HOME`` and ``TMPDIR`` of their own (temporary folders), the code found
through ``PYTHONPATH``. Mid-way through a monitoring cycle fired by the beat — sweeps queued,
one running, a task held by the worker until its countdown, a probe entry firing every few
seconds — both are stopped, their folders deleted, and both started again in new empty folders.
The cycle must finish as the same run with every contract; the held task must run once, after
the restart; the beat must go on from RedBeat's state in Redis (each entry's last run kept, every
slot fired once); and neither generation may have left a file behind, so none could be needed.
"""

from __future__ import annotations

import copy
import logging
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from services.beat.schedule import build_schedule
from shared.domain import RunStatus
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.faults import FaultConfig
from shared.store import get_store
from shared.store.base import InvestigationFilter
from tests.integration.faults.support import (
    MONITOR,
    ONE_POOL_PROCESS,
    PROBE_QUEUE,
    Firings,
    monitor_rows,
    sent_by,
    sent_times,
    slots_of,
)
from tests.integration.pipeline.conftest import EVERYTHING_HOURS, SCALE, SEED
from tests.support.processes import (
    REPO_ROOT,
    ManagedProcess,
    RedisDb,
    celery_client,
    process_env,
    settings_for,
    start,
    wait_for,
)
from tests.support.redbeat import entry_meta, rrule_secondly, save_entry

pytestmark = pytest.mark.integration
log = logging.getLogger("vigia.tests.faults")

PROBE, INTERVAL = "diskless-probe", 6
ETA_SECONDS = 40  # well after the restart, so the first worker holds it when it stops
PAGE_DELAY = 0.1  # seconds the simulator takes per answer: a cycle lasts long enough to interrupt


@pytest.fixture(scope="module")
def dataset() -> SimDataset:
    from shared.portal.simulator.dataset import generate_dataset

    return generate_dataset(seed=SEED, scale=SCALE)


@pytest.fixture
def diskless(service_env: dict[str, str], redis_url: str, postgres_admin_url: str,
             dataset: SimDataset) -> Iterator[dict[str, str]]:
    from shared.portal.simulator.server import running_simulator
    from shared.store.migrate import migrate
    from tests.conftest import create_database, drop_database

    database = create_database(postgres_admin_url, prefix="vigia_diskless")
    migrate(database)
    faults = FaultConfig(slow_ratio=1.0, slow_seconds=PAGE_DELAY)
    with running_simulator(copy.deepcopy(dataset), faults=faults) as server:
        env = process_env(service_env, redis_url=redis_url, database_url=database, portal_url=server.base_url,
                          redis_database=RedisDb.FAULTS_DISKLESS_RESTART, **ONE_POOL_PROCESS)
        # Nothing tells the processes where the repository is but PYTHONPATH; no .env is read.
        env.pop("VIGIA_ENV_FILE", None)
        env["PYTHONPATH"] = str(REPO_ROOT)
        yield env
    drop_database(postgres_admin_url, database)


class Container:
    """One generation of a container's writable places: working directory, HOME and TMPDIR."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd, self.home, self.tmp = root / "app", root / "home", root / "tmp"
        for path in (self.cwd, self.home, self.tmp):
            path.mkdir(parents=True)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "HOME": str(self.home), "TMPDIR": str(self.tmp), "PWD": str(self.cwd)}

    def start(self, name: str, base: dict[str, str]) -> ManagedProcess:
        return start(name, self.env(base), cwd=self.cwd)

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if not p.is_dir())

    def discard(self) -> None:
        shutil.rmtree(self.root)


def _holds(client: redis.Redis, task_id: str) -> bool:
    """A worker has the task: delivered to it and not yet acknowledged."""
    return any(task_id.encode() in raw for raw in client.hvals("unacked"))


def _queued(client: redis.Redis, queue: str, task_id: str) -> bool:
    return any(task_id.encode() in raw for raw in client.lrange(queue, 0, -1))


def _pending(client: redis.Redis) -> dict[str, int]:
    """Work waiting in the broker: queued messages, and delivered ones not yet acknowledged."""
    return {"monitoring_queue": int(client.llen("monitoring")), "unacked": int(client.hlen("unacked"))}


def test_it_restarts_worker_and_beat_on_empty_disks_and_carries_on(
    diskless: dict[str, str], dataset: SimDataset, tmp_path: Path
) -> None:
    env = diskless
    client = redis.Redis.from_url(env["REDIS_URL"])
    store = get_store(settings_for(env), application_name="vigia-test-diskless")
    statics = sorted(build_schedule(settings_for(env)))
    firings = Firings(client)
    first = Container(tmp_path / "first")
    running: list[ManagedProcess] = []
    try:
        beat, worker = first.start("beat", env), first.start("worker", env)
        running += [beat, worker]
        beat.wait_for_line("Acquired lock", timeout=60)
        worker.wait_for_line("worker ready", timeout=60)
        static_before = {entry: entry_meta(client, entry) for entry in statics}
        # A task due later (as a retry's countdown is): the worker holds it, unacknowledged, until then.
        with celery_client(env) as app:
            later = app.send_task("vigia.system.ping", kwargs={"payload": "later"}, countdown=ETA_SECONDS)
        wait_for(lambda: _holds(client, later.id), timeout=15, what="the worker to hold the task due later")

        # The beat fires a probe every few seconds and, once, a monitoring cycle over everything.
        probe_start = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
        save_entry(env["REDIS_URL"], PROBE, "vigia.system.ping",
                   rrule_secondly(probe_start, interval=INTERVAL, count=1000),
                   kwargs={"payload": PROBE}, queue=PROBE_QUEUE)
        save_entry(env["REDIS_URL"], "diskless-cycle", MONITOR,
                   rrule_secondly(probe_start, interval=1, count=1),
                   kwargs={"lookback_hours": EVERYTHING_HOURS})

        def interrupted() -> Any:
            runs = store.last_runs(task=MONITOR, limit=1)
            pending = _pending(client)
            return (runs and runs[0].status is RunStatus.RUNNING and runs[0].counters.get("orgaos_done", 0) >= 1
                    and pending["monitoring_queue"] >= 1 and runs[0])

        run = wait_for(interrupted, timeout=60, interval=0.1, what="a sweep to finish with more still queued")

        # The container goes away: processes stopped, then every file it had is gone.
        assert worker.stop(timeout=30) == 0
        assert beat.stop() == 0
        running.clear()
        old_beat, first_worker = beat, worker
        stopped_at = time.time()
        pending = _pending(client)
        left = first.files()
        first.discard()
        assert left == [], f"the first generation wrote files: {left}"
        assert sum(pending.values()) >= 1, pending
        # The task due later went back to its queue at the stop, not to the unacked set where it
        # would wait for the visibility timeout (an hour) before anyone ran it.
        assert not _holds(client, later.id) and _queued(client, "default", later.id)
        partial = store.get_run(run.id)
        assert partial is not None and partial.status is RunStatus.RUNNING
        probe_before = entry_meta(client, PROBE)["total_run_count"]
        assert probe_before >= 1

        second = Container(tmp_path / "second")
        beat, worker = second.start("beat", env), second.start("worker", env)
        running += [beat, worker]
        beat.wait_for_line("Acquired lock", timeout=60)
        downtime = time.time() - stopped_at
        worker.wait_for_line("worker ready", timeout=60)

        closed = wait_for(lambda: (r := store.get_run(run.id)) is not None and r.status is not RunStatus.RUNNING and r,
                          timeout=90, interval=0.25, what="the interrupted run to close")
        total = len(dataset.contracts)
        assert closed.id == run.id and closed.status is RunStatus.SUCCEEDED, closed
        assert closed.counters["contracts_seen"] == total and closed.counters["orgaos_done"] == len(dataset.orgaos)
        assert closed.counters["orgaos_failed"] == 0
        assert store.count_contracts() == total
        investigations = store.list_investigations(InvestigationFilter(), limit=5000).items
        assert investigations and len({i.contract_id for i in investigations}) == len(investigations)
        assert len(investigations) == closed.counters["investigations_created"]
        # The one-slot cycle entry did not fire again (a static 6-hourly sweep may, if its slot falls now).
        assert [row["id"] for row in monitor_rows(env["DATABASE_URL"])
                if row["parameters"].get("lookback_hours") == EVERYTHING_HOURS] == [run.id]

        # The schedule went on from Redis: last runs kept, the probe's count continued, one firing a slot.
        firings.wait(firings.count() + 2, timeout=3 * INTERVAL, what="two more probe slots")
        for entry, before in static_before.items():
            if not sent_by(old_beat, entry) and not sent_by(beat, entry):  # e.g. the hourly check fell due
                assert entry_meta(client, entry) == before, entry
        probe = entry_meta(client, PROBE)["total_run_count"]
        assert probe == firings.count() > probe_before
        by_slot = slots_of(sent_times(old_beat, PROBE) + sent_times(beat, PROBE), probe_start.timestamp(), INTERVAL)
        assert by_slot == list(range(len(by_slot))), f"probe firings by slot: {by_slot}"

        with celery_client(env) as app:
            assert app.AsyncResult(later.id).get(timeout=ETA_SECONDS + 30)["payload"] == "later"
        assert [r["payload"] for r in worker.json_lines() if r.get("message") == "ping received"] == ["later"]
        assert not [r for r in first_worker.json_lines() if r.get("message") == "ping received"]

        for process in (worker, beat):
            assert process.stop(timeout=30) == 0
        running.clear()
        assert second.files() == [], f"the second generation wrote files: {second.files()}"
        assert not list(REPO_ROOT.glob("celerybeat-schedule*"))
        log.info("disk-less restart: run %s interrupted at %d/%d órgãos with %s pending, closed %s after a "
                 "%.1f s beat downtime; probe fired %d times, %d before the restart", run.id,
                 run.counters.get("orgaos_done", 0), len(dataset.orgaos), pending, closed.status, downtime,
                 probe, probe_before)
    finally:
        for process in running:
            process.stop()
        store.close()
        client.close()
