"""Redis run and sweep state on a real Redis: each part counts once, one copy of a sweep works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from shared.pipeline.state import OrgaoQueue, RunState, SweepState, remember_task_run, task_run

pytestmark = pytest.mark.integration


@pytest.fixture
def client(pipeline_redis: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(pipeline_redis)
    yield connection
    connection.close()


def test_it_counts_each_part_once_and_knows_when_all_are_done(client: redis.Redis) -> None:
    run = RunState(client, 7)
    run.plan(["a", "b"], window={"data_inicial": "2026-01-01"})
    run.plan(["a", "b", "c"])  # a redelivered fan-out keeps the first plan
    assert run.total() == 2 and run.field("window") == {"data_inicial": "2026-01-01"}
    assert run.finish_part("a") == (True, 1, 2)
    assert run.finish_part("a") == (False, 1, 2)
    assert run.finish_part("b", "PortalUnavailable: 503") == (True, 2, 2)
    assert run.failures() == {"b": "PortalUnavailable: 503"}
    assert run.claim_close() and not run.claim_close()


def test_it_binds_one_run_to_a_task_id(client: redis.Redis) -> None:
    assert task_run(client, "t1") is None
    assert remember_task_run(client, "t1", 3) == 3
    assert remember_task_run(client, "t1", 4) == 3
    assert task_run(client, "t1") == 3


def test_it_lets_one_copy_of_a_sweep_hold_the_lease(client: redis.Redis) -> None:
    sweep = SweepState(client, 1, "26201")
    assert sweep.acquire("task-a", 30)
    assert sweep.acquire("task-a", 30)  # the same task again (a retry keeps its id)
    assert not sweep.acquire("task-b", 30)
    sweep.release("task-b")  # not the holder: nothing happens
    assert not sweep.acquire("task-b", 30)
    sweep.release("task-a")
    assert sweep.acquire("task-b", 30)


def test_it_counts_a_batch_of_pages_once(client: redis.Redis) -> None:
    sweep = SweepState(client, 1, "26201")
    sweep.record_batch(1, 4, {"pages": 3, "contracts_new": 40})
    sweep.record_batch(1, 4, {"pages": 3, "contracts_new": 0})  # re-fetched after a crash
    sweep.record_batch(4, 6, {"pages": 2, "contracts_new": 5})
    sweep.record_analysis([1, 2, 3], [2], ["inv-2"], ["inv-2"])
    sweep.record_analysis([3, 4], [], [], [])
    assert sweep.cursor() == 6
    assert sweep.counters() == {"pages": 5, "contracts_new": 45, "analyzed": 4, "flagged": 1,
                                "investigations_written": 1, "investigations_created": 1}


def test_it_queues_for_analysis_what_an_interrupted_upsert_may_have_stored(client: redis.Redis) -> None:
    queue = OrgaoQueue(client, "simulator", "26201")
    queue.before_upsert([1, 2, 3])
    queue.after_upsert([1, 2, 3], to_analyze=[2], changed=[2])
    queue.before_upsert([4, 5])  # the worker dies here, after or during the upsert
    assert queue.pending() == [2]
    assert queue.recover() == 2
    assert queue.pending() == [2, 4, 5] and queue.changed() == {2}
    queue.done([2, 4])
    assert queue.pending() == [5] and queue.changed() == set()
