"""The /stats and /orgaos cache: one load per key, stale answers while one refresh runs."""

from __future__ import annotations

import threading

from services.api.summaries import SummaryCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_loads_once_then_answers_from_memory_within_the_ttl() -> None:
    clock, calls = Clock(), []
    cache = SummaryCache(10, clock=clock)
    assert cache.get("stats", lambda: calls.append(1) or "first") == "first"
    clock.now = 9.9
    assert cache.get("stats", lambda: calls.append(1) or "second") == "first"
    assert len(calls) == 1


def test_it_keeps_answering_the_stale_value_while_one_background_refresh_runs() -> None:
    clock = Clock()
    cache = SummaryCache(10, clock=clock)
    cache.get("stats", lambda: "old")
    clock.now = 11
    release, started, loads = threading.Event(), threading.Event(), []

    def slow() -> str:
        loads.append(1)
        started.set()
        release.wait(5)
        return "new"

    assert cache.get("stats", slow) == "old"  # the caller does not wait for the database
    assert started.wait(5)
    assert cache.get("stats", slow) == "old"  # a second stale read starts no second refresh
    release.set()
    for _ in range(500):
        if cache.get("stats", slow) == "new":
            break
        threading.Event().wait(0.01)
    assert cache.get("stats", slow) == "new" and len(loads) == 1


def test_it_keeps_the_previous_answer_when_a_refresh_fails() -> None:
    clock = Clock()
    cache = SummaryCache(10, clock=clock)
    cache.get("orgaos:100", lambda: ["a"])
    clock.now = 20
    done = threading.Event()

    def broken() -> list[str]:
        done.set()
        raise RuntimeError("database away")

    assert cache.get("orgaos:100", broken) == ["a"]
    assert done.wait(5)
    assert cache.get("orgaos:100", lambda: ["b"]) in (["a"], ["b"])


def test_it_reads_through_with_a_zero_ttl() -> None:
    cache, values = SummaryCache(0), iter(["one", "two"])
    assert [cache.get("stats", lambda: next(values)) for _ in range(2)] == ["one", "two"]
